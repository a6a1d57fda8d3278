//! The host side of the engine's imports. Every call acts on the calling
//! instance's own state only: its database, its namespaces, its label.

use crate::metrics::{Phase, Starting};
use super::{Entry, FacetSlot, HostState, Label, MAX_FACET_DEPTH};
use std::sync::Arc;

use super::bindings::facets::runtime::{facets, io, kv, loader, log, sql, stubs, types};
use super::bindings::{HttpRequest, HttpResponse, JsError, ObjectId};
use crate::storage::{Database, KvListOptions};

type Res<T> = wasmtime::Result<Result<T, JsError>>;

impl types::Host for HostState {}

impl HostState {
    fn database(&mut self) -> Result<&mut Database, JsError> {
        let opening = self.storage.is_unopened().then(std::time::Instant::now);
        let db = self.storage.database();
        if let Some(started) = opening {
            let kind = if self.label.facet.is_empty() { Starting::Object } else { Starting::Facet };
            crate::metrics::metrics().start_phase(kind, Phase::StorageOpen, started.elapsed());
            if kind == Starting::Facet && matches!(db, Some(Ok(_))) {
                self.services.note_facet_code_stores(&self.label.code, true);
            }
        }
        match db {
            Some(db) => db.map_err(storage_error),
            None => Err(JsError::new("Error", "storage is only available inside a Durable Object (this is the stateless worker)")),
        }
    }
}

fn storage_error(e: crate::storage::StorageError) -> JsError {
    let message = e.to_string();
    if message.contains("SQLITE_FULL") {
        crate::metrics::metrics().limit_hit(crate::metrics::Limit::Storage);
    }
    JsError::new("Error", message)
}

impl kv::Host for HostState {
    async fn get(&mut self, key: String) -> Res<Option<Vec<u8>>> {
        self.usage.rows_read += 1;
        Ok(self.database().and_then(|db| db.kv_get(&key).map_err(storage_error)))
    }

    async fn put(&mut self, key: String, value: Vec<u8>) -> Res<()> {
        self.usage.rows_written += 1;
        Ok(self.database().and_then(|db| db.kv_put(&key, &value).map_err(storage_error)))
    }

    async fn delete(&mut self, key: String) -> Res<bool> {
        self.usage.rows_written += 1;
        Ok(self.database().and_then(|db| db.kv_delete(&key).map_err(storage_error)))
    }

    async fn list(&mut self, options: kv::ListOptions) -> Res<Vec<(String, Vec<u8>)>> {
        let options = KvListOptions {
            prefix: options.prefix,
            start: options.start,
            start_after: options.start_after,
            end: options.end,
            reverse: options.reverse,
            limit: options.limit,
        };
        let listed = self.database().and_then(|db| db.kv_list(&options).map_err(storage_error));
        if let Ok(rows) = &listed {
            self.usage.rows_read += rows.len() as u64;
        }
        Ok(listed)
    }
}

impl HostState {
    /// Only namespaces granted to this instance's worker can be named.
    fn check_namespace(&self, binding: &str) -> Result<(), JsError> {
        if self.namespaces.iter().any(|b| b == binding) {
            Ok(())
        } else {
            Err(JsError::new("TypeError", format!("no Durable Object namespace is bound as {binding}")))
        }
    }
}

impl stubs::Host for HostState {
    async fn id_from_name(&mut self, binding: String, name: String) -> Res<ObjectId> {
        Ok(self.check_namespace(&binding).and_then(|()| self.services.id_from_name(&binding, &name)))
    }

    async fn new_unique_id(&mut self, binding: String) -> Res<ObjectId> {
        Ok(self.check_namespace(&binding).and_then(|()| self.services.new_unique_id(&binding)))
    }

    async fn id_from_string(&mut self, binding: String, hex: String) -> Res<ObjectId> {
        Ok(self.check_namespace(&binding).and_then(|()| self.services.id_from_string(&binding, &hex)))
    }

    async fn fetch(&mut self, binding: String, id: ObjectId, request: HttpRequest) -> Res<HttpResponse> {
        if let Err(e) = self.check_namespace(&binding).and_then(|()| self.subrequest()) {
            return Ok(Err(e));
        }
        let fut = self.services.fetch(self.chain.clone(), binding, id, request);
        let started = std::time::Instant::now();
        let result = fut.await;
        self.waited_since(started);
        Ok(result)
    }

