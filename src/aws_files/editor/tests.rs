use super::*;
use crate::aws_files::fuzz_check::{check_output, check_set_keys_output};

const M: &str = PROFILE_MARKER;

fn name(s: &str) -> ProfileName {
    ProfileName::new(s).unwrap_or_else(|e| panic!("{e}"))
}

fn body() -> Vec<(&'static str, &'static str)> {
    vec![
        ("aws_access_key_id", "ASIANEWNEWNEWNEW0000"),
        ("aws_secret_access_key", "bmV3L3NlY3JldCtrZXk="),
        ("aws_session_token", "bmV3dG9rZW4/dG9rZW4=="),
        ("expiration", "2030-01-01T00:00:00Z"),
    ]
}

fn upsert(text: &str, n: &str, force: bool) -> Result<String, EditError> {
    let out = upsert_section(text, &name(n), &body(), M, force);
    if let Ok(o) = &out {
        let before = sections_of(text);
        check_output(text, o, &name(n), &body(), M, before.as_deref());
    }
    out
}

fn new_section(n: &str, eol: &str) -> String {
    let mut s = format!("[{n}]{eol}{M}{eol}");
    for (k, v) in body() {
        s.push_str(&format!("{k} = {v}{eol}"));
    }
    s
}

// ---- issue 12, item 1: headers with comments after them ----

#[test]
fn comment_after_header_keeps_next_section() {
    for header in [
        "[bastion] ; IAM user alice",
        "[bastion] # client keys",
        "[bastion]# x",
        "[bastion];x",
        "[bastion]\t; x",
    ] {
        let text = format!(
            "[prod-temp]\n{M}\naws_access_key_id = OLD\n\n{header}\naws_access_key_id = AKIABASTION\naws_secret_access_key = s3cret\n"
        );
        let out = upsert(&text, "prod-temp", false).unwrap_or_else(|e| panic!("{e}"));
        let bastion =
            format!("{header}\naws_access_key_id = AKIABASTION\naws_secret_access_key = s3cret\n");
        assert!(out.ends_with(&bastion), "{header}: {out}");
        assert_eq!(
            out,
            format!("{}\n{bastion}", new_section("prod-temp", "\n"))
        );
    }
}

#[test]
fn header_with_spaces_and_comment_is_not_appended_twice() {
    let text = "[other]   # c\naws_access_key_id = A\n";
    // Not ours: refused, not appended as a second [other].
    assert!(matches!(
        upsert(text, "other", false),
        Err(EditError::NotManaged { .. })
    ));
    let forced = upsert(text, "other", true).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(forced.matches("[other]").count(), 1, "{forced}");
    // Appending another profile leaves [other] alone.
    let out = upsert(text, "p", false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out, format!("{text}\n{}", new_section("p", "\n")));
    // And the result is stable on a second run.
    assert_eq!(upsert(&out, "p", false).as_deref(), Ok(out.as_str()));
}

// ---- item 3: names are normalised before any comparison ----

#[test]
fn names_are_normalised_and_validated() {
    assert_eq!(name(" bastion"), name("bastion"));
    assert_eq!(name("\tbastion "), name("bastion"));
    assert_eq!(name(" bastion").as_str(), "bastion");
    assert_eq!(name(" prod-admin ").to_string(), "prod-admin");
    for bad in [
        "",
        " ",
        "a b",
        "[a]",
        "a]",
        "a[",
        "a#b",
        "a;b",
        "a=b",
        "a\nb",
        "bastion\n",
        "a\rb",
        "a\u{0}",
        "\u{7f}",
        "DEFAULT",
        "é",
    ] {
        let e = ProfileName::new(bad);
        assert!(
            matches!(e, Err(EditError::InvalidName { .. })),
            "{bad:?}: {e:?}"
        );
    }
    for good in [
        "default",
        "prod-temp",
        "a.b",
        "a/b",
        "x@y",
        "a:b",
        "a+b",
        "a%b",
        "A_1",
    ] {
        assert_eq!(name(good).as_str(), good);
    }
}

