//! Web platform APIs in the guest: `crypto.subtle` (digests, HMAC),
//! `btoa`/`atob`, `TextDecoder` and `crypto.randomUUID`, against known
//! vectors (FIPS 180, RFC 4231) through the fixture `web_crypto`, whose
//! `GET /` runs every case and answers a JSON report.

mod common;

use std::collections::HashSet;

use common::{TestHost, fixture};
use serde_json::{Value, json};

/// Runs the fixture's cases once and returns the report.
fn report(host: &TestHost) -> Value {
    let reply = host.get("/");
    assert_eq!(reply.status, 200, "GET /: {reply:?}\nlogs:\n{}", host.logs());
    reply.json()
}

/// The value of a case that must succeed.
fn ok<'a>(report: &'a Value, case: &str) -> &'a Value {
    let r = &report[case];
    assert_eq!(r["ok"], true, "case {case} failed: {r}");
    &r["value"]
}

/// Asserts that a case threw (or rejected with) an Error named `name`.
fn err(report: &Value, case: &str, name: &str) {
    let r = &report[case];
    assert_eq!(r["ok"], false, "case {case} should have failed with {name}: {r}");
    assert_eq!(r["name"], name, "case {case}: {r}");
    assert_eq!(r["isError"], true, "case {case} threw a non-Error: {r}");
}

