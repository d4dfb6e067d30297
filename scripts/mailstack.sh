#!/usr/bin/env bash
# Starts and stops a real mail stack on loopback for helpdeskd's integration tests (see
# docs/testing.md): Dovecot (IMAP without TLS, LMTP) from a config in DIR, and a Postfix
# instance of its own, also configured in DIR (DIR/postfix/main.cf and master.cf), accepting
# SMTP on a free 127.0.0.1 port and delivering every @helpdesk.test address to that Dovecot
# over LMTP; mail for @discard.helpdesk.test it queues and then discards (what a relay does
# with mail for elsewhere, without the delivery into a mailbox on the same machine).
#
#   scripts/mailstack.sh start DIR   install what is missing, (re)start, write and print DIR/env
#   scripts/mailstack.sh stop DIR    stop the Dovecot and the Postfix of DIR
#
# DIR/env exports HELPDESKD_TEST_IMAP_ADDR, HELPDESKD_TEST_SMTP_ADDR (Postfix),
# HELPDESKD_TEST_LMTP_ADDR, HELPDESKD_TEST_MAIL_DOMAIN, HELPDESKD_TEST_DISCARD_DOMAIN and
# HELPDESKD_TEST_MAIL_DIR. The users
# support, ann, bob, cat, dan, staff, staff2, eve and mallory have the password <name>-pass.
#
# Needs root (apt-get; Postfix's master and Dovecot start as root and switch to the postfix
# and mail users). Running start twice, or on a DIR left over from an earlier run, restarts
# cleanly with empty mailboxes and new ports. Every file and process of a stack belongs to its
# DIR: stacks in different DIRs run side by side (two test runs on one machine), and the
# machine's own Postfix (/etc/postfix) is neither changed nor started or stopped.
set -euo pipefail

readonly DOMAIN=helpdesk.test
readonly USERS="support ann bob cat dan staff staff2 eve mallory"
readonly PACKAGES="dovecot-imapd dovecot-lmtpd postfix"
readonly MESSAGE_SIZE_LIMIT=52428800 # 50 MiB
readonly READY_TIMEOUT=20            # seconds to wait for the listeners

say() { printf 'mailstack: %s\n' "$*" >&2; }

usage() {
	echo "usage: $0 start|stop DIR" >&2
	exit 2
}

# fail why [dovecot|postfix]... prints why, with the tails of the named servers' logs, and
# exits non-zero.
fail() {
	local why=$1 log
	shift
	say "FAILED: $why"
	for log in "$@"; do
		case $log in
		dovecot) log=${DIR:-}/dovecot.log ;;
		postfix) log=${DIR:-}/postfix.log ;;
		esac
		if [ -s "$log" ]; then
			say "--- tail of $log"
			tail -n 30 "$log" >&2
		fi
	done
	exit 1
}

# socket_dir name prints where a directory that holds unix sockets goes: DIR/name, unless DIR
# is so long that the socket paths would pass the 108-byte limit of unix sockets; then a
# directory in /tmp named after DIR's checksum, so it is still DIR's own.
socket_dir() {
	if [ "${#DIR}" -le 60 ]; then
		echo "$DIR/$1"
	else
		echo "/tmp/mailstack-$1-$(printf %s "$DIR" | cksum | cut -d' ' -f1)"
	fi
}

# run_dir is Dovecot's base_dir, which holds its sockets.
run_dir() { socket_dir run; }

# postfix_queue is the queue_directory of DIR's Postfix, which holds its sockets, its PID file
# and its mail.
postfix_queue() { socket_dir postfix-queue; }

installed() {
	local p
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || return 1
	done
	command -v dovecot >/dev/null && command -v postfix >/dev/null
}