    async fn call(&mut self, binding: String, id: ObjectId, method: String, args: Vec<u8>) -> Res<Vec<u8>> {
        if let Err(e) = self.check_namespace(&binding).and_then(|()| self.subrequest()) {
            return Ok(Err(e));
        }
        let fut = self.services.call(self.chain.clone(), binding, id, method, args);
        let started = std::time::Instant::now();
        let result = fut.await;
        self.waited_since(started);
        Ok(result)
    }
}

impl HostState {
    fn check_loader(&self, binding: &str) -> Result<(), JsError> {
        if self.loaders.iter().any(|b| b == binding) {
            Ok(())
        } else {
            Err(JsError::new("TypeError", format!("no Worker Loader is bound as {binding}")))
        }
    }

    /// A fresh instance running loaded code `key` (stateless entrypoints).
    async fn entrypoint_instance(&mut self, key: &str) -> Result<super::Instance, JsError> {
        self.subrequest()?;
        let runtime = self.services.runtime();
        runtime.make_room(&*self.services).await.map_err(|e| JsError::new("Error", e.to_string()))?;
        let worker = self.services.loaded(key).ok_or_else(|| {
            JsError::new("Error", format!("loaded code {key} is no longer in the loader's cache; call LOADER.get() again"))
        })?;
        let label = Label {
            namespace: self.label.namespace.clone(),
            object: format!("{}/worker:{key}", self.label.object),
            facet: String::new(),
            code: key.to_string(),
        };
        let metrics = crate::metrics::metrics();
        let mut instance = metrics
            .timed(Starting::Worker, Phase::Instantiate, self.services.runtime().instantiate(self.services.clone(), label, crate::storage::Storage::None))
            .await
            .map_err(|e| JsError::new("Error", format!("could not start the loaded worker: {e:#}")))?;
        instance.state_mut().chain = self.chain.clone();
        match metrics.timed(Starting::Worker, Phase::Load, instance.load(&worker)).await {
            Ok(Ok(())) => Ok(instance),
            Ok(Err(e)) => Err(e),
            Err(trap) => Err(JsError::new("Error", format!("the loaded worker failed while loading: {trap}"))),
        }
    }
}

/// A loaded worker's instance is used for one event: its `ctx.waitUntil`
/// work (if any) goes on in a task of its own after the answer.
fn drain_later(mut instance: super::Instance) {
    if instance.drain_pending() {
        tokio::spawn(async move {
            let label = instance.state().label.clone();
            match instance.drain().await {
                Ok(Ok(())) => {}
                Ok(Err(js)) => tracing::error!(object = %label, "waitUntil: uncaught {}: {}", js.name, js.message),
                Err(trap) => tracing::error!(object = %label, "waitUntil: {}", super::describe_trap(&trap)),
            }
        });
    }
}

fn entry_of(entrypoint: Option<String>) -> Entry {
    match entrypoint {
        None => Entry::DefaultExport,
        Some(name) if name == "default" => Entry::DefaultExport,
        Some(name) => Entry::Named(name),
    }
}

fn trap_error(what: &str, trap: wasmtime::Error) -> JsError {
    match trap.downcast_ref::<super::LimitError>() {
        Some(limit) => JsError::new("Error", format!("{what}: {limit}")),
        None => JsError::new("Error", format!("{what} failed: {trap}")),
    }
}

impl loader::Host for HostState {
    async fn has(&mut self, binding: String, id: String) -> wasmtime::Result<bool> {
        Ok(self.check_loader(&binding).is_ok() && self.services.loader_has(&id))
    }

    async fn load(&mut self, binding: String, id: Option<String>, code: loader::WorkerCode) -> Res<String> {
        if let Err(e) = self.check_loader(&binding) {
            return Ok(Err(e));
        }
        // A worker can hand on only bindings it holds itself.
        for b in &code.bindings {
            let granted = match &b.value {
                types::BindingValue::WorkerLoader(id) => self.check_loader(id),
                types::BindingValue::DurableObjectNamespace(id) => self.check_namespace(id),
                types::BindingValue::Json(_) => Ok(()),
            };
            if let Err(e) = granted {
                return Ok(Err(e));
            }
        }
        if let Some(o) = &code.outbound
            && let Err(e) = self.check_namespace(&o.binding) {
                return Ok(Err(e));
            }
        Ok(self.services.loader_load(id, code).await)
    }

