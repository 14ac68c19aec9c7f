//! A comment-preserving editor for one section of `~/.aws/credentials`.
//!
//! [`upsert_section`] replaces (or appends) one profile section that mfacli
//! manages (`assume --write-profile`); [`set_keys_in_section`] sets some keys
//! in a section and keeps every other line of it (the bastion's long-term
//! keys, for `rotate`). Both keep every other byte of the file: comments,
//! blank lines, line endings (LF or CRLF), a missing final newline, and the
//! exact bytes of every other section. They are pure (text in, text out);
//! [`super::writer`] does the I/O under a lock.
//!
//! # How section headers are recognised
//!
//! Two parsers read this file and both must see the same sections, so this
//! module carries a model of each and refuses to edit a file on which they
//! disagree about which lines are section headers. Refusing is the safe
//! choice: a wrong guess is what deleted another profile's keys (a header
//! with a trailing comment was taken for a body line) and what appended a
//! second `[other]` that botocore then rejected as a duplicate.
//!
//! **AWS SDK for Rust** (`aws-runtime` `env_config/parse.rs`, used by
//! `aws-config`): lines are split by `str::lines` (LF or CRLF). A line that
//! is empty after trimming spaces and tabs is skipped; a line whose *first
//! byte* is `#` or `;` is a comment; a line whose first byte is `[` is a
//! header; any other line starting with a space or tab is a continuation;
//! the rest are properties. For a header, the line is trimmed (space/tab),
//! cut at the first `#` or `;` (no whitespace needed before it), trimmed
//! again, and must then end with `]`, or the whole file fails to parse. The
//! name is what lies between the brackets, normalised in `normalize.rs`:
//! trimmed of spaces and tabs; if a space or tab remains inside it is a
//! `prefix name` pair (ignored in a credentials file); otherwise it is also
//! trimmed of Unicode whitespace. Sections whose names normalise to the
//! same string are **merged** (`[ bastion]` adds to `[bastion]`).
//!
//! **botocore** (`configloader.raw_config_parse`: Python's
//! `configparser.RawConfigParser` with its defaults): lines are split by
//! Python's universal newlines (LF, CRLF *and a lone CR*). A line that is
//! empty or whose stripped text starts with `#` or `;` is skipped (indented
//! comments too); there are no inline comments. A line indented deeper than
//! the current option line continues that option's value, even if it looks
//! like a header. Otherwise the stripped line is a header when it matches
//! `\[(?P<header>.+)\]` from its start: the name is everything between the
//! first `[` and the *last* `]`, not trimmed, so `[bastion] ; IAM user` is
//! `bastion` but `[ bastion ]` is ` bastion ` (a different profile), and
//! `[a] # see [b]` is `a] # see [b`. A name seen twice fails the whole file
//! (`strict=True`), and `[DEFAULT]` is configparser's defaults section,
//! whose keys every other profile inherits. "Whitespace" is Python's
//! `str.isspace`: Rust's `char::is_whitespace` plus U+001C..U+001F.
//!
//! **Where they differ and what this module does:**
//! - A lone CR is a line break to botocore only: such a file is refused.
//! - A line that is a header to one parser only (an indented `[x]` outside
//!   a value, `[]`, `[#]`, `[a;b]`, an unterminated `[a`) makes the file
//!   ambiguous: refused, naming the line.
//! - A header whose name differs between the parsers (`[ p ]`, `[p] # [x]`)
//!   is refused when either name is the one being edited; any header whose
//!   normalised (SDK) or raw (botocore) name equals the target counts as the
//!   target, so two of them are refused as a duplicate rather than merged.
//! - Profile names are limited to the SDK's identifier set,
//!   `[A-Za-z0-9_-/.%@:+]` (other names are ignored by the SDK or read
//!   differently); `DEFAULT` is refused (botocore would apply its keys to
//!   every profile). Body keys also exclude `:` (a delimiter to botocore).
//! - Values must survive both parsers unchanged: no control characters, no
//!   whitespace but inner spaces, and no `#`/`;` at the start or after a
//!   space (the SDK's inline comments).
//!
//! After building the output, both texts are parsed again and the output is
//! refused unless every other section (and the text before the first
//! header) is byte-for-byte unchanged and the edited section holds exactly
//! the marker and the body under both models.

use std::fmt;

/// Whitespace to the AWS SDK's profile parser (`parse.rs` `WHITESPACE`).
const SDK_WS: &[char] = &[' ', '\t'];

/// Whitespace to Python's `str.strip` / `\s` on `str`: Rust's Unicode
/// `White_Space` plus the four "information separators" U+001C..U+001F.
fn py_is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn py_strip(s: &str) -> &str {
    s.trim_matches(py_is_space)
}

/// The first line of every section `assume --write-profile` writes: a
/// section without it is the user's own and is replaced only with `--force`.
pub(crate) const PROFILE_MARKER: &str =
    "# managed by mfacli: rewritten by `mfacli assume --write-profile`";

/// A validated, normalised profile (section) name.
///
/// The name is trimmed the way both AWS parsers see a header's name, so a
/// caller comparing `ProfileName`s (for example to refuse writing over the
/// bastion profile) compares what the parsers compare: `" bastion"` and
/// `"bastion"` are equal here because `[ bastion]` is merged into
/// `[bastion]` by the AWS SDKs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct ProfileName(String);

