#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine: Chromium for the browser tests
# (Debian's package: never a downloaded browser build), faketime for CI's calendar guard, nginx
# for the test of several app processes behind a proxy (started by that test on loopback, never
# as a service), and a venv with requirements-dev.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/faketime ] || [ ! -x /usr/sbin/nginx ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium faketime nginx >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements-dev.txt
