#!/usr/bin/env bash
# The offline demo: the real mfacli flow end to end against the bundled STS
# emulator, in a throwaway HOME. No AWS account, no network. Leaves nothing
# running and nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."

# A fresh clone compiles for minutes: say so before cargo starts.
echo "demo: building mfacli and the STS emulator (cargo build; the first build takes a few minutes)..." >&2
cargo build --quiet --workspace --bins
echo "demo: built; starting the STS emulator and a throwaway HOME" >&2
BIN="$PWD/target/debug"

DEMO="$(mktemp -d)"
EMU_PID=""
cleanup() {
    [ -n "$EMU_PID" ] && kill "$EMU_PID" 2>/dev/null && wait "$EMU_PID" 2>/dev/null || true
    rm -rf "$DEMO"
}
trap cleanup EXIT

# 1. The STS emulator on a free loopback port, serving the demo world:
#    bastion account 111111111111 with user alice (MFA device + TOTP seed),
#    roles PowerUser in 222222222222 (prod) and 333333333333 (staging).
"$BIN/sts-emulator" >"$DEMO/emu.out" 2>"$DEMO/emu.log" &
EMU_PID=$!
for _ in $(seq 100); do grep -q listening "$DEMO/emu.out" 2>/dev/null && break; sleep 0.05; done
ENDPOINT="$(sed -n 's/.*listening on //p' "$DEMO/emu.out")"

# 2. A throwaway HOME: alice's long-term keys and an mfacli config.
export HOME="$DEMO/home"
mkdir -p "$HOME/.aws" "$HOME/.config/mfacli"
cat >"$HOME/.aws/credentials" <<'INI'
[bastion]
aws_access_key_id = AKIAALICE0EXAMPLE001
aws_secret_access_key = aliceSECRETkey0000000000000000EXAMPLE001
INI
chmod 600 "$HOME/.aws/credentials"
cat >"$HOME/.config/mfacli/config.toml" <<'TOML'
[bastion]
profile = "bastion"
mfa_serial = "arn:aws:iam::111111111111:mfa/alice"
session_duration = "12h"
region = "eu-west-1"

[targets.prod]
role_arn = "arn:aws:iam::222222222222:role/PowerUser"
region = "eu-central-1"

[targets.staging]
account = "333333333333"
role = "PowerUser"
TOML
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION AWS_DEFAULT_REGION
export PATH="$BIN:$PATH"
export AWS_ENDPOINT_URL_STS="$ENDPOINT"
# A CI-style virtual MFA device: mfacli makes the codes from the seed.
export MFACLI_TOTP_SECRET=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP
export MFACLI_NON_INTERACTIVE=1

# Fake secrets are still secrets: shorten them in what we print.
mask() { sed -E 's/([A-Za-z0-9+\/=]{6})[A-Za-z0-9+\/=]{20,}/\1…/g'; }
calls() {
    printf '    [emulator so far: %s GetSessionToken, %s AssumeRole, %s GetCallerIdentity]\n' \
        "$(grep -c 'GetSessionToken' "$DEMO/emu.log" || true)" \
        "$(grep -c 'AssumeRole' "$DEMO/emu.log" || true)" \
        "$(grep -c 'GetCallerIdentity' "$DEMO/emu.log" || true)"
}
run() {
    printf '\n$ %s\n' "$*"
    eval "$@" 2>&1 | mask | sed 's/^/  /'
    calls
}

echo "STS emulator at $ENDPOINT; HOME=$HOME"
run mfacli list
run 'eval "$(mfacli env prod)"; echo "AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID AWS_REGION=$AWS_REGION"'
run mfacli env prod --shell bash
run mfacli exec prod -- sh -c "'echo child sees \$AWS_ACCESS_KEY_ID, AWS_PROFILE=\${AWS_PROFILE-unset}'"
run mfacli exec prod -- mfacli whoami prod
run mfacli whoami prod
run mfacli assume staging
run mfacli credential-process staging
run mfacli -v env staging
run mfacli list
echo
echo "One MFA code (1 GetSessionToken) served both targets; repeated calls came from the cache."
