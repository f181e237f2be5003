#!/usr/bin/env bash
# Every check of the project, in order, stopping at the first failure:
# Rust format and lints, native core tests, the release build, the Rust browser
# tests in headless Chromium, then the Node (SSR, server) and end-to-end tests
# against the built package.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

total=7
n=0
started=$SECONDS
# Every step's output is also kept here, to add up the test counts at the end.
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Sums "N passed; M failed" (cargo test) and "# pass N" / "# fail N" (node --test).
counts() {
  awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
       /^# pass / { p += $3 } /^# fail / { f += $3 }
       END { printf "%d passed, %d failed\n", p, f }' "$log"
}
step() {
  local name=$1
  shift
  n=$((n + 1))
  echo
  echo "==> [$n/$total] $name"
  local t0=$SECONDS
  if ! "$@" 2>&1 | tee -a "$log"; then
    echo
    echo "test.sh: FAILED at step $n/$total ($name) after $((SECONDS - started)) s"
    echo "tests: $(counts)"
    exit 1
  fi
  echo "--- [$n/$total] $name: ok ($((SECONDS - t0)) s)"
}

browser_tests() {
  if [ ! -f tests/browser.rs ]; then
    echo "SKIPPED: tests/browser.rs does not exist yet, so there are no Rust browser tests to run."
    return 0
  fi
  CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_TEST_TIMEOUT=120 \
    cargo test --target wasm32-unknown-unknown --test browser
}

step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy (native)" cargo clippy --all-targets -- -D warnings
step "cargo clippy (wasm32)" cargo clippy --target wasm32-unknown-unknown --lib --tests -- -D warnings
step "cargo test (native core)" cargo test
step "release build (scripts/build.sh)" bash scripts/build.sh
step "Rust browser tests (headless Chromium)" browser_tests
step "node tests (SSR, server, end-to-end)" node --test --test-concurrency=1 tests/node/*.test.mjs tests/e2e/*.test.mjs

echo
echo "test.sh: OK, all $total steps passed in $((SECONDS - started)) s"
echo "tests: $(counts)"
