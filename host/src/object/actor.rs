//! The task that owns one object: its engine instance and its database.
//! Events arrive on a channel and run one at a time; each event's writes
//! commit before its response is sent.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::{Event, EventError, EventKind, EventOutput, Registry};
use crate::engine::{Entry, Instance, Label, ObjectId};
use crate::metrics::{Phase, Starting};
use crate::storage::Storage;

pub(crate) async fn run(
    registry: Arc<Registry>,
    class: String,
    id: ObjectId,
    mut rx: mpsc::UnboundedReceiver<Event>,
    idle_since: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
) {
    let label = Label {
        namespace: class.clone(),
        object: id.name.clone().unwrap_or_else(|| id.hex.clone()),
        facet: String::new(),
        code: "main".into(),
    };
    let mut instance: Option<Instance> = None;
    let idle_timeout = registry.options.idle_timeout;
    // One idle timer for the actor's life, moved on only when it fires early:
    // a timer set anew for every event would wake the runtime's parked
    // worker thread each time (an eventfd write and a context switch).
    let idle = tokio::time::sleep(idle_timeout);
    tokio::pin!(idle);
    loop {
        let waiting_since = tokio::time::Instant::now();
        if let Ok(mut t) = idle_since.lock() {
            *t = Some(waiting_since.into_std());
        }
        // Evicted to make room: stop once the events already queued are done.
        if rx.is_empty() && !registry.is_registered(&class, &id.hex, &idle_since) {
            tracing::debug!(object = %label, "evicted to free an instance slot");
            break;
        }
        let event = loop {
            tokio::select! {
                biased;
                next = rx.recv() => break next,
                () = &mut idle => {
                    let due = waiting_since + idle_timeout;
                    if tokio::time::Instant::now() < due {
                        idle.as_mut().reset(due);
                        continue;
                    }
                    idle.as_mut().reset(tokio::time::Instant::now() + idle_timeout);
                    if registry.try_evict(&class, &id.hex, &rx) {
                        tracing::debug!(object = %label, "evicted idle object");
                        break None;
                    }
                }
            }
        };
        let Some(event) = event else { break };
        if let Ok(mut t) = idle_since.lock() {
            *t = None;
        }
        let started = std::time::Instant::now();
        if instance.is_none() {
            match start(&registry, &class, &id, &label).await {
                Ok(i) => instance = Some(i),
                Err(e) => {
                    tracing::error!(object = %label, "could not start the object: {e}");
                    let _ = event.reply.send(Err(e));
                    continue;
                }
            }
        }
        let inst = instance.as_mut().expect("started above");
        let mut chain = (*event.chain).clone();
        chain.push(format!("{class}:{}", id.hex));
        inst.state_mut().chain = Arc::new(chain);

        if let Err(e) = inst.state_mut().storage.begin_event() {
            let _ = event.reply.send(Err(EventError::Internal(format!("storage: {e}"))));
            continue;
        }
        let outcome = match &event.kind {
            EventKind::Fetch(request) => inst.fetch(Entry::DurableObject, request).await.map(|r| r.map(EventOutput::Response)),
            EventKind::Call { method, args } => {
                inst.call(Entry::DurableObject, method, args).await.map(|r| r.map(EventOutput::Value))
            }
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
                instance = None;
                Err(EventError::Internal(described))
            }
        };
        registry.meter(&label, started, &reply, used, instance.as_ref());
        let _ = event.reply.send(reply);

        // `ctx.waitUntil` work left by the event: driven now, after the
        // response, before the next event, in a transaction of its own.
        if let Some(inst) = instance.as_mut()
            && inst.drain_pending()
            && !drain(inst, &label).await
        {
            instance = None;
        }
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
