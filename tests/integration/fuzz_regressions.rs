//! Replays the fuzzing inputs kept in the repository: the seeds in
//! `fuzz/seeds/<target>/` and every crashing input saved in
//! `fuzz/regressions/<target>/`. Each file goes to the same library function
//! its cargo-fuzz target (`fuzz/fuzz_targets/<target>.rs`) calls, with the
//! same invariants, so a fixed crash stays fixed under a plain `cargo test`.

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use mfacli::cache::parse_entry;
use mfacli::chain::{RoleEntry, SessionEntry};
use mfacli::fuzz_checks;

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

// Each target's check is the library function its fuzz target calls.

#[test]
fn config_parser_inputs() {
    replay("config_parser", fuzz_checks::config_parser);
}

#[test]
fn cache_reader_inputs() {
    replay("cache_reader", fuzz_checks::cache_reader);
    // The seeds are real entries: they must parse, not just not panic.
    let role = fs::read(fuzz_dir().join("seeds/cache_reader/role_entry.json")).unwrap();
    assert!(parse_entry::<RoleEntry>(&role).is_some());
    let session = fs::read(fuzz_dir().join("seeds/cache_reader/session_entry.json")).unwrap();
    assert!(parse_entry::<SessionEntry>(&session).is_some());
}

#[test]
fn parsers_inputs() {
    replay("parsers", fuzz_checks::parsers);
}

#[test]
fn aws_files_inputs() {
    let dir = tempfile::tempdir().unwrap();
    replay("aws_files", |data| fuzz_checks::aws_files(data, dir.path()));
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