    async fn fetch(&mut self, key: String, entrypoint: Option<String>, request: HttpRequest) -> Res<HttpResponse> {
        let mut instance = match self.entrypoint_instance(&key).await {
            Ok(i) => i,
            Err(e) => return Ok(Err(e)),
        };
        let result = instance.fetch(entry_of(entrypoint), &request).await.unwrap_or_else(|t| Err(trap_error("the loaded worker", t)));
        drain_later(instance);
        Ok(result)
    }

    async fn call(&mut self, key: String, entrypoint: Option<String>, method: String, args: Vec<u8>) -> Res<Vec<u8>> {
        let mut instance = match self.entrypoint_instance(&key).await {
            Ok(i) => i,
            Err(e) => return Ok(Err(e)),
        };
        let result = instance
            .call(entry_of(entrypoint), &method, &args)
            .await
            .unwrap_or_else(|t| Err(trap_error("the loaded worker", t)));
        drain_later(instance);
        Ok(result)
    }
}

/// The file name of a facet's database (and of the folder of its own facets).
fn facet_file_stem(name: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(name.as_bytes())[..16])
}

impl HostState {
    fn facet_slot(&mut self, name: &str, generation: u32) -> Result<&mut FacetSlot, JsError> {
        match self.facets.get(name) {
            Some(slot) if slot.generation == generation => {}
            _ => {
                if let Some((g, reason)) = self.aborted.get(name)
                    && *g == generation {
                        return Err(JsError::new("Error", reason.clone()));
                    }
                return Err(JsError::new("Error", format!("facet \"{name}\" is not running (it was stopped or restarted); get a new stub with ctx.facets.get()")));
            }
        }
        Ok(self.facets.get_mut(name).expect("checked above"))
    }

    async fn start_facet(&mut self, name: &str, key: &str, class_name: &str, given_id: Option<ObjectId>) -> Result<u32, JsError> {
        if let Some(slot) = self.facets.get(name) {
            return Ok(slot.generation);
        }
        let Some(dir) = self.facet_dir.clone() else {
            return Err(JsError::new("Error", "ctx.facets is only available inside a Durable Object"));
        };
        let max_facets = self.services.host_limits().facets_per_object;
        if self.facets.len() >= max_facets {
            crate::metrics::metrics().limit_hit(crate::metrics::Limit::Facets);
            tracing::warn!(object = %self.label, "exceeded the facet limit ({max_facets} per object) starting facet \"{name}\"");
            return Err(JsError::new("Error", format!("exceeded the facet limit ({max_facets} running facets per object)")));
        }
        if self.depth >= MAX_FACET_DEPTH {
            return Err(JsError::new("Error", format!("facets cannot nest more than {MAX_FACET_DEPTH} levels deep")));
        }
        let worker = self.services.loaded(key).ok_or_else(|| {
            JsError::new("Error", format!("loaded code {key} is no longer in the loader's cache; call LOADER.get() again"))
        })?;
        let runtime = self.services.runtime();
        runtime.make_room(&*self.services).await.map_err(|e| JsError::new("Error", e.to_string()))?;
        let stem = facet_file_stem(name);
        // Made when the facet's code first uses storage, as an object's is;
        // opened ahead (on another thread, while the instance is made and
        // loaded) when the code is expected to store.
        let path = dir.join(format!("{stem}.sqlite"));
        let storage = if self.services.facet_code_stores(key) {
            crate::storage::Storage::ahead(path, self.services.storage_options())
        } else {
            crate::storage::Storage::lazy(path, self.services.storage_options(), Box::new(|| Ok(())))
        };
        let label = Label {
            namespace: self.label.namespace.clone(),
            object: self.label.object.clone(),
            facet: if self.label.facet.is_empty() { name.to_string() } else { format!("{}/{name}", self.label.facet) },
            code: key.to_string(),
        };
        let metrics = crate::metrics::metrics();
        let mut instance = metrics
            .timed(Starting::Facet, Phase::Instantiate, self.services.runtime().instantiate(self.services.clone(), label, storage))
            .await
            .map_err(|e| JsError::new("Error", format!("could not start facet \"{name}\": {e:#}")))?;
        {
            let state = instance.state_mut();
            state.facet_dir = Some(dir.join(&stem));
            state.depth = self.depth + 1;
        }
        metrics
            .timed(Starting::Facet, Phase::Load, instance.load(&worker))
            .await
            .unwrap_or_else(|t| Err(trap_error("loading the facet", t)))?;
        let id = given_id.unwrap_or_else(|| ObjectId {
            hex: {
                use sha2::Digest;
                hex::encode(sha2::Sha256::new().chain_update(self.label.object.as_bytes()).chain_update([0]).chain_update(name).finalize())
            },
            name: Some(name.to_string()),
        });
        {
            instance.state_mut().storage.begin_event().map_err(storage_error)?;
        }
        let started = metrics
            .timed(Starting::Facet, Phase::Construct, instance.start_object(class_name, &id))
            .await
            .unwrap_or_else(|t| Err(trap_error("starting the facet", t)));
        let storage = &mut instance.state_mut().storage;
        let _ = if started.is_ok() { storage.commit_event() } else { storage.rollback_event() };
        started?;
        let generation = self.next_generation;
        self.next_generation += 1;
        self.aborted.remove(name);
        self.facets.insert(name.to_string(), FacetSlot { instance: Box::new(instance), generation });
        Ok(generation)
    }

