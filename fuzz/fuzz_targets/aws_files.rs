//! `AwsFiles::load_from` on arbitrary AWS credentials + config files. The
//! input is split at its first NUL byte: before it is `credentials`, after
//! it `config` (no NUL: all of it is `credentials`, `config` is empty).
//! The files live in /dev/shm (a RAM disk) under a per-process directory.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if std::path::Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let d = base.join(format!("mfacli-fuzz-aws-files-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("create the scratch directory");
        d
    })
}

fuzz_target!(|data: &[u8]| {
    mfacli::fuzz_checks::aws_files(data, dir());
});
