//! One object's state (its engine instance and its database) and how its
//! events run: one at a time, in arrival order, each committing its writes
//! before its response is returned.
//!
//! An event that finds its object free runs in the caller's task, with no
//! hop to another task and back: that hop woke the runtime's other worker
//! thread for most events (an eventfd write and a context switch on each
//! side), a fifth of a warm request through a supervisor and its facet in
//! process. An event that finds it busy joins its queue, and the queue is
//! worked off by one task until it is empty, as an actor would: handing the
//! object from task to task at every event of a busy object cost a fifth of
//! the throughput of one object under 4 concurrent connections.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::sync::oneshot;

use super::{EventError, EventKind, EventOutput, Registry};
use crate::engine::{Entry, Instance, Label, ObjectId};
use crate::metrics::{Phase, Starting};
use crate::storage::Storage;

/// The object's instance; locked only by whoever runs its events (see
/// [`Turn`]), and by its eviction when it is idle.
#[derive(Default)]
pub(crate) struct ObjectState {
    /// Started by the first event; dropped when it traps or the object is evicted.
    pub(crate) instance: Option<Instance>,
}

/// Whose turn it is.
#[derive(Default)]
pub(crate) struct Turn {
    /// An event runs, or the queue is being worked off.
    pub(crate) running: bool,
    /// Since when it has been idle (`None` while it runs, or before its
    /// first event): what eviction goes by.
    pub(crate) idle_since: Option<std::time::Instant>,
    /// The object left the registry (evicted, shut down) or an event of it
    /// panicked: an event that holds this entry goes to the object's new one.
    pub(crate) gone: bool,
    /// Events that came while it ran.
    pub(crate) waiting: VecDeque<Queued>,
}

pub(crate) struct Queued {
    pub(crate) kind: EventKind,
    pub(crate) chain: Arc<Vec<String>>,
    pub(crate) reply: oneshot::Sender<Result<EventOutput, EventError>>,
}

/// Runs one event on the object whose state the caller has locked.
pub(crate) async fn run_event(
    registry: &Registry,
    class: &str,
    id: &ObjectId,
    label: &Label,
    state: &mut ObjectState,
    kind: EventKind,
    chain: Arc<Vec<String>>,
) -> Result<EventOutput, EventError> {
    let started = std::time::Instant::now();
    if state.instance.is_none() {
        match start(registry, class, id, label).await {
            Ok(i) => state.instance = Some(i),
            Err(e) => {
                tracing::error!(object = %label, "could not start the object: {e}");
                return Err(e);
            }
        }
    }
    let inst = state.instance.as_mut().expect("started above");
    let mut chain = (*chain).clone();
    chain.push(format!("{class}:{}", id.hex));
    inst.state_mut().chain = Arc::new(chain);

    if let Err(e) = inst.state_mut().storage.begin_event() {
        return Err(EventError::Internal(format!("storage: {e}")));
    }
    let outcome = match &kind {
        EventKind::Fetch(request) => inst.fetch(Entry::DurableObject, request).await.map(|r| r.map(EventOutput::Response)),
        EventKind::Call { method, args } => inst.call(Entry::DurableObject, method, args).await.map(|r| r.map(EventOutput::Value)),
    };
    let used = inst.state_mut().usage.take();
    let db = &mut inst.state_mut().storage;
    let reply = match outcome {
        // A JS exception does not undo the writes made before it (as on Cloudflare).
        Ok(result) => match db.commit_event() {
            // SQLite rolled the event back itself (e.g. SQLITE_FULL); the
            // code saw that error, and its answer still goes out.
            Ok(()) | Err(crate::storage::StorageError::EventAborted) => result.map_err(|js| {
                tracing::error!(object = %label, stack = js.stack.as_deref().unwrap_or(""), "uncaught {}: {}", js.name, js.message);
                EventError::Js(js)
            }),
            Err(e) => {
                tracing::error!(object = %label, "commit failed: {e}");
                let _ = db.rollback_event();
                Err(EventError::Internal(format!("storage commit failed: {e}")))
            }
        },
        Err(trap) => {
            let _ = db.rollback_event();
            let described = crate::engine::describe_trap(&trap);
            tracing::error!(object = %label, "discarding the instance: {described}");
            state.instance = None;
            Err(EventError::Internal(described))
        }
    };
    registry.meter(label, started, &reply, used, state.instance.as_ref());
    reply
}

