#!/usr/bin/env bash
# Rebuilds the bundled datasets in data/ from their real sources (see PROVENANCE.md):
# npm packages at pinned versions and Debian packages, unpacked into a temporary folder
# (no system-wide install), then `remix data build-bundled`. Same sources, same bytes.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "npm sources -> $work/npm" >&2
mkdir -p "$work/npm"
(cd "$work/npm" && npm install --no-audit --no-fund --ignore-scripts --silent \
  country-json@2.3.0 countries-list@3.4.1 @exabyte-io/periodic-table.js@2.0.5 >/dev/null)

echo "Debian sources -> $work/deb" >&2
mkdir -p "$work/deb/root"
packages=(wordnet-base=1:3.0-37 wamerican=2020.12.07-2 miscfiles=1.5+dfsg-4)
if ! (cd "$work/deb" && apt-get download "${packages[@]}" >/dev/null 2>&1); then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq; fi
  (cd "$work/deb" && apt-get download "${packages[@]}" >/dev/null)
fi
for deb in "$work"/deb/*.deb; do dpkg-deb -x "$deb" "$work/deb/root"; done

"$here/../remix" data build-bundled --node-modules "$work/npm/node_modules" --debian-root "$work/deb/root" --out "$here"