#[test]
fn leading_space_header_counts_as_the_target() {
    // `[ bastion]` is merged into `bastion` by the SDK: editing `bastion`
    // must see it, and two of them are a duplicate.
    let text = format!("[ bastion]\n{M}\nk = v\n");
    let e = upsert(&text, " bastion", false);
    assert!(
        matches!(e, Err(EditError::AmbiguousHeader { line: 1, .. })),
        "{e:?}"
    );
    let text = format!("[bastion]\n{M}\n[ bastion]\nk = v\n");
    let e = upsert(&text, "bastion", true);
    assert!(
        matches!(&e, Err(EditError::DuplicateSection { lines, .. }) if lines == &vec![1, 3]),
        "{e:?}"
    );
}

// ---- item 4: CRLF kept byte for byte ----

#[test]
fn crlf_is_kept_byte_for_byte() {
    let other = "[work] # client keys\r\naws_access_key_id = W\r\n; note\r\n\r\n";
    let text =
        format!("# top\r\n\r\n[p]\r\n{M}\r\nold = 1\r\n\r\n# about work\r\n{other}[z]\r\nk=v");
    let out = upsert(&text, "p", false).unwrap_or_else(|e| panic!("{e}"));
    let want = format!(
        "# top\r\n\r\n{}\r\n# about work\r\n{other}[z]\r\nk=v",
        new_section("p", "\r\n")
    );
    assert_eq!(out, want);
    // Appending uses CRLF too, and the missing final newline gets one.
    let out = upsert(&text, "q", false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out, format!("{text}\r\n\r\n{}", new_section("q", "\r\n")));
    assert!(!out.replace("\r\n", "").contains('\n'));
}

#[test]
fn missing_final_newline_is_kept_when_replacing_last() {
    let text = format!("[a]\nk = v\n\n[p]\n{M}\nx = 1");
    let out = upsert(&text, "p", false).unwrap_or_else(|e| panic!("{e}"));
    let mut want = format!("[a]\nk = v\n\n{}", new_section("p", "\n"));
    want.pop();
    assert_eq!(out, want);
    // In the middle: the later section keeps its missing newline.
    let text = format!("[p]\n{M}\nx = 1\n[a]\nk = v");
    let out = upsert(&text, "p", false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out, format!("{}[a]\nk = v", new_section("p", "\n")));
}

#[test]
fn appending_to_empty_and_comment_only_files() {
    assert_eq!(
        upsert("", "p", false).as_deref(),
        Ok(new_section("p", "\n").as_str())
    );
    assert_eq!(
        upsert("# hi", "p", false).as_deref(),
        Ok(format!("# hi\n\n{}", new_section("p", "\n")).as_str())
    );
    assert_eq!(
        upsert("# hi\n\n", "p", false).as_deref(),
        Ok(format!("# hi\n\n{}", new_section("p", "\n")).as_str())
    );
}

// ---- marker and force ----

#[test]
fn foreign_section_needs_force() {
    let text = "[p]\naws_access_key_id = MINE\n[q]\nk = v\n";
    let e = upsert(text, "p", false);
    assert_eq!(
        e,
        Err(EditError::NotManaged {
            section: "p".into()
        })
    );
    let out = upsert(text, "p", true).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out, format!("{}[q]\nk = v\n", new_section("p", "\n")));
    // An indented or differently worded marker does not count.
    let text = format!("[p]\n  {M}\nk = v\n");
    assert!(matches!(
        upsert(&text, "p", false),
        Err(EditError::NotManaged { .. })
    ));
    // The marker in another section does not count either.
    let text = format!("[q]\n{M}\n[p]\nk = v\n");
    assert!(matches!(
        upsert(&text, "p", false),
        Err(EditError::NotManaged { .. })
    ));
}

#[test]
fn trailing_comments_and_blank_lines_stay_with_the_next_section() {
    let text = format!(
        "[p]\n{M}\nk = 1\n# inside\nj = 2\n\n# the work account\n; keys\n\n[work]\nk = v\n"
    );
    let out = upsert(&text, "p", false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out,
        format!(
            "{}\n# the work account\n; keys\n\n[work]\nk = v\n",
            new_section("p", "\n")
        )
    );
    // A section holding only its header and marker.
    let text = format!("[p]\n{M}\n\n[work]\n");
    let out = upsert(&text, "p", false).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out, format!("{}\n[work]\n", new_section("p", "\n")));
}

