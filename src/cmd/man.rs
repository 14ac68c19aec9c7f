//! `mfacli man`: the man page mfacli.1 on stdout, or with `--dir DIR` that
//! page and one per command (mfacli-env.1, mfacli-policy-trust.1, …), each
//! with EXAMPLES (unfilled, as written), ENVIRONMENT, FILES and EXIT
//! STATUS. Rendered into buffers first, then written.

use anyhow::{Context, Result};

use crate::cli::{command, ManArgs, SHARED_POINTER};

pub(crate) fn run(args: ManArgs) -> Result<u8> {
    let mut cmd = command();
    cmd.build();
    let Some(dir) = args.dir else {
        crate::io::stdout(&format!("{}{}", one_page(&top_page(&cmd)?), reference()))?;
        return Ok(0);
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut pages = vec![("mfacli.1".to_owned(), String::new())];
    for sub in cmd.get_subcommands().filter(|s| listed(s)) {
        collect(sub, &mut pages)?;
    }
    let see_also: Vec<String> = pages[1..]
        .iter()
        .map(|(f, _)| {
            format!(
                "\\fB{}\\fR(1)",
                f.trim_end_matches(".1").replace('-', "\\-")
            )
        })
        .collect();
    pages[0].1 = format!(
        "{}{}.SH \"SEE ALSO\"\n{}\n",
        one_page(&top_page(&cmd)?),
        reference(),
        see_also.join(",\n")
    );
    for (file, text) in &pages {
        let path = dir.join(file);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    crate::io::stdout(&format!(
        "wrote {} man pages to {}\n",
        pages.len(),
        dir.display()
    ))?;
    Ok(0)
}

/// `mfacli help globals` / `mfacli globals`: the shared options.
pub(crate) fn globals() -> Result<u8> {
    let mut cmd = command();
    cmd.build();
    let g = cmd
        .find_subcommand_mut("globals")
        .expect("the globals command exists");
    crate::io::stdout(&format!("{}\n", g.render_help()))?;
    Ok(0)
}

fn top_page(cmd: &clap::Command) -> Result<String> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut out)
        .context("rendering the man page")?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A page for `sub` and its own subcommands (`mfacli-policy-trust.1`).
fn collect(sub: &clap::Command, pages: &mut Vec<(String, String)>) -> Result<()> {
    let name = sub
        .get_display_name()
        .unwrap_or_else(|| sub.get_name())
        .to_owned();
    // A page lists every option the command takes, the shared ones too.
    let full = sub.clone().mut_args(|a| {
        if a.get_id() == "debug" {
            a
        } else {
            a.hide(false)
        }
    });
    let man = clap_mangen::Man::new(full.clone()).title(name.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if full.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out)?;
    }
    if sub.has_subcommands() {
        man.render_subcommands_section(&mut out)?;
    }
    let mut page = String::from_utf8_lossy(&out).into_owned();
    if let Some(h) = sub.get_after_help() {
        let text = h.to_string();
        // Not the pointer to `mfacli help globals`: the page lists them.
        let text: Vec<&str> = text
            .lines()
            .filter(|l| !l.ends_with(SHARED_POINTER))
            .collect();
        let text = text.join("\n").trim_end().to_owned();
        if !text.is_empty() {
            page.push_str(".SH EXAMPLES\n.nf\n");
            for line in text.lines() {
                page.push_str(&roff_line(line));
                page.push('\n');
            }
            page.push_str(".fi\n");
        }
    }
    page.push_str(COMMON_SECTIONS);
    if name == "mfacli-exec" {
        page.push_str(".PP\n\\fBexec\\fR exits with the command's own status.\n");
    }
    pages.push((format!("{name}.1"), page));
    for s in sub.get_subcommands().filter(|s| listed(s)) {
        collect(s, pages)?;
    }
    Ok(())
}

/// A command with a page: not hidden, not clap's `help`.
fn listed(sub: &clap::Command) -> bool {
    !sub.is_hide_set() && sub.get_name() != "help"
}

