//! Durable Object Facets and the Worker Loader, end to end through HTTP on a
//! real `facets serve`: the reference supervisor, the app-platform example,
//! storage and global isolation, abort/delete, errors in loaded code,
//! `globalOutbound: null`, RPC, loaded entrypoints, the loader's bounded
//! cache, and the limits on facet names and nesting.
//!
//! Most scenarios run in `tests/fixtures/facets_lab`: a supervisor object
//! (`Lab`, reached at `/lab/<object>/...`) whose agents' sources are in
//! `agents.js`.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::{Reply, TestHost, fixture};
use serde_json::{Value, json};

fn app_platform() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/app-platform")
}

fn sample_app() -> String {
    std::fs::read_to_string(app_platform().join("sample-app.js")).expect("reading examples/app-platform/sample-app.js")
}

/// GET `path`, which must answer 200 with JSON.
fn get_json(host: &TestHost, path: &str) -> Value {
    let reply = host.get(path);
    assert_eq!(reply.status, 200, "GET {path}: {reply:?}\nlogs:\n{}", host.logs());
    reply.json()
}

fn put(host: &TestHost, path: &str, body: &str) -> Reply {
    host.request("PUT", path, &[], Some(body))
}

fn contains(value: &Value, needle: &str) -> bool {
    value.as_str().is_some_and(|s| s.contains(needle))
}

// --- the reference supervisor -------------------------------------------------

fn reference_says(host: &TestHost) -> String {
    let reply = host.get("/");
    assert_eq!(reply.status, 200, "{reply:?}\nlogs:\n{}", host.logs());
    reply.body
}

#[test]
fn the_reference_platform_counts_requests_and_continues_after_a_restart() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut host = TestHost::start_with(fixture("facets_reference"), data.path(), &[]);
    assert_eq!(reference_says(&host), "You've made 1 requests.\n");
    assert_eq!(reference_says(&host), "You've made 2 requests.\n");
    assert_eq!(reference_says(&host), "You've made 3 requests.\n");
    let status = host.stop();
    assert!(status.success(), "facets serve exited with {status}\nlogs:\n{}", host.logs());

    let host = TestHost::start_with(fixture("facets_reference"), data.path(), &[]);
    assert_eq!(reference_says(&host), "You've made 4 requests.\n", "the facet's storage did not survive the restart");
    assert_eq!(reference_says(&host), "You've made 5 requests.\n");
}

// --- the app-platform example -----------------------------------------------

fn notes(host: &TestHost, app: &str) -> Vec<Value> {
    let json = get_json(host, &format!("/apps/{app}/notes"));
    json["notes"].as_array().unwrap_or_else(|| panic!("no notes array in {json}")).clone()
}

fn note_texts(host: &TestHost, app: &str) -> Vec<String> {
    notes(host, app).iter().map(|n| n["text"].as_str().expect("note text").to_string()).collect()
}

fn add_note(host: &TestHost, app: &str, text: &str) -> Value {
    let reply = host.post(&format!("/apps/{app}/notes"), text);
    assert_eq!(reply.status, 201, "POST a note to {app}: {reply:?}\nlogs:\n{}", host.logs());
    reply.json()
}

fn install(host: &TestHost, app: &str, code: &str) -> Reply {
    put(host, &format!("/apps/{app}/code"), code)
}

