#!/usr/bin/env bash
# Write binder/requirements.txt: every package learnkit[notebook] installs, pinned (a lock file), so a Binder
# launch gets what CI tested (scripts/test-binder.sh) rather than whatever was released that day. Run it
# on Linux x86_64 with the Python of binder/runtime.txt after changing pyproject.toml's dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

where="$(mktemp -d)"
trap 'rm -rf "$where"' EXIT
python3 -m venv "$where/venv"
"$where/venv/bin/python" -m pip install -q --upgrade pip
"$where/venv/bin/python" -m pip install -q ".[notebook]"
{
  echo "# Binder's lock file: every package learnkit[notebook] needs, pinned; learnkit itself is installed from"
  echo "# this checkout by postBuild. Written by scripts/lock-binder.sh ($("$where/venv/bin/python" -V), $(uname -sm));"
  echo "# scripts/test-binder.sh installs it in CI and runs the notebooks Binder opens."
  "$where/venv/bin/python" -m pip freeze --exclude learnkit
} > binder/requirements.txt
echo "wrote binder/requirements.txt ($(grep -c '==' binder/requirements.txt) packages)"
