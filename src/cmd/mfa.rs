//! `mfacli mfa add-virtual NAME [--seed-file PATH]` and `mfacli mfa list`.

use anyhow::{Context, Result};

use super::Ctx;
use crate::cli::MfaCommand;
use crate::error::UserError;

pub(crate) fn run(ctx: &Ctx, cmd: MfaCommand) -> Result<u8> {
    match cmd {
        MfaCommand::AddVirtual {
            name, seed_file, ..
        } => add_virtual(ctx, &name, seed_file),
        MfaCommand::List { json, .. } => list(ctx, json),
    }
}

fn add_virtual(ctx: &Ctx, name: &str, seed_file: Option<std::path::PathBuf>) -> Result<u8> {
    let sources = ctx.sources()?;
    let seed_file = seed_file.map(|p| ctx.env.expand_tilde(p));
    if let Some(path) = &seed_file {
        // Refuse before anything is created in IAM.
        if path.exists() {
            return Err(UserError::new(format!(
                "--seed-file {} exists already; mfacli does not overwrite it",
                path.display()
            ))
            .hint("choose a new file name")
            .into());
        }
    }
    let device = crate::bastion::add_virtual(&sources, &ctx.log, name)?;
    match &seed_file {
        Some(path) => {
            write_new_0600(path, device.seed.expose()).with_context(|| {
                format!(
                    "the device {} is enabled, but its seed could not be written to {}",
                    device.serial,
                    path.display()
                )
            })?;
            ctx.log.notice(&format!(
                "enabled {}; its seed is in {} (mode 0600)",
                device.serial,
                path.display()
            ));
        }
        None => {
            ctx.log.notice(&format!(
                "enabled {}; its seed follows on stdout, shown this once: store it now",
                device.serial
            ));
            crate::io::stdout(&format!("{}\n", device.seed.expose()))?;
        }
    }
    Ok(0)
}

/// Creates `path` (it must not exist) with mode 0600 and `text` plus a newline.
fn write_new_0600(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(format!("{text}\n").as_bytes())?;
    f.sync_all()
}

fn list(ctx: &Ctx, json: bool) -> Result<u8> {
    let sources = ctx.sources()?;
    let devices = crate::bastion::list_devices(&sources, &ctx.log)?;
    if json {
        let mut s = serde_json::to_string_pretty(&devices)?;
        s.push('\n');
        crate::io::stdout(&s)?;
        return Ok(0);
    }
    let mut out = String::new();
    for d in &devices {
        let when = d
            .enabled
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        out.push_str(&format!("{}  enabled {when}\n", d.serial));
    }
    if devices.is_empty() {
        out.push_str("no MFA devices\n");
    }
    crate::io::stdout(&out)?;
    Ok(0)
}