#[test]
fn app_platform_installs_the_sample_app_refuses_a_syntax_error_and_keeps_data_across_an_update() {
    let host = TestHost::start(app_platform());

    let usage = host.get("/");
    assert_eq!(usage.status, 200, "{usage:?}");
    assert!(usage.body.contains("PUT") && usage.body.contains("/apps/<name>/code"), "usage text: {}", usage.body);

    let before = host.get("/apps/notes/notes");
    assert_eq!(before.status, 404, "no code installed yet: {before:?}");
    assert_eq!(before.json()["error"], "NoCode");

    let installed = install(&host, "notes", &sample_app());
    assert_eq!(installed.status, 201, "{installed:?}\nlogs:\n{}", host.logs());
    let installed = installed.json();
    assert_eq!(installed["created"], true, "{installed}");
    let first_code_id = installed["codeId"].as_str().expect("codeId").to_string();
    assert_eq!(first_code_id.len(), 36, "a UUID: {first_code_id}");

    let milk = add_note(&host, "notes", "buy milk");
    assert_eq!((milk["id"].as_i64(), milk["text"].as_str()), (Some(1), Some("buy milk")), "{milk}");
    add_note(&host, "notes", "call Ada");
    assert_eq!(note_texts(&host, "notes"), ["buy milk", "call Ada"]);

    // A syntax error on line 4 (column 3) is refused with its position; the
    // installed code keeps serving.
    let broken = "export class App {\n  fetch() {\n    return new Response(\n  }\n}\n";
    let refused = install(&host, "notes", broken);
    assert_eq!(refused.status, 400, "{refused:?}");
    let refused = refused.json();
    assert_eq!(refused["error"], "SyntaxError", "{refused}");
    assert!(contains(&refused["message"], "app.js:4:3"), "the message names module:line:col: {refused}");
    assert_eq!(note_texts(&host, "notes"), ["buy milk", "call Ada"], "the old code must keep running");
    let source = host.get("/apps/notes/code");
    assert_eq!(source.status, 200);
    assert_eq!(source.body, sample_app(), "the refused code must not be stored");
    assert_eq!(source.header("x-code-id"), Some(first_code_id.as_str()));

    // An update runs on the same database: the table and its rows are there,
    // and the new code's query shows it is the new code.
    let v2 = sample_app().replace(
        "SELECT id, text, created_at FROM notes",
        "SELECT id, text, created_at, length(text) AS chars FROM notes",
    );
    assert_ne!(v2, sample_app(), "the update must change the code");
    let updated = install(&host, "notes", &v2);
    assert_eq!(updated.status, 200, "{updated:?}\nlogs:\n{}", host.logs());
    let updated = updated.json();
    assert_eq!(updated["created"], false, "{updated}");
    assert_ne!(updated["codeId"], json!(first_code_id), "a new code id: {updated}");
    let listed = notes(&host, "notes");
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0]["text"], "buy milk");
    assert_eq!(listed[0]["chars"], 8, "the new code serves: {listed:?}");
    assert_eq!(listed[1]["chars"], 8);
    add_note(&host, "notes", "third");
    assert_eq!(note_texts(&host, "notes"), ["buy milk", "call Ada", "third"]);
}

#[test]
fn app_platform_refuses_code_that_does_not_start_and_the_app_keeps_working() {
    let host = TestHost::start(app_platform());
    assert_eq!(install(&host, "keep", &sample_app()).status, 201);
    add_note(&host, "keep", "still here");

    let cases = [
        ("export class Application {}\n", "TypeError", "App"),
        ("const ok = 1;\nthrow new RangeError(\"refusing to start\");\n", "RangeError", "refusing to start"),
        (
            "import { DurableObject } from \"cloudflare:workers\";\nexport class App extends DurableObject {\n  constructor(ctx, env) { super(ctx, env); throw new Error(\"constructor failed\"); }\n}\n",
            "Error",
            "constructor failed",
        ),
        ("import { x } from \"./nope.js\";\nexport class App {}\n", "ReferenceError", "./nope.js"),
        ("", "EmptyCode", "body"),
    ];
    for (code, name, needle) in cases {
        let reply = install(&host, "keep", code);
        assert_eq!(reply.status, 400, "PUT {code:?}: {reply:?}\nlogs:\n{}", host.logs());
        let body = reply.json();
        assert_eq!(body["error"], name, "PUT {code:?}: {body}");
        assert!(contains(&body["message"], needle), "PUT {code:?}: {body}");
        assert_eq!(note_texts(&host, "keep"), ["still here"], "after PUT {code:?}");
    }

    // The validation facets are deleted: only the app's database is left.
    let runner_dirs: Vec<_> = std::fs::read_dir(host.data_dir.join("AppRunner")).expect("AppRunner dir").collect();
    assert_eq!(runner_dirs.len(), 1);
    let facets_dir = runner_dirs[0].as_ref().expect("dir entry").path().join("facets");
    let databases: Vec<_> = std::fs::read_dir(&facets_dir)
        .expect("facets dir")
        .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sqlite"))
        .collect();
    assert_eq!(databases.len(), 1, "left-over facet databases in {}: {databases:?}", facets_dir.display());
}

