# sink.py PORT DIR - an SMTP server on 127.0.0.1:PORT (aiosmtpd) that
# accepts everything and writes each message to DIR/N.eml, after a first
# line "X-Envelope: FROM -> RCPT,RCPT". Runs until killed; writes DIR/ready
# once it listens.
import os
import sys
import time

from aiosmtpd.controller import Controller

port, folder = int(sys.argv[1]), sys.argv[2]


class Save:
    n = 0

    async def handle_DATA(self, server, session, envelope):
        Save.n += 1
        path = os.path.join(folder, "%d.eml" % Save.n)
        with open(path + ".tmp", "wb") as f:
            f.write(("X-Envelope: %s -> %s\r\n" % (
                envelope.mail_from, ",".join(envelope.rcpt_tos))).encode())
            f.write(envelope.original_content)
        os.rename(path + ".tmp", path)
        return "250 OK"


c = Controller(Save(), hostname="127.0.0.1", port=port)
c.start()
open(os.path.join(folder, "ready"), "w").close()
try:
    while True:
        time.sleep(3600)
finally:
    c.stop()
