//! TOTP (RFC 6238: HMAC-SHA1, 30 s steps, 6 digits) from a seed that a CI
//! job holds, plus the replay guard that keeps mfacli from sending AWS a
//! code it already used.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use totp_rs::{Builder, Secret as TotpSecret};
use zeroize::Zeroizing;

use crate::cache::{key_hash, Cache};
use crate::clock::Clock;
use crate::config::{BastionConfig, MfaDeviceConfig, SeedSource};
use crate::env::Env;
use crate::error::UserError;
use crate::types::{MfaSerial, TokenCode};

pub(crate) const STEP_SECS: u64 = 30;

/// The environment variable CI jobs put the seed in.
pub(crate) const SEED_ENV: &str = "MFACLI_TOTP_SECRET";

/// A decoded seed and where it came from (for messages; never the value).
pub struct Seed {
    bytes: Zeroizing<Vec<u8>>,
    pub(crate) source: String,
}

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Seed(<redacted> from {})", self.source)
    }
}

impl Seed {
    /// Decodes base32, accepting lower case, spaces and missing padding.
    pub fn decode(text: &str, source: impl Into<String>) -> Result<Self, UserError> {
        let source = source.into();
        let cleaned: Zeroizing<String> = Zeroizing::new(
            text.chars()
                .filter(|c| !c.is_whitespace() && *c != '=' && *c != '-')
                .map(|c| c.to_ascii_uppercase())
                .collect(),
        );
        let bad = || {
            UserError::new(format!("the TOTP seed from {source} is not valid base32"))
                .hint("use the base32 secret shown when the virtual MFA device was created (letters A-Z and digits 2-7)")
        };
        if cleaned.len() < 16
            || !cleaned
                .chars()
                .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c))
        {
            return Err(bad());
        }
        let secret = TotpSecret::try_from_base32(cleaned.as_str()).map_err(|_| bad())?;
        Ok(Self {
            bytes: Zeroizing::new(secret.to_vec()),
            source,
        })
    }

    #[cfg(test)]
    pub(crate) fn from_bytes(bytes: Vec<u8>, source: impl Into<String>) -> Self {
        Self {
            bytes: Zeroizing::new(bytes),
            source: source.into(),
        }
    }

    /// The code for the step containing `unix_secs`.
    pub fn code_at(&self, unix_secs: u64) -> TokenCode {
        self.code_with_digits(unix_secs, 6)
            .parse()
            .expect("six digits")
    }

    pub(crate) fn code_with_digits(&self, unix_secs: u64, digits: u8) -> String {
        Builder::new()
            .with_digits(digits)
            .with_step_duration(STEP_SECS)
            .with_secret(TotpSecret::from(self.bytes.to_vec()))
            .build_noncompliant()
            .generate(unix_secs)
            .to_string()
    }
}

pub(crate) fn step_of(unix_secs: u64) -> u64 {
    unix_secs / STEP_SECS
}

/// Finds the seed: `--totp-secret-env NAME`, `$MFACLI_TOTP_SECRET`, then
/// `totp_secret_env` / `totp_secret_file` in `[bastion]`. `Ok(None)` if none is set.
pub(crate) fn find_seed(
    env: &Env,
    flag_env: Option<&str>,
    bastion: &BastionConfig,
) -> Result<Option<Seed>, UserError> {
    if let Some(name) = flag_env {
        return match env.text(name)? {
            Some(v) => Seed::decode(v, format!("${name} (--totp-secret-env)")).map(Some),
            None => Err(UserError::new(format!(
                "--totp-secret-env {name}: the variable {name} is not set or empty"
            ))
            .hint(format!(
                "export {name} with the base32 seed, e.g. from a CI secret"
            ))),
        };
    }
    if let Some(v) = env.text(SEED_ENV)? {
        return Seed::decode(v, format!("${SEED_ENV}")).map(Some);
    }
    if let Some(name) = &bastion.totp_secret_env {
        return match env.text(name)? {
            Some(v) => Seed::decode(v, format!("${name} ([bastion] totp_secret_env)")).map(Some),
            None => Err(UserError::new(format!(
                "[bastion] totp_secret_env names {name}, which is not set or empty"
            ))
            .hint(format!(
                "export {name} with the base32 seed, or remove totp_secret_env"
            ))),
        };
    }
    if let Some(path) = &bastion.totp_secret_file {
        return read_seed_file(&env.expand_tilde(path.clone())).map(Some);
    }
    Ok(None)
}

