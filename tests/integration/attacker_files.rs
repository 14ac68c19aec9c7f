//! Secret files attacked by another local user (issue 25, item 11): file
//! modes, cache trust and locks. The attacker is uid 65534 (`setpriv`, as
//! in `server_attacks`); the victim is the test's own user (root in CI,
//! where chown lets a test plant what a misconfiguration would leave).
//! Every planted input passes every check but the one under test, and the
//! expected sets are spelled out here, not taken from the implementation.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use crate::util::*;

/// The other local user's uid and gid.
const ATTACKER: u32 = 65534;

/// `sh -c SCRIPT _ ARGS…` as uid/gid 65534 with no supplementary groups,
/// in `/`; None (a skip) without setpriv, or when the tests do not run as
/// root (only root can become another user, and plant files as one).
fn as_attacker(script: &str, args: &[String]) -> Option<Command> {
    if !have("setpriv") {
        return None;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        skip("the tests do not run as root", "CI runs them as root");
        return None;
    }
    let mut c = Command::new("setpriv");
    c.args([
        &format!("--reuid={ATTACKER}"),
        &format!("--regid={ATTACKER}"),
        "--clear-groups",
        "sh",
        "-c",
        script,
        "attacker",
    ])
    .args(args)
    .env_clear()
    .env("PATH", "/usr/bin:/bin")
    .current_dir("/");
    Some(c)
}

/// For each `d:DIR` the attacker lists DIR and creates a file in it, for
/// each `f:FILE` reads FILE and opens it for writing (appending nothing);
/// one line per attempt: `list|create|read|write denied|DONE PATH`.
const TRY_EACH: &str = r#"
for a; do
    p=${a#?:}
    case $a in
    d:*)
        if ls -a "$p" >/dev/null 2>&1; then echo "list DONE $p"; else echo "list denied $p"; fi
        if (: >"$p/.attacker") 2>/dev/null; then echo "create DONE $p"; else echo "create denied $p"; fi ;;
    f:*)
        if cat "$p" >/dev/null 2>&1; then echo "read DONE $p"; else echo "read denied $p"; fi
        if (: >>"$p") 2>/dev/null; then echo "write DONE $p"; else echo "write denied $p"; fi ;;
    esac
done
"#;

/// What the attacker managed at each of `paths` (`d:` or `f:` + path
/// relative to `home`), as [`TRY_EACH`] prints it; None: skipped.
fn attacker_tries(home: &Path, paths: &[&str]) -> Option<Vec<String>> {
    let args: Vec<String> = paths
        .iter()
        .map(|p| format!("{}{}", &p[..2], home.join(&p[2..]).display()))
        .collect();
    let out = as_attacker(TRY_EACH, &args)?.run_bounded().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let prefix = format!("{}/", home.display());
    Some(
        stdout(&out)
            .lines()
            .map(|l| l.replace(&prefix, ""))
            .collect(),
    )
}

/// Every attempt of [`TRY_EACH`] on `paths`, denied.
fn all_denied(paths: &[&str]) -> Vec<String> {
    paths
        .iter()
        .flat_map(|p| {
            let (a, b) = if p.starts_with("d:") {
                ("list", "create")
            } else {
                ("read", "write")
            };
            [
                format!("{a} denied {}", &p[2..]),
                format!("{b} denied {}", &p[2..]),
            ]
        })
        .collect()
}

/// `name` with each `.`/`-`-separated part made only of hex digits (hashes,
/// pids, temp-file nonces) written `*`.
fn generic(name: &str) -> String {
    let mut out = String::new();
    let mut part = String::new();
    let flush = |part: &mut String, out: &mut String| {
        if !part.is_empty() && part.bytes().all(|b| b.is_ascii_hexdigit()) {
            out.push('*');
        } else {
            out.push_str(part);
        }
        part.clear();
    };
    for c in name.chars() {
        if matches!(c, '.' | '-' | '/') {
            flush(&mut part, &mut out);
            out.push(c);
        } else {
            part.push(c);
        }
    }
    flush(&mut part, &mut out);
    out
}

