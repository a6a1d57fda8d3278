//! Native functions handed to the runtime's JS (`js/*.js`) as its `host` object: calls to
//! the host's imports (kv, stubs, log) and what is better done in Rust (UTF-8,
//! URL parsing). The JS runtime keeps them private.

use javy_plugin_api::javy::quickjs::{
    Array, ArrayBuffer, Ctx, Error, Exception, Function, Object, Result, TypedArray, Value,
};

use crate::bindings::facets::runtime::{facets, io, kv, loader, log, sql, stubs, types};

/// Throws `err` (from the host, or from another instance) as a JS exception
/// of the same class (`TypeError`, `RangeError`, ... or `Error` with its
/// name), with the remote stack (where it was thrown) above the local one.
pub fn throw(ctx: &Ctx<'_>, err: types::JsError) -> Error {
    const CLASSES: &[&str] = &["TypeError", "RangeError", "SyntaxError", "ReferenceError", "EvalError", "URIError"];
    let class = if CLASSES.contains(&err.name.as_str()) { err.name.as_str() } else { "Error" };
    let made = (|| -> Result<Object<'_>> {
        let ctor: javy_plugin_api::javy::quickjs::Constructor = ctx.globals().get(class)?;
        let e: Object = ctor.construct((err.message.as_str(),))?;
        if class != err.name {
            e.set("name", err.name.as_str())?;
        }
        if let Some(remote) = err.stack.as_deref().filter(|s| !s.is_empty()) {
            let local: String = e.get::<_, Option<String>>("stack")?.unwrap_or_default();
            e.set("stack", format!("{}\n{}", remote.trim_end(), local))?;
        }
        Ok(e)
    })();
    match made {
        Ok(e) => ctx.throw(e.into_value()),
        Err(e) => e,
    }
}

fn bytes_of<'a>(data: &'a TypedArray<'_, u8>) -> &'a [u8] {
    data.as_bytes().unwrap_or(&[])
}

fn buffer<'js>(ctx: &Ctx<'js>, bytes: Vec<u8>) -> Result<ArrayBuffer<'js>> {
    ArrayBuffer::new(ctx.clone(), bytes)
}

/// A cloned value (an RPC answer or arguments, a stored value): the value,
/// read here when it is plain data (see clone.rs), else its bytes as a
/// Uint8Array for the JS reader; plain data never reads back as a Uint8Array.
pub(crate) fn read_value<'js>(ctx: &Ctx<'js>, bytes: Vec<u8>) -> Result<Value<'js>> {
    match crate::clone::read(ctx.as_raw().as_ptr(), &bytes) {
        // SAFETY: `read` returns a new reference; the Value owns it from here.
        Some(raw) => Ok(unsafe { Value::from_raw(ctx.clone(), raw) }),
        None => Ok(uint8(ctx, bytes)?.into_value()),
    }
}

/// The most a kv entry (its key's UTF-8 and its value's bytes) may take:
/// MAX_ENTRY_BYTES of js/70-storage.js, which checks it for values JS writes.
const MAX_KV_ENTRY_BYTES: usize = 2 * 1024 * 1024;

/// Bytes as a Uint8Array, for the runtime's own readers (stored values, RPC
/// answers), which would otherwise wrap an ArrayBuffer in JS.
pub(crate) fn uint8<'js>(ctx: &Ctx<'js>, bytes: Vec<u8>) -> Result<TypedArray<'js, u8>> {
    TypedArray::new(ctx.clone(), bytes)
}

fn pair<'js>(ctx: &Ctx<'js>, a: impl javy_plugin_api::javy::quickjs::IntoJs<'js>, b: impl javy_plugin_api::javy::quickjs::IntoJs<'js>) -> Result<Array<'js>> {
    let arr = Array::new(ctx.clone())?;
    arr.set(0, a)?;
    arr.set(1, b)?;
    Ok(arr)
}

