//! Durable Objects: exactly one live instance per (class, id) on this host,
//! processing its events one at a time in arrival order.
//!
//! # Layout
//! - [`Registry`]: namespaces, object ids, the live objects, and the pool of
//!   instances that run the stateless entry worker.
//! - `actor`: one object's state (its instance and database) and how its
//!   events run: in the caller's task when it is free, else queued and
//!   worked off by one task.

mod actor;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::sync::{OwnedMutexGuard, mpsc, oneshot};
use tracing::Instrument;

use crate::engine::{Entry, HttpRequest, HttpResponse, Instance, JsError, Label, ObjectId, Runtime, Services};
use crate::metrics::{Phase, Starting};
use crate::storage::StorageOptions;
use crate::worker::WorkerCode;

/// Settings of the object layer.
#[derive(Clone, Debug)]
pub struct ObjectOptions {
    /// Root of every object's storage.
    pub data_dir: PathBuf,
    pub storage: StorageOptions,
    /// An object with no event for this long is evicted (instance dropped,
    /// database closed); it comes back on its next request.
    pub idle_timeout: Duration,
    /// Limits beyond those of each event (facets per object, objects per namespace...).
    pub limits: crate::settings::HostLimits,
}

/// Why an event failed, as the caller sees it.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The JS code threw.
    #[error("{0}")]
    Js(JsError),
    /// The instance trapped or could not be started; it was discarded.
    #[error("{0}")]
    Internal(String),
}

impl EventError {
    pub fn into_js(self) -> JsError {
        match self {
            EventError::Js(e) => e,
            EventError::Internal(m) => JsError::new("Error", m),
        }
    }
}

/// What an event asks of an object.
pub(crate) enum EventKind {
    Fetch(HttpRequest),
    Call { method: String, args: Vec<u8> },
}

/// What it answers.
pub(crate) enum EventOutput {
    Response(HttpResponse),
    Value(Vec<u8>),
}

/// Loaded code kept by the Worker Loader, least recently used first out.
pub const LOADER_CACHE_ENTRIES: usize = 1_000;

type ObjectKey = (String, String); // (class, id hex)

/// A live object: whose turn it is (and since when it has been idle), and
/// its state.
#[derive(Clone)]
struct ObjectEntry {
    turn: Arc<Mutex<actor::Turn>>,
    state: Arc<tokio::sync::Mutex<actor::ObjectState>>,
    label: Arc<Label>,
    /// The span its events run in.
    span: tracing::Span,
}

impl ObjectEntry {
    fn turn(&self) -> std::sync::MutexGuard<'_, actor::Turn> {
        self.turn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The object's turn, held by whoever runs its events. Given back, the
/// object is idle; dropped without being given back (an event that
/// panicked), the object is marked gone: the events waiting for it fail,
/// and the next one starts it afresh rather than waiting forever.
struct TurnHeld {
    entry: ObjectEntry,
    given_back: bool,
}

impl TurnHeld {
    /// The next event waiting; with none, the turn is given back.
    fn next_or_give_back(&mut self) -> Option<actor::Queued> {
        let mut turn = self.entry.turn();
        if let Some(next) = turn.waiting.pop_front() {
            return Some(next);
        }
        turn.idle_since = Some(Instant::now());
        turn.running = false;
        self.given_back = true;
        None
    }
}

impl Drop for TurnHeld {
    fn drop(&mut self) {
        if !self.given_back {
            let mut turn = self.entry.turn();
            turn.gone = true;
            turn.running = false;
            turn.waiting.clear();
        }
    }
}

/// An object's event, run in the caller's task. If the caller goes away (a
/// client hangs up), the rest of the event runs in a task of its own: an
/// event that started runs to its end and its writes commit, as when it
/// ran in a task of the object's.
struct Detached<T: Send + 'static> {
    event: Option<Pin<Box<dyn Future<Output = T> + Send>>>,
    tasks: tokio_util::task::TaskTracker,
}

impl<T: Send + 'static> Future for Detached<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let event = self.event.as_mut().expect("Detached polled after it finished");
        let out = std::task::ready!(event.as_mut().poll(cx));
        self.event = None;
        Poll::Ready(out)
    }
}

