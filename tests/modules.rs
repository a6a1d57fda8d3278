//! Modules (issue #5, item 9), end to end through HTTP on a real `facets serve`:
//! a project's main module importing ES, text, HTML, JSON and data modules by
//! relative path; loaded code (Worker Loader) doing the same; the
//! `cloudflare:workers` exports; and imports that cannot be satisfied failing
//! at load time with their specifier.

mod common;

use common::{TestHost, fixture, run_facets};
use serde_json::{Value, json};

fn loaded(host: &TestHost, case: &str) -> (u16, Value) {
    let reply = host.get(&format!("/loaded/{case}"));
    (reply.status, reply.json())
}

#[test]
fn a_projects_modules_import_each_other_and_text_json_and_data_files() {
    let host = TestHost::start(fixture("modules_project"));
    let reply = host.get("/project");
    assert_eq!(reply.status, 200, "{reply:?}\nlogs:\n{}", host.logs());
    let v = reply.json();
    assert_eq!(v["greeting"], "Hello, \"text\" module!\nSecond line.\n");
    assert_eq!(v["page"], "<h1>Hi</h1>\n");
    assert_eq!(v["config"], json!({ "name": "modules-project", "limits": [1, 2, 3], "nested": { "ok": true } }));
    assert_eq!(v["blob"], json!([0, 1, 254, 255]));
    assert_eq!(v["blobIsBuffer"], true);
    assert_eq!(v["doubled"], 42, "lib/math.js imports ./deep/nested.mjs");
    assert_eq!(v["projectName"], "modules-project", "nested.mjs imports ../../config.json");
    assert_eq!(v["vars"], "hello from vars");
    assert_eq!(v["importedEnv"], "hello from vars", "`env` from cloudflare:workers is the worker's env");
    assert_eq!(v["classes"], json!(["function", "function", "function"]));
}

#[test]
fn loaded_code_resolves_relative_imports_across_directories() {
    let host = TestHost::start(fixture("modules_project"));
    let (status, v) = loaded(&host, "relative");
    assert_eq!(status, 200, "{v}\nlogs:\n{}", host.logs());
    assert_eq!(v, json!({ "v": "a+b", "data": { "k": 1, "list": ["x"] } }));
}

#[test]
fn loaded_code_has_text_data_and_json_modules() {
    let host = TestHost::start(fixture("modules_project"));
    let (status, v) = loaded(&host, "kinds");
    assert_eq!(status, 200, "{v}\nlogs:\n{}", host.logs());
    assert_eq!(v, json!({ "t": "plain text\n", "isBuffer": true, "d": [0, 7, 255], "j": { "a": [1, 2], "s": "é" } }));
}

#[test]
fn cloudflare_workers_exports_the_classes_and_the_loaded_env() {
    let host = TestHost::start(fixture("modules_project"));
    let (status, v) = loaded(&host, "workers");
    assert_eq!(status, 200, "{v}\nlogs:\n{}", host.logs());
    assert_eq!(v["env"], "hi from the loader");
    assert_eq!(v["same"], true);
    assert_eq!(v["numbers"], json!([1, 2]));
    assert_eq!(v["kinds"], json!(["function", "function", "function"]));
}

#[test]
fn an_unknown_import_fails_at_load_time_with_its_specifier_and_the_host_keeps_serving() {
    let host = TestHost::start(fixture("modules_project"));
    let (status, v) = loaded(&host, "missing");
    assert_eq!(status, 500);
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("\"./lib/missing.js\""), "names the specifier: {v}");
    assert!(message.contains("main.js"), "names the importing module: {v}");

    let (status, v) = loaded(&host, "bare");
    assert_eq!(status, 500);
    assert!(v["error"]["message"].as_str().unwrap_or_default().contains("\"lodash\""), "{v}");

    let (status, v) = loaded(&host, "syntax");
    assert_eq!(status, 500);
    assert_eq!(v["error"]["name"], "SyntaxError", "{v}");
    assert!(v["error"]["message"].as_str().unwrap_or_default().contains("lib/broken.js"), "names the module: {v}");

    // Good code still loads and runs afterwards.
    let (status, _) = loaded(&host, "kinds");
    assert_eq!(status, 200);
    assert_eq!(host.get("/project").status, 200);
}

#[test]
fn serve_refuses_a_project_whose_json_module_is_malformed_and_names_the_file() {
    let dir = fixture("modules_badjson");
    let data = tempfile::tempdir().expect("temp dir");
    let run = run_facets(&[
        "serve",
        dir.to_str().expect("utf-8 path"),
        "--port",
        "0",
        "--data-dir",
        data.path().to_str().expect("utf-8 path"),
    ]);
    assert!(!run.status.success(), "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("Ready on"));
    assert!(run.stderr.contains("settings.json:1:"), "names the file and line; stderr:\n{}", run.stderr);
    assert!(run.stderr.contains("SyntaxError"), "stderr:\n{}", run.stderr);
}