/// Every path under `dir` (not following links): `dir|file|link|other MODE
/// REL`, REL made [`generic`], sorted.
fn listing(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let kind = match m.file_type() {
                t if t.is_dir() => "dir",
                t if t.is_file() => "file",
                t if t.is_symlink() => "link",
                _ => "other",
            };
            let rel = p.strip_prefix(root).unwrap().to_str().unwrap();
            out.push(format!("{kind} {:04o} {}", m.mode() & 0o7777, generic(rel)));
            if m.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The file-creating and mode-setting system calls on paths under `home`
/// in an strace log: `create|mkdir|chmod MODE REL`, REL made [`generic`],
/// sorted, without repeats. Any other way of making a file there (creat,
/// link, symlink, mknod) is listed whole.
fn creations(trace: &str, home: &Path) -> Vec<String> {
    let home = format!("{}/", home.display());
    let mut out: Vec<String> = Vec::new();
    // A failed call (the attacker's attempts among them) made nothing.
    for line in trace
        .lines()
        .filter(|l| l.contains(&home) && !l.contains(") = -1 "))
    {
        // "PID call(args) = result"
        let call = line.split_once(' ').map_or(line, |(_, c)| c.trim_start());
        let Some((name, args)) = call.split_once('(') else {
            continue;
        };
        let args = args.rsplit_once(") = ").map_or(args, |(a, _)| a);
        // The path: the first quoted string, or the fd's path (strace -y).
        let path = args
            .split_once('"')
            .and_then(|(_, r)| r.split_once('"'))
            .map(|(p, _)| p)
            .or_else(|| {
                args.split_once('<')
                    .and_then(|(_, r)| r.split_once('>'))
                    .map(|(p, _)| p)
            })
            .unwrap_or("");
        let Some(rel) = path.strip_prefix(&home) else {
            continue;
        };
        let mode = args.rsplit(", ").next().unwrap_or("");
        let what = match name {
            "openat" | "open" if args.contains("O_CREAT") => "create",
            "openat" | "open" | "rename" | "renameat" | "renameat2" => continue,
            "mkdir" | "mkdirat" => "mkdir",
            "chmod" | "fchmod" | "fchmodat" => "chmod",
            _ => {
                out.push(format!("unexpected: {call}"));
                continue;
            }
        };
        out.push(format!("{what} {mode} {}", generic(rel)));
    }
    out.sort();
    out.dedup();
    out
}

/// Issue 25, item 11 (file modes): a day's work under umask 000 (init, a
/// session, role credentials and a profile written to the credentials
/// file, a key rotation, a virtual MFA device's seed, an `exec --server`
/// child's config) leaves exactly these paths, dirs 0700 and files 0600,
/// each created with that mode from its first instant (strace: no temp
/// file was ever readable by others); and another user can open, list or
/// create nothing of it, HOME and ~/.aws being 0755 as usual.
#[test]
fn everything_mfacli_writes_is_private_under_umask_000() {
    if !have("strace") {
        return;
    }
    let h = crate::self_service::home();
    let traces = tempfile::tempdir().unwrap();
    let trace = traces.path().join("strace.log");
    let private = |p: &Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    };
    private(h.path(), 0o755);
    private(&h.path().join(".aws"), 0o755);
    // A credentials file others can read: mfacli's rewrite is 0600 anyway.
    private(&h.credentials(), 0o644);
    std::fs::remove_dir_all(h.path().join(".config")).unwrap();
    let seed = h.path().join("alice-ci.seed");
    let mut log = String::new();
    let run = |args: &[&str], log: &mut String| {
        let mut c = h.command("strace");
        c.args(["-f", "-qq", "-y", "-s", "4096", "-e", "signal=none", "-o"])
            .arg(&trace)
            .args([
                "-e",
                "trace=creat,open,openat,mkdir,mkdirat,mknod,mknodat,chmod,fchmod,fchmodat,link,linkat,symlink,symlinkat",
                "sh",
                "-c",
                "umask 000; exec \"$0\" \"$@\"",
                env!("CARGO_BIN_EXE_mfacli"),
            ])
            .args(args)
            .env("AWS_ENDPOINT_URL_IAM", h.emu().endpoint_url());
        let o = c.run_bounded().unwrap();
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        log.push_str(&std::fs::read_to_string(&trace).unwrap());
        o
    };
    run(
        &[
            "init",
            "--non-interactive",
            "--bastion-profile",
            "bastion",
            "--mfa-serial",
            SERIAL,
            "--region",
            "eu-west-1",
            "--target",
            "prod=222222222222:PowerUser",
        ],
        &mut log,
    );
    run(
        &["assume", "prod", "--write-profile", "prod-temp"],
        &mut log,
    );
    run(&["rotate", "--yes"], &mut log);
    run(
        &[
            "mfa",
            "add-virtual",
            "alice-ci",
            "--seed-file",
            seed.to_str().unwrap(),
        ],
        &mut log,
    );
    // The child of `exec --server` reports its config's modes and what
    // the attacker gets at it while it exists (it is removed at exit).
    let child = format!(
        "d=$(dirname \"$AWS_CONFIG_FILE\"); stat -c '%F %a %n' \"$d\" \"$AWS_CONFIG_FILE\"; \
         setpriv --reuid={ATTACKER} --regid={ATTACKER} --clear-groups sh -c '{TRY_EACH}' attacker \"d:$d\" \"f:$AWS_CONFIG_FILE\""
    );
    let o = run(
        &["exec", "--server", "prod", "--", "sh", "-c", &child],
        &mut log,
    );
    let prefix = format!("{}/", h.path().display());
    let seen: Vec<String> = stdout(&o)
        .lines()
        .map(|l| generic(&l.replace(&prefix, "")))
        .collect();
    assert_eq!(
        seen,
        [
            "directory 700 .cache/mfacli/exec-*",
            "regular file 600 .cache/mfacli/exec-*/config",
            "list denied .cache/mfacli/exec-*",
            "create denied .cache/mfacli/exec-*",
            "read denied .cache/mfacli/exec-*/config",
            "write denied .cache/mfacli/exec-*/config",
        ]
    );

    // Every file made with its final mode from the first instant: the
    // temp files too, never readable by others before a chmod or rename.
    assert_eq!(
        creations(&log, h.path()),
        [
            "chmod 0600 .aws/.credentials.mfacli-bak.mfacli-tmp.*.*",
            "chmod 0600 .aws/.credentials.mfacli-tmp.*.*",
            "chmod 0600 .config/mfacli/config.toml",
            "chmod 0700 .cache",
            "chmod 0700 .cache/mfacli",
            "chmod 0700 .config",
            "chmod 0700 .config/mfacli",
            "create 0600 .aws/.credentials.mfacli-bak.mfacli-tmp.*.*",
            "create 0600 .aws/.credentials.mfacli-tmp.*.*",
            "create 0600 .aws/credentials.mfacli-lock",
            "create 0600 .cache/mfacli/.role-prod-*.json.*.*.tmp",
            "create 0600 .cache/mfacli/.session-*.json.*.*.tmp",
            "create 0600 .cache/mfacli/.totp-*.json.*.*.tmp",
            "create 0600 .cache/mfacli/exec-*/.config.*.*.tmp",
            "create 0600 .cache/mfacli/role-prod-*.lock",
            "create 0600 .cache/mfacli/rotate-*.lock",
            "create 0600 .cache/mfacli/session-*.lock",
            "create 0600 .cache/mfacli/totp-*.lock",
            "create 0600 .config/mfacli/.config.toml.*.*.tmp",
            "create 0600 alice-ci.seed",
            "mkdir 0700 .cache",
            "mkdir 0700 .cache/mfacli",
            "mkdir 0700 .cache/mfacli/exec-*",
            "mkdir 0700 .config",
            "mkdir 0700 .config/mfacli",
        ]
    );
    // What is left: HOME and ~/.aws are the user's (0755); the rest is
    // mfacli's, the credentials file now 0600 too.
    assert_eq!(
        listing(h.path()),
        [
            "dir 0700 .cache",
            "dir 0700 .cache/mfacli",
            "dir 0700 .config",
            "dir 0700 .config/mfacli",
            "dir 0755 .aws",
            "file 0600 .aws/credentials",
            "file 0600 .aws/credentials.mfacli-bak",
            "file 0600 .aws/credentials.mfacli-lock",
            "file 0600 .cache/mfacli/role-prod-*.json",
            "file 0600 .cache/mfacli/role-prod-*.lock",
            "file 0600 .cache/mfacli/rotate-*.lock",
            "file 0600 .cache/mfacli/session-*.json",
            "file 0600 .cache/mfacli/session-*.lock",
            "file 0600 .cache/mfacli/totp-*.json",
            "file 0600 .cache/mfacli/totp-*.lock",
            "file 0600 .config/mfacli/config.toml",
            "file 0600 alice-ci.seed",
        ]
    );

    // The attacker, at each of them by its real name.
    let name = |prefix: &str| -> String {
        let dir = h.cache_dir();
        let n = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().into_string().unwrap())
            .filter(|n| generic(n) == prefix)
            .collect::<Vec<_>>();
        assert_eq!(n.len(), 1, "{prefix}: {n:?}");
        format!("f:.cache/mfacli/{}", n[0])
    };
    let cached: Vec<String> = [
        "role-prod-*.json",
        "role-prod-*.lock",
        "rotate-*.lock",
        "session-*.json",
        "session-*.lock",
        "totp-*.json",
        "totp-*.lock",
    ]
    .into_iter()
    .map(name)
    .collect();
    let mut targets = vec![
        "d:.cache",
        "d:.cache/mfacli",
        "d:.config",
        "d:.config/mfacli",
        "f:.config/mfacli/config.toml",
        "f:.aws/credentials",
        "f:.aws/credentials.mfacli-bak",
        "f:.aws/credentials.mfacli-lock",
        "f:alice-ci.seed",
    ];
    targets.extend(cached.iter().map(String::as_str));
    let Some(got) = attacker_tries(h.path(), &targets) else {
        return;
    };
    assert_eq!(got, all_denied(&targets));
}
