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
    Serve {
        /// A directory holding wrangler.jsonc / wrangler.json / wrangler.toml, or the config file itself.
        #[arg(default_value = ".")]
        project: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1")]
        ip: std::net::IpAddr,
        /// Port to listen on (0 picks a free one).
        #[arg(long, default_value_t = 8787)]
        port: u16,
        /// Where objects' databases live [default: .facets/data next to the config].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Where the compiled engine is cached [default: $FACETS_CACHE_DIR or ~/.cache/facets].
        #[arg(long)]
        cache_dir: Option<PathBuf>,
        /// `full`: a write acknowledged to a client survives a power loss (fsync at every commit).
        /// `normal`: it survives a crash of facets, not of the machine.
        #[arg(long, default_value = "full")]
        durability: DurabilityArg,
        /// Largest database of one object, in bytes; a write beyond it fails with SQLITE_FULL.
        #[arg(long, default_value_t = 10 << 30)]
        max_database_bytes: u64,
        /// CPU time one request (event) may use, in milliseconds; beyond it the event fails and its instance is discarded.
        #[arg(long, default_value_t = 30_000)]
        max_cpu_ms: u32,
        /// Subrequests (Durable Object and loaded-worker calls, fetch) one event may make.
        #[arg(long, default_value_t = 1_000)]
        max_subrequests: u32,
        /// Wall time one event may spend awaiting timers and I/O, in milliseconds; beyond it the event fails.
        #[arg(long, default_value_t = 60_000)]
        max_event_wall_ms: u32,
        /// How long one outbound fetch() may take in all, in milliseconds.
        #[arg(long, default_value_t = 60_000)]
        outbound_timeout_ms: u64,
        /// Instances (objects, facets, workers) alive at once; beyond it, idle objects are evicted first.
        #[arg(long, default_value_t = 1_000)]
        max_instances: u32,
        /// Seconds an object may stay idle before it is evicted from memory.
        #[arg(long, default_value_t = 30)]
        idle_timeout: u64,
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
    let cli = Cli::parse();
    init_logging(cli.log_json);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(run(cli.command)) {
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
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run(command: Command) -> Result<()> {
    match command {
        Command::Serve { project, ip, port, data_dir, cache_dir, durability, max_database_bytes, max_cpu_ms, max_subrequests, max_event_wall_ms, outbound_timeout_ms, max_instances, idle_timeout } => {
            let durability = match durability {
                DurabilityArg::Full => Durability::Full,
                DurabilityArg::Normal => Durability::Normal,
            };
            let mut options = ServeOptions { ip, port, data_dir, durability, max_database_bytes, ..ServeOptions::default() };
            options.idle_timeout = std::time::Duration::from_secs(idle_timeout.max(1));
            options.runtime.max_cpu_ms = max_cpu_ms;
            options.runtime.max_subrequests = max_subrequests;
            options.runtime.max_event_wall_ms = max_event_wall_ms;
            options.runtime.outbound.total_timeout = std::time::Duration::from_millis(outbound_timeout_ms);
            options.runtime.max_instances = max_instances.max(2);
            if let Some(dir) = cache_dir {
                options.runtime.cache_dir = dir;
            }
            facets::server::run(&project, &options, facets::server::shutdown_signal()).await
        }
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
