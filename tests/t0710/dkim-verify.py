#!/usr/bin/python3
# dkim-verify.py MESSAGE RECORDS - verify every DKIM-Signature of MESSAGE
# with dkimpy, its DNS answered from RECORDS (the zone lines herald dns or
# herald dkim keygen printed): no network. Prints one line per signature,
# "ALG s=SELECTOR: pass|fail"; exit 0 when there is at least one and
# every one passes, 1 otherwise.
import re
import sys

import dkim

msg = open(sys.argv[1], "rb").read()
text = open(sys.argv[2]).read()
records = {}
for m in re.finditer(r'^(\S+)\s+IN\s+TXT\s+\(?((?:\s*"[^"]*")+)\s*\)?', text, re.M):
    records[m.group(1).rstrip(".").lower()] = "".join(
        re.findall(r'"([^"]*)"', m.group(2))).encode()


def dnsfunc(name, timeout=5):
    return records.get(name.decode().rstrip(".").lower(), b"")


d = dkim.DKIM(msg)
n = len([h for h in d.headers if h[0].lower() == b"dkim-signature"])
bad = 0
for i in range(n):
    try:
        ok = d.verify(idx=i, dnsfunc=dnsfunc)
    except Exception as e:  # a verifier error is a failure, with its reason
        ok = False
        print("# %s" % e)
    sig = dict(dkim.util.parse_tag_value(
        [h for h in d.headers if h[0].lower() == b"dkim-signature"][i][1]))
    print("%s s=%s: %s" % (sig[b"a"].decode(), sig[b"s"].decode(),
                           "pass" if ok else "fail"))
    bad += not ok
sys.exit(0 if n > 0 and bad == 0 else 1)
