//! Bounded retry: exponential backoff with full jitter (the AWS-recommended scheme).
//!
//! Delay before retry *n* (1-based) is uniform in `[0, min(max_delay, base_delay · 2^(n-1))]`. Randomness comes
//! from the injected runtime, so tests pin it.

use std::time::Duration;

use crate::transport::Runtime;

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

/// How [`retrying`] gave up.
#[derive(Debug)]
pub enum GaveUp<E> {
    /// An error retrying cannot help with; returned at once.
    Permanent(E),
    /// Every attempt failed with an error worth retrying; `last` is the final one.
    Exhausted { attempts: u32, last: E },
}

impl<E> GaveUp<E> {
    /// One error type for the caller: the permanent error as it was, or `exhausted(attempts, last)`.
    pub fn into_error(self, exhausted: impl FnOnce(u32, E) -> E) -> E {
        match self {
            GaveUp::Permanent(e) => e,
            GaveUp::Exhausted { attempts, last } => exhausted(attempts, last),
        }
    }
}

/// Runs `attempt` until it succeeds, fails with an error `is_retryable` refuses, or `policy.max_attempts` are
/// spent, sleeping [`RetryPolicy::delay_before_retry`] between tries. The one retry loop of the AWS clients.
pub async fn retrying<T, E, R: Runtime>(
    policy: &RetryPolicy,
    runtime: &R,
    is_retryable: impl Fn(&E) -> bool,
    mut attempt: impl AsyncFnMut() -> Result<T, E>,
) -> Result<T, GaveUp<E>> {
    let attempts = policy.max_attempts.max(1);
    let mut tried = 1;
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(e) if !is_retryable(&e) => return Err(GaveUp::Permanent(e)),
            Err(e) if tried >= attempts => return Err(GaveUp::Exhausted { attempts, last: e }),
            Err(_) => {}
        }
        runtime.sleep(policy.delay_before_retry(tried, runtime.random_u64())).await;
        tried += 1;
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
