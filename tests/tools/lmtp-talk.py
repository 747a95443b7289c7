#!/usr/bin/python3
# lmtp-talk.py WHERE STEP... - speak raw LMTP to the server at WHERE (a
# unix socket path or HOST:PORT), for tests of the protocol itself. Reads
# the greeting, then for each STEP "N:TEXT" sends TEXT (\r, \n, \0 and
# \xHH escapes understood; "@FILE" sends a file's bytes) and reads N
# replies (a multi-line reply is one), printing each reply's lines. A STEP
# "close" closes the connection there; "eof" reads to the end and prints
# "EOF" when the server closed it. Exit 1 if the server closes early.
import sys
from lmtp_wire import Wire

def reply(w):
    return [l.decode("ascii", "replace") for l in w.reply()[1]]

def main():
    w = Wire(sys.argv[1])
    s = w.s
    try:
        for l in reply(w):
            print(l)
        for step in sys.argv[2:]:
            if step == "close":
                s.close()
                return 0
            if step == "eof":
                try:
                    while True:
                        for l in reply(w):
                            print(l)
                except EOFError:
                    print("EOF")
                return 0
            n, text = step.split(":", 1)
            if text.startswith("@"):
                data = open(text[1:], "rb").read()
            else:
                data = text.encode("latin-1").decode("unicode_escape").encode("latin-1")
            s.sendall(data)
            for _ in range(int(n)):
                for l in reply(w):
                    print(l)
    except EOFError:
        print("EOF")
        return 1
    return 0

sys.exit(main())
