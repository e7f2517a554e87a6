#!/usr/bin/env bash
# The core's tests with the LOWEST versions pyproject.toml declares for the core's dependencies, in a
# fresh virtual environment of their own (about two minutes): the lower bounds are true, not guessed.
# pip has no --resolution=lowest, so scripts/lowest.py writes them as constraints for `pip install -c`.
# The extras the test fixtures need (the sandbox, pandas; every module, for the error classes) resolve as usual,
# within those constraints.
set -euo pipefail
cd "$(dirname "$0")/.."

where="$(mktemp -d)"
trap 'rm -rf "$where"' EXIT
python3 -m venv "$where/venv"
python="$where/venv/bin/python"
# Dependency groups (--group) need pip 25.1 or later.
"$python" -m pip install -q --upgrade "pip>=25.1" packaging
"$python" scripts/lowest.py > "$where/lowest.txt"
echo "scripts/test-lowest.sh: the core's dependencies at their lower bounds: $(tr '\n' ' ' < "$where/lowest.txt")"
"$python" -m pip install -q -c "$where/lowest.txt" -e ".[widgets,sandbox,excel]" --group test-core
# The tests of the core's modules (docs/design.md: models, errors, sign-in, the client, update_activity,
# the doctor); the notebooks' and doctests' options are left out (nbval is not installed here).
"$python" -m pytest -p no:cacheprovider -o addopts="" -q \
  tests/test_models.py tests/test_errors.py tests/test_error_tree.py tests/test_update.py \
  tests/test_client.py tests/test_auth.py tests/test_retry.py tests/test_transport.py \
  tests/test_clouds_permissions.py tests/test_hostile_services.py tests/test_names.py tests/test_doctor.py "$@"
