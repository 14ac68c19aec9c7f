#!/usr/bin/env bash
# The test command: sets up the Python tools the interoperability tests use
# (moto's STS server, AWS CLI v1, boto3) in .venv and the JavaScript SDK in
# tests/js/node_modules, then runs every test.
# Tests that need a tool (the venv, zsh, fish, faketime, chromium, openssl)
# fail when it is missing; with MFACLI_ALLOW_SKIP=1 they skip instead, and
# the count of skipped tests is printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
if [ ! -x "$VENV/bin/aws" ] || [ ! -x "$VENV/bin/moto_server" ] || ! "$VENV/bin/python" -c 'import boto3' 2>/dev/null; then
    echo "==> creating $VENV with moto[server], awscli (v1), boto3"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
    "$VENV/bin/pip" install --quiet --disable-pip-version-check 'moto[server]' awscli boto3
fi
export MFACLI_TEST_VENV="$PWD/$VENV"

# The AWS SDK for JavaScript v3, pinned by tests/js/package-lock.json.
if command -v npm >/dev/null && { [ ! -d tests/js/node_modules ] || [ tests/js/package-lock.json -nt tests/js/node_modules ]; }; then
    echo "==> npm ci in tests/js (the JavaScript SDK consumer)"
    npm ci --prefix tests/js --no-audit --no-fund --loglevel=error
fi

MFACLI_SKIP_LOG="$(mktemp)"
export MFACLI_SKIP_LOG
# Nothing the suite starts may leave an entry in /dev/shm (a stale
# libfaketime semaphore fails later runs: issue 27).
SHM_BEFORE="$(mktemp)"
ls -A /dev/shm 2>/dev/null | sort >"$SHM_BEFORE" || true
report() {
    local status=$?
    report_skips
    local new
    new=$(ls -A /dev/shm 2>/dev/null | sort | comm -13 "$SHM_BEFORE" - || true)
    echo "==> /dev/shm: $(wc -l <"$SHM_BEFORE") entries before the tests, $(ls -A /dev/shm 2>/dev/null | wc -l) after"
    rm -f "$SHM_BEFORE"
    if [ -n "$new" ]; then
        echo "==> the tests left these in /dev/shm:"
        printf '    %s\n' $new
        [ "$status" -ne 0 ] || status=1
    fi
    exit "$status"
}
report_skips() {
    local n
    n=$(wc -l < "$MFACLI_SKIP_LOG")
    if [ "$n" -gt 0 ]; then
        echo "==> $n skipped test(s) (MFACLI_ALLOW_SKIP=1):"
        sed 's/^/    /' "$MFACLI_SKIP_LOG"
    else
        echo "==> 0 skipped tests"
    fi
    rm -f "$MFACLI_SKIP_LOG"
}
trap report EXIT

echo "==> cargo test --workspace"
cargo test --workspace --locked "$@"
