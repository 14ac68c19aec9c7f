//! Errors a person can act on: what went wrong, and a hint how to fix it.

use std::fmt;

/// An error caused by input or environment, shown as one short message plus
/// an optional hint. Never carries a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserError {
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
    /// A bad flag or value on the command line: exit code 2, like clap's
    /// own usage errors (the one place deciding is `crate::main`).
    pub(crate) usage: bool,
}

impl UserError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
            usage: false,
        }
    }
    /// Marks this as a usage error (exit code 2).
    pub(crate) fn usage(mut self) -> Self {
        self.usage = true;
        self
    }
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for UserError {}

/// Levenshtein distance, for "did you mean" suggestions.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest candidate, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("sesion_duration", ["session_duration", "region"]),
            Some("session_duration")
        );
        assert_eq!(did_you_mean("zzz", ["session_duration", "region"]), None);
    }
}
