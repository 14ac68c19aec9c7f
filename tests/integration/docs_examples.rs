//! The README and the book cannot drift: every ```console block in
//! README.md and docs/src/*.md is run against the emulator's demo world,
//! and every relative link and #anchor in them resolves.
//!
//! A console block is `$ command` lines, each followed by its exact output
//! (stdout and stderr as a terminal shows them, interleaved). A command
//! line ending in `\` continues on the next line. Volatile parts are
//! masked: `[..]` inside a line matches any text, a line of just `...`
//! any number of lines. Each block runs in one bash (so `export` and
//! `eval` carry to the next `$` line of the block); the blocks of one file
//! share one HOME and one emulator, in order, so a later block sees the
//! cache an earlier one filled. HOME's path reads as `/home/alice`.
//!
//! The HOME is scripts/demo.sh's: alice's bastion keys, the targets prod
//! and staging, her TOTP seed in MFACLI_TOTP_SECRET, no terminal prompts,
//! the emulator as the console's federation endpoint, and `true` as the
//! browser. Blocks that cannot run here are ```text, not ```console.

use std::path::{Path, PathBuf};

use crate::util::*;

/// scripts/demo.sh's mfacli config.
const DEMO_CONFIG: &str = r#"[bastion]
profile = "bastion"
mfa_serial = "arn:aws:iam::111111111111:mfa/alice"
session_duration = "12h"
region = "eu-west-1"

[targets.prod]
role_arn = "arn:aws:iam::222222222222:role/PowerUser"
region = "eu-central-1"

[targets.staging]
account = "333333333333"
role = "PowerUser"
"#;

/// The CI chapter's config: alice's two TOTP devices, seeds in variables.
const TWO_DEVICES_CONFIG: &str = r#"[bastion]
profile = "bastion"
region = "eu-west-1"

[[bastion.mfa_devices]]
serial = "arn:aws:iam::111111111111:mfa/alice"
totp_secret_env = "MFA_SEED_1"

[[bastion.mfa_devices]]
serial = "arn:aws:iam::111111111111:mfa/alice-2"
totp_secret_env = "MFA_SEED_2"

[targets.prod]
role_arn = "arn:aws:iam::222222222222:role/PowerUser"

[targets.staging]
role_arn = "arn:aws:iam::333333333333:role/PowerUser"
"#;

