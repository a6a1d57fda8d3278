//! Supervisor controls through the real server: settings from the config and
//! flags, limits beyond CPU, usage metering (durable), Prometheus metrics and
//! per-object logs on the admin listener.

mod common;

use common::{TestHost, fixture, run_facets};

const TOKEN: &str = "controls-test-token-0123456789";

fn host_on(data: &std::path::Path, extra: &[&str]) -> TestHost {
    let mut args = vec!["--admin-port", "0", "--admin-token", TOKEN];
    args.extend_from_slice(extra);
    TestHost::start_with(fixture("hostile_app"), data, &args)
}

fn usage_of(host: &TestHost, query: &str) -> Vec<serde_json::Value> {
    let r = host.admin_get(&format!("/usage?{query}"), Some(TOKEN));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["usage"].as_array().cloned().unwrap_or_default()
}

#[test]
fn the_admin_listener_is_off_by_default_and_needs_a_token() {
    let host = TestHost::start(fixture("hostile_app"));
    assert!(host.admin.is_none());

    let out = run_facets(&["serve", fixture("hostile_app").to_str().unwrap(), "--port", "0", "--admin-port", "0"]);
    assert!(!out.status.success());
    assert!(out.stderr.contains("the admin listener needs a token"), "{}", out.stderr);
    let out = run_facets(&[
        "serve",
        fixture("hostile_app").to_str().unwrap(),
        "--port",
        "0",
        "--admin-port",
        "0",
        "--admin-ip",
        "0.0.0.0",
        "--admin-insecure",
    ]);
    assert!(!out.status.success());
    assert!(out.stderr.contains("only on a loopback address"), "{}", out.stderr);

    let data = tempfile::tempdir().unwrap();
    let host = host_on(data.path(), &[]);
    assert_eq!(host.admin_get("/usage", None).status, 401);
    assert_eq!(host.admin_get("/usage", Some("wrong-token-wrong-token")).status, 401);
    assert_eq!(host.admin_get("/metrics", Some(TOKEN)).status, 200);
    assert_eq!(host.admin_get("/nothing", Some(TOKEN)).status, 404);
    // The main listener does not serve the admin endpoints.
    assert_ne!(host.get("/usage").body, host.admin_get("/usage", Some(TOKEN)).body);
}

#[test]
fn usage_is_metered_per_object_and_facet_and_survives_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let mut host = host_on(data.path(), &[]);
    for i in 0..3 {
        assert_eq!(host.get(&format!("/victim/alice/put?v={i}")).status, 200);
    }
    host.get("/victim/alice/get");
    host.get("/victim/bob/get");
    assert_eq!(host.get("/sup/s/many-facets?n=2").json()["started"], 2);

    let alice = usage_of(&host, "namespace=Victim&object=alice");
    assert_eq!(alice.len(), 1, "{alice:?}");
    let a = &alice[0];
    assert_eq!(a["requests"], 4);
    assert_eq!(a["errors"], 0);
    assert!(a["rows_written"].as_u64().unwrap() >= 6, "{a}");
    assert!(a["rows_read"].as_u64().unwrap() >= 4, "{a}");
    assert!(a["storage_bytes"].as_u64().unwrap() > 0, "{a}");
    assert!(a["instance_starts"].as_u64().unwrap() >= 1, "{a}");
    assert!(a.get("cpu_ms").is_some() && a.get("wall_ms").is_some(), "{a}");
    assert_eq!(usage_of(&host, "namespace=Victim").len(), 2);

    let sup = usage_of(&host, "namespace=Sup&object=s");
    let facets: Vec<&str> = sup.iter().map(|r| r["facet"].as_str().unwrap()).collect();
    assert_eq!(facets, ["", "f0", "f1"], "{sup:?}");
    assert_eq!(sup[1]["requests"], 1);
    assert_eq!(sup[0]["subrequests"], 0);

    assert!(host.stop().success());
    let host = host_on(data.path(), &[]);
    assert_eq!(usage_of(&host, "namespace=Victim&object=alice")[0]["requests"], 4, "after a restart");
    host.get("/victim/alice/get");
    assert_eq!(usage_of(&host, "namespace=Victim&object=alice")[0]["requests"], 5);
}

