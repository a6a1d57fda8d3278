//! Memory per live instance, in process: keeps N instances alive and prints
//! how much resident memory each one adds.
//!
//! Run: `cargo bench -p facets --bench instance_memory` (release). Set
//! `FACETS_ENGINE=<path to an engine .wasm>` to measure another engine in the
//! same way (e.g. an older one: `git show d8bad4a:host/engine/facets-engine.wasm
//! > /tmp/old.wasm`). Rows (N = `FACETS_BENCH_N`, default 500):
//! - `engine only`: N instances of the engine, each with the trivial Durable
//!   Object of `benches/fixtures/trivial` loaded, started and after one fetch;
//! - `supervisor + facet`: N objects of `benches/fixtures/platform` (each a
//!   supervisor instance running one facet instance of shared loaded code, two
//!   SQLite databases), after one request each.
//!
//! Each row prints RSS and PSS (from `/proc/self/smaps_rollup`; PSS splits
//! shared pages such as the copy-on-write image among the processes mapping
//! them) before and after, and the delta per instance / per object.
//!
//! `FACETS_BENCH_TOUCH=<count>` adds a third row: touch that many distinct
//! objects (one request each) with at most 1,000 instance slots, so that idle
//! objects are evicted, and print RSS at the end (issue #7.3: idle objects
//! must not cost memory beyond a bounded cache).

use std::path::Path;
use std::time::Instant;

use facets::engine::{Entry, HttpRequest, Label, ObjectId, Runtime, RuntimeOptions};
use facets::server::ServeOptions;
use facets::storage::Durability;

const APP: &str = include_str!("fixtures/platform/app.js");

/// (RSS, PSS) of this process in KiB.
fn memory() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("Rss:"), field("Pss:"))
}

/// The largest mappings of this process by resident size (`FACETS_BENCH_SMAPS=1`):
/// which pool (linear memories, fiber stacks, tables) or heap the memory is in.
fn print_mappings(what: &str) {
    if std::env::var_os("FACETS_BENCH_SMAPS").is_none() {
        return;
    }
    let text = std::fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    let mut maps: Vec<(u64, u64, String, u64)> = Vec::new();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let first = parts.next().unwrap_or("");
        if first.contains('-') && first.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            let (a, b) = first.split_once('-').unwrap_or(("0", "0"));
            let size = u64::from_str_radix(b, 16).unwrap_or(0).saturating_sub(u64::from_str_radix(a, 16).unwrap_or(0)) >> 10;
            let name = line.split_whitespace().nth(5).unwrap_or("[anon]").to_string();
            maps.push((0, size, name, 0));
        } else if first == "Rss:"
            && let Some(m) = maps.last_mut()
        {
            m.0 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        } else if first == "Private_Dirty:"
            && let Some(m) = maps.last_mut()
        {
            m.3 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        }
    }
    // Group by file, or for anonymous memory by mapping size (malloc arenas are
    // 64 MiB, the instance pools much larger, the images' mappings per slot small).
    let mut groups: std::collections::BTreeMap<String, (u64, usize, u64)> = Default::default();
    for (rss, size, name, dirty) in maps {
        let key = if name.starts_with('/') || name.starts_with("[heap") || name.starts_with("[stack") {
            name
        } else {
            format!("anon mappings of {} MiB", (size >> 10).next_power_of_two())
        };
        let g = groups.entry(key).or_default();
        g.0 += rss;
        g.1 += 1;
        g.2 += dirty;
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by(|a, b| b.1.0.cmp(&a.1.0));
    eprintln!("resident memory by mapping ({what}):");
    for (name, (rss, count, dirty)) in groups.iter().take(8) {
        eprintln!("  {:>10.1} MiB ({:>8.1} private dirty) in {count:>6} mappings: {name}", *rss as f64 / 1024.0, *dirty as f64 / 1024.0);
    }
}

