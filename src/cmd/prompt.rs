//! `mfacli prompt`: `prod 42m` for PS1, from the environment alone (no
//! config, no cache, no runtime), so it costs about a cache hit.

use anyhow::Result;

use super::Ctx;

pub(crate) fn run(ctx: &Ctx) -> Result<u8> {
    let now = chrono::Utc::now();
    if let Some(s) = segment(&ctx.env, now) {
        crate::io::stdout(&format!("{s}\n"))?;
    }
    Ok(0)
}

/// The segment: target and time left (`expired` once past), or nothing
/// when no target is active.
pub(crate) fn segment(env: &crate::env::Env, now: chrono::DateTime<chrono::Utc>) -> Option<String> {
    let target = env.lossy("MFACLI_TARGET")?;
    let left = env
        .lossy("AWS_CREDENTIAL_EXPIRATION")
        .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
        .map(|e| (e.with_timezone(&chrono::Utc) - now).num_seconds());
    Some(match left {
        None => target.to_owned(),
        Some(s) if s <= 0 => format!("{target} expired"),
        Some(s) if s < 60 => format!("{target} {s}s"),
        Some(s) if s < 3600 => format!("{target} {}m", s / 60),
        Some(s) => format!("{target} {}h{:02}m", s / 3600, s % 3600 / 60),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn segments() {
        let now = chrono::Utc.with_ymd_and_hms(2026, 11, 28, 8, 0, 0).unwrap();
        let env = |pairs: &[(&str, &str)]| crate::env::Env::from_pairs(pairs.iter().copied());
        assert_eq!(segment(&env(&[]), now), None);
        let exp = [
            ("MFACLI_TARGET", "prod"),
            ("AWS_CREDENTIAL_EXPIRATION", "2026-11-28T08:42:30Z"),
        ];
        assert_eq!(segment(&env(&exp), now).as_deref(), Some("prod 42m"));
        let exp = [
            ("MFACLI_TARGET", "prod"),
            ("AWS_CREDENTIAL_EXPIRATION", "2026-11-28T07:00:00Z"),
        ];
        assert_eq!(segment(&env(&exp), now).as_deref(), Some("prod expired"));
        let exp = [
            ("MFACLI_TARGET", "prod"),
            ("AWS_CREDENTIAL_EXPIRATION", "2026-11-28T10:05:00Z"),
        ];
        assert_eq!(segment(&env(&exp), now).as_deref(), Some("prod 2h05m"));
        assert_eq!(
            segment(&env(&[("MFACLI_TARGET", "prod")]), now).as_deref(),
            Some("prod")
        );
    }
}