impl ProfileName {
    /// Normalises (trims surrounding whitespace) and validates `raw`.
    ///
    /// Accepted: one or more of `A-Z a-z 0-9 _ - / . % @ : +`, the SDK's
    /// identifier set, which excludes `[`, `]`, `#`, `;`, `=`, whitespace
    /// and control characters. `DEFAULT` is refused: to botocore it is
    /// configparser's defaults section, inherited by every profile.
    pub(crate) fn new(raw: &str) -> Result<Self, EditError> {
        let invalid = |reason| EditError::InvalidName {
            name: raw.to_owned(),
            reason,
        };
        // A tab is whitespace the SDK trims from a header's name; every other
        // control character (CR and LF above all) is refused outright.
        if raw.chars().any(|c| c.is_control() && c != '\t') {
            return Err(invalid("it contains a control character or a line break"));
        }
        let name = raw.trim();
        if name.is_empty() {
            return Err(invalid("it is empty"));
        }
        if !name.chars().all(is_name_char) {
            return Err(invalid(
                "profile names may contain only letters, digits and _ - / . % @ : + (the AWS SDKs ignore other names)",
            ));
        }
        if name == "DEFAULT" {
            return Err(invalid(
                "[DEFAULT] is botocore's defaults section: its keys would apply to every profile",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    /// The normalised name, as written between the brackets.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | '.' | '%' | '@' | ':' | '+')
}

/// Keys: the SDK's identifier set without `:`, which botocore takes as the
/// key/value delimiter.
fn is_key_char(c: char) -> bool {
    is_name_char(c) && c != ':'
}

/// Why an edit was refused. `Display` is one line, names the section, and
/// never includes a value (values are secrets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EditError {
    /// The requested profile name is not usable.
    InvalidName { name: String, reason: &'static str },
    /// A body key is empty or has a character outside `[A-Za-z0-9_-/.%@+]`.
    InvalidKey { section: String, key: String },
    /// A body key appears twice (keys are case-insensitive to both parsers).
    DuplicateKey { section: String, key: String },
    /// A body value would not survive the parsers unchanged (or could
    /// inject lines); the value itself is never shown.
    InvalidValue {
        section: String,
        key: String,
        reason: &'static str,
    },
    /// The marker must be one comment line (`#` or `;` first).
    InvalidMarker { section: String },
    /// The section exists and does not carry the marker; `force` not given.
    NotManaged { section: String },
    /// The section's header appears more than once (1-based line numbers).
    DuplicateSection { section: String, lines: Vec<usize> },
    /// A carriage return not followed by a line feed: a line break to
    /// botocore but not to the AWS SDKs.
    BareCarriageReturn { section: String, line: usize },
    /// The two AWS parsers read a line differently (1-based line number).
    AmbiguousHeader {
        section: String,
        line: usize,
        detail: String,
    },
    /// The edited text failed the re-parse check; nothing may be written.
    Verification { section: String, detail: String },
    /// [`set_keys_in_section`]: a key to set is on more than one line of
    /// the section (1-based line numbers).
    KeyRepeated {
        section: String,
        key: String,
        lines: Vec<usize>,
    },
    /// [`set_keys_in_section`]: the section's body is not plain
    /// `key = value` lines that both parsers read alike (an indented
    /// continuation line, a `key: value` line, a line without `=`).
    UnsupportedBody { section: String },
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::InvalidName { name, reason } => {
                write!(f, "invalid profile name {:?}: {reason}", name)
            }
            EditError::InvalidKey { section, key } => write!(
                f,
                "cannot write [{section}]: key {key:?} must be non-empty and use only letters, digits and _ - / . % @ +"
            ),
            EditError::DuplicateKey { section, key } => {
                write!(f, "cannot write [{section}]: key {key:?} is given twice")
            }
            EditError::InvalidValue {
                section,
                key,
                reason,
            } => write!(
                f,
                "cannot write [{section}]: the value of {key:?} {reason}; refusing to write it to the credentials file"
            ),
            EditError::InvalidMarker { section } => write!(
                f,
                "cannot write [{section}]: the marker must be a single comment line starting with # or ;"
            ),
            EditError::NotManaged { section } => write!(
                f,
                "section [{section}] exists and was not written by mfacli (it has no `# managed by mfacli` line); not replacing it"
            ),
            EditError::DuplicateSection { section, lines } => {
                let lines: Vec<String> = lines.iter().map(usize::to_string).collect();
                write!(
                    f,
                    "section [{section}] appears more than once (lines {}); the AWS parsers merge or reject such files, so it is not edited: remove the extra copies first",
                    lines.join(", ")
                )
            }
            EditError::BareCarriageReturn { section, line } => write!(
                f,
                "cannot edit [{section}]: line {line} contains a carriage return without a line feed, which botocore and the AWS SDKs read differently; fix the line endings first"
            ),
            EditError::AmbiguousHeader {
                section,
                line,
                detail,
            } => write!(f, "cannot edit [{section}]: line {line} {detail}; fix that line first"),
            EditError::Verification { section, detail } => write!(
                f,
                "refusing to write [{section}]: the edited file failed its check ({detail}); the file was left unchanged"
            ),
            EditError::KeyRepeated {
                section,
                key,
                lines,
            } => {
                let lines: Vec<String> = lines.iter().map(usize::to_string).collect();
                write!(
                    f,
                    "cannot edit [{section}]: key {key:?} is set more than once in it (lines {}); remove the extra lines first",
                    lines.join(", ")
                )
            }
            EditError::UnsupportedBody { section } => write!(
                f,
                "cannot edit [{section}]: its lines are not all plain `key = value` lines (an indented continuation, a `key: value` line or a line without `=`), which the AWS parsers read differently; edit it by hand"
            ),
        }
    }
}

impl std::error::Error for EditError {}

/// One line of the input: its text without terminator, and the terminator
/// (`""` only for a last line without a newline).
#[derive(Clone, Copy, Debug)]
struct Line<'a> {
    start: usize,
    text: &'a str,
    eol: &'a str,
}

impl Line<'_> {
    fn end(&self) -> usize {
        self.start + self.text.len() + self.eol.len()
    }
}

