//! `ctx.storage.kv` seen through HTTP: list options and key order, get and
//! delete, and structured clone of every supported type through storage.

mod common;

use common::{TestHost, fixture};
use serde_json::Value;

/// Keys whose UTF-8 byte order differs from case-insensitive, locale and
/// UTF-16 order: "B" < "a"; "z" < "é"; U+E000 and U+FFFD < U+10000 (which
/// UTF-16 would put first, as a surrogate pair).
const KEYS: &[&str] = &[
    "a", "aa", "ab", "aé", "b", "B", "z", "é", "éa", "\u{E000}", "\u{FFFD}", "\u{10000}", "\u{10000}x",
];

/// Every key, in UTF-8 byte order.
const SORTED: &[&str] = &[
    "B", "a", "aa", "ab", "aé", "b", "z", "é", "éa", "\u{E000}", "\u{FFFD}", "\u{10000}", "\u{10000}x",
];

#[derive(Clone, Copy, Default, Debug)]
struct ListOptions<'a> {
    prefix: Option<&'a str>,
    start: Option<&'a str>,
    start_after: Option<&'a str>,
    end: Option<&'a str>,
    reverse: bool,
    limit: Option<u32>,
}

impl ListOptions<'_> {
    fn query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [("prefix", self.prefix), ("start", self.start), ("startAfter", self.start_after), ("end", self.end)] {
            if let Some(v) = value {
                q.append_pair(name, v);
            }
        }
        if self.reverse {
            q.append_pair("reverse", "true");
        }
        if let Some(limit) = self.limit {
            q.append_pair("limit", &limit.to_string());
        }
        q.finish()
    }

    /// What kv.list must return for `keys`: the keys satisfying every bound,
    /// in byte order (reversed with `reverse`), at most `limit` of them.
    fn expected<'k>(&self, keys: &[&'k str]) -> Vec<&'k str> {
        let mut out: Vec<&str> = keys
            .iter()
            .copied()
            .filter(|k| self.prefix.is_none_or(|p| k.starts_with(p)))
            .filter(|k| self.start.is_none_or(|s| k.as_bytes() >= s.as_bytes()))
            .filter(|k| self.start_after.is_none_or(|s| k.as_bytes() > s.as_bytes()))
            .filter(|k| self.end.is_none_or(|e| k.as_bytes() < e.as_bytes()))
            .collect();
        out.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        if self.reverse {
            out.reverse();
        }
        if let Some(limit) = self.limit {
            out.truncate(limit as usize);
        }
        out
    }
}

/// A server whose object `object` holds KEYS, each with the value "value of KEY".
fn host_with_keys(object: &str) -> TestHost {
    let host = TestHost::start(fixture("kv_list"));
    let body = serde_json::to_string(KEYS).expect("keys as JSON");
    let reply = host.post(&format!("/{object}/put"), &body);
    assert_eq!(reply.status, 200, "{reply:?}\nlogs:\n{}", host.logs());
    host
}

/// The keys kv.list(options) returns, checking that each value is the one stored.
fn list(host: &TestHost, object: &str, options: &ListOptions) -> Vec<String> {
    let path = format!("/{object}/list?{}", options.query());
    let reply = host.get(&path);
    assert_eq!(reply.status, 200, "GET {path}: {reply:?}\nlogs:\n{}", host.logs());
    let entries = reply.json();
    let entries = entries.as_array().unwrap_or_else(|| panic!("list answered {}", reply.body));
    entries
        .iter()
        .map(|entry| {
            let key = entry[0].as_str().unwrap_or_else(|| panic!("bad entry {entry}")).to_string();
            assert_eq!(entry[1], Value::from(format!("value of {key}")), "the value listed under {key:?}");
            key
        })
        .collect()
}

fn check(host: &TestHost, object: &str, options: ListOptions, expected: &[&str]) {
    let got = list(host, object, &options);
    assert_eq!(got, expected, "kv.list({options:?})");
}

#[test]
fn kv_list_returns_keys_in_utf8_byte_order() {
    let host = host_with_keys("order");
    check(&host, "order", ListOptions::default(), SORTED);
    let reversed: Vec<&str> = SORTED.iter().rev().copied().collect();
    check(&host, "order", ListOptions { reverse: true, ..Default::default() }, &reversed);
}

