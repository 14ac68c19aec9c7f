//! The credential chain: long-term keys -> cached MFA session -> cached
//! role credentials. Each step checks its cache, then takes a per-entry lock
//! so that parallel processes make one STS call between them.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::cache::{key_hash, Cache};
use crate::clock::{Clock, SystemClock};
use crate::error::UserError;
use crate::keystore::{KeySource, Keyring};
use crate::log::Log;
use crate::mfa::CodeSources;
use crate::plan::{Plan, SessionPlan, Sources};
use crate::secret::{LongTermKeys, TemporaryCredentials};
use crate::sts::{AssumeRoleRequest, Connect, Endpoint, SdkConnect, Signer, Sts, StsError};
use crate::types::{MfaSerial, SessionDuration};

const CACHE_VERSION: u32 = 1;

/// A cached GetSessionToken result.
#[derive(Debug, Serialize, Deserialize)]
pub struct SessionEntry {
    /// Cache format version; an entry of another version is ignored.
    pub version: u32,
    /// The long-term key the session came from: a rotated key must not reuse it.
    pub access_key_id: String,
    /// The MFA device that signed the session.
    pub mfa_serial: String,
    /// The STS endpoint URL, so a session is not reused against another endpoint.
    pub endpoint: String,
    /// The session credentials themselves.
    pub credentials: TemporaryCredentials,
}

/// Cached role credentials for one target.
#[derive(Debug, Serialize, Deserialize)]
pub struct RoleEntry {
    /// Cache format version; an entry of another version is ignored.
    pub version: u32,
    /// The target name the credentials were assumed for.
    pub target: String,
    /// The cache slot key, checked on read so a renamed or copied file is not trusted.
    pub key: String,
    /// The role ARN asked for, to notice a changed config.
    pub role_arn: String,
    /// The assumed-role ARN STS returned, shown by `whoami`-style output.
    pub assumed_role_arn: Option<String>,
    /// The session policy the credentials were narrowed by, as
    /// [`crate::types::SessionPolicy::describe`] names it; `None`: the
    /// role's full permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The role credentials themselves.
    pub credentials: TemporaryCredentials,
}

/// Role credentials and what they are for.
#[derive(Debug, Clone)]
pub(crate) struct RoleCredentials {
    pub credentials: TemporaryCredentials,
    pub assumed_role_arn: Option<String>,
    pub(crate) from_cache: bool,
}

/// The MFA session's cache file: one per long-term key, MFA device and
/// STS scope ([`Endpoint::cache_scope`]: the partition for AWS's own
/// endpoints, whatever their region; the URL for a custom endpoint).
///
/// The session is keyed by the plan's serial (`[bastion] mfa_serial`, or
/// the first `[[bastion.mfa_devices]]` entry), never by the device whose code
/// produced it: a GetSessionToken session belongs to the IAM user, so with
/// several devices one cached session still serves every run.
pub(crate) fn session_file(access_key_id: &str, serial: &MfaSerial, endpoint: &Endpoint) -> String {
    format!(
        "session-{}.json",
        key_hash(&[access_key_id, serial.as_str(), &endpoint.cache_scope()])
    )
}

/// Where a plan's role credentials live in the cache. The key covers
/// everything that changes the result, so editing a target never serves
/// stale credentials; it is computed once per invocation.
pub(crate) struct RoleSlot {
    pub key: String,
    pub(crate) file: String,
}

impl RoleSlot {
    pub(crate) fn new(plan: &Plan, access_key_id: &str) -> Self {
        let t = &plan.target;
        let duration = t.duration.secs().to_string();
        let scope = plan.endpoint.cache_scope();
        let mut parts = vec![
            t.role_arn.as_str(),
            t.session_name.as_str(),
            &duration,
            t.external_id.as_ref().map_or("", |x| x.as_str()),
            access_key_id,
            plan.mfa_serial.as_str(),
            &scope,
        ];
        // Narrowed credentials never share an entry with full ones; an
        // unnarrowed target keeps the key it had before session policies.
        let policy = t.policy.cache_part();
        if !policy.is_empty() {
            parts.push(&policy);
        }
        let key = key_hash(&parts);
        let file = format!("{}{key}.json", role_file_prefix(t.name.as_str()));
        Self { key, file }
    }

    /// The cached entry for exactly this slot, fresh or not.
    pub(crate) fn read(&self, cache: &Cache) -> Option<RoleEntry> {
        cache
            .read::<RoleEntry>(&self.file)
            .filter(|e| e.version == CACHE_VERSION && e.key == self.key)
    }