/// Reads a seed file, refusing one that others can read.
pub(crate) fn read_seed_file(path: &Path) -> Result<Seed, UserError> {
    read_seed_file_as(path, "[bastion] totp_secret_file")
}

/// [`read_seed_file`], naming the setting `what` in messages.
pub(crate) fn read_seed_file_as(path: &Path, what: &str) -> Result<Seed, UserError> {
    let file = crate::aws_files::read_text_file_limited(path, what, crate::fsread::SEED_LIMIT)?
        .ok_or_else(|| {
            UserError::new(format!("{what} {} does not exist", path.display()))
                .hint(format!("fix the path, or remove {what}"))
        })?;
    // The mode comes from the fstat of the descriptor the seed was read
    // from: one open, no window between check and read.
    let text = file.text;
    if file.mode & 0o077 != 0 {
        return Err(UserError::new(format!(
            "refusing TOTP seed file {}: its mode is {:04o}, so other users can read the seed",
            path.display(),
            file.mode
        ))
        .hint(format!("run `chmod 600 {}`", path.display())));
    }
    Seed::decode(&text, format!("{} ({what})", path.display()))
}

/// The seed of one `[[bastion.mfa_devices]]` entry.
pub(crate) fn device_seed(env: &Env, device: &MfaDeviceConfig) -> Result<Seed, UserError> {
    let what = format!("[[bastion.mfa_devices]] {}", device.serial);
    match &device.seed {
        SeedSource::Env(name) => match env.text(name)? {
            Some(v) => Seed::decode(v, format!("${name} ({what})")),
            None => Err(UserError::new(format!(
                "{what}: totp_secret_env names {name}, which is not set or empty"
            ))
            .hint(format!(
                "export {name} with that device's base32 seed (e.g. from a CI secret), or remove the device"
            ))),
        },
        SeedSource::File(path) => {
            read_seed_file_as(&env.expand_tilde(path.clone()), &format!("{what} totp_secret_file"))
        }
    }
}

/// How many recent steps the replay record keeps besides the highest: AWS
/// accepts a step for at most 90 s (the adjacent steps), so anything older
/// than this can never be accepted again and need not be remembered.
const KEEP_STEPS: u64 = 16;

/// Per-device record of the steps whose codes went to STS: the highest
/// (`last_step`, as older versions wrote it) and a small set of recent ones,
/// since a retry may use an adjacent step below the highest.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct ReplayState {
    serial: String,
    last_step: u64,
    #[serde(default)]
    recent: Vec<u64>,
}

impl ReplayState {
    fn used(&self, step: u64) -> bool {
        step == self.last_step || self.recent.contains(&step)
    }
}

/// Remembers used steps so a code is never sent twice (AWS rejects reuse).
/// Callers hold [`ReplayGuard::lock_name`]'s lock around take + STS call.
pub(crate) struct ReplayGuard<'a> {
    cache: &'a Cache,
    serial: &'a MfaSerial,
}

impl<'a> ReplayGuard<'a> {
    pub(crate) fn new(cache: &'a Cache, serial: &'a MfaSerial) -> Self {
        Self { cache, serial }
    }

    fn file_name(&self) -> String {
        format!("totp-{}.json", key_hash(&[self.serial.as_str()]))
    }

    pub(crate) fn lock_name(&self) -> String {
        format!("totp-{}", key_hash(&[self.serial.as_str()]))
    }

    pub(crate) fn state_path(&self) -> PathBuf {
        self.cache.path(&self.file_name())
    }

    /// The record as it is now (for [`ReplayGuard::restore`]).
    pub(crate) fn snapshot(&self) -> Option<ReplayState> {
        self.cache
            .read::<ReplayState>(&self.file_name())
            .filter(|s| s.serial == self.serial.as_str())
    }

