//! STS response validation (`mfacli::sts_validate`): the input is split on
//! NUL into AccessKeyId, SecretAccessKey, SessionToken and the Expiration's
//! seconds; whatever passes must be safe to put in shell code, INI files and
//! JSON, and a refusal must never quote a value. The invariants live in
//! `mfacli::sts_validate::fuzz_check`, shared with the regression replay.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mfacli::sts_validate::fuzz_check(data);
});
