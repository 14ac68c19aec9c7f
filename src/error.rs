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

/// Text from the other side of the network (an STS or IAM error message, a
/// federation error page, a device serial from IAM) made safe to show on
/// one line of a terminal: escape sequences (CSI, OSC, DCS and the other
/// `ESC x` forms, 7- and 8-bit) are dropped with their parameters, other
/// control and bidi-override characters too, and line breaks and tabs
/// become spaces, so a remote answer can neither repaint the terminal nor
/// fake a line of mfacli's own output.
pub(crate) fn remote_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        // Which escape form starts here, if any: CSI runs to a final byte
        // (0x40-0x7E); OSC, DCS, SOS, PM and APC run to BEL or ST.
        let form = match c {
            '\u{1b}' => match chars.next() {
                Some('[') => Some(true),
                Some(']' | 'P' | 'X' | '^' | '_') => Some(false),
                _ => None, // `ESC x`: both dropped
            },
            '\u{9b}' => Some(true),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => Some(false),
            _ => {
                if c == '\n' || c == '\r' || c == '\t' {
                    out.push(' ');
                } else if !c.is_control() && !is_bidi_control(c) {
                    out.push(c);
                }
                continue;
            }
        };
        match form {
            Some(true) => {
                for p in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&p) {
                        break;
                    }
                }
            }
            Some(false) => {
                while let Some(p) = chars.next() {
                    if p == '\u{7}' || p == '\u{9c}' {
                        break;
                    }
                    if p == '\u{1b}' && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            None => {}
        }
    }
    out
}

/// The Unicode bidi embedding, override and isolate controls, which can
/// reorder what a terminal shows.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}')
}

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
    fn remote_text_keeps_no_terminal_control() {
        let cases = [
            ("Access denied", "Access denied"),
            ("red \u{1b}[31mFAKE\u{1b}[0m end", "red FAKE end"),
            ("\u{1b}[2J\u{1b}[1;1Hclean", "clean"),
            ("title \u{1b}]0;pwned\u{7}after", "title after"),
            (
                "link \u{1b}]8;;http://x\u{1b}\\text\u{1b}]8;;\u{1b}\\",
                "link text",
            ),
            ("dcs \u{1b}Pq#0\u{1b}\\x", "dcs x"),
            ("8-bit \u{9b}31mCSI", "8-bit CSI"),
            ("8-bit \u{9d}0;t\u{9c}OSC", "8-bit OSC"),
            ("esc \u{1b}cRIS", "esc RIS"),
            (
                "line\r\nmfacli: error: fake\tx",
                "line  mfacli: error: fake x",
            ),
            ("bell\u{7} bs\u{8} del\u{7f} nul\u{0}", "bell bs del nul"),
            ("bidi \u{202e}txt.exe\u{2066}", "bidi txt.exe"),
            ("unterminated \u{1b}]0;title", "unterminated "),
            ("caf\u{e9} \u{2713}", "caf\u{e9} \u{2713}"),
        ];
        for (input, expected) in cases {
            assert_eq!(remote_text(input), expected, "{input:?}");
        }
    }
    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("sesion_duration", ["session_duration", "region"]),
            Some("session_duration")
        );
        assert_eq!(did_you_mean("zzz", ["session_duration", "region"]), None);
    }
}
