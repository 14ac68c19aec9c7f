//! `mfacli completions SHELL`: rendered into a buffer first, so a closed
//! pipe is one failed write, never a panic inside clap_complete.

use anyhow::Result;
use clap::CommandFactory;
use clap_complete::{generate, shells};

use crate::cli::{Cli, CompletionShell};

pub(crate) fn run(shell: CompletionShell) -> Result<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    match shell {
        CompletionShell::Bash => generate(shells::Bash, &mut cmd, "mfacli", &mut out),
        CompletionShell::Zsh => generate(shells::Zsh, &mut cmd, "mfacli", &mut out),
        CompletionShell::Fish => generate(shells::Fish, &mut cmd, "mfacli", &mut out),
        CompletionShell::Powershell => generate(shells::PowerShell, &mut cmd, "mfacli", &mut out),
        CompletionShell::Elvish => generate(shells::Elvish, &mut cmd, "mfacli", &mut out),
    }
    let text = String::from_utf8_lossy(&out);
    let text = match shell {
        CompletionShell::Bash => bash_targets(&text),
        CompletionShell::Zsh => zsh_targets(&text),
        CompletionShell::Fish => fish_targets(&text),
        _ => text.into_owned(),
    };
    crate::io::stdout(&text)?;
    Ok(0)
}

/// `mfacli __complete-targets`: the target names, one a line; nothing (and
/// success) when the config cannot be read, so completion stays quiet.
pub(crate) fn targets(ctx: &super::Ctx) -> Result<u8> {
    let Ok(sources) = crate::plan::Sources::load(ctx.overrides(), ctx.env.clone()) else {
        return Ok(0);
    };
    let names: String = sources
        .target_names()
        .into_iter()
        .map(|(n, _)| format!("{n}\n"))
        .collect();
    crate::io::stdout(&names)?;
    Ok(0)
}

/// Subcommands whose first positional argument is a target.
const TARGET_COMMANDS: &[&str] = &[
    "assume",
    "env",
    "exec",
    "credential-process",
    "whoami",
    "clear",
    "doctor",
];

/// Flags that take a value (so the next word is not a target).
const VALUE_FLAGS: &str = "--config|--profile|--endpoint-url|--region|--token-code|--totp-secret-env|--timeout|--lock-timeout|--shell|--write-profile";

fn bash_targets(generated: &str) -> String {
    let commands = TARGET_COMMANDS.join("|");
    let wrapper = format!(
        r#"
# Target names, from `mfacli __complete-targets` (the config and ~/.aws/config).
_mfacli_with_targets() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" prev="${{COMP_WORDS[COMP_CWORD-1]}}"
    local i sub="" positional=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${{COMP_WORDS[i]}}" in
            {VALUE_FLAGS}) ((i++)) ;;
            -*) ;;
            *) if [[ -z "$sub" ]]; then sub="${{COMP_WORDS[i]}}"; else ((positional++)); fi ;;
        esac
    done
    case "$sub" in
        {commands})
            if [[ "$cur" != -* && $positional -eq 0 ]] && [[ ! "$prev" =~ ^({VALUE_FLAGS})$ ]]; then
                COMPREPLY=( $(compgen -W "$(mfacli __complete-targets 2>/dev/null)" -- "$cur") )
                return 0
            fi ;;
    esac
    _mfacli "$@"
}}
"#
    );
    let mut out = String::with_capacity(generated.len() + wrapper.len());
    for line in generated.lines() {
        if line.trim_start().starts_with("complete -F _mfacli ") {
            out.push_str(&line.replacen(
                "complete -F _mfacli ",
                "complete -F _mfacli_with_targets ",
                1,
            ));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    match out.find("\nif [[ \"${BASH_VERSINFO") {
        Some(i) => format!("{}{wrapper}{}", &out[..i + 1], &out[i + 1..]),
        None => format!("{out}{wrapper}"),
    }
}

fn zsh_targets(generated: &str) -> String {
    let mut out = String::with_capacity(generated.len() + 256);
    for line in generated.lines() {
        let is_target = line.starts_with("':target -- ")
            || line.starts_with("'::target -- ")
            || line.starts_with("'*::targets -- ");
        if is_target {
            out.push_str(&line.replacen(":_default'", ":_mfacli_targets'", 1));
        } else {
            out.push_str(line);
        }
        out.push('\n');
        if line.starts_with("#compdef mfacli") {
            out.push_str(
                "\n# Target names, from `mfacli __complete-targets`.\n(( $+functions[_mfacli_targets] )) ||\n_mfacli_targets() {\n    local -a targets\n    targets=(${(f)\"$(mfacli __complete-targets 2>/dev/null)\"})\n    _describe -t targets 'target' targets\n}\n",
            );
        }
    }
    out
}

fn fish_targets(generated: &str) -> String {
    let mut out = generated.to_owned();
    out.push_str("\n# Target names, from `mfacli __complete-targets`.\n");
    for c in TARGET_COMMANDS {
        out.push_str(&format!(
            "complete -c mfacli -n \"__fish_mfacli_using_subcommand {c}\" -f -a \"(mfacli __complete-targets 2>/dev/null)\"\n"
        ));
    }
    out
}
