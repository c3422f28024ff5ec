//! A short-lived cache of whole answers to hot farm reads (the printer list), so that a
//! wall of dashboards and scripts polling `GET /api/v1/printers` costs a map lookup, not a
//! query, a JSON parse and a serialisation each time.
//!
//! An entry is served only while two things hold:
//! - nothing that could change the farm's answer has happened in this process since it was
//!   filled: every successful non-GET API request and every farm event published to
//!   dashboards (hub reports, job moves) moves the farm's generation on
//!   ([`ReadCache::farm_changed`], [`ReadCache::anything_changed`]);
//! - it is younger than [`MAX_AGE`], which bounds how long a change made by another server
//!   process (several nodes on one database) can stay unseen here.
//!
//! So a client always reads its own writes, and the cache never holds more than a few
//! answers per farm ([`PER_FARM`]) or farms ([`FARMS`]).

use axum::body::Bytes;
use domain::TenantId;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The longest an answer is served from the cache.
pub const MAX_AGE: Duration = Duration::from_secs(1);
/// Answers kept per farm (distinct query strings); more clears the farm's entries.
const PER_FARM: usize = 16;
/// Farms kept; more clears the cache.
const FARMS: usize = 4096;

/// One cached answer.
#[derive(Debug)]
struct Entry {
    /// The farm's generation and the global generation when it was filled.
    generation: (u64, u64),
    filled: Instant,
    body: Bytes,
}

#[derive(Debug, Default)]
struct Farm {
    generation: u64,
    answers: HashMap<String, Entry>,
}

/// Cached answers, per farm and query.
#[derive(Debug, Default)]
pub struct ReadCache {
    farms: Mutex<HashMap<TenantId, Farm>>,
    /// Moved on by any change whose farm is not known here (see the module docs).
    global: AtomicU64,
}

impl ReadCache {
    /// The cached body for `query` in `tenant`, if still valid.
    pub fn get(&self, tenant: &TenantId, query: &str) -> Option<Bytes> {
        let global = self.global.load(Ordering::Acquire);
        let farms = self.farms.lock().unwrap_or_else(|e| e.into_inner());
        let farm = farms.get(tenant)?;
        let entry = farm.answers.get(query)?;
        (entry.generation == (farm.generation, global) && entry.filled.elapsed() < MAX_AGE)
            .then(|| entry.body.clone())
    }

    /// The generations to fill an entry with: read them before reading the database, so
    /// that a change landing during the read makes the entry stale at once.
    pub fn generation(&self, tenant: &TenantId) -> (u64, u64) {
        let global = self.global.load(Ordering::Acquire);
        let farms = self.farms.lock().unwrap_or_else(|e| e.into_inner());
        (farms.get(tenant).map_or(0, |f| f.generation), global)
    }

    /// Keeps `body` as the answer to `query` in `tenant`, read at `generation`.
    pub fn put(&self, tenant: &TenantId, query: &str, generation: (u64, u64), body: Bytes) {
        let mut farms = self.farms.lock().unwrap_or_else(|e| e.into_inner());
        if !farms.contains_key(tenant) {
            self.forget_farms_if_full(&mut farms);
        }
        let farm = farms.entry(tenant.clone()).or_default();
        if farm.answers.len() >= PER_FARM && !farm.answers.contains_key(query) {
            farm.answers.clear();
        }
        farm.answers.insert(
            query.to_string(),
            Entry {
                generation,
                filled: Instant::now(),
                body,
            },
        );
    }

    /// Something in `tenant` changed: its cached answers are stale.
    pub fn farm_changed(&self, tenant: &TenantId) {
        let mut farms = self.farms.lock().unwrap_or_else(|e| e.into_inner());
        if !farms.contains_key(tenant) {
            // Rare (a farm with no cached answers): a reader may be filling a first one.
            self.forget_farms_if_full(&mut farms);
        }
        let farm = farms.entry(tenant.clone()).or_default();
        farm.generation += 1;
        farm.answers.clear();
    }

    /// Clears every farm once [`FARMS`] are kept. Generations restart at 0 then, so the
    /// global generation moves on: an entry read before the clear can never match after it.
    fn forget_farms_if_full(&self, farms: &mut HashMap<TenantId, Farm>) {
        if farms.len() >= FARMS {
            farms.clear();
            self.global.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Something changed in a farm not known here: every cached answer is stale.
    pub fn anything_changed(&self) {
        self.global.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn farm(n: u8) -> TenantId {
        TenantId::parse(&format!("00000000-0000-4000-8000-0000000000{n:02}")).unwrap()
    }

    #[test]
    fn an_answer_is_served_until_its_farm_changes() {
        let cache = ReadCache::default();
        let (a, b) = (farm(1), farm(2));
        let at = cache.generation(&a);
        cache.put(&a, "limit=50", at, Bytes::from_static(b"one"));
        cache.put(
            &b,
            "limit=50",
            cache.generation(&b),
            Bytes::from_static(b"two"),
        );
        assert_eq!(cache.get(&a, "limit=50").as_deref(), Some(&b"one"[..]));
        assert_eq!(cache.get(&a, "limit=10"), None);
        cache.farm_changed(&a);
        assert_eq!(cache.get(&a, "limit=50"), None);
        assert_eq!(cache.get(&b, "limit=50").as_deref(), Some(&b"two"[..]));
    }

    #[test]
    fn a_change_during_the_read_makes_the_answer_stale() {
        let cache = ReadCache::default();
        let a = farm(1);
        cache.put(&a, "", cache.generation(&a), Bytes::from_static(b"old"));
        let at = cache.generation(&a);
        cache.farm_changed(&a);
        cache.put(&a, "", at, Bytes::from_static(b"read before the change"));
        assert_eq!(cache.get(&a, ""), None);
    }

    #[test]
    fn a_change_anywhere_makes_every_answer_stale() {
        let cache = ReadCache::default();
        let a = farm(1);
        cache.put(&a, "", cache.generation(&a), Bytes::from_static(b"x"));
        cache.anything_changed();
        assert_eq!(cache.get(&a, ""), None);
    }

    #[test]
    fn a_farm_keeps_a_bounded_number_of_answers() {
        let cache = ReadCache::default();
        let a = farm(1);
        for n in 0..=PER_FARM {
            cache.put(&a, &n.to_string(), cache.generation(&a), Bytes::new());
        }
        let farms = cache.farms.lock().unwrap();
        assert!(farms[&a].answers.len() <= PER_FARM);
    }
}
