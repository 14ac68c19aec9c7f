#!/usr/bin/env bash
# What the keyring costs: `bash bench/keyring.sh` from the repository root.
# Not part of the test suite; results go in bench/keyring.md by hand.
#
# For each place the bastion key can live (the AWS credentials file, the
# kernel keyring, the Secret Service of a private gnome-keyring-daemon),
# times against the bundled STS emulator:
#   - the cache hit (`credential-process prod` with cached role credentials):
#     must cost the same everywhere, because it never opens the keyring;
#   - a key read (`credential-process --bastion` with a cached MFA session:
#     the key and the session read from where they live, no STS call).
# Also the system calls of one cache hit with key_store = "keyring" (no
# connect(), no keyctl), and the release binary's size.
# Needs: gnome-keyring dbus keyutils (apt), a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-200}"

cargo build --release --quiet --bin mfacli
cargo build --quiet -p sts-emulator --bin sts-emulator
MFACLI="$PWD/target/release/mfacli"
EMU_BIN="$PWD/target/debug/sts-emulator"

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
    [ -n "${ENDPOINT:-}" ] && run keyutils keyutils keys remove >/dev/null 2>&1 || true
    for p in "${PIDS[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

"$EMU_BIN" >"$WORK/emu.out" 2>"$WORK/emu.log" &
PIDS+=($!)
for _ in $(seq 100); do grep -q listening "$WORK/emu.out" 2>/dev/null && break; sleep 0.05; done
ENDPOINT="$(sed -n 's/.*listening on //p' "$WORK/emu.out")"

# A private Secret Service (as the tests start it).
mkdir -p "$WORK/desktop/run" && chmod 700 "$WORK/desktop/run"
setsid env HOME="$WORK/desktop" XDG_RUNTIME_DIR="$WORK/desktop/run" ADDR="$WORK/bus" \
    dbus-run-session -- sh -c 'printf pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; echo "$DBUS_SESSION_BUS_ADDRESS" > "$ADDR"; exec sleep 3600' \
    </dev/null >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 200); do [ -s "$WORK/bus" ] && break; sleep 0.05; done
BUS="$(cat "$WORK/bus")"

KEY=AKIAALICE0EXAMPLE001
SECRET=aliceSECRETkey0000000000000000EXAMPLE001
SEED=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP

# One HOME per store; the same config but for key_store and the profile.
setup() { # name key_store profile
    local home="$WORK/$1"
    mkdir -p "$home/.aws" "$home/.config/mfacli"
    cat >"$home/.config/mfacli/config.toml" <<TOML
[bastion]
profile = "$3"
mfa_serial = "arn:aws:iam::111111111111:mfa/alice"
session_duration = "12h"
region = "eu-west-1"
key_store = "$2"

[targets.prod]
role_arn = "arn:aws:iam::222222222222:role/PowerUser"
TOML
    if [ "$2" = aws-files ]; then
        printf '[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n' "$3" "$KEY" "$SECRET" >"$home/.aws/credentials"
        chmod 600 "$home/.aws/credentials"
    fi
}
run() { # name backend args...
    local name=$1 backend=$2
    shift 2
    env -i PATH="$PATH" HOME="$WORK/$name" AWS_ENDPOINT_URL_STS="$ENDPOINT" \
        MFACLI_TOTP_SECRET="$SEED" MFACLI_NON_INTERACTIVE=1 \
        DBUS_SESSION_BUS_ADDRESS="$BUS" MFACLI_KEYRING="$backend" "$MFACLI" "$@"
}
setup files aws-files bastion
setup keyutils keyring "kr-bench-$$"
setup secret-service keyring bastion
for s in keyutils secret-service; do
    printf '%s\n%s\n' "$KEY" "$SECRET" | run "$s" "$s" keys add >/dev/null 2>&1
done
# Fill the caches: one MFA session, one role each.
for s in files keyutils secret-service; do
    b=$s; [ "$s" = files ] && b=keyutils
    run "$s" "$b" credential-process prod >/dev/null
