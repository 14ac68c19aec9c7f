//! `mfacli assume --write-profile` through the real binary: the locked,
//! verifying credentials-file editor (issue 12 items 1–5, issue 18 item 7).
//! Every other byte of the file is kept, a backup is left beside it, and
//! concurrent writers, comment headers, CRLF files, devices and symlinks are
//! all handled.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;

const MARKER: &str = "# managed by mfacli: rewritten by `mfacli assume --write-profile`";

fn creds_path(h: &Home) -> PathBuf {
    h.path().join(".aws/credentials")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn bastion_keys() -> String {
    format!("aws_access_key_id = {ALICE_KEY}\naws_secret_access_key = {ALICE_SECRET}\n")
}

/// `assume prod --write-profile NAME [extra…]`.
fn write_profile(h: &Home, name: &str, extra: &[&str]) -> std::process::Output {
    h.mfacli()
        .args(["assume", "prod", "--write-profile", name])
        .args(extra)
        .output()
        .unwrap()
}

/// The section mfacli writes for `prod` (region eu-central-1), with `eol`,
/// as read back from `text`: checks its shape and returns it.
fn written_section<'a>(text: &'a str, name: &str, eol: &str) -> &'a str {
    let header = format!("[{name}]{eol}{MARKER}{eol}aws_access_key_id = ASIA");
    let start = text
        .find(&header)
        .unwrap_or_else(|| panic!("no [{name}] written by mfacli in:\n{text}"));
    let rest = &text[start..];
    let tail = format!("region = eu-central-1{eol}");
    let end = rest.find(&tail).expect("the section ends with its region") + tail.len();
    let section = &rest[..end];
    let keys: Vec<&str> = section
        .split(eol)
        .skip(2)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(" = ").next().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "aws_access_key_id",
            "aws_secret_access_key",
            "aws_session_token",
            "expiration",
            "region"
        ],
        "{section:?}"
    );
    section
}

// ---- item 1: headers with a comment after them ----

#[test]
fn a_comment_after_the_next_header_keeps_that_profiles_keys() {
    for header in ["[bastion] ; IAM user alice", "[bastion]   # client keys"] {
        let before = format!(
            "[prod-temp]\n{MARKER}\naws_access_key_id = ASIAOLD\n\n{header}\n{}",
            bastion_keys()
        );
        let h = Home::with_credentials(&before);
        let out = write_profile(&h, "prod-temp", &[]);
        assert!(out.status.success(), "{header}: {}", stderr(&out));
        let after = read(&creds_path(&h));
        let section = written_section(&after, "prod-temp", "\n");
        assert_eq!(
            after,
            format!("{section}\n{header}\n{}", bastion_keys()),
            "{header}: the bastion keys must survive"
        );
        // The backup holds the file as it was, private.
        let bak = h.path().join(".aws/credentials.mfacli-bak");
        assert_eq!(read(&bak), before);
        assert_eq!(mode(&bak), 0o600);
        assert_eq!(mode(&creds_path(&h)), 0o600);
    }
}

/// The test venv's `aws` (AWS CLI v1, botocore), as tests/integration/
/// interop.rs finds it; `None` (skip) outside CI when it is missing.
fn aws_cli() -> Option<PathBuf> {
    let dir = std::env::var_os("MFACLI_TEST_VENV")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    let aws = dir.join("bin/aws");
    if aws.is_file() {
        return Some(aws);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the test venv's aws is required in CI (scripts/test.sh sets MFACLI_TEST_VENV)"
    );
    eprintln!("skipped: no aws in the test venv {}", dir.display());
    None
}

/// `aws configure get KEY --profile PROFILE` on this HOME's files.
fn aws_get(h: &Home, aws: &Path, profile: &str, key: &str) -> std::process::Output {
    let mut c = h.command(aws);
    c.args(["configure", "get", key, "--profile", profile]);
    let mut c = assert_cmd::Command::from_std(c);
    c.timeout(Duration::from_secs(60));
    c.output().unwrap()
}

