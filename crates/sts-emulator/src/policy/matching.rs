//! Matching: IAM's wildcards (`*` any run, `?` one character), policy
//! variables (`${aws:username}`, `${key, 'default'}`, `${*}` `${?}` `${$}`)
//! resolved against the request context, and principals.

use super::conditions::known_key;
use super::{ConditionContext, Principal};

/// One token of a resolved pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tok {
    Char(char),
    /// `*`: any run of characters, including none.
    Star,
    /// `?`: exactly one character.
    One,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Star,
    One,
    /// A policy variable: the key (lower-cased) and its default value.
    Var {
        key: String,
        default: Option<String>,
    },
}

/// A pattern as written in a policy, parsed once at load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pattern {
    pieces: Vec<Piece>,
}

impl Pattern {
    /// `variables`: `${...}` is a policy variable (2012-10-17 policies);
    /// `wildcards`: `*` and `?` are wildcards (else literal characters).
    pub(super) fn parse(text: &str, variables: bool, wildcards: bool) -> Result<Pattern, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if variables && rest.starts_with("${") {
                let Some(end) = rest.find('}') else {
                    return Err(format!("{text:?} has an unterminated policy variable"));
                };
                let inner = &rest[2..end];
                rest = &rest[end + 1..];
                match inner.trim() {
                    // The escapes for characters that would otherwise be special.
                    "*" => literal.push('*'),
                    "?" => literal.push('?'),
                    "$" => literal.push('$'),
                    _ => {
                        if !literal.is_empty() {
                            pieces.push(Piece::Text(std::mem::take(&mut literal)));
                        }
                        pieces.push(parse_variable(text, inner)?);
                    }
                }
                continue;
            }
            rest = &rest[c.len_utf8()..];
            match c {
                '*' if wildcards => {
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Star);
                }
                '?' if wildcards => {
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::One);
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Pattern { pieces })
    }

    /// Whether the pattern uses a policy variable.
    pub(super) fn has_variables(&self) -> bool {
        self.pieces.iter().any(|p| matches!(p, Piece::Var { .. }))
    }

    /// The pattern with its variables replaced; `None` when a variable has
    /// no single value and no default (IAM then finds no match). Text a
    /// variable brings in is literal, never a wildcard.
    pub(super) fn resolve(&self, context: &ConditionContext) -> Option<Vec<Tok>> {
        let mut out = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(s) => out.extend(s.chars().map(Tok::Char)),
                Piece::Star => out.push(Tok::Star),
                Piece::One => out.push(Tok::One),
                Piece::Var { key, default } => {
                    let value = match context.get(key) {
                        Some([one]) => one.as_str(),
                        // Absent or multi-valued: only a default helps.
                        _ => default.as_deref()?,
                    };
                    out.extend(value.chars().map(Tok::Char));
                }
            }
        }
        Some(out)
    }

    /// The resolved pattern as plain text (wildcards as `*` and `?`).
    pub(super) fn resolve_text(&self, context: &ConditionContext) -> Option<String> {
        self.resolve(context).map(|toks| {
            toks.iter()
                .map(|t| match t {
                    Tok::Char(c) => *c,
                    Tok::Star => '*',
                    Tok::One => '?',
                })
                .collect()
        })
    }

    /// The literal text when the pattern has no variables (checked at load).
    pub(super) fn literal(&self) -> Option<String> {
        if self.has_variables() {
            return None;
        }
        self.resolve_text(&ConditionContext::default())
    }

    pub(super) fn matches(&self, text: &str, context: &ConditionContext) -> bool {
        self.resolve(context)
            .is_some_and(|toks| glob(&toks, &text.chars().collect::<Vec<_>>()))
    }
}

/// `key` or `key, 'default'` (the default's `''` is one quote).
fn parse_variable(text: &str, inner: &str) -> Result<Piece, String> {
    let (key, default) = match inner.split_once(',') {
        None => (inner.trim(), None),
        Some((key, default)) => {
            let d = default.trim();
            let body = d
                .strip_prefix('\'')
                .and_then(|d| d.strip_suffix('\''))
                .filter(|b| !b.replace("''", "").contains('\''))
                .ok_or_else(|| {
                    format!(
                        "{text:?} has a malformed policy variable default (write ${{key, 'text'}})"
                    )
                })?;
            (key.trim(), Some(body.replace("''", "'")))
        }
    };
    let Some(name) = known_key(key) else {
        return Err(format!(
            "{text:?} uses the policy variable ${{{key}}}, which is not supported (supported: the condition keys listed in the emulator's README, and ${{*}} ${{?}} ${{$}})"
        ));
    };
    Ok(Piece::Var {
        key: name.to_ascii_lowercase(),
        default,
    })
}

/// Glob match, linear with backtracking to the last `*`.
pub(super) fn glob(pattern: &[Tok], text: &[char]) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < text.len() {
        match pattern.get(pi) {
            Some(Tok::Star) => {
                pi += 1;
                backtrack = Some((pi, ti));
            }
            Some(Tok::One) => {
                pi += 1;
                ti += 1;
            }
            Some(Tok::Char(c)) if *c == text[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match backtrack {
                Some((star_p, star_t)) => {
                    pi = star_p;
                    ti = star_t + 1;
                    backtrack = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[pi..].iter().all(|t| *t == Tok::Star)
}

/// Plain-string glob (`*`, `?`), for tests.
#[cfg(test)]
pub(super) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let toks: Vec<Tok> = pattern
        .chars()
        .map(|c| match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            c => Tok::Char(c),
        })
        .collect();
    glob(&toks, &text.chars().collect::<Vec<_>>())
}

/// ArnEquals/ArnLike: the six `:`-separated parts matched one by one (the
/// last part keeps its colons), each with wildcards, case-sensitively.
pub(super) fn arn_match(pattern: &[Tok], arn: &str) -> bool {
    let pattern_parts: Vec<&[Tok]> = {
        let mut parts = Vec::new();
        let mut start = 0;
        for (i, t) in pattern.iter().enumerate() {
            if parts.len() < 5 && *t == Tok::Char(':') {
                parts.push(&pattern[start..i]);
                start = i + 1;
            }
        }
        parts.push(&pattern[start..]);
        parts
    };
    let arn_parts: Vec<&str> = arn.splitn(6, ':').collect();
    if pattern_parts.len() != 6 || arn_parts.len() != 6 {
        return false;
    }
    pattern_parts
        .iter()
        .zip(&arn_parts)
        .all(|(p, a)| glob(p, &a.chars().collect::<Vec<_>>()))
}

/// A principal as a trust policy names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PrincipalPattern {
    /// `"*"`: anyone.
    Any,
    /// A bare account id or an account root ARN: any principal in that
    /// account. The partition is known only when it was written as an ARN.
    Account {
        id: String,
        partition: Option<String>,
    },
    /// A user, role or assumed-role session ARN, matched exactly.
    Arn(String),
}

impl PrincipalPattern {
    pub(super) fn matches(&self, principal: &Principal) -> bool {
        match self {
            PrincipalPattern::Any => true,
            PrincipalPattern::Account { id, partition } => {
                // Account ids are only unique within a partition.
                *id == principal.account
                    && partition
                        .as_deref()
                        .is_none_or(|p| principal.arn.split(':').nth(1) == Some(p))
            }
            PrincipalPattern::Arn(arn) => *arn == principal.arn,
        }
    }
}
