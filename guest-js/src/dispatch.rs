//! The exported `dispatch` interface: the host's way into an instance.

use javy_plugin_api::javy::quickjs::{
    Array, CaughtError, Ctx, Error, Exception, FromJs, Function, Module, Object, Promise, Result, TypedArray, Value,
};

use crate::Hook;
use crate::bindings::facets::runtime::io;

use crate::bindings::facets::runtime::types::BindingValue;
use crate::bindings::exports::facets::runtime::dispatch::{
    Entry, Guest, HttpRequest, HttpResponse, JsError, ObjectId, Worker,
};

pub struct Engine;

impl Guest for Engine {
    fn compile(name: String, source: String) -> std::result::Result<Vec<u8>, JsError> {
        crate::modules::COMPILING.with(|c| c.set(true));
        let result = crate::with_internal(|ctx, _| {
            let compiled = Module::declare(ctx.clone(), name.as_str(), source).and_then(|m| {
                m.write(javy_plugin_api::javy::quickjs::WriteOptions {
                    strip_source: true,
                    ..Default::default()
                })
            });
            compiled.map_err(|e| js_error(ctx, e))
        });
        crate::modules::COMPILING.with(|c| c.set(false));
        result
    }

    fn load(worker: Worker) -> std::result::Result<(), JsError> {
        crate::modules::set_modules(worker.modules);
        crate::with_internal(|ctx, internal| {
            let run = || -> Result<()> {
                let bindings = Array::new(ctx.clone())?;
                for (i, b) in worker.bindings.into_iter().enumerate() {
                    let entry = Array::new(ctx.clone())?;
                    entry.set(0, b.name)?;
                    match b.value {
                        BindingValue::Json(text) => {
                            entry.set(1, "json")?;
                            entry.set(2, text)?;
                        }
                        BindingValue::DurableObjectNamespace(class) => {
                            entry.set(1, "durable-object-namespace")?;
                            entry.set(2, class)?;
                        }
                        BindingValue::WorkerLoader(id) => {
                            entry.set(1, "worker-loader")?;
                            entry.set(2, id)?;
                        }
                    }
                    bindings.set(i, entry)?;
                }
                let setup: Function = internal.get("setup")?;
                let env: Value = match worker.env {
                    Some(bytes) => TypedArray::<u8>::new(ctx.clone(), bytes)?.into_value(),
                    None => Value::new_undefined(ctx.clone()),
                };
                let outbound: Value = match worker.outbound {
                    Some(o) => {
                        let a = Array::new(ctx.clone())?;
                        a.set(0, o.binding)?;
                        a.set(1, o.id.hex)?;
                        a.set(2, o.id.name)?;
                        a.into_value()
                    }
                    None => Value::new_undefined(ctx.clone()),
                };
                setup.call::<_, ()>((bindings, worker.exported_classes, worker.compatibility_flags, env, worker.block_outbound, outbound))?;
                let main = crate::modules::normalize(&worker.main_module);
                let promise = Module::import(ctx, main)?;
                let namespace: Object = settle(ctx, &internal, promise)?;
                let set_worker: Function = internal.get("setWorker")?;
                set_worker.call::<_, ()>((namespace,))
            };
            run().map_err(|e| js_error(ctx, e))
        })
    }

    fn start_object(class_name: String, id: ObjectId) -> std::result::Result<(), JsError> {
        crate::with_internal(|ctx, internal| {
            let start: Function = internal.get("startObject").map_err(|e| js_error(ctx, e))?;
            start
                .call::<_, ()>((class_name, id.hex, id.name))
                .map_err(|e| js_error(ctx, e))
        })
    }

    fn call(entry: Entry, method: String, args: Vec<u8>) -> std::result::Result<Vec<u8>, JsError> {
        crate::with_internal(|ctx, internal| {
            let run = || -> Result<Vec<u8>> {
                let call = crate::hook(ctx, Hook::Call)?;
                let (kind, export) = entry_parts(entry);
                // The arguments (an array) read here when they are plain data,
                // else their bytes for the JS reader (see `call` in js/99-dispatch.js).
                let args = crate::bridge::read_value(ctx, args)?;
                // The method's answer, or a promise of it (see `call` in js/99-dispatch.js).
                let answer: Value = settle_answer(ctx, &internal, call.call((kind, export, method, args))?)?;
                let finish = crate::hook(ctx, Hook::FinishCall)?;
                let out: TypedArray<u8> = finish.call((answer,))?;
                Ok(out.as_bytes().unwrap_or(&[]).to_vec())
            };
            run().map_err(|e| js_error(ctx, e))
        })
    }

    fn fetch(entry: Entry, request: HttpRequest) -> std::result::Result<(HttpResponse, bool), JsError> {
        crate::with_internal(|ctx, internal| {
            let run = || -> Result<(HttpResponse, bool)> {
                let fetch = crate::hook(ctx, Hook::Fetch)?;
                let (kind, export) = entry_parts(entry);
                // The Request's parts (see `fetch` in js/99-dispatch.js): the
                // method, the URL (its WHATWG href: the host normalized it, see
                // `http-request` in wit/types.wit), raw header pairs (see
                // headersFromPairs in js/40-fetch-api.js: the wire's form too)
                // and the body's bytes or null.
                let body: Value = match request.body {
                    Some(bytes) if request.method != "GET" && request.method != "HEAD" => crate::bridge::uint8(ctx, bytes)?.into_value(),
                    _ => Value::new_null(ctx.clone()),
                };
                // The handler's answer: a Response, or a promise of one.
                let answer: Value = fetch.call((kind, export, request.method, request.url, request.headers, body))?;
                let answer: Value = settle_answer(ctx, &internal, answer)?;
                // [status, statusText, header pairs, body bytes or null,
                // streamed or null] (see `finishFetch`).
                let finish = crate::hook(ctx, Hook::FinishFetch)?;
                let parts: Array = finish.call((answer, kind))?;
                let status: u16 = parts.get(0)?;
                let status_text: String = parts.get(1)?;
                let headers: String = parts.get(2)?;
                let body: Option<TypedArray<u8>> = parts.get(3)?;
                let streamed: Option<bool> = parts.get(4)?;
                let response = HttpResponse {
                    status,
                    status_text,
                    headers,
                    body: body.as_ref().and_then(|b| b.as_bytes()).unwrap_or(&[]).to_vec(),
                };
                Ok((response, streamed.unwrap_or(false)))
            };
            run().map_err(|e| js_error(ctx, e))
        })
    }

