//! The hook in interactive bash, zsh and fish on a real pty (tmux): prompts
//! while the credentials are fresh spawn no mfacli; the first prompt after
//! the clock passes the refresh margin renews them, once.
//!
//! The clock is the real one: role credentials of 15 minutes with a refresh
//! margin of 888 s are fresh for 12 s. (libfaketime 0.9.10 with
//! `FAKETIME_TIMESTAMP_FILE` does not move bash's `printf '%(%s)T'` or
//! `$EPOCHSECONDS` inside a running shell until ~10 s of real time have
//! passed, whatever `FAKETIME_NO_CACHE` says; new processes follow at once.)

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::hook::{calls, wrapper};
use crate::util::*;

/// A tmux server on a private socket, killed on drop.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap()
    }

    fn send(&self, keys: &str) {
        let o = self.cmd(&["send-keys", "-t", "t", "-l", keys]);
        assert!(o.status.success(), "{}", stderr(&o));
        self.cmd(&["send-keys", "-t", "t", "Enter"]);
    }

    fn screen(&self) -> String {
        stdout(&self.cmd(&["capture-pane", "-p", "-J", "-S", "-200", "-t", "t"]))
    }

    /// The output line `MARK:value:END` that `echo` printed (not the typed
    /// command, which shows the quotes).
    fn wait_for(&self, mark: &str) -> String {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if let Some(l) = screen
                .lines()
                .find(|l| l.starts_with(&format!("{mark}:")) && !l.contains('"'))
            {
                return l[mark.len() + 1..].trim_end_matches(":END").to_owned();
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no {mark} on the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

/// How long credentials stay outside the margin: 900 s role, 888 s margin.
const FRESH: Duration = Duration::from_secs(12);

/// The interactive shell's command line, reading `./exports` and `./hook`.
fn shell_line(shell: &str, dir: &Path) -> String {
    match shell {
        "bash" => {
            std::fs::write(
                dir.join("rc"),
                "PS1='P$ '\nsource ./exports\nsource ./hook\n",
            )
            .unwrap();
            "bash --noprofile --rcfile ./rc -i".into()
        }
        "zsh" => {
            std::fs::write(
                dir.join(".zshrc"),
                "PS1='P$ '\nsource ./exports\nsource ./hook\n",
            )
            .unwrap();
            format!("env ZDOTDIR={} zsh -i", dir.display())
        }
        "fish" => "fish --no-config -i -C 'function fish_prompt; echo -n \"P\\$ \"; end; source ./exports; source ./hook'".into(),
        _ => unreachable!(),
    }
}

#[test]
fn hook_renews_at_the_next_prompt_on_a_real_pty() {
    if !have("tmux") {
        return;
    }
    for shell in ["bash", "zsh", "fish"] {
        if !have(shell) {
            continue;
        }
        let h = Home::new();
        h.write_config(&format!(
            "refresh_margin = \"888s\"\n{}",
            CONFIG.replace(
                "region = \"eu-central-1\"\n",
                "region = \"eu-central-1\"\nduration = \"15m\"\n",
            )
        ));
        let (wrap_dir, log) = wrapper(&h);
        let issued = Instant::now();
        let out = h
            .mfacli()
            .args(["env", "prod", "--shell", shell])
            .assert()
            .success();
        let exports = stdout(out.get_output());
        std::fs::write(h.path().join("exports"), &exports).unwrap();
        let hook = h.mfacli().args(["hook", shell]).assert().success();
        std::fs::write(h.path().join("hook"), stdout(hook.get_output())).unwrap();
        let first_exp = exports
            .lines()
            .find(|l| l.contains("AWS_CREDENTIAL_EXPIRATION"))
            .and_then(|l| l.split('\'').nth(1))
            .unwrap()
            .to_owned();
        assert!(hook.get_output().stdout.windows(3).any(|w| w == b"888"));

        let launcher = h.path().join("launch.sh");
        std::fs::write(
            &launcher,
            format!(
                "#!/bin/sh\nexport TZ=UTC TERM=xterm PATH='{}':\"$PATH\"\nexec {}\n",
                wrap_dir.display(),
                shell_line(shell, h.path()),
            ),
        )
        .unwrap();
        let tmux = Tmux {
            socket: h.path().join("tmux.sock"),
        };
        let o = h
            .command("tmux")
            .arg("-S")
            .arg(&tmux.socket)
            .args([
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-s",
                "t",
                "-x",
                "200",
                "-y",
                "50",
            ])
            .arg(format!("sh {}", launcher.display()))
            .output()
            .unwrap();
        assert!(o.status.success(), "{shell}: {}", stderr(&o));

        // Fresh: the first prompt and five more spawn no mfacli.
        tmux.send("echo READY:\"$MFACLI_TARGET\":END");
        assert_eq!(tmux.wait_for("READY"), "prod", "{shell}");
        for _ in 0..5 {
            tmux.send("true");
        }
        tmux.send("echo FRESH:\"$AWS_CREDENTIAL_EXPIRATION\":END");
        assert_eq!(tmux.wait_for("FRESH"), first_exp, "{shell}");
        assert!(calls(&log).is_empty(), "{shell}: {:?}", calls(&log));
        assert!(
            issued.elapsed() < FRESH - Duration::from_secs(2),
            "{shell}: too slow to test the fresh window"
        );

        // Past the margin: the next prompt renews, once; the renewed
        // credentials are fresh again, so later prompts spawn nothing.
        std::thread::sleep((FRESH + Duration::from_secs(2)).saturating_sub(issued.elapsed()));
        tmux.send("true");
        for _ in 0..3 {
            tmux.send("true");
        }
        tmux.send("echo RENEWED:\"$AWS_CREDENTIAL_EXPIRATION\":END");
        let renewed = tmux.wait_for("RENEWED");
        assert!(
            renewed.starts_with("20") && renewed != first_exp,
            "{shell}: not renewed: {renewed}\n{}",
            tmux.screen()
        );
        assert_eq!(
            calls(&log),
            vec![format!("env --shell {shell} prod")],
            "{shell}"
        );
        assert_eq!(h.counts(), (1, 2), "{shell}");
    }
}
