#!/usr/bin/env bash
# The binary that ships: the release profile for this machine's target,
# statically linked. On *-linux-gnu that is glibc with +crt-static
# (static-pie): no dynamic loader at start-up, which is most of a cache
# hit's cost (bench/callgrind.sh). --target keeps RUSTFLAGS off build
# scripts and proc macros. Prints the binary's path.
#   bash scripts/build-release.sh [PROFILE]     # default: release
set -euo pipefail
cd "$(dirname "$0")/.."
PROFILE="${1:-release}"
TARGET="${MFACLI_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
case "$TARGET" in
    *-linux-gnu | *-linux-musl) export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" ;;
esac
cargo build --profile "$PROFILE" --locked --quiet --target "$TARGET" --bin mfacli >&2
dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
[ "$PROFILE" = dev ] && PROFILE=debug
echo "$dir/$TARGET/$PROFILE/mfacli"
