#!/usr/bin/python3
# lmtp-client.py WHERE SENDER FILE RCPT... - deliver FILE over LMTP
# (Python's smtplib.LMTP) to the server at WHERE (a unix socket path, or
# HOST:PORT), as an MTA's LMTP client would: one transaction, every
# recipient. Prints each recipient's reply ("CODE TEXT") on stderr, one
# line each, and exits with herald pipe's status for the first recipient's
# reply: 250 -> 0, 4xx -> 75, 5xx: 5.1.1 -> 67, 5.3.4 -> 69, other -> 65.
# Exit 70 when the server cannot be reached or breaks the protocol.
import smtplib, sys

def status(code, text):
    if code // 100 == 2:
        return 0
    if code // 100 == 4:
        return 75
    if text.startswith("5.1.1"):
        return 67
    if text.startswith("5.3.4"):
        return 69
    return 65

def main():
    where, sender, path = sys.argv[1:4]
    rcpts = sys.argv[4:]
    with open(path, "rb") as f:
        data = f.read()
    # on the wire every line ends in CRLF (smtplib sends bytes as they are)
    data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    try:
        if where.startswith("/"):
            s = smtplib.LMTP(where, local_hostname="localhost", timeout=60)
        else:
            host, port = where.rsplit(":", 1)
            s = smtplib.LMTP(host, int(port), local_hostname="localhost", timeout=60)
        s.ehlo_or_helo_if_needed()
        code, text = s.mail(sender)
        if code != 250:
            t = text.decode("ascii", "replace")
            for r in rcpts:
                print("%d %s" % (code, t), file=sys.stderr)
            return status(code, t)
        results = []
        accepted = []
        for r in rcpts:
            code, text = s.rcpt(r)
            results.append((code, text.decode("ascii", "replace")))
            if code == 250:
                accepted.append(len(results) - 1)
        if accepted:
            code, text = s.data(data)
            replies = [(code, text.decode("ascii", "replace"))]
            if code == 250 or code // 100 in (4, 5) and code != 354:
                for _ in accepted[1:]:
                    c, t = s.getreply()
                    replies.append((c, t.decode("ascii", "replace")))
            for i, rep in zip(accepted, replies):
                results[i] = rep
        s.quit()
    except (OSError, smtplib.SMTPException) as e:
        print("lmtp-client: %s" % e, file=sys.stderr)
        return 70
    for code, text in results:
        print("%d %s" % (code, text), file=sys.stderr)
    return status(*results[0])

sys.exit(main())
