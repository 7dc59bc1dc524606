#!/usr/bin/env bash
# Installs the Debian packages hyperclip builds against. Run as root (or with sudo available).
# The CUDA toolkit is not installed here: the build uses /usr/local/cuda when nvcc is present.
set -euo pipefail
pkgs=(build-essential python3 libeigen3-dev doctest-dev nlohmann-json3-dev zlib1g-dev libopenblas0-pthread
      libjpeg62-turbo-dev libpng-dev)
# `make fuzz` (tests/fuzz/, run by .ci/run): clang 14 with libFuzzer and the sanitizer runtimes,
# and its OpenMP runtime.
pkgs+=(clang-14 libclang-rt-14-dev libomp-14-dev)
# Training across processes (docs/distributed.md): Open MPI's library and headers, and mpirun, which
# make test runs (a build without them refuses to run as one of several ranks: make MPI=0).
pkgs+=(libopenmpi-dev openmpi-bin)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# make test also runs the emoji dataset's rule tests (data/emoji/test_rules.js) when node is
# present; tools/setup_data.sh installs it (CI runs both scripts).
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present (${pkgs[*]})"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
