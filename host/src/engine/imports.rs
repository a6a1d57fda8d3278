//! The host side of the engine's imports. Every call acts on the calling
//! instance's own state only: its database, its namespaces, its label.

use super::HostState;
use super::bindings::facets::runtime::{kv, log, sql, stubs, types};
use super::bindings::{HttpRequest, HttpResponse, JsError, ObjectId};
use crate::storage::{Database, KvListOptions};

type Res<T> = wasmtime::Result<Result<T, JsError>>;

impl types::Host for HostState {}

impl HostState {
    fn database(&mut self) -> Result<&mut Database, JsError> {
        self.db.as_mut().ok_or_else(|| {
            JsError::new("Error", "storage is only available inside a Durable Object (this is the stateless worker)")
        })
    }
}

fn storage_error(e: crate::storage::StorageError) -> JsError {
    JsError::new("Error", e.to_string())
}

impl kv::Host for HostState {
    async fn get(&mut self, key: String) -> Res<Option<Vec<u8>>> {
        Ok(self.database().and_then(|db| db.kv_get(&key).map_err(storage_error)))
    }

    async fn put(&mut self, key: String, value: Vec<u8>) -> Res<()> {
        Ok(self.database().and_then(|db| db.kv_put(&key, &value).map_err(storage_error)))
    }

    async fn delete(&mut self, key: String) -> Res<bool> {
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
        Ok(self.database().and_then(|db| db.kv_list(&options).map_err(storage_error)))
    }
}

impl stubs::Host for HostState {
    async fn id_from_name(&mut self, binding: String, name: String) -> Res<ObjectId> {
        Ok(self.services.id_from_name(&binding, &name))
    }

    async fn new_unique_id(&mut self, binding: String) -> Res<ObjectId> {
        Ok(self.services.new_unique_id(&binding))
    }

    async fn id_from_string(&mut self, binding: String, hex: String) -> Res<ObjectId> {
        Ok(self.services.id_from_string(&binding, &hex))
    }

    async fn fetch(&mut self, binding: String, id: ObjectId, request: HttpRequest) -> Res<HttpResponse> {
        let fut = self.services.fetch(self.chain.clone(), binding, id, request);
        Ok(fut.await)
    }
}

impl log::Host for HostState {
    async fn write(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
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

impl sql::Host for HostState {
    async fn exec(&mut self, query: String, bindings: Vec<sql::SqlValue>) -> Res<sql::ExecResult> {
        let _ = (query, bindings);
        Ok(self.database().and_then(|_| Err(JsError::new("Error", "ctx.storage.sql is not available yet"))))
    }

    async fn database_size(&mut self) -> Res<u64> {
        Ok(self.database().and_then(|db| db.size_bytes().map_err(storage_error)))
    }

    async fn delete_all(&mut self) -> Res<()> {
        Ok(self.database().and_then(|_| Err(JsError::new("Error", "deleteAll is not available yet"))))
    }

    async fn transaction_begin(&mut self) -> Res<()> {
        Ok(self.database().and_then(|_| Err(JsError::new("Error", "transactions are not available yet"))))
    }

    async fn transaction_commit(&mut self) -> Res<()> {
        Ok(self.database().and_then(|_| Err(JsError::new("Error", "transactions are not available yet"))))
    }

    async fn transaction_rollback(&mut self) -> Res<()> {
        Ok(self.database().and_then(|_| Err(JsError::new("Error", "transactions are not available yet"))))
    }
}
