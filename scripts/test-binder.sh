#!/usr/bin/env bash
# Binder's environment as Binder builds it: binder/requirements.txt (the lock file), then postBuild, in a
# fresh virtual environment; nothing missing or in conflict (pip check); then the notebooks Binder's links
# open, under nbval (about three minutes). pytest and nbval are added within the lock's versions.
set -euo pipefail
cd "$(dirname "$0")/.."

where="$(mktemp -d)"
trap 'rm -rf "$where"' EXIT
python3 -m venv "$where/venv"
# shellcheck disable=SC1091
. "$where/venv/bin/activate"
python -m pip install -q --upgrade pip
python -m pip install -q -r binder/requirements.txt
bash binder/postBuild >/dev/null
python -m pip check
python -m pip install -q -c binder/requirements.txt pytest nbval
python -m pytest -p no:cacheprovider -o addopts="" -q \
  --nbval --nbval-sanitize-with notebooks/nbval-sanitize.cfg --nbval-current-env \
  notebooks/01-quickstart.ipynb notebooks/editor-app.ipynb notebooks/find-and-fix-app.ipynb learnkit/app/app.ipynb "$@"
