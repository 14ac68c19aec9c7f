//! Secret files attacked by another local user (issue 25, item 11): file
//! modes, cache trust and locks. The attacker is uid 65534 (`setpriv`, as
//! in `server_attacks`); the victim is the test's own user (root in CI,
//! where chown lets a test plant what a misconfiguration would leave).
//! Every planted input passes every check but the one under test, and the
//! expected sets are spelled out here, not taken from the implementation.

use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use crate::util::*;

/// `sh -c SCRIPT attacker ARGS…` as the attacker ([`as_attacker`]).
fn attacker_sh(script: &str, args: &[String]) -> Option<Command> {
    let mut c = as_attacker("sh")?;
    c.args(["-c", script, "attacker"]).args(args);
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
    let out = attacker_sh(TRY_EACH, &args)?.run_bounded().unwrap();
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

/// The attacker's access key id, in entries shaped exactly like mfacli's.
const PLANTED_KEY: &str = "ASIAATTACKER00000001";

/// Whether the tests run as root: planting a file as another user (and
/// becoming one) needs it; otherwise a skip.
fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        skip("the tests do not run as root", "CI runs them as root");
    }
    root
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown(p: &Path, uid: u32) {
    std::os::unix::fs::lchown(p, Some(uid), Some(uid)).unwrap();
}

/// A victim whose first `credential-process prod` cached an MFA session
/// and role credentials (1 GetSessionToken, 1 AssumeRole), and what the
/// attacker would plant: the role entry's name, and its text with the
/// attacker's key id in place of the real one (shape, version, target,
/// expiry: all as mfacli wrote them).
struct Victim {
    h: Home,
    role_file: String,
    planted: String,
    first_key: String,
}

