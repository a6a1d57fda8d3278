//! A worker project turned into what instances load: modules compiled to
//! QuickJS bytecode once, bindings, and the Durable Object classes.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};

use crate::config::ProjectConfig;
use crate::config::ModuleFile;
use crate::engine::bindings::{BindingValue, Module, ModuleContent, Worker};
use crate::engine::{Instance, JsError, Label, Runtime, Services};
use crate::metrics::{Phase, Starting};

/// The loaded worker: what every instance of this project evaluates.
pub struct WorkerCode {
    pub worker: Worker,
    /// Durable Object classes (from `migrations[].new_sqlite_classes`).
    pub classes: Vec<String>,
    /// Binding name → class, for `env.BINDING` and `ctx.exports.Class` (`export:Class`).
    pub namespaces: HashMap<String, String>,
}

/// Formats a compile or load error as `file:line:col: Name: message`, taking
/// the position from the first frame of QuickJS's stack.
pub fn describe_js_error(err: &JsError, root: &Path) -> String {
    let position = err.stack.as_deref().and_then(|stack| {
        stack.lines().find_map(|line| {
            let at = line.trim().strip_prefix("at ")?;
            let at = at.rsplit_once('(').map(|(_, p)| p.trim_end_matches(')')).unwrap_or(at);
            let (file_line, col) = at.rsplit_once(':')?;
            let (file, line) = file_line.rsplit_once(':')?;
            line.parse::<u32>().ok()?;
            col.parse::<u32>().ok()?;
            Some(format!("{}:{line}:{col}", root.join(file).display()))
        })
    });
    match position {
        Some(p) => format!("{p}: {}: {}", err.name, err.message),
        None => format!("{}: {}", err.name, err.message),
    }
}

/// For an unresolvable import (`no such module "X" (imported from "B")`),
/// the position of the specifier in module B.
fn import_position<'a>(err: &JsError, sources: &'a [crate::config::ModuleSource]) -> Option<(&'a str, usize, usize)> {
    let rest = err.message.strip_prefix("no such module \"")?;
    let (specifier, rest) = rest.split_once('"')?;
    let base = rest.strip_prefix(" (imported from \"")?.strip_suffix("\")")?;
    let module = sources.iter().find(|m| m.name == base)?;
    let source = module.js()?;
    for quote in ['"', '\'', '`'] {
        if let Some(at) = source.find(&format!("{quote}{specifier}{quote}")) {
            let before = &source[..at];
            let line = before.matches('\n').count() + 1;
            let col = at - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
            return Some((module.name.as_str(), line, col));
        }
    }
    None
}

/// Services for instances that only compile: they have no namespaces.
struct NoServices(Arc<Runtime>);

impl Services for NoServices {
    fn id_from_name(&self, binding: &str, _: &str) -> Result<crate::engine::ObjectId, JsError> {
        Err(JsError::new("Error", format!("no binding named {binding}")))
    }
    fn new_unique_id(&self, binding: &str) -> Result<crate::engine::ObjectId, JsError> {
        Err(JsError::new("Error", format!("no binding named {binding}")))
    }
    fn id_from_string(&self, binding: &str, _: &str) -> Result<crate::engine::ObjectId, JsError> {
        Err(JsError::new("Error", format!("no binding named {binding}")))
    }
    fn fetch(
        &self,
        _: Arc<Vec<String>>,
        binding: String,
        _: crate::engine::ObjectId,
        _: crate::engine::HttpRequest,
    ) -> crate::engine::BoxFuture<Result<crate::engine::HttpResponse, JsError>> {
        Box::pin(async move { Err(JsError::new("Error", format!("no binding named {binding}"))) })
    }
    fn call(
        &self,
        _: Arc<Vec<String>>,
        binding: String,
        _: crate::engine::ObjectId,
        _: String,
        _: Vec<u8>,
    ) -> crate::engine::BoxFuture<Result<Vec<u8>, JsError>> {
        Box::pin(async move { Err(JsError::new("Error", format!("no binding named {binding}"))) })
    }
    fn loader_has(&self, _: &str) -> bool {
        false
    }
    fn loader_load(
        &self,
        _: Option<String>,
        _: crate::engine::WorkerCode,
    ) -> crate::engine::BoxFuture<Result<String, JsError>> {
        Box::pin(async { Err(JsError::new("Error", "no Worker Loader here")) })
    }
    fn loaded(&self, _: &str) -> Option<Arc<Worker>> {
        None
    }
    fn runtime(&self) -> Arc<Runtime> {
        self.0.clone()
    }
    fn storage_options(&self) -> crate::storage::StorageOptions {
        crate::storage::StorageOptions::default()
    }
}