#[test]
fn kv_list_honors_each_option() {
    let o = "options";
    let host = host_with_keys(o);
    let d = ListOptions::default;
    check(&host, o, ListOptions { prefix: Some("a"), ..d() }, &["a", "aa", "ab", "aé"]);
    check(&host, o, ListOptions { prefix: Some("é"), ..d() }, &["é", "éa"]);
    check(&host, o, ListOptions { prefix: Some("\u{10000}"), ..d() }, &["\u{10000}", "\u{10000}x"]);
    check(&host, o, ListOptions { prefix: Some("q"), ..d() }, &[]);
    check(&host, o, ListOptions { prefix: Some(""), ..d() }, SORTED);
    // start is inclusive, and need not be a stored key.
    check(&host, o, ListOptions { start: Some("ab"), ..d() }, &SORTED[3..]);
    check(&host, o, ListOptions { start: Some("ac"), ..d() }, &SORTED[4..]);
    check(&host, o, ListOptions { start: Some("\u{FFFD}"), ..d() }, &["\u{FFFD}", "\u{10000}", "\u{10000}x"]);
    // startAfter is exclusive.
    check(&host, o, ListOptions { start_after: Some("ab"), ..d() }, &SORTED[4..]);
    check(&host, o, ListOptions { start_after: Some("\u{10000}x"), ..d() }, &[]);
    // end is exclusive.
    check(&host, o, ListOptions { end: Some("aé"), ..d() }, &["B", "a", "aa", "ab"]);
    check(&host, o, ListOptions { end: Some("B"), ..d() }, &[]);
    check(&host, o, ListOptions { end: Some("\u{10000}"), ..d() }, &SORTED[..11]);
    // limit counts from the first key of the order asked for.
    check(&host, o, ListOptions { limit: Some(2), ..d() }, &["B", "a"]);
    check(&host, o, ListOptions { limit: Some(100), ..d() }, SORTED);
    check(&host, o, ListOptions { limit: Some(2), reverse: true, ..d() }, &["\u{10000}x", "\u{10000}"]);
}

#[test]
fn kv_list_combines_options() {
    let o = "combined";
    let host = host_with_keys(o);
    let d = ListOptions::default;
    check(&host, o, ListOptions { start: Some("a"), end: Some("b"), ..d() }, &["a", "aa", "ab", "aé"]);
    check(&host, o, ListOptions { start_after: Some("a"), end: Some("b"), ..d() }, &["aa", "ab", "aé"]);
    check(&host, o, ListOptions { prefix: Some("a"), start: Some("ab"), ..d() }, &["ab", "aé"]);
    check(&host, o, ListOptions { prefix: Some("a"), start_after: Some("a"), limit: Some(2), ..d() }, &["aa", "ab"]);
    check(&host, o, ListOptions { prefix: Some("a"), end: Some("ab"), ..d() }, &["a", "aa"]);
    check(&host, o, ListOptions { prefix: Some("a"), reverse: true, limit: Some(2), ..d() }, &["aé", "ab"]);
    check(&host, o, ListOptions { start: Some("a"), end: Some("z"), reverse: true, ..d() }, &["b", "aé", "ab", "aa", "a"]);
    check(
        &host,
        o,
        ListOptions { start: Some("b"), end: Some("\u{FFFD}"), reverse: true, limit: Some(3), ..d() },
        &["\u{E000}", "éa", "é"],
    );
    // Bounds outside the prefix leave nothing.
    check(&host, o, ListOptions { prefix: Some("a"), start: Some("b"), ..d() }, &[]);
    check(&host, o, ListOptions { start: Some("z"), end: Some("b"), ..d() }, &[]);

    // Every combination, against the rules as written in `ListOptions::expected`.
    let prefixes = [None, Some("a"), Some("é"), Some("\u{10000}"), Some("q")];
    let lowers: [(Option<&str>, Option<&str>); 7] = [
        (None, None),
        (Some("a"), None),
        (Some("ab"), None),
        (Some("é"), None),
        (None, Some("a")),
        (None, Some("b")),
        (None, Some("\u{E000}")),
    ];
    let ends = [None, Some("b"), Some("\u{FFFD}"), Some("a")];
    let mut checked = 0;
    for prefix in prefixes {
        for (start, start_after) in lowers {
            for end in ends {
                for reverse in [false, true] {
                    for limit in [None, Some(1), Some(3)] {
                        let options = ListOptions { prefix, start, start_after, end, reverse, limit };
                        check(&host, o, options, &options.expected(KEYS));
                        checked += 1;
                    }
                }
            }
        }
    }
    assert_eq!(checked, 5 * 7 * 4 * 2 * 3);
}