#[test]
fn a_spaced_comment_header_is_not_duplicated_and_the_aws_cli_still_parses() {
    let before = format!(
        "[bastion]\n{}\n[other]   # c\naws_access_key_id = AKIAOTHER\naws_secret_access_key = other\n",
        bastion_keys()
    );
    let h = Home::with_credentials(&before);
    // Not mfacli's section: refused, and the file is untouched.
    let out = write_profile(&h, "other", &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("[other]") && err.contains("--force") && err.contains("credentials"),
        "{err}"
    );
    assert_eq!(read(&creds_path(&h)), before);
    // Another profile is appended; [other] stays one section.
    let out = write_profile(&h, "p1", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let after = read(&creds_path(&h));
    assert!(after.starts_with(&before), "{after}");
    assert_eq!(after.matches("[other]").count(), 1, "{after}");
    written_section(&after, "p1", "\n");

    let Some(aws) = aws_cli() else { return };
    for (profile, want) in [("other", "AKIAOTHER"), ("bastion", ALICE_KEY)] {
        let out = aws_get(&h, &aws, profile, "aws_access_key_id");
        assert!(out.status.success(), "{profile}: {}", stderr(&out));
        assert_eq!(stdout(&out).trim(), want);
    }
    let out = aws_get(&h, &aws, "p1", "aws_access_key_id");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("ASIA"), "{}", stdout(&out));
}

// ---- item 2: concurrent writers ----

