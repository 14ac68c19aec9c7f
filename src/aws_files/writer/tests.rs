use super::*;
use crate::aws_files::editor::{set_keys_in_section, upsert_section, ProfileName};
use std::os::unix::fs::{symlink, FileTypeExt};

const M: &str = "# managed by mfacli";

fn upsert_into(section: &str) -> impl FnOnce(&str) -> Result<String, EditError> + '_ {
    move |text| {
        let name = ProfileName::new(section)?;
        upsert_section(text, &name, &[("aws_access_key_id", "ASIAX")], M, false)
    }
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).map(|m| m.mode() & 0o7777).unwrap_or(0)
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn creates_missing_file_and_directories_privately() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("new/.aws/credentials");
    let out = write_credentials_file(&path, upsert_into("p")).unwrap_or_else(|e| panic!("{e}"));
    assert!(out.created && out.changed && out.backup.is_none());
    assert_eq!(
        read(&path),
        format!("[p]\n{M}\naws_access_key_id = ASIAX\n")
    );
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.path().join("new")), 0o700);
    assert_eq!(mode(&dir.path().join("new/.aws")), 0o700);
    let lock = dir.path().join("new/.aws/credentials.mfacli-lock");
    assert_eq!(mode(&lock), 0o600);
}

#[test]
fn replaces_in_place_with_backup_and_keeps_stricter_mode() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("credentials");
    let old = "[bastion] ; IAM user alice\r\naws_access_key_id = AKIA\r\n";
    fs::write(&path, old).unwrap_or_else(|e| panic!("{e}"));
    fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap_or_else(|e| panic!("{e}"));
    let out = write_credentials_file(&path, upsert_into("p")).unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.created && out.changed);
    let backup = dir.path().join("credentials.mfacli-bak");
    assert_eq!(out.backup.as_deref(), Some(backup.as_path()));
    assert_eq!(read(&backup), old);
    assert_eq!(mode(&backup), 0o600);
    assert!(read(&path).starts_with(old));
    assert_eq!(mode(&path), 0o600, "0644 is narrowed to 0600");

    fs::set_permissions(&path, Permissions::from_mode(0o400)).unwrap_or_else(|e| panic!("{e}"));
    write_credentials_file(&path, upsert_into("q")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(mode(&path), 0o400, "a stricter mode is kept");
    // No temp files are left behind.
    let names: Vec<String> = fs::read_dir(dir.path())
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(names.iter().all(|n| !n.contains("tmp")), "{names:?}");
}

#[test]
fn unchanged_text_is_not_rewritten() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("credentials");
    fs::write(&path, "[a]\n").unwrap_or_else(|e| panic!("{e}"));
    let out = write_credentials_file(&path, |t| Ok(t.to_owned())).unwrap_or_else(|e| panic!("{e}"));
    assert!(!out.changed && out.backup.is_none());
    assert!(!dir.path().join("credentials.mfacli-bak").exists());
}

#[test]
fn refused_edit_leaves_the_file_alone() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("credentials");
    fs::write(&path, "[p]\nmine = 1\n").unwrap_or_else(|e| panic!("{e}"));
    let e = write_credentials_file(&path, upsert_into("p"));
    assert!(
        matches!(e, Err(WriteError::Edit(EditError::NotManaged { .. }))),
        "{e:?}"
    );
    assert_eq!(read(&path), "[p]\nmine = 1\n");
    assert!(!dir.path().join("credentials.mfacli-bak").exists());
}

// ---- issue 12, item 5: devices and symlinks ----

