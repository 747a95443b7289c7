#!/bin/sh
# DKIM on every kind of notice herald pipe sends (the goodbye after an
# unsubscribe by token, the confirmation of an unsubscribe without one,
# the double opt-in confirmation, the help of -request, the forward of a
# reply to the owners, the forward of owner mail): each is signed by
# herald (rsa-sha256 and ed25519-sha256), recorded by smtp-sink, and
# verified by dkimpy (DNS answered by a function) and opendkim-testmsg
# (DNS answered in a namespace of its own); each verifier fails it once a
# signed header is changed and once a List-Unsubscribe is added.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0500/pipe-lib.sh"
. "$TOP/tests/t0710/verify-lib.sh"
F=$TOP/tests/t0500
plan 20

sink_start
hinit
sink_conf
herald dkim keygen xen-users --ed25519 | sed -n '/^dkim {/,/^}/p' >> "$T/lists/xen-users.conf"
herald dns xen-users > "$T/dns.txt"
grep -q '^herald-ed25519\._domainkey' "$T/dns.txt"; ok $? "xen-users signs with both keys; herald dns prints their records"
ALICE=$(add_sub alice@subs.test active xen-users)
add_sub carol@subs.test active xen-users >/dev/null
add_sub dave@subs.test active xen-users >/dev/null
add_sub bob@subs.test active xen-users >/dev/null

# notice KIND SENDER RCPT SUBJECT BODY WHO - one inbound mail through
# herald pipe; the notice it caused, for WHO, is checked
notice() {
	fill "$F/plain.eml" "$T/in.eml" FROM="$2" RCPT="$3" SUBJECT="$4" BODY="$5" MSGID="$1"
	expect 0 hpipe "$2" "$3" "$T/in.eml"
	m=$(sink_last "$6")
	[ -f "$m" ] && pyverify "$m" > "$T/py.out"
	ok $? "$1: signed, dkimpy verifies both signatures ($(tr '\n' ' ' < "$T/py.out" 2>/dev/null))"
	if [ $ODK = yes ]; then
		odkverify "$m" 2>/dev/null; ok $? "$1: opendkim-testmsg verifies it"
	else
		skip "$1: opendkim-testmsg (needs root, unshare and ip)"
	fi
	tamper "$m" "$T/n-subject.eml" "$T/n-added.eml"
	if [ $ODK = yes ]; then
		! pyverify "$T/n-subject.eml" >/dev/null && ! pyverify "$T/n-added.eml" >/dev/null &&
		    ! odkverify "$T/n-subject.eml" 2>/dev/null && ! odkverify "$T/n-added.eml" 2>/dev/null
		ok $? "$1: a changed Subject and an added List-Unsubscribe fail both verifiers"
	else
		! pyverify "$T/n-subject.eml" >/dev/null && ! pyverify "$T/n-added.eml" >/dev/null
		ok $? "$1: a changed Subject and an added List-Unsubscribe fail dkimpy"
	fi
	rm -f "$T"/sink/m.*
}

notice goodbye alice@subs.test "xen-users-unsubscribe+$(tok u xen-users $ALICE)@$D" \
    unsubscribe unsubscribe alice@subs.test
notice unsubscribe-confirmation carol@subs.test "xen-users-unsubscribe@$D" \
    unsubscribe unsubscribe carol@subs.test
notice subscribe-confirmation eve@subs.test "xen-users-subscribe@$D" \
    subscribe subscribe eve@subs.test
notice help bob@subs.test "xen-users-request@$D" help help bob@subs.test
notice reply-forward dave@subs.test "xen-users@$D" "Re: the summit" \
    "Will there be a remote option?" community@xenproject.org
notice owner-forward zed@else.test "xen-users-owner@$D" "a question" \
    "Who runs this list?" community@xenproject.org
# the last one again, with the signature taken off: no verifier passes it
fill "$F/plain.eml" "$T/in.eml" FROM=zed@else.test RCPT="xen-users-owner@$D" \
    SUBJECT=again BODY=again MSGID=again
hpipe zed@else.test "xen-users-owner@$D" "$T/in.eml" 2>/dev/null
m=$(sink_last community@xenproject.org)
grep -v '^DKIM-Signature:\|^[[:space:]]' "$m" > "$T/nosig.eml" 2>/dev/null
! pyverify "$T/nosig.eml" >/dev/null; ok $? "an unsigned copy does not pass dkimpy"
finish
