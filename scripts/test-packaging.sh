#!/usr/bin/env bash
# Tests of what scripts/package.sh put in dist/, as a user without Rust
# meets it (run by .ci/run after `bash scripts/package.sh --deb`):
#   1. the .deb installs into a root of its own (own admin dir); from there,
#      with no cargo or rustc on PATH: --version, `man mfacli`, the bash,
#      zsh and fish completions, and the demo flow against the emulator;
#   2. the installer, piped from a loopback HTTP server that serves dist/,
#      installs into an empty HOME with no cargo on PATH;
#   3. the same with one byte of the archive changed: refused, nothing
#      installed;
#   4. the docs and the workflows agree on the toolchain and on
#      `cargo install --locked`.
# Ends with a plain "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT_DIR="$PWD"
TARGET="${MFACLI_TARGET:-$(rustc -vV | sed -n 's/^host: //p')}"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

passed=0
failed=0
check() { # NAME COMMAND...: one test
    local name="$1"
    shift
    if out="$("$@" 2>&1)"; then
        passed=$((passed + 1))
        echo "ok   $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        printf '%s\n' "$out" | sed 's/^/     | /' | tail -30
    fi
}

# PATH for the "no Rust" runs: system directories only (rustup's cargo and
# rustc live in ~/.cargo/bin), and proof that neither is reachable.
CLEAN_PATH=/usr/local/bin:/usr/bin:/bin
no_rust() { ! PATH="$CLEAN_PATH" command -v cargo && ! PATH="$CLEAN_PATH" command -v rustc; }
check "no cargo or rustc on the clean PATH" no_rust

DEB="$(ls dist/mfacli_*.deb)"
ARCHIVE="dist/mfacli-$TARGET.tar.gz"

# The emulator (a test tool, not shipped) for the demo flows.
cargo build --quiet --locked -p sts-emulator --bin sts-emulator
EMU_BIN="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/sts-emulator"
"$EMU_BIN" >"$WORK/emu.out" 2>/dev/null &
PIDS+=($!)
for _ in $(seq 100); do grep -q listening "$WORK/emu.out" 2>/dev/null && break; sleep 0.05; done
ENDPOINT="$(sed -n 's/.*listening on //p' "$WORK/emu.out")"

# The demo world's HOME (scripts/demo.sh): alice's keys, two targets.
demo_home() { # DIR
    mkdir -p "$1/.aws" "$1/.config/mfacli"
    printf '[bastion]\naws_access_key_id = AKIAALICE0EXAMPLE001\naws_secret_access_key = aliceSECRETkey0000000000000000EXAMPLE001\n' >"$1/.aws/credentials"
    chmod 600 "$1/.aws/credentials"
    printf '[bastion]\nprofile = "bastion"\nmfa_serial = "arn:aws:iam::111111111111:mfa/alice"\nregion = "eu-west-1"\n\n[targets.prod]\nrole_arn = "arn:aws:iam::222222222222:role/PowerUser"\n\n[targets.staging]\naccount = "333333333333"\nrole = "PowerUser"\n' >"$1/.config/mfacli/config.toml"
}

# The demo flow with `mfacli` from PATH: env, exec, credential_process
# (fetch, then a cache hit), whoami; one MFA session for both targets.
demo_flow() { # HOME PATH_PREFIX
    demo_home "$1"
    env -i HOME="$1" PATH="$2:$CLEAN_PATH" AWS_ENDPOINT_URL_STS="$ENDPOINT" \
        MFACLI_TOTP_SECRET=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP MFACLI_NON_INTERACTIVE=1 \
        bash -euc '
            [ "$(command -v mfacli)" = "$0/mfacli" ]
            eval "$(mfacli env prod)"
            [ "${AWS_ACCESS_KEY_ID#ASIA}" != "$AWS_ACCESS_KEY_ID" ]
            mfacli exec staging -- sh -c "test -n \"\$AWS_SESSION_TOKEN\""
            first="$(mfacli credential-process prod)"
            [ "$(mfacli credential-process prod)" = "$first" ]
            mfacli whoami prod | grep -q "assumed-role/PowerUser"
            ls "$HOME"/.cache/mfacli/ | grep -c "^session-.*\.json$" | grep -qx 1
        ' "$2"
}

