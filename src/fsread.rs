//! The one way mfacli reads a file: open once (non-blocking, so a FIFO
//! cannot hang the open; optionally `O_NOFOLLOW`), `fstat` the open
//! descriptor, require a regular file, and read at most a limit. Every
//! check is made on the descriptor that is read, so nothing can be swapped
//! between the check and the read.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use zeroize::Zeroizing;

/// mfacli config, `~/.aws/credentials`, `~/.aws/config`, a CA bundle.
pub(crate) const TEXT_LIMIT: u64 = 10 * 1024 * 1024;
/// One cache entry or replay record.
pub(crate) const CACHE_LIMIT: u64 = 64 * 1024;
/// A TOTP seed file.
pub(crate) const SEED_LIMIT: u64 = 4 * 1024;

/// How to open: the size limit, and whether a symlink at the path itself
/// is refused (cache entries) or followed (the user's own files, which are
/// often symlinks into a dotfiles repository).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadOpts {
    /// Files larger than this are refused rather than read.
    pub(crate) limit: u64,
    /// Refuse a symlink at the final path component (`O_NOFOLLOW`).
    pub(crate) no_follow: bool,
}

/// A file's bytes (wiped on drop: they may hold keys or a seed) and what
/// `fstat` said about the descriptor they were read from.
pub(crate) struct FileBytes {
    pub(crate) bytes: Zeroizing<Vec<u8>>,
    /// Permission bits (`& 0o7777`).
    pub(crate) mode: u32,
    /// Owner.
    pub(crate) uid: u32,
    /// Everything else `fstat` said (identity, size and mtime, to notice
    /// a later change).
    pub(crate) meta: std::fs::Metadata,
}

/// Why a file could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// A symlink where `no_follow` asked for none.
    Symlink,
    /// Not a regular file: a directory, FIFO, device or socket.
    NotRegular(&'static str),
    /// Larger than the limit (the size seen, or `limit + 1` if unknown).
    TooLarge { size: u64, limit: u64 },
    /// Any other I/O error (permissions, …).
    Io(io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Symlink => f.write_str("it is a symbolic link"),
            ReadError::NotRegular(kind) => write!(f, "it is {kind}, not a regular file"),
            ReadError::TooLarge { size, limit } => write!(
                f,
                "it is {} bytes; mfacli reads at most {}",
                size,
                human_bytes(*limit)
            ),
            ReadError::Io(e) => write!(f, "{e}"),
        }
    }
}

fn human_bytes(n: u64) -> String {
    if n >= 1024 * 1024 && n.is_multiple_of(1024 * 1024) {
        format!("{} MiB", n / (1024 * 1024))
    } else if n >= 1024 && n.is_multiple_of(1024) {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

/// "a directory", "a FIFO (named pipe)", …: for error messages.
pub(crate) fn kind_of(ft: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO (named pipe)"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else {
        "a special file"
    }
}

/// Reads `path` as described in the module docs. `Ok(None)` if it does
/// not exist.
pub(crate) fn read(path: &Path, opts: ReadOpts) -> Result<Option<FileBytes>, ReadError> {
    let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC;
    if opts.no_follow {
        flags |= libc::O_NOFOLLOW;
    }
    let file = match OpenOptions::new().read(true).custom_flags(flags).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        // O_NOFOLLOW on a symlink fails with ELOOP.
        Err(e) if opts.no_follow && e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(ReadError::Symlink)
        }
        Err(e) if e.raw_os_error() == Some(libc::EISDIR) => {
            return Err(ReadError::NotRegular("a directory"))
        }
        Err(e) => return Err(ReadError::Io(e)),
    };
    let meta = file.metadata().map_err(ReadError::Io)?; // fstat(2)
    if !meta.file_type().is_file() {
        return Err(ReadError::NotRegular(kind_of(meta.file_type())));
    }
    if meta.len() > opts.limit {
        return Err(ReadError::TooLarge {
            size: meta.len(),
            limit: opts.limit,
        });
    }
    clear_nonblock(&file);
    // Sized from fstat so the buffer is not reallocated (which would leave
    // copies of a secret behind in freed memory).
    let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len() as usize + 1));
    file.take(opts.limit + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > opts.limit {
        // It grew between fstat and read.
        return Err(ReadError::TooLarge {
            size: opts.limit + 1,
            limit: opts.limit,
        });
    }
    Ok(Some(FileBytes {
        bytes,
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        meta,
    }))
}