    /// Cached credentials with more than `margin` seconds left: the whole
    /// cache-hit path. No runtime, no TLS, no SDK.
    pub(crate) fn read_fresh(
        &self,
        cache: &Cache,
        now: DateTime<Utc>,
        margin: i64,
    ) -> Option<RoleEntry> {
        self.read(cache)
            .filter(|e| e.credentials.is_fresh(now, margin))
    }
}

/// Every cached role entry of `target` (full and narrowed), by file name.
/// The name must be the prefix then exactly one key, so `prod`'s entries
/// never include those of a target `prod-ro`.
pub(crate) fn role_files(cache: &Cache, target: &str) -> Vec<String> {
    let prefix = role_file_prefix(target);
    cache
        .entries(&prefix)
        .into_iter()
        .filter(|n| {
            n[prefix.len()..]
                .strip_suffix(".json")
                .is_some_and(|k| k.len() == 20 && k.bytes().all(|b| b.is_ascii_hexdigit()))
        })
        .collect()
}

/// Every cached role entry of `target` that is of this cache version.
pub(crate) fn role_entries(cache: &Cache, target: &str) -> Vec<RoleEntry> {
    role_files(cache, target)
        .iter()
        .filter_map(|f| cache.read::<RoleEntry>(f))
        .filter(|e| e.version == CACHE_VERSION && e.target == target)
        .collect()
}

pub(crate) fn role_file_prefix(target: &str) -> String {
    format!(
        "role-{}-",
        target
            .parse::<crate::types::TargetName>()
            .map(|t| t.file_stem())
            .unwrap_or_default()
    )
}

/// Options of one invocation.
pub(crate) struct Options {
    pub(crate) no_cache: bool,
    pub(crate) refresh: bool,
    pub(crate) refresh_margin_secs: i64,
    pub(crate) lock_timeout: Duration,
    /// How long TOTP codes STS rejects are retried (`--mfa-deadline`).
    pub(crate) mfa_deadline: Duration,
    /// A fixed jitter sequence (tests); `None`: a different one per run.
    pub(crate) jitter_seed: Option<u64>,
    /// Someone is at a terminal (not `--non-interactive`): a rejected TOTP
    /// code fails at once, most likely a wrong seed, not a CI race.
    pub(crate) interactive: bool,
}

pub(crate) fn cached_session(
    cache: &Cache,
    keys: &LongTermKeys,
    serial: &MfaSerial,
    endpoint: &Endpoint,
) -> Option<SessionEntry> {
    cache
        .read::<SessionEntry>(&session_file(&keys.access_key_id, serial, endpoint))
        .filter(|e| {
            e.version == CACHE_VERSION
                && e.access_key_id == keys.access_key_id
                && e.mfa_serial == serial.as_str()
        })
}

/// The MFA session where it lives: the keyring's entry for the profile
/// (`key_store = "keyring"`), else the file cache. A keyring entry is one
/// per profile, so it must match the key, device and endpoint URL too.
pub(crate) fn stored_session(
    cache: &Cache,
    keyring: Option<&Keyring>,
    profile: &str,
    keys: &LongTermKeys,
    serial: &MfaSerial,
    endpoint: &Endpoint,
) -> Option<SessionEntry> {
    let Some(k) = keyring else {
        return cached_session(cache, keys, serial, endpoint);
    };
    let bytes = zeroize::Zeroizing::new(k.session(profile).ok()??);
    crate::cache::parse_entry::<SessionEntry>(&bytes).filter(|e| {
        e.version == CACHE_VERSION
            && e.access_key_id == keys.access_key_id
            && e.mfa_serial == serial.as_str()
            && e.endpoint == endpoint.url
    })
}

/// Produces credentials for a plan, calling STS only when the cache cannot.
pub(crate) struct Provider<'a> {
    pub(crate) cache: &'a Cache,
    pub(crate) clock: &'a dyn Clock,
    pub(crate) log: &'a Log,
    pub(crate) options: &'a Options,
    pub(crate) codes: &'a CodeSources<'a>,
    connect: &'a dyn Connect,
    sts: Option<(String, Box<dyn Sts>)>,
    cache_warned: bool,
    /// Where the MFA session lives when not in the file cache: set from the
    /// key source on a cache miss, never on the hit path.
    session_keyring: Option<Keyring>,
}

