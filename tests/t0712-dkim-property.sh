#!/bin/sh
# DKIM property test: N (default 1200) generated messages (tests/t0712/
# prop.py: header values with runs of spaces and tabs, folded and
# repeated fields, leading and trailing WSP, UTF-8; bodies with empty and
# whitespace-only lines, trailing blank lines, long lines, lines starting
# with a dot, an empty body, none at all, no last CRLF) signed by herald's
# signer (rsa-sha256 and ed25519-sha256, through the dkim-canon tool) and
# verified by dkimpy, DNS answered by a function; herald's relaxed
# header and body bytes (dkim_canonical, the signer's own code) equal
# dkimpy's for every message. SEED picks the messages (printed).
. "${TOP:-.}/tests/lib.sh"
plan 5
N=${N:-1200}
SEED=${SEED:-24}
echo "# $N messages, SEED=$SEED"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa.pem" 2>/dev/null &&
    openssl genpkey -algorithm ED25519 -out "$T/ed.pem" 2>/dev/null
ok $? "an RSA and an ed25519 key"
$PY "$TOP/tests/t0712/prop.py" gen "$T/m" "$N" "$SEED"
t "herald signs and canonicalizes $N messages" 0 "$BUILD/tools/dkim-canon" "$T/rsa.pem" "$T/m" "$T/ed.pem"
out=$($PY "$TOP/tests/t0712/prop.py" check "$T/m")
printf '%s\n' "$out" | grep '^#' | head -20
[ "$(printf '%s\n' "$out" | sed -n 's/^verified //p')" = "$N" ]
ok $? "dkimpy verifies both signatures of all $N ($(printf '%s\n' "$out" | sed -n 's/^verified //p'))"
[ "$(printf '%s\n' "$out" | sed -n 's/^body-equal //p')" = "$N" ]
ok $? "herald's canonical body equals dkimpy's for all $N ($(printf '%s\n' "$out" | sed -n 's/^body-equal //p'))"
[ "$(printf '%s\n' "$out" | sed -n 's/^headers-equal //p')" = "$N" ]
ok $? "herald's canonical h= fields equal dkimpy's for all $N ($(printf '%s\n' "$out" | sed -n 's/^headers-equal //p'))"
finish