# 1. The .deb, in a root of its own.
DROOT="$WORK/debroot"
mkdir -p "$DROOT/var/lib/dpkg/info" "$DROOT/var/lib/dpkg/updates"
touch "$DROOT/var/lib/dpkg/status"
deb_installs() {
    dpkg --root="$DROOT" --log=/dev/null --force-not-root -i "$DEB" &&
        dpkg --root="$DROOT" -L mfacli | grep -qx /usr/bin/mfacli
}
check ".deb installs into its own root (dpkg --root)" deb_installs
deb_files() {
    local f
    for f in usr/bin/mfacli usr/share/man/man1/mfacli.1.gz usr/share/man/man1/mfacli-env.1.gz \
        usr/share/bash-completion/completions/mfacli \
        usr/share/zsh/vendor-completions/_mfacli \
        usr/share/fish/vendor_completions.d/mfacli.fish; do
        [ -s "$DROOT/$f" ] || { echo "missing: /$f"; return 1; }
    done
    dpkg-deb -f "$DEB" Depends | grep -q . && { echo "Depends: $(dpkg-deb -f "$DEB" Depends)"; return 1; }
    return 0
}
check ".deb: binary, man page, completions in Debian's directories, no Depends" deb_files
version_ok() { # BIN
    local want
    want="mfacli $(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT_DIR/Cargo.toml" | head -1)"
    [ "$(env -i PATH="$CLEAN_PATH" "$1" --version)" = "$want" ]
}
check ".deb: mfacli --version without Rust" version_ok "$DROOT/usr/bin/mfacli"
man_ok() { # MANPATH
    env -i PATH="$CLEAN_PATH" MANPATH="$1" MANPAGER=cat MANWIDTH=80 man mfacli 2>&1 |
        grep -q "credential-process"
}
check ".deb: man mfacli" man_ok "$DROOT/usr/share/man"
bash_completes() { # COMPLETION_FILE BIN_DIR (the registration asks `COMPLETE=bash mfacli` at each Tab)
    env -i PATH="$2:$CLEAN_PATH" bash -c '
        source "$0"
        fn=$(complete -p mfacli | sed -n "s/.* -F \([^ ]*\) mfacli$/\1/p")
        COMP_WORDS=(mfacli credential-p); COMP_CWORD=1; COMP_LINE="mfacli credential-p"; COMP_POINT=${#COMP_LINE}
        "$fn" mfacli credential-p mfacli
        printf "%s\n" "${COMPREPLY[@]}"' "$1" | grep -qx credential-process
}
check ".deb: bash completion" bash_completes "$DROOT/usr/share/bash-completion/completions/mfacli" "$DROOT/usr/bin"
zsh_completes() { # FPATH_DIR
    env -i PATH="$CLEAN_PATH" HOME="$WORK/zsh-home" zsh -fc '
        fpath=($0 $fpath); autoload -U compinit; compinit -u -d "$HOME/.zcompdump"
        (( $+_comps[mfacli] )) && [[ $_comps[mfacli] = _mfacli ]] && whence -w _mfacli' "$1" |
        grep -q "_mfacli: function"
}
mkdir -p "$WORK/zsh-home" "$WORK/fish-home"
check ".deb: zsh completion" zsh_completes "$DROOT/usr/share/zsh/vendor-completions"
fish_completes() { # DIR BIN_DIR (fish loads a completion for a command on PATH)
    env -i PATH="$2:$CLEAN_PATH" HOME="$WORK/fish-home" fish -c "
        set fish_complete_path $1 \$fish_complete_path
        complete -C 'mfacli credential-p'" | grep -q "^credential-process"
}
check ".deb: fish completion" fish_completes "$DROOT/usr/share/fish/vendor_completions.d" "$DROOT/usr/bin"
check ".deb: the demo flow against the emulator, no Rust on PATH" demo_flow "$WORK/deb-home" "$DROOT/usr/bin"

# 2. The installer through `curl | sh` from a loopback server.
serve() { # DIR LOG: sets URL (not in a subshell, so cleanup stops it)
    python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$1" >"$2" 2>&1 &
    PIDS+=($!)
    local port=""
    # http.server prints "Serving HTTP on 127.0.0.1 port N".
    for _ in $(seq 100); do
        port="$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$2")"
        [ -n "$port" ] && break
        sleep 0.05
    done
    URL="http://127.0.0.1:$port"
}
install_from() { # BASE_URL HOME
    mkdir -p "$2"
    env -i HOME="$2" PATH="$CLEAN_PATH" MFACLI_DOWNLOAD_URL="$1" MFACLI_TARGET="$TARGET" \
        sh -c 'curl -fsSL "$MFACLI_DOWNLOAD_URL/mfacli-installer.sh" | sh'
}
serve "$ROOT_DIR/dist" "$WORK/http-dist.log"
BASE="$URL"
installer_installs() {
    local h="$WORK/inst-home" f
    install_from "$BASE" "$h" || return 1
    for f in .local/bin/mfacli .local/share/man/man1/mfacli.1 .local/share/man/man1/mfacli-env.1 \
        .local/share/bash-completion/completions/mfacli \
        .local/share/zsh/site-functions/_mfacli .config/fish/completions/mfacli.fish; do
        [ -s "$h/$f" ] || { echo "missing: ~/$f"; return 1; }
    done
    [ "$(stat -c %a "$h/.local/bin/mfacli")" = 755 ]
}
check "installer: curl | sh from a loopback server into an empty HOME, no cargo" installer_installs
check "installer: mfacli --version" version_ok "$WORK/inst-home/.local/bin/mfacli"
check "installer: man mfacli" man_ok "$WORK/inst-home/.local/share/man"
check "installer: bash completion" bash_completes "$WORK/inst-home/.local/share/bash-completion/completions/mfacli" "$WORK/inst-home/.local/bin"
check "installer: zsh completion" zsh_completes "$WORK/inst-home/.local/share/zsh/site-functions"
check "installer: fish completion" fish_completes "$WORK/inst-home/.config/fish/completions" "$WORK/inst-home/.local/bin"
check "installer: the demo flow against the emulator" demo_flow "$WORK/inst-home" "$WORK/inst-home/.local/bin"

