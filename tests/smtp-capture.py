#!/usr/bin/python3
"""smtp-capture.py - an SMTP server that keeps every message's bytes as they
came over the wire, for the tests of how send.c writes a body.

    smtp-capture.py PORT DIR [--chunking]

Each accepted message N (from 1) leaves DIR/N.wire, the bytes the client
sent for it (DATA: from after the 354 to the end of the terminating dot
line, dot-stuffed as sent; BDAT: its chunks one after another, without the
BDAT commands), and DIR/N.eml, the message itself (DATA: the dot-stuffing
undone, the terminating line dropped). DIR/log gets "N DATA|BDAT RCPT..."
per message. The EHLO reply offers PIPELINING, 8BITMIME and SIZE, and
CHUNKING with --chunking (libesmtp then sends BDAT instead of DATA). A
DATA whose bytes are not CRLF-terminated lines, or a line that starts with
a dot that was not stuffed, is answered "554 bad dot-stuffing or line end"
and logged as "N BAD ...": a malformed body cannot pass as delivered.
Commands may be pipelined. Prints "ready on port PORT" once it listens.
Runs until killed. Plain asyncio, not aiosmtpd: aiosmtpd has no BDAT.
"""
import asyncio
import os
import sys


class Session:
    def __init__(self, server, reader, writer):
        self.server, self.reader, self.writer = server, reader, writer
        self.rcpts, self.chunks = [], []

    def reply(self, line):
        self.writer.write(line.encode() + b"\r\n")

    def keep(self, kind, wire, content, bad=None):
        self.server.count += 1
        n = self.server.count
        with open(os.path.join(self.server.dir, "%d.wire" % n), "wb") as f:
            f.write(wire)
        with open(os.path.join(self.server.dir, "%d.eml" % n), "wb") as f:
            f.write(content)
        with open(os.path.join(self.server.dir, "log"), "a") as f:
            f.write("%d %s %s\n" % (n, "BAD " + bad if bad else kind,
                                    " ".join(self.rcpts)))
        self.rcpts, self.chunks = [], []

    async def data(self):
        wire = bytearray()
        while True:
            line = await self.reader.readline()
            if not line:
                raise ConnectionError("closed in DATA")
            wire += line
            if line == b".\r\n":
                break
        body = bytes(wire[:-3])
        lines = body.split(b"\r\n")
        bad = None
        if body and not body.endswith(b"\r\n"):
            bad = "last line not CRLF-terminated"
        elif b"\n" in body.replace(b"\r\n", b""):
            bad = "bare LF"
        out = []
        for l in lines[:-1] if body else []:
            if l.startswith(b"."):
                if not l.startswith(b".."):
                    bad = bad or "unstuffed dot line"
                l = l[1:]
            out.append(l + b"\r\n")
        self.keep("DATA", bytes(wire), b"".join(out), bad)
        self.reply("554 5.6.0 bad dot-stuffing or line end" if bad
                   else "250 2.0.0 queued as %d" % self.server.count)

    async def run(self):
        self.reply("220 capture ESMTP")
        while True:
            line = await self.reader.readline()
            if not line:
                return
            cmd = line.decode("latin-1").rstrip("\r\n")
            verb = cmd.split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                ext = ["capture", "PIPELINING", "8BITMIME"]
                if self.server.chunking:
                    ext.append("CHUNKING")
                ext.append("SIZE 52428800")
                for i, e in enumerate(ext):
                    self.reply("250%s%s" % (" " if i == len(ext) - 1 else "-", e))
            elif verb == "MAIL":
                self.rcpts, self.chunks = [], []
                self.reply("250 2.1.0 ok")
            elif verb == "RCPT":
                self.rcpts.append(cmd[cmd.find("<") + 1:cmd.find(">")])
                self.reply("250 2.1.5 ok")
            elif verb == "DATA":
                self.reply("354 go ahead")
                await self.writer.drain()
                await self.data()
            elif verb == "BDAT":
                args = cmd.split()
                self.chunks.append(await self.reader.readexactly(int(args[1])))
                if len(args) > 2 and args[2].upper() == "LAST":
                    whole = b"".join(self.chunks)
                    self.keep("BDAT", whole, whole)
                    self.reply("250 2.0.0 queued as %d" % self.server.count)
                else:
                    self.reply("250 2.0.0 chunk ok")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 2.0.0 ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 bye")
                await self.writer.drain()
                return
            else:  # a verb this server does not know (RFC 5321 4.2.4)
                self.reply("500 5.5.1 command unrecognised")
            await self.writer.drain()


class Server:
    def __init__(self, dir, chunking):
        self.dir, self.chunking, self.count = dir, chunking, 0

    async def handle(self, reader, writer):
        try:
            await Session(self, reader, writer).run()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def main():
    port, dir = int(sys.argv[1]), sys.argv[2]
    os.makedirs(dir, exist_ok=True)
    srv = Server(dir, "--chunking" in sys.argv[3:])
    server = await asyncio.start_server(srv.handle, "127.0.0.1", port)
    print("ready on port %d" % port, flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
