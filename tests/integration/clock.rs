//! Expiry, refresh and TOTP timing, with mfacli's clock (libfaketime) and
//! the emulator's clock moved together instead of sleeping.

use crate::util::*;
use chrono::{TimeZone, Utc};

#[test]
fn expiry_and_refresh_follow_the_clock() {
    let h = Home::new();
    h.mfacli().args(["env", "prod"]).assert().success();
    assert_eq!(h.counts(), (1, 1));

    // 55 min later the role credentials have 5 min left: inside the
    // default refresh margin, so they are renewed with the cached session.
    h.emu().set_offset_secs(3300);
    let Some(mut at) = faked_mfacli(&h, "+3300s") else {
        return;
    };
    at.args(["env", "prod"]).assert().success();
    assert_eq!(
        h.counts(),
        (1, 2),
        "role credentials refreshed, MFA session reused"
    );

    // Those now expire at +6900 s. At +6660 s 4 min are left: a 1 min
    // margin keeps them, the default 5 min margin renews them.
    h.emu().set_offset_secs(6660);
    h.write_config(&format!("refresh_margin = \"1m\"\n{CONFIG}"));
    faked_mfacli(&h, "+6660s")
        .unwrap()
        .args(["env", "prod"])
        .assert()
        .success();
    assert_eq!(h.counts(), (1, 2), "refresh_margin = 1m: still fresh");
    h.write_config(CONFIG);
    faked_mfacli(&h, "+6660s")
        .unwrap()
        .args(["env", "prod"])
        .assert()
        .success();
    assert_eq!(h.counts(), (1, 3));

    // After 13 h the 12 h MFA session is gone: one new code, from the seed
    // at the moved clock, which the emulator accepts at its moved clock.
    h.emu().set_offset_secs(13 * 3600);
    let out = faked_mfacli(&h, &format!("+{}s", 13 * 3600))
        .unwrap()
        .args(["-v", "env", "staging"])
        .assert()
        .success();
    let err = stderr(out.get_output());
    assert!(err.contains("cache miss: no MFA session"), "{err}");
    assert_eq!(h.counts(), (2, 4));
    let list = stdout(
        faked_mfacli(&h, &format!("+{}s", 13 * 3600))
            .unwrap()
            .args(["list"])
            .assert()
            .success()
            .get_output(),
    );
    assert!(list.contains("11h") || list.contains("12h"), "{list}");
}

/// A libfaketime spec for an instant `secs` before a 30 s step boundary,
/// about 50 min from now, with the emulator's clock moved to it as well.
fn faked_instant_before_a_step(h: &Home, secs: i64) -> String {
    let real = Utc::now().timestamp();
    let t0 = (real / 30 + 100) * 30 + 30 - secs;
    h.emu().set_offset_secs(t0 - real);
    format!(
        "@{}",
        Utc.timestamp_opt(t0, 0)
            .unwrap()
            .format("%Y-%m-%d %H:%M:%S")
    )
}

/// Another machine (here: another cache dir) used this step's code, so
/// STS rejects it; mfacli retries at once with the next step's code (AWS
/// accepts the adjacent steps), which this machine never sent.
#[test]
fn rejected_totp_code_is_retried_with_the_next_unused_step() {
    let h = Home::new();
    // Two seconds before a step boundary, a while from now.
    let spec = faked_instant_before_a_step(&h, 2);
    let Some(mut first) = faked_mfacli(&h, &spec) else {
        return;
    };
    first
        .env("MFACLI_CACHE_DIR", h.path().join("cache-a"))
        .args(["env", "prod"])
        .assert()
        .success();
    let out = faked_mfacli(&h, &spec)
        .unwrap()
        .env("MFACLI_CACHE_DIR", h.path().join("cache-b"))
        .args(["env", "prod"])
        .assert()
        .success();
    let err = stderr(out.get_output());
    assert!(
        err.contains("rejected the TOTP code")
            && err.contains("trying the next unused code")
            && !err.contains("waiting"),
        "{err}"
    );
    assert_eq!(h.emu().count("GetSessionToken"), 2);
    assert_eq!(
        h.emu().count_all("GetSessionToken"),
        3,
        "exactly one rejected attempt"
    );
}

/// With 10 min left, `env` still uses the cached role credentials (5 min
/// margin) but `credential-process` renews them: the SDKs start refreshing
/// at 15 min and would otherwise re-run it on every call.
#[test]
fn credential_process_renews_inside_the_sdk_refresh_window() {
    let h = Home::new();
    h.mfacli().args(["env", "prod"]).assert().success();
    h.emu().set_offset_secs(3000);
    let Some(mut env) = faked_mfacli(&h, "+3000s") else {
        return;
    };
    env.args(["env", "prod"]).assert().success();
    assert_eq!(h.counts(), (1, 1), "env: 10 min left is fresh enough");
    let out = faked_mfacli(&h, "+3000s")
        .unwrap()
        .args(["credential-process", "prod"])
        .assert()
        .success();
    assert_eq!(h.counts(), (1, 2), "credential-process: renewed");
    let v = json(&stdout(out.get_output()));
    let exp = chrono::DateTime::parse_from_rfc3339(v["Expiration"].as_str().unwrap()).unwrap();
    assert!(
        exp.timestamp() - h.emu().now().timestamp() > 3000,
        "a fresh hour"
    );
}

/// A second GetSessionToken in the same 30 s step waits for the next step
/// instead of sending a code AWS would reject. Both runs start at the same
/// faked instant, 4 s before a step boundary, with the emulator's clock in
/// step: the wait is the 4 s to the boundary, wherever the real clock is.
#[test]
fn totp_code_is_never_reused() {
    let h = Home::new();
    let spec = faked_instant_before_a_step(&h, 4);
    let Some(mut first) = faked_mfacli(&h, &spec) else {
        return;
    };
    first.args(["env", "prod"]).assert().success();
    h.mfacli().args(["clear", "--all"]).assert().success();
    let start = std::time::Instant::now();
    let out = faked_mfacli(&h, &spec)
        .unwrap()
        .args(["env", "prod"])
        .assert()
        .success();
    let waited = start.elapsed();
    let err = stderr(out.get_output());
    assert!(
        err.contains("waiting") && err.contains("already sent"),
        "{err}"
    );
    assert!(
        waited >= std::time::Duration::from_secs(3) && waited <= std::time::Duration::from_secs(12),
        "waited {waited:?} for a boundary 4 s away"
    );
    assert_eq!(h.counts(), (2, 2));
    assert_eq!(
        h.emu().count_all("GetSessionToken"),
        2,
        "no rejected code was sent"
    );
}
