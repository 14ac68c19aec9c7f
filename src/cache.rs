//! The on-disk cache: one small JSON file per MFA session or per target's
//! role credentials, 0600 in a 0700 directory, written by temp file +
//! rename so a reader sees the old file or the new one, never a torn one.
//! Fetches are serialised across processes with per-entry file locks.

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::env::Env;
use crate::error::UserError;
use crate::log::Log;

/// Cache files are tiny; anything bigger is not ours.
const MAX_ENTRY_BYTES: u64 = crate::fsread::CACHE_LIMIT;

/// Why a cache directory cannot be trusted for reads: not ours, or others
/// can create and rename files in it. `None` if it can.
fn untrusted_dir_reason(m: &fs::Metadata) -> Option<String> {
    let mode = m.permissions().mode() & 0o7777;
    let me = crate::fsread::euid();
    if m.uid() != me {
        Some(format!(
            "it is owned by uid {}, not by you (uid {me})",
            m.uid()
        ))
    } else if mode & 0o022 != 0 {
        Some(format!(
            "it has mode {mode:04o}, so other users can put files in it"
        ))
    } else {
        None
    }
}

/// `$MFACLI_CACHE_DIR` > `$XDG_CACHE_HOME/mfacli` > `~/.cache/mfacli`.
pub(crate) fn default_dir(env: &Env) -> PathBuf {
    if let Some(p) = env.path("MFACLI_CACHE_DIR") {
        return p;
    }
    env.path("XDG_CACHE_HOME")
        .unwrap_or_else(|| env.home().join(".cache"))
        .join("mfacli")
}

/// A stable short hash of the parts that decide a cache entry's content.
pub fn key_hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        // Length-prefix each part so ("ab","c") and ("a","bc") differ.
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    let mut hex = String::with_capacity(20);
    for b in &h.finalize()[..10] {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// Parses a cache file's bytes; anything oversized or malformed is `None`.
pub fn parse_entry<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    if bytes.len() as u64 > MAX_ENTRY_BYTES {
        return None;
    }
    serde_json::from_slice(bytes).ok()
}

/// How long a lock wait stays silent before `on_wait` is called.
pub(crate) const WAIT_NOTICE_AFTER: Duration = Duration::from_secs(1);

/// The cache directory and the logger its warnings go to.
#[derive(Debug, Clone)]
pub(crate) struct Cache {
    dir: PathBuf,
    log: Log,
    /// The directory check, made once per process before the first read.
    dir_trusted: std::sync::Arc<std::sync::OnceLock<bool>>,
}

