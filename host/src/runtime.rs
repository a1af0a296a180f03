//! The wasmtime side shared by both triggers: one engine, one linker, and a store per instance (per SQS message;
//! per HTTP instance, which may serve many requests: `http_trigger::reuse`).
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
//!
//! Instances come from wasmtime's **pooling allocator**, configured as Spin configures it (`spin-core`): memory,
//! tables and fiber stacks are reserved once at start-up and reused, and each slot keeps its first 2 MiB of
//! linear memory and 512 KiB of table resident between instances (reset in place, not handed back to the
//! kernel), so a request no longer maps and unmaps its memory: that `mmap`/`munmap` and the TLB shoot-downs it
//! caused were 60% of the host's time at 16 connections. (wasmtime's `PAGEMAP_SCAN` reset, which skips pages
//! never written, measured 7% slower on hello world here: a page written once stays "written" after its reset,
//! so the scan finds the same pages every time and adds its own cost.) Memory images are copy-on-write
//! (wasmtime's default).
//! The pool is sized from the machine: [`engine`] asks for [`POOL_INSTANCES`] slots of 4 GiB address space each,
//! halves the count while the reservation fails (a short address space, `ulimit -v`), and falls back to
//! allocating on demand below [`POOL_MIN_INSTANCES`]. `TR_HOST_INSTANCE_POOL` sets the count (`0` turns pooling
//! off), as `SPIN_MAX_INSTANCE_COUNT` / `SPIN_WASMTIME_POOLING` do for Spin. A request that finds every slot
//! taken is answered 503 (the sender retries), never 500.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder,
};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::kv::{KvAccess, KvState};
use crate::outbound::{AllowedHosts, OutboundHooks, PooledClient};
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
    /// The application's outbound connections (one pool for every component).
    pub outbound: Arc<PooledClient>,
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
    /// Epoch ticks in which guest code ran since the call began (an HTTP request resets it as it starts).
    pub cpu_ticks: u64,
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

/// Linear memory kept resident per slot, in KiB (Spin's figure).
pub const KEEP_RESIDENT_KIB: usize = 2048;
/// Instance slots the pool asks for first (Spin's `SPIN_MAX_INSTANCE_COUNT` default).
pub const POOL_INSTANCES: u32 = 1_000;
/// Below this many slots the pool is not worth its reservation: instances are allocated on demand.
pub const POOL_MIN_INSTANCES: u32 = 32;
/// Address space reserved for each linear memory, and the largest memory a guest may have (wasm32's 4 GiB).
const MEMORY_RESERVATION: u64 = 4 << 30;

/// How the engine allocates instances, for the start-up line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Allocation {
    Pooling { instances: u32 },
    OnDemand { why: String },
}

impl std::fmt::Display for Allocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Allocation::Pooling { instances } => {
                write!(f, "pooling, {instances} instance slots ({} KiB of memory kept resident each)", keep_resident_kib())
            }
            Allocation::OnDemand { why } => write!(f, "on demand ({why})"),
        }
    }
}

