//! `facets serve`: project → runtime → objects → HTTP, and a graceful stop.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::net::TcpListener;

use crate::engine::{Runtime, RuntimeOptions};
use crate::object::{ObjectOptions, Registry};
use crate::storage::{Durability, StorageOptions};

/// Everything `facets serve` can be told.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    pub ip: IpAddr,
    pub port: u16,
    /// Defaults to `.facets/data` next to the project's config.
    pub data_dir: Option<PathBuf>,
    pub runtime: RuntimeOptions,
    pub durability: Durability,
    /// Largest database of one object. Default 10 GiB (Cloudflare's limit per object).
    pub max_database_bytes: u64,
    pub idle_timeout: Duration,
    /// Limits beyond those of each event.
    pub limits: crate::settings::HostLimits,
    /// The admin listener (usage, metrics, logs); `None`: off.
    pub admin: Option<crate::admin::AdminOptions>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            ip: IpAddr::from([127, 0, 0, 1]),
            port: 8787,
            data_dir: None,
            runtime: RuntimeOptions::default(),
            durability: Durability::Full,
            max_database_bytes: 10 << 30,
            idle_timeout: Duration::from_secs(30),
            limits: crate::settings::HostLimits::default(),
            admin: None,
        }
    }
}

/// How long after `facets serve` is ready the full instance pool begins to
/// be built (see [`Runtime::build_full_pool`]). Starting it at once cost
/// the first response 0.6 ms (median of paired starts, `benches/compare`'s
/// start row, ad hoc: 41 rounds).
const FULL_POOL_AFTER: Duration = Duration::from_millis(30);

/// A project loaded and ready to serve.
pub struct Prepared {
    pub runtime: Arc<Runtime>,
    pub registry: Arc<Registry>,
}

/// The runtime's options in `options`.
fn runtime_options(options: &ServeOptions) -> RuntimeOptions {
    // A streamed response body has the same size limit as a buffered one.
    RuntimeOptions { max_streamed_response_bytes: options.limits.response_body_bytes as u64, ..options.runtime.clone() }
}

/// A runtime being made on a thread of its own (see [`start_runtime`]).
pub struct StartedRuntime(tokio::sync::oneshot::Receiver<Result<Arc<Runtime>>>);

/// Begins making the runtime for `options` on a thread beside the caller
/// (see [`crate::threads::spawn_beside`]): the compiled engine loads (about
/// 1 ms, its checksum on a third thread) while the caller listens and reads
/// the project, and [`run_started`] takes the runtime when it needs it.
/// Logging should be set up first: the runtime may warn as it loads.
pub fn start_runtime(options: &ServeOptions) -> Result<StartedRuntime> {
    let runtime_options = runtime_options(options);
    let (tx, rx) = tokio::sync::oneshot::channel();
    crate::threads::spawn_beside("facets-load", move || {
        let _ = tx.send(Runtime::new(&runtime_options));
    })?;
    Ok(StartedRuntime(rx))
}

/// Loads the project at `project` (a directory or a config file), compiles
/// its modules and checks that the main module loads.
pub async fn prepare(project: &Path, options: &ServeOptions) -> Result<Prepared> {
    prepare_started(project, options, None).await
}

/// [`prepare`], with the runtime [`start_runtime`] began, if any.
async fn prepare_started(project: &Path, options: &ServeOptions, started: Option<StartedRuntime>) -> Result<Prepared> {
    let config = crate::config::load(project)?;
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let data_dir = options.data_dir.clone().unwrap_or_else(|| config.root.join(".facets").join("data"));
    // The project's files are read while the engine loads (if it began before).
    let sources = crate::config::collect_modules(&config)?;
    // The usage database opens (0.5 ms: WAL, schema) on another CPU while
    // this thread loads the project. Its thread is made now, while this one
    // would wait for the engine anyway (a spawn costs it about 0.1 ms), and
    // starts once the engine has loaded: beside the load it would take CPU
    // from the engine's deserialization or its checksum.
    let (go, ready) = tokio::sync::oneshot::channel::<()>();
    let (usage_tx, usage) = tokio::sync::oneshot::channel();
    {
        let data_dir = data_dir.clone();
        crate::threads::spawn_beside("facets-usage", move || {
            if ready.blocking_recv().is_err() {
                return; // (start-up failed)
            }
            let _ = usage_tx.send((|| {
                std::fs::create_dir_all(&data_dir)
                    .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
                crate::usage::Usage::open(&data_dir)
            })());
        })?;
    }
    let runtime = match started {
        Some(started) => started.0.await.context("the thread that loads the engine went away")??,
        None => Runtime::new(&runtime_options(options))?,
    };
    let _ = go.send(());
    let (code, checked) = crate::worker::load_sources_ready(&runtime, &config, sources).await?;
    let usage = Arc::new(usage.await.context("opening the usage database")??);
    let registry = Registry::new(
        runtime.clone(),
        Arc::new(code),
        ObjectOptions {
            data_dir,
            storage: StorageOptions { durability: options.durability, max_size_bytes: options.max_database_bytes },
            idle_timeout: options.idle_timeout,
            limits: options.limits.clone(),
        },
        usage,
    );
    registry.adopt_entry(checked);
    Ok(Prepared { runtime, registry })
}

