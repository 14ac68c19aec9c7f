#!/usr/bin/env bash
# For this repository's own CI (the book's GitHub Actions recipe, docs/src/ci.md,, run in
# .github/workflows/ci.yml): builds mfacli and sts-emulator, puts mfacli on
# PATH, starts the emulator in the background with bench/ci_world.toml (alice
# with 8 TOTP devices), and hands the job what a real setup takes from
# repository secrets: the STS endpoint, the bastion keys and the seeds.
# These are the emulator's public demo values, not secrets.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --bin mfacli
cargo build --locked -p sts-emulator --bin sts-emulator
echo "$PWD/target/debug" >> "$GITHUB_PATH"
log=$(mktemp)
nohup target/debug/sts-emulator --world bench/ci_world.toml > "$log" 2>/dev/null &
for _ in $(seq 200); do grep -q listening "$log" && break; sleep 0.05; done
url=$(sed -n 's/.*listening on //p' "$log")
[ -n "$url" ] || { echo "sts-emulator did not start" >&2; exit 1; }
{
    echo "AWS_ENDPOINT_URL_STS=$url"
    echo "BASTION_KEY_ID=AKIAALICE0EXAMPLE001"
    echo "BASTION_SECRET=aliceSECRETkey0000000000000000EXAMPLE001"
    echo "MFA_SEED_1=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    echo "MFA_SEED_2=NVTGCY3MNEWWIZLNN4WWIZLWNFRWKLJS"
} >> "$GITHUB_ENV"
echo "sts-emulator at $url"