#[test]
fn duplicate_target_is_refused() {
    let text = format!("[p]\n{M}\n[q]\n[p] ; again\n{M}\n");
    let e = upsert(&text, "p", true);
    assert!(
        matches!(&e, Err(EditError::DuplicateSection { lines, .. }) if lines == &vec![1, 4]),
        "{e:?}"
    );
    let msg = e.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(msg.contains("[p]") && msg.contains("1, 4"), "{msg}");
    // Duplicates of some other section are left as they are.
    let text = "[q]\nk = 1\n[q]\nk = 2\n";
    let out = upsert(text, "p", false).unwrap_or_else(|e| panic!("{e}"));
    assert!(out.starts_with(text));
}

// ---- ambiguous files are refused ----

#[test]
fn files_the_parsers_read_differently_are_refused() {
    for (text, line) in [
        ("[a]\n  [p]\nk = v\n", 2),      // botocore header, SDK continuation
        ("[a]\n[]\n", 2),                // SDK profile "", botocore error
        ("[a]\n[#]\n", 2),               // SDK error, botocore header "#"
        ("[a]\n[x;y]\n", 2),             // SDK error, botocore header
        ("[a\nk = v\n", 1),              // SDK error
        ("[a]\n\u{a0}[b]\nk = v\n", 2),  // botocore strips NBSP
        ("[a]\n\u{1c}[b]\n", 2),         // U+001C is whitespace to Python only
        ("[a]\n  k = v\n#c\n [p]\n", 4), // a comment keeps botocore's indent level
    ] {
        let e = upsert(text, "p", true);
        assert!(
            matches!(&e, Err(EditError::AmbiguousHeader { line: l, .. }) if *l == line),
            "{text:?}: {e:?}"
        );
    }
    // A header-looking continuation line is the same to both.
    let text = "[a]\nk = v\n  [p]\n";
    let out = upsert(text, "p", false).unwrap_or_else(|e| panic!("{e}"));
    assert!(out.starts_with(text));
    // A target header whose names differ between the parsers.
    for text in ["[ p ]\nk = v\n", "[p] # see [q]\nk = v\n"] {
        let e = upsert(text, "p", true);
        assert!(
            matches!(e, Err(EditError::AmbiguousHeader { line: 1, .. })),
            "{e:?}"
        );
    }
}

#[test]
fn bare_carriage_return_is_refused() {
    let e = upsert("[a]\nk = v\r[p]\n", "p", true);
    assert_eq!(
        e,
        Err(EditError::BareCarriageReturn {
            section: "p".into(),
            line: 2
        })
    );
    assert!(upsert("[a]\r", "p", true).is_err());
}

// ---- item 6: no value with CR/LF reaches the file ----

#[test]
fn unsafe_values_are_refused_without_echoing_them() {
    let secret = "SECRETSECRETSECRET";
    for (v, why) in [
        (
            format!("{secret}\n[default]\ncredential_process = sh -c id"),
            "line break",
        ),
        (format!("{secret}\r"), "line break"),
        (format!("{secret}\u{0}"), "control"),
        (format!("{secret}\t"), "control"),
        (format!("{secret}\u{85}"), "control"),
        (format!("{secret}\u{2028}x"), "whitespace"),
        (format!("{secret}\u{a0}"), "whitespace"),
        (format!(" {secret}"), "spaces"),
        (format!("{secret} "), "spaces"),
        (format!("{secret} #x"), "comment"),
        (format!("#{secret}"), "comment"),
        (format!("{secret} ;x"), "comment"),
    ] {
        let b = [("aws_session_token", v.as_str())];
        let e = upsert_section("", &name("p"), &b, M, false);
        let Err(err) = e else {
            panic!("{v:?} accepted");
        };
        assert!(matches!(err, EditError::InvalidValue { .. }), "{v:?}");
        let msg = err.to_string();
        assert!(msg.contains(why), "{msg}");
        assert!(!msg.contains(secret) && !msg.contains('\n'), "{msg}");
        assert!(
            msg.contains("[p]") && msg.contains("aws_session_token"),
            "{msg}"
        );
    }
    // Inner spaces, '#' and ';' not after a space, '=' and ':' are kept.
    let b = [("a", "x y"), ("b", "a#b;c"), ("c", "k=v:w"), ("d", "")];
    let out = upsert_section("", &name("p"), &b, M, false).unwrap_or_else(|e| panic!("{e}"));
    check_output("", &out, &name("p"), &b, M, Some(&[]));
}