impl<'a> Provider<'a> {
    pub(crate) fn new(
        cache: &'a Cache,
        clock: &'a dyn Clock,
        log: &'a Log,
        options: &'a Options,
        codes: &'a CodeSources<'a>,
        connect: &'a dyn Connect,
    ) -> Self {
        Self {
            cache,
            clock,
            log,
            options,
            codes,
            connect,
            sts: None,
            cache_warned: false,
            session_keyring: None,
        }
    }

    /// The client for `endpoint`, made on first use.
    fn sts(&mut self, endpoint: &Endpoint) -> Result<&dyn Sts, UserError> {
        if self
            .sts
            .as_ref()
            .is_none_or(|(url, _)| *url != endpoint.url)
        {
            self.log.verbose(&format!(
                "using STS at {} (region {})",
                endpoint.url, endpoint.region
            ));
            let client = self.connect.connect(endpoint).map_err(sts_user_error)?;
            self.sts = Some((endpoint.url.clone(), client));
        }
        match &self.sts {
            Some((_, client)) => Ok(client.as_ref()),
            None => unreachable!("set above"),
        }
    }

    fn store<T: Serialize>(&mut self, name: &str, value: &T) {
        if let Err(e) = self.cache.write(name, value) {
            if !self.cache_warned {
                self.log.warn(&format!(
                    "the credentials could not be cached in {} ({e}); they are still returned, but the next run will call STS again",
                    self.cache.dir().display()
                ));
                self.cache_warned = true;
            }
        }
    }

    fn margin(&self) -> i64 {
        self.options.refresh_margin_secs
    }

    /// The one caching sequence, for sessions and roles alike: a fresh
    /// entry, else the entry's lock, a re-check (another process may have
    /// fetched it while this one waited), the fetch, and the store.
    /// Returns the value and whether it came from the cache.
    fn cached<E: Serialize, T>(
        &mut self,
        file: &str,
        what: &str,
        use_cache: bool,
        to_file: bool,
        fresh: impl Fn(&Cache, DateTime<Utc>, i64) -> Option<T>,
        fetch: impl FnOnce(&mut Self) -> Result<(T, E), UserError>,
    ) -> Result<(T, bool), UserError> {
        if use_cache {
            if let Some(v) = fresh(self.cache, self.clock.now(), self.margin()) {
                self.log.verbose(&format!(
                    "cache hit: {what} ({})",
                    self.cache.path(file).display()
                ));
                return Ok((v, true));
            }
            self.log
                .verbose(&format!("cache miss: no {what} with time left"));
        }
        let log = *self.log;
        let _guard = self.cache.lock(
            file.trim_end_matches(".json"),
            self.options.lock_timeout,
            || {
                log.notice(&format!(
                    "waiting for another mfacli that is fetching the {what} (up to {}s; it may be asking for an MFA code)",
                    self.options.lock_timeout.as_secs()
                ))
            },
        )?;
        if use_cache {
            if let Some(v) = fresh(self.cache, self.clock.now(), self.margin()) {
                self.log
                    .verbose(&format!("cache hit after waiting: {what}"));
                return Ok((v, true));
            }
        }
        let (value, entry) = fetch(self)?;
        if !self.options.no_cache && to_file {
            self.store(file, &entry);
        }
        Ok((value, false))
    }

    /// Role credentials for the plan's target.
    pub(crate) fn role_credentials(
        &mut self,
        plan: &Plan,
        keys: &dyn KeySource,
    ) -> Result<RoleCredentials, UserError> {
        // The tag, not the key: with the keyring, a hit reads no secret store.
        let slot = RoleSlot::new(plan, &keys.key_tag(&plan.bastion_profile)?);
        let target = plan.target.name.as_str();
        let use_cache = !self.options.no_cache && !self.options.refresh;
        let what = format!("credentials for '{target}'");
        let ((credentials, assumed_role_arn), from_cache) = self.cached(
            &slot.file,
            &what,
            use_cache,
            true,
            |cache, now, margin| {
                slot.read_fresh(cache, now, margin)
                    .map(|e| (e.credentials, e.assumed_role_arn))
            },
            |this| {
                let long_term = keys.long_term_keys(&plan.bastion_profile)?;
                this.session_keyring = keys.session_keyring()?.cloned();
                let (credentials, assumed_role_arn) = this.assume(plan, &long_term)?;
                let entry = RoleEntry {
                    version: CACHE_VERSION,
                    target: target.to_owned(),
                    key: slot.key.clone(),
                    role_arn: plan.target.role_arn.to_string(),
                    assumed_role_arn: assumed_role_arn.clone(),
                    policy: plan.target.policy.describe(),
                    credentials: credentials.clone(),
                };
                Ok(((credentials, assumed_role_arn), entry))
            },
        )?;
        Ok(RoleCredentials {
            credentials,
            assumed_role_arn,
            from_cache,
        })
    }

