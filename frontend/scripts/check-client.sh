#!/bin/sh
# Fail when the committed client (src/api/openapi.json, src/api/schema.d.ts) no longer matches
# what the backend's OpenAPI generates: regenerate into a temporary folder and compare.
set -eu
cd "$(dirname "$0")/.."
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
sh scripts/generate-client.sh "$fresh" >/dev/null
stale=0
for file in openapi.json schema.d.ts; do
    if ! diff -u "src/api/$file" "$fresh/$file" > "$fresh/$file.diff"; then
        echo "check-client: src/api/$file is stale:" >&2
        head -n 40 "$fresh/$file.diff" >&2
        stale=1
    fi
done
if [ "$stale" -ne 0 ]; then
    echo "check-client: the API changed; run \`make client\` and commit frontend/src/api/." >&2
    exit 1
fi
echo "check-client: the generated API client is up to date"