    /// Runs one event in a facet: its writes commit with it; a trap discards the facet.
    async fn facet_event<T>(
        &mut self,
        name: &str,
        generation: u32,
        run: impl AsyncFnOnce(&mut super::Instance) -> super::Outcome<T>,
    ) -> Result<T, JsError> {
        let started = std::time::Instant::now();
        let span = self.facets.get(name).map(|f| crate::logs::facet_span(name, &f.instance.state().label.code));
        let result = tracing::Instrument::instrument(self.facet_event_inner(name, generation, run), span.unwrap_or_else(tracing::Span::none)).await;
        let elapsed = started.elapsed();
        let outcome = match &result {
            Ok(_) => crate::metrics::Outcome::Ok,
            Err(e) if crate::metrics::limit_of_message(&e.message).is_some() => crate::metrics::Outcome::Limit,
            Err(_) => crate::metrics::Outcome::Exception,
        };
        crate::metrics::metrics().request(crate::metrics::Kind::Facet, outcome, elapsed);
        let facet = if self.label.facet.is_empty() { name.to_string() } else { format!("{}/{name}", self.label.facet) };
        let key = crate::usage::Key { namespace: self.label.namespace.clone(), object: self.label.object.clone(), facet };
        let mut used = crate::usage::Counters { requests: 1, errors: result.is_err() as u64, wall_ms: elapsed.as_millis() as u64, ..Default::default() };
        let mut storage = None;
        if let Some(slot) = self.facets.get_mut(name) {
            let state = slot.instance.state_mut();
            let drained = state.usage.take();
            if drained.rows_written > 0 {
                storage = state.storage.opened().and_then(|db| db.metered_size());
            }
            used.add(&drained);
        } else if let Some(lost) = self.lost_facet_usage.take() {
            used.add(&lost);
        }
        self.services.record_usage(key, used, storage);
        result
    }

    async fn facet_event_inner<T>(
        &mut self,
        name: &str,
        generation: u32,
        run: impl AsyncFnOnce(&mut super::Instance) -> super::Outcome<T>,
    ) -> Result<T, JsError> {
        let mut chain = (*self.chain).clone();
        chain.push(format!("{}/{name}", self.label));
        let slot = self.facet_slot(name, generation)?;
        let instance = &mut slot.instance;
        instance.state_mut().chain = Arc::new(chain);
        instance.state_mut().storage.begin_event().map_err(storage_error)?;
        let outcome = run(instance).await;
        let db = &mut instance.state_mut().storage;
        match outcome {
            Ok(result) => {
                match db.commit_event() {
                    // SQLite already rolled the event back (e.g. SQLITE_FULL); the code saw it.
                    Ok(()) | Err(crate::storage::StorageError::EventAborted) => {}
                    Err(e) => return Err(storage_error(e)),
                }
                if let Err(e) = &result {
                    tracing::warn!(object = %instance.state().label, "uncaught {}: {}", e.name, e.message);
                }
                // The facet's `ctx.waitUntil` work runs before its parent
                // goes on (a facet has no event loop of its own between
                // its parent's events), in a transaction of its own.
                if instance.drain_pending() {
                    instance.state_mut().storage.begin_event().map_err(storage_error)?;
                    let drained = instance.drain().await;
                    let db = &mut instance.state_mut().storage;
                    match drained {
                        Ok(js) => {
                            let _ = db.commit_event();
                            if let Err(js) = js {
                                tracing::error!(object = %instance.state().label, "waitUntil: uncaught {}: {}", js.name, js.message);
                            }
                        }
                        Err(trap) => {
                            let _ = db.rollback_event();
                            if let Some(mut slot) = self.facets.remove(name) {
                                self.lost_facet_usage = Some(slot.instance.state_mut().usage.take());
                            }
                            tracing::error!("facet \"{name}\": waitUntil: {}", super::describe_trap(&trap));
                        }
                    }
                }
                // Opened ahead on a guess (new code, or code whose last new
                // facet stored) and not used by this first event: given up,
                // and the next facet of this code opens lazily.
                if let Some(slot) = self.facets.get_mut(name)
                    && slot.instance.state_mut().storage.settle_ahead()
                {
                    self.services.note_facet_code_stores(&slot.instance.state().label.code, false);
                }
                result
            }
            Err(trap) => {
                let _ = db.rollback_event();
                let error = trap_error(&format!("facet \"{name}\""), trap);
                tracing::error!(object = %instance.state().label, "discarding the facet's instance: {}", error.message);
                if let Some(slot) = self.facets.remove(name) {
                    let mut slot = slot;
                    self.lost_facet_usage = Some(slot.instance.state_mut().usage.take());
                }
                Err(error)
            }
        }
    }
}

