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
EXTRA=()
case "$TARGET" in
    *-linux-gnu | *-linux-musl) export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" ;;
esac
# Link arguments, given to the binary's crate alone (the dependencies'
# builds are shared with every other static build):
# - glibc: pack the binary's 12 000 relative relocations (DT_RELR; glibc
#   >= 2.36 at build time, nothing at run time for a static binary):
#   start-up's own relocation pass is 40 k instructions shorter;
# - x86_64 (rust-lld): lay out together the functions a credential-process
#   cache hit runs (packaging/hit-order.txt, `bash scripts/hit-order.sh`):
#   the hit touched code in 62 of the text's 80 64-KiB windows, one page
#   fault each. Names the linker does not find (a stale list) are skipped.
case "$TARGET" in
    *-linux-gnu) EXTRA+=(-C link-arg=-Wl,-z,pack-relative-relocs) ;;
esac
if [ "$TARGET" = x86_64-unknown-linux-gnu ] && [ -f packaging/hit-order.txt ]; then
    EXTRA+=(-C "link-arg=-Wl,--symbol-ordering-file=$PWD/packaging/hit-order.txt" -C link-arg=-Wl,--no-warn-symbol-ordering)
fi
# scripts/hit-order.sh profiles the same code with its symbols kept.
[ "${MFACLI_KEEP_SYMBOLS:-}" = 1 ] && EXTRA+=(-C strip=none)
cargo rustc --profile "$PROFILE" --locked --quiet --target "$TARGET" --bin mfacli ${EXTRA[@]+-- "${EXTRA[@]}"} >&2
dir="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
[ "$PROFILE" = dev ] && PROFILE=debug
echo "$dir/$TARGET/$PROFILE/mfacli"
