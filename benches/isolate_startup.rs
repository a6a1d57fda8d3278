//! Isolate start-up, in process: how long a fresh instance of the engine
//! takes to become a Durable Object and answer one request.
//!
//! Run: `cargo bench -p facets --bench isolate_startup`. Prints a table of
//! medians (µs) with p10/p90, each row measured in the same run:
//! - `instantiate`: a fresh instance from the shared `InstancePre` (pooling, CoW);
//! - `instantiate + load + start + fetch`: the above, then evaluate the worker's
//!   modules (bytecode), construct the Durable Object and run one `fetch`;
//! - `warm fetch`: one more request to a live instance (the baseline).
//!
//! To profile the warm path: `FACETS_BENCH_WARM=N` runs N warm fetches, and
//! `FACETS_BENCH_PATH=p` requests `/p` (the trivial fixture answers any path;
//! with an experimental engine a path can select a stripped-down handler).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use facets::engine::{Entry, HttpRequest, Label, ObjectId, Runtime, RuntimeOptions};

const ITERATIONS: usize = 2_000;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    println!(
        "| {name:<36} | {:>9.1} | {:>9.1} | {:>9.1} |",
        percentile(&samples, 0.5),
        percentile(&samples, 0.1),
        percentile(&samples, 0.9)
    );
}

fn request() -> HttpRequest {
    let path = std::env::var("FACETS_BENCH_PATH").unwrap_or_default();
    HttpRequest { method: "GET".into(), url: format!("http://bench/{path}"), headers: String::new(), body: None }
}

fn main() -> anyhow::Result<()> {
    facets::server::tune_malloc();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let runtime = Runtime::new(&RuntimeOptions { max_instances: 64, ..RuntimeOptions::default() })?;
        let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/fixtures/trivial");
        let config = facets::config::load(&project)?;
        let code = facets::worker::load_project(&runtime, &config).await?;
        let services = facets::worker::no_services(&runtime);
        let id = ObjectId { hex: "0".repeat(64), name: Some("bench".into()) };
        let req = request();

        // Warm up the pool and the allocator.
        for _ in 0..100 {
            let mut i = runtime.instantiate(services.clone(), Label::default(), facets::storage::Storage::None).await?;
            i.load(&code.worker).await??;
        }

        let mut instantiate = Vec::with_capacity(ITERATIONS);
        for _ in 0..ITERATIONS {
            let t = Instant::now();
            let i = runtime.instantiate(services.clone(), Label::default(), facets::storage::Storage::None).await?;
            instantiate.push(t.elapsed());
            drop(i);
        }

        let mut full = Vec::with_capacity(ITERATIONS);
        for _ in 0..ITERATIONS {
            let t = Instant::now();
            let mut i = runtime.instantiate(services.clone(), Label::default(), facets::storage::Storage::None).await?;
            i.load(&code.worker).await??;
            i.start_object("Trivial", &id).await??;
            let res = i.fetch(Entry::DurableObject, &req).await??;
            full.push(t.elapsed());
            if std::env::var_os("FACETS_BENCH_PATH").is_none() { assert_eq!(res.body, b"ok"); }
        }

        let mut live = runtime.instantiate(services.clone(), Label::default(), facets::storage::Storage::None).await?;
        live.load(&code.worker).await??;
        live.start_object("Trivial", &id).await??;
        // FACETS_BENCH_WARM=N: that many warm fetches (e.g. to profile that path).
        let warm_n = std::env::var("FACETS_BENCH_WARM").ok().and_then(|v| v.parse().ok()).unwrap_or(ITERATIONS);
        let mut warm = Vec::with_capacity(warm_n);
        for _ in 0..warm_n {
            let t = Instant::now();
            let res = live.fetch(Entry::DurableObject, &req).await??;
            warm.push(t.elapsed());
            if std::env::var_os("FACETS_BENCH_PATH").is_none() { assert_eq!(res.body, b"ok"); }
        }

        println!("\nisolate start-up, {ITERATIONS} iterations each (µs)\n");
        println!("| {:<36} | {:>9} | {:>9} | {:>9} |", "what", "median", "p10", "p90");
        println!("|{:-<38}|{:->11}|{:->11}|{:->11}|", "", "", "", "");
        report("instantiate", instantiate);
        report("instantiate + load + start + fetch", full);
        report("warm fetch (live instance)", warm);
        let _ = Arc::strong_count(&runtime);
        Ok(())
    })
}
