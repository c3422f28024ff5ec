//! Attempt limits per client address and per account: sign-in, password reset, sign-up,
//! and the machines' secrets (a hub's hello, the hub provisioning key).
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

/// Limits sign-in, password-reset and sign-up attempts.
#[derive(Debug)]
pub struct LoginThrottle {
    by_ip: Mutex<AttemptLimiter<IpAddr>>,
    by_account: Mutex<AttemptLimiter<String>>,
    sign_ups_by_ip: Mutex<AttemptLimiter<IpAddr>>,
    /// Wrong machine secrets per address and secret (`<ip> <what>`): only failures count, so
    /// a farm's hundred hubs behind one address reconnecting after a restart are never held
    /// back, and one hub with a wrong secret holds back only itself.
    wrong_secrets: Mutex<AttemptLimiter<String>>,
}

impl LoginThrottle {
    /// `per_ip` attempts per address, `per_account` failures per account and
    /// `sign_ups_per_ip` new accounts per address, per 15 minutes.
    pub fn new(per_ip: usize, per_account: usize, sign_ups_per_ip: usize) -> Self {
        LoginThrottle {
            by_ip: Mutex::new(AttemptLimiter::new(per_ip, WINDOW)),
            by_account: Mutex::new(AttemptLimiter::new(per_account, WINDOW)),
            sign_ups_by_ip: Mutex::new(AttemptLimiter::new(sign_ups_per_ip, WINDOW)),
            wrong_secrets: Mutex::new(AttemptLimiter::new(per_ip, WINDOW)),
        }
    }

    /// Counts a sign-up from `ip`; 429 when the address has made too many. Each costs an
    /// argon2 hash, so a burst from one address must not take the server's cores.
    pub fn sign_up(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        match ip {
            Some(ip) => count(&self.sign_ups_by_ip, ip),
            None => Ok(()),
        }
    }

    /// Counts an attempt from `ip` that names no account (a reset token, say) against the
    /// address's sign-in allowance.
    pub fn address_attempt(&self, ip: Option<IpAddr>) -> Result<(), ApiError> {
        match ip {
            Some(ip) => count(&self.by_ip, ip),
            None => Ok(()),
        }
    }

    /// Counts an attempt from `ip` for `account`; 429 when either limit is used up.
    pub fn attempt(&self, ip: Option<IpAddr>, account: &str) -> Result<(), ApiError> {
        self.address_attempt(ip)?;
        let now = Instant::now();
        lock(&self.by_account)
            .check(&account.to_string(), now)
            .map_err(|retry_after| ApiError::TooManyRequests { retry_after })
    }

    /// 429 when `ip` gave too many wrong values of the machine secret `what` (a hub's
    /// `hub:<id>`, `provisioning`) in the window; counts nothing.
    pub fn secret_allowed(&self, ip: Option<IpAddr>, what: &str) -> Result<(), ApiError> {
        match ip {
            Some(ip) => lock(&self.wrong_secrets)
                .check(&format!("{ip} {what}"), Instant::now())
                .map_err(|retry_after| ApiError::TooManyRequests { retry_after }),
            None => Ok(()),
        }
    }

    /// Records a wrong value of the machine secret `what` from `ip`.
    pub fn secret_failed(&self, ip: Option<IpAddr>, what: &str) {
        if let Some(ip) = ip {
            let now = Instant::now();
            let mut limiter = lock(&self.wrong_secrets);
            limiter.record(format!("{ip} {what}"), now);
            if limiter.tracked() > PRUNE_ABOVE {
                limiter.prune(now);
            }
        }
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

/// Checks and records one attempt of `key`; 429 when its limit is used up.
fn count(limiter: &Mutex<AttemptLimiter<IpAddr>>, key: IpAddr) -> Result<(), ApiError> {
    let now = Instant::now();
    let mut limiter = lock(limiter);
    limiter
        .check(&key, now)
        .map_err(|retry_after| ApiError::TooManyRequests { retry_after })?;
    limiter.record(key, now);
    if limiter.tracked() > PRUNE_ABOVE {
        limiter.prune(now);
    }
    Ok(())
}

/// Locks a limiter; a poisoned lock still holds valid counts.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
