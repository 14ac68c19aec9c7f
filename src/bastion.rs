//! The bastion user looks after itself with its MFA session: key rotation,
//! virtual MFA devices, and the key's real age. Everything here goes through
//! [`crate::chain::for_bastion`] (same cache, locks and code sources as a
//! target) and [`crate::iam::IamClient`].

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::aws_files::writer::BACKUP_SUFFIX;
use crate::aws_files::{set_keys_in_section, write_credentials_file, ProfileName, WriteOutcome};
use crate::cache::Cache;
use crate::chain::{self, cached_session, session_file, RoleSlot, SessionEntry};
use crate::error::UserError;
use crate::iam::{AccessKeyInfo, IamClient, MfaDeviceInfo, NewVirtualDevice};
use crate::log::Log;
use crate::plan::{SessionPlan, Sources};
use crate::secret::{LongTermKeys, TemporaryCredentials};
use crate::sts::{Signer, StsClient};
use crate::types::{MfaSerial, Partition, TokenCode};

/// How long `rotate` waits for STS to accept the new key.
pub(crate) const PROPAGATION_BUDGET: Duration = Duration::from_secs(30);

/// The MFA session (from the cache, or a new one with a code) and an IAM
/// client signed with it.
pub(crate) struct SelfService {
    pub(crate) plan: SessionPlan,
    pub(crate) session: TemporaryCredentials,
    pub(crate) iam: IamClient,
}

fn partition(serial: &MfaSerial) -> Partition {
    serial.partition().unwrap_or(Partition::Aws)
}

impl SelfService {
    pub(crate) fn open(sources: &Sources, log: &Log) -> Result<Self, UserError> {
        let (plan, creds) = chain::for_bastion(sources, log, 0)?;
        Self::with_session(sources, log, plan, creds.credentials)
    }

    fn with_session(
        sources: &Sources,
        log: &Log,
        plan: SessionPlan,
        session: TemporaryCredentials,
    ) -> Result<Self, UserError> {
        let endpoint = sources.iam_endpoint(partition(&plan.mfa_serial))?;
        log.verbose(&format!(
            "using IAM at {} (signing region {})",
            endpoint.url, endpoint.region
        ));
        let iam = IamClient::new(endpoint, session.clone())?;
        Ok(Self { plan, session, iam })
    }

    /// The cached MFA session only: never asks for a code (for `doctor`).
    pub(crate) fn open_cached(sources: &Sources, log: &Log) -> Result<Option<Self>, UserError> {
        let plan = sources.bastion_plan()?;
        let source = crate::keystore::key_source(sources)?;
        let keys = source.long_term_keys(&plan.bastion_profile)?;
        let Some(entry) = chain::stored_session(
            &sources.cache(),
            source.session_keyring()?,
            &plan.bastion_profile,
            &keys,
            &plan.mfa_serial,
            &plan.endpoint,
        )
        .filter(|e| e.credentials.is_fresh(Utc::now(), 60)) else {
            return Ok(None);
        };
        Self::with_session(sources, log, plan, entry.credentials).map(Some)
    }

    /// The IAM user name, from GetCallerIdentity with the session.
    pub(crate) fn user_name(&self) -> Result<String, UserError> {
        let sts = StsClient::new(self.plan.endpoint.clone()).map_err(chain::sts_user_error)?;
        let id = sts
            .get_caller_identity(Signer::Temporary(&self.session))
            .map_err(chain::sts_user_error)?;
        user_name_of(&id.arn)
    }
}

/// The IAM user name in a caller ARN (`arn:aws:iam::1:user/path/alice`:
/// `alice`); an error for anything but an IAM user.
fn user_name_of(arn: &str) -> Result<String, UserError> {
    arn.rsplit_once(":user/")
        .map(|(_, p)| p.rsplit('/').next().unwrap_or(p).to_owned())
        .ok_or_else(|| {
            UserError::new(format!(
                "the bastion profile's keys belong to {arn}, not to an IAM user"
            ))
        })
}

