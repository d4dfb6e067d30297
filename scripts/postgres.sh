#!/usr/bin/env bash
# Starts and stops a throw-away PostgreSQL server for helpdeskd's Postgres tests (see
# docs/testing.md): a cluster of its own in DIR (DIR/data), listening on a Unix socket in
# DIR/sock only, no TCP.
#
#   scripts/postgres.sh start DIR   install what is missing, (re)start, write and print DIR/env
#   scripts/postgres.sh stop DIR    stop the server of DIR (nothing to do is no error)
#
# DIR/env exports HELPDESKD_TEST_POSTGRES, a DSN for the superuser postgres (no password:
# trust authentication on the socket), e.g.
#   postgres://postgres@/postgres?host=/tmp/helpdeskd-postgres.XXXX/sock
# Tests create databases of their own on it (adapters/postgres/pgtest). In front of the
# server a PgBouncer in transaction pooling mode listens on a Unix socket of its own
# (DIR/bouncer) and reaches every database of the server; DIR/env exports its DSN as
# HELPDESKD_TEST_PGBOUNCER, e.g.
#   postgres://postgres@/postgres?host=/tmp/helpdeskd-postgres.XXXX/bouncer&port=6432
# for the tests that run the store behind it. Without pgbouncer (not installed, and not root
# to install it) that line is left out and those tests skip.
#
# Installs Debian's postgresql and pgbouncer with apt-get when no
# /usr/lib/postgresql/*/bin/initdb or no pgbouncer is there (that needs root). As root, the server runs as the postgres user (initdb and postgres
# refuse root), and DIR is handed to that user; otherwise it runs as the current user. fsync
# stays on: the tests measure durability too. Running start twice, or on a DIR left over from
# an earlier run, restarts cleanly with an empty cluster. Every file and process belongs to
# DIR: servers in different DIRs run side by side (two test runs on one machine; a socket
# only, so no port is shared), and the machine's own clusters are neither changed nor started
# or stopped.
set -euo pipefail

readonly PACKAGES="postgresql pgbouncer"
readonly PGBOUNCER=/usr/sbin/pgbouncer
readonly BOUNCER_PORT=6432 # names the socket file only (.s.PGSQL.6432), as PORT does
readonly PG_USER=postgres # the OS user the server runs as when started by root
readonly SUPERUSER=postgres
readonly PORT=5432 # names the socket file only (.s.PGSQL.5432): there is no TCP listener
readonly MAX_CONNECTIONS=200
readonly READY_TIMEOUT=60 # seconds for pg_ctl start and stop

say() { printf 'postgres: %s\n' "$*" >&2; }

usage() {
	echo "usage: $0 start|stop DIR" >&2
	exit 2
}

# fail why prints why, with the tail of the server's log, and exits non-zero.
fail() {
	say "FAILED: $1"
	local log
	for log in "${DIR:-}/postgres.log" "${DIR:-}/initdb.log"; do
		if [ -s "$log" ]; then
			say "--- tail of $log"
			tail -n 30 "$log" >&2
		fi
	done
	exit 1
}

# bindir prints the bin directory of the newest PostgreSQL installed, or nothing.
bindir() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	if [ -n "$d" ] && [ -x "$d/initdb" ]; then
		echo "$d"
	fi
}

install_packages() {
	if [ -n "$(bindir)" ] && [ -x "$PGBOUNCER" ]; then
		return
	fi
	if [ -n "$(bindir)" ] && [ "$(id -u)" -ne 0 ]; then
		say "no $PGBOUNCER and not root to install it: the tests behind PgBouncer will skip"
		return
	fi
	[ "$(id -u)" -eq 0 ] || fail "no /usr/lib/postgresql/*/bin/initdb and not root: cannot install $PACKAGES"
	command -v apt-get >/dev/null || fail "no /usr/lib/postgresql/*/bin/initdb and no apt-get"
	say "installing $PACKAGES"
	local log t0=$SECONDS
	log=$(mktemp)
	# force-unsafe-io: no fsync per unpacked file (a throw-away test machine); it only
	# saves time. The package's own "main" cluster is not used.
	# shellcheck disable=SC2086 # PACKAGES is a list of words
	{
		apt-get update &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
				-o Dpkg::Options::=--force-unsafe-io $PACKAGES
	} >"$log" 2>&1 || {
		tail -n 30 "$log" >&2
		rm -f "$log"
		fail "apt-get install $PACKAGES"
	}
	rm -f "$log"
	say "installed in $((SECONDS - t0))s"
	[ -n "$(bindir)" ] || fail "$PACKAGES installed but no /usr/lib/postgresql/*/bin/initdb"
}

