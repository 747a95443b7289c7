#!/bin/sh
# DKIM: herald dkim keygen, the dkim { } section and its bad inputs (a
# missing, weak, wrong-type or unparsable key stops send and render with
# 78 naming the file; an unaligned d= is a configuration error); every
# shipped template signed, sent to smtp-sink and verified by two
# independent verifiers (dkimpy and opendkim-testmsg) against the TXT
# records herald dns printed; a message changed in a signed header, or
# with a List-Unsubscribe added after signing, fails both; notices are
# signed; herald dns and herald doctor (its one-click probe answered by
# a real herald serve on a free port); a signing failure mid-campaign
# keeps the deliveries queued.
. "${TOP:-.}/tests/lib.sh"
. "$TOP/tests/t0400/common.sh"
. "$TOP/tests/t0500/pipe-lib.sh"
. "$TOP/tests/t0700/serve-lib.sh"
HERALD_TEMPLATES=$TOP/templates; export HERALD_TEMPLATES
V=$TOP/tests/t0710
plan 62

PORT=$(free_port)
WEBPORT=$(free_port)
relay_conf "$PORT" "web {" "  listen = \"127.0.0.1:$WEBPORT\"" "}"
start_sink "$PORT" "$T/sink"
L=$T/lists/xen-users.conf
# setkey PATH - the RSA key_file of xen-users
setkey() { sed -i "s|^\([[:space:]]*\)key_file = .*|\1key_file = \"$1\"|" "$L"; }

. "$V/verify-lib.sh"

# --- keys
t "keygen makes an RSA and an ed25519 key" 0 herald dkim keygen xen-users --ed25519
K=$T/data/dkim/xen-users.herald.pem
E=$T/data/dkim/xen-users.herald-ed25519.pem
[ "$(stat -c %a "$K")" = 600 ] && [ "$(stat -c %a "$E")" = 600 ] &&
    [ "$(stat -c %a "$T/data/dkim")" = 700 ]
ok $? "keys are mode 0600 in the data folder (folder 0700)"
like "$out" '^herald\._domainkey\.xenproject\.org\. IN TXT \( "v=DKIM1; k=rsa; p=MII' &&
    like "$out" '^herald-ed25519\._domainkey\.xenproject\.org\. IN TXT \( "v=DKIM1; k=ed25519; p=' &&
    like "$out" 'rsa, 2048 bits'
ok $? "it prints both TXT records (2048-bit RSA)"
openssl pkey -in "$K" -noout -text 2>/dev/null | grep -q 'Private-Key: (2048 bit'
ok $? "openssl reads the RSA key: 2048 bits"
like "$out" '^dkim \{' && like "$out" 'ed25519_selector = "herald-ed25519"'
ok $? "and the dkim { } section to add to the list file"
printf '%s\n' "$out" | sed -n '/^dkim {/,/^}/p' >> "$L"
cp "$K" "$T/k.saved"
t "a second keygen keeps the key" 73 herald dkim keygen xen-users
cmp -s "$K" "$T/k.saved" && like "$err" 'exists'
ok $? "the key is unchanged and the error says why"

# --- bad input: send and render refuse to start, 78, naming the file
subs_csv "$T/subs.csv" 12
herald sub import xen-users "$T/subs.csv" >/dev/null
mv "$K" "$T/k.away"
t "send with the key missing is refused" 78 herald send summit --list xen-users \
    --segment users --yes
like "$err" "$K" && [ "$(sql 'SELECT count(*) FROM campaigns')" = 0 ]
ok $? "naming the path, and no campaign is left behind"
t "render with the key missing is refused" 78 herald render summit \
    --list xen-users --to u1@example1.test
t "serve with the key missing does not start" 78 timeout 10 "$HERALD" serve --listen 127.0.0.1:$(free_port)
like "$err" "$K"; ok $? "naming the path"
chmod 000 "$T/k.away"; mv "$T/k.away" "$K"
if [ "$(id -u)" != 0 ]; then
	t "an unreadable key is refused" 78 herald render summit --list xen-users --to u1@example1.test