#[test]
fn dev_null_is_refused_and_left_a_device() {
    let e = write_credentials_file(Path::new("/dev/null"), upsert_into("p"));
    let Err(err) = e else {
        panic!("/dev/null was written");
    };
    assert!(matches!(err, WriteError::NotRegularFile { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("/dev/null") && msg.contains("AWS_SHARED_CREDENTIALS_FILE"),
        "{msg}"
    );
    assert!(!msg.contains('\n'));
    let meta = fs::symlink_metadata("/dev/null").unwrap_or_else(|e| panic!("{e}"));
    assert!(meta.file_type().is_char_device());
}

#[test]
fn symlink_to_dev_null_fifo_and_directory_are_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let link = dir.path().join("credentials");
    symlink("/dev/null", &link).unwrap_or_else(|e| panic!("{e}"));
    let e = write_credentials_file(&link, upsert_into("p"));
    assert!(matches!(e, Err(WriteError::NotRegularFile { .. })), "{e:?}");
    assert!(fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink()));

    let sub = dir.path().join("dir");
    fs::create_dir(&sub).unwrap_or_else(|e| panic!("{e}"));
    let e = write_credentials_file(&sub, upsert_into("p"));
    assert!(
        matches!(
            e,
            Err(WriteError::NotRegularFile {
                kind: "a directory",
                ..
            })
        ),
        "{e:?}"
    );

    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap_or_default()).unwrap_or_default();
    // SAFETY: a valid C string path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let e = write_credentials_file(&fifo, upsert_into("p"));
    assert!(
        matches!(
            e,
            Err(WriteError::NotRegularFile {
                kind: "a FIFO (named pipe)",
                ..
            })
        ),
        "{e:?}"
    );
}

#[test]
fn symlink_target_is_edited_and_link_kept() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    fs::create_dir(dir.path().join("dotfiles")).unwrap_or_else(|e| panic!("{e}"));
    let real = dir.path().join("dotfiles/credentials");
    fs::write(&real, "[a]\nk = v\n").unwrap_or_else(|e| panic!("{e}"));
    // A relative link to a relative link.
    let mid = dir.path().join("mid");
    symlink("dotfiles/credentials", &mid).unwrap_or_else(|e| panic!("{e}"));
    let link = dir.path().join("credentials");
    symlink("mid", &link).unwrap_or_else(|e| panic!("{e}"));
    let out = write_credentials_file(&link, upsert_into("p")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.path, real);
    assert!(fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink()));
    assert!(fs::symlink_metadata(&mid).is_ok_and(|m| m.file_type().is_symlink()));
    assert!(read(&real).starts_with("[a]\nk = v\n\n[p]\n"));
    assert_eq!(
        read(&dir.path().join("dotfiles/credentials.mfacli-bak")),
        "[a]\nk = v\n"
    );
    assert!(dir.path().join("dotfiles/credentials.mfacli-lock").exists());
}

#[test]
fn dangling_and_looping_links_are_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let link = dir.path().join("credentials");
    symlink("nowhere/credentials", &link).unwrap_or_else(|e| panic!("{e}"));
    let e = write_credentials_file(&link, upsert_into("p"));
    assert!(
        matches!(e, Err(WriteError::DanglingSymlink { .. })),
        "{e:?}"
    );
    assert!(!dir.path().join("nowhere").exists());

    let a = dir.path().join("a");
    let b = dir.path().join("b");
    symlink(&b, &a).unwrap_or_else(|e| panic!("{e}"));
    symlink(&a, &b).unwrap_or_else(|e| panic!("{e}"));
    let e = write_credentials_file(&a, upsert_into("p"));
    assert!(matches!(e, Err(WriteError::TooManyLinks { .. })), "{e:?}");
}

#[test]
fn lock_file_symlink_is_refused_and_not_followed() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("credentials");
    let elsewhere = dir.path().join("elsewhere");
    symlink(&elsewhere, dir.path().join("credentials.mfacli-lock"))
        .unwrap_or_else(|e| panic!("{e}"));
    let e = write_credentials_file(&path, upsert_into("p"));
    assert!(matches!(e, Err(WriteError::BadLockFile { .. })), "{e:?}");
    assert!(!elsewhere.exists(), "a file was created through the link");
    assert!(!path.exists());
}