impl<T: Send + 'static> Drop for Detached<T> {
    fn drop(&mut self) {
        // (Not an event that panicked: it cannot be polled again.)
        if let Some(event) = self.event.take()
            && !std::thread::panicking()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            self.tasks.spawn(async move {
                event.await;
            });
        }
    }
}

/// Namespaces, live objects and the entry worker's instance pool.
pub struct Registry {
    runtime: Arc<Runtime>,
    code: Arc<WorkerCode>,
    options: ObjectOptions,
    objects: Mutex<HashMap<ObjectKey, ObjectEntry>>,
    entry_pool: Mutex<Vec<Instance>>,
    loaded: Mutex<lru::LruCache<String, Arc<crate::engine::Worker>>>,
    /// Loaded code whose last new facet ran its first event without storing
    /// (the others' facets have their databases opened ahead).
    code_without_storage: Mutex<lru::LruCache<String, ()>>,
    this: Weak<Registry>,
    tasks: tokio_util::task::TaskTracker,
    /// Whether the task that evicts idle objects runs.
    sweeping: AtomicBool,
    /// Set by [`Registry::shutdown`]: no object starts any more.
    closing: AtomicBool,
    stop_sweeping: tokio_util::sync::CancellationToken,
    usage: Arc<crate::usage::Usage>,
    /// Objects stored per namespace (counted on first use, for `objects_per_namespace`).
    stored_objects: Mutex<HashMap<String, u64>>,
}

/// The chunks of a streamed response body, as they are produced.
pub type BodyReceiver = mpsc::Receiver<Result<bytes::Bytes, std::io::Error>>;

/// Pulls a streamed body out of `instance` into `tx`, up to `max` bytes;
/// `false` when the instance trapped and must be discarded.
async fn stream_body(instance: &mut Instance, tx: mpsc::Sender<Result<bytes::Bytes, std::io::Error>>, sent: u64, max: u64) -> bool {
    let mut sent = sent;
    loop {
        match instance.pull().await {
            Ok(Ok(Some(chunk))) => {
                sent += chunk.len() as u64;
                if sent > max {
                    let limit = crate::engine::LimitError::ResponseSize(max);
                    tracing::error!(object = "worker", "streamed response: {limit}");
                    let _ = instance.cancel_body().await;
                    let _ = tx.send(Err(std::io::Error::other(limit.to_string()))).await;
                    return true;
                }
                if tx.send(Ok(bytes::Bytes::from(chunk))).await.is_err() {
                    // The client went away: cancel the stream.
                    return instance.cancel_body().await.is_ok();
                }
            }
            Ok(Ok(None)) => return true,
            Ok(Err(js)) => {
                tracing::error!(object = "worker", "streamed response: uncaught {}: {}", js.name, js.message);
                let _ = tx.send(Err(std::io::Error::other(format!("{}: {}", js.name, js.message)))).await;
                return true;
            }
            Err(trap) => {
                let described = crate::engine::describe_trap(&trap);
                tracing::error!(object = "worker", "streamed response: discarding the instance: {described}");
                let _ = tx.send(Err(std::io::Error::other(described))).await;
                return false;
            }
        }
    }
}

/// Instances of the entry worker kept for reuse.
const ENTRY_POOL_MAX: usize = 16;

impl Registry {
    pub fn new(
        runtime: Arc<Runtime>,
        code: Arc<WorkerCode>,
        options: ObjectOptions,
        usage: Arc<crate::usage::Usage>,
    ) -> Arc<Registry> {
        Arc::new_cyclic(|this| Registry {
            runtime,
            code,
            options,
            objects: Mutex::new(HashMap::new()),
            entry_pool: Mutex::new(Vec::new()),
            loaded: Mutex::new(lru::LruCache::new(
                std::num::NonZeroUsize::new(LOADER_CACHE_ENTRIES).expect("non-zero"),
            )),
            code_without_storage: Mutex::new(lru::LruCache::new(
                std::num::NonZeroUsize::new(LOADER_CACHE_ENTRIES).expect("non-zero"),
            )),
            this: this.clone(),
            tasks: tokio_util::task::TaskTracker::new(),
            sweeping: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            stop_sweeping: tokio_util::sync::CancellationToken::new(),
            usage,
            stored_objects: Mutex::new(HashMap::new()),
        })
    }

