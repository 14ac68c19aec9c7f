#!/usr/bin/env bash
# Credential-server benchmark: `bash bench/server.sh` from anywhere.
# p50/p99 of 10 000 credential fetches from `mfacli serve` beside a bare
# loopback HTTP round trip, and the server's resident memory. Uses the STS
# emulator (crates/sts-emulator), nothing on the network.
# MFACLI_BIN / EMULATOR_BIN: use prebuilt binaries instead of building.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH_DIR")"
N="${N:-10000}"
log() { printf '[bench] %s\n' "$*" >&2; }

if [[ -z "${MFACLI_BIN:-}" || -z "${EMULATOR_BIN:-}" ]]; then
    log "building mfacli and sts-emulator (release)"
    (cd "$ROOT" && nice cargo build --release --quiet --bin mfacli --bin sts-emulator)
    TARGET_DIR="$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
    MFACLI_BIN="${MFACLI_BIN:-$TARGET_DIR/release/mfacli}"
    EMULATOR_BIN="${EMULATOR_BIN:-$TARGET_DIR/release/sts-emulator}"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/mfacli-server-bench.XXXXXX")"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

nice rustc -O --edition 2021 -o "$WORK/client" "$BENCH_DIR/server_client.rs"

# The emulator (demo world: alice, prod = 222222222222:PowerUser).
mkfifo "$WORK/emu.in"
"$EMULATOR_BIN" --exit-on-stdin-eof <"$WORK/emu.in" >"$WORK/emu.out" 2>/dev/null &
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
region = "eu-west-1"

[targets.prod]
role_arn = "arn:aws:iam::222222222222:role/PowerUser"
TOML
export AWS_ENDPOINT_URL_STS="$ENDPOINT" MFACLI_TOTP_SECRET=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP MFACLI_NON_INTERACTIVE=1

mkfifo "$WORK/serve.out"
"$MFACLI_BIN" serve prod --shell bash >"$WORK/serve.out" &
SERVE=$!
PIDS+=($SERVE)
eval "$(head -n 3 "$WORK/serve.out")"
rss() { awk '/VmRSS/ {print $2 " KiB"}' "/proc/$SERVE/status"; }
log "server pid $SERVE, RSS after start $(rss)"
RSS_START="$(rss)"

"$WORK/client" "$AWS_CONTAINER_CREDENTIALS_FULL_URI" "$AWS_CONTAINER_AUTHORIZATION_TOKEN" "$N"
echo "server RSS          after start $RSS_START, after $N requests $(rss)"
ps -o nlwp= -p "$SERVE" | awk '{print "server threads      " $1 " (idle)"}'
