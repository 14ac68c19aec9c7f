//! `mfacli clear TARGET | --all`: deletes cached credentials.

use anyhow::{Context, Result};

use super::Ctx;
use crate::chain;
use crate::cli::ClearArgs;

pub(crate) fn run(ctx: &Ctx, args: ClearArgs) -> Result<u8> {
    let sources = ctx.sources()?;
    let cache = sources.cache().with_log(ctx.log);
    let mut names = match (&args.target, args.all) {
        (_, true) => {
            let mut n = cache.entries("role-");
            n.extend(cache.entries("session-"));
            n.extend(cache.entries(super::console::REFUSED_PREFIX));
            n
        }
        (None, false) if args.totp_state => Vec::new(),
        (Some(target), false) => {
            // Unknown targets are an error, so a typo does not look like success.
            sources.plan(target)?;
            chain::role_files(&cache, target)
        }
        (None, false) => anyhow::bail!("clear: name a TARGET or pass --all"),
    };
    if args.totp_state {
        // Replay records are kept by --all: they stop a TOTP code from being
        // sent twice. Removed only when asked (e.g. one from a clock that ran ahead).
        names.extend(cache.entries("totp-"));
    }
    let mut removed = 0;
    for n in &names {
        if cache
            .remove(n)
            .with_context(|| format!("removing {}", cache.path(n).display()))?
        {
            removed += 1;
        }
    }
    // Lock files go with what they guarded: all of them with --all (also
    // of targets no longer defined), the TOTP ones with --totp-state.
    let mut prefixes: Vec<&str> = Vec::new();
    if args.all {
        prefixes.extend(["role-", "session-"]);
    }
    if args.totp_state {
        prefixes.push("totp-");
    }
    let mut locks = 0;
    for p in prefixes {
        locks += cache
            .remove_idle_locks(p)
            .with_context(|| format!("removing lock files in {}", cache.path("").display()))?;
    }
    let locks = if locks == 0 {
        String::new()
    } else {
        format!(
            " and {locks} lock file{}",
            if locks == 1 { "" } else { "s" }
        )
    };
    ctx.log.notice(&format!(
        "removed {removed} cached credential file{}{locks}",
        if removed == 1 { "" } else { "s" }
    ));
    // With key_store = "keyring" the MFA session is a keyring entry.
    if args.all && sources.bastion().key_store == crate::keystore::KeyStoreKind::Keyring {
        let profile = sources.bastion_profile(None);
        let keyring = crate::keystore::manage::open(&sources)?;
        if keyring.remove_session(&profile)? {
            ctx.log.notice(&format!(
                "removed the MFA session of '{profile}' from {}",
                keyring.backend.label()
            ));
        }
    }
    Ok(0)
}