/// What `rotate` did.
pub(crate) struct Rotated {
    pub(crate) old_key: String,
    pub(crate) new_key: String,
    pub(crate) deactivated_only: bool,
    pub(crate) waited: Duration,
    pub(crate) moved_cache_entries: usize,
}

/// `IAM now has: …` for messages.
fn describe_keys(keys: &[AccessKeyInfo], in_file: &str) -> String {
    if keys.is_empty() {
        return "no access keys".into();
    }
    keys.iter()
        .map(|k| {
            format!(
                "{} ({}{}{})",
                k.access_key_id,
                if k.active { "active" } else { "inactive" },
                k.created
                    .map(|c| format!(", created {}", c.format("%Y-%m-%d")))
                    .unwrap_or_default(),
                if k.access_key_id == in_file {
                    ", in the credentials file"
                } else {
                    ""
                }
            )
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

/// The IAM state as one sentence, listed again after a failure (best effort).
fn iam_state(ss: &SelfService, in_file: &str) -> String {
    match ss.iam.list_access_keys() {
        Ok(keys) => format!("IAM now has {}", describe_keys(&keys, in_file)),
        Err(e) => format!("the IAM state could not be listed ({e})"),
    }
}

fn delete_hint(id: &str) -> String {
    format!("mfacli exec --bastion -- aws iam delete-access-key --access-key-id {id}")
}

/// Rotates the bastion profile's key. On any failure the credentials file
/// holds a key that works and the error says what IAM holds.
/// `go` gets what would be done (IAM's keys, the file, the old key's
/// fate) before anything changes; `Ok(false)` stops there with `Ok(None)`
/// (a dry run, or a person who said no).
pub(crate) fn rotate(
    sources: &Sources,
    log: &Log,
    deactivate: bool,
    go: impl FnOnce(&str) -> Result<bool, UserError>,
) -> Result<Option<Rotated>, UserError> {
    let profile = sources.bastion_plan()?.bastion_profile;
    let path = sources.aws.credentials_path.clone();
    // One rotate at a time per profile, from ListAccessKeys to the last
    // write: two at once left a working key only in a backup file.
    let _lock = rotate_lock(sources, log, &profile)?;
    // key_store = "keyring": the new key goes where the old one lived.
    let keyring = match sources.bastion().key_store {
        crate::keystore::KeyStoreKind::Keyring => Some(crate::keystore::manage::open(sources)?),
        crate::keystore::KeyStoreKind::AwsFiles => None,
    };
    let old = if keyring.is_some() {
        // Read under the lock: what another rotate stored is what we see.
        crate::keystore::key_source(sources)?.long_term_keys(&profile)?
    } else {
        // Re-read under the lock: another rotate may have replaced the key
        // since this process read the file.
        let fresh =
            crate::aws_files::AwsFiles::load_from(path.clone(), sources.aws.config_path.clone())?
                .long_term_keys(&profile)?;
        let loaded = sources.aws.long_term_keys(&profile)?;
        if fresh.access_key_id != loaded.access_key_id {
            return Err(UserError::new(format!(
                "nothing changed: [{profile}] of {} now holds {} instead of {} (another `mfacli rotate` replaced it meanwhile)",
                path.display(),
                fresh.access_key_id,
                loaded.access_key_id
            ))
            .hint("the key was just rotated; run `mfacli rotate` again only if you want another new key"));
        }
        loaded
    };
    let ss = SelfService::open(sources, log)?;
    let old_id = old.access_key_id.clone();
    if keyring.is_none() && !sources.aws.has_credentials_section(&profile) {
        return Err(UserError::new(format!(
            "nothing changed: the keys of profile '{profile}' are not in {}, the file `rotate` writes",
            path.display()
        ))
        .hint(format!(
            "move aws_access_key_id and aws_secret_access_key of '{profile}' into [{profile}] of {}",
            path.display()
        )));
    }

    log.verbose("calling IAM ListAccessKeys");
    let keys = ss.iam.list_access_keys()?;
    if let Some(e) = refusal_before_create(&keys, &old_id, &profile, &path) {
        return Err(e);
    }

    let plan = format!(
        "IAM has {}; rotate creates a new access key, writes it into [{profile}] of {} (backup: {}{BACKUP_SUFFIX}), waits until STS accepts it, then {} the old key {old_id}",
        describe_keys(&keys, &old_id),
        path.display(),
        path.display(),
        if deactivate { "deactivates" } else { "deletes" }
    );
    if !go(&plan)? {
        return Ok(None);
    }

    log.verbose("calling IAM CreateAccessKey");
    let (new, _) = ss.iam.create_access_key().map_err(|e| {
        let state = iam_state(&ss, &old_id);
        UserError::new(format!(
            "{e}; the credentials file is unchanged and still holds {old_id}, which works; {state}"
        ))
        .hint(e.hint().unwrap_or_else(|| {
            "run `mfacli rotate` again; if a second key appeared, delete it first".into()
        }))
    })?;
    let new_id = new.access_key_id.clone();

    // Undo: delete the new key, which nothing holds any more.
    let roll_back = |why: String| -> UserError {
        let undo = match ss.iam.delete_access_key(&new_id) {
            Ok(()) => format!("the new key {new_id} was deleted again"),
            Err(e) => format!(
                "deleting the new key {new_id} failed too ({e}); delete it: `{}`",
                delete_hint(&new_id)
            ),
        };
        UserError::new(format!("{why}; {undo}; {}", iam_state(&ss, &old_id)))
    };

    let put = |keys: &LongTermKeys| match &keyring {
        Some(k) => k.set_keys(&profile, keys).map(|()| WriteOutcome {
            path: PathBuf::from(k.backend.label()),
            created: false,
            changed: true,
            backup: None,
        }),
        None => write_long_term_keys(&path, &profile, keys),
    };
    let written = put(&new).map_err(|e| {
        roll_back(format!(
            "the new key could not be written ({}); the credentials file still holds {old_id}, which works",
            e.message
        ))
    })?;
    let backup = written
        .backup
        .unwrap_or_else(|| PathBuf::from(format!("{}{BACKUP_SUFFIX}", path.display())));
    match &keyring {
        Some(k) => log.notice(&format!(
            "stored the new key {new_id} for '{profile}' in {}",
            k.backend.label()
        )),
        None => log.notice(&format!(
            "wrote the new key {new_id} into [{profile}] of {} (backup: {})",
            written.path.display(),
            backup.display()
        )),
    }

    let started = Instant::now();
    if let Err(e) = wait_until_accepted(&ss.plan, &new, log) {
        // Put the old key back: it still works, the new one does not yet.
        let restored = put(&old);
        let file_state = match restored {
            Ok(_) => format!("the credentials file holds the old key {old_id} again, which works"),
            Err(re) => format!(
                "restoring the old key in the file failed ({}); restore it from {}",
                re.message,
                backup.display()
            ),
        };
        return Err(roll_back(format!(
            "STS did not accept the new key {new_id} within {} s ({e}); {file_state}",
            PROPAGATION_BUDGET.as_secs()
        ))
        .hint("IAM can be slow to propagate a new key: run `mfacli rotate` again in a minute"));
    }
    let waited = started.elapsed();

    // From here on the file holds the new, working key.
    let moved = move_cache(sources, &ss.plan, &old, &new, keyring.as_ref());

    let retire = if deactivate {
        log.verbose(&format!("calling IAM UpdateAccessKey {old_id} Inactive"));
        ss.iam.set_access_key_active(&old_id, false)
    } else {
        log.verbose(&format!("calling IAM DeleteAccessKey {old_id}"));
        ss.iam.delete_access_key(&old_id)
    };
    if let Err(e) = retire {
        let verb = if deactivate { "deactivated" } else { "deleted" };
        return Err(UserError::new(format!(
            "the new key {new_id} is in [{profile}] of {} and works, but the old key {old_id} could not be {verb}: {e}; {}",
            path.display(),
            iam_state(&ss, &new_id)
        ))
        .hint(format!(
            "{}; then `{}`",
            e.hint().unwrap_or_else(|| "retry later".into()),
            if deactivate {
                format!("mfacli exec --bastion -- aws iam update-access-key --access-key-id {old_id} --status Inactive")
            } else {
                delete_hint(&old_id)
            }
        )));
    }
    Ok(Some(Rotated {
        old_key: old_id,
        new_key: new_id,
        deactivated_only: deactivate,
        waited,
        moved_cache_entries: moved,
    }))
}

/// Why `rotate` must not create a key, from IAM's list of the user's keys:
/// two already (IAM's limit), or none of them the one in the file.
fn refusal_before_create(
    keys: &[AccessKeyInfo],
    old_id: &str,
    profile: &str,
    path: &Path,
) -> Option<UserError> {
    if keys.len() >= 2 {
        let other = keys.iter().find(|k| k.access_key_id != old_id).map_or_else(
            || keys[1].access_key_id.clone(),
            |k| k.access_key_id.clone(),
        );
        return Some(UserError::new(format!(
            "nothing changed: the IAM user has two access keys already, {}; IAM allows two, so a new one cannot be created",
            describe_keys(keys, old_id)
        ))
        .hint(format!(
            "delete the key that is not in [{profile}] of {}: `{}`, then run `mfacli rotate` again",
            path.display(),
            delete_hint(&other)
        )));
    }
    if !keys.iter().any(|k| k.access_key_id == old_id) {
        return Some(UserError::new(format!(
            "nothing changed: the key in [{profile}] ({old_id}) is not one of this IAM user's keys ({})",
            describe_keys(keys, old_id)
        ))
        .hint("check that the bastion profile and mfa_serial belong to the same IAM user"));
    }
    None
}

/// The rotate lock of `profile` (in the cache directory), waiting up to
/// the lock timeout for a rotate in progress.
fn rotate_lock(
    sources: &Sources,
    log: &Log,
    profile: &str,
) -> Result<crate::cache::LockGuard, UserError> {
    let name = format!("rotate-{}", crate::cache::key_hash(&[profile]));
    let cache = sources.cache();
    let lock = cache.lock(&name, sources.lock_timeout(), || {
        log.notice(&format!(
            "waiting for another `mfacli rotate` of profile '{profile}' to finish"
        ));
    });
    match lock {
        Ok(Some(guard)) => Ok(guard),
        Ok(None) => Err(UserError::new(format!(
            "nothing changed: cannot create the rotate lock in {}",
            cache.dir().display()
        ))
        .hint("rotate needs a writable cache directory (MFACLI_CACHE_DIR) so that two rotates never run at once")),
        Err(e) => Err(UserError::new(format!(
            "nothing changed: another `mfacli rotate` of profile '{profile}' is still running ({})",
            e.message
        ))
        .hint("let it finish: it reports the new key when it is done")),
    }
}

/// Polls GetCallerIdentity with the new key, with backoff, for up to
/// [`PROPAGATION_BUDGET`].
fn wait_until_accepted(plan: &SessionPlan, keys: &LongTermKeys, log: &Log) -> Result<(), String> {
    let sts = StsClient::new(plan.endpoint.clone()).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut delay = Duration::from_millis(500);
    let mut said = false;
    loop {
        match sts.get_caller_identity(Signer::LongTerm(keys)) {
            Ok(_) => return Ok(()),
            Err(e) => {
                let left = PROPAGATION_BUDGET.saturating_sub(start.elapsed());
                if left.is_zero() {
                    return Err(e.to_string());
                }
                if !said {
                    log.notice(&format!(
                        "waiting for STS to accept the new key (IAM is eventually consistent; up to {} s)",
                        PROPAGATION_BUDGET.as_secs()
                    ));
                    said = true;
                }
                log.verbose(&format!("STS refused the new key so far: {e}"));
                std::thread::sleep(delay.min(left));
                delay = next_delay(delay);
            }
        }
    }
}

/// The pause before the next try: doubled, at most 8 s.
fn next_delay(delay: Duration) -> Duration {
    (delay * 2).min(Duration::from_secs(8))
}

/// Moves the cached MFA session (and role credentials keyed by the access
/// key) from the old key id to the new one: the session stays valid.
fn move_cache(
    sources: &Sources,
    plan: &SessionPlan,
    old: &LongTermKeys,
    new: &LongTermKeys,
    keyring: Option<&crate::keystore::Keyring>,
) -> usize {
    let cache: Cache = sources.cache();
    let mut moved = 0;
    let url = &plan.endpoint;
    if let Some(k) = keyring {
        // The session entry in the keyring names its key; role entries are
        // keyed by the profile there and stay as they are.
        let profile = &plan.bastion_profile;
        let Some(mut entry) =
            chain::stored_session(&cache, Some(k), profile, old, &plan.mfa_serial, url)
        else {
            return 0;
        };
        entry.access_key_id = new.access_key_id.clone();
        let left = entry
            .credentials
            .seconds_left(Utc::now())
            .max(1)
            .unsigned_abs();
        let json = serde_json::to_vec(&entry).unwrap_or_default();
        return usize::from(k.set_session(profile, json, left).is_ok());
    }
    if let Some(mut entry) = cached_session(&cache, old, &plan.mfa_serial, url) {
        entry.access_key_id = new.access_key_id.clone();
        let to = session_file(&new.access_key_id, &plan.mfa_serial, url);
        if cache.write(&to, &entry as &SessionEntry).is_ok() {
            let _ = cache.remove(&session_file(&old.access_key_id, &plan.mfa_serial, url));
            moved += 1;
        }
    }
    for (name, _) in sources.target_names() {
        let Ok(target) = sources.plan(name.as_str()) else {
            continue;
        };
        let from = RoleSlot::new(&target, &old.access_key_id);
        let Some(mut entry) = from.read(&cache) else {
            continue;
        };
        let to = RoleSlot::new(&target, &new.access_key_id);
        entry.key = to.key.clone();
        if cache.write(&to.file, &entry).is_ok() {
            let _ = cache.remove(&from.file);
            moved += 1;
        }
    }
    moved
}

/// Why `add-virtual` failed once a device existed in IAM, and what became
/// of it (decides whether its seed file is still worth keeping).
#[derive(Debug)]
pub(crate) struct AddVirtualError {
    pub(crate) error: UserError,
    /// Enabling may have gone through (IAM refused to delete the device as
    /// in use): its seed must be kept, it may be the only copy.
    pub(crate) maybe_enabled: bool,
}

impl From<UserError> for AddVirtualError {
    fn from(error: UserError) -> Self {
        Self {
            error,
            maybe_enabled: false,
        }
    }
}

/// `mfacli mfa add-virtual NAME`: create a virtual MFA device, hand its
/// seed to `store` (a file, stdout), and only once that succeeded enable it
/// with two consecutive codes from the seed. A device whose seed could not
/// be stored is never enabled (nobody could produce its codes) and is
/// deleted again; if that fails too, the error names the command to do it.
pub(crate) fn add_virtual(
    sources: &Sources,
    log: &Log,
    name: &str,
    store: impl FnOnce(&NewVirtualDevice) -> Result<(), UserError>,
) -> Result<NewVirtualDevice, AddVirtualError> {
    let ss = SelfService::open(sources, log)?;
    let user = ss.user_name()?;
    log.verbose(&format!("calling IAM CreateVirtualMFADevice {name}"));
    let device = ss
        .iam
        .create_virtual_mfa_device(name)
        .map_err(UserError::from)?;
    let enabled = crate::mfa::totp::Seed::decode(device.seed.expose(), "the new device's seed")
        .and_then(|seed| {
            store(&device)?;
            let now = u64::try_from(Utc::now().timestamp()).unwrap_or(0);
            let (c1, c2) = enable_codes(&seed, now);
            log.verbose(&format!(
                "calling IAM EnableMFADevice {} for {user}",
                device.serial
            ));
            ss.iam
                .enable_mfa_device(&user, &device.serial, c1.as_str(), c2.as_str())
                .map_err(UserError::from)
        });
    match enabled {
        Ok(()) => Ok(device),
        Err(e) => Err(undo_create(&ss.iam, log, &device.serial, e)),
    }
}

/// Deletes a device `add-virtual` created and could not enable, and says in
/// `error` what IAM holds now.
fn undo_create(iam: &IamClient, log: &Log, serial: &str, error: UserError) -> AddVirtualError {
    log.verbose(&format!("calling IAM DeleteVirtualMFADevice {serial}"));
    let prior = error
        .hint
        .as_deref()
        .map(|h| format!("{h}; "))
        .unwrap_or_default();
    match iam.delete_virtual_mfa_device(serial) {
        Ok(()) => AddVirtualError {
            error: error.hint(format!(
                "{prior}the device {serial} was deleted again: nothing changed in IAM"
            )),
            maybe_enabled: false,
        },
        Err(e) if e.code() == Some("DeleteConflict") => AddVirtualError {
            error: error.hint(format!(
                "{prior}IAM says {serial} is in use: enabling it probably went through, so its seed is kept; check with `mfacli mfa list`"
            )),
            maybe_enabled: true,
        },
        Err(e) => AddVirtualError {
            error: error.hint(format!(
                "{prior}the device {serial} was created but not enabled (no code from it is accepted), and deleting it failed ({}); delete it: `mfacli exec --bastion -- aws iam delete-virtual-mfa-device --serial-number {serial}`",
                UserError::from(e).message
            )),
            maybe_enabled: false,
        },
    }
}

/// The two consecutive codes EnableMFADevice takes at `now`: the previous
/// step's and the current one's.
fn enable_codes(seed: &crate::mfa::totp::Seed, now: u64) -> (TokenCode, TokenCode) {
    let step = crate::mfa::totp::STEP_SECS;
    (seed.code_at(now - step), seed.code_at(now))
}

pub(crate) fn list_devices(sources: &Sources, log: &Log) -> Result<Vec<MfaDeviceInfo>, UserError> {
    let ss = SelfService::open(sources, log)?;
    log.verbose("calling IAM ListMFADevices");
    Ok(ss.iam.list_mfa_devices()?)
}

/// The creation date of the bastion profile's key from ListAccessKeys, with
/// the cached MFA session only (`None` when no session is cached).
pub(crate) fn cached_key_created(
    sources: &Sources,
    log: &Log,
) -> Result<Option<Option<DateTime<Utc>>>, UserError> {
    let Some(ss) = SelfService::open_cached(sources, log)? else {
        return Ok(None);
    };
    let id = crate::keystore::key_source(sources)?
        .long_term_keys(&ss.plan.bastion_profile)?
        .access_key_id;
    let keys = ss.iam.list_access_keys()?;
    Ok(Some(created_of(keys, &id)))
}

/// The creation date of key `id` in IAM's list (`None`: not listed, or no
/// date).
fn created_of(keys: Vec<AccessKeyInfo>, id: &str) -> Option<DateTime<Utc>> {
    keys.into_iter()
        .find(|k| k.access_key_id == id)
        .and_then(|k| k.created)
}

/// Writes `keys` into `[profile]` of the credentials file with the hardened
/// editor: only those two lines change (comments, `region`, other sections
/// stay byte for byte), under the file's lock, with a 0600 backup.
fn write_long_term_keys(
    path: &Path,
    profile: &str,
    keys: &LongTermKeys,
) -> Result<WriteOutcome, UserError> {
    let name = ProfileName::new(profile)
        .map_err(|e| UserError::new(format!("{}: {e}", path.display())))?;
    let secret = keys.secret_access_key.expose();
    write_credentials_file(path, |text| {
        set_keys_in_section(
            text,
            &name,
            &[
                ("aws_access_key_id", keys.access_key_id.as_str()),
                ("aws_secret_access_key", secret),
            ],
        )
    })
    .map_err(|e| e.into_user_error(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn key(id: &str, active: bool, created: Option<DateTime<Utc>>) -> AccessKeyInfo {
        AccessKeyInfo {
            access_key_id: id.into(),
            active,
            created,
        }
    }

    #[test]
    fn the_partition_comes_from_the_device_arn() {
        let serial = |s: &str| s.parse::<MfaSerial>().unwrap();
        assert_eq!(
            partition(&serial("arn:aws-cn:iam::123456789012:mfa/alice")),
            Partition::AwsCn
        );
        assert_eq!(
            partition(&serial("arn:aws-us-gov:iam::123456789012:mfa/alice")),
            Partition::AwsUsGov
        );
    }

    #[test]
    fn the_user_name_is_the_last_part_of_a_user_arn() {
        assert_eq!(
            user_name_of("arn:aws:iam::123456789012:user/alice").unwrap(),
            "alice"
        );
        assert_eq!(
            user_name_of("arn:aws:iam::123456789012:user/ops/team/bob").unwrap(),
            "bob"
        );
        let e = user_name_of("arn:aws:sts::123456789012:assumed-role/R/s").unwrap_err();
        assert!(e.message.contains("not to an IAM user"), "{e}");
    }

    #[test]
    fn keys_are_described_with_state_date_and_place() {
        assert_eq!(describe_keys(&[], "AKIAOLD"), "no access keys");
        let day = Utc.with_ymd_and_hms(2026, 3, 4, 5, 6, 7).unwrap();
        assert_eq!(
            describe_keys(
                &[key("AKIAOLD", true, Some(day)), key("AKIAOTHER", false, None)],
                "AKIAOLD"
            ),
            "AKIAOLD (active, created 2026-03-04, in the credentials file) and AKIAOTHER (inactive)"
        );
        assert_eq!(
            delete_hint("AKIAX"),
            "mfacli exec --bastion -- aws iam delete-access-key --access-key-id AKIAX"
        );
    }

    #[test]
    fn rotate_creates_a_key_only_beside_the_files_own_and_alone() {
        let path = Path::new("/home/a/.aws/credentials");
        let refusal =
            |keys: &[AccessKeyInfo]| refusal_before_create(keys, "AKIAOLD", "bastion", path);
        assert!(refusal(&[key("AKIAOLD", true, None)]).is_none());
        // Two keys: the hint names the one to delete, never the file's.
        for keys in [
            [key("AKIAOLD", true, None), key("AKIAOTHER", true, None)],
            [key("AKIAOTHER", true, None), key("AKIAOLD", true, None)],
        ] {
            let e = refusal(&keys).unwrap();
            assert!(e.message.contains("two access keys already"), "{e}");
            let hint = e.hint.unwrap();
            assert!(hint.contains("--access-key-id AKIAOTHER`"), "{hint}");
        }
        // The file's key is not among IAM's: refused, whatever else.
        for keys in [vec![], vec![key("AKIAOTHER", true, None)]] {
            let e = refusal(&keys).unwrap();
            assert!(
                e.message.contains("is not one of this IAM user's keys"),
                "{e}"
            );
        }
    }

    #[test]
    fn created_is_the_date_of_the_files_key() {
        let (d1, d2) = (
            Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        );
        let keys = || vec![key("AKIAA", true, Some(d1)), key("AKIAB", true, Some(d2))];
        assert_eq!(created_of(keys(), "AKIAB"), Some(d2));
        assert_eq!(created_of(keys(), "AKIAA"), Some(d1));
        assert_eq!(created_of(keys(), "AKIAC"), None);
    }

    #[test]
    fn the_wait_for_sts_doubles_up_to_eight_seconds() {
        let mut d = Duration::from_millis(500);
        let mut seen = Vec::new();
        for _ in 0..6 {
            d = next_delay(d);
            seen.push(d.as_millis());
        }
        assert_eq!(seen, [1000, 2000, 4000, 8000, 8000, 8000]);
    }

    #[test]
    fn enable_takes_the_previous_and_the_current_code() {
        // RFC 6238's SHA-1 seed: steps 0 and 1 give RFC 4226's first codes.
        let seed =
            crate::mfa::totp::Seed::decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "test").unwrap();
        let (c1, c2) = enable_codes(&seed, 59);
        assert_eq!((c1.as_str(), c2.as_str()), ("755224", "287082"));
        // At 89 s the steps are 1 and 2 (59 s / 30 would be step 0 again).
        let (c1, c2) = enable_codes(&seed, 89);
        assert_eq!((c1.as_str(), c2.as_str()), ("287082", "359152"));
    }
}
