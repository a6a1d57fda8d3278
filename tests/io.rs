//! The event loop and I/O across the host boundary, through HTTP: timers,
//! `scheduler.wait`, outbound `fetch()` to a real local server (concurrency,
//! limits, timeouts, aborts, the host's own address refused), `ctx.waitUntil`,
//! streamed responses, and handlers that wait forever.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{TestHost, fixture};

fn host(extra: &[&str]) -> (TestHost, tempfile::TempDir) {
    let data = tempfile::tempdir().expect("tempdir");
    let host = TestHost::start_with(fixture("io_loop"), data.path(), extra);
    (host, data)
}

/// A real HTTP/1.1 server on 127.0.0.1 for the guest to fetch from:
/// `/hello`, `/slow?ms=N`, `/echo` (method and body), `/redirect` (302 to
/// `/hello`). It counts the requests in flight at once.
struct Upstream {
    base: String,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
}

impl Upstream {
    fn start() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the upstream server");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let (now, max) = (in_flight.clone(), max_in_flight.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (now, max) = (now.clone(), max.clone());
                std::thread::spawn(move || serve_upstream(stream, &now, &max));
            }
        });
        Upstream { base, in_flight, max_in_flight }
    }
}

fn serve_upstream(stream: TcpStream, now: &AtomicUsize, max: &AtomicUsize) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let current = now.fetch_add(1, Ordering::SeqCst) + 1;
    max.fetch_max(current, Ordering::SeqCst);
    let (status, extra, text) = match path {
        "/hello" => ("200 OK", String::new(), "hello from upstream".to_string()),
        "/slow" => {
            let ms: u64 = query.split('&').find_map(|kv| kv.strip_prefix("ms=")).and_then(|v| v.parse().ok()).unwrap_or(100);
            let id = query.split('&').find_map(|kv| kv.strip_prefix("id=")).unwrap_or("");
            std::thread::sleep(Duration::from_millis(ms));
            ("200 OK", String::new(), format!("slow {id}"))
        }
        "/echo" => ("200 OK", String::new(), format!("{method} {}", String::from_utf8_lossy(&body))),
        "/redirect" => ("302 Found", "location: /hello\r\n".to_string(), String::new()),
        _ => ("404 Not Found", String::new(), "no such path".to_string()),
    };
    now.fetch_sub(1, Ordering::SeqCst);
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\n{extra}x-served-by: upstream\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    );
}

#[test]
fn timers_fire_in_order_after_microtasks_and_cleared_ones_never_fire() {
    let (host, _data) = host(&[]);
    let r = host.get("/timers");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), serde_json::json!(["sync", "microtask", "promise", "t0:xy", "t20"]));
}

#[test]
fn set_interval_repeats_until_cleared() {
    let (host, _data) = host(&[]);
    let r = host.get("/interval");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), serde_json::json!({ "ticks": 3, "elapsedAtLeast15": true }));
}

#[test]
fn scheduler_wait_resolves_after_the_delay_on_the_host_clock() {
    let (host, _data) = host(&[]);
    let r = host.get("/wait?ms=30");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), serde_json::json!({ "waitedAtLeast": true, "dateAdvanced": true, "timeOriginIsRecent": true }));
}

#[test]
fn a_handler_that_never_settles_gets_a_clear_error_and_the_server_keeps_serving() {
    let (host, _data) = host(&[]);
    let r = host.get("/never");
    assert_eq!(r.status, 500, "{}", r.body);
    assert!(host.wait_for_log("never settled"), "logs: {}", host.logs());
    assert_eq!(host.get("/timers").status, 200);
}

#[test]
fn a_handler_awaiting_forever_is_stopped_at_the_wall_time_limit() {
    let (host, _data) = host(&["--max-event-wall-ms", "300"]);
    let r = host.get("/forever");
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("exceeded wall time limit (300 ms)"), "body: {}", r.body);
    assert_eq!(host.get("/timers").status, 200);
}

#[test]
fn time_spent_waiting_is_not_charged_as_cpu_time() {
    // 20 waits of 20 ms: 400 ms of wall time against a 50 ms CPU budget.
    let (host, _data) = host(&["--max-cpu-ms", "50"]);
    let r = host.get("/sleepy?n=20&ms=20");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, "slept 20x20ms");
}

#[test]
fn fetch_reaches_a_local_server_with_method_body_and_headers() {
    let up = Upstream::start();
    let (host, _data) = host(&[]);
    let r = host.get(&format!("/fetch?target={}&path=/echo&method=POST&body=ping", up.base));
    let v = r.json();
    assert_eq!(v["status"], 200, "{v}");
    assert_eq!(v["body"], "POST ping");
    assert_eq!(v["served"], "upstream");
    assert_eq!(v["redirected"], false);
}

#[test]
fn fetch_follows_redirects_unless_told_not_to() {
    let up = Upstream::start();
    let (host, _data) = host(&[]);
    let v = host.get(&format!("/fetch?target={}&path=/redirect", up.base)).json();
    assert_eq!(v["body"], "hello from upstream", "{v}");
    assert_eq!(v["redirected"], true);
    assert_eq!(v["url"], format!("{}/hello", up.base));
    assert_eq!(v["own"], serde_json::json!([]), "url and redirected come from Response's getters: {v}");

    let v = host.get(&format!("/fetch?target={}&path=/redirect&redirect=manual", up.base)).json();
    assert_eq!(v["status"], 302, "{v}");

    let v = host.get(&format!("/fetch?target={}&path=/redirect&redirect=error", up.base)).json();
    assert!(v["error"].as_str().unwrap_or("").contains("redirect mode is \"error\""), "{v}");
}

