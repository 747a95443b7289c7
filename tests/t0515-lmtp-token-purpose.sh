#!/bin/sh
# herald lmtp: t0505 (a token acts only for its purpose) over LMTP.
VIA=lmtp; export VIA
exec sh "${TOP:-$(cd "$(dirname "$0")/.." \&\& pwd)}/tests/t0505-pipe-token-purpose.sh"