/// One line of unfilled text: backslashes and a leading control
/// character escaped, so roff shows it as written.
fn roff_line(line: &str) -> String {
    let line = line.replace('\\', "\\e");
    if line.starts_with(['.', '\'']) {
        format!("\\&{line}")
    } else {
        line
    }
}

/// mfacli.1's reference sections: the config file's keys (from the
/// parser's own lists, so they cannot drift), then the common sections.
fn reference() -> String {
    use crate::config::{BASTION_KEYS, DEVICE_KEYS, TARGET_KEYS};
    let keys = |k: &[&str]| k.join(", ");
    format!(
        r#".SH CONFIGURATION
The mfacli config is TOML (see FILES). Top level: refresh_margin, timeout, lock_timeout, exec_server.
.TP
\fB[bastion]\fR
{}
.TP
\fB[[bastion.mfa_devices]]\fR
{}
.TP
\fB[targets.NAME]\fR
{}
.PP
Example:
.PP
.nf
[bastion]
profile = "bastion"
mfa_serial = "arn:aws:iam::111111111111:mfa/alice"
session_duration = "12h"
region = "eu\-west\-1"

[targets.prod]
role_arn = "arn:aws:iam::222222222222:role/PowerUser"
region = "eu\-central\-1"

[targets.audit]
account = "444444444444"
role = "Auditor"
external_id = "audit\-42"
.fi
{COMMON_SECTIONS}"#,
        keys(BASTION_KEYS),
        keys(DEVICE_KEYS),
        keys(TARGET_KEYS)
    )
}

const COMMON_SECTIONS: &str = r#".SH ENVIRONMENT
.TP
\fBMFACLI_CONFIG\fR
The mfacli config file (else $XDG_CONFIG_HOME/mfacli/config.toml, ~/.config/mfacli/config.toml).
.TP
\fBMFACLI_PROFILE\fR, \fBMFACLI_NON_INTERACTIVE\fR
As \-\-profile and \-\-non\-interactive.
.TP
\fBMFACLI_TOKEN_CODE\fR, \fBMFACLI_TOTP_SECRET\fR
An MFA code, or a base32 TOTP seed to make codes from.
.TP
\fBMFACLI_CACHE_DIR\fR
The credentials cache (else $XDG_CACHE_HOME/mfacli, ~/.cache/mfacli).
.TP
\fBAWS_SHARED_CREDENTIALS_FILE\fR, \fBAWS_CONFIG_FILE\fR, \fBAWS_ENDPOINT_URL_STS\fR, \fBAWS_REGION\fR
Read as the AWS CLI reads them.
.TP
\fBNO_COLOR\fR
No colour in messages and in doctor's report.
.SH FILES
.TP
\fI~/.config/mfacli/config.toml\fR
The mfacli config: [bastion] and [targets.NAME].
.TP
\fI~/.aws/credentials\fR, \fI~/.aws/config\fR
The bastion profile's long\-term keys; role profiles are targets too.
.TP
\fI~/.cache/mfacli/\fR
Cached MFA sessions and role credentials (0600 files in a 0700 directory), TOTP replay records, locks.
.SH "EXIT STATUS"
0 success; 1 an error (the message says what to fix); 2 a usage error (a bad flag or value).
.PP
The full guide is the mfacli book (docs/ in the source); \fBman mfacli\fR lists every command.
"#;

/// clap_mangen lists subcommands as `mfacli-assume(1)`, pages that
/// `mfacli man` alone does not write: name them as commands instead, and
/// say where their options are.
fn one_page(roff: &str) -> String {
    let mut out = String::with_capacity(roff.len() + 128);
    for line in roff.lines() {
        match line
            .strip_prefix("mfacli\\-")
            .and_then(|l| l.strip_suffix("(1)"))
        {
            Some(sub) => out.push_str(&format!("\\fBmfacli {sub}\\fR")),
            None => out.push_str(line),
        }
        out.push('\n');
        if line == ".SH SUBCOMMANDS" {
            out.push_str("Each command's own options: \\fBmfacli COMMAND \\-\\-help\\fR, or its page with \\fBmfacli man \\-\\-dir\\fR.\n");
        }
    }
    out
}