impl facets::Host for HostState {
    async fn running(&mut self, name: String) -> wasmtime::Result<Option<u32>> {
        Ok(self.facets.get(&name).map(|f| f.generation))
    }

    async fn start(&mut self, name: String, key: String, class_name: String, id: Option<ObjectId>) -> Res<u32> {
        Ok(self.start_facet(&name, &key, &class_name, id).await)
    }

    async fn fetch(&mut self, name: String, generation: u32, request: HttpRequest) -> Res<HttpResponse> {
        Ok(self.facet_event(&name, generation, async |i| i.fetch(Entry::DurableObject, &request).await).await)
    }

    async fn call(&mut self, name: String, generation: u32, method: String, args: Vec<u8>) -> Res<Vec<u8>> {
        Ok(self.facet_event(&name, generation, async |i| i.call(Entry::DurableObject, &method, &args).await).await)
    }

    async fn abort(&mut self, name: String, reason: String) -> wasmtime::Result<()> {
        if let Some(slot) = self.facets.remove(&name) {
            self.aborted.insert(name, (slot.generation, reason));
        }
        Ok(())
    }

    async fn usage(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        let facet = if self.label.facet.is_empty() { name.clone() } else { format!("{}/{name}", self.label.facet) };
        let key = crate::usage::Key { namespace: self.label.namespace.clone(), object: self.label.object.clone(), facet };
        // A size metering skipped since the facet's last write is read now:
        // the supervisor sees its facet's true size (say, to hold it to a quota).
        if let Some(size) = self.facets.get(&name).and_then(|slot| slot.instance.state().storage.opened()).and_then(|db| db.owed_size()) {
            self.services.record_usage(key.clone(), crate::usage::Counters::default(), Some(size));
        }
        Ok(self.services.usage_json(&key))
    }

    async fn delete(&mut self, name: String) -> Res<()> {
        if let Some(slot) = self.facets.remove(&name) {
            self.aborted.insert(name.clone(), (slot.generation, format!("facet \"{name}\" was deleted")));
            drop(slot);
        }
        let Some(dir) = self.facet_dir.clone() else { return Ok(Ok(())) };
        let stem = facet_file_stem(&name);
        for suffix in ["sqlite", "sqlite-wal", "sqlite-shm", "sqlite-journal"] {
            let _ = std::fs::remove_file(dir.join(format!("{stem}.{suffix}")));
        }
        let _ = std::fs::remove_dir_all(dir.join(&stem));
        Ok(Ok(()))
    }
}