fn id_pair<'js>(ctx: &Ctx<'js>, id: types::ObjectId) -> Result<Array<'js>> {
    pair(ctx, id.hex, id.name)
}

/// Builds the `host` object for the JS runtime.
pub fn host_object<'js>(ctx: &Ctx<'js>) -> Result<Object<'js>> {
    let host = Object::new(ctx.clone())?;
    let c = ctx.clone();
    let set = |name: &str, f: Function<'js>| host.set(name, f);

    set("kvGet", Function::new(c.clone(), |ctx: Ctx<'js>, key: String| -> Result<Value<'js>> {
        match kv::get(&key) {
            Ok(Some(bytes)) => Ok(uint8(&ctx, bytes)?.into_value()),
            Ok(None) => Ok(Value::new_undefined(ctx)),
            Err(e) => Err(throw(&ctx, e)),
        }
    })?)?;
    // kv.get and kv.put of plain data in one call each, cloned here (see
    // clone.rs) with no bytes passing through JS. kvGetValue: the value,
    // undefined when the key is not set, or the stored bytes (a Uint8Array)
    // when they are not plain data (JS reads them). kvPutValue: false when
    // the value is not plain data or the entry is over the size limit (JS
    // writes it, or throws the limit's error).
    set("kvGetValue", Function::new(c.clone(), |ctx: Ctx<'js>, key: String| -> Result<Value<'js>> {
        match kv::get(&key) {
            Ok(Some(bytes)) => read_value(&ctx, bytes),
            Ok(None) => Ok(Value::new_undefined(ctx)),
            Err(e) => Err(throw(&ctx, e)),
        }
    })?)?;
    set("kvPutValue", Function::new(c.clone(), |ctx: Ctx<'js>, key: String, value: Value<'js>, object_proto: Value<'js>| -> Result<bool> {
        if !object_proto.is_object() {
            return Ok(false);
        }
        match crate::clone::write(ctx.as_raw().as_ptr(), value.as_raw(), object_proto.as_raw()) {
            Some(bytes) if key.len() + bytes.len() <= MAX_KV_ENTRY_BYTES => {
                kv::put(&key, &bytes).map_err(|e| throw(&ctx, e))?;
                Ok(true)
            }
            _ => Ok(false),
        }
    })?)?;
    set("kvPut", Function::new(c.clone(), |ctx: Ctx<'js>, key: String, value: TypedArray<'js, u8>| -> Result<()> {
        kv::put(&key, bytes_of(&value)).map_err(|e| throw(&ctx, e))
    })?)?;
    set("kvDelete", Function::new(c.clone(), |ctx: Ctx<'js>, key: String| -> Result<bool> {
        kv::delete(&key).map_err(|e| throw(&ctx, e))
    })?)?;
    set(
        "kvList",
        Function::new(
            c.clone(),
            |ctx: Ctx<'js>,
             prefix: Option<String>,
             start: Option<String>,
             start_after: Option<String>,
             end: Option<String>,
             reverse: Option<bool>,
             limit: Option<f64>|
             -> Result<Array<'js>> {
                let options = kv::ListOptions {
                    prefix: prefix,
                    start: start,
                    start_after: start_after,
                    end: end,
                    reverse: reverse.unwrap_or(false),
                    limit: limit.map(|l| l.clamp(0.0, u32::MAX as f64) as u32),
                };
                let rows = kv::list(&options).map_err(|e| throw(&ctx, e))?;
                let out = Array::new(ctx.clone())?;
                for (i, (key, value)) in rows.into_iter().enumerate() {
                    out.set(i, pair(&ctx, key, uint8(&ctx, value)?)?)?;
                }
                Ok(out)
            },
        )?,
    )?;

    set("sqlExec", Function::new(c.clone(), |ctx: Ctx<'js>, query: String, bindings: Array<'js>, bigint: Option<bool>| -> Result<Array<'js>> {
        let mut params = Vec::with_capacity(bindings.len());
        for (i, v) in bindings.iter::<Value>().enumerate() {
            params.push(sql_param(&ctx, v?, i + 1)?);
        }
        let result = sql::exec(&query, &params).map_err(|e| throw(&ctx, e))?;
        let bigint = bigint.unwrap_or(false);
        let out = Array::new(ctx.clone())?;
        out.set(0, result.columns)?;
        let rows = Array::new(ctx.clone())?;
        for (i, row) in result.rows.into_iter().enumerate() {
            let r = Array::new(ctx.clone())?;
            for (j, v) in row.into_iter().enumerate() {
                r.set(j, sql_value(&ctx, v, bigint)?)?;
            }
            rows.set(i, r)?;
        }
        out.set(1, rows)?;
        out.set(2, result.rows_read as f64)?;
        out.set(3, result.rows_written as f64)?;
        Ok(out)
    })?)?;
    set("sqlDatabaseSize", Function::new(c.clone(), |ctx: Ctx<'js>| -> Result<f64> {
        sql::database_size().map(|n| n as f64).map_err(|e| throw(&ctx, e))
    })?)?;
    set("sqlDeleteAll", Function::new(c.clone(), |ctx: Ctx<'js>| -> Result<()> {
        sql::delete_all().map_err(|e| throw(&ctx, e))
    })?)?;
    set("txBegin", Function::new(c.clone(), |ctx: Ctx<'js>| -> Result<()> {
        sql::transaction_begin().map_err(|e| throw(&ctx, e))
    })?)?;
    set("txCommit", Function::new(c.clone(), |ctx: Ctx<'js>| -> Result<()> {
        sql::transaction_commit().map_err(|e| throw(&ctx, e))
    })?)?;
    set("txRollback", Function::new(c.clone(), |ctx: Ctx<'js>| -> Result<()> {
        sql::transaction_rollback().map_err(|e| throw(&ctx, e))
    })?)?;

    set("idFromName", Function::new(c.clone(), |ctx: Ctx<'js>, binding: String, name: String| -> Result<Array<'js>> {
        let id = stubs::id_from_name(&binding, &name).map_err(|e| throw(&ctx, e))?;
        id_pair(&ctx, id)
    })?)?;
    set("newUniqueId", Function::new(c.clone(), |ctx: Ctx<'js>, binding: String| -> Result<Array<'js>> {
        let id = stubs::new_unique_id(&binding).map_err(|e| throw(&ctx, e))?;
        id_pair(&ctx, id)
    })?)?;
    set("idFromString", Function::new(c.clone(), |ctx: Ctx<'js>, binding: String, hex: String| -> Result<Array<'js>> {
        let id = stubs::id_from_string(&binding, &hex).map_err(|e| throw(&ctx, e))?;
        id_pair(&ctx, id)
    })?)?;
    set("stubFetch", Function::new(c.clone(), |ctx: Ctx<'js>, binding: String, hex: String, name: Option<String>, req: Array<'js>| -> Result<Array<'js>> {
        let request = to_request(&req)?;
        let id = types::ObjectId { hex, name };
        let res = stubs::fetch(&binding, &id, &request).map_err(|e| throw(&ctx, e))?;
        response_parts(&ctx, res)
    })?)?;
    set("stubCall", Function::new(c.clone(), |ctx: Ctx<'js>, binding: String, hex: String, name: Option<String>, method: String, args: TypedArray<'js, u8>| -> Result<Value<'js>> {
        let id = types::ObjectId { hex, name };
        let out = stubs::call(&binding, &id, &method, bytes_of(&args)).map_err(|e| throw(&ctx, e))?;
        read_value(&ctx, out)
    })?)?;
    set("loaderHas", Function::new(c.clone(), |binding: String, id: String| -> bool { loader::has(&binding, &id) })?)?;
    set("loaderLoad", Function::new(c.clone(), |ctx: Ctx<'js>, binding: String, id: Option<String>, code: Object<'js>| -> Result<String> {
        let modules: Vec<Vec<Value<'js>>> = code.get("modules")?;
        let mut list = Vec::with_capacity(modules.len());
        for m in modules {
            let name: String = m.first().cloned().map(|v| v.get()).transpose()?.unwrap_or_default();
            let kind: String = m.get(1).cloned().map(|v| v.get()).transpose()?.unwrap_or_default();
            let value = m.get(2).cloned().unwrap_or_else(|| Value::new_undefined(ctx.clone()));
            let content = match kind.as_str() {
                "js" => types::ModuleContent::JsSource(value.get()?),
                "text" => types::ModuleContent::Text(value.get()?),
                "json" => types::ModuleContent::Json(value.get()?),
                "data" => {
                    let v: TypedArray<'js, u8> = value.get()?;
                    types::ModuleContent::Data(bytes_of(&v).to_vec())
                }
                other => return Err(Exception::throw_type(&ctx, &format!("module \"{name}\": unsupported module type \"{other}\""))),
            };
            list.push(types::Module { name, content });
        }
        let env: Option<TypedArray<'js, u8>> = code.get("env")?;
        let granted: Vec<Vec<String>> = code.get("bindings")?;
        let mut bindings = Vec::with_capacity(granted.len());
        for b in granted {
            let [name, kind, id]: [String; 3] = b
                .try_into()
                .map_err(|_| Exception::throw_type(&ctx, "malformed binding"))?;
            let value = match kind.as_str() {
                "worker-loader" => types::BindingValue::WorkerLoader(id),
                "durable-object-namespace" => types::BindingValue::DurableObjectNamespace(id),
                _ => return Err(Exception::throw_type(&ctx, "malformed binding")),
            };
            bindings.push(types::Binding { name, value });
        }
        let limits: Object<'js> = code.get("limits")?;
        let outbound: Option<Array<'js>> = code.get("outbound")?;
        let outbound = match outbound {
            Some(a) => Some(types::OutboundStub {
                binding: a.get(0)?,
                id: types::ObjectId { hex: a.get(1)?, name: a.get(2)? },
            }),
            None => None,
        };
        let worker = loader::WorkerCode {
            bindings,
            outbound,
            limits: types::Limits { cpu_ms: limits.get("cpuMs")?, sub_requests: limits.get("subRequests")? },
            compatibility_date: code.get("compatibilityDate")?,
            compatibility_flags: code.get("compatibilityFlags")?,
            main_module: code.get("mainModule")?,
            modules: list,
            env: env.as_ref().map(|e| bytes_of(e).to_vec()),
            block_outbound: code.get("blockOutbound")?,
        };
        loader::load(&binding, id.as_deref(), &worker).map_err(|e| throw(&ctx, e))
    })?)?;
    set("loaderFetch", Function::new(c.clone(), |ctx: Ctx<'js>, key: String, entrypoint: Option<String>, req: Array<'js>| -> Result<Array<'js>> {
        let request = to_request(&req)?;
        let res = loader::fetch(&key, entrypoint.as_deref(), &request).map_err(|e| throw(&ctx, e))?;
        response_parts(&ctx, res)
    })?)?;
    set("loaderCall", Function::new(c.clone(), |ctx: Ctx<'js>, key: String, entrypoint: Option<String>, method: String, args: TypedArray<'js, u8>| -> Result<Value<'js>> {
        let out = loader::call(&key, entrypoint.as_deref(), &method, bytes_of(&args)).map_err(|e| throw(&ctx, e))?;
        read_value(&ctx, out)
    })?)?;
    set("facetRunning", Function::new(c.clone(), |name: String| -> Option<u32> { facets::running(&name) })?)?;
    set("facetStart", Function::new(c.clone(), |ctx: Ctx<'js>, name: String, key: String, class_name: String, id_hex: Option<String>, id_name: Option<String>| -> Result<u32> {
        let id = id_hex.map(|hex| types::ObjectId { hex, name: id_name });
        facets::start(&name, &key, &class_name, id.as_ref()).map_err(|e| throw(&ctx, e))
    })?)?;
    set("facetFetch", Function::new(c.clone(), |ctx: Ctx<'js>, name: String, generation: u32, req: Array<'js>| -> Result<Array<'js>> {
        let request = to_request(&req)?;
        let res = facets::fetch(&name, generation, &request).map_err(|e| throw(&ctx, e))?;
        response_parts(&ctx, res)
    })?)?;
    set("facetCall", Function::new(c.clone(), |ctx: Ctx<'js>, name: String, generation: u32, method: String, args: TypedArray<'js, u8>| -> Result<Value<'js>> {
        let out = facets::call(&name, generation, &method, bytes_of(&args)).map_err(|e| throw(&ctx, e))?;
        read_value(&ctx, out)
    })?)?;
    set("facetAbort", Function::new(c.clone(), |name: String, reason: String| facets::abort(&name, &reason))?)?;
    set("facetDelete", Function::new(c.clone(), |ctx: Ctx<'js>, name: String| -> Result<()> {
        facets::delete(&name).map_err(|e| throw(&ctx, e))
    })?)?;

    set("log", Function::new(c.clone(), |level: u32, message: String| {
        let level = match level {
            0 => log::Level::Debug,
            1 => log::Level::Info,
            2 => log::Level::Log,
            3 => log::Level::Warn,
            _ => log::Level::Error,
        };
        log::write(level, &message);
    })?)?;

    // The event loop's clock and I/O (see js/65-timers.js and dispatch::settle).
    set("monotonicNow", Function::new(c.clone(), || -> f64 { io::monotonic_clock_ms() })?)?;
    set("wallNow", Function::new(c.clone(), || -> f64 { io::wall_clock_ms() })?)?;
    set("fetchStart", Function::new(c.clone(), |ctx: Ctx<'js>, req: Array<'js>, redirect: u32| -> Result<u32> {
        let request = to_request(&req)?;
        let mode = match redirect {
            1 => io::RedirectMode::Manual,
            2 => io::RedirectMode::Error,
            _ => io::RedirectMode::Follow,
        };
        io::fetch_start(&request, mode).map_err(|e| throw(&ctx, e))
    })?)?;
    set("fetchResult", Function::new(c.clone(), |ctx: Ctx<'js>, handle: u32| -> Result<Array<'js>> {
        let res = io::fetch_result(handle).map_err(|e| throw(&ctx, e))?;
        let out = response_array(&ctx, res.response)?;
        out.set(4, res.url)?;
        out.set(5, res.redirected)?;
        Ok(out)
    })?)?;
    set("ioCancel", Function::new(c.clone(), |handle: u32| io::cancel(handle))?)?;
    set("deferDrain", Function::new(c.clone(), || io::defer_drain())?)?;

    set("randomBytes", Function::new(c.clone(), |ctx: Ctx<'js>, n: u32| -> Result<ArrayBuffer<'js>> {
        // Fresh from the host (WASI random) on every call: nothing is baked
        // into the pre-initialized snapshot.
        let mut buf = vec![0u8; n.min(65_536) as usize];
        getrandom::fill(&mut buf).map_err(|e| Exception::throw_internal(&ctx, &format!("no randomness: {e}")))?;
        buffer(&ctx, buf)
    })?)?;
    // QuickJS's class id of an object (0 for anything else): brand checks
    // (is it an ArrayBuffer, a Date, a Map...?) without the try/catch of a
    // throwing getter, which costs a stack trace per failed check.
    set("classOf", Function::new(c.clone(), |v: Value<'js>| -> u32 {
        if !v.is_object() {
            return 0;
        }
        // SAFETY: JS_GetClassID only reads the object's header; `v` holds a reference for the call.
        unsafe {
            javy_plugin_api::javy::quickjs::qjs::JS_GetClassID(v.as_raw())
        }
    })?)?;
    // The structured clone of plain data (see clone.rs): the bytes, or
    // undefined when the value is not plain data (JS writes it then).
    set("cloneWrite", Function::new(c.clone(), |ctx: Ctx<'js>, value: Value<'js>, object_proto: Value<'js>| -> Result<Value<'js>> {
        if !object_proto.is_object() {
            return Ok(Value::new_undefined(ctx));
        }
        match crate::clone::write(ctx.as_raw().as_ptr(), value.as_raw(), object_proto.as_raw()) {
            Some(bytes) => Ok(uint8(&ctx, bytes)?.into_value()),
            None => Ok(Value::new_undefined(ctx)),
        }
    })?)?;
    // ...and back: the value, or `give_up` when JS must read the bytes.
    set("cloneRead", Function::new(c.clone(), |ctx: Ctx<'js>, data: TypedArray<'js, u8>, give_up: Value<'js>| -> Result<Value<'js>> {
        match crate::clone::read(ctx.as_raw().as_ptr(), bytes_of(&data)) {
            // SAFETY: `read` returns a new reference; the Value owns it from here.
            Some(raw) => Ok(unsafe { Value::from_raw(ctx.clone(), raw) }),
            None => Ok(give_up),
        }
    })?)?;
    set("utf8Encode", Function::new(c.clone(), |ctx: Ctx<'js>, s: String| -> Result<TypedArray<'js, u8>> {
        uint8(&ctx, s.into_bytes())
    })?)?;
    set("utf8Decode", Function::new(c.clone(), |ctx: Ctx<'js>, data: TypedArray<'js, u8>, fatal: Option<bool>| -> Result<String> {
        let bytes = bytes_of(&data);
        if fatal.unwrap_or(false) {
            std::str::from_utf8(bytes)
                .map(str::to_owned)
                .map_err(|_| Exception::throw_type(&ctx, "The encoded data was not valid utf-8"))
        } else {
            Ok(String::from_utf8_lossy(bytes).into_owned())
        }
    })?)?;
    // application/x-www-form-urlencoded parsing (URLSearchParams): [[name, value], ...].
    set("formParse", Function::new(c.clone(), |ctx: Ctx<'js>, query: String| -> Result<Array<'js>> {
        let list = Array::new(ctx.clone())?;
        for (i, (name, value)) in url::form_urlencoded::parse(query.as_bytes()).enumerate() {
            let pair = Array::new(ctx.clone())?;
            pair.set(0, name.as_ref())?;
            pair.set(1, value.as_ref())?;
            list.set(i, pair)?;
        }
        Ok(list)
    })?)?;
    // `new URL`: [href, pathname, search], the parts most code reads; the
    // others come from `urlParts` when first asked for.
    set("urlParse", Function::new(c.clone(), |ctx: Ctx<'js>, input: String, base: Option<String>| -> Result<Array<'js>> {
        let parsed = match base {
            Some(base) => url::Url::parse(&base).and_then(|b| b.join(&input)),
            None => url::Url::parse(&input),
        };
        match parsed {
            Ok(u) => {
                let arr = Array::new(ctx.clone())?;
                arr.set(0, url::quirks::href(&u))?;
                arr.set(1, url::quirks::pathname(&u))?;
                arr.set(2, url::quirks::search(&u))?;
                Ok(arr)
            }
            Err(e) => Err(Exception::throw_type(&ctx, &format!("Invalid URL string. ({e}: {input})"))),
        }
    })?)?;
    set("urlParts", Function::new(c.clone(), |ctx: Ctx<'js>, href: String| -> Result<Array<'js>> {
        let u = url::Url::parse(&href).map_err(|e| Exception::throw_type(&ctx, &e.to_string()))?;
        url_parts(&ctx, &u)
    })?)?;
    // URLSearchParams.get before the list is needed: the first value of `name` in `query`.
    set("formGet", Function::new(c.clone(), |query: String, name: String| -> Option<String> {
        url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| *k == name).map(|(_, v)| v.into_owned())
    })?)?;
    set("urlSet", Function::new(c.clone(), |ctx: Ctx<'js>, href: String, part: String, value: String| -> Result<Array<'js>> {
        let mut u = url::Url::parse(&href).map_err(|e| Exception::throw_type(&ctx, &e.to_string()))?;
        // Setters that fail leave the URL unchanged, as in the URL standard.
        match part.as_str() {
            "href" => {
                u = url::Url::parse(&value)
                    .map_err(|e| Exception::throw_type(&ctx, &format!("Invalid URL string. ({e}: {value})")))?
            }
            "protocol" => {
                let _ = url::quirks::set_protocol(&mut u, &value);
            }
            "username" => {
                let _ = url::quirks::set_username(&mut u, &value);
            }
            "password" => {
                let _ = url::quirks::set_password(&mut u, &value);
            }
            "host" => {
                let _ = url::quirks::set_host(&mut u, &value);
            }
            "hostname" => {
                let _ = url::quirks::set_hostname(&mut u, &value);
            }
            "port" => {
                let _ = url::quirks::set_port(&mut u, &value);
            }
            "pathname" => url::quirks::set_pathname(&mut u, &value),
            "search" => url::quirks::set_search(&mut u, &value),
            "hash" => url::quirks::set_hash(&mut u, &value),
            _ => return Err(Exception::throw_type(&ctx, "unknown URL component")),
        }
        url_parts(&ctx, &u)
    })?)?;

    crate::crypto::register(ctx, &host)?;
    crate::encoding::register(ctx, &host)?;
    crate::web::install(ctx, &host)?;

    set("facetUsage", Function::new(c.clone(), |name: String| -> Option<String> { facets::usage(&name) })?)?;

    Ok(host)
}

