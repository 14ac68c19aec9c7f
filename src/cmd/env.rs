//! `mfacli env TARGET|--bastion`: shell code that exports the credentials, for eval.

use std::ffi::OsString;

use anyhow::Result;
use clap::{CommandFactory, ValueEnum};

use super::Ctx;
use crate::cli::{Cli, EnvArgs, ShellArg};
use crate::env::Env;
use crate::output::{render_failure, Shell};

pub(crate) fn run(ctx: &Ctx, args: EnvArgs) -> Result<u8> {
    let shell = ctx.shell(args.shell);
    super::failing_eval(shell, || {
        let sources = ctx.sources_for(&args.policy)?;
        if args.target.is_none() && !args.bastion {
            return Err(no_target(&sources).into());
        }
        let issued = super::issue(ctx, &sources, args.target.as_deref(), 0)?;
        if crate::io::stdout_is_terminal() {
            let what = args.target.as_deref().unwrap_or("--bastion");
            ctx.log.notice(&format!(
                "these are shell statements for eval; to set them in this shell run: eval \"$(mfacli env {what})\""
            ));
        }
        super::print_exports_for(
            &sources,
            &issued.creds.credentials,
            issued.region.as_deref(),
            issued.target.as_deref(),
            shell,
        )?;
        Ok(0)
    })
}

/// `mfacli env` alone: which targets there are, as a usage error.
fn no_target(sources: &crate::plan::Sources) -> crate::error::UserError {
    let names: Vec<String> = sources
        .target_names()
        .into_iter()
        .map(|(n, _)| n.to_string())
        .collect();
    let e = crate::error::UserError::new(if names.is_empty() {
        "env needs a TARGET, and none is defined".to_owned()
    } else {
        format!("env needs a TARGET: {}", names.join(", "))
    });
    let example = names.first().map_or("prod", String::as_str);
    if names.is_empty() {
        e.hint("define one with `mfacli init` (or [targets.NAME] in the mfacli config), or use `mfacli env --bastion` for the bastion account")
    } else {
        e.hint(format!(
            "eval \"$(mfacli env {example})\", or `mfacli env --bastion` for the bastion account"
        ))
    }
    .usage()
}

/// For a command line clap refused: when it is `env` and stdout is not a
/// terminal, the statement that fails the caller's `eval` in the shell the
/// line asked for (`--shell`, else `$SHELL`; an unknown `--shell` falls
/// back to `$SHELL` too). A script must not go on with whatever
/// credentials its environment holds because a flag had a typo.
pub(crate) fn usage_failure(args: &[OsString], env: &Env) -> Option<String> {
    if crate::io::stdout_is_terminal() {
        return None;
    }
    let rest = after_subcommand(args, "env")?;
    let mut shell = None;
    let mut it = rest.iter().map(|a| a.to_string_lossy());
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        let value = match a.strip_prefix("--shell") {
            Some("") => it.next().map(|v| v.into_owned()),
            Some(v) if v.starts_with('=') => Some(v[1..].to_owned()),
            _ => continue,
        };
        shell = value.and_then(|v| ShellArg::from_str(&v, false).ok());
    }
    let shell = shell.map_or_else(|| Shell::from_env(env), Shell::from);
    Some(render_failure(shell))
}

/// The arguments after `name` when `name` is the subcommand of `args`
/// (global options with their values may come before it).
fn after_subcommand<'a>(args: &'a [OsString], name: &str) -> Option<&'a [OsString]> {
    let cmd = Cli::command();
    let takes_value = |flag: &str| {
        cmd.get_arguments().any(|a| {
            let value = a.get_action().takes_values();
            value
                && (flag
                    .strip_prefix("--")
                    .is_some_and(|l| a.get_long() == Some(l))
                    || (flag.len() == 2
                        && flag.starts_with('-')
                        && a.get_short() == flag.chars().nth(1)))
        })
    };
    let mut i = 1;
    while i < args.len() {
        let a = args[i].to_string_lossy();
        if a == "--" {
            return None;
        }
        if a.starts_with('-') {
            if !a.contains('=') && takes_value(&a) {
                i += 1;
            }
            i += 1;
            continue;
        }
        return (a == name).then(|| &args[i + 1..]);
    }
    None
}
