//! Noisy neighbours: a well-behaved object's request latency while N other
//! objects spin at their CPU limit, beside the same requests on an idle host,
//! in the same run. In process (no HTTP), 2 worker threads.
//!
//! Run: `cargo bench -p facets --bench noisy_neighbour`. Prints p50 and p99 (µs)
//! of the well-behaved object's requests for each N, and their ratio to idle.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use facets::engine::HttpRequest;
use facets::object::Registry;
use facets::server::ServeOptions;
use facets::storage::Durability;

const CPU_LIMIT_MS: u32 = 50;
const SAMPLES: usize = 300;

fn get(path: &str) -> HttpRequest {
    HttpRequest { method: "GET".into(), url: format!("http://bench{path}"), headers: String::new(), body: None }
}

fn percentile(v: &[Duration], q: f64) -> f64 {
    v[((v.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e6
}

/// The well-behaved object's latencies, `SAMPLES` requests one after another.
async fn calm(registry: &Registry) -> anyhow::Result<Vec<Duration>> {
    let mut v = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let t = Instant::now();
        let res = registry.fetch_entry(get("/victim/calm/get")).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        v.push(t.elapsed());
        anyhow::ensure!(res.status == 200, "calm request failed: {}", String::from_utf8_lossy(&res.body));
    }
    v.sort();
    Ok(v)
}

fn main() -> anyhow::Result<()> {
    facets::server::tune_malloc();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let tmp = tempfile::tempdir_in(if Path::new("/dev/shm").exists() { "/dev/shm" } else { "/tmp" })?;
    rt.block_on(async {
        let mut options = ServeOptions {
            data_dir: Some(tmp.path().to_path_buf()),
            durability: Durability::Normal,
            ..ServeOptions::default()
        };
        options.runtime.max_cpu_ms = CPU_LIMIT_MS;
        let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/hostile_app");
        let registry = facets::server::prepare(&project, &options).await?.registry;
        registry.fetch_entry(get("/victim/calm/put?v=1")).await.map_err(|e| anyhow::anyhow!("{e}"))?;
        calm(&registry).await?; // warm-up

        let idle = calm(&registry).await?;
        println!("\nnoisy neighbours: a well-behaved object's latency (µs) while N objects spin at their CPU limit ({CPU_LIMIT_MS} ms), {SAMPLES} requests each\n");
        println!("| {:<22} | {:>9} | {:>9} | {:>9} | {:>9} | {:>10} |", "scenario", "p50", "p99", "p50 ×idle", "p99 ×idle", "spins done");
        println!("|{:-<24}|{:->11}|{:->11}|{:->11}|{:->11}|{:->12}|", "", "", "", "", "", "");
        let (i50, i99) = (percentile(&idle, 0.5), percentile(&idle, 0.99));
        println!("| {:<22} | {i50:>9.0} | {i99:>9.0} | {:>9.2} | {:>9.2} | {:>10} |", "idle host", 1.0, 1.0, "-");
        for n in [1usize, 4, 16] {
            let stop = Arc::new(AtomicBool::new(false));
            let spins = Arc::new(AtomicU64::new(0));
            let mut spinners = Vec::new();
            for i in 0..n {
                let (registry, stop, spins) = (registry.clone(), stop.clone(), spins.clone());
                spinners.push(tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let _ = registry.fetch_entry(get(&format!("/bad/spinner-{i}/loop"))).await;
                        spins.fetch_add(1, Ordering::Relaxed);
                    }
                }));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            let noisy = calm(&registry).await?;
            stop.store(true, Ordering::Relaxed);
            for s in spinners {
                let _ = s.await;
            }
            let (p50, p99) = (percentile(&noisy, 0.5), percentile(&noisy, 0.99));
            println!(
                "| {:<22} | {p50:>9.0} | {p99:>9.0} | {:>9.2} | {:>9.2} | {:>10} |",
                format!("{n} spinning"),
                p50 / i50,
                p99 / i99,
                spins.load(Ordering::Relaxed)
            );
        }
        registry.shutdown().await;
        anyhow::Ok(())
    })
}
