//! facets: Durable Objects with facets on WebAssembly.
//!
//! # Layout
//! - [`config`]: the worker project (`wrangler.jsonc` / `.json` / `.toml`) and its modules.
//! - [`storage`]: one SQLite database per object or facet; the KV table inside it.
//! - [`engine`]: the guest engine in Wasmtime (runtime, instances, host imports).
//! - [`worker`]: a project compiled to bytecode, ready for instances to load.
//! - [`object`]: Durable Objects: one live instance per id, events in order.
//! - [`http`]: the HTTP server.
//! - [`server`]: `facets serve`, tying the above together.
//! - [`artifact`]: the `.wasm` app artifact of `facets compile`.
//! - [`settings`]: the config's `limits` and `facets` sections (host settings).
//! - [`usage`], [`metrics`], [`logs`], [`admin`]: metering, Prometheus metrics,
//!   per-object logs, and the admin listener that serves them.
//! - [`threads`]: where helper threads start, and at what priority.

pub mod admin;
pub mod artifact;
pub mod config;
pub mod engine;
pub mod http;
pub mod logs;
pub mod metrics;
pub mod object;
pub mod server;
pub mod settings;
pub mod storage;
pub mod threads;
pub mod usage;
pub mod worker;
