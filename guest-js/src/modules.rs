//! The worker's modules, and QuickJS's resolver and loader for them.
//!
//! The host hands the whole module set to `load`; imports are resolved
//! against it only. A specifier that names no module fails with the
//! specifier in the message, at load time.

use std::cell::RefCell;
use std::collections::HashMap;

use javy_plugin_api::javy::quickjs::loader::{ImportAttributes, Loader as QLoader, Resolver as QResolver};
use javy_plugin_api::javy::quickjs::module::Declared;
use javy_plugin_api::javy::quickjs::{Ctx, Error, Exception, Module, Result};

use crate::bindings::facets::runtime::types::ModuleContent;

thread_local! {
    static MODULES: RefCell<HashMap<String, ModuleContent>> = RefCell::new(HashMap::new());
    /// Set while `compile` runs (see `Loader::load`).
    pub static COMPILING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Resolved name → (specifier, importing module), for error messages.
    static IMPORTERS: RefCell<HashMap<String, (String, String)>> = RefCell::new(HashMap::new());
}

/// Built-in modules, declared at pre-initialization.
const BUILTIN: &[&str] = &["cloudflare:workers"];

/// Replaces the module set (one worker per instance).
pub fn set_modules(modules: Vec<crate::bindings::facets::runtime::types::Module>) {
    MODULES.with(|m| {
        let mut m = m.borrow_mut();
        m.clear();
        for module in modules {
            m.insert(normalize(&module.name), module.content);
        }
    });
}

/// `a/./b/../c.js` → `a/c.js`; a leading `/` is dropped.
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

pub struct Resolver;

impl QResolver for Resolver {
    fn resolve<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        base: &str,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> Result<String> {
        if BUILTIN.contains(&name) {
            return Ok(name.to_string());
        }
        let resolved = if name.starts_with("./") || name.starts_with("../") {
            let dir = base.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            normalize(&format!("{dir}/{name}"))
        } else if name.starts_with('/') {
            normalize(name)
        } else {
            name.to_string()
        };
        // Resolution also runs at compile time, when the module set is not
        // known yet: remember who asked, and let the loader report a miss.
        IMPORTERS.with(|m| {
            m.borrow_mut().entry(resolved.clone()).or_insert_with(|| (name.to_string(), base.to_string()));
        });
        let _ = ctx;
        Ok(resolved)
    }
}

pub struct Loader;

impl QLoader for Loader {
    fn load<'js>(
        &mut self,
        ctx: &Ctx<'js>,
        name: &str,
        _attributes: Option<ImportAttributes<'js>>,
    ) -> Result<Module<'js, Declared>> {
        let content = MODULES.with(|m| m.borrow().get(name).cloned());
        if content.is_none() && COMPILING.with(|c| c.get()) {
            // QuickJS loads a module's imports while compiling it. Bytecode
            // refers to imports by name only, so an empty stand-in will do.
            return Module::declare(ctx.clone(), name, "");
        }
        let Some(content) = content else {
            let message = match IMPORTERS.with(|m| m.borrow().get(name).cloned()) {
                Some((specifier, base)) => format!("no such module \"{specifier}\" (imported from \"{base}\")"),
                None => format!("no such module \"{name}\""),
            };
            return Err(Exception::throw_reference(ctx, &message));
        };
        match content {
            ModuleContent::JsBytecode(bytes) => crate::sys::load_bytecode(ctx, &bytes),
            ModuleContent::JsSource(src) => Module::declare(ctx.clone(), name, src),
            ModuleContent::Text(text) => {
                Module::declare(ctx.clone(), name, format!("export default {};", js_string(&text)))
            }
            ModuleContent::Json(text) => {
                // Parsed at evaluation so that a malformed file is a SyntaxError
                // naming the module, never code.
                Module::declare(
                    ctx.clone(),
                    name,
                    format!("export default JSON.parse({});", js_string(&text)),
                )
            }
            ModuleContent::Data(bytes) => {
                let list: Vec<String> = bytes.iter().map(|b| b.to_string()).collect();
                Module::declare(
                    ctx.clone(),
                    name,
                    format!("export default new Uint8Array([{}]).buffer;", list.join(",")),
                )
            }
        }
        .map_err(|e| match e {
            Error::Exception => e,
            other => Exception::throw_syntax(ctx, &format!("module \"{name}\": {other}")),
        })
    }
}

/// A JS string literal for `s`.
pub fn js_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