    /// The metered usage.
    pub fn usage(&self) -> &Arc<crate::usage::Usage> {
        &self.usage
    }

    /// Admits a new object's storage directory `dir` in namespace `class`,
    /// unless the namespace already holds `objects_per_namespace` objects.
    pub(crate) fn admit_object(&self, class: &str, dir: &std::path::Path) -> Result<(), EventError> {
        if dir.exists() {
            return Ok(());
        }
        let limit = self.options.limits.objects_per_namespace;
        let mut counts = self.stored_objects.lock().expect("object counts lock");
        let count = counts.entry(class.to_string()).or_insert_with(|| {
            std::fs::read_dir(self.options.data_dir.join(class)).map(|d| d.count() as u64).unwrap_or(0)
        });
        if *count >= limit {
            crate::metrics::metrics().limit_hit(crate::metrics::Limit::Objects);
            return Err(EventError::Js(JsError::new(
                "Error",
                format!("exceeded the object limit ({limit} objects in namespace {class}); no new object can be created"),
            )));
        }
        *count += 1;
        Ok(())
    }

    /// Meters one finished event of an object (usage and metrics).
    pub(crate) fn meter(
        &self,
        label: &Label,
        started: std::time::Instant,
        reply: &Result<EventOutput, EventError>,
        mut used: crate::usage::Counters,
        instance: Option<&Instance>,
    ) {
        use crate::metrics::{Kind, Outcome, limit_of_message, metrics};
        let elapsed = started.elapsed();
        let outcome = match reply {
            Ok(_) => Outcome::Ok,
            Err(EventError::Js(_)) => Outcome::Exception,
            Err(EventError::Internal(m)) if limit_of_message(m).is_some() => Outcome::Limit,
            Err(EventError::Internal(_)) => Outcome::Error,
        };
        metrics().request(Kind::Object, outcome, elapsed);
        used.requests += 1;
        used.errors += reply.is_err() as u64;
        used.wall_ms += elapsed.as_millis() as u64;
        let storage = if used.rows_written > 0 {
            instance.and_then(|i| i.state().storage.opened()).and_then(|db| db.metered_size())
        } else {
            None
        };
        let key = crate::usage::Key { namespace: label.namespace.clone(), object: label.object.clone(), facet: String::new() };
        self.usage.record(key, used, storage);
    }

    fn services(&self) -> Arc<dyn Services> {
        self.this.upgrade().expect("registry is alive while it serves")
    }

    /// The number of objects alive right now.
    pub fn live_objects(&self) -> usize {
        self.objects.lock().expect("objects lock").len()
    }

    fn class_of(&self, binding: &str) -> Result<&str, JsError> {
        self.code
            .namespaces
            .get(binding)
            .map(String::as_str)
            .ok_or_else(|| JsError::new("TypeError", format!("no Durable Object namespace is bound as {binding}")))
    }

    /// Serves an HTTP request with the main module's default export, in a
    /// pooled instance of the entry worker; a streamed body is read whole.
    pub async fn fetch_entry(&self, request: HttpRequest) -> Result<HttpResponse, EventError> {
        let (mut response, body) = self.fetch_entry_streaming(request).await?;
        if let Some(mut body) = body {
            while let Some(chunk) = body.recv().await {
                response.body.extend_from_slice(&chunk.map_err(|e| EventError::Internal(e.to_string()))?);
            }
        }
        Ok(response)
    }