/// `[href, origin, protocol, username, password, host, hostname, port, pathname, search, hash]`
fn url_parts<'js>(ctx: &Ctx<'js>, u: &url::Url) -> Result<Array<'js>> {
    use url::quirks;
    let parts = [
        quirks::href(u).to_string(),
        quirks::origin(u),
        quirks::protocol(u).to_string(),
        quirks::username(u).to_string(),
        quirks::password(u).to_string(),
        quirks::host(u).to_string(),
        quirks::hostname(u).to_string(),
        quirks::port(u).to_string(),
        quirks::pathname(u).to_string(),
        quirks::search(u).to_string(),
        quirks::hash(u).to_string(),
    ];
    let arr = Array::new(ctx.clone())?;
    for (i, p) in parts.into_iter().enumerate() {
        arr.set(i, p)?;
    }
    Ok(arr)
}

/// A JS binding → an SQL value (Cloudflare's rules: string, number, null,
/// ArrayBuffer or view as BLOB; BigInt and boolean as INTEGER here too).
fn sql_param<'js>(ctx: &Ctx<'js>, v: Value<'js>, index: usize) -> Result<sql::SqlValue> {
    use javy_plugin_api::javy::quickjs::Type;
    Ok(match v.type_of() {
        Type::Null | Type::Undefined | Type::Uninitialized => sql::SqlValue::Null,
        Type::Bool => sql::SqlValue::Integer(v.as_bool().unwrap_or(false) as i64),
        Type::Int => sql::SqlValue::Integer(v.as_int().unwrap_or(0) as i64),
        Type::Float => {
            let f = v.as_float().unwrap_or(f64::NAN);
            if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
                sql::SqlValue::Integer(f as i64)
            } else {
                sql::SqlValue::Real(f)
            }
        }
        Type::String => sql::SqlValue::Text(v.get::<String>()?),
        Type::BigInt => {
            let b = v.as_big_int().cloned().ok_or_else(|| Exception::throw_type(ctx, "bad BigInt"))?;
            match b.clone().to_i64() {
                Ok(i) => sql::SqlValue::Integer(i),
                Err(_) => return Err(Exception::throw_range(ctx, &format!("SQL binding {index}: BigInt does not fit in a 64-bit integer"))),
            }
        }
        _ => {
            if let Some(obj) = v.as_object() {
                if let Some(ab) = ArrayBuffer::from_object(obj.clone()) {
                    return Ok(sql::SqlValue::Blob(ab.as_bytes().unwrap_or(&[]).to_vec()));
                }
                if let Ok(view) = TypedArray::<u8>::from_object(obj.clone()) {
                    return Ok(sql::SqlValue::Blob(view.as_bytes().unwrap_or(&[]).to_vec()));
                }
            }
            return Err(Exception::throw_type(
                ctx,
                &format!("SQL binding {index}: unsupported type (use a string, number, null, BigInt or ArrayBuffer)"),
            ));
        }
    })
}

