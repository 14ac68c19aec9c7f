//! STS calls that need an MFA code. A fixed code (flag, environment,
//! `mfa_command`, prompt) is sent once. TOTP codes are retried until the MFA
//! deadline when STS rejects them: on CI, machines that share a seed but not
//! a cache send the same codes, and AWS accepts each code once per device.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{sts_user_error, Provider};
use crate::clock::Clock;
use crate::error::UserError;
use crate::mfa::totp::{step_of, ReplayGuard, STEP_SECS};
use crate::mfa::{TotpDevice, PROMPT_SOURCE};
use crate::sts::{skew_sentence, Endpoint, Sts, StsError};
use crate::types::{MfaSerial, SessionDuration, TokenCode};

/// Longest pause between two attempts while steps are still free.
const RETRY_JITTER_MS: u64 = 2_000;
/// Longest extra pause after a step boundary, so machines waiting for the
/// same new step do not all call STS in the same second.
const BOUNDARY_JITTER_MS: u64 = 3_000;
/// STS's `Date` must differ from ours by more than this before codes are
/// generated for STS's time (the header has one-second resolution).
const SKEW_FOLLOW_SECS: i64 = 5;

/// A small xorshift generator for jitter and device choice. Nothing here
/// needs cryptographic randomness, only machines that do not move in step.
pub(crate) struct Jitter(u64);

impl Jitter {
    /// Seeded from the process's random hasher keys (different per run).
    pub(crate) fn from_entropy() -> Self {
        use std::hash::BuildHasher;
        let s = std::collections::hash_map::RandomState::new().hash_one(std::process::id());
        Self(s | 1)
    }

    /// A fixed sequence, for tests.
    pub(crate) fn seeded(seed: u64) -> Self {
        Self(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

/// The local clock moved to STS's time (its `Date` header).
struct Skewed<'a> {
    inner: &'a dyn Clock,
    offset_secs: i64,
}

impl Clock for Skewed<'_> {
    fn now(&self) -> DateTime<Utc> {
        self.inner.now() + chrono::Duration::seconds(self.offset_secs)
    }
    fn sleep(&self, d: Duration) {
        self.inner.sleep(d)
    }
}

fn unix(t: DateTime<Utc>) -> u64 {
    t.timestamp().max(0) as u64
}

/// What the TOTP loop has seen, for its messages.
struct Tally {
    rejected: u32,
    devices_tried: Vec<MfaSerial>,
    skew: Option<i64>,
}

impl<'a> Provider<'a> {
    /// Makes an STS call that needs an MFA code, holding the device's lock
    /// so parallel processes on this machine never take the same TOTP step.
    pub(super) fn with_mfa_code<T>(
        &mut self,
        serial: &MfaSerial,
        endpoint: &Endpoint,
        call: impl Fn(&dyn Sts, &MfaSerial, &TokenCode) -> Result<T, StsError>,
    ) -> Result<T, UserError> {
        // Set up the client (and resolve the host) before taking a code, so
        // a bad endpoint does not burn a TOTP step.
        self.sts(endpoint)?;
        if let Some(devices) = self.codes.totp_devices(serial)? {
            return self.with_totp(&devices, endpoint, call);
        }
        let guard = ReplayGuard::new(self.cache, serial);
        let log = *self.log;
        let _device_lock =
            self.cache
                .lock(&guard.lock_name(), self.options.lock_timeout, || {
                    log.notice("waiting for another mfacli using this MFA device (it may be asking for a code)")
                })?;
        let code = self
            .codes
            .obtain(serial, self.cache, self.clock, self.log)?;
        self.log.verbose(&format!("MFA code from {}", code.source));
        // A YubiKey among several answers for its own device.
        let device = code.device.as_ref().unwrap_or(serial);
        match call(self.sts(endpoint)?, device, &code.code) {
            // A typed code STS rejects (mistyped, or already used): ask
            // again, up to 3 codes in all.
            Err(mut last) if last.is_invalid_mfa_code() && code.source == PROMPT_SOURCE => {
                for _ in 0..2 {
                    let again = crate::mfa::prompt(
                        serial,
                        Some("STS rejected that code (mistyped, or already used); wait for the next one"),
                    )?;
                    match call(self.sts(endpoint)?, serial, &again) {
                        Err(e) if e.is_invalid_mfa_code() => last = e,
                        r => return r.map_err(sts_user_error),
                    }
                }
                Err(sts_user_error(last))
            }
            r => r.map_err(sts_user_error),
        }
    }