#[test]
fn concurrent_fetches_run_at_the_same_time() {
    let up = Upstream::start();
    let (host, _data) = host(&[]);
    let r = host.get(&format!("/concurrent?target={}", up.base));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json(), serde_json::json!(["slow a", "slow b"]));
    assert_eq!(up.max_in_flight.load(Ordering::SeqCst), 2, "both requests were in flight at once");
    assert_eq!(up.in_flight.load(Ordering::SeqCst), 0);
}

#[test]
fn fetch_counts_against_the_subrequest_limit() {
    let up = Upstream::start();
    let (host, _data) = host(&["--max-subrequests", "2"]);
    let v = host.get(&format!("/many?target={}&n=3", up.base)).json();
    assert_eq!(v["done"], serde_json::json!([0, 1]), "{v}");
    assert_eq!(v["error"], "Error: exceeded the subrequest limit (2 per request)");
}

#[test]
fn a_fetch_that_takes_too_long_fails_with_the_timeout_error() {
    let up = Upstream::start();
    let (host, _data) = host(&["--outbound-timeout-ms", "200"]);
    let v = host.get(&format!("/fetch?target={}&path=/slow?ms=3000", up.base)).json();
    let error = v["error"].as_str().unwrap_or("");
    assert!(error.starts_with("TypeError: fetch() failed"), "{v}");
    assert!(error.contains("did not answer within 200 ms"), "{v}");
}

#[test]
fn https_fetch_goes_through_tls_and_the_deny_list_still_applies() {
    // A plain-HTTP server answering a TLS handshake: the TLS layer must fail
    // the handshake (no "not supported", no plaintext exchange).
    let up = Upstream::start();
    let (host, _data) = host(&[]);
    let tls_target = up.base.replace("http://", "https://");
    let v = host.get(&format!("/fetch?target={tls_target}&path=/hello")).json();
    let error = v["error"].as_str().unwrap_or("");
    assert!(error.starts_with("TypeError: fetch() failed: could not reach https://127.0.0.1:"), "{v}");
    assert!(!error.contains("not supported"), "{v}");
    assert!(v.get("status").is_none(), "no response over a failed handshake: {v}");

    // The host's own listener is refused under https too.
    let own = host.url("").trim_end_matches('/').replace("http://", "https://");
    let v = host.get(&format!("/fetch?target={own}&path=/hello")).json();
    let error = v["error"].as_str().unwrap_or("");
    assert!(error.contains("refused to connect") && error.contains("this host's own listeners"), "{v}");
}

#[test]
fn fetch_to_the_hosts_own_address_is_refused_under_every_alias() {
    let (host, _data) = host(&[]);
    let v = host.get("/self").json();
    let map = v.as_object().expect("an object");
    assert_eq!(map.len(), 4, "{v}");
    for (alias, outcome) in map {
        let outcome = outcome.as_str().unwrap_or("");
        assert!(
            outcome.contains("refused to connect") && outcome.contains("this host's own listeners"),
            "{alias}: {outcome}"
        );
    }
}

#[test]
fn global_outbound_null_blocks_fetch_with_a_clear_error() {
    let (host, _data) = host(&[]);
    let r = host.get("/blocked");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, "fetch() is blocked: this worker was loaded with globalOutbound: null, so it has no network access");
}

#[test]
fn wait_until_work_runs_after_the_response_and_its_writes_are_visible_later() {
    let (host, _data) = host(&[]);
    assert_eq!(host.get("/store/later").body, "answered first");
    // The object drives its waitUntil work before its next event.
    assert_eq!(host.get("/store/check").body, "written by waitUntil");
}

#[test]
fn a_workers_wait_until_work_completes_after_its_response() {
    let (host, _data) = host(&[]);
    assert_eq!(host.get("/wait-until").body, "worker answered");
    assert!(host.wait_for_log("worker waitUntil done"), "logs: {}", host.logs());
}

#[test]
fn abort_signal_timeout_aborts_a_fetch_to_a_slow_server() {
    let up = Upstream::start();
    let (host, _data) = host(&[]);
    let v = host.get(&format!("/abort-timeout?target={}", up.base)).json();
    assert_eq!(v, serde_json::json!({ "name": "TimeoutError", "quick": true }));
    let v = host.get(&format!("/abort-controller?target={}", up.base)).json();
    assert_eq!(v["caught"], "Error: changed my mind", "{v}");
}

#[test]
fn a_streamed_response_reaches_the_client_chunked() {
    let (host, _data) = host(&[]);
    let r = host.get("/stream");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.body, "chunk 0\nchunk 1\nchunk 2\nchunk 3\nchunk 4\n");
    // An object's streamed response reaches its caller whole.
    assert_eq!(host.get("/store/stream").body, "object stream");
    assert_eq!(host.get("/timers").status, 200);
}
