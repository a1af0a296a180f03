//! Accepting and holding the HTTP trigger's connections within bounds: a cap with back-pressure, header-read and
//! idle timeouts, a back-off when `accept` itself fails, and a bounded drain of request body a guest left unread.
//!
//! Key decisions (the same as the embedded endpoint's, `embedded-aws/src/connections.rs`):
//! - **A slot before an accept.** The loop takes a connection slot (a semaphore permit) *before* calling `accept`,
//!   so at the cap it waits instead of accepting and dropping. Up to `max_connections` are served; up to
//!   `overflow_connections` more are accepted only to be answered 503 and closed; past both the loop stops
//!   accepting and the kernel's backlog holds the rest. Nothing spins.
//! - **A failing accept sleeps.** At the open-file limit the pending connection stays in the backlog, so the
//!   listener is "ready" again at once; retrying immediately is a 100% CPU loop that logs millions of lines. The
//!   loop sleeps with a doubling delay (capped) and logs one line when a burst starts and one, with the count,
//!   when it ends.
//! - **Timeouts are hyper's plus one of ours.** hyper's `header_read_timeout` (it needs a timer, which the trigger
//!   once lacked, leaving it off) cuts slow headers; the idle watchdog here closes a kept-alive connection with no
//!   request in flight after `idle_timeout`, gracefully.
//! - **Unread body is drained, bounded.** A guest may answer (say 413) having read only part of the body. Closing
//!   a socket with unread bytes makes the kernel send a reset, and the client still writing sees EPIPE instead of
//!   the answer. So the body handed to the guest is a [`DrainOnDrop`]: when the guest's side lets go of it, the
//!   rest is read and discarded in the background, up to `drain_bytes` within `drain_time`; hyper holds the
//!   connection open while it is read, then closes (or keeps) it. More or slower than that is not waited for.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The HTTP trigger's connection bounds; [`Default`] is what `tr-intake up` uses unless told otherwise.
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    /// Time for a client to send a request's headers (also while a kept-alive connection waits for the next).
    pub header_read_timeout: Duration,
    /// A kept-alive connection with no request in flight for this long is closed.
    pub idle_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Connections past the cap accepted only to be answered 503 (then the loop stops accepting).
    pub overflow_connections: usize,
    /// The longest sleep between failing accepts.
    pub accept_backoff_max: Duration,
    /// Request body left unread by a guest that is still read (and discarded) so the client sees the answer.
    pub drain_bytes: u64,
    /// How long that drain may take.
    pub drain_time: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 512,
            overflow_connections: 64,
            accept_backoff_max: Duration::from_secs(1),
            drain_bytes: 1024 * 1024,
            drain_time: Duration::from_secs(1),
        }
    }
}

/// How a connection was admitted: served normally, or past the cap and answered 503.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    Served,
    Overloaded,
}

/// The connection slots: `served` for normal service, `overflow` for a quick 503.
pub struct Gate {
    served: Arc<Semaphore>,
    overflow: Arc<Semaphore>,
}

/// A held slot; the connection gives the permit back when it ends.
pub struct Slot {
    pub admission: Admission,
    _permit: OwnedSemaphorePermit,
}

impl Gate {
    pub fn new(limits: &ConnectionLimits) -> Self {
        Self {
            served: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            overflow: Arc::new(Semaphore::new(limits.overflow_connections)),
        }
    }

    /// A served slot if one is free, else an overflow slot, else waits for whichever frees first.
    pub async fn slot(&self) -> Slot {
        if let Ok(p) = self.served.clone().try_acquire_owned() {
            return Slot { admission: Admission::Served, _permit: p };
        }
        tokio::select! {
            biased;
            p = self.served.clone().acquire_owned() => Slot { admission: Admission::Served, _permit: p.expect("gate semaphores are never closed") },
            p = self.overflow.clone().acquire_owned() => Slot { admission: Admission::Overloaded, _permit: p.expect("gate semaphores are never closed") },
        }
    }

    /// An overflow slot taken while waiting in `accept` becomes a served one if capacity came back meanwhile.
    pub fn upgrade(&self, slot: Slot) -> Slot {
        if slot.admission == Admission::Overloaded
            && let Ok(p) = self.served.clone().try_acquire_owned()
        {
            return Slot { admission: Admission::Served, _permit: p };
        }
        slot
    }
}

/// `accept` errors that concern only the connection being accepted (the client gave up): no back-off.
pub fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionAborted | ConnectionReset | Interrupted | WouldBlock)
}

/// Requests in flight on one connection and when the last one ended: what the idle watchdog reads.
pub struct Activity {
    in_flight: AtomicUsize,
    since: Mutex<Instant>,
}

/// Marks one request in flight until dropped (also when hyper drops the request's future).
pub struct Busy(Arc<Activity>);

impl Activity {
    pub fn new() -> Arc<Self> {
        Arc::new(Self { in_flight: AtomicUsize::new(0), since: Mutex::new(Instant::now()) })
    }

    pub fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        Busy(self.clone())
    }

    /// Returns once no request has been in flight for `idle`.
    pub async fn idle_for(&self, idle: Duration) {
        loop {
            let wake = if self.in_flight.load(Ordering::SeqCst) == 0 {
                let since = *self.since.lock().expect("activity lock");
                if since.elapsed() >= idle {
                    return;
                }
                since + idle
            } else {
                Instant::now() + idle // a request is running; look again later
            };
            tokio::time::sleep_until(wake.into()).await;
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        *self.0.since.lock().expect("activity lock") = Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
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

/// The request body as the guest sees it; whatever the guest leaves unread is drained when it is dropped.
pub struct DrainOnDrop {
    body: Option<Incoming>,
    bytes: u64,
    time: Duration,
}

impl DrainOnDrop {
    pub fn new(body: Incoming, limits: &ConnectionLimits) -> Self {
        Self { body: Some(body), bytes: limits.drain_bytes, time: limits.drain_time }
    }
}

impl Body for DrainOnDrop {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut().body.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.body.as_ref().map(Body::size_hint).unwrap_or_else(|| SizeHint::with_exact(0))
    }
}

impl Drop for DrainOnDrop {
    fn drop(&mut self) {
        let Some(mut body) = self.body.take() else { return };
        if body.is_end_stream() || body.size_hint().lower() > self.bytes {
            return; // all read, or more left than is worth reading: hyper closes the connection
        }
        // Dropped inside the instance's task, on the runtime; without one there is nothing to drain with.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let (budget, time) = (self.bytes, self.time);
        runtime.spawn(async move {
            let discard = async {
                let mut seen = 0u64;
                while let Some(Ok(frame)) = body.frame().await {
                    seen += frame.data_ref().map_or(0, |d| d.len() as u64);
                    if seen > budget {
                        return;
                    }
                }
            };
            let _ = tokio::time::timeout(time, discard).await;
        });
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
