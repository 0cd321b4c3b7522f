#!/usr/bin/env bash
# Refresh the back office's vendored assets (admin/static/vendor) from the npm registry.
# The back office never loads anything from a CDN: these files ship inside the package.
set -euo pipefail
HTMX_VERSION=2.0.11
PICO_VERSION=2.1.1
here="$(cd "$(dirname "$0")/.." && pwd)"
target="$here/admin/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "htmx.org@$HTMX_VERSION" "@picocss/pico@$PICO_VERSION" >/dev/null
mkdir htmx pico
tar xzf "htmx.org-$HTMX_VERSION.tgz" -C htmx
tar xzf "picocss-pico-$PICO_VERSION.tgz" -C pico
mkdir -p "$target"
cp htmx/package/dist/htmx.min.js "$target/htmx.min.js"
cp htmx/package/LICENSE "$target/htmx.LICENSE"
cp pico/package/css/pico.min.css "$target/pico.min.css"
cp pico/package/LICENSE.md "$target/pico.LICENSE.md"
echo "vendored htmx.org $HTMX_VERSION and @picocss/pico $PICO_VERSION into $target"