/// Splits into lines at LF and CRLF. A CR anywhere else is an error
/// (returned as the 1-based line number), because botocore would break the
/// line there and the SDK would not.
fn split_lines(text: &str) -> Result<Vec<Line<'_>>, usize> {
    let mut lines = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let rest = &text[start..];
        let (body_len, eol_len) = match rest.find('\n') {
            Some(i) if i > 0 && rest.as_bytes()[i - 1] == b'\r' => (i - 1, 2),
            Some(i) => (i, 1),
            None => (rest.len(), 0),
        };
        let line = Line {
            start,
            text: &rest[..body_len],
            eol: &rest[body_len..body_len + eol_len],
        };
        if line.text.contains('\r') {
            return Err(lines.len() + 1);
        }
        start = line.end();
        lines.push(line);
    }
    Ok(lines)
}

/// How the AWS SDK's parser classifies a line (see the module docs).
#[derive(Debug, PartialEq, Eq)]
enum SdkLine<'a> {
    /// Blank or a column-0 comment.
    Trivia,
    /// A header and the raw text between its brackets.
    Header(&'a str),
    /// Starts with `[` but is not a valid header: fails the whole file.
    BadHeader,
    /// A property or continuation line.
    Other,
}

fn sdk_classify(line: &str) -> SdkLine<'_> {
    if line.trim_matches(SDK_WS).is_empty() || line.starts_with(['#', ';']) {
        return SdkLine::Trivia;
    }
    if !line.starts_with('[') {
        return SdkLine::Other;
    }
    let trimmed = line.trim_matches(SDK_WS);
    let cut = trimmed.find(['#', ';']).map_or(trimmed, |i| &trimmed[..i]);
    match cut
        .trim_matches(SDK_WS)
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
    {
        Some(inner) => SdkLine::Header(inner),
        None => SdkLine::BadHeader,
    }
}

/// The SDK's normalised section key: a plain name, or `prefix name` for
/// prefixed sections (which never equal a valid [`ProfileName`]).
fn sdk_key(inner: &str) -> String {
    let t = inner.trim_matches(SDK_WS);
    match t.split_once(SDK_WS) {
        Some((prefix, name)) => format!("{} {}", prefix.trim(), name.trim()),
        None => t.trim().to_owned(),
    }
}

/// Models botocore's `RawConfigParser._read` for header detection only:
/// returns, per line, the section name if the line is a header.
fn python_headers<'a>(lines: &[Line<'a>]) -> Vec<Option<&'a str>> {
    let mut in_section = false;
    let mut in_option = false;
    let mut indent_level = 0usize;
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        let stripped = py_strip(line.text);
        if stripped.is_empty() || stripped.starts_with(['#', ';']) {
            // Blank lines may sit inside a value (empty_lines_in_values):
            // they change no state.
            out.push(None);
            continue;
        }
        let indent = line.text.chars().take_while(|&c| py_is_space(c)).count();
        if in_section && in_option && indent > indent_level {
            out.push(None); // continuation of the current value
            continue;
        }
        indent_level = indent;
        if let Some(name) = python_header_name(stripped) {
            in_section = true;
            in_option = false;
            out.push(Some(name));
            continue;
        }
        out.push(None);
        if !in_section {
            continue; // MissingSectionHeaderError: botocore rejects the file
        }
        // OPTCRE: the option is everything before the first `=` or `:`.
        // No delimiter is a parse error that leaves the option unchanged.
        if let Some(i) = stripped.find(['=', ':']) {
            in_option = !py_strip(&stripped[..i]).is_empty();
        }
    }
    out
}

/// `\[(?P<header>.+)\]` matched at the start of a stripped line: the name
/// runs to the last `]` and must not be empty.
fn python_header_name(stripped: &str) -> Option<&str> {
    let rest = stripped.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    (end > 0).then(|| &rest[..end])
}

/// A section as both parsers see it.
#[derive(Debug, Clone)]
struct Section {
    /// Index of the header line.
    header: usize,
    /// One past the last line of the section (the next header or EOF).
    end_line: usize,
    sdk_key: String,
    py_name: String,
    /// Byte range of the whole section, header to next header.
    start: usize,
    end: usize,
}

impl Section {
    fn is_named(&self, name: &str) -> bool {
        self.sdk_key == name || self.py_name == name
    }
}

