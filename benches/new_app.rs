//! The cost of a new app, in process (no HTTP): a supervisor object runs the
//! app's code as its facet, as in `benches/fixtures/platform`.
//!
//! Run: `cargo bench -p facets --bench new_app`. Rows (median, p10, p90 in µs):
//! - `new app`: first request to a new object whose code was never seen:
//!   compile the source, start the supervisor, load the code, start the facet,
//!   open both databases, run the request;
//! - `new object, loaded code`: the same with code already in the loader cache;
//! - `warm request`: supervisor → facet on live instances (the baseline);
//! - `new object after 30 ms quiet`: new objects one by one, each after 30 ms
//!   without a new instance, as when they arrive apart rather than in a burst:
//!   they start in instance slots warmed meanwhile (`RuntimeOptions::warm_slots`,
//!   8 as in `facets serve`; `FACETS_BENCH_WARM_SLOTS=0` for none, the baseline).
//!
//! A second table splits the new apps' and new objects' time by start phase
//! (the mean of each phase of `facets_start_phase_seconds`, the metric that
//! `facets serve` exposes): instantiate, load, construct, open the database,
//! compile loaded code. What is left of a row is the events themselves.
//!
//! Data lives on tmpfs with `--durability normal`, so fsync does not dominate.
//!
//! `faults`: the median number of page faults of the process during a
//! request of the row (`getrusage`).
//!
//! `FACETS_BENCH_COUNT=1` adds the median number of Wasm instructions the
//! guests ran per request of each row (see `facets::engine::count_guest_instructions`):
//! a figure that does not move with the machine's speed (times are slower in
//! this mode).

use std::path::Path;
use std::time::{Duration, Instant};

use facets::engine::HttpRequest;
use facets::server::ServeOptions;
use facets::storage::Durability;

/// The app: counts its requests with `ctx.storage.kv` (shared with benches/compare).
const APP: &str = include_str!("fixtures/platform/app.js");

fn request(app: &str, code: &str, source: &str) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        url: format!("http://bench/?app={app}&code={code}"),
        headers: String::new(),
        body: Some(source.as_bytes().to_vec()),
    }
}

fn row(name: &str, mut v: Vec<Duration>, counts: Vec<(u64, u64)>) {
    v.sort();
    let median = |mut x: Vec<u64>| {
        x.sort();
        x[x.len() / 2]
    };
    let faults = median(counts.iter().map(|c| c.1).collect());
    let p = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e6;
    let counted = if counting() { format!(" {:>13} |", median(counts.iter().map(|c| c.0).collect())) } else { String::new() };
    println!("| {name:<28} | {:>9.0} | {:>9.0} | {:>9.0} | {faults:>6} |{counted}", p(0.5), p(0.1), p(0.9));
}

/// Page faults of the whole process so far.
fn page_faults() -> u64 {
    #[expect(unsafe_code, reason = "getrusage fills the struct passed")]
    // SAFETY: `usage` is a valid, writable rusage.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        (usage.ru_minflt + usage.ru_majflt) as u64
    }
}

fn counting() -> bool {
    std::env::var_os("FACETS_BENCH_COUNT").is_some()
}

/// Runs `f`, pushing its time, the guest instructions it ran and the page
/// faults of the process meanwhile.
async fn measure<T>(times: &mut Vec<Duration>, counts: &mut Vec<(u64, u64)>, f: impl std::future::Future<Output = T>) -> T {
    let (i0, f0) = (facets::engine::guest_instructions(), page_faults());
    let t = Instant::now();
    let out = f.await;
    times.push(t.elapsed());
    counts.push((facets::engine::guest_instructions() - i0, page_faults() - f0));
    out
}

/// (sum of seconds, count) of each `(kind, phase)` of the start-phase metric.
type Phases = std::collections::BTreeMap<(String, String), (f64, f64)>;

fn start_phases() -> Phases {
    let text = facets::metrics::metrics().encode();
    let mut out = Phases::new();
    for line in text.lines() {
        let Some((series, value)) = line.rsplit_once(' ') else { continue };
        let (is_sum, labels) = if let Some(l) = series.strip_prefix("facets_start_phase_seconds_sum{") {
            (true, l)
        } else if let Some(l) = series.strip_prefix("facets_start_phase_seconds_count{") {
            (false, l)
        } else {
            continue;
        };
        let label = |name: &str| {
            labels.split(',').find_map(|kv| kv.strip_prefix(&format!("{name}=\""))).map(|v| v.trim_end_matches(['}', '"']).to_string())
        };
        let (Some(kind), Some(phase), Ok(v)) = (label("kind"), label("phase"), value.parse::<f64>()) else { continue };
        let e = out.entry((kind, phase)).or_default();
        if is_sum { e.0 += v } else { e.1 += v }
    }
    out
}