#[test]
fn bad_keys_and_markers_are_refused() {
    for k in ["", "a b", "a:b", "a=b", "[a", "#a", "a\n"] {
        let e = upsert_section("", &name("p"), &[(k, "v")], M, false);
        assert!(
            matches!(e, Err(EditError::InvalidKey { .. })),
            "{k:?}: {e:?}"
        );
    }
    let e = upsert_section("", &name("p"), &[("k", "1"), ("K", "2")], M, false);
    assert!(matches!(e, Err(EditError::DuplicateKey { .. })), "{e:?}");
    for m in ["managed", " # x", "# x ", "# a\nb", "# \r"] {
        let e = upsert_section("", &name("p"), &body(), m, false);
        assert!(
            matches!(e, Err(EditError::InvalidMarker { .. })),
            "{m:?}: {e:?}"
        );
    }
}

#[test]
fn every_error_message_is_one_line_and_names_the_section() {
    let errs = [
        upsert("[p]\nk=v\n", "p", false),
        upsert("[p]\n[p]\n", "p", false),
        upsert("[a]\n  [b]\n", "p", false),
        upsert("x\r", "p", false),
    ];
    for e in errs {
        let msg = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("[p]") && !msg.contains('\n'), "{msg}");
    }
}

#[test]
fn default_section_inheritance_is_not_touched() {
    // [DEFAULT] is a section like any other for editing purposes.
    let text = "[DEFAULT]\nregion = x\n";
    let out = upsert(text, "p", false).unwrap_or_else(|e| panic!("{e}"));
    assert!(out.starts_with(text));
}

// ---- property test over generated files ----

/// xorshift64*: deterministic, no crates.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, num: usize, den: usize) -> bool {
        self.below(den) < num
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const POOL: [&str; 8] = [
    "a",
    "b",
    "prod-temp",
    "bastion",
    "work",
    "p.1",
    "x@y",
    "default",
];

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    Ok(String),
    Ambiguous,
    Duplicate,
    NotManaged,
    InvalidValue,
}

pub(crate) struct Case {
    pub(crate) text: String,
    pub(crate) target: String,
    pub(crate) body: Vec<(String, String)>,
    pub(crate) force: bool,
    pub(crate) expect: Expect,
}

