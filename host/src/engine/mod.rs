//! The guest engine inside Wasmtime: built once per process, instantiated per
//! object.
//!
//! # Layout
//! - [`bindings`]: `bindgen!` output for `wit/engine.wit`.
//! - [`cache`]: the compiled engine, cached on disk.
//! - [`imports`]: the host side of the engine's imports (kv, stubs, log, io).
//! - [`outbound`]: outbound `fetch()` (hyper client, deny list, timeouts).
//! - [`Runtime`]: the Wasmtime `Engine` (pooling allocator, copy-on-write
//!   memory images, epoch interruption), the compiled component and the
//!   `InstancePre` every instance comes from.
//! - [`Instance`]: one instance of the engine: a `Store` with its own linear
//!   memory, and the object state (database, identity) its imports act on.

pub mod bindings;
pub mod cache;
pub mod headers;
mod imports;
pub mod outbound;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Config, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

pub use bindings::{Entry, HttpRequest, HttpResponse, JsError, ObjectId, Worker, WorkerCode};

use crate::storage::Storage;

/// The engine component built from `guest-js/` (see `scripts/build-engine`).
pub static ENGINE_COMPONENT: &[u8] = include_bytes!("../../engine/facets-engine.wasm");

/// How often the epoch advances; a running guest yields to other tasks on the
/// same thread at every tick.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Whether runtimes made from now on count the Wasm instructions their
/// guests execute (Wasmtime fuel, one unit per operator): a measure of the
/// guest's work that does not depend on the machine's speed, for benches
/// (see `guest_instructions`). Costs some speed; off unless a bench sets it.
static COUNT_INSTRUCTIONS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
/// Instructions executed by every guest since the process started (counted
/// at the end of each call into a guest) while counting is on.
static GUEST_INSTRUCTIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Turns instruction counting on for runtimes created after this call.
pub fn count_guest_instructions() {
    COUNT_INSTRUCTIONS.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// The Wasm instructions guests have executed so far (0 unless counting is on).
pub fn guest_instructions() -> u64 {
    GUEST_INSTRUCTIONS.load(std::sync::atomic::Ordering::Relaxed)
}

fn counting_instructions() -> bool {
    COUNT_INSTRUCTIONS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Process-wide settings of the runtime.
#[derive(Clone, Debug)]
pub struct RuntimeOptions {
    /// Where the compiled engine is cached.
    pub cache_dir: PathBuf,
    /// The engine component to run; `None` means the one built into this binary.
    /// `FACETS_ENGINE` in the environment overrides it (CI tests a rebuilt engine).
    pub engine_path: Option<PathBuf>,
    /// Instances that can be alive at once (pool slots). Default 1,000.
    pub max_instances: u32,
    /// Linear memory of one instance, at most: the hard cap (pool slot size). Default 128 MiB.
    pub max_memory_bytes: usize,
    /// Linear memory of one instance by default (at most `max_memory_bytes`). Default 128 MiB.
    pub memory_bytes: usize,
    /// CPU time per event that loaded code may ask for with `WorkerCode.limits`, at most (ms). Default 300,000.
    pub cpu_ms_cap: u32,
    /// Subrequests per event that loaded code may ask for, at most. Default 10,000.
    pub subrequests_cap: u32,
    /// Bytes of `console` output one event may write; beyond it lines are dropped (one notice). Default 1 MiB.
    pub console_bytes: usize,
    /// CPU time one event may use, at most (ms). Default 30,000, Cloudflare's default.
    pub max_cpu_ms: u32,
    /// Subrequests (stub and loaded-worker calls, `fetch()`) one event may make. Default 1,000.
    pub max_subrequests: u32,
    /// Wall time one event may spend waiting on timers and I/O (ms), at most;
    /// beyond it the event fails with `exceeded wall time limit (N ms)` and
    /// its instance is discarded, so that a handler awaiting forever cannot
    /// hold its object forever. The `ctx.waitUntil` work after a response
    /// gets the same again. Default 60,000.
    pub max_event_wall_ms: u32,
    /// Outbound `fetch()`: timeouts and the response-size cap.
    pub outbound: outbound::OutboundOptions,
    /// The largest body a streamed response may send (bytes). Default 1 GiB;
    /// `facets serve` sets it to `limits.response_body_bytes`.
    pub max_streamed_response_bytes: u64,
    /// Free instance slots kept warm ahead of need (see [`Runtime`]): 0, none
    /// (the default here; `facets serve` keeps 8).
    pub warm_slots: usize,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            cache_dir: cache::default_cache_dir(),
            engine_path: None,
            max_instances: 1_000,
            max_memory_bytes: 128 << 20,
            memory_bytes: 128 << 20,
            max_cpu_ms: 30_000,
            cpu_ms_cap: 300_000,
            max_subrequests: 1_000,
            subrequests_cap: 10_000,
            console_bytes: 1 << 20,
            max_event_wall_ms: 60_000,
            outbound: outbound::OutboundOptions::default(),
            max_streamed_response_bytes: 1 << 30,
            warm_slots: 0,
        }
    }
}

/// A boxed future, for the object-safe [`Services`].
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// What the host offers an instance beyond its own database: Durable Object
/// namespaces and stubs, and loaded code (implemented by the object registry).
pub trait Services: Send + Sync + 'static {
    fn id_from_name(&self, binding: &str, name: &str) -> Result<ObjectId, JsError>;
    fn new_unique_id(&self, binding: &str) -> Result<ObjectId, JsError>;
    fn id_from_string(&self, binding: &str, hex: &str) -> Result<ObjectId, JsError>;
    /// Sends a request to an object. `chain` lists the objects the calling
    /// event is already running in (a call back into one of them would wait on
    /// itself forever).
    fn fetch(
        &self,
        chain: Arc<Vec<String>>,
        binding: String,
        id: ObjectId,
        request: HttpRequest,
    ) -> BoxFuture<Result<HttpResponse, JsError>>;
    /// Calls an RPC method of an object.
    fn call(
        &self,
        chain: Arc<Vec<String>>,
        binding: String,
        id: ObjectId,
        method: String,
        args: Vec<u8>,
    ) -> BoxFuture<Result<Vec<u8>, JsError>>;
    /// Whether loaded code `id` is cached.
    fn loader_has(&self, id: &str) -> bool;
    /// Compiles and caches `code` under `id` (or a fresh key); returns the key.
    fn loader_load(&self, id: Option<String>, code: WorkerCode) -> BoxFuture<Result<String, JsError>>;
    /// Loaded code by key.
    fn loaded(&self, key: &str) -> Option<Arc<Worker>>;
    /// The runtime, to start instances of loaded code (facets, entrypoints).
    fn runtime(&self) -> Arc<Runtime>;
    /// Storage settings for facets' databases.
    fn storage_options(&self) -> crate::storage::StorageOptions;
    /// Whether a new facet of loaded code `key` is expected to store, so
    /// that its database is opened ahead (see [`crate::storage::Storage::ahead`]):
    /// unless its last facet's first event did not.
    fn facet_code_stores(&self, _key: &str) -> bool {
        false
    }
    /// Whether a facet of loaded code `key` stored (opened its database) or
    /// ran its first event without storing.
    fn note_facet_code_stores(&self, _key: &str, _stored: bool) {}
    /// Frees instance slots by evicting idle objects (least recently used
    /// first); whether anything was evicted.
    fn evict_idle(&self) -> bool {
        false
    }
    /// The host's limits that are not per event (facets per object, loaded code size...).
    fn host_limits(&self) -> crate::settings::HostLimits {
        crate::settings::HostLimits::default()
    }
    /// Adds to the metered usage of an object or facet.
    fn record_usage(&self, _key: crate::usage::Key, _used: crate::usage::Counters, _storage_bytes: Option<u64>) {}
    /// The metered usage of `key` as JSON, if it has any.
    fn usage_json(&self, _key: &crate::usage::Key) -> Option<String> {
        None
    }
}

/// Every instance slot is in use (`RuntimeOptions::max_instances`).
#[derive(Debug, thiserror::Error)]
#[error("all {0} instance slots are in use; raise --max-instances or lower --idle-timeout")]
pub struct PoolExhausted(pub usize);

/// Holds one of the runtime's instance slots while an instance lives.
struct SlotGuard(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// A limit an event hit. The instance is discarded (the error is a trap).
#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    #[error("exceeded CPU time limit ({0} ms)")]
    Cpu(u32),
    #[error("exceeded wall time limit ({0} ms): the event was still waiting for timers or I/O")]
    WallTime(u32),
    #[error("exceeded the response size limit ({0} bytes)")]
    ResponseSize(u64),
    /// A growth of linear memory was denied (QuickJS then throws "out of
    /// memory", which the code may even catch: the event fails regardless).
    #[error("exceeded memory limit ({0} MiB)")]
    Memory(usize),
    /// The Wasm stack overflowed (unbounded recursion).
    #[error("exceeded the stack limit: Maximum call stack size exceeded")]
    Stack,
}

