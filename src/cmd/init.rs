//! `mfacli init`: checks the flags, then runs the wizard or writes the
//! config from flags alone (`--non-interactive`).

use anyhow::Result;

use super::Ctx;
use crate::aws_files::AwsFiles;
use crate::cli::{GlobalArgs, InitArgs};
use crate::config::Config;
use crate::error::UserError;
use crate::init::{
    check_session_duration, from_flags, parse_device_spec, parse_profile_name, parse_region,
    parse_target_spec, render, wizard, write_config, Given, Profiles, Prompter, TargetSpec,
};
use crate::types::{InvalidValue, MfaSerial, SessionDuration, SessionName};

/// Checks every flag; errors name the flag.
fn parse_flags(args: &InitArgs, g: &GlobalArgs) -> Result<Given, UserError> {
    let flag = |name: &str, e: InvalidValue| UserError::new(format!("{name}: {e}"));
    let bastion_profile = match (&args.bastion_profile, &g.profile) {
        (Some(p), _) => Some(parse_profile_name(p).map_err(|e| flag("--bastion-profile", e))?),
        (None, Some(p)) => Some(parse_profile_name(p).map_err(|e| flag("--profile", e))?),
        (None, None) => None,
    };
    let mfa_serial = args
        .mfa_serial
        .as_deref()
        .map(str::parse::<MfaSerial>)
        .transpose()
        .map_err(|e| {
            flag("--mfa-serial", e).hint("e.g. --mfa-serial arn:aws:iam::111111111111:mfa/alice")
        })?;
    let session_duration = args
        .session_duration
        .as_deref()
        .map(|s| {
            s.parse::<SessionDuration>()
                .and_then(check_session_duration)
        })
        .transpose()
        .map_err(|e| flag("--session-duration", e))?;
    let session_name = args
        .session_name
        .as_deref()
        .map(str::parse::<SessionName>)
        .transpose()
        .map_err(|e| flag("--session-name", e))?;
    let region = g
        .region
        .as_deref()
        .map(parse_region)
        .transpose()
        .map_err(|e| flag("--region", e))?;
    let mut targets: Vec<TargetSpec> = Vec::new();
    for spec in &args.targets {
        let t = parse_target_spec(spec).map_err(|e| {
            flag("--target", e).hint("e.g. --target prod=222222222222:PowerUser or --target audit=444444444444:Auditor:1h")
        })?;
        if targets.iter().any(|x| x.name == t.name) {
            return Err(UserError::new(format!(
                "--target: '{}' is given more than once",
                t.name
            )));
        }
        targets.push(t);
    }
    let mut mfa_devices = Vec::new();
    for spec in &args.mfa_devices {
        let d = parse_device_spec(spec).map_err(|e| {
            flag("--mfa-device", e)
                .hint("e.g. --mfa-device arn:aws:iam::111111111111:mfa/alice-ci-2=MFA_SEED_2")
        })?;
        if mfa_devices.iter().any(|(s, _)| *s == d.0) || mfa_serial.as_ref() == Some(&d.0) {
            return Err(UserError::new(format!(
                "--mfa-device: {} is given more than once",
                d.0
            )));
        }
        mfa_devices.push(d);
    }
    if mfa_devices.len() + 1 > crate::config::MAX_MFA_DEVICES {
        return Err(UserError::new(format!(
            "--mfa-device: {} devices besides --mfa-serial; IAM allows at most {} per user",
            mfa_devices.len(),
            crate::config::MAX_MFA_DEVICES
        )));
    }
    Ok(Given {
        mfa_devices,
        bastion_profile,
        mfa_serial,
        session_duration,
        session_name,
        region,
        targets,
    })
}

pub(crate) fn run(ctx: &Ctx, args: InitArgs) -> Result<u8> {
    let (g, log) = (&ctx.global, &ctx.log);
    let (path, _) = crate::config::config_path(g.config.as_deref(), &ctx.env);
    let given = parse_flags(&args, g).map_err(UserError::usage)?;
    let aws = AwsFiles::load(&ctx.env)?;
    let profiles = Profiles::from_aws(&aws);
    let exists = std::fs::symlink_metadata(&path).is_ok();
    let answers = if g.non_interactive {
        if exists && !args.force {
            return Err(UserError::new(format!(
                "{} already exists; not overwriting it",
                path.display()
            ))
            .hint("pass --force to replace it, or --config PATH to write another file")
            .into());
        }
        let answers = from_flags(given, &profiles)?;
        if !profiles.with_keys.contains(&answers.bastion_profile) {
            log.warn(&format!(
                "profile '{}' has no long-term keys yet; add them with `aws configure --profile {}`",
                answers.bastion_profile, answers.bastion_profile
            ));
        }
        answers
    } else {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        let mut err = std::io::stderr();
        let mut p = Prompter::new(&mut input, &mut err);
        if exists && !args.force && !p.confirm(&format!("{} exists; overwrite?", path.display()))? {
            log.notice(&format!("left {} as it was", path.display()));
            return Ok(1);
        }
        p.say(&format!(
            "Writing {} (answers in [brackets] are the defaults).",
            path.display()
        ))?;
        wizard(&mut p, &profiles, given)?
    };
    let text = render(&answers);
    // What init writes must load exactly as written.
    let parsed = Config::parse(&text, &path)
        .map_err(|e| anyhow::anyhow!("init generated an invalid config (a bug): {e}"))?;
    if !parsed.warnings.is_empty() {
        anyhow::bail!(
            "init generated a config with warnings (a bug): {}",
            parsed.warnings.join("; ")
        );
    }
    write_config(&path, &text)?;
    let mut msg = format!("Wrote {}\n", path.display());
    if answers.targets.is_empty() {
        msg.push_str("No targets yet: add [targets.NAME] sections, or run `mfacli init` again.\n");
    }
    if answers.keyring {
        msg.push_str(&format!(
            "The access key goes in the OS keyring: mfacli keys import --profile {p}    (or, for a new key: mfacli keys add --profile {p})\n",
            p = answers.bastion_profile
        ));
    }
    msg.push_str(
        "Next, try: mfacli list    (then `mfacli doctor` to check keys, clock and targets)\n",
    );
    crate::io::stdout(&msg)?;
    Ok(0)
}
