#!/bin/sh
# Regenerate the typed API client: src/api/openapi.json from the backend, then src/api/schema.d.ts
# from it (openapi-typescript). `make client` runs this; scripts/check-client.sh checks it is current.
set -eu
cd "$(dirname "$0")/.."
out=${1:-src/api}
mkdir -p "$out"
sh scripts/dump-openapi.sh > "$out/openapi.json.tmp"
mv "$out/openapi.json.tmp" "$out/openapi.json"
npx --no-install openapi-typescript "$out/openapi.json" --output "$out/schema.d.ts" --alphabetize >/dev/null
echo "generate-client: wrote $out/openapi.json and $out/schema.d.ts"