fn sql_value<'js>(ctx: &Ctx<'js>, v: sql::SqlValue, bigint: bool) -> Result<Value<'js>> {
    use javy_plugin_api::javy::quickjs::{BigInt, IntoJs};
    match v {
        sql::SqlValue::Null => Ok(Value::new_null(ctx.clone())),
        sql::SqlValue::Integer(i) => {
            if bigint && (i > (1i64 << 53) || i < -(1i64 << 53)) {
                Ok(BigInt::from_i64(ctx.clone(), i)?.into_value())
            } else {
                (i as f64).into_js(ctx)
            }
        }
        sql::SqlValue::Real(f) => f.into_js(ctx),
        sql::SqlValue::Text(s) => s.into_js(ctx),
        sql::SqlValue::Blob(b) => Ok(buffer(ctx, b)?.into_value()),
    }
}

/// A request from the runtime's `requestObject` (js/60-objects.js):
/// [method, url, header pairs, body bytes or null/undefined, ...] (a
/// Request's own parts, or an array made for the host).
fn to_request<'js>(req: &Array<'js>) -> Result<types::HttpRequest> {
    let body: Option<TypedArray<'js, u8>> = req.get(3)?;
    Ok(types::HttpRequest {
        method: req.get(0)?,
        url: req.get(1)?,
        // Raw header pairs (see headersFromPairs in js/40-fetch-api.js),
        // the wire's form too.
        headers: req.get(2)?,
        body: body.as_ref().map(|b| bytes_of(b).to_vec()),
    })
}