install_packages() {
	if installed; then
		return
	fi
	[ "$(id -u)" -eq 0 ] || fail "$PACKAGES missing and not root: cannot install"
	command -v apt-get >/dev/null || fail "$PACKAGES missing and no apt-get"
	say "installing $PACKAGES"
	local log
	log=$(mktemp)
	local t0=$SECONDS
	# shellcheck disable=SC2086 # PACKAGES is a list of words
	# force-unsafe-io: no fsync per unpacked file (a throw-away test machine); it only
	# saves time.
	{
		apt-get update &&
			echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
				-o Dpkg::Options::=--force-unsafe-io $PACKAGES
	} >"$log" 2>&1 || {
		tail -n 30 "$log" >&2
		rm -f "$log"
		fail "apt-get install $PACKAGES"
	}
	rm -f "$log"
	say "installed in $((SECONDS - t0))s"
	installed || fail "$PACKAGES still not installed"
}

# free_ports prints n distinct free TCP ports on 127.0.0.1, one a line.
free_ports() {
	local n=$1
	if command -v python3 >/dev/null && python3 - "$n" <<-'EOF' 2>/dev/null; then
		import socket, sys
		socks = []
		for _ in range(int(sys.argv[1])):
		    s = socket.socket()
		    s.bind(("127.0.0.1", 0))
		    socks.append(s)
		print("\n".join(str(s.getsockname()[1]) for s in socks))
	EOF
		return
	fi
	# Fallback: random high ports that ss does not show as listening.
	local used port got=0 picked=" "
	used=$(ss -Htln 2>/dev/null | awk '{n=split($4,a,":"); print a[n]}' | sort -u)
	while [ "$got" -lt "$n" ]; do
		port=$((20000 + RANDOM % 40000))
		if ! grep -qx "$port" <<<"$used" && [[ "$picked" != *" $port "* ]]; then
			picked="$picked$port "
			echo "$port"
			got=$((got + 1))
		fi
	done
}

# greets host port prefix: true when a server on the port answers with a greeting that starts
# with prefix.
greets() {
	local line
	# shellcheck disable=SC2016 # $0 and $1 are the inner bash's arguments
	line=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1" && head -n 1 <&3' "$1" "$2" 2>/dev/null) || return 1
	[[ "$line" == "$3"* ]]
}

wait_ready() {
	local name=$1 port=$2 prefix=$3 log=$4 i
	for ((i = 0; i < READY_TIMEOUT * 5; i++)); do
		if greets 127.0.0.1 "$port" "$prefix"; then
			return 0
		fi
		sleep 0.2
	done
	fail "$name does not answer on 127.0.0.1:$port after ${READY_TIMEOUT}s" "$log"
}

stop_dovecot() {
	# Its master's PID (faster than doveadm stop, which waits seconds); doveadm when the PID
	# file is gone but the config is there.
	local pidfile pid i
	pidfile="$(run_dir)/master.pid"
	if [ -f "$pidfile" ]; then
		pid=$(cat "$pidfile" 2>/dev/null || true)
		# A stale PID file may name a process that is not ours any more.
		if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dovecot ]; then
			kill "$pid" 2>/dev/null || true
			for ((i = 0; i < 100; i++)); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.05
			done
			if kill -0 "$pid" 2>/dev/null; then
				kill -9 "$pid" 2>/dev/null || true
			fi
		fi
		rm -f "$pidfile"
	elif [ -f "$DIR/dovecot.conf" ]; then
		doveadm -c "$DIR/dovecot.conf" stop >/dev/null 2>&1 || true
	fi
}

write_dovecot_config() {
	local imap_port=$1 lmtp_port=$2 u
	: >"$DIR/users"
	for u in $USERS; do
		printf '%s:{PLAIN}%s-pass\n' "$u" "$u" >>"$DIR/users"
	done
	# The auth process runs as the dovecot user; the passwords are throw-away.
	chmod 644 "$DIR/users"
	cat >"$DIR/dovecot.conf" <<-EOF
		# Written by scripts/mailstack.sh: a throw-away Dovecot for helpdeskd's tests.
		protocols = imap lmtp
		listen = 127.0.0.1
		base_dir = $(run_dir)
		state_dir = $DIR/state
		log_path = $DIR/dovecot.log
		ssl = no
		disable_plaintext_auth = no
		auth_mechanisms = plain login
		auth_username_format = %Ln
		first_valid_uid = 8
		mail_location = maildir:$DIR/mail/%n/Maildir
		recipient_delimiter = +
		lmtp_save_to_detail_mailbox = no
		# "/" as the hierarchy separator, as most servers use: helpdesk/processed.
		namespace inbox {
		  inbox = yes
		  separator = /
		}
		# Tests open several connections per user at once.
		protocol imap {
		  mail_max_userip_connections = 200
		}
		passdb {
		  driver = passwd-file
		  args = scheme=PLAIN username_format=%n $DIR/users
		}
		userdb {
		  driver = static
		  args = uid=mail gid=mail home=$DIR/mail/%n
		}
		service imap-login {
		  inet_listener imap {
		    address = 127.0.0.1
		    port = $imap_port
		  }
		  inet_listener imaps {
		    port = 0
		  }
		}
		service lmtp {
		  inet_listener lmtp {
		    address = 127.0.0.1
		    port = $lmtp_port
		  }
		}
	EOF
}

