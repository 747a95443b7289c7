#!/usr/bin/python3
# prop.py gen DIR N SEED - write N generated messages DIR/NNNN.eml (CRLF):
#   header values with runs of spaces and tabs, folded lines, leading and
#   trailing WSP, UTF-8, names in any case, repeated fields; bodies with
#   empty and whitespace-only lines, trailing blank lines, long lines,
#   UTF-8, lines starting with a dot, runs of WSP, trailing WSP, an empty
#   body, a body without its last CRLF, a message without a body.
# prop.py check DIR - for every DIR/NNNN.eml that dkim-canon signed and
#   canonicalized: dkimpy verifies NNNN.signed (DNS from DIR/dns.txt), and
#   dkimpy's relaxed body and header bytes (its own rfc822_parse,
#   select_headers and canonicalization) equal herald's NNNN.body and
#   NNNN.hdrs. Prints "messages N", "verified N", "body-equal N",
#   "headers-equal N" and the first differences.
import os
import random
import re
import sys

import dkim
from dkim.canonicalization import CanonicalizationPolicy

WORDS = [b"announce", b"Xen", b"summit", b"Z\xc3\xbcrich", b"caf\xc3\xa9",
         b"\xe6\x9d\xb1\xe4\xba\xac", b"na\xc3\xafve", b"talks", b"=?utf-8?q?x?=",
         b"<a@example.org>", b"(comment)", b"\"quoted  string\"", b"1.0",
         b"x" * 40]
SEPS = [b" ", b"  ", b"\t", b" \t ", b"\t\t", b"\r\n ", b"\r\n\t", b"\r\n  \t",
        b"     "]
WSP = [b"", b"", b" ", b"  ", b"\t", b" \t", b"\t "]


def value(r, words=None):
    n = r.randint(0, 8) if words is None else words
    v = r.choice(WSP)
    for i in range(n):
        if i > 0:
            v += r.choice(SEPS)
        v += r.choice(WORDS)
    if n and r.random() < 0.1:
        v += b"\r\n " + r.choice([b"", b" ", b"\t"])   # a blank continuation
    return v + r.choice(WSP)


def case(r, name):
    return r.choice([name, name.lower(), name.upper()])


def headers(r):
    hs = [(b"From", value(r, 2) or b" a@example.org"),
          (b"To", value(r, 2)),
          (b"Subject", value(r)),
          (b"Date", b" Sun, 6 Dec 2026 17:00:00 +0000"),
          (b"Message-ID", b" <%d@example.org>" % r.randint(1, 10**9)),
          (b"MIME-Version", b" 1.0")]
    for name in [b"List-Id", b"List-Unsubscribe", b"List-Unsubscribe-Post",
                 b"Reply-To", b"Content-Type", b"X-Other", b"Received", b"To"]:
        if r.random() < 0.4:
            hs.insert(r.randint(0, len(hs)), (name, value(r)))
    return b"".join(case(r, n) + b":" + v + b"\r\n" for n, v in hs)


def line(r):
    k = r.randint(0, 9)
    if k == 0:
        return b""
    if k == 1:
        return r.choice(WSP[2:]) * r.randint(1, 3)         # whitespace only
    if k == 2:
        return b"." + value(r).replace(b"\r\n", b"")         # a dot first
    if k == 3:
        return b" ".join(r.choice(WORDS) for _ in range(r.randint(150, 400)))
    words = [r.choice(WORDS) for _ in range(r.randint(1, 12))]
    out = r.choice(WSP)
    for i, w in enumerate(words):
        out += (r.choice([b" ", b" ", b"  ", b"\t", b" \t  "]) if i else b"") + w
    return out + r.choice(WSP)


def body(r):
    k = r.random()
    if k < 0.05:
        return None                                          # no body at all
    if k < 0.1:
        return b""                                           # empty body
    lines = [line(r) for _ in range(r.randint(1, 30))]
    lines += [r.choice([b"", b" ", b"\t", b"  "]) for _ in range(r.randint(0, 3))]
    b = b"\r\n".join(lines)
    if r.random() < 0.1 and lines[-1].rstrip(b" \t") == lines[-1]:
        return b                          # no CRLF after the last line
    return b + b"\r\n"


def gen(d, n, seed):
    r = random.Random(seed)
    os.makedirs(d, exist_ok=True)
    for i in range(n):
        b = body(r)
        m = headers(r) + (b"" if b is None else b"\r\n" + b)
        open(os.path.join(d, "%04d.eml" % i), "wb").write(m)


def records(d):
    text = open(os.path.join(d, "dns.txt")).read()
    rec = {}
    for m in re.finditer(r'^(\S+)\s+IN\s+TXT\s+\(?((?:\s*"[^"]*")+)\s*\)?', text, re.M):
        rec[m.group(1).rstrip(".").lower()] = "".join(
            re.findall(r'"([^"]*)"', m.group(2))).encode()
    return rec


def check(d):
    rec = records(d)
    pol = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
    dnsfunc = lambda name, timeout=5: rec.get(name.decode().rstrip(".").lower(), b"")
    n = verified = beq = heq = 0
    shown = 0
    for f in sorted(os.listdir(d)):
        if not f.endswith(".eml"):
            continue
        base = os.path.join(d, f[:-4])
        n += 1
        msg = open(base + ".eml", "rb").read()
        signed = open(base + ".signed", "rb").read()
        h = [x.lower() for x in open(base + ".h", "rb").read().split(b":")]
        dk = dkim.DKIM(signed)
        sigs = len([x for x in dk.headers if x[0].lower() == b"dkim-signature"])
        try:
            ok = sigs > 0 and all(dk.verify(idx=i, dnsfunc=dnsfunc) for i in range(sigs))
        except Exception as e:
            ok = False
            print("# %s: dkimpy: %s" % (f, e))
        verified += ok
        hs, b = dkim.rfc822_parse(msg)
        want_body = pol.canonicalize_body(b)
        want_hdrs = b"".join(x + b":" + y for x, y in
                             dkim.select_headers(pol.canonicalize_headers(hs), h))
        got_body = open(base + ".body", "rb").read()
        got_hdrs = open(base + ".hdrs", "rb").read()
        beq += got_body == want_body
        heq += got_hdrs == want_hdrs
        for what, got, want in (("body", got_body, want_body),
                                ("headers", got_hdrs, want_hdrs)):
            if got != want and shown < 5:
                shown += 1
                print("# %s %s differ:\n#  herald %r\n#  dkimpy %r" % (f, what, got[:300], want[:300]))
        if not ok and shown < 5:
            shown += 1
            print("# %s does not verify" % f)
    print("messages %d\nverified %d\nbody-equal %d\nheaders-equal %d" % (n, verified, beq, heq))


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        check(sys.argv[2])