# 3. One byte changed in the archive: refused, nothing installed.
mkdir -p "$WORK/tampered"
cp dist/mfacli-installer.sh "$ARCHIVE.sha256" "$ARCHIVE" "$WORK/tampered/"
T="$WORK/tampered/$(basename "$ARCHIVE")"
python3 - "$T" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x01
open(p, "wb").write(b)
PY
serve "$WORK/tampered" "$WORK/http-tampered.log"
TBASE="$URL"
tampered_refused() {
    local h="$WORK/tamper-home" out
    mkdir -p "$h"
    if out="$(install_from "$TBASE" "$h" 2>&1)"; then
        echo "the installer succeeded: $out"
        return 1
    fi
    grep -q "checksum mismatch" <<<"$out" || { echo "$out"; return 1; }
    [ -z "$(find "$h" -mindepth 1 -print -quit)" ] || { find "$h"; return 1; }
}
check "installer: a tampered archive is refused and nothing is installed" tampered_refused

# 4. One toolchain everywhere, and `cargo install --locked` in the docs.
toolchain_agrees() {
    local want f v
    want="$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)"
    [ -n "$want" ] || { echo "no rust-version in Cargo.toml"; return 1; }
    for f in .github/workflows/ci.yml .github/workflows/release.yml; do
        v="$(sed -n 's/^ *toolchain: "\([0-9.]*\)"/\1/p' "$f" | sort -u)"
        [ "$v" = "$want" ] || { echo "$f builds with '$v', Cargo.toml says $want"; return 1; }
    done
    for f in README.md docs/src/install.md; do
        grep -q "cargo install --locked" "$f" || { echo "$f: no 'cargo install --locked'"; return 1; }
        if grep -n '^ *cargo install' "$f" | grep -v -- '--locked'; then
            echo "$f: a cargo install without --locked (it ignores Cargo.lock)"
            return 1
        fi
        v="$(grep -o 'Rust [0-9][0-9.]*[0-9]' "$f" | sort -u | sed 's/Rust //')"
        [ -z "$v" ] || [ "$v" = "$want" ] || { echo "$f names Rust $v, Cargo.toml says $want"; return 1; }
    done
    grep -q "Rust $want" docs/src/install.md || { echo "docs/src/install.md does not name Rust $want"; return 1; }
}
check "docs and workflows agree on the toolchain and cargo install --locked" toolchain_agrees

