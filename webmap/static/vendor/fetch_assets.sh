#!/usr/bin/env bash
# Re-create the self-hosted browser libraries the maps (and the planner's chart) load, from the
# npm registry.
#
# Usage:  bash webmap/static/vendor/fetch_assets.sh
#
# Idempotent: each package folder below is deleted and rebuilt from the pinned version, so a
# second run changes nothing; README.md and this script are left alone.
#
# Upgrading: bump a version here, run the script, then update README.md. The map pages' bundles
# (webmap/common/bundle.py) name the files they concatenate.
set -euo pipefail

LEAFLET=1.9.3         # the version folium 0.20 writes
AWESOME_MARKERS=2.0.5 # folium asks for 2.0.2, which is not on npm
CHARTJS=4.6.1         # the planner's bar chart

VENDOR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# unpack NAME SPEC: fetch SPEC with `npm pack` and unpack it into $TMP/NAME.
unpack() {
    local name="$1" spec="$2" tarball
    tarball="$(npm pack --silent --pack-destination "$TMP" "$spec" | tail -n 1)"
    mkdir -p "$TMP/$name"
    tar -xzf "$TMP/$tarball" -C "$TMP/$name" --strip-components=1
}

# put PACKAGE_DIR SRC_DIR LICENSE FILE...: copy FILEs (paths relative to SRC_DIR, kept as
# they are) into vendor/PACKAGE_DIR, and the package's LICENSE file as vendor/PACKAGE_DIR/LICENSE.
put() {
    local dest="$VENDOR/$1" src="$2" licence="$3"
    shift 3
    rm -rf "$dest"
    mkdir -p "$dest"
    cp "$src/$licence" "$dest/LICENSE"
    (cd "$src" && cp --parents "$@" "$dest/")
}

unpack leaflet "leaflet@$LEAFLET"
put leaflet "$TMP/leaflet/dist" ../LICENSE leaflet.js leaflet.css \
    images/layers.png images/layers-2x.png \
    images/marker-icon.png images/marker-icon-2x.png images/marker-shadow.png

unpack awesome "leaflet.awesome-markers@$AWESOME_MARKERS"
put leaflet.awesome-markers "$TMP/awesome/dist" ../LICENSE \
    leaflet.awesome-markers.js leaflet.awesome-markers.css \
    images/markers-soft.png images/markers-soft@2x.png \
    images/markers-shadow.png images/markers-shadow@2x.png

unpack chartjs "chart.js@$CHARTJS"
put chart.js "$TMP/chartjs/dist" ../LICENSE.md chart.umd.min.js

echo "vendored into $VENDOR ($(du -sh --exclude=README.md --exclude=fetch_assets.sh "$VENDOR" | cut -f1))"