impl LimitError {
    /// The `kind` label of the limit-hit metric.
    pub fn kind(&self) -> &'static str {
        match self {
            LimitError::Cpu(_) => "cpu",
            LimitError::Memory(_) => "memory",
            LimitError::Stack => "stack",
            LimitError::WallTime(_) => "wall_time",
            LimitError::ResponseSize(_) => "response_size",
        }
    }
}

/// Describes a trap for the caller: a limit's own message, or the trap.
pub fn describe_trap(trap: &wasmtime::Error) -> String {
    match trap.downcast_ref::<LimitError>() {
        Some(limit) => limit.to_string(),
        None => format!("the instance failed: {trap}"),
    }
}

/// The limits of each event of one instance (the lower of the host's and
/// those asked for with the code).
#[derive(Clone, Copy, Debug)]
pub struct EventLimits {
    pub cpu_ms: u32,
    pub subrequests: u32,
    /// Linear memory of the instance (bytes).
    pub memory_bytes: usize,
    /// `console` output per event (bytes).
    pub console_bytes: usize,
}

/// A facet running in its parent's instance.
pub struct FacetSlot {
    pub instance: Box<Instance>,
    pub generation: u32,
}

/// Facets nest at most this deep (a facet's facet's facet...).
pub const MAX_FACET_DEPTH: u32 = 4;

/// Which object or worker an instance runs: tags every log line.
#[derive(Clone, Debug, Default)]
pub struct Label {
    /// The Durable Object class (namespace), or empty for the stateless entry worker.
    pub namespace: String,
    /// The object's name (or id when it has no name).
    pub object: String,
    /// The facet path inside the object (`""` for the object itself, `a/b` for facet b of facet a).
    pub facet: String,
    /// Which code runs: `main` for the project's own, else the Worker Loader id.
    pub code: String,
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "worker")
        } else if self.facet.is_empty() {
            write!(f, "{}:{}", self.namespace, self.object)
        } else {
            write!(f, "{}:{}/{}", self.namespace, self.object, self.facet)
        }
    }
}

/// When an instance ends (evicted, discarded, shut down), the size of its
/// database that metering still owes is recorded (see
/// [`crate::storage::Database::metered_size`]).
impl Drop for HostState {
    fn drop(&mut self) {
        if let Some(size) = self.storage.opened().and_then(|db| db.owed_size()) {
            let key = crate::usage::Key { namespace: self.label.namespace.clone(), object: self.label.object.clone(), facet: self.label.facet.clone() };
            self.services.record_usage(key, crate::usage::Counters::default(), Some(size));
        }
    }
}

/// The data of one instance's `Store`.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    /// The object's database (opened on first use); none for the entry worker.
    pub storage: Storage,
    pub services: Arc<dyn Services>,
    pub label: Label,
    /// The objects the current event runs in (see [`Services::fetch`]).
    pub chain: Arc<Vec<String>>,
    /// Worker Loader bindings granted to this instance's worker (host ids).
    pub loaders: Vec<String>,
    /// Durable Object namespaces granted to it (host ids).
    pub namespaces: Vec<String>,
    /// Where this object's facets keep their databases; `None` outside objects.
    pub facet_dir: Option<PathBuf>,
    /// Running facets by name.
    pub facets: std::collections::HashMap<String, FacetSlot>,
    /// Facets stopped by `abort`: name → (generation, reason).
    pub aborted: std::collections::HashMap<String, (u32, String)>,
    pub next_generation: u32,
    /// 0 for objects and workers, 1 for their facets, ...
    pub depth: u32,
    pub limits: EventLimits,
    /// The most `WorkerCode.limits` may ask for: (cpu ms, subrequests).
    pub caps: (u32, u32),
    /// Epoch ticks the current event has run for (≈ its CPU time).
    pub cpu_ticks: u32,
    /// Subrequests the current event has made.
    pub subrequests: u32,
    /// When the current event's wall-time budget ends.
    pub deadline: std::time::Instant,
    /// The host just waited (timers, I/O, another object) for at least a
    /// tick: the epoch tick that comes due when the guest resumes passed
    /// while it was not running, so it is not CPU time.
    pub waited: bool,
    /// `ctx.waitUntil` left work for after the response (`dispatch.drain`).
    pub drain_pending: bool,
    /// Outbound fetches this instance started, by handle.
    pub io: Option<imports::IoState>,
    pub outbound: Arc<outbound::Outbound>,
    pub max_event_wall_ms: u32,
    pub max_streamed_response_bytes: u64,
    /// A memory growth was denied during the current event.
    pub memory_hit: bool,
    /// Bytes of `console` output of the current event.
    pub console_used: usize,
    /// Whether the current event's console output was cut at the limit.
    pub console_cut: bool,
    /// What this instance has used, for metering (see [`crate::usage`]).
    pub usage: crate::usage::Counters,
    /// What a facet discarded by a trap had used (taken by the event that ran it).
    pub lost_facet_usage: Option<crate::usage::Counters>,
}

impl wasmtime::ResourceLimiter for HostState {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.limits.memory_bytes {
            self.memory_hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, _desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

impl HostState {
    /// Counts one subrequest of the current event.
    pub fn subrequest(&mut self) -> Result<(), JsError> {
        self.subrequests += 1;
        if self.subrequests > self.limits.subrequests {
            crate::metrics::metrics().limit_hit(crate::metrics::Limit::Subrequests);
            tracing::warn!(object = %self.label, "exceeded the subrequest limit ({} per request)", self.limits.subrequests);
            return Err(JsError::new(
                "Error",
                format!("exceeded the subrequest limit ({} per request)", self.limits.subrequests),
            ));
        }
        Ok(())
    }

