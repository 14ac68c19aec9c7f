//! `AwsFiles::load_from` on arbitrary AWS credentials + config files. The
//! input is split at its first NUL byte: before it is `credentials`, after
//! it `config` (no NUL: all of it is `credentials`, `config` is empty).
//! The files live in /dev/shm (a RAM disk) under a per-process directory.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mfacli::aws_files::AwsFiles;

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
    let (credentials, config) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let c = dir().join("credentials");
    let g = dir().join("config");
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
});
