# lmtp_wire.py - the LMTP client side the test and bench tools share
# (lmtp-talk.py, lmtp-burst.py; lmtp-client.py speaks through Python's
# smtplib.LMTP, as an MTA's client would, and takes WHERE the same way):
# a connection to WHERE (a unix socket path, or HOST:PORT) and a reader
# of whole replies (a multi-line reply is one). Imported, not run.
import socket

def connect(where, timeout=30):
    """A connected socket to WHERE, with TIMEOUT seconds per read."""
    if where.startswith("/"):
        s = socket.socket(socket.AF_UNIX)
        s.connect(where)
    else:
        host, port = where.rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
    s.settimeout(timeout)
    return s

class Wire:
    """A connection and what was read past the last reply."""
    def __init__(self, where, timeout=30):
        self.s = connect(where, timeout)
        self.buf = b""

    def reply(self):
        """The next whole reply: (code, [lines]); EOFError when closed."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                d = self.s.recv(65536)
                if not d:
                    raise EOFError
                self.buf += d
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line)
            if len(line) < 4 or line[3:4] != b"-":
                code = int(line[:3]) if line[:3].isdigit() else 0
                return code, lines
