#!/usr/bin/env bash
# Packs the build's header-only and static dependencies from this machine's Debian packages
# (tools/setup.sh installs them) into .devdeps/, for a bare machine without them: the lent GPU machine
# has nvcc and PyTorch but no libeigen3-dev, doctest-dev, nlohmann-json3-dev, libstb-dev or zlib1g-dev.
# `make DEPS=.devdeps` builds against it; tools/gpu_check.sh does so. .devdeps/ is git-ignored
# (about 13 MB); carry it to the GPU machine with the working tree.
set -euo pipefail
cd "$(dirname "$0")/.."
D=.devdeps
rm -rf "$D"
mkdir -p "$D/include/stb" "$D/lib"
for need in /usr/include/eigen3 /usr/include/doctest /usr/include/nlohmann /usr/include/stb/stb_image.h \
            /usr/include/zlib.h /usr/include/zconf.h /usr/lib/x86_64-linux-gnu/libz.a; do
  [ -e "$need" ] || { echo "device_deps: $need is missing (run tools/setup.sh first)" >&2; exit 1; }
done
cp -r /usr/include/eigen3 /usr/include/doctest /usr/include/nlohmann "$D/include/"
cp /usr/include/stb/stb_image.h "$D/include/stb/"
cp /usr/include/zlib.h /usr/include/zconf.h "$D/include/"
cp /usr/lib/x86_64-linux-gnu/libz.a "$D/lib/"  # static, so the binary needs no zlib on that machine
echo "device_deps: $(du -sh "$D" | cut -f1) in $D"
