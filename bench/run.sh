#!/usr/bin/env bash
# mfacli benchmark: `bash bench/run.sh` from the repository root (or anywhere).
# Not part of the test suite. Writes bench/results.md; see bench/README.md.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH_DIR")"
VENV="$BENCH_DIR/.venv"
BUILD="$BENCH_DIR/.build"
log() { printf '[bench] %s\n' "$*" >&2; }

# --- system packages: libfaketime (working-day simulation), GNU time (peak RSS)
source "$BENCH_DIR/faketime.sh"
if ! faketime_setup libfaketimeMT.so.1 || [[ ! -x /usr/bin/time ]]; then
    log "installing faketime and time (Debian packages)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime time >/dev/null
    faketime_setup libfaketimeMT.so.1
fi

# --- Python peers and moto, in a private venv
if [[ ! -x "$VENV/bin/moto_server" || ! -x "$VENV/bin/awsumepy" || ! -x "$VENV/bin/aws-mfa" ]]; then
    log "creating $VENV"
    python3 -m venv "$VENV"
    nice "$VENV/bin/pip" install -q --upgrade pip
    nice "$VENV/bin/pip" install -q 'moto[server]' awscli awsume aws-mfa boto3
fi

# --- mfacli release binary and the Rust floor
log "building mfacli (release, static as shipped: scripts/build-release.sh)"
MFACLI_BIN="$(nice bash "$ROOT/scripts/build-release.sh")"
# The working day runs under libfaketime, which a static binary never loads
# (no dynamic loader, no LD_PRELOAD): the same code, linked dynamically.
log "building mfacli (release, dynamically linked, for the faked clock)"
(cd "$ROOT" && nice cargo build --release --locked --quiet --bin mfacli)
MFACLI_DYNAMIC_BIN="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/mfacli"
mkdir -p "$BUILD"
nice rustc -O --edition 2021 -o "$BUILD/floor" "$BENCH_DIR/floor.rs"

# --- two STS servers (moto + counting shim): one on the real clock for the
# timings, one under a shared fake clock for the working-day simulation
WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/mfacli-bench.XXXXXX")"
FAKETIME_FILE="$WORK_DIR/faketime"
echo "+0" >"$FAKETIME_FILE"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK_DIR"
    faketime_cleanup
}
trap cleanup EXIT

free_port() {
    "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_for() {
    local port=$1
    for _ in $(seq 1 150); do
        if "$VENV/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/__bench/events')" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    log "STS server on port $port did not start; its log:"
    cat "$WORK_DIR/sts-$port.log" >&2
    return 1
}

STS_PORT="$(free_port)"
"$VENV/bin/python" "$BENCH_DIR/sts_server.py" 127.0.0.1 "$STS_PORT" >"$WORK_DIR/sts-$STS_PORT.log" 2>&1 &
PIDS+=($!)
DAY_STS_PORT="$(free_port)"
LD_PRELOAD="$FAKETIME_LIB" FAKETIME_SHARED="$FAKETIME_SHARED" FAKETIME_TIMESTAMP_FILE="$FAKETIME_FILE" FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1 \
    "$VENV/bin/python" "$BENCH_DIR/sts_server.py" 127.0.0.1 "$DAY_STS_PORT" >"$WORK_DIR/sts-$DAY_STS_PORT.log" 2>&1 &
PIDS+=($!)
wait_for "$STS_PORT"
wait_for "$DAY_STS_PORT"
log "STS servers on 127.0.0.1:$STS_PORT (real clock) and :$DAY_STS_PORT (fake clock)"

export BENCH_DIR MFACLI_BIN MFACLI_DYNAMIC_BIN FLOOR_BIN="$BUILD/floor" VENV_BIN="$VENV/bin" STS_PORT DAY_STS_PORT \
    FAKETIME_LIB FAKETIME_FILE WORK_DIR
nice "$VENV/bin/python" "$BENCH_DIR/bench.py"
