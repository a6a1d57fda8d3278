//! The `facets` command.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use facets::engine::{Runtime, RuntimeOptions};
use facets::server::ServeOptions;
use facets::storage::Durability;

#[derive(Parser)]
#[command(name = "facets", version, about = "Run Durable Objects with facets on WebAssembly")]
struct Cli {
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a worker project over HTTP.
    ///
    /// Every setting can also be given in the project config: host settings in its `facets`
    /// section, limits in its `limits` section (see README). A flag overrides the config.
    Serve {
        /// A directory holding wrangler.jsonc / wrangler.json / wrangler.toml, or the config file itself.
        #[arg(default_value = ".")]
        project: PathBuf,
        /// Address to listen on [default: 127.0.0.1] (config: facets.ip).
        #[arg(long)]
        ip: Option<std::net::IpAddr>,
        /// Port to listen on, 0 picks a free one [default: 8787] (config: facets.port).
        #[arg(long)]
        port: Option<u16>,
        /// Where objects' databases live [default: .facets/data next to the config] (config: facets.data_dir).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Where the compiled engine is cached [default: $FACETS_CACHE_DIR or ~/.cache/facets] (config: facets.cache_dir).
        #[arg(long)]
        cache_dir: Option<PathBuf>,
        /// `full`: a write acknowledged to a client survives a power loss (fsync at every commit).
        /// `normal`: it survives a crash of facets, not of the machine. [default: full] (config: facets.durability)
        #[arg(long)]
        durability: Option<DurabilityArg>,
        /// Seconds an object may stay idle before it is evicted from memory [default: 30] (config: facets.idle_timeout_s).
        #[arg(long)]
        idle_timeout: Option<u64>,
        /// Largest database of one object, in bytes; a write beyond it fails with SQLITE_FULL
        /// [default: 10737418240] (config: limits.database_bytes).
        #[arg(long)]
        max_database_bytes: Option<u64>,
        /// CPU time one event may use, in ms; beyond it the event fails and its instance is discarded
        /// [default: 30000] (config: limits.cpu_ms).
        #[arg(long)]
        max_cpu_ms: Option<u32>,
        /// The most CPU time per event loaded code may ask for with `WorkerCode.limits.cpuMs`
        /// [default: 300000] (config: limits.cpu_ms_cap).
        #[arg(long)]
        cpu_ms_cap: Option<u32>,
        /// Subrequests (Durable Object and loaded-worker calls, fetch) one event may make
        /// [default: 1000] (config: limits.subrequests).
        #[arg(long)]
        max_subrequests: Option<u32>,
        /// The most subrequests per event loaded code may ask for with `WorkerCode.limits.subRequests`
        /// [default: 10000] (config: limits.subrequests_cap).
        #[arg(long)]
        subrequests_cap: Option<u32>,
        /// Linear memory of one instance, in MiB; a growth beyond it fails the event
        /// [default: 128] (config: limits.memory_mib).
        #[arg(long)]
        max_memory_mib: Option<u32>,
        /// Hard cap on the memory of one instance (the pool's slot size), in MiB
        /// [default: the larger of 128 and --max-memory-mib] (config: limits.memory_mib_cap).
        #[arg(long)]
        memory_mib_cap: Option<u32>,
        /// Largest request body accepted, in bytes (413 beyond) [default: 104857600] (config: limits.request_body_bytes).
        #[arg(long)]
        max_request_body_bytes: Option<u64>,
        /// Largest response body sent, in bytes (503 beyond) [default: 104857600] (config: limits.response_body_bytes).
        #[arg(long)]
        max_response_body_bytes: Option<u64>,
        /// Bytes of console output one event may write; the rest is dropped
        /// [default: 1048576] (config: limits.console_bytes_per_event).
        #[arg(long)]
        max_console_bytes: Option<u64>,
        /// Facets running at once in one object [default: 100] (config: limits.facets_per_object).
        #[arg(long)]
        max_facets: Option<u32>,
        /// Objects stored in one namespace (class) [default: 1000000] (config: limits.objects_per_namespace).
        #[arg(long)]
        max_objects_per_namespace: Option<u64>,
        /// Total bytes of the modules of one piece of loaded code [default: 33554432] (config: limits.loaded_code_bytes).
        #[arg(long)]
        max_loaded_code_bytes: Option<u64>,
        /// Modules in one piece of loaded code [default: 1000] (config: limits.loaded_modules).
        #[arg(long)]
        max_loaded_modules: Option<u32>,
        /// Wall time one event may spend awaiting timers and I/O, in ms; beyond it the event fails
        /// [default: 60000] (config: limits.event_wall_ms).
        #[arg(long)]
        max_event_wall_ms: Option<u32>,
        /// How long one outbound fetch() may take in all, in ms [default: 60000] (config: limits.outbound_timeout_ms).
        #[arg(long)]
        outbound_timeout_ms: Option<u64>,
        /// Instances (objects, facets, workers) alive at once; beyond it, idle objects are evicted first
        /// [default: 1000] (config: limits.instances).
        #[arg(long)]
        max_instances: Option<u32>,
        /// Free instance slots kept warm ahead of need by a low-priority thread, so that a new
        /// object's instances skip most page faults; 0 turns it off [default: 8] (config: facets.warm_slots).
        #[arg(long)]
        warm_slots: Option<u32>,
        /// Serve the admin listener (GET /usage, /metrics, /logs) on this port; off unless given
        /// (config: facets.admin.port).
        #[arg(long)]
        admin_port: Option<u16>,
        /// Address of the admin listener [default: 127.0.0.1] (config: facets.admin.ip).
        #[arg(long)]
        admin_ip: Option<std::net::IpAddr>,
        /// Bearer token the admin listener requires, at least 16 characters (config: facets.admin.token).
        #[arg(long, env = "FACETS_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
        /// Serve the admin listener without a token (loopback addresses only) (config: facets.admin.insecure).
        #[arg(long)]
        admin_insecure: bool,
    },
    /// Compile a JS module to an app artifact (.wasm carrying QuickJS bytecode).
    Compile {
        /// The JS module.
        input: PathBuf,
        /// Output file [default: INPUT with .wasm].
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[arg(long)]
        cache_dir: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum DurabilityArg {
    Full,
    Normal,
}

fn main() -> ExitCode {
    facets::server::tune_malloc();
    let cli = Cli::parse();
    let command = cli.command;
    // `serve` settles its options (and logging) and begins loading the
    // engine on another CPU before tokio starts (0.24 ms, its threads).
    let serve = match command {
        Command::Serve { .. } => match serve_setup(command, cli.log_json) {
            Ok(serve) => Ok(serve),
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::FAILURE;
            }
        },
        other => {
            init_logging(cli.log_json);
            Err(other)
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let done = runtime.block_on(async move {
        match serve {
            Ok((project, options, started)) => {
                facets::server::run_started(&project, &options, Some(started), facets::server::shutdown_signal()).await
            }
            Err(command) => run(command).await,
        }
    });
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FACETS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,wasmtime=warn,cranelift=warn"));
    use std::io::IsTerminal;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{Layer, filter::Targets};
    let fmt = tracing_subscriber::fmt::layer().with_ansi(std::io::stderr().is_terminal()).with_writer(std::io::stderr);
    let fmt = if json { fmt.json().with_filter(filter).boxed() } else { fmt.with_filter(filter).boxed() };
    // Objects' recent lines for the admin listener's /logs, whatever FACETS_LOG says.
    let capture = facets::logs::CaptureLayer.with_filter(
        Targets::new().with_target("facets", tracing::Level::INFO).with_target("facets::console", tracing::Level::DEBUG),
    );
    tracing_subscriber::registry().with(fmt).with(capture).init();
}

/// `facets serve`'s project and options (the flags over the config's
/// `limits` and `facets` sections), with logging set up and the engine
/// loading (see `facets::server::start_runtime`).
fn serve_setup(command: Command, log_json: bool) -> Result<(PathBuf, ServeOptions, facets::server::StartedRuntime)> {
    match command {
        Command::Serve {
            project,
            ip,
            port,
            data_dir,
            cache_dir,
            durability,
            idle_timeout,
            max_database_bytes,
            max_cpu_ms,
            cpu_ms_cap,
            max_subrequests,
            subrequests_cap,
            max_memory_mib,
            memory_mib_cap,
            max_request_body_bytes,
            max_response_body_bytes,
            max_console_bytes,
            max_facets,
            max_objects_per_namespace,
            max_loaded_code_bytes,
            max_loaded_modules,
            max_event_wall_ms,
            outbound_timeout_ms,
            max_instances,
            warm_slots,
            admin_port,
            admin_ip,
            admin_token,
            admin_insecure,
        } => {
            // The config's `limits` and `facets` sections, under the flags.
            let mut warnings = Vec::new();
            let file = match facets::config::load(&project) {
                Ok(config) => facets::settings::from_config(&config, &mut warnings)?,
                // The server reports a bad config when it loads it.
                Err(_) => facets::settings::FileSettings::default(),
            };
            let json = log_json || file.log_format.as_deref() == Some("json");
            init_logging(json);
            for w in &warnings {
                tracing::warn!("{w}");
            }
            let durability = match durability {
                Some(DurabilityArg::Full) => Durability::Full,
                Some(DurabilityArg::Normal) => Durability::Normal,
                None if file.durability.as_deref() == Some("normal") => Durability::Normal,
                None => Durability::Full,
            };
            let defaults = ServeOptions::default();
            let mut options = ServeOptions {
                ip: ip.or(file.ip).unwrap_or(defaults.ip),
                port: port.or(file.port).unwrap_or(defaults.port),
                data_dir: data_dir.or(file.data_dir),
                durability,
                max_database_bytes: max_database_bytes.or(file.database_bytes).unwrap_or(defaults.max_database_bytes),
                ..ServeOptions::default()
            };
            options.idle_timeout =
                std::time::Duration::from_secs(idle_timeout.or(file.idle_timeout_s).unwrap_or(30).max(1));
            let rt = &mut options.runtime;
            rt.max_cpu_ms = max_cpu_ms.or(file.cpu_ms).unwrap_or(rt.max_cpu_ms).max(1);
            rt.cpu_ms_cap = cpu_ms_cap.or(file.cpu_ms_cap).unwrap_or(rt.cpu_ms_cap).max(rt.max_cpu_ms);
            rt.max_subrequests = max_subrequests.or(file.subrequests).unwrap_or(rt.max_subrequests);
            rt.subrequests_cap = subrequests_cap.or(file.subrequests_cap).unwrap_or(rt.subrequests_cap).max(rt.max_subrequests);
            let memory_mib = max_memory_mib.or(file.memory_mib).unwrap_or((rt.memory_bytes >> 20) as u32).max(16);
            let memory_cap_mib = memory_mib_cap.or(file.memory_mib_cap).unwrap_or(128).max(memory_mib);
            rt.memory_bytes = (memory_mib as usize) << 20;
            rt.max_memory_bytes = (memory_cap_mib as usize) << 20;
            rt.console_bytes = max_console_bytes.or(file.console_bytes_per_event).map_or(rt.console_bytes, |b| b as usize);
            rt.max_instances = max_instances.or(file.instances).unwrap_or(rt.max_instances).max(2);
            rt.warm_slots = warm_slots.or(file.warm_slots).unwrap_or(8) as usize;
            rt.max_event_wall_ms = max_event_wall_ms.or(file.event_wall_ms).unwrap_or(rt.max_event_wall_ms).max(1);
            if let Some(ms) = outbound_timeout_ms.or(file.outbound_timeout_ms) {
                rt.outbound.total_timeout = std::time::Duration::from_millis(ms.max(1));
            }
            if let Some(dir) = cache_dir.or(file.cache_dir) {
                rt.cache_dir = dir;
            }
            let l = &mut options.limits;
            l.request_body_bytes = max_request_body_bytes.or(file.request_body_bytes).map_or(l.request_body_bytes, |b| b as usize);
            l.response_body_bytes = max_response_body_bytes.or(file.response_body_bytes).map_or(l.response_body_bytes, |b| b as usize);
            l.facets_per_object = max_facets.or(file.facets_per_object).map_or(l.facets_per_object, |n| n as usize);
            l.objects_per_namespace = max_objects_per_namespace.or(file.objects_per_namespace).unwrap_or(l.objects_per_namespace);
            l.loaded_code_bytes = max_loaded_code_bytes.or(file.loaded_code_bytes).map_or(l.loaded_code_bytes, |b| b as usize);
            l.loaded_modules = max_loaded_modules.or(file.loaded_modules).map_or(l.loaded_modules, |n| n as usize);
            if let Some(port) = admin_port.or(file.admin_port) {
                let ip = admin_ip.or(file.admin_ip).unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
                options.admin = Some(facets::admin::AdminOptions {
                    addr: std::net::SocketAddr::new(ip, port),
                    token: admin_token.or(file.admin_token).filter(|t| !t.is_empty()),
                    insecure: admin_insecure || file.admin_insecure.unwrap_or(false),
                });
            }
            // The engine loads on another CPU while tokio starts and the
            // server listens and reads the project.
            let started = facets::server::start_runtime(&options)?;
            Ok((project, options, started))
        }
        _ => unreachable!("serve_setup is for `serve` only"),
    }
}

async fn run(command: Command) -> Result<()> {
    match command {
        Command::Serve { .. } => unreachable!("`serve` runs from main"),
        Command::Compile { input, output, cache_dir } => {
            let source = std::fs::read_to_string(&input).with_context(|| format!("reading {}", input.display()))?;
            let mut options = RuntimeOptions { max_instances: 4, ..RuntimeOptions::default() };
            if let Some(dir) = cache_dir {
                options.cache_dir = dir;
            }
            let runtime = Runtime::new(&options)?;
            let name = input.file_name().and_then(|n| n.to_str()).unwrap_or("app.js").to_string();
            let root = input.parent().map(PathBuf::from).unwrap_or_default();
            let bytecode = match facets::worker::compile_source(&runtime, &name, &source, &root).await {
                Ok(b) => b,
                Err(e) => {
                    // Already `file:line:col: SyntaxError: message`.
                    eprintln!("{e}");
                    std::process::exit(1);
                }
            };
            let info = facets::artifact::ArtifactInfo {
                format: 1,
                engine: facets::artifact::engine_hash(facets::engine::ENGINE_COMPONENT),
                source: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(source.as_bytes())),
                module: name,
            };
            let wasm = facets::artifact::write(&bytecode, &info);
            let output = output.unwrap_or_else(|| input.with_extension("wasm"));
            std::fs::write(&output, wasm).with_context(|| format!("writing {}", output.display()))?;
            println!("wrote {} ({} bytes of bytecode)", output.display(), bytecode.len());
            Ok(())
        }
    }
}