    /// Serves an HTTP request with the main module's default export. When the
    /// handler answers with a stream, the head comes back at once with a
    /// receiver of the body's chunks: a task pulls them from the instance
    /// (which rejoins the pool when the body is done).
    pub async fn fetch_entry_streaming(&self, request: HttpRequest) -> Result<(HttpResponse, Option<BodyReceiver>), EventError> {
        let pooled = self.entry_pool.lock().expect("pool lock").pop();
        let mut instance = match pooled {
            Some(i) => i,
            None => {
                let metrics = crate::metrics::metrics();
                let mut i = metrics
                    .timed(
                        Starting::Worker,
                        Phase::Instantiate,
                        self.runtime.instantiate_with_room(self.services(), Label::default(), || crate::storage::Storage::None),
                    )
                    .await
                    .map_err(|e| EventError::Internal(format!("could not start the worker: {e:#}")))?;
                match metrics.timed(Starting::Worker, Phase::Load, i.load(&self.code.worker)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(js)) => return Err(EventError::Js(js)),
                    Err(trap) => return Err(EventError::Internal(format!("the worker trapped while loading: {trap:#}"))),
                }
                i
            }
        };
        instance.state_mut().chain = Arc::new(Vec::new());
        match instance.fetch_streaming(Entry::DefaultExport, &request).await {
            Ok(Ok((mut response, true))) => {
                // The first chunk is pulled before the head goes out, so that
                // a stream that fails at once fails the request (a 500).
                let first = match instance.pull().await {
                    Ok(Ok(Some(chunk))) => chunk,
                    Ok(Ok(None)) => {
                        response.body.clear();
                        self.pool_entry(instance);
                        return Ok((response, None));
                    }
                    Ok(Err(js)) => {
                        self.pool_entry(instance);
                        return Err(EventError::Js(js));
                    }
                    Err(trap) => return Err(EventError::Internal(crate::engine::describe_trap(&trap))),
                };
                let (tx, rx) = mpsc::channel(4);
                let first_len = first.len() as u64;
                let _ = tx.try_send(Ok(bytes::Bytes::from(first)));
                let registry = self.this.upgrade().expect("registry is alive while it serves");
                self.tasks.spawn(async move {
                    if stream_body(&mut instance, tx, first_len, registry.runtime.max_streamed_response_bytes()).await {
                        registry.release_entry(instance).await;
                    }
                });
                Ok((response, Some(rx)))
            }
            Ok(result) => {
                if instance.drain_pending() {
                    let registry = self.this.upgrade().expect("registry is alive while it serves");
                    self.tasks.spawn(async move { registry.release_entry(instance).await });
                } else {
                    self.pool_entry(instance);
                }
                result.map(|(response, _)| (response, None)).map_err(EventError::Js)
            }
            Err(trap) => Err(EventError::Internal(crate::engine::describe_trap(&trap))),
        }
    }

    /// Takes an instance that loaded the entry worker outside the registry
    /// (the start-up check, which ran without services) into the pool that
    /// serves requests, with this registry's services.
    pub fn adopt_entry(&self, mut instance: Instance) {
        instance.state_mut().services = self.services();
        self.pool_entry(instance);
    }

    fn pool_entry(&self, instance: Instance) {
        let mut pool = self.entry_pool.lock().expect("pool lock");
        if pool.len() < ENTRY_POOL_MAX {
            pool.push(instance);
        }
    }

    /// Drives the `ctx.waitUntil` work of an entry-worker instance's last
    /// event, then returns it to the pool (unless it trapped).
    async fn release_entry(&self, mut instance: Instance) {
        match instance.drain().await {
            Ok(Ok(())) => {}
            Ok(Err(js)) => tracing::error!(object = "worker", "waitUntil: uncaught {}: {}", js.name, js.message),
            Err(trap) => {
                tracing::error!(object = "worker", "waitUntil: {}", crate::engine::describe_trap(&trap));
                return;
            }
        }
        self.pool_entry(instance);
    }

    /// Sends `request` to the object `id` of `class`, starting it if needed.
    pub async fn fetch_object(
        &self,
        class: &str,
        id: ObjectId,
        request: HttpRequest,
        chain: Arc<Vec<String>>,
    ) -> Result<HttpResponse, EventError> {
        match self.send_event(class, id, EventKind::Fetch(request), chain).await? {
            EventOutput::Response(r) => Ok(r),
            EventOutput::Value(_) => Err(EventError::Internal("unexpected RPC answer to a fetch".into())),
        }
    }

    /// Calls an RPC method of the object `id` of `class`.
    pub async fn call_object(
        &self,
        class: &str,
        id: ObjectId,
        method: String,
        args: Vec<u8>,
        chain: Arc<Vec<String>>,
    ) -> Result<Vec<u8>, EventError> {
        match self.send_event(class, id, EventKind::Call { method, args }, chain).await? {
            EventOutput::Value(v) => Ok(v),
            EventOutput::Response(_) => Err(EventError::Internal("unexpected HTTP answer to an RPC call".into())),
        }
    }

    async fn send_event(
        &self,
        class: &str,
        id: ObjectId,
        kind: EventKind,
        chain: Arc<Vec<String>>,
    ) -> Result<EventOutput, EventError> {
        let key_label = format!("{class}:{}", id.hex);
        if chain.contains(&key_label) {
            return Err(EventError::Js(JsError::new(
                "Error",
                format!(
                    "deadlock: Durable Object {class} {} is already handling the event that calls it (re-entrant calls are not supported yet)",
                    id.name.as_deref().unwrap_or(&id.hex)
                ),
            )));
        }
        let registry = self.this.upgrade().expect("registry is alive while it serves");
        let class = class.to_string();
        let event = async move {
            let mut kind = Some(kind);
            // An object evicted meanwhile has a new entry (or gets one here).
            for _ in 0..3 {
                let entry = registry.object_entry(&class, &id)?;
                let queued = {
                    let mut turn = entry.turn();
                    if turn.gone {
                        continue;
                    }
                    if turn.running {
                        let (reply, rx) = oneshot::channel();
                        let kind = kind.take().expect("an event is sent once");
                        turn.waiting.push_back(actor::Queued { kind, chain: chain.clone(), reply });
                        Some(rx)
                    } else {
                        turn.running = true;
                        turn.idle_since = None;
                        None
                    }
                };
                if let Some(rx) = queued {
                    return rx.await.unwrap_or_else(|_| Err(EventError::Internal("the object stopped before answering".into())));
                }
                let held = TurnHeld { entry: entry.clone(), given_back: false };
                let mut state = entry.state.clone().lock_owned().await;
                let kind = kind.take().expect("an event is sent once");
                let reply = actor::run_event(&registry, &class, &id, &entry.label, &mut state, kind, chain)
                    .instrument(entry.span.clone())
                    .await;
                registry.next_turn(class, id, held, state);
                return reply;
            }
            Err(EventError::Internal("the object could not be started".into()))
        };
        Detached { event: Some(Box::pin(event)), tasks: self.tasks.clone() }.await
    }

    /// After an event that ran in its caller's task: the object is free
    /// again, unless events came meanwhile or `ctx.waitUntil` work is left;
    /// then one task works them off (the work first, after the response,
    /// as on Cloudflare) and frees the object when its queue is empty.
    fn next_turn(self: &Arc<Self>, class: String, id: ObjectId, mut held: TurnHeld, state: OwnedMutexGuard<actor::ObjectState>) {
        let first = if actor::drain_pending(&state) { None } else { held.next_or_give_back() };
        if held.given_back {
            return;
        }
        let span = held.entry.span.clone();
        self.tasks.spawn(self.clone().work_off(class, id, held, state, first).instrument(span));
    }

    /// Works off the object's queue (`first`, then `waitUntil` work and the
    /// events waiting, in turn) and gives its turn back.
    async fn work_off(
        self: Arc<Self>,
        class: String,
        id: ObjectId,
        mut held: TurnHeld,
        mut state: OwnedMutexGuard<actor::ObjectState>,
        first: Option<actor::Queued>,
    ) {
        let entry = held.entry.clone();
        let mut next = first;
        loop {
            if next.is_none() {
                actor::drain_state(&mut state, &entry.label).await;
                next = held.next_or_give_back();
            }
            let Some(event) = next.take() else { return };
            // (Run even when its caller went away: an event that was sent runs.)
            let reply = actor::run_event(&self, &class, &id, &entry.label, &mut state, event.kind, event.chain).await;
            let _ = event.reply.send(reply);
        }
    }

    /// The object's entry, made (with its lock free and no instance yet)
    /// if it has none.
    fn object_entry(&self, class: &str, id: &ObjectId) -> Result<ObjectEntry, EventError> {
        let key = (class.to_string(), id.hex.clone());
        let mut objects = self.objects.lock().expect("objects lock");
        // (A gone entry still here is one whose event panicked: replaced.)
        if let Some(entry) = objects.get(&key)
            && !entry.turn().gone
        {
            return Ok(entry.clone());
        }
        if self.closing.load(Ordering::Acquire) {
            return Err(EventError::Internal("the server is shutting down".into()));
        }
        let name = id.name.clone().unwrap_or_else(|| id.hex.clone());
        let entry = ObjectEntry {
            turn: Arc::default(),
            state: Arc::default(),
            span: crate::logs::object_span(class, &name, "main"),
            label: Arc::new(Label { namespace: class.to_string(), object: name, facet: String::new(), code: "main".into() }),
        };
        objects.insert(key, entry.clone());
        drop(objects);
        self.start_sweeping();
        Ok(entry)
    }

    /// Starts the task that evicts the objects idle for longer than the
    /// idle timeout (once). It looks every quarter of the timeout (at most
    /// every 5 s): one timer for all objects, which wakes a parked worker
    /// thread that seldom.
    fn start_sweeping(&self) {
        if self.sweeping.swap(true, Ordering::AcqRel) {
            return;
        }
        let timeout = self.options.idle_timeout;
        let period = (timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(5));
        let (this, stop) = (self.this.clone(), self.stop_sweeping.clone());
        self.tasks.spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let Some(registry) = this.upgrade() else { break };
                let now = Instant::now();
                registry.evict(|idle| idle.into_iter().filter(|(since, _)| now.duration_since(*since) >= timeout).map(|(_, k)| k).collect());
            }
        });
    }

    /// Evicts the idle objects that `pick` chooses among all idle ones
    /// (given with the time each became idle): their instances are dropped
    /// (databases closed); they come back on their next event. An object
    /// busy by the time it is evicted stays. The number evicted.
    fn evict(&self, pick: impl FnOnce(Vec<(Instant, ObjectKey)>) -> Vec<ObjectKey>) -> usize {
        let mut dropped = Vec::new();
        {
            let mut objects = self.objects.lock().expect("objects lock");
            let idle: Vec<(Instant, ObjectKey)> = objects
                .iter()
                .filter_map(|(k, e)| e.turn().idle_since.map(|t| (t, k.clone())))
                .collect();
            for key in pick(idle) {
                let Some(entry) = objects.get(&key).cloned() else { continue };
                let mut turn = entry.turn();
                // Its state is still locked just after its last event.
                let Ok(mut state) = entry.state.try_lock() else { continue };
                if turn.running {
                    continue;
                }
                turn.gone = true;
                dropped.push(state.instance.take());
                drop((state, turn));
                objects.remove(&key);
                crate::metrics::metrics().evictions.inc();
                tracing::debug!(object = %key.1, class = %key.0, "evicted an idle object");
            }
        }
        // (Closing the databases outside the map's lock.)
        let n = dropped.len();
        drop(dropped);
        n
    }

    /// Stops every object after the events already queued, and waits for
    /// their databases to close.
    pub async fn shutdown(&self) {
        self.closing.store(true, Ordering::Release);
        self.stop_sweeping.cancel();
        let entries: Vec<ObjectEntry> = self.objects.lock().expect("objects lock").drain().map(|(_, e)| e).collect();
        self.entry_pool.lock().expect("pool lock").clear();
        for entry in entries {
            // The events it runs or has queued go first.
            loop {
                {
                    let mut turn = entry.turn();
                    if !turn.running {
                        turn.gone = true;
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            entry.state.lock().await.instance = None;
        }
        self.tasks.close();
        self.tasks.wait().await;
        if let Err(e) = self.usage.flush() {
            tracing::warn!("writing the usage database failed: {e:#}");
        }
    }

    /// The host's limits beyond each event's.
    pub fn limits(&self) -> &crate::settings::HostLimits {
        &self.options.limits
    }

    fn object_id(&self, class: &str, name: &str) -> ObjectId {
        let digest = Sha256::new().chain_update(b"facets-object-id\0").chain_update(class).chain_update([0]).chain_update(name).finalize();
        ObjectId { hex: hex::encode(digest), name: Some(name.to_string()) }
    }
}

impl Services for Registry {
    fn id_from_name(&self, binding: &str, name: &str) -> Result<ObjectId, JsError> {
        let class = self.class_of(binding)?;
        Ok(self.object_id(class, name))
    }

    fn new_unique_id(&self, binding: &str) -> Result<ObjectId, JsError> {
        self.class_of(binding)?;
        let bytes: [u8; 32] = rand::random();
        Ok(ObjectId { hex: hex::encode(bytes), name: None })
    }

    fn id_from_string(&self, binding: &str, hex_id: &str) -> Result<ObjectId, JsError> {
        self.class_of(binding)?;
        if hex_id.len() != 64 || !hex_id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(JsError::new("TypeError", format!("Invalid Durable Object ID: must be 64 hex digits (got {hex_id:?})")));
        }
        Ok(ObjectId { hex: hex_id.to_ascii_lowercase(), name: None })
    }

    fn fetch(
        &self,
        chain: Arc<Vec<String>>,
        binding: String,
        id: ObjectId,
        request: HttpRequest,
    ) -> crate::engine::BoxFuture<Result<HttpResponse, JsError>> {
        let registry = self.this.upgrade().expect("registry is alive while it serves");
        Box::pin(async move {
            let class = registry.class_of(&binding)?.to_string();
            registry.fetch_object(&class, id, request, chain).await.map_err(EventError::into_js)
        })
    }

    fn call(
        &self,
        chain: Arc<Vec<String>>,
        binding: String,
        id: ObjectId,
        method: String,
        args: Vec<u8>,
    ) -> crate::engine::BoxFuture<Result<Vec<u8>, JsError>> {
        let registry = self.this.upgrade().expect("registry is alive while it serves");
        Box::pin(async move {
            let class = registry.class_of(&binding)?.to_string();
            registry.call_object(&class, id, method, args, chain).await.map_err(EventError::into_js)
        })
    }

    fn loader_has(&self, id: &str) -> bool {
        let hit = self.loaded.lock().expect("loader cache lock").get(id).is_some();
        crate::metrics::metrics().loader_cache(hit);
        hit
    }

    fn loader_load(
        &self,
        id: Option<String>,
        code: crate::engine::WorkerCode,
    ) -> crate::engine::BoxFuture<Result<String, JsError>> {
        let registry = self.this.upgrade().expect("registry is alive while it serves");
        Box::pin(async move {
            let limits = &registry.options.limits;
            let total: usize = code
                .modules
                .iter()
                .map(|m| match &m.content {
                    crate::engine::bindings::ModuleContent::JsSource(s)
                    | crate::engine::bindings::ModuleContent::Text(s)
                    | crate::engine::bindings::ModuleContent::Json(s) => s.len(),
                    crate::engine::bindings::ModuleContent::Data(d)
                    | crate::engine::bindings::ModuleContent::JsBytecode(d) => d.len(),
                })
                .sum();
            if code.modules.len() > limits.loaded_modules || total > limits.loaded_code_bytes {
                crate::metrics::metrics().limit_hit(crate::metrics::Limit::CodeSize);
                tracing::warn!("refused loaded code: {} modules, {total} bytes", code.modules.len());
                return Err(JsError::new(
                    "RangeError",
                    format!(
                        "loaded code is too large: {} modules, {total} bytes (at most {} modules and {} bytes)",
                        code.modules.len(),
                        limits.loaded_modules,
                        limits.loaded_code_bytes
                    ),
                ));
            }
            let worker = crate::worker::compile_loaded(&registry.runtime, code).await?;
            let key = id.unwrap_or_else(|| format!("anonymous:{}", hex::encode(rand::random::<[u8; 16]>())));
            registry.loaded.lock().expect("loader cache lock").put(key.clone(), Arc::new(worker));
            Ok(key)
        })
    }

    fn loaded(&self, key: &str) -> Option<Arc<crate::engine::Worker>> {
        self.loaded.lock().expect("loader cache lock").get(key).cloned()
    }

    fn runtime(&self) -> Arc<Runtime> {
        self.runtime.clone()
    }

    fn storage_options(&self) -> StorageOptions {
        self.options.storage.clone()
    }

    fn facet_code_stores(&self, key: &str) -> bool {
        !self.code_without_storage.lock().expect("hint lock").contains(key)
    }

    fn note_facet_code_stores(&self, key: &str, stored: bool) {
        let mut without = self.code_without_storage.lock().expect("hint lock");
        if stored {
            without.pop(key);
        } else {
            without.put(key.to_string(), ());
        }
    }

    fn host_limits(&self) -> crate::settings::HostLimits {
        self.options.limits.clone()
    }

    fn record_usage(&self, key: crate::usage::Key, used: crate::usage::Counters, storage_bytes: Option<u64>) {
        self.usage.record(key, used, storage_bytes);
    }

    fn usage_json(&self, key: &crate::usage::Key) -> Option<String> {
        match self.usage.get(key) {
            Ok(row) => row.and_then(|r| serde_json::to_string(&r).ok()),
            Err(e) => {
                tracing::warn!("reading the usage database failed: {e:#}");
                None
            }
        }
    }

    fn evict_idle(&self) -> bool {
        // Pooled instances of the entry worker go first.
        if !self.entry_pool.lock().expect("pool lock").drain(..).collect::<Vec<_>>().is_empty() {
            return true;
        }
        // Then an eighth of the idle objects (at least one), those idle the longest.
        self.evict(|mut idle| {
            idle.sort();
            let n = idle.len().div_ceil(8);
            idle.into_iter().take(n).map(|(_, k)| k).collect()
        }) > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> ObjectEntry {
        ObjectEntry {
            turn: Arc::default(),
            state: Arc::default(),
            label: Arc::new(Label::default()),
            span: tracing::Span::none(),
        }
    }

    fn queue(entry: &ObjectEntry) -> oneshot::Receiver<Result<EventOutput, EventError>> {
        let (reply, rx) = oneshot::channel();
        let kind = EventKind::Call { method: "m".into(), args: Vec::new() };
        entry.turn().waiting.push_back(actor::Queued { kind, chain: Arc::new(Vec::new()), reply });
        rx
    }

    /// The events waiting are handed out in order, and with none left the
    /// object is idle and free again.
    #[test]
    fn a_turn_hands_out_the_waiting_events_then_frees_the_object() {
        let e = entry();
        e.turn().running = true;
        let (_a, _b) = (queue(&e), queue(&e));
        let mut held = TurnHeld { entry: e.clone(), given_back: false };
        for method in ["m", "m"] {
            let next = held.next_or_give_back().expect("an event waits");
            assert!(matches!(next.kind, EventKind::Call { method: ref m, .. } if m == method));
        }
        assert!(held.next_or_give_back().is_none());
        drop(held);
        let turn = e.turn();
        assert!(!turn.running && !turn.gone, "given back: free, not gone");
        assert!(turn.idle_since.is_some(), "idle since it was given back");
    }

    /// A turn dropped without being given back (an event that panicked)
    /// fails the events waiting and marks the object gone, so that the
    /// next event starts it afresh instead of waiting forever.
    #[test]
    fn a_turn_dropped_midway_fails_the_waiting_events_and_marks_the_object_gone() {
        let e = entry();
        e.turn().running = true;
        let mut waiting = queue(&e);
        drop(TurnHeld { entry: e.clone(), given_back: false });
        assert!(matches!(waiting.try_recv(), Err(oneshot::error::TryRecvError::Closed)), "the waiting event got no answer");
        let turn = e.turn();
        assert!(turn.gone && !turn.running && turn.waiting.is_empty());
    }
}
