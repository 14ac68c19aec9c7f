//! The credentials-file editor (`mfacli::aws_files::editor`) under random
//! input: `upsert_section` (`assume --write-profile`) and
//! `set_keys_in_section` (`rotate`) must keep every other section byte for
//! byte, and the edited section must read back (to both the AWS SDK's and
//! botocore's parser models) as exactly what was written; refusing is
//! always allowed, panicking never. The input layout and the invariants live
//! in `mfacli::aws_files::fuzz_check::check_upsert_invariants`, shared with
//! the regression replay (`tests/integration/fuzz_regressions.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mfacli::aws_files::fuzz_check::check_upsert_invariants(data);
});
