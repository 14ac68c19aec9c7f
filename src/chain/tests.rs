//! The credential chain in process: a fake STS that records every call, a
//! manual clock, a throwaway cache and AWS files. No network, no real time.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::Path;
use std::rc::Rc;

use chrono::{TimeZone, Utc};

use super::*;
use crate::aws_files::AwsFiles;
use crate::clock::ManualClock;
use crate::config::Config;
use crate::env::Env;
use crate::mfa::totp::{ReplayGuard, Seed};
use crate::plan::Overrides;
use crate::secret::Secret;
use crate::types::TokenCode;

const KEY: &str = "AKIAALICE0EXAMPLE001";
const SEED: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// What the fake STS saw and will answer.
#[derive(Default)]
struct Script {
    calls: Vec<String>,
    /// Error codes to answer, in order, before succeeding.
    errors: Vec<(Option<&'static str>, &'static str, &'static str)>,
    /// TOTP codes sent, in order.
    codes: Vec<String>,
    issued: u32,
    /// When set, MFA codes are checked as AWS does (see [`TotpSts`]),
    /// at this machine's clock plus `skew`.
    totp: Option<(Rc<RefCell<TotpSts>>, Rc<ManualClock>, usize)>,
    /// STS's clock minus this machine's, in seconds.
    skew: i64,
}

/// The STS side of TOTP, shared by every "machine" of a test: each device's
/// seed, the steps consumed (once per device, the adjacent steps accepted)
/// and every code sent, by whom, and whether it was accepted.
#[derive(Default)]
struct TotpSts {
    seeds: Vec<(String, String)>,
    used: HashSet<(String, u64)>,
    /// (machine, serial, code, accepted)
    sent: Vec<(usize, String, String, bool)>,
}

impl TotpSts {
    fn with_devices(devices: &[(&str, &str)]) -> Rc<RefCell<Self>> {
        Rc::new(RefCell::new(Self {
            seeds: devices
                .iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect(),
            ..Self::default()
        }))
    }
    fn rejected(&self) -> usize {
        self.sent.iter().filter(|s| !s.3).count()
    }
    /// No machine ever sent the same code of the same device twice.
    fn assert_no_machine_resent(&self) {
        let mut seen = HashSet::new();
        for (m, serial, code, _) in &self.sent {
            assert!(
                seen.insert((*m, serial.clone(), code.clone())),
                "machine {m} sent a code of {serial} twice"
            );
        }
    }
}

#[derive(Clone, Default)]
struct FakeSts(Rc<RefCell<Script>>);

impl FakeSts {
    fn calls(&self) -> Vec<String> {
        self.0.borrow().calls.clone()
    }
    fn count(&self, action: &str) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.starts_with(action))
            .count()
    }
    fn fail_next(&self, code: &'static str, message: &'static str) {
        self.0.borrow_mut().errors.push((None, code, message));
    }
    /// Fail the next call of `action` (other calls pass it by).
    fn fail_next_of(&self, action: &'static str, code: &'static str, message: &'static str) {
        self.0
            .borrow_mut()
            .errors
            .push((Some(action), code, message));
    }
    /// Checks a code as AWS does when a [`TotpSts`] is attached.
    fn check_code(
        &self,
        action: &'static str,
        serial: &MfaSerial,
        code: &TokenCode,
    ) -> Result<(), StsError> {
        let s = self.0.borrow();
        let Some((sts, clock, machine)) = &s.totp else {
            return Ok(());
        };
        let now = (clock.now().timestamp() + s.skew) as u64;
        let mut st = sts.borrow_mut();
        let seed = st
            .seeds
            .iter()
            .find(|(d, _)| d == serial.as_str())
            .map(|(_, seed)| Seed::decode(seed, "sts").unwrap());
        let cur = now / 30;
        let step = seed.and_then(|seed| {
            [cur - 1, cur, cur + 1].into_iter().find(|step| {
                seed.code_at(step * 30) == *code && !st.used.contains(&(serial.to_string(), *step))
            })
        });
        st.sent.push((
            *machine,
            serial.to_string(),
            code.as_str().to_owned(),
            step.is_some(),
        ));
        match step {
            Some(step) => {
                st.used.insert((serial.to_string(), step));
                Ok(())
            }
            None => Err(StsError {
                action,
                endpoint: "https://sts.example".into(),
                kind: crate::sts::StsErrorKind::Service {
                    code: "AccessDenied".into(),
                    message:
                        "MultiFactorAuthentication failed with invalid MFA one time pass code. "
                            .into(),
                },
                skew_secs: Some(s.skew),
            }),
        }
    }

    fn answer(&self, action: &'static str, hours: i64) -> Result<TemporaryCredentials, StsError> {
        let mut s = self.0.borrow_mut();
        if let Some(i) = s
            .errors
            .iter()
            .position(|(a, _, _)| a.is_none_or(|a| a == action))
        {
            let (_, code, message) = s.errors.remove(i);
            return Err(StsError {
                action,
                endpoint: "https://sts.example".into(),
                kind: crate::sts::StsErrorKind::Service {
                    code: code.into(),
                    message: message.into(),
                },
                skew_secs: None,
            });
        }
        s.issued += 1;
        Ok(TemporaryCredentials {
            access_key_id: format!("ASIAFAKE{:012}", s.issued),
            secret_access_key: Secret::new("secret"),
            session_token: Secret::new(format!("token{}", s.issued)),
            // Expiry relative to the fake clock's start (2026-01-01 00:00).
            expiration: start() + chrono::Duration::hours(hours),
        })
    }
}

impl Sts for FakeSts {
    fn get_session_token(
        &self,
        keys: &LongTermKeys,
        duration: SessionDuration,
        mfa: Option<(&MfaSerial, &TokenCode)>,
    ) -> Result<TemporaryCredentials, StsError> {
        let mut s = self.0.borrow_mut();
        s.calls.push(format!(
            "GetSessionToken {} {}",
            keys.access_key_id,
            duration.secs()
        ));
        if let Some((_, code)) = mfa {
            s.codes.push(code.as_str().to_owned());
        }
        drop(s);
        if let Some((serial, code)) = mfa {
            self.check_code("GetSessionToken", serial, code)?;
        }
        self.answer("GetSessionToken", 12)
    }

