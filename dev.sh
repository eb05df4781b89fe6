#!/usr/bin/env bash
# Set-up and entry points.  On a fresh Debian bookworm machine this installs what is missing
# (R 4.2 with lme4 from Debian, a venv in .venv, pyreterms with its extras) and then:
#   bash dev.sh main   -> the main job: parity check on built-in data (+ a short fuzz campaign)
#   bash dev.sh test   -> the full test suite (golden tier + live tier against lme4)
#   bash dev.sh setup  -> only the set-up
set -euo pipefail
cd "$(dirname "$0")"

need_r() {
  command -v Rscript >/dev/null 2>&1 || return 0
  Rscript -e 'quit(status = !requireNamespace("lme4", quietly = TRUE))' >/dev/null 2>&1 || return 0
  return 1
}

setup() {
  if need_r; then
    echo "[dev.sh] installing R and lme4 from Debian (r-base-core r-base-dev r-cran-lme4)" >&2
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      r-base-core r-base-dev r-cran-lme4 >/dev/null
  fi
  PY="${PYTHON:-python3}"
  if [ ! -x .venv/bin/python ]; then
    echo "[dev.sh] creating .venv with $($PY --version)" >&2
    "$PY" -m venv .venv
  fi
  if ! .venv/bin/python -c 'import pyreterms, parity, rpy2, nlopt, hypothesis, pytest' >/dev/null 2>&1 \
     || [ pyproject.toml -nt .venv/.installed ]; then
    echo "[dev.sh] installing pyreterms[parity,dev] into .venv" >&2
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e '.[parity,dev]'
    touch .venv/.installed
  fi
}

cmd="${1:-main}"
shift || true
case "$cmd" in
  setup) setup ;;
  main)
    setup
    .venv/bin/parity check 'Reaction ~ Days + (Days | Subject)' --data r:lme4::sleepstudy "$@"
    if .venv/bin/parity fuzz --help >/dev/null 2>&1; then
      .venv/bin/parity fuzz --examples 100 --seed 11 --level lformula --quiet
    fi
    ;;
  test)
    setup
    .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
    ;;
  *) echo "usage: bash dev.sh [main|test|setup] [args...]" >&2; exit 2 ;;
esac
