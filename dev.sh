#!/usr/bin/env bash
# One entry point for a fresh machine (Python 3.11+ and pip): sets up .venv, then
#   ./dev.sh demo [ARGS]   builds the demo workspace and prints what is in it
#   ./dev.sh test [ARGS]   runs the whole test suite (pytest ARGS)
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(cat pyproject.toml | sha1sum | cut -c1-12)
setup() {
  local extras=$1
  if [ ! -f "$stamp-$extras" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[$extras]"
    touch "$stamp-$extras"
  fi
}
cmd=${1:-}
shift || true
case "$cmd" in
  demo)
    setup test
    exec .venv/bin/journeylens demo "$@"
    ;;
  test)
    setup test
    exec .venv/bin/python -m pytest -n 2 "$@"
    ;;
  *)
    echo "usage: ./dev.sh demo|test [ARGS]" >&2
    exit 2
    ;;
esac