# 5. The shipped binary is statically linked (glibc's NSS plugins are not
# loaded): it must still resolve the real STS names through /etc/hosts and
# reach them with TLS on 443 (tests/integration/real_endpoints.rs, run
# with this binary instead of the test build).
static_reaches_sts() {
    file -L "$DROOT/usr/bin/mfacli" | grep -q "static" || { file -L "$DROOT/usr/bin/mfacli"; return 1; }
    local out
    out="$(MFACLI_RELEASE_BIN="$DROOT/usr/bin/mfacli" CI=true cargo test --locked --test integration -- \
        --exact --nocapture real_endpoints::three_regions_in_one_shell_use_one_code \
        real_endpoints::aws_cn_uses_the_amazonaws_com_cn_endpoint 2>&1)" || { echo "$out"; return 1; }
    grep -q "test result: ok. 2 passed" <<<"$out" || { echo "$out"; return 1; }
    ! grep -q "skipped" <<<"$out"
}
# ... and through DNS: a hosts file without the STS names, resolv.conf
# naming a DNS server of this test's own (packaging/test/dns.py), the
# emulator with TLS on 127.0.0.1:443 for sts.eu-west-1.amazonaws.com.
dns_world() {
    local d="$WORK/dns"
    mkdir -p "$d/home"
    (
        cd "$d"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
            -out ca.pem -days 2 -subj "/CN=mfacli test CA"
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key \
            -out leaf.csr -subj "/CN=sts.eu-west-1.amazonaws.com"
        printf 'subjectAltName=DNS:sts.eu-west-1.amazonaws.com\nextendedKeyUsage=serverAuth\n' >ext
        openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 2 -extfile ext
        cat leaf.pem ca.pem >chain.pem
        printf '127.0.0.1 localhost\n' >hosts
        printf 'nameserver 127.53.0.1\n' >resolv.conf
        printf 'hosts: files dns\n' >nsswitch.conf
    ) >/dev/null 2>&1
    demo_home "$d/home"
    "$EMU_BIN" --port 443 --tls-cert "$d/chain.pem" --tls-key "$d/leaf.key" --signing-region host >"$d/emu.out" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do grep -q listening "$d/emu.out" && break; sleep 0.05; done
}
in_dns_world() { # COMMAND...: inside a mount namespace with the files above
    local d="$WORK/dns"
    env -i HOME="$d/home" PATH="$CLEAN_PATH" AWS_CA_BUNDLE="$d/ca.pem" \
        MFACLI_TOTP_SECRET=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP MFACLI_NON_INTERACTIVE=1 \
        unshare -m sh -c 'for f in hosts resolv.conf nsswitch.conf; do mount --bind "$0/$f" "/etc/$f" || exit 1; done; exec "$@"' \
        "$d" "$@"
}
no_name_without_dns() {
    grep -q "listening on https://127.0.0.1:443" "$WORK/dns/emu.out" || { cat "$WORK/dns/emu.out"; return 1; }
    if in_dns_world "$DROOT/usr/bin/mfacli" whoami prod; then
        echo "reached STS with no DNS server: the name came from elsewhere"
        return 1
    fi
}
static_resolves_dns() {
    in_dns_world "$DROOT/usr/bin/mfacli" whoami prod | grep -q "assumed-role/PowerUser" || return 1
    grep -q "query 1 sts.eu-west-1.amazonaws.com" "$WORK/dns/dns.log" || { cat "$WORK/dns/dns.log"; return 1; }
}
case "$TARGET" in
    *-linux-*)
        check "the static binary reaches STS at its real names (hosts file, TLS on 443)" static_reaches_sts
        dns_world
        check "control: with no DNS server the STS name does not resolve" no_name_without_dns
        python3 -u packaging/test/dns.py 127.53.0.1 53 >"$WORK/dns/dns.log" 2>&1 &
        PIDS+=($!)
        for _ in $(seq 100); do grep -q listening "$WORK/dns/dns.log" && break; sleep 0.05; done
        check "the static binary resolves the STS name through DNS (resolv.conf) and reaches it" static_resolves_dns
        ;;
esac

echo "packaging: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
