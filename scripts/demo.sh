#!/usr/bin/env bash
# `npm run demo` (after setup.sh and build.sh): installs the Next.js demo's
# dependencies if missing or stale (including a rebuilt dist/), builds it with
# `next build`, then serves it with `next start` on 127.0.0.1:${PORT:-8080} in
# the foreground (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/www.sh install
bash scripts/www.sh build
exec bash scripts/www.sh start
