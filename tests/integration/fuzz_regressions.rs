//! Replays the fuzzing inputs kept in the repository: the seeds in
//! `fuzz/seeds/<target>/` and every crashing input saved in
//! `fuzz/regressions/<target>/`. Each file goes to the same library function
//! its cargo-fuzz target (`fuzz/fuzz_targets/<target>.rs`) calls, with the
//! same invariants, so a fixed crash stays fixed under a plain `cargo test`.

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use mfacli::aws_files::AwsFiles;
use mfacli::cache::parse_entry;
use mfacli::chain::{RoleEntry, SessionEntry};
use mfacli::config::Config;
use mfacli::mfa::totp::Seed;
use mfacli::types::{
    AccountId, ExternalId, MfaSerial, Partition, RoleArn, SessionDuration, SessionName, TargetName,
    TokenCode,
};

const TARGETS: &[&str] = &[
    "config_parser",
    "cache_reader",
    "parsers",
    "aws_files",
    "sts_response",
    "credentials_editor",
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Files in `fuzz/seeds/<target>/` and `fuzz/regressions/<target>/`.
fn inputs(target: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for kind in ["seeds", "regressions"] {
        let Ok(rd) = fs::read_dir(fuzz_dir().join(kind).join(target)) else {
            continue;
        };
        for entry in rd {
            let path = entry.expect("readable directory entry").path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Feeds every input of `target` to `check`; fails naming every input that
/// panicked (not only the first).
fn replay(target: &str, check: impl Fn(&[u8])) {
    let files = inputs(target);
    let mut failed = Vec::new();
    for path in &files {
        let data = fs::read(path).expect("readable fuzz input");
        if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {} inputs panicked (messages above):\n  {}",
        failed.len(),
        files.len(),
        failed.join("\n  ")
    );
}

#[test]
fn every_input_directory_has_a_target() {
    for kind in ["seeds", "regressions"] {
        let Ok(rd) = fs::read_dir(fuzz_dir().join(kind)) else {
            continue;
        };
        for entry in rd {
            let entry = entry.expect("readable directory entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() {
                assert!(
                    TARGETS.contains(&name.as_str()),
                    "fuzz/{kind}/{name} matches no target; add it to tests/fuzz_regressions.rs"
                );
            }
        }
    }
    assert!(!inputs("parsers").is_empty(), "the seeds are missing");
}

fn config_parser(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text, Path::new("/fuzz/config.toml")) {
        Err(e) => drop(e.to_string()),
        Ok(c) => {
            if let Some(d) = c.bastion.session_duration {
                assert!(
                    (SessionDuration::SESSION_MIN..=SessionDuration::SESSION_MAX)
                        .contains(&d.secs())
                );
            }
            for t in c.targets.values() {
                assert_eq!(
                    t.role_arn.as_str().parse::<RoleArn>(),
                    Ok(t.role_arn.clone())
                );
                if let Some(d) = t.duration {
                    assert!((SessionDuration::SESSION_MIN..=SessionDuration::ROLE_MAX)
                        .contains(&d.secs()));
                }
            }
        }
    }
}

#[test]
fn config_parser_inputs() {
    replay("config_parser", config_parser);
}

fn cache_reader(data: &[u8]) {
    let now = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
    if let Some(e) = parse_entry::<RoleEntry>(data) {
        let _ = e.credentials.is_fresh(now, 300);
        let bytes = serde_json::to_vec_pretty(&e).unwrap();
        let back = parse_entry::<RoleEntry>(&bytes).expect("a written role entry reads back");
        assert_eq!(back.credentials, e.credentials);
    }
    if let Some(e) = parse_entry::<SessionEntry>(data) {
        let _ = e.credentials.is_fresh(now, 300);
        let bytes = serde_json::to_vec_pretty(&e).unwrap();
        let back = parse_entry::<SessionEntry>(&bytes).expect("a written session entry reads back");
        assert_eq!(back.credentials, e.credentials);
    }
}

#[test]
fn cache_reader_inputs() {
    replay("cache_reader", cache_reader);
    // The seeds are real entries: they must parse, not just not panic.
    let role = fs::read(fuzz_dir().join("seeds/cache_reader/role_entry.json")).unwrap();
    assert!(parse_entry::<RoleEntry>(&role).is_some());
    let session = fs::read(fuzz_dir().join("seeds/cache_reader/session_entry.json")).unwrap();
    assert!(parse_entry::<SessionEntry>(&session).is_some());
}

fn parsers(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(d) = s.parse::<SessionDuration>() {
        assert_eq!(d.to_string().parse::<SessionDuration>(), Ok(d));
        let inside = (SessionDuration::SESSION_MIN..=SessionDuration::ROLE_MAX).contains(&d.secs());
        assert_eq!(
            d.check(SessionDuration::SESSION_MIN, SessionDuration::ROLE_MAX)
                .is_ok(),
            inside
        );
    }
    if let Ok(arn) = s.parse::<RoleArn>() {
        assert_eq!(arn.as_str(), s);
        assert!(s.ends_with(arn.role_name()) && !arn.role_name().is_empty());
    }
    let account: AccountId = "222222222222".parse().unwrap();
    let _ = RoleArn::new(Partition::Aws, &account, s);
    if let Ok(m) = s.parse::<MfaSerial>() {
        assert_eq!(m.as_str(), s);
    }
    if let Ok(a) = s.parse::<AccountId>() {
        assert_eq!(a.as_str(), s);
    }
    if let Ok(n) = s.parse::<SessionName>() {
        assert_eq!(n.as_str(), s);
    }
    if let Ok(x) = s.parse::<ExternalId>() {
        assert_eq!(x.as_str(), s);
    }
    if let Ok(c) = s.parse::<TokenCode>() {
        assert_eq!(c.as_str(), s.trim());
    }
    if let Ok(t) = s.parse::<TargetName>() {
        assert_eq!(t.as_str(), s);
        let _ = t.file_stem();
    }
    let _ = Partition::parse(s);
    match Seed::decode(s, "fuzz") {
        Ok(seed) => {
            for t in [0, 59, 1_800_000_000, u64::MAX] {
                let code = seed.code_at(t);
                assert!(
                    code.as_str().len() == 6 && code.as_str().bytes().all(|b| b.is_ascii_digit())
                );
            }
        }
        Err(e) => assert_eq!(e, Seed::decode("!", "fuzz").unwrap_err()),
    }
}

#[test]
fn parsers_inputs() {
    replay("parsers", parsers);
}

#[test]
fn aws_files_inputs() {
    let dir = tempfile::tempdir().unwrap();
    replay("aws_files", |data| {
        let (credentials, config) = match data.iter().position(|&b| b == 0) {
            Some(i) => (&data[..i], &data[i + 1..]),
            None => (data, &[][..]),
        };
        let c = dir.path().join("credentials");
        let g = dir.path().join("config");
        fs::write(&c, credentials).unwrap();
        fs::write(&g, config).unwrap();
        match AwsFiles::load_from(c, g) {
            Err(e) => drop(e.to_string()),
            Ok(files) => {
                for name in files.profile_names() {
                    let _ = files.long_term_keys(&name).map_err(|e| e.to_string());
                    let _ = files.has_credentials_section(&name);
                }
                let _ = files.long_term_keys("default");
                let _ = files.role_profiles();
            }
        }
    });
}

/// The same check function as `fuzz/fuzz_targets/sts_response.rs`.
#[test]
fn sts_response_inputs() {
    assert!(inputs("sts_response").len() >= 4, "seeds are present");
    replay("sts_response", mfacli::sts_validate::fuzz_check);
}

/// The same check function as `fuzz/fuzz_targets/credentials_editor.rs`.
#[test]
fn credentials_editor_inputs() {
    assert!(inputs("credentials_editor").len() >= 6, "seeds are present");
    replay(
        "credentials_editor",
        mfacli::aws_files::fuzz_check::check_upsert_invariants,
    );
}