    fn assume_role(
        &self,
        signer: Signer<'_>,
        r: &AssumeRoleRequest<'_>,
    ) -> Result<(TemporaryCredentials, Option<String>), StsError> {
        let by = match signer {
            Signer::LongTerm(k) => k.access_key_id.clone(),
            Signer::Temporary(c) => c.access_key_id.clone(),
        };
        let mut s = self.0.borrow_mut();
        s.calls.push(format!(
            "AssumeRole {} by {by} {}s mfa={}",
            r.role,
            r.duration.secs(),
            r.mfa.is_some()
        ));
        // The session policy exactly as sent: ARNs, then the inline JSON.
        if !r.policy.is_empty() {
            let arns: Vec<&str> = r.policy.arns().iter().map(|a| a.as_str()).collect();
            let last = s.calls.last_mut().expect("pushed above");
            last.push_str(&format!(" policy_arns=[{}]", arns.join(",")));
            if let Some(p) = r.policy.inline() {
                last.push_str(&format!(" policy={}", p.as_str()));
            }
        }
        if let Some((_, code)) = r.mfa {
            s.codes.push(code.as_str().to_owned());
        }
        drop(s);
        if let Some((serial, code)) = r.mfa {
            self.check_code("AssumeRole", serial, code)?;
        }
        let creds = self.answer("AssumeRole", 1)?;
        Ok((creds, Some(format!("{}/session", r.role))))
    }
}

/// The fake STS, the number of clients made, and their endpoint URLs.
struct FakeConnect(FakeSts, RefCell<usize>, RefCell<Vec<String>>);