    fn assume(
        &mut self,
        plan: &Plan,
        keys: &LongTermKeys,
    ) -> Result<(TemporaryCredentials, Option<String>), UserError> {
        let t = &plan.target;
        let request = AssumeRoleRequest {
            role: &t.role_arn,
            session_name: &t.session_name,
            duration: t.duration,
            external_id: t.external_id.as_ref(),
            mfa: None,
            policy: &t.policy,
        };
        if t.duration.secs() > SessionDuration::CHAINED_MAX {
            // AWS caps AssumeRole with session credentials at 1h, so a longer
            // role session needs the long-term keys plus a code of its own.
            self.log.verbose(&format!(
                "'{}' asks for {} (> 1h, the limit through an MFA session): calling AssumeRole with the long-term keys and an MFA code",
                t.name, t.duration
            ));
            return self
                .assume_direct(plan, keys)
                .map_err(|e| name_profile(e, &plan.bastion_profile));
        }
        let session_plan = plan.session();
        let (mut session, mut from_cache) = self.mfa_session_from(&session_plan, keys, false)?;
        for attempt in 0..2 {
            self.log.verbose(&format!(
                "calling STS AssumeRole {} with the MFA session",
                t.role_arn
            ));
            let r = self
                .sts(&plan.endpoint)?
                .assume_role(Signer::Temporary(&session), &request);
            match r {
                // A cached session STS no longer accepts (expired early,
                // revoked, or from an STS that forgot it): drop it, once.
                Err(e)
                    if attempt == 0
                        && (e.is_expired_token() || (from_cache && e.is_invalid_token())) =>
                {
                    self.log.notice(&format!(
                        "STS rejected the cached MFA session ({}); dropping it and starting a new one",
                        e.code().unwrap_or("rejected")
                    ));
                    let _ = self.cache.remove(&session_file(
                        &keys.access_key_id,
                        &plan.mfa_serial,
                        &plan.endpoint,
                    ));
                    if let Some(k) = &self.session_keyring {
                        let _ = k.remove_session(&plan.bastion_profile);
                    }
                    (session, from_cache) = self.mfa_session_from(&session_plan, keys, true)?;
                }
                Err(e) if e.is_invalid_token() => {
                    // Signed with a session STS just issued: not the keys.
                    return Err(UserError::new(e.to_string()).hint(format!(
                        "STS does not accept the MFA session it issued for {} (signed with the session, not the access key): check that AWS_ENDPOINT_URL_STS / --endpoint-url names one STS, then `mfacli clear --all`",
                        plan.mfa_serial
                    )));
                }
                other => return other.map_err(|e| assume_role_error(e, t)),
            }
        }
        unreachable!("the loop returns on its second attempt")
    }

    /// AssumeRole with the long-term keys and an MFA code of its own, not
    /// through the MFA session: the credentials are not role-chained, so
    /// they may last up to the role's maximum (12 h) and may carry a
    /// console `SessionDuration`. Costs one MFA code.
    /// AssumeRole with the long-term keys and an MFA code of its own (no
    /// MFA session): the only way to a role session over 1 h.
    pub(crate) fn assume_direct(
        &mut self,
        plan: &Plan,
        keys: &LongTermKeys,
    ) -> Result<(TemporaryCredentials, Option<String>), UserError> {
        let t = &plan.target;
        let log = *self.log;
        self.with_mfa_code(&plan.mfa_serial, &plan.endpoint, |sts, serial, code| {
            log.verbose(&format!(
                "calling STS AssumeRole {} (direct, with MFA)",
                t.role_arn
            ));
            let request = AssumeRoleRequest {
                role: &t.role_arn,
                session_name: &t.session_name,
                duration: t.duration,
                external_id: t.external_id.as_ref(),
                mfa: Some((serial, code)),
                policy: &t.policy,
            };
            sts.assume_role(Signer::LongTerm(keys), &request)
        })
    }