    fn pull() -> std::result::Result<Option<Vec<u8>>, JsError> {
        crate::with_internal(|ctx, internal| {
            let run = || -> Result<Option<Vec<u8>>> {
                let pull: Function = internal.get("pull")?;
                let promise: Promise = pull.call(())?;
                let chunk: Option<TypedArray<u8>> = settle(ctx, &internal, promise)?;
                Ok(chunk.map(|c| c.as_bytes().unwrap_or(&[]).to_vec()))
            };
            run().map_err(|e| js_error(ctx, e))
        })
    }

    fn cancel_body() {
        crate::with_internal(|ctx, internal| {
            let run = || -> Result<()> {
                let cancel: Function = internal.get("cancelBody")?;
                let promise: Promise = cancel.call(())?;
                settle::<()>(ctx, &internal, promise)
            };
            // A failing cancel has no one to report to.
            let _ = run().map_err(|e| js_error(ctx, e));
        })
    }

    fn drain() -> std::result::Result<(), JsError> {
        crate::with_internal(|ctx, internal| {
            let run = || -> Result<()> {
                let drain: Function = internal.get("drain")?;
                let promise: Promise = drain.call(())?;
                settle::<()>(ctx, &internal, promise)
            };
            run().map_err(|e| js_error(ctx, e))
        })
    }
}

fn entry_parts(entry: Entry) -> (u32, Option<String>) {
    match entry {
        Entry::DefaultExport => (0, None),
        Entry::DurableObject => (1, None),
        Entry::Named(name) => (2, Some(name)),
    }
}

/// A handler's answer as an `await` of it would give it: a promise settled
/// (see [`settle`]), then one turn for the jobs queued until then, so that
/// they run before the answer is read (workerd too gives a synchronous
/// answer's microtasks one turn before it reads the response).
fn settle_answer<'js>(ctx: &Ctx<'js>, internal: &Object<'js>, answer: Value<'js>) -> Result<Value<'js>> {
    let answer = match answer.as_promise() {
        Some(promise) => settle(ctx, internal, promise.clone())?,
        None => answer,
    };
    crate::sys::run_one_tick(ctx);
    Ok(answer)
}

/// The event loop: runs the job queue until `promise` settles; when the queue
/// is empty, fires the earliest due timer (`loopTurn` in js/65-timers.js), or
/// else blocks in the host (`io.wait`) until the next timer is due or started
/// I/O completes. With no job, no timer and no I/O left, the promise can never
/// settle: that is an error. A handler that settles without timers or I/O
/// never leaves the first loop (no host call).
fn settle<'js, T: FromJs<'js>>(ctx: &Ctx<'js>, internal: &Object<'js>, promise: Promise<'js>) -> Result<T> {
    let mut turn: Option<Function<'js>> = None;
    loop {
        if let Some(result) = promise.result::<T>() {
            return result;
        }
        if ctx.execute_pending_job() {
            continue;
        }
        let turn_fn = match &turn {
            Some(f) => f.clone(),
            None => {
                let f = crate::hook(ctx, Hook::LoopTurn)?;
                turn = Some(f.clone());
                f
            }
        };
        // 0: a timer fired; > 0: ms until the next timer; -1: only I/O is
        // pending; -2: nothing is.
        let delay: f64 = turn_fn.call(())?;
        if delay == 0.0 {
            continue;
        }
        if delay < -1.5 {
            return Err(Exception::throw_message(
                ctx,
                "the handler's promise never settled: it awaits something that can never happen (no timer or I/O is pending)",
            ));
        }
        let timeout = (delay > 0.0).then(|| delay.min(u32::MAX as f64) as u32);
        let done = io::wait(timeout);
        if !done.is_empty() {
            let complete: Function = internal.get("ioComplete")?;
            complete.call::<_, ()>((done,))?;
        }
    }
}

/// Turns a failed QuickJS call into the WIT error, taking the pending exception.
pub fn js_error(ctx: &Ctx<'_>, err: Error) -> JsError {
    match CaughtError::from_error(ctx, err) {
        CaughtError::Exception(e) => {
            let obj = e.as_object();
            let name = obj.get::<_, String>("name").unwrap_or_else(|_| "Error".into());
            JsError { name, message: e.message().unwrap_or_default(), stack: e.stack().filter(|s| !s.is_empty()) }
        }
        CaughtError::Value(v) => {
            let message = v
                .as_string()
                .and_then(|s| s.to_string().ok())
                .or_else(|| ctx.json_stringify(v.clone()).ok().flatten().and_then(|s| s.to_string().ok()))
                .unwrap_or_else(|| format!("{v:?}"));
            JsError { name: "Error".into(), message: format!("Uncaught {message}"), stack: None }
        }
        CaughtError::Error(e) => JsError { name: "Error".into(), message: e.to_string(), stack: None },
    }
}
