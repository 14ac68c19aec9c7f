//! Read-modify-write of the shared credentials file, safe against
//! concurrent writers, links and special files.
//!
//! Why each step is there:
//! - **Lock** (`<file>.mfacli-lock`, opened `O_NOFOLLOW`, `flock` via
//!   `fs4`, bounded wait): two
//!   `--write-profile` runs at once otherwise both read the old text and the
//!   second rename drops the first one's section (30 concurrent runs kept
//!   3 sections).
//! - **Links are followed to their final target**, which is edited; the link
//!   stays a link (a dotfiles repository keeps working). The lock sits
//!   beside the target, so two links to one file share it.
//! - **Only a regular file is rewritten**: renaming over `/dev/null` (a
//!   common `AWS_SHARED_CREDENTIALS_FILE` in CI) would replace the device
//!   node for the whole system, and a FIFO would block.
//! - **One open, one `fstat`, at most 10 MiB** ([`crate::fsread::read`],
//!   `O_NOFOLLOW` on the resolved target): what is checked is what is read.
//! - **Backup** `<file>.mfacli-bak` (0600, written atomically) of the text
//!   being replaced, so any mistake can be undone by hand.
//! - **Atomic replace**: a temp file in the same directory (`O_EXCL`, 0600),
//!   written, fsynced, renamed over the target, then the directory fsynced;
//!   a crash leaves the old or the new file, never a truncated one.
//! - **Changed-underneath check**: tools that do not take our lock
//!   (`aws configure`) could write between our read and our rename; the
//!   target's identity, size and mtime are compared just before the rename
//!   and the write is abandoned if they moved.

use std::fmt;
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::editor::EditError;
use crate::error::UserError;
use crate::fsread::{self, ReadError, ReadOpts};

/// Appended to the credentials file's name for the lock file.
pub(crate) const LOCK_SUFFIX: &str = ".mfacli-lock";
/// Appended to the credentials file's name for the backup.
pub(crate) const BACKUP_SUFFIX: &str = ".mfacli-bak";
/// The largest credentials file read (a bigger one is refused).
pub(crate) const MAX_FILE_SIZE: u64 = crate::fsread::TEXT_LIMIT;
/// How long to wait for another writer's lock.
pub(crate) const LOCK_WAIT: Duration = Duration::from_secs(10);
/// Most symlinks followed before giving up (Linux's own limit).
const MAX_LINKS: usize = 40;

/// What a successful call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WriteOutcome {
    /// The regular file that was (or would have been) written: the final
    /// target when the given path is a symlink.
    pub(crate) path: PathBuf,
    /// The file did not exist and was created.
    pub(crate) created: bool,
    /// The contents changed (`false`: the edit returned the same text and
    /// nothing was written).
    pub(crate) changed: bool,
    /// Where the previous contents were saved, if there were any.
    pub(crate) backup: Option<PathBuf>,
}

/// Why the file was not written. Each message is one line naming the file.
#[derive(Debug)]
pub(crate) enum WriteError {
    /// The path (or a symlink's target) is not a regular file.
    NotRegularFile { path: PathBuf, kind: &'static str },
    /// A symlink points to a file that does not exist.
    DanglingSymlink { path: PathBuf, target: PathBuf },
    /// More than 40 symlinks, or a loop.
    TooManyLinks { path: PathBuf },
    /// Larger than [`MAX_FILE_SIZE`].
    TooLarge { path: PathBuf },
    /// Not UTF-8: it cannot be edited as text without losing bytes.
    NotUtf8 { path: PathBuf },
    /// Another writer held the lock for the whole wait.
    LockTimeout {
        path: PathBuf,
        lock: PathBuf,
        waited: Duration,
    },
    /// The lock file is not a plain file of ours (a symlink, a FIFO...).
    BadLockFile { lock: PathBuf, reason: &'static str },
    /// Another program changed the file between the read and the rename.
    ChangedUnderneath { path: PathBuf },
    /// The edit itself was refused.
    Edit(EditError),
    /// An operating-system error during `action`.
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::NotRegularFile { path, kind } => write!(
                f,
                "{} is {kind}, not a regular file; mfacli writes profiles only into a regular file (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials)",
                path.display()
            ),
            WriteError::DanglingSymlink { path, target } => write!(
                f,
                "{} is a symlink to {}, which does not exist; create that file or remove the link",
                path.display(),
                target.display()
            ),
            WriteError::TooManyLinks { path } => {
                write!(f, "{}: too many levels of symbolic links", path.display())
            }
            WriteError::TooLarge { path } => write!(
                f,
                "{} is larger than {} MiB; not editing it",
                path.display(),
                MAX_FILE_SIZE / 1024 / 1024
            ),
            WriteError::NotUtf8 { path } => {
                write!(f, "{} is not valid UTF-8; not editing it", path.display())
            }
            WriteError::LockTimeout { path, lock, waited } => write!(
                f,
                "another process is editing {} (waited {} s for the lock {}); try again",
                path.display(),
                waited.as_secs(),
                lock.display()
            ),
            WriteError::BadLockFile { lock, reason } => write!(
                f,
                "lock file {} {reason}; remove it and try again",
                lock.display()
            ),
            WriteError::ChangedUnderneath { path } => write!(
                f,
                "{} was changed by another program while it was being edited; nothing was written, run the command again",
                path.display()
            ),
            WriteError::Edit(e) => e.fmt(f),
            WriteError::Io {
                action,
                path,
                source,
            } => write!(f, "cannot {action} {}: {source}", path.display()),
        }
    }
}