    /// Notes that the host waited since `started` on the guest's behalf (not CPU time).
    pub fn waited_since(&mut self, started: std::time::Instant) {
        if started.elapsed() >= EPOCH_TICK {
            self.waited = true;
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Instances the boot engine may hold at once, while the full pool is built (see [`Runtime`]).
pub const BOOT_SLOTS: usize = 64;

/// One Wasmtime `Engine` with its instance allocator, the engine component
/// compiled for it and its `InstancePre`: the pooling allocator (a fixed
/// number of instance slots), or for the boot engine the on-demand one.
struct Pool {
    engine: wasmtime::Engine,
    pre: bindings::EnginePre<HostState>,
    slots: usize,
}

/// The configuration every engine starts from; [`Pool::pooled`] adds the
/// pooling allocator. (The allocator is not part of the compiled
/// component's cache key: see `the_boot_engine_and_a_pool_load_one_cache_entry`.)
fn engine_config() -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.wasm_component_model(true);
    config.consume_fuel(counting_instructions());
    config
}

/// [`engine_config`] with a pool of `n` instance slots.
fn pooled_config(n: u32, max_memory_bytes: usize) -> Config {
    let mut config = engine_config();
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(n)
        .total_core_instances(n.saturating_mul(8))
        .total_memories(n.saturating_mul(2))
        .total_tables(n.saturating_mul(4))
        // A live Store keeps its fiber stack: one per live instance.
        .total_stacks(n)
        .max_memory_size(max_memory_bytes)
        // Resetting a slot with memset beats madvise (no TLB shootdowns).
        .linear_memory_keep_resident(2 << 20)
        .table_keep_resident(64 << 10)
        // ...and with PAGEMAP_SCAN (Linux 6.7+) only the pages the instance
        // dirtied are restored; without it every reset rewrites the whole
        // 2 MiB, faulting in (and keeping resident) pages it never used.
        .pagemap_scan(wasmtime::Enabled::Auto);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

impl Pool {
    /// A pool of `slots` instance slots, whose free slots may be warmed (see
    /// [`WarmSlots`]).
    fn pooled(
        slots: u32,
        max_memory_bytes: usize,
        source: &cache::Source<'_>,
        cache_dir: &std::path::Path,
        prefetched: Option<cache::Prefetched>,
    ) -> Result<Pool> {
        let n = slots.max(1);
        let engine = engine_with_one_shard(&pooled_config(n, max_memory_bytes))
            .map_err(anyhow::Error::from)
            .with_context(|| format!("creating the wasmtime engine with {n} instance slots"))?;
        Pool::with_engine(engine, n, source, cache_dir, prefetched)
    }

    /// The pool of `engine` (made with [`engine_config`]), whatever its
    /// allocator: for the boot engine, the on-demand one, whose instances
    /// the caller caps at `n`. Setting up pooled slots costs about 4.5 µs
    /// each (the `mprotect`s of their guard pages), 0.3-0.6 ms of start-up
    /// for 64 slots, while an on-demand instance costs a few `mmap`s more
    /// than a never-used slot; both give an instance the same address space
    /// (its memory's reservation and guard region).
    fn with_engine(
        engine: wasmtime::Engine,
        n: u32,
        source: &cache::Source<'_>,
        cache_dir: &std::path::Path,
        prefetched: Option<cache::Prefetched>,
    ) -> Result<Pool> {
        // The linker and the pre-instantiation are made while the cached
        // component's checksum finishes (see `cache::load_prepared`).
        let (pre, hit) = cache::load_prepared(&engine, source, cache_dir, prefetched, |component| {
            let mut linker: Linker<HostState> = Linker::new(&engine);
            wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
            bindings::Engine::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)?;
            Ok(bindings::EnginePre::new(linker.instantiate_pre(component)?)?)
        })?;
        tracing::debug!(cache_hit = hit, slots = n, "engine component ready");
        Ok(Pool { engine, pre, slots: n as usize })
    }
}

/// `wasmtime::Engine::new`, with the pooling allocator's structures in one shard.
///
/// Wasmtime shards each allocator of 128 slots or more by CPU (as
/// `std::thread::available_parallelism` counts them when the engine is
/// made): here the linear memories' from 64 instance slots up (two memory
/// slots per instance slot, see `total_memories`). A thread takes slots from
/// its own shard while that has any never used, so a slot warmed on one
/// thread (see [`WarmSlots`]) would go unused by the threads of the other
/// shard, which start cold slots instead (the test
/// `an_object_in_a_warm_slot_faults_in_fewer_pages`, 100 instance slots: 51
/// page faults cold, 48 "warm", against 50 and 11 with one shard). So the
/// engine is made while this thread may run on one CPU only (its affinity is
/// restored after). A shard's lock is held for a few instructions per
/// instantiation.
fn engine_with_one_shard(config: &Config) -> wasmtime::Result<wasmtime::Engine> {
    #[cfg(target_os = "linux")]
    #[expect(unsafe_code, reason = "sched_getaffinity/sched_setaffinity on this thread, with a cpu_set_t of our own")]
    // SAFETY: both calls read or write the `cpu_set_t` passed with its size,
    // and change the affinity of the calling thread (pid 0) only.
    unsafe {
        let size = std::mem::size_of::<libc::cpu_set_t>();
        let mut saved: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, size, &mut saved) == 0 {
            let cpu = libc::sched_getcpu();
            let mut one: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(usize::try_from(cpu).unwrap_or(0), &mut one);
            if libc::sched_setaffinity(0, size, &one) == 0 {
                let engine = wasmtime::Engine::new(config);
                libc::sched_setaffinity(0, size, &saved);
                return engine;
            }
        }
    }
    wasmtime::Engine::new(config)
}

/// Free instance slots kept warm: a new instance in a slot never used before
/// faults in every page it touches (its fiber stack; the engine image's pages
/// it reads, 16 at a time, and those it writes, each copied, most after a
/// read, which costs a TLB shootdown on the other CPUs). Measured with `facets
/// serve` on 2 CPUs, 300 new objects (two instances each) one after another:
/// 136 page faults and 1.7 ms of CPU per new object in fresh slots, 52 and
/// 1.2 ms in slots warmed before, and a p50 latency of 1.60 ms against 1.25.
///
/// So a thread of its own, at idle CPU priority (`SCHED_IDLE`), keeps at
/// least half of `target` free slots warm: when fewer are left, it takes
/// `target` slots at once (the warm ones there are and never-used ones),
/// runs a small Durable Object in each never-used one (load, construct, one
/// `fetch` with a URL, a body and a Response), then ends them. A slot keeps
/// the pages the warm-up wrote (`linear_memory_keep_resident`: restored from
/// the image, not returned), and those it read stay mapped. Real instances
/// take warm slots first (Wasmtime's slot affinity).
///
/// It warms only after [`QUIET`] without a new instance: warming beside a
/// burst of new objects on 2 CPUs took their CPU (and TLB shootdowns) and
/// left their latency no better, p90 worse. A burst gets the slots warmed
/// before it. Warm-ups never take a slot a real instance could need (they
/// leave `target` of `max_instances` free), are not instance starts in the
/// metrics and bill no one. Each warm free slot keeps about 130 KiB resident
/// (PSS with one live object in `benches/compare`: 1.0 MiB more with 8).
struct WarmSlots {
    target: usize,
    /// When the last real instance was made (ms since `epoch`).
    last_start_ms: std::sync::atomic::AtomicU64,
    epoch: std::time::Instant,
    /// Set when the thread should look again (a slot was taken, or the runtime went).
    wanted: std::sync::Mutex<bool>,
    wake: std::sync::Condvar,
}

/// How long without a new instance before slots are warmed.
const QUIET: Duration = Duration::from_millis(20);

impl WarmSlots {
    fn new(target: usize) -> WarmSlots {
        WarmSlots {
            target,
            last_start_ms: std::sync::atomic::AtomicU64::new(0),
            epoch: std::time::Instant::now(),
            wanted: std::sync::Mutex::new(false),
            wake: std::sync::Condvar::new(),
        }
    }

    fn started(&self) {
        let ms = self.epoch.elapsed().as_millis() as u64;
        self.last_start_ms.store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// How long until [`QUIET`] has passed since the last new instance (zero: it has).
    fn quiet_in(&self) -> Duration {
        let since = self.epoch.elapsed().saturating_sub(Duration::from_millis(self.last_start_ms.load(std::sync::atomic::Ordering::Relaxed)));
        QUIET.saturating_sub(since)
    }

    fn poke(&self) {
        let mut wanted = self.wanted.lock().unwrap_or_else(|e| e.into_inner());
        if !*wanted {
            *wanted = true;
            self.wake.notify_one();
        }
    }

    /// Starts the thread that warms slots of `runtime`'s full pool, once
    /// `full_ready` says it is built. It holds the runtime only while it works.
    fn spawn(self: &Arc<Self>, runtime: std::sync::Weak<Runtime>, mut full_ready: tokio::sync::watch::Receiver<Option<Result<(), String>>>) {
        let warm = self.clone();
        let spawned = std::thread::Builder::new().name("facets-warm".into()).spawn(move || {
            crate::threads::run_when_idle();
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            // (An error: the runtime went before its full pool was built.)
            if !rt.block_on(full_ready.wait_for(|s| s.is_some())).is_ok_and(|s| matches!(*s, Some(Ok(())))) {
                return;
            }
            let mut code = None;
            loop {
                loop {
                    let wait = warm.quiet_in();
                    if wait.is_zero() {
                        break;
                    }
                    std::thread::sleep(wait);
                }
                let Some(runtime) = runtime.upgrade() else { return };
                if let Err(e) = rt.block_on(runtime.warm_slots(&warm, &mut code)) {
                    // (It would fail alike each time: new objects start in cold slots instead.)
                    tracing::warn!("stopped warming instance slots: {e:#}");
                    return;
                }
                drop(runtime);
                let mut wanted = warm.wanted.lock().unwrap_or_else(|e| e.into_inner());
                while !*wanted {
                    wanted = warm.wake.wait(wanted).unwrap_or_else(|e| e.into_inner());
                }
                *wanted = false;
            }
        });
        if let Err(e) = spawned {
            tracing::warn!("could not start the thread that warms instance slots: {e}");
        }
    }
}

/// The Durable Object a warm-up runs (see [`WarmSlots`]).
const WARM_UP_JS: &str = r#"import { DurableObject } from "cloudflare:workers";
export class WarmUp extends DurableObject {
  async fetch(request) {
    const url = new URL(request.url);
    const body = await request.text();
    return new Response(url.searchParams.get("slot") + body, { headers: { "content-type": "text/plain" } });
  }
}
"#;

/// Builds the full pool on a thread of its own, at a low CPU priority (nice
/// 10: start-up and the first requests go first, yet an instance waiting for
/// the pool under load waits for about a tenth of a core's share, not less).
struct Builder {
    slots: u32,
    max_memory_bytes: usize,
    cache_dir: PathBuf,
    digest: String,
    /// The engine's bytes when it is not the built-in one.
    other: Option<Vec<u8>>,
    full: Arc<std::sync::OnceLock<Arc<Pool>>>,
    boot: Arc<std::sync::Mutex<Option<Arc<Pool>>>>,
    ready: tokio::sync::watch::Sender<Option<Result<(), String>>>,
}

impl Builder {
    fn spawn(self) {
        let spawned = std::thread::Builder::new().name("facets-pool".into()).spawn(move || {
            // Start-up and the first requests come first.
            #[expect(unsafe_code, reason = "setpriority is a plain syscall")]
            // SAFETY: changes the scheduling priority of this thread only.
            unsafe {
                libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10);
            }
            let source = match &self.other {
                Some(bytes) => cache::Source::with_digest(bytes, self.digest.clone()),
                None => cache::Source::built_in(),
            };
            let sent = match Pool::pooled(self.slots, self.max_memory_bytes, &source, &self.cache_dir, None) {
                Ok(pool) => {
                    let _ = self.full.set(Arc::new(pool));
                    // New instances no longer come from the boot pool: it goes
                    // (its slots' memory with it) when its last instance ends.
                    self.boot.lock().unwrap_or_else(|e| e.into_inner()).take();
                    Ok(())
                }
                Err(e) => {
                    tracing::error!("could not build the pool of {} instance slots: {e:#}", self.slots);
                    Err(format!("{e:#}"))
                }
            };
            let _ = self.ready.send(Some(sent));
        });
        if let Err(e) = spawned {
            tracing::error!("could not start the thread that builds the instance pool: {e}");
        }
    }
}

/// The engine, instantiated per object.
///
/// Setting up a pool costs about 4 µs per slot (an `mprotect` for the guard
/// page of every slot's fiber stack): 13 ms of start-up for 3,000 slots. So
/// with more than `2 * BOOT_SLOTS` slots, a boot pool comes first: an engine
/// with the on-demand allocator (nothing to set up), capped at
/// [`BOOT_SLOTS`] live instances; a low-priority thread builds the full pool when
/// [`Runtime::build_full_pool`] says so (`facets serve` does 30 ms after it listens)
/// or when the boot pool is full. From then on new instances come from the
/// full pool, and the boot pool's go on until they end. Live instances are
/// capped at `max_instances` across both, so the full pool never runs out
/// while boot instances live; an instance that finds the boot pool full waits
/// for the full one.
pub struct Runtime {
    /// The pool with `max_instances` slots, once built.
    full: Arc<std::sync::OnceLock<Arc<Pool>>>,
    /// `None` while the full pool is being built, then whether that worked.
    full_ready: tokio::sync::watch::Receiver<Option<Result<(), String>>>,
    /// What builds the full pool, until [`Runtime::build_full_pool`] starts it.
    builder: std::sync::Mutex<Option<Builder>>,
    /// The small pool that serves while the full one is built: `None` when
    /// the full pool was built at once, and from when it is built.
    boot: Arc<std::sync::Mutex<Option<Arc<Pool>>>>,
    boot_live: Arc<std::sync::atomic::AtomicUsize>,
    default_limits: EventLimits,
    /// The most `WorkerCode.limits` may ask for: (cpu ms, subrequests).
    caps: (u32, u32),
    live: Arc<std::sync::atomic::AtomicUsize>,
    max_instances: usize,
    ticker_stop: Arc<std::sync::atomic::AtomicBool>,
    outbound: Arc<outbound::Outbound>,
    max_event_wall_ms: u32,
    max_streamed_response_bytes: u64,
    /// The project's compiled modules, kept across restarts.
    code_cache: cache::CodeCache,
    /// Free slots kept warm ahead of need, if any.
    warm: Option<Arc<WarmSlots>>,
}

impl Runtime {
    /// The bytecode of a project module compiled before with this engine
    /// (see [`cache::CodeCache`]).
    pub fn cached_bytecode(&self, name: &str, source: &str) -> Option<Vec<u8>> {
        self.code_cache.get(name, source)
    }