start_dovecot() {
	local imap_port=$1 lmtp_port=$2
	stop_dovecot
	# A stale DIR: start from empty mailboxes and state.
	rm -rf "$DIR/mail" "$(run_dir)" "$DIR/state" "$DIR/dovecot.log" "$DIR/env"
	mkdir -p "$DIR/mail" "$(run_dir)" "$DIR/state"
	# Dovecot's processes run as mail and dovecot: they must reach into DIR (mktemp -d is 0700).
	chmod 755 "$DIR"
	chown mail:mail "$DIR/mail"
	write_dovecot_config "$imap_port" "$lmtp_port"
	dovecot -c "$DIR/dovecot.conf" >>"$DIR/dovecot.log" 2>&1 || fail "dovecot -c $DIR/dovecot.conf" dovecot
}

# pf runs the postfix command on DIR's instance.
pf() { postfix -c "$DIR/postfix" "$@"; }

stop_postfix() {
	# A DIR without a config has no Postfix of its own to stop.
	if [ -f "$DIR/postfix/main.cf" ] && pf status >/dev/null 2>&1; then
		pf stop >/dev/null 2>&1 || say "postfix -c $DIR/postfix stop failed"
	fi
}

# write_postfix_config writes DIR's Postfix: Postfix's defaults, except what the tests need.
# Running as root, postfix -c needs no alternate_config_directories in /etc/postfix/main.cf:
# Postfix checks that list only for callers that are not root.
write_postfix_config() {
	local smtp_port=$1 lmtp_port=$2
	mkdir -p "$DIR/postfix"
	cat >"$DIR/postfix/main.cf" <<-EOF
		# Written by scripts/mailstack.sh: a throw-away Postfix for helpdeskd's tests.
		compatibility_level = 3.6
		queue_directory = $(postfix_queue)
		data_directory = $DIR/postfix-data
		# Where the package's postfix-files and dynamicmaps.cf are (its built-in default), so
		# that postfix check finds them whatever the machine's main.cf says.
		meta_directory = $(postconf -dh meta_directory)
		inet_interfaces = 127.0.0.1
		inet_protocols = ipv4
		myhostname = mx.$DOMAIN
		mydestination = localhost
		# Nothing leaves the machine: only $DOMAIN is delivered, to DIR's Dovecot.
		default_transport = error
		relay_transport = error
		virtual_mailbox_domains = $DOMAIN
		virtual_transport = lmtp:inet:127.0.0.1:$lmtp_port
		# Accepted, queued (fsynced) and handed to the discard agent: the outbox's rate into a
		# Postfix whose deliveries run elsewhere (helpdeskd-bench's outbox cells).
		transport_maps = inline:{ discard.$DOMAIN=discard: }
		mynetworks = 127.0.0.0/8
		smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
		smtpd_tls_security_level = none
		recipient_delimiter = +
		# No /etc/aliases: mail for localhost is not part of the tests.
		alias_maps =
		alias_database =
		message_size_limit = $MESSAGE_SIZE_LIMIT
		# Must not be below message_size_limit, or Postfix refuses to start: 0 is no limit.
		mailbox_size_limit = 0
		virtual_mailbox_limit = 0
		# There is no syslog here; postlogd writes this file (the postlog service below).
		maillog_file = $DIR/postfix.log
		maillog_file_prefixes = $DIR
	EOF
	# Only the listener of this run, no port 25. No chroot (the n in the fifth column): the
	# chroot would need copies of the files the daemons read.
	cat >"$DIR/postfix/master.cf" <<-EOF
		# Written by scripts/mailstack.sh. service type private unpriv chroot wakeup maxproc command
		127.0.0.1:$smtp_port inet n - n - - smtpd
		pickup     unix  n - n 60    1 pickup
		cleanup    unix  n - n -     0 cleanup
		qmgr       unix  n - n 300   1 qmgr
		rewrite    unix  - - n -     - trivial-rewrite
		bounce     unix  - - n -     0 bounce
		defer      unix  - - n -     0 bounce
		trace      unix  - - n -     0 bounce
		verify     unix  - - n -     1 verify
		flush      unix  n - n 1000? 0 flush
		proxymap   unix  - - n -     - proxymap
		proxywrite unix  - - n -     1 proxymap
		smtp       unix  - - n -     - smtp
		relay      unix  - - n -     - smtp
		showq      unix  n - n -     - showq
		error      unix  - - n -     - error
		retry      unix  - - n -     - error
		discard    unix  - - n -     - discard
		local      unix  - n n -     - local
		virtual    unix  - n n -     - virtual
		lmtp       unix  - - n -     - lmtp
		anvil      unix  - - n -     1 anvil
		scache     unix  - - n -     1 scache
		postlog    unix-dgram n - n - 1 postlogd
	EOF
}