    /// The TOTP loop: the first code is the current step's (waiting for the
    /// next step if this machine already sent it); a code STS rejects is
    /// followed, after a random pause, by a step this machine never sent
    /// that AWS still accepts (current, next or previous), on another
    /// device when there are several, until the MFA deadline.
    fn with_totp<T>(
        &mut self,
        devices: &[TotpDevice],
        endpoint: &Endpoint,
        call: impl Fn(&dyn Sts, &MfaSerial, &TokenCode) -> Result<T, StsError>,
    ) -> Result<T, UserError> {
        let log = *self.log;
        let n = devices.len();
        let deadline_len = self.options.mfa_deadline;
        let deadline =
            self.clock.now() + chrono::Duration::from_std(deadline_len).unwrap_or_default();
        let mut jitter = self
            .options
            .jitter_seed
            .map_or_else(Jitter::from_entropy, Jitter::seeded);
        let mut dev = jitter.below(n as u64) as usize;
        let mut offset_secs: i64 = 0;
        let mut tally = Tally {
            rejected: 0,
            devices_tried: Vec::new(),
            skew: None,
        };
        if n > 1 {
            log.verbose(&format!(
                "{n} TOTP devices configured; starting with {}",
                devices[dev].serial
            ));
        }
        loop {
            let clock = Skewed {
                inner: self.clock,
                offset_secs,
            };
            let retry = tally.rejected > 0;
            // After a rejection: the first device (from `dev` on) with a step
            // this machine never sent that AWS still accepts.
            let pick = if retry {
                let now = unix(clock.now());
                (0..n).map(|i| (dev + i) % n).find(|&i| {
                    !ReplayGuard::new(self.cache, &devices[i].serial)
                        .free_steps(now)
                        .is_empty()
                })
            } else {
                Some(dev)
            };
            let Some(i) = pick else {
                let now = unix(clock.now());
                let to_boundary = (step_of(now) + 1) * STEP_SECS - now;
                let wait = Duration::from_secs(to_boundary)
                    + Duration::from_millis(jitter.below(BOUNDARY_JITTER_MS));
                if self.clock.now() + chrono::Duration::from_std(wait).unwrap_or_default()
                    > deadline
                {
                    return Err(deadline_error(&tally, n, deadline_len));
                }
                log.notice(&format!(
                    "every TOTP code STS accepts now was already sent from this machine ({n} device{}); waiting {}s for the next step",
                    if n == 1 { "" } else { "s" },
                    wait.as_secs()
                ));
                self.clock.sleep(wait);
                continue;
            };
            dev = i;
            let device = &devices[i];
            let guard = ReplayGuard::new(self.cache, &device.serial);
            let lock = self
                .cache
                .lock(&guard.lock_name(), self.options.lock_timeout, || {
                    log.notice("waiting for another mfacli using this MFA device (it may be asking for a code)")
                })?;
            let before = guard.snapshot();
            let (step, code) = if retry {
                // Re-check under the lock: another local process may have
                // taken the step meanwhile.
                let Some(&step) = guard.free_steps(unix(clock.now())).first() else {
                    continue;
                };
                guard.record(step)?;
                (step, device.seed.code_at(step * STEP_SECS))
            } else {
                guard.take_step(&device.seed, &clock, |secs| {
                    log.notice(&format!(
                        "waiting {secs}s for the next TOTP code: this step's code was already sent to STS, and AWS rejects a reused code"
                    ))
                })?
            };
            let now_step = step_of(unix(clock.now()));
            log.verbose(&format!(
                "MFA code from TOTP seed from {} for {} ({} step)",
                device.seed.source,
                device.serial,
                match step.cmp(&now_step) {
                    std::cmp::Ordering::Less => "previous",
                    std::cmp::Ordering::Equal => "current",
                    std::cmp::Ordering::Greater => "next",
                }
            ));
            if !tally.devices_tried.contains(&device.serial) {
                tally.devices_tried.push(device.serial.clone());
            }
            let result = call(self.sts(endpoint)?, &device.serial, &code);
            let e = match result {
                Ok(v) => {
                    if retry {
                        log.notice(&format!(
                            "STS accepted the TOTP code of {} after {} rejected",
                            device.serial, tally.rejected
                        ));
                    }
                    return Ok(v);
                }
                Err(e) => e,
            };
            if e.never_sent() {
                // The code never left this machine: it is still unused.
                guard.restore(before);
                return Err(sts_user_error(e));
            }
            if !e.is_invalid_mfa_code() {
                return Err(sts_user_error(e));
            }
            drop(lock);
            if self.options.interactive {
                return Err(rejected_seed_error(e, device));
            }
            tally.rejected += 1;
            if let Some(s) = e.skew_secs {
                tally.skew = Some(s);
                if (s - offset_secs).abs() > SKEW_FOLLOW_SECS {
                    log.verbose(&format!(
                        "STS's clock is {}s {} this machine's (its Date header): generating TOTP codes for STS's time",
                        s.abs(),
                        if s > 0 { "ahead of" } else { "behind" }
                    ));
                    offset_secs = s;
                    if let Some(sentence) = skew_sentence(s) {
                        log.warn(&sentence);
                    }
                }
            }
            if self.clock.now() >= deadline {
                return Err(deadline_error(&tally, n, deadline_len));
            }
            if n > 1 {
                // Someone else holds this device's steps: move on.
                dev = (dev + 1 + jitter.below(n as u64 - 1) as usize) % n;
            }
            let pause = Duration::from_millis(jitter.below(RETRY_JITTER_MS));
            log.notice(&format!(
                "attempt {}: STS rejected the TOTP code of {} (invalid, or already used, e.g. by another CI machine); trying {} in {:.1}s",
                tally.rejected,
                device.serial,
                if n > 1 { format!("device {}", devices[dev].serial) } else { "the next unused code".to_owned() },
                pause.as_secs_f64()
            ));
            self.clock.sleep(pause);
        }
    }
}

/// A TOTP code rejected on a terminal: a person is waiting, and a seed
/// that is wrong would be retried for the whole MFA deadline.
fn rejected_seed_error(e: StsError, device: &TotpDevice) -> UserError {
    let skew = e.skew_secs.and_then(skew_sentence);
    let mut hint = format!(
        "the TOTP seed from {} may be wrong, or not the seed of {}: compare `mfacli totp` with the code your authenticator shows, or check it with `mfacli doctor --check-mfa`. If another machine uses this device at the same time, wait 30s and run again (a CI job retries until --mfa-deadline; so does any run with --non-interactive).",
        device.seed.source, device.serial
    );
    if let Some(s) = skew {
        hint = format!("{s} {hint}");
    }
    UserError::new(format!(
        "STS rejected the TOTP code for {}: {e}",
        device.serial
    ))
    .hint(hint)
}

/// The error when no code was accepted before the deadline.
fn deadline_error(tally: &Tally, devices: usize, deadline: Duration) -> UserError {
    let mut hint = format!(
        "Other machines are probably using the same MFA device{} at the same time (each code is accepted once per device). Add MFA devices ([[bastion.mfa_devices]], up to 8 per IAM user), run fewer parallel jobs, or raise --mfa-deadline. If no job gets credentials at all, check each seed with `mfacli doctor --check-mfa`.",
        if devices == 1 { "" } else { "s" }
    );
    if let Some(s) = tally.skew.and_then(skew_sentence) {
        hint = format!("{s} {hint}");
    }
    UserError::new(format!(
        "no TOTP code was accepted within the MFA deadline ({}): STS rejected {} code{} from {} of {devices} device{} as invalid or already used",
        SessionDuration::from_secs(u32::try_from(deadline.as_secs()).unwrap_or(u32::MAX)),
        tally.rejected,
        if tally.rejected == 1 { "" } else { "s" },
        tally.devices_tried.len(),
        if devices == 1 { "" } else { "s" },
    ))
    .hint(hint)
}

#[cfg(test)]
mod tests {
    use super::Jitter;

    #[test]
    fn jitter_is_xorshift64_star() {
        // Reference values of xorshift64* (13, 7, 17) from state 1.
        let mut j = Jitter::seeded(1);
        assert_eq!(
            [j.next(), j.next(), j.next()],
            [
                13473309256371520605,
                205591708820793437,
                18309282447448061861
            ]
        );
    }

    #[test]
    fn below_spreads_over_the_whole_range() {
        let mut j = Jitter::seeded(7);
        let mut seen = [0u32; 10];
        for _ in 0..1000 {
            seen[j.below(10) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| (50..=150).contains(&c)), "{seen:?}");
        assert_eq!(j.below(0), 0);
    }

    #[test]
    fn entropy_seeds_are_odd_and_differ() {
        // Odd means never the all-zero state xorshift cannot leave.
        let seeds: Vec<u64> = (0..16).map(|_| Jitter::from_entropy().0).collect();
        assert!(seeds.iter().all(|s| s & 1 == 1), "{seeds:?}");
        let mut distinct = seeds.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), seeds.len(), "{seeds:?}");
    }
}