impl Connect for FakeConnect {
    fn connect(&self, e: &Endpoint) -> Result<Box<dyn Sts>, StsError> {
        *self.1.borrow_mut() += 1;
        self.2.borrow_mut().push(e.url.clone());
        Ok(Box::new(self.0.clone()))
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

/// A HOME with the bastion keys, an mfacli config and a cache.
struct World {
    _dir: tempfile::TempDir,
    sources: Sources,
    clock: Rc<ManualClock>,
    sts: FakeSts,
    connect: FakeConnect,
}

const CONFIG: &str = r#"
[bastion]
profile = "bastion"
mfa_serial = "arn:aws:iam::111111111111:mfa/alice"
region = "eu-west-1"

[targets.prod]
role_arn = "arn:aws:iam::222222222222:role/PowerUser"

[targets.staging]
role_arn = "arn:aws:iam::333333333333:role/PowerUser"

[targets.long]
role_arn = "arn:aws:iam::222222222222:role/Long"
duration = "8h"
"#;

impl World {
    fn new(extra_env: &[(&str, &str)]) -> Self {
        Self::with_config(CONFIG, extra_env)
    }

    fn with_config(config: &str, extra_env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path();
        std::fs::create_dir_all(home.join(".aws")).unwrap();
        let creds = home.join(".aws/credentials");
        std::fs::write(
            &creds,
            format!("[bastion]\naws_access_key_id = {KEY}\naws_secret_access_key = s3cr3t\n"),
        )
        .unwrap();
        let mut env = Env::from_pairs([
            ("HOME", home.to_str().unwrap()),
            ("MFACLI_CACHE_DIR", home.join("cache").to_str().unwrap()),
        ]);
        for (k, v) in extra_env {
            env.set(*k, *v);
        }
        let sources = Sources {
            config: Config::parse(config, Path::new("/c.toml")).unwrap(),
            aws: AwsFiles::load_from(creds, home.join(".aws/config")).unwrap(),
            overrides: Overrides::default(),
            env,
            flag_policy: None,
        };
        let sts = FakeSts::default();
        Self {
            _dir: dir,
            sources,
            clock: Rc::new(ManualClock::new(start())),
            connect: FakeConnect(sts.clone(), RefCell::new(0), RefCell::new(Vec::new())),
            sts,
        }
    }

    fn get(&self, target: &str) -> Result<RoleCredentials, UserError> {
        let log = Log {
            level: crate::log::Level::Quiet,
            color: false,
        };
        for_target_with(&self.sources, &log, target, 0, &*self.clock, &self.connect).map(|(_, c)| c)
    }

    fn advance_mins(&self, m: i64) {
        self.clock.advance(chrono::Duration::minutes(m));
    }
}

fn code_env() -> [(&'static str, &'static str); 1] {
    [("MFACLI_TOKEN_CODE", "123456")]
}

#[test]
fn one_session_serves_every_target_and_hits_build_no_client() {
    let w = World::new(&code_env());
    let prod = w.get("prod").unwrap();
    assert!(!prod.from_cache);
    w.get("staging").unwrap();
    assert_eq!(w.sts.count("GetSessionToken"), 1, "{:?}", w.sts.calls());
    assert_eq!(w.sts.count("AssumeRole"), 2);
    // Role credentials are signed with the MFA session, not the long-term key.
    assert!(
        w.sts.calls()[1].contains("by ASIAFAKE000000000001"),
        "{:?}",
        w.sts.calls()
    );
    let connects = *w.connect.1.borrow();
    let again = w.get("prod").unwrap();
    assert!(again.from_cache);
    assert_eq!(again.credentials, prod.credentials);
    assert_eq!(
        *w.connect.1.borrow(),
        connects,
        "a cache hit makes no STS client"
    );
    assert_eq!(w.sts.calls().len(), 3);
}

#[test]
fn refresh_margin_renews_role_but_keeps_session() {
    let w = World::new(&code_env());
    w.get("prod").unwrap();
    w.advance_mins(54); // 6 min left: fresh (margin 5 min)
    assert!(w.get("prod").unwrap().from_cache);
    w.advance_mins(2); // 4 min left: inside the margin
    assert!(!w.get("prod").unwrap().from_cache);
    assert_eq!(w.sts.count("GetSessionToken"), 1);
    assert_eq!(w.sts.count("AssumeRole"), 2);
}

#[test]
fn expired_session_gets_a_new_code_after_twelve_hours() {
    let w = World::new(&code_env());
    w.get("prod").unwrap();
    w.advance_mins(12 * 60 - 1);
    w.get("prod").unwrap();
    assert_eq!(w.sts.count("GetSessionToken"), 2, "{:?}", w.sts.calls());
}

#[test]
fn no_cache_and_refresh() {
    let mut w = World::new(&code_env());
    w.get("prod").unwrap();
    w.sources.overrides.refresh = true;
    assert!(!w.get("prod").unwrap().from_cache);
    assert_eq!(
        w.sts.count("GetSessionToken"),
        1,
        "--refresh keeps the MFA session"
    );
    w.sources.overrides.refresh = false;
    w.sources.overrides.no_cache = true;
    w.get("prod").unwrap();
    assert_eq!(
        w.sts.count("GetSessionToken"),
        2,
        "--no-cache ignores the session"
    );
}

#[test]
fn long_role_is_assumed_directly_with_a_code() {
    let w = World::new(&code_env());
    w.get("long").unwrap();
    assert_eq!(w.sts.count("GetSessionToken"), 0);
    let calls = w.sts.calls();
    assert_eq!(calls.len(), 1);
    assert!(
        calls[0].contains(&format!("by {KEY} 28800s mfa=true")),
        "{calls:?}"
    );
}

#[test]
fn expired_token_drops_the_session_and_retries_once() {
    let w = World::new(&code_env());
    w.get("prod").unwrap();
    w.advance_mins(61); // role expired, session still cached
    w.sts.fail_next(
        "ExpiredToken",
        "The security token included in the request is expired",
    );
    w.get("prod").unwrap();
    let calls = w.sts.calls();
    assert_eq!(w.sts.count("GetSessionToken"), 2, "{calls:?}");
    assert_eq!(w.sts.count("AssumeRole"), 3, "{calls:?}");
}

#[test]
fn other_errors_are_not_retried() {
    let w = World::new(&code_env());
    w.sts
        .fail_next("AccessDenied", "not authorized to perform sts:AssumeRole");
    let e = w.get("prod").unwrap_err();
    assert!(e.message.contains("AccessDenied"), "{e}");
    assert_not_blamed_on_the_session(&e);
    assert_eq!(w.sts.calls().len(), 1);
    // Nothing was cached: the next call asks STS again.
    w.get("prod").unwrap();
    assert_eq!(w.sts.count("GetSessionToken"), 2);
}

#[test]
fn totp_codes_follow_the_clock_and_are_never_reused() {
    let w = World::new(&[("MFACLI_TOTP_SECRET", SEED)]);
    w.get("prod").unwrap();
    // A second session in the same 30 s step must wait for the next step.
    w.get("long").unwrap();
    let codes = w.sts.0.borrow().codes.clone();
    assert_eq!(codes.len(), 2);
    assert_ne!(codes[0], codes[1], "a TOTP code is never sent twice");
    let seed = crate::mfa::totp::Seed::decode(SEED, "test").unwrap();
    let t0 = start().timestamp() as u64;
    assert_eq!(codes[0], seed.code_at(t0).as_str());
    assert_eq!(
        codes[1],
        seed.code_at(t0 + 30).as_str(),
        "the next step's code"
    );
    assert!(
        w.clock.now() >= start() + chrono::Duration::seconds(30),
        "it waited"
    );
}

#[test]
fn rejected_totp_code_is_retried_with_the_next_step() {
    let w = World::new(&[("MFACLI_TOTP_SECRET", SEED)]);
    w.sts.fail_next(
        "AccessDenied",
        "MultiFactorAuthentication failed with invalid MFA one time pass code.",
    );
    w.get("prod").unwrap();
    let codes = w.sts.0.borrow().codes.clone();
    assert_eq!(codes.len(), 2, "one retry");
    assert_ne!(codes[0], codes[1]);
}

#[test]
fn lock_recheck_finds_what_another_process_fetched() {
    let w = World::new(&code_env());
    // Another "process" fetches while this one waits for the lock.
    let plan = w.sources.plan("prod").unwrap();
    let slot = RoleSlot::new(&plan, KEY);
    let cache = w.sources.cache();
    let guard = cache
        .lock(
            slot.file.trim_end_matches(".json"),
            Duration::from_secs(5),
            || {},
        )
        .unwrap();
    let entry = RoleEntry {
        version: CACHE_VERSION,
        target: "prod".into(),
        key: slot.key.clone(),
        role_arn: plan.target.role_arn.to_string(),
        assumed_role_arn: None,
        policy: None,
        credentials: w.sts.answer("AssumeRole", 1).unwrap(),
    };
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(guard);
    });
    // Write the entry after our first (missing) read, before the lock is free.
    let writer_cache = crate::cache::Cache::new(cache.dir().to_owned());
    let file = slot.file.clone();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        writer_cache.write(&file, &entry).unwrap();
    });
    // The first read may already see the entry if the writer was quick;
    // either way no STS call may happen.
    let got = w.get("prod").unwrap();
    writer.join().unwrap();
    releaser.join().unwrap();
    assert!(got.from_cache);
    assert!(w.sts.calls().is_empty(), "{:?}", w.sts.calls());
}

#[test]
fn role_cache_key_follows_the_target_definition() {
    let w = World::new(&code_env());
    let a = w.sources.plan("prod").unwrap();
    let b = w.sources.plan("staging").unwrap();
    assert_ne!(RoleSlot::new(&a, KEY).key, RoleSlot::new(&b, KEY).key);
    assert_ne!(
        RoleSlot::new(&a, KEY).key,
        RoleSlot::new(&a, "AKIAOTHER00000000001").key,
        "another access key never shares role credentials"
    );
}

/// The demo user's devices: (serial, seed), as the emulator has them.
fn demo_devices(d: usize) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![(
        sts_emulator::demo::ALICE_SERIAL,
        sts_emulator::demo::ALICE_SEED,
    )];
    v.extend_from_slice(&sts_emulator::demo::ALICE_EXTRA_DEVICES[..d - 1]);
    v
}

/// A config listing `d` devices, seeds in $SEED_1..$SEED_d.
fn devices_config(d: usize, deadline: &str) -> String {
    let mut c = format!(
        "[bastion]\nprofile = \"bastion\"\nregion = \"eu-west-1\"\nmfa_deadline = \"{deadline}\"\n"
    );
    for (i, (serial, _)) in demo_devices(d).iter().enumerate() {
        c.push_str(&format!(
            "\n[[bastion.mfa_devices]]\nserial = \"{serial}\"\ntotp_secret_env = \"SEED_{}\"\n",
            i + 1
        ));
    }
    c.push_str("\n[targets.prod]\nrole_arn = \"arn:aws:iam::222222222222:role/PowerUser\"\n\n[targets.staging]\nrole_arn = \"arn:aws:iam::333333333333:role/PowerUser\"\n");
    c
}

