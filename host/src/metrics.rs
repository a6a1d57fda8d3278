//! Process-wide Prometheus metrics, served as text on the admin listener's
//! `/metrics`. Labels are small closed sets (never object names), so the
//! number of series stays fixed however many objects there are.

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// What served a request.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Kind {
    /// An HTTP request at the front door.
    Http,
    /// An event of a Durable Object.
    Object,
    /// An event of a facet.
    Facet,
}

/// How it ended.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The code threw.
    Exception,
    /// A limit stopped it.
    Limit,
    /// Anything else (a trap, a start failure, a bad request).
    Error,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub kind: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: &'static str,
}

/// Which limit was hit.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Limit {
    Cpu,
    Memory,
    Subrequests,
    RequestBody,
    ResponseBody,
    Console,
    Storage,
    Facets,
    Objects,
    CodeSize,
    Instances,
    Stack,
}

impl Limit {
    /// The metric's label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::Cpu => "cpu",
            Limit::Memory => "memory",
            Limit::Subrequests => "subrequests",
            Limit::RequestBody => "request_body",
            Limit::ResponseBody => "response_body",
            Limit::Console => "console",
            Limit::Storage => "storage",
            Limit::Facets => "facets",
            Limit::Objects => "objects",
            Limit::CodeSize => "code_size",
            Limit::Instances => "instances",
            Limit::Stack => "stack",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    pub result: &'static str,
}

type HistogramFamily = Family<KindLabels, Histogram, fn() -> Histogram>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StartLabels {
    pub kind: &'static str,
    pub phase: &'static str,
}

/// What was starting (the `kind` label of the start-phase histogram).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Starting {
    /// A Durable Object of the project.
    Object,
    /// A facet.
    Facet,
    /// A pooled instance of the entry worker, or of a loaded worker's entrypoint.
    Worker,
    /// Code handed to a Worker Loader, compiled to bytecode.
    Loader,
}

/// A phase of starting an instance (the `phase` label).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Phase {
    /// A slot of the pool taken (after waiting for one, when all are in use)
    /// and the engine instantiated in it.
    Instantiate,
    /// The worker's modules evaluated and its bindings granted.
    Load,
    /// The Durable Object's constructor.
    Construct,
    /// Its database opened (or made), when the code first used storage.
    StorageOpen,
    /// JS source compiled to bytecode (a fresh compiler instance included).
    Compile,
}

/// Every metric of the process.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: HistogramFamily,
    pub instance_starts: Counter,
    pub evictions: Counter,
    pub live_instances: Gauge,
    pub instance_slots: Gauge,
    pub limit_hits: Family<LimitLabels, Counter>,
    pub storage_bytes: Gauge,
    pub loader_cache: Family<CacheLabels, Counter>,
    pub log_lines_dropped: Counter,
    pub start_phases: Family<StartLabels, Histogram, fn() -> Histogram>,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms .. ~8 s
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