#[derive(Debug)]
struct Layout<'a> {
    lines: Vec<Line<'a>>,
    /// Bytes before the first header.
    preamble_end: usize,
    sections: Vec<Section>,
}

/// Why a text cannot be laid out; turned into an [`EditError`] naming the
/// section being edited.
enum LayoutError {
    BareCr(usize),
    Ambiguous(usize, String),
}

impl LayoutError {
    fn for_section(self, section: &str) -> EditError {
        let section = section.to_owned();
        match self {
            LayoutError::BareCr(line) => EditError::BareCarriageReturn { section, line },
            LayoutError::Ambiguous(line, detail) => EditError::AmbiguousHeader {
                section,
                line,
                detail,
            },
        }
    }
}

/// Splits `text` into sections, refusing a text whose headers the two
/// parsers do not agree on.
fn layout(text: &str) -> Result<Layout<'_>, LayoutError> {
    let lines = split_lines(text).map_err(LayoutError::BareCr)?;
    let py = python_headers(&lines);
    let mut heads: Vec<(usize, String, String)> = Vec::new();
    for (i, (line, py_name)) in lines.iter().zip(&py).enumerate() {
        match (sdk_classify(line.text), py_name) {
            (SdkLine::Header(inner), Some(p)) => heads.push((i, sdk_key(inner), (*p).to_owned())),
            (SdkLine::Header(_), None) => {
                return Err(LayoutError::Ambiguous(
                    i + 1,
                    "is a section header to the AWS SDKs but not to botocore".into(),
                ))
            }
            (SdkLine::BadHeader, _) => {
                return Err(LayoutError::Ambiguous(
                    i + 1,
                    "starts with '[' but is not a section header the AWS SDKs accept (they reject the whole file)".into(),
                ))
            }
            (_, Some(_)) => {
                return Err(LayoutError::Ambiguous(
                    i + 1,
                    "is a section header to botocore but not to the AWS SDKs (remove its indentation or fix the brackets)".into(),
                ))
            }
            _ => {}
        }
    }
    let line_start = |i: usize| lines.get(i).map_or(text.len(), |l| l.start);
    let sections = heads
        .iter()
        .enumerate()
        .map(|(k, (header, sdk_key, py_name))| {
            let end_line = heads.get(k + 1).map_or(lines.len(), |h| h.0);
            Section {
                header: *header,
                end_line,
                sdk_key: sdk_key.clone(),
                py_name: py_name.clone(),
                start: line_start(*header),
                end: line_start(end_line),
            }
        })
        .collect::<Vec<_>>();
    let preamble_end = sections.first().map_or(text.len(), |s| s.start);
    Ok(Layout {
        lines,
        preamble_end,
        sections,
    })
}

