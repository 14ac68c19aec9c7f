//! `mfacli hook bash|zsh|fish`: an rc snippet (in the manner of direnv's
//! hook) that renews `mfacli env` credentials before each prompt once they
//! are inside the refresh margin. The check runs in the shell itself: the
//! expiration is parsed with shell arithmetic and compared with the shell's
//! own clock (bash `printf '%(%s)T'`, zsh `$EPOCHSECONDS`), so no process
//! is spawned while the credentials are fresh. fish has no clock builtin:
//! it runs `date +%s` at a prompt only while a target is active.

use anyhow::Result;

use super::Ctx;
use crate::cli::{HookArgs, HookShell};

/// Days-from-civil (H. Hinnant) in POSIX arithmetic, for bash and zsh:
/// `AWS_CREDENTIAL_EXPIRATION` (always `YYYY-MM-DDTHH:MM:SSZ` from mfacli)
/// to seconds since the epoch, into `_mfacli_exp`.
const POSIX_EPOCH: &str = r#"_mfacli_epoch() {
  local e=$1 y m d era yoe doy
  y=$((10#${e:0:4})); m=$((10#${e:5:2})); d=$((10#${e:8:2}))
  (( y -= m <= 2 ))
  era=$(( y / 400 )); yoe=$(( y - era * 400 ))
  doy=$(( (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1 ))
  _mfacli_exp=$(( (era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468) * 86400 + 10#${e:11:2} * 3600 + 10#${e:14:2} * 60 + 10#${e:17:2} ))
}
"#;

pub(crate) fn run(ctx: &Ctx, args: HookArgs) -> Result<u8> {
    // Only the config's refresh_margin is read (no AWS files, no cache).
    let config = crate::config::Config::load(ctx.global.config.as_deref(), &ctx.env)?;
    let margin = config
        .refresh_margin
        .unwrap_or(crate::plan::DEFAULT_REFRESH_MARGIN)
        .secs();
    crate::io::stdout(&snippet(args.shell, margin))?;
    Ok(0)
}

/// The rc snippet for `shell`, renewing `margin` seconds before expiry.
pub(crate) fn snippet(shell: HookShell, margin: u32) -> String {
    match shell {
        HookShell::Bash => format!(
            r#"# mfacli hook (bash): renews `mfacli env` credentials before a prompt
{POSIX_EPOCH}_mfacli_hook() {{
  local rc=$? now out
  if [[ -n ${{MFACLI_TARGET-}} && -n ${{AWS_CREDENTIAL_EXPIRATION-}} ]]; then
    printf -v now '%(%s)T' -1
    _mfacli_epoch "$AWS_CREDENTIAL_EXPIRATION"
    if (( _mfacli_exp - now <= {margin} )); then
      out=$(command mfacli env --shell bash "$MFACLI_TARGET") && eval "$out"
    fi
  fi
  return $rc
}}
if [[ ";${{PROMPT_COMMAND-}};" != *";_mfacli_hook;"* ]]; then
  PROMPT_COMMAND="_mfacli_hook${{PROMPT_COMMAND:+;$PROMPT_COMMAND}}"
fi
"#
        ),
        HookShell::Zsh => format!(
            r#"# mfacli hook (zsh): renews `mfacli env` credentials before a prompt
zmodload zsh/datetime
{POSIX_EPOCH}_mfacli_hook() {{
  local out
  if [[ -n ${{MFACLI_TARGET-}} && -n ${{AWS_CREDENTIAL_EXPIRATION-}} ]]; then
    _mfacli_epoch "$AWS_CREDENTIAL_EXPIRATION"
    if (( _mfacli_exp - EPOCHSECONDS <= {margin} )); then
      out=$(command mfacli env --shell zsh "$MFACLI_TARGET") && eval "$out"
    fi
  fi
}}
autoload -Uz add-zsh-hook
add-zsh-hook precmd _mfacli_hook
"#
        ),
        HookShell::Fish => format!(
            r#"# mfacli hook (fish): renews `mfacli env` credentials before a prompt
function _mfacli_hook --on-event fish_prompt
    set -q MFACLI_TARGET[1]; or return
    set -q AWS_CREDENTIAL_EXPIRATION[1]; or return
    set -l e $AWS_CREDENTIAL_EXPIRATION
    if test "$e" != "$_mfacli_exp_src"
        # Parsed once per credential, with builtins only.
        set -l p (string split -n -- ' ' (string replace -ra '[-T:Z]' ' ' -- $e))
        set -l m (math $p[2])
        set -l y (math $p[1])
        test $m -le 2; and set y (math $y - 1)
        set -l era (math "floor($y / 400)")
        set -l yoe (math $y - $era \* 400)
        set -l mm (math $m + 9)
        test $m -gt 2; and set mm (math $m - 3)
        set -l doy (math "floor((153 * $mm + 2) / 5) + $p[3] - 1")
        set -l days (math "$era * 146097 + $yoe * 365 + floor($yoe / 4) - floor($yoe / 100) + $doy - 719468")
        set -g _mfacli_exp (math -s0 "$days * 86400 + $p[4] * 3600 + $p[5] * 60 + $p[6]")
        set -g _mfacli_exp_src $e
    end
    if test (math $_mfacli_exp - (date +%s)) -le {margin}
        command mfacli env --shell fish $MFACLI_TARGET | source
    end
end
"#
        ),
    }
}
