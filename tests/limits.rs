//! Limits that preempt a running guest, and what loaded code may do:
//! CPU time per event (host-wide and per loaded code), subrequests per event,
//! and `globalOutbound` routed through a Durable Object stub.

mod common;

use std::time::{Duration, Instant};

use common::{TestHost, fixture};

fn host(extra: &[&str]) -> (TestHost, tempfile::TempDir) {
    let data = tempfile::tempdir().expect("tempdir");
    let host = TestHost::start_with(fixture("limits_cpu"), data.path(), extra);
    (host, data)
}

#[test]
fn an_object_spinning_forever_is_stopped_at_the_cpu_limit_and_serves_its_next_request() {
    let (host, _data) = host(&["--max-cpu-ms", "200"]);
    assert_eq!(host.get("/spinner/a/count").body, r#"{"n":1,"spun":false}"#);

    let started = Instant::now();
    // The entry worker's stub.fetch() throws the limit error; it does not
    // catch it, so the client gets a 500 and the log says why.
    let spin = host.get("/spinner/a/spin");
    assert_eq!(spin.status, 500, "body: {}", spin.body);
    assert!(started.elapsed() < Duration::from_secs(10), "the limit must preempt the loop");

    // The spinning event's write was rolled back; the object serves normally.
    assert_eq!(host.get("/spinner/a/count").body, r#"{"n":2,"spun":false}"#);
    assert!(host.wait_for_log("exceeded CPU time limit (200 ms)"), "logs: {}", host.logs());
}

#[test]
fn other_objects_keep_being_served_while_one_spins() {
    let (host, _data) = host(&["--max-cpu-ms", "3000"]);
    let spinner = {
        let url = host.url("/spinner/busy/spin");
        std::thread::spawn(move || ureq_get(&url))
    };
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    for i in 0..5 {
        let r = host.get(&format!("/spinner/calm-{i}/count"));
        assert_eq!(r.status, 200, "{}", r.body);
    }
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "well-behaved objects waited {:?} for a spinning one",
        started.elapsed()
    );
    assert_eq!(spinner.join().expect("spinner thread"), 500);
}

fn ureq_get(url: &str) -> u16 {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    agent.get(url).call().map(|r| r.status().as_u16()).unwrap_or(0)
}

#[test]
fn a_facet_over_its_loaded_cpu_limit_fails_with_an_error_the_supervisor_catches() {
    let (host, _data) = host(&[]);
    let started = Instant::now();
    let r = host.get("/sup/s1/facet-spin");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("exceeded CPU time limit (50 ms)"), "body: {}", r.body);
    assert!(started.elapsed() < Duration::from_secs(10));
    // The supervisor is fine; the facet is started again on the next request (and stopped again).
    let again = host.get("/sup/s1/facet-spin");
    assert!(again.body.contains("exceeded CPU time limit (50 ms)"), "body: {}", again.body);
}

#[test]
fn loaded_code_with_a_stub_as_global_outbound_sends_its_fetches_there() {
    let (host, _data) = host(&[]);
    let r = host.get("/sup/s2/outbound");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, "outbound said: echo GET /from-app");
}

#[test]
fn loaded_code_cannot_make_more_subrequests_than_its_limit() {
    let (host, _data) = host(&[]);
    assert_eq!(host.get("/sup/s3/subrequests?n=3").body, r#"{"done":3}"#);
    let r = host.get("/sup/s3/subrequests?n=4");
    assert!(r.body.contains("exceeded the subrequest limit (3 per request)"), "body: {}", r.body);
}

#[test]
fn a_runaway_sql_query_is_interrupted_at_the_cpu_limit() {
    let (host, _data) = host(&["--max-cpu-ms", "300"]);
    assert_eq!(host.get("/spinner/q/count").body, r#"{"n":1,"spun":false}"#);
    let started = Instant::now();
    let bomb = host.get("/spinner/q/sqlbomb");
    assert_eq!(bomb.status, 500, "body: {}", bomb.body);
    assert!(started.elapsed() < Duration::from_secs(10), "the query must be interrupted");
    assert!(host.wait_for_log("exceeded CPU time limit (300 ms)"), "logs: {}", host.logs());
    // Rolled back, and the object (and its database) keep working.
    assert_eq!(host.get("/spinner/q/count").body, r#"{"n":2,"spun":false}"#);
}

#[test]
fn memory_bombs_fail_with_out_of_memory_and_the_next_request_is_served() {
    let data = tempfile::tempdir().expect("tempdir");
    let host = TestHost::start_with(fixture("limits_memory"), data.path(), &[]);
    // Array growth, string doubling, typed arrays: each stops at the
    // instance's memory limit (128 MiB): the event fails, not the host.
    // (String doubling may stop at QuickJS's own cap on string length first.)
    for (path, status, message) in
        [("/bomb", 503, "exceeded memory limit (128 MiB)"), ("/str", 500, "string too long"), ("/ta", 503, "exceeded memory limit (128 MiB)")]
    {
        let started = Instant::now();
        let r = host.get(path);
        assert_eq!(r.status, status, "{path}: {}", r.body);
        assert!(started.elapsed() < Duration::from_secs(20), "{path} took {:?}", started.elapsed());
        assert!(host.wait_for_log(message), "{path}: logs: {}", host.logs());
        assert_eq!(host.get("/").body, "ok", "after {path}");
    }
}

#[test]
fn with_more_objects_than_instance_slots_idle_objects_are_evicted_and_nothing_is_lost() {
    let data = tempfile::tempdir().expect("tempdir");
    // 6 slots: the entry worker takes one, so at most 5 objects live at once.
    let host = TestHost::start_with(fixture("serve_counter"), data.path(), &["--max-instances", "6"]);
    for round in 1..=2 {
        for i in 0..20 {
            let r = host.get(&format!("/object-{i}"));
            assert_eq!(r.status, 200, "round {round}, object {i}: {}", r.body);
            assert_eq!(r.json()["count"], round, "round {round}, object {i}: {}", r.body);
        }
    }
    // Two clients at once (each request holds an entry-worker instance and
    // an object instance while it runs) still fit, evicting as they go.
    let handles: Vec<_> = (0..2)
        .map(|t| {
            let urls: Vec<String> = (0..10).map(|i| host.url(&format!("/object-{}", t * 10 + i))).collect();
            std::thread::spawn(move || urls.iter().map(|u| ureq_get(u)).collect::<Vec<_>>())
        })
        .collect();
    for h in handles {
        assert!(h.join().expect("thread").iter().all(|&s| s == 200));
    }
}

/// An object left idle for longer than `--idle-timeout` leaves memory: its
/// next request meets a new instance, with its storage intact. An object
/// asked more often than that stays in memory however long it is kept busy.
#[test]
fn objects_idle_past_the_idle_timeout_are_evicted_and_busy_ones_stay() {
    let data = tempfile::tempdir().expect("tempdir");
    let host = TestHost::start_with(fixture("serve_idle"), data.path(), &["--idle-timeout", "1"]);
    let ask = |path: &str| {
        let r = host.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        let j = r.json();
        (j["inMemory"].as_i64().expect("inMemory"), j["stored"].as_i64().expect("stored"))
    };
    // Busy for 2.5 s (more than twice the timeout), never idle for 1 s.
    for i in 1..=10 {
        assert_eq!(ask("/busy"), (i, i), "request {i} to a busy object");
        std::thread::sleep(Duration::from_millis(250));
    }
    assert_eq!(ask("/quiet"), (1, 1));
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(ask("/quiet"), (1, 2), "an object idle for 2.5 s with --idle-timeout 1 was not evicted");
}
