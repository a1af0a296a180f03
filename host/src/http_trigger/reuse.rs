//! Instance reuse, as Spin's HTTP trigger does it for WASIp3 components: an instance serves up to
//! [`InstanceReuse::max_requests`] requests, up to [`InstanceReuse::max_concurrent`] of them at once, and is
//! dropped after [`InstanceReuse::idle_timeout`] without one. Spin 4's `trigger-http` hands `wasi:http/handler@0.3`
//! components to wasmtime-wasi-http's `ProxyHandler` with 128 / 16 / 1 s (its `--max-instance-reuse-count`,
//! `--max-instance-concurrent-reuse-count`, `--idle-instance-timeout`), and so does `wasmtime serve`; this host
//! uses the same `ProxyHandler` with the same defaults and flags, so a guest meets here what it meets under Spin
//! — global state that lives from one request to the next included. `--max-instance-reuse-count 1` gives every
//! request a fresh instance.
//!
//! What stays per request: the wall-clock limit (`--http-timeout`; the request fails with a 500 and the instance
//! takes no new one), and the CPU budget (reset when a request starts). What is per instance: the memory limit,
//! and a trap — it ends the instance and fails every request it was serving at that moment.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use wasmtime::component::TaskGroupId;
use wasmtime::{Engine, Store, StoreContextMut};
use wasmtime_wasi_http::handler::{HandlerState, Instance, ProxyPre, ShouldAccept, WorkerExpiration, WorkerState, WorkerStatus};

use crate::runtime::{ComponentEnv, Ctx, new_store};

/// How long instances live; [`Default`] is Spin's (and `wasmtime serve`'s) for WASIp3 components.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstanceReuse {
    /// Requests one instance serves before it is dropped (1: a fresh instance per request).
    pub max_requests: usize,
    /// Requests one instance serves at once.
    pub max_concurrent: usize,
    /// How long an instance with nothing to do is kept for the next request.
    pub idle_timeout: Duration,
}

impl Default for InstanceReuse {
    fn default() -> Self {
        Self { max_requests: 128, max_concurrent: 16, idle_timeout: Duration::from_secs(1) }
    }
}

/// Which instance served a request, for its log line: handed to the worker with the request and filled in when
/// the instance takes it — and, if the instance fails while serving it, why.
#[derive(Default)]
pub struct Served {
    instance: AtomicU64,
    /// 1 for the request that instantiated it.
    nth: AtomicUsize,
    instantiate_us: AtomicU64,
    failure: Mutex<Option<String>>,
    failed: tokio::sync::Notify,
}

impl Served {
    /// `(instance, nth request of it, instantiate time if this request paid for it)`; `None` if no instance took it.
    pub fn read(&self) -> Option<(u64, usize, Option<Duration>)> {
        let nth = self.nth.load(Ordering::Acquire);
        (nth > 0).then(|| {
            let instantiate = (nth == 1).then(|| Duration::from_micros(self.instantiate_us.load(Ordering::Relaxed)));
            (self.instance.load(Ordering::Relaxed), nth, instantiate)
        })
    }

    /// Why the instance serving this request failed (a trap, its CPU or memory limit, expiry). The handler
    /// answers the request before it hands the instance back with the error, so this waits a moment for it.
    pub async fn failure(&self, wait: Duration) -> Option<String> {
        let _ = tokio::time::timeout(wait, self.failed.notified()).await;
        self.failure.lock().ok()?.clone()
    }
}

/// One component's instances: how to make one, and how long each lives.
pub struct ComponentInstances {
    pub engine: Engine,
    pub pre: ProxyPre<Ctx>,
    pub env: Arc<ComponentEnv>,
    pub timeout: Duration,
    pub memory_limit: usize,
    pub reuse: InstanceReuse,
    next_instance: AtomicU64,
}

impl ComponentInstances {
    pub fn new(engine: Engine, pre: ProxyPre<Ctx>, env: Arc<ComponentEnv>, timeout: Duration, memory_limit: usize, reuse: InstanceReuse) -> Self {
        Self { engine, pre, env, timeout, memory_limit, reuse, next_instance: AtomicU64::new(1) }
    }
}

impl HandlerState for ComponentInstances {
    type StoreData = Ctx;
    type WorkerExpiration = Expiration;
    type WorkerState = Worker;