impl WriteError {
    /// The error for a person: one message naming the file (`file` is the
    /// path the user gave, for errors of the edit itself), and the fix.
    pub(crate) fn into_user_error(self, file: &Path) -> UserError {
        let hint: String = match &self {
            WriteError::NotRegularFile { .. } => {
                "point AWS_SHARED_CREDENTIALS_FILE at a regular file (or unset it for ~/.aws/credentials); the file was not touched".into()
            }
            WriteError::DanglingSymlink { .. } => "create the target file, or remove the link".into(),
            WriteError::TooManyLinks { .. } => "fix the symbolic links".into(),
            WriteError::TooLarge { .. } | WriteError::NotUtf8 { .. } => {
                "is this the right file? restore it from a backup if it is damaged".into()
            }
            WriteError::LockTimeout { .. } => "wait for the other mfacli to finish, then run the command again".into(),
            WriteError::BadLockFile { lock, .. } => {
                format!("remove {} (mfacli recreates it) and run the command again", lock.display())
            }
            WriteError::ChangedUnderneath { .. } => "run the command again".into(),
            WriteError::Edit(EditError::NotManaged { .. }) => {
                "choose another profile name, or add --force to replace it".into()
            }
            WriteError::Edit(EditError::InvalidName { .. }) => {
                "use letters, digits and _ - / . % @ : + only".into()
            }
            WriteError::Edit(
                EditError::InvalidValue { .. } | EditError::InvalidKey { .. } | EditError::DuplicateKey { .. },
            ) => "nothing was written; check the STS endpoint and the region setting".into(),
            WriteError::Edit(_) => format!(
                "nothing was written; fix {} by hand (the AWS CLI and SDKs must read it alike), then run the command again",
                file.display()
            ),
            WriteError::Io { path, .. } => format!(
                "check the permissions of {} and its directory",
                path.display()
            ),
        };
        let message = match &self {
            WriteError::Edit(e) => format!("{}: {e}", file.display()),
            other => other.to_string(),
        };
        UserError::new(message).hint(hint)
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WriteError::Io { source, .. } => Some(source),
            WriteError::Edit(e) => Some(e),
            _ => None,
        }
    }
}

