#!/usr/bin/env bash
# The Next.js demo app in www/, which depends on this package the way a user
# installs it ("session-persist": "file:..", packed and copied by
# `npm install --install-links`, never symlinked). Used by scripts/demo.sh and
# tests/e2e/next.test.mjs.
#
#   bash scripts/www.sh install   # www/node_modules: `npm ci` from the committed lock when
#                                 # missing or older than the lock; then re-pack session-persist
#                                 # if ../dist or ../package.json differ from the installed copy
#   bash scripts/www.sh build     # next build
#   bash scripts/www.sh start     # next start on ${HOST:-127.0.0.1}:${PORT:-8080}, in the foreground
#
# Needs the package built first (bash scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/../www"
export NEXT_TELEMETRY_DISABLED=1
npm_flags=(--install-links --no-audit --no-fund)

install() {
  if [ ! -f ../dist/index.js ] || [ ! -f ../dist/react.js ]; then
    echo "www: ../dist is not built: run bash scripts/build.sh first" >&2
    exit 1
  fi
  local marker=node_modules/.package-lock.json # written by npm at every install
  if [ ! -f "$marker" ] || [ package-lock.json -nt "$marker" ] || [ package.json -nt "$marker" ]; then
    echo "www: npm ci --install-links (from www/package-lock.json)"
    if ! npm ci "${npm_flags[@]}"; then
      echo "www: npm ci failed; if www/package.json or the library's package.json changed," >&2
      echo "www: run 'npm install --install-links' in www/ and commit www/package-lock.json" >&2
      exit 1
    fi
    touch "$marker"
  fi
  # npm keeps a file: dependency that is already installed even when its folder
  # changed ("up to date"), so a rebuilt dist/ would not reach the app. Compare
  # what is installed with what would be packed, and re-pack only this package.
  if ! cmp -s ../package.json node_modules/session-persist/package.json ||
    ! diff -rq ../dist node_modules/session-persist/dist >/dev/null 2>&1; then
    echo "www: ../dist or ../package.json changed: reinstalling session-persist"
    rm -rf node_modules/session-persist
    npm install "${npm_flags[@]}"
    touch "$marker"
  fi
  echo "www: dependencies up to date"
}

build() {
  # Rebuilt from scratch when the package changed: Turbopack's cache is keyed on
  # file contents, so this stays correct and fast.
  node_modules/.bin/next build
}

start() {
  local host=${HOST:-127.0.0.1} port=${PORT:-8080}
  echo "demo: http://$host:$port/   (Ctrl-C to stop)"
  exec node_modules/.bin/next start -H "$host" -p "$port"
}

case "${1:-}" in
  install | build | start) "$1" ;;
  *)
    echo "usage: bash scripts/www.sh install|build|start" >&2
    exit 2
    ;;
esac
