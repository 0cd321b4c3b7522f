#!/bin/sh
# Print the backend's OpenAPI document (pretty JSON) by building the app in Python: no server and
# no database are needed (create_app touches the database only when its lifespan runs).
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
python=${OMNIFIN_PYTHON:-$repo/.venv/bin/python}
if [ ! -x "$python" ]; then
    echo "dump-openapi: $python not found: run \`make install\` at the repository root first" >&2
    exit 1
fi
cd "$repo"
"$python" -c '
import json, sys
from api.app import create_app
json.dump(create_app().openapi(), sys.stdout, indent=2, ensure_ascii=False)
sys.stdout.write("\n")
'
