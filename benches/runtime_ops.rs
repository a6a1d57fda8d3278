//! What the runtime's own operations cost inside an event, in process: the
//! default export of `benches/fixtures/ops` runs one operation 100 times per
//! request (`GET /<op>`), and the table gives the median event time and, with
//! the `noop` event subtracted, the time per operation.
//!
//! Run: `cargo bench -p facets --bench runtime_ops`. Rows are in the same run,
//! so compare them with each other (e.g. `loop`, 100 turns of a plain JS loop,
//! is the interpreter's own speed). `kvGet`/`kvPut` run their loop in a Durable
//! Object, reached by one RPC; `kvNone` is that RPC alone (their baseline).
//! `stubFetch` and `rpc` are round trips to another object, its event included.
//! A loop runs in one event, with warm caches: a real event, whose request
//! passes through several instances, pays more per operation.
//!
//! `FACETS_BENCH_OPS=rpc,kvGet` runs only those rows (and their baselines) and
//! `FACETS_BENCH_ROUNDS=N` sets the events per row: to profile one operation
//! under `perf record`.
//!
//! `FACETS_BENCH_COUNT=1` also counts the Wasm instructions the guests run
//! (Wasmtime fuel; see `facets::engine::count_guest_instructions`) and adds
//! them per operation: a figure that does not move with the machine's speed,
//! for A/B comparisons of the runtime's JS (times are slower in this mode).

use std::path::Path;
use std::time::{Duration, Instant};

use facets::engine::HttpRequest;
use facets::server::ServeOptions;
use facets::storage::Durability;

const OPS: &[&str] = &[
    "noop",
    "loop",
    "url",
    "searchParams",
    "headers",
    "request",
    "requestFrom",
    "headersSet",
    "response",
    "responseJson",
    "responseInit",
    "responseJsonInit",
    "textEncode",
    "cloneObject",
    "awaitPromise",
    "idFromName",
    "getByName",
    "stubFetch",
    "rpc",
    "kvNone",
    "kvGet",
    "kvPut",
];
const PER_EVENT: f64 = 100.0;
const ROUNDS: usize = 60;

fn main() -> anyhow::Result<()> {
    facets::server::tune_malloc();
    let count = std::env::var_os("FACETS_BENCH_COUNT").is_some();
    if count {
        facets::engine::count_guest_instructions();
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let tmp = tempfile::tempdir_in(if Path::new("/dev/shm").exists() { "/dev/shm" } else { "/tmp" })?;
    rt.block_on(rt.spawn(async move {
        let options = ServeOptions { data_dir: Some(tmp.path().to_path_buf()), durability: Durability::Normal, ..ServeOptions::default() };
        let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/fixtures/ops");
        let registry = facets::server::prepare(&project, &options).await?.registry;
        let mut medians = Vec::with_capacity(OPS.len());
        let mut instructions = Vec::with_capacity(OPS.len());
        let only = std::env::var("FACETS_BENCH_OPS").ok();
        let rounds: usize = std::env::var("FACETS_BENCH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(ROUNDS);
        for op in OPS {
            if only.as_deref().is_some_and(|o| !o.split(',').any(|x| x == *op)) && *op != "noop" && *op != "kvNone" {
                medians.push(f64::NAN);
                instructions.push(0.0);
                continue;
            }
            let mut samples: Vec<Duration> = Vec::with_capacity(rounds);
            let mut counted: Vec<u64> = Vec::with_capacity(rounds);
            for round in 0..rounds + 10 {
                let request = HttpRequest { method: "GET".into(), url: format!("http://bench/{op}"), headers: String::new(), body: None };
                let i0 = facets::engine::guest_instructions();
                let t = Instant::now();
                let res = registry.fetch_entry(request).await.map_err(|e| anyhow::anyhow!("{op}: {e}"))?;
                // The first rounds warm the instances up.
                if round >= 10 {
                    samples.push(t.elapsed());
                    counted.push(facets::engine::guest_instructions() - i0);
                }
                anyhow::ensure!(res.status == 200, "{op}: HTTP {}: {}", res.status, String::from_utf8_lossy(&res.body));
            }
            samples.sort();
            medians.push(samples[samples.len() / 2].as_secs_f64() * 1e6);
            counted.sort();
            instructions.push(counted[counted.len() / 2] as f64);
        }
        println!("\nruntime operations, in process, {PER_EVENT} per event, median of {rounds} events (µs)\n");
        let noop = 0;
        let kv_none = OPS.iter().position(|o| *o == "kvNone").expect("kvNone is listed");
        if count {
            println!("(guest Wasm instructions counted: times are slower than without FACETS_BENCH_COUNT)\n");
            println!("| {:<16} | {:>9} | {:>9} | {:>13} |", "operation", "event", "per op", "instr. per op");
            println!("|{:-<18}|{:->11}|{:->11}|{:->15}|", "", "", "", "");
        } else {
            println!("| {:<16} | {:>9} | {:>9} |", "operation", "event", "per op");
            println!("|{:-<18}|{:->11}|{:->11}|", "", "", "");
        }
        for (i, op) in OPS.iter().enumerate().filter(|(i, _)| !medians[*i].is_nan()) {
            let base = if op.starts_with("kv") && *op != "kvNone" { kv_none } else { noop };
            let baseline = *op == "noop" || *op == "kvNone";
            let per = |v: &[f64], digits: usize| {
                if baseline { String::from("-") } else { format!("{:.*}", digits, (v[i] - v[base]) / PER_EVENT) }
            };
            let us = medians[i];
            if count {
                let instr = if baseline { format!("{:.0} /event", instructions[i]) } else { per(&instructions, 0) };
                println!("| {op:<16} | {us:>9.0} | {:>9} | {instr:>13} |", per(&medians, 2));
            } else {
                println!("| {op:<16} | {us:>9.0} | {:>9} |", per(&medians, 2));
            }
        }
        registry.shutdown().await;
        Ok::<_, anyhow::Error>(())
    }))?
}
