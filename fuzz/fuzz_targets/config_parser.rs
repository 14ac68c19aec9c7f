//! `Config::parse` on arbitrary UTF-8: errors are fine, panics are not.
//! On success the validated values must satisfy the limits `parse` claims
//! to enforce.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mfacli::fuzz_checks::config_parser(data);
});
