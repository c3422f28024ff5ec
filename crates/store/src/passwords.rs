//! Password hashing with argon2id, off the async threads (it is slow on purpose).
//!
//! Each hash or check takes 19 MiB and a core for a moment, so at most one per core runs at
//! once and the rest wait their turn: a burst of 200 sign-ups took the server to 3.2 GB
//! before, and starved every other request of CPU.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use std::sync::OnceLock;
use tokio::sync::Semaphore;

/// One argon2 run per core at a time.
fn hashing() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS
        .get_or_init(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())))
}

/// Runs one argon2 computation on a blocking thread once a core is free for it.
async fn run_argon2<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let _permit = hashing().acquire().await.map_err(|e| e.to_string())?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| e.to_string())
}

/// Hashes a password (argon2id, random salt, PHC string).
pub async fn hash(password: String) -> Result<String, String> {
    run_argon2(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await?
}

/// Checks a password against a stored PHC hash; false on any mismatch or bad hash.
pub async fn verify(password: String, stored: String) -> bool {
    run_argon2(move || {
        Argon2::default()
            .verify_password(password.as_bytes(), stored.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password, verified when an account doesn't exist so that a
/// wrong email takes as long as a wrong password (no user enumeration by timing).
pub async fn dummy_verify(password: String) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let stored = match DUMMY.get() {
        Some(h) => h.clone(),
        None => {
            let h = hash("not-a-real-password-0".to_string())
                .await
                .unwrap_or_default();
            DUMMY.get_or_init(|| h).clone()
        }
    };
    let _ = verify(password, stored).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_verifies_against_its_argon2id_hash_only() {
        let stored = hash("correct horse".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse".into(), stored.clone()).await);
        assert!(!verify("wrong horse".into(), stored).await);
        assert!(!verify("x".into(), "garbage".into()).await);
    }
}
