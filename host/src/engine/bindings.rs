//! Typed bindings for the engine component's world (`wit/engine.wit`).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "engine",
    imports: { default: async | trappable },
    exports: { default: async },
});

pub use self::exports::facets::runtime::dispatch::{Entry, Worker};
pub use self::facets::runtime::types::{Binding, BindingValue, Limits, OutboundStub};
pub use self::facets::runtime::loader::WorkerCode;
pub use self::facets::runtime::types::{Module, ModuleContent};
pub use self::facets::runtime::log::Level;
pub use self::facets::runtime::types::{HttpRequest, HttpResponse, JsError, ObjectId};

impl JsError {
    pub fn new(name: &str, message: impl Into<String>) -> Self {
        JsError { name: name.to_string(), message: message.into(), stack: None }
    }
}
