//! Accepting and holding connections within bounds: a cap with back-pressure, header-read and idle timeouts, and
//! a back-off when `accept` itself fails.
//!
//! Key decisions:
//! - **A slot before an accept.** The loop takes a connection slot (a semaphore permit) *before* calling `accept`,
//!   so at the cap it waits instead of accepting and dropping. Up to `max_connections` are served; up to
//!   `overflow_connections` more are accepted only to be answered 503 (SDKs retry that with back-off); past both the
//!   loop simply stops accepting and the kernel's backlog holds the rest. Nothing spins.
//! - **A failing accept sleeps.** At the open-file limit the pending connection stays in the backlog, so the
//!   listener is "ready" again at once; retrying immediately is a 100% CPU loop that logs millions of lines. The
//!   loop sleeps with a doubling delay (capped) and logs one line when a burst starts and one when it ends.
//! - **Timeouts are hyper's plus one of ours.** hyper's `header_read_timeout` (needs a timer) cuts slow headers and
//!   also runs while a kept-alive connection waits; the idle watchdog here closes a connection with no request in
//!   flight after `idle_timeout`, gracefully (a request that is running finishes).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::service::service_fn;
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

fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock
    )
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

/// The accept loop's failure memory: the current delay and what to say about the burst.
///
/// A burst is failures with less than [`QUIET`] between them. At the fd limit accepts flap — one succeeds when a
/// descriptor frees, the next fails again — so a burst logs one line when it starts and one when accepts first
/// succeed again, and stays the same burst (silent) while it flaps; a failure after [`QUIET`] without one starts
/// a new burst. The delay doubles while accepts fail and starts over after a success.
struct AcceptBackoff {
    max: Duration,
    delay: Duration,
    failures: u64,
    started: Option<Instant>,
    last_failure: Option<Instant>,
    recovery_logged: bool,
}

const FIRST_DELAY: Duration = Duration::from_millis(5);
/// Failures further apart than this are separate bursts.
const QUIET: Duration = Duration::from_secs(10);

impl AcceptBackoff {
    fn new(max: Duration) -> Self {
        Self { max, delay: FIRST_DELAY, failures: 0, started: None, last_failure: None, recovery_logged: false }
    }

    /// How long to sleep now, and a line to log if this failure starts a burst.
    fn failed(&mut self, e: &std::io::Error, now: Instant) -> (Duration, Option<String>) {
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
    fn succeeded(&mut self, now: Instant) -> Option<String> {
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
        let end = b
            .succeeded(t0 + Duration::from_secs(3))
            .expect("burst ends");
        assert!(end.contains("1000 failures"), "{end}");
        assert_eq!(b.succeeded(t0), None, "no burst, no line");
        assert_eq!(b.failed(&emfile, t0).0, FIRST_DELAY, "delay reset");
    }
}
