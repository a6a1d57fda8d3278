//! `facets serve` end to end: objects, their ids and storage across restarts,
//! errors, vars, HTTP in and out, and a graceful stop.

mod common;

use std::sync::Barrier;
use std::time::Duration;

use common::{TestHost, fixture};

fn count_of(host: &TestHost, name: &str) -> u64 {
    let reply = host.get(&format!("/{name}"));
    assert_eq!(reply.status, 200, "GET /{name}: {reply:?}\nlogs:\n{}", host.logs());
    let json = reply.json();
    assert_eq!(json["name"], name, "the object answering /{name}: {json}");
    json["count"].as_u64().unwrap_or_else(|| panic!("no count in {json}"))
}

#[test]
fn counter_persists_across_requests_and_a_restart_on_the_same_data_dir() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut host = TestHost::start_with(fixture("serve_counter"), data.path(), &[]);
    assert_eq!(count_of(&host, "alice"), 1);
    assert_eq!(count_of(&host, "alice"), 2);
    assert_eq!(count_of(&host, "alice"), 3);
    let status = host.stop();
    assert!(status.success(), "facets serve exited with {status} on SIGTERM\nlogs:\n{}", host.logs());

    let host = TestHost::start_with(fixture("serve_counter"), data.path(), &[]);
    assert_eq!(count_of(&host, "alice"), 4, "the count did not survive the restart");
    assert_eq!(count_of(&host, "alice"), 5);
    assert_eq!(count_of(&host, "bob"), 1, "a new object starts at 1 after the restart too");
}

#[test]
fn fifty_concurrent_requests_to_one_object_get_fifty_distinct_counts() {
    const N: usize = 50;
    let host = TestHost::start(fixture("serve_counter"));
    let barrier = Barrier::new(N);
    let mut counts: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..N)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    count_of(&host, "busy")
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("request thread")).collect()
    });
    counts.sort_unstable();
    assert_eq!(counts, (1..=N as u64).collect::<Vec<_>>(), "each request must see its own count");
    assert_eq!(count_of(&host, "busy"), N as u64 + 1);
}

#[test]
fn objects_with_different_names_count_independently() {
    let host = TestHost::start(fixture("serve_counter"));
    assert_eq!(count_of(&host, "one"), 1);
    assert_eq!(count_of(&host, "one"), 2);
    assert_eq!(count_of(&host, "two"), 1);
    assert_eq!(count_of(&host, "one"), 3);
    assert_eq!(count_of(&host, "two"), 2);
    assert_eq!(count_of(&host, "three"), 1);
    // Names that differ only in case or by a prefix are different objects.
    assert_eq!(count_of(&host, "One"), 1);
    assert_eq!(count_of(&host, "on"), 1);
    assert_eq!(count_of(&host, "one"), 4);
}

/// The line of `logs` that holds `needle`, or a panic showing the logs.
fn log_line<'a>(logs: &'a str, needle: &str) -> &'a str {
    logs.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no log line contains {needle:?}; logs:\n{logs}"))
}

#[test]
fn a_throwing_entry_worker_answers_500_logs_the_error_and_serves_the_next_request() {
    let host = TestHost::start(fixture("serve_errors"));
    let reply = host.get("/entry-throws?why=marker-7421");
    assert_eq!(reply.status, 500, "{reply:?}");
    assert!(!reply.body.is_empty() && reply.body.len() < 200, "500 body should be short: {:?}", reply.body);
    assert!(host.wait_for_log("entry handler exploded: marker-7421"), "logs:\n{}", host.logs());
    let logs = host.logs();
    let line = log_line(&logs, "entry handler exploded: marker-7421");
    assert!(line.contains("TypeError"), "the log line names the error type: {line}");
    assert!(
        line.contains("object=\"worker\"") || line.contains("object=worker"),
        "the log line names the entry worker: {line}"
    );

    let next = host.get("/");
    assert_eq!((next.status, next.body.as_str()), (200, "entry ok"));
}