#[test]
fn kv_get_of_a_missing_key_is_undefined_and_delete_says_whether_the_key_existed() {
    let host = host_with_keys("crud");
    let get = |key: &str| {
        let q = url::form_urlencoded::Serializer::new(String::new()).append_pair("key", key).finish();
        let reply = host.get(&format!("/crud/get?{q}"));
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.json()
    };
    let delete = |key: &str| {
        let q = url::form_urlencoded::Serializer::new(String::new()).append_pair("key", key).finish();
        let reply = host.get(&format!("/crud/delete?{q}"));
        assert_eq!(reply.status, 200, "{reply:?}");
        reply.json()["deleted"].clone()
    };
    assert_eq!(get("never stored"), serde_json::json!({ "found": false, "value": null }));
    assert_eq!(get("é"), serde_json::json!({ "found": true, "value": "value of é" }));
    assert_eq!(get("E"), serde_json::json!({ "found": false, "value": null }), "keys are case-sensitive");

    assert_eq!(delete("é"), true, "deleting a stored key");
    assert_eq!(delete("é"), false, "deleting it again");
    assert_eq!(delete("never stored"), false);
    assert_eq!(get("é"), serde_json::json!({ "found": false, "value": null }));
    let mut remaining: Vec<&str> = SORTED.to_vec();
    remaining.retain(|k| *k != "é");
    check(&host, "crud", ListOptions::default(), &remaining);

    // Objects do not share keys.
    let other = host.get("/other-object/get?key=a");
    assert_eq!(other.json(), serde_json::json!({ "found": false, "value": null }));
}

/// Writes a set of cases of the kv_clone fixture, then reads them back in a
/// fresh request, and again after a restart of the server on the same data.
/// The names of the cases that did not come back equal, with what came back.
fn clone_failures(set: &str) -> Vec<String> {
    let data = tempfile::tempdir().expect("temp dir");
    let mut host = TestHost::start_with(fixture("kv_clone"), data.path(), &[]);
    let written = host.post(&format!("/clones/write?set={set}"), "");
    assert_eq!(written.status, 200, "{written:?}\nlogs:\n{}", host.logs());
    let count = written.json()["written"].as_u64().expect("count of cases");
    assert!(count > 0, "no cases in set {set}");

    let mut failures = Vec::new();
    let mut read = |host: &TestHost, when: &str| {
        let reply = host.get(&format!("/clones/read?set={set}"));
        assert_eq!(reply.status, 200, "{reply:?}\nlogs:\n{}", host.logs());
        let report = reply.json();
        let report = report.as_object().expect("report object");
        assert_eq!(report.len() as u64, count, "one entry per case: {report:?}");
        for (name, result) in report {
            if *result != Value::Bool(true) {
                failures.push(format!("{name} ({when}): {result}"));
            }
        }
    };
    read(&host, "next request");
    assert!(host.stop().success(), "logs:\n{}", host.logs());
    let host = TestHost::start_with(fixture("kv_clone"), data.path(), &[]);
    read(&host, "after restart");
    failures
}

#[test]
fn every_structured_clone_type_round_trips_through_kv_storage() {
    let failures = clone_failures("all");
    assert!(failures.is_empty(), "values that did not round-trip:\n{}", failures.join("\n"));
}

#[test]
fn float16_arrays_round_trip_through_kv_storage() {
    let failures = clone_failures("float16");
    assert!(failures.is_empty(), "values that did not round-trip:\n{}", failures.join("\n"));
}

#[test]
fn putting_a_function_or_symbol_throws_a_data_clone_error() {
    let host = TestHost::start(fixture("kv_clone"));
    for what in ["function", "arrow", "nested", "symbol"] {
        let reply = host.get(&format!("/bad/put-function?what={what}"));
        assert_eq!(reply.status, 200, "{what}: {reply:?}\nlogs:\n{}", host.logs());
        let json = reply.json();
        assert_eq!(json["threw"], true, "kv.put of a {what} must throw: {json}");
        assert_eq!(json["name"], "DataCloneError", "{what}: {json}");
        assert!(json["message"].as_str().is_some_and(|m| m.contains("could not be cloned")), "{what}: {json}");
        assert_eq!(json["stored"], false, "a failed put stores nothing: {json}");
    }

    let uncaught = host.get("/bad/put-function?what=function&caught=false");
    assert_eq!(uncaught.status, 500, "{uncaught:?}");
    assert!(host.wait_for_log("DataCloneError"), "logs:\n{}", host.logs());
    assert!(host.logs().contains("namedFunction"), "the error names the function; logs:\n{}", host.logs());
}

