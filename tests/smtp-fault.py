#!/usr/bin/python3
"""smtp-fault.py - an SMTP server (aiosmtpd) that injects faults, for the
send tests.

    smtp-fault.py PORT LOG [--tls CERT KEY] [--require-tls]
                  [--refuse-all CODE] [--temp-times N] [--auth USER PASS]
                  [--mail-reply REPLY] [--rcpt-reply REPLY]

Faults by recipient: the local part of each RCPT address says what happens
to it (the rest of the address is free):

    rcpt450 rcpt451 rcpt550 rcpt553   that reply to RCPT
    data452 data554                   that reply at the end of DATA
    drop                              the connection closes mid-DATA
    hang                              no reply to RCPT, ever (time-out)

A temporary fault (4xx, drop, hang) fires only the first N times an address
is seen (--temp-times, default 1), so a later retry delivers it; permanent
ones always fire. --refuse-all CODE answers CODE to every RCPT (a relay
that refuses everything). Every accepted message appends one line per
recipient to LOG: "RCPT MAIL-FROM". --auth makes AUTH (PLAIN, LOGIN)
required before MAIL, with that one user and password; each AUTH attempt
appends "AUTH USER ok|bad" to LOG, and a bad one is refused with a real
"535 5.7.8 Authentication credentials invalid" (a MAIL without AUTH then
gets aiosmtpd's "530 5.7.0 Authentication required"). Every MAIL FROM the
server reads appends "MAIL FROM-ADDRESS" to LOG.commands. --mail-reply
answers REPLY (a whole reply line, e.g. "530 5.7.0 Authentication
required") to every MAIL FROM; --rcpt-reply answers REPLY to every RCPT
("{rcpt}" in it becomes the address, e.g. "554 5.7.1 <{rcpt}>: Relay
access denied"). --domain-reply DOMAIN REPLY answers REPLY to a RCPT
at DOMAIN the first N times each address is seen (--temp-times): a
destination that rate-limits. --ehlo-trailer LINE writes LINE right
after the EHLO reply, in the same write: a reply the client finds waiting
before it has sent anything more (what a 221 to a QUIT looks like when it
arrives before the client reads again); --auth-trailer LINE does the same
after the 535 to a bad AUTH. Prints "ready on port PORT" once aiosmtpd has
seen itself answer there (a port it cannot bind is a traceback and exit 1).
Runs until killed.
"""
import argparse
import re
import asyncio
import collections
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult

TEMP = {"rcpt450", "rcpt451", "data452", "drop", "hang"}


class Faults:
    def __init__(self, log, temp_times, refuse_all, mail_reply=None,
                 rcpt_reply=None):
        self.log = log
        self.temp_times = temp_times
        self.refuse_all = refuse_all
        self.mail_reply = mail_reply
        self.rcpt_reply = rcpt_reply
        self.domain_reply = None
        self.ehlo_trailer = None
        self.refusal_trailer = None
        self.seen = collections.Counter()

    async def handle_MAIL(self, server, session, envelope, address, options):
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    def fault(self, address):
        local = address.split("@")[0].lower()
        kind = local.split("+")[0].split(".")[0]
        for k in ("rcpt450", "rcpt451", "rcpt550", "rcpt553", "data452",
                  "data554", "drop", "hang"):
            if kind.startswith(k):
                if k in TEMP:
                    self.seen[(address, k)] += 1
                    if self.seen[(address, k)] > self.temp_times:
                        return None
                return k
        return None

    async def handle_RCPT(self, server, session, envelope, address, options):
        if self.domain_reply and \
                address.lower().endswith("@" + self.domain_reply[0].lower()):
            self.seen[(address, "domain")] += 1
            if self.seen[(address, "domain")] <= self.temp_times:
                return self.domain_reply[1]
        if self.rcpt_reply:
            return self.rcpt_reply.replace("{rcpt}", address)
        if self.refuse_all:
            return "%s 5.7.1 refused by policy" % self.refuse_all \
                if self.refuse_all.startswith("5") else \
                "%s 4.7.1 try again later" % self.refuse_all
        f = self.fault(address)
        if f == "hang":
            await asyncio.sleep(3600)
        if f in ("rcpt450", "rcpt451", "rcpt550", "rcpt553"):
            code = f[4:]
            text = {"450": "4.2.1 mailbox busy", "451": "4.3.0 local error",
                    "550": "5.1.1 no such user", "553": "5.1.3 bad address"}
            return "%s %s" % (code, text[code])
        envelope.rcpt_tos.append(address)
        session.faults = getattr(session, "faults", {})
        session.faults[address] = f
        return "250 2.1.5 ok"

    async def handle_DATA(self, server, session, envelope):
        faults = getattr(session, "faults", {})
        kinds = [faults.get(r) for r in envelope.rcpt_tos]
        if "drop" in kinds:
            server.transport.close()
            return "421 closing"
        if "data554" in kinds:
            return "554 5.6.0 message refused"
        if "data452" in kinds:
            return "452 4.3.1 insufficient storage"
        with open(self.log, "a") as f:
            for r in envelope.rcpt_tos:
                f.write("%s %s\n" % (r, envelope.mail_from))
        # LOG.msgids: RCPT MESSAGE-ID, for tests that reply to a message
        mid = re.search(rb"^Message-ID:\s*<([^>\r\n]*)>", envelope.content or b"",
                        re.M | re.I)
        with open(self.log + ".msgids", "a") as f:
            for r in envelope.rcpt_tos:
                f.write("%s %s\n" % (r, mid.group(1).decode() if mid else "-"))
        return "250 2.0.0 queued"


