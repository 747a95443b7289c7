#!/bin/sh
# The name herald greets a relay with (EHLO), as a real SMTP peer sees it:
# Postfix's smtp-sink records each session's greeting (X-Helo-Args).
# smtp.helo when set; else the host's fully qualified name (getaddrinfo
# AI_CANONNAME on gethostname(), what hostname --fqdn prints); else the
# list's domain; never the bare host name. For campaigns (a test copy)
# and for notices (a goodbye from herald pipe). Both fallbacks are also
# tried with a host name and /etc/hosts of our own (unshare: a private
# UTS and mount namespace), where the machine allows it.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0500/pipe-lib.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
F=$TOP/tests/t0500
plan 7

sink_start
hinit
sink_conf
ALICE=$(add_sub alice@subs.test active xen-users)
herald sub add xen-users bob@subs.test --attr role=user >/dev/null

# sink_wait ADDRESS N - wait (up to 10 s) for N messages to ADDRESS
sink_wait() { _i=0; while [ $_i -lt 100 ] && [ "$(sink_count "$1")" -lt "$2" ]; do sleep 0.1; _i=$((_i + 1)); done; }
# helo_of FILE - the EHLO name of the session that carried FILE
helo_of() { sed -n 's/^X-Helo-Args: //p' "$1" | tr -d '\r' | head -1; }
# what this machine should give: its canonical name when fully
# qualified, else the list's domain (computed here with Python's resolver)
WANT=$($PY -c '
import socket
h = socket.gethostname()
try:
    c = socket.getaddrinfo(h, None, 0, socket.SOCK_STREAM, 0, socket.AI_CANONNAME)[0][3]
except OSError:
    c = h
print(c if "." in c and not c.lower().startswith("localhost") and not c.endswith(".") else "lists.xenproject.org")')
echo "# host name $(hostname), expected EHLO name $WANT"

t "a test copy goes out" 0 herald send summit --list xen-users --segment users --test tester@example.org --as bob@subs.test
sink_wait tester@example.org 1
G=$(helo_of "$(sink_last tester@example.org)")
[ "$G" = "$WANT" ]; ok $? "the campaign greets with $WANT ($G)"
case $(hostname) in *.*) true ;; *) [ "$G" != "$(hostname)" ] ;; esac
ok $? "not the bare host name $(hostname)"

UT=$(tok u xen-users $ALICE)
fill $F/gmail-unsubscribe.eml $T/m RCPT=xen-users-unsubscribe+$UT@$D
herald pipe -f alice@subs.test xen-users-unsubscribe+$UT@$D < $T/m 2>/dev/null
sink_wait alice@subs.test 1
G=$(helo_of "$(sink_last alice@subs.test)")
[ "$G" = "$WANT" ]; ok $? "a notice (the goodbye) greets with $WANT too ($G)"

# with a host name of our own: one /etc/hosts knows fully qualified, one not
own() {	# own HOSTNAME HOSTS-LINE CMD... - CMD with that host name and hosts file
	_h=$1; _l=$2; shift 2
	printf '127.0.0.1 localhost\n%s\n' "$_l" > "$T/hosts"
	printf 'hosts: files\n' > "$T/nsswitch.conf"
	unshare -mu sh -c 'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/nsswitch.conf &&
	    hostname "$3" && shift 3 && exec "$@"' sh "$T/hosts" "$T/nsswitch.conf" "$_h" "$@"
}
if own probe '127.0.1.1 probe' true 2>/dev/null; then
	own hx1 '127.0.1.1 mail.example.net hx1' "$HERALD" send summit --list xen-users --segment users --test fq@example.org --as bob@subs.test >/dev/null 2>&1
	sink_wait fq@example.org 1
	G=$(helo_of "$(sink_last fq@example.org)")
	[ "$G" = mail.example.net ]; ok $? "host hx1, /etc/hosts names it mail.example.net: EHLO mail.example.net ($G)"
	own hx2 '127.0.1.1 hx2' "$HERALD" send summit --list xen-users --segment users --test bare@example.org --as bob@subs.test >/dev/null 2>&1
	sink_wait bare@example.org 1
	G=$(helo_of "$(sink_last bare@example.org)")
	[ "$G" = lists.xenproject.org ]; ok $? "host hx2 with no full name: EHLO the list's domain ($G)"
else
	skip "unshare -mu is not allowed here"; skip "unshare -mu is not allowed here"
fi

# smtp.helo wins
sed -i 's/^smtp {$/smtp {\n  helo = "out.example.com"/' "$HERALD_CONFIG"
grep -q 'helo = "out.example.com"' "$HERALD_CONFIG" || echo "# no helo set"
herald send summit --list xen-users --segment users --test set@example.org --as bob@subs.test >/dev/null 2>&1
sink_wait set@example.org 1
G=$(helo_of "$(sink_last set@example.org)")
[ "$G" = out.example.com ]; ok $? "smtp.helo = out.example.com is used as set ($G)"
finish