    /// Keeps a project module's bytecode for the next start.
    pub fn keep_bytecode(&self, name: &str, source: &str, bytecode: &[u8]) {
        self.code_cache.put(name, source, bytecode);
    }

    pub fn new(options: &RuntimeOptions) -> Result<Arc<Runtime>> {
        let n = options.max_instances.max(1);
        let engine_path = std::env::var_os("FACETS_ENGINE").map(PathBuf::from).or_else(|| options.engine_path.clone());
        let other = match &engine_path {
            Some(path) => {
                Some(std::fs::read(path).with_context(|| format!("reading the engine component {}", path.display()))?)
            }
            None => None,
        };
        let source = match &other {
            Some(bytes) => cache::Source::of(bytes),
            None => cache::Source::built_in(),
        };

        let code_cache = cache::CodeCache::new(&options.cache_dir, source.digest());
        // The boot engine, or a stand-in for the full pool's (its cache key
        // is the same): made in microseconds, so that the checksum of the
        // cached engine it names starts now, beside the making of the pool.
        let on_demand = wasmtime::Engine::new(&engine_config())
            .map_err(anyhow::Error::from)
            .context("creating the wasmtime engine")?;
        let prefetched = cache::prefetch(&on_demand, &source, &options.cache_dir);
        let full: Arc<std::sync::OnceLock<Arc<Pool>>> = Arc::new(std::sync::OnceLock::new());
        let (ready_tx, full_ready) = tokio::sync::watch::channel(None);
        // The epoch ticker starts before the engine loads: a thread spawned
        // later waits for the address space's lock while the checksum
        // thread lets its mapping of the engine go.
        let ticker_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop = ticker_stop.clone();
        let boot_engine = (n as usize > 2 * BOOT_SLOTS).then(|| on_demand.weak());
        let full_pool = Arc::downgrade(&full);
        std::thread::Builder::new().name("facets-epoch".into()).spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                let mut any = false;
                if let Some(engine) = boot_engine.as_ref().and_then(|e| e.upgrade()) {
                    engine.increment_epoch();
                    any = true;
                }
                if let Some(full) = full_pool.upgrade() {
                    if let Some(pool) = full.get() {
                        pool.engine.increment_epoch();
                    }
                    any = true;
                }
                if !any {
                    break;
                }
            }
        })?;
        let (boot, builder) = if n as usize > 2 * BOOT_SLOTS {
            // The boot engine compiles (or loads) the engine into the cache, so
            // the full pool's builder only loads it.
            let boot = Arc::new(Pool::with_engine(on_demand, BOOT_SLOTS as u32, &source, &options.cache_dir, prefetched)?);
            let builder = Builder {
                slots: n,
                max_memory_bytes: options.max_memory_bytes,
                cache_dir: options.cache_dir.clone(),
                digest: source.digest().to_string(),
                other,
                full: full.clone(),
                boot: Arc::new(std::sync::Mutex::new(Some(boot))),
                ready: ready_tx,
            };
            (builder.boot.clone(), Some(builder))
        } else {
            let _ = full.set(Arc::new(Pool::pooled(n, options.max_memory_bytes, &source, &options.cache_dir, prefetched)?));
            let _ = ready_tx.send(Some(Ok(())));
            (Arc::new(std::sync::Mutex::new(None)), None)
        };

        let default_limits = EventLimits {
            cpu_ms: options.max_cpu_ms.min(options.cpu_ms_cap),
            subrequests: options.max_subrequests.min(options.subrequests_cap),
            memory_bytes: options.memory_bytes.min(options.max_memory_bytes),
            console_bytes: options.console_bytes,
        };
        let warm = (options.warm_slots > 0).then(|| Arc::new(WarmSlots::new(options.warm_slots)));
        let warm_ready = full_ready.clone();
        let runtime = Arc::new(Runtime {
            full,
            full_ready,
            builder: std::sync::Mutex::new(builder),
            boot,
            boot_live: Arc::default(),
            default_limits,
            caps: (options.cpu_ms_cap.max(1), options.subrequests_cap.max(1)),
            live: Arc::default(),
            max_instances: n as usize,
            ticker_stop,
            outbound: Arc::new(outbound::Outbound::new(options.outbound.clone())),
            max_event_wall_ms: options.max_event_wall_ms,
            max_streamed_response_bytes: options.max_streamed_response_bytes,
            code_cache,
            warm,
        });
        if let Some(warm) = &runtime.warm {
            warm.spawn(Arc::downgrade(&runtime), warm_ready);
        }
        Ok(runtime)
    }

    /// Free instance slots that were used before (see [`WarmSlots`]).
    pub fn warm_free_slots(&self) -> usize {
        self.full.get().and_then(|p| p.engine.pooling_allocator_metrics()).map_or(0, |m| m.unused_warm_memories() as usize)
    }

    /// Asks the warming thread to look, when fewer than half of its target
    /// of free slots are warm.
    fn poke_warm(&self) {
        let Some(warm) = &self.warm else { return };
        warm.started();
        if self.warm_free_slots() < warm.target.div_ceil(2) {
            warm.poke();
        }
    }

