#!/usr/bin/env bash
# Set-up and entry points.  On a fresh Debian bookworm machine this installs what is missing
# (R 4.2 with lme4 from Debian, a venv in .venv, pyreterms with its extras) and then:
#   bash dev.sh main   -> the main job: parity check on built-in data (+ a short fuzz campaign)
#   bash dev.sh test   -> the full test suite (golden tier + live tier against lme4), under pytest-xdist:
#                         one worker per core (-n auto; each worker starts its own embedded R), each module
#                         on one worker (--dist loadscope); `bash dev.sh test -n 0` runs in one process
#   bash dev.sh setup  -> only the set-up
#   bash dev.sh lint   -> ruff on pyreterms and parity; mypy (strict) on pyreterms, mypy (checked) on parity
#   bash dev.sh docs   -> the documentation site: mkdocs build --strict (warnings are errors) into site/
#   bash dev.sh browser -> the headless-browser checks (tests/browser/, Debian's chromium)
#   bash dev.sh simcpu -> CI's simulated-CPU legs: with numpy's AVX-512 (then also AVX2) dispatch switched
#                         off (NPY_DISABLE_CPU_FEATURES; numba's kernels compiled for haswell, then
#                         generic x86-64: NUMBA_CPU_NAME), the no-R tier, the pinning tests and a
#                         100-design fit-level campaign.  OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are left
#                         as the machine sets them (some processors need them for correct results).
set -euo pipefail
cd "$(dirname "$0")"

need_r() {
  command -v Rscript >/dev/null 2>&1 || return 0
  Rscript -e 'quit(status = !requireNamespace("lme4", quietly = TRUE))' >/dev/null 2>&1 || return 0
  return 1
}

need_chromium() {
  command -v chromium >/dev/null 2>&1 && return 1
  return 0
}

setup() {
  if need_chromium; then
    # Debian's chromium for the browser checks (Playwright drives it; its own browser downloads are not used)
    echo "[dev.sh] installing chromium from Debian" >&2
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
  fi
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
  if ! .venv/bin/python -c 'import pyreterms, parity, rpy2, nlopt, numba, hypothesis, pytest, statsmodels, formulae, mkdocs, playwright, distributed, xdist' >/dev/null 2>&1 \
     || [ pyproject.toml -nt .venv/.installed ]; then
    echo "[dev.sh] installing pyreterms[parity,explain,audit,dev,docs,dask] into .venv" >&2
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e '.[parity,explain,audit,dev,docs,dask]'
    touch .venv/.installed
  fi
  # numba's kernels compiled once here (~30 s CPU on a fresh install; 0.3 s from the cache), not by the first
  # fit of each test worker
  .venv/bin/pyreterms compile >&2
}

# pytest-xdist: one worker per available core (os.sched_getaffinity), a module (and its module-scoped fixtures)
# on one worker; a later -n on the command line wins (bash dev.sh test -n 0: one process)
XDIST=(-n auto --dist loadscope)

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
  lint)
    setup
    .venv/bin/ruff check pyreterms parity "$@"
    .venv/bin/mypy pyreterms
    .venv/bin/mypy parity
    ;;
  docs)
    setup
    NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --quiet "$@"
    # the stamp lets the test suite reuse this site instead of building its own (tests/helpers/docs_site.py)
    if [ "$#" -eq 0 ]; then .venv/bin/python tests/helpers/docs_site.py --stamp site; fi
    echo "[dev.sh] documentation site built in site/ (serve: .venv/bin/mkdocs serve)" >&2
    ;;
  browser)
    setup
    .venv/bin/python -m pytest -q -p no:cacheprovider -m browser tests/browser "$@"
    ;;
  test)
    setup
    SECONDS=0
    .venv/bin/python -m pytest -q -p no:cacheprovider "${XDIST[@]}" "$@"
    echo "[dev.sh] test suite: ${SECONDS}s" >&2
    ;;
  simcpu)
    setup
    PYTEST=(.venv/bin/python -m pytest -q -p no:cacheprovider)
    # the tests that pin known differences to lme4 (README "Known differences"; the seed numbers)
    PINNING=(tests/live/test_fitted_theta_equivalence.py tests/live/test_sleepstudy_three_subjects.py "tests/live/test_fit_live.py::test_seed_numbers"
             "tests/live/test_fit_live.py::test_fit_level_parity")
    # numba's compiled kernels target the simulated CPU too (NUMBA_CPU_NAME: LLVM's haswell = AVX2 without
    # AVX-512, then generic x86-64); numba caches code per CPU target, so each leg compiles its own
    for leg in "haswell:X86_V4 AVX512_ICL AVX512_SPR" "generic:X86_V3 X86_V4 AVX512_ICL AVX512_SPR"; do
      feats="${leg#*:}"
      export NPY_DISABLE_CPU_FEATURES="$feats" NUMBA_CPU_NAME="${leg%%:*}"
      echo "[dev.sh] simulated CPU: NPY_DISABLE_CPU_FEATURES=\"$feats\" NUMBA_CPU_NAME=$NUMBA_CPU_NAME" >&2
      .venv/bin/python -c 'import sys; from parity.goldens.machine import numpy_simd as s; d = s(); print("[dev.sh] numpy dispatch on:", d["dispatch_enabled"], "off:", d["dispatch_disabled"], file=sys.stderr); sys.exit(bool(set(sys.argv[1].split()) - set(d["dispatch_disabled"])))' "$feats"
      SECONDS=0; "${PYTEST[@]}" "${XDIST[@]}" -m "not r and not browser" "$@"; echo "[dev.sh]   no-R tier: ${SECONDS}s" >&2
      SECONDS=0; "${PYTEST[@]}" "${XDIST[@]}" -m r "${PINNING[@]}" "$@"; echo "[dev.sh]   pinning tests: ${SECONDS}s" >&2
      SECONDS=0; PARITY_FIT_CAMPAIGN_EXAMPLES=100 "${PYTEST[@]}" "tests/live/test_campaign_ci.py::test_fit_campaign_agrees" "$@"
      echo "[dev.sh]   100-design fit campaign: ${SECONDS}s" >&2
    done
    unset NPY_DISABLE_CPU_FEATURES NUMBA_CPU_NAME
    ;;
  *) echo "usage: bash dev.sh [main|test|lint|docs|browser|simcpu|setup] [args...]" >&2; exit 2 ;;
esac