/// Services for instances that need no host services (compiling, benchmarks).
pub fn no_services(runtime: &Arc<Runtime>) -> Arc<dyn Services> {
    Arc::new(NoServices(runtime.clone()))
}

/// Compiles code handed to a Worker Loader: JS modules become bytecode;
/// errors name the module, line and column.
pub async fn compile_loaded(runtime: &Arc<Runtime>, code: crate::engine::WorkerCode) -> Result<Worker, JsError> {
    crate::metrics::metrics().timed(Starting::Loader, Phase::Compile, compile_loaded_untimed(runtime, code)).await
}

async fn compile_loaded_untimed(runtime: &Arc<Runtime>, code: crate::engine::WorkerCode) -> Result<Worker, JsError> {
    let total: usize = code
        .modules
        .iter()
        .map(|m| match &m.content {
            ModuleContent::JsSource(s) | ModuleContent::Text(s) | ModuleContent::Json(s) => s.len(),
            ModuleContent::Data(d) | ModuleContent::JsBytecode(d) => d.len(),
        })
        .sum();
    if code.modules.len() > MAX_LOADED_MODULES || total > MAX_LOADED_CODE_BYTES {
        return Err(JsError::new(
            "RangeError",
            format!(
                "loaded code is too large: {} modules, {total} bytes (at most {MAX_LOADED_MODULES} modules and {MAX_LOADED_CODE_BYTES} bytes)",
                code.modules.len()
            ),
        ));
    }
    let mut instance = runtime
        .instantiate(no_services(runtime), Label::default(), crate::storage::Storage::None)
        .await
        .map_err(|e| JsError::new("Error", format!("could not start the compiler: {e:#}")))?;
    let mut modules = Vec::with_capacity(code.modules.len());
    for m in code.modules {
        let name = normalize_module_name(&m.name);
        let content = match m.content {
            ModuleContent::JsSource(src) => {
                let compiled = instance
                    .compile(&name, &src)
                    .await
                    .map_err(|t| JsError::new("Error", format!("compiling {name} failed: {t}")))?;
                match compiled {
                    Ok(bytecode) => ModuleContent::JsBytecode(bytecode),
                    Err(e) => {
                        let described = describe_js_error(&e, Path::new(""));
                        let message = described.strip_suffix(&format!(": {}: {}", e.name, e.message)).map_or_else(
                            || format!("{name}: {}", e.message),
                            |position| format!("{position}: {}", e.message),
                        );
                        return Err(JsError { name: e.name, message, stack: None });
                    }
                }
            }
            ModuleContent::JsBytecode(_) => {
                return Err(JsError::new("TypeError", format!("module {name}: bytecode cannot be loaded directly")));
            }
            other => other,
        };
        modules.push(Module { name, content });
    }
    Ok(Worker {
        main_module: normalize_module_name(&code.main_module),
        modules,
        bindings: code.bindings,
        exported_classes: Vec::new(),
        compatibility_date: code.compatibility_date,
        compatibility_flags: code.compatibility_flags,
        env: code.env,
        block_outbound: code.block_outbound,
        outbound: code.outbound,
        limits: code.limits,
    })
}

/// Caps on code handed to a Worker Loader.
pub const MAX_LOADED_MODULES: usize = 1_000;
pub const MAX_LOADED_CODE_BYTES: usize = 32 << 20;