/// Builds a random credentials file from known pieces, and computes the
/// expected result without parsing it.
pub(crate) fn gen_case(rng: &mut Rng) -> Case {
    let eol = if rng.chance(1, 3) { "\r\n" } else { "\n" };
    let target = rng.pick(&POOL).to_owned();
    let force = rng.chance(1, 4);
    let clean = rng.chance(1, 2);
    let mut ambiguous = false;
    let mut lines: Vec<String> = Vec::new();
    for _ in 0..rng.below(3) {
        lines.push(rng.pick(&["# top comment", "; top", "", "   "]).to_owned());
    }
    // Each section: (is target, header style, first line index, end index).
    let mut secs: Vec<(bool, usize, usize, usize)> = Vec::new();
    let mut names: Vec<&str> = POOL.to_vec();
    let count = rng.below(6);
    let mut used: Vec<String> = Vec::new();
    for _ in 0..count {
        let n = if rng.chance(1, 12) && used.contains(&target) {
            target.clone() // a duplicate of the target
        } else {
            let i = rng.below(names.len());
            names.swap_remove(i).to_owned()
        };
        used.push(n.clone());
        let style = rng.below(9);
        let header = match style {
            0 | 1 => format!("[{n}]"),
            2 => format!("[{n}] ; IAM user alice"),
            3 => format!("[{n}]   # c"),
            4 => format!("[{n}]#c"),
            5 => format!("[{n}];c"),
            6 => format!("[{n}]\t "),
            7 => format!("[ {n} ]"),             // SDK: n, botocore: " n "
            _ => format!("[{n}] # see [other]"), // SDK: n, botocore: "n] # see [other"
        };
        let start = lines.len();
        lines.push(header);
        if rng.chance(1, 40) {
            lines.push("  [poison]".to_owned()); // botocore header, SDK continuation
            ambiguous = true;
        }
        if n == target && rng.chance(2, 3) {
            lines.push(M.to_owned());
        }
        let mut in_prop = false; // a header ends any value
        let mut last_empty = false;
        for _ in 0..rng.below(6) {
            // In a clean file every line is valid to both parsers (unique
            // keys, no `:` delimiter, no continuation the SDK rejects), so
            // the differential checks can read it before and after.
            let u = if clean {
                format!("{}", lines.len())
            } else {
                String::new()
            };
            let l = match rng.below(11) {
                0 => format!("aws_access_key_id{u} = AKIA{}", rng.below(1000)),
                1 => format!("region{u}=eu-west-1"),
                2 if !clean => "Key : value with [brackets]".to_owned(),
                2 => format!("key{u} = value with [brackets]"),
                3 => format!("s3{u} ="),
                4 if in_prop => "  max_concurrent_requests = 20".to_owned(),
                5 if in_prop && !(clean && last_empty) => "\t[not a header]".to_owned(),
                6 => rng.pick(&["# comment", "; comment", "#[x]"]).to_owned(),
                7 => rng.pick(&["", "  ", "\t"]).to_owned(),
                8 if !clean => "  # indented comment".to_owned(),
                9 => M.to_owned(),
                _ => format!("k{u} = v # trailing"),
            };
            // botocore's state: comments, blank and indented lines keep it;
            // an option line (with `=` or `:`) starts a value.
            let trivia = l.trim().is_empty() || l.trim_start().starts_with(['#', ';']);
            if !trivia && !l.starts_with([' ', '\t']) {
                in_prop = l.contains('=') || l.contains(':');
                last_empty = l.ends_with('=');
            }
            lines.push(l);
        }
        secs.push((n == target, style, start, lines.len()));
    }
    // (An empty last line without a line break is no line at all.)
    let final_eol = lines.last().is_none_or(|l| l.is_empty()) || !rng.chance(1, 4);
    let join = |ls: &[String], last_eol: bool| {
        let mut s = String::new();
        for (i, l) in ls.iter().enumerate() {
            s.push_str(l);
            if i + 1 < ls.len() || last_eol {
                s.push_str(eol);
            }
        }
        s
    };
    let text = join(&lines, final_eol);
    // New lines follow the file's line ending; LF when it has none.
    let new_eol = if text.contains('\n') { eol } else { "\n" };

    let mut body: Vec<(String, String)> = vec![
        (
            "aws_access_key_id".into(),
            format!("ASIA{}", rng.below(1 << 20)),
        ),
        ("aws_secret_access_key".into(), "c2Vj+cmV0/a2V5==".into()),
    ];
    if rng.chance(1, 2) {
        body.push(("region".into(), "eu-west-1".into()));
    }
    let mut invalid = false;
    if rng.chance(1, 30) {
        body.push(("aws_session_token".into(), "tok\nen".into()));
        invalid = true;
    }
    let tsecs: Vec<&(bool, usize, usize, usize)> = secs.iter().filter(|s| s.0).collect();
    let render = |last_eol: bool| {
        let mut s = format!("[{target}]{new_eol}{M}");
        for (k, v) in &body {
            s.push_str(&format!("{new_eol}{k} = {v}"));
        }
        if last_eol {
            s.push_str(new_eol);
        }
        s
    };
    let expect = if invalid {
        Expect::InvalidValue
    } else if ambiguous {
        Expect::Ambiguous
    } else if tsecs.len() > 1 {
        Expect::Duplicate
    } else if let Some(&&(_, style, start, end)) = tsecs.first() {
        let sec = &lines[start..end];
        if style >= 7 {
            Expect::Ambiguous
        } else if !force && !sec.iter().any(|l| l == M) {
            Expect::NotManaged
        } else {
            let trivia = |l: &String| {
                l != M && (l.trim_matches([' ', '\t']).is_empty() || l.starts_with(['#', ';']))
            };
            let keep = sec
                .iter()
                .rev()
                .take_while(|l| trivia(l))
                .count()
                .min(sec.len() - 1);
            let last_of_file = end == lines.len() && keep == 0;
            let mut out = join(&lines[..start], true);
            out.push_str(&render(!last_of_file || final_eol));
            if end - keep < lines.len() {
                out.push_str(&join(&lines[end - keep..], final_eol));
            }
            Expect::Ok(out)
        }
    } else {
        let mut out = text.clone();
        if let Some(last) = lines.last() {
            if !final_eol {
                out.push_str(new_eol);
            }
            if !last.trim_matches([' ', '\t']).is_empty() {
                out.push_str(new_eol);
            }
        }
        out.push_str(&render(true));
        Expect::Ok(out)
    };
    Case {
        text,
        target,
        body,
        force,
        expect,
    }
}