impl Victim {
    fn new() -> Self {
        let h = Home::new();
        let out = h
            .mfacli()
            .args(["credential-process", "prod"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let first_key = json(&stdout(&out))["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_owned();
        let role_file = std::fs::read_dir(h.cache_dir())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().into_string().unwrap())
            .find(|n| generic(n) == "role-prod-*.json")
            .unwrap();
        let text = std::fs::read_to_string(h.cache_dir().join(&role_file)).unwrap();
        assert!(text.contains(&first_key), "{text}");
        let planted = text.replace(&first_key, PLANTED_KEY);
        assert_eq!(h.counts(), (1, 1));
        Victim {
            h,
            role_file,
            planted,
            first_key,
        }
    }

    /// Writes the attacker's entry at `path`, mode 0600, owned by the
    /// victim: it passes every check on the file itself.
    fn plant(&self, path: &Path) {
        let _ = std::fs::remove_file(path);
        std::fs::write(path, &self.planted).unwrap();
        chmod(path, 0o600);
    }

    /// The victim's `credential-process prod` (with `-v`, and a typed code
    /// for a cache it cannot use: the seed's code could not be recorded
    /// there; the seed's run used the step before): the key id it printed, checked to be a fresh one from STS
    /// and not the attacker's, and its stderr.
    fn run(&self, cache_dir: Option<&Path>) -> String {
        let mut c = self.h.mfacli();
        c.args(["-v", "credential-process", "prod"]);
        if let Some(dir) = cache_dir {
            c.env("MFACLI_CACHE_DIR", dir)
                .env_remove("MFACLI_TOTP_SECRET")
                .args(["--token-code", &self.h.code(1)]);
        }
        let out = c.output().unwrap();
        let err = stderr(&out);
        assert!(out.status.success(), "{err}");
        let key = json(&stdout(&out))["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(!stdout(&out).contains("ATTACKER"), "{}", stdout(&out));
        assert!(key.starts_with("ASIA") && key != self.first_key, "{key}");
        assert!(!err.contains("cache hit: credentials"), "{err}");
        err
    }
}

/// Cache trust, check 1: a cache directory another user owns is not read,
/// though it is not writable by others and the entry in it is the victim's
/// own, 0600 and perfectly shaped (the directory's owner can rename any of
/// the victim's files into place). Nothing is written into it either.
#[test]
fn a_cache_dir_another_user_owns_is_never_read() {
    if !root() {
        return;
    }
    let v = Victim::new();
    let theirs = tempfile::tempdir().unwrap();
    let dir = theirs.path().join("cache");
    std::fs::create_dir(&dir).unwrap();
    chmod(&dir, 0o755);
    v.plant(&dir.join(&v.role_file));
    chown(&dir, ATTACKER);
    let err = v.run(Some(&dir));
    assert!(
        err.contains(&format!(
            "not reading the cache in {}: it is owned by uid {ATTACKER}, not by you (uid 0)",
            dir.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "the cache directory {} is a shared directory (owner uid {ATTACKER}, mode 0755)",
            dir.display()
        )),
        "{err}"
    );
    // A new MFA session (the typed code) and new role credentials.
    assert_eq!(v.h.counts(), (2, 2));
    assert_eq!(listing(&dir), ["file 0600 role-prod-*.json"]);
    assert_eq!(
        std::fs::read_to_string(dir.join(&v.role_file)).unwrap(),
        v.planted
    );
}

/// Cache trust, check 2: the victim's own cache directory, made writable
/// by others (0777) or by the attacker's group (0770), is not read: the
/// attacker drops an entry into it (chowned to the victim here, as a
/// rename of one of the victim's own files would leave it: 0600, the
/// victim's, perfectly shaped).
#[test]
fn a_cache_dir_others_can_write_is_never_read() {
    if !root() {
        return;
    }
    for (mode, group) in [(0o777, 0), (0o770, ATTACKER)] {
        let v = Victim::new();
        chmod(v.h.path(), 0o755);
        chmod(&v.h.path().join(".cache"), 0o755);
        let dir = v.h.cache_dir();
        let entry = dir.join(&v.role_file);
        std::os::unix::fs::chown(&dir, None, Some(group)).unwrap();
        chmod(&dir, mode);
        std::fs::remove_file(&entry).unwrap();
        let mut drop = attacker_sh(
            "cat > \"$1\" && chmod 600 \"$1\"",
            &[entry.display().to_string()],
        )
        .unwrap();
        let mut child = drop.stdin(std::process::Stdio::piped()).spawn().unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), v.planted.as_bytes()).unwrap();
        assert!(wait_bounded(&mut child, "the attacker's drop")
            .unwrap()
            .success());
        assert_eq!(std::fs::metadata(&entry).unwrap().uid(), ATTACKER);
        chown(&entry, 0);
        let before = listing(&dir);
        let err = v.run(Some(&dir));
        assert!(
            err.contains(&format!(
                "not reading the cache in {}: it has mode {mode:04o}, so other users can put files in it",
                dir.display()
            )),
            "{err}"
        );
        assert_eq!(v.h.counts(), (2, 2));
        assert_eq!(
            std::fs::read_to_string(&entry).unwrap(),
            v.planted,
            "the victim wrote into a directory others can write"
        );
        assert_eq!(listing(&dir), before);
    }
}

/// Cache trust, check 3: an entry owned by another user in the victim's
/// own 0700 cache directory (root planted it: nobody else could) is not
/// read, though it is 0600 and perfectly shaped. The session entry beside
/// it is the victim's and still used.
#[test]
fn an_entry_another_user_owns_is_never_read() {
    if !root() {
        return;
    }
    let v = Victim::new();
    let entry = v.h.cache_dir().join(&v.role_file);
    v.plant(&entry);
    chown(&entry, ATTACKER);
    let err = v.run(None);
    assert!(
        err.contains(&format!(
            "ignoring cache file {}: owned by uid {ATTACKER} with mode 0600, not written by mfacli for uid 0 (0600)",
            entry.display()
        )),
        "{err}"
    );
    assert_eq!(v.h.counts(), (1, 2));
}

/// Cache trust, check 4: an entry of the victim's own, in its own 0700
/// directory, but readable by others (0644) or the group (0640), was not
/// written by mfacli and is not read.
#[test]
fn an_entry_others_can_read_is_never_read() {
    let v = Victim::new();
    let entry = v.h.cache_dir().join(&v.role_file);
    let me = std::fs::metadata(v.h.cache_dir()).unwrap().uid();
    for (mode, roles) in [(0o644, 2), (0o640, 3)] {
        v.plant(&entry);
        chmod(&entry, mode);
        let err = v.run(None);
        assert!(
            err.contains(&format!(
                "ignoring cache file {}: owned by uid {me} with mode {mode:04o}, not written by mfacli",
                entry.display()
            )),
            "{err}"
        );
        assert_eq!(v.h.counts(), (1, roles));
    }
}

/// Cache trust, check 5: a symlink at the entry's path is not followed,
/// though its target is the victim's own 0600 file with a perfectly shaped
/// entry; the target is left as it was.
#[test]
fn a_symlink_at_an_entry_is_never_followed() {
    let v = Victim::new();
    let entry = v.h.cache_dir().join(&v.role_file);
    let target = v.h.path().join("elsewhere.json");
    v.plant(&target);
    std::fs::remove_file(&entry).unwrap();
    std::os::unix::fs::symlink(&target, &entry).unwrap();
    let err = v.run(None);
    assert!(
        err.contains(&format!(
            "ignoring cache file {}: it is a symbolic link",
            entry.display()
        )),
        "{err}"
    );
    assert_eq!(v.h.counts(), (1, 2));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), v.planted);
    assert!(!std::fs::symlink_metadata(&entry).unwrap().is_symlink());
}

