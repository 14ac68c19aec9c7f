//! The on-disk cache: one small JSON file per MFA session or per target's
//! role credentials, 0600 in a 0700 directory, written by temp file +
//! rename so a reader sees the old file or the new one, never a torn one.
//! Fetches are serialised across processes with per-entry file locks.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::env::Env;
use crate::error::UserError;

/// Cache files are tiny; anything bigger is not ours.
const MAX_ENTRY_BYTES: u64 = 64 * 1024;

/// `$MFACLI_CACHE_DIR` > `$XDG_CACHE_HOME/mfacli` > `~/.cache/mfacli`.
pub fn default_dir(env: &Env) -> PathBuf {
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
    h.finalize()[..10]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Parses a cache file's bytes; anything oversized or malformed is `None`.
pub fn parse_entry<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    if bytes.len() as u64 > MAX_ENTRY_BYTES {
        return None;
    }
    serde_json::from_slice(bytes).ok()
}

/// How long a lock wait stays silent before `on_wait` is called.
pub const WAIT_NOTICE_AFTER: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Reads an entry; anything unreadable or unparsable is a miss.
    pub fn read<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        let mut f = File::open(self.path(name)).ok()?;
        let mut buf = Vec::new();
        Read::by_ref(&mut f)
            .take(MAX_ENTRY_BYTES + 1)
            .read_to_end(&mut buf)
            .ok()?;
        parse_entry(&buf)
    }

    /// Creates the directory 0700. An existing directory that others can
    /// enter is refused, not chmod-ed: MFACLI_CACHE_DIR may point at a
    /// shared directory (even /tmp), which is not ours to change.
    pub fn ensure_dir(&self) -> io::Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)?;
        let mode = fs::metadata(&self.dir)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "the cache directory has mode {mode:04o}, so other users could read credentials; run `chmod 700 {}` or set MFACLI_CACHE_DIR",
                    self.dir.display()
                ),
            ));
        }
        Ok(())
    }

    /// Writes an entry atomically with mode 0600.
    pub fn write<T: Serialize>(&self, name: &str, value: &T) -> io::Result<()> {
        let bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
        self.ensure_dir()?;
        write_atomic(&self.path(name), &bytes, 0o600, false)
    }

    pub fn remove(&self, name: &str) -> io::Result<bool> {
        match fs::remove_file(self.path(name)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Names of entries (not locks or temp files) starting with `prefix`.
    pub fn entries(&self, prefix: &str) -> Vec<String> {
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

    /// Takes the exclusive lock for `name`, waiting up to `timeout`. The OS
    /// releases it if the holder dies, so a killed process never blocks others.
    /// `Ok(None)` if the lock file cannot be created at all (read-only or
    /// full cache directory): the caller goes on without the lock, since
    /// returning credentials matters more than deduplicating STS calls.
    /// Takes the lock `name`, waiting up to `timeout`; `on_wait` is called
    /// once if the wait lasts [`WAIT_NOTICE_AFTER`].
    pub fn lock(
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
        let Ok(file) = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
        else {
            return Ok(None);
        };
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
pub struct LockGuard {
    _file: File,
}

/// Temp file in the same directory, then rename: readers and a process
/// killed mid-write never see a partial file. Cache entries skip fsync
/// (after a power loss one can at worst be empty or stale, which reads as
/// a miss); user files (`durable`) are synced, since losing
/// ~/.aws/credentials would lose the long-term keys.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32, durable: bool) -> io::Result<()> {
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
    fn key_hash_is_stable_and_separates_parts() {
        assert_eq!(key_hash(&["a", "b"]), key_hash(&["a", "b"]));
        assert_ne!(key_hash(&["ab", "c"]), key_hash(&["a", "bc"]));
        assert_eq!(key_hash(&["x"]).len(), 20);
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