/// Where the docs say HOME is.
const DOC_HOME: &str = "/home/alice";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and every chapter of the book.
fn doc_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut book: Vec<PathBuf> = std::fs::read_dir(root().join("docs/src"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    book.sort();
    files.extend(book);
    files
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

#[derive(Debug)]
struct Example {
    line: usize,
    command: String,
    expected: Vec<String>,
}

/// The ```console blocks of `text`, each a list of examples.
fn console_blocks(file: &str, text: &str) -> Vec<Vec<Example>> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((_, l)) = lines.next() {
        let trimmed = l.trim_start();
        if trimmed != "```console" {
            continue;
        }
        let indent = l.len() - trimmed.len();
        let mut block: Vec<Example> = Vec::new();
        let mut continued = false;
        for (n, l) in lines.by_ref() {
            let l = l.get(indent..).unwrap_or(l.trim_start());
            if l.trim_start().starts_with("```") {
                break;
            }
            if continued {
                let ex = block.last_mut().unwrap();
                ex.command.push('\n');
                ex.command.push_str(l);
                continued = l.ends_with('\\');
            } else if let Some(cmd) = l.strip_prefix("$ ") {
                block.push(Example {
                    line: n + 1,
                    command: cmd.to_owned(),
                    expected: Vec::new(),
                });
                continued = cmd.ends_with('\\');
            } else {
                let ex = block.last_mut().unwrap_or_else(|| {
                    panic!("{file}:{}: a console block starts with `$ command`", n + 1)
                });
                ex.expected.push(l.to_owned());
            }
        }
        blocks.push(block);
    }
    blocks
}

/// Does `line` match the expected line `pattern` (`[..]`: any text)?
fn line_matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split("[..]").collect();
    if parts.len() == 1 {
        return pattern == line;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !line.starts_with(first) || line.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &line[first.len()..];
    if !rest.ends_with(last) {
        return false;
    }
    rest = &rest[..rest.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// Do the `actual` lines match `expected` (a `...` line: any lines)?
fn lines_match(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((e, rest)) if e == "..." => {
            (0..=actual.len()).any(|skip| lines_match(rest, &actual[skip..]))
        }
        Some((e, rest)) => actual
            .split_first()
            .is_some_and(|(a, more)| line_matches(e, a) && lines_match(rest, more)),
    }
}

/// A file with this line starts from a HOME without an mfacli config
/// (its examples run `mfacli init`).
const NO_CONFIG: &str = "<!-- docs examples: no mfacli config -->";
/// A file with this line gets alice's second MFA device and
/// [`TWO_DEVICES_CONFIG`], the seeds in MFA_SEED_1 and MFA_SEED_2 (and none
/// in MFACLI_TOTP_SECRET, which would override the list).
const TWO_DEVICES: &str = "<!-- docs examples: two MFA devices -->";

/// How a file's HOME starts.
#[derive(Clone, Copy, PartialEq)]
enum Setup {
    Demo,
    NoConfig,
    TwoDevices,
}

impl Setup {
    fn of(text: &str) -> Setup {
        if text.contains(NO_CONFIG) {
            Setup::NoConfig
        } else if text.contains(TWO_DEVICES) {
            Setup::TwoDevices
        } else {
            Setup::Demo
        }
    }
}

/// A HOME of the demo world for one file's examples. The users carry
/// `mfacli policy bastion --self-manage-mfa`, as the book's admin set-up
/// recommends, so `rotate` and `mfa` work too; IAM is the emulator's.
fn demo_home(setup: Setup) -> Home {
    let bin = Path::new(env!("CARGO_BIN_EXE_mfacli")).parent().unwrap();
    let policy = std::process::Command::new(env!("CARGO_BIN_EXE_mfacli"))
        .args(["policy", "bastion", "--self-manage-mfa"])
        .output()
        .unwrap();
    let mut world = match setup {
        Setup::TwoDevices => sts_emulator::World::demo_with_mfa_devices(2),
        _ => sts_emulator::World::demo(),
    };
    for u in &mut world.users {
        u.policies = vec![String::from_utf8(policy.stdout.clone()).unwrap()];
    }
    let emu = sts_emulator::Emulator::start(world).unwrap();
    let iam = emu.endpoint_url();
    let config = match setup {
        Setup::Demo => Some(DEMO_CONFIG),
        Setup::NoConfig => None,
        Setup::TwoDevices => Some(TWO_DEVICES_CONFIG),
    };
    let mut b = Home::builder().emulator(emu).config(config);
    if setup == Setup::TwoDevices {
        b = b
            .code(None)
            .env("MFA_SEED_1", SEED)
            .env("MFA_SEED_2", sts_emulator::demo::ALICE_EXTRA_DEVICES[0].1);
    }
    b.path_dir(bin)
        .env("AWS_ENDPOINT_URL_IAM", &iam)
        .env("MFACLI_FEDERATION_URL", &format!("{iam}/federation"))
        .env("SHELL", "/bin/bash")
        .env("BROWSER", browser().to_str().unwrap())
        .env("TZ", "UTC")
        .build()
}

/// The browser of console.md: fetches the one-time loopback page it is
/// given, as a real browser would. Written once per test process: blocks
/// run in parallel threads, and two writers of one temporary name raced
/// (one renamed it away before the other could).
fn browser() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    static BROWSER: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BROWSER
        .get_or_init(|| {
            let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("docs-browser");
            let tmp = path.with_extension(format!("{}", std::process::id()));
            std::fs::write(&tmp, "#!/bin/sh\nexec curl -s -o /dev/null \"$1\"\n").unwrap();
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
            std::fs::rename(&tmp, &path).unwrap();
            path
        })
        .clone()
}

/// Runs one block's commands in one bash; the output of each.
fn run_block(h: &Home, block: &[Example]) -> Vec<String> {
    const MARK: &str = "@@mfacli-docs-example@@";
    let mut script = String::from("exec 2>&1\ncd \"$HOME\"\n");
    for ex in block {
        script.push_str(&format!("printf '\\n{MARK}\\n'\n{}\n", ex.command));
    }
    let out = h
        .command("timeout")
        .args(["120", "bash", "-c", &script])
        .output()
        .unwrap();
    let home = h.path().display().to_string();
    let text = String::from_utf8_lossy(&out.stdout).replace(&home, DOC_HOME);
    let mut outputs: Vec<String> = text
        .split(&format!("\n{MARK}\n"))
        .skip(1)
        .map(str::to_owned)
        .collect();
    outputs.resize(block.len(), String::new());
    outputs
}

/// One file's examples, in one HOME: how many, and the drifted ones with
/// what they print now.
fn check_file(file: &Path) -> (usize, Vec<String>) {
    let name = rel(file);
    let text = std::fs::read_to_string(file).unwrap();
    let blocks = console_blocks(&name, &text);
    let mut checked = 0;
    let mut drifted = Vec::new();
    if blocks.is_empty() {
        return (0, drifted);
    }
    let h = demo_home(Setup::of(&text));
    for block in &blocks {
        for (ex, actual) in block.iter().zip(run_block(&h, block)) {
            checked += 1;
            let actual: Vec<&str> = actual.trim_end().lines().collect();
            let mut expected = ex.expected.clone();
            while expected.last().is_some_and(|l| l.is_empty()) {
                expected.pop();
            }
            if !lines_match(&expected, &actual) {
                drifted.push(format!(
                    "{name}:{}: $ {}\n--- the docs say:\n{}\n--- it prints now:\n{}\n",
                    ex.line,
                    ex.command,
                    expected.join("\n"),
                    actual.join("\n")
                ));
            }
        }
    }
    (checked, drifted)
}

/// Every file's examples, the files side by side (each has its own HOME
/// and emulator; a TOTP step wait in one does not hold up the others).
fn check_examples(files: &[PathBuf]) -> (usize, Vec<String>) {
    let results: Vec<(usize, Vec<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .iter()
            .map(|f| s.spawn(move || check_file(f)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    results
        .into_iter()
        .fold((0, Vec::new()), |(n, mut all), (k, drifted)| {
            all.extend(drifted);
            (n + k, all)
        })
}

#[test]
fn every_console_example_in_the_docs_prints_what_it_says() {
    let (checked, drifted) = check_examples(&doc_files());
    eprintln!("{checked} console examples checked");
    assert!(checked > 30, "only {checked} console examples found");
    assert!(
        drifted.is_empty(),
        "{} of {checked} examples in the docs no longer print what they show:\n\n{}",
        drifted.len(),
        drifted.join("\n")
    );
}

/// The checker itself: a drifted example is caught, a masked one passes.
#[test]
fn a_drifted_example_fails_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("drift.md");
    std::fs::write(
        &doc,
        "```console\n$ mfacli list\nTARGET   SOURCE[..]\nprod[..]\n...\n$ echo one; echo two\none\ntwo\n```\n\n\
         ```console\n$ mfacli whoami prod\nAccount: 999999999999\n...\n```\n",
    )
    .unwrap();
    let (checked, drifted) = check_examples(&[doc]);
    assert_eq!(checked, 3);
    assert_eq!(drifted.len(), 1, "{drifted:?}");
    assert!(
        drifted[0].contains("Account: 222222222222"),
        "{}",
        drifted[0]
    );
}

#[test]
fn masks_match_as_documented() {
    assert!(line_matches("a [..] c", "a b b c"));
    assert!(line_matches("[..]", ""));
    assert!(!line_matches("a [..] c", "a b d"));
    assert!(!line_matches("ab[..]ba", "aba"));
    let e = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(lines_match(&e(&["x", "...", "z"]), &["x", "y", "y", "z"]));
    assert!(lines_match(&e(&["x", "...", "z"]), &["x", "z"]));
    assert!(!lines_match(&e(&["x", "z"]), &["x", "y", "z"]));
    assert!(!lines_match(&e(&["x"]), &["x", "y"]));
}

/// GitHub's and mdBook's id of a heading: lower case, letters, digits,
/// `-` and `_` kept, spaces to `-`, everything else dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown file's headings (outside code blocks).
fn anchors(text: &str) -> Vec<String> {
    let mut fence = false;
    let mut out = Vec::new();
    for l in text.lines() {
        if l.trim_start().starts_with("```") {
            fence = !fence;
        } else if !fence && l.starts_with('#') {
            out.push(slug(l.trim_start_matches('#')));
        }
    }
    out
}

/// The `](target)` links of a Markdown file outside code blocks and HTML
/// comments (SUMMARY.md keeps chapters to come in one), with lines.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut fence = false;
    let mut comment = false;
    let mut out = Vec::new();
    let mut prev = "";
    for (n, l) in text.lines().enumerate() {
        if l.contains("<!--") && !l.contains("-->") {
            comment = true;
        } else if comment {
            comment = !l.contains("-->");
        } else if l.trim_start().starts_with("```") {
            fence = !fence;
        } else if !fence {
            // A link's text may wrap: `[text\nmore](target)`.
            let joined = format!("{prev} {l}");
            let mut rest = &joined[prev.len()..];
            while let Some(i) = rest.find("](") {
                let tail = &rest[i + 2..];
                if let Some(j) = tail.find(')') {
                    out.push((n + 1, tail[..j].to_owned()));
                }
                rest = &rest[i + 2..];
            }
        }
        prev = l;
    }
    out
}

/// Every broken relative link or anchor in `files`.
fn broken_links(files: &[PathBuf]) -> Vec<String> {
    let mut broken = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        for (line, target) in links(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = target.split_once('#').unwrap_or((&target, ""));
            let dest = if path.is_empty() {
                file.clone()
            } else {
                file.parent().unwrap().join(path)
            };
            let where_ = format!("{}:{line}: ({target})", rel(file));
            if !dest.exists() {
                broken.push(format!("{where_}: {} does not exist", dest.display()));
            } else if !anchor.is_empty() {
                let text = std::fs::read_to_string(&dest).unwrap_or_default();
                if !anchors(&text).iter().any(|a| a == anchor) {
                    broken.push(format!("{where_}: no heading with the id #{anchor}"));
                }
            }
        }
    }
    broken
}

#[test]
fn every_relative_link_and_anchor_in_the_docs_resolves() {
    let mut files = doc_files();
    files.push(root().join("ARCHITECTURE.md"));
    let broken = broken_links(&files);
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn a_broken_link_or_anchor_fails_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.md");
    std::fs::write(dir.path().join("b.md"), "# The `b` chapter: B\n").unwrap();
    std::fs::write(
        &a,
        "# A\n[ok](b.md#the-b-chapter-b) [ok](#a) [gone](c.md) [no\nanchor](b.md#nope)\n",
    )
    .unwrap();
    let broken = broken_links(&[a]);
    assert_eq!(broken.len(), 2, "{broken:?}");
    assert!(broken[0].contains("c.md does not exist"), "{broken:?}");
    assert!(broken[1].contains("#nope"), "{broken:?}");
}

/// The book's GitHub Actions recipe is the project's own CI job, verbatim.
#[test]
fn the_ci_chapters_actions_recipe_is_the_projects_own_job() {
    let chapter = std::fs::read_to_string(root().join("docs/src/ci.md")).unwrap();
    let recipe = chapter
        .split("```yaml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap();
    assert!(recipe.starts_with("  deploy:\n"), "{recipe}");
    let workflow = std::fs::read_to_string(root().join(".github/workflows/ci.yml")).unwrap();
    assert!(
        workflow.contains(recipe),
        "docs/src/ci.md's recipe is not in .github/workflows/ci.yml verbatim:\n{recipe}"
    );
}

/// Every chapter file is in the book's SUMMARY.md (mdBook leaves out a
/// file it does not list, and its examples would be checked but unread).
#[test]
fn every_chapter_is_in_the_summary() {
    let src = root().join("docs/src");
    let summary = std::fs::read_to_string(src.join("SUMMARY.md")).unwrap();
    let listed: Vec<String> = links(&summary).into_iter().map(|(_, t)| t).collect();
    let missing: Vec<String> = doc_files()
        .iter()
        .filter(|p| p.starts_with(&src))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|f| f != "SUMMARY.md" && !listed.contains(f))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/src/SUMMARY.md does not list {missing:?}"
    );
}
