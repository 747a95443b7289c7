#!/bin/sh
# herald lmtp: the routes of t0500, its fixtures and its checks, delivered
# over LMTP (smtplib.LMTP through tests/tools/lmtp-client.py) to a herald
# lmtp server instead of through herald pipe: one code path, one outcome.
VIA=lmtp; export VIA
exec sh "${TOP:-$(cd "$(dirname "$0")/.." && pwd)}/tests/t0500-pipe-routes.sh"