    /// Tops the warm free slots up to `warm.target` (see [`WarmSlots`]); stops
    /// early when a new instance is made meanwhile.
    async fn warm_slots(self: &Arc<Self>, warm: &WarmSlots, code: &mut Option<Worker>) -> Result<()> {
        let Some(pool) = self.full.get().cloned() else { return Ok(()) };
        if self.warm_free_slots() >= warm.target.div_ceil(2) {
            return Ok(());
        }
        let id = ObjectId { hex: "0".repeat(64), name: None };
        let mut batch = Vec::with_capacity(warm.target);
        for i in 0..warm.target {
            // Never at the expense of a real instance, nor beside new ones.
            if self.live_instances() + warm.target >= self.max_instances || !warm.quiet_in().is_zero() {
                break;
            }
            let slot = self.take_slot()?;
            let warm_before = self.warm_free_slots();
            let mut instance = self.instantiate_on(&pool, slot, None, crate::worker::no_services(self), Label::default(), Storage::None).await?;
            if self.warm_free_slots() < warm_before {
                // A slot warm already: held (so that the next one is another), not run again.
                batch.push(instance);
                continue;
            }
            let js = |e: JsError| anyhow::anyhow!("{}: {}", e.name, e.message);
            let worker = match code {
                Some(w) => w,
                None => {
                    let bytecode = instance.compile("warm-up.js", WARM_UP_JS).await?.map_err(js)?;
                    code.insert(Worker {
                        main_module: "warm-up.js".into(),
                        modules: vec![bindings::Module { name: "warm-up.js".into(), content: bindings::ModuleContent::JsBytecode(bytecode) }],
                        bindings: Vec::new(),
                        exported_classes: Vec::new(),
                        compatibility_date: "2026-01-01".into(),
                        compatibility_flags: Vec::new(),
                        env: None,
                        block_outbound: true,
                        outbound: None,
                        limits: bindings::Limits { cpu_ms: None, sub_requests: None },
                    })
                }
            };
            instance.load(worker).await?.map_err(js)?;
            instance.start_object("WarmUp", &id).await?.map_err(js)?;
            let request = HttpRequest { method: "POST".into(), url: format!("http://warm-up/?slot={i}"), headers: String::new(), body: Some(b"!".to_vec()) };
            let response = instance.fetch(Entry::DurableObject, &request).await?.map_err(js)?;
            anyhow::ensure!(response.body == format!("{i}!").as_bytes(), "the warm-up answered {:?}", String::from_utf8_lossy(&response.body));
            batch.push(instance);
        }
        Ok(())
    }

    /// Starts building the pool with every instance slot, if a boot pool
    /// serves meanwhile and it is not built or being built yet.
    pub fn build_full_pool(&self) {
        let builder = self.builder.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(builder) = builder {
            builder.spawn();
        }
    }

    /// Instance slots of the pool new instances come from now: `max_instances`
    /// once the full pool is built, [`BOOT_SLOTS`] before.
    pub fn instance_slots(&self) -> usize {
        if let Some(full) = self.full.get() {
            return full.slots;
        }
        self.boot.lock().unwrap_or_else(|e| e.into_inner()).as_ref().map_or(0, |b| b.slots)
    }

    /// Waits until the pool with every instance slot is built (starting it if
    /// need be); an error if building it failed.
    pub async fn full_pool_ready(&self) -> Result<()> {
        self.build_full_pool();
        let mut ready = self.full_ready.clone();
        let state = ready.wait_for(|s| s.is_some()).await.map_err(|_| anyhow::anyhow!("the pool builder went away"))?;
        match state.as_ref() {
            Some(Err(e)) => Err(anyhow::anyhow!("building the instance pool failed: {e}")),
            _ => Ok(()),
        }
    }

    /// Guests may never connect to `addr` with `fetch()`: the host's own
    /// listeners (the HTTP server's bound address, an admin listener's).
    /// Checked after DNS resolution; a listener on `0.0.0.0`/`[::]` denies
    /// every local address on its port.
    pub fn deny_outbound(&self, addr: std::net::SocketAddr) {
        self.outbound.deny(addr);
    }

    /// The largest body a streamed response may send.
    pub fn max_streamed_response_bytes(&self) -> u64 {
        self.max_streamed_response_bytes
    }