    /// A cached MFA session, or a new one from GetSessionToken; and
    /// whether it came from the cache.
    fn mfa_session_from(
        &mut self,
        plan: &SessionPlan,
        keys: &LongTermKeys,
        force: bool,
    ) -> Result<(TemporaryCredentials, bool), UserError> {
        let serial = &plan.mfa_serial;
        let endpoint = &plan.endpoint;
        let file = session_file(&keys.access_key_id, serial, endpoint);
        let use_cache = !self.options.no_cache && !force;
        let what = format!("MFA session for {serial}");
        let keyring = self.session_keyring.clone();
        let profile = plan.bastion_profile.as_str();
        self.cached(
            &file,
            &what,
            use_cache,
            keyring.is_none(),
            |cache, now, margin| {
                stored_session(cache, keyring.as_ref(), profile, keys, serial, endpoint)
                    .map(|e| e.credentials)
                    .filter(|c| c.is_fresh(now, margin))
            },
            |this| {
                let duration = plan.session_duration;
                let log = *this.log;
                // The session is the IAM user's, whichever device gave the
                // code: it is cached under the plan's serial (see session_file).
                let creds = this
                    .with_mfa_code(serial, endpoint, |sts, device, code| {
                        log.verbose(&format!(
                            "calling STS GetSessionToken for {device} ({duration})"
                        ));
                        sts.get_session_token(keys, duration, Some((device, code)))
                    })
                    .map_err(|e| name_profile(e, &plan.bastion_profile))?;
                let entry = SessionEntry {
                    version: CACHE_VERSION,
                    access_key_id: keys.access_key_id.clone(),
                    mfa_serial: serial.to_string(),
                    endpoint: endpoint.url.clone(),
                    credentials: creds.clone(),
                };
                if let (Some(k), false) = (&keyring, this.options.no_cache) {
                    // In kernel memory, forgotten when STS forgets it.
                    let left = creds.seconds_left(this.clock.now()).max(1).unsigned_abs();
                    let stored = serde_json::to_vec(&entry)
                        .map_err(|e| UserError::new(e.to_string()))
                        .and_then(|json| k.set_session(profile, json, left));
                    if let Err(e) = stored {
                        this.log.warn(&format!(
                            "the MFA session could not be kept in the keyring ({}); the next run will ask for a code again",
                            e.message
                        ));
                    }
                }
                Ok((creds, entry))
            },
        )
    }

    /// The bastion account's own credentials: the MFA session itself.
    pub(crate) fn bastion_credentials(
        &mut self,
        plan: &SessionPlan,
        keys: &dyn KeySource,
    ) -> Result<RoleCredentials, UserError> {
        self.session_keyring = keys.session_keyring()?.cloned();
        let keys = keys.long_term_keys(&plan.bastion_profile)?;
        let (credentials, from_cache) = self.mfa_session_from(plan, &keys, self.options.refresh)?;
        Ok(RoleCredentials {
            credentials,
            assumed_role_arn: None,
            from_cache,
        })
    }
}

/// Role credentials for a target, calling STS only when the cache cannot.
/// `min_margin_secs` raises the refresh margin for consumers that refresh
/// early (the SDKs' 15 minutes), at most to half the role's duration.
pub(crate) fn for_target(
    sources: &Sources,
    log: &Log,
    target: &str,
    min_margin_secs: i64,
) -> Result<(Plan, RoleCredentials), UserError> {
    for_target_with(
        sources,
        log,
        target,
        min_margin_secs,
        &SystemClock,
        &SdkConnect,
    )
}

/// [`for_target`] with the clock and the STS connector given, for tests.
pub(crate) fn for_target_with(
    sources: &Sources,
    log: &Log,
    target: &str,
    min_margin_secs: i64,
    clock: &dyn Clock,
    connect: &dyn Connect,
) -> Result<(Plan, RoleCredentials), UserError> {
    let plan = sources.plan(target)?;
    let keys = crate::keystore::key_source(sources)?;
    let floor = min_margin_secs.min(i64::from(plan.target.duration.secs()) / 2);
    let creds = with_provider(sources, log, (clock, connect), floor, |provider| {
        provider.role_credentials(&plan, keys.as_ref())
    })?;
    Ok((plan, creds))
}