impl From<EditError> for WriteError {
    fn from(e: EditError) -> Self {
        WriteError::Edit(e)
    }
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> WriteError + 'a {
    move |source| WriteError::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

/// Edits the credentials file at `path` under a lock: reads it (empty if
/// missing), passes the text to `edit`, and atomically replaces the file
/// with the result, keeping a backup of the old contents. See the module
/// docs for every step; waits at most [`LOCK_WAIT`] for the lock.
pub(crate) fn write_credentials_file(
    path: &Path,
    edit: impl FnOnce(&str) -> Result<String, EditError>,
) -> Result<WriteOutcome, WriteError> {
    write_credentials_file_with_wait(path, LOCK_WAIT, edit)
}

/// [`write_credentials_file`] with a chosen lock wait.
pub(crate) fn write_credentials_file_with_wait(
    path: &Path,
    lock_wait: Duration,
    edit: impl FnOnce(&str) -> Result<String, EditError>,
) -> Result<WriteOutcome, WriteError> {
    write_locked(path, lock_wait, true, edit)
}

/// [`write_credentials_file`] without the backup: for an edit that takes a
/// secret out of the file (`keys import`), whose backup would be a
/// plain-text copy of it.
pub(crate) fn write_credentials_file_without_backup(
    path: &Path,
    edit: impl FnOnce(&str) -> Result<String, EditError>,
) -> Result<WriteOutcome, WriteError> {
    write_locked(path, LOCK_WAIT, false, edit)
}

fn write_locked(
    path: &Path,
    lock_wait: Duration,
    keep_backup: bool,
    edit: impl FnOnce(&str) -> Result<String, EditError>,
) -> Result<WriteOutcome, WriteError> {
    let (target, exists) = resolve(path)?;
    if !exists {
        if let Some(dir) = parent(&target) {
            // 0700 whatever the umask.
            fsread::create_private_dirs(dir).map_err(io_err("create the directory", dir))?;
        }
    }
    let lock_path = with_suffix(&target, LOCK_SUFFIX);
    let _lock = lock(&lock_path, &target, lock_wait)?;
    // Resolve again under the lock: a link may have been re-pointed while
    // we waited, and the lock only guards the file it sits beside.
    if resolve(path)?.0 != target {
        return Err(WriteError::ChangedUnderneath { path: target });
    }

    let old = read_regular(&target)?;
    let old_text = match &old {
        Some(r) => std::str::from_utf8(&r.bytes).map_err(|_| WriteError::NotUtf8 {
            path: target.clone(),
        })?,
        None => "",
    };
    // The new text holds the other profiles' keys too: wiped on drop.
    let new_text = zeroize::Zeroizing::new(edit(old_text)?);
    if old.is_some() && new_text.as_str() == old_text {
        return Ok(WriteOutcome {
            path: target,
            created: false,
            changed: false,
            backup: None,
        });
    }

    let backup = match &old {
        Some(r) if keep_backup => {
            let b = with_suffix(&target, BACKUP_SUFFIX);
            write_atomic(&b, &r.bytes, 0o600, r.owner, None)?;
            Some(b)
        }
        _ => None,
    };
    // The file keeps 0600, or its own mode where that is stricter.
    let mode = old.as_ref().map_or(0o600, |r| r.mode & 0o600);
    let expect = old.as_ref().map(|r| r.stamp);
    write_atomic(
        &target,
        new_text.as_bytes(),
        mode,
        old.as_ref().and_then(|r| r.owner),
        Some(expect),
    )?;
    Ok(WriteOutcome {
        path: target,
        created: old.is_none(),
        changed: true,
        backup,
    })
}

/// Follows symlinks to the final path. Returns it and whether it exists;
/// refuses anything that exists and is not a regular file.
fn resolve(path: &Path) -> Result<(PathBuf, bool), WriteError> {
    let mut cur = path.to_owned();
    for _ in 0..=MAX_LINKS {
        match fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = fs::read_link(&cur).map_err(io_err("read the symlink", &cur))?;
                cur = match parent(&cur) {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            Ok(m) if m.file_type().is_file() => return Ok((cur, true)),
            Ok(m) => {
                return Err(WriteError::NotRegularFile {
                    path: cur,
                    kind: fsread::kind_of(m.file_type()),
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if cur == path {
                    return Ok((cur, false));
                }
                return Err(WriteError::DanglingSymlink {
                    path: path.to_owned(),
                    target: cur,
                });
            }
            Err(e) => return Err(io_err("inspect", &cur)(e)),
        }
    }
    Err(WriteError::TooManyLinks {
        path: path.to_owned(),
    })
}

fn parent(p: &Path) -> Option<&Path> {
    p.parent().filter(|d| !d.as_os_str().is_empty())
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Opens (creating 0600 if needed) and exclusively locks the lock file.
///
/// Opened with `O_NOFOLLOW` (a symlink planted at the lock's path is
/// refused, never followed to create or open a file elsewhere) and
/// `O_NONBLOCK` (a FIFO cannot hang the open), then checked with `fstat` on
/// the open descriptor: it must be a regular file. Nothing is ever written
/// to the lock file.
fn lock(lock_path: &Path, target: &Path, wait: Duration) -> Result<File, WriteError> {
    let file = match OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(lock_path)
    {
        Ok(f) => f,
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(WriteError::BadLockFile {
                lock: lock_path.to_owned(),
                reason: "is a symbolic link",
            })
        }
        Err(e) => return Err(io_err("open the lock file", lock_path)(e)),
    };
    let meta = file.metadata().map_err(io_err("inspect", lock_path))?; // fstat
    if !meta.is_file() {
        return Err(WriteError::BadLockFile {
            lock: lock_path.to_owned(),
            reason: "is not a regular file",
        });
    }
    let start = Instant::now();
    let mut pause = Duration::from_millis(2);
    loop {
        match fs4::FileExt::try_lock(&file) {
            Ok(()) => return Ok(file),
            Err(fs4::TryLockError::WouldBlock) => {}
            Err(fs4::TryLockError::Error(e)) => return Err(io_err("lock", lock_path)(e)),
        }
        if start.elapsed() >= wait {
            return Err(WriteError::LockTimeout {
                path: target.to_owned(),
                lock: lock_path.to_owned(),
                waited: wait,
            });
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// What identifies one version of the file, to notice a writer that does
/// not take the lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: i64,
    mtime_nsec: i64,
}

impl Stamp {
    fn of(m: &fs::Metadata) -> Self {
        Stamp {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
        }
    }
}

struct Current {
    /// The old contents (long-term keys among them): wiped on drop.
    bytes: zeroize::Zeroizing<Vec<u8>>,
    mode: u32,
    owner: Option<(u32, u32)>,
    stamp: Stamp,
}

/// Reads the file through [`fsread::read`] (one open with `O_NOFOLLOW`,
/// one `fstat`): `None` if it does not exist; an error unless it is a
/// regular file of at most the size limit. `path` is already resolved, so a
/// symlink here was swapped in since: the edit is abandoned.
fn read_regular(path: &Path) -> Result<Option<Current>, WriteError> {
    let opts = ReadOpts {
        limit: MAX_FILE_SIZE,
        no_follow: true,
    };
    let f = match fsread::read(path, opts) {
        Ok(None) => return Ok(None),
        Ok(Some(f)) => f,
        Err(ReadError::Symlink) => {
            return Err(WriteError::ChangedUnderneath {
                path: path.to_owned(),
            })
        }
        Err(ReadError::NotRegular(kind)) => {
            return Err(WriteError::NotRegularFile {
                path: path.to_owned(),
                kind,
            })
        }
        Err(ReadError::TooLarge { .. }) => {
            return Err(WriteError::TooLarge {
                path: path.to_owned(),
            })
        }
        Err(ReadError::Io(e)) => return Err(io_err("read", path)(e)),
    };
    Ok(Some(Current {
        stamp: Stamp::of(&f.meta),
        owner: Some((f.meta.uid(), f.meta.gid())),
        mode: f.mode,
        bytes: f.bytes,
    }))
}

/// Writes `bytes` to `dest` by temp file + fsync + rename + directory
/// fsync. `expect`: `Some(stamp)` requires `dest` to still be that version
/// (`Some(None)`: still absent) right before the rename.
fn write_atomic(
    dest: &Path,
    bytes: &[u8],
    mode: u32,
    owner: Option<(u32, u32)>,
    expect: Option<Option<Stamp>>,
) -> Result<(), WriteError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = parent(dest).unwrap_or(Path::new("."));
    let name = dest
        .file_name()
        .map_or_else(Default::default, |n| n.to_owned());
    let (mut file, tmp) = loop {
        let mut t = std::ffi::OsString::from(".");
        t.push(&name);
        t.push(format!(
            ".mfacli-tmp.{}.{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let tmp = dir.join(t);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
        {
            Ok(f) => break (f, tmp),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io_err("create a temporary file in", dir)(e)),
        }
    };
    let result = (|| {
        // fchmod: the mode is exact whatever the umask.
        file.set_permissions(Permissions::from_mode(mode))
            .map_err(io_err("set the mode of", &tmp))?;
        if let Some((uid, gid)) = owner {
            // Keep the owner when run with privileges (e.g. under sudo);
            // without them this fails and the file is ours anyway.
            let _ = std::os::unix::fs::fchown(&file, Some(uid), Some(gid));
        }
        file.write_all(bytes).map_err(io_err("write", &tmp))?;
        file.sync_all().map_err(io_err("sync", &tmp))?;
        if let Some(expect) = expect {
            let now = match fs::symlink_metadata(dest) {
                Ok(m) => Some(Stamp::of(&m)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                Err(e) => return Err(io_err("inspect", dest)(e)),
            };
            if now != expect {
                return Err(WriteError::ChangedUnderneath {
                    path: dest.to_owned(),
                });
            }
        }
        fs::rename(&tmp, dest).map_err(io_err("replace", dest))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("sync the directory", dir))
}

#[cfg(test)]
mod tests;