/// Mean µs per start of each phase between two snapshots, with the count.
fn phase_rows(what: &str, before: &Phases, after: &Phases) {
    for (key, (sum, count)) in after {
        let (s0, c0) = before.get(key).copied().unwrap_or_default();
        let n = count - c0;
        if n > 0.0 {
            println!("| {:<24} | {:<22} | {:>6} | {:>9.0} |", what, format!("{} {}", key.0, key.1), n, (sum - s0) / n * 1e6);
        }
    }
}

fn main() -> anyhow::Result<()> {
    facets::server::tune_malloc();
    if counting() {
        facets::engine::count_guest_instructions();
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let tmp = tempfile::tempdir_in(if Path::new("/dev/shm").exists() { "/dev/shm" } else { "/tmp" })?;
    // The requests come from a task on the runtime (as the HTTP server's
    // connection tasks do), not from the main thread.
    rt.block_on(rt.spawn(async move {
        let mut options = ServeOptions {
            data_dir: Some(tmp.path().to_path_buf()),
            durability: Durability::Normal,
            ..ServeOptions::default()
        };
        options.runtime.warm_slots = std::env::var("FACETS_BENCH_WARM_SLOTS").ok().and_then(|v| v.parse().ok()).unwrap_or(8);
        let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/fixtures/platform");
        let prepared = facets::server::prepare(&project, &options).await?;
        let registry = prepared.registry;
        let n = 200;
        // FACETS_BENCH_WARM=N: more warm requests (e.g. to profile that path).
        let warm_n = std::env::var("FACETS_BENCH_WARM").ok().and_then(|v| v.parse().ok()).unwrap_or(n * 5);

        let phases_start = start_phases();
        let (mut new_app, mut new_app_i) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n {
            let source = format!("{APP}\n// app {i}\n");
            let res = measure(&mut new_app, &mut new_app_i, registry.fetch_entry(request(&format!("new-{i}"), &format!("code-{i}"), &source)))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            anyhow::ensure!(res.body == b"1", "unexpected answer {:?}", String::from_utf8_lossy(&res.body));
        }

        let phases_apps = start_phases();
        let (mut new_object, mut new_object_i) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n {
            let res = measure(&mut new_object, &mut new_object_i, registry.fetch_entry(request(&format!("loaded-{i}"), "code-0", APP)))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            anyhow::ensure!(res.body == b"1");
        }

        let phases_objects = start_phases();
        let (mut warm, mut warm_i) = (Vec::with_capacity(warm_n), Vec::with_capacity(warm_n));
        for _ in 0..warm_n {
            measure(&mut warm, &mut warm_i, registry.fetch_entry(request("loaded-0", "code-0", APP)))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }

        let phases_warm = start_phases();
        let quiet_n = 50;
        let (mut quiet, mut quiet_i) = (Vec::with_capacity(quiet_n), Vec::with_capacity(quiet_n));
        for i in 0..quiet_n {
            tokio::time::sleep(Duration::from_millis(30)).await;
            let res = measure(&mut quiet, &mut quiet_i, registry.fetch_entry(request(&format!("quiet-{i}"), "code-0", APP)))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            anyhow::ensure!(res.body == b"1");
        }

        println!("\nnew apps, in process, {n} each (µs; the quiet row {quiet_n}; warm slots: {})\n", options.runtime.warm_slots);
        if counting() {
            println!("(guest Wasm instructions counted: times are slower than without FACETS_BENCH_COUNT)\n");
            println!("| {:<28} | {:>9} | {:>9} | {:>9} | {:>6} | {:>13} |", "what", "median", "p10", "p90", "faults", "instructions");
            println!("|{:-<30}|{:->11}|{:->11}|{:->11}|{:->8}|{:->15}|", "", "", "", "", "", "");
        } else {
            println!("| {:<28} | {:>9} | {:>9} | {:>9} | {:>6} |", "what", "median", "p10", "p90", "faults");
            println!("|{:-<30}|{:->11}|{:->11}|{:->11}|{:->8}|", "", "", "", "", "");
        }
        row("new app (unseen code)", new_app, new_app_i);
        row("new object, loaded code", new_object, new_object_i);
        row("warm supervisor -> facet", warm, warm_i);
        row("new object after 30 ms quiet", quiet, quiet_i);
        println!("\nwhere the starts went: mean of each start phase (µs)\n");
        println!("| {:<24} | {:<22} | {:>6} | {:>9} |", "rows", "what, phase", "starts", "mean");
        println!("|{:-<26}|{:-<24}|{:->8}|{:->11}|", "", "", "", "");
        phase_rows("new app (unseen code)", &phases_start, &phases_apps);
        phase_rows("new object, loaded code", &phases_apps, &phases_objects);
        phase_rows("new object after 30 ms quiet", &phases_warm, &start_phases());
        registry.shutdown().await;
        Ok::<_, anyhow::Error>(())
    }))?
}