/// Role credentials for a target straight from the long-term keys and one
/// MFA code, lasting `duration` (AssumeRole without the MFA session, as for
/// targets over 1 h). Neither read from nor written to the cache, so the
/// result is always fresh and never mistaken for role-chained credentials.
pub(crate) fn direct_for_target(
    sources: &Sources,
    log: &Log,
    target: &str,
    duration: SessionDuration,
) -> Result<(Plan, RoleCredentials), UserError> {
    let mut plan = sources.plan(target)?;
    plan.target.duration = duration;
    let keys = crate::keystore::key_source(sources)?.long_term_keys(&plan.bastion_profile)?;
    let world: (&dyn Clock, &dyn Connect) = (&SystemClock, &SdkConnect);
    let (credentials, assumed_role_arn) = with_provider(sources, log, world, 0, |provider| {
        provider.assume_direct(&plan, &keys)
    })?;
    Ok((
        plan,
        RoleCredentials {
            credentials,
            assumed_role_arn,
            from_cache: false,
        },
    ))
}

/// The bastion account as a target (`--bastion`): the MFA session's own
/// credentials (GetSessionToken with MFA, no AssumeRole), from the same
/// cache, locks and code sources as [`for_target`].
pub(crate) fn for_bastion(
    sources: &Sources,
    log: &Log,
    min_margin_secs: i64,
) -> Result<(SessionPlan, RoleCredentials), UserError> {
    for_bastion_with(sources, log, min_margin_secs, &SystemClock, &SdkConnect)
}

/// [`for_bastion`] with the clock and the STS connector given, for tests.
pub(crate) fn for_bastion_with(
    sources: &Sources,
    log: &Log,
    min_margin_secs: i64,
    clock: &dyn Clock,
    connect: &dyn Connect,
) -> Result<(SessionPlan, RoleCredentials), UserError> {
    let plan = sources.bastion_plan()?;
    let keys = crate::keystore::key_source(sources)?;
    let floor = min_margin_secs.min(i64::from(plan.session_duration.secs()) / 2);
    let creds = with_provider(sources, log, (clock, connect), floor, |p| {
        p.bastion_credentials(&plan, keys.as_ref())
    })?;
    Ok((plan, creds))
}

/// Runs `f` with a provider set up from the sources and overrides.
fn with_provider<T>(
    sources: &Sources,
    log: &Log,
    world: (&dyn Clock, &dyn Connect),
    margin_floor_secs: i64,
    f: impl FnOnce(&mut Provider<'_>) -> Result<T, UserError>,
) -> Result<T, UserError> {
    let o = &sources.overrides;
    let options = Options {
        no_cache: o.no_cache,
        refresh: o.refresh,
        refresh_margin_secs: sources.refresh_margin_secs().max(margin_floor_secs),
        lock_timeout: sources.lock_timeout(),
        mfa_deadline: sources.mfa_deadline(),
        jitter_seed: None,
        interactive: o.terminal && !o.non_interactive,
    };
    let codes = CodeSources {
        env: &sources.env,
        flag: o.token_code.clone(),
        totp_flag_env: o.totp_secret_env.as_deref(),
        bastion: sources.bastion(),
        non_interactive: o.non_interactive,
    };
    let cache = sources.cache().with_log(*log);
    let mut provider = Provider::new(&cache, world.0, log, &options, &codes, world.1);
    f(&mut provider)
}

/// Hints about the long-term keys say which profile holds them.
fn name_profile(mut e: UserError, profile: &str) -> UserError {
    e.hint = e
        .hint
        .map(|h| h.replace("--profile PROFILE", &format!("--profile {profile}")));
    e
}

/// An AssumeRole refusal: a trust policy that requires `sts:ExternalId`
/// refuses a call without it (or with another) exactly as it refuses a
/// caller it does not trust, so the hint names the external id too.
pub(crate) fn assume_role_error(e: StsError, t: &crate::plan::Target) -> UserError {
    let denied = e.code() == Some("AccessDenied") && e.action == "AssumeRole";
    let mut err = sts_user_error(e);
    if denied {
        let sentence = match &t.external_id {
            Some(_) => format!(
                "'{}' sends an external id: check that its external_id equals the trust policy's sts:ExternalId.",
                t.name
            ),
            None => format!(
                "If the role's trust policy requires an sts:ExternalId, set external_id = \"...\" under [targets.{}] (or in its profile in ~/.aws/config).",
                t.name
            ),
        };
        err.hint = Some(match err.hint.take() {
            Some(h) => format!("{h} {sentence}"),
            None => sentence,
        });
    }
    err
}

pub(crate) fn sts_user_error(e: StsError) -> UserError {
    let hint = e.hint();
    let err = UserError::new(e.to_string());
    match hint {
        Some(h) => err.hint(h),
        None => err,
    }
}

mod mfa;

#[cfg(test)]
mod tests;
