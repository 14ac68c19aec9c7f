//! `mfacli list`: targets from both config sources with their caches.

use anyhow::Result;
use serde::Serialize;

use super::Ctx;
use crate::chain;
use crate::cli::ListArgs;
use crate::clock::{Clock, SystemClock};
use crate::output;
use crate::plan::Sources;

/// One target's line.
#[derive(Debug, Serialize)]
struct Row {
    target: String,
    source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    credentials_seconds_left: Option<Option<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    credentials_fresh: Option<bool>,
    /// The target's session policy (config `policy_arns` / `policy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    policy: Option<String>,
    /// Other cached credentials of this target, narrowed by another
    /// session policy (`--policy-arn` / `--policy`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    narrowed: Vec<Narrowed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Cached credentials of a target under a session policy given by flag.
#[derive(Debug, Serialize)]
struct Narrowed {
    policy: String,
    seconds_left: i64,
}

/// One cached MFA session.
#[derive(Debug, Serialize)]
struct Session {
    mfa_serial: String,
    seconds_left: i64,
}

#[derive(Debug, Serialize)]
struct Listing {
    targets: Vec<Row>,
    mfa_sessions: Vec<Session>,
}

pub(crate) fn run(ctx: &Ctx, args: ListArgs) -> Result<u8> {
    let sources = ctx.sources()?;
    let listing = collect(&sources);
    if args.json {
        crate::io::stdout(&format!("{}\n", serde_json::to_string_pretty(&listing)?))?;
    } else {
        crate::io::stdout(&render(&sources, &listing))?;
    }
    Ok(0)
}

fn collect(sources: &Sources) -> Listing {
    let cache = sources.cache();
    let now = SystemClock.now();
    let margin = sources.refresh_margin_secs();
    let mut targets = Vec::new();
    let mut sessions: Vec<Session> = Vec::new();
    let keys = crate::keystore::key_source(sources);
    for (name, origin) in sources.target_names() {
        let mut row = Row {
            target: name.to_string(),
            source: origin.label(),
            role_arn: None,
            duration: None,
            credentials_seconds_left: None,
            credentials_fresh: None,
            policy: None,
            narrowed: Vec::new(),
            error: None,
        };
        match sources.plan(name.as_str()) {
            Ok(plan) => {
                row.role_arn = Some(plan.target.role_arn.to_string());
                row.duration = Some(plan.target.duration.to_string());
                row.policy = plan.target.policy.describe();
                // The key's tag, not the key: listing never opens the keyring.
                let tag = keys
                    .as_ref()
                    .ok()
                    .and_then(|k| k.key_tag(&plan.bastion_profile).ok());
                if let Some(tag) = tag {
                    let slot = chain::RoleSlot::new(&plan, &tag);
                    let left = slot
                        .read_fresh(&cache, now, 0)
                        .map(|e| e.credentials.seconds_left(now));
                    row.narrowed = chain::role_entries(&cache, name.as_str())
                        .into_iter()
                        .filter(|e| e.key != slot.key && e.credentials.is_fresh(now, 0))
                        .filter_map(|e| {
                            Some(Narrowed {
                                policy: e.policy?,
                                seconds_left: e.credentials.seconds_left(now),
                            })
                        })
                        .collect();
                    row.credentials_seconds_left = Some(left);
                    row.credentials_fresh = Some(left.is_some_and(|l| l > margin));
                }
                if let Ok(keys) = sources.aws.long_term_keys(&plan.bastion_profile) {
                    if let Some(s) =
                        chain::cached_session(&cache, &keys, &plan.mfa_serial, &plan.endpoint)
                    {
                        let serial = plan.mfa_serial.to_string();
                        if !sessions.iter().any(|x| x.mfa_serial == serial) {
                            sessions.push(Session {
                                mfa_serial: serial,
                                seconds_left: s.credentials.seconds_left(now),
                            });
                        }
                    }
                }
            }
            Err(e) => row.error = Some(e.message),
        }
        targets.push(row);
    }
    Listing {
        targets,
        mfa_sessions: sessions,
    }
}

fn render(sources: &Sources, listing: &Listing) -> String {
    if listing.targets.is_empty() {
        let config =
            crate::config::config_path(sources.overrides.config.as_deref(), &sources.env).0;
        return format!(
            "No targets. Add [targets.NAME] to {} or a [profile NAME] with role_arn to {}.\n",
            config.display(),
            sources.aws.config_path.display()
        );
    }
    let w = listing
        .targets
        .iter()
        .map(|r| r.target.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut s = format!(
        "{:<w$}  {:<13}  {:<46}  CREDENTIALS\n",
        "TARGET", "SOURCE", "ROLE"
    );
    for r in &listing.targets {
        let role = match (&r.role_arn, &r.error) {
            (Some(arn), _) => arn.clone(),
            (None, e) => format!("error: {}", e.as_deref().unwrap_or("")),
        };
        let creds = match r.credentials_seconds_left.flatten() {
            Some(l) if l > 0 => format!("{} left", output::human_left(l)),
            Some(_) => "expired".into(),
            None => "-".into(),
        };
        s.push_str(&format!(
            "{:<w$}  {:<13}  {:<46}  {creds}\n",
            r.target, r.source, role
        ));
        if let Some(p) = &r.policy {
            s.push_str(&format!("{:<w$}  narrowed by {p}\n", ""));
        }
        for n in &r.narrowed {
            s.push_str(&format!(
                "{:<w$}  also cached, narrowed by {}: {} left\n",
                "",
                n.policy,
                output::human_left(n.seconds_left)
            ));
        }
    }
    if listing.mfa_sessions.is_empty() {
        s.push_str("MFA session: none cached\n");
    }
    for x in &listing.mfa_sessions {
        s.push_str(&format!(
            "MFA session: {}: {}\n",
            x.mfa_serial,
            if x.seconds_left > 0 {
                format!("{} left", output::human_left(x.seconds_left))
            } else {
                "expired".into()
            }
        ));
    }
    s
}
