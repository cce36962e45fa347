#!/usr/bin/env bash
# Installs Debian's Chromium for the report test (test/report/html-browser.test.ts
# drives it with playwright-core, which never downloads a browser). Skips when
# /usr/bin/chromium is already there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present)"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "setup-browser: the report test needs Chromium at /usr/bin/chromium, and there is no apt-get here to install it" >&2
  exit 2
fi
SUDO=$([ "$(id -u)" -eq 0 ] || echo sudo)
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
echo "chromium: $(/usr/bin/chromium --version)"
