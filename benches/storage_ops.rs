//! Per-operation cost of the storage API from JS, beside the same operation
//! done directly on the host's `Database` (rusqlite) in the same run; the
//! ratio is the cost of crossing the guest boundary (and of QuickJS).
//!
//! Run: `cargo bench -p facets --bench storage_ops`. For each operation a
//! request runs it N times inside one event; the cost of an empty request is
//! subtracted and the rest divided by N. Medians over repeated requests.

use std::path::Path;
use std::time::{Duration, Instant};

use facets::engine::{Entry, HttpRequest, Label, ObjectId, Runtime, RuntimeOptions};
use facets::storage::{Database, SqlValue, StorageOptions};

const N: usize = 200;
const REPS: usize = 41;

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e6
}

fn main() -> anyhow::Result<()> {
    facets::server::tune_malloc();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let dir = tempfile::tempdir_in(if Path::new("/dev/shm").exists() { "/dev/shm" } else { "/tmp" })?;
    let storage = StorageOptions::default();
    rt.block_on(async {
        let runtime = Runtime::new(&RuntimeOptions { max_instances: 8, ..RuntimeOptions::default() })?;
        let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/fixtures/trivial");
        let config = facets::config::load(&project)?;
        let code = facets::worker::load_project(&runtime, &config).await?;
        let db = Database::open(&dir.path().join("guest.sqlite"), &storage)?;
        let mut inst = runtime.instantiate(facets::worker::no_services(&runtime), Label::default(), facets::storage::Storage::Open(db)).await?;
        inst.load(&code.worker).await??;
        let id = ObjectId { hex: "1".repeat(64), name: Some("ops".into()) };
        inst.state_mut().storage.begin_event()?;
        inst.start_object("Ops", &id).await??;
        inst.state_mut().storage.commit_event()?;

        let mut run = async |op: &str, n: usize| -> anyhow::Result<Duration> {
            let req = HttpRequest { method: "GET".into(), url: format!("http://b/?op={op}&n={n}"), headers: String::new(), body: None };
            let t = Instant::now();
            inst.state_mut().storage.begin_event()?;
            let res = inst.fetch(Entry::DurableObject, &req).await??;
            inst.state_mut().storage.commit_event()?;
            anyhow::ensure!(res.status == 200, "{op}: status {}", res.status);
            Ok(t.elapsed())
        };

        // The host side: the same operations on a Database of its own.
        let mut raw = Database::open(&dir.path().join("raw.sqlite"), &storage)?;
        raw.sql_exec("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, value REAL)", &[], usize::MAX)?;
        raw.begin_event()?;
        for i in 0..1000i64 {
            raw.sql_exec("INSERT INTO items VALUES (?, ?, ?)", &[SqlValue::Integer(i), SqlValue::Text(format!("item {i}")), SqlValue::Real(i as f64 * 1.5)], usize::MAX)?;
        }
        raw.kv_put("hit", b"\x01\x0b\x02\x02a\x04\x01\x00\x00\x00")?;
        raw.commit_event()?;
        let mut next = 1_000_000i64;
        let mut raw_op = |op: &str| -> anyhow::Result<Duration> {
            let t = Instant::now();
            raw.begin_event()?;
            for i in 0..N {
                match op {
                    "kv-get" => {
                        raw.kv_get("hit")?;
                    }
                    "kv-put" => raw.kv_put(&format!("k{}", i & 63), b"\x01\x04\x00\x00\x00\x00")?,
                    "sql-select" => {
                        raw.sql_exec("SELECT name, value FROM items WHERE id = ?", &[SqlValue::Integer((i % 1000) as i64)], usize::MAX)?;
                    }
                    "sql-insert" => {
                        next += 1;
                        raw.sql_exec("INSERT INTO items VALUES (?, ?, ?)", &[SqlValue::Integer(next), SqlValue::Text("new".into()), SqlValue::Real(1.0)], usize::MAX)?;
                    }
                    "sql-1000-rows" => {
                        raw.sql_exec("SELECT id, name, value FROM items WHERE id < 1000", &[], usize::MAX)?;
                    }
                    _ => {}
                }
            }
            raw.commit_event()?;
            Ok(t.elapsed())
        };

        let ops = ["kv-get", "kv-put", "sql-select", "sql-insert", "sql-1000-rows"];
        println!("\nstorage operations from JS vs. directly on the host, N = {N} per event, median of {REPS} (µs per operation)\n");
        println!("| {:<14} | {:>10} | {:>10} | {:>7} |", "operation", "from JS", "host", "ratio");
        println!("|{:-<16}|{:->12}|{:->12}|{:->9}|", "", "", "", "");
        for op in ops {
            let n = if op == "sql-1000-rows" { N / 20 } else { N };
            let mut empty = Vec::new();
            let mut full = Vec::new();
            let mut host = Vec::new();
            for _ in 0..REPS {
                empty.push(run("none", 0).await?);
                full.push(run(op, n).await?);
                host.push(raw_op(op)?);
            }
            let js = (median(full) - median(empty)).max(0.0) / n as f64;
            let host = median(host) / N as f64;
            println!("| {op:<14} | {js:>10.2} | {host:>10.2} | {:>6.1}x |", js / host);
        }

        // Opening an object's database: a new one (its folder, the file, WAL
        // mode, the kv table) against an existing one (the baseline).
        let paths: Vec<_> = (0..N).map(|i| dir.path().join("objects").join(format!("{i:04}")).join("state.sqlite")).collect();
        let open_all = || -> anyhow::Result<Vec<Duration>> {
            paths
                .iter()
                .map(|path| {
                    let t = Instant::now();
                    let db = Database::open(path, &storage)?;
                    let took = t.elapsed();
                    drop(db);
                    Ok(took)
                })
                .collect()
        };
        let new = open_all()?;
        let existing = open_all()?;
        // The same with LIVE other databases open, as in a server with that
        // many live objects (each new open walks SQLite's list of open files).
        const LIVE: usize = 1000;
        let live: Vec<Database> = (0..LIVE)
            .map(|i| Database::open(&dir.path().join("live").join(format!("{i:04}")).join("state.sqlite"), &storage))
            .collect::<Result<_, _>>()?;
        let crowded: Vec<_> = (0..N).map(|i| dir.path().join("crowded").join(format!("{i:04}")).join("state.sqlite")).collect();
        let mut new_crowded = Vec::new();
        for path in &crowded {
            let t = Instant::now();
            let db = Database::open(path, &storage)?;
            new_crowded.push(t.elapsed());
            drop(db);
        }
        drop(live);
        println!("\nopening an object's database, {N} each (median µs; durability {:?})\n", storage.durability);
        println!("| {:<14} | {:>10} |", "database", "open");
        println!("|{:-<16}|{:->12}|", "", "");
        println!("| {:<14} | {:>10.1} |", "new", median(new));
        println!("| {:<14} | {:>10.1} |", "existing", median(existing));
        println!("| {:<14} | {:>10.1} |", format!("new, {LIVE} open"), median(new_crowded));
        Ok(())
    })
}