/// `n` machines (own HOME, cache and clock, all starting at the same
/// instant) sharing one STS and `d` devices.
fn ci_machines(n: usize, d: usize, deadline: &str) -> (Vec<World>, Rc<RefCell<TotpSts>>) {
    let devices = demo_devices(d);
    let sts = TotpSts::with_devices(&devices);
    let names: Vec<String> = (1..=d).map(|i| format!("SEED_{i}")).collect();
    let env: Vec<(&str, &str)> = names
        .iter()
        .zip(&devices)
        .map(|(n, (_, seed))| (n.as_str(), *seed))
        .collect();
    let config = devices_config(d, deadline);
    let worlds = (0..n)
        .map(|m| {
            let w = World::with_config(&config, &env);
            w.sts.0.borrow_mut().totp = Some((sts.clone(), w.clock.clone(), m));
            w
        })
        .collect();
    (worlds, sts)
}

/// Runs every machine; returns each one's wait in seconds. The machines
/// run one after the other, each on its own clock from the same start, so
/// every later machine finds the steps the earlier ones consumed: at least
/// as much contention as machines racing for real.
fn run_ci(n: usize, d: usize) -> (Vec<i64>, usize) {
    let (machines, sts) = ci_machines(n, d, "5m");
    let mut waits = Vec::new();
    for (m, w) in machines.iter().enumerate() {
        let got = w.get("prod");
        assert!(got.is_ok(), "machine {m}: {}", got.err().unwrap());
        waits.push((w.clock.now() - start()).num_seconds());
    }
    let st = sts.borrow();
    st.assert_no_machine_resent();
    let accepted = st.sent.iter().filter(|s| s.3).count();
    assert_eq!(accepted, n, "one accepted code per machine");
    (waits, st.rejected())
}

#[test]
fn six_ci_machines_with_one_device_all_get_sessions_within_150s() {
    let (waits, rejected) = run_ci(6, 1);
    let max = *waits.iter().max().unwrap();
    // 3 steps are accepted at once (current, next, previous), then one more
    // per 30 s step: the 6th machine's code is at most 3 steps later.
    assert!(max <= 150, "{waits:?}");
    assert!(
        max >= 60,
        "6 machines on one device cannot all finish in one step: {waits:?}"
    );
    assert!(rejected >= 6, "{rejected}");
}

#[test]
fn sixteen_ci_machines_with_four_devices_within_150s() {
    let (waits, _) = run_ci(16, 4);
    assert!(*waits.iter().max().unwrap() <= 150, "{waits:?}");
}

#[test]
fn thirty_two_ci_machines_with_eight_devices_within_150s() {
    let (waits, _) = run_ci(32, 8);
    assert!(*waits.iter().max().unwrap() <= 150, "{waits:?}");
}

#[test]
fn more_devices_mean_less_waiting() {
    let (one, _) = run_ci(8, 1);
    let (eight, _) = run_ci(8, 8);
    let sum = |v: &[i64]| v.iter().sum::<i64>();
    assert!(sum(&eight) < sum(&one), "{eight:?} vs {one:?}");
}

#[test]
fn a_passed_deadline_fails_saying_how_many_codes_were_rejected_and_what_to_do() {
    let (machines, sts) = ci_machines(1, 2, "1m");
    // STS knows other seeds for these serials: every code is rejected.
    for (_, seed) in sts.borrow_mut().seeds.iter_mut() {
        *seed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ".into();
    }
    let w = &machines[0];
    let e = w.get("prod").unwrap_err();
    let rejected = sts.borrow().rejected();
    assert!(rejected >= 4, "{rejected}");
    assert!(
        e.message.contains(&format!(
            "STS rejected {rejected} codes from 2 of 2 devices"
        )) && e.message.contains("MFA deadline (1m)"),
        "{e}"
    );
    let hint = e.hint.clone().unwrap_or_default();
    assert!(
        hint.contains("Add MFA devices")
            && hint.contains("fewer parallel jobs")
            && hint.contains("doctor --check-mfa"),
        "{hint}"
    );
    // One wait for a step boundary (30 s plus at most 3 s of jitter), at
    // most 8 pauses of at most 2 s after rejections, then the next boundary
    // would be past the deadline: it stops there instead of waiting for it.
    let waited = (w.clock.now() - start()).num_seconds();
    assert!(
        (30..=49).contains(&waited),
        "stops when the next step would come after the deadline: {waited}s"
    );
    sts.borrow().assert_no_machine_resent();
    assert!(w.get("prod").is_err());
    sts.borrow().assert_no_machine_resent();
}

#[test]
fn a_rejected_device_is_left_for_another() {
    let (machines, sts) = ci_machines(1, 3, "5m");
    // Every step in the window of the first device tried is already used.
    let w = &machines[0];
    let t = start().timestamp() as u64 / 30;
    for (serial, _) in demo_devices(3) {
        for step in [t - 1, t, t + 1] {
            sts.borrow_mut().used.insert((serial.to_owned(), step));
        }
    }
    // ... except on one device.
    let free = demo_devices(3)[2].0;
    sts.borrow_mut().used.retain(|(s, _)| s != free);
    w.get("prod").unwrap();
    let st = sts.borrow();
    let accepted: Vec<_> = st.sent.iter().filter(|s| s.3).collect();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].1, free, "{:?}", st.sent);
    assert!(
        (w.clock.now() - start()).num_seconds() < 30,
        "no wait for the next step while another device has codes left"
    );
}

