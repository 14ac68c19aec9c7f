//! CI at scale: machines that share a seed (or several devices' seeds) but
//! nothing else, started at once against one emulator; `--shell github`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::util::*;
use sts_emulator::demo::{ALICE_EXTRA_DEVICES, ALICE_SEED, ALICE_SERIAL};
use sts_emulator::World;

/// A config with `d` devices of alice, seeds in $SEED_1..$SEED_d.
fn devices_config(d: usize) -> String {
    let mut c = String::from("[bastion]\nprofile = \"bastion\"\nregion = \"eu-west-1\"\n");
    for (i, (serial, _)) in devices(d).iter().enumerate() {
        c.push_str(&format!(
            "\n[[bastion.mfa_devices]]\nserial = \"{serial}\"\ntotp_secret_env = \"SEED_{}\"\n",
            i + 1
        ));
    }
    c.push_str("\n[targets.prod]\nrole_arn = \"arn:aws:iam::222222222222:role/PowerUser\"\n");
    c
}

fn devices(d: usize) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![(ALICE_SERIAL, ALICE_SEED)];
    v.extend_from_slice(&ALICE_EXTRA_DEVICES[..d - 1]);
    v
}

/// A separate machine: its own HOME (keys, config, cache) under `root`.
fn machine(h: &Home, root: &Path, i: usize, d: usize) -> std::process::Command {
    let home = root.join(format!("machine-{i}"));
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::create_dir_all(home.join(".config/mfacli")).unwrap();
    let creds = home.join(".aws/credentials");
    std::fs::write(
        &creds,
        format!(
            "[bastion]\naws_access_key_id = {ALICE_KEY}\naws_secret_access_key = {ALICE_SECRET}\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(home.join(".config/mfacli/config.toml"), devices_config(d)).unwrap();
    let mut c = h.std_mfacli();
    c.env("HOME", &home).env_remove("MFACLI_TOTP_SECRET");
    for (k, (_, seed)) in devices(d).iter().enumerate() {
        c.env(format!("SEED_{}", k + 1), seed);
    }
    c
}

/// Steps this machine recorded as sent, over all devices.
fn recorded_steps(home: &Path) -> usize {
    let dir = home.join(".cache/mfacli");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("totp-") && name.ends_with(".json") {
            let v = json(&std::fs::read_to_string(&p).unwrap());
            n += v["recent"].as_array().unwrap().len();
        }
    }
    n
}

fn wait_all(children: Vec<Child>, limit: Duration) -> Vec<std::process::Output> {
    let start = Instant::now();
    children
        .into_iter()
        .map(|mut c| {
            loop {
                if c.try_wait().unwrap().is_some() {
                    break;
                }
                if start.elapsed() > limit {
                    let _ = c.kill();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            c.wait_with_output().unwrap()
        })
        .collect()
}

/// 8 machines, 4 devices, started at the same instant: the window of
/// accepted steps (3 per device) has room for all, so every machine gets
/// credentials within seconds; no machine sends a step twice.
#[test]
fn eight_machines_on_four_devices_all_get_credentials() {
    let h = Home::with_world(World::demo_with_mfa_devices(4));
    let root = h.path().join("machines");
    let start = Instant::now();
    let children: Vec<Child> = (0..8)
        .map(|i| {
            machine(&h, &root, i, 4)
                .args(["-v", "env", "prod"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs = wait_all(children, Duration::from_secs(120));
    let elapsed = start.elapsed();
    for (i, o) in outs.iter().enumerate() {
        let err = stderr(o);
        assert!(o.status.success(), "machine {i}: {err}");
        assert!(stdout(o).contains("AWS_SESSION_TOKEN"), "machine {i}");
        let sent = err.matches("MFA code from TOTP seed").count();
        assert_eq!(
            recorded_steps(&root.join(format!("machine-{i}"))),
            sent,
            "machine {i} sent {sent} codes, each for a step it never sent before: {err}"
        );
        assert!(!err.contains(ALICE_SEED), "machine {i}");
    }
    assert_eq!(h.emu().count("GetSessionToken"), 8);
    assert!(elapsed < Duration::from_secs(60), "{elapsed:?}");
}

/// `--mfa-deadline` is validated like the other durations.
#[test]
fn mfa_deadline_is_validated() {
    let h = Home::new();
    let out = h
        .mfacli()
        .args(["--mfa-deadline", "5s", "env", "prod"])
        .assert()
        .code(2);
    assert!(stderr(out.get_output()).contains("outside the allowed range"));
    h.write_config(&format!("{CONFIG}\n").replace(
        "region = \"eu-west-1\"\n",
        "region = \"eu-west-1\"\nmfa_deadline = \"2h\"\n",
    ));
    let out = h.mfacli().args(["env", "prod"]).assert().code(1);
    assert!(
        stderr(out.get_output()).contains("[bastion] mfa_deadline"),
        "{}",
        stderr(out.get_output())
    );
}

fn github_env_file(h: &Home) -> PathBuf {
    let p = h.path().join("github_env");
    std::fs::write(&p, "EARLIER=1\n").unwrap();
    p
}

/// `env --shell github`: KEY=value lines appended to $GITHUB_ENV, and on
/// stdout only `::add-mask::` lines, one per secret value.
#[test]
fn github_shell_appends_to_github_env_and_masks_every_secret() {
    let h = Home::new();
    let file = github_env_file(&h);
    let out = h
        .mfacli()
        .env("GITHUB_ENV", &file)
        .args(["env", "prod", "--shell", "github"])
        .assert()
        .success();
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "EARLIER=1", "appended, not replaced");
    let pairs: Vec<(&str, &str)> = lines[1..]
        .iter()
        .map(|l| l.split_once('=').unwrap())
        .collect();
    let keys: Vec<&str> = pairs.iter().map(|p| p.0).collect();
    assert_eq!(
        keys,
        [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_SECURITY_TOKEN",
            "AWS_CREDENTIAL_EXPIRATION",
            "AWS_REGION",
            "AWS_DEFAULT_REGION"
        ]
    );
    let get = |k: &str| pairs.iter().find(|p| p.0 == k).unwrap().1;
    assert!(get("AWS_ACCESS_KEY_ID").starts_with("ASIA"));
    assert_eq!(get("AWS_REGION"), "eu-central-1");
    assert_eq!(get("AWS_SESSION_TOKEN"), get("AWS_SECURITY_TOKEN"));
    assert!(text.ends_with('\n'));
    assert_eq!(
        stdout(out.get_output()),
        format!(
            "::add-mask::{}\n::add-mask::{}\n::add-mask::{}\n",
            get("AWS_ACCESS_KEY_ID"),
            get("AWS_SECRET_ACCESS_KEY"),
            get("AWS_SESSION_TOKEN")
        )
    );
    let err = stderr(out.get_output());
    assert!(!err.contains(get("AWS_SECRET_ACCESS_KEY")), "{err}");
    // A second run (cache hit) appends the same credentials again.
    h.mfacli()
        .env("GITHUB_ENV", &file)
        .args(["env", "prod", "--shell", "github"])
        .assert()
        .success();
    let again = std::fs::read_to_string(&file).unwrap();
    assert_eq!(again, format!("{text}{}", &text["EARLIER=1\n".len()..]));
    assert_eq!(h.counts(), (1, 1));
}

#[test]
fn github_shell_needs_github_env() {
    let h = Home::new();
    let out = h
        .mfacli()
        .args(["env", "prod", "--shell", "github"])
        .assert()
        .code(1);
    let err = stderr(out.get_output());
    assert!(err.contains("$GITHUB_ENV"), "{err}");
    assert_eq!(stdout(out.get_output()), "");
}

/// `doctor --check-mfa`: one GetSessionToken per device; a seed that is
/// not its device's is an error naming the serial.
#[test]
fn doctor_check_mfa_spends_one_code_per_device() {
    let h = Home::with_world(World::demo_with_mfa_devices(3));
    h.write_config(&devices_config(3));
    let mut cmd = h.mfacli();
    cmd.env_remove("MFACLI_TOTP_SECRET");
    for (k, (_, seed)) in devices(3).iter().enumerate() {
        cmd.env(format!("SEED_{}", k + 1), seed);
    }
    let out = cmd.args(["doctor", "--check-mfa"]).assert().success();
    let text = stdout(out.get_output());
    for (serial, _) in devices(3) {
        assert!(
            text.contains(&format!("mfa device: {serial}: STS accepted the code")),
            "{text}"
        );
    }
    assert_eq!(h.emu().count_all("GetSessionToken"), 3);
    // Plain doctor spends no code.
    h.emu().clear_log();
    let mut cmd = h.mfacli();
    cmd.env_remove("MFACLI_TOTP_SECRET")
        .env("SEED_1", ALICE_SEED);
    cmd.env("SEED_2", ALICE_SEED).env("SEED_3", ALICE_SEED);
    let plain = cmd.args(["doctor"]).assert();
    let _ = plain;
    assert_eq!(h.emu().count_all("GetSessionToken"), 0);
    // Device 2 given device 1's seed: an error naming device 2.
    let mut cmd = h.mfacli();
    cmd.env_remove("MFACLI_TOTP_SECRET");
    cmd.env("SEED_1", ALICE_SEED)
        .env("SEED_2", ALICE_SEED)
        .env("SEED_3", devices(3)[2].1);
    let out = cmd.args(["doctor", "--check-mfa"]).assert().code(1);
    let text = stdout(out.get_output());
    assert!(
        text.contains(&format!("error  mfa device: {}:", devices(3)[1].0)),
        "{text}"
    );
    assert!(text.contains("the seed is not this device's"), "{text}");
}

/// `init --mfa-device SERIAL=ENV` writes `[[bastion.mfa_devices]]` tables
/// that the next run uses; a seed pasted in place of the name is refused
/// and never echoed.
#[test]
fn init_writes_mfa_devices() {
    let h = Home::with_world(World::demo_with_mfa_devices(2));
    let out = h
        .mfacli()
        .args([
            "init",
            "--non-interactive",
            "--force",
            "--bastion-profile",
            "bastion",
            "--mfa-serial",
            ALICE_SERIAL,
            "--region",
            "eu-west-1",
            "--mfa-device",
            &format!("{}=MFA_SEED_2", devices(2)[1].0),
            "--target",
            "prod=222222222222:PowerUser",
        ])
        .assert()
        .success();
    let _ = out;
    let text = std::fs::read_to_string(h.path().join(".config/mfacli/config.toml")).unwrap();
    assert!(
        text.contains(&format!(
            "[[bastion.mfa_devices]]\nserial = \"{}\"\ntotp_secret_env = \"MFA_SEED_2\"\n",
            devices(2)[1].0
        )),
        "{text}"
    );
    // Only device 2 has a seed here: the run uses it.
    let out = h
        .mfacli()
        .env_remove("MFACLI_TOTP_SECRET")
        .env("MFA_SEED_2", devices(2)[1].1)
        .args(["-v", "env", "prod"])
        .assert()
        .success();
    let err = stderr(out.get_output());
    assert!(
        err.contains(&format!("for {} (current step)", devices(2)[1].0)),
        "{err}"
    );
    let out = h
        .mfacli()
        .args([
            "init",
            "--non-interactive",
            "--force",
            "--bastion-profile",
            "bastion",
            "--mfa-serial",
            ALICE_SERIAL,
            "--mfa-device",
            &format!("{}={}", devices(2)[1].0, devices(2)[1].1),
        ])
        .assert()
        .code(predicates::ord::ge(1));
    let err = stderr(out.get_output());
    assert!(
        err.contains("--mfa-device") && !err.contains(devices(2)[1].1),
        "{err}"
    );
}
