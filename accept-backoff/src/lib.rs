//! How a server retries a failing `accept` (shared by the host's HTTP trigger and the embedded SQS/S3 endpoint).
//!
//! Key decision: **a failing accept sleeps, and says so once per burst.** At the open-file limit the pending
//! connection stays in the backlog, so the listener is "ready" again at once; retrying immediately is a 100% CPU
//! loop that logs millions of lines. The caller sleeps for the delay [`AcceptBackoff::failed`] gives (doubling,
//! capped) and logs only the lines it returns. Errors that concern one connection only
//! ([`is_per_connection`]) are not failures of the listener and need no back-off.

use std::time::{Duration, Instant};

/// `accept` errors that concern only the connection being accepted (the client gave up): no back-off.
pub fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionAborted | ConnectionReset | Interrupted | WouldBlock)
}

/// The accept loop's failure memory: the current delay and what to say about the burst.
///
/// A burst is failures with less than [`QUIET`] between them. At the fd limit accepts flap — one succeeds when a
/// descriptor frees, the next fails again — so a burst logs one line when it starts and one when accepts first
/// succeed again, and stays the same burst (silent) while it flaps; a failure after [`QUIET`] without one starts
/// a new burst. The delay doubles while accepts fail and starts over after a success.
pub struct AcceptBackoff {
    max: Duration,
    delay: Duration,
    failures: u64,
    started: Option<Instant>,
    last_failure: Option<Instant>,
    recovery_logged: bool,
}

const FIRST_DELAY: Duration = Duration::from_millis(5);
/// Failures further apart than this are separate bursts.
pub const QUIET: Duration = Duration::from_secs(10);

impl AcceptBackoff {
    pub fn new(max: Duration) -> Self {
        Self { max, delay: FIRST_DELAY, failures: 0, started: None, last_failure: None, recovery_logged: false }
    }

    /// How long to sleep now, and a line to log if this failure starts a burst.
    pub fn failed(&mut self, e: &std::io::Error, now: Instant) -> (Duration, Option<String>) {
        let new_burst = self.last_failure.is_none_or(|last| now.saturating_duration_since(last) > QUIET);
        let line = new_burst.then(|| {
            self.started = Some(now);
            self.failures = 0;
            self.recovery_logged = false;
            format!("accept failing: {e}; retrying with back-off up to {:?} (one line per burst)", self.max)
        });
        self.failures += 1;
        self.last_failure = Some(now);
        let delay = self.delay.min(self.max);
        self.delay = (self.delay * 2).min(self.max);
        (delay, line)
    }

    /// A line to log if this success is the burst's first.
    pub fn succeeded(&mut self, now: Instant) -> Option<String> {
        self.delay = FIRST_DELAY;
        let started = self.started?;
        if self.recovery_logged {
            return None;
        }
        self.recovery_logged = true;
        Some(format!("accept recovered after {} failures over {:.1?}", self.failures, now.saturating_duration_since(started)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_failures_is_two_lines_and_the_delay_is_capped() {
        let mut b = AcceptBackoff::new(Duration::from_secs(1));
        let emfile = std::io::Error::from_raw_os_error(24);
        let t0 = Instant::now();
        let mut lines = 0;
        let mut delays = Vec::new();
        for _ in 0..1000 {
            let (d, line) = b.failed(&emfile, t0);
            lines += line.is_some() as usize;
            delays.push(d);
        }
        assert_eq!(lines, 1);
        assert_eq!(delays[0], FIRST_DELAY);
        assert_eq!(delays[1], FIRST_DELAY * 2);
        assert_eq!(*delays.last().unwrap(), Duration::from_secs(1));
        let end = b.succeeded(t0 + Duration::from_secs(3)).expect("burst ends");
        assert!(end.contains("1000 failures"), "{end}");
        assert_eq!(b.succeeded(t0), None, "no burst, no line");
        assert_eq!(b.failed(&emfile, t0).0, FIRST_DELAY, "delay reset");
    }

    #[test]
    fn flapping_accepts_stay_one_burst_until_a_quiet_spell() {
        let mut b = AcceptBackoff::new(Duration::from_secs(1));
        let emfile = std::io::Error::from_raw_os_error(24);
        let t0 = Instant::now();
        let mut lines = Vec::new();
        for i in 0..500u64 {
            let at = t0 + Duration::from_millis(6 * i);
            lines.extend(b.failed(&emfile, at).1);
            lines.extend(b.succeeded(at + Duration::from_millis(3)));
        }
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert!(lines[1].contains("after 1 failures"), "{}", lines[1]);
        let later = t0 + Duration::from_secs(3) + QUIET * 2;
        assert!(b.failed(&emfile, later).1.is_some(), "a failure after a quiet spell is a new burst");
        assert!(b.succeeded(later).is_some());
    }
}