/// Back to blocking reads now that the descriptor is known to be a regular
/// file (where the flag has no effect anyway).
fn clear_nonblock(file: &File) {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor we own, with integer arguments only.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl >= 0 {
            libc::fcntl(fd, libc::F_SETFL, fl & !libc::O_NONBLOCK);
        }
    }
}

/// The effective user id (owner checks on cache files and directories).
pub(crate) fn euid() -> u32 {
    // SAFETY: geteuid cannot fail and has no preconditions.
    unsafe { libc::geteuid() }
}

/// Creates `dir` and any missing parents, each 0700 whatever the umask
/// (`DirBuilder` with the mode, then an explicit chmod of each directory
/// created here; existing directories are left exactly as they are).
pub(crate) fn create_private_dirs(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(p) = cur.filter(|p| !p.as_os_str().is_empty()) {
        if std::fs::symlink_metadata(p).is_ok() {
            break;
        }
        missing.push(p);
        cur = p.parent();
    }
    for p in missing.into_iter().rev() {
        match std::fs::DirBuilder::new().mode(0o700).create(p) {
            Ok(()) => std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o700))?,
            // Another process made it meanwhile: not ours to chmod.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTS: ReadOpts = ReadOpts {
        limit: 16,
        no_follow: true,
    };

    #[test]
    fn private_dirs_are_0700_and_existing_ones_untouched() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        // (umask 000 is tested on the binary: changing it here would race
        // with the other tests of this process.)
        create_private_dirs(&d.path().join("a/b/c")).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        for p in ["a", "a/b", "a/b/c"] {
            assert_eq!(mode(&d.path().join(p)), 0o700, "{p}");
        }
        assert_eq!(mode(d.path()), 0o755);
        create_private_dirs(&d.path().join("a/b/c")).unwrap();
    }

    #[test]
    fn reads_small_regular_files_with_mode_and_owner() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, b"hello").unwrap();
        let f = read(&p, OPTS).unwrap().unwrap();
        assert_eq!(&f.bytes[..], b"hello");
        assert_eq!(f.uid, euid());
        assert!(read(&d.path().join("missing"), OPTS).unwrap().is_none());
    }

    #[test]
    fn refuses_large_files_devices_dirs_fifos_and_symlinks() {
        let d = tempfile::tempdir().unwrap();
        let big = d.path().join("big");
        std::fs::write(&big, [b'x'; 17]).unwrap();
        assert!(matches!(
            read(&big, OPTS),
            Err(ReadError::TooLarge { size: 17, .. })
        ));
        let dev = read(Path::new("/dev/zero"), OPTS).err().unwrap();
        assert!(dev.to_string().contains("a character device"), "{dev}");
        assert!(matches!(
            read(d.path(), OPTS),
            Err(ReadError::NotRegular("a directory"))
        ));
        let fifo = d.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid C string path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let start = std::time::Instant::now();
        let e = read(&fifo, OPTS).err().unwrap();
        assert!(e.to_string().contains("FIFO"), "{e}");
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&big, &link).unwrap();
        assert!(matches!(read(&link, OPTS), Err(ReadError::Symlink)));
        // Following is allowed when asked for (the user's dotfiles).
        let follow = ReadOpts {
            limit: 64,
            no_follow: false,
        };
        assert_eq!(read(&link, follow).unwrap().unwrap().bytes.len(), 17);
    }
}
