//! The invariants each fuzz target asserts, one function per target in
//! `fuzz/fuzz_targets/`, shared with the regression replay
//! (`tests/integration/fuzz_regressions.rs`) so both check exactly the same
//! thing (as [`crate::sts_validate::fuzz_check`] does for `sts_response`).
//! Each panics on a violated invariant. Not part of mfacli's interface.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use chrono::{TimeZone, Utc};

use crate::aws_files::AwsFiles;
use crate::cache::parse_entry;
use crate::chain::{RoleEntry, SessionEntry};
use crate::config::Config;
use crate::mfa::totp::Seed;
use crate::secret::TemporaryCredentials;
use crate::types::{
    AccountId, ExternalId, MfaSerial, Partition, RoleArn, SessionDuration, SessionName, TargetName,
    TokenCode,
};

/// `Config::parse` on arbitrary UTF-8: errors are fine, panics are not. On
/// success the validated values must satisfy the limits `parse` claims.
pub fn config_parser(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("/fuzz/config.toml");
    match Config::parse(text, path) {
        Err(e) => {
            // Formatting the error (line/column, hint) must not panic either.
            let _ = e.to_string();
        }
        Ok(c) => {
            assert_eq!(c.path.as_deref(), Some(path));
            for w in &c.warnings {
                assert!(w.starts_with("/fuzz/config.toml: unknown key"), "{w}");
            }
            if let Some(d) = c.bastion.session_duration {
                assert!(
                    (SessionDuration::SESSION_MIN..=SessionDuration::SESSION_MAX)
                        .contains(&d.secs()),
                    "bastion session_duration {d} escaped its limits"
                );
            }
            for (name, t) in &c.targets {
                assert!(!name.as_str().is_empty());
                let again: RoleArn = t
                    .role_arn
                    .as_str()
                    .parse()
                    .expect("a validated role ARN parses again");
                assert_eq!(again, t.role_arn);
                if let Some(d) = t.duration {
                    assert!(
                        (SessionDuration::SESSION_MIN..=SessionDuration::ROLE_MAX)
                            .contains(&d.secs()),
                        "target {name} duration {d} escaped its limits"
                    );
                }
            }
        }
    }
}

fn exercise(creds: &TemporaryCredentials) {
    let now = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
    for margin in [0, 300, i64::from(u32::MAX)] {
        let _ = creds.is_fresh(now, margin);
    }
    let _ = creds.seconds_left(now);
    let _ = format!("{creds:?}");
}

/// `cache::parse_entry` for both entry types on arbitrary bytes; a parsed
/// entry must survive the write -> read round trip the cache performs.
pub fn cache_reader(data: &[u8]) {
    if let Some(e) = parse_entry::<RoleEntry>(data) {
        exercise(&e.credentials);
        // Cache::write uses to_vec_pretty; what it writes must read back.
        let bytes = serde_json::to_vec_pretty(&e).expect("a parsed entry serialises");
        let back = parse_entry::<RoleEntry>(&bytes);
        if bytes.len() <= 64 * 1024 {
            let back = back.expect("a written role entry reads back");
            assert_eq!(back.credentials, e.credentials);
            assert_eq!(back.key, e.key);
            assert_eq!(back.target, e.target);
            assert_eq!(back.role_arn, e.role_arn);
            assert_eq!(back.assumed_role_arn, e.assumed_role_arn);
            assert_eq!(back.version, e.version);
        }
    }
    if let Some(e) = parse_entry::<SessionEntry>(data) {
        exercise(&e.credentials);
        let bytes = serde_json::to_vec_pretty(&e).expect("a parsed entry serialises");
        let back = parse_entry::<SessionEntry>(&bytes);
        if bytes.len() <= 64 * 1024 {
            let back = back.expect("a written session entry reads back");
            assert_eq!(back.credentials, e.credentials);
            assert_eq!(back.access_key_id, e.access_key_id);
            assert_eq!(back.mfa_serial, e.mfa_serial);
            assert_eq!(back.endpoint, e.endpoint);
            assert_eq!(back.version, e.version);
        }
    }
}

/// `AwsFiles::load_from` on arbitrary credentials + config files: `data` is
/// split at its first NUL (before: credentials, after: config), written
/// into `dir`.
pub fn aws_files(data: &[u8], dir: &Path) {
    let (credentials, config) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let c = dir.join("credentials");
    let g = dir.join("config");
    std::fs::write(&c, credentials).expect("write credentials");
    std::fs::write(&g, config).expect("write config");
    match AwsFiles::load_from(c, g) {
        Err(e) => {
            let _ = e.to_string();
        }
        Ok(files) => {
            let names = files.profile_names();
            for name in names.iter().map(String::as_str).chain(["default", ""]) {
                let _ = files.profile(name);
                match files.long_term_keys(name) {
                    Ok(k) => {
                        assert!(!k.access_key_id.is_empty());
                        assert!(!k.secret_access_key.expose().is_empty());
                    }
                    Err(e) => {
                        let _ = e.to_string();
                    }
                }
                let _ = files.has_credentials_section(name);
            }
            for (name, p) in files.role_profiles() {
                assert!(p.get("role_arn").is_some(), "{name}");
            }
        }
    }
}

fn is_iam_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

fn six_digits(code: &TokenCode) -> bool {
    code.as_str().len() == 6 && code.as_str().bytes().all(|b| b.is_ascii_digit())
}