class LoggingSMTP(SMTP):
    """every MAIL command read, logged before aiosmtpd looks at it (its
    AUTH check answers 530 before any handler hook runs); the EHLO reply
    in one write, with --ehlo-trailer after it; --auth-trailer after a
    535"""
    async def smtp_MAIL(self, arg):
        with open(self.event_handler.log + ".commands", "a") as f:
            f.write("MAIL %s\n" % arg)
        await super().smtp_MAIL(arg)

    async def push(self, status):
        trailer = getattr(self.event_handler, "refusal_trailer", None)
        if trailer and isinstance(status, str) and status.startswith("535 "):
            status = status + "\r\n" + trailer
        await super().push(status)

    async def smtp_EHLO(self, hostname):
        trailer = getattr(self.event_handler, "ehlo_trailer", None)
        if not trailer:
            return await super().smtp_EHLO(hostname)
        lines = []

        async def collect(status):
            lines.append(status.encode() if isinstance(status, str) else status)
        self.push = collect
        try:
            await super().smtp_EHLO(hostname)
        finally:
            del self.push
        self._writer.write(b"".join(l + b"\r\n" for l in lines) +
                           trailer.encode() + b"\r\n")
        await self._writer.drain()


class LoggingController(Controller):
    def factory(self):
        return LoggingSMTP(self.handler, **self.SMTP_kwargs)


class Authenticator:
    """one user and password; every attempt is logged"""
    def __init__(self, log, user, password):
        self.log, self.user, self.password = log, user, password

    def __call__(self, server, session, envelope, mechanism, auth_data):
        user = auth_data.login.decode()
        good = user == self.user and auth_data.password.decode() == self.password
        with open(self.log, "a") as f:
            f.write("AUTH %s %s\n" % (user, "ok" if good else "bad"))
        # handled=False: aiosmtpd itself answers 535 to a refusal (its
        # default, handled=True, leaves the client waiting for a reply)
        return AuthResult(success=good, handled=good)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("log")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--require-tls", action="store_true")
    ap.add_argument("--refuse-all")
    ap.add_argument("--temp-times", type=int, default=1)
    ap.add_argument("--auth", nargs=2, metavar=("USER", "PASS"))
    ap.add_argument("--mail-reply")
    ap.add_argument("--rcpt-reply")
    ap.add_argument("--domain-reply", nargs=2, metavar=("DOMAIN", "REPLY"))
    ap.add_argument("--ehlo-trailer")
    ap.add_argument("--auth-trailer")
    a = ap.parse_args()
    kw = {}
    if a.auth:
        kw["authenticator"] = Authenticator(a.log, a.auth[0], a.auth[1])
        kw["auth_required"] = True
        kw["auth_require_tls"] = False
    if a.tls:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.tls[0], a.tls[1])
        kw["tls_context"] = ctx
        kw["require_starttls"] = a.require_tls
    handler = Faults(a.log, a.temp_times, a.refuse_all, a.mail_reply,
                     a.rcpt_reply)
    handler.domain_reply = a.domain_reply
    handler.ehlo_trailer = a.ehlo_trailer
    handler.refusal_trailer = a.auth_trailer
    # aiosmtpd gives up after 5 s by default (its own check that the
    # server answers); a loaded machine can take longer than that
    c = LoggingController(handler, hostname="127.0.0.1", port=a.port,
                          ready_timeout=60, **kw)
    c.start()
    print("ready on port %d" % a.port, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
