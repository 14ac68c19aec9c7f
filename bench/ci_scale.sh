#!/usr/bin/env bash
# CI at scale: N separate "machines" (own HOME, config and cache; nothing
# shared but the seeds) run `mfacli env prod` at the same instant against one
# sts-emulator whose user has D TOTP devices. Real time: TOTP steps are 30 s,
# so a run takes up to a few minutes. Not part of the test suite (the suite
# has fast versions: chain::tests::*_ci_machines_* on a manual clock, and
# integration ci::eight_machines_on_four_devices_all_get_credentials).
#
#   bash bench/ci_scale.sh                 # 6/1, 16/4, 32/8; appends to bench/ci_scale.md
#   bash bench/ci_scale.sh 6:1 12:2        # chosen JOBS:DEVICES pairs
#   bash bench/ci_scale.sh 6:1 --strict    # exit 1 if a job failed or took over 150 s (CI)
#
# Per run it reports the wall time (first start to last exit), the codes STS
# rejected (from the machines' stderr), failures, and the distribution of the
# per-job wait (start to exit).
set -euo pipefail
cd "$(dirname "$0")/.."
strict=0
runs=()
for a in "$@"; do
    case $a in
        --strict) strict=1 ;;
        *:*) runs+=("$a") ;;
        *) echo "usage: $0 [JOBS:DEVICES...] [--strict]" >&2; exit 2 ;;
    esac
done
[ ${#runs[@]} -gt 0 ] || runs=(6:1 16:4 32:8)

cargo build -q --bin mfacli -p mfacli
cargo build -q --bin sts-emulator -p sts-emulator
MFACLI=$PWD/target/debug/mfacli
EMU=$PWD/target/debug/sts-emulator
OUT=${CI_SCALE_OUT:-$PWD/bench/ci_scale.md}   # where rows are appended

SERIALS=(arn:aws:iam::111111111111:mfa/alice arn:aws:iam::111111111111:mfa/alice-{2..8})
SEEDS=(JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP NVTGCY3MNEWWIZLNN4WWIZLWNFRWKLJ{S,T,U,V,W,X,Y})

work=$(mktemp -d)
emu_pid=""
cleanup() {
    if [ -n "$emu_pid" ]; then kill "$emu_pid" 2>/dev/null || true; wait "$emu_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# The demo world with alice holding 8 TOTP devices.
WORLD=$PWD/bench/ci_world.toml

run_one() {
    local jobs=$1 devices=$2 dir="$work/run-$1-$2"
    mkdir -p "$dir"
    # A fresh emulator per run: no steps used by an earlier run.
    [ -n "$emu_pid" ] && { kill "$emu_pid"; wait "$emu_pid" 2>/dev/null || true; }
    "$EMU" --world "$WORLD" > "$dir/emu.out" 2> "$dir/emu.err" &
    emu_pid=$!
    for _ in $(seq 100); do grep -q listening "$dir/emu.out" 2>/dev/null && break; sleep 0.05; done
    local url; url=$(sed -n 's/.*listening on //p' "$dir/emu.out")
    local cfg="[bastion]\nprofile = \"bastion\"\nregion = \"eu-west-1\"\n"
    for ((d = 0; d < devices; d++)); do
        cfg+="\n[[bastion.mfa_devices]]\nserial = \"${SERIALS[$d]}\"\ntotp_secret_env = \"SEED_$((d + 1))\"\n"
    done
    cfg+="\n[targets.prod]\nrole_arn = \"arn:aws:iam::222222222222:role/PowerUser\"\n"
    local seed_env=()
    for ((d = 0; d < devices; d++)); do seed_env+=("SEED_$((d + 1))=${SEEDS[$d]}"); done
    local pids=()
    for ((j = 0; j < jobs; j++)); do
        local home="$dir/m$j"
        mkdir -p "$home/.aws" "$home/.config/mfacli"
        printf '[bastion]\naws_access_key_id = AKIAALICE0EXAMPLE001\naws_secret_access_key = aliceSECRETkey0000000000000000EXAMPLE001\n' > "$home/.aws/credentials"
        chmod 600 "$home/.aws/credentials"
        printf "$cfg" > "$home/.config/mfacli/config.toml"
        # Each job waits for the start signal, then runs and records its times.
        env -i PATH="$PATH" HOME="$home" AWS_ENDPOINT_URL_STS="$url" MFACLI_NON_INTERACTIVE=1 "${seed_env[@]}" \
            bash -c 'while [ ! -e "$1/go" ]; do sleep 0.005; done
                     s=$(date +%s.%N); "$2" env prod > "$3/out" 2> "$3/err"; rc=$?; e=$(date +%s.%N)
                     echo "$s $e $rc" > "$3/times"' _ "$dir" "$MFACLI" "$home" &
        pids+=($!)
    done
    sleep 1
    touch "$dir/go"
    wait "${pids[@]}" 2>/dev/null || true
    python3 - "$dir" "$jobs" "$devices" "$OUT" "$strict" <<'PY'
import glob, os, statistics, sys, datetime
d, jobs, devices, out, strict = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5] == "1"
rows = []
for m in sorted(glob.glob(os.path.join(d, "m*"))):
    s, e, rc = open(os.path.join(m, "times")).read().split()
    err = open(os.path.join(m, "err")).read()
    rows.append((float(s), float(e), int(rc), err.count("rejected the TOTP code")))
start = min(r[0] for r in rows)
waits = sorted(r[1] - start for r in rows)
wall = max(r[1] for r in rows) - start
failed = sum(1 for r in rows if r[2] != 0)
rejected = sum(r[3] for r in rows)
q = lambda p: waits[min(len(waits) - 1, int(p * len(waits)))]
line = (f"| {jobs} | {devices} | {jobs - failed}/{jobs} | {wall:.1f} s | {rejected} | "
        f"{waits[0]:.1f} / {statistics.median(waits):.1f} / {q(0.9):.1f} / {waits[-1]:.1f} s |")
print(line)
with open(out, "a") as f:
    f.write(line + "\n")
hist = {}
for w in waits:
    hist[int(w // 30) * 30] = hist.get(int(w // 30) * 30, 0) + 1
dist = ", ".join(f"{k}-{k+30}s: {v}" for k, v in sorted(hist.items()))
print("   jobs finished per 30 s:", dist)
with open(out + ".log", "a") as f:
    f.write(f"{jobs} jobs / {devices} devices: finished per 30 s: {dist}; waits: {' '.join(f'{w:.1f}' for w in waits)}\n")
if strict and (failed or wall > 150):
    sys.exit(f"{failed} job(s) failed; wall time {wall:.1f} s (goal: all within 150 s)")
PY
}

if [ ! -s "$OUT" ]; then
    cat > "$OUT" <<'MD'
# CI at scale: separate machines, one IAM user, D TOTP devices

Produced by `bash bench/ci_scale.sh` (debug build, sts-emulator on 127.0.0.1,
all jobs released at the same instant; each job has its own HOME, config and
cache). Wait = from the common start to the job's exit; min / median / p90 / max.

| jobs | devices | succeeded | wall time | rejected codes | wait min / median / p90 / max |
|---:|---:|---:|---:|---:|---|
MD
fi
echo "| run of $(date -u +%FT%TZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg) | | | | | |" | tee -a "$OUT" >&2
for r in "${runs[@]}"; do
    run_one "${r%%:*}" "${r##*:}"
done