/// Runs one generated case; returns whether it was an edit (`Ok`).
pub(crate) fn run_case(c: &Case) -> bool {
    let n = name(&c.target);
    let b: Vec<(&str, &str)> = c
        .body
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let got = upsert_section(&c.text, &n, &b, M, c.force);
    let ok = match (&got, &c.expect) {
        (Ok(out), Expect::Ok(want)) => {
            assert_eq!(out, want, "text {:?} target {}", c.text, c.target);
            let before = sections_of(&c.text);
            check_output(&c.text, out, &n, &b, M, before.as_deref());
            true
        }
        (Err(EditError::AmbiguousHeader { .. }), Expect::Ambiguous)
        | (Err(EditError::DuplicateSection { .. }), Expect::Duplicate)
        | (Err(EditError::NotManaged { .. }), Expect::NotManaged)
        | (Err(EditError::InvalidValue { .. }), Expect::InvalidValue) => false,
        _ => panic!(
            "text {:?} target {} force {}: got {got:?}, expected {:?}",
            c.text, c.target, c.force, c.expect
        ),
    };
    if let Err(e) = got {
        assert!(!e.to_string().contains('\n'));
    }
    ok
}

#[test]
fn property_generated_files() {
    let iterations: u64 = 20_000;
    let mut rng = Rng::new(12);
    let mut edits = 0;
    for _ in 0..iterations {
        let c = gen_case(&mut rng);
        if run_case(&c) {
            edits += 1;
        }
    }
    // The generator must mostly produce edits, or the test proves little.
    assert!(edits * 2 > iterations, "{edits} of {iterations}");
}

// ---- set_keys_in_section: rotate's edit of the bastion section ----

fn set_keys(text: &str, n: &str, keys: &[(&str, &str)]) -> Result<String, EditError> {
    let out = set_keys_in_section(text, &name(n), keys);
    if let Ok(o) = &out {
        let before = sections_of(text);
        check_set_keys_output(text, o, &name(n), keys, before.as_deref());
    }
    out
}

const NEW_KEYS: [(&str, &str); 2] = [
    ("aws_access_key_id", "AKIANEWNEWNEWNEW0000"),
    ("aws_secret_access_key", "bmV3L3NlY3JldCtrZXk="),
];

#[test]
fn set_keys_replaces_only_those_lines_and_keeps_the_rest() {
    let other = format!("[prod-temp]\r\n{M}\r\naws_access_key_id = ASIA\r\n");
    let text = format!(
        "# top\r\n[bastion] ; IAM user alice\r\n# created 2025-01-01\r\nAWS_Access_Key_Id=AKIAOLD\r\nregion = eu-west-1\r\n  \r\naws_secret_access_key = old # rotated\r\nmfa_serial = arn:aws:iam::111111111111:mfa/alice\r\n\r\n# temp\r\n{other}"
    );
    let out = set_keys(&text, "bastion", &NEW_KEYS).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out,
        format!(
            "# top\r\n[bastion] ; IAM user alice\r\n# created 2025-01-01\r\naws_access_key_id = AKIANEWNEWNEWNEW0000\r\nregion = eu-west-1\r\n  \r\naws_secret_access_key = bmV3L3NlY3JldCtrZXk=\r\nmfa_serial = arn:aws:iam::111111111111:mfa/alice\r\n\r\n# temp\r\n{other}"
        )
    );
    // Setting the same values again changes nothing.
    assert_eq!(
        set_keys(&out, "bastion", &NEW_KEYS).as_deref(),
        Ok(out.as_str())
    );
}

#[test]
fn set_keys_adds_missing_keys_after_the_last_key_line() {
    let text = "[bastion]\nregion = x\n\n# the work account\n[work]\nk = v\n";
    let out = set_keys(text, "bastion", &NEW_KEYS).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out,
        "[bastion]\nregion = x\naws_access_key_id = AKIANEWNEWNEWNEW0000\naws_secret_access_key = bmV3L3NlY3JldCtrZXk=\n\n# the work account\n[work]\nk = v\n"
    );
    // One present, one missing; a header-only section; no final newline.
    let out = set_keys("[bastion]\naws_secret_access_key = s", "bastion", &NEW_KEYS)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out,
        "[bastion]\naws_secret_access_key = bmV3L3NlY3JldCtrZXk=\naws_access_key_id = AKIANEWNEWNEWNEW0000"
    );
    let out = set_keys("[bastion]\n[work]\n", "bastion", &NEW_KEYS[..1])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out,
        "[bastion]\naws_access_key_id = AKIANEWNEWNEWNEW0000\n[work]\n"
    );
    let out = set_keys("[bastion]", "bastion", &NEW_KEYS[..1]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out, "[bastion]\naws_access_key_id = AKIANEWNEWNEWNEW0000");
}

