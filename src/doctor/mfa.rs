//! `doctor --check-mfa`: one GetSessionToken per configured TOTP device, to
//! show that each seed belongs to its serial. Only when asked, since every
//! check spends a code of that device. Without a seed, one GetSessionToken
//! without a code (spending none) still shows whether a policy, typically
//! AWS's force-MFA statement, denies mfacli's first step.

use super::Report;
use crate::cache::Cache;
use crate::clock::SystemClock;
use crate::log::Log;
use crate::mfa::totp::ReplayGuard;
use crate::mfa::CodeSources;
use crate::plan::{Plan, Sources};
use crate::secret::LongTermKeys;
use crate::sts::{Connect, SdkConnect};
use crate::types::SessionDuration;

/// GetSessionToken with the long-term keys and no code (a 15-minute session,
/// discarded): an explicit deny here is a force-MFA statement that does not
/// exempt sts:GetSessionToken, and every mfacli run would fail on it.
fn check_without_code(r: &mut Report, plan: &Plan, keys: &LongTermKeys) {
    let check = "force-mfa";
    let sts = match SdkConnect.connect(&plan.endpoint) {
        Ok(s) => s,
        Err(e) => {
            r.error(check, e.to_string(), e.hint().unwrap_or_default());
            return;
        }
    };
    let min = SessionDuration::from_secs(SessionDuration::SESSION_MIN);
    match sts.get_session_token(keys, min, None) {
        Ok(_) => r.ok(
            check,
            "the bastion policies let the long-term keys call sts:GetSessionToken (no force-MFA statement blocks it)",
        ),
        Err(e) => r.error(
            check,
            format!("GetSessionToken without a code: {e}"),
            e.hint().unwrap_or_else(|| "see the message".into()),
        ),
    }
}

/// Checks every TOTP device the plan's runs could use.
pub(super) fn check_devices(r: &mut Report, sources: &Sources, plan: &Plan, keys: &LongTermKeys) {
    let check = "mfa device";
    let o = &sources.overrides;
    let codes = CodeSources {
        env: &sources.env,
        flag: None,
        totp_flag_env: o.totp_secret_env.as_deref(),
        bastion: sources.bastion(),
        non_interactive: true,
    };
    let devices = match codes.totp_devices(&plan.mfa_serial) {
        Ok(Some(d)) => d,
        Ok(None) => {
            check_without_code(r, plan, keys);
            r.warn(
                check,
                "no TOTP seed is configured, so --check-mfa has nothing to check",
                "--check-mfa checks seeds ([bastion] totp_secret_env/totp_secret_file, [[bastion.mfa_devices]], $MFACLI_TOTP_SECRET); a typed code is checked by any command",
            );
            return;
        }
        Err(e) => {
            r.user_error(check, &e);
            return;
        }
    };
    let sts = match SdkConnect.connect(&plan.endpoint) {
        Ok(s) => s,
        Err(e) => {
            r.error(check, e.to_string(), e.hint().unwrap_or_default());
            return;
        }
    };
    let cache: Cache = sources.cache();
    let log = Log::default();
    for d in &devices {
        let guard = ReplayGuard::new(&cache, &d.serial);
        let lock = cache.lock(&guard.lock_name(), sources.lock_timeout(), || {
            log.verbose("waiting for another mfacli using this MFA device")
        });
        if let Err(e) = lock {
            r.user_error(check, &e);
            continue;
        }
        let before = guard.snapshot();
        let code = match guard.take_code(&d.seed, &SystemClock, |_| {}) {
            Ok(c) => c,
            Err(e) => {
                r.user_error(check, &e);
                continue;
            }
        };
        let min = SessionDuration::from_secs(SessionDuration::SESSION_MIN);
        match sts.get_session_token(keys, min, Some((&d.serial, &code))) {
            Ok(_) => r.ok(
                check,
                format!(
                    "{}: STS accepted the code from {} (GetSessionToken)",
                    d.serial, d.seed.source
                ),
            ),
            Err(e) => {
                if e.never_sent() {
                    guard.restore(before);
                }
                let fix = if e.is_invalid_mfa_code() {
                    format!(
                        "the seed is not this device's (re-enter the seed shown when {} was created), or another machine used this code at the same moment (run `mfacli doctor --check-mfa` again)",
                        d.serial
                    )
                } else {
                    e.hint().unwrap_or_else(|| "see the message".into())
                };
                r.error(check, format!("{}: {e}", d.serial), fix);
            }
        }
    }
}