/// Whether the object's last event left `ctx.waitUntil` work to drive.
pub(crate) fn drain_pending(state: &ObjectState) -> bool {
    state.instance.as_ref().is_some_and(Instance::drain_pending)
}

/// Drives the `ctx.waitUntil` work left by the last event, after its
/// response, before the next event, in a transaction of its own.
pub(crate) async fn drain_state(state: &mut ObjectState, label: &Label) {
    if let Some(inst) = state.instance.as_mut()
        && inst.drain_pending()
        && !drain(inst, label).await
    {
        state.instance = None;
    }
}

/// Runs the `ctx.waitUntil` work of the last event; `false` when the instance
/// trapped (a limit) and must be discarded.
async fn drain(inst: &mut Instance, label: &Label) -> bool {
    if let Err(e) = inst.state_mut().storage.begin_event() {
        tracing::error!(object = %label, "waitUntil: storage: {e}");
        return true;
    }
    let outcome = inst.drain().await;
    let db = &mut inst.state_mut().storage;
    match outcome {
        Ok(result) => {
            if let Err(e) = db.commit_event()
                && !matches!(e, crate::storage::StorageError::EventAborted)
            {
                tracing::error!(object = %label, "waitUntil: commit failed: {e}");
                let _ = db.rollback_event();
            }
            if let Err(js) = result {
                tracing::error!(object = %label, "waitUntil: uncaught {}: {}", js.name, js.message);
            }
            true
        }
        Err(trap) => {
            let _ = db.rollback_event();
            tracing::error!(object = %label, "waitUntil: discarding the instance: {}", crate::engine::describe_trap(&trap));
            false
        }
    }
}

async fn start(registry: &Registry, class: &str, id: &ObjectId, label: &Label) -> Result<Instance, EventError> {
    let dir = registry.options.data_dir.join(class).join(&id.hex);
    let path = dir.join("state.sqlite");
    // The database (and the object's folder) is made when the code first
    // uses storage; only then does the object count against the limit.
    let admit = || -> crate::storage::Admit {
        let (registry, class, dir) = (registry.this.clone(), class.to_string(), dir.clone());
        Box::new(move || match registry.upgrade() {
            Some(registry) => registry.admit_object(&class, &dir).map_err(|e| e.into_js().message),
            None => Err("the server is shutting down".into()),
        })
    };
    let metrics = crate::metrics::metrics();
    let mut instance = metrics
        .timed(
            Starting::Object,
            Phase::Instantiate,
            registry
                .runtime
                .instantiate_with_room(registry.services(), label.clone(), || Storage::lazy(path.clone(), registry.options.storage.clone(), admit())),
        )
        .await
        .map_err(|e| EventError::Internal(format!("could not start {label}: {e:#}")))?;
    instance.state_mut().facet_dir = Some(dir.join("facets"));
    match metrics.timed(Starting::Object, Phase::Load, instance.load(&registry.code.worker)).await {
        Ok(Ok(())) => {}
        Ok(Err(js)) => return Err(EventError::Js(js)),
        Err(trap) => return Err(EventError::Internal(format!("{label} trapped while loading: {trap:#}"))),
    }
    match metrics.timed(Starting::Object, Phase::Construct, instance.start_object(class, id)).await {
        Ok(Ok(())) => Ok(instance),
        Ok(Err(js)) => Err(EventError::Js(js)),
        Err(trap) => Err(EventError::Internal(format!("{label} trapped in its constructor: {trap:#}"))),
    }
}