fn mkfifo(p: &Path) {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// The name of the victim's cache file whose [`generic`] form is `pattern`.
fn cache_name(h: &Home, pattern: &str) -> String {
    let names: Vec<String> = std::fs::read_dir(h.cache_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .filter(|n| generic(n) == pattern)
        .collect();
    assert_eq!(names.len(), 1, "{pattern}: {names:?}");
    names[0].clone()
}

/// Locks, check 1: what sits at a lock's path in the victim's own 0700
/// cache directory and is not the victim's regular file (a symlink to a
/// file to clobber or to create, a FIFO nobody reads, a file another user
/// owns and holds the lock on) is refused with a warning naming it: the
/// victim neither waits nor creates, truncates or locks anything through
/// it, and gets its credentials from STS.
#[test]
fn a_lock_that_is_not_the_victims_own_file_is_refused() {
    let v = Victim::new();
    let h = &v.h;
    let lock = h.cache_dir().join(cache_name(h, "role-prod-*.lock"));
    let entry = h.cache_dir().join(&v.role_file);
    let precious = h.path().join("precious");
    std::fs::write(&precious, "the victim's file\n").unwrap();
    let created = h.path().join("created-through-the-lock");
    let mut roles = 1;
    let mut run = |what: &str, warning: &str| {
        std::fs::remove_file(&entry).unwrap();
        let start = std::time::Instant::now();
        let out = h
            .mfacli()
            .args(["credential-process", "prod", "--lock-timeout", "20s"])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert!(out.status.success(), "{what}: {err}");
        assert!(
            err.contains(&format!("ignoring lock file {}: {warning}", lock.display())),
            "{what}: {err}"
        );
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "{what}: waited {:?}",
            start.elapsed()
        );
        roles += 1;
        assert_eq!(h.counts(), (1, roles), "{what}");
    };
    for target in [&precious, &created] {
        std::fs::remove_file(&lock).unwrap();
        std::os::unix::fs::symlink(target, &lock).unwrap();
        run("a symlink", "it is a symbolic link");
    }
    std::fs::remove_file(&lock).unwrap();
    mkfifo(&lock);
    run("a FIFO nobody reads", "it is a FIFO (named pipe)");
    // With a reader the open succeeds: the descriptor's type refuses it.
    let reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&lock)
        .unwrap();
    run("a FIFO being read", "it is a FIFO (named pipe)");
    drop(reader);
    // Another user's file, locked (the attacker needs only a descriptor
    // opened before the directory became private: the test holds one).
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        std::fs::remove_file(&lock).unwrap();
        std::fs::write(&lock, "").unwrap();
        chmod(&lock, 0o600);
        chown(&lock, ATTACKER);
        let held = std::fs::File::open(&lock).unwrap();
        // SAFETY: flock on a descriptor this test owns.
        let locked = unsafe {
            libc::flock(
                std::os::fd::AsRawFd::as_raw_fd(&held),
                libc::LOCK_EX | libc::LOCK_NB,
            )
        };
        assert_eq!(locked, 0);
        run(
            "another user's file, locked",
            &format!("it is owned by uid {ATTACKER}, not by you (uid 0)"),
        );
        drop(held);
    } else {
        skip("the tests do not run as root", "CI runs them as root");
    }
    assert_eq!(
        std::fs::read_to_string(&precious).unwrap(),
        "the victim's file\n"
    );
    assert!(!created.exists(), "a file was created through the lock");
}

