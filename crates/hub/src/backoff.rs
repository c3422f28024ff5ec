//! Exponential backoff with jitter, for the server link and for printers.

use std::time::Duration;

use rand::Rng;

/// The longest wait between two attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(30);

/// Doubling delays from `initial` up to [`MAX_DELAY`], each with up to ±25 % jitter so
/// that many hubs (or printers) cut off together do not come back in lockstep.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    current: Duration,
}

impl Backoff {
    /// Starts at `initial` (at least 10 ms).
    pub fn new(initial: Duration) -> Backoff {
        let initial = initial.clamp(Duration::from_millis(10), MAX_DELAY);
        Backoff {
            initial,
            current: initial,
        }
    }

    /// The next delay to wait; the one after it is twice as long.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.current;
        self.current = (self.current * 2).min(MAX_DELAY);
        let jitter = rand::rng().random_range(0.75..1.25);
        base.mul_f64(jitter).min(MAX_DELAY)
    }

    /// Back to the first delay (after a success).
    pub fn reset(&mut self) {
        self.current = self.initial;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_with_jitter_up_to_the_cap_and_reset() {
        let mut backoff = Backoff::new(Duration::from_secs(1));
        let first = backoff.next_delay();
        assert!(first >= Duration::from_millis(750) && first <= Duration::from_millis(1250));
        let second = backoff.next_delay();
        assert!(second >= Duration::from_millis(1500) && second <= Duration::from_millis(2500));
        for _ in 0..10 {
            assert!(backoff.next_delay() <= MAX_DELAY);
        }
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(1250));
    }
}
