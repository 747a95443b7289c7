#!/usr/bin/python3
# dns-txt.py RECORDS PORT - a tiny authoritative DNS server on 127.0.0.1
# (UDP) answering TXT queries from RECORDS (zone lines as herald dns or
# herald dkim keygen print them), NXDOMAIN for any other name. Only for
# tests: opendkim-testmsg looks keys up through the system resolver, and
# t0710 runs it in a network namespace whose resolv.conf points here.
import re
import socket
import struct
import sys

text = open(sys.argv[1]).read()
records = {}
for m in re.finditer(r'^(\S+)\s+IN\s+TXT\s+\(?((?:\s*"[^"]*")+)\s*\)?', text, re.M):
    records[m.group(1).rstrip(".").lower()] = "".join(
        re.findall(r'"([^"]*)"', m.group(2))).encode()

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[2])))
print("ready", flush=True)
while True:
    q, addr = s.recvfrom(4096)
    qid, flags, qd = struct.unpack(">HHH", q[:6])
    i, labels = 12, []
    while q[i] != 0:
        labels.append(q[i + 1:i + 1 + q[i]].decode().lower())
        i += 1 + q[i]
    qtype = struct.unpack(">H", q[i + 1:i + 3])[0]
    question = q[12:i + 5]
    name = ".".join(labels)
    rec = records.get(name)
    if rec is None or qtype != 16:
        rcode, answers = (3 if rec is None else 0), b""
        an = 0
    else:
        rdata = b"".join(bytes([len(rec[j:j + 255])]) + rec[j:j + 255]
                         for j in range(0, len(rec), 255))
        answers = struct.pack(">HHHIH", 0xC00C, 16, 1, 60, len(rdata)) + rdata
        rcode, an = 0, 1
    hdr = struct.pack(">HHHHHH", qid, 0x8400 | (flags & 0x0100) | rcode,
                      1, an, 0, 0)
    s.sendto(hdr + question + answers, addr)
