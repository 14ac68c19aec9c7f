//! mfacli with the real endpoint names and no endpoint override: inside a
//! private mount namespace (`unshare -m`) a hosts file bound over
//! /etc/hosts sends `sts.amazonaws.com` and `sts.REGION.amazonaws.com[.cn]`
//! to a loopback address where the emulator serves HTTPS on port 443 with a
//! throwaway CA (given through `AWS_CA_BUNDLE`) and checks that every
//! signature names the region of the host it was sent to, as AWS does.
//!
//! Needs root (for `unshare -m` and port 443) and util-linux's `unshare`;
//! both are there in CI.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use std::sync::atomic::{AtomicU8, Ordering};

use sts_emulator::{Emulator, SigningRegion, World};

use crate::util::*;

/// The mfacli under test: the test build, or the shipped static build when
/// MFACLI_RELEASE_BIN names it (scripts/test-packaging.sh: a static glibc
/// resolves names without the system's NSS plugins; these names must
/// still resolve through /etc/hosts).
fn bin() -> std::ffi::OsString {
    std::env::var_os("MFACLI_RELEASE_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_mfacli").into())
}

/// Every STS host name the tests use.
const HOSTS: &[&str] = &[
    "sts.amazonaws.com",
    "sts.us-east-1.amazonaws.com",
    "sts.us-east-2.amazonaws.com",
    "sts.eu-west-1.amazonaws.com",
    "sts.eu-central-1.amazonaws.com",
    "sts.ap-southeast-2.amazonaws.com",
    "sts.cn-north-1.amazonaws.com.cn",
];

/// A HOME whose emulator answers at the real endpoint names.
struct RealWorld {
    h: Home,
    hosts: std::path::PathBuf,
    ca: std::path::PathBuf,
}

/// Whether this machine can make the world (root, `unshare`). Outside CI a
/// machine that cannot skips, saying so; in CI it fails.
fn can_unshare() -> bool {
    if !have("unshare") {
        return false;
    }
    let ok = Command::new("unshare")
        .args(["-m", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "`unshare -m` failed: these tests need root (CAP_SYS_ADMIN) in CI"
        );
        eprintln!("skipped: `unshare -m` is not permitted here (needs root)");
    }
    ok
}

/// A loopback address of this test's own, so parallel tests (and other
/// test runs on the machine) each get their own port 443.
fn bind_443(world: World, chain: &[u8], key: &[u8]) -> Emulator {
    static NEXT: AtomicU8 = AtomicU8::new(1);
    let pid = std::process::id();
    let mut last = None;
    for _ in 0..20 {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let ip = Ipv4Addr::new(127, 17, (pid % 251) as u8, n);
        let addr = SocketAddr::new(IpAddr::V4(ip), 443);
        match Emulator::start_tls_on(world.clone(), addr, chain, key) {
            Ok(e) => return e,
            Err(e) => last = Some(format!("{addr}: {e}")),
        }
    }
    panic!(
        "cannot serve the emulator on port 443 of a loopback address (needs root; is the port taken?): {}",
        last.unwrap_or_default()
    )
}

impl RealWorld {
    fn new() -> Option<Self> {
        if !can_unshare() {
            return None;
        }
        let pki = pki(HOSTS);
        let emu = bind_443(World::demo(), pki.chain.as_bytes(), pki.key.as_bytes());
        emu.set_signing_region(SigningRegion::FromHost);
        let h = Home::builder().emulator(emu).build();
        let ip = h.emu().endpoint_url();
        let ip = ip
            .trim_start_matches("https://")
            .trim_end_matches(":443")
            .to_owned();
        let hosts = h.path().join("hosts");
        let mut text = String::from("127.0.0.1 localhost\n");
        for name in HOSTS {
            text.push_str(&format!("{ip} {name}\n"));
        }
        std::fs::write(&hosts, text).unwrap();
        let ca = h.path().join("ca.pem");
        std::fs::write(&ca, pki.ca).unwrap();
        Some(Self { h, hosts, ca })
    }

