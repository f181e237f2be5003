#!/usr/bin/env bash
# Release build of the npm package into dist/:
#   for each wasm (the session engine, the auth engine):
#     cargo build (one feature) -> JS glue (wasm-bindgen --target web)
#     -> JS snippets inlined into the glue -> wasm-opt -Oz
#   then tsc -> terser -> size report.
# Everything is built in dist.new/ and swapped in at the end, so a page or test
# reading dist/ never sees it half built.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

target_dir="${CARGO_TARGET_DIR:-target}"
out=dist.new
rm -rf "$out"

# Binaryen from npm (Debian's 108 emits wasm that fails to load). rustc >= 1.82 emits
# these post-MVP features by default (memory.copy needs bulk-memory); wasm-opt must be
# told, or it rejects the input. Debug names and producers are dropped here too, so the
# size does not depend on the release profile's `strip`.
opt() {
  node_modules/.bin/wasm-opt -Oz --strip-debug --strip-producers \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$1" -o "$1"
}

# One wasm per surface: the session wasm (openSession) and the auth wasm
# (openAuthSession), each with only the code its exports reach. Separate
# target dirs keep both builds cached.
build_wasm() {
  local feature=$1 dir=$2 target="$target_dir/$3"
  echo "build: cargo build --release --target wasm32-unknown-unknown --no-default-features --features $feature"
  CARGO_TARGET_DIR="$target" cargo build --release --target wasm32-unknown-unknown \
    --no-default-features --features "$feature"
  echo "build: wasm-bindgen --target web --out-dir $out/$dir; inline snippets; wasm-opt -Oz"
  wasm-bindgen --target web --out-dir "$out/$dir" \
    "$target/wasm32-unknown-unknown/release/session_persist.wasm"
  node scripts/inline-snippets.mjs "$out/$dir"
  opt "$out/$dir/session_persist_bg.wasm"
}
build_wasm session wasm wasm-session
build_wasm auth wasm-auth wasm-auth

echo "build: tsc -p . --outDir $out"
node_modules/.bin/tsc -p . --outDir "$out"

echo "build: minify (terser)"
node scripts/minify.mjs "$out"

rm -rf dist
mv "$out" dist
node scripts/size-report.mjs
