//! Account rules: session lifetime and sliding refresh, login attempt limits.

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::hash::Hash;
use std::time::Instant;

/// A full name split as the original's client greets people: the first word, and the
/// rest (`None` when the name is one word).
pub fn split_name(full: &str) -> (String, Option<String>) {
    let full = full.trim();
    match full.split_once(char::is_whitespace) {
        Some((first, rest)) => (first.to_string(), Some(rest.trim().to_string())),
        None => (full.to_string(), None),
    }
}

/// How long sessions live and when they are extended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A new or refreshed session expires this long after now.
    pub lifetime: Duration,
    /// A session used this long after its last refresh is extended again.
    pub refresh_after: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        // Better Auth's defaults, which the original used: 7 days, refreshed daily.
        SessionPolicy {
            lifetime: Duration::days(7),
            refresh_after: Duration::days(1),
        }
    }
}

impl SessionPolicy {
    /// When a session created or refreshed at `now` expires.
    pub fn expiry(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + self.lifetime
    }

    /// Whether a live session expiring at `expires_at` should be extended at `now`.
    pub fn needs_refresh(&self, now: DateTime<Utc>, expires_at: DateTime<Utc>) -> bool {
        expires_at - now < self.lifetime - self.refresh_after
    }
}

/// Counts attempts per key (an IP or an account) in a sliding window.
///
/// `check` refuses when the key already has `limit` attempts in the window and tells how
/// long until the oldest one leaves it.
#[derive(Debug)]
pub struct AttemptLimiter<K> {
    limit: usize,
    window: std::time::Duration,
    attempts: HashMap<K, Vec<Instant>>,
}

impl<K: Hash + Eq + Clone> AttemptLimiter<K> {
    /// A limiter allowing `limit` attempts per `window`.
    pub fn new(limit: usize, window: std::time::Duration) -> Self {
        AttemptLimiter {
            limit,
            window,
            attempts: HashMap::new(),
        }
    }

    /// `Err(retry_after)` when `key` has used up its attempts at `now`.
    pub fn check(&mut self, key: &K, now: Instant) -> Result<(), std::time::Duration> {
        let Some(times) = self.attempts.get_mut(key) else {
            return Ok(());
        };
        times.retain(|t| now.saturating_duration_since(*t) < self.window);
        if times.len() >= self.limit {
            let oldest = times[0];
            let wait = self
                .window
                .saturating_sub(now.saturating_duration_since(oldest));
            return Err(wait.max(std::time::Duration::from_secs(1)));
        }
        Ok(())
    }

    /// Records one attempt for `key` at `now`.
    pub fn record(&mut self, key: K, now: Instant) {
        self.attempts.entry(key).or_default().push(now);
    }

    /// Forgets `key`'s attempts (after a successful sign-in).
    pub fn clear(&mut self, key: &K) {
        self.attempts.remove(key);
    }

    /// Drops keys with no attempt in the window, so memory stays bounded by recent activity.
    pub fn prune(&mut self, now: Instant) {
        let window = self.window;
        self.attempts.retain(|_, times| {
            times.retain(|t| now.saturating_duration_since(*t) < window);
            !times.is_empty()
        });
    }

    /// How many keys are being tracked.
    pub fn tracked(&self) -> usize {
        self.attempts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::time::Duration as Std;

    #[test]
    fn a_session_is_refreshed_once_a_day_of_its_week_has_passed() {
        let policy = SessionPolicy::default();
        let now = Utc.with_ymd_and_hms(2026, 1, 10, 12, 0, 0).unwrap();
        assert!(!policy.needs_refresh(now, policy.expiry(now)));
        assert!(!policy.needs_refresh(now + Duration::hours(23), policy.expiry(now)));
        assert!(policy.needs_refresh(now + Duration::hours(25), policy.expiry(now)));
    }

    #[test]
    fn a_name_splits_into_first_and_last() {
        assert_eq!(
            split_name(" Ada  King Lovelace "),
            ("Ada".into(), Some("King Lovelace".into()))
        );
        assert_eq!(split_name("Ada"), ("Ada".into(), None));
    }

    #[test]
    fn attempts_over_the_limit_are_refused_until_the_window_passes() {
        let mut limiter = AttemptLimiter::new(3, Std::from_secs(60));
        let start = Instant::now();
        for i in 0..3 {
            assert!(limiter.check(&"ip", start + Std::from_secs(i)).is_ok());
            limiter.record("ip", start + Std::from_secs(i));
        }
        let wait = limiter
            .check(&"ip", start + Std::from_secs(10))
            .unwrap_err();
        assert_eq!(wait, Std::from_secs(50));
        assert!(limiter.check(&"other", start + Std::from_secs(10)).is_ok());
        assert!(limiter.check(&"ip", start + Std::from_secs(61)).is_ok());
    }

    #[test]
    fn clearing_and_pruning_forget_old_attempts() {
        let mut limiter = AttemptLimiter::new(1, Std::from_secs(60));
        let start = Instant::now();
        limiter.record("a", start);
        limiter.record("b", start);
        limiter.clear(&"a");
        assert!(limiter.check(&"a", start).is_ok());
        limiter.prune(start + Std::from_secs(61));
        assert_eq!(limiter.tracked(), 0);
    }
}
