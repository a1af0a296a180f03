//! The wasmtime side shared by both triggers: one engine, one linker, and a fresh store per request or message.
//! This is where the capabilities meet (Spin's `RuntimeFactors`): each owns its state ([`KvState`],
//! [`VariablesState`], [`OutboundHooks`]) and links itself given a getter into [`Ctx`]; none of them knows this
//! module.
//!
//! Guests built for `wasm32-wasip2` import WASI 0.3 (spin-sdk 7) *and* WASI 0.2 (from Rust's std), so both are
//! linked. Each component is type-checked and its imports resolved once at start-up (`InstancePre`); a request
//! or message only instantiates. CPU time is bounded by epoch interruption: a ticker advances the epoch every
//! 10 ms; a running guest yields to the executor at each tick and traps once it has run for its limit, so a guest
//! stuck in a loop fails that one call, never holds a worker thread for long, and the host keeps serving.
//!
//! Memory is bounded per instance by a [`StoreLimits`] with `trap_on_grow_failure`: a guest allocating without
//! bound traps at the limit with an error naming it (see [`GuestLimiter`]) instead of taking the machine's
//! memory, and only that call fails. The default, [`DEFAULT_GUEST_MEMORY`], is 512 MiB: the email lane parses
//! mail of up to 40 MB, and parsing costs up to ~12x the input in the worst (HTML) case — ~480 MB — so 512 MiB
//! fits the largest legitimate message while a runaway guest stops far short of the machine's memory.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::kv::{KvAccess, KvState};
use crate::outbound::{AllowedHosts, OutboundHooks};
use crate::variables::VariablesState;

/// Each instance's linear memory limit unless configured otherwise (why this figure: the module note).
pub const DEFAULT_GUEST_MEMORY: usize = 512 * 1024 * 1024;

/// How often the epoch advances.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// What one component may do, fixed at start-up from spin.toml.
pub struct ComponentEnv {
    pub id: String,
    pub kv: Arc<KvAccess>,
    pub variables: Arc<VariablesState>,
    pub allowed_hosts: AllowedHosts,
    /// (host directory, guest path), mounted read-only.
    pub files: Vec<(PathBuf, String)>,
    pub environment: Vec<(String, String)>,
}

/// Per-store state: WASI's and wasi-http's (sharing one resource table, as those crates expect), then each
/// capability's own.
pub struct Ctx {
    pub table: ResourceTable,
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub hooks: OutboundHooks,
    pub kv: KvState,
    pub variables: Arc<VariablesState>,
    pub limits: GuestLimiter,
}

/// wasmtime's [`StoreLimits`], with a refused memory growth turned into an error that says what happened (the
/// bare one reads "forcing trap when growing memory to N bytes").
pub struct GuestLimiter {
    limits: StoreLimits,
    memory: usize,
}

impl GuestLimiter {
    fn new(memory: usize) -> Self {
        Self { limits: StoreLimitsBuilder::new().memory_size(memory).trap_on_grow_failure(true).build(), memory }
    }
}

impl ResourceLimiter for GuestLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.limits.memory_growing(current, desired, maximum).map_err(|_| {
            wasmtime::format_err!(
                "the guest ran out of memory: it asked for {} MiB, over its limit of {} MiB",
                desired.div_ceil(1024 * 1024),
                self.memory / (1024 * 1024)
            )
        })
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }
}

fn kv_state(ctx: &mut Ctx) -> &mut KvState {
    &mut ctx.kv
}

fn variables_state(ctx: &mut Ctx) -> &VariablesState {
    &ctx.variables
}

impl WasiView for Ctx {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for Ctx {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

pub fn engine() -> wasmtime::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model_async(true);
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let ticker = engine.weak();
    std::thread::spawn(move || {
        while let Some(engine) = ticker.upgrade() {
            engine.increment_epoch();
            drop(engine);
            std::thread::sleep(EPOCH_TICK);
        }
    });
    Ok(engine)
}

pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<Ctx>> {
    let mut linker = Linker::<Ctx>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi::p3::add_to_linker(&mut linker)?;
    wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
    crate::kv::key_value_impl::add_to_linker(&mut linker, kv_state)?;
    crate::variables::variables_impl::add_to_linker(&mut linker, variables_state)?;
    Ok(linker)
}

pub fn load(engine: &Engine, path: &std::path::Path) -> wasmtime::Result<Component> {
    Component::from_file(engine, path).map_err(|e| wasmtime::format_err!("cannot load {}: {e}", path.display()))
}

/// A fresh store for one call, trapping after `cpu_limit` of guest execution or when a memory would grow past
/// `memory_limit` bytes.
pub fn new_store(
    engine: &Engine,
    env: &Arc<ComponentEnv>,
    cpu_limit: Duration,
    memory_limit: usize,
) -> wasmtime::Result<Store<Ctx>> {
    let mut wasi = WasiCtxBuilder::new();
    wasi.inherit_stdout().inherit_stderr();
    for (k, v) in &env.environment {
        wasi.env(k, v);
    }
    for (host, guest) in &env.files {
        wasi.preopened_dir(host, guest, FsPerms::ReadOnly)?;
    }
    let ctx = Ctx {
        table: ResourceTable::new(),
        wasi: wasi.build(),
        http: WasiHttpCtx::new(),
        hooks: OutboundHooks::new(env.id.clone(), env.allowed_hosts.clone()),
        kv: KvState::new(env.kv.clone()),
        variables: env.variables.clone(),
        limits: GuestLimiter::new(memory_limit),
    };
    let mut store = Store::new(engine, ctx);
    store.limiter(|ctx| &mut ctx.limits);
    // Every tick the guest runs, it yields to the executor, so a guest in a loop holds a worker thread for one
    // tick at a time, never the whole limit (a few looping guests would otherwise stall every request, lease
    // renewal and, under `up`, the embedded endpoint on the same runtime). The ticks counted are ticks in which
    // guest code ran: time spent waiting on I/O does not count against the limit.
    let budget = (cpu_limit.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
    let mut ran = 0u64;
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        ran += 1;
        if ran >= budget {
            return Err(wasmtime::Error::msg(format!("the guest ran for its whole CPU limit of {} ms", budget * EPOCH_TICK.as_millis() as u64)));
        }
        Ok(wasmtime::UpdateDeadline::Yield(1))
    });
    Ok(store)
}