impl log::Host for HostState {
    async fn write(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        // Console output per event is bounded: beyond the limit, lines are dropped (with one notice).
        self.console_used = self.console_used.saturating_add(message.len());
        if self.console_used > self.limits.console_bytes {
            crate::metrics::metrics().log_lines_dropped.inc();
            if !self.console_cut {
                self.console_cut = true;
                crate::metrics::metrics().limit_hit(crate::metrics::Limit::Console);
                tracing::warn!(target: "facets::console", object = %self.label, "exceeded the console output limit ({} bytes per event); dropping further output of this event", self.limits.console_bytes);
            }
            return Ok(());
        }
        let object = &self.label;
        match level {
            log::Level::Debug => tracing::debug!(target: "facets::console", %object, "{message}"),
            log::Level::Info | log::Level::Log => tracing::info!(target: "facets::console", %object, "{message}"),
            log::Level::Warn => tracing::warn!(target: "facets::console", %object, "{message}"),
            log::Level::Error => tracing::error!(target: "facets::console", %object, "{message}"),
        }
        Ok(())
    }
}

/// Largest result one `sql.exec` may return to the guest (it is copied into
/// the instance's memory; a bigger one fails instead of exhausting it).
pub const MAX_SQL_RESULT_BYTES: usize = 64 << 20;

fn to_sql(v: sql::SqlValue) -> crate::storage::SqlValue {
    use crate::storage::SqlValue as S;
    match v {
        sql::SqlValue::Null => S::Null,
        sql::SqlValue::Integer(i) => S::Integer(i),
        sql::SqlValue::Real(f) => S::Real(f),
        sql::SqlValue::Text(t) => S::Text(t),
        sql::SqlValue::Blob(b) => S::Blob(b),
    }
}

fn from_sql(v: crate::storage::SqlValue) -> sql::SqlValue {
    use crate::storage::SqlValue as S;
    match v {
        S::Null => sql::SqlValue::Null,
        S::Integer(i) => sql::SqlValue::Integer(i),
        S::Real(f) => sql::SqlValue::Real(f),
        S::Text(t) => sql::SqlValue::Text(t),
        S::Blob(b) => sql::SqlValue::Blob(b),
    }
}

impl sql::Host for HostState {
    async fn exec(&mut self, query: String, bindings: Vec<sql::SqlValue>) -> Res<sql::ExecResult> {
        let bindings: Vec<_> = bindings.into_iter().map(to_sql).collect();
        // The query runs in the host, outside the epoch's reach: give it what
        // is left of the event's CPU budget, and charge what it used.
        let tick = super::EPOCH_TICK.as_millis() as u64;
        let left_ms = (self.limits.cpu_ms as u64).saturating_sub(self.cpu_ticks as u64 * tick);
        let started = std::time::Instant::now();
        let result = self.database().and_then(|db| {
            db.set_deadline(Some(started + std::time::Duration::from_millis(left_ms)));
            db.sql_exec(&query, &bindings, MAX_SQL_RESULT_BYTES).map_err(storage_error)
        });
        if let Ok(r) = &result {
            self.usage.rows_read += r.rows_read;
            self.usage.rows_written += r.rows_written;
        }
        if let Some(db) = self.storage.opened() {
            db.set_deadline(None);
        }
        let used_ticks = (started.elapsed().as_millis() as u64 / tick) as u32;
        self.cpu_ticks = self.cpu_ticks.saturating_add(used_ticks);
        if started.elapsed().as_millis() as u64 >= left_ms {
            crate::metrics::metrics().limit_hit(crate::metrics::Limit::Cpu);
            return Err(wasmtime::Error::new(super::LimitError::Cpu(self.limits.cpu_ms)));
        }
        Ok(result.map(|r| {
            sql::ExecResult {
                columns: r.columns,
                rows: r.rows.into_iter().map(|row| row.into_iter().map(from_sql).collect()).collect(),
                rows_read: r.rows_read,
                rows_written: r.rows_written,
            }
        }))
    }

    async fn database_size(&mut self) -> Res<u64> {
        Ok(self.database().and_then(|db| db.database_size().map_err(storage_error)))
    }

    async fn delete_all(&mut self) -> Res<()> {
        Ok(self.database().and_then(|db| db.delete_all().map_err(storage_error)))
    }

    async fn transaction_begin(&mut self) -> Res<()> {
        Ok(self.database().and_then(|db| db.transaction_begin().map_err(storage_error)))
    }

    async fn transaction_commit(&mut self) -> Res<()> {
        Ok(self.database().and_then(|db| db.transaction_commit().map_err(storage_error)))
    }

    async fn transaction_rollback(&mut self) -> Res<()> {
        Ok(self.database().and_then(|db| db.transaction_rollback().map_err(storage_error)))
    }
}