fn durations(s: &str, data: &[u8]) {
    if let Ok(d) = s.parse::<SessionDuration>() {
        assert!(d.secs() > 0, "{s:?} parsed to a zero duration");
        let shown = d.to_string();
        assert_eq!(
            shown.parse::<SessionDuration>(),
            Ok(d),
            "{s:?} -> {shown:?} does not parse back"
        );
        for (min, max) in [
            (SessionDuration::SESSION_MIN, SessionDuration::SESSION_MAX),
            (SessionDuration::SESSION_MIN, SessionDuration::ROLE_MAX),
            (SessionDuration::SESSION_MIN, SessionDuration::CHAINED_MAX),
            (0, u32::MAX),
            (SessionDuration::ROLE_MAX, SessionDuration::SESSION_MIN),
        ] {
            let inside = (min..=max).contains(&d.secs());
            match d.check(min, max) {
                Ok(same) => assert!(inside && same == d, "{d} accepted by {min}..={max}"),
                Err(e) => assert!(!inside && !e.0.is_empty(), "{d} rejected by {min}..={max}"),
            }
        }
    }
    // Display -> parse for any whole number of seconds, not only parsed ones.
    if let Some(b) = data.get(..4) {
        let secs = u32::from_le_bytes(b.try_into().unwrap());
        if secs > 0 {
            let d = SessionDuration::from_secs(secs);
            let shown = d.to_string();
            assert_eq!(
                shown.parse::<SessionDuration>(),
                Ok(d),
                "{secs} -> {shown:?}"
            );
        }
    }
}

fn role_arns(s: &str) {
    if let Ok(arn) = s.parse::<RoleArn>() {
        assert_eq!(arn.as_str(), s);
        assert_eq!(arn.to_string(), s);
        let name = arn.role_name();
        assert!(!name.is_empty() && name.len() <= 64, "{s:?}: name {name:?}");
        assert!(
            s.ends_with(name) && !name.contains('/'),
            "{s:?}: name {name:?}"
        );
        assert!(name.chars().all(is_iam_name_char), "{s:?}: name {name:?}");
        let account = arn.account();
        assert_eq!(account.as_str().parse::<AccountId>().as_ref(), Ok(account));
        let prefix = format!(
            "arn:{}:iam::{}:role/",
            arn.partition().as_str(),
            account.as_str()
        );
        let path_and_name = s
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{s:?} does not start with {prefix:?}"));
        let rebuilt = RoleArn::new(arn.partition(), account, path_and_name)
            .expect("rebuilding a valid ARN from its parts works");
        assert_eq!(rebuilt, arn);
    }
    // The account + role form used by `[targets.X] account/role`.
    let account: AccountId = "222222222222".parse().unwrap();
    for partition in [Partition::Aws, Partition::AwsCn, Partition::AwsUsGov] {
        if let Ok(arn) = RoleArn::new(partition, &account, s) {
            assert_eq!(arn.partition(), partition);
            assert_eq!(arn.account(), &account);
            assert!(arn.as_str().ends_with(s));
        }
    }
}

fn mfa_serials(s: &str) {
    if let Ok(m) = s.parse::<MfaSerial>() {
        assert_eq!(m.as_str(), s);
        assert_eq!(m.to_string(), s);
        assert_eq!(m.partition().is_some(), m.device_name().is_some());
        if let Some(n) = m.device_name() {
            assert!(!n.is_empty() && s.ends_with(n), "{s:?}: device {n:?}");
            assert!(n.chars().all(is_iam_name_char), "{s:?}: device {n:?}");
        }
    }
}

fn simple_types(s: &str) {
    if let Ok(a) = s.parse::<AccountId>() {
        assert_eq!(a.as_str(), s);
        assert_eq!(a.to_string(), s);
        assert!(s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()));
    }
    if let Ok(n) = s.parse::<SessionName>() {
        assert_eq!(n.as_str(), s);
        assert_eq!(n.to_string(), s);
        assert!((2..=64).contains(&s.chars().count()));
        assert!(s.chars().all(is_iam_name_char));
    }
    if let Ok(x) = s.parse::<ExternalId>() {
        assert_eq!(x.as_str(), s);
        assert!((2..=1224).contains(&s.len()));
    }
    if let Ok(c) = s.parse::<TokenCode>() {
        assert!(six_digits(&c));
        assert_eq!(c.as_str(), s.trim());
        assert_eq!(format!("{c:?}"), "TokenCode(******)");
    }
    if let Ok(t) = s.parse::<TargetName>() {
        assert_eq!(t.as_str(), s);
        assert_eq!(t.to_string(), s);
        let stem = t.file_stem();
        assert_eq!(stem.chars().count(), s.chars().count());
        assert!(stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }
    if let Ok(p) = Partition::parse(s) {
        assert_eq!(p.as_str(), s);
        assert!(p
            .sts_endpoint(p.default_region())
            .starts_with("https://sts."));
    }
}

fn seeds(s: &str) {
    match Seed::decode(s, "fuzz") {
        Ok(seed) => {
            for t in [0, 59, 1_800_000_000, u64::MAX] {
                let code = seed.code_at(t);
                assert!(six_digits(&code), "code at {t} is not 6 digits");
            }
            let dbg = format!("{seed:?}");
            assert_eq!(dbg, "Seed(<redacted> from fuzz)");
        }
        Err(e) => {
            // The message must never echo the (secret) input: it is the
            // same for every bad seed.
            let reference = Seed::decode("!", "fuzz").unwrap_err();
            assert_eq!(e, reference, "the error depends on the seed's text");
        }
    }
}

/// Every value type in `types`, plus `Seed::decode`, on the same string.
pub fn parsers(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    durations(s, data);
    role_arns(s);
    mfa_serials(s);
    simple_types(s);
    seeds(s);
}
