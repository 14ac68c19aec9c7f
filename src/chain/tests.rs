//! The credential chain in process: a fake STS that records every call, a
//! manual clock, a throwaway cache and AWS files. No network, no real time.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

use chrono::{TimeZone, Utc};

use super::*;
use crate::clock::ManualClock;
use crate::config::Config;
use crate::env::Env;
use crate::plan::Overrides;
use crate::secret::Secret;

const KEY: &str = "AKIAALICE0EXAMPLE001";
const SEED: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// What the fake STS saw and will answer.
#[derive(Default)]
struct Script {
    calls: Vec<String>,
    /// Error codes to answer, in order, before succeeding.
    errors: Vec<(&'static str, &'static str)>,
    /// TOTP codes sent, in order.
    codes: Vec<String>,
    issued: u32,
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
        self.0.borrow_mut().errors.push((code, message));
    }
    fn answer(&self, action: &'static str, hours: i64) -> Result<TemporaryCredentials, StsError> {
        let mut s = self.0.borrow_mut();
        if !s.errors.is_empty() {
            let (code, message) = s.errors.remove(0);
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
        if let Some((_, code)) = r.mfa {
            s.codes.push(code.as_str().to_owned());
        }
        drop(s);
        let creds = self.answer("AssumeRole", 1)?;
        Ok((creds, Some(format!("{}/session", r.role))))
    }
}

struct FakeConnect(FakeSts, RefCell<usize>);

impl Connect for FakeConnect {
    fn connect(&self, _: &Endpoint) -> Result<Box<dyn Sts>, StsError> {
        *self.1.borrow_mut() += 1;
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
    clock: ManualClock,
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
            config: Config::parse(CONFIG, Path::new("/c.toml")).unwrap(),
            aws: AwsFiles::load_from(creds, home.join(".aws/config")).unwrap(),
            overrides: Overrides::default(),
            env,
        };
        let sts = FakeSts::default();
        Self {
            _dir: dir,
            sources,
            clock: ManualClock::new(start()),
            connect: FakeConnect(sts.clone(), RefCell::new(0)),
            sts,
        }
    }

    fn get(&self, target: &str) -> Result<RoleCredentials, UserError> {
        let log = Log::default();
        for_target_with(&self.sources, &log, target, 0, &self.clock, &self.connect).map(|(_, c)| c)
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

/// Sessions are cached per key, device and endpoint: another endpoint
/// (another partition or a test STS) never gets this one's session.
#[test]
fn session_file_separates_keys_devices_and_endpoints() {
    let a: MfaSerial = "arn:aws:iam::111111111111:mfa/alice".parse().unwrap();
    let b: MfaSerial = "arn:aws:iam::111111111111:mfa/bob".parse().unwrap();
    let f = session_file(KEY, &a, "https://sts.amazonaws.com");
    assert!(f.starts_with("session-") && f.ends_with(".json"), "{f}");
    for other in [
        session_file("AKIAOTHER00000000001", &a, "https://sts.amazonaws.com"),
        session_file(KEY, &b, "https://sts.amazonaws.com"),
        session_file(KEY, &a, "https://sts.eu-west-1.amazonaws.com"),
    ] {
        assert_ne!(f, other);
    }
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
    let endpoint = "https://sts.eu-west-1.amazonaws.com";
    let file = session_file(KEY, &serial, endpoint);
    let entry = |version, key: &str, mfa: &str| SessionEntry {
        version,
        access_key_id: key.into(),
        mfa_serial: mfa.into(),
        endpoint: endpoint.into(),
        credentials: w.sts.answer("GetSessionToken", 12).unwrap(),
    };
    let alice = serial.as_str();
    cache
        .write(&file, &entry(CACHE_VERSION, KEY, alice))
        .unwrap();
    assert!(cached_session(&cache, &keys, &serial, endpoint).is_some());
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
            cached_session(&cache, &keys, &serial, endpoint).is_none(),
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
    assert_eq!(w.sts.count("AssumeRole"), 2, "{:?}", w.sts.calls());
    assert_eq!(w.sts.count("GetSessionToken"), 1, "{:?}", w.sts.calls());
    w.get("prod").unwrap();
    assert_eq!(w.sts.count("GetSessionToken"), 1, "the session was kept");
}

/// A consumer's minimum margin (credential-process asks for the SDKs' 15
/// min) is capped at half the role's duration, or a 1 h role asked for a
/// 45 min margin would be renewed on every call.
#[test]
fn min_margin_is_capped_at_half_the_role_duration() {
    let w = World::new(&code_env());
    let get = |margin| {
        let log = Log::default();
        for_target_with(&w.sources, &log, "prod", margin, &w.clock, &w.connect)
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
