//! `mfacli mfa add-virtual NAME [--seed-file PATH]` and `mfacli mfa list`.

use anyhow::Result;

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
    // The file is created (0600, never over an existing one) before
    // anything exists in IAM: a directory that cannot be written stops here.
    let mut file = match &seed_file {
        Some(path) => Some(create_new_0600(path).map_err(|e| {
            let why = if e.kind() == std::io::ErrorKind::AlreadyExists {
                "exists already; mfacli does not overwrite it".to_owned()
            } else {
                format!("cannot be created: {e}")
            };
            UserError::new(format!(
                "nothing changed: --seed-file {} {why}",
                path.display()
            ))
            .hint("choose a new file in a directory you can write")
        })?),
        None => None,
    };
    if seed_file.is_none() {
        if let Some(why) = crate::io::stdout_goes_nowhere() {
            return Err(UserError::new(format!(
                "nothing changed: the seed would be printed on stdout, but {why}"
            ))
            .hint("use --seed-file PATH, or run it where stdout is read")
            .into());
        }
    }
    let stored = crate::bastion::add_virtual(&sources, &ctx.log, name, |device| {
        let seed = format!("{}\n", device.seed.expose());
        match (&mut file, &seed_file) {
            (Some(f), Some(path)) => write_synced(f, path, &seed).map_err(|e| {
                UserError::new(format!(
                    "the seed could not be written to {}: {e}",
                    path.display()
                ))
            }),
            _ => {
                ctx.log.notice(&format!(
                    "the seed of {} follows on stdout, shown this once: store it now",
                    device.serial
                ));
                // On a terminal, for a phone: the otpauth:// URI and its QR
                // code too (not in a pipe: scripts read one seed line).
                let seed = if crate::io::stdout_is_terminal() {
                    let uri = otpauth_uri(&device.serial, device.seed.expose());
                    format!("{seed}{uri}\n{}", qr_code(&uri))
                } else {
                    seed
                };
                // A closed or broken stdout is a failure here, not the quiet
                // exit of a pager closed early: the seed went nowhere.
                crate::io::stdout(&seed).map_err(|e| {
                    UserError::new(format!("the seed could not be written to stdout: {e}"))
                })
            }
        }
    });
    let device = match stored {
        Ok(d) => d,
        Err(e) => {
            // A seed of a device that is not enabled is of no use; one that
            // may have been enabled after all is kept.
            if let Some(path) = seed_file.as_ref().filter(|_| !e.maybe_enabled) {
                let _ = std::fs::remove_file(path);
            }
            return Err(e.error.into());
        }
    };
    match &seed_file {
        Some(path) => ctx.log.notice(&format!(
            "enabled {}; its seed is in {} (mode 0600)",
            device.serial,
            path.display()
        )),
        None => ctx.log.notice(&format!("enabled {}", device.serial)),
    }
    Ok(0)
}

/// Creates `path` (it must not exist) with mode 0600.
fn create_new_0600(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// Writes `text` to `f` (at `path`) and waits until it and the file's
/// name are on disk.
fn write_synced(f: &mut std::fs::File, path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    // The directory entry too (best effort: not every file system can).
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
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
    let out = if devices.is_empty() {
        "no MFA devices\n".to_owned()
    } else {
        list_table(&devices)
    };
    crate::io::stdout(&out)?;
    Ok(0)
}

/// `otpauth://totp/…` for an authenticator app, as the AWS console's QR
/// code has it: issuer "Amazon Web Services", label `NAME@ACCOUNT`.
fn otpauth_uri(serial: &str, seed: &str) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }
    let account = serial.split(':').nth(4).unwrap_or("");
    let name = serial.rsplit('/').next().unwrap_or(serial);
    let issuer = "Amazon Web Services";
    let label = if account.is_empty() {
        name.to_owned()
    } else {
        format!("{name}@{account}")
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}",
        enc(issuer),
        enc(&label),
        enc(seed),
        enc(issuer)
    )
}

/// `text` as a QR code in half-block characters, light on dark as
/// terminals show it, with its quiet zone.
fn qr_code(text: &str) -> String {
    use qrcode::render::unicode::Dense1x2;
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => {
            let mut s = code
                .render::<Dense1x2>()
                .dark_color(Dense1x2::Light)
                .light_color(Dense1x2::Dark)
                .quiet_zone(true)
                .build();
            s.push('\n');
            s
        }
        // The seed and URI above are enough; a QR code is a convenience.
        Err(_) => String::new(),
    }
}

/// One line per device, the columns aligned (serials differ in length).
fn list_table(devices: &[crate::iam::MfaDeviceInfo]) -> String {
    let width = devices
        .iter()
        .map(|d| d.serial.chars().count())
        .max()
        .unwrap_or(0)
        .max("SERIAL".len());
    let mut out = format!("{:<width$}  ENABLED\n", "SERIAL");
    for d in devices {
        let when = d.enabled.map_or_else(
            || "-".to_owned(),
            |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
        );
        out.push_str(&format!("{:<width$}  {when}\n", d.serial));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn otpauth_uri_for_a_phone() {
        assert_eq!(
            otpauth_uri("arn:aws:iam::111111111111:mfa/alice-phone2", "ABC234"),
            "otpauth://totp/Amazon%20Web%20Services:alice-phone2@111111111111?secret=ABC234&issuer=Amazon%20Web%20Services"
        );
        let qr = qr_code("otpauth://totp/x?secret=ABC234");
        assert!(qr.lines().count() > 10, "{qr}");
        assert!(
            qr.chars()
                .all(|c| " \u{2580}\u{2584}\u{2588}\n".contains(c)),
            "{qr}"
        );
    }

    #[test]
    fn list_columns_line_up() {
        let t = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 9, 30, 0).unwrap();
        let devices = [
            crate::iam::MfaDeviceInfo {
                serial: "arn:aws:iam::111111111111:mfa/alice".into(),
                enabled: Some(t),
            },
            crate::iam::MfaDeviceInfo {
                serial: "arn:aws:iam::111111111111:mfa/alice-phone2".into(),
                enabled: None,
            },
        ];
        assert_eq!(
            list_table(&devices),
            "SERIAL                                      ENABLED\n\
             arn:aws:iam::111111111111:mfa/alice         2026-12-01 09:30 UTC\n\
             arn:aws:iam::111111111111:mfa/alice-phone2  -\n"
        );
    }
}
