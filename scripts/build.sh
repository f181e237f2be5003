#!/usr/bin/env bash
# Release build of the npm package into dist/:
#   wasm (cargo) -> JS glue (wasm-bindgen --target web) -> wasm-opt -Oz -> tsc -> terser -> size report.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

target_dir="${CARGO_TARGET_DIR:-target}"
wasm="$target_dir/wasm32-unknown-unknown/release/session_persist.wasm"

echo "build: cargo build --release --target wasm32-unknown-unknown"
cargo build --release --target wasm32-unknown-unknown

echo "build: wasm-bindgen --target web --out-dir dist/wasm"
rm -rf dist
wasm-bindgen --target web --out-dir dist/wasm "$wasm"

# Binaryen from npm (Debian's 108 emits wasm that fails to load). rustc >= 1.82 emits
# these post-MVP features by default (memory.copy needs bulk-memory); wasm-opt must be
# told, or it rejects the input. Debug names and producers are dropped here too, so the
# size does not depend on the release profile's `strip`.
echo "build: wasm-opt -Oz"
node_modules/.bin/wasm-opt -Oz --strip-debug --strip-producers \
  --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  dist/wasm/session_persist_bg.wasm -o dist/wasm/session_persist_bg.wasm

echo "build: tsc -p ."
node_modules/.bin/tsc -p .

echo "build: minify (terser)"
node scripts/minify.mjs

node scripts/size-report.mjs
