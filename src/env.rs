//! The process environment, read once at startup and passed to whatever
//! needs it, so tests can run the core with any environment in process.
//! Nothing else reads `std::env` (enforced by `clippy.toml`).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::error::UserError;

/// The environment mfacli sees: the process's own variables, plus those
/// mfacli sets (which hide the process's). Cloning shares it (a `set`
/// copies first): every command clones it into its sources.
#[derive(Debug, Clone, Default)]
pub(crate) struct Env {
    vars: Arc<Vars>,
}

#[derive(Debug, Clone, Default)]
struct Vars {
    /// The process's `NAME=value` entries as the C runtime holds them,
    /// looked up on demand: the cache hit reads a handful of variables, and
    /// copying each of a desktop's 50 to 100 into a map cost it more than
    /// all its own work (2 000 to 3 500 instructions a variable).
    process: Vec<&'static [u8]>,
    /// Variables set through [`Env::set`] (and tests' pairs).
    set: BTreeMap<OsString, OsString>,
}

impl Env {
    /// The real process environment. Called at start-up, before anything
    /// could change it; the entries are then read in place.
    pub(crate) fn capture() -> Self {
        Self {
            vars: Arc::new(Vars {
                process: process_entries(),
                set: BTreeMap::new(),
            }),
        }
    }

    /// An environment made of exactly these pairs (for tests).
    #[cfg(test)]
    pub(crate) fn from_pairs<K: Into<OsString>, V: Into<OsString>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: Arc::new(Vars {
                process: Vec::new(),
                set: pairs
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            }),
        }
    }

    /// Sets one variable (for tests and for values mfacli derives).
    pub(crate) fn set(&mut self, name: impl Into<OsString>, value: impl Into<OsString>) {
        Arc::make_mut(&mut self.vars)
            .set
            .insert(name.into(), value.into());
    }

    /// The raw value, empty or not. Of a name the process environment holds
    /// twice, the first (as `getenv` answers).
    pub(crate) fn var_os(&self, name: &str) -> Option<&OsStr> {
        if let Some(v) = self.vars.set.get(OsStr::new(name)) {
            return Some(v.as_os_str());
        }
        self.vars
            .process
            .iter()
            .find_map(|entry| value_of(entry, name.as_bytes()))
    }

    /// A non-empty value as a path.
    pub(crate) fn path(&self, name: &str) -> Option<PathBuf> {
        self.var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    }

    /// A value that is set and not blank. A value that is not UTF-8 is an
    /// error naming the variable: silently ignoring it would fall back to
    /// another source (e.g. the public STS endpoint) without a word.
    pub(crate) fn text(&self, name: &str) -> Result<Option<&str>, UserError> {
        match self.var_os(name) {
            None => Ok(None),
            Some(v) => match v.to_str() {
                Some(s) if s.trim().is_empty() => Ok(None),
                Some(s) => Ok(Some(s)),
                None => Err(UserError::new(format!(
                    "environment variable {name} is not valid UTF-8"
                ))
                .hint(format!("unset {name} or set it to a valid value"))),
            },
        }
    }

    /// Like [`Env::text`], treating a non-UTF-8 value as unset; for
    /// variables that only tune behaviour (`SHELL`, `NO_COLOR`).
    pub(crate) fn lossy(&self, name: &str) -> Option<&str> {
        self.text(name).ok().flatten()
    }

    /// The user's home directory: `$HOME`, else the password database.
    pub(crate) fn home(&self) -> PathBuf {
        self.path("HOME")
            .or_else(dirs::home_dir)
            .unwrap_or_else(|| PathBuf::from("/"))
    }

    /// Expands a leading `~` to [`Env::home`].
    pub(crate) fn expand_tilde(&self, p: PathBuf) -> PathBuf {
        match p.strip_prefix("~") {
            Ok(rest) => self.home().join(rest),
            Err(_) => p,
        }
    }

    /// Every variable once, in name order, for building a child's
    /// environment (the value [`Env::var_os`] gives).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        let mut all: BTreeMap<&OsStr, &OsStr> = self
            .vars
            .set
            .iter()
            .map(|(k, v)| (k.as_os_str(), v.as_os_str()))
            .collect();
        for entry in &self.vars.process {
            // As std and glibc split it: a name is never empty, so a `=`
            // in first place belongs to it; no `=` at all is no variable.
            if let Some(eq) = entry.iter().skip(1).position(|&b| b == b'=').map(|p| p + 1) {
                all.entry(OsStr::from_bytes(&entry[..eq]))
                    .or_insert(OsStr::from_bytes(&entry[eq + 1..]));
            }
        }
        all.into_iter()
    }
}

