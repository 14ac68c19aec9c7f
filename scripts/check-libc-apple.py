#!/usr/bin/env python3
"""Every `libc::` item the workspace uses outside a Linux-only cfg must be
defined for Apple targets by the libc version in Cargo.lock.

No macOS toolchain can run here (`cargo check --target x86_64-apple-darwin`
needs that target's std), so this reads libc's own sources: the modules an
Apple target compiles (src/unix/mod.rs, src/unix/bsd/mod.rs,
src/unix/bsd/apple/, src/new/apple/ and what it re-exports from
src/new/common/, plus the crate's shared type files). It is a grep, not a
compiler: an item defined in a shared file under a cfg that excludes Apple
would pass. The macos-latest job in .github/workflows/ci.yml is the real
build; this catches the common case (a Linux-only call) before a push.

    python3 scripts/check-libc-apple.py [WORKSPACE_DIR]
"""

import json
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)

# Strings, chars and comments blanked (newlines kept) before any matching.
TOKENS = re.compile(
    r'r(#*)"(?:.|\n)*?"\1|b?"(?:\\.|[^"\\])*"|//[^\n]*|/\*(?:.|\n)*?\*/|\'(?:\\.|[^\'\\\n])\''
)
# An attribute that limits the next item to Linux (or Android).
LINUX_ONLY = re.compile(r'#\[cfg\((?:any\()?\s*target_os\s*=\s*"(?:linux|android)"[^\]]*\]')
USE = re.compile(r"\blibc::([A-Za-z_][A-Za-z0-9_]*)")


def blank(text):
    return TOKENS.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def item_end(text, i):
    """End of the item starting at i (after a cfg attribute): its `;`, its
    closing `}` (and a `;` right after it) or a `,` at depth 0."""
    # Further attributes on the same item.
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if text.startswith("#[", i):
            depth = 0
            while i < len(text):
                depth += text[i] == "["
                depth -= text[i] == "]"
                i += 1
                if depth == 0:
                    break
            continue
        break
    depth = 0
    while i < len(text):
        c = text[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth < 0:  # the enclosing block ends
                return i
            if depth == 0 and c == "}":
                j = i + 1
                while j < len(text) and text[j] in " \t":
                    j += 1
                return j + 1 if j < len(text) and text[j] in ";," else i + 1
        elif c in ";," and depth == 0:
            return i + 1
        i += 1
    return i


def used_items():
    """{item: [file:line, ...]} for every libc:: use outside a Linux-only cfg."""
    found = {}
    dirs = [ROOT / "src", ROOT / "tests"] + sorted((ROOT / "crates").glob("*/src")) + sorted((ROOT / "crates").glob("*/tests"))
    for d in dirs:
        for path in sorted(d.rglob("*.rs")):
            raw = path.read_text()
            text = blank(raw)  # same length: positions in raw hold in text
            for m in LINUX_ONLY.finditer(raw):
                end = item_end(text, m.end())
                text = text[: m.start()] + re.sub(r"[^\n]", " ", text[m.start() : end]) + text[end:]
            for m in USE.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                found.setdefault(m.group(1), []).append(f"{path.relative_to(ROOT)}:{line}")
    return found


def libc_dir():
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked", "--manifest-path", str(ROOT / "Cargo.toml")],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    dirs = [pathlib.Path(p["manifest_path"]).parent for p in meta["packages"] if p["name"] == "libc"]
    if len(dirs) != 1:
        sys.exit(f"check-libc-apple: expected one libc package in Cargo.lock, found {len(dirs)}")
    return dirs[0]


def apple_definitions(libc):
    src = libc / "src"
    files = [src / f for f in ("lib.rs", "primitives.rs", "types.rs", "macros.rs", "unix/mod.rs", "unix/bsd/mod.rs")]
    files += sorted((src / "unix/bsd/apple").rglob("*.rs"))
    new_apple = sorted((src / "new/apple").rglob("*.rs"))
    names = set()
    define = re.compile(r"\b(?:fn|const|static|type|struct|union|enum)\s+([A-Za-z_][A-Za-z0-9_]*)")
    for path in files + new_apple:
        text = blank(path.read_text())
        names.update(define.findall(text))
        if path in new_apple or path.name == "primitives.rs":
            # `pub use crate::new::common::posix::unistd::{a, b, ...};`
            for m in re.finditer(r"\bpub\s+use\s+([^;]*);", text):
                names.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", m.group(1)))
    return names


def main():
    libc = libc_dir()
    defined = apple_definitions(libc)
    used = used_items()
    missing = {k: v for k, v in sorted(used.items()) if k not in defined}
    print(f"check-libc-apple: {len(used)} libc items used outside Linux-only cfgs, checked against {libc.name} (Apple modules)")
    if missing:
        for name, places in missing.items():
            print(f"  libc::{name} is not defined for Apple targets; used at {', '.join(places)}", file=sys.stderr)
        print(
            "Put the call under #[cfg(target_os = \"linux\")] with a portable path beside it "
            "(see src/server/signals.rs).",
            file=sys.stderr,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
