# postfix-lib.sh - a real Postfix on loopback, for the tests that run herald
# under it (t0501: pipe(8), t0513: lmtp(8)); sourced after pipe-lib.sh, used
# after hinit.
#
#   pf_setup --user nobody     # "herald mta postfix" with these options
#   (services of the test's own appended to $PF/etc/master.cf)
#   pf_start
#   submit FROM TO FILE; waitfor SQL WANT; maildir_files WHO
#
# What must stay true: the Postfix is the test's own, its configuration,
# queue, log and the subscribers' maildirs under $PF ($T/pf), its smtpd on
# 127.0.0.1:$PORT, a free port, which is also the instance's relay (the
# notices come back through it to the maildirs); it is stopped at exit.
# The lists' mail goes where the transport map that herald mta postfix
# printed (kept in $T/mta.out) says, with the main.cf lines it asks for.

# without Postfix, or not as root, the test that sources this is skipped
if ! command -v postfix >/dev/null || [ "$(id -u)" != 0 ]; then
	echo "1..0 # skip needs Postfix (make deps) and root"; exit 0
fi

# pf_setup MTA_OPTION… - $PF configured (main.cf, Debian's master.cf
# unchrooted) for the map of "herald mta postfix MTA_OPTION…"; the
# instance relays through it
pf_setup() {
	PORT=$(free_port)
	PF=$T/pf
	mkdir -p "$PF/etc" "$PF/queue" "$PF/data" "$PF/mail"
	chmod 711 "$T"
	chown -R nobody "$T/data" "$PF/mail"
	printf 'smtp {\n  host = "127.0.0.1"\n  port = %s\n  starttls = "off"\n  timeout = 10\n}\n' "$PORT" >> "$HERALD_CONFIG"

	# the transport and the map, as herald mta postfix writes them
	"$HERALD" mta postfix "$@" > "$T/mta.out"
	MAP=$(sed -n 's/^\([^# ][^ \t]*@lists[^ \t]*\)[ \t]*\([^ \t]*\)$/\1=\2/p' "$T/mta.out" | tr '\n' ' ')
	[ -n "$MAP" ] || { echo "Bail out! no transport map from herald mta postfix $*"; exit 1; }
	cat > "$PF/etc/main.cf" <<EOC
compatibility_level = 3.6
queue_directory = $PF/queue
data_directory = $PF/data
maillog_file = $PF/maillog
maillog_file_prefixes = $PF
myhostname = mx.herald.test
mydomain = herald.test
mydestination =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
relay_domains = lists.xenproject.org
transport_maps = inline:{ $MAP }
$(sed -n 's/^\(recipient_delimiter = .*\)/\1/p; s/^\(herald_destination_recipient_limit = .*\)/\1/p' "$T/mta.out")
virtual_mailbox_domains = subs.test, xenproject.org
virtual_mailbox_base = $PF/mail
virtual_mailbox_maps = inline:{ carol@subs.test=carol/, alice@subs.test=alice/, eve@subs.test=eve/, dave@subs.test=dave/, community@xenproject.org=owner/, events@xenproject.org=owner2/ }
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
smtpd_reject_unlisted_recipient = no
default_destination_concurrency_limit = 4
minimal_backoff_time = 1s
maximal_backoff_time = 2s
queue_run_delay = 1s
delay_warning_time = 0
EOC
	# Debian's master.cf, unchrooted, with smtpd on 127.0.0.1:PORT
	awk -v port="$PORT" '
		/^[a-z0-9]/ && NF >= 8 && $2 ~ /^(inet|unix|unix-dgram|fifo|pass)$/ {
			if ($1 == "smtp" && $2 == "inet") $1 = "127.0.0.1:" port
			$5 = "n"
		}
		{ print }' /etc/postfix/master.cf > "$PF/etc/master.cf"
	grep -q "^127.0.0.1:$PORT" "$PF/etc/master.cf" || { echo "Bail out! no smtpd line in master.cf"; exit 1; }
	PFC="-c $PF/etc"
}

# pf_start - start the Postfix of $PF (stopped at exit) and wait for its
# smtpd; from here on files the script makes stay writable for the
# pipe's user (umask 000)
pf_start() {
	chmod 755 "$PF/data"; chown postfix "$PF/data"
	at_exit pf_stop
	postfix $PFC start >"$T/pf.start" 2>&1 || { cat "$T/pf.start" "$PF/maillog" 2>/dev/null | sed 's/^/# /'; echo "Bail out! postfix did not start"; exit 1; }
	_i=0
	while [ $_i -lt 50 ] && ! $PY -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null; do
		sleep 0.2; _i=$((_i + 1))
	done
	umask 000
}
pf_stop() { postfix $PFC stop >/dev/null 2>&1; }

# submit FROM TO FILE - hand a message to Postfix over SMTP
submit() {
	$PY - "$PORT" "$1" "$2" "$3" <<'EOP'
import smtplib, sys
port, frm, to, path = sys.argv[1:5]
with open(path, 'rb') as f:
    data = f.read()
s = smtplib.SMTP('127.0.0.1', int(port), timeout=10)
s.sendmail(frm, [to], data)
s.quit()
EOP
}
# waitfor SQL WANT - poll the database (up to 90 s: Postfix's queue
# manager and bounce daemon are slow to wake on a loaded machine) until
# SQL gives WANT; on a miss, what it got and the maillog go to stderr
waitfor() {
	_i=0
	while [ $_i -lt 450 ]; do
		[ "$(sql "$1" 2>/dev/null)" = "$2" ] && return 0
		sleep 0.2; _i=$((_i + 1))
	done
	echo "#   waited for: $1 = $2, got: $(sql "$1" 2>&1)" >&2
	sed 's/^/#   maillog: /' "$PF/maillog" | tail -12 >&2
	return 1
}
# maildir_files WHO - the messages in WHO's maildir (file names)
maildir_files() { ls "$PF/mail/$1/new/" 2>/dev/null | sed "s|^|$PF/mail/$1/new/|"; }
