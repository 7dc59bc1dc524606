#!/usr/bin/env bash
# Installs the Debian packages hyperclip builds against. Run as root (or with sudo available).
# The CUDA toolkit is not installed here: the build uses /usr/local/cuda when nvcc is present.
set -euo pipefail
pkgs=(build-essential libeigen3-dev doctest-dev libstb-dev nlohmann-json3-dev zlib1g-dev libopenblas0-pthread)
# Training across processes (docs/distributed.md): Open MPI's library and headers, and mpirun, which
# make test runs (a build without them refuses to run as one of several ranks: make MPI=0).
pkgs+=(libopenmpi-dev openmpi-bin)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# make test also runs the emoji dataset's rule tests (data/emoji/test_rules.js) with node; any
# node >= 18 will do (NodeSource's counts), so it is checked by command, not by package.
command -v node >/dev/null || missing+=(nodejs)
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present (${pkgs[*]})"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