/// A rejected code (another machine sent it) is followed, after a pause
/// of at most 2 s, by the next step's code: no wait for a step boundary.
#[test]
fn a_rejected_step_is_followed_at_once_by_a_free_one() {
    let (machines, sts) = ci_machines(1, 1, "5m");
    let w = &machines[0];
    let t = start().timestamp() as u64 / 30;
    let serial = demo_devices(1)[0].0;
    sts.borrow_mut().used.insert((serial.to_owned(), t));
    w.get("prod").unwrap();
    let st = sts.borrow();
    let seed = Seed::decode(demo_devices(1)[0].1, "t").unwrap();
    let sent: Vec<_> = st.sent.iter().map(|s| (s.2.clone(), s.3)).collect();
    assert_eq!(
        sent,
        vec![
            (seed.code_at(t * 30).as_str().to_owned(), false),
            (seed.code_at((t + 1) * 30).as_str().to_owned(), true),
        ]
    );
    let waited = (w.clock.now() - start()).num_milliseconds();
    assert!(waited <= 2_000, "waited {waited} ms");
}

/// With several devices, the code after a rejection goes to another device
/// (whoever used this one's step may use its neighbours too). Sixteen
/// machines, so that some start on a used device whatever the jitter.
#[test]
fn after_a_rejection_the_next_code_goes_to_another_device() {
    let mut checked = 0;
    for _ in 0..16 {
        let (machines, sts) = ci_machines(1, 3, "5m");
        let t = start().timestamp() as u64 / 30;
        for (serial, _) in &demo_devices(3)[..2] {
            for step in [t - 1, t, t + 1] {
                sts.borrow_mut().used.insert(((*serial).to_owned(), step));
            }
        }
        machines[0].get("prod").unwrap();
        let st = sts.borrow();
        if let [first, second, ..] = &st.sent[..] {
            assert_ne!(first.1, second.1, "{:?}", st.sent);
            checked += 1;
        }
    }
    assert!(checked > 0, "no machine started on a used device");
}

#[test]
fn the_session_is_shared_by_every_device() {
    let (machines, sts) = ci_machines(1, 4, "5m");
    let w = &machines[0];
    w.get("prod").unwrap();
    w.advance_mins(61); // role expired, MFA session still valid
    w.get("staging").unwrap();
    w.get("prod").unwrap();
    assert_eq!(w.sts.count("GetSessionToken"), 1, "{:?}", w.sts.calls());
    assert_eq!(sts.borrow().sent.len(), 1);
}

#[test]
fn codes_follow_sts_clock_when_this_one_is_off() {
    let (machines, sts) = ci_machines(1, 1, "5m");
    let w = &machines[0];
    // STS is 95 s ahead: this machine's current step is outside its window.
    w.sts.0.borrow_mut().skew = 95;
    w.get("prod").unwrap();
    let st = sts.borrow();
    assert_eq!(st.rejected(), 1, "{:?}", st.sent);
    assert_eq!(st.sent.len(), 2);
    assert!(
        (w.clock.now() - start()).num_seconds() < 5,
        "the second code is for STS's time, with no wait"
    );
}

/// Without a [bastion] region, the ambient region picks the endpoint.
const CONFIG_NO_REGION: &str = r#"
[bastion]
profile = "bastion"
mfa_serial = "arn:aws:iam::111111111111:mfa/alice"

[targets.prod]
role_arn = "arn:aws:iam::222222222222:role/PowerUser"
region = "eu-central-1"

[targets.staging]
role_arn = "arn:aws:iam::333333333333:role/PowerUser"
"#;

#[test]
fn three_regions_share_one_mfa_session_and_role_credentials() {
    let mut w = World::with_config(CONFIG_NO_REGION, &code_env());
    // What `eval "$(mfacli env prod)"` leaves behind, then other regions.
    for region in ["eu-west-1", "eu-central-1", "us-east-2"] {
        w.sources.env.set("AWS_REGION", region);
        w.get("prod").unwrap();
        w.get("staging").unwrap();
    }
    w.sources.overrides.region = Some("ap-southeast-2".into());
    w.get("prod").unwrap();
    assert_eq!(w.sts.count("GetSessionToken"), 1, "{:?}", w.sts.calls());
    assert_eq!(
        w.sts.count("AssumeRole"),
        2,
        "role credentials are not per region either: {:?}",
        w.sts.calls()
    );
    // Only the first region's runs (prod, staging) needed STS at all.
    assert_eq!(
        *w.connect.2.borrow(),
        [
            "https://sts.eu-west-1.amazonaws.com",
            "https://sts.eu-west-1.amazonaws.com"
        ]
    );
    // After the role credentials expire, another region's endpoint renews
    // them with the same session.
    w.advance_mins(61);
    w.get("prod").unwrap();
    assert_eq!(w.sts.count("GetSessionToken"), 1, "{:?}", w.sts.calls());
    assert_eq!(
        w.connect.2.borrow().last().map(String::as_str),
        Some("https://sts.ap-southeast-2.amazonaws.com")
    );
}

#[test]
fn a_step_that_never_left_the_machine_is_not_recorded() {
    let w = World::new(&[("MFACLI_TOTP_SECRET", SEED)]);
    let plan = w.sources.plan("prod").unwrap();
    let cache = w.sources.cache();
    let guard = ReplayGuard::new(&cache, &plan.mfa_serial);
    struct Down;
    impl Connect for Down {
        fn connect(&self, _: &Endpoint) -> Result<Box<dyn Sts>, StsError> {
            Ok(Box::new(DownSts))
        }
    }
    struct DownSts;
    impl Sts for DownSts {
        fn get_session_token(
            &self,
            _: &LongTermKeys,
            _: SessionDuration,
            _: Option<(&MfaSerial, &TokenCode)>,
        ) -> Result<TemporaryCredentials, StsError> {
            Err(StsError {
                action: "GetSessionToken",
                endpoint: "https://sts.example".into(),
                kind: crate::sts::StsErrorKind::Unreachable("client error (Connect)".into()),
                skew_secs: None,
            })
        }
        fn assume_role(
            &self,
            _: Signer<'_>,
            _: &AssumeRoleRequest<'_>,
        ) -> Result<(TemporaryCredentials, Option<String>), StsError> {
            unreachable!("no session")
        }
    }
    let log = Log {
        level: crate::log::Level::Quiet,
        color: false,
    };
    let e = for_target_with(&w.sources, &log, "prod", 0, &*w.clock, &Down).unwrap_err();
    assert!(e.message.contains("cannot reach"), "{e}");
    assert_eq!(guard.last_step(), None, "the unsent step is not recorded");
    assert!(
        (w.clock.now() - start()).num_seconds() == 0,
        "no retry, no wait"
    );
}