else
	skip "an unreadable key (root reads every file)"
fi
chmod 600 "$K"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:768 -out "$T/weak.pem" 2>/dev/null
setkey "$T/weak.pem"
t "an RSA key under 1024 bits is refused" 78 herald send summit --list xen-users \
    --segment users --yes
like "$err" "$T/weak.pem: an RSA key of 768 bits is too weak"
ok $? "and the error says so"
setkey "$E"
t "an ed25519 key as key_file is refused" 78 herald render summit --list xen-users \
    --to u1@example1.test
like "$err" "$E: not an RSA key"; ok $? "wrong type, named"
echo "not a key" > "$T/junk.pem"
setkey "$T/junk.pem"
t "a file that is no key is refused" 78 herald render summit --list xen-users \
    --to u1@example1.test
setkey "$K"
sed -i 's|domain = "xenproject.org"|domain = "example.net"|' "$L"
t "a d= not aligned with From is a configuration error" 78 herald lists
like "$err" "xen-users.conf:[0-9]+: dkim: domain example.net is not aligned"
ok $? "naming file:line"
sed -i 's|domain = "example.net"|domain = "xenproject.org"|' "$L"

# --- herald dns: the records, and dkimpy/opendkim use them as DNS
t "herald dns" 0 herald dns xen-users
printf '%s\n' "$out" > "$T/dns.txt"
like "$out" '^lists\.xenproject\.org\. IN TXT "v=spf1 mx a ~all"$' &&
    like "$out" '^_dmarc\.xenproject\.org\. IN TXT "v=DMARC1; p=none; rua=mailto:community@xenproject\.org"$' &&
    like "$out" '^lists\.xenproject\.org\. IN MX 10 ' &&
    like "$out" '^herald\._domainkey\.xenproject\.org\. IN TXT' &&
    like "$out" '^herald-ed25519\._domainkey\.xenproject\.org\. IN TXT'
ok $? "SPF for the envelope domain, DMARC p=none with rua, MX, both DKIM keys"
like "$out" 'DKIM d=xenproject\.org: aligned \(strict' &&
    like "$out" 'SPF, envelope domain lists\.xenproject\.org: aligned \(relaxed'
ok $? "and which identifiers align with From"
t "herald dns --spf --rua --mx" 0 herald dns xen-users --spf ip4:192.0.2.25 \
    --spf include:_spf.example.net --rua dmarc@xenproject.org --mx mx1.xenproject.org
like "$out" '"v=spf1 ip4:192\.0\.2\.25 include:_spf\.example\.net ~all"' &&
    like "$out" 'rua=mailto:dmarc@xenproject\.org' && like "$out" 'IN MX 10 mx1\.xenproject\.org\.$'
ok $? "takes the sending hosts, report address and MX"

# --- render prints what is sent
t "render signs" 0 herald render summit --list xen-users --to u1@example1.test
printf '%s\n' "$out" > "$T/render.eml"
[ "$(grep -c '^DKIM-Signature:' "$T/render.eml")" = 2 ] &&
    like "$(head -1 "$T/render.eml")" '^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=xenproject\.org;'
ok $? "render prints the message with its two signatures on top"
h=$(sed -n '/^DKIM-Signature: v=1; a=rsa/,/b=/p' "$T/render.eml" | tr -d ' \t\r\n' | sed 's/.*h=\([^;]*\);.*/\1/')
[ "$h" = "From:To:Subject:Date:Message-ID:MIME-Version:Reply-To:List-Id:List-Help:List-Owner:List-Post:List-Subscribe:List-Unsubscribe:List-Unsubscribe-Post:Content-Type:From:Subject:List-Unsubscribe:List-Unsubscribe-Post" ]
ok $? "h= covers the list headers and over-signs From, Subject, List-Unsubscribe(-Post) [$h]"
pyverify "$T/render.eml" >/dev/null; ok $? "dkimpy verifies the rendered message"

