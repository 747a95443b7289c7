# verify-lib.sh - the two independent DKIM verifiers the DKIM tests use
# (t0710, t0713), and a message tampered with after signing.
#   pyverify FILE [RECORDS]   dkimpy over every signature of FILE, DNS
#                             answered from RECORDS (herald dns output,
#                             default $T/dns.txt) by a function
#   odkverify FILE [RECORDS]  opendkim-testmsg (libopendkim's verifier),
#                             its lookups through the system resolver, in
#                             a network and mount namespace of its own whose
#                             resolv.conf names a DNS server (dns-txt.py)
#                             answering from RECORDS on its loopback; only
#                             when ODK=yes (root, unshare and ip)
#   tamper FILE SUBJ ADDED    SUBJ: FILE with its Subject changed; ADDED:
#                             FILE with a List-Unsubscribe added above From
V=$TOP/tests/t0710
pyverify() { $PY "$V/dkim-verify.py" "$1" "${2:-$T/dns.txt}"; }
ODK=no
if command -v opendkim-testmsg >/dev/null && command -v ip >/dev/null && [ "$(id -u)" = 0 ] &&
    unshare -mn true 2>/dev/null; then ODK=yes; fi
odkverify() {
	cat > "$T/odk.sh" <<ODKEOF
ip link set lo up
echo "nameserver 127.0.0.1" > "$T/resolv.conf"
mount --bind "$T/resolv.conf" /etc/resolv.conf
rm -f "$T/dns.out"
$PY "$V/dns-txt.py" "${2:-$T/dns.txt}" 53 > "$T/dns.out" 2>&1 &
p=\$!
i=0; while [ \$i -lt 50 ] && ! grep -qs ready "$T/dns.out"; do sleep 0.1; i=\$((i+1)); done
opendkim-testmsg < "$1"; rc=\$?
kill \$p
exit \$rc
ODKEOF
	unshare -mn sh "$T/odk.sh"
}
tamper() {
	sed 's/^Subject: /Subject: Re: /' "$1" > "$2"
	$PY - "$1" "$3" <<'PYEOF'
import re, sys
m = open(sys.argv[1], "rb").read()
# a List-Unsubscribe added after signing, above the signed headers (where
# a forwarder would put one)
i = re.search(rb"(?m)^From: ", m).start()
nl = b"\r\n" if b"\r\n" in m else b"\n"
open(sys.argv[2], "wb").write(m[:i] + b"List-Unsubscribe: <https://evil.example/u>" + nl + m[i:])
PYEOF
}