#[test]
fn large_and_non_utf8_files_are_refused() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("credentials");
    let f = File::create(&path).unwrap_or_else(|e| panic!("{e}"));
    f.set_len(MAX_FILE_SIZE + 1)
        .unwrap_or_else(|e| panic!("{e}"));
    let e = write_credentials_file(&path, upsert_into("p"));
    assert!(matches!(e, Err(WriteError::TooLarge { .. })), "{e:?}");
    fs::write(&path, b"[a]\nk = \xff\n").unwrap_or_else(|e| panic!("{e}"));
    let e = write_credentials_file(&path, upsert_into("p"));
    assert!(matches!(e, Err(WriteError::NotUtf8 { .. })), "{e:?}");
}

#[test]
fn lock_wait_is_bounded() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("credentials");
    let held =
        File::create(dir.path().join("credentials.mfacli-lock")).unwrap_or_else(|e| panic!("{e}"));
    fs4::FileExt::lock(&held).unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    let e = write_credentials_file_with_wait(&path, Duration::from_millis(300), upsert_into("p"));
    assert!(start.elapsed() >= Duration::from_millis(300));
    let Err(err) = e else {
        panic!("written while locked");
    };
    assert!(matches!(err, WriteError::LockTimeout { .. }), "{err:?}");
    assert!(err.to_string().contains("another process is editing"));
    assert!(!path.exists());
}

#[test]
fn a_writer_that_ignores_the_lock_is_noticed() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("credentials");
    fs::write(&path, "[a]\n").unwrap_or_else(|e| panic!("{e}"));
    let p2 = path.clone();
    let e = write_credentials_file(&path, move |text| {
        // `aws configure` writing while we edit.
        std::thread::sleep(Duration::from_millis(20));
        fs::write(&p2, "[a]\n[theirs]\nk = v\n").map_err(|_| EditError::Verification {
            section: "x".into(),
            detail: "test setup".into(),
        })?;
        Ok(format!("{text}[p]\n"))
    });
    assert!(
        matches!(e, Err(WriteError::ChangedUnderneath { .. })),
        "{e:?}"
    );
    assert_eq!(read(&path), "[a]\n[theirs]\nk = v\n");
}

// ---- issue 12, item 2: concurrent writers ----

const WRITERS: usize = 30;

fn sections_in(path: &Path) -> Vec<String> {
    read(path)
        .lines()
        .filter(|l| l.starts_with('['))
        .map(str::to_owned)
        .collect()
}

#[test]
fn thirty_threads_all_survive() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("credentials");
    fs::write(
        &path,
        "[bastion] ; IAM user alice\naws_access_key_id = AKIA\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let barrier = std::sync::Barrier::new(WRITERS);
    std::thread::scope(|s| {
        for i in 0..WRITERS {
            let (path, barrier) = (&path, &barrier);
            s.spawn(move || {
                barrier.wait();
                let name = format!("p{i}");
                write_credentials_file(path, upsert_into(&name)).unwrap_or_else(|e| panic!("{e}"));
            });
        }
    });
    let secs = sections_in(&path);
    assert_eq!(secs.len(), WRITERS + 1, "{secs:?}");
    for i in 0..WRITERS {
        assert!(secs.contains(&format!("[p{i}]")), "p{i} lost");
    }
    assert!(read(&path).starts_with("[bastion] ; IAM user alice\naws_access_key_id = AKIA\n"));
}

#[test]
fn set_keys_through_the_writer_keeps_the_section_and_a_backup() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("credentials");
    let old = "[bastion] ; IAM user alice\naws_access_key_id = AKIAOLD\nregion = eu-west-1\naws_secret_access_key = old\n\n[p]\nk = v\n";
    fs::write(&path, old).unwrap_or_else(|e| panic!("{e}"));
    let out = write_credentials_file(&path, |text| {
        let n = ProfileName::new("bastion")?;
        set_keys_in_section(
            text,
            &n,
            &[
                ("aws_access_key_id", "AKIANEW"),
                ("aws_secret_access_key", "new"),
            ],
        )
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.changed);
    assert_eq!(
        read(&path),
        "[bastion] ; IAM user alice\naws_access_key_id = AKIANEW\nregion = eu-west-1\naws_secret_access_key = new\n\n[p]\nk = v\n"
    );
    assert_eq!(read(&dir.path().join("credentials.mfacli-bak")), old);
}
