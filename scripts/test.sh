#!/usr/bin/env bash
# Runs every test of helpdeskd: formatting, vet, and the whole Go test suite with the race
# detector. It installs what the tests need on a bare Debian machine first; tests whose
# servers cannot be started skip themselves and say how to run them.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '== %s\n' "$*"; }

if ! command -v go >/dev/null 2>&1; then
	echo "go is not installed: see https://go.dev/doc/install" >&2
	exit 1
fi

say "go $(go env GOVERSION), $(nproc) cores"
say "modules"
go mod download

say "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

say "go vet"
go vet ./...

# The servers started below (the mail stack, Postgres) stop when this script ends, however it
# ends: each block sets its directory, and cleanup stops what has one.
mailstack_dir=""
postgres_dir=""
cleanup() {
	if [ -n "$postgres_dir" ]; then
		./scripts/postgres.sh stop "$postgres_dir" >/dev/null 2>&1 || true
		rm -rf "$postgres_dir"
	fi
	if [ -n "$mailstack_dir" ]; then
		./scripts/mailstack.sh stop "$mailstack_dir" >/dev/null 2>&1 || true
		rm -rf "$mailstack_dir"
	fi
}
trap cleanup EXIT

# The real mail stack (Dovecot + Postfix on loopback, scripts/mailstack.sh) for the
# integration tests. It is started when
#   - CI is set, or HELPDESKD_MAILSTACK=1: a failure to start fails the run under CI;
#   - or, unless HELPDESKD_MAILSTACK=0, when running as root with apt-get at hand (a bare
#     Debian machine or container): it installs the servers, so ./scripts/test.sh runs the
#     integration tests with no other step.
# Otherwise (a developer's own machine, not root), and when HELPDESKD_TEST_IMAP_ADDR is already
# set (a stack started by hand), nothing is started; the tests that need a server skip and say
# how to run them. Plain `go test ./...` never starts anything.
# HELPDESKD_MAILSTACK is read here and unset: the daemon's config rejects unknown HELPDESKD_*
# variables, and the tests load that config.
mailstack_choice=${HELPDESKD_MAILSTACK:-}
unset HELPDESKD_MAILSTACK
want_mailstack=0
if [ -n "${HELPDESKD_TEST_IMAP_ADDR:-}" ] || [ "$mailstack_choice" = 0 ]; then
	want_mailstack=0
elif [ -n "${CI:-}" ] || [ "$mailstack_choice" = 1 ]; then
	want_mailstack=1
