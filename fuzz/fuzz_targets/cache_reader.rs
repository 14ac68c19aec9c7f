//! `cache::parse_entry` for both cache entry types on arbitrary bytes.
//! A parsed entry is used the way the provider uses it (freshness check) and
//! must survive the write -> read round trip the cache performs.
#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use mfacli::cache::parse_entry;
use mfacli::chain::{RoleEntry, SessionEntry};
use mfacli::secret::TemporaryCredentials;

fn exercise(creds: &TemporaryCredentials) {
    let now = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
    for margin in [0, 300, i64::from(u32::MAX)] {
        let _ = creds.is_fresh(now, margin);
    }
    let _ = creds.seconds_left(now);
    let _ = format!("{creds:?}");
}

fuzz_target!(|data: &[u8]| {
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
});
