#!/usr/bin/env bash
# Install what learnkit's tests need, then run them all: unit, sandbox over HTTPS,
# widgets, notebooks under strict nbval, the real-browser test, ruff and mypy.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  # The browser test drives Debian's Chromium; no browser download is used.
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  elif command -v sudo >/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "scripts/test.sh: /usr/bin/chromium is missing; install Debian's chromium package" >&2
  fi
fi

# The test tools are a dependency group (PEP 735), not an extra: pip reads groups from 25.1 on.
python -m pip install -q --upgrade "pip>=25.1"
python -m pip install -q -e ".[notebook]" --group test
python -m pytest "$@"
