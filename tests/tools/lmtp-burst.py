#!/usr/bin/python3
# lmtp-burst.py WHERE LIST CONNS OKFILE - deliver the messages LIST names
# (lines "PATH<TAB>SENDER<TAB>RECIPIENT") over CONNS LMTP connections at
# once to the server at WHERE (unix socket path or HOST:PORT), as an MTA's
# lmtp client would in a burst: each connection takes the next message,
# pipelines MAIL, RCPT and DATA, sends the message, waits for its reply.
# Appends the line number of every message answered 250 to OKFILE the
# moment the reply is read (a test kills the server and checks them);
# a connection that breaks ends its thread. Prints on stdout: messages
# sent, answered 250, other replies, seconds, messages/s, and the median
# and 99th percentile of the time from MAIL to the final reply; on
# stderr the first 5 other replies (every one with LMTP_BURST_ALL=1).
import os, statistics, sys, threading, time
from lmtp_wire import Wire

where, listfile, conns, okfile = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
jobs = [l.rstrip("\n").split("\t") for l in open(listfile)]
lock = threading.Lock()
nxt = [0]
lat, other, oks = [], [], []
okfd = os.open(okfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

class Conn(Wire):
    def __init__(self):
        super().__init__(where, 120)
    def reply(self):
        code, lines = super().reply()
        return code, lines[-1]

def body(path):
    data = open(path, "rb").read().replace(b"\r\n", b"\n").split(b"\n")
    if data and data[-1] == b"":
        data.pop()
    return b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in data) + b".\r\n"

def worker():
    try:
        c = Conn()
        c.reply()
        c.s.sendall(b"LHLO burst\r\n")
        c.reply()
    except (OSError, EOFError):
        return
    while True:
        with lock:
            i = nxt[0]
            if i >= len(jobs):
                break
            nxt[0] += 1
        path, sender, rcpt = jobs[i]
        msg = body(path)
        t0 = time.perf_counter()
        try:
            c.s.sendall(("MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\n" % (sender, rcpt)).encode())
            codes = [c.reply()[0] for _ in range(3)]
            if codes != [250, 250, 354]:
                with lock:
                    other.append((i, codes))
                if codes[2] == 354:
                    c.s.sendall(b".\r\n")
                    c.reply()
                continue
            c.s.sendall(msg)
            code, line = c.reply()
        except (OSError, EOFError):
            return
        t1 = time.perf_counter()
        if code == 250:
            os.write(okfd, b"%d\n" % i)
            oks.append(i)
        with lock:
            lat.append(t1 - t0)
            if code != 250:
                other.append((i, line.decode("ascii", "replace")))
    try:
        c.s.sendall(b"QUIT\r\n")
        c.reply()
    except (OSError, EOFError):
        pass

t0 = time.perf_counter()
ths = [threading.Thread(target=worker) for _ in range(conns)]
for t in ths:
    t.start()
for t in ths:
    t.join()
el = time.perf_counter() - t0
ok = len(oks)
q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [0] * 99
print("sent %d ok %d other %d seconds %.2f rate %.0f/s p50 %.2f ms p99 %.2f ms"
      % (len(lat), ok, len(other), el, len(lat) / el if el > 0 else 0,
         statistics.median(lat) * 1000 if lat else 0, q[98] * 1000))
for o in other if os.environ.get("LMTP_BURST_ALL") else other[:5]:
    print("# other:", o, file=sys.stderr)
