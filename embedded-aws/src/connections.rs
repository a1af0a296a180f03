//! Accepting and holding connections within bounds: a cap with back-pressure, header-read and idle timeouts, and
//! a back-off when `accept` itself fails.
//!
//! Key decisions:
//! - **A slot before an accept.** The loop takes a connection slot (a semaphore permit) *before* calling `accept`,
//!   so at the cap it waits instead of accepting and dropping. Up to `max_connections` are served; up to
//!   `overflow_connections` more are accepted only to be answered 503 (SDKs retry that with back-off); past both the
//!   loop simply stops accepting and the kernel's backlog holds the rest. Nothing spins.
//! - **A failing accept sleeps** ([`tr_accept_backoff`], shared with the host's HTTP trigger): a doubling, capped
//!   delay, one line when a burst starts and one when accepts succeed again.
//! - **Timeouts are hyper's plus one of ours.** hyper's `header_read_timeout` (needs a timer) cuts slow headers and
//!   also runs while a kept-alive connection waits; the idle watchdog here closes a connection with no request in
//!   flight after `idle_timeout`, gracefully (a request that is running finishes).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::service::service_fn;
use tr_accept_backoff::{AcceptBackoff, is_per_connection};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::app::App;
use crate::server::{self, Admission};

/// The connection slots: `served` for normal service, `overflow` for a quick 503.
pub struct Gate {
    served: Arc<Semaphore>,
    overflow: Arc<Semaphore>,
    max: usize,
}

/// A held slot; the connection gives the permit back when it ends.
struct Slot {
    admission: Admission,
    _permit: OwnedSemaphorePermit,
}

impl Slot {
    fn served(permit: OwnedSemaphorePermit) -> Slot {
        Slot {
            admission: Admission::Served,
            _permit: permit,
        }
    }

    fn overflow(permit: OwnedSemaphorePermit) -> Slot {
        Slot {
            admission: Admission::Overloaded,
            _permit: permit,
        }
    }
}

impl Gate {
    pub fn new(max_connections: usize, overflow_connections: usize) -> Self {
        let max = max_connections.max(1);
        Self {
            served: Arc::new(Semaphore::new(max)),
            overflow: Arc::new(Semaphore::new(overflow_connections)),
            max,
        }
    }

    /// Connections being served now (not counting overflow ones being refused).
    pub fn open(&self) -> usize {
        self.max - self.served.available_permits()
    }

    /// A served slot if one is free, else an overflow slot, else waits for whichever frees first.
    async fn slot(&self) -> Slot {
        if let Ok(p) = self.served.clone().try_acquire_owned() {
            return Slot::served(p);
        }
        tokio::select! {
            biased;
            p = self.served.clone().acquire_owned() => Slot::served(p.expect("gate semaphores are never closed")),
            p = self.overflow.clone().acquire_owned() => Slot::overflow(p.expect("gate semaphores are never closed")),
        }
    }

    /// An overflow slot taken while waiting in `accept` becomes a served one if capacity came back meanwhile.
    fn upgrade(&self, slot: Slot) -> Slot {
        if slot.admission == Admission::Overloaded
            && let Ok(served) = self.served.clone().try_acquire_owned()
        {
            return Slot::served(served);
        }
        slot
    }
}

pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    gate: Arc<Gate>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = AcceptBackoff::new(app.config.limits.accept_backoff_max);
    loop {
        let slot = tokio::select! {
            slot = gate.slot() => slot,
            _ = shutdown.changed() => return,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => return,
        };
        match accepted {
            Ok((stream, _)) => {
                if let Some(line) = backoff.succeeded(Instant::now()) {
                    eprintln!("[embedded-aws] {line}");
                }
                let slot = gate.upgrade(slot);
                tokio::spawn(connection(stream, app.clone(), slot, shutdown.clone()));
            }
            // The client gave up between SYN and accept: that connection is gone, the next one is fine.
            Err(e) if is_per_connection(&e) => {}
            Err(e) => {
                let (delay, line) = backoff.failed(&e, Instant::now());
                if let Some(line) = line {
                    eprintln!("[embedded-aws] {line}");
                }
                drop(slot);
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.changed() => return,
                }
            }
        }
    }
}


async fn connection(
    stream: TcpStream,
    app: Arc<App>,
    slot: Slot,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let admission = slot.admission;
    let limits = app.config.limits.clone();
    let activity = Arc::new(Activity::new());
    let service = service_fn({
        let activity = activity.clone();
        move |req| {
            let busy = activity.begin();
            let app = app.clone();
            async move {
                let _busy = busy;
                server::handle(app, req, admission).await
            }
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // An overflow connection gets its one 503 and is closed, freeing the slot.
        .keep_alive(admission == Admission::Served)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => break,
            _ = shutdown.changed(), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = activity.idle_for(limits.idle_timeout), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
    drop(slot);
}

/// Requests in flight on one connection and when the last one ended: what the idle watchdog reads.
struct Activity {
    in_flight: AtomicUsize,
    since: Mutex<Instant>,
}

/// Marks one request in flight until dropped (also when hyper drops the request's future).
struct Busy(Arc<Activity>);

impl Activity {
    fn new() -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            since: Mutex::new(Instant::now()),
        }
    }

    fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        Busy(self.clone())
    }

    /// Returns once no request has been in flight for `idle`.
    async fn idle_for(&self, idle: Duration) {
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
