#!/usr/bin/env bash
# Writes packaging/hit-order.txt: the functions a `credential-process` cache
# hit runs, by name as the linker knows them, in the order they first run.
# scripts/build-release.sh asks the linker (rust-lld, x86_64 glibc) to lay
# them out together, so the hit faults in a few pages of code instead of
# pages all over the binary. Run it again after a refactor, a dependency
# or toolchain update: names that no longer exist are skipped by the linker,
# so a stale list costs only the layout. Needs valgrind.
#   bash scripts/hit-order.sh
set -euo pipefail
cd "$(dirname "$0")/.."
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# The release build with its symbols kept (same code, same names), the
# hit's profile with mangled names.
MFACLI_KEEP_SYMBOLS=1 CALLGRIND_MANGLED=1 CALLGRIND_OUT="$WORK/cg.out" bash bench/callgrind.sh >/dev/null
grep -E '^c?fn=\([0-9]+\) ' "$WORK/cg.out" | sed -E 's/^c?fn=\([0-9]+\) //' |
    grep -v '^0x' | awk '!seen[$0]++' >"$WORK/order"
OUT=packaging/hit-order.txt
if [ -f "$OUT" ]; then
    kept=$(grep -cxFf "$WORK/order" "$OUT" || true)
    echo "the old list: $kept of $(wc -l <"$OUT") names still in this build" >&2
fi
mv "$WORK/order" "$OUT"
echo "$OUT: $(wc -l <"$OUT") functions" >&2
# The next scripts/build-release.sh relinks without the symbols.
