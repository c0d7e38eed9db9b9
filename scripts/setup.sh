#!/usr/bin/env bash
# Set up sciswarm on this machine: system packages, a virtualenv with the package, the Docker engine.
# Idempotent and quick when everything is already there. Run as root to let it apt-get install;
# otherwise it says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

# texlive-latex-extra: the packages the AI Scientist's templates use (cleveref, multirow, titletoc, nicefrac/units, ...)
APT_PACKAGES=(texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-science poppler-utils docker.io bubblewrap mmdebstrap chromium)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "[setup] installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "[setup] WARNING: missing system packages: ${missing[*]}" >&2
    echo "[setup]   install them with: sudo apt-get install -y ${missing[*]}" >&2
    echo "[setup]   (LaTeX is needed for the paper PDF, texlive-latex-extra for the AI Scientist templates' packages;" >&2
    echo "[setup]    Docker for isolated experiments)" >&2
  fi
fi

PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  echo "[setup] creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
stamp=.venv/.sciswarm-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  echo "[setup] installing sciswarm and its pinned dependencies into .venv (a few minutes the first time)"
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e '.[dev,ray]'  # ray: the optional Ray executor (its tests run in CI)
  echo "$want" >"$stamp"
fi

if scripts/ensure_docker.sh; then
  # the experiment image (python, numpy, torch, matplotlib) from a host wheelhouse: ~2 min once, then instant
  .venv/bin/sciswarm sandbox build
else
  echo "[setup] WARNING: no usable Docker engine; experiments will fall back to the UNSAFE local sandbox" >&2
fi
echo "[setup] ready"
