//! The daily flow in real conditions: dead sessions that heal, failures
//! that an `eval` sees, the small things a newcomer trips over.

use std::net::SocketAddr;

use sts_emulator::{Emulator, World};

use crate::util::*;

/// Restart the emulator on the same port: it forgets every session, as
/// STS forgets a revoked one (InvalidClientTokenId).
fn restart(h: &mut Home) {
    let addr = SocketAddr::from(([127, 0, 0, 1], h.emu.port()));
    let placeholder = Emulator::start(World::demo()).unwrap();
    drop(std::mem::replace(&mut h.emu, placeholder));
    h.emu = Emulator::start_on(World::demo(), addr).unwrap();
}

#[test]
fn a_session_sts_forgot_heals_and_doctor_reports_it() {
    let mut h = Home::new();
    h.mfacli().args(["env", "prod"]).assert().success();
    assert_eq!(h.counts(), (1, 1));
    restart(&mut h);

    let out = h.mfacli().args(["doctor"]).output().unwrap();
    let text = stdout(&out);
    assert!(
        text.contains("is rejected by STS: InvalidClientTokenId"),
        "{text}"
    );
    assert!(text.contains("mfacli clear --all"), "{text}");
    assert_eq!(
        h.emu.count_all("GetSessionToken"),
        0,
        "doctor spends no code"
    );

    let out = h
        .mfacli()
        .args(["-v", "env", "prod", "--refresh"])
        .assert()
        .success();
    let err = stderr(out.get_output());
    assert!(
        err.contains("STS rejected the cached MFA session (InvalidClientTokenId); dropping it"),
        "{err}"
    );
    assert_eq!(h.emu.count("GetSessionToken"), 1);
    assert_eq!(
        h.emu.count_all("AssumeRole"),
        2,
        "one rejected, one retried"
    );
    // Healed: the new session is cached and accepted.
    h.mfacli().args(["env", "staging"]).assert().success();
    assert_eq!(h.counts(), (1, 2));
    let out = h.mfacli().args(["doctor"]).output().unwrap();
    assert!(
        !stdout(&out).contains("rejected by STS"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_revoked_session_heals_with_one_new_code() {
    let h = Home::new();
    h.mfacli().args(["env", "prod"]).assert().success();
    h.emu.expire_all_sessions();
    let out = h.mfacli().args(["doctor"]).output().unwrap();
    assert!(
        stdout(&out).contains("is rejected by STS: ExpiredToken"),
        "{}",
        stdout(&out)
    );
    h.mfacli().args(["env", "staging"]).assert().success();
    assert_eq!(h.counts(), (2, 2));
}