#[test]
fn app_platform_apps_cannot_see_each_others_data() {
    let host = TestHost::start(app_platform());
    assert_eq!(install(&host, "alpha", &sample_app()).status, 201);
    assert_eq!(install(&host, "beta", &sample_app()).status, 201);
    add_note(&host, "alpha", "alpha's secret");
    add_note(&host, "beta", "beta's note");
    add_note(&host, "beta", "another beta note");
    assert_eq!(note_texts(&host, "alpha"), ["alpha's secret"]);
    assert_eq!(note_texts(&host, "beta"), ["beta's note", "another beta note"]);
    // Uninstalling one app deletes its data and leaves the other alone.
    let removed = host.request("DELETE", "/apps/alpha/code", &[], None);
    assert_eq!(removed.status, 200, "{removed:?}");
    assert_eq!(host.get("/apps/alpha/notes").status, 404);
    assert_eq!(install(&host, "alpha", &sample_app()).status, 201);
    assert_eq!(note_texts(&host, "alpha"), Vec::<String>::new(), "a reinstalled app starts empty");
    assert_eq!(note_texts(&host, "beta"), ["beta's note", "another beta note"]);
}

// --- isolation ------------------------------------------------------------------

/// Every SQLite database file under `dir`.
fn databases_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(databases_under(&path));
        } else if path.extension().is_some_and(|e| e == "sqlite") {
            found.push(path);
        }
    }
    found
}

/// A facet's database, like an object's, is made when its code first uses
/// storage: a facet that only computes leaves no file behind.
#[test]
fn a_facet_that_never_stores_anything_leaves_no_database() {
    let host = TestHost::start(fixture("facets_lab"));
    assert_eq!(get_json(&host, "/lab/quiet/facet/f/global-set")["x"], 1);
    let lab = host.data_dir.join("Lab");
    assert_eq!(databases_under(&lab), Vec::<PathBuf>::new());
    // Nor any folder: the runtime guesses that new code stores and opens its
    // database ahead, and gives up what that made when the guess was wrong.
    let left: Vec<_> = std::fs::read_dir(&lab).into_iter().flatten().flatten().map(|e| e.path()).collect();
    assert_eq!(left, Vec::<PathBuf>::new(), "left behind under {}", lab.display());
    assert_eq!(get_json(&host, "/lab/quiet/facet/f/kv-put?key=k&value=v")["ok"], true);
    let made = databases_under(&lab);
    assert_eq!(made.len(), 1, "{made:?}");
    assert!(made[0].parent().is_some_and(|d| d.ends_with("facets")), "not the facet's: {made:?}");
    assert_eq!(get_json(&host, "/lab/quiet/facet/f/kv-get?key=k")["value"], "v");
    // A new facet of the same code (whose facets store now: opened ahead)
    // that stores in its first event has its own database.
    assert_eq!(get_json(&host, "/lab/quiet/facet/g/kv-put?key=k&value=w")["ok"], true);
    assert_eq!(get_json(&host, "/lab/quiet/facet/g/kv-get?key=k")["value"], "w");
    assert_eq!(get_json(&host, "/lab/quiet/facet/f/kv-get?key=k")["value"], "v");
    assert_eq!(databases_under(&lab).len(), 2, "{:?}", databases_under(&lab));
}