/// The line ending the file already uses: that of its first line, or LF.
fn file_eol(lines: &[Line<'_>]) -> &'static str {
    match lines.iter().find(|l| !l.eol.is_empty()) {
        Some(l) if l.eol == "\r\n" => "\r\n",
        _ => "\n",
    }
}

fn validate_marker(section: &str, marker: &str) -> Result<(), EditError> {
    if !marker.starts_with(['#', ';'])
        || marker.chars().any(char::is_control)
        || marker.trim_end_matches(py_is_space) != marker
    {
        return Err(EditError::InvalidMarker {
            section: section.to_owned(),
        });
    }
    Ok(())
}

fn validate_body(section: &str, body: &[(&str, &str)]) -> Result<(), EditError> {
    let sec = || section.to_owned();
    let mut seen: Vec<String> = Vec::with_capacity(body.len());
    for (key, value) in body {
        if key.is_empty() || !key.chars().all(is_key_char) {
            return Err(EditError::InvalidKey {
                section: sec(),
                key: (*key).to_owned(),
            });
        }
        let lower = key.to_ascii_lowercase();
        if seen.contains(&lower) {
            return Err(EditError::DuplicateKey {
                section: sec(),
                key: (*key).to_owned(),
            });
        }
        seen.push(lower);
        if let Err(reason) = check_value(value) {
            return Err(EditError::InvalidValue {
                section: sec(),
                key: (*key).to_owned(),
                reason,
            });
        }
    }
    Ok(())
}

/// A value is written as `key = value`; both parsers must read it back
/// unchanged and it must stay on its one line.
fn check_value(value: &str) -> Result<(), &'static str> {
    if value.contains(['\r', '\n']) {
        return Err("contains a line break (CR or LF)");
    }
    if value.chars().any(char::is_control) {
        return Err("contains a control character");
    }
    if value.chars().any(|c| c != ' ' && py_is_space(c)) {
        return Err("contains whitespace other than a plain space");
    }
    if value.starts_with(' ') || value.ends_with(' ') {
        return Err("has leading or trailing spaces, which the parsers drop");
    }
    let mut prev_space = true; // the value follows `= `
    for c in value.chars() {
        if matches!(c, '#' | ';') && prev_space {
            return Err("has a '#' or ';' that the AWS SDKs would read as a comment");
        }
        prev_space = c == ' ';
    }
    Ok(())
}

/// The one section named `name` (by either parser), if any; refuses a
/// name found twice and a header the two parsers name differently.
fn find_target<'l>(lay: &'l Layout<'_>, name: &str) -> Result<Option<&'l Section>, EditError> {
    let targets: Vec<&Section> = lay.sections.iter().filter(|s| s.is_named(name)).collect();
    if targets.len() > 1 {
        return Err(EditError::DuplicateSection {
            section: name.to_owned(),
            lines: targets.iter().map(|s| s.header + 1).collect(),
        });
    }
    if let Some(sec) = targets.first() {
        if sec.sdk_key != name || sec.py_name != name {
            return Err(EditError::AmbiguousHeader {
                section: name.to_owned(),
                line: sec.header + 1,
                detail: format!(
                    "names the profile {:?} to the AWS SDKs but {:?} to botocore (write the header as [{name}])",
                    sec.sdk_key, sec.py_name
                ),
            });
        }
    }
    Ok(targets.first().copied())
}

/// `[name]`, then `marker` if any, then `key = value` lines.
fn render_section(
    name: &str,
    marker: Option<&str>,
    body: &[(&str, &str)],
    eol: &str,
    final_eol: bool,
) -> String {
    let mut s = format!("[{name}]");
    for line in marker
        .into_iter()
        .map(str::to_owned)
        .chain(body.iter().map(|(k, v)| format!("{k} = {v}")))
    {
        s.push_str(eol);
        s.push_str(&line);
    }
    if final_eol {
        s.push_str(eol);
    }
    s
}

/// `text` with a new section appended: a line break ends the last line if
/// it had none, and a blank line separates the new section from the text.
fn append_section(text: &str, lay: &Layout<'_>, section: &str) -> String {
    let eol = file_eol(&lay.lines);
    let mut out = String::with_capacity(text.len() + section.len() + 4);
    out.push_str(text);
    if let Some(last) = lay.lines.last() {
        if last.eol.is_empty() {
            out.push_str(eol);
        }
        if !last.text.trim_matches(SDK_WS).is_empty() {
            out.push_str(eol); // a blank line before the new section
        }
    }
    out.push_str(section);
    out
}

/// Replaces (or appends) section `name` so that it holds `marker` (a
/// comment line) followed by `key = value` lines from `body`.
///
/// An existing section is replaced only if it contains the marker line or
/// `force` is set. From the existing section, only the header through its
/// last key/value line (or marker) is replaced: blank and comment lines at
/// its end are kept, since they usually introduce the next section. Every
/// other byte is kept. New lines use the file's line ending (its first
/// line's). A section named more than once, or a file the two AWS parsers
/// read differently, is refused. The result is re-parsed and checked
/// before it is returned (see the module docs).
pub(crate) fn upsert_section(
    text: &str,
    name: &ProfileName,
    body: &[(&str, &str)],
    marker: &str,
    force: bool,
) -> Result<String, EditError> {
    let name_str = name.as_str();
    validate_marker(name_str, marker)?;
    validate_body(name_str, body)?;
    let lay = layout(text).map_err(|e| e.for_section(name_str))?;
    let target = find_target(&lay, name_str)?;
    let eol = file_eol(&lay.lines);
    let out = match target {
        Some(sec) => {
            let lines = &lay.lines[sec.header..sec.end_line];
            let is_marker = |l: &Line<'_>| l.text.trim_end_matches(SDK_WS) == marker;
            if !force && !lines.iter().any(is_marker) {
                return Err(EditError::NotManaged {
                    section: name_str.to_owned(),
                });
            }
            // The last line that is content (not blank, not a comment) or the
            // marker; the header itself if there is none.
            let last = lines
                .iter()
                .rposition(|l| is_marker(l) || sdk_classify(l.text) != SdkLine::Trivia)
                .unwrap_or(0);
            let region_end = lines[last].end();
            let keeps_eol = !lines[last].eol.is_empty();
            let mut out = String::with_capacity(text.len() + 256);
            out.push_str(&text[..sec.start]);
            out.push_str(&render_section(
                name_str,
                Some(marker),
                body,
                eol,
                keeps_eol,
            ));
            out.push_str(&text[region_end..]);
            out
        }
        None => append_section(
            text,
            &lay,
            &render_section(name_str, Some(marker), body, eol, true),
        ),
    };
    let after = verify_others(text, &out, name_str, target.is_none())?;
    let lines = &after.lines
        [after.sections[after.target].header + 1..after.sections[after.target].end_line];
    if lines.first().map(|l| l.text) != Some(marker) {
        return Err(verification(
            name_str,
            "the marker is not the first line of the section",
        ));
    }
    let want: Vec<(String, &str)> = body
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), *v))
        .collect();
    check_properties(name_str, lines, &want)?;
    Ok(out)
}