done

# Interleaved runs (store after store), median and 90th percentile of the
# whole process's wall time: the machine's noise hits every store alike.
python3 - "$N" "$MFACLI" "$WORK" "$ENDPOINT" "$BUS" "$SEED" <<'PY'
import os, statistics, subprocess, sys, time
n, mfacli, work, endpoint, bus, seed = sys.argv[1:]
stores = [("files", "keyutils"), ("keyutils", "keyutils"), ("secret-service", "secret-service")]
cases = [("cache hit (credential-process prod)", ["credential-process", "prod"]),
         ("key + MFA session read (credential-process --bastion)", ["credential-process", "--bastion"])]
def env(name, backend):
    return {"PATH": os.environ["PATH"], "HOME": f"{work}/{name}", "AWS_ENDPOINT_URL_STS": endpoint,
            "MFACLI_TOTP_SECRET": seed, "MFACLI_NON_INTERACTIVE": "1",
            "DBUS_SESSION_BUS_ADDRESS": bus, "MFACLI_KEYRING": backend}
times = {(s, c): [] for s, _ in stores for c, _ in cases}
for _ in range(int(n)):
    for s, b in stores:
        for c, args in cases:
            t = time.perf_counter()
            subprocess.run([mfacli, *args], env=env(s, b), stdout=subprocess.DEVNULL, check=True)
            times[(s, c)].append((time.perf_counter() - t) * 1e6)
print("| key store | " + " | ".join(c for c, _ in cases) + " |")
print("| --- | " + " | ".join("---" for _ in cases) + " |")
for s, _ in stores:
    cells = []
    for c, _ in cases:
        v = sorted(times[(s, c)])
        cells.append(f"{statistics.median(v) / 1000:.2f} ms (p90 {v[int(len(v) * 0.9)] / 1000:.2f})")
    print(f"| {s} | " + " | ".join(cells) + " |")
print(f"\n{n} interleaved runs per cell; wall time of the whole process (spawn included)")
PY
echo

# The hit path's system calls with key_store = "keyring" (Secret Service):
# no socket, no connect, no keyctl.
if command -v strace >/dev/null; then
    strace -f -qq -e trace=openat,socket,connect,keyctl,add_key -o "$WORK/strace" \
        env -i PATH="$PATH" HOME="$WORK/secret-service" AWS_ENDPOINT_URL_STS="$ENDPOINT" \
        DBUS_SESSION_BUS_ADDRESS="$BUS" MFACLI_KEYRING=secret-service \
        "$MFACLI" credential-process prod >/dev/null
    echo "cache hit, key_store = keyring (secret-service): $(grep -c -E 'socket|connect|keyctl|add_key' "$WORK/strace") socket/connect/keyctl calls, $(grep -c openat "$WORK/strace") openat:"
    grep openat "$WORK/strace" | grep -v ENOENT | sed 's/^[0-9]* */    /' | grep -v -E '/(lib|usr|etc|proc|sys)/' || true
    echo
fi
# Instructions in mfacli itself (deterministic; the D-Bus peer's work is
# not counted, see the wall times above for it).
if command -v valgrind >/dev/null; then
    for s in files keyutils secret-service; do
        b=$s; [ "$s" = files ] && b=keyutils
        for args in "credential-process prod" "credential-process --bastion"; do
            env -i PATH="$PATH" HOME="$WORK/$s" AWS_ENDPOINT_URL_STS="$ENDPOINT" \
                DBUS_SESSION_BUS_ADDRESS="$BUS" MFACLI_KEYRING="$b" \
                valgrind --tool=callgrind --callgrind-out-file="$WORK/cg" "$MFACLI" $args >/dev/null 2>"$WORK/cg.err"
            printf '%-15s %-30s %s instructions\n' "$s" "$args" "$(sed -n 's/.*Collected : //p' "$WORK/cg.err")"
        done
    done
    echo
fi
echo "release binary: $(stat -c %s "$MFACLI") bytes"