#[test]
fn set_keys_appends_a_missing_section_without_marker() {
    let text = "[work]\r\nk = v\r\n";
    let out = set_keys(text, "bastion", &NEW_KEYS).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out,
        "[work]\r\nk = v\r\n\r\n[bastion]\r\naws_access_key_id = AKIANEWNEWNEWNEW0000\r\naws_secret_access_key = bmV3L3NlY3JldCtrZXk=\r\n"
    );
    assert!(!out.contains("managed by mfacli"));
}

#[test]
fn set_keys_refuses_what_it_cannot_edit_safely() {
    let e = set_keys(
        "[bastion]\naws_access_key_id = A\nregion = x\naws_access_key_id = B\n",
        "bastion",
        &NEW_KEYS,
    );
    assert!(
        matches!(&e, Err(EditError::KeyRepeated { lines, .. }) if lines == &vec![2, 4]),
        "{e:?}"
    );
    for text in [
        "[bastion]\naws_access_key_id = A\ns3 =\n  max_concurrent_requests = 20\n",
        "[bastion]\naws_access_key_id: A\n",
        "[bastion]\njunk\n",
        "[bastion]\n  # indented comment\naws_access_key_id = A\n",
    ] {
        let e = set_keys(text, "bastion", &NEW_KEYS);
        assert!(
            matches!(e, Err(EditError::UnsupportedBody { .. })),
            "{text:?}: {e:?}"
        );
    }
    // The same refusals as upsert_section: headers, values, duplicates.
    assert!(matches!(
        set_keys("[bastion]\n[bastion] ; 2\n", "bastion", &NEW_KEYS),
        Err(EditError::DuplicateSection { .. })
    ));
    assert!(matches!(
        set_keys("[ bastion ]\nk = v\n", "bastion", &NEW_KEYS),
        Err(EditError::AmbiguousHeader { .. })
    ));
    let e = set_keys("[bastion]\n", "bastion", &[("aws_access_key_id", "A\n[x]")]);
    assert!(matches!(e, Err(EditError::InvalidValue { .. })), "{e:?}");
    for e in [
        set_keys("[bastion]\njunk\n", "bastion", &NEW_KEYS),
        set_keys("[bastion]\nk = 1\nk = 2\n", "bastion", &[("k", "3")]),
    ] {
        let msg = e.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("[bastion]") && !msg.contains('\n'), "{msg}");
    }
}

#[test]
fn property_set_keys_on_generated_files() {
    let mut rng = Rng::new(16);
    let mut edits = 0;
    for _ in 0..5_000 {
        let c = gen_case(&mut rng);
        let keys: Vec<(&str, &str)> = c
            .body
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if set_keys(&c.text, &c.target, &keys).is_ok() {
            edits += 1;
        }
    }
    assert!(edits > 1_000, "{edits} edits of 5000");
}

#[test]
fn removing_keys_keeps_every_other_byte() {
    let name = ProfileName::new("bastion").unwrap();
    let keys = ["aws_access_key_id", "aws_secret_access_key"];
    let text = "[a]\naws_access_key_id = X\n\n[bastion]\r\n# c\r\naws_access_key_id = AK\r\nregion = r\r\naws_secret_access_key = S";
    assert_eq!(
        remove_keys_from_section(text, &name, &keys).unwrap(),
        "[a]\naws_access_key_id = X\n\n[bastion]\r\n# c\r\nregion = r\r\n"
    );
    // No such section, or no keys in it: unchanged.
    assert_eq!(
        remove_keys_from_section("[a]\nx = 1\n", &name, &keys).unwrap(),
        "[a]\nx = 1\n"
    );
    assert_eq!(
        remove_keys_from_section("[bastion]\nregion = r\n", &name, &keys).unwrap(),
        "[bastion]\nregion = r\n"
    );
    // A value continued on the next line is not removed by halves.
    assert!(remove_keys_from_section(
        "[bastion]\naws_secret_access_key = S\n  more\n",
        &name,
        &keys
    )
    .is_err());
}