#[test]
fn a_facet_cannot_see_its_supervisors_storage() {
    let host = TestHost::start(fixture("facets_lab"));
    let setup = get_json(&host, "/lab/sup/supervisor-setup");
    let hex = setup["id"].as_str().expect("supervisor id");
    let supervisor_db = host.data_dir.join("Lab").join(hex).join("state.sqlite");
    assert!(supervisor_db.is_file(), "the supervisor's database should be at {}", supervisor_db.display());

    let secret = get_json(&host, "/lab/sup/facet/f/kv-get?key=secret");
    assert_eq!(secret["isUndefined"], true, "the facet read the supervisor's kv: {secret}");

    let tables = get_json(&host, "/lab/sup/facet/f/tables");
    let names: Vec<&str> = tables["tables"].as_array().expect("tables").iter().filter_map(Value::as_str).collect();
    assert!(!names.contains(&"supervisor_private"), "the facet lists the supervisor's table: {names:?}");

    let path = supervisor_db.to_str().expect("utf-8 path");
    let attach = get_json(&host, &format!("/lab/sup/facet/f/attach?path={}", url_encode(path)));
    assert_eq!(attach["attached"], false, "ATTACH of the supervisor's database must be denied: {attach}");
    assert!(attach["message"].as_str().is_some_and(|m| !m.is_empty()), "{attach}");

    // The supervisor still has its data.
    let again = get_json(&host, "/lab/sup/supervisor-setup");
    assert_eq!(again["id"], setup["id"]);
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn two_facets_of_one_supervisor_have_separate_storage_and_globals() {
    let host = TestHost::start(fixture("facets_lab"));
    assert_eq!(get_json(&host, "/lab/iso/facet/left/kv-put?key=k&value=left-value")["ok"], true);
    assert_eq!(get_json(&host, "/lab/iso/facet/left/sql-create?table=left_table")["ok"], true);

    let from_right = get_json(&host, "/lab/iso/facet/right/kv-get?key=k");
    assert_eq!(from_right["isUndefined"], true, "{from_right}");
    let right_tables = get_json(&host, "/lab/iso/facet/right/tables");
    assert!(!right_tables.to_string().contains("left_table"), "{right_tables}");
    let from_left = get_json(&host, "/lab/iso/facet/left/kv-get?key=k");
    assert_eq!(from_left["value"], "left-value", "{from_left}");
    assert!(get_json(&host, "/lab/iso/facet/left/tables").to_string().contains("left_table"));

    // Same facet name under another supervisor object: another facet.
    let other = get_json(&host, "/lab/other-supervisor/facet/left/kv-get?key=k");
    assert_eq!(other["isUndefined"], true, "{other}");

    assert_eq!(get_json(&host, "/lab/iso/facet/left/global-set")["x"], 1);
    assert_eq!(get_json(&host, "/lab/iso/facet/left/global-get")["type"], "number", "the facet keeps its own globals");
    assert_eq!(get_json(&host, "/lab/iso/facet/right/global-get")["type"], "undefined");
    assert_eq!(get_json(&host, "/lab/iso/supervisor-globals")["type"], "undefined", "the supervisor's globals");
}

/// The Worker Loader's objects show supervisor code workerd's members and no
/// internals, and facets.get takes only a class the loader made.
#[test]
fn loader_objects_show_only_workerds_members_and_a_forged_class_is_refused() {
    let host = TestHost::start(fixture("facets_lab"));
    let shape = get_json(&host, "/lab/shape/loader-shape");
    assert_eq!(shape["workerProto"], serde_json::json!(["constructor", "getDurableObjectClass", "getEntrypoint"]), "{shape}");
    assert_eq!(shape["workerOwn"], serde_json::json!([]), "{shape}");
    assert_eq!(shape["workerTag"], "[object WorkerStub]", "{shape}");
    assert_eq!(shape["classProto"], serde_json::json!(["constructor"]), "{shape}");
    assert_eq!(shape["classOwn"], serde_json::json!([]), "{shape}");
    assert_eq!(shape["classTag"], "[object DurableObjectClass]", "{shape}");
    assert_eq!(shape["forged"]["name"], "TypeError", "{shape}");
    assert!(contains(&shape["forged"]["message"], "worker.getDurableObjectClass()"), "{shape}");
    assert_eq!(shape["real"], "v1:1", "{shape}");
}

// --- abort and delete --------------------------------------------------------

#[test]
fn abort_makes_old_stubs_throw_the_reason_and_the_next_get_runs_new_code_on_the_same_storage() {
    let host = TestHost::start(fixture("facets_lab"));
    let steps = get_json(&host, "/lab/aborts/abort");
    assert_eq!(steps["before"], "v1:1", "{steps}");
    assert_eq!(steps["again"], "v1:2", "{steps}");
    assert_eq!(steps["oldStub"]["threw"], true, "{steps}");
    assert_eq!(steps["oldStub"]["message"], "maintenance window", "{steps}");
    assert_eq!(steps["oldStubRpc"]["threw"], true, "{steps}");
    assert_eq!(steps["oldStubRpc"]["message"], "maintenance window", "{steps}");
    assert_eq!(steps["newCode"], "v2:3", "the new code continues on the old storage: {steps}");
    assert_eq!(steps["sameWithoutAbort"], "v2:4", "get() without abort keeps the running facet: {steps}");
    assert_eq!(steps["otherClass"], "other:4", "{steps}");
    assert_eq!(steps["abortUnknown"], "ok", "{steps}");

    // The facet's storage outlives the request.
    let again = get_json(&host, "/lab/aborts/abort");
    assert_eq!(again["before"], "v1:1", "the scenario deletes the facet first: {again}");
}

#[test]
fn delete_removes_a_facets_storage_and_unknown_names_are_a_no_op() {
    let host = TestHost::start(fixture("facets_lab"));
    let steps = get_json(&host, "/lab/deletes/delete");
    assert_eq!(steps["first"], json!(["v1:1", "v1:2"]), "{steps}");
    assert_eq!(steps["oldStub"]["threw"], true, "{steps}");
    assert!(contains(&steps["oldStub"]["message"], "deleted"), "{steps}");
    assert_eq!(steps["afterDelete"], "v1:1", "a deleted facet starts empty: {steps}");
    assert_eq!(steps["afterSecondDelete"], "v1:1", "{steps}");
    assert_eq!(steps["deleteUnknown"], "ok", "{steps}");
}

// --- errors in loaded code ---------------------------------------------------

fn lab_error(host: &TestHost, agent: &str) -> Value {
    let e = get_json(host, &format!("/lab/errors/error/{agent}"));
    assert_eq!(e["caught"], true, "the supervisor should have caught an exception from {agent}: {e}");
    e
}

#[test]
fn errors_in_loaded_code_reach_the_supervisor_as_catchable_exceptions() {
    let host = TestHost::start(fixture("facets_lab"));

    let syntax = lab_error(&host, "syntaxError");
    assert_eq!(syntax["name"], "SyntaxError", "{syntax}");
    assert!(contains(&syntax["message"], "worker.js:5:"), "the message names worker.js and line 5: {syntax}");

    let missing = lab_error(&host, "missingExport");
    assert_eq!(missing["name"], "TypeError", "{missing}");
    assert!(contains(&missing["message"], "\"App\""), "{missing}");

    let top = lab_error(&host, "topLevelThrow");
    assert_eq!(top["name"], "RangeError", "{top}");
    assert_eq!(top["message"], "top-level code refused to start", "{top}");

    let thrown = lab_error(&host, "fetchThrows");
    assert_eq!(thrown["name"], "ReferenceError", "{thrown}");
    assert_eq!(thrown["message"], "the facet's fetch failed: /from-supervisor", "{thrown}");

    // The same again (the failed facets were deleted), and the server serves on.
    assert_eq!(lab_error(&host, "syntaxError")["name"], "SyntaxError");
    assert_eq!(lab_error(&host, "fetchThrows")["name"], "ReferenceError");
    assert_eq!(get_json(&host, "/lab/errors/facet/ok/kv-get?key=x")["isUndefined"], true);
}

/// Runtime errors (not only syntax errors) should say where in the loaded
/// code they happened: the module's name and the line, in the message or in
/// the stack that reaches the supervisor.
#[test]
fn runtime_errors_in_loaded_code_name_the_module_and_line() {
    let host = TestHost::start(fixture("facets_lab"));
    let mut missing = Vec::new();
    for (agent, location) in [("topLevelThrow", "worker.js:3"), ("fetchThrows", "worker.js:4")] {
        let e = lab_error(&host, agent);
        if !(contains(&e["message"], location) || contains(&e["stack"], location)) {
            missing.push(format!("{agent}: neither message nor stack contains {location:?}: {e}"));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn global_outbound_null_blocks_fetch_in_loaded_code() {
    let host = TestHost::start(fixture("facets_lab"));
    for path in ["/lab/net/outbound", "/outbound-entrypoint"] {
        let r = get_json(&host, path);
        assert_eq!(r["blocked"], true, "{path}: {r}");
        assert!(contains(&r["message"], "globalOutbound"), "{path}: the message mentions globalOutbound: {r}");
    }
}

// --- RPC ------------------------------------------------------------------------

#[test]
fn rpc_on_a_facet_passes_structured_clones_both_ways_and_rethrows_errors() {
    let host = TestHost::start(fixture("facets_lab"));
    let out = get_json(&host, "/lab/rpc/rpc");
    let d = &out["describe"];
    assert_eq!(d["calls"], 1, "{out}");
    assert_eq!(d["mapIsMap"], true, "a Map argument arrives as a Map: {out}");
    assert_eq!(d["whenIsDate"], true, "a Date argument arrives as a Date: {out}");
    assert_eq!(d["keys"], json!(["one", "two"]), "{out}");
    assert_eq!(d["doubled"], json!({ "$map": [["one", 2], ["two", 4]] }), "{out}");
    assert_eq!(d["year"], 2024, "{out}");
    assert_eq!(d["nextDay"], json!({ "$date": "2024-03-01T12:00:00.000Z" }), "{out}");
    assert_eq!(d["deep"], json!([1, "two", { "three": 3 }]), "{out}");
    assert_eq!(
        d["nested"],
        json!({ "a": { "b": { "c": [1, "two", { "three": 3 }] } }, "list": [{ "$date": "1970-01-01T00:00:00.000Z" }], "tag": "t", "seen": true }),
        "{out}"
    );
    assert_eq!(out["resultTypes"], json!({ "doubledIsMap": true, "nextDayIsDate": true }), "{out}");
    assert_eq!(out["add"], 42, "an async method's result: {out}");
    assert_eq!(out["again"], 2, "the facet kept its storage between calls: {out}");
    assert_eq!(out["fail"]["name"], "TypeError", "{out}");
    assert_eq!(out["fail"]["message"], "x", "{out}");
    assert!(contains(&out["missing"]["message"], "noSuchMethod"), "{out}");
}

#[test]
fn durable_object_stub_rpc_from_the_default_export() {
    let host = TestHost::start(fixture("facets_lab"));
    let out = get_json(&host, "/stub-rpc");
    assert_eq!(out["add"], json!({ "sum": 42, "total": 42, "name": "calc" }), "{out}");
    assert_eq!(out["addAgain"], json!({ "sum": 2, "total": 44, "name": "calc" }), "{out}");
    assert_eq!(
        out["inspect"],
        json!({ "size": 1, "isMap": true, "iso": "2030-01-01T00:00:00.000Z", "deep": [true, null], "echo": { "$map": [["k", { "v": 1 }]] } }),
        "{out}"
    );
    assert_eq!(out["answers"], json!([7, { "sync": true, "t1": true }, "later"]), "a thenable, microtasks, an async method: {out}");
    assert_eq!(out["fail"]["name"], "TypeError", "{out}");
    assert_eq!(out["fail"]["message"], "calculator says no", "{out}");
    let second = get_json(&host, "/stub-rpc");
    assert_eq!(second["add"]["total"], 86, "the object's storage persists between requests: {second}");
}

/// A facet's response reaches its supervisor whole: status, statusText,
/// headers and body, and no body for a null-body status.
#[test]
fn a_facets_response_keeps_its_status_headers_and_body() {
    let host = TestHost::start(fixture("facets_lab"));
    let out = get_json(&host, "/lab/statuses/statuses");
    assert_eq!(
        out,
        json!([
            { "status": 201, "statusText": "Made", "ok": true, "probe": "yes", "nullBody": false, "text": "made" },
            { "status": 204, "statusText": "", "ok": true, "probe": "yes", "nullBody": true, "text": "" },
            { "status": 404, "statusText": "Nope", "ok": false, "probe": "yes", "nullBody": false, "text": "missing" },
        ]),
        "{out}"
    );
}

/// Stubs of Durable Objects, facets and entrypoints look to code as they do
/// on workerd (checked against workerd 2026-11-17): every name but `then`
/// and the like is a method, awaiting a stub gives the stub, a method taken
/// off it still calls, and `fetch` called on another object fails with
/// workerd's "Illegal invocation".
#[test]
fn stubs_look_like_workerds() {
    let host = TestHost::start(fixture("facets_lab"));
    let out = get_json(&host, "/stub-shape");
    let facet = get_json(&host, "/lab/shape/stub-shape");
    for (what, shape, answer) in [
        ("object", &out["object"], json!(7)),
        ("entrypoint", &out["entrypoint"], json!({ "greeting": "Hi, Ada" })),
        ("facet", &facet, json!(42)),
    ] {
        assert_eq!(shape["anyName"], "function", "{what}: {shape}");
        assert_eq!(shape["then"], "undefined", "{what}: a stub is not a thenable: {shape}");
        assert_eq!(shape["symbol"], "undefined", "{what}: {shape}");
        assert_eq!(shape["awaitsToItself"], true, "{what}: {shape}");
        assert_eq!(shape["isObject"], true, "{what}: {shape}");
        assert_eq!(shape["unboundCall"], answer, "{what}: a method taken off the stub: {shape}");
        assert!(contains(&shape["misusedFetch"], "TypeError: Illegal invocation"), "{what}: {shape}");
    }
    assert_eq!(out["object"]["tag"], "[object DurableObject]", "{out}");
}

/// An error thrown over RPC arrives as an instance of its class (as with
/// Cloudflare), not only with its `name`.
#[test]
fn errors_thrown_over_rpc_are_instances_of_their_class() {
    let host = TestHost::start(fixture("facets_lab"));
    let facet = get_json(&host, "/lab/rpc/rpc");
    let stub = get_json(&host, "/stub-rpc");
    let mut wrong = Vec::new();
    if facet["fail"]["isTypeError"] != true {
        wrong.push(format!("facet RPC: `e instanceof TypeError` is false for {}", facet["fail"]));
    }
    if stub["fail"]["isTypeError"] != true {
        wrong.push(format!("Durable Object stub RPC: `e instanceof TypeError` is false for {}", stub["fail"]));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn loaded_code_entrypoints_serve_fetch_and_rpc() {
    let host = TestHost::start(fixture("facets_lab"));
    let out = get_json(&host, "/entrypoint");
    assert_eq!(out["defaultFetch"], json!({ "status": 200, "body": "default export got POST /some/path payload" }), "{out}");
    assert_eq!(
        out["greet"],
        json!({ "greeting": "Good day, Ada", "at": { "$date": "2025-06-01T00:00:00.000Z" } }),
        "{out}"
    );
    assert_eq!(out["fail"]["name"], "TypeError", "{out}");
    assert_eq!(out["fail"]["message"], "greeter failed", "{out}");
}

// --- the loader's cache ------------------------------------------------------

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("reading /proc/<pid>/status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("a VmRSS line");
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("VmRSS in kB")
}

/// Each loaded worker carries a 16 KiB string, so 1,000 cached entries are
/// visibly ~16 MiB and 10,000 uncached ones would be ~160 MiB.
const PAD: usize = 16 * 1024;

fn load_range(host: &TestHost, prefix: &str, from: usize, to: usize) -> Value {
    let path = format!("/loader-cache?prefix={prefix}&from={from}&to={to}&pad={PAD}");
    let out = get_json(host, &path);
    assert_eq!(out["ok"], (to - from) as u64, "GET {path}: {out}");
    out
}

#[test]
fn the_loader_cache_is_bounded_over_ten_thousand_ids() {
    const TOTAL: usize = 10_000;
    const BATCH: usize = 1_000;
    let host = TestHost::start(fixture("facets_lab"));
    let pid = host.pid();
    let started = Instant::now();
    load_range(&host, "warmup-", 0, 20);
    let baseline = rss_kib(pid);
    let mut at_half = 0;
    for from in (0..TOTAL).step_by(BATCH) {
        let out = load_range(&host, "id-", from, from + BATCH);
        assert_eq!(out["callbacks"], BATCH as u64, "every id is new: {out}");
        if from + BATCH == TOTAL / 2 {
            at_half = rss_kib(pid);
        }
    }
    let at_end = rss_kib(pid);
    let elapsed = started.elapsed();

    // The newest ids are cached (no callback), the oldest were evicted and load again.
    assert_eq!(load_range(&host, "id-", TOTAL - 10, TOTAL)["callbacks"], 0, "recent ids come from the cache");
    assert_eq!(load_range(&host, "id-", 0, 10)["callbacks"], 10, "the first ids were evicted");

    let first_half = at_half.saturating_sub(baseline);
    let second_half = at_end.saturating_sub(at_half);
    eprintln!(
        "loader cache: {TOTAL} loads in {elapsed:?}; RSS {baseline} KiB at start, {at_half} KiB after {}, {at_end} KiB after {TOTAL} (growth {first_half} then {second_half} KiB)",
        TOTAL / 2
    );
    assert!(at_end < 1536 * 1024, "RSS after {TOTAL} loads is {at_end} KiB");
    assert!(
        second_half <= first_half / 2 + 4 * 1024,
        "RSS grew by {second_half} KiB over the second {} loads, against {first_half} KiB over the first: the cache looks unbounded",
        TOTAL / 2
    );
}

// --- limits ----------------------------------------------------------------------

#[test]
fn facet_names_may_be_256_characters_and_no_longer() {
    let host = TestHost::start(fixture("facets_lab"));
    let ok = get_json(&host, "/lab/names/name?len=256");
    assert_eq!(ok, json!({ "ok": true, "body": "v1:1" }));
    let long = get_json(&host, "/lab/names/name?len=257");
    assert_eq!(long["ok"], false, "{long}");
    assert_eq!(long["name"], "RangeError", "{long}");
    assert!(contains(&long["message"], "256"), "{long}");
    let empty = get_json(&host, "/lab/names/name?len=0");
    assert_eq!(empty["name"], "RangeError", "{empty}");
}

/// A facet that creates a facet of its own code, and so on: it gets as deep
/// as the limit (4 levels) and the next level fails with a clear error.
#[test]
fn facets_nest_up_to_the_limit_and_no_deeper() {
    let host = TestHost::start(fixture("facets_lab"));
    let out = get_json(&host, "/lab/nesting/nest");
    assert_eq!(out["deepest"], 4, "facets should nest 4 levels deep: {out}");
    assert!(contains(&out["message"], "nest"), "the error should say that facets nest too deep: {out}");
    // The server is fine afterwards.
    assert_eq!(get_json(&host, "/lab/nesting/facet/after/kv-get?key=k")["isUndefined"], true);
}

#[test]
fn a_facet_gets_the_id_its_startup_callback_returns_or_one_of_its_own() {
    let data = tempfile::tempdir().expect("tempdir");
    let host = TestHost::start_with(fixture("facets_id"), data.path(), &[]);
    let with: serde_json::Value = serde_json::from_str(&host.get("/?id=chosen-one").body).expect("json");
    assert_eq!(with["id"], with["expected"], "{with}");
    assert_eq!(with["name"], "chosen-one");
    let without: serde_json::Value = serde_json::from_str(&host.get("/").body).expect("json");
    let id = without["id"].as_str().expect("an id");
    assert_eq!(id.len(), 64, "{without}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(without["name"], "without-id");
}
