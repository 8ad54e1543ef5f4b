#!/usr/bin/env bash
# Installs ticketgate into ./.venv and runs it on the embedded demo config:
# SQLite, a demo directory and config written under ./var/ on first run,
# outgoing mail written to ./var/sent/. Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
exec .venv/bin/ticketgate serve "$@"