#[test]
fn bastion_region_beats_the_exported_aws_region() {
    let mut w = World::new(&code_env());
    for region in ["eu-central-1", "us-east-2"] {
        w.sources.env.set("AWS_REGION", region);
        w.sources.env.set("AWS_DEFAULT_REGION", region);
        w.get("prod").unwrap();
        w.advance_mins(61);
    }
    assert_eq!(w.sts.count("GetSessionToken"), 1);
    assert_eq!(
        *w.connect.2.borrow(),
        [
            "https://sts.eu-west-1.amazonaws.com",
            "https://sts.eu-west-1.amazonaws.com"
        ]
    );
}

#[test]
fn a_custom_endpoint_is_its_own_session_scope() {
    let mut w = World::new(&code_env());
    w.get("prod").unwrap();
    w.sources
        .env
        .set("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:4566");
    w.get("prod").unwrap();
    assert_eq!(
        w.sts.count("GetSessionToken"),
        2,
        "a session from an emulator or proxy is not an AWS session"
    );
    w.sources.env.set(
        "AWS_ENDPOINT_URL_STS",
        "https://sts.eu-west-1.amazonaws.com",
    );
    w.get("staging").unwrap();
    assert_eq!(
        w.sts.count("GetSessionToken"),
        2,
        "an explicit AWS regional URL is the partition's scope"
    );
}

#[test]
fn invalid_client_token_id_for_a_cached_session_heals_once() {
    let w = World::new(&code_env());
    w.get("prod").unwrap();
    w.advance_mins(61); // role expired, session still cached
    w.sts.fail_next(
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
    );
    w.get("prod").unwrap();
    let calls = w.sts.calls();
    assert_eq!(w.sts.count("GetSessionToken"), 2, "{calls:?}");
    assert_eq!(w.sts.count("AssumeRole"), 3, "{calls:?}");
    // The new session is the one cached now: no third code.
    w.advance_mins(61);
    w.get("prod").unwrap();
    assert_eq!(w.sts.count("GetSessionToken"), 2);
}

#[test]
fn a_fresh_session_rejected_is_not_retried_and_names_the_session() {
    let w = World::new(&code_env());
    w.get("staging").unwrap();
    w.advance_mins(61);
    for _ in 0..2 {
        w.sts.fail_next_of(
            "AssumeRole",
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        );
    }
    let e = w.get("staging").unwrap_err();
    // Cached session rejected -> dropped -> new session -> rejected again:
    // one retry only, and the hint is about the session, not the keys.
    assert_eq!(w.sts.count("GetSessionToken"), 2, "{:?}", w.sts.calls());
    assert_eq!(w.sts.count("AssumeRole"), 3, "{:?}", w.sts.calls());
    assert!(e.message.contains("InvalidClientTokenId"), "{e}");
    let hint = e.hint.clone().unwrap_or_default();
    assert!(hint.contains("MFA session"), "{hint}");
    assert!(!hint.contains("deactivated"), "{hint}");
}

#[test]
fn signature_mismatch_hint_names_the_bastion_profile() {
    let w = World::new(&code_env());
    w.sts.fail_next_of(
        "GetSessionToken",
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided.",
    );
    let e = w.get("prod").unwrap_err();
    let hint = e.hint.unwrap_or_default();
    assert!(hint.contains("aws configure --profile bastion`"), "{hint}");
    assert!(!hint.contains("PROFILE"), "{hint}");
}

/// An endpoint for the cache-key tests.
fn endpoint(url: &str) -> Endpoint {
    Endpoint {
        url: url.into(),
        region: "eu-west-1".into(),
        timeout: Duration::from_secs(5),
        ca_bundle: None,
    }
}

/// Sessions are cached per key, device and STS scope: another partition or
/// a test STS never gets this one's session; another AWS region does.
#[test]
fn session_file_separates_keys_devices_and_endpoints() {
    let a: MfaSerial = "arn:aws:iam::111111111111:mfa/alice".parse().unwrap();
    let b: MfaSerial = "arn:aws:iam::111111111111:mfa/bob".parse().unwrap();
    let global = endpoint("https://sts.amazonaws.com");
    let f = session_file(KEY, &a, &global);
    assert!(f.starts_with("session-") && f.ends_with(".json"), "{f}");
    for other in [
        session_file("AKIAOTHER00000000001", &a, &global),
        session_file(KEY, &b, &global),
        session_file(
            KEY,
            &a,
            &endpoint("https://sts.cn-north-1.amazonaws.com.cn"),
        ),
        session_file(KEY, &a, &endpoint("http://127.0.0.1:4566")),
    ] {
        assert_ne!(f, other);
    }
    assert_eq!(
        f,
        session_file(KEY, &a, &endpoint("https://sts.eu-west-1.amazonaws.com")),
        "a GetSessionToken session is valid at every regional endpoint of its partition"
    );
}

/// A role entry in the slot's file is used only if its version and key
/// match the slot (a planted or outdated file is a miss).
#[test]
fn role_slot_reads_only_its_own_key_and_version() {
    let w = World::new(&code_env());
    let plan = w.sources.plan("prod").unwrap();
    let slot = RoleSlot::new(&plan, KEY);
    let cache = w.sources.cache();
    let entry = |version, key: &str| RoleEntry {
        version,
        target: "prod".into(),
        key: key.into(),
        role_arn: plan.target.role_arn.to_string(),
        assumed_role_arn: None,
        policy: None,
        credentials: w.sts.answer("AssumeRole", 1).unwrap(),
    };
    cache
        .write(&slot.file, &entry(CACHE_VERSION, &slot.key))
        .unwrap();
    assert!(slot.read(&cache).is_some());
    cache
        .write(&slot.file, &entry(CACHE_VERSION, "other"))
        .unwrap();
    assert!(slot.read(&cache).is_none(), "another key");
    cache
        .write(&slot.file, &entry(CACHE_VERSION + 1, &slot.key))
        .unwrap();
    assert!(slot.read(&cache).is_none(), "another version");
}

