#!/usr/bin/env bash
# `mfacli serve` over 8 simulated hours: `bash bench/server_8h.sh`.
# The emulator and the server run under libfaketime sharing one
# FAKETIME_TIMESTAMP_FILE, moved 10 minutes per step; each step fetches the
# credentials (as an SDK would) and checks they have not expired. Reports
# the STS calls the emulator saw, the server's resident memory at the end,
# and what it does while idle for IDLE seconds (context switches, CPU ticks,
# and the syscalls strace counts when ptrace is allowed).
# MFACLI_BIN / EMULATOR_BIN: use prebuilt binaries instead of building.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH_DIR")"
IDLE="${IDLE:-30}"
log() { printf '[bench] %s\n' "$*" >&2; }

source "$BENCH_DIR/faketime.sh"
faketime_setup libfaketime.so.1 || { echo "needs libfaketime (apt-get install faketime)" >&2; exit 1; }

if [[ -z "${MFACLI_BIN:-}" || -z "${EMULATOR_BIN:-}" ]]; then
    log "building mfacli and sts-emulator (release)"
    (cd "$ROOT" && nice cargo build --release --quiet --workspace --bins)
    TARGET_DIR="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
    MFACLI_BIN="${MFACLI_BIN:-$TARGET_DIR/release/mfacli}"
    EMULATOR_BIN="${EMULATOR_BIN:-$TARGET_DIR/release/sts-emulator}"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/mfacli-8h-bench.XXXXXX")"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
    faketime_cleanup
}
trap cleanup EXIT

CLOCK="$WORK/faketime"
echo "+0s" >"$CLOCK"
# `env` execs the program, so $! is its pid.
FAKED=(env LD_PRELOAD="$FAKETIME_LIB" FAKETIME_SHARED="$FAKETIME_SHARED" FAKETIME_TIMESTAMP_FILE="$CLOCK" FAKETIME_NO_CACHE=1
    FAKETIME_DONT_FAKE_MONOTONIC=1 TZ=UTC)
set_clock() { echo "+${1}s" >"$CLOCK.tmp"; mv "$CLOCK.tmp" "$CLOCK"; }

mkfifo "$WORK/emu.in"
"${FAKED[@]}" "$EMULATOR_BIN" --exit-on-stdin-eof <"$WORK/emu.in" >"$WORK/emu.out" 2>"$WORK/emu.log" &
PIDS+=($!)
exec 3>"$WORK/emu.in"
for _ in $(seq 50); do grep -q listening "$WORK/emu.out" 2>/dev/null && break; sleep 0.1; done
ENDPOINT="$(sed -n 's/.*listening on //p' "$WORK/emu.out")"

export HOME="$WORK/home"
mkdir -p "$HOME/.aws" "$HOME/.config/mfacli"
printf '[bastion]\naws_access_key_id = AKIAALICE0EXAMPLE001\naws_secret_access_key = aliceSECRETkey0000000000000000EXAMPLE001\n' >"$HOME/.aws/credentials"
chmod 600 "$HOME/.aws/credentials"
cat >"$HOME/.config/mfacli/config.toml" <<'TOML'
[bastion]
profile = "bastion"
mfa_serial = "arn:aws:iam::111111111111:mfa/alice"
session_duration = "12h"
region = "eu-west-1"

[targets.prod]
role_arn = "arn:aws:iam::222222222222:role/PowerUser"
TOML
export AWS_ENDPOINT_URL_STS="$ENDPOINT" MFACLI_TOTP_SECRET=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP MFACLI_NON_INTERACTIVE=1

mkfifo "$WORK/serve.out"
"${FAKED[@]}" "$MFACLI_BIN" serve prod --shell bash >"$WORK/serve.out" 2>/dev/null &
SERVE=$!
PIDS+=($SERVE)
eval "$(head -n 3 "$WORK/serve.out")"
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVE/status"; }
RSS_START="$(rss)"

start="$(date -u +%s)"
for step in $(seq 0 48); do
    at=$((step * 600))
    set_clock "$at"
    body="$(curl -sf -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI")"
    exp="$(sed -n 's/.*"Expiration":"\([^"]*\)".*/\1/p' <<<"$body")"
    if (( $(date -u -d "$exp" +%s) <= start + at )); then
        echo "expired credentials at +${at}s: $exp" >&2
        exit 1
    fi
done
gst="$(grep -c 'GetSessionToken' "$WORK/emu.log" || true)"
ar="$(grep -c 'AssumeRole' "$WORK/emu.log" || true)"
echo "8 simulated hours, 49 fetches: $gst GetSessionToken, $ar AssumeRole"
echo "server RSS          after start $RSS_START KiB, after 8 h $(rss) KiB (peak $(awk '/VmHWM/ {print $2}' "/proc/$SERVE/status") KiB)"
ps -o nlwp= -p "$SERVE" | awk '{print "server threads      " $1 " (idle)"}'

# Idle: nothing in flight, the clock standing still.
switches() { cat /proc/"$SERVE"/task/*/status | awk '/ctxt_switches/ {n += $2} END {print n}'; }
ticks() { awk '{print $14 + $15}' "/proc/$SERVE/stat"; }
s0="$(switches)"; t0="$(ticks)"
sleep "$IDLE"
s1="$(switches)"; t1="$(ticks)"
if command -v strace >/dev/null; then
    strace -f -c -p "$SERVE" -o "$WORK/strace" 2>"$WORK/strace.err" &
    STRACE=$!
    sleep "$IDLE"
    kill -INT "$STRACE" 2>/dev/null || true
    wait "$STRACE" 2>/dev/null || true
fi
calls=""
if grep -q attached "$WORK/strace.err" 2>/dev/null; then
    # strace -c writes no table when no syscall completed.
    calls="$(awk '/total/ {print $4}' "$WORK/strace")"
    calls="${calls:-0}"
fi
echo "idle ${IDLE}s          $((s1 - s0)) context switches (all threads), $((t1 - t0)) CPU ticks; then ${IDLE}s under strace -f -c: ${calls:-n/a} syscalls"
