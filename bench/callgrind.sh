#!/usr/bin/env bash
# Start-up cost in instructions, under callgrind: stable on a noisy machine,
# unlike wall time. Compares a credential-process cache hit and --version
# with the floor (a Rust program that reads one file and prints it).
#   bash bench/callgrind.sh            # prints a table; needs valgrind
# CALLGRIND_TOP=1 measures the `profiling` build instead (the release build
# with symbols: the same code) and prints the most expensive functions of the
# cache hit. CALLGRIND_OUT=FILE keeps the cache hit's profile for
# callgrind_annotate.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }

PROFILE=release
[ "${CALLGRIND_TOP:-}" = 1 ] && PROFILE=profiling
cargo build --release --quiet -p sts-emulator --bins
# The build that ships (static on Linux: scripts/build-release.sh).
BIN="$(dirname "$(bash scripts/build-release.sh "$PROFILE")")"
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
EMU="$TARGET_DIR/release/sts-emulator"
WORK="$(mktemp -d)"
EMU_PID=""
cleanup() {
    [ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null && wait "$EMU_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/build"
rustc -O --edition 2021 -o "$WORK/build/floor" bench/floor.rs

"$EMU" >"$WORK/emu.out" 2>/dev/null &
EMU_PID=$!
for _ in $(seq 100); do grep -q listening "$WORK/emu.out" 2>/dev/null && break; sleep 0.05; done
export HOME="$WORK/home" AWS_ENDPOINT_URL_STS="$(sed -n 's/.*listening on //p' "$WORK/emu.out")"
export MFACLI_TOTP_SECRET=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP MFACLI_NON_INTERACTIVE=1
unset AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION
mkdir -p "$HOME/.aws" "$HOME/.config/mfacli"
printf '[bastion]\naws_access_key_id = AKIAALICE0EXAMPLE001\naws_secret_access_key = aliceSECRETkey0000000000000000EXAMPLE001\n' >"$HOME/.aws/credentials"
chmod 600 "$HOME/.aws/credentials"
printf '[bastion]\nprofile = "bastion"\nmfa_serial = "arn:aws:iam::111111111111:mfa/alice"\nregion = "eu-west-1"\n\n[targets.prod]\nrole_arn = "arn:aws:iam::222222222222:role/PowerUser"\n' >"$HOME/.config/mfacli/config.toml"
"$BIN/mfacli" credential-process prod >/dev/null
entry="$(ls "$HOME"/.cache/mfacli/role-prod-*.json)"

count() { # prints the instructions one command executes
    # CALLGRIND_MANGLED=1: the profile names functions as the linker does
    # (scripts/hit-order.sh).
    valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" \
        ${CALLGRIND_MANGLED:+--demangle=no} "$@" 2>&1 >/dev/null |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
floor=$(count "$WORK/build/floor" "$entry")
version=$(count "$BIN/mfacli" --version)
hit=$(count "$BIN/mfacli" credential-process prod)
[ -n "${CALLGRIND_OUT:-}" ] && cp "$WORK/cg.out" "$CALLGRIND_OUT"
[ "${CALLGRIND_TOP:-}" = 1 ] && callgrind_annotate --inclusive=yes "$WORK/cg.out" 2>/dev/null | sed -n 1,60p
m() { awk -v n="$1" 'BEGIN { printf "%.2f M", n / 1e6 }'; }
printf '| program | instructions |\n| --- | ---: |\n'
printf '| floor: read one file, print it | %s |\n' "$(m "$floor")"
printf '| `mfacli --version` | %s |\n' "$(m "$version")"
printf '| `mfacli credential-process prod` (cache hit) | %s |\n' "$(m "$hit")"