#[test]
fn thirty_concurrent_write_profiles_all_survive() {
    let h = Home::new();
    // One STS round first, so the 30 runs are cache hits racing on the file.
    h.mfacli().args(["assume", "prod"]).assert().success();
    let before = read(&creds_path(&h));
    let mut children: Vec<_> = (0..30)
        .map(|i| {
            let mut c = h.std_mfacli();
            c.args(["assume", "prod", "--write-profile", &format!("p{i}")])
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            (i, c.spawn().unwrap())
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    for k in 0..children.len() {
        let i = children[k].0;
        loop {
            if let Some(status) = children[k].1.try_wait().unwrap() {
                let mut err = String::new();
                std::io::Read::read_to_string(children[k].1.stderr.as_mut().unwrap(), &mut err)
                    .unwrap();
                assert!(status.success(), "p{i}: {err}");
                assert!(err.contains(&format!("wrote [p{i}]")), "p{i}: {err}");
                break;
            }
            if Instant::now() > deadline {
                for (_, c) in &mut children {
                    let _ = c.kill();
                    let _ = c.wait();
                }
                panic!("p{i} did not finish within 120 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let after = read(&creds_path(&h));
    assert!(after.starts_with(&before), "the bastion section is kept");
    for i in 0..30 {
        assert_eq!(
            after.matches(&format!("\n[p{i}]\n")).count(),
            1,
            "p{i} lost:\n{after}"
        );
        written_section(&after, &format!("p{i}"), "\n");
    }
    assert_eq!(h.counts(), (1, 1), "the 30 runs were cache hits");
}

// ---- item 3: names are normalised before the bastion guard ----

#[test]
fn a_name_that_normalises_to_the_bastion_is_refused_before_any_sts_call() {
    let h = Home::new();
    let before = read(&creds_path(&h));
    for name in [" bastion", "bastion ", "\tbastion"] {
        let out = write_profile(&h, name, &[]);
        assert_eq!(out.status.code(), Some(1), "{name:?}");
        let err = stderr(&out);
        assert!(
            err.contains("--write-profile bastion: that is the bastion profile"),
            "{name:?}: {err}"
        );
    }
    for name in ["a b", "[x]", "p#1", "DEFAULT", ""] {
        let out = write_profile(&h, name, &[]);
        assert_eq!(out.status.code(), Some(1), "{name:?}");
        assert!(
            stderr(&out).contains("--write-profile: invalid profile name"),
            "{name:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(read(&creds_path(&h)), before);
    assert_eq!(h.counts(), (0, 0), "no code spent on a bad name");
}

// ---- item 4: CRLF files ----

#[test]
fn a_crlf_file_is_kept_byte_for_byte_except_the_edited_section() {
    let prefix = format!(
        "# my keys\r\n[bastion] ; alice\r\naws_access_key_id = {ALICE_KEY}\r\naws_secret_access_key = {ALICE_SECRET}\r\n\r\n"
    );
    let suffix =
        "\r\n; the work account\r\n[work] # client\r\naws_access_key_id = AKIAWORK\r\nk = v";
    let before =
        format!("{prefix}[prod-temp]\r\n{MARKER}\r\naws_access_key_id = ASIAOLD\r\n{suffix}");
    let h = Home::with_credentials(&before);
    let out = write_profile(&h, "prod-temp", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let after = read(&creds_path(&h));
    assert!(after.starts_with(&prefix), "{after:?}");
    assert!(after.ends_with(suffix), "{after:?}");
    let middle = &after[prefix.len()..after.len() - suffix.len()];
    assert_eq!(written_section(middle, "prod-temp", "\r\n"), middle);
    assert!(!middle.replace("\r\n", "").contains('\n'), "{middle:?}");
    assert_eq!(read(&h.path().join(".aws/credentials.mfacli-bak")), before);
}

// ---- item 5: devices and symlinks ----

#[test]
fn dev_null_as_the_credentials_file_is_refused_and_left_a_device() {
    let h = Home::new();
    let config = h.path().join("keys/config");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, format!("[profile bastion]\n{}", bastion_keys())).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = |args: &[&str]| {
        h.mfacli()
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_CONFIG_FILE", &config)
            .args(args)
            .output()
            .unwrap()
    };
    // Read as empty, as the AWS CLI reads it: credentials still work.
    let out = run(&["env", "prod"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&["assume", "prod", "--write-profile", "prod-temp"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("/dev/null is a character device, not a regular file")
            && err.contains("AWS_SHARED_CREDENTIALS_FILE"),
        "{err}"
    );
    assert!(!err.contains("ASIA") && err.lines().count() <= 2, "{err}");
    let meta = std::fs::symlink_metadata("/dev/null").unwrap();
    assert!(meta.file_type().is_char_device(), "/dev/null was replaced");
    assert!(!Path::new("/dev/null.mfacli-bak").exists());
    assert!(!Path::new("/dev/null.mfacli-lock").exists());
}

#[test]
fn a_symlinked_credentials_file_stays_a_link_and_its_target_is_edited() {
    let h = Home::new();
    let before = read(&creds_path(&h));
    let dotfiles = h.path().join("dotfiles");
    std::fs::create_dir(&dotfiles).unwrap();
    let target = dotfiles.join("aws-credentials");
    std::fs::rename(creds_path(&h), &target).unwrap();
    std::os::unix::fs::symlink("../dotfiles/aws-credentials", creds_path(&h)).unwrap();

    let out = write_profile(&h, "prod-temp", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let link = std::fs::symlink_metadata(creds_path(&h)).unwrap();
    assert!(link.file_type().is_symlink(), "the link was replaced");
    assert_eq!(
        std::fs::read_link(creds_path(&h)).unwrap(),
        Path::new("../dotfiles/aws-credentials")
    );
    let after = read(&target);
    assert!(after.starts_with(&before), "{after}");
    written_section(&after, "prod-temp", "\n");
    let bak = dotfiles.join("aws-credentials.mfacli-bak");
    assert_eq!(read(&bak), before);
    assert_eq!(mode(&bak), 0o600);
    assert_eq!(mode(&target), 0o600);
    // A link to a FIFO is refused without hanging, and left as it is.
    let fifo = h.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let link = h.path().join("fifo-link");
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    let out = h
        .mfacli()
        .env("AWS_SHARED_CREDENTIALS_FILE", &link)
        .env("AWS_CONFIG_FILE", h.path().join("none"))
        .args(["assume", "prod", "--write-profile", "prod-temp"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("FIFO"), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
}

// ---- issue 18 item 7: --force replaces exactly the one section ----

#[test]
fn force_replaces_the_users_section_and_nothing_else() {
    let before = format!(
        "[bastion]\n{}\n# my own keys\n[mine] ; hand-made\naws_access_key_id = AKIAMINE\nx = 1\n\n# after\n[z]\nk = v\n",
        bastion_keys()
    );
    let h = Home::with_credentials(&before);
    let out = write_profile(&h, "mine", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert_eq!(read(&creds_path(&h)), before);
    let out = write_profile(&h, "mine", &["--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let after = read(&creds_path(&h));
    let head = format!("[bastion]\n{}\n# my own keys\n", bastion_keys());
    let tail = "\n# after\n[z]\nk = v\n";
    assert!(after.starts_with(&head) && after.ends_with(tail), "{after}");
    let middle = &after[head.len()..after.len() - tail.len()];
    assert_eq!(written_section(middle, "mine", "\n"), middle);
    assert!(!after.contains("AKIAMINE") && !after.contains("x = 1"));
    // Now it carries the marker: a second run needs no --force.
    let out = write_profile(&h, "mine", &[]);
    assert!(out.status.success(), "{}", stderr(&out));
}
