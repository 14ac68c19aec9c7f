//! `mfacli hook` and `mfacli prompt`: the hook renews `mfacli env`
//! credentials once they are inside the refresh margin, and spawns no
//! mfacli while they are fresh. Non-interactive shells call the hook
//! function directly (as PROMPT_COMMAND / precmd / fish_prompt would), with
//! the shell's clock moved by libfaketime in step with the emulator's; an
//! `mfacli` wrapper first on PATH logs every call.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use crate::util::*;

struct Case {
    shell: &'static str,
    /// Sources `exports` and `hook`, runs the hook 5 times, prints the
    /// expiration and the target.
    script: &'static str,
}

const CASES: [Case; 3] = [
    Case {
        shell: "bash",
        script: "source ./exports; source ./hook; for i in 1 2 3 4 5; do _mfacli_hook; done; echo \"EXP=$AWS_CREDENTIAL_EXPIRATION T=$MFACLI_TARGET\"",
    },
    Case {
        shell: "zsh",
        script: "source ./exports; source ./hook; for i in 1 2 3 4 5; do _mfacli_hook; done; echo \"EXP=$AWS_CREDENTIAL_EXPIRATION T=$MFACLI_TARGET\"",
    },
    Case {
        shell: "fish",
        script: "source ./exports; source ./hook; for i in 1 2 3 4 5; _mfacli_hook; end; echo \"EXP=$AWS_CREDENTIAL_EXPIRATION T=$MFACLI_TARGET\"",
    },
];

pub(crate) fn wrapper(h: &Home) -> (PathBuf, PathBuf) {
    let dir = h.path().join("wrap");
    std::fs::create_dir_all(&dir).unwrap();
    let log = h.path().join("calls.log");
    let w = dir.join("mfacli");
    std::fs::write(
        &w,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            env!("CARGO_BIN_EXE_mfacli")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&w, std::fs::Permissions::from_mode(0o755)).unwrap();
    (dir, log)
}

pub(crate) fn calls(log: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn hook_renews_inside_the_margin_and_spawns_nothing_while_fresh() {
    if libfaketime().is_none() {
        return;
    }
    for case in CASES {
        if !have(case.shell) {
            continue;
        }
        let h = Home::new();
        let (wrap_dir, log) = wrapper(&h);
        let out = h
            .mfacli()
            .args(["env", "prod", "--shell", case.shell])
            .assert()
            .success();
        let exports = stdout(out.get_output());
        assert!(exports.contains("MFACLI_TARGET"), "{exports}");
        std::fs::write(h.path().join("exports"), &exports).unwrap();
        let hook = h.mfacli().args(["hook", case.shell]).assert().success();
        std::fs::write(h.path().join("hook"), stdout(hook.get_output())).unwrap();
        let first_exp = exports
            .lines()
            .find(|l| l.contains("AWS_CREDENTIAL_EXPIRATION"))
            .and_then(|l| l.split('\'').nth(1))
            .unwrap()
            .to_owned();

        let run = |offset: i64| {
            h.emu().set_offset_secs(offset);
            let path = format!(
                "{}:{}",
                wrap_dir.display(),
                std::env::var("PATH").unwrap_or_default()
            );
            let mut c = h.command(case.shell);
            fake_clock(&mut c, FakeClock::Spec(&format!("+{offset}s")));
            let out = c
                .env("PATH", path)
                .args(["-c", case.script])
                .run_bounded()
                .unwrap();
            assert!(out.status.success(), "{}: {}", case.shell, stderr(&out));
            stdout(&out)
        };
        // 10 minutes later: fresh, no mfacli spawned at any prompt.
        let o = run(600);
        assert_eq!(
            o.trim(),
            format!("EXP={first_exp} T=prod"),
            "{}",
            case.shell
        );
        assert!(calls(&log).is_empty(), "{}: {:?}", case.shell, calls(&log));
        // 56 minutes later 4 are left (< 5 min margin): exactly one
        // `mfacli env prod` at the first prompt, new credentials after it.
        let o = run(3360);
        assert!(o.starts_with("EXP=") && o.trim().ends_with("T=prod"), "{o}");
        assert!(!o.contains(&first_exp), "{}: not renewed: {o}", case.shell);
        assert_eq!(
            calls(&log),
            vec![format!("env --shell {} prod", case.shell)],
            "{}",
            case.shell
        );
        assert_eq!(h.counts(), (1, 2), "{}", case.shell);
    }
}

#[test]
fn prompt_segment_comes_from_the_environment_alone() {
    let h = Home::new();
    let exp = (chrono::Utc::now() + chrono::Duration::seconds(42 * 60 + 30))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let out = h
        .mfacli()
        .env("MFACLI_TARGET", "prod")
        .env("AWS_CREDENTIAL_EXPIRATION", &exp)
        // A config that does not parse proves it is not read.
        .env("MFACLI_CONFIG", "/nonexistent/config.toml")
        .arg("prompt")
        .assert()
        .success();
    assert_eq!(stdout(out.get_output()), "prod 42m\n");
    let out = h.mfacli().arg("prompt").assert().success();
    assert_eq!(stdout(out.get_output()), "");
    assert_eq!(h.counts(), (0, 0));
}