/// Which pages of the instances' linear memories are private (`FACETS_BENCH_DIRTY=1`):
/// for every mapping of the engine image (one per live instance), reads
/// `/proc/self/pagemap` from the start of its linear memory to 4 MiB past the
/// image, and prints the page offsets that are private (copied, or fresh) in
/// at least half of the instances, with how many of their bytes differ from
/// the image (read back through `/proc/self/map_files`) in the first eight.
/// A page of the image that an instance wrote only a few bytes of is state
/// that running code changes in the snapshot: each costs every instance 4 KiB.
fn print_dirty_pages(what: &str) {
    use std::io::{Read, Seek, SeekFrom};
    use std::os::unix::fs::FileExt;
    if std::env::var_os("FACETS_BENCH_DIRTY").is_none() {
        return;
    }
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let mut pagemap = std::fs::File::open("/proc/self/pagemap").expect("pagemap");
    let mem = std::fs::File::open("/proc/self/mem").expect("/proc/self/mem");
    let mut counts: std::collections::BTreeMap<u64, (usize, usize, usize)> = Default::default();
    let mut images = 0usize;
    let mut image_pages = 0u64;
    let lines: Vec<&str> = maps.lines().collect();
    let mut img_start = 0u64;
    for (i, line) in lines.iter().enumerate() {
        if !((line.contains(".cwasm") || line.contains("memfd:")) && line.contains(" rw-p ")) || i == 0 {
            continue;
        }
        let range = line.split_whitespace().next().unwrap_or("");
        let offset = u64::from_str_radix(line.split_whitespace().nth(2).unwrap_or("0"), 16).unwrap_or(0);
        let (a, b) = range.split_once('-').unwrap();
        let (a, b) = (u64::from_str_radix(a, 16).unwrap(), u64::from_str_radix(b, 16).unwrap());
        // The linear memory starts with the anonymous mapping just before the image.
        let prev = lines[i - 1].split_whitespace().next().unwrap_or("");
        let (pa, pb) = prev.split_once('-').unwrap_or(("0", "0"));
        let (pa, pb) = (u64::from_str_radix(pa, 16).unwrap_or(0), u64::from_str_radix(pb, 16).unwrap_or(0));
        let base = if pb == a && lines[i - 1].contains(" rw-p ") { pa } else { a };
        let Ok(image) = std::fs::File::open(format!("/proc/self/map_files/{range}")) else { continue };
        images += 1;
        img_start = (a - base) / 4096;
        image_pages = (b - base) / 4096;
        let a = base;
        let offset = offset.wrapping_sub(img_start * 4096);
        let pages = image_pages + 1024;
        let mut buf = vec![0u8; pages as usize * 8];
        pagemap.seek(SeekFrom::Start(a / 4096 * 8)).unwrap();
        if pagemap.read_exact(&mut buf).is_err() {
            continue;
        }
        for p in 0..pages {
            let e = u64::from_le_bytes(buf[p as usize * 8..p as usize * 8 + 8].try_into().unwrap());
            let present = e >> 63 & 1 == 1;
            let file = e >> 61 & 1 == 1;
            if present && !file {
                let c = counts.entry(p).or_default();
                c.0 += 1;
                if p >= img_start && p < image_pages && images <= 8 {
                    let mut orig = [0u8; 4096];
                    let _ = image.read_at(&mut orig, offset + p * 4096);
                    let mut now = [0u8; 4096];
                    let _ = mem.read_at(&mut now, a + p * 4096);
                    let diff = orig.iter().zip(now.iter()).filter(|(x, y)| x != y).count();
                    c.1 += diff;
                    c.2 += 1;
                }
            }
        }
    }
    let mut rows: Vec<_> = counts.iter().filter(|(_, c)| c.0 * 2 >= images).collect();
    rows.sort_by_key(|(p, _)| **p);
    let in_image = rows.iter().filter(|(p, _)| **p >= img_start && **p < image_pages).count();
    eprintln!(
        "private pages in at least half of {images} instances ({what}): {} ({in_image} in the image, pages {img_start}..{image_pages})",
        rows.len()
    );
    for (p, c) in rows {
        let diff = if c.2 > 0 { format!("{:>5} bytes differ", c.1 / c.2) } else { "fresh".into() };
        eprintln!("  page {p:>6} (0x{:08x}): private in {:>5}, {diff}", p * 4096, c.0);
    }
}

fn row(name: &str, n: usize, before: (u64, u64), after: (u64, u64)) {
    let per = |a: u64, b: u64| (a as f64 - b as f64) / n as f64;
    println!(
        "| {name:<30} | {n:>6} | {:>9.1} | {:>9.1} | {:>10.1} | {:>10.1} |",
        before.0 as f64 / 1024.0,
        after.0 as f64 / 1024.0,
        per(after.0, before.0),
        per(after.1, before.1),
    );
}