# sock_dir prints the directory of the server's socket: DIR/sock, unless DIR is so long that
# the socket's path would pass the 107-byte limit of Unix sockets; then a directory in /tmp
# named after DIR's checksum, so it is still DIR's own.
sock_dir() {
	if [ "${#DIR}" -le 80 ]; then
		echo "$DIR/sock"
	else
		echo "/tmp/helpdeskd-pgsock-$(printf %s "$DIR" | cksum | cut -d' ' -f1)"
	fi
}

# bouncer_dir prints the directory of PgBouncer's socket, as sock_dir does the server's.
bouncer_dir() {
	if [ "${#DIR}" -le 80 ]; then
		echo "$DIR/bouncer"
	else
		echo "/tmp/helpdeskd-pgbsock-$(printf %s "$DIR" | cksum | cut -d' ' -f1)"
	fi
}

# as_owner cmd... runs cmd as the owner of DIR/data when root and that owner is another user
# (the postgres user), else as the current user.
as_owner() {
	local owner
	owner=$(stat -c %U "$DIR/data" 2>/dev/null || id -un)
	if [ "$(id -u)" -eq 0 ] && [ "$owner" != "$(id -un)" ]; then
		runuser -u "$owner" -- "$@"
	else
		"$@"
	fi
}

# running: true when DIR's cluster has a live postmaster.
running() {
	[ -f "$DIR/data/postmaster.pid" ] && [ -n "$(bindir)" ] &&
		as_owner "$(bindir)/pg_ctl" status -D "$DIR/data" >/dev/null 2>&1
}

stop_bouncer() {
	local pid
	if [ -f "$DIR/pgbouncer.pid" ]; then
		pid=$(cat "$DIR/pgbouncer.pid" 2>/dev/null || true)
		if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
			for _ in $(seq 1 50); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
		fi
		rm -f "$DIR/pgbouncer.pid"
	fi
}

# start_bouncer starts PgBouncer in front of the server on socket dir sock, in transaction
# pooling mode (a server connection is a client's only for one transaction), the mode that
# breaks what holds state in a session. Every database name reaches the server's database of
# that name, as the superuser: auth_type any, on a socket only this machine reaches. A few
# server connections per database, fewer than a store's pool, so that a client's
# transactions do run on different server connections.
start_bouncer() {
	local sock=$1 bsock
	[ -x "$PGBOUNCER" ] || return 0
	bsock=$(bouncer_dir)
	rm -rf "$bsock" "$DIR/pgbouncer.log"
	mkdir -p "$bsock"
	if [ "$(id -u)" -eq 0 ]; then
		chown "$PG_USER": "$bsock"
	fi
	cat >"$DIR/pgbouncer.ini" <<-EOF
		; Written by scripts/postgres.sh: PgBouncer for helpdeskd's tests, on a Unix socket only.
		[databases]
		* = host=$sock port=$PORT user=$SUPERUSER

		[pgbouncer]
		unix_socket_dir = $bsock
		listen_port = $BOUNCER_PORT
		auth_type = any
		pool_mode = transaction
		max_client_conn = 1000
		default_pool_size = 5
		server_idle_timeout = 10
		ignore_startup_parameters = extra_float_digits
		logfile = $DIR/pgbouncer.log
		pidfile = $DIR/pgbouncer.pid
	EOF
	as_owner "$PGBOUNCER" -d -q "$DIR/pgbouncer.ini" >/dev/null 2>&1 || fail "pgbouncer $DIR/pgbouncer.ini"
	for _ in $(seq 1 100); do
		[ -S "$bsock/.s.PGSQL.$BOUNCER_PORT" ] && break
		sleep 0.1
	done
	[ -S "$bsock/.s.PGSQL.$BOUNCER_PORT" ] || fail "pgbouncer made no socket in $bsock"
	echo "export HELPDESKD_TEST_PGBOUNCER='postgres://$SUPERUSER@/postgres?host=$(urlencode "$bsock")&port=$BOUNCER_PORT'" >>"$DIR/env"
}

stop_server() {
	stop_bouncer
	if running; then
		as_owner "$(bindir)/pg_ctl" stop -D "$DIR/data" -m fast -w -t "$READY_TIMEOUT" >/dev/null 2>&1 ||
			say "pg_ctl stop -D $DIR/data failed"
	fi
}

