//! One check function for the credentials-file editor, shared by the fuzz
//! target (`fuzz/fuzz_targets/credentials_editor.rs`) and the regression
//! replay of its seeds (`tests/integration/fuzz_regressions.rs`), so both
//! assert the same invariants. Not part of mfacli's API.
// Panicking is how a fuzz check reports a violated invariant.
#![allow(clippy::panic)]

use super::editor::{
    read_section, sections_of, set_keys_in_section, upsert_section, ProfileName, PROFILE_MARKER,
};

/// The marker the checks write.
const MARKER: &str = PROFILE_MARKER;

const NAMES: [&str; 6] = ["prod-temp", "default", "bastion", "other", "work", "p1"];

/// Derives a file, a profile name and a body from `input`, runs
/// `upsert_section` and `set_keys_in_section` on it, and asserts their
/// invariants. An `Err` is a valid
/// outcome (its message must be one line); a panic is a bug.
///
/// Layout of `input`: byte 0 holds flags (bit 0: force; bit 1: take the
/// name from one of the file's own headers; bit 2: use the `;` marker;
/// bits 4..7: which name). The rest is split at NUL bytes: the file text,
/// then the name, then `key=value` body entries (a default body if none).
/// Non-UTF-8 bytes are replaced, so every input reaches the editor.
pub fn check_upsert_invariants(input: &[u8]) {
    let Some(case) = derive(input) else {
        return;
    };
    let body: Vec<(&str, &str)> = case
        .body
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (text, name, marker, force) = (&case.text, &case.name, case.marker, case.force);
    // Sections as parsed must never panic, whatever the text.
    let before = sections_of(text);
    match set_keys_in_section(text, name, &body) {
        Ok(out) => check_set_keys_output(text, &out, name, &body, before.as_deref()),
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "multi-line error: {msg:?}");
        }
    }
    let out = match upsert_section(text, name, &body, marker, force) {
        Ok(out) => out,
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "multi-line error: {msg:?}");
            return;
        }
    };
    check_output(text, &out, name, &body, marker, before.as_deref());
}

type Sections = [(String, String, String)];

/// Every section but `name`, and the text before the first section, kept
/// byte for byte (when the section was appended, the one before it may only
/// gain line breaks); `name` present exactly once. Returns whether it was
/// appended.
fn check_others(text: &str, out: &str, name: &str, before: &Sections, after: &Sections) -> bool {
    let is_target = |s: &&(String, String, String)| s.0 == name || s.1 == name;
    let old: Vec<_> = before.iter().filter(|s| !is_target(s)).collect();
    let new: Vec<_> = after.iter().filter(|s| !is_target(s)).collect();
    let appended = !before.iter().any(|s| is_target(&s));
    assert_eq!(old.len(), new.len(), "section count changed");
    assert_eq!(after.iter().filter(is_target).count(), 1);
    for (i, (a, b)) in old.iter().zip(&new).enumerate() {
        assert_eq!((&a.0, &a.1), (&b.0, &b.1), "section {i} renamed");
        let last = i + 1 == old.len();
        if appended && last {
            let added = b.2.strip_prefix(a.2.as_str());
            assert!(
                added.is_some_and(|r| r.chars().all(|c| c == '\r' || c == '\n')),
                "last section changed beyond a line break"
            );
        } else {
            assert_eq!(a.2, b.2, "section {i} bytes changed");
        }
    }
    // Text before the first header is kept (it may gain line breaks when
    // the new section is the first one). Sections run to the end of the
    // text, so the preamble is what their bytes do not cover.
    let pre = |t: &str, s: &Sections| {
        let covered: usize = s.iter().map(|x| x.2.len()).sum();
        t[..t.len() - covered].to_owned()
    };
    let (p_in, p_out) = (pre(text, before), pre(out, after));
    if appended && before.is_empty() {
        let added = p_out.strip_prefix(p_in.as_str());
        assert!(added.is_some_and(|r| r.chars().all(|c| c == '\r' || c == '\n')));
    } else {
        assert_eq!(p_in, p_out, "preamble changed");
    }
    appended
}