fn base_config() -> Config {
    let mut config = Config::new();
    config.wasm_component_model_async(true);
    config.epoch_interruption(true);
    // `TR_HOST_PERFMAP=1` names the guests' compiled functions for `perf` (/tmp/perf-PID.map), as
    // `wasmtime --profile perfmap` does: without it a profile shows guest time as one anonymous block.
    if std::env::var("TR_HOST_PERFMAP").is_ok_and(|v| v.trim() == "1") {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    config
}

/// Spin's pool settings (`spin-core`), with `instances` slots.
fn pooling(instances: u32) -> PoolingAllocationConfig {
    const MIB: usize = 1 << 20;
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(instances)
        .max_component_instance_size(10 * MIB)
        .max_core_instances_per_component(200)
        // A Rust wasip2 component is a few core instances (the program, WASI's adapter shims).
        .total_core_instances(instances.saturating_mul(4))
        .max_tables_per_component(20)
        .table_elements(100_000)
        .max_memories_per_component(32)
        .total_memories(instances)
        .total_tables(instances.saturating_mul(2))
        .total_stacks(instances)
        .max_memory_size(MEMORY_RESERVATION as usize)
        .linear_memory_keep_resident(keep_resident_kib() * 1024)
        .table_keep_resident(MIB / 2);
    pool
}

/// How much of each linear memory stays resident between instances, reset with `memset` rather than given back
/// to the kernel: `TR_HOST_KEEP_RESIDENT_KIB`, default [`KEEP_RESIDENT_KIB`].
fn keep_resident_kib() -> usize {
    std::env::var("TR_HOST_KEEP_RESIDENT_KIB").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(KEEP_RESIDENT_KIB)
}

/// The slot count asked for: `TR_HOST_INSTANCE_POOL` if set, else [`POOL_INSTANCES`].
fn pool_request() -> Result<u32, String> {
    match std::env::var("TR_HOST_INSTANCE_POOL") {
        Ok(v) => v.trim().parse().map_err(|_| format!("TR_HOST_INSTANCE_POOL={v:?} is not a number of instance slots")),
        Err(_) => Ok(POOL_INSTANCES),
    }
}

/// The engine both triggers share, with its epoch ticker running; see the module note for the allocator.
pub fn engine() -> wasmtime::Result<Engine> {
    let (engine, allocation) = pooled_engine(pool_request().map_err(|e| wasmtime::format_err!(e))?)?;
    println!("[host] instances: {allocation}");
    start_epoch_ticker(&engine);
    Ok(engine)
}

/// A pooling engine with as many slots as the machine's address space allows, halving from `instances`; an
/// on-demand engine when even [`POOL_MIN_INSTANCES`] do not fit or `instances` is 0.
pub fn pooled_engine(instances: u32) -> wasmtime::Result<(Engine, Allocation)> {
    let mut count = instances;
    let mut last_error = String::from("turned off (TR_HOST_INSTANCE_POOL=0)");
    while count >= POOL_MIN_INSTANCES {
        let mut config = base_config();
        config.memory_reservation(MEMORY_RESERVATION);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling(count)));
        match Engine::new(&config) {
            Ok(engine) => return Ok((engine, Allocation::Pooling { instances: count })),
            Err(e) => last_error = format!("a pool of {count} slots could not be reserved: {e}"),
        }
        count /= 2;
    }
    if instances > 0 && instances < POOL_MIN_INSTANCES {
        last_error = format!("{instances} slots asked for, fewer than {POOL_MIN_INSTANCES}");
    }
    Ok((Engine::new(&base_config())?, Allocation::OnDemand { why: last_error }))
}

fn start_epoch_ticker(engine: &Engine) {
    let ticker = engine.weak();
    std::thread::spawn(move || {
        while let Some(engine) = ticker.upgrade() {
            engine.increment_epoch();
            drop(engine);
            std::thread::sleep(EPOCH_TICK);
        }
    });
}

/// Whether a failed instantiation means every pool slot was taken (a capacity problem: 503, retry later).
pub fn is_pool_exhausted(e: &wasmtime::Error) -> bool {
    e.is::<wasmtime::PoolConcurrencyLimitError>()
}

pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<Ctx>> {
    let mut linker = Linker::<Ctx>::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi::p3::add_to_linker(&mut linker)?;
    wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
    crate::kv::key_value_impl::add_to_linker(&mut linker, kv_state)?;
    crate::kv::wasi_keyvalue::add_to_linker(&mut linker, kv_state)?;
    crate::variables::variables_impl::add_to_linker(&mut linker, variables_state)?;
    Ok(linker)
}

pub fn load(engine: &Engine, path: &std::path::Path) -> wasmtime::Result<Component> {
    Component::from_file(engine, path).map_err(|e| wasmtime::format_err!("cannot load {}: {e}", path.display()))
}

/// A fresh store for one instance, trapping after `cpu_limit` of guest execution in one call (an HTTP request, an
/// SQS message) or when a memory would grow past `memory_limit` bytes.
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
        hooks: OutboundHooks::new(env.id.clone(), env.allowed_hosts.clone(), env.outbound.clone()),
        kv: KvState::new(env.kv.clone()),
        variables: env.variables.clone(),
        limits: GuestLimiter::new(memory_limit),
        cpu_ticks: 0,
    };
    let mut store = Store::new(engine, ctx);
    store.limiter(|ctx| &mut ctx.limits);
    // Every tick the guest runs, it yields to the executor, so a guest in a loop holds a worker thread for one
    // tick at a time, never the whole limit (a few looping guests would otherwise stall every request, lease
    // renewal and, under `up`, the embedded endpoint on the same runtime). The ticks counted are ticks in which
    // guest code ran: time spent waiting on I/O does not count against the limit.
    let budget = (cpu_limit.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |mut store| {
        let ran = &mut store.data_mut().cpu_ticks;
        *ran += 1;
        if *ran >= budget {
            return Err(wasmtime::Error::msg(format!("the guest ran for its whole CPU limit of {} ms", budget * EPOCH_TICK.as_millis() as u64)));
        }
        Ok(wasmtime::UpdateDeadline::Yield(1))
    });
    Ok(store)
}
