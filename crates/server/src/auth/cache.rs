//! A short-lived memory of who a token belongs to and which role a user has in a farm,
//! so that most requests reach the database once (for their own work), not three times.
//!
//! Each entry lives `TTL`; this process forgets entries at once when it signs a session
//! out, resets a password, revokes a token or changes a membership. With several server
//! processes, another process may honour a revoked session or an old role for up to
//! `TTL` — the price of not asking the database on every request.

use super::session::Authenticated;
use domain::{Role, TenantId, UserId};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an entry is trusted without asking the database again.
pub const TTL: Duration = Duration::from_secs(10);
/// Entries kept at most per map; past it, stale ones go, then all.
const CAPACITY: usize = 50_000;

/// A map whose entries expire after `TTL`.
#[derive(Debug)]
struct Expiring<K, V> {
    entries: Mutex<HashMap<K, (V, Instant)>>,
}

impl<K: Hash + Eq, V: Clone> Expiring<K, V> {
    fn new() -> Self {
        Expiring {
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (V, Instant)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, key: &K) -> Option<V> {
        let entries = self.lock();
        entries
            .get(key)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(v, _)| v.clone())
    }

    fn put(&self, key: K, value: V) {
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            entries.retain(|_, (_, at)| at.elapsed() < TTL);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key, (value, Instant::now()));
    }

    fn forget_where(&self, mut doomed: impl FnMut(&K, &V) -> bool) {
        self.lock().retain(|k, (v, _)| !doomed(k, v));
    }
}

/// The caches behind authentication and the farm guard.
#[derive(Debug)]
pub struct AuthCache {
    callers: Expiring<String, Authenticated>,
    roles: Expiring<(TenantId, UserId), Option<Role>>,
}

impl Default for AuthCache {
    fn default() -> Self {
        AuthCache {
            callers: Expiring::new(),
            roles: Expiring::new(),
        }
    }
}

impl AuthCache {
    /// The caller for a token hash, if looked up within `TTL`.
    pub fn caller(&self, token_hash: &str) -> Option<Authenticated> {
        self.callers.get(&token_hash.to_string())
    }

    /// Remembers the caller for a token hash.
    pub fn remember_caller(&self, token_hash: String, caller: Authenticated) {
        self.callers.put(token_hash, caller);
    }

    /// Forgets one token (sign-out).
    pub fn forget_token(&self, token_hash: &str) {
        self.callers.forget_where(|k, _| k == token_hash);
    }

    /// Forgets every token of a user (password reset, account changes).
    pub fn forget_user(&self, user: &UserId) {
        self.callers.forget_where(|_, v| v.user.id == user.as_str());
    }

    /// Forgets a personal API token by id (revocation).
    pub fn forget_api_token(&self, id: &str) {
        self.callers.forget_where(
            |_, v| matches!(&v.credential, super::Credential::ApiToken { id: t } if t == id),
        );
    }

    /// A user's role in a farm (`Some(None)`: known not to be a member).
    pub fn role(&self, tenant: &TenantId, user: &UserId) -> Option<Option<Role>> {
        self.roles.get(&(tenant.clone(), user.clone()))
    }

    /// Remembers a user's role in a farm.
    pub fn remember_role(&self, tenant: TenantId, user: UserId, role: Option<Role>) {
        self.roles.put((tenant, user), role);
    }

    /// Forgets a user's role in a farm (after it changed).
    pub fn forget_role(&self, tenant: &TenantId, user: &UserId) {
        self.roles
            .forget_where(|(t, u), _| t == tenant && u == user);
    }
}