    /// Instances alive right now.
    pub fn live_instances(&self) -> usize {
        self.live.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Like [`Runtime::instantiate`], but first makes room (see
    /// [`Runtime::make_room`]) and retries when another instance took the
    /// freed slot first. `db` opens the instance's database (again on a retry).
    pub async fn instantiate_with_room(
        &self,
        services: Arc<dyn Services>,
        label: Label,
        mut storage: impl FnMut() -> Storage,
    ) -> Result<Instance> {
        let mut last = None;
        for _ in 0..20 {
            self.make_room(&*services).await?;
            match self.instantiate(services.clone(), label.clone(), storage()).await {
                Err(e) if e.downcast_ref::<PoolExhausted>().is_some() => last = Some(e),
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| PoolExhausted(self.max_instances).into()))
    }

    /// Waits (up to a second) until an instance slot is free, asking
    /// `services` to evict idle objects meanwhile.
    pub async fn make_room(&self, services: &dyn Services) -> Result<(), PoolExhausted> {
        for _ in 0..200 {
            if self.live_instances() < self.max_instances {
                return Ok(());
            }
            services.evict_idle();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Err(PoolExhausted(self.max_instances))
    }

    /// A fresh instance of the engine (its own linear memory, from the
    /// copy-on-write image).
    pub async fn instantiate(
        &self,
        services: Arc<dyn Services>,
        label: Label,
        storage: Storage,
    ) -> Result<Instance> {
        let slot = self.take_slot()?;
        let (pool, boot_slot) = self.pool().await?;
        crate::metrics::metrics().instance_starts.inc();
        let in_full_pool = boot_slot.is_none();
        let instance = self.instantiate_on(&pool, slot, boot_slot, services, label, storage).await?;
        if in_full_pool {
            self.poke_warm();
        }
        Ok(instance)
    }

    /// One of the `max_instances` live instances, or [`PoolExhausted`].
    fn take_slot(&self) -> Result<SlotGuard> {
        let used = self.live.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        let slot = SlotGuard(self.live.clone());
        if used >= self.max_instances {
            crate::metrics::metrics().limit_hit(crate::metrics::Limit::Instances);
            return Err(PoolExhausted(self.max_instances).into());
        }
        Ok(slot)
    }

    /// An instance in `pool`, holding `slot` (and `boot_slot` in the boot pool).
    async fn instantiate_on(
        &self,
        pool: &Pool,
        slot: SlotGuard,
        boot_slot: Option<SlotGuard>,
        services: Arc<dyn Services>,
        label: Label,
        storage: Storage,
    ) -> Result<Instance> {
        // The guest gets no files, no environment, no arguments and no sockets.
        let wasi = WasiCtx::builder().build();
        let state = HostState {
            wasi,
            table: ResourceTable::new(),
            storage,
            services,
            label,
            chain: Arc::new(Vec::new()),
            loaders: Vec::new(),
            namespaces: Vec::new(),
            facet_dir: None,
            facets: Default::default(),
            aborted: Default::default(),
            next_generation: 1,
            depth: 0,
            limits: self.default_limits,
            caps: self.caps,
            cpu_ticks: 0,
            subrequests: 0,
            memory_hit: false,
            console_used: 0,
            console_cut: false,
            usage: crate::usage::Counters { instance_starts: 1, ..Default::default() },
            lost_facet_usage: None,
            deadline: std::time::Instant::now(),
            waited: false,
            drain_pending: false,
            io: None,
            outbound: self.outbound.clone(),
            max_event_wall_ms: self.max_event_wall_ms,
            max_streamed_response_bytes: self.max_streamed_response_bytes,
        };
        let mut store = Store::new(&pool.engine, state);
        store.limiter(|s| s as &mut dyn wasmtime::ResourceLimiter);
        if counting_instructions() {
            // (An engine built before counting was turned on has no fuel.)
            let _ = store.set_fuel(u64::MAX);
        }
        store.set_epoch_deadline(1);
        // At every tick the guest runs through, count it against the event's
        // CPU budget and yield to the other tasks of this thread.
        store.epoch_deadline_callback(|mut cx| {
            let state = cx.data_mut();
            if std::mem::take(&mut state.waited) {
                // This tick passed while the host waited, not while the guest ran.
                return Ok(wasmtime::UpdateDeadline::Yield(1));
            }
            state.cpu_ticks += 1;
            let used_ms = state.cpu_ticks as u128 * EPOCH_TICK.as_millis();
            if used_ms > state.limits.cpu_ms as u128 {
                crate::metrics::metrics().limit_hit(crate::metrics::Limit::Cpu);
                return Err(wasmtime::Error::new(LimitError::Cpu(state.limits.cpu_ms)));
            }
            Ok(wasmtime::UpdateDeadline::Yield(1))
        });
        let bindings = pool.pre.instantiate_async(&mut store).await?;
        Ok(Instance { store, bindings, _slot: slot, _boot_slot: boot_slot })
    }

    /// The pool a new instance comes from: the full pool once it is built;
    /// until then the boot pool while it has a free slot (the guard holds
    /// it), else the full pool when it is ready.
    async fn pool(&self) -> Result<(Arc<Pool>, Option<SlotGuard>)> {
        if let Some(full) = self.full.get() {
            return Ok((full.clone(), None));
        }
        let boot = self.boot.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(boot) = boot {
            let used = self.boot_live.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            let guard = SlotGuard(self.boot_live.clone());
            // The full pool may have become ready meanwhile.
            if let Some(full) = self.full.get() {
                return Ok((full.clone(), None));
            }
            if used < boot.slots {
                return Ok((boot, Some(guard)));
            }
        }
        self.full_pool_ready().await?;
        self.full.get().map(|full| (full.clone(), None)).ok_or_else(|| anyhow::anyhow!("the instance pool is not built"))
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.ticker_stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(warm) = &self.warm {
            warm.poke();
        }
    }
}

/// One instance of the engine. Errors are two-level: the outer `Result` is a
/// trap (the instance must be discarded), the inner one a JS exception.
pub struct Instance {
    store: Store<HostState>,
    bindings: bindings::Engine,
    _slot: SlotGuard,
    /// Held while the instance lives in the boot pool.
    _boot_slot: Option<SlotGuard>,
}

pub type Outcome<T> = wasmtime::Result<std::result::Result<T, JsError>>;

impl Instance {
    /// Whether this instance lives in the boot pool (see [`Runtime`]).
    pub fn in_boot_pool(&self) -> bool {
        self._boot_slot.is_some()
    }

    pub fn state(&self) -> &HostState {
        self.store.data()
    }

    pub fn state_mut(&mut self) -> &mut HostState {
        self.store.data_mut()
    }

    /// Compiles one module to bytecode.
    pub async fn compile(&mut self, name: &str, source: &str) -> Outcome<Vec<u8>> {
        self.bindings.facets_runtime_dispatch().call_compile(&mut self.store, name, source).await
    }

    /// Evaluates the worker's main module, and grants its bindings.
    pub async fn load(&mut self, worker: &Worker) -> Outcome<()> {
        let defaults = self.store.data().limits;
        let state = self.store.data_mut();
        // A value asked for with the code replaces the host's default, up to the host's cap.
        let (cpu_cap, sub_cap) = state.caps;
        state.limits = EventLimits {
            cpu_ms: worker.limits.cpu_ms.map_or(defaults.cpu_ms, |l| l.clamp(1, cpu_cap)),
            subrequests: worker.limits.sub_requests.map_or(defaults.subrequests, |l| l.min(sub_cap)),
            ..defaults
        };
        state.loaders.clear();
        state.namespaces.clear();
        for b in &worker.bindings {
            match &b.value {
                bindings::BindingValue::WorkerLoader(id) => state.loaders.push(id.clone()),
                bindings::BindingValue::DurableObjectNamespace(id) => state.namespaces.push(id.clone()),
                bindings::BindingValue::Json(_) => {}
            }
        }
        if let Some(o) = &worker.outbound {
            state.namespaces.push(o.binding.clone());
        }
        state.namespaces.extend(worker.exported_classes.iter().map(|c| format!("export:{c}")));
        self.begin_event();
        let outcome = self.bindings.facets_runtime_dispatch().call_load(&mut self.store, worker).await;
        self.end_event(outcome)
    }

    /// Adds what the guest executed since the last count to
    /// [`guest_instructions`] (when counting is on).
    fn count_instructions(&mut self) {
        if !counting_instructions() {
            return;
        }
        if let Ok(left) = self.store.get_fuel() {
            GUEST_INSTRUCTIONS.fetch_add(u64::MAX - left, std::sync::atomic::Ordering::Relaxed);
            let _ = self.store.set_fuel(u64::MAX);
        }
    }

    /// Starts the accounting of a new event.
    fn begin_event(&mut self) {
        let state = self.store.data_mut();
        state.cpu_ticks = 0;
        state.subrequests = 0;
        state.memory_hit = false;
        state.console_used = 0;
        state.console_cut = false;
        state.waited = false;
        state.deadline = std::time::Instant::now() + Duration::from_millis(state.max_event_wall_ms as u64);
        self.store.set_epoch_deadline(1);
    }

    /// Ends an event: a denied memory growth fails it like a trap (QuickJS
    /// surfaced it as an exception, which the code may have caught), and
    /// its CPU time is metered.
    fn end_event<T>(&mut self, outcome: Outcome<T>) -> Outcome<T> {
        self.count_instructions();
        let state = self.store.data_mut();
        state.usage.cpu_ms += state.cpu_ticks as u64 * EPOCH_TICK.as_millis() as u64;
        state.usage.subrequests += state.subrequests as u64;
        if state.memory_hit {
            crate::metrics::metrics().limit_hit(crate::metrics::Limit::Memory);
            let limit = LimitError::Memory(state.limits.memory_bytes >> 20);
            return Err(wasmtime::Error::new(limit));
        }
        if let Err(trap) = &outcome
            && matches!(trap.downcast_ref::<wasmtime::Trap>(), Some(wasmtime::Trap::StackOverflow))
        {
            crate::metrics::metrics().limit_hit(crate::metrics::Limit::Stack);
            return Err(wasmtime::Error::new(LimitError::Stack));
        }
        outcome
    }

    /// Calls an RPC method.
    pub async fn call(&mut self, entry: Entry, method: &str, args: &[u8]) -> Outcome<Vec<u8>> {
        self.begin_event();
        let outcome = self.bindings.facets_runtime_dispatch().call_call(&mut self.store, &entry, method, args).await;
        self.end_event(outcome)
    }

    /// Constructs the Durable Object of class `class_name` in this instance.
    pub async fn start_object(&mut self, class_name: &str, id: &ObjectId) -> Outcome<()> {
        self.begin_event();
        let outcome = self.bindings.facets_runtime_dispatch().call_start_object(&mut self.store, class_name, id).await;
        self.end_event(outcome)
    }

    /// Runs one `fetch` event; a streamed response body is pulled to its end
    /// (bounded by the streamed-response limit) and returned whole.
    pub async fn fetch(&mut self, entry: Entry, request: &HttpRequest) -> Outcome<HttpResponse> {
        let (mut response, streamed) = match self.fetch_streaming(entry, request).await? {
            Ok(r) => r,
            Err(e) => return Ok(Err(e)),
        };
        if streamed {
            let max = self.store.data().max_streamed_response_bytes;
            loop {
                match self.pull().await? {
                    Ok(Some(chunk)) => {
                        if (response.body.len() + chunk.len()) as u64 > max {
                            self.cancel_body().await?;
                            return Err(wasmtime::Error::new(LimitError::ResponseSize(max)));
                        }
                        response.body.extend_from_slice(&chunk);
                    }
                    Ok(None) => break,
                    Err(e) => return Ok(Err(e)),
                }
            }
        }
        Ok(Ok(response))
    }

    /// Runs one `fetch` event; when the answer says `streamed`, its body is
    /// empty and the caller takes it with [`Instance::pull`] (before the
    /// instance's next event).
    pub async fn fetch_streaming(&mut self, entry: Entry, request: &HttpRequest) -> Outcome<(HttpResponse, bool)> {
        self.begin_event();
        let outcome = match normalized_url(request) {
            Ok(None) => self.bindings.facets_runtime_dispatch().call_fetch(&mut self.store, &entry, request).await,
            Ok(Some(normalized)) => self.bindings.facets_runtime_dispatch().call_fetch(&mut self.store, &entry, &normalized).await,
            Err(e) => Ok(Err(e)),
        };
        self.end_event(outcome)
    }

    /// The next chunk of the streamed body of the last `fetch` (`None`: done).
    pub async fn pull(&mut self) -> Outcome<Option<Vec<u8>>> {
        let outcome = self.bindings.facets_runtime_dispatch().call_pull(&mut self.store).await;
        self.count_instructions();
        outcome
    }

    /// Cancels the streamed body of the last `fetch` (the receiver went away).
    pub async fn cancel_body(&mut self) -> wasmtime::Result<()> {
        self.bindings.facets_runtime_dispatch().call_cancel_body(&mut self.store).await
    }

    /// Whether `ctx.waitUntil` left work to drive after the response.
    pub fn drain_pending(&self) -> bool {
        self.store.data().drain_pending
    }

    /// Drives the `ctx.waitUntil` work left by the last event until it is
    /// done, as an event of its own (its own CPU and wall-time budget). A
    /// no-op when there is none.
    pub async fn drain(&mut self) -> Outcome<()> {
        if !std::mem::take(&mut self.store.data_mut().drain_pending) {
            return Ok(Ok(()));
        }
        self.begin_event();
        let outcome = self.bindings.facets_runtime_dispatch().call_drain(&mut self.store).await;
        self.count_instructions();
        outcome
    }
}

/// The guest takes a request's URL as the WHATWG `href` (`request.url`):
/// it is parsed and normalized here, natively, where it costs a fraction of
/// the same work in the engine. `None`: it already is its href (a request
/// passed on by another instance, or a normalized one from the server); an
/// error (a TypeError for the caller) if it is no URL at all.
///
/// The last href found already normalized on this thread is remembered: a
/// request passes the same URL through each of its hops (the entry worker,
/// the object, its facets), and each would parse it again. (Whether a string
/// is its own href depends on nothing else, so the memo never goes stale.)
fn normalized_url(request: &HttpRequest) -> Result<Option<HttpRequest>, JsError> {
    thread_local! {
        static NORMAL: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    if NORMAL.with(|n| *n.borrow() == request.url) {
        return Ok(None);
    }
    match url::Url::parse(&request.url) {
        Ok(u) => {
            NORMAL.with(|n| u.as_str().clone_into(&mut n.borrow_mut()));
            Ok((u.as_str() != request.url).then(|| HttpRequest { url: u.into(), ..request.clone() }))
        }
        Err(e) => Err(JsError::new("TypeError", format!("invalid request URL {:?}: {e}", request.url))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn get(path: &str) -> HttpRequest {
        HttpRequest { method: "GET".into(), url: format!("http://test{path}"), headers: String::new(), body: None }
    }

    /// A URL is normalized the same the first time and after its href was
    /// remembered; one already normalized is left as it is.
    #[test]
    fn urls_are_normalized_alike_whether_or_not_their_href_was_seen() {
        let url = |r: Result<Option<HttpRequest>, JsError>| r.expect("a URL").map(|r| r.url);
        for (path, normal) in [("/a/../b?q=1", Some("http://test/b?q=1")), ("/b?q=1", None), ("/a b", Some("http://test/a%20b")), ("/a%20b", None)] {
            for _ in 0..2 {
                assert_eq!(url(normalized_url(&get(path))), normal.map(String::from), "{path}");
            }
        }
        let bad = HttpRequest { url: "no scheme".into(), ..get("/") };
        assert_eq!(normalized_url(&bad).expect_err("not a URL").name, "TypeError");
    }

    fn id(name: &str) -> ObjectId {
        ObjectId { hex: format!("{:0>64}", name.len()), name: Some(name.into()) }
    }

    /// Loads the project at `dir` (relative to the repository).
    pub(super) async fn project(runtime: &Arc<Runtime>, dir: &str) -> Worker {
        let config = crate::config::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(dir)).expect("config");
        crate::worker::load_project(runtime, &config).await.expect("project").worker
    }

    /// More instances than the boot pool holds: the first ones live in it;
    /// the next wait for the full pool, which the runtime then builds on its
    /// own; every instance keeps its state and answers after the switch, and
    /// the cap on live instances covers both pools.
    #[test]
    fn the_boot_pool_serves_first_and_its_instances_outlive_the_switch() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let runtime = Runtime::new(&RuntimeOptions { max_instances: 1_000, ..RuntimeOptions::default() }).unwrap();
            assert_eq!(runtime.instance_slots(), BOOT_SLOTS, "a runtime with 1,000 slots starts with the boot pool");
            let boot_engine = runtime.boot.lock().unwrap().as_ref().expect("a boot pool").engine.weak();
            let worker = project(&runtime, "tests/fixtures/engine_pools").await;
            let services = crate::worker::no_services(&runtime);
            let mut live = Vec::new();
            for i in 0..BOOT_SLOTS + 6 {
                let mut inst = runtime.instantiate(services.clone(), Label::default(), Storage::None).await.unwrap();
                inst.load(&worker).await.unwrap().unwrap();
                inst.start_object("Memo", &id(&format!("o{i}"))).await.unwrap().unwrap();
                let res = inst.fetch(Entry::DurableObject, &get("/")).await.unwrap().unwrap();
                assert_eq!(res.body, b"1", "instance {i}");
                live.push(inst);
            }
            let in_boot = live.iter().filter(|i| i.in_boot_pool()).count();
            // The builder (started when the boot pool filled up) may finish
            // before the last few instances, never before the first one.
            assert!(live[0].in_boot_pool());
            assert_eq!(in_boot, BOOT_SLOTS, "the boot pool's slots are all used before the full pool");
            assert!(!live.last().unwrap().in_boot_pool());
            assert_eq!(runtime.instance_slots(), 1_000);
            // State in memory survives: each instance counts on from 1.
            for (i, inst) in live.iter_mut().enumerate() {
                let res = inst.fetch(Entry::DurableObject, &get("/")).await.unwrap().unwrap();
                assert_eq!(res.body, b"2", "instance {i} after the switch");
            }
            assert_eq!(runtime.live_instances(), BOOT_SLOTS + 6);
            live.truncate(3);
            assert_eq!(runtime.live_instances(), 3);
            // A freed boot slot is not used again: the full pool serves.
            let inst = runtime.instantiate(services.clone(), Label::default(), Storage::None).await.unwrap();
            assert!(!inst.in_boot_pool());
            // The boot pool (its engine and slots) goes when its last instance ends.
            assert!(runtime.boot.lock().unwrap().is_none(), "the runtime still holds the boot pool");
            assert!(boot_engine.upgrade().is_some(), "three boot instances still live");
            live.clear();
            let gone = (0..100).any(|_| {
                // (The epoch ticker holds it for an instant at each tick.)
                std::thread::sleep(Duration::from_millis(2));
                boot_engine.upgrade().is_none()
            });
            assert!(gone, "the boot pool's engine outlived its instances");
        });
    }

    /// CPU limits hold in the boot pool: the epoch ticker advances its engine too.
    #[test]
    fn a_spinning_instance_of_the_boot_pool_is_stopped_by_the_cpu_limit() {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let runtime = Runtime::new(&RuntimeOptions { max_instances: 1_000, max_cpu_ms: 50, ..RuntimeOptions::default() }).unwrap();
            let worker = project(&runtime, "tests/fixtures/engine_pools").await;
            let mut inst = runtime.instantiate(crate::worker::no_services(&runtime), Label::default(), Storage::None).await.unwrap();
            assert!(inst.in_boot_pool());
            inst.load(&worker).await.unwrap().unwrap();
            inst.start_object("Spin", &id("spin")).await.unwrap().unwrap();
            let spin = tokio::spawn(async move { inst.fetch(Entry::DurableObject, &get("/spin")).await.map(|_| ()) });
            let Ok(joined) = tokio::time::timeout(Duration::from_secs(20), spin).await else {
                // Without epoch ticks the guest never yields, so nothing can
                // stop its thread: end the test process with the failure.
                eprintln!("a spinning instance of the boot pool was not stopped in 20 s: its engine's epoch does not advance");
                std::process::exit(1);
            };
            let trap = joined.unwrap().expect_err("a spin ends in a trap");
            assert!(matches!(trap.downcast_ref::<LimitError>(), Some(LimitError::Cpu(50))), "{trap:#}");
        });
    }

