#!/usr/bin/env bash
# Extra Debian packages for the PyTorch side of the benchmarks and for regenerating the parity
# references: PyTorch itself, and OpenBLAS so that PyTorch's matrix products do not fall back to the
# reference BLAS (Debian's default libblas3 made PyTorch's ViT inference ~16x slower here).
# matplotlib draws the benchmark plots (make bench-emoji).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-torch python3-numpy libopenblas0-pthread python3-matplotlib
