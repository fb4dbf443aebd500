#!/usr/bin/env bash
# Re-create the self-hosted browser assets that folium's maps (and the planner's chart) need,
# from the npm registry
# (and the folium sdist on PyPI for one stylesheet folium keeps in its own repository).
#
# Usage:  bash webmap/static/vendor/fetch_assets.sh
#   PYTHON=/path/to/python  interpreter whose folium is used (default: the repo's .venv)
#
# Idempotent: each package folder below is deleted and rebuilt from the pinned version, so a
# second run changes nothing; README.md and this script are left alone.
#
# Upgrading: bump a version here, run the script, then update VENDORED in webmap/common/assets.py
# (its keys are the CDN URLs folium writes) and README.md. A folium upgrade that changes a CDN
# URL makes webmap.common.assets.localise() raise ExternalAssetError naming that URL.
set -euo pipefail

LEAFLET=1.9.3
MARKERCLUSTER=1.1.0
JQUERY=3.7.1
BOOTSTRAP=5.2.2
FONTAWESOME=6.2.0
AWESOME_MARKERS=2.0.5 # folium asks for 2.0.2, which is not on npm
GLYPHICONS=1.0.7      # @neos21/bootstrap3-glyphicons: Bootstrap 3's glyphicon CSS and fonts
D3=3.5.5              # branca.colormap hard-codes d3 3.5.5
CHARTJS=4.6.1         # the planner's bar chart (not a folium asset)

VENDOR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$VENDOR/../../.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
FOLIUM="$("$PYTHON" -c 'import folium; print(folium.__version__)')"

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

unpack markercluster "leaflet.markercluster@$MARKERCLUSTER"
put leaflet.markercluster "$TMP/markercluster/dist" ../MIT-LICENCE.txt \
    leaflet.markercluster.js MarkerCluster.css MarkerCluster.Default.css

unpack jquery "jquery@$JQUERY"
put jquery "$TMP/jquery/dist" ../LICENSE.txt jquery.min.js

unpack bootstrap "bootstrap@$BOOTSTRAP"
put bootstrap "$TMP/bootstrap/dist" ../LICENSE css/bootstrap.min.css js/bootstrap.bundle.min.js

unpack fontawesome "@fortawesome/fontawesome-free@$FONTAWESOME"
put fontawesome-free "$TMP/fontawesome" LICENSE.txt css/all.min.css \
    webfonts/fa-brands-400.woff2 webfonts/fa-brands-400.ttf \
    webfonts/fa-regular-400.woff2 webfonts/fa-regular-400.ttf \
    webfonts/fa-solid-900.woff2 webfonts/fa-solid-900.ttf \
    webfonts/fa-v4compatibility.woff2 webfonts/fa-v4compatibility.ttf

unpack awesome "leaflet.awesome-markers@$AWESOME_MARKERS"
put leaflet.awesome-markers "$TMP/awesome/dist" ../LICENSE \
    leaflet.awesome-markers.js leaflet.awesome-markers.css \
    images/markers-soft.png images/markers-soft@2x.png \
    images/markers-shadow.png images/markers-shadow@2x.png

# The CSS names all five font formats; browsers take the first they support (woff2).
unpack glyphicons "@neos21/bootstrap3-glyphicons@$GLYPHICONS"
put bootstrap3-glyphicons "$TMP/glyphicons/dist" ../LICENSE css/bootstrap3-glyphicons.min.css \
    fonts/glyphicons-halflings-regular.woff2 fonts/glyphicons-halflings-regular.woff \
    fonts/glyphicons-halflings-regular.ttf fonts/glyphicons-halflings-regular.eot \
    fonts/glyphicons-halflings-regular.svg

unpack d3 "d3@$D3"
put d3 "$TMP/d3" LICENSE d3.min.js

unpack chartjs "chart.js@$CHARTJS"
put chart.js "$TMP/chartjs/dist" ../LICENSE.md chart.umd.min.js

# folium links leaflet.awesome.rotate.min.css from its GitHub repository; the same rules ship
# (unminified) in folium's sdist on PyPI, not in its wheel.
"$PYTHON" -m pip download --quiet --no-deps --no-binary :all: -d "$TMP" "folium==$FOLIUM"
mkdir -p "$TMP/folium"
tar -xzf "$TMP/folium-$FOLIUM.tar.gz" -C "$TMP/folium" --strip-components=1
put folium "$TMP/folium/folium/templates" ../../LICENSE.txt leaflet.awesome.rotate.css

echo "vendored into $VENDOR ($(du -sh --exclude=README.md --exclude=fetch_assets.sh "$VENDOR" | cut -f1))"
