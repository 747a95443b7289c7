#!/bin/sh
# Feedback-ID (Gmail's feedback loop): a list with feedback_id =
# "SENDERID" gives every campaign message "Feedback-ID: CAMPAIGN:SEGMENT:
# LIST:SENDERID" and every notice "Feedback-ID: notice:notice:LIST:
# SENDERID", added before signing and named in h= (dkimpy fails a message
# whose Feedback-ID was changed); a list without it gets no such header;
# a value that is not 5 to 15 letters, digits, dots and dashes is a
# configuration error naming file and line (78).
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
. "$TOP/tests/t0500/pipe-lib.sh"
. "$TOP/tests/t0710/verify-lib.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
plan 14

PORT=$(free_port)
relay_conf "$PORT"
start_sink "$PORT" "$T/sink"
L=$T/lists/xen-users.conf
herald dkim keygen xen-users --ed25519 | sed -n '/^dkim {/,/^}/p' >> "$L"
herald dns xen-users > "$T/dns.txt"
subs_csv "$T/subs.csv" 10
herald sub import xen-users "$T/subs.csv" >/dev/null

# --- without the option: no header
t "send without feedback_id" 0 herald send summit --list xen-users --segment users --yes
! grep -qi '^Feedback-ID:' "$T/sink"/*; ok $? "no message has a Feedback-ID"
rm -f "$T/sink"/*

# --- bad values: 78, file and line
sed -i '/^unsubscribe_base_url/a feedback_id = "xenproj-42"' "$L"
LINE=$(grep -n '^feedback_id' "$L" | cut -d: -f1)
for bad in abcd 0123456789abcdef "bad_id1" "with space" "comma,x" ""; do
	sed -i "s/^feedback_id = .*/feedback_id = \"$bad\"/" "$L"
	expect 78 herald lists && like "$err" "xen-users\.conf:$LINE: feedback_id \"$bad\" is not a sender id"
	ok $? "feedback_id \"$bad\": 78, naming xen-users.conf:$LINE"
done
sed -i 's/^feedback_id = .*/feedback_id = "xenproj-42.a"/' "$L"
t "a good value loads" 0 herald lists

# --- campaign messages
t "send with feedback_id" 0 herald send summit --list xen-users --segment users --segment developers --yes --again
C=$(sql 'SELECT max(id) FROM campaigns')
n=$(ls "$T/sink" | wc -l)
good=$(grep -l "^Feedback-ID: $C:\(users\|developers\):xen-users:xenproj-42\.a" "$T/sink"/* | wc -l)
[ "$n" -gt 0 ] && [ "$good" = "$n" ] && grep -q "^Feedback-ID: $C:developers:" "$T/sink"/* &&
    grep -q "^Feedback-ID: $C:users:" "$T/sink"/*
ok $? "each of the $n messages has Feedback-ID: $C:SEGMENT:xen-users:xenproj-42.a ($good)"
M=$(grep -l "^Feedback-ID: $C:developers:" "$T/sink"/* | head -1)
h=$(sed -n '/^DKIM-Signature: v=1; a=rsa/,/b=/p' "$M" | tr -d ' \t\r\n' | sed 's/.*h=\([^;]*\);.*/\1/')
pyverify "$M" >/dev/null && printf '%s\n' "$h" | grep -q ':Feedback-ID:'
ok $? "it is signed, h= names Feedback-ID, dkimpy verifies [$h]"
sed 's/^Feedback-ID: \([0-9]*\):developers:/Feedback-ID: \1:users:/' "$M" > "$T/changed.eml"
! cmp -s "$M" "$T/changed.eml" && ! pyverify "$T/changed.eml" >/dev/null
ok $? "with its Feedback-ID changed, dkimpy fails it"

# --- a notice
ID=$(sql "SELECT id FROM subscribers WHERE email = 'u2@example2.test'")
fill "$TOP/tests/t0500/plain.eml" "$T/unsub.eml" FROM=u2@example2.test RCPT=x \
    SUBJECT=unsubscribe BODY=unsubscribe MSGID=u2
rm -f "$T/sink"/*
expect 0 hpipe u2@example2.test "xen-users-unsubscribe+$(tok u xen-users $ID)@$D" "$T/unsub.eml"
G=$(grep -l 'X-Rcpt-Args: <u2@example2.test>' "$T/sink"/* | head -1)
[ -n "$G" ] && grep -q '^Feedback-ID: notice:notice:xen-users:xenproj-42\.a' "$G" && pyverify "$G" >/dev/null
ok $? "the goodbye notice has Feedback-ID: notice:notice:xen-users:xenproj-42.a, signed and verified"
finish