    /// The boot engine allocates its instances on demand, not from a pool:
    /// its memory and stack limits hold as a pool's do.
    #[test]
    fn a_boot_instance_is_held_to_its_memory_and_stack_limits() {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let options = RuntimeOptions { max_instances: 1_000, memory_bytes: 32 << 20, ..RuntimeOptions::default() };
            let runtime = Runtime::new(&options).unwrap();
            let worker = project(&runtime, "tests/fixtures/engine_pools").await;
            for (class, want) in [("Bomb", "memory"), ("Deep", "stack")] {
                let mut inst = runtime.instantiate(crate::worker::no_services(&runtime), Label::default(), Storage::None).await.unwrap();
                assert!(inst.in_boot_pool());
                inst.load(&worker).await.unwrap().unwrap();
                inst.start_object(class, &id(class)).await.unwrap().unwrap();
                let outcome = inst.fetch(Entry::DurableObject, &get("/")).await;
                let got = match &outcome {
                    Err(trap) => match trap.downcast_ref::<LimitError>() {
                        Some(LimitError::Memory(32)) => "memory",
                        Some(LimitError::Stack) => "stack",
                        _ => "another trap",
                    },
                    Ok(Err(_)) => "a JS exception",
                    Ok(Ok(_)) => "an answer",
                };
                assert_eq!(got, want, "{class}: {:?}", outcome.as_ref().err());
            }
        });
    }

    /// The boot engine (on-demand allocator) and the pools load the same
    /// compiled component: its cache key (the configuration's hash) does not
    /// depend on the allocator, so the checksum begun with the first engine
    /// counts for the others. A setting that changed the key for one of them
    /// would have start-up compile or checksum the engine twice.
    #[test]
    fn the_boot_engine_and_a_pool_load_one_cache_entry() {
        let digest = cache::Source::built_in().digest().to_string();
        let on_demand = wasmtime::Engine::new(&engine_config()).unwrap();
        let pooled = wasmtime::Engine::new(&pooled_config(4, 128 << 20)).unwrap();
        assert_eq!(cache::cache_key(&on_demand, &digest), cache::cache_key(&pooled, &digest));
    }

    /// The project's modules are compiled once per engine and source: a
    /// later start takes the cached bytecode (shown by an entry planted
    /// with another module's bytecode, which is what then runs); a changed
    /// source is compiled anew, and an entry whose checksum fails is
    /// compiled again and replaced.
    #[test]
    fn the_projects_bytecode_is_cached_per_source_and_a_corrupt_entry_is_compiled_again() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let runtime = Runtime::new(&RuntimeOptions::default()).unwrap();
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("wrangler.jsonc"), r#"{ "main": "index.js", "compatibility_date": "2026-04-01" }"#).unwrap();
            // Unique sources: entries of earlier runs are not this test's.
            let nonce = hex::encode(rand::random::<[u8; 8]>());
            let source = |v: &str| format!("// {nonce}\nexport default {{ fetch() {{ return new Response(\"{v}\"); }} }};\n");
            let answer = |runtime: Arc<Runtime>, v: &'static str| {
                let (dir, source) = (dir.path().to_path_buf(), source(v));
                async move {
                    std::fs::write(dir.join("index.js"), source).unwrap();
                    let config = crate::config::load(&dir).expect("config");
                    let worker = crate::worker::load_project(&runtime, &config).await.expect("project").worker;
                    let mut inst = runtime.instantiate(crate::worker::no_services(&runtime), Label::default(), Storage::None).await.unwrap();
                    inst.load(&worker).await.unwrap().unwrap();
                    let res = inst.fetch(Entry::DefaultExport, &get("/")).await.unwrap().unwrap();
                    String::from_utf8(res.body).unwrap()
                }
            };
            let entry = |v: &str| runtime.code_cache.path("index.js", &source(v));
            assert!(!entry("v1").exists());
            assert_eq!(answer(runtime.clone(), "v1").await, "v1");
            assert!(entry("v1").exists(), "the first start keeps the bytecode");
            assert_eq!(answer(runtime.clone(), "v2").await, "v2", "a changed source is compiled anew");

            // v2's bytecode under v1's source, checksum and all: the next
            // start with v1's source runs it without compiling.
            std::fs::copy(entry("v2"), entry("v1")).unwrap();
            assert_eq!(answer(runtime.clone(), "v1").await, "v2");

            // A corrupt entry is not used, and is replaced.
            let mut bytes = std::fs::read(entry("v1")).unwrap();
            let last = bytes.len() - 1;
            bytes[last] ^= 0xff;
            std::fs::write(entry("v1"), &bytes).unwrap();
            assert_eq!(answer(runtime.clone(), "v1").await, "v1");
            assert_ne!(std::fs::read(entry("v1")).unwrap(), bytes, "the corrupt entry was replaced");
            assert!(runtime.cached_bytecode("index.js", &source("v1")).is_some(), "by a sound one");
            for v in ["v1", "v2"] {
                let _ = std::fs::remove_file(entry(v));
            }
        });
    }
}