impl Cache {
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            log: Log::default(),
            dir_trusted: Default::default(),
        }
    }

    /// Warnings (a planted file, an untrusted directory) go to `log`.
    pub(crate) fn with_log(mut self, log: Log) -> Self {
        self.log = log;
        self
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The logger for warnings about the cache and its records.
    pub(crate) fn log(&self) -> &Log {
        &self.log
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Whether entries in the directory can be trusted: it is ours and
    /// nobody else can add, replace or rename files in it. Checked once,
    /// before any read or listing; a missing directory holds nothing.
    fn trusted(&self) -> bool {
        if let Some(t) = self.dir_trusted.get() {
            return *t;
        }
        // Not there (yet): nothing to read; check again once it exists.
        let Ok(meta) = fs::metadata(&self.dir) else {
            return false;
        };
        *self.dir_trusted.get_or_init(|| match untrusted_dir_reason(&meta) {
            None => true,
            Some(why) => {
                self.log.warn(&format!(
                    "not reading the cache in {}: {why}; set MFACLI_CACHE_DIR to a private directory of your own",
                    self.dir.display()
                ));
                false
            }
        })
    }

    /// Reads an entry; anything unreadable or unparsable is a miss. The
    /// entry is opened without following symlinks and checked on the open
    /// descriptor: a regular file, owned by this user, mode 0600. Anything
    /// else was not written by mfacli and is ignored with a warning.
    pub(crate) fn read<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        if !self.trusted() {
            return None;
        }
        let path = self.path(name);
        let opts = crate::fsread::ReadOpts {
            limit: MAX_ENTRY_BYTES,
            no_follow: true,
        };
        let f = match crate::fsread::read(&path, opts) {
            Ok(f) => f?,
            Err(e) => {
                self.log
                    .warn(&format!("ignoring cache file {}: {e}", path.display()));
                return None;
            }
        };
        let me = crate::fsread::euid();
        if f.uid != me || f.mode & 0o077 != 0 {
            self.log.warn(&format!(
                "ignoring cache file {}: owned by uid {} with mode {:04o}, not written by mfacli for uid {me} (0600)",
                path.display(),
                f.uid,
                f.mode
            ));
            return None;
        }
        parse_entry(&f.bytes)
    }

    /// Creates the directory 0700 (whatever the umask). An existing
    /// directory that others can enter is refused, not chmod-ed:
    /// MFACLI_CACHE_DIR may point at a shared directory (even /tmp), which
    /// is not ours to change.
    pub(crate) fn ensure_dir(&self) -> io::Result<()> {
        crate::fsread::create_private_dirs(&self.dir)?;
        let meta = fs::metadata(&self.dir)?;
        let mode = meta.permissions().mode() & 0o7777;
        let shared = meta.uid() != crate::fsread::euid() || mode & 0o1000 != 0;
        if shared {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "the cache directory {} is a shared directory (owner uid {}, mode {mode:04o}) and cannot hold credentials; set MFACLI_CACHE_DIR to a private directory of your own (e.g. ~/.cache/mfacli, which mfacli creates 0700)",
                    self.dir.display(),
                    meta.uid()
                ),
            ));
        }
        if mode & 0o077 != 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "the cache directory {} has mode {mode:04o}, so other users could read credentials; run `chmod 700 {}` or set MFACLI_CACHE_DIR",
                    self.dir.display(),
                    self.dir.display()
                ),
            ));
        }
        Ok(())
    }

    /// Writes an entry atomically with mode 0600.
    pub(crate) fn write<T: Serialize>(&self, name: &str, value: &T) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
        self.ensure_dir()?;
        write_atomic(&self.path(name), &bytes, 0o600, false)
    }

    pub(crate) fn remove(&self, name: &str) -> io::Result<bool> {
        match fs::remove_file(self.path(name)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Names of entries (not locks or temp files) starting with `prefix`.
    pub(crate) fn entries(&self, prefix: &str) -> Vec<String> {
        if !self.trusted() {
            return Vec::new();
        }
        let Ok(rd) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = rd
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with(prefix) && n.ends_with(".json"))
            .collect();
        names.sort();
        names
    }

    /// Removes the lock files starting with `prefix` that no process holds
    /// now (`clear`: lock files of deleted entries would pile up). A held
    /// one is kept: its holder is fetching. Returns how many were removed.
    pub(crate) fn remove_idle_locks(&self, prefix: &str) -> io::Result<usize> {
        if !self.trusted() {
            return Ok(0);
        }
        let Ok(rd) = fs::read_dir(&self.dir) else {
            return Ok(0);
        };
        let mut removed = 0;
        for name in rd.filter_map(|e| e.ok()?.file_name().into_string().ok()) {
            if !(name.starts_with(prefix) && name.ends_with(".lock")) {
                continue;
            }
            let path = self.path(&name);
            let Ok(file) = OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
                .open(&path)
            else {
                continue;
            };
            let own = file
                .metadata()
                .is_ok_and(|m| m.file_type().is_file() && m.uid() == crate::fsread::euid());
            // Removed while we hold it: no one can be inside it meanwhile.
            if own && fs4::FileExt::try_lock(&file).is_ok() {
                match fs::remove_file(&path) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(removed)
    }

    /// Takes the exclusive lock for `name`, waiting up to `timeout`. The OS
    /// releases it if the holder dies, so a killed process never blocks others.
    /// `Ok(None)` if the lock file cannot be created at all (read-only or
    /// full cache directory): the caller goes on without the lock, since
    /// returning credentials matters more than deduplicating STS calls.
    /// Takes the lock `name`, waiting up to `timeout`; `on_wait` is called
    /// once if the wait lasts [`WAIT_NOTICE_AFTER`].
    pub(crate) fn lock(
        &self,
        name: &str,
        timeout: Duration,
        mut on_wait: impl FnMut(),
    ) -> Result<Option<LockGuard>, UserError> {
        let path = self.path(&format!("{name}.lock"));
        let io_err = |e: io::Error| {
            UserError::new(format!("cannot lock {}: {e}", path.display()))
                .hint("check that the cache directory is on a local file system (MFACLI_CACHE_DIR)")
        };
        if self.ensure_dir().is_err() {
            return Ok(None);
        }
        // No symlink followed, and the open descriptor must be our own
        // regular file: a lock swapped for a link must not make mfacli
        // create or lock a file elsewhere. O_NONBLOCK: opening a FIFO
        // nobody reads would otherwise block forever, past any timeout.
        let file = match OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
            .open(&path)
        {
            Ok(file) => file,
            Err(_) => {
                // A symlink (ELOOP) or a FIFO without a reader (ENXIO) was
                // put there: say so. Anything else is a cache that cannot
                // be written (read-only, full), which goes on quietly.
                if let Ok(m) = fs::symlink_metadata(&path) {
                    if !m.file_type().is_file() {
                        self.log.warn(&format!(
                            "ignoring lock file {}: it is {}, not a regular file of this user",
                            path.display(),
                            crate::fsread::kind_of(m.file_type())
                        ));
                    }
                }
                return Ok(None);
            }
        };
        match file.metadata() {
            Ok(m) if m.file_type().is_file() && m.uid() == crate::fsread::euid() => {}
            Ok(m) if m.file_type().is_file() => {
                self.log.warn(&format!(
                    "ignoring lock file {}: it is owned by uid {}, not by you (uid {})",
                    path.display(),
                    m.uid(),
                    crate::fsread::euid()
                ));
                return Ok(None);
            }
            Ok(m) => {
                self.log.warn(&format!(
                    "ignoring lock file {}: it is {}, not a regular file of this user",
                    path.display(),
                    crate::fsread::kind_of(m.file_type())
                ));
                return Ok(None);
            }
            Err(_) => return Ok(None),
        }
        let start = Instant::now();
        let mut announced = false;
        loop {
            match fs4::FileExt::try_lock(&file) {
                Ok(()) => return Ok(Some(LockGuard { _file: file })),
                Err(fs4::TryLockError::WouldBlock) => {}
                Err(fs4::TryLockError::Error(e)) => return Err(io_err(e)),
            }
            // Say so once the wait is noticeable: the other process may be
            // waiting for a person to type a code.
            if !announced && start.elapsed() >= WAIT_NOTICE_AFTER {
                on_wait();
                announced = true;
            }
            if start.elapsed() >= timeout {
                return Err(UserError::new(format!(
                    "gave up after {}s waiting for another mfacli process (lock {})",
                    timeout.as_secs(),
                    path.display()
                ))
                .hint("another mfacli may be waiting for an MFA code; finish or stop it, or raise lock_timeout / --lock-timeout"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Holds a cache lock until dropped.
#[derive(Debug)]
pub(crate) struct LockGuard {
    _file: File,
}

/// Temp file in the same directory, then rename: readers and a process
/// killed mid-write never see a partial file. Cache entries skip fsync
/// (after a power loss one can at worst be empty or stale, which reads as
/// a miss); user files (`durable`) are synced, since losing
/// ~/.aws/credentials would lose the long-term keys.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8], mode: u32, durable: bool) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let base = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let nonce: u64 = {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64;
        t ^ u64::from(std::process::id()).rotate_left(32)
    };
    let tmp = dir.join(format!(".{base}.{}.{nonce:x}.tmp", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(bytes)?;
        if durable {
            f.sync_all()?;
        }
        fs::rename(&tmp, path)?;
        if durable {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileTypeExt;

    /// A short wait is silent; a longer one is announced once, after 1 s.
    #[test]
    fn a_lock_wait_is_announced_after_a_second() {
        let d = tempfile::tempdir().unwrap();
        let c = Cache::new(d.path().join("mfacli"));
        for (hold_ms, announced) in [(300, 0), (1_500, 1)] {
            let held = c.lock("x", Duration::from_secs(5), || {}).unwrap();
            let releaser = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(hold_ms));
                drop(held);
            });
            let start = Instant::now();
            let mut calls = Vec::new();
            let got = c
                .lock("x", Duration::from_secs(5), || calls.push(start.elapsed()))
                .unwrap();
            assert!(got.is_some());
            drop(got);
            releaser.join().unwrap();
            assert_eq!(calls.len(), announced, "held {hold_ms} ms: {calls:?}");
            assert!(calls.iter().all(|t| *t >= WAIT_NOTICE_AFTER), "{calls:?}");
        }
    }

    #[test]
    fn write_read_modes_and_garbage() {
        let d = tempfile::tempdir().unwrap();
        let c = Cache::new(d.path().join("mfacli"));
        c.write("a.json", &serde_json::json!({"x": 1})).unwrap();
        let v: serde_json::Value = c.read("a.json").unwrap();
        assert_eq!(v["x"], 1);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(c.dir()), 0o700);
        assert_eq!(mode(&c.path("a.json")), 0o600);
        fs::write(c.path("a.json"), b"{not json").unwrap();
        assert!(c.read::<serde_json::Value>("a.json").is_none());
        assert_eq!(c.entries(""), vec!["a.json".to_string()]);
    }

    #[test]
    fn planted_entries_are_ignored() {
        let d = tempfile::tempdir().unwrap();
        let c = Cache::new(d.path().join("mfacli"));
        c.write("a.json", &serde_json::json!({"x": 1})).unwrap();
        // A file with group/other bits was not written by mfacli.
        fs::set_permissions(c.path("a.json"), fs::Permissions::from_mode(0o644)).unwrap();
        assert!(c.read::<serde_json::Value>("a.json").is_none());
        // A symlink at an entry is not followed.
        let elsewhere = d.path().join("elsewhere.json");
        fs::write(&elsewhere, br#"{"x": 2}"#).unwrap();
        fs::set_permissions(&elsewhere, fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink(&elsewhere, c.path("b.json")).unwrap();
        assert!(c.read::<serde_json::Value>("b.json").is_none());
        // A FIFO neither hangs nor counts.
        let fifo = std::ffi::CString::new(c.path("f.json").to_str().unwrap()).unwrap();
        // SAFETY: a valid C string path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert!(c.read::<serde_json::Value>("f.json").is_none());
    }

    #[test]
    fn a_directory_others_can_write_is_never_read_or_listed() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("shared");
        let c = Cache::new(dir.clone());
        c.write("a.json", &serde_json::json!({"x": 1})).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let fresh = Cache::new(dir.clone());
        assert!(fresh.read::<serde_json::Value>("a.json").is_none());
        assert!(fresh.entries("").is_empty());
        assert!(fresh
            .lock("k", Duration::from_millis(50), || {})
            .unwrap()
            .is_none());
        assert!(
            !dir.join("k.lock").exists(),
            "no lock file in a shared directory"
        );
    }

    #[test]
    fn shared_sticky_dir_error_states_real_mode_and_no_chmod() {
        let c = Cache::new(PathBuf::from("/tmp"));
        let e = c.ensure_dir().unwrap_err().to_string();
        assert!(e.contains("1777"), "{e}");
        assert!(!e.contains("chmod"), "{e}");
        assert!(e.contains("private directory"), "{e}");
        let d = tempfile::tempdir().unwrap();
        fs::set_permissions(d.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let own = Cache::new(d.path().to_owned())
            .ensure_dir()
            .unwrap_err()
            .to_string();
        assert!(own.contains("0755") && own.contains("chmod 700"), "{own}");
    }

    #[test]
    fn lock_refuses_a_symlink() {
        let d = tempfile::tempdir().unwrap();
        let c = Cache::new(d.path().join("cache"));
        c.ensure_dir().unwrap();
        let target = d.path().join("victim");
        std::os::unix::fs::symlink(&target, c.path("k.lock")).unwrap();
        assert!(c
            .lock("k", Duration::from_millis(50), || {})
            .unwrap()
            .is_none());
        assert!(
            !target.exists(),
            "the lock must not create a file through a link"
        );
    }

    /// A reader holding the old file open keeps seeing the old bytes: the
    /// new ones arrive by rename (a new inode), never by rewriting in place
    /// (which a SIGKILL between truncate and write would leave torn).
    #[test]
    fn write_atomic_replaces_by_rename_leaving_the_old_inode_whole() {
        use std::io::{Read, Seek};
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("entry.json");
        let old = b"{\"old\": \"a value long enough to notice a truncation\"}";
        write_atomic(&p, old, 0o600, false).unwrap();
        let mut held = File::open(&p).unwrap();
        let old_ino = held.metadata().unwrap().ino();
        for durable in [false, true] {
            write_atomic(&p, b"{\"new\": 1}", 0o600, durable).unwrap();
            let mut seen = Vec::new();
            held.rewind().unwrap();
            held.read_to_end(&mut seen).unwrap();
            assert_eq!(seen, old, "the old inode was rewritten in place");
            let now = fs::metadata(&p).unwrap();
            assert_ne!(now.ino(), old_ino, "not replaced by rename");
            assert_eq!(fs::read(&p).unwrap(), b"{\"new\": 1}");
            assert_eq!(now.permissions().mode() & 0o777, 0o600);
        }
        let names: Vec<_> = fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["entry.json"], "temp files left behind");
    }

    /// A failed write (the directory is gone) reports the error and leaves
    /// no temp file.
    #[test]
    fn write_atomic_failure_is_reported() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("missing/entry.json");
        assert!(write_atomic(&p, b"x", 0o600, true).is_err());
        assert!(!p.exists());
    }

    /// Entries up to the size limit parse; one byte more is not ours.
    #[test]
    fn parse_entry_size_limit() {
        let limit = MAX_ENTRY_BYTES as usize;
        let mut at_limit = b"{\"x\": 1}".to_vec();
        at_limit.resize(limit, b' ');
        assert_eq!(parse_entry::<serde_json::Value>(&at_limit).unwrap()["x"], 1);
        at_limit.push(b' ');
        assert!(parse_entry::<serde_json::Value>(&at_limit).is_none());
        assert!(parse_entry::<serde_json::Value>(b"{").is_none());
    }

    /// `$MFACLI_CACHE_DIR` > `$XDG_CACHE_HOME/mfacli` > `~/.cache/mfacli`.
    #[test]
    fn default_dir_precedence() {
        let home = [("HOME", "/h")];
        assert_eq!(
            default_dir(&Env::from_pairs(home)),
            PathBuf::from("/h/.cache/mfacli")
        );
        let xdg = [("HOME", "/h"), ("XDG_CACHE_HOME", "/x")];
        assert_eq!(
            default_dir(&Env::from_pairs(xdg)),
            PathBuf::from("/x/mfacli")
        );
        let all = [
            ("HOME", "/h"),
            ("XDG_CACHE_HOME", "/x"),
            ("MFACLI_CACHE_DIR", "/m"),
        ];
        assert_eq!(default_dir(&Env::from_pairs(all)), PathBuf::from("/m"));
    }

    /// `remove` says whether there was an entry; other errors are errors.
    #[test]
    fn remove_reports_what_it_did() {
        let d = tempfile::tempdir().unwrap();
        let c = Cache::new(d.path().join("mfacli"));
        c.write("a.json", &serde_json::json!({"x": 1})).unwrap();
        assert!(c.remove("a.json").unwrap());
        assert!(!c.path("a.json").exists());
        assert!(!c.remove("a.json").unwrap());
        fs::create_dir(c.path("dir.json")).unwrap();
        assert!(c.remove("dir.json").is_err(), "a directory is not removed");
    }

    /// `entries` lists the `.json` entries with the prefix, sorted: no
    /// locks, temp files or other prefixes.
    #[test]
    fn entries_are_only_json_with_the_prefix() {
        let d = tempfile::tempdir().unwrap();
        let c = Cache::new(d.path().join("mfacli"));
        for n in ["role-b.json", "role-a.json", "session-x.json"] {
            c.write(n, &serde_json::json!({})).unwrap();
        }
        let _lock = c.lock("role-a", Duration::from_secs(1), || {}).unwrap();
        fs::write(c.path("role-c.json.tmp"), b"{}").unwrap();
        assert_eq!(c.entries("role-"), ["role-a.json", "role-b.json"]);
        assert_eq!(c.entries("").len(), 3);
    }

    /// Writers racing on one entry each get their own temp file: every
    /// write succeeds and the entry is always one of them, whole.
    #[test]
    fn concurrent_writes_of_one_entry_all_succeed() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("e.json");
        std::thread::scope(|s| {
            for t in 0..4 {
                let p = &p;
                s.spawn(move || {
                    for i in 0..50 {
                        let body = format!("{{\"t\": {t}, \"i\": {i}}}");
                        write_atomic(p, body.as_bytes(), 0o600, false).unwrap();
                    }
                });
            }
        });
        let v: serde_json::Value = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
        assert_eq!(v["i"], 49);
        assert_eq!(
            fs::read_dir(d.path()).unwrap().count(),
            1,
            "no temp files left"
        );
    }

    #[test]
    fn key_hash_is_stable_and_separates_parts() {
        assert_eq!(key_hash(&["a", "b"]), key_hash(&["a", "b"]));
        assert_ne!(key_hash(&["ab", "c"]), key_hash(&["a", "bc"]));
        assert_eq!(key_hash(&["x"]).len(), 20);
    }

    #[test]
    fn lock_refuses_a_lock_file_that_is_not_a_regular_file() {
        // A FIFO with a reader opens for writing at once, so only the
        // regular-file guard stands between it and a lock that means nothing.
        let d = tempfile::tempdir().unwrap();
        let c = Cache::new(d.path().join("cache"));
        c.ensure_dir().unwrap();
        let path = c.path("k.lock");
        let cpath = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo has no other preconditions.
        assert_eq!(unsafe { libc::mkfifo(cpath.as_ptr(), 0o600) }, 0);
        let _reader = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
            .unwrap();
        let got = c.lock("k", Duration::from_millis(100), || {}).unwrap();
        assert!(got.is_none(), "a FIFO is no lock file");
        assert!(fs::symlink_metadata(&path).unwrap().file_type().is_fifo());
    }

    /// A FIFO nobody reads, at a lock's path: opening it for writing
    /// would block forever (past any lock timeout); it is refused at once.
    #[test]
    fn lock_does_not_block_on_a_fifo_nobody_reads() {
        let d = tempfile::tempdir().unwrap();
        let c = Cache::new(d.path().join("cache"));
        c.ensure_dir().unwrap();
        let path = c.path("k.lock");
        let cpath = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo has no other preconditions.
        assert_eq!(unsafe { libc::mkfifo(cpath.as_ptr(), 0o600) }, 0);
        let (tx, rx) = std::sync::mpsc::channel();
        let c2 = c.clone();
        std::thread::spawn(move || {
            let got = c2.lock("k", Duration::from_millis(100), || {});
            let _ = tx.send(got.map(|g| g.is_some()));
        });
        let got = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("lock() blocked on a FIFO");
        assert!(!got.unwrap(), "a FIFO is no lock file");
    }

    #[test]
    fn lock_excludes_and_times_out() {
        let d = tempfile::tempdir().unwrap();
        let c = Cache::new(d.path().join("cache"));
        let g = c
            .lock("k", Duration::from_secs(1), || {})
            .unwrap()
            .expect("lockable");
        let mut waited = false;
        let err = c
            .lock("k", Duration::from_millis(100), || waited = true)
            .unwrap_err();
        assert!(!waited, "a wait shorter than WAIT_NOTICE_AFTER is silent");
        assert!(err.message.contains("gave up"), "{err}");
        drop(g);
        c.lock("k", Duration::from_millis(100), || {}).unwrap();
    }
}