/// The stored bytes of plain values are the structured-clone format
/// (version 1, as js/20-clone.js writes it; the engine writes plain data in
/// Rust since session 10), and bytes in that format, written as the JS
/// writer wrote them, read back as the values: databases from before and
/// after that change read the same. Hand-made from the format's definition.
#[test]
fn kv_values_keep_the_structured_clone_format_in_both_directions() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut host = TestHost::start_with(fixture("kv_clone"), data.path(), &[]);
    let written = host.post("/fmt/format-write", "");
    assert_eq!(written.status, 200, "{written:?}\nlogs:\n{}", host.logs());
    assert!(host.stop().success(), "logs:\n{}", host.logs());

    let db = data.path().join("Clones");
    let db = std::fs::read_dir(&db).expect("the class's folder").flatten().next().expect("the object's folder").path().join("state.sqlite");
    let conn = rusqlite::Connection::open(&db).expect("the object's database");
    let stored = |name: &str| -> Vec<u8> {
        conn.query_row("SELECT value FROM __cf_kv WHERE key = ?1", [format!("fmt:{name}")], |r| r.get(0))
            .unwrap_or_else(|e| panic!("fmt:{name}: {e}"))
    };
    let mut long = vec![1, 6, 0xc8, 0x01];
    long.extend([b'a'; 100]);
    let want: &[(&str, Vec<u8>)] = &[
        ("int", vec![1, 4, 7, 0, 0, 0]),
        // INT: 32 bits, little-endian two's complement.
        ("negative", vec![1, 4, 0xfe, 0xff, 0xff, 0xff]),
        ("int32Max", vec![1, 4, 0xff, 0xff, 0xff, 0x7f]),
        ("int32Min", vec![1, 4, 0, 0, 0, 0x80]),
        ("yes", vec![1, 3]),
        ("no", vec![1, 2]),
        ("negZero", vec![1, 5, 0, 0, 0, 0, 0, 0, 0, 0x80]),
        // OBJECT, 2 keys: "a" INT 1, "b" STRING "x" (a string's length varint is units * 2 + wide).
        ("obj", vec![1, 11, 2, 2, b'a', 4, 1, 0, 0, 0, 2, b'b', 6, 2, b'x']),
        ("arr", vec![1, 10, 4, 3, 1, 5, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 6, 2, 0xe9]),
        ("wide", vec![1, 6, 3, 0xac, 0x20]),
        // The array is object 0, the shared object 1: its second use is REF 1.
        ("shared", vec![1, 10, 2, 11, 0, 16, 1]),
        ("keys", vec![1, 11, 3, 2, b'1', 4, 0, 0, 0, 0, 2, b'2', 4, 0, 0, 0, 0, 2, b'z', 4, 0, 0, 0, 0]),
        ("undef", vec![1, 11, 1, 2, b'u', 0]),
        ("long", long),
    ];
    for (name, bytes) in want {
        assert_eq!(&stored(name), bytes, "the stored bytes of {name}");
    }

    let put = |name: &str, bytes: &[u8]| {
        conn.execute("INSERT OR REPLACE INTO __cf_kv (key, value) VALUES (?1, ?2)", rusqlite::params![format!("in:{name}"), bytes])
            .unwrap_or_else(|e| panic!("in:{name}: {e}"));
    };
    put("cycle", &[1, 11, 1, 8, b's', b'e', b'l', b'f', 16, 0]);
    put("surrogate", &[1, 6, 5, 0x00, 0xd8, b'x', 0x00]);
    put("latin1", &[1, 6, 2, 0xe9]);
    put("holes", &[1, 10, 3, 4, 1, 0, 0, 0, 18, 4, 3, 0, 0, 0]);
    put("trailingHole", &[1, 10, 2, 4, 1, 0, 0, 0, 18]);
    put("nested", &[1, 11, 1, 2, b'a', 10, 1, 11, 1, 2, b'b', 6, 2, b'c']);
    put("proto", &[1, 11, 1, 18, b'_', b'_', b'p', b'r', b'o', b't', b'o', b'_', b'_', 4, 1, 0, 0, 0]);
    put("double", &[1, 5, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f]);
    put("negZero", &[1, 5, 0, 0, 0, 0, 0, 0, 0, 0x80]);
    drop(conn);

    let host = TestHost::start_with(fixture("kv_clone"), data.path(), &[]);
    let read = host.get("/fmt/format-read");
    assert_eq!(read.status, 200, "{read:?}\nlogs:\n{}", host.logs());
    assert_eq!(
        read.json(),
        serde_json::json!({
            "cycle": true,
            "surrogate": [2, 0xd800, 0x78],
            "latin1": "é",
            "holes": [3, false, 1, 3],
            "trailingHole": [2, false],
            "nested": { "a": [{ "b": "c" }] },
            "proto": [["__proto__"], true, true],
            "double": [1.5, true],
        })
    );
}