/// A session entry is used only for its own access key, device and cache
/// version, even when it sits in the right file.
#[test]
fn cached_session_checks_key_device_and_version() {
    let w = World::new(&code_env());
    let cache = w.sources.cache();
    let serial: MfaSerial = "arn:aws:iam::111111111111:mfa/alice".parse().unwrap();
    let keys = LongTermKeys {
        access_key_id: KEY.into(),
        secret_access_key: Secret::new("s3cr3t"),
    };
    let sts = endpoint("https://sts.eu-west-1.amazonaws.com");
    let file = session_file(KEY, &serial, &sts);
    let entry = |version, key: &str, mfa: &str| SessionEntry {
        version,
        access_key_id: key.into(),
        mfa_serial: mfa.into(),
        endpoint: sts.url.clone(),
        credentials: w.sts.answer("GetSessionToken", 12).unwrap(),
    };
    let alice = serial.as_str();
    cache
        .write(&file, &entry(CACHE_VERSION, KEY, alice))
        .unwrap();
    assert!(cached_session(&cache, &keys, &serial, &sts).is_some());
    for (e, why) in [
        (
            entry(CACHE_VERSION, "AKIAOTHER00000000001", alice),
            "another key",
        ),
        (
            entry(CACHE_VERSION, KEY, "arn:aws:iam::111111111111:mfa/bob"),
            "another device",
        ),
        (entry(CACHE_VERSION + 1, KEY, alice), "another version"),
    ] {
        cache.write(&file, &e).unwrap();
        assert!(
            cached_session(&cache, &keys, &serial, &sts).is_none(),
            "{why}"
        );
    }
}

/// Role files are named `role-<target>-<key>.json`: `clear TARGET` and
/// `list` find a target's entries by that prefix.
#[test]
fn role_files_start_with_the_target_prefix() {
    let w = World::new(&code_env());
    assert_eq!(role_file_prefix("prod"), "role-prod-");
    let slot = RoleSlot::new(&w.sources.plan("prod").unwrap(), KEY);
    assert!(slot.file.starts_with("role-prod-"), "{}", slot.file);
    assert!(
        slot.file.ends_with(&format!("{}.json", slot.key)),
        "{}",
        slot.file
    );
}

/// One STS client per invocation: the session and the role call share it.
#[test]
fn one_client_serves_the_session_and_the_role_call() {
    let w = World::new(&code_env());
    w.get("prod").unwrap();
    assert_eq!(w.sts.calls().len(), 2, "{:?}", w.sts.calls());
    assert_eq!(*w.connect.1.borrow(), 1);
}

/// Only ExpiredToken drops the cached session: any other AssumeRole error
/// is reported at once, the session kept.
#[test]
fn assume_role_errors_other_than_expired_keep_the_session() {
    let w = World::new(&code_env());
    w.get("prod").unwrap();
    w.advance_mins(61); // role expired, session still cached
    w.sts
        .fail_next("AccessDenied", "not authorized to perform sts:AssumeRole");
    let e = w.get("prod").unwrap_err();
    assert!(e.message.contains("AccessDenied"), "{e}");
    assert_not_blamed_on_the_session(&e);
    assert_eq!(w.sts.count("AssumeRole"), 2, "{:?}", w.sts.calls());
    assert_eq!(w.sts.count("GetSessionToken"), 1, "{:?}", w.sts.calls());
    w.get("prod").unwrap();
    assert_eq!(w.sts.count("GetSessionToken"), 1, "the session was kept");
}

/// An AssumeRole refusal is the role's or the policy's doing: its hint must
/// not send the user after the MFA session or the endpoint.
fn assert_not_blamed_on_the_session(e: &UserError) {
    let hint = e.hint.as_deref().unwrap_or_default();
    assert!(
        !hint.contains("does not accept the MFA session"),
        "{e}: {hint}"
    );
}

/// `--bastion`'s margin is capped the same way, at half the session's
/// duration (12 h here).
#[test]
fn bastion_min_margin_is_capped_at_half_the_session_duration() {
    let w = World::new(&code_env());
    let get = |margin| {
        let log = Log::default();
        for_bastion_with(&w.sources, &log, margin, &*w.clock, &w.connect)
            .map(|(_, c)| c)
            .unwrap()
    };
    let margin = 30_000; // 8 h 20 min asked, 6 h applied
    assert!(!get(margin).from_cache);
    w.advance_mins(5 * 60); // 7 h left
    assert!(
        get(margin).from_cache,
        "7 h left is more than the capped 6 h"
    );
    w.advance_mins(2 * 60); // 5 h left
    assert!(!get(margin).from_cache, "inside the capped margin");
    assert_eq!(w.sts.count("GetSessionToken"), 2, "{:?}", w.sts.calls());
    assert_eq!(w.sts.count("AssumeRole"), 0, "{:?}", w.sts.calls());
}

/// A consumer's minimum margin (credential-process asks for the SDKs' 15
/// min) is capped at half the role's duration, or a 1 h role asked for a
/// 45 min margin would be renewed on every call.
#[test]
fn min_margin_is_capped_at_half_the_role_duration() {
    let w = World::new(&code_env());
    let get = |margin| {
        let log = Log::default();
        for_target_with(&w.sources, &log, "prod", margin, &*w.clock, &w.connect)
            .map(|(_, c)| c)
            .unwrap()
    };
    assert!(!get(2700).from_cache);
    w.advance_mins(25); // 35 min left: more than half of 1 h
    assert!(get(2700).from_cache, "45 min asked, 30 min applied");
    w.advance_mins(7); // 28 min left
    assert!(!get(2700).from_cache, "inside the capped margin");
}

/// A fixed code STS rejects is reported, not retried: only a TOTP seed can
/// give the next step's code.
#[test]
fn a_rejected_fixed_code_is_not_retried() {
    let w = World::new(&code_env());
    w.sts.fail_next(
        "AccessDenied",
        "MultiFactorAuthentication failed with invalid MFA one time pass code. ",
    );
    let e = w.get("prod").unwrap_err();
    assert!(e.message.contains("AccessDenied"), "{e}");
    assert_eq!(w.sts.calls().len(), 1, "{:?}", w.sts.calls());
}

const NARROWED: &str = r#"
[bastion]
profile = "bastion"
mfa_serial = "arn:aws:iam::111111111111:mfa/alice"
region = "eu-west-1"

[targets.prod]
role_arn = "arn:aws:iam::222222222222:role/PowerUser"