/// The outbound fetches an instance has started (created on its first fetch).
pub struct IoState {
    next: u32,
    running: std::collections::HashMap<u32, tokio::task::AbortHandle>,
    done_tx: tokio::sync::mpsc::UnboundedSender<(u32, Result<io::FetchResponse, JsError>)>,
    done_rx: tokio::sync::mpsc::UnboundedReceiver<(u32, Result<io::FetchResponse, JsError>)>,
    results: std::collections::HashMap<u32, Result<io::FetchResponse, JsError>>,
}

impl IoState {
    fn new() -> IoState {
        let (done_tx, done_rx) = tokio::sync::mpsc::unbounded_channel();
        IoState { next: 1, running: Default::default(), done_tx, done_rx, results: Default::default() }
    }

    /// Moves a completed fetch's result aside; whether it was still wanted.
    fn complete(&mut self, handle: u32, result: Result<io::FetchResponse, JsError>) -> bool {
        if self.running.remove(&handle).is_some() {
            self.results.insert(handle, result);
            true
        } else {
            false
        }
    }
}

impl Drop for IoState {
    fn drop(&mut self) {
        for task in self.running.values() {
            task.abort();
        }
    }
}

impl io::Host for HostState {
    async fn fetch_start(&mut self, request: HttpRequest, redirect: io::RedirectMode) -> Res<u32> {
        if let Err(e) = self.subrequest() {
            return Ok(Err(e));
        }
        let state = self.io.get_or_insert_with(IoState::new);
        let handle = state.next;
        state.next = state.next.wrapping_add(1).max(1);
        let outbound = self.outbound.clone();
        let tx = state.done_tx.clone();
        let task = tokio::spawn(async move {
            let result = outbound.fetch(request, redirect).await;
            let _ = tx.send((handle, result));
        });
        state.running.insert(handle, task.abort_handle());
        Ok(Ok(handle))
    }

    async fn fetch_result(&mut self, handle: u32) -> Res<io::FetchResponse> {
        let result = self.io.as_mut().and_then(|io| io.results.remove(&handle));
        Ok(result.unwrap_or_else(|| Err(JsError::new("Error", format!("fetch handle {handle} has no result")))))
    }

    async fn cancel(&mut self, handle: u32) -> wasmtime::Result<()> {
        if let Some(io) = self.io.as_mut() {
            if let Some(task) = io.running.remove(&handle) {
                task.abort();
            }
            io.results.remove(&handle);
        }
        Ok(())
    }

    async fn wait(&mut self, timeout_ms: Option<u32>) -> wasmtime::Result<Vec<u32>> {
        let started = std::time::Instant::now();
        let deadline = self.deadline;
        if started >= deadline {
            return Err(wasmtime::Error::new(super::LimitError::WallTime(self.max_event_wall_ms)));
        }
        let until = match timeout_ms {
            Some(ms) => (started + std::time::Duration::from_millis(ms as u64)).min(deadline),
            None => deadline,
        };
        let until = tokio::time::Instant::from_std(until);
        let mut done = Vec::new();
        match self.io.as_mut() {
            Some(io) => {
                while let Ok((h, r)) = io.done_rx.try_recv() {
                    if io.complete(h, r) {
                        done.push(h);
                    }
                }
                while done.is_empty() {
                    tokio::select! {
                        msg = io.done_rx.recv() => match msg {
                            Some((h, r)) => if io.complete(h, r) { done.push(h) },
                            None => break,
                        },
                        _ = tokio::time::sleep_until(until) => break,
                    }
                }
                while let Ok((h, r)) = io.done_rx.try_recv() {
                    if io.complete(h, r) {
                        done.push(h);
                    }
                }
            }
            None => tokio::time::sleep_until(until).await,
        }
        self.waited_since(started);
        if done.is_empty() && std::time::Instant::now() >= deadline {
            return Err(wasmtime::Error::new(super::LimitError::WallTime(self.max_event_wall_ms)));
        }
        Ok(done)
    }

    async fn defer_drain(&mut self) -> wasmtime::Result<()> {
        self.drain_pending = true;
        Ok(())
    }

    async fn wall_clock_ms(&mut self) -> wasmtime::Result<f64> {
        let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Ok(since_epoch.as_secs_f64() * 1000.0)
    }

    async fn monotonic_clock_ms(&mut self) -> wasmtime::Result<f64> {
        static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        Ok(ORIGIN.get_or_init(std::time::Instant::now).elapsed().as_secs_f64() * 1000.0)
    }
}