/// Metering reads a database's size at most once a second: what later
/// writes add is recorded when the object's instance ends (here, evicted
/// once idle), so usage ends with the true size.
#[test]
fn usage_ends_with_the_size_of_writes_made_within_a_second() {
    let data = tempfile::tempdir().unwrap();
    let host = host_on(data.path(), &["--idle-timeout", "1"]);
    assert_eq!(host.get("/victim/carol/put?v=small").status, 200);
    let small = usage_of(&host, "namespace=Victim&object=carol")[0]["storage_bytes"].as_u64().unwrap();
    let big = "x".repeat(20_000);
    // Two writes of about 40 KB each, right after the first (within its second).
    for _ in 0..2 {
        assert_eq!(host.get(&format!("/victim/carol/put?v={big}")).status, 200);
    }
    let start = std::time::Instant::now();
    loop {
        let bytes = usage_of(&host, "namespace=Victim&object=carol")[0]["storage_bytes"].as_u64().unwrap();
        if bytes >= small + 60_000 {
            break;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(15), "storage_bytes {bytes} (first write: {small})");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn metrics_count_requests_instances_limits_and_the_loader_without_object_labels() {
    let data = tempfile::tempdir().unwrap();
    let host = host_on(data.path(), &["--max-cpu-ms", "100"]);
    host.get("/victim/alice/put?v=1");
    host.get("/bad/b/loop");
    host.get("/sup/s/many-facets?n=1");
    let m = host.admin_get("/metrics", Some(TOKEN));
    assert_eq!(m.status, 200);
    let body = &m.body;
    for series in [
        "facets_requests_total{kind=\"http\",outcome=\"ok\"}",
        "facets_requests_total{kind=\"object\",outcome=\"ok\"}",
        "facets_requests_total{kind=\"object\",outcome=\"limit\"}",
        "facets_requests_total{kind=\"facet\",outcome=\"ok\"}",
        "facets_request_duration_seconds_bucket{",
        "facets_instance_starts_total ",
        "facets_live_instances ",
        "facets_limit_hits_total{kind=\"cpu\"} 1",
        "facets_storage_bytes ",
        "facets_loader_cache_total{result=\"miss\"}",
        "facets_evictions_total ",
    ] {
        assert!(body.contains(series), "no {series} in:\n{body}");
    }
    assert!(!body.contains("alice") && !body.contains("Victim"), "object labels in the metrics:\n{body}");
}

/// Starting an instance is timed by phase, so that an operator can see where
/// a slow start goes: every object, facet and piece of loaded code that
/// starts counts once in each of its phases; a live object does not start
/// again, and an object or facet that never uses storage opens no database.
#[test]
fn metrics_time_each_phase_of_starting_objects_facets_and_loaded_code() {
    let data = tempfile::tempdir().unwrap();
    let host = host_on(data.path(), &[]);
    assert_eq!(host.get("/victim/alice/put?v=1").status, 200);
    assert_eq!(host.get("/victim/bob/put?v=1").status, 200);
    assert_eq!(host.get("/victim/alice/put?v=2").status, 200);
    assert_eq!(host.get("/victim/carol/hello").status, 200);
    let r = host.get("/sup/s/many-facets?n=2");
    assert_eq!(r.json()["started"], 2, "{}", r.body);
    let m = host.admin_get("/metrics", Some(TOKEN)).body;
    let count = |kind: &str, phase: &str| -> u64 {
        let series = format!("facets_start_phase_seconds_count{{kind=\"{kind}\",phase=\"{phase}\"}} ");
        m.lines().find_map(|l| l.strip_prefix(series.as_str())).map_or(0, |v| v.trim().parse().unwrap())
    };
    // alice, bob, carol and the supervisor s
    for phase in ["instantiate", "load", "construct"] {
        assert_eq!(count("object", phase), 4, "object {phase} in:\n{m}");
        assert_eq!(count("facet", phase), 2, "facet {phase} in:\n{m}");
    }
    assert_eq!(count("object", "storage_open"), 2, "alice's and bob's databases:\n{m}");
    assert_eq!(count("facet", "storage_open"), 0, "the facets only answered ping:\n{m}");
    assert_eq!(count("loader", "compile"), 1, "both facets run the code loaded as \"app\":\n{m}");
    assert!(m.contains(",kind=\"object\",phase=\"load\"} 4"), "the slowest bucket of object loads holds all four:\n{m}");
}

/// With many instance slots the server answers from a small boot pool and
/// builds the full pool after it starts listening, by itself: the metric
/// reaches `--max-instances` without any load, and objects work throughout.
#[test]
fn the_server_builds_its_full_instance_pool_after_it_starts() {
    let data = tempfile::tempdir().unwrap();
    let host = host_on(data.path(), &["--max-instances", "3000"]);
    assert_eq!(host.get("/victim/alice/put?v=1").status, 200);
    let slots = |host: &TestHost| -> Option<u64> {
        let m = host.admin_get("/metrics", Some(TOKEN));
        m.body.lines().find_map(|l| l.strip_prefix("facets_instance_slots ")).and_then(|v| v.trim().parse().ok())
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while slots(&host) != Some(3000) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(slots(&host), Some(3000), "the full pool was not built; logs:\n{}", host.logs());
    let v = host.get("/victim/alice/get").json();
    assert_eq!(v["v"], "1", "{v}");
    assert_eq!(host.get("/victim/bob/put?v=2").status, 200);
}

#[test]
fn logs_are_tagged_and_each_objects_recent_lines_are_served() {
    let data = tempfile::tempdir().unwrap();
    let host = host_on(data.path(), &[]);
    host.get("/bad/talker/console?n=3");
    host.get("/bad/talker/recursion");
    host.get("/bad/quiet/ok");
    // The stderr line carries the object's tags.
    assert!(host.wait_for_log("line 2 "));
    let line = host.logs().lines().find(|l| l.contains("line 2 ")).unwrap().to_string();
    for tag in ["namespace=Bad", "object=talker", "code=main"] {
        assert!(line.contains(tag), "{tag} missing in {line}");
    }
    let r = host.admin_get("/logs?object=talker", Some(TOKEN));
    assert_eq!(r.status, 200, "{}", r.body);
    let lines = r.json()["lines"].as_array().cloned().unwrap();
    let console: Vec<_> = lines.iter().filter(|l| l["source"] == "console").collect();
    assert_eq!(console.len(), 3, "{lines:?}");
    assert!(console[0]["message"].as_str().unwrap().starts_with("line 0 "));
    assert_eq!((console[0]["namespace"].as_str(), console[0]["code"].as_str()), (Some("Bad"), Some("main")));
    assert!(lines.iter().any(|l| l["message"].as_str().unwrap().contains("exceeded the stack limit")), "{lines:?}");
    let quiet = host.admin_get("/logs?object=quiet", Some(TOKEN)).json();
    assert!(quiet["lines"].as_array().unwrap().iter().all(|l| !l["message"].as_str().unwrap().contains("line ")));
    assert_eq!(host.admin_get("/logs", Some(TOKEN)).status, 400);
}

#[test]
fn json_logs_carry_the_tags_as_fields() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start_with(fixture("hostile_app"), data.path(), &["--log-json"]);
    host.get("/bad/j/console?n=1");
    assert!(host.wait_for_log("line 0 "));
    let line = host.logs().lines().find(|l| l.contains("line 0 ")).unwrap().to_string();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(v["span"]["namespace"], "Bad", "{line}");
    assert_eq!(v["span"]["object"], "j", "{line}");
}

#[test]
fn settings_come_from_the_config_and_flags_override_them() {
    let data = tempfile::tempdir().unwrap();
    let host = TestHost::start_with(fixture("controls_config"), data.path(), &[]);
    // facets.admin from the config (insecure on loopback), limits.cpu_ms = 150.
    assert!(host.admin.is_some(), "the config's admin listener");
    let r = host.get("/bad/b/loop");
    assert!(r.json()["error"].as_str().unwrap().contains("exceeded CPU time limit (150 ms)"), "{}", r.body);
    let r = host.get("/sup/s/many-facets?n=3");
    assert!(r.json()["error"].as_str().unwrap().contains("exceeded the facet limit (2 "), "{}", r.body);
    assert_eq!(host.admin_get("/usage", None).status, 200);
    drop(host);

    let host = TestHost::start_with(fixture("controls_config"), data.path(), &["--max-cpu-ms", "250"]);
    let r = host.get("/bad/b/loop");
    assert!(r.json()["error"].as_str().unwrap().contains("exceeded CPU time limit (250 ms)"), "{}", r.body);
}

#[test]
fn a_bad_setting_stops_the_server_with_the_field_named() {
    let out = run_facets(&["serve", fixture("controls_bad_config").to_str().unwrap(), "--port", "0"]);
    assert!(!out.status.success());
    assert!(out.stderr.contains("limits.cpu_ms: expected a whole number, found \"fast\""), "{}", out.stderr);
}

#[test]
fn serve_help_documents_every_setting_with_its_default() {
    let out = run_facets(&["serve", "--help"]);
    assert!(out.status.success());
    for flag in [
        "--max-cpu-ms",
        "--cpu-ms-cap",
        "--max-subrequests",
        "--max-memory-mib",
        "--max-request-body-bytes",
        "--max-response-body-bytes",
        "--max-console-bytes",
        "--max-database-bytes",
        "--max-facets",
        "--max-objects-per-namespace",
        "--max-loaded-code-bytes",
        "--max-loaded-modules",
        "--max-instances",
        "--admin-port",
        "--admin-token",
        "--admin-insecure",
        "--durability",
    ] {
        assert!(out.stdout.contains(flag), "{flag} missing:\n{}", out.stdout);
    }
    assert!(out.stdout.contains("[default: 30000]") && out.stdout.contains("[default: 128]"), "{}", out.stdout);
}

#[test]
fn request_bodies_and_objects_per_namespace_are_limited() {
    let data = tempfile::tempdir().unwrap();
    let host = host_on(data.path(), &["--max-request-body-bytes", "1000", "--max-objects-per-namespace", "2"]);
    let big = "x".repeat(2000);
    let r = host.post("/victim/a/get", &big);
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(r.body.contains("1000 bytes"), "{}", r.body);
    assert_eq!(host.post("/victim/a/get", "small").status, 200);
    assert_eq!(host.get("/victim/b/get").status, 200);
    let r = host.get("/victim/c/get");
    assert!(r.json()["error"].as_str().unwrap().contains("exceeded the object limit (2 objects in namespace Victim)"), "{}", r.body);
    assert_eq!(host.get("/victim/a/get").status, 200, "existing objects still serve");
    let m = host.admin_get("/metrics", Some(TOKEN)).body;
    assert!(m.contains("facets_limit_hits_total{kind=\"request_body\"} 1"), "{m}");
    assert!(m.contains("facets_limit_hits_total{kind=\"objects\"} 1"), "{m}");
}

/// Storage is made when an object first uses it: objects that never do leave
/// no files and do not count against the namespace's object limit; the first
/// storage use of one object too many fails with the limit's error.
#[test]
fn objects_without_storage_leave_no_files_and_do_not_count_against_the_limit() {
    let data = tempfile::tempdir().unwrap();
    let host = host_on(data.path(), &["--max-objects-per-namespace", "2"]);
    let stored = || std::fs::read_dir(data.path().join("Victim")).map(|d| d.count()).unwrap_or(0);
    for name in ["p", "q", "r", "s"] {
        let r = host.get(&format!("/victim/{name}/hello"));
        assert_eq!((r.status, r.body.as_str()), (200, format!("hello from {name}").as_str()));
    }
    assert_eq!(stored(), 0, "objects that stored nothing left files");
    assert_eq!(host.get("/victim/p/put?v=1").status, 200);
    assert_eq!(host.get("/victim/q/get").status, 200);
    assert_eq!(stored(), 2);
    let r = host.get("/victim/r/get");
    assert!(r.json()["error"].as_str().unwrap().contains("exceeded the object limit (2 objects in namespace Victim)"), "{}", r.body);
    let r = host.get("/victim/r/get");
    assert!(r.json()["error"].as_str().unwrap().contains("exceeded the object limit"), "asked again: {}", r.body);
    assert_eq!(stored(), 2, "the refused object made no files");
    assert_eq!(host.get("/victim/r/hello").status, 200, "it still serves what needs no storage");
    assert_eq!(host.get("/victim/p/get").json()["v"], "1", "a stored object keeps its data");
}

#[test]
fn a_supervisor_reads_its_facets_usage() {
    let data = tempfile::tempdir().unwrap();
    let host = host_on(data.path(), &[]);
    let r = host.get("/sup/s/facet-usage");
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["metered"]["requests"], 5, "{v}");
    assert_eq!(v["metered"]["facet"], "metered", "{v}");
    assert!(v["metered"]["instance_starts"].as_u64().unwrap() >= 1, "{v}");
    assert!(v["never"].is_null(), "{v}");
    // The facet's size as of its last write, though metering read it before that write.
    assert!(v["size"].as_u64().unwrap() > 50_000, "{v}");
    assert_eq!(v["metered"]["storage_bytes"], v["size"], "{v}");
}

/// The instance that loads the project at start-up (to refuse a project whose
/// top-level code fails) serves the first request: that request starts no
/// instance of its own.
#[test]
fn the_instance_that_checked_the_project_at_start_up_serves_the_first_request() {
    let data = tempfile::tempdir().unwrap();
    let host = host_on(data.path(), &[]);
    let starts = || {
        let m = host.admin_get("/metrics", Some(TOKEN)).body;
        m.lines()
            .find_map(|l| l.strip_prefix("facets_instance_starts_total "))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no instance starts in:\n{m}"))
    };
    let at_start = starts();
    let r = host.get("/pollution");
    assert_eq!((r.status, r.body.as_str()), (200, "null"));
    assert_eq!(starts(), at_start, "the first request started an instance");
    // Two requests at once: the second gets an instance of its own.
    let both = std::thread::scope(|s| {
        let a = s.spawn(|| host.get("/pollution").status);
        let b = s.spawn(|| host.get("/pollution").status);
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(both, (200, 200));
}
