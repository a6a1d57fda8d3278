//! `kill -9` in the middle of a write load: every write acknowledged to a client is there
//! after a restart on the same data directory, and the databases pass
//! `PRAGMA integrity_check` (asked through JS, and on the files directly).

mod common;

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{TestHost, fixture};

/// Objects written to; each client thread writes to one of them.
const OBJECTS: &[&str] = &["alpha", "beta", "gamma"];
const THREADS: usize = 6;
/// How long the load runs before the kill.
const LOAD_BEFORE_KILL: Duration = Duration::from_secs(1);

/// What one client thread did.
struct Client {
    object: &'static str,
    /// Ids whose insert was answered 200 `stored <id>`, the whole body received.
    acknowledged: Vec<u64>,
    /// Every id sent, answered or not.
    attempted: Vec<u64>,
    /// Why the thread stopped: the request that failed.
    stopped_by: String,
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build(),
    )
}

/// Inserts ids `first`, `first + 1`, ... into `object` until a request fails (the server
/// was killed) or `deadline` passes.
fn write_load(base: &str, object: &'static str, first: u64, deadline: Instant, acked: &AtomicUsize) -> Client {
    let agent = agent();
    let mut client = Client { object, acknowledged: Vec::new(), attempted: Vec::new(), stopped_by: String::new() };
    for id in first.. {
        if Instant::now() >= deadline {
            client.stopped_by = "the deadline".into();
            break;
        }
        client.attempted.push(id);
        let result = agent
            .post(&format!("{base}/{object}/insert?id={id}"))
            .send_empty()
            .and_then(|mut response| {
                let status = response.status().as_u16();
                response.body_mut().read_to_string().map(|body| (status, body))
            });
        match result {
            Ok((200, body)) if body == format!("stored {id}") => {
                client.acknowledged.push(id);
                acked.fetch_add(1, Ordering::Relaxed);
            }
            Ok((status, body)) => {
                client.stopped_by = format!("insert {id} answered {status} {body:?}");
                break;
            }
            Err(e) => {
                client.stopped_by = format!("insert {id} failed: {e}");
                break;
            }
        }
    }
    client
}

fn get_json(host: &TestHost, path: &str) -> serde_json::Value {
    let reply = host.get(path);
    assert_eq!(reply.status, 200, "GET {path}: {reply:?}\nlogs:\n{}", host.logs());
    reply.json()
}

fn stored_ids(host: &TestHost, object: &str) -> BTreeSet<u64> {
    let ids = get_json(host, &format!("/{object}/ids"));
    ids.as_array()
        .unwrap_or_else(|| panic!("ids of {object}: {ids}"))
        .iter()
        .map(|id| id.as_u64().unwrap_or_else(|| panic!("not an id: {id}")))
        .collect()
}

/// Every `state.sqlite` under `dir`.
fn database_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("reading the data directory") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.file_name().is_some_and(|n| n == "state.sqlite") {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn acknowledged_writes_survive_kill_9_and_the_databases_stay_intact() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut host = TestHost::start_with(fixture("sql_crash"), data.path(), &[]);
    for object in OBJECTS {
        assert!(stored_ids(&host, object).is_empty());
    }

    let acked = AtomicUsize::new(0);
    let deadline = Instant::now() + Duration::from_secs(20);
    let base = host.base.clone();
    let (clients, acked_at_kill) = std::thread::scope(|s| {
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (base, acked) = (&base, &acked);
                s.spawn(move || write_load(base, OBJECTS[t % OBJECTS.len()], (t as u64 + 1) * 1_000_000, deadline, acked))
            })
            .collect();
        std::thread::sleep(LOAD_BEFORE_KILL);
        let acked_at_kill = acked.load(Ordering::Relaxed);
        let pid = nix::unistd::Pid::from_raw(host.pid() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).expect("sending SIGKILL");
        let clients: Vec<Client> = threads.into_iter().map(|t| t.join().expect("client thread")).collect();
        (clients, acked_at_kill)
    });
    let status = host.wait();
    assert_eq!(status.signal(), Some(9), "the server should have died of SIGKILL: {status}");
    assert!(acked_at_kill > 0, "no write was acknowledged before the kill; logs:\n{}", host.logs());
    for c in &clients {
        assert!(
            c.stopped_by != "the deadline",
            "a client to {} was still writing 20 s later: the kill did not stop the load",
            c.object
        );
    }
    let total: usize = clients.iter().map(|c| c.acknowledged.len()).sum();
    eprintln!(
        "{total} writes acknowledged, {} attempted, before the kill; the clients stopped on: {:?}",
        clients.iter().map(|c| c.attempted.len()).sum::<usize>(),
        clients.iter().map(|c| c.stopped_by.as_str()).collect::<Vec<_>>()
    );

    // Restart on the same data directory.
    let mut host = TestHost::start_with(fixture("sql_crash"), data.path(), &[]);
    let mut stored_total = 0;
    for object in OBJECTS {
        let stored = stored_ids(&host, object);
        stored_total += stored.len();
        let mine: Vec<&Client> = clients.iter().filter(|c| c.object == *object).collect();
        let lost: Vec<u64> = mine
            .iter()
            .flat_map(|c| c.acknowledged.iter().copied())
            .filter(|id| !stored.contains(id))
            .collect();
        assert!(lost.is_empty(), "{object}: {} acknowledged writes were lost: {lost:?}", lost.len());
        let attempted: BTreeSet<u64> = mine.iter().flat_map(|c| c.attempted.iter().copied()).collect();
        let unknown: Vec<&u64> = stored.difference(&attempted).collect();
        assert!(unknown.is_empty(), "{object}: ids that were never sent are stored: {unknown:?}");
        assert_eq!(
            get_json(&host, &format!("/{object}/integrity")),
            serde_json::json!(["ok"]),
            "PRAGMA integrity_check of {object} through JS"
        );
    }
    // The server still takes writes.
    assert_eq!(host.post("/alpha/insert?id=1", "").body, "stored 1");
    stored_total += 1;
    let status = host.stop();
    assert!(status.success(), "facets serve exited with {status}\nlogs:\n{}", host.logs());

    // The files themselves, with the server stopped.
    let files = database_files(data.path());
    assert_eq!(files.len(), OBJECTS.len(), "one database per object: {files:?}");
    let mut rows_total = 0;
    for file in &files {
        let conn = rusqlite::Connection::open(file).unwrap_or_else(|e| panic!("opening {}: {e}", file.display()));
        let check: Vec<String> = conn
            .prepare("PRAGMA integrity_check")
            .and_then(|mut stmt| stmt.query_map([], |row| row.get(0))?.collect())
            .unwrap_or_else(|e| panic!("integrity_check of {}: {e}", file.display()));
        assert_eq!(check, ["ok"], "PRAGMA integrity_check of {}", file.display());
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM ids", [], |row| row.get(0))
            .unwrap_or_else(|e| panic!("counting the rows of {}: {e}", file.display()));
        rows_total += usize::try_from(rows).expect("a row count");
    }
    assert_eq!(rows_total, stored_total, "the files hold the rows read through HTTP");
}
