//! Options and settings no other test exercised: `-q`, the
//! `totp_secret_env` config key (and `exec` keeping it from the child),
//! `XDG_CONFIG_HOME` / `XDG_CACHE_HOME`, an IPv6 endpoint, and
//! `policy cloudformation` parsed as YAML.

use std::os::unix::fs::PermissionsExt;

use crate::util::*;
use sts_emulator::{Emulator, World};

/// `-q`: nothing on stderr on success, not even a warning or a wait;
/// errors are still shown.
#[test]
fn quiet_prints_nothing_on_success_but_still_shows_errors() {
    let h = Home::new();
    // A world-readable credentials file: a warning without -q.
    let creds = h.path().join(".aws/credentials");
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o644)).unwrap();
    let loud = h.mfacli().args(["env", "prod"]).assert().success();
    assert!(
        stderr(loud.get_output()).contains("warning"),
        "the warning exists"
    );
    h.mfacli().args(["clear", "--all"]).assert().success();
    for args in [
        &["-q", "env", "prod"][..],
        &["-q", "--refresh", "credential-process", "prod"],
        &["--quiet", "list"],
        &["-q", "assume", "staging", "--json"],
    ] {
        let o = h.mfacli().args(args).assert().success();
        assert_eq!(stderr(o.get_output()), "", "{args:?}");
        assert!(
            !stdout(o.get_output()).is_empty(),
            "{args:?} still prints its output"
        );
    }
    let o = h.mfacli().args(["-q", "env", "nope"]).assert().code(1);
    let err = stderr(o.get_output());
    assert!(
        err.starts_with("mfacli: error: ") && err.contains("nope"),
        "{err}"
    );
    let o = h
        .mfacli()
        .args(["-q", "env", "untrusting"])
        .assert()
        .code(1);
    assert!(
        stderr(o.get_output()).contains("AccessDenied"),
        "{}",
        stderr(o.get_output())
    );
}

/// `[bastion] totp_secret_env` names the variable holding the seed; `exec`
/// removes it (and the default one) from the child's environment.
#[test]
fn totp_secret_env_config_key_and_exec_strips_it() {
    let h = Home::new();
    h.write_config(&CONFIG.replace(
        "[bastion]\n",
        "[bastion]\ntotp_secret_env = \"MY_CI_SEED\"\n",
    ));
    // No seed under the configured name: an error naming it.
    let o = h
        .mfacli()
        .env_remove("MFACLI_TOTP_SECRET")
        .args(["env", "prod"])
        .assert()
        .code(1);
    let err = stderr(o.get_output());
    assert!(err.contains("MY_CI_SEED"), "{err}");
    assert_eq!(h.counts(), (0, 0));
    // The seed under that name works, and the child never sees it.
    let o = h
        .mfacli()
        .env_remove("MFACLI_TOTP_SECRET")
        .env("MY_CI_SEED", SEED)
        .args(["exec", "prod", "--", "env"])
        .assert()
        .success();
    let child_env = stdout(o.get_output());
    assert!(child_env.contains("AWS_ACCESS_KEY_ID=ASIA"), "{child_env}");
    assert!(!child_env.contains("MY_CI_SEED"), "{child_env}");
    assert!(!child_env.contains(SEED), "{child_env}");
    assert_eq!(h.counts(), (1, 1));
}

/// Each `[[bastion.mfa_devices]]` seed variable is a secret too: `exec`
/// keeps every one of them from the child, not only the first device's.
#[test]
fn exec_strips_every_device_seed() {
    let h = Home::with_world(sts_emulator::World::demo_with_mfa_devices(2));
    let (serial2, seed2) = sts_emulator::demo::ALICE_EXTRA_DEVICES[0];
    h.write_config(&CONFIG.replacen(
        "\n[targets.prod]",
        &format!(
            "totp_secret_env = \"SEED_ONE\"\n\n[[bastion.mfa_devices]]\nserial = \"{serial2}\"\ntotp_secret_env = \"SEED_TWO\"\n\n[targets.prod]"
        ),
        1,
    ));
    let o = h
        .mfacli()
        .env_remove("MFACLI_TOTP_SECRET")
        .env("SEED_ONE", SEED)
        .env("SEED_TWO", seed2)
        .args(["exec", "prod", "--", "env"])
        .assert()
        .success();
    let child_env = stdout(o.get_output());
    assert!(child_env.contains("AWS_ACCESS_KEY_ID=ASIA"), "{child_env}");
    for secret in ["SEED_ONE", "SEED_TWO", SEED, seed2] {
        assert!(!child_env.contains(secret), "{secret} reached the child");
    }
}

