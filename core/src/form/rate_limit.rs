//! A per-client-address rate limit on the key-value store: at most `max` posts per fixed window.
//!
//! Key decisions: one key per address ([`keys::form_rate`]) holding the window's start and count, so the store
//! grows with distinct addresses, not with time, and a check costs one get and one set. Spin's key-value has no
//! increment or compare-and-swap, so two racing posts may both read the same count: the limit can be overrun by
//! the number of concurrent requests from one address, never undercounted by more. Which address, and how IPv6 is
//! grouped (by /64), is [`super::client_address`]'s decision.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::client_address::rate_key;
use crate::store::{Kv, KvError, keys};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub max: u32,
    pub window: Duration,
}

impl Default for RateLimit {
    /// Ten posts in ten minutes: a person sends one, the embed's retries a few more.
    fn default() -> Self {
        Self { max: 10, window: Duration::from_secs(600) }
    }
}

impl RateLimit {
    /// `"<max>/<seconds>"`, e.g. `10/600`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not <max>/<seconds>, e.g. 10/600");
        let (max, seconds) = s.trim().split_once('/').ok_or_else(bad)?;
        let max = max.trim().parse::<u32>().map_err(|_| bad())?;
        let seconds = seconds.trim().parse::<u64>().map_err(|_| bad())?;
        if max == 0 || seconds == 0 {
            return Err(bad());
        }
        Ok(Self { max, window: Duration::from_secs(seconds) })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Window {
    start: u64,
    count: u32,
}

/// What the limiter decided for one post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    Allowed,
    /// Over the limit; the window ends in this many seconds.
    Limited { retry_after: u32 },
}

pub struct RateLimiter<'a, K> {
    pub kv: &'a K,
    pub limit: RateLimit,
}

impl<K: Kv> RateLimiter<'_, K> {
    /// Counts one post from `client` (see [`super::client_address::client_address`]) at `now`.
    pub async fn hit(&self, client: IpAddr, now: SystemTime) -> Result<RateDecision, KvError> {
        let key = keys::form_rate(&rate_key(client));
        let now = now.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let window = self.limit.window.as_secs();
        let current = match self.kv.get(&key).await? {
            Some(bytes) => serde_json::from_slice::<Window>(&bytes).ok().filter(|w| now < w.start.saturating_add(window)),
            None => None,
        };
        let next = match current {
            Some(w) if w.count >= self.limit.max => {
                let retry_after = (w.start + window).saturating_sub(now).max(1);
                return Ok(RateDecision::Limited { retry_after: u32::try_from(retry_after).unwrap_or(u32::MAX) });
            }
            Some(w) => Window { start: w.start, count: w.count + 1 },
            None => Window { start: now, count: 1 },
        };
        self.kv.set(&key, &serde_json::to_vec(&next).expect("plain data serialises")).await?;
        Ok(RateDecision::Allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryKv;

    #[test]
    fn the_limit_holds_per_address_and_resets_with_the_window() {
        let kv = MemoryKv::default();
        let limiter = RateLimiter { kv: &kv, limit: RateLimit { max: 2, window: Duration::from_secs(60) } };
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let at = |s| t0 + Duration::from_secs(s);
        let hit = |addr: &'static str, s| pollster::block_on(limiter.hit(addr.parse().unwrap(), at(s))).unwrap();
        assert_eq!(hit("203.0.113.9", 0), RateDecision::Allowed);
        assert_eq!(hit("203.0.113.9", 10), RateDecision::Allowed);
        assert_eq!(hit("203.0.113.9", 20), RateDecision::Limited { retry_after: 40 });
        assert_eq!(hit("198.51.100.7", 20), RateDecision::Allowed, "another address has its own window");
        assert_eq!(hit("2001:db8::1", 20), RateDecision::Allowed);
        assert_eq!(hit("2001:db8::2", 21), RateDecision::Allowed);
        assert_eq!(hit("2001:db8::3", 22), RateDecision::Limited { retry_after: 58 }, "one /64 shares a window");
        assert_eq!(hit("203.0.113.9", 60), RateDecision::Allowed, "a new window");
    }

    #[test]
    fn limits_parse_from_the_variable() {
        assert_eq!(RateLimit::parse("5/60").unwrap(), RateLimit { max: 5, window: Duration::from_secs(60) });
        for bad in ["5", "0/60", "5/0", "five/60", ""] {
            assert!(RateLimit::parse(bad).is_err(), "{bad}");
        }
    }
}