[targets.prod-ro]
from = "prod"
policy_arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]

[targets.long]
role_arn = "arn:aws:iam::222222222222:role/Long"
duration = "8h"

[targets.long-ro]
from = "long"
policy_arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::222222222222:policy/NoDelete"]
"#;

const RO: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";

#[test]
fn narrowed_and_full_credentials_never_share_an_entry() {
    let mut w = World::with_config(NARROWED, &code_env());
    let full = w.get("prod").unwrap();
    let ro = w.get("prod-ro").unwrap();
    let calls = w.sts.calls();
    assert_eq!(w.sts.count("AssumeRole"), 2, "{calls:?}");
    assert!(!calls[1].contains("policy"), "{calls:?}");
    assert!(
        calls[2].contains("role/PowerUser") && calls[2].ends_with(&format!("policy_arns=[{RO}]")),
        "the variant assumes prod's role with the policy: {calls:?}"
    );
    assert_ne!(full.credentials, ro.credentials);
    // Both cached, each under its own key.
    assert!(w.get("prod").unwrap().from_cache);
    assert!(w.get("prod-ro").unwrap().from_cache);
    assert_eq!(w.sts.count("AssumeRole"), 2);
    let cache = w.sources.cache();
    let prod = role_entries(&cache, "prod");
    assert_eq!(prod.len(), 1, "prod's entries exclude prod-ro's");
    assert_eq!(prod[0].policy, None);
    let variant = role_entries(&cache, "prod-ro");
    assert_eq!(variant[0].policy.as_deref(), Some(RO));

    // The same policy given by flag for `prod`: not the full entry.
    w.sources.flag_policy =
        Some(crate::types::SessionPolicy::new(vec![RO.parse().unwrap()], None).unwrap());
    let flagged = w.get("prod").unwrap();
    assert!(
        !flagged.from_cache,
        "a narrowed run never gets the full credentials"
    );
    assert_ne!(flagged.credentials, full.credentials);
    assert!(w.sts.calls()[3].ends_with(&format!("policy_arns=[{RO}]")));
    assert!(w.get("prod").unwrap().from_cache, "and is cached itself");
    w.sources.flag_policy = None;
    let again = w.get("prod").unwrap();
    assert!(again.from_cache);
    assert_eq!(
        again.credentials, full.credentials,
        "the full entry is untouched"
    );
    assert_eq!(role_entries(&cache, "prod").len(), 2);
}

#[test]
fn unnarrowed_targets_keep_their_cache_key() {
    let w = World::with_config(NARROWED, &code_env());
    let plan = w.sources.plan("prod").unwrap();
    let t = &plan.target;
    let before = key_hash(&[
        t.role_arn.as_str(),
        t.session_name.as_str(),
        &t.duration.secs().to_string(),
        "",
        KEY,
        plan.mfa_serial.as_str(),
        &plan.endpoint.cache_scope(),
    ]);
    assert_eq!(
        RoleSlot::new(&plan, KEY).key,
        before,
        "no cache is lost on upgrade"
    );
}

#[test]
fn direct_assume_role_sends_the_policy_too() {
    let w = World::with_config(NARROWED, &code_env());
    w.get("long-ro").unwrap();
    let calls = w.sts.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(
        calls[0].contains(&format!(
            "by {KEY} 28800s mfa=true policy_arns=[arn:aws:iam::222222222222:policy/NoDelete,{RO}]"
        )),
        "{calls:?}"
    );
}

#[test]
fn inline_policy_file_is_sent_canonical_and_keys_the_cache_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ro.json");
    std::fs::write(
        &file,
        "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"Action\": \"s3:Get*\", \"Resource\": \"*\"}\n  ]\n}\n",
    )
    .unwrap();
    let config = format!(
        "{NARROWED}\n[targets.prod-s3]\nfrom = \"prod\"\npolicy = \"{}\"\n",
        file.display()
    );
    let w = World::with_config(&config, &code_env());
    let key1 = RoleSlot::new(&w.sources.plan("prod-s3").unwrap(), KEY).key;
    w.get("prod-s3").unwrap();
    let calls = w.sts.calls();
    assert!(
        calls[1].ends_with(r#"policy_arns=[] policy={"Statement":[{"Action":"s3:Get*","Effect":"Allow","Resource":"*"}],"Version":"2012-10-17"}"#),
        "{calls:?}"
    );
    let entry = &role_entries(&w.sources.cache(), "prod-s3")[0];
    assert!(
        entry
            .policy
            .as_deref()
            .unwrap()
            .starts_with("inline policy sha256:"),
        "{:?}",
        entry.policy
    );
    // Reformatted: the same key. Changed: another key (never the old credentials).
    std::fs::write(&file, r#"{"Statement":[{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}],"Version":"2012-10-17"}"#).unwrap();
    assert_eq!(
        RoleSlot::new(&w.sources.plan("prod-s3").unwrap(), KEY).key,
        key1
    );
    std::fs::write(
        &file,
        r#"{"Statement":[{"Effect":"Allow","Action":"s3:List*","Resource":"*"}]}"#,
    )
    .unwrap();
    assert_ne!(
        RoleSlot::new(&w.sources.plan("prod-s3").unwrap(), KEY).key,
        key1
    );
    assert!(!w.get("prod-s3").unwrap().from_cache);
}

#[test]
fn packed_policy_size_too_large_is_explained_and_nothing_is_cached() {
    for code in ["PackedPolicyTooLarge", "PackedPolicySizeTooLarge"] {
        let w = World::with_config(NARROWED, &code_env());
        w.sts.fail_next_of(
            "AssumeRole",
            code,
            "Packed policy consumes 112% of allotted space, please use smaller policy for this session.",
        );
        let e = w.get("prod-ro").unwrap_err();
        assert!(e.message.contains(code), "{e}");
        let hint = e.hint.clone().unwrap_or_default();
        assert!(
            hint.contains("compressed form") && hint.contains("fewer managed policy ARNs"),
            "{code}: {hint}"
        );
        assert!(role_entries(&w.sources.cache(), "prod-ro").is_empty());
        // The full target is unaffected; the session is reused.
        w.get("prod").unwrap();
        assert_eq!(w.sts.count("GetSessionToken"), 1);
    }
}