/// Another instance's response as the parts a Response is made of (see
/// Body in js/40-fetch-api.js): [status, statusText, header pairs, body bytes
/// or null, null, false]; a status below 200 is 200, and a null-body status
/// has no body (as `makeResponse` in js/60-objects.js does).
fn response_parts<'js>(ctx: &Ctx<'js>, res: types::HttpResponse) -> Result<Array<'js>> {
    let out = Array::new(ctx.clone())?;
    let null_body = matches!(res.status, 101 | 204 | 205 | 304);
    out.set(0, res.status.max(200))?;
    out.set(1, res.status_text)?;
    out.set(2, res.headers)?;
    if null_body {
        out.set(3, Value::new_null(ctx.clone()))?;
    } else {
        out.set(3, uint8(ctx, res.body)?)?;
    }
    out.set(4, Value::new_null(ctx.clone()))?;
    out.set(5, false)?;
    Ok(out)
}

fn response_array<'js>(ctx: &Ctx<'js>, res: types::HttpResponse) -> Result<Array<'js>> {
    let out = Array::new(ctx.clone())?;
    out.set(0, res.status)?;
    out.set(1, res.status_text)?;
    out.set(2, res.headers)?;
    out.set(3, buffer(ctx, res.body)?)?;
    Ok(out)
}
