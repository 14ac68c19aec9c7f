//! The process environment, read once at startup and passed to whatever
//! needs it, so tests can run the core with any environment in process.
//! Nothing else reads `std::env` (enforced by `clippy.toml`).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::sync::Arc;

use crate::error::UserError;

/// A snapshot of environment variables. Cloning shares the snapshot (a
/// `set` copies it first): every command clones it into its sources, and the
/// cache-hit path should not copy every variable to do so.
#[derive(Debug, Clone, Default)]
pub(crate) struct Env {
    vars: Arc<BTreeMap<OsString, OsString>>,
}

impl Env {
    /// The real process environment, read once.
    #[allow(clippy::disallowed_methods)]
    pub(crate) fn capture() -> Self {
        Self {
            vars: Arc::new(std::env::vars_os().collect()),
        }
    }

    /// An environment made of exactly these pairs (for tests).
    #[cfg(test)]
    pub(crate) fn from_pairs<K: Into<OsString>, V: Into<OsString>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: Arc::new(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
        }
    }

    /// Sets one variable (for tests and for values mfacli derives).
    pub(crate) fn set(&mut self, name: impl Into<OsString>, value: impl Into<OsString>) {
        Arc::make_mut(&mut self.vars).insert(name.into(), value.into());
    }

    /// The raw value, empty or not.
    pub(crate) fn var_os(&self, name: &str) -> Option<&OsStr> {
        self.vars.get(OsStr::new(name)).map(OsString::as_os_str)
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

    /// Every variable, for building a child's environment.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&OsStr, &OsStr)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.as_os_str(), v.as_os_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

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