# urlencode s prints s with every byte but [A-Za-z0-9/._~-] percent-encoded (C locale, so
# that a multibyte character is encoded byte by byte).
urlencode() {
	local LC_ALL=C s=$1 out="" c i
	for ((i = 0; i < ${#s}; i++)); do
		c=${s:i:1}
		case $c in
		[A-Za-z0-9/._~-]) out+=$c ;;
		*) out+=$(printf '%%%02X' "'$c") ;;
		esac
	done
	printf '%s' "$out"
}

# conf_quote s prints s as a quoted postgresql.conf string.
conf_quote() { printf "'%s'" "${1//\'/\'\'}"; }

cmd_start() {
	install_packages
	local bin sock
	bin=$(bindir)
	mkdir -p "$DIR"
	DIR=$(cd "$DIR" && pwd)
	sock=$(sock_dir)

	# A stale DIR: stop its server and start from an empty cluster.
	stop_server
	rm -rf "$DIR/data" "$sock" "$DIR/postgres.log" "$DIR/initdb.log" "$DIR/env"
	mkdir -p "$DIR/data" "$sock"
	chmod 700 "$DIR/data"
	if [ "$(id -u)" -eq 0 ]; then
		id -u "$PG_USER" >/dev/null 2>&1 || fail "no $PG_USER user (it comes with Debian's postgresql package)"
		# The server runs as that user: it owns DIR (mktemp -d makes it 0700, root's) and
		# must reach it through every directory above.
		chown "$PG_USER": "$DIR" "$DIR/data" "$sock"
		chmod 755 "$DIR"
		runuser -u "$PG_USER" -- test -w "$DIR/data" ||
			fail "the $PG_USER user cannot reach $DIR (a directory above it is closed to it): choose a DIR under /tmp"
	fi

	# --no-sync: initdb's own files need not reach the disk (a crash of the machine throws
	# the test run away anyway); the server itself runs with fsync on. C.UTF-8 sorts text
	# by code point, as SQLite does, and knows which characters are letters and how their
	# case folds beyond ASCII, which the search needs (the store refuses a C database); glibc
	# has it built in.
	as_owner "$bin/initdb" -D "$DIR/data" -U "$SUPERUSER" --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync \
		>"$DIR/initdb.log" 2>&1 || fail "initdb -D $DIR/data"
	cat >>"$DIR/data/postgresql.conf" <<-EOF

		# Written by scripts/postgres.sh: a throw-away server for helpdeskd's tests, on a
		# Unix socket of its own only.
		listen_addresses = ''
		unix_socket_directories = $(conf_quote "$sock")
		port = $PORT
		fsync = on
		synchronous_commit = on
		full_page_writes = on
		max_connections = $MAX_CONNECTIONS
		log_min_messages = warning
	EOF
	# listen_addresses and port on the command line too (pg_ctl hands -o to a shell, hence
	# the quotes), so that nothing in the environment (PGPORT) moves the server elsewhere.
	as_owner "$bin/pg_ctl" start -D "$DIR/data" -l "$DIR/postgres.log" -w -t "$READY_TIMEOUT" \
		-o "-c listen_addresses='' -c port=$PORT" >/dev/null 2>&1 || fail "pg_ctl start -D $DIR/data"
	if [ -x "$bin/pg_isready" ]; then
		"$bin/pg_isready" -q -h "$sock" -p "$PORT" -U "$SUPERUSER" -d postgres ||
			fail "the server of $DIR does not answer on $sock"
	fi

	cat >"$DIR/env" <<-EOF
		export HELPDESKD_TEST_POSTGRES='postgres://$SUPERUSER@/postgres?host=$(urlencode "$sock")'
	EOF
	start_bouncer "$sock"
	cat "$DIR/env"
}

cmd_stop() {
	if [ -d "$DIR" ]; then
		DIR=$(cd "$DIR" && pwd)
		stop_server
		if [ "$(sock_dir)" != "$DIR/sock" ]; then
			rm -rf "$(sock_dir)"
		fi
		if [ "$(bouncer_dir)" != "$DIR/bouncer" ]; then
			rm -rf "$(bouncer_dir)"
		fi
	fi
}

[ $# -eq 2 ] || usage
DIR=$2
case "$1" in
start) cmd_start ;;
stop) cmd_stop ;;
*) usage ;;
esac
