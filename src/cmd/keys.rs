//! `mfacli keys add|import|list|remove [--profile NAME]`.

use std::io::{BufRead, IsTerminal};

use anyhow::Result;

use super::Ctx;
use crate::cli::KeysCommand;
use crate::error::UserError;
use crate::keystore::manage::{self, Stored};
use crate::secret::{LongTermKeys, Secret};

pub(crate) fn run(ctx: &Ctx, cmd: KeysCommand) -> Result<u8> {
    let sources = ctx.sources()?;
    let profile = manage::profile(&sources);
    match cmd {
        KeysCommand::Add { .. } => {
            let keys = read_keys()?;
            let stored = manage::add(&sources, &ctx.log, &profile, &keys)?;
            report(ctx, &profile, &stored);
            if sources.aws.has_credentials_section(&profile)
                && sources.aws.long_term_keys(&profile).is_ok()
            {
                ctx.log.warn(&format!(
                    "a plain-text key of '{profile}' is still in {}; mfacli no longer reads it: delete its aws_access_key_id and aws_secret_access_key lines",
                    sources.aws.credentials_path.display()
                ));
            }
        }
        KeysCommand::Import { .. } => {
            let stored = manage::import(&sources, &ctx.log, &profile)?;
            report(ctx, &profile, &stored);
        }
        KeysCommand::List { .. } => {
            let rows = manage::list(&sources, &ctx.log)?;
            if rows.is_empty() {
                let backend = manage::open(&sources)?.backend;
                crate::io::stdout(&format!(
                    "No keys in {}. Store one: mfacli keys add --profile NAME\n",
                    backend.label()
                ))?;
                return Ok(0);
            }
            let now = chrono::Utc::now();
            let mut out = String::new();
            for r in rows {
                let age = r.created.map_or_else(
                    || "age unknown".to_owned(),
                    |c| format!("created {} days ago", (now - c).num_days()),
                );
                out.push_str(&format!(
                    "{}\t{}\t{}\t{age}\n",
                    r.profile,
                    r.backend.name(),
                    r.masked_id
                ));
            }
            crate::io::stdout(&out)?;
        }
        KeysCommand::Remove { .. } => {
            let (backend, removed) = manage::remove(&sources, &profile)?;
            if !removed {
                return Err(UserError::new(format!(
                    "no key for profile '{profile}' in {}",
                    backend.label()
                ))
                .hint("`mfacli keys list` shows the profiles with a key")
                .into());
            }
            ctx.log.notice(&format!(
                "removed the key of profile '{profile}' from {}",
                backend.label()
            ));
        }
    }
    Ok(0)
}

fn report(ctx: &Ctx, profile: &str, s: &Stored) {
    ctx.log.notice(&format!(
        "stored the key of profile '{profile}' ({}) in {}",
        s.arn,
        s.backend.label()
    ));
    if let Some(p) = &s.removed_from {
        ctx.log.notice(&format!(
            "removed aws_access_key_id and aws_secret_access_key of [{profile}] from {}",
            p.display()
        ));
    }
    if let Some(p) = &s.config_written {
        ctx.log.notice(&format!(
            "set key_store = \"keyring\" and keyring = \"{}\" in [bastion] of {}",
            s.backend.name(),
            p.display()
        ));
    }
}

/// The key id and secret: asked on the terminal (the secret not echoed;
/// Ctrl-C restores the terminal), or two lines on stdin for scripts.
fn read_keys() -> Result<LongTermKeys, UserError> {
    let (id, secret) = if std::io::stdin().is_terminal() {
        let mut tty = crate::mfa::tty::Tty::open()
            .map_err(|e| UserError::new(format!("cannot open the terminal: {e}")))?;
        let id = tty
            .read_shown("AWS access key id: ")
            .map_err(|e| UserError::new(format!("reading the terminal: {e}")))?;
        let secret = match id {
            Some(_) => tty
                .read_hidden("AWS secret access key (not shown): ")
                .map_err(|e| UserError::new(format!("reading the terminal: {e}")))?,
            None => None,
        };
        (id, secret)
    } else {
        let mut lines = std::io::stdin().lock().lines();
        let mut next = || lines.next().transpose().ok().flatten();
        (next(), next())
    };
    let secret = secret.map(zeroize::Zeroizing::new);
    let id = id.map(|s| s.trim().to_owned()).unwrap_or_default();
    let secret = secret.as_deref().map(|s| s.trim()).unwrap_or_default();
    let well_formed = (16..=128).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric())
        && (16..=128).contains(&secret.len())
        && !secret
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control());
    if !well_formed {
        return Err(UserError::new(
            "expected an access key id (like AKIA…, letters and digits) and its secret access key, one a line",
        )
        .hint("on a terminal both are asked for; from a script: printf '%s\\n%s\\n' \"$ID\" \"$SECRET\" | mfacli keys add"));
    }
    Ok(LongTermKeys {
        access_key_id: id,
        secret_access_key: Secret::new(secret),
    })
}