/// Sets each `key = value` of `keys` in section `name` and keeps every
/// other line of that section (comments, blank lines, other keys such as
/// `region` or `mfa_serial`) and every other byte of the file.
///
/// A key already in the section has its line replaced in place (keys are
/// matched case-insensitively, as both AWS parsers do); a key not there yet
/// is added after the section's last `key = value` line. No marker is
/// needed or written (this is `--force` semantics: the section is the
/// user's, e.g. the bastion's long-term keys for `mfacli rotate`). A
/// missing section is appended, as `aws configure set` does.
///
/// Refused: a key on more than one line of the section
/// ([`EditError::KeyRepeated`]), a section whose body is not plain
/// `key = value` lines both parsers read alike
/// ([`EditError::UnsupportedBody`]), and everything [`upsert_section`]
/// refuses (duplicate or ambiguous headers, unsafe keys or values). The
/// result is re-parsed and checked like [`upsert_section`]'s: every other
/// section byte for byte, the section's other lines unchanged, and both
/// parsers reading exactly the old keys with the new values.
pub(crate) fn set_keys_in_section(
    text: &str,
    name: &ProfileName,
    keys: &[(&str, &str)],
) -> Result<String, EditError> {
    let name_str = name.as_str();
    validate_body(name_str, keys)?;
    let lay = layout(text).map_err(|e| e.for_section(name_str))?;
    let target = find_target(&lay, name_str)?;
    let eol = file_eol(&lay.lines);
    let Some(sec) = target else {
        let out = append_section(text, &lay, &render_section(name_str, None, keys, eol, true));
        let after = verify_others(text, &out, name_str, true)?;
        let s = &after.sections[after.target];
        let want: Vec<(String, &str)> = keys
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), *v))
            .collect();
        check_properties(name_str, &after.lines[s.header + 1..s.end_line], &want)?;
        return Ok(out);
    };
    let body = &lay.lines[sec.header + 1..sec.end_line];
    let old = body_properties(body, keys).ok_or_else(|| EditError::UnsupportedBody {
        section: name_str.to_owned(),
    })?;
    // Where each key to set is now (index into `body`).
    let mut at: Vec<Option<usize>> = Vec::with_capacity(keys.len());
    for (k, _) in keys {
        let lower = k.to_ascii_lowercase();
        let found: Vec<usize> = old
            .iter()
            .filter(|(_, key, _)| *key == lower)
            .map(|(i, _, _)| *i)
            .collect();
        if found.len() > 1 {
            return Err(EditError::KeyRepeated {
                section: name_str.to_owned(),
                key: (*k).to_owned(),
                lines: found.iter().map(|i| sec.header + 2 + i).collect(),
            });
        }
        at.push(found.first().copied());
    }
    // New keys go after the last property line (or the header).
    let insert_after = old.last().map(|(i, _, _)| *i);
    let added: Vec<String> = keys
        .iter()
        .zip(&at)
        .filter(|(_, a)| a.is_none())
        .map(|((k, v), _)| format!("{k} = {v}"))
        .collect();
    let emit_added = |out: &mut String, after_eol: &str| {
        if added.is_empty() {
            out.push_str(after_eol);
        } else if after_eol.is_empty() {
            // The last line of a file without a final newline: keep it so.
            for l in &added {
                out.push_str(eol);
                out.push_str(l);
            }
        } else {
            out.push_str(after_eol);
            for l in &added {
                out.push_str(l);
                out.push_str(eol);
            }
        }
    };
    let mut out = String::with_capacity(text.len() + 256);
    out.push_str(&text[..lay.lines[sec.header].start]);
    let header = &lay.lines[sec.header];
    out.push_str(header.text);
    if insert_after.is_none() {
        emit_added(&mut out, header.eol);
    } else {
        out.push_str(header.eol);
    }
    for (i, line) in body.iter().enumerate() {
        match keys.iter().zip(&at).find(|(_, a)| **a == Some(i)) {
            Some(((k, v), _)) => {
                out.push_str(k);
                out.push_str(" = ");
                out.push_str(v);
            }
            None => out.push_str(line.text),
        }
        if insert_after == Some(i) {
            emit_added(&mut out, line.eol);
        } else {
            out.push_str(line.eol);
        }
    }
    out.push_str(&text[sec.end..]);

    let after = verify_others(text, &out, name_str, false)?;
    let s = &after.sections[after.target];
    let new_body = &after.lines[s.header + 1..s.end_line];
    if after.lines[s.header].text != header.text {
        return Err(verification(name_str, "the header changed"));
    }
    // Every line that is not a key being set is unchanged, in order.
    let is_set = |l: &Line<'_>| {
        sdk_classify(l.text) == SdkLine::Other
            && l.text.split_once('=').is_some_and(|(k, _)| {
                let k = k.trim_matches(SDK_WS).to_ascii_lowercase();
                keys.iter().any(|(key, _)| key.to_ascii_lowercase() == k)
            })
    };
    let kept = |ls: &[Line<'_>]| -> Vec<String> {
        ls.iter()
            .filter(|l| !is_set(l))
            .map(|l| l.text.to_owned())
            .collect()
    };
    if kept(body) != kept(new_body) {
        return Err(verification(
            name_str,
            "another line of the section changed",
        ));
    }
    let mut want: Vec<(String, &str)> = old
        .iter()
        .map(|(_, k, v)| {
            let v = keys
                .iter()
                .find(|(key, _)| key.to_ascii_lowercase() == *k)
                .map_or(*v, |(_, nv)| *nv);
            (k.clone(), v)
        })
        .collect();
    for ((k, v), a) in keys.iter().zip(&at) {
        if a.is_none() {
            want.push((k.to_ascii_lowercase(), v));
        }
    }
    check_properties(name_str, new_body, &want)?;
    Ok(out)
}