#[cfg(test)]
mod warm_tests {
    use super::tests::{get, project};
    use super::*;

    /// Waits (up to 20 s) until `runtime` has at least `n` warm free slots.
    fn wait_warm(runtime: &Runtime, n: usize) -> usize {
        let start = std::time::Instant::now();
        while runtime.warm_free_slots() < n && start.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(10));
        }
        runtime.warm_free_slots()
    }

    /// The warming thread keeps free slots warm and leaves no instance alive;
    /// a new instance made on any thread (each has its own home shard in
    /// Wasmtime's pool) takes a warm slot, and runs its own code there as in
    /// a fresh one; once fewer than half are left, the slots are warmed again.
    #[test]
    fn warm_slots_are_kept_and_taken_from_any_thread() {
        let runtime = Runtime::new(&RuntimeOptions { max_instances: 300, warm_slots: 6, ..RuntimeOptions::default() }).unwrap();
        // (300 slots: a boot pool first, and the full pool, which is sharded, from here.)
        runtime.build_full_pool();
        assert_eq!(wait_warm(&runtime, 6), 6, "six warm free slots");
        assert_eq!(runtime.live_instances(), 0, "the warm-ups ended");
        let mut kept = Vec::new();
        for t in 0..4 {
            let runtime = runtime.clone();
            kept.push(
                std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                    rt.block_on(async {
                        let worker = project(&runtime, "tests/fixtures/engine_pools").await;
                        let before = runtime.warm_free_slots();
                        let services = crate::worker::no_services(&runtime);
                        let mut i = runtime.instantiate(services, Label::default(), Storage::None).await.unwrap();
                        assert_eq!(runtime.warm_free_slots(), before - 1, "thread {t} took a warm slot");
                        i.load(&worker).await.unwrap().unwrap();
                        let id = ObjectId { hex: "1".repeat(64), name: Some(format!("t{t}")) };
                        i.start_object("Memo", &id).await.unwrap().unwrap();
                        let res = i.fetch(Entry::DurableObject, &get("/")).await.unwrap().unwrap();
                        assert_eq!(res.body, b"1", "a fresh object in a warmed slot");
                        i
                    })
                })
                .join()
                .unwrap(),
            );
        }
        // Two were left: fewer than half of six. Warmed again once quiet.
        assert_eq!(wait_warm(&runtime, 6), 6, "warmed again");
        assert_eq!(runtime.live_instances(), 4, "the four instances live on; the warm-ups ended");
    }

    /// Warm-ups leave `warm_slots` of the instance slots free for real instances.
    #[test]
    fn warm_ups_leave_room_for_real_instances() {
        let runtime = Runtime::new(&RuntimeOptions { max_instances: 10, warm_slots: 8, ..RuntimeOptions::default() }).unwrap();
        assert_eq!(wait_warm(&runtime, 2), 2);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(runtime.warm_free_slots(), 2, "no more than 10 - 8 warm-ups at once");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let services = crate::worker::no_services(&runtime);
            let mut all = Vec::new();
            for _ in 0..10 {
                all.push(runtime.instantiate(services.clone(), Label::default(), Storage::None).await.expect("a slot"));
            }
        });
    }

    /// Page faults of this thread so far.
    fn thread_faults() -> i64 {
        #[expect(unsafe_code, reason = "getrusage fills the struct passed")]
        // SAFETY: `usage` is a valid, writable rusage.
        unsafe {
            let mut usage: libc::rusage = std::mem::zeroed();
            libc::getrusage(libc::RUSAGE_THREAD, &mut usage);
            usage.ru_minflt + usage.ru_majflt
        }
    }

    /// What warming is for: an object started in a warmed slot faults in
    /// far fewer pages than one started in a slot never used before.
    #[test]
    fn an_object_in_a_warm_slot_faults_in_fewer_pages() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let faults = |warm_slots: usize| {
            let runtime = Runtime::new(&RuntimeOptions { max_instances: 100, warm_slots, ..RuntimeOptions::default() }).unwrap();
            assert_eq!(wait_warm(&runtime, warm_slots), warm_slots);
            rt.block_on(async {
                let worker = project(&runtime, "tests/fixtures/engine_pools").await;
                let mut live = Vec::new();
                let mut last = 0;
                // (Live at once, so that each takes a slot of its own; the last one is measured.)
                for n in 0..3 {
                    let before = thread_faults();
                    let services = crate::worker::no_services(&runtime);
                    let mut i = runtime.instantiate(services, Label::default(), Storage::None).await.unwrap();
                    i.load(&worker).await.unwrap().unwrap();
                    i.start_object("Memo", &ObjectId { hex: "2".repeat(64), name: Some(format!("n{n}")) }).await.unwrap().unwrap();
                    assert_eq!(i.fetch(Entry::DurableObject, &get("/")).await.unwrap().unwrap().body, b"1");
                    last = thread_faults() - before;
                    live.push(i);
                }
                last
            })
        };
        let (cold, warm) = (faults(0), faults(4));
        assert!(warm * 2 < cold, "page faults of an object: {cold} in a fresh slot, {warm} in a warm one");
    }
}
