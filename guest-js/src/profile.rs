//! A sampling profiler of the runtime's JS, for development only (cargo
//! feature `profile`, never in the committed engine): QuickJS's interrupt
//! handler runs every few thousand calls and loop turns; each time it
//! records the JS stack, and every `EVERY` samples it writes the hottest
//! stacks to the instance's log.

use std::collections::HashMap;
use std::ffi::CStr;

use javy_plugin_api::javy::quickjs::{qjs, Ctx};

use crate::bindings::facets::runtime::log;

const EVERY: u32 = 300;
const DEPTH: usize = 4;

struct State {
    ctx: *mut qjs::JSContext,
    sampler: qjs::JSValue,
    counts: HashMap<String, u32>,
    total: u32,
    busy: bool,
}

static mut STATE: Option<State> = None;

pub fn install<'js>(ctx: &Ctx<'js>) -> javy_plugin_api::javy::quickjs::Result<()> {
    let f: javy_plugin_api::javy::quickjs::Function = ctx.eval("(() => new Error().stack)")?;
    let raw = f.as_raw();
    unsafe {
        let ctx_raw = ctx.as_raw().as_ptr();
        let sampler = qjs::JS_DupValue(ctx_raw, raw);
        STATE = Some(State { ctx: ctx_raw, sampler, counts: HashMap::new(), total: 0, busy: false });
        qjs::JS_SetInterruptHandler(qjs::JS_GetRuntime(ctx_raw), Some(handler), std::ptr::null_mut());
    }
    Ok(())
}

unsafe extern "C" fn handler(_rt: *mut qjs::JSRuntime, _opaque: *mut std::ffi::c_void) -> std::ffi::c_int {
    #[allow(static_mut_refs)]
    let Some(state) = (unsafe { STATE.as_mut() }) else { return 0 };
    if state.busy {
        return 0;
    }
    state.busy = true;
    unsafe {
        let v = qjs::JS_Call(state.ctx, state.sampler, qjs::JS_UNDEFINED, 0, std::ptr::null_mut());
        let p = qjs::JS_ToCStringLen2(state.ctx, std::ptr::null_mut(), v, false);
        if !p.is_null() {
            let s = CStr::from_ptr(p).to_string_lossy();
            // Skip the sampler's own frame.
            let key: Vec<&str> = s.lines().skip(1).take(DEPTH).map(str::trim).collect();
            *state.counts.entry(key.join(" < ")).or_default() += 1;
            qjs::JS_FreeCString(state.ctx, p);
        }
        qjs::JS_FreeValue(state.ctx, v);
    }
    state.total += 1;
    if state.total % EVERY == 0 {
        let mut rows: Vec<(&String, &u32)> = state.counts.iter().collect();
        rows.sort_by(|a, b| b.1.cmp(a.1));
        let mut out = format!("JS profile: {} samples\n", state.total);
        for (k, n) in rows.into_iter().take(40) {
            out.push_str(&format!("{:5.1}% {k}\n", *n as f64 * 100.0 / state.total as f64));
        }
        log::write(log::Level::Warn, &out);
    }
    state.busy = false;
    0
}
