//! Sign-in attempt limits per client address and per account.
//!
//! Held in memory: with several server processes each keeps its own count, which
//! multiplies the allowance by the number of processes but still stops brute force.

use crate::error::ApiError;
use domain::account::AttemptLimiter;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The window both limits count in.
const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Tracked keys above which old entries are pruned.
const PRUNE_ABOVE: usize = 10_000;

/// Limits sign-in attempts.
#[derive(Debug)]
pub struct LoginThrottle {
    by_ip: Mutex<AttemptLimiter<IpAddr>>,
    by_account: Mutex<AttemptLimiter<String>>,
}

impl LoginThrottle {
    /// `per_ip` attempts per address and `per_account` failures per account, per 15 minutes.
    pub fn new(per_ip: usize, per_account: usize) -> Self {
        LoginThrottle {
            by_ip: Mutex::new(AttemptLimiter::new(per_ip, WINDOW)),
            by_account: Mutex::new(AttemptLimiter::new(per_account, WINDOW)),
        }
    }

    /// Counts an attempt from `ip` for `account`; 429 when either limit is used up.
    pub fn attempt(&self, ip: Option<IpAddr>, account: &str) -> Result<(), ApiError> {
        let now = Instant::now();
        if let Some(ip) = ip {
            let mut by_ip = lock(&self.by_ip);
            by_ip
                .check(&ip, now)
                .map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;
            by_ip.record(ip, now);
            if by_ip.tracked() > PRUNE_ABOVE {
                by_ip.prune(now);
            }
        }
        lock(&self.by_account)
            .check(&account.to_string(), now)
            .map_err(|retry_after| ApiError::TooManyRequests { retry_after })
    }

    /// Records a failed sign-in for `account`.
    pub fn failed(&self, account: &str) {
        let now = Instant::now();
        let mut by_account = lock(&self.by_account);
        by_account.record(account.to_string(), now);
        if by_account.tracked() > PRUNE_ABOVE {
            by_account.prune(now);
        }
    }

    /// Forgets an account's failures after it signs in.
    pub fn succeeded(&self, account: &str) {
        lock(&self.by_account).clear(&account.to_string());
    }
}

/// Locks a limiter; a poisoned lock still holds valid counts.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