/// The invariants of a successful [`set_keys_in_section`]: other sections
/// untouched; the section's other keys keep their values and its comment
/// and blank lines stay; both parsers read the new values; idempotent.
pub(crate) fn check_set_keys_output(
    text: &str,
    out: &str,
    name: &ProfileName,
    keys: &[(&str, &str)],
    before: Option<&Sections>,
) {
    let name_str = name.as_str();
    let Some(before) = before else {
        panic!("an edit succeeded on a text that does not lay out");
    };
    let Some(after) = sections_of(out) else {
        panic!("the output does not lay out: {out:?}");
    };
    let appended = check_others(text, out, name_str, before, &after);
    let Some((_, sdk, py)) = read_section(out, name_str) else {
        panic!("the section does not read back");
    };
    assert_eq!(sdk, py, "the parsers disagree on the section");
    let old = if appended {
        Vec::new()
    } else {
        match read_section(text, name_str) {
            Some((_, old, _)) => old,
            None => panic!("set_keys accepted a section it cannot read"),
        }
    };
    let mut want: Vec<(String, String)> = old
        .iter()
        .map(|(k, v)| {
            let nv = keys
                .iter()
                .find(|(key, _)| key.to_ascii_lowercase() == *k)
                .map_or(v.as_str(), |(_, nv)| nv);
            (k.clone(), nv.to_owned())
        })
        .collect();
    for (k, v) in keys {
        let k = k.to_ascii_lowercase();
        if !want.iter().any(|(w, _)| *w == k) {
            want.push((k, (*v).to_owned()));
        }
    }
    assert_eq!(sdk, want, "set_keys: values read back");
    // Comment and blank lines of the section are all still there, in order.
    let trivia = |t: &str| -> Vec<String> {
        let Some(s) = sections_of(t).and_then(|s| s.into_iter().find(|s| s.0 == name_str)) else {
            return Vec::new();
        };
        s.2.split('\n')
            .skip(1)
            .map(|l| l.trim_end_matches('\r'))
            .filter(|l| {
                let t = l.trim_matches([' ', '\t']);
                t.is_empty() || l.starts_with(['#', ';'])
            })
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        trivia(text),
        trivia(out),
        "set_keys: a comment line changed"
    );
    match set_keys_in_section(out, name, keys) {
        Ok(again) => assert_eq!(again, out, "set_keys: not idempotent"),
        Err(e) => panic!("re-applying set_keys failed: {e}"),
    }
}

/// An edit derived from fuzz input (see [`check_upsert_invariants`]).
pub(crate) struct Derived {
    pub(crate) text: String,
    pub(crate) name: ProfileName,
    pub(crate) body: Vec<(String, String)>,
    pub(crate) marker: &'static str,
    pub(crate) force: bool,
}

pub(crate) fn derive(input: &[u8]) -> Option<Derived> {
    let (&flags, rest) = input.split_first()?;
    let mut parts = rest.split(|&b| b == 0);
    let text = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let raw_name = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let mut body: Vec<(String, String)> = parts
        .take(8)
        .map(|p| {
            let p = String::from_utf8_lossy(p);
            match p.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None => (p.into_owned(), String::new()),
            }
        })
        .collect();
    if body.is_empty() {
        body = [
            ("aws_access_key_id", "ASIAEXAMPLEEXAMPLE00"),
            ("aws_secret_access_key", "c2VjcmV0L3NlY3JldCtzZWNyZXQ="),
            ("aws_session_token", "dG9rZW4/dG9rZW4=="),
            ("expiration", "2030-01-01T00:00:00Z"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    }
    let pick = usize::from(flags >> 4);
    let from_file = (flags & 2 != 0)
        .then(|| sections_of(&text))
        .flatten()
        .and_then(|s| s.get(pick % s.len().max(1)).map(|s| s.0.clone()))
        .and_then(|n| ProfileName::new(&n).ok());
    let name = match from_file.or_else(|| ProfileName::new(&raw_name).ok()) {
        Some(n) => n,
        None => match ProfileName::new(NAMES[pick % NAMES.len()]) {
            Ok(n) => n,
            Err(e) => panic!("a fixed name was refused: {e}"),
        },
    };
    Some(Derived {
        text,
        name,
        body,
        marker: if flags & 4 != 0 { "; mfacli" } else { MARKER },
        force: flags & 1 != 0,
    })
}

/// The invariants of a successful edit, checked from the outside.
pub(crate) fn check_output(
    text: &str,
    out: &str,
    name: &ProfileName,
    body: &[(&str, &str)],
    marker: &str,
    before: Option<&[(String, String, String)]>,
) {
    let name = name.as_str();
    let Some(before) = before else {
        panic!("an edit succeeded on a text that does not lay out");
    };
    let Some(after) = sections_of(out) else {
        panic!("the output does not lay out: {out:?}");
    };
    check_others(text, out, name, before, &after);
    // The section reads back as exactly the marker and the body.
    let Some((first, sdk, py)) = read_section(out, name) else {
        panic!("the section does not read back");
    };
    assert_eq!(first, marker);
    let want: Vec<(String, String)> = body
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), (*v).to_owned()))
        .collect();
    assert_eq!(sdk, want, "SDK view");
    assert_eq!(py, want, "botocore view");
    // New lines use the file's line ending.
    if text.split('\n').next().is_some_and(|l| l.ends_with('\r')) && text.contains('\n') {
        let header = format!("[{name}]\r\n");
        assert!(out.contains(&header), "CRLF not kept");
    }
    // Writing the same thing again changes nothing.
    match upsert_section(
        out,
        &ProfileName::new(name).unwrap_or_else(|e| panic!("{e}")),
        body,
        marker,
        false,
    ) {
        Ok(again) => assert_eq!(again, out, "not idempotent"),
        Err(e) => panic!("re-applying the edit failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::check_upsert_invariants;

    #[test]
    fn smoke() {
        check_upsert_invariants(b"");
        check_upsert_invariants(b"\x00[a]\nk=v\n\x00prod-temp");
        check_upsert_invariants(b"\x02[bastion] ; c\r\nk=v\r\n[p]\r\n# managed\r\n");
        check_upsert_invariants(b"\x01[a]\nk=v\x00a\x00x=1\x00y=2");
        check_upsert_invariants(b"\x00\r\x00a");
        check_upsert_invariants(b"\x00[a]\n\x00a\x00k=a\nb");
    }
}