# --- every shipped template, signed, sent to smtp-sink, verified twice
for kind in summit talks sponsorship; do
	rm -f "$T/sink"/*
	expect 0 herald send "$kind" --list xen-users --segment users --yes --again
	n=$(ls "$T/sink" | wc -l)
	bad=0; for m in "$T/sink"/*; do pyverify "$m" >/dev/null || bad=$((bad + 1)); done
	[ "$n" -gt 0 ] && [ "$bad" = 0 ]; ok $? "$kind: $n messages to the sink, all verify with dkimpy ($bad not)"
	if [ $ODK = yes ]; then
		bad=0; for m in "$T/sink"/*; do odkverify "$m" 2>/dev/null || bad=$((bad + 1)); done
		[ "$bad" = 0 ]; ok $? "$kind: opendkim-testmsg verifies them all ($bad not)"
	else
		skip "$kind: opendkim-testmsg needs root, unshare and ip for its private DNS"
	fi
	tamper "$(ls "$T/sink"/* | head -1)" "$T/k-subject.eml" "$T/k-added.eml"
	! pyverify "$T/k-subject.eml" >/dev/null && ! pyverify "$T/k-added.eml" >/dev/null
	ok $? "$kind: dkimpy fails a changed Subject and an added List-Unsubscribe"
	if [ $ODK = yes ]; then
		! odkverify "$T/k-subject.eml" 2>/dev/null && ! odkverify "$T/k-added.eml" 2>/dev/null
		ok $? "$kind: opendkim-testmsg fails them too"
	else
		skip "$kind: opendkim-testmsg (needs root, unshare and ip)"
	fi
done
M=$(ls "$T/sink"/* | head -1)
out=$(pyverify "$M"); like "$out" '^rsa-sha256 s=herald: pass$' &&
    like "$out" '^ed25519-sha256 s=herald-ed25519: pass$'
ok $? "dkimpy verifies both signatures, rsa-sha256 and ed25519-sha256"

# --- the verifiers can say no
sed 's/^Subject: /Subject: Re: /' "$M" > "$T/subject.eml"
! pyverify "$T/subject.eml" >/dev/null; ok $? "dkimpy: a changed Subject fails"
$PY - "$M" "$T/added.eml" <<'PYEOF'
import sys
m = open(sys.argv[1], "rb").read()
# a List-Unsubscribe added after signing, above the signed headers (where
# a forwarder would put one)
i = m.index(b"\nFrom: ") + 1
open(sys.argv[2], "wb").write(m[:i] + b"List-Unsubscribe: <https://evil.example/u>\r\n" + m[i:])
PYEOF
! pyverify "$T/added.eml" >/dev/null; ok $? "dkimpy: a List-Unsubscribe added after signing fails"
! pyverify "$M" /dev/null >/dev/null; ok $? "dkimpy: no key in DNS fails"
if [ $ODK = yes ]; then
	! odkverify "$T/subject.eml" 2>/dev/null; ok $? "opendkim-testmsg: a changed Subject fails"
	! odkverify "$T/added.eml" 2>/dev/null; ok $? "opendkim-testmsg: an added List-Unsubscribe fails"
	echo > "$T/empty.txt"
	! odkverify "$M" "$T/empty.txt" 2>/dev/null; ok $? "opendkim-testmsg: no key in DNS fails (it did ask our DNS)"
else
	skip "opendkim-testmsg (needs root, unshare and ip)"
	skip "opendkim-testmsg (needs root, unshare and ip)"
	skip "opendkim-testmsg (needs root, unshare and ip)"
fi

# --- notices are signed: the goodbye after an unsubscribe by token
ID=$(sql "SELECT id FROM subscribers WHERE email = 'u2@example2.test'")
sed -e 's/@FROM@/u2@example2.test/' -e 's/@RCPT@/x/' -e 's/@SUBJECT@/unsubscribe/' \
    -e 's/@MSGID@/u2/' -e 's/@BODY@/unsubscribe/' "$TOP/tests/t0500/plain.eml" > "$T/unsub.eml"
rm -f "$T/sink"/*
t "an unsubscribe by mail" 0 hpipe u2@example2.test "xen-users-unsubscribe+$(tok u xen-users $ID)@$D" "$T/unsub.eml"
G=$(grep -l 'X-Rcpt-Args: <u2@example2.test>' "$T/sink"/* | head -1)
[ -n "$G" ] && grep -q '^Auto-Submitted: auto-replied' "$G" && pyverify "$G" >/dev/null
ok $? "the goodbye notice is signed and verifies"

# --- herald doctor (it probes herald serve at web.listen)
serve_start "$WEBPORT"
REC=$(sed -n '/^herald\._domainkey/,/)/p' "$T/dns.txt" | sed 's/^[^(]*(//; s/)$//' | tr -d '\n')
t "doctor with the published record" 0 herald doctor xen-users --txt "$REC"
like "$out" '^PASS key readable: .*xen-users\.herald\.pem \(rsa, 2048 bits' &&
    like "$out" '^PASS published key matches herald\._domainkey\.xenproject\.org' &&
    like "$out" '^PASS From xenproject\.org and d=xenproject\.org: aligned' &&
    like "$out" '^PASS sample has List-Unsubscribe-Post' && like "$out" '^PASS sample has Precedence' &&
    like "$out" '^PASS h= names List-Unsubscribe-Post 2 times' &&
    like "$out" '^PASS signature verifies .*rsa-sha256 s=herald d=xenproject\.org: pass.*ed25519-sha256 s=herald-ed25519 d=xenproject\.org: pass' &&
    like "$out" "^PASS one-click URL served: herald serve at 127\.0\.0\.1:$WEBPORT answered 200 OK"
ok $? "PASS lines: key, record, alignment, headers, over-signing, verification, one-click served"
DIG=$(sed -n '/^herald\._domainkey/,/)/p' "$T/dns.txt" | grep -o '"[^"]*"' | tr '\n' ' ')
t "doctor with the record as dig +short prints it" 0 herald doctor xen-users --txt "$DIG"
like "$out" '^PASS signature verifies \(herald.s verifier over libcrypto, key from --txt\)'
ok $? "the quoted strings are joined as DNS joins them"
OTHER=$(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 2>/dev/null | openssl pkey -pubout -outform der 2>/dev/null | base64 -w0)
t "doctor with a record of another key" 78 herald doctor xen-users --txt "v=DKIM1; k=rsa; p=$OTHER"
like "$out" '^FAIL published key does NOT match' && like "$out" '^FAIL signature verifies'
ok $? "fails the match and the verification"
t "doctor on a list that does not sign" 78 herald doctor xen-devel
like "$out" '^FAIL dkim: .*xen-devel\.conf has no dkim'; ok $? "says so"
serve_stop

# --- a signing failure mid-campaign keeps the deliveries queued
rm -f "$T/sink"/*
# the composer's check render signs once: 3 means two messages are signed
t "send with signing failing after two messages" 0 env HERALD_DKIM_FAIL_AFTER=3 \
    "$HERALD" send summit --list xen-users --segment developers --yes --again
C=$(sql 'SELECT max(id) FROM campaigns')
[ "$(ls "$T/sink" | wc -l)" = 2 ] &&
    [ "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = $C AND state = 'sent'")" = 2 ] &&
    [ "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = $C AND state = 'failed'")" = 0 ] &&
    [ "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = $C AND state = 'queued' AND stage = 'sign'")" -gt 0 ]
ok $? "two sent, the rest queued (stage sign), none failed"
t "retry signs and sends the rest" 0 herald campaign retry "$C"
[ "$(sql "SELECT count(*) FROM deliveries WHERE campaign_id = $C AND state != 'sent'")" = 0 ]
ok $? "every delivery of the campaign is sent"
finish
