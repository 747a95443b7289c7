"""check.py FILE... - parse each message with Python's email package
(default policy, then policy.strict) and fail on any defect; print one
line per file. Used by t0301 and t0302 as the independent parser."""
import sys
from email import message_from_bytes, policy

bad = 0
for path in sys.argv[1:]:
    raw = open(path, 'rb').read()
    problems = []
    msg = message_from_bytes(raw, policy=policy.default)
    for part in msg.walk():
        problems += [type(d).__name__ for d in part.defects]
        for name, value in part.items():
            problems += [name + ':' + type(d).__name__
                         for d in getattr(value, 'defects', ())]
    try:
        strict = message_from_bytes(raw, policy=policy.strict)
        for part in strict.walk():
            for name, value in part.items():
                str(value)
            if part.get_content_maintype() == 'text':
                part.get_content()
    except Exception as e:  # strict raises on the first defect
        problems.append('strict:' + repr(e))
    body = msg.get_body(preferencelist=('plain',))
    html = msg.get_body(preferencelist=('html',))
    if body is None or html is None:
        problems.append('no text/plain or text/html body')
    else:
        for p in (body, html):
            if p.get_content_charset() != 'utf-8':
                problems.append('charset ' + str(p.get_content_charset()))
    to = msg['To'].addresses
    if len(to) != 1:
        problems.append('To has %d addresses' % len(to))
    for h in ('From', 'Subject', 'Date', 'Message-ID', 'List-Id',
              'List-Unsubscribe', 'MIME-Version'):
        if msg[h] is None:
            problems.append('no ' + h)
    if b'\n' in raw.replace(b'\r\n', b''):
        problems.append('bare LF')
    if problems:
        bad += 1
        print('BAD %s: %s' % (path, ', '.join(problems)))
    else:
        print('ok %s: %s | %s' % (path, to[0], msg['Subject']))
sys.exit(1 if bad else 0)