fn normalize_module_name(name: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
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

/// Compiles one source file to bytecode; an error reads `file:line:col: SyntaxError: ...`.
pub async fn compile_source(runtime: &Arc<Runtime>, name: &str, source: &str, root: &Path) -> Result<Vec<u8>> {
    let mut instance = runtime.instantiate(no_services(runtime), Label::default(), crate::storage::Storage::None).await?;
    match instance.compile(name, source).await.map_err(anyhow::Error::from)? {
        Ok(bytecode) => Ok(bytecode),
        Err(e) => Err(anyhow!("{}", describe_js_error(&e, root))),
    }
}

/// Compiles every module of the project and checks that the main module
/// loads (imports resolve, top-level code runs).
pub async fn load_project(runtime: &Arc<Runtime>, config: &ProjectConfig) -> Result<WorkerCode> {
    Ok(load_project_ready(runtime, config).await?.0)
}

/// Like [`load_project`], and also hands back the instance that loaded the
/// project once as a start-up check: its top-level code has run, so it can
/// serve the entry worker's first request (see `Registry::adopt_entry`)
/// instead of a new instance loading it again.
pub async fn load_project_ready(runtime: &Arc<Runtime>, config: &ProjectConfig) -> Result<(WorkerCode, Instance)> {
    load_sources_ready(runtime, config, crate::config::collect_modules(config)?).await
}

/// [`load_project_ready`], with the project's modules already read
/// (`config::collect_modules`): `facets serve` reads them while the engine
/// loads.
pub async fn load_sources_ready(
    runtime: &Arc<Runtime>,
    config: &ProjectConfig,
    sources: Vec<crate::config::ModuleSource>,
) -> Result<(WorkerCode, Instance)> {
    let root = config.main.parent().unwrap_or(Path::new(".")).to_path_buf();
    // Modules compiled at an earlier start with this engine come from the
    // cache; the others are compiled in an instance made for them.
    let mut compiler: Option<Instance> = None;
    let mut modules = Vec::with_capacity(sources.len());
    for m in &sources {
        let content = match &m.content {
            ModuleFile::Js(source) => ModuleContent::JsBytecode(match runtime.cached_bytecode(&m.name, source) {
                Some(bytecode) => bytecode,
                None => {
                    let instance = match &mut compiler {
                        Some(i) => i,
                        None => compiler.insert(
                            runtime.instantiate(no_services(runtime), Label::default(), crate::storage::Storage::None).await?,
                        ),
                    };
                    let bytecode = instance
                        .compile(&m.name, source)
                        .await
                        .map_err(anyhow::Error::from)?
                        .map_err(|e| anyhow!("{}", describe_js_error(&e, &root)))?;
                    runtime.keep_bytecode(&m.name, source, &bytecode);
                    bytecode
                }
            }),
            ModuleFile::Text(text) => ModuleContent::Text(text.clone()),
            ModuleFile::Json(text) => {
                // Checked here so that the error names the file and position
                // (in the engine, JSON.parse would only name "<input>").
                if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
                    let path = root.join(&m.name);
                    anyhow::bail!("{}:{}:{}: SyntaxError: invalid JSON: {e}", path.display(), e.line(), e.column());
                }
                ModuleContent::Json(text.clone())
            }
            ModuleFile::Data(bytes) => ModuleContent::Data(bytes.clone()),
        };
        modules.push(Module { name: m.name.clone(), content });
    }
    let main_module = sources.first().map(|m| m.name.clone()).context("the project has no modules")?;

    let mut bindings = Vec::new();
    for (name, value) in &config.vars {
        bindings.push(crate::engine::bindings::Binding {
            name: name.clone(),
            value: BindingValue::Json(value.to_string()),
        });
    }
    let mut namespaces = HashMap::new();
    for b in &config.durable_objects {
        bindings.push(crate::engine::bindings::Binding {
            name: b.name.clone(),
            value: BindingValue::DurableObjectNamespace(b.name.clone()),
        });
        namespaces.insert(b.name.clone(), b.class_name.clone());
    }
    for name in &config.worker_loaders {
        bindings.push(crate::engine::bindings::Binding { name: name.clone(), value: BindingValue::WorkerLoader(name.clone()) });
    }
    for class in &config.sqlite_classes {
        namespaces.insert(format!("export:{class}"), class.clone());
    }
    let worker = Worker {
        main_module,
        modules,
        bindings,
        exported_classes: config.sqlite_classes.clone(),
        compatibility_date: config.compatibility_date.clone(),
        compatibility_flags: config.compatibility_flags.clone(),
        env: None,
        block_outbound: false,
        outbound: None,
        limits: crate::engine::bindings::Limits { cpu_ms: None, sub_requests: None },
    };
    // Evaluate it once now, so that import errors and throwing top-level code
    // stop the server at start-up rather than fail every request.
    // A new instance: the one that compiled still holds the modules it declared
    // (with their source, which loaded bytecode does not have).
    drop(compiler);
    let mut check = runtime.instantiate(no_services(runtime), Label::default(), crate::storage::Storage::None).await?;
    check.load(&worker).await.map_err(anyhow::Error::from)?.map_err(|e| {
        match import_position(&e, &sources) {
            Some((file, line, col)) => anyhow!("{}:{line}:{col}: {}: {}", root.join(file).display(), e.name, e.message),
            None => anyhow!("{}", describe_js_error(&e, &root)),
        }
    })?;
    Ok((WorkerCode { worker, classes: config.sqlite_classes.clone(), namespaces }, check))
}