/// The config from `$XDG_CONFIG_HOME/mfacli/config.toml`, the cache in
/// `$XDG_CACHE_HOME/mfacli`, nothing in ~/.config or ~/.cache.
#[test]
fn xdg_config_and_cache_homes_are_used() {
    let h = Home::new();
    let xdg_config = h.path().join("xdg-config");
    let xdg_cache = h.path().join("xdg-cache");
    std::fs::create_dir_all(xdg_config.join("mfacli")).unwrap();
    std::fs::rename(
        h.path().join(".config/mfacli/config.toml"),
        xdg_config.join("mfacli/config.toml"),
    )
    .unwrap();
    h.mfacli()
        .env("XDG_CONFIG_HOME", &xdg_config)
        .env("XDG_CACHE_HOME", &xdg_cache)
        .args(["env", "prod"])
        .assert()
        .success();
    assert!(!h.cache_dir().exists(), "nothing in ~/.cache");
    let mut entries = Vec::new();
    walk(&xdg_cache.join("mfacli"), &mut |p| {
        entries.push(p.to_owned())
    });
    assert!(
        entries
            .iter()
            .any(|p| p.to_string_lossy().contains("role-prod")),
        "{entries:?}"
    );
    assert_eq!(mode(&xdg_cache.join("mfacli")), 0o700);
    // The cached entry is found there again: no new STS call.
    h.mfacli()
        .env("XDG_CONFIG_HOME", &xdg_config)
        .env("XDG_CACHE_HOME", &xdg_cache)
        .args(["env", "prod"])
        .assert()
        .success();
    assert_eq!(h.counts(), (1, 1));
    // Without XDG_CONFIG_HOME the config (and its targets) is not found.
    h.mfacli()
        .env("XDG_CACHE_HOME", &xdg_cache)
        .args(["env", "prod"])
        .assert()
        .failure();
}

/// An IPv6 loopback endpoint (`http://[::1]:PORT`) works end to end.
#[test]
fn ipv6_endpoint() {
    let emu = match Emulator::start_on(World::demo(), "[::1]:0".parse().unwrap()) {
        Ok(e) => e,
        Err(e) => {
            skip(&format!("cannot listen on [::1]: {e}"), "IPv6 loopback");
            return;
        }
    };
    let url = emu.endpoint_url();
    assert!(url.starts_with("http://[::1]:"), "{url}");
    let h = Home::new();
    let o = h
        .mfacli()
        .env("AWS_ENDPOINT_URL_STS", &url)
        .args(["credential-process", "prod"])
        .assert()
        .success();
    json(&stdout(o.get_output()));
    assert_eq!(emu.count("GetSessionToken"), 1);
    assert_eq!(emu.count("AssumeRole"), 1);
    assert_eq!(h.counts(), (0, 0), "the IPv4 emulator was not used");
}

/// `policy cloudformation bastion|target` print valid YAML templates with
/// the IAM resources they are for.
#[test]
fn policy_cloudformation_is_valid_yaml() {
    let h = Home::new();
    for (which, kind) in [("bastion", "AWS::IAM::"), ("target", "AWS::IAM::Role")] {
        let o = h
            .mfacli()
            .args(["policy", "cloudformation", which])
            .assert()
            .success();
        let text = stdout(o.get_output());
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text)
            .unwrap_or_else(|e| panic!("{which}: not YAML ({e}):\n{text}"));
        let resources = v["Resources"]
            .as_mapping()
            .unwrap_or_else(|| panic!("{which}: no Resources:\n{text}"));
        assert!(!resources.is_empty());
        assert!(
            resources
                .values()
                .any(|r| r["Type"].as_str().is_some_and(|t| t.starts_with(kind))),
            "{which}: no {kind} resource:\n{text}"
        );
        assert!(v["AWSTemplateFormatVersion"].as_str().is_some(), "{text}");
    }
}