/// The properties of a section body, with the index of each line, when
/// both parsers read the same keys from it, the same values for every key
/// not in `replaced` (a value about to be replaced may differ, e.g.
/// `key = v # note`, which only the SDKs read as a comment), and every
/// property line is one the editor can replace (`key = value`, no `:`
/// before the `=`, not indented). `None` otherwise.
fn body_properties<'a>(
    lines: &[Line<'a>],
    replaced: &[(&str, &str)],
) -> Option<Vec<(usize, String, &'a str)>> {
    let sdk = sdk_properties(lines)?;
    let py = python_properties(lines)?;
    let agree = sdk.len() == py.len()
        && sdk.iter().zip(&py).all(|(a, b)| {
            a.0 == b.0
                && (a.1 == b.1 || replaced.iter().any(|(k, _)| k.to_ascii_lowercase() == a.0))
        });
    if !agree {
        return None;
    }
    let idx: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| sdk_classify(l.text) != SdkLine::Trivia)
        .map(|(i, _)| i)
        .collect();
    if idx.len() != sdk.len() {
        return None;
    }
    for &i in &idx {
        let t = lines[i].text;
        let eq = t.find('=')?;
        if t[..eq].contains(':') || !t[..eq].trim_matches(SDK_WS).chars().all(is_key_char) {
            return None;
        }
    }
    Some(
        idx.into_iter()
            .zip(sdk)
            .map(|(i, (k, v))| (i, k, v))
            .collect(),
    )
}

fn verification(section: &str, detail: &str) -> EditError {
    EditError::Verification {
        section: section.to_owned(),
        detail: detail.to_owned(),
    }
}

/// Both parsers read exactly `want` (lowercased keys, in order) from the
/// section body `lines`.
fn check_properties(
    name: &str,
    lines: &[Line<'_>],
    want: &[(String, &str)],
) -> Result<(), EditError> {
    let fail = |d: &str| verification(name, d);
    let sdk =
        sdk_properties(lines).ok_or_else(|| fail("the AWS SDKs would read a continuation line"))?;
    let py =
        python_properties(lines).ok_or_else(|| fail("botocore would read a continuation line"))?;
    if sdk.len() != want.len() || sdk.iter().zip(want).any(|(a, b)| a.0 != b.0 || a.1 != b.1) {
        return Err(fail("the AWS SDKs would read different values"));
    }
    if py.len() != want.len() || py.iter().zip(want).any(|(a, b)| a.0 != b.0 || a.1 != b.1) {
        return Err(fail("botocore would read different values"));
    }
    Ok(())
}

/// The edited text, laid out, with the index of its one target section.
struct Checked<'a> {
    lines: Vec<Line<'a>>,
    sections: Vec<Section>,
    target: usize,
}

/// Re-parses input and output and checks that every section but `name`
/// (and the text before the first header) is byte-for-byte unchanged, that
/// `name` is there exactly once under the same name to both parsers, and
/// that it did not move (or, when `appended`, that it is last and only
/// line breaks were added before it).
fn verify_others<'o>(
    input: &str,
    output: &'o str,
    name: &str,
    appended: bool,
) -> Result<Checked<'o>, EditError> {
    let fail = |detail: &str| verification(name, detail);
    let before = layout(input).map_err(|e| e.for_section(name))?;
    let after =
        layout(output).map_err(|_| fail("the two AWS parsers would disagree on the result"))?;
    let others = |l: &Layout<'_>, text: &str| -> Vec<(String, String, String)> {
        l.sections
            .iter()
            .filter(|s| !s.is_named(name))
            .map(|s| {
                (
                    s.sdk_key.clone(),
                    s.py_name.clone(),
                    text[s.start..s.end].to_owned(),
                )
            })
            .collect()
    };
    let mut old = others(&before, input);
    let new = others(&after, output);
    let mut old_pre = input[..before.preamble_end].to_owned();
    let new_pre = &output[..after.preamble_end];
    let targets: Vec<usize> = after
        .sections
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_named(name))
        .map(|(i, _)| i)
        .collect();
    let [target] = targets.as_slice() else {
        return Err(fail("the section is not present exactly once"));
    };
    let t = &after.sections[*target];
    if t.sdk_key != name || t.py_name != name {
        return Err(fail("the new header is read differently"));
    }
    if appended {
        // Appending may only add line breaks to what was last in the file.
        if *target + 1 != after.sections.len() {
            return Err(fail("the appended section is not last"));
        }
        let grown = match old.last_mut() {
            Some(last) => &mut last.2,
            None => &mut old_pre,
        };
        let now = new.last().map_or(new_pre, |n| n.2.as_str());
        match now.strip_prefix(grown.as_str()) {
            Some(added) if added.chars().all(|c| c == '\r' || c == '\n') => {}
            _ => return Err(fail("the last section changed")),
        }
        *grown = now.to_owned();
    } else {
        let idx = |l: &Layout<'_>| l.sections.iter().position(|s| s.is_named(name));
        if idx(&before) != Some(*target) {
            return Err(fail("the section moved"));
        }
    }
    if old_pre != new_pre {
        return Err(fail("the text before the first section changed"));
    }
    if old.len() != new.len() {
        return Err(fail("the set of other sections changed"));
    }
    if old.iter().zip(&new).any(|(a, b)| a != b) {
        return Err(fail("another section's bytes changed"));
    }
    let target = *target;
    Ok(Checked {
        lines: after.lines,
        sections: after.sections,
        target,
    })
}