    pub(crate) fn last_step(&self) -> Option<u64> {
        self.snapshot().map(|s| s.last_step)
    }

    /// The steps AWS accepts at `now` (the current one and its neighbours,
    /// per sts-reference.md) whose codes this machine never sent, in the
    /// order worth trying: current, next, previous.
    pub(crate) fn free_steps(&self, now_unix: u64) -> Vec<u64> {
        let state = self.snapshot();
        let current = step_of(now_unix);
        [Some(current), Some(current + 1), current.checked_sub(1)]
            .into_iter()
            .flatten()
            .filter(|s| !state.as_ref().is_some_and(|st| st.used(*s)))
            .collect()
    }

    /// Puts back the record as it was before a code was taken, for a call
    /// that provably never reached STS (the connection failed). Callers hold
    /// the device lock, so nobody else took a step meanwhile.
    pub(crate) fn restore(&self, previous: Option<ReplayState>) {
        let _ = match previous {
            Some(state) => self.cache.write(&self.file_name(), &state),
            None => self.cache.remove(&self.file_name()).map(|_| ()),
        };
    }

    /// Records `step` as sent, before its code leaves the machine, so even a
    /// crash mid-call cannot lead to reuse.
    pub(crate) fn record(&self, step: u64) -> Result<(), UserError> {
        // A record far ahead of the step being sent came from a clock that
        // ran ahead (or was planted; see take_step): start a new one.
        let mut state = self
            .snapshot()
            .filter(|s| s.last_step <= step + 2)
            .unwrap_or_else(|| ReplayState {
                serial: self.serial.to_string(),
                last_step: step,
                recent: Vec::new(),
            });
        if !state.recent.contains(&state.last_step) {
            state.recent.push(state.last_step);
        }
        if !state.recent.contains(&step) {
            state.recent.push(step);
        }
        state.last_step = state.last_step.max(step);
        let floor = state.last_step.saturating_sub(KEEP_STEPS);
        state.recent.retain(|s| *s >= floor);
        state.recent.sort_unstable();
        self.cache.write(&self.file_name(), &state).map_err(|e| {
            UserError::new(format!(
                "cannot record the used TOTP step in {}: {e}",
                self.state_path().display()
            ))
            .hint("mfacli will not send a TOTP code it cannot record, since AWS rejects reused codes; make the cache directory writable")
        })
    }

    /// The code for a step never used before, waiting for the next step if
    /// needed (`on_wait` gets the seconds and is told why). The step is
    /// recorded before the code is returned, so even a crash mid-call
    /// cannot lead to reuse.
    pub(crate) fn take_code(
        &self,
        seed: &Seed,
        clock: &dyn Clock,
        on_wait: impl FnMut(u64),
    ) -> Result<TokenCode, UserError> {
        self.take_step(seed, clock, on_wait).map(|(_, code)| code)
    }

