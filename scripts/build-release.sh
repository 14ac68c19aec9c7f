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
LINK=()
case "$TARGET" in
    *-linux-gnu | *-linux-musl) export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" ;;
esac
# glibc: pack the binary's 12 000 relative relocations (DT_RELR; glibc >=
# 2.36 at build time, nothing at run time for a static binary): start-up's
# own relocation pass is 40 k instructions shorter. A link argument, so
# given to the binary's crate alone: the dependencies' builds are shared.
case "$TARGET" in
    *-linux-gnu) LINK=(-- -C link-arg=-Wl,-z,pack-relative-relocs) ;;
esac
cargo rustc --profile "$PROFILE" --locked --quiet --target "$TARGET" --bin mfacli ${LINK[@]+"${LINK[@]}"} >&2
dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
[ "$PROFILE" = dev ] && PROFILE=debug
echo "$dir/$TARGET/$PROFILE/mfacli"