/// Locks, check 2: uid 65534 holds the lock on the victim's own lock file
/// (readable, 0644: flock needs only a read descriptor) in a cache
/// directory the attacker owns. The victim refuses the directory up front,
/// clearly, and does not wait: its credentials come from STS at once and
/// nothing of it is written there.
#[test]
fn a_lock_held_by_another_user_in_their_directory_never_makes_the_victim_wait() {
    if !root() || !have("flock") {
        return;
    }
    let v = Victim::new();
    let theirs = tempfile::tempdir().unwrap();
    chmod(theirs.path(), 0o755);
    let dir = theirs.path().join("cache");
    std::fs::create_dir(&dir).unwrap();
    chmod(&dir, 0o755);
    let lock = dir.join(cache_name(&v.h, "role-prod-*.lock"));
    std::fs::write(&lock, "").unwrap();
    chmod(&lock, 0o644);
    chown(&dir, ATTACKER);
    let mut holder = attacker_sh(
        "exec 3<\"$1\" && flock -x 3 && echo held && exec sleep 600",
        &[lock.display().to_string()],
    )
    .unwrap()
    .stdout(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line, "held\n");
    let before = listing(&dir);
    let start = std::time::Instant::now();
    let out =
        v.h.mfacli()
            .args(["credential-process", "prod", "--lock-timeout", "30s"])
            .env("MFACLI_CACHE_DIR", &dir)
            .env_remove("MFACLI_TOTP_SECRET")
            .args(["--token-code", &v.h.code(1)])
            .output()
            .unwrap();
    let waited = start.elapsed();
    holder.kill().unwrap();
    holder.wait().unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        waited < std::time::Duration::from_secs(10),
        "waited {waited:?}"
    );
    assert!(
        err.contains(&format!(
            "not reading the cache in {}: it is owned by uid {ATTACKER}, not by you (uid 0)",
            dir.display()
        )),
        "{err}"
    );
    assert!(!err.contains("waiting for another mfacli"), "{err}");
    assert!(!stdout(&out).contains("ATTACKER"));
    assert_eq!(v.h.counts(), (2, 2));
    assert_eq!(listing(&dir), before);
    assert_eq!(before, ["file 0644 role-prod-*.lock"]);
}

