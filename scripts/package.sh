#!/usr/bin/env bash
# This machine's release artifacts, into dist/:
#   mfacli-TARGET.tar.gz          the binary, man pages, completions, LICENSE, README
#   mfacli-TARGET.tar.gz.sha256   its checksum (sha256sum format)
#   mfacli-installer.sh           the `curl | sh` installer (packaging/install.sh)
#   mfacli_VERSION-1_ARCH.deb     on Linux, when cargo-deb is installed (or --deb)
#
#   bash scripts/package.sh            # build (static, scripts/build-release.sh) and package
#   bash scripts/package.sh --no-deb   # no .deb
# The release workflow (.github/workflows/release.yml) runs the same script
# on one native runner per target. The man pages and completions come from
# the built binary itself, so whatever `mfacli man` and `mfacli completions`
# print is what ships.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB=auto
for a in "$@"; do
    case "$a" in
        --no-deb) DEB=no ;;
        --deb) DEB=yes ;;
        *) echo "usage: scripts/package.sh [--deb|--no-deb]" >&2; exit 2 ;;
    esac
done

TARGET="${MFACLI_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
export MFACLI_TARGET="$TARGET"
BIN="$(bash scripts/build-release.sh)"
VERSION="$("$BIN" --version | cut -d' ' -f2)"
NAME="mfacli-$TARGET"
DIST="$PWD/dist"
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$DIST" "$STAGE/$NAME/man/man1" "$STAGE/$NAME/completions"

# The one place that renders the pages: `mfacli man` prints the page.
"$BIN" man --dir "$STAGE/$NAME/man/man1" >/dev/null   # mfacli.1 and a page per command
"$BIN" completions bash >"$STAGE/$NAME/completions/mfacli.bash"
"$BIN" completions zsh >"$STAGE/$NAME/completions/_mfacli"
"$BIN" completions fish >"$STAGE/$NAME/completions/mfacli.fish"
cp "$BIN" "$STAGE/$NAME/mfacli"
cp LICENSE README.md "$STAGE/$NAME/"

# GNU tar (Linux): a reproducible archive (sorted names, fixed owner and
# time); macOS's bsdtar: a plain one.
if tar --version 2>/dev/null | grep -q GNU; then
    MTIME="@$(git log -1 --format=%ct 2>/dev/null || echo 0)"
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="$MTIME" \
        -C "$STAGE" -cf - "$NAME" | gzip -n >"$DIST/$NAME.tar.gz"
else
    tar -C "$STAGE" -cf - "$NAME" | gzip -n >"$DIST/$NAME.tar.gz"
fi
if command -v sha256sum >/dev/null; then
    (cd "$DIST" && sha256sum "$NAME.tar.gz" >"$NAME.tar.gz.sha256")
else
    (cd "$DIST" && shasum -a 256 "$NAME.tar.gz" >"$NAME.tar.gz.sha256")
fi
cp packaging/install.sh "$DIST/mfacli-installer.sh"
echo "dist/$NAME.tar.gz ($(du -k "$DIST/$NAME.tar.gz" | cut -f1) KiB), binary $(wc -c <"$BIN" | tr -d ' ') bytes, version $VERSION"

if [ "$DEB" = auto ]; then
    DEB=no
    case "$TARGET" in *-linux-*) command -v cargo-deb >/dev/null && DEB=yes ;; esac
fi
if [ "$DEB" = yes ]; then
    # [package.metadata.deb] in Cargo.toml takes its assets from here.
    ASSETS="$(dirname "$(dirname "$(dirname "$BIN")")")/package-assets"
    rm -rf "$ASSETS" && mkdir -p "$ASSETS"
    cp -r "$STAGE/$NAME/completions" "$ASSETS/"
    mkdir -p "$ASSETS/man"
    for page in "$STAGE/$NAME"/man/man1/*.1; do
        gzip -9n <"$page" >"$ASSETS/man/$(basename "$page").gz"
    done
    cargo deb --no-build --no-strip --target "$TARGET" --output "$DIST" >/dev/null
    ls "$DIST"/*.deb
fi
