#!/usr/bin/env bash
# Installs what a fresh Debian bookworm machine (with Rust and Node) lacks for
# building and testing session-persist. Idempotent; quick when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

steps=0
step() { echo "setup: $*"; steps=$((steps + 1)); }
need() { command -v "$1" >/dev/null 2>&1 || { echo "setup: '$1' not found: $2" >&2; exit 1; }; }
need rustup "install Rust with rustup first"
need cargo "install Rust with rustup first"
need node "install Node.js 20 or newer first"
need npm "install Node.js 20 or newer first"

# Rust: the wasm target, rustfmt and clippy (scripts/test.sh runs both).
installed=$(rustup component list --installed)
if ! grep -q '^rust-std-wasm32-unknown-unknown' <<<"$installed"; then
  step "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
for c in rustfmt clippy; do
  if ! grep -q "^$c" <<<"$installed"; then
    step "rustup component add $c"
    rustup component add "$c"
  fi
done

# Headless Chromium and its driver, for the Rust browser tests and the e2e tests.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  step "apt-get install chromium chromium-driver"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver
fi

# wasm-bindgen CLI: must be exactly the wasm-bindgen version the crate links.
want=""
if [ -f Cargo.lock ]; then
  want=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
fi
if [ -z "$want" ]; then # no lockfile yet: use the exact pin in Cargo.toml
  want=$(sed -nE 's/^wasm-bindgen *= *"=([0-9.]+)".*/\1/p' Cargo.toml | head -n1)
fi
[ -n "$want" ] || { echo "setup: cannot find the wasm-bindgen version in Cargo.lock or Cargo.toml" >&2; exit 1; }
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  # No --locked: the registry mirror lacks one of its pinned transitive crates.
  step "cargo install wasm-bindgen-cli --version $want (had: ${have:-none})"
  cargo install wasm-bindgen-cli --version "$want"
fi

# npm dev dependencies (typescript, playwright-core, binaryen).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci"
  npm ci --no-audit --no-fund
  touch node_modules/.package-lock.json
fi

if [ "$steps" -eq 0 ]; then echo "setup: everything already installed"; else echo "setup: done ($steps steps)"; fi
