//! The facets engine: QuickJS (through Javy's plugin API) plus the Workers
//! runtime, built for `wasm32-wasip1`, pre-initialized with Wizer and turned
//! into a component whose world is `wit/engine.wit`.
//!
//! # Layout
//! - [`sys`]: every `unsafe` block (exports Javy and the component model need).
//! - [`bridge`]: native functions the JS runtime calls (kv, stubs, log, url).
//! - [`clone`]: the structured clone of plain data (JS does the rest).
//! - [`crypto`], [`encoding`]: native halves of `crypto.subtle`, `btoa`/`atob`, `TextDecoder`.
//! - [`modules`]: the worker's modules and QuickJS's resolver/loader for them.
//! - [`dispatch`]: the exported `dispatch` interface (load, start-object, fetch, compile).
//! - `js/*.js`: the user-facing classes (DurableObject, Request, Response,
//!   Headers, URL, storage, stubs, console), joined by `build.rs` into one
//!   source that is evaluated once at pre-initialization.

mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "engine-imports",
    });
}

mod bridge;
mod clone;
mod crypto;
mod dispatch;
mod encoding;
mod modules;
#[cfg(feature = "profile")]
mod profile;
mod sys;
mod web;

use std::cell::RefCell;

use javy_plugin_api::Config;
use javy_plugin_api::javy::Runtime;
use javy_plugin_api::javy::quickjs::{Context, Ctx, Function, Module, Object, Persistent};

javy_plugin_api::import_namespace!("facets-engine-v1");

/// The runtime's JS half, evaluated at pre-initialization.
const RUNTIME_JS: &str = include_str!(concat!(env!("OUT_DIR"), "/runtime.js"));

/// The source of the built-in `cloudflare:workers` module.
const CLOUDFLARE_WORKERS_JS: &str = r#"
const rt = globalThis.__facets_runtime;
export const DurableObject = rt.DurableObject;
export const WorkerEntrypoint = rt.WorkerEntrypoint;
export const RpcTarget = rt.RpcTarget;
export const env = rt.env;
export default { DurableObject, WorkerEntrypoint, RpcTarget };
"#;

thread_local! {
    /// The QuickJS context created at pre-initialization (baked into the snapshot).
    static CONTEXT: RefCell<Option<Context>> = const { RefCell::new(None) };
    /// The runtime's internal object (dispatch functions), hidden from user code.
    static INTERNAL: RefCell<Option<Persistent<Object<'static>>>> = const { RefCell::new(None) };
    /// The internal object's functions that every event calls, taken once
    /// (getting one by name hashes its name into an atom each time).
    static HOOKS: RefCell<Option<Hooks>> = const { RefCell::new(None) };
}

/// See [`HOOKS`].
struct Hooks {
    fetch: Persistent<Function<'static>>,
    finish_fetch: Persistent<Function<'static>>,
    call: Persistent<Function<'static>>,
    finish_call: Persistent<Function<'static>>,
    loop_turn: Persistent<Function<'static>>,
}

/// Which of [`Hooks`] to take.
#[derive(Clone, Copy)]
pub(crate) enum Hook {
    Fetch,
    FinishFetch,
    Call,
    FinishCall,
    LoopTurn,
}

/// One of the internal object's functions that every event calls.
pub(crate) fn hook<'js>(ctx: &Ctx<'js>, which: Hook) -> javy_plugin_api::javy::quickjs::Result<Function<'js>> {
    HOOKS.with(|h| {
        let h = h.borrow();
        let h = h.as_ref().expect("engine runtime is initialized");
        let f = match which {
            Hook::Fetch => &h.fetch,
            Hook::FinishFetch => &h.finish_fetch,
            Hook::Call => &h.call,
            Hook::FinishCall => &h.finish_call,
            Hook::LoopTurn => &h.loop_turn,
        };
        f.clone().restore(ctx)
    })
}

fn config() -> Config {
    let mut config = Config::default();
    config.event_loop(true);
    config
}

fn modify_runtime(runtime: Runtime) -> Runtime {
    let context = runtime.context().clone();
    context.runtime().set_loader(modules::Resolver, modules::Loader);
    context.with(|ctx| {
        install(&ctx).unwrap_or_else(|e| {
            let err = dispatch::js_error(&ctx, e);
            panic!("facets runtime failed to initialize: {}: {}", err.name, err.message)
        })
    });
    CONTEXT.with(|c| *c.borrow_mut() = Some(context));
    runtime
}

/// Evaluates the JS runtime, wires the native bridge into it and declares
/// `cloudflare:workers`; then removes the private globals it used.
fn install<'js>(ctx: &Ctx<'js>) -> javy_plugin_api::javy::quickjs::Result<()> {
    let factory: Function = ctx.eval(RUNTIME_JS)?;
    let host = bridge::host_object(ctx)?;
    let internal: Object = factory.call((host,))?;
    let globals = ctx.globals();
    globals.set("__facets_runtime", internal.clone())?;
    let (_module, promise) = Module::declare(ctx.clone(), "cloudflare:workers", CLOUDFLARE_WORKERS_JS)?.eval()?;
    promise.finish::<()>()?;
    globals.remove("__facets_runtime")?;
    let take = |name: &str| -> javy_plugin_api::javy::quickjs::Result<Persistent<Function<'static>>> {
        Ok(Persistent::save(ctx, internal.get::<_, Function>(name)?))
    };
    let hooks = Hooks {
        fetch: take("fetch")?,
        finish_fetch: take("finishFetch")?,
        call: take("call")?,
        finish_call: take("finishCall")?,
        loop_turn: take("loopTurn")?,
    };
    HOOKS.with(|h| *h.borrow_mut() = Some(hooks));
    INTERNAL.with(|i| *i.borrow_mut() = Some(Persistent::save(ctx, internal)));
    #[cfg(feature = "profile")]
    profile::install(ctx)?;
    Ok(())
}

/// Runs `f` inside the engine's context with the runtime's internal object.
fn with_internal<R>(f: impl for<'js> FnOnce(&Ctx<'js>, Object<'js>) -> R) -> R {
    CONTEXT.with(|c| {
        let context = c.borrow();
        let context = context.as_ref().expect("engine runtime is initialized");
        context.with(|ctx| {
            let internal = INTERNAL
                .with(|i| i.borrow().clone())
                .expect("engine runtime is initialized")
                .restore(&ctx)
                .expect("internal object belongs to this runtime");
            f(&ctx, internal)
        })
    })
}


bindings::export!(Engine with_types_in bindings);
use dispatch::Engine;
