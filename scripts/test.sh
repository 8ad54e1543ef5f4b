#!/usr/bin/env bash
# Installs what the test suite needs (Debian packages for PostgreSQL and Dovecot, the
# Python package with its test extras) and runs the whole suite twice: on the
# embedded SQLite store and on a real PostgreSQL that the fixtures start.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || apt_packages+=(postgresql)
[ -x /usr/sbin/dovecot ] || apt_packages+=(dovecot-imapd)  # the IMAP tests' real server
command -v chromium >/dev/null || apt_packages+=(chromium chromium-driver)  # survey-link pages
[ -x /usr/sbin/postfix ] || apt_packages+=(postfix)  # the MX in front of serve (test_postfix)
if [ ${#apt_packages[@]} -gt 0 ]; then
  echo "installing Debian packages: ${apt_packages[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  # Postfix asks how to configure the system's own instance: none (the tests run their own).
  echo "postfix postfix/main_mailer_type select No configuration" | $sudo debconf-set-selections
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${apt_packages[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

.venv/bin/ruff check .
.venv/bin/mypy  # files and strictness: [tool.mypy] in pyproject.toml
echo "== test suite on SQLite"
TICKETGATE_TEST_DB=sqlite .venv/bin/python -m pytest -q "$@"
echo "== test suite on PostgreSQL"
TICKETGATE_TEST_DB=postgresql .venv/bin/python -m pytest -q "$@"
