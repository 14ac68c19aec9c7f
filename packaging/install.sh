#!/bin/sh
# mfacli installer: downloads the release archive for this machine, checks
# its SHA-256 against the published checksum, and only then installs the
# binary, the man pages and the bash/zsh/fish completions into your HOME.
#
#   curl -fsSL https://github.com/mfacli/mfacli/releases/latest/download/mfacli-installer.sh | sh
#
# Environment (all optional):
#   MFACLI_DOWNLOAD_URL  where the archives are (default: the latest GitHub release)
#   MFACLI_TARGET        the archive's target triple (default: from uname)
#   MFACLI_INSTALL_DIR   where the binary goes (default: ~/.local/bin)
# Nothing needs root, Rust or a compiler. A download that does not match its
# checksum installs nothing.
set -eu

BASE="${MFACLI_DOWNLOAD_URL:-https://github.com/mfacli/mfacli/releases/latest/download}"
BIN_DIR="${MFACLI_INSTALL_DIR:-$HOME/.local/bin}"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
CONFIG="${XDG_CONFIG_HOME:-$HOME/.config}"

say() { printf 'mfacli-installer: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

target() {
    case "$(uname -s)" in
        Linux) os=unknown-linux-musl ;;
        Darwin) os=apple-darwin ;;
        *) die "no mfacli build for $(uname -s) (Linux and macOS only; Windows is not supported in this release)" ;;
    esac
    case "$(uname -m)" in
        x86_64 | amd64) arch=x86_64 ;;
        aarch64 | arm64) arch=aarch64 ;;
        *) die "no mfacli build for $(uname -m) (x86_64 and aarch64 only)" ;;
    esac
    echo "$arch-$os"
}

fetch() { # URL FILE
    if command -v curl >/dev/null 2>&1; then
        curl --proto '=https,http' -fsSL "$1" -o "$2" || die "cannot download $1"
    elif command -v wget >/dev/null 2>&1; then
        wget -q "$1" -O "$2" || die "cannot download $1"
    else
        die "needs curl or wget"
    fi
}

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d' ' -f1
    else
        die "needs sha256sum or shasum to check the download"
    fi
}

TARGET="${MFACLI_TARGET:-$(target)}"
NAME="mfacli-$TARGET"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT INT TERM

say "downloading $BASE/$NAME.tar.gz"
fetch "$BASE/$NAME.tar.gz" "$TMP/$NAME.tar.gz"
fetch "$BASE/$NAME.tar.gz.sha256" "$TMP/$NAME.tar.gz.sha256"
want="$(cut -d' ' -f1 <"$TMP/$NAME.tar.gz.sha256")"
got="$(sha256 "$TMP/$NAME.tar.gz")"
[ -n "$want" ] && [ "$want" = "$got" ] ||
    die "checksum mismatch for $NAME.tar.gz (expected $want, got $got): nothing installed"
say "checksum ok ($got)"

tar -xzf "$TMP/$NAME.tar.gz" -C "$TMP" || die "cannot unpack $NAME.tar.gz: nothing installed"
SRC="$TMP/$NAME"
[ -x "$SRC/mfacli" ] || die "$NAME.tar.gz has no mfacli binary: nothing installed"

# Each file is copied next to its place, then renamed over it.
put() { # SRC DEST MODE
    mkdir -p "$(dirname "$2")"
    cp "$1" "$2.tmp.$$"
    chmod "$3" "$2.tmp.$$"
    mv -f "$2.tmp.$$" "$2"
}
put "$SRC/mfacli" "$BIN_DIR/mfacli" 755
for page in "$SRC"/man/man1/*.1; do
    [ -e "$page" ] && put "$page" "$DATA/man/man1/$(basename "$page")" 644
done
put "$SRC/completions/mfacli.bash" "$DATA/bash-completion/completions/mfacli" 644
put "$SRC/completions/_mfacli" "$DATA/zsh/site-functions/_mfacli" 644
put "$SRC/completions/mfacli.fish" "$CONFIG/fish/completions/mfacli.fish" 644

say "installed $("$BIN_DIR/mfacli" --version) to $BIN_DIR/mfacli"
say "man pages in $DATA/man/man1, completions for bash, zsh and fish"
case ":$PATH:" in
    *":$BIN_DIR:"*) ;;
    *) say "add $BIN_DIR to PATH, e.g. in ~/.profile: export PATH=\"$BIN_DIR:\$PATH\"" ;;
esac
say "zsh: in ~/.zshrc, before compinit: fpath=($DATA/zsh/site-functions \$fpath)"
