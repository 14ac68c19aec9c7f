//! Every value type in `mfacli::types`, plus `totp::Seed::decode`, on the
//! same arbitrary string, with the invariants each type promises asserted
//! (a violated invariant is a crash, like a panic).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mfacli::fuzz_checks::parsers(data);
});