    /// `program args…` inside the namespace, with `Home`'s environment
    /// minus the endpoint override, plus the CA bundle.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::from_std(self.std_command(program, args));
        c.timeout(std::time::Duration::from_secs(90));
        c
    }

    fn std_command(
        &self,
        program: impl AsRef<std::ffi::OsStr>,
        args: &[&str],
    ) -> std::process::Command {
        let mut c = self.h.command("unshare");
        c.env_remove("AWS_ENDPOINT_URL_STS")
            .env("AWS_CA_BUNDLE", &self.ca)
            .env("MFACLI", bin())
            .args([
                "-m",
                "sh",
                "-c",
                r#"mount --bind "$0" /etc/hosts && exec "$@""#,
            ])
            .arg(&self.hosts)
            .arg(program)
            .args(args);
        c
    }

    fn mfacli(&self, args: &[&str]) -> assert_cmd::Command {
        self.command(bin(), args)
    }

    /// A bash script with `mfacli` on PATH (as a function).
    fn bash(&self, script: &str) -> assert_cmd::Command {
        let script = format!("set -e\nmfacli() {{ \"$MFACLI\" \"$@\"; }}\n{script}");
        self.command("bash", &["-c", &script])
    }

    /// mfacli under libfaketime, `secs` ahead, with the emulator moved too.
    fn at(&self, secs: i64, args: &[&str]) -> assert_cmd::Command {
        self.h.emu().set_offset_secs(secs);
        let mut c = self.std_command(bin(), args);
        fake_clock(&mut c, FakeClock::Spec(&format!("+{secs}s")));
        let mut c = assert_cmd::Command::from_std(c);
        c.timeout(std::time::Duration::from_secs(90));
        c
    }

    fn sessions(&self) -> usize {
        self.h.emu().count_all("GetSessionToken")
    }
}

struct Pki {
    ca: String,
    chain: String,
    key: String,
}

/// A throwaway CA and a server certificate for `names`.
fn pki(names: &[&str]) -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "mfacli test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    leaf.distinguished_name.push(DnType::CommonName, names[0]);
    let leaf = leaf.signed_by(&leaf_key, &issuer).unwrap();
    Pki {
        ca: ca_cert.pem(),
        chain: format!("{}{}", leaf.pem(), ca_cert.pem()),
        key: leaf_key.serialize_pem(),
    }
}

/// The issue's repro: bastion region eu-west-1, prod in eu-central-1;
/// `eval "$(mfacli env prod)"`, then `mfacli env staging`, then a third
/// AWS_REGION, then the README's `mfacli exec prod -- mfacli whoami prod`:
/// one GetSessionToken (it was three).
#[test]
fn three_regions_in_one_shell_use_one_code() {
    let Some(w) = RealWorld::new() else { return };
    let out = w
        .bash(
            r#"
eval "$(mfacli env prod)"
test "$AWS_REGION" = eu-central-1
mfacli env staging >/dev/null
AWS_REGION=us-east-2 AWS_DEFAULT_REGION=us-east-2 mfacli whoami prod
mfacli exec prod -- "$MFACLI" whoami prod
"#,
        )
        .assert()
        .success();
    let text = stdout(out.get_output());
    assert!(text.contains(PROD_ROLE_SESSION), "{text}");
    assert_eq!(w.sessions(), 1, "{:#?}", w.h.emu().requests());
    assert_eq!(w.h.emu().count("AssumeRole"), 2, "prod once, staging once");
}

/// Without a [bastion] region the ambient AWS_REGION picks the endpoint,
/// and still one session serves every region: sessions are per partition.
#[test]
fn without_a_bastion_region_every_regional_endpoint_shares_the_session() {
    let Some(w) = RealWorld::new() else { return };
    w.h.write_config(&CONFIG.replace("region = \"eu-west-1\"\n", ""));
    for region in ["eu-west-1", "eu-central-1", "ap-southeast-2"] {
        let out = w
            .mfacli(&["-v", "env", "staging"])
            .env("AWS_REGION", region)
            .arg("--refresh")
            .assert()
            .success();
        let err = stderr(out.get_output());
        assert!(
            err.contains(&format!("using STS at https://sts.{region}.amazonaws.com")),
            "{err}"
        );
    }
    assert_eq!(w.sessions(), 1, "{:#?}", w.h.emu().requests());
    assert_eq!(w.h.emu().count("AssumeRole"), 3);
    // No region anywhere: the partition's default, us-east-1.
    w.mfacli(&["-v", "whoami", "prod", "--refresh"])
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "using STS at https://sts.us-east-1.amazonaws.com",
        ));
    assert_eq!(w.sessions(), 1);
}