#[test]
fn web_platform_cases_match_known_vectors() {
    let host = TestHost::start(fixture("web_crypto"));
    let r = report(&host);

    // FIPS 180 examples ("abc") and the empty message.
    assert_eq!(ok(&r, "sha1_abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    assert_eq!(ok(&r, "sha1_empty"), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    assert_eq!(ok(&r, "sha256_abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_eq!(ok(&r, "sha256_empty"), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_eq!(
        ok(&r, "sha384_abc"),
        "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"
    );
    assert_eq!(
        ok(&r, "sha384_empty"),
        "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b"
    );
    assert_eq!(
        ok(&r, "sha512_abc"),
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
    );
    assert_eq!(
        ok(&r, "sha512_empty"),
        "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"
    );
    assert_eq!(
        ok(&r, "digest_of_view_slice"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "a view digests only its own bytes"
    );
    assert_eq!(ok(&r, "digest_is_arraybuffer"), true);
    assert_eq!(ok(&r, "digest_returns_promise"), true);
    err(&r, "digest_unknown", "NotSupportedError");
    assert_eq!(ok(&r, "digest_unknown_is_rejection"), true, "an unknown algorithm rejects rather than throws");

    // HMAC: RFC 4231 test case 2.
    assert_eq!(
        ok(&r, "hmac_key_shape"),
        &json!({
            "type": "secret",
            "extractable": false,
            "algorithm": { "name": "HMAC", "hash": { "name": "SHA-256" }, "length": 32 },
            "usages": ["sign", "verify"],
            "isCryptoKey": true,
            "tag": "[object CryptoKey]",
        })
    );
    assert_eq!(
        ok(&r, "hmac_sign"),
        &json!({ "hex": "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", "isArrayBuffer": true })
    );
    assert_eq!(
        ok(&r, "hmac_sign_sha512"),
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
    );
    assert_eq!(ok(&r, "hmac_verify"), &json!({ "good": true, "badSig": false, "badData": false, "short": false }));
    err(&r, "hmac_sign_without_usage", "InvalidAccessError");
    err(&r, "hmac_verify_without_usage", "InvalidAccessError");
    err(&r, "hmac_bad_usage", "SyntaxError");
    err(&r, "hmac_no_usages", "SyntaxError");
    assert_eq!(ok(&r, "hmac_export"), "4a656665", "the raw key is \"Jefe\"");
    err(&r, "hmac_export_not_extractable", "InvalidAccessError");
    err(&r, "hmac_unknown_hash", "NotSupportedError");
    assert_eq!(ok(&r, "hmac_generate"), &json!({ "length": 512, "rawBytes": 64, "verifies": true }));
    err(&r, "crypto_key_constructor", "TypeError");

    // btoa / atob.
    assert_eq!(ok(&r, "btoa_hello"), "SGVsbG8sIHdvcmxkIQ==");
    assert_eq!(ok(&r, "btoa_latin1"), "//4A");
    assert_eq!(ok(&r, "btoa_empty"), "");
    err(&r, "btoa_non_latin1", "InvalidCharacterError");
    assert_eq!(ok(&r, "atob_hello"), "Hello, world!");
    assert_eq!(ok(&r, "atob_whitespace"), "Hello, world!", "ASCII whitespace is ignored");
    assert_eq!(ok(&r, "atob_no_padding"), "Hello, world!", "missing padding is allowed");
    assert_eq!(ok(&r, "atob_trailing_bits"), "a", "leftover bits are discarded");
    assert_eq!(ok(&r, "atob_latin1"), &json!([255, 254, 0]));
    err(&r, "atob_bad_length", "InvalidCharacterError");
    err(&r, "atob_bad_char", "InvalidCharacterError");
    err(&r, "atob_bad_padding", "InvalidCharacterError");
    err(&r, "atob_padding_inside", "InvalidCharacterError");
    assert_eq!(ok(&r, "round_trip"), true);
    assert_eq!(ok(&r, "globals_hidden"), &json!([]), "private helpers leaked as globals");

    // TextDecoder.
    assert_eq!(ok(&r, "utf8_invalid"), "a\u{fffd}b\u{fffd}");
    err(&r, "utf8_invalid_fatal", "TypeError");
    assert_eq!(ok(&r, "utf8_fatal_valid"), "héllo €");
    assert_eq!(ok(&r, "utf8_bom_removed"), "hi");
    assert_eq!(ok(&r, "utf8_bom_kept"), "\u{feff}hi");
    assert_eq!(ok(&r, "utf16le"), "h€😀");
    assert_eq!(ok(&r, "utf16le_bom"), "hi");
    assert_eq!(ok(&r, "utf16be"), "h€");
    err(&r, "utf16le_odd_fatal", "TypeError");
    assert_eq!(ok(&r, "windows1252"), "€Aé");
    assert_eq!(ok(&r, "latin1_label"), &json!({ "encoding": "windows-1252", "text": "€ÿ" }));
    assert_eq!(ok(&r, "iso8859_2"), "Ął");
    assert_eq!(ok(&r, "koi8r"), "При");
    assert_eq!(
        ok(&r, "encoding_names"),
        &json!([
            "utf-8", "utf-8", "utf-16le", "utf-16be", "windows-1252", "windows-1252", "iso-8859-2", "windows-1251",
            "koi8-r", "shift_jis"
        ])
    );
    assert_eq!(ok(&r, "decoder_flags"), &json!({ "fatal": true, "ignoreBOM": true, "encoding": "utf-8" }));
    assert_eq!(ok(&r, "decode_no_input"), "");
    assert_eq!(ok(&r, "decode_dataview"), "hi");
    err(&r, "unknown_label", "RangeError");
    err(&r, "replacement_label", "RangeError");
    assert_eq!(ok(&r, "stream_utf8"), &json!(["", "a", "", "€", "", "", "€!"]));
    assert_eq!(ok(&r, "stream_utf8_truncated"), &json!(["a", "\u{fffd}"]), "a truncated sequence at the end is U+FFFD");
    err(&r, "stream_utf8_truncated_fatal", "TypeError");
    assert_eq!(ok(&r, "stream_after_fatal_error"), "hi", "after an error the decoder starts afresh");
    assert_eq!(ok(&r, "stream_utf16le"), "|h||😀|", "code units and surrogate pairs split across chunks");

    // Nothing left unchecked: every case in the report is asserted above.
    let cases = r.as_object().expect("the report is an object").len();
    assert_eq!(cases, 65, "the fixture's cases changed; update this test: {r}");
}

#[test]
fn random_uuids_differ_across_requests_and_objects() {
    let host = TestHost::start(fixture("web_crypto"));
    let uuid = |path: &str| -> String {
        let reply = host.get(path);
        assert_eq!(reply.status, 200, "GET {path}: {reply:?}\nlogs:\n{}", host.logs());
        let json = reply.json();
        let uuid = json["uuid"].as_str().unwrap_or_else(|| panic!("no uuid in {json}")).to_owned();
        let b = uuid.as_bytes();
        assert!(
            uuid.len() == 36
                && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
                && b[14] == b'4'
                && matches!(b[19], b'8' | b'9' | b'a' | b'b'),
            "not a version 4 UUID: {uuid}"
        );
        uuid
    };
    let all = [uuid("/uuid"), uuid("/uuid"), uuid("/object-uuid/a"), uuid("/object-uuid/b"), uuid("/object-uuid/a")];
    let distinct: HashSet<&String> = all.iter().collect();
    assert_eq!(distinct.len(), all.len(), "randomUUID repeated a value (randomness baked into the snapshot?): {all:?}");
}

/// `Math.random()` is seeded per instance: two new objects (each in an
/// instance of its own, made from the same pre-initialized snapshot) draw
/// different values, at module evaluation and in a request. QuickJS seeds
/// it when its context is created, which happens once, at build time.
#[test]
fn math_random_differs_between_new_objects() {
    let host = TestHost::start(fixture("web_crypto"));
    let draws = |name: &str| -> Vec<f64> {
        let path = format!("/random/{name}");
        let reply = host.get(&path);
        assert_eq!(reply.status, 200, "GET {path}: {reply:?}\nlogs:\n{}", host.logs());
        let json = reply.json();
        let mut all: Vec<f64> = json["first"].as_array().expect("first").iter().map(|v| v.as_f64().unwrap()).collect();
        all.push(json["now"].as_f64().expect("now"));
        assert!(all.iter().all(|x| (0.0..1.0).contains(x)), "not in [0, 1): {all:?}");
        all
    };
    let (a, b, c) = (draws("a"), draws("b"), draws("c"));
    for (x, y) in [(&a, &b), (&a, &c), (&b, &c)] {
        assert!(x.iter().all(|v| !y.contains(v)), "two new objects drew the same Math.random() values: {x:?} {y:?}");
    }
    let distinct: HashSet<u64> = a.iter().map(|v| v.to_bits()).collect();
    assert_eq!(distinct.len(), a.len(), "one object drew a value twice: {a:?}");
}

/// Every case of the fixture `web_api` (streams, Body, Headers, Request,
/// Response, Blob/File/FormData, events, URL, encoding) passes inside the
/// engine; the failures are listed by name.
#[test]
fn web_api_cases_pass_inside_the_engine() {
    let host = TestHost::start(fixture("web_api"));
    let r = report(&host);
    let cases = r.as_object().expect("the report is an object");
    let failures: Vec<String> =
        cases.iter().filter(|(_, v)| *v != "ok").map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or("?"))).collect();
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
    assert!(cases.len() >= 80, "the fixture's cases went missing: {}", cases.len());
}

/// A multipart upload is parsed by `request.formData()`, and a FormData
/// answered as the body is serialised as multipart with its own boundary.
#[test]
fn multipart_upload_is_parsed_and_echoed() {
    let host = TestHost::start(fixture("web_api"));
    let boundary = "TestBoundary7MA4YWxk";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nHello, wörld\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"notes.txt\"\r\nContent-Type: text/plain\r\n\r\nline one\r\nline two\r\n\
         --{boundary}--\r\n"
    );
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let reply = host.request("POST", "/echo-multipart?json", &[("content-type", &content_type)], Some(&body));
    assert_eq!(reply.status, 200, "{reply:?}\nlogs:\n{}", host.logs());
    assert_eq!(
        reply.json(),
        json!({
            "title": "Hello, wörld",
            "doc": { "name": "notes.txt", "type": "text/plain", "size": 18, "text": "line one\r\nline two" },
        })
    );

    // Echoed back as multipart: a fresh boundary, the same parts.
    let reply = host.request("POST", "/echo-multipart", &[("content-type", &content_type)], Some(&body));
    assert_eq!(reply.status, 200, "{reply:?}");
    let echoed_type = reply.header("content-type").expect("a content type").to_owned();
    let echoed_boundary = echoed_type.strip_prefix("multipart/form-data; boundary=").expect("a multipart type");
    assert_ne!(echoed_boundary, boundary);
    assert!(reply.body.contains("name=\"doc\"; filename=\"notes.txt\"\r\nContent-Type: text/plain\r\n\r\nline one\r\nline two\r\n"), "{}", reply.body);
    assert!(reply.body.ends_with(&format!("--{echoed_boundary}--\r\n")), "{}", reply.body);

    // A broken upload is a clear error, and the server keeps serving.
    let reply = host.request("POST", "/echo-multipart?json", &[("content-type", &content_type)], Some("not multipart"));
    assert_eq!(reply.status, 500, "{reply:?}");
    assert!(host.wait_for_log("invalid multipart/form-data body"), "logs:\n{}", host.logs());
    assert_eq!(host.get("/pull-stream?n=1").body, "chunk 0\n");
}

/// `new Response(readable)` whose chunks come from a pull source, a
/// TransformStream over the request body, and a tee'd request body.
#[test]
fn streamed_bodies_end_to_end() {
    let host = TestHost::start(fixture("web_api"));
    let reply = host.get("/pull-stream?n=50");
    assert_eq!(reply.status, 200, "{reply:?}\nlogs:\n{}", host.logs());
    let want: String = (0..50).map(|i| format!("chunk {i}\n")).collect();
    assert_eq!(reply.body, want);
    assert_eq!(reply.header("content-type"), Some("text/plain"));

    let reply = host.post("/transform", "make me loud");
    assert_eq!((reply.status, reply.body.as_str()), (200, "MAKE ME LOUD"), "{reply:?}");

    let big = "0123456789".repeat(10_000);
    let reply = host.post("/tee", &big);
    assert_eq!(reply.json(), json!({ "same": true, "length": 100_000 }), "{reply:?}");

    // A source that errors fails the request; a used body cannot be sent.
    let reply = host.get("/stream-error");
    assert_eq!(reply.status, 500, "{reply:?}");
    let reply = host.post("/used-body", "x");
    assert_eq!(reply.status, 500, "{reply:?}");
    // The server writes the log line after the 500 has left; wait for it.
    assert!(host.wait_for_log("the source failed"), "logs:\n{}", host.logs());
    assert_eq!(host.get("/pull-stream?n=2").body, "chunk 0\nchunk 1\n", "the server keeps serving");
}

/// What a fetch handler answers besides a promise of a Response. A Response
/// returned as it is goes out after one turn of the microtasks queued so far
/// (as after an await of it, and as on workerd): x-t1 and x-queued, not the
/// x-t2 and x-t3 that those queue. A thenable is awaited. Anything else (an
/// object made from Response.prototype too), and a throw before any await,
/// fail the request with the reason in the log.
#[test]
fn handler_answers_that_are_not_promises() {
    let host = TestHost::start(fixture("web_api"));
    let reply = host.get("/sync-ticks");
    assert_eq!((reply.status, reply.body.as_str()), (200, "sync"), "{reply:?}\nlogs:\n{}", host.logs());
    let seen = |name: &str| reply.header(name).is_some();
    assert_eq!(
        [seen("x-t1"), seen("x-queued"), seen("x-t2"), seen("x-t3")],
        [true, true, false, false],
        "{:?}",
        reply.headers
    );

    let reply = host.get("/thenable");
    assert_eq!((reply.status, reply.body.as_str()), (200, "from a thenable"), "{reply:?}");

    assert_eq!(host.get("/not-a-response").status, 500);
    assert!(host.wait_for_log("fetch handler did not return a Response (got 'just a string')"), "logs:\n{}", host.logs());
    assert_eq!(host.get("/fake-response").status, 500);
    assert!(host.wait_for_log("fetch handler did not return a Response (got Response {})"), "logs:\n{}", host.logs());
    assert_eq!(host.get("/sync-throw").status, 500);
    assert!(host.wait_for_log("RangeError: thrown before any await"), "logs:\n{}", host.logs());
    assert_eq!(host.get("/sync-ticks").status, 200, "the server keeps serving");
}

/// console.log formats values readably, like Node's util.inspect.
#[test]
fn console_formats_values_like_util_inspect() {
    let host = TestHost::start(fixture("web_api"));
    assert_eq!(host.get("/console").status, 200, "logs:\n{}", host.logs());
    let want = [
        "fmt1 s 1 -0 2n null undefined true",
        "fmt2 { a: 1, b: 'x', c: [ 1, 2 ], 'd-e': {} }",
        "fmt3 [] Map(1) { 'k' => 1 } Set(1) { 1 }",
        "fmt4 <ref *1> { name: 'c', self: [Circular *1] }",
        "fmt5 { a: { b: { c: [Object] } } }",
        "fmt6 Point { x: 1 } [Object: null prototype] {}",
        "fmt7 [Function: named] [Function (anonymous)] Symbol(s)",
        "fmt8 Uint8Array(2) [ 1, 2 ] [ undefined, null, <1 empty item>, 3 ]",
        "fmt9 Bob is 42.5 years, 99% sure extra",
        "fmt10 { s: \"it's\" } Headers(1) { a: '1' }",
        "fmt11 TypeError: bad thing\n",
        "fmt12 {\n  long: 'xxxxxxxxxx",
    ];
    for line in want {
        assert!(host.wait_for_log(line), "no log line {line:?} in:\n{}", host.logs());
    }
}

/// A request passed on unchanged (default export → Durable Object → facet)
/// arrives with its method, URL, headers (an empty value too) and body, and
/// one made by the object with an unusual URL (user, port, "?" in the query,
/// fragment) arrives with all of it; a clone taken on the way
/// sees the same; the facet's status, headers (two Set-Cookie lines) and body
/// reach the client, and a clone of that response sees them too.
#[test]
fn requests_and_responses_passed_on_keep_their_headers_and_bodies() {
    let host = TestHost::start(fixture("web_forward"));
    let headers = [("X-Custom", "  one  "), ("Content-Type", "text/plain"), ("X-Empty", ""), ("Accept", "a"), ("accept", "b")];

    let direct = host.request("PUT", "/path?q=1", &headers, Some("payload"));
    assert_eq!((direct.status, direct.header("x-from-facet")), (203, Some("yes")), "{direct:?}");
    let cookies: Vec<&str> = direct.headers.iter().filter(|(k, _)| k == "set-cookie").map(|(_, v)| v.as_str()).collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    let seen = direct.json();
    assert_eq!(seen["method"], "PUT");
    assert!(seen["url"].as_str().unwrap().ends_with("/path?q=1"), "{seen}");
    assert_eq!(seen["body"], "payload");
    let got: Vec<(String, String)> = serde_json::from_value(seen["headers"].clone()).unwrap();
    for want in [("x-custom", "one"), ("content-type", "text/plain"), ("x-empty", ""), ("accept", "a, b")] {
        assert!(got.contains(&(want.0.into(), want.1.into())), "{want:?} missing from {got:?}");
    }
    assert!(!got.iter().any(|(k, _)| k == "x-derived"), "a header set on a derived request leaked into the original: {got:?}");

    // A URL that another instance made, with a user, a port, a "?" in its
    // query and a fragment, reaches the facet whole: new URL(request.url)
    // there has the parts of a parse against a base.
    let to = "http://u:p@h.example:81/a/b?c=d?e#f/g?h";
    let sent = host.get(&format!("/?to={}", to.replace('?', "%3F").replace('#', "%23").replace('/', "%2F").replace(':', "%3A").replace('@', "%40")));
    let url_parts = &sent.json()["urlParts"];
    assert_eq!(url_parts["own"], url_parts["parsed"], "{sent:?}");
    assert_eq!(
        [&url_parts["own"]["pathname"], &url_parts["own"]["search"], &url_parts["own"]["hash"], &url_parts["own"]["port"]],
        ["/a/b", "?c=d?e", "#f/g?h", "81"],
        "{sent:?}"
    );

    let wrapped = host.request("POST", "/?wrap", &headers, Some("second")).json();
    assert_eq!(wrapped["cloneSaw"]["body"], "second");
    assert_eq!(wrapped["facet"]["body"], "second", "the original still has its body after the clone was read");
    let clone_headers: Vec<(String, String)> = serde_json::from_value(wrapped["cloneSaw"]["headers"].clone()).unwrap();
    assert!(clone_headers.contains(&("x-custom".into(), "one".into())), "{clone_headers:?}");
    assert_eq!(wrapped["status"], serde_json::json!([203, "From Facet"]));
    assert_eq!(wrapped["cookies"], serde_json::json!(["a=1", "b=2"]));
    assert_eq!(wrapped["type"], "application/json");
    assert_eq!((&wrapped["usedAfterSend"], &wrapped["resent"]), (&serde_json::json!(true), &serde_json::json!("TypeError")), "a request sent on has its body used");
}