elif [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	want_mailstack=1
fi
if [ "$want_mailstack" = 1 ]; then
	say "mail stack (Dovecot, Postfix)"
	mailstack_dir=$(mktemp -d "${TMPDIR:-/tmp}/helpdeskd-mailstack.XXXXXX")
	if ./scripts/mailstack.sh start "$mailstack_dir" >/dev/null; then
		# shellcheck disable=SC1091
		source "$mailstack_dir/env"
		# shellcheck disable=SC2153 # set by the env file
		say "IMAP $HELPDESKD_TEST_IMAP_ADDR, SMTP $HELPDESKD_TEST_SMTP_ADDR, LMTP $HELPDESKD_TEST_LMTP_ADDR"
	elif [ -n "${CI:-}" ]; then
		echo "the mail stack did not start (see above): CI needs it" >&2
		exit 1
	else
		echo "the mail stack did not start (see above): the mail integration tests will skip" >&2
	fi
fi

# A throw-away PostgreSQL (scripts/postgres.sh: a cluster in a temporary directory, on a Unix
# socket there only) for the Postgres store's tests, which create a database each on it
# (adapters/postgres/pgtest). It is started as the mail stack is: when CI is set or
# HELPDESKD_POSTGRES=1 (under CI a failure to start fails the run), or, unless
# HELPDESKD_POSTGRES=0, when running as root with apt-get at hand (it installs Debian's
# postgresql) or when PostgreSQL is installed already (it then runs as the current user).
# When HELPDESKD_TEST_POSTGRES is already set (a server started by hand) nothing is started.
# Otherwise the Postgres tests skip and say how to run them; under CI they fail instead.
# HELPDESKD_POSTGRES is read here and unset, as HELPDESKD_MAILSTACK is.
postgres_choice=${HELPDESKD_POSTGRES:-}
unset HELPDESKD_POSTGRES
want_postgres=0
if [ -n "${HELPDESKD_TEST_POSTGRES:-}" ] || [ "$postgres_choice" = 0 ]; then
	want_postgres=0
elif [ -n "${CI:-}" ] || [ "$postgres_choice" = 1 ]; then
	want_postgres=1
elif [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	want_postgres=1
elif compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
	want_postgres=1
fi
if [ "$want_postgres" = 1 ]; then
	say "postgres"
	postgres_dir=$(mktemp -d "${TMPDIR:-/tmp}/helpdeskd-postgres.XXXXXX")
	if ./scripts/postgres.sh start "$postgres_dir" >/dev/null; then
		# shellcheck disable=SC1091
		source "$postgres_dir/env"
		# shellcheck disable=SC2153 # set by the env file
		say "Postgres $HELPDESKD_TEST_POSTGRES"
		if [ -n "${HELPDESKD_TEST_PGBOUNCER:-}" ]; then
			say "PgBouncer (transaction pooling) $HELPDESKD_TEST_PGBOUNCER"
		fi
	elif [ -n "${CI:-}" ]; then
		echo "Postgres did not start (see above): CI needs it" >&2
		exit 1
	else
		echo "Postgres did not start (see above): the Postgres tests will skip" >&2
	fi
fi

# The Telegram Bot API emulator (the npm package telegram-test-api) for the Telegram tests:
# installed into .cache/node (ignored by git) and started on a free loopback port, unless
# HELPDESKD_TEST_TELEGRAM_API already names a running one. It stops when this script ends.
# Without node and npm (and no root to install them) the Telegram tests skip and say so;
# under CI, as with the mail stack, an emulator that cannot be installed or started fails
# the run instead.
telegram_unavailable() {
	if [ -n "${CI:-}" ]; then
		echo "$1: CI needs the Telegram Bot API emulator" >&2
		exit 1
	fi
	echo "$1: the Telegram tests will skip" >&2
}
if [ -z "${HELPDESKD_TEST_TELEGRAM_API:-}" ]; then
	if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
		say "installing node and npm"
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; } >/dev/null 2>&1 ||
			telegram_unavailable "could not install node and npm"
	fi
	tg_modules="$PWD/.cache/node/node_modules"
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		telegram_unavailable "no node and npm"
	elif [ ! -d "$tg_modules/telegram-test-api" ]; then
		say "installing telegram-test-api"
		mkdir -p .cache/node
		npm install --prefix .cache/node --no-audit --no-fund --loglevel=error telegram-test-api@4.2.1 >/dev/null ||
			telegram_unavailable "npm install telegram-test-api failed"
	fi
	if [ -d "$tg_modules/telegram-test-api" ]; then
		tg_log=$(mktemp "${TMPDIR:-/tmp}/helpdeskd-telegram.XXXXXX")
		NODE_PATH="$tg_modules" node scripts/telegram-test-api.js 0 $$ >"$tg_log" 2>&1 &
		tg_pid=$!
		# Up to 30 s: node starts slowly on a loaded machine. A node that exited will not
		# print it any more.
		for _ in $(seq 300); do
			grep -q '^listening ' "$tg_log" && break
			kill -0 "$tg_pid" 2>/dev/null || break
			sleep 0.1
		done
		if grep -q '^listening ' "$tg_log"; then
			HELPDESKD_TEST_TELEGRAM_API=$(sed -n 's/^listening //p' "$tg_log" | head -n 1)
			export HELPDESKD_TEST_TELEGRAM_API
			say "Telegram Bot API emulator $HELPDESKD_TEST_TELEGRAM_API"
		else
			cat "$tg_log" >&2
			telegram_unavailable "telegram-test-api did not start (its output above)"
		fi
	fi
fi

# The OpenAPI linters (npm packages @redocly/cli and @apidevtools/swagger-cli) that
# TestOpenAPI_PassesLinters runs on the served document: installed into .cache/node beside
# telegram-test-api, at the pinned versions. Without node and npm (and no root to install
# them) that test skips and says so.
if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	say "installing node and npm"
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; } >/dev/null 2>&1 ||
		echo "could not install node and npm: the OpenAPI lint test will skip" >&2
fi
oa_modules="$PWD/.cache/node/node_modules"
oa_installed() { grep -qs "\"version\": \"$2\"" "$oa_modules/$1/package.json"; }
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
	! { oa_installed @redocly/cli 2.77.0 && oa_installed @apidevtools/swagger-cli 4.0.4; }; then
	say "installing @redocly/cli and @apidevtools/swagger-cli"
	mkdir -p .cache/node
	npm install --prefix .cache/node --no-audit --no-fund --loglevel=error \
		@redocly/cli@2.77.0 @apidevtools/swagger-cli@4.0.4 >/dev/null ||
		echo "npm install of the OpenAPI linters failed: the OpenAPI lint test will skip" >&2
fi
# Redocly would otherwise phone home and check for updates on every run.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true

# Headless Chromium (Debian's package) renders the notifications' HTML part in a test, which
# takes its screenshots (gateway/render_screenshot_test.go). Without it, and no root to
# install it, that test skips and says so.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	say "installing chromium"
	{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1 ||
		echo "could not install chromium: the HTML screenshot test will skip" >&2
fi

# The longest package first: go test starts packages in the order named, two at a time on
# two cores, and the daemon's suite started last was the tail of the whole run.
say "go test -race"
go test -race -count=1 -timeout 20m ./cmd/helpdeskd/ ./... "$@"

# The copy of a 100,000-ticket desk to Postgres and back, which the race detector would slow
# to ten minutes.
if [ -n "${HELPDESKD_TEST_POSTGRES:-}" ]; then
	say "go test: the 100k store copy, without the race detector"
	go test -count=1 -run '^TestCopy100k$' ./adapters/storecopy/
fi

# The suites of the API, the pipelines and the channels once more on the Postgres store
# (adapters/teststore: one switch). The store's own contract ran on both above.
if [ -n "${HELPDESKD_TEST_POSTGRES:-}" ]; then
	say "go test -race on Postgres (HELPDESKD_TEST_STORE=postgres)"
	HELPDESKD_TEST_STORE=postgres go test -race -count=1 -timeout 20m \
		./cmd/helpdeskd/ ./adapters/httpapi/ ./gateway/ ./adapters/telegram/ ./adapters/imap/ ./adapters/mail/ ./adapters/webhook/ "$@"
fi
