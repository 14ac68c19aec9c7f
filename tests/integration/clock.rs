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

/// Entries in /dev/shm named as libfaketime names its own, for the PIDs
/// the next processes will get, as killed `faketime` wrappers leave them
/// (issue 27); removed on drop, except those that were there before.
struct StaleFaketimeEntries(Vec<std::path::PathBuf>);

impl StaleFaketimeEntries {
    fn plant(count: u32) -> Self {
        let last: u32 = std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let max: u32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let mut planted = Vec::new();
        for i in 1..=count {
            let pid = (last + i) % max;
            for name in [
                format!("sem.faketime_sem_{pid}"),
                format!("faketime_shm_{pid}"),
            ] {
                let p = std::path::Path::new("/dev/shm").join(name);
                if std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&p)
                    .is_ok()
                {
                    planted.push(p);
                }
            }
        }
        StaleFaketimeEntries(planted)
    }
}

impl Drop for StaleFaketimeEntries {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Stale libfaketime entries for the coming PIDs break the `faketime`
/// wrapper (and libfaketime preloaded without a shared pair), not the
/// suite's time-shifted runs: those open the test binary's own pair.
#[test]
fn stale_faketime_entries_do_not_break_time_shifted_runs() {
    if libfaketime().is_none() {
        return;
    }
    let h = Home::new();
    let _stale = StaleFaketimeEntries::plant(300);

    // What the suite did before: the wrapper creates a pair named after
    // its PID, and meets a planted one.
    if have("faketime") {
        let o = std::process::Command::new("faketime")
            .args(["-f", "+1d", "true"])
            .output()
            .unwrap();
        assert!(!o.status.success(), "the wrapper met no planted entry");
        assert!(stderr(&o).contains("File exists"), "{}", stderr(&o));
    }

    // mfacli (and the shell `exec` starts) under the suite's helper, at
    // two moved clocks: renewed once, and its child sees the moved clock.
    h.mfacli().args(["env", "prod"]).assert().success();
    for _ in 0..3 {
        h.emu().set_offset_secs(3300);
        faked_mfacli(&h, "+3300s")
            .unwrap()
            .args(["env", "prod"])
            .assert()
            .success();
    }
    assert_eq!(h.counts(), (1, 2), "renewed once at +55 min");
    let out = faked_mfacli(&h, "+3300s")
        .unwrap()
        .args(["exec", "prod", "--", "sh", "-c", "date +%s"])
        .assert()
        .success();
    let child: i64 = stdout(out.get_output()).trim().parse().unwrap();
    let moved = Utc::now().timestamp() + 3300;
    assert!(
        (child - moved).abs() < 60,
        "child at {child}, expected about {moved}"
    );
    assert_eq!(h.counts(), (1, 2), "exec used the renewed credentials");
}

/// A faked process killed at its time bound (as `run_bounded` does) leaves
/// nothing in /dev/shm: it only opened the test binary's pair. Preloaded
/// libfaketime 0.9.10 left to itself creates a pair named after its PID,
/// which a kill leaves behind (the control, where that PID's names were
/// free).
#[test]
fn a_killed_faked_process_leaves_nothing_in_dev_shm() {
    let Some(lib) = libfaketime() else { return };
    let names = |pid: u32| {
        [
            format!("sem.faketime_sem_{pid}"),
            format!("faketime_shm_{pid}"),
        ]
        .map(|n| std::path::Path::new("/dev/shm").join(n))
    };
    // The entries its PID's names gained while it ran, and whether they
    // were free before (a stale entry of that PID makes libfaketime skip
    // its own pair).
    let killed = |c: &mut std::process::Command| {
        let before: std::collections::BTreeSet<_> = std::fs::read_dir("/dev/shm")
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        let mut child = c
            .args(["-c", "date; exec sleep 30"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Once it printed the date, libfaketime is initialised.
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        let pid = child.id();
        let free = names(pid).iter().all(|p| !before.contains(p));
        let left: Vec<_> = names(pid)
            .into_iter()
            .filter(|p| p.exists() && !before.contains(p))
            .collect();
        (left, free)
    };

    let mut control = std::process::Command::new("sh");
    control
        .env("LD_PRELOAD", &lib)
        .env("FAKETIME", "+1d")
        .env_remove("FAKETIME_SHARED");
    let (left, free) = killed(&mut control);
    for p in &left {
        std::fs::remove_file(p).unwrap();
    }
    if free {
        assert_eq!(
            left.len(),
            2,
            "the control left no pair: the check below proves nothing"
        );
    }

    let mut c = std::process::Command::new("sh");
    fake_clock(&mut c, FakeClock::Spec("+1d"));
    let (left, _) = killed(&mut c);
    assert_eq!(left, Vec::<std::path::PathBuf>::new());
}