start_postfix() {
	local smtp_port=$1 lmtp_port=$2
	stop_postfix
	# A stale DIR: start from an empty queue. data_directory is left for Postfix to create:
	# it must belong to the postfix user, and postfix start makes it so.
	rm -rf "$DIR/postfix" "$(postfix_queue)" "$DIR/postfix-data" "$DIR/postfix.log"
	mkdir -p "$(postfix_queue)"
	write_postfix_config "$smtp_port" "$lmtp_port"
	touch "$DIR/postfix.log"
	# A failed start may say nothing on the terminal: check first (it also creates the queue's
	# subdirectories, owned by postfix and postdrop), so the reason is printed.
	pf check >&2 || fail "postfix -c $DIR/postfix check" postfix
	pf start >/dev/null 2>&1 || fail "postfix -c $DIR/postfix start" postfix
}

cmd_start() {
	[ "$(id -u)" -eq 0 ] || fail "must run as root (Postfix and Dovecot switch users)"
	install_packages
	mkdir -p "$DIR"
	DIR=$(cd "$DIR" && pwd)

	local ports imap_port lmtp_port smtp_port
	ports=$(free_ports 3 | tr '\n' ' ')
	read -r imap_port lmtp_port smtp_port <<<"$ports"
	[ -n "$smtp_port" ] || fail "no free ports"

	start_dovecot "$imap_port" "$lmtp_port"
	start_postfix "$smtp_port" "$lmtp_port"

	wait_ready "Dovecot IMAP" "$imap_port" "* OK" dovecot
	wait_ready "Dovecot LMTP" "$lmtp_port" "220" dovecot
	wait_ready "Postfix SMTP" "$smtp_port" "220" postfix

	cat >"$DIR/env" <<-EOF
		export HELPDESKD_TEST_IMAP_ADDR=127.0.0.1:$imap_port
		export HELPDESKD_TEST_SMTP_ADDR=127.0.0.1:$smtp_port
		export HELPDESKD_TEST_LMTP_ADDR=127.0.0.1:$lmtp_port
		export HELPDESKD_TEST_MAIL_DOMAIN=$DOMAIN
		export HELPDESKD_TEST_DISCARD_DOMAIN=discard.$DOMAIN
		export HELPDESKD_TEST_MAIL_DIR=$DIR
	EOF
	cat "$DIR/env"
}

cmd_stop() {
	if [ -d "$DIR" ]; then
		DIR=$(cd "$DIR" && pwd)
		stop_dovecot
		if command -v postfix >/dev/null; then
			stop_postfix
		fi
		if [ "$(run_dir)" != "$DIR/run" ]; then
			rm -rf "$(run_dir)" "$(postfix_queue)"
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
