//! `Config::parse` on arbitrary UTF-8: errors are fine, panics are not.
//! On success the validated values must satisfy the limits `parse` claims
//! to enforce.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mfacli::config::Config;
use mfacli::types::{RoleArn, SessionDuration};

fuzz_target!(|data: &[u8]| {
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
});
