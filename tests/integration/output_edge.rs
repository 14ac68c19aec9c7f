//! The output edge: every command writing into a closed pipe
//! (`mfacli … | head -c 1`) exits 0, quietly, without a panic.

use std::process::Stdio;

use crate::util::*;

/// Runs `mfacli args` with stdout a pipe whose reader is already closed,
/// so its very first write fails with EPIPE.
fn into_closed_pipe(h: &Home, args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut c = h.std_mfacli();
    c.env("MFACLI_FEDERATION_URL", h.emu().federation_url())
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped());
    let child = c.spawn().unwrap();
    drop(c);
    output_bounded(child, &format!("mfacli {args:?}"))
}

#[test]
fn every_command_into_a_closed_pipe_exits_zero_quietly() {
    let h = Home::new();
    // Fill the caches first, so the credential commands get to print.
    h.mfacli().args(["env", "prod"]).assert().success();
    let commands: &[&[&str]] = &[
        &["completions", "zsh"],
        &["completions", "bash"],
        &["completions", "fish"],
        &["man"],
        &["doctor"],
        &["doctor", "--json"],
        &["policy", "bastion"],
        &["policy", "trust", "--bastion-account", "111111111111"],
        &["policy", "cloudformation", "target"],
        &["policy", "cloudformation", "bastion"],
        &["console", "prod", "--print"],
        &["hook", "bash"],
        &["hook", "zsh"],
        &["hook", "fish"],
        &["clear", "prod"],
        &["completions", "powershell"],
        &["completions", "elvish"],
        &["list"],
        &["list", "--json"],
        &["env", "prod"],
        &["assume", "prod"],
        &["assume", "prod", "--json"],
        &["assume", "prod", "--export"],
        &["credential-process", "prod"],
        &["whoami", "prod"],
        &["totp"],
        &["--help"],
        &["env", "--help"],
        &["--version"],
    ];
    for args in commands {
        let out = into_closed_pipe(&h, args);
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(0),
            "mfacli {args:?} into a closed pipe: {:?}\n{err}",
            out.status
        );
        assert!(
            !err.contains("panicked") && !err.contains("error") && !err.contains("Broken pipe"),
            "mfacli {args:?} into a closed pipe said: {err}"
        );
    }
}

#[test]
fn a_closed_stderr_never_panics() {
    let h = Home::new();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = h
        .std_mfacli()
        .args(["-v", "env", "prod", "--refresh"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(writer)
        .spawn()
        .unwrap();
    let out = output_bounded(out, "mfacli -v env prod --refresh");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(stdout(&out).starts_with("export AWS_ACCESS_KEY_ID="));
}