/// Locks, check 3: `clear --all` removes the victim's own idle lock files
/// and nothing else: not another user's (planted by root in the victim's
/// 0700 directory), not a symlink (nor its target); and in a directory
/// another user owns, nothing at all, the victim's own files included.
#[test]
fn clear_removes_only_the_victims_own_idle_locks() {
    let v = Victim::new();
    let h = &v.h;
    let cache = h.cache_dir();
    let precious = h.path().join("precious");
    std::fs::write(&precious, "the victim's file\n").unwrap();
    std::os::unix::fs::symlink(&precious, cache.join("session-linked.lock")).unwrap();
    let is_root = root();
    if is_root {
        let theirs = cache.join("role-planted.lock");
        std::fs::write(&theirs, "").unwrap();
        chmod(&theirs, 0o600);
        chown(&theirs, ATTACKER);
    }
    let out = h.mfacli().args(["clear", "--all"]).output().unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    // The session and role entries, and their two lock files.
    assert!(
        err.contains("removed 2 cached credential files and 2 lock files"),
        "{err}"
    );
    let mut left = vec![
        "file 0600 totp-*.json",
        "file 0600 totp-*.lock",
        "link 0777 session-linked.lock",
    ];
    if is_root {
        left.push("file 0600 role-planted.lock");
    }
    left.sort();
    assert_eq!(listing(&cache), left);
    assert_eq!(
        std::fs::read_to_string(&precious).unwrap(),
        "the victim's file\n"
    );

    // The same cache, now in a directory another user owns.
    if !is_root {
        return;
    }
    let v = Victim::new();
    let theirs = tempfile::tempdir().unwrap();
    let dir = theirs.path().join("cache");
    std::fs::rename(v.h.cache_dir(), &dir).unwrap();
    chmod(&dir, 0o755);
    chown(&dir, ATTACKER);
    let before = listing(&dir);
    let out =
        v.h.mfacli()
            .env("MFACLI_CACHE_DIR", &dir)
            .args(["clear", "--all", "--totp-state"])
            .output()
            .unwrap();
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("removed 0 cached credential files\n"), "{err}");
    assert_eq!(listing(&dir), before);
    assert_eq!(before.len(), 6, "{before:?}");
}

/// Locks, check 4: the credentials file's lock (`credentials.mfacli-lock`
/// beside it) that is a symlink (to a file to clobber, or to one to
/// create) or a FIFO (nobody reading, or being read) stops the write with
/// an error naming it: the credentials file, the link's target and the
/// FIFO are left as they were, and nothing waits.
#[test]
fn a_credentials_lock_that_is_not_a_regular_file_stops_the_write() {
    let h = Home::new();
    let lock = h.path().join(".aws/credentials.mfacli-lock");
    let precious = h.path().join("precious");
    std::fs::write(&precious, "the victim's file\n").unwrap();
    let created = h.path().join("created-through-the-lock");
    let before = std::fs::read_to_string(h.credentials()).unwrap();
    let write = |what: &str, reason: &str| {
        let start = std::time::Instant::now();
        let out = h
            .mfacli()
            .args(["assume", "prod", "--write-profile", "prod-temp"])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{what}: {err}");
        assert!(
            err.contains(&format!(
                "lock file {} {reason}; remove it and try again",
                lock.display()
            )),
            "{what}: {err}"
        );
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "{what}: {:?}",
            start.elapsed()
        );
        assert_eq!(std::fs::read_to_string(h.credentials()).unwrap(), before);
    };
    for target in [&precious, &created] {
        let _ = std::fs::remove_file(&lock);
        std::os::unix::fs::symlink(target, &lock).unwrap();
        write("a symlink", "is a symbolic link");
    }
    std::fs::remove_file(&lock).unwrap();
    mkfifo(&lock);
    write("a FIFO nobody reads", "is not a regular file");
    let reader = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&lock)
        .unwrap();
    write("a FIFO being read", "is not a regular file");
    drop(reader);
    assert_eq!(
        std::fs::read_to_string(&precious).unwrap(),
        "the victim's file\n"
    );
    assert!(!created.exists(), "a file was created through the lock");
    assert!(!h.path().join(".aws/credentials.mfacli-bak").exists());
}