/// A whole working day, mfacli's clock (libfaketime) and the emulator's
/// moved together, regions changing: one code.
#[test]
fn a_working_day_in_three_regions_takes_one_code() {
    let Some(w) = RealWorld::new() else { return };
    if libfaketime().is_none() {
        return;
    }
    let steps: [(i64, &str, &[&str]); 6] = [
        (0, "eu-west-1", &["env", "prod"]),
        (3_700, "eu-central-1", &["env", "staging"]),
        (3 * 3600, "us-east-2", &["whoami", "prod"]),
        (6 * 3600, "eu-central-1", &["env", "audit"]),
        (9 * 3600, "ap-southeast-2", &["credential-process", "prod"]),
        (11 * 3600 + 1800, "us-east-2", &["whoami", "staging"]),
    ];
    for (secs, region, args) in steps {
        w.at(secs, args)
            .env("AWS_REGION", region)
            .assert()
            .success();
    }
    let reqs = w.h.emu().requests();
    assert_eq!(w.sessions(), 1, "{reqs:#?}");
    assert_eq!(
        reqs.iter().filter(|r| r.token_code_sent).count(),
        1,
        "one MFA code all day: {reqs:#?}"
    );
    // After 12 h the session has expired: the next day takes a new code.
    w.at(24 * 3600, &["env", "prod"]).assert().success();
    assert_eq!(w.sessions(), 2);
}

/// aws-cn: the default endpoint is `sts.REGION.amazonaws.com.cn`, signed
/// for that region.
#[test]
fn aws_cn_uses_the_amazonaws_com_cn_endpoint() {
    let Some(w) = RealWorld::new() else { return };
    w.h.write_config(&format!(
        "{}\n[targets.cn]\nrole_arn = \"arn:aws-cn:iam::222222222222:role/PowerUser\"\n",
        CONFIG.replace("region = \"eu-west-1\"\n", "")
    ));
    let out = w.mfacli(&["-v", "env", "cn"]).assert();
    let err = stderr(out.get_output());
    assert!(
        err.contains("using STS at https://sts.cn-north-1.amazonaws.com.cn (region cn-north-1)"),
        "{err}"
    );
    // The emulator knows only the aws partition's roles, but the session
    // was issued there: TLS, name and signing region all matched.
    assert_eq!(w.h.emu().count("GetSessionToken"), 1, "{err}");
    assert_eq!(w.h.emu().count_all("AssumeRole"), 1, "{err}");
}

/// The emulator refuses a signature for another region than the host's,
/// as AWS does: mfacli signs for the endpoint it calls.
#[test]
fn a_signature_for_another_region_is_refused() {
    let Some(w) = RealWorld::new() else { return };
    let out = w
        .mfacli(&[
            "env",
            "prod",
            "--region",
            "eu-west-1",
            "--endpoint-url",
            "https://sts.eu-central-1.amazonaws.com",
        ])
        .assert()
        .failure();
    let err = stderr(out.get_output());
    assert!(err.contains("SignatureDoesNotMatch"), "{err}");
    assert!(err.contains("eu-west-1"), "{err}");
    // Through the real name, signed for its own region: accepted.
    w.mfacli(&["env", "prod", "--region", "eu-central-1"])
        .assert()
        .success();
}

/// HTTPS at the real name needs the CA: without AWS_CA_BUNDLE the
/// throwaway certificate is refused before any code is spent.
#[test]
fn the_ca_bundle_is_what_makes_tls_work() {
    let Some(w) = RealWorld::new() else { return };
    let out = w
        .mfacli(&["env", "prod"])
        .env_remove("AWS_CA_BUNDLE")
        .assert()
        .failure();
    let err = stderr(out.get_output());
    assert!(err.contains("sts.eu-west-1.amazonaws.com"), "{err}");
    assert_eq!(w.h.emu().requests().len(), 0);
    w.mfacli(&["env", "prod"]).assert().success();
    assert_eq!(w.sessions(), 1);
}
