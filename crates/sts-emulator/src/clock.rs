//! The emulator's clock: real UTC time plus an adjustable offset, so tests
//! can expire credentials or skew the clock without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Default)]
pub(crate) struct Clock {
    offset_secs: AtomicI64,
}

impl Clock {
    pub(crate) fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::seconds(self.offset_secs.load(Ordering::SeqCst))
    }

    pub(crate) fn offset_secs(&self) -> i64 {
        self.offset_secs.load(Ordering::SeqCst)
    }

    pub(crate) fn set_offset_secs(&self, secs: i64) {
        self.offset_secs.store(secs, Ordering::SeqCst);
    }

    pub(crate) fn advance(&self, d: std::time::Duration) {
        let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        self.offset_secs.fetch_add(secs, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_now() {
        let c = Clock::default();
        let before = c.now();
        c.advance(std::time::Duration::from_secs(3600));
        assert_eq!(c.offset_secs(), 3600);
        assert!(c.now() - before >= Duration::seconds(3600));
        c.set_offset_secs(-60);
        assert!(c.now() < Utc::now());
    }
}
