#!/usr/bin/env bash
# What `npm start`, `npm test` and .ci/run need before they run: the Debian packages of
# deploy/install-deps.sh and the npm packages of package-lock.json. Quiet when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "vxflow: installing npm packages" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
