#!/usr/bin/python3
# lmtp-talk.py WHERE STEP... - speak raw LMTP to the server at WHERE (a
# unix socket path or HOST:PORT), for tests of the protocol itself. Reads
# the greeting, then for each STEP "N:TEXT" sends TEXT (\r, \n, \0 and
# \xHH escapes understood; "@FILE" sends a file's bytes) and reads N
# replies (a multi-line reply is one), printing each reply's lines. A STEP
# "close" closes the connection there; "eof" reads to the end and prints
# "EOF" when the server closed it. Exit 1 if the server closes early.
import socket, sys

def connect(where):
    if where.startswith("/"):
        s = socket.socket(socket.AF_UNIX)
        s.connect(where)
    else:
        host, port = where.rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
    s.settimeout(30)
    return s

buf = b""
def reply(s):
    global buf
    lines = []
    while True:
        while b"\r\n" not in buf:
            d = s.recv(65536)
            if not d:
                raise EOFError
            buf += d
        line, buf = buf.split(b"\r\n", 1)
        lines.append(line.decode("ascii", "replace"))
        if len(line) < 4 or line[3:4] != b"-":
            return lines

def main():
    s = connect(sys.argv[1])
    try:
        for l in reply(s):
            print(l)
        for step in sys.argv[2:]:
            if step == "close":
                s.close()
                return 0
            if step == "eof":
                try:
                    while True:
                        for l in reply(s):
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
                for l in reply(s):
                    print(l)
    except EOFError:
        print("EOF")
        return 1
    return 0

sys.exit(main())
