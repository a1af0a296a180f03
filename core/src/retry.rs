//! Bounded retry: exponential backoff with full jitter (the AWS-recommended scheme).
//!
//! Delay before retry *n* (1-based) is uniform in `[0, min(max_delay, base_delay · 2^(n-1))]`. Randomness comes
//! from the injected runtime, so tests pin it.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, including the first. 1 means no retry.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Four attempts within about 1.5 s at most: short enough for an HTTP lane to still answer its caller.
    fn default() -> Self {
        Self { max_attempts: 4, base_delay: Duration::from_millis(100), max_delay: Duration::from_secs(1) }
    }
}

impl RetryPolicy {
    pub fn delay_before_retry(&self, retry: u32, random: u64) -> Duration {
        let exp = self.base_delay.saturating_mul(1u32 << retry.saturating_sub(1).min(20));
        let ceiling = exp.min(self.max_delay).as_nanos() as u64;
        if ceiling == 0 {
            return Duration::ZERO;
        }
        Duration::from_nanos(random % (ceiling + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_then_caps() {
        let p = RetryPolicy::default();
        let ms = |n| Duration::from_millis(n);
        // The largest random value that maps to the ceiling shows the ceiling itself.
        assert_eq!(p.delay_before_retry(1, 100_000_000), ms(100));
        assert_eq!(p.delay_before_retry(2, 200_000_000), ms(200));
        assert_eq!(p.delay_before_retry(3, 400_000_000), ms(400));
        assert_eq!(p.delay_before_retry(30, 1_000_000_000), ms(1_000));
        assert_eq!(p.delay_before_retry(2, 0), Duration::ZERO);
        for r in [1u64, 12_345, 999_999_999, u64::MAX] {
            assert!(p.delay_before_retry(1, r) <= ms(100));
            assert!(p.delay_before_retry(9, r) <= ms(1_000));
        }
    }
}