    /// [`ReplayGuard::take_code`], also returning the step.
    pub(crate) fn take_step(
        &self,
        seed: &Seed,
        clock: &dyn Clock,
        mut on_wait: impl FnMut(u64),
    ) -> Result<(u64, TokenCode), UserError> {
        let now = clock.now().timestamp().max(0) as u64;
        let mut step = step_of(now);
        let last = self.last_step().filter(|&last| {
            // A record more than a step ahead of the clock came from a clock
            // that ran ahead (or was planted): honouring it would make every
            // run wait and send a code STS rejects, forever.
            let sane = last <= step + 1;
            if !sane {
                self.cache.log().warn(&format!(
                    "ignoring the TOTP replay record {}: its step is {} s ahead of this machine's clock",
                    self.state_path().display(),
                    (last - step) * STEP_SECS
                ));
            }
            sane
        });
        if let Some(last) = last {
            if step <= last {
                let next_start = (last + 1) * STEP_SECS;
                let wait = next_start.saturating_sub(now).max(1);
                // Never wait more than two steps: the state file could come
                // from a clock that ran ahead.
                let wait = wait.min(2 * STEP_SECS);
                on_wait(wait);
                clock.sleep(std::time::Duration::from_secs(wait));
                step = step_of(clock.now().timestamp().max(0) as u64).max(last + 1);
            }
        }
        self.record(step)?;
        Ok((step, seed.code_at(step * STEP_SECS)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use chrono::TimeZone;

    /// An empty cache and alice's MFA serial (the directory lives as long
    /// as the returned guard).
    fn alice_cache() -> (tempfile::TempDir, Cache, MfaSerial) {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        let serial = "arn:aws:iam::111111111111:mfa/alice".parse().unwrap();
        (dir, cache, serial)
    }

    /// RFC 6238 appendix B, SHA-1 seed "12345678901234567890", 8 digits.
    #[test]
    fn rfc6238_vectors() {
        let seed = Seed::from_bytes(b"12345678901234567890".to_vec(), "test");
        for (t, code) in [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(seed.code_with_digits(t, 8), code, "t={t}");
            assert_eq!(
                seed.code_at(t).as_str(),
                &code[2..],
                "6-digit code is the low digits"
            );
        }
    }

    #[test]
    fn decode_accepts_lowercase_spaces_padding() {
        // base32("12345678901234567890")
        let canonical = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        let a = Seed::decode(canonical, "a").unwrap();
        let b = Seed::decode("gezd gnbv gy3t qojq gezd gnbv gy3t qojq", "b").unwrap();
        let c = Seed::decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ====", "c").unwrap();
        assert_eq!(a.code_at(59), b.code_at(59));
        assert_eq!(a.code_at(59), c.code_at(59));
        let err = Seed::decode("not base32 at all!!", "$MFACLI_TOTP_SECRET")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("$MFACLI_TOTP_SECRET") && !err.contains("not base32 at all"),
            "{err}"
        );
    }

    #[test]
    fn debug_never_shows_the_seed() {
        let s = Seed::decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "src").unwrap();
        assert_eq!(format!("{s:?}"), "Seed(<redacted> from src)");
    }

    /// At least 16 base32 characters (80 bits), only A-Z and 2-7.
    #[test]
    fn decode_needs_sixteen_base32_characters() {
        assert!(Seed::decode("GEZDGNBVGY3TQOJQ", "t").is_ok(), "16");
        for short in ["GEZDGNBVGY3TQOJ", "GEZDGNBV", "GE"] {
            assert!(Seed::decode(short, "t").is_err(), "{short}");
        }
        for bad in [
            "GEZDGNBVGY3TQOJ1",
            "GEZDGNBVGY3TQOJQ8",
            "GEZDGNBVGY3TQOJQ!",
            "GEZDGNBVGY3TQOJQÄ",
        ] {
            assert!(Seed::decode(bad, "t").is_err(), "{bad}");
        }
    }

    /// A seed file others can read is refused; 0600 and 0400 are fine.
    #[test]
    fn seed_file_mode_is_checked() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("seed");
        std::fs::write(&p, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n").unwrap();
        for (mode, ok) in [
            (0o600, true),
            (0o400, true),
            (0o640, false),
            (0o604, false),
            (0o610, false),
        ] {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            let r = read_seed_file(&p);
            assert_eq!(r.is_ok(), ok, "mode {mode:o}");
            if let Err(e) = r {
                assert!(e.to_string().contains(&format!("{mode:04o}")), "{e}");
            }
        }
        let seed = read_seed_file(&p.with_file_name("missing")).unwrap_err();
        assert!(seed.to_string().contains("does not exist"), "{seed}");
    }

    /// Each device has its own record and lock, named after it; the record
    /// is the file `state_path` names, next to the lock.
    #[test]
    fn replay_records_are_per_device() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        let a: MfaSerial = "arn:aws:iam::111111111111:mfa/alice".parse().unwrap();
        let b: MfaSerial = "arn:aws:iam::111111111111:mfa/bob".parse().unwrap();
        let seed = Seed::decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "t").unwrap();
        let clock = ManualClock::new(chrono::Utc.timestamp_opt(1_800_000_010, 0).unwrap());
        let (ga, gb) = (ReplayGuard::new(&cache, &a), ReplayGuard::new(&cache, &b));
        assert_ne!(ga.lock_name(), gb.lock_name());
        assert!(ga.lock_name().starts_with("totp-"), "{}", ga.lock_name());
        assert_eq!(
            ga.state_path(),
            cache.path(&format!("{}.json", ga.lock_name()))
        );
        ga.take_code(&seed, &clock, |_| panic!("no wait")).unwrap();
        gb.take_code(&seed, &clock, |_| panic!("no wait for another device"))
            .unwrap();
        let step = step_of(1_800_000_010);
        assert_eq!(ga.last_step(), Some(step));
        assert_eq!(gb.last_step(), Some(step));
        assert!(ga.state_path().is_file() && gb.state_path().is_file());
        assert_ne!(ga.state_path(), gb.state_path());
    }

    /// `restore` puts the record back as it was: removed, or the old step.
    #[test]
    fn restore_puts_back_the_previous_record() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        let a: MfaSerial = "arn:aws:iam::111111111111:mfa/alice".parse().unwrap();
        let seed = Seed::decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "t").unwrap();
        let clock = ManualClock::new(chrono::Utc.timestamp_opt(1_800_000_010, 0).unwrap());
        let g = ReplayGuard::new(&cache, &a);
        g.take_code(&seed, &clock, |_| {}).unwrap();
        g.restore(None);
        assert_eq!(g.last_step(), None);
        assert!(!g.state_path().exists());
        g.take_code(&seed, &clock, |_| {}).unwrap();
        g.restore(Some(ReplayState {
            serial: a.to_string(),
            last_step: 7,
            recent: Vec::new(),
        }));
        assert_eq!(g.last_step(), Some(7));
    }

    /// A record one step ahead (another machine's clock ran a little
    /// fast): wait for the step after it, up to two steps; and even a clock
    /// that did not move while "sleeping" never yields a used step.
    #[test]
    fn replay_record_one_step_ahead_waits_two_steps_at_most() {
        struct Stuck(chrono::DateTime<chrono::Utc>);
        impl Clock for Stuck {
            fn now(&self) -> chrono::DateTime<chrono::Utc> {
                self.0
            }
            fn sleep(&self, _: std::time::Duration) {}
        }
        let (_dir, cache, serial) = alice_cache();
        let seed = Seed::decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "t").unwrap();
        let now = 1_800_000_010u64; // 10 s into a step
        let step = step_of(now);
        let guard = ReplayGuard::new(&cache, &serial);
        guard.restore(Some(ReplayState {
            serial: serial.to_string(),
            last_step: step + 1,
            recent: Vec::new(),
        }));
        let clock = ManualClock::new(chrono::Utc.timestamp_opt(now as i64, 0).unwrap());
        let mut waits = Vec::new();
        let code = guard.take_code(&seed, &clock, |w| waits.push(w)).unwrap();
        assert_eq!(
            waits,
            vec![(step + 2) * STEP_SECS - now],
            "to the step after the record"
        );
        assert_eq!(code, seed.code_at((step + 2) * STEP_SECS));
        assert_eq!(guard.last_step(), Some(step + 2));
        // Right at a step start with the record one ahead: 60 s, the cap.
        let at = (step + 10) * STEP_SECS;
        guard.restore(Some(ReplayState {
            serial: serial.to_string(),
            last_step: step + 11,
            recent: Vec::new(),
        }));
        let clock = ManualClock::new(chrono::Utc.timestamp_opt(at as i64, 0).unwrap());
        let mut waits = Vec::new();
        guard.take_code(&seed, &clock, |w| waits.push(w)).unwrap();
        assert_eq!(waits, vec![2 * STEP_SECS]);
        // A clock that does not advance while sleeping.
        guard.restore(Some(ReplayState {
            serial: serial.to_string(),
            last_step: step,
            recent: Vec::new(),
        }));
        let stuck = Stuck(chrono::Utc.timestamp_opt(now as i64, 0).unwrap());
        let code = guard.take_code(&seed, &stuck, |_| {}).unwrap();
        assert_eq!(guard.last_step(), Some(step + 1));
        assert_eq!(code, seed.code_at((step + 1) * STEP_SECS));
    }

    #[test]
    fn free_steps_are_current_next_previous_less_the_used_ones() {
        let (_dir, cache, serial) = alice_cache();
        let guard = ReplayGuard::new(&cache, &serial);
        let now = 1_800_000_010u64;
        let step = step_of(now);
        assert_eq!(guard.free_steps(now), vec![step, step + 1, step - 1]);
        guard.record(step).unwrap();
        assert_eq!(guard.free_steps(now), vec![step + 1, step - 1]);
        guard.record(step - 1).unwrap();
        assert_eq!(guard.free_steps(now), vec![step + 1]);
        // Step 0 has no previous step.
        assert_eq!(
            ReplayGuard::new(
                &cache,
                &"arn:aws:iam::111111111111:mfa/bob".parse().unwrap()
            )
            .free_steps(5),
            vec![0, 1]
        );
    }

    #[test]
    fn an_older_record_without_recent_steps_keeps_its_last_step() {
        // Older versions wrote only `last_step`; recording a lower step and
        // then a higher one must not forget it.
        let (_dir, cache, serial) = alice_cache();
        let guard = ReplayGuard::new(&cache, &serial);
        let now = 1_800_000_010u64;
        let step = step_of(now);
        guard.restore(Some(ReplayState {
            serial: serial.to_string(),
            last_step: step,
            recent: Vec::new(),
        }));
        guard.record(step - 1).unwrap();
        guard.record(step + 1).unwrap();
        assert_eq!(guard.last_step(), Some(step + 1));
        assert!(
            guard.free_steps(now).is_empty(),
            "steps {} to {} were all sent: {:?}",
            step - 1,
            step + 1,
            guard.free_steps(now)
        );
    }

    #[test]
    fn replay_record_far_ahead_of_the_clock_is_ignored() {
        let (_dir, cache, serial) = alice_cache();
        let seed = Seed::decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "t").unwrap();
        let now = 1_800_000_010;
        let clock = ManualClock::new(chrono::Utc.timestamp_opt(now, 0).unwrap());
        let guard = ReplayGuard::new(&cache, &serial);
        // A day ahead.
        let planted = |last_step| ReplayState {
            serial: serial.to_string(),
            last_step,
            recent: Vec::new(),
        };
        guard.restore(Some(planted(step_of(now as u64) + 2880)));
        let mut waits = Vec::new();
        let code = guard.take_code(&seed, &clock, |w| waits.push(w)).unwrap();
        assert!(waits.is_empty(), "no wait for a record from the future");
        assert_eq!(
            code,
            seed.code_at(now as u64),
            "this step's code, not a future one"
        );
        assert_eq!(guard.last_step(), Some(step_of(now as u64)));
        // One step ahead is still honoured (a neighbour's clock a little fast).
        guard.restore(Some(planted(step_of(now as u64) + 1)));
        guard.take_code(&seed, &clock, |w| waits.push(w)).unwrap();
        assert_eq!(waits.len(), 1);
    }

    #[test]
    fn replay_guard_waits_for_next_step() {
        let (_dir, cache, serial) = alice_cache();
        let seed = Seed::decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "t").unwrap();
        // 10 s into a step.
        let start = chrono::Utc.timestamp_opt(1_800_000_010, 0).unwrap();
        let clock = ManualClock::new(start);
        let guard = ReplayGuard::new(&cache, &serial);
        let mut waits = Vec::new();
        let first = guard.take_code(&seed, &clock, |w| waits.push(w)).unwrap();
        assert!(waits.is_empty());
        assert_eq!(first, seed.code_at(1_800_000_010));
        let second = guard.take_code(&seed, &clock, |w| waits.push(w)).unwrap();
        assert_eq!(waits, vec![20], "waits until the next step starts");
        assert_eq!(second, seed.code_at(1_800_000_040));
        assert_ne!(first, second);
        assert_eq!(guard.last_step(), Some(step_of(1_800_000_040)));
        assert_eq!(clock.now().timestamp(), 1_800_000_030);
    }
}
