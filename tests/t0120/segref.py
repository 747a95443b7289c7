#!/usr/bin/python3
# segref.py CSV SEED - segment expressions and the count each must give.
#
# Writes "COUNT<TAB>EXPRESSION" lines: random expressions in herald's segment
# grammar over the CSV's attributes (role, region, company) and names, from
# small ones to 1,000 terms, 256 levels of alternating and/or and 100 nested
# nots, each with the count an evaluator written from the manual's rules
# gives: a comparison on a missing attribute (or name) is false, and so is
# != ; "not" of it is true. The same SEED gives the same lines.
import csv
import random
import sys

rows = []
with open(sys.argv[1], newline="") as f:
    for r in csv.DictReader(f):
        rows.append({k: v for k, v in r.items() if v != ""})
rnd = random.Random(int(sys.argv[2]))
ATTRS = ["role", "region", "company"]
vals = {a: sorted({r[a] for r in rows if a in r}) + ["none-" + a]
        for a in ATTRS}
names = sorted({r["name"] for r in rows if "name" in r})


def q(v):
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def leaf():
    """a condition: (text, function of a row)"""
    k = rnd.randrange(8)
    a = rnd.choice(ATTRS)
    v = rnd.choice(vals[a])
    if k <= 2:
        return a + " = " + q(v), lambda r: r.get(a) == v
    if k == 3:
        return a + " != " + q(v), lambda r: a in r and r[a] != v
    if k == 4:
        vs = rnd.sample(vals[a], min(3, len(vals[a])))
        neg = rnd.random() < 0.3
        t = "%s %sin (%s)" % (a, "not " if neg else "", ", ".join(map(q, vs)))
        return t, lambda r: a in r and ((r[a] in vs) != neg)
    if k == 5:
        return "exists(%s)" % a, lambda r: a in r
    if k == 6:
        n = rnd.choice(names)
        return "name = " + q(n), lambda r: r.get("name") == n
    c = rnd.choice("abcdefghijklmnoprstvwz")
    return ('name ~ "%s*"' % c.upper(),
            lambda r: r.get("name", "").lower().startswith(c))


def join(op, terms):
    text = (" %s " % op).join(t for t, _ in terms)
    fs = [f for _, f in terms]
    if op == "and":
        return text, lambda r: all(f(r) for f in fs)
    return text, lambda r: any(f(r) for f in fs)


def paren(t):
    return "(" + t[0] + ")", t[1]


def nots(t, n, parens):
    """N nots around T: "not (not (T))", or "not not (T)" """
    text, f = t
    if parens:
        for _ in range(n):
            text = "not (%s)" % text
    else:
        text = "not " * n + "(" + text + ")"
    return text, (lambda r: not f(r)) if n % 2 else f


def tree(depth):
    if depth == 0 or rnd.random() < 0.3:
        t = leaf()
    else:
        op = rnd.choice(["and", "or"])
        t = paren(join(op, [tree(depth - 1)
                            for _ in range(rnd.randint(2, 4))]))
    if rnd.random() < 0.2:
        t = nots(t, rnd.randint(1, 3), rnd.random() < 0.5)
    return t


def alternate(levels):
    """a and (b or (c and (…))), LEVELS deep"""
    t = leaf()
    for i in range(levels):
        t = join("and" if i % 2 else "or", [leaf(), paren(t)])
    return t


def out(t):
    text, f = t
    print("%d\t%s" % (sum(1 for r in rows if f(r)), text))


for _ in range(60):
    out(tree(4))
out(join("or", [leaf() for _ in range(1000)]))
out(join("and", [nots(leaf(), 1, False) for _ in range(1000)]))
out(join("or", [paren(join("and", [leaf(), leaf()])) for _ in range(500)]))
out(alternate(255))
out(nots(alternate(120), 100, False))
out(nots(alternate(120), 101, True))
out(nots(tree(6), 100, True))
out(join("or", [tree(5) for _ in range(40)]))
out(join("and", [nots(paren(alternate(30)), 1, False) for _ in range(8)]))
