#!/usr/bin/env bash
# Packs the build's header-only and static dependencies from this machine's Debian packages
# (tools/setup.sh installs them) into .devdeps/, for a bare machine without them: the lent GPU machine
# has nvcc and PyTorch but no libeigen3-dev, doctest-dev, nlohmann-json3-dev, zlib1g-dev,
# libjpeg62-turbo-dev or libpng-dev.
# `make DEPS=.devdeps` builds against it; tools/gpu_check.sh does so. .devdeps/ is git-ignored
# (about 13 MB); carry it to the GPU machine with the working tree.
set -euo pipefail
cd "$(dirname "$0")/.."
D=.devdeps
rm -rf "$D"
mkdir -p "$D/include" "$D/lib"
L=/usr/lib/x86_64-linux-gnu
for need in /usr/include/eigen3 /usr/include/doctest /usr/include/nlohmann \
            /usr/include/zlib.h /usr/include/zconf.h $L/libz.a \
            /usr/include/jpeglib.h /usr/include/jerror.h /usr/include/jmorecfg.h /usr/include/x86_64-linux-gnu/jconfig.h \
            $L/libjpeg.a /usr/include/libpng16/png.h $L/libpng16.a; do
  [ -e "$need" ] || { echo "device_deps: $need is missing (run tools/setup.sh first)" >&2; exit 1; }
done
cp -r /usr/include/eigen3 /usr/include/doctest /usr/include/nlohmann "$D/include/"
cp /usr/include/zlib.h /usr/include/zconf.h "$D/include/"
cp /usr/include/jpeglib.h /usr/include/jerror.h /usr/include/jmorecfg.h /usr/include/x86_64-linux-gnu/jconfig.h "$D/include/"
cp /usr/include/libpng16/png.h /usr/include/libpng16/pngconf.h /usr/include/libpng16/pnglibconf.h "$D/include/"
# Static, so the binary needs no zlib, libjpeg or libpng on that machine.
cp $L/libz.a $L/libjpeg.a $L/libpng16.a "$D/lib/"
echo "device_deps: $(du -sh "$D" | cut -f1) in $D"