#[test]
fn a_throwing_object_answers_500_logs_the_error_with_the_object_name_and_serves_the_next_request() {
    let host = TestHost::start(fixture("serve_errors"));
    let reply = host.get("/object/bomb-object?throw=marker-9913");
    assert_eq!(reply.status, 500, "{reply:?}");
    assert!(!reply.body.is_empty() && reply.body.len() < 200, "500 body should be short: {:?}", reply.body);
    assert!(host.wait_for_log("object exploded: marker-9913"), "logs:\n{}", host.logs());
    let logs = host.logs();
    assert!(
        logs.lines().any(|l| l.contains("object exploded: marker-9913") && l.contains("bomb-object")),
        "no log line has both the error and the object's name; logs:\n{logs}"
    );

    let next = host.get("/object/bomb-object");
    assert_eq!(next.status, 200, "{next:?}\nlogs:\n{}", host.logs());
    let json = next.json();
    assert_eq!(json["name"], "bomb-object");
    assert!(json["calls"].as_u64().is_some_and(|n| n >= 1), "{json}");
    // Other objects were never affected.
    let other = host.get("/object/bystander");
    assert_eq!((other.status, other.json()["calls"].as_u64()), (200, Some(1)));
}

fn visit(host: &TestHost, path: &str) -> serde_json::Value {
    let reply = host.get(path);
    assert_eq!(reply.status, 200, "GET {path}: {reply:?}\nlogs:\n{}", host.logs());
    reply.json()
}

fn is_hex_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[test]
fn ctx_exports_get_by_name_and_id_from_name_reach_the_same_object_as_the_binding() {
    let host = TestHost::start(fixture("serve_ids"));
    let by_name = visit(&host, "/by-name/alpha");
    let by_exports = visit(&host, "/exports/alpha");
    let by_id = visit(&host, "/by-id/alpha");
    assert_eq!(
        [&by_name["visits"], &by_exports["visits"], &by_id["visits"]].map(|v| v.as_u64()),
        [Some(1), Some(2), Some(3)],
        "all three routes must reach one object: {by_name} {by_exports} {by_id}"
    );
    assert_eq!(by_name["id"], by_exports["id"]);
    assert_eq!(by_name["id"], by_id["id"]);
    assert_eq!(by_exports["name"], "alpha");
    assert_eq!(by_id["name"], "alpha", "an object reached through get(idFromName(n)) knows its name");

    let beta = visit(&host, "/exports/beta");
    assert_eq!(beta["visits"], 1, "another name is another object: {beta}");
    assert_ne!(beta["id"], by_name["id"]);
}

#[test]
fn object_ids_are_64_hex_digits_carry_their_name_and_compare_with_equals() {
    let host = TestHost::start(fixture("serve_ids"));
    let inside = visit(&host, "/by-name/gamma");
    let id = inside["id"].as_str().expect("id string");
    assert!(is_hex_id(id), "ctx.id.toString() should be 64 lowercase hex digits: {id:?}");
    assert_eq!(inside["name"], "gamma");
    assert_eq!(inside["equalsItself"], true);
    assert_eq!(inside["equalsIdFromName"], true, "ctx.id.equals(env.THING.idFromName(name)): {inside}");
    assert_eq!(inside["equalsOtherName"], false);

    let outside = visit(&host, "/ids/gamma");
    assert_eq!(outside["id"], inside["id"], "idFromName in the entry worker gives the object's id");
    assert_eq!(outside["name"], "gamma");
    assert_eq!(outside["sameNameEquals"], true);
    assert_eq!(outside["exportsEquals"], true, "ctx.exports.Thing.idFromName equals env.THING.idFromName: {outside}");
    assert_eq!(outside["otherNameEquals"], false);
    assert!(is_hex_id(outside["otherId"].as_str().unwrap_or("")), "{outside}");
    assert_ne!(outside["otherId"], outside["id"]);
    assert_eq!(outside["stubName"], "gamma");
}

#[test]
fn config_vars_are_visible_as_env_properties() {
    let host = TestHost::start(fixture("serve_vars"));
    let json = visit(&host, "/");
    assert_eq!(json["greetingType"], "string");
    assert_eq!(json["greeting"], "Hello, wörld");
    assert_eq!(json["settingsType"], "object");
    assert_eq!(
        json["settings"],
        serde_json::json!({ "retries": 3, "enabled": true, "tags": ["a", "b"], "nested": { "ratio": 0.5, "none": null } })
    );
    assert_eq!(json["retriesPlusOne"], 4, "a JSON var is a value, not a string: {json}");
    assert_eq!(json["missing"], true);
}

#[test]
fn sigterm_lets_an_in_flight_request_finish_and_exits_zero() {
    let mut host = TestHost::start(fixture("serve_slow"));
    let (reply, was_in_flight) = std::thread::scope(|s| {
        let request = s.spawn(|| host.get("/slow?ms=700"));
        assert!(host.wait_for_log("slow request started"), "the handler never started; logs:\n{}", host.logs());
        host.terminate();
        let was_in_flight = !request.is_finished();
        (request.join().expect("request thread"), was_in_flight)
    });
    assert!(was_in_flight, "the request finished before SIGTERM was sent; the test proves nothing");
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(reply.body.starts_with("done after "), "{:?}", &reply.body[..reply.body.len().min(100)]);
    assert!(reply.body.ends_with("\nend\n"), "the response was cut short ({} bytes)", reply.body.len());
    assert!(reply.body.contains(&"x".repeat(100_000)), "the response body is incomplete");
    let status = host.wait();
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM: {status}\nlogs:\n{}", host.logs());
}

