//! Time is passed in, so expiry, refresh and TOTP logic can be tested
//! without a real clock or sleeping.

use chrono::{DateTime, Utc};

pub(crate) trait Clock {
    fn now(&self) -> DateTime<Utc>;
    /// Waits for `d`; a test clock advances instead.
    fn sleep(&self, d: std::time::Duration);
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
    fn sleep(&self, d: std::time::Duration) {
        std::thread::sleep(d)
    }
}

/// A manual clock for tests: `sleep` moves it forward.
#[derive(Debug)]
#[cfg(test)]
pub(crate) struct ManualClock(std::sync::Mutex<DateTime<Utc>>);

#[cfg(test)]
impl ManualClock {
    pub(crate) fn new(start: DateTime<Utc>) -> Self {
        Self(std::sync::Mutex::new(start))
    }
    pub(crate) fn advance(&self, d: chrono::Duration) {
        *self.0.lock().unwrap() += d;
    }
}

#[cfg(test)]
impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
    fn sleep(&self, d: std::time::Duration) {
        self.advance(chrono::Duration::from_std(d).unwrap_or_default());
    }
}