fn phase_histogram() -> Histogram {
    // 25 µs .. ~0.8 s
    Histogram::new(exponential_buckets(0.000_025, 2.0, 16))
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("facets");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("requests", "Requests and events by what served them and how they ended", requests.clone());
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register("request_duration_seconds", "Wall time of requests and events", latency.clone());
        let instance_starts = Counter::default();
        registry.register("instance_starts", "Instances started (objects, facets, workers)", instance_starts.clone());
        let evictions = Counter::default();
        registry.register("evictions", "Objects evicted from memory (idle, or to free a slot)", evictions.clone());
        let live_instances = Gauge::default();
        registry.register("live_instances", "Instances alive now", live_instances.clone());
        let instance_slots = Gauge::default();
        registry.register(
            "instance_slots",
            "Slots of the instance pool new instances come from (--max-instances once built, the boot pool's before)",
            instance_slots.clone(),
        );
        let limit_hits = Family::<LimitLabels, Counter>::default();
        registry.register("limit_hits", "Events stopped or refused by a limit, by limit", limit_hits.clone());
        let storage_bytes = Gauge::default();
        registry.register("storage_bytes", "Bytes of the objects' and facets' databases, as last measured", storage_bytes.clone());
        let loader_cache = Family::<CacheLabels, Counter>::default();
        registry.register("loader_cache", "Worker Loader look-ups by result", loader_cache.clone());
        let log_lines_dropped = Counter::default();
        registry.register("console_lines_dropped", "Console lines dropped at the per-event output limit", log_lines_dropped.clone());
        let start_phases: Family<StartLabels, Histogram, fn() -> Histogram> = Family::new_with_constructor(phase_histogram);
        registry.register(
            "start_phase_seconds",
            "Wall time of the phases of starting instances: what started (object, facet, worker, loader) and the phase (instantiate, load, construct, storage_open, compile)",
            start_phases.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            instance_starts,
            evictions,
            live_instances,
            instance_slots,
            limit_hits,
            storage_bytes,
            loader_cache,
            log_lines_dropped,
            start_phases,
        }
    }

    /// Counts one phase of starting an instance, and its duration.
    pub fn start_phase(&self, kind: Starting, phase: Phase, elapsed: std::time::Duration) {
        let kind = match kind {
            Starting::Object => "object",
            Starting::Facet => "facet",
            Starting::Worker => "worker",
            Starting::Loader => "loader",
        };
        let phase = match phase {
            Phase::Instantiate => "instantiate",
            Phase::Load => "load",
            Phase::Construct => "construct",
            Phase::StorageOpen => "storage_open",
            Phase::Compile => "compile",
        };
        self.start_phases.get_or_create(&StartLabels { kind, phase }).observe(elapsed.as_secs_f64());
    }

    /// Times `f` as one phase of starting an instance.
    pub async fn timed<T>(&self, kind: Starting, phase: Phase, f: impl Future<Output = T>) -> T {
        let started = std::time::Instant::now();
        let out = f.await;
        self.start_phase(kind, phase, started.elapsed());
        out
    }

    /// Counts a finished request or event, and its duration.
    pub fn request(&self, kind: Kind, outcome: Outcome, elapsed: std::time::Duration) {
        let kind = match kind {
            Kind::Http => "http",
            Kind::Object => "object",
            Kind::Facet => "facet",
        };
        let outcome = match outcome {
            Outcome::Ok => "ok",
            Outcome::Exception => "exception",
            Outcome::Limit => "limit",
            Outcome::Error => "error",
        };
        self.requests.get_or_create(&RequestLabels { kind, outcome }).inc();
        self.latency.get_or_create(&KindLabels { kind }).observe(elapsed.as_secs_f64());
    }

    pub fn limit_hit(&self, kind: Limit) {
        self.limit_hits.get_or_create(&LimitLabels { kind: kind.as_str() }).inc();
    }

    pub fn loader_cache(&self, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.loader_cache.get_or_create(&CacheLabels { result }).inc();
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String");
        out
    }
}

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

/// Which limit an error message names (`exceeded CPU time limit ...`), if any.
pub fn limit_of_message(message: &str) -> Option<Limit> {
    let m = message;
    if m.contains("exceeded CPU time limit") {
        Some(Limit::Cpu)
    } else if m.contains("exceeded memory limit") {
        Some(Limit::Memory)
    } else if m.contains("exceeded the subrequest limit") {
        Some(Limit::Subrequests)
    } else if m.contains("SQLITE_FULL") {
        Some(Limit::Storage)
    } else if m.contains("exceeded the facet limit") {
        Some(Limit::Facets)
    } else if m.contains("exceeded the object limit") {
        Some(Limit::Objects)
    } else if m.contains("loaded code is too large") {
        Some(Limit::CodeSize)
    } else if m.contains("exceeded the stack limit") {
        Some(Limit::Stack)
    } else if m.contains("instance slots are in use") {
        Some(Limit::Instances)
    } else {
        None
    }
}