/// The value in `entry` (`NAME=value`) if its name is `name`.
fn value_of(entry: &'static [u8], name: &[u8]) -> Option<&'static OsStr> {
    let rest = entry.strip_prefix(name)?.strip_prefix(b"=")?;
    Some(OsStr::from_bytes(rest))
}

/// The process environment's entries, borrowed from the C runtime.
#[cfg(target_os = "linux")]
fn process_entries() -> Vec<&'static [u8]> {
    extern "C" {
        static environ: *const *const std::ffi::c_char;
    }
    let mut out = Vec::new();
    // SAFETY: `environ` is the NULL-terminated array of NUL-terminated
    // strings the C runtime sets up before `main`. The strings it points to
    // at start-up (on the initial stack) are never freed or changed: mfacli
    // never changes its own environment (`std::env::set_var` and
    // `remove_var` are refused by clippy.toml; children get theirs through
    // `Command::envs`), and glibc's and musl's `setenv` would replace the
    // array's pointers, not these strings. The array is read once, here.
    unsafe {
        let mut p = environ;
        if p.is_null() {
            return out;
        }
        while !(*p).is_null() {
            out.push(std::ffi::CStr::from_ptr(*p).to_bytes());
            p = p.add(1);
        }
    }
    out
}

/// Elsewhere, a copy made through std (first of a name kept, as getenv).
#[cfg(not(target_os = "linux"))]
#[allow(clippy::disallowed_methods)]
fn process_entries() -> Vec<&'static [u8]> {
    use std::os::unix::ffi::OsStrExt as _;
    std::env::vars_os()
        .map(|(k, v)| {
            let mut entry = k.as_bytes().to_vec();
            entry.push(b'=');
            entry.extend_from_slice(v.as_bytes());
            &*Box::leak(entry.into_boxed_slice())
        })
        .collect()
}

/// Held by a test that changes the process environment, and by one that
/// reads it in place (the two would race otherwise).
#[cfg(test)]
pub(crate) static PROCESS_ENV_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    /// Read in place, the process environment gives what std's copy gives,
    /// for each variable and for the whole (this test process's own).
    #[test]
    #[allow(clippy::disallowed_methods)]
    fn the_captured_environment_is_what_std_reads() {
        let _guard = PROCESS_ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let env = Env::capture();
        let from_std: BTreeMap<OsString, OsString> = std::env::vars_os().collect();
        assert!(from_std.len() > 3, "{from_std:?}");
        for (k, v) in &from_std {
            assert_eq!(
                env.var_os(k.to_str().unwrap()),
                Some(v.as_os_str()),
                "{k:?}"
            );
        }
        let ours: BTreeMap<OsString, OsString> = env
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(ours, from_std);
        assert_eq!(env.var_os("MFACLI_SURELY_UNSET_VARIABLE"), None);
        // A prefix of a name is not the name.
        let long = from_std
            .keys()
            .find(|k| k.len() > 2)
            .unwrap()
            .to_str()
            .unwrap();
        let short = &long[..long.len() - 1];
        assert_eq!(
            env.var_os(short),
            from_std.get(OsStr::new(short)).map(OsString::as_os_str)
        );
    }

    /// Set values hide the process's, in lookups and in a child's set.
    #[test]
    fn set_values_hide_the_process_ones() {
        let mut env = Env {
            vars: Arc::new(Vars {
                process: vec![b"A=1", b"B=2", b"A=3", b"=C=4", b"NOEQ", b"AB=5"],
                set: BTreeMap::new(),
            }),
        };
        assert_eq!(
            env.var_os("A"),
            Some(OsStr::new("1")),
            "the first, as getenv"
        );
        assert_eq!(env.var_os("AB"), Some(OsStr::new("5")));
        assert_eq!(env.var_os("NOEQ"), None);
        env.set("B", "two");
        assert_eq!(env.var_os("B"), Some(OsStr::new("two")));
        let all: Vec<(&OsStr, &OsStr)> = env.iter().collect();
        let pairs = |v: &[(&'static str, &'static str)]| -> Vec<(&OsStr, &OsStr)> {
            v.iter()
                .map(|(k, v)| (OsStr::new(*k), OsStr::new(*v)))
                .collect()
        };
        assert_eq!(
            all,
            pairs(&[("=C", "4"), ("A", "1"), ("AB", "5"), ("B", "two")])
        );
    }

    #[test]
    fn a_clone_is_independent_of_later_sets() {
        let mut a = Env::from_pairs([("A", "1")]);
        let b = a.clone();
        a.set("A", "2");
        a.set("B", "3");
        assert_eq!(b.var_os("A"), Some(OsStr::new("1")));
        assert_eq!(b.var_os("B"), None);
        assert_eq!(a.var_os("A"), Some(OsStr::new("2")));
    }

    #[test]
    fn text_skips_blank_and_names_non_utf8() {
        let mut env = Env::from_pairs([("A", " "), ("B", "x")]);
        env.set("C", OsString::from_vec(vec![0xff, 0xfe]));
        assert_eq!(env.text("A").unwrap(), None);
        assert_eq!(env.text("B").unwrap(), Some("x"));
        assert_eq!(env.text("MISSING").unwrap(), None);
        let e = env.text("C").unwrap_err();
        assert!(e.to_string().contains("C is not valid UTF-8"), "{e}");
        assert_eq!(env.lossy("C"), None);
    }

    #[test]
    fn home_and_tilde() {
        let env = Env::from_pairs([("HOME", "/h")]);
        assert_eq!(env.expand_tilde("~/x".into()), PathBuf::from("/h/x"));
        assert_eq!(env.expand_tilde("/y".into()), PathBuf::from("/y"));
    }
}