/// An object's event runs to its end even when the client that caused it
/// hangs up midway: its writes commit. An event that arrives meanwhile waits
/// for it (events run one at a time, in arrival order) and sees the write.
#[test]
fn a_client_hanging_up_mid_request_does_not_cut_the_object_event_short() {
    use std::io::Write;
    let host = TestHost::start(fixture("serve_hangup"));
    assert_eq!(host.get("/count").body, "0");
    let addr = host.url("/").trim_start_matches("http://").trim_end_matches('/').to_string();
    let mut conn = std::net::TcpStream::connect(&addr).expect("connect");
    conn.write_all(b"POST /write HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n").expect("send");
    assert!(host.wait_for_log("write started"), "the event never started; logs:\n{}", host.logs());
    conn.shutdown(std::net::Shutdown::Both).expect("hang up");
    drop(conn);
    // The abandoned event waits 400 ms before it writes; this one queues behind it.
    let started = std::time::Instant::now();
    assert_eq!(host.get("/count").body, "1", "the abandoned event's write is missing; logs:\n{}", host.logs());
    assert!(started.elapsed() < Duration::from_secs(10), "the next event waited {:?}", started.elapsed());
    assert_eq!(host.request("POST", "/write", &[], None).body, "written");
    assert_eq!(host.get("/count").body, "2");
}

/// A supervisor may stop the server as soon as it reports ready; the stop
/// must be as graceful then as later. (The window, if any, is short: each
/// round is one chance to hit it.)
#[test]
fn sigterm_sent_as_soon_as_ready_is_printed_still_exits_zero() {
    let mut killed = Vec::new();
    for round in 0..20 {
        let mut host = TestHost::start(fixture("serve_counter"));
        let status = host.stop();
        if status.code() != Some(0) {
            killed.push(format!("round {round}: {status}, logs: {:?}", host.logs()));
        }
    }
    assert!(killed.is_empty(), "SIGTERM right after `Ready on` did not exit 0 in {}/20 rounds:\n{}", killed.len(), killed.join("\n"));
}

#[test]
fn sigterm_on_an_idle_server_exits_zero_promptly() {
    let mut host = TestHost::start(fixture("serve_counter"));
    assert_eq!(count_of(&host, "x"), 1);
    let started = std::time::Instant::now();
    let status = host.stop();
    assert_eq!(status.code(), Some(0), "{status}\nlogs:\n{}", host.logs());
    assert!(started.elapsed() < Duration::from_secs(10), "stopping took {:?}", started.elapsed());
}

#[test]
fn the_handler_sees_the_method_url_query_and_headers_case_insensitively() {
    let host = TestHost::start(fixture("serve_http"));
    let path = "/echo?q=hello%20w%C3%B6rld&tag=a&tag=b+c&flag";
    let reply = host.request("GET", path, &[("X-Test-Header", "Mixed Value")], None);
    assert_eq!(reply.status, 201, "{reply:?}");
    let json = reply.json();
    assert_eq!(json["method"], "GET");
    assert_eq!(json["url"], host.url(path));
    assert_eq!(json["pathname"], "/echo");
    assert_eq!(json["search"], "?q=hello%20w%C3%B6rld&tag=a&tag=b+c&flag");
    assert_eq!(json["q"], "hello wörld");
    assert_eq!(json["all"], serde_json::json!(["a", "b c"]));
    assert_eq!(json["missingParam"], serde_json::Value::Null);
    assert_eq!(json["hasFlag"], true);
    assert_eq!(json["headerLower"], "Mixed Value");
    assert_eq!(json["headerUpper"], "Mixed Value");
    assert_eq!(json["headerMixed"], "Mixed Value");
    assert_eq!(json["hasHeader"], true);
    assert_eq!(json["missingHeader"], serde_json::Value::Null);
    assert_eq!(json["body"], serde_json::Value::Null);

    for method in ["PUT", "DELETE", "PATCH", "OPTIONS"] {
        let reply = host.request(method, "/echo", &[], None);
        assert_eq!((reply.status, reply.json()["method"].clone()), (201, method.into()), "{method}: {reply:?}");
    }
}