fn platform_request(app: &str) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        url: format!("http://bench/?app={app}&code=shared"),
        headers: String::new(),
        body: Some(APP.as_bytes().to_vec()),
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    facets::server::tune_malloc();
    let n = env_usize("FACETS_BENCH_N", 500);
    let touch = env_usize("FACETS_BENCH_TOUCH", 0);
    let engine = std::env::var("FACETS_ENGINE").unwrap_or_else(|_| "built in".into());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let tmp = tempfile::tempdir_in(if Path::new("/dev/shm").exists() { "/dev/shm" } else { "/tmp" })?;
    println!("\nmemory per live instance, in process (engine: {engine})\n");
    println!(
        "| {:<30} | {:>6} | {:>9} | {:>9} | {:>10} | {:>10} |",
        "what", "N", "RSS (MiB)", "after", "RSS KiB/N", "PSS KiB/N"
    );
    println!("|{:-<32}|{:->8}|{:->11}|{:->11}|{:->12}|{:->12}|", "", "", "", "", "", "");
    rt.block_on(async {
        // Engine only: N live instances of the trivial object.
        {
            let runtime = Runtime::new(&RuntimeOptions { max_instances: (n + 8) as u32, ..RuntimeOptions::default() })?;
            let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/fixtures/trivial");
            let config = facets::config::load(&project)?;
            let code = facets::worker::load_project(&runtime, &config).await?;
            let services = facets::worker::no_services(&runtime);
            let req = HttpRequest { method: "GET".into(), url: "http://bench/".into(), headers: String::new(), body: None };
            // One instance first, so that lazily built state is not counted.
            let mut warm = runtime.instantiate(services.clone(), Label::default(), facets::storage::Storage::None).await?;
            warm.load(&code.worker).await??;
            let before = memory();
            let mut live = Vec::with_capacity(n);
            for k in 0..n {
                let id = ObjectId { hex: format!("{k:064x}"), name: Some(format!("o{k}")) };
                let mut i = runtime.instantiate(services.clone(), Label::default(), facets::storage::Storage::None).await?;
                i.load(&code.worker).await??;
                i.start_object("Trivial", &id).await??;
                let res = i.fetch(Entry::DurableObject, &req).await??;
                anyhow::ensure!(res.body == b"ok");
                live.push(i);
            }
            row("engine only (trivial DO)", n, before, memory());
            print_mappings("engine only");
            print_dirty_pages("engine only");
            drop(live);
        }

        // Supervisor + facet: N live objects, each running the shared app as its facet.
        let options = ServeOptions {
            data_dir: Some(tmp.path().join("live")),
            durability: Durability::Normal,
            idle_timeout: std::time::Duration::from_secs(3600),
            runtime: RuntimeOptions { max_instances: (2 * n + 32) as u32, ..RuntimeOptions::default() },
            ..ServeOptions::default()
        };
        let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/fixtures/platform");
        let prepared = facets::server::prepare(&project, &options).await?;
        let registry = prepared.registry;
        let ask = |app: String| {
            let registry = registry.clone();
            async move {
                let res = registry.fetch_entry(platform_request(&app)).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                anyhow::ensure!(res.body == b"1" || res.body == b"2", "unexpected answer {:?}", String::from_utf8_lossy(&res.body));
                Ok(())
            }
        };
        ask("warm-up".into()).await?;
        let before = memory();
        for k in 0..n {
            ask(format!("live-{k}")).await?;
        }
        anyhow::ensure!(registry.live_objects() >= n, "only {} objects are live", registry.live_objects());
        row("supervisor + facet (per object)", n, before, memory());
        print_mappings("supervisor + facet");
        print_dirty_pages("supervisor + facet");
        registry.shutdown().await;
        drop(registry);
        drop(prepared.runtime);

        if touch > 0 {
            let options = ServeOptions {
                data_dir: Some(tmp.path().join("touch")),
                durability: Durability::Normal,
                runtime: RuntimeOptions { max_instances: 1_000, ..RuntimeOptions::default() },
                ..ServeOptions::default()
            };
            let prepared = facets::server::prepare(&project, &options).await?;
            let registry = prepared.registry;
            // As `facets serve` does: metered usage goes to disk every second.
            let flusher = facets::usage::spawn_flusher(registry.usage().clone(), std::time::Duration::from_secs(1));
            let before = memory();
            let t = Instant::now();
            for k in 0..touch {
                let res = registry.fetch_entry(platform_request(&format!("touch-{k}"))).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                anyhow::ensure!(res.body == b"1", "unexpected answer {:?}", String::from_utf8_lossy(&res.body));
                if (k + 1) % 10_000 == 0 {
                    let (rss, pss) = memory();
                    eprintln!(
                        "touched {} objects: RSS {:.1} MiB, PSS {:.1} MiB, {} live, {:.1} s",
                        k + 1,
                        rss as f64 / 1024.0,
                        pss as f64 / 1024.0,
                        registry.live_objects(),
                        t.elapsed().as_secs_f64()
                    );
                }
            }
            let after = memory();
            println!(
                "\ntouched {touch} objects once each (1,000 instance slots, eviction): RSS {:.1} MiB before, {:.1} MiB after; PSS {:.1} MiB before, {:.1} MiB after; {} objects live, {:.1} s",
                before.0 as f64 / 1024.0,
                after.0 as f64 / 1024.0,
                before.1 as f64 / 1024.0,
                after.1 as f64 / 1024.0,
                registry.live_objects(),
                t.elapsed().as_secs_f64()
            );
            flusher.abort();
            registry.shutdown().await;
        }
        Ok(())
    })
}