/// Serves until `shutdown` resolves; prints `Ready on http://IP:PORT` once it
/// accepts connections. In-flight requests finish and databases close before
/// it returns.
pub async fn run(project: &Path, options: &ServeOptions, shutdown: impl Future<Output = ()>) -> Result<()> {
    run_started(project, options, None, shutdown).await
}

/// [`run`], with the runtime [`start_runtime`] began for these `options`, if any.
pub async fn run_started(
    project: &Path,
    options: &ServeOptions,
    started: Option<StartedRuntime>,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    if let Some(admin) = &options.admin {
        crate::admin::check(admin)?;
    }
    // Listening comes first: a client that connects while the project loads
    // waits in the accept queue for its answer instead of being refused (and
    // retrying), and a port already in use is reported before any work.
    let addr = SocketAddr::new(options.ip, options.port);
    let listener = TcpListener::bind(addr).await.with_context(|| format!("could not listen on {addr}"))?;
    let local = listener.local_addr()?;
    let prepared = prepare_started(project, options, started).await?;
    prepared.runtime.deny_outbound(local);
    let flusher = crate::usage::spawn_flusher(prepared.registry.usage().clone(), Duration::from_secs(1));
    let (admin_stop, admin_stopped) = tokio::sync::oneshot::channel::<()>();
    if let Some(admin) = &options.admin {
        let admin_listener =
            TcpListener::bind(admin.addr).await.with_context(|| format!("could not listen on {} (admin)", admin.addr))?;
        let state = Arc::new(crate::admin::AdminState {
            usage: prepared.registry.usage().clone(),
            runtime: prepared.runtime.clone(),
            token: admin.token.clone(),
        });
        println!("Admin listening on http://{}", admin_listener.local_addr()?);
        // Loaded code must not reach the admin listener through fetch().
        prepared.runtime.deny_outbound(admin_listener.local_addr()?);
        tokio::spawn(crate::admin::serve(admin_listener, state, async move {
            let _ = admin_stopped.await;
        }));
    }
    println!("Ready on http://{local}");
    // With many instance slots, a small boot pool serves until the full pool
    // is built, at low priority, from FULL_POOL_AFTER on (or as soon as the
    // boot pool is full). Building it takes 13 ms of CPU for 3,000 slots
    // (an `mprotect` per slot's stack guard, a second checksum and
    // deserialization of the engine): begun right away, it ran on the other
    // CPU beside the first request and its client.
    {
        let runtime = prepared.runtime.clone();
        tokio::spawn(async move {
            tokio::time::sleep(FULL_POOL_AFTER).await;
            runtime.build_full_pool();
        });
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();
    // A full pool that cannot be built (say, --max-instances beyond the
    // address space) is a configuration error: the server stops with it, as
    // it would have at start-up, rather than run on the boot pool's slots.
    let pool_error = Arc::new(std::sync::Mutex::new(None));
    let stop = {
        let (runtime, pool_error) = (prepared.runtime.clone(), pool_error.clone());
        async move {
            let failed = async {
                match runtime.full_pool_ready().await {
                    Err(e) => *pool_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e),
                    Ok(()) => std::future::pending().await,
                }
            };
            tokio::select! {
                () = shutdown => {}
                () = failed => tracing::error!("stopping: the instance pool could not be built"),
            }
        }
    };
    crate::http::serve(listener, prepared.registry.clone(), stop).await;
    prepared.registry.shutdown().await;
    flusher.abort();
    let _ = admin_stop.send(());
    tracing::info!("stopped");
    match pool_error.lock().unwrap_or_else(|p| p.into_inner()).take() {
        Some(e) => Err(e.context(format!("--max-instances {}", options.runtime.max_instances))),
        None => Ok(()),
    }
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is
/// called (before `Ready on` is printed), not when the future is first polled.
pub fn shutdown_signal() -> impl Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("installing a SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("installing a SIGINT handler");
    async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutting down: finishing in-flight requests");
    }
}

/// How far glibc's malloc grows a heap beyond what an allocation needs
/// (`M_TOP_PAD`): 64 MiB, the size of the heap a thread's arena reserves.
const MALLOC_TOP_PAD: i32 = 64 << 20;

/// Sets up glibc's malloc for a server that keeps many objects alive, before
/// any thread starts (`facets serve` and the benches call it first).
///
/// A thread's arena is a 64 MiB reservation that glibc makes writable as it
/// grows, with one `mprotect` per growth of exactly what the allocation
/// needs: 27 calls per new object over HTTP (`strace -c`; wasmtime's
/// per-instance state, SQLite's connection), each a change to the
/// process's memory map that the other core's threads contend on. With the pad at the reservation's
/// size, a heap is made writable whole when it is created. Its pages become
/// resident only when written, as before: resident memory per object and
/// after eviction is unchanged (`instance_memory`). The pad also keeps up to
/// 64 MiB of freed memory at the top of a heap rather than returning it.
///
/// A `glibc.malloc.top_pad` in `GLIBC_TUNABLES` wins. Other C libraries are
/// left as they are.
pub fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        if std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("glibc.malloc.top_pad")) {
            return;
        }
        #[expect(unsafe_code, reason = "mallopt is a plain libc call")]
        // SAFETY: mallopt changes a parameter of glibc's allocator; it takes
        // the allocator's own lock and touches no memory of ours.
        unsafe { libc::mallopt(libc::M_TOP_PAD, MALLOC_TOP_PAD) };
    }
}