/// The handler's `request.url` is the URL's WHATWG href: dot segments are
/// resolved and the query is kept as sent (the host normalizes it before
/// the guest sees it). Sent over a raw connection, so that no client
/// library normalizes the path first.
#[test]
fn the_handler_sees_the_request_url_normalized() {
    use std::io::{Read, Write};
    let host = TestHost::start(fixture("serve_http"));
    let authority = host.url("").trim_start_matches("http://").to_string();
    let mut conn = std::net::TcpStream::connect(&authority).expect("connecting to the server");
    write!(conn, "GET /x/./y/../echo?q=%7e&r=a%20b HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n").expect("sending");
    let mut raw = String::new();
    conn.read_to_string(&mut raw).expect("reading the response");
    let body = raw.split("\r\n\r\n").nth(1).unwrap_or_default();
    assert!(raw.starts_with("HTTP/1.1 201"), "{raw}");
    let json: serde_json::Value = serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("{e}: {raw}"));
    assert_eq!(json["url"], host.url("/x/echo?q=%7e&r=a%20b"), "{json}");
    assert_eq!(json["pathname"], "/x/echo", "{json}");
    assert_eq!(json["q"], "~", "{json}");
}

#[test]
fn the_handler_reads_post_bodies_as_text_and_json() {
    let host = TestHost::start(fixture("serve_http"));
    let text = host.request("POST", "/echo", &[("content-type", "text/plain")], Some("plain text ☃\nline two"));
    assert_eq!(text.status, 201, "{text:?}");
    assert_eq!(text.json()["body"], serde_json::json!({ "text": "plain text ☃\nline two" }));

    let body = r#"{"n": 1.5, "s": "wörld", "list": [true, null], "o": {"k": "v"}}"#;
    let json = host.request("POST", "/echo", &[("Content-Type", "application/json")], Some(body));
    assert_eq!(json.status, 201, "{json:?}");
    assert_eq!(
        json.json()["body"],
        serde_json::json!({ "json": { "n": 1.5, "s": "wörld", "list": [true, null], "o": { "k": "v" } } })
    );

    let empty = host.request("POST", "/echo", &[("content-type", "text/plain")], Some(""));
    assert_eq!(empty.json()["body"], serde_json::json!({ "text": "" }), "{empty:?}");
}

#[test]
fn response_status_custom_headers_and_response_json_reach_the_client() {
    let host = TestHost::start(fixture("serve_http"));
    let json = host.get("/json");
    assert_eq!(json.status, 202, "{json:?}");
    assert_eq!(json.header("content-type"), Some("application/json"));
    assert_eq!(json.header("x-from-json"), Some("yes"));
    assert_eq!(json.body, r#"{"hello":"wörld","list":[1,2]}"#);

    let teapot = host.get("/status?code=418");
    assert_eq!(teapot.status, 418, "{teapot:?}");
    assert_eq!(teapot.header("X-Custom-Header"), Some("custom value"));
    assert_eq!(teapot.header("content-type"), Some("text/x-test"));
    assert_eq!(teapot.body, "teapot body");

    let server_error = host.get("/status?code=503");
    assert_eq!((server_error.status, server_error.body.as_str()), (503, "teapot body"));

    let echo = host.get("/echo");
    assert_eq!(echo.status, 201);
    assert_eq!(echo.header("x-echo"), Some("echoed"));
    assert_eq!(echo.header("content-type"), Some("application/json"));
}

/// Each new object runs alone in an instance of its own (module state starts
/// afresh), with its own name, storage and log lines.
#[test]
fn each_new_object_gets_an_instance_of_its_own_with_its_name_storage_and_logs() {
    let host = TestHost::start(fixture("serve_alone"));
    for round in 1..=2 {
        for i in 0..12 {
            let name = format!("o{i}");
            let reply = host.get(&format!("/{name}"));
            assert_eq!(reply.status, 200, "{name}, round {round}: {reply:?}\nlogs:\n{}", host.logs());
            let json = reply.json();
            assert_eq!(json["name"], name.as_str(), "{json}");
            assert_eq!(json["constructedHere"], 1, "{name}: another object was constructed in its instance: {json}");
            assert_eq!(json["n"], round, "{name}, round {round}: {json}");
            let said = format!("object says: {name} n={round}");
            assert!(host.wait_for_log(&said), "logs:\n{}", host.logs());
            let logs = host.logs();
            assert!(
                logs.lines().any(|l| l.contains(&said) && l.contains(&format!("object={name} "))),
                "the line {said:?} is not labelled with its object; logs:\n{logs}"
            );
        }
    }
}
