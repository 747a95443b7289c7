# parts.py MESSAGE - the decoded text/plain and text/html parts of a
# message file (CRLF or LF), each after a line "== TYPE"
import email
import signal
import sys

signal.signal(signal.SIGPIPE, signal.SIG_DFL)

with open(sys.argv[1], "rb") as f:
    m = email.message_from_bytes(f.read())
for p in m.walk():
    if p.get_content_type() in ("text/plain", "text/html"):
        print("== " + p.get_content_type())
        print(p.get_payload(decode=True).decode())