    async fn instantiate(&self) -> wasmtime::Result<Instance<Ctx, Expiration, Worker>> {
        let id = self.next_instance.fetch_add(1, Ordering::Relaxed);
        let mut store = new_store(&self.engine, &self.env, self.timeout, self.memory_limit)?;
        let started = Instant::now();
        let proxy = tokio::time::timeout(self.timeout, self.pre.instantiate_async(&mut store))
            .await
            .map_err(|_| wasmtime::format_err!("instantiation timed out after {:?}", self.timeout))??;
        Ok(Instance {
            store,
            proxy,
            view: wasmtime_wasi_http::WasiHttpView::http,
            expiration: Expiration { idle: self.reuse.idle_timeout, busy: self.timeout + EXPIRY_GRACE, sleep: Box::pin(tokio::time::sleep(Duration::ZERO)) },
            state: Worker {
                component: self.env.id.clone(),
                id,
                instantiate: started.elapsed(),
                served: AtomicUsize::new(0),
                in_flight: Mutex::new(Vec::new()),
                reuse: self.reuse,
                timeout: self.timeout,
            },
        })
    }
}

/// One instance's bookkeeping.
pub struct Worker {
    component: String,
    id: u64,
    instantiate: Duration,
    served: AtomicUsize,
    /// The requests it took, to tell them why if it fails.
    in_flight: Mutex<Vec<Weak<Served>>>,
    reuse: InstanceReuse,
    timeout: Duration,
}

impl WorkerState for Worker {
    type StoreData = Ctx;
    type RequestData = Arc<Served>;

    fn should_accept_request(&self, concurrent: usize, total: usize) -> ShouldAccept {
        if total >= self.reuse.max_requests {
            ShouldAccept::Never
        } else if concurrent >= self.reuse.max_concurrent {
            ShouldAccept::No
        } else {
            ShouldAccept::Yes
        }
    }

    fn on_request_start(
        &self,
        mut store: StoreContextMut<'_, Ctx>,
        served: Arc<Served>,
        _task_group: TaskGroupId,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + Sync>> {
        store.data_mut().cpu_ticks = 0;
        let nth = self.served.fetch_add(1, Ordering::Relaxed) + 1;
        served.instance.store(self.id, Ordering::Relaxed);
        served.instantiate_us.store(self.instantiate.as_micros() as u64, Ordering::Relaxed);
        served.nth.store(nth, Ordering::Release);
        if let Ok(mut in_flight) = self.in_flight.lock() {
            in_flight.retain(|r| r.strong_count() > 0);
            in_flight.push(Arc::downgrade(&served));
        }
        Box::pin(tokio::time::sleep(self.timeout))
    }

    fn drop(&self, store: Store<Ctx>, result: wasmtime::Result<()>) {
        if let Err(e) = result {
            eprintln!("[http] {} instance {} ended after {} requests: {e:#}", self.component, self.id, self.served.load(Ordering::Relaxed));
            let why = format!("{e:#}");
            for served in self.in_flight.lock().map(|v| v.iter().filter_map(Weak::upgrade).collect::<Vec<_>>()).unwrap_or_default() {
                if let Ok(mut failure) = served.failure.lock() {
                    *failure = Some(why.clone());
                }
                served.failed.notify_one();
            }
        }
        drop(store);
    }
}

/// How much longer than a request's own limit an instance may stay busy: the request's limit is polled inside the
/// store's event loop (so it fails that request with "timed out"); this one outside it, as the backstop.
const EXPIRY_GRACE: Duration = Duration::from_secs(1);

/// When an instance is dropped: idle for [`InstanceReuse::idle_timeout`], or still busy a request limit (plus
/// [`EXPIRY_GRACE`]) after its latest request started (a guest that never answers, or keeps working after it
/// did). The handler polls this outside the store's event loop, so it holds even while a guest runs.
pub struct Expiration {
    idle: Duration,
    busy: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl WorkerExpiration for Expiration {
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>, status: WorkerStatus, since: Instant) -> Poll<()> {
        let me = self.get_mut();
        let limit = match status {
            WorkerStatus::Idle => me.idle,
            WorkerStatus::Requests | WorkerStatus::PostReturn => me.busy,
        };
        let Some(deadline) = since.checked_add(limit) else { return Poll::Pending };
        let deadline = tokio::time::Instant::from_std(deadline);
        if me.sleep.deadline() != deadline {
            me.sleep.as_mut().reset(deadline);
        }
        me.sleep.as_mut().poll(cx)
    }
}