/// The SDK's reading of a section body's properties (`parse_property_line`:
/// comments need whitespace before them; key lowercased; both trimmed).
/// `None` if a continuation line appears.
fn sdk_properties<'a>(lines: &[Line<'a>]) -> Option<Vec<(String, &'a str)>> {
    let mut out = Vec::new();
    for l in lines {
        if sdk_classify(l.text) == SdkLine::Trivia {
            continue;
        }
        if l.text.starts_with(SDK_WS) {
            return None;
        }
        let t = l.text.trim_matches(SDK_WS);
        let mut prev_ws = false;
        let mut cut = t.len();
        for (i, c) in t.char_indices() {
            if matches!(c, '#' | ';') && prev_ws {
                cut = i;
                break;
            }
            prev_ws = c.is_whitespace();
        }
        let (k, v) = t[..cut].trim_matches(SDK_WS).split_once('=')?;
        out.push((
            k.trim_matches(SDK_WS).to_ascii_lowercase(),
            v.trim_matches(SDK_WS),
        ));
    }
    Some(out)
}

/// botocore's reading of a section body's options (first `=` or `:`
/// splits; both sides stripped; key lowercased). `None` if a line would be
/// a continuation or is not an option.
fn python_properties<'a>(lines: &[Line<'a>]) -> Option<Vec<(String, &'a str)>> {
    let mut out = Vec::new();
    for l in lines {
        let s = py_strip(l.text);
        if s.is_empty() || s.starts_with(['#', ';']) {
            continue;
        }
        if l.text.starts_with(py_is_space) {
            return None;
        }
        let i = s.find(['=', ':'])?;
        out.push((py_strip(&s[..i]).to_lowercase(), py_strip(&s[i + 1..])));
    }
    Some(out)
}

/// Removes the lines of `keys` from section `name` (`keys import`: the
/// access key leaves the file). Every other line and section is kept byte
/// for byte, checked like [`set_keys_in_section`]'s result; both parsers
/// must read the section's other keys unchanged and none of `keys`.
pub(crate) fn remove_keys_from_section(
    text: &str,
    name: &ProfileName,
    keys: &[&str],
) -> Result<String, EditError> {
    let name_str = name.as_str();
    let lay = layout(text).map_err(|e| e.for_section(name_str))?;
    let Some(sec) = find_target(&lay, name_str)? else {
        return Ok(text.to_owned());
    };
    let body = &lay.lines[sec.header + 1..sec.end_line];
    let none: [(&str, &str); 0] = [];
    let props = body_properties(body, &none).ok_or_else(|| EditError::UnsupportedBody {
        section: name_str.to_owned(),
    })?;
    let drop: Vec<usize> = props
        .iter()
        .filter(|(_, k, _)| keys.iter().any(|d| d.eq_ignore_ascii_case(k)))
        .map(|(i, _, _)| *i)
        .collect();
    let want: Vec<(String, &str)> = props
        .iter()
        .filter(|(i, _, _)| !drop.contains(i))
        .map(|(_, k, v)| (k.clone(), *v))
        .collect();
    if drop.is_empty() {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..body[0].start]);
    for (i, line) in body.iter().enumerate() {
        if !drop.contains(&i) {
            out.push_str(line.text);
            out.push_str(line.eol);
        }
    }
    out.push_str(&text[sec.end..]);
    let after = verify_others(text, &out, name_str, false)?;
    let s = &after.sections[after.target];
    check_properties(name_str, &after.lines[s.header + 1..s.end_line], &want)?;
    Ok(out)
}

/// The names of the sections the AWS SDKs see in `text`, in order (headers
/// with comments after them included), for telling which file a profile
/// is in. Lines are split as the SDK splits them.
pub(crate) fn sdk_section_names(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| match sdk_classify(l) {
            SdkLine::Header(inner) => Some(sdk_key(inner)),
            _ => None,
        })
        .collect()
}

/// Section names as both parsers see them, for tests and fuzzing:
/// `(sdk_key, botocore_name, bytes)` per section, or `None` if the text
/// would be refused.
pub(crate) fn sections_of(text: &str) -> Option<Vec<(String, String, String)>> {
    let l = layout(text).ok()?;
    Some(
        l.sections
            .iter()
            .map(|s| {
                (
                    s.sdk_key.clone(),
                    s.py_name.clone(),
                    text[s.start..s.end].to_owned(),
                )
            })
            .collect(),
    )
}

/// How both parsers read the body of the one section named `name`:
/// `(first line after the header, SDK properties, botocore options)`.
/// `None` if the text would be refused, the section is not there exactly
/// once, or a line in it is a continuation.
pub(crate) type ReadBack = (String, Vec<(String, String)>, Vec<(String, String)>);

pub(crate) fn read_section(text: &str, name: &str) -> Option<ReadBack> {
    let l = layout(text).ok()?;
    let found: Vec<&Section> = l.sections.iter().filter(|s| s.is_named(name)).collect();
    let [sec] = found.as_slice() else {
        return None;
    };
    let lines = &l.lines[sec.header + 1..sec.end_line];
    let first = lines.first().map_or(String::new(), |l| l.text.to_owned());
    let own = |v: Vec<(String, &str)>| v.into_iter().map(|(k, v)| (k, v.to_owned())).collect();
    Some((
        first,
        own(sdk_properties(lines)?),
        own(python_properties(lines)?),
    ))
}

#[cfg(test)]
mod tests;
