//! Accepting and holding the HTTP trigger's connections within bounds: a cap with back-pressure, header-read and
//! idle timeouts, a back-off when `accept` itself fails, and a bounded drain of request body a guest left unread.
//!
//! Key decisions (the same as the embedded endpoint's, `embedded-aws/src/connections.rs`):
//! - **A slot before an accept.** The loop takes a connection slot (a semaphore permit) *before* calling `accept`,
//!   so at the cap it waits instead of accepting and dropping. Up to `max_connections` are served; up to
//!   `overflow_connections` more are accepted only to be answered 503 and closed; past both the loop stops
//!   accepting and the kernel's backlog holds the rest. Nothing spins.
//! - **A failing accept sleeps** ([`tr_accept_backoff`], shared with the embedded endpoint): a doubling, capped
//!   delay, one line when a burst starts and one when accepts succeed again.
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
