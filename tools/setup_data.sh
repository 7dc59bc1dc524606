#!/usr/bin/env bash
# What the dataset builders need (make data-emoji): Node.js with npm, to install the pinned emoji
# packages and run data/emoji/build.js, and rsvg-convert (librsvg2-bin) for SVG -> PNG. Node is
# checked by command, not by package: NodeSource's nodejs package bundles npm and conflicts with
# Debian's npm package, so Debian's nodejs + npm are installed only when no node/npm is present.
set -euo pipefail
missing=()
dpkg-query -W -f='${Status}' librsvg2-bin 2>/dev/null | grep -q "install ok installed" || missing+=(librsvg2-bin)
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then missing+=(nodejs npm); fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup_data: rsvg-convert, node $(node --version) and npm $(npm --version) present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "setup_data: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
