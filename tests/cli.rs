//! The `facets` command line: `compile`, and `serve` refusing to start on a
//! broken project, with errors that point at the source.

mod common;

use common::{fixture, run_facets};

/// The `LINE:COL` after `FILE:` in `text`, where FILE ends with `file`.
fn position_after(text: &str, file: &str) -> Option<(u32, u32)> {
    let needle = format!("{file}:");
    text.match_indices(&needle).find_map(|(at, _)| {
        let rest = &text[at + needle.len()..];
        let mut parts = rest.splitn(3, ':');
        let line = parts.next()?.parse().ok()?;
        let col: String = parts.next()?.chars().take_while(char::is_ascii_digit).collect();
        Some((line, col.parse().ok()?))
    })
}

#[test]
fn compile_of_a_syntax_error_exits_1_and_prints_file_line_col() {
    let out_dir = tempfile::tempdir().expect("temp dir");
    let output = out_dir.path().join("out.wasm");
    let input = fixture("cli_syntax_error").join("index.js");
    let run = run_facets(&["compile", input.to_str().expect("utf-8 path"), "-o", output.to_str().expect("utf-8 path")]);
    assert_eq!(run.status.code(), Some(1), "exit status; stderr:\n{}", run.stderr);
    let (line, col) = position_after(&run.stderr, "cli_syntax_error/index.js")
        .unwrap_or_else(|| panic!("no cli_syntax_error/index.js:LINE:COL in stderr:\n{}", run.stderr));
    assert_eq!(line, 7, "the syntax error is on line 7; stderr:\n{}", run.stderr);
    assert!((20..=30).contains(&col), "column {col} is not near the error (`;` at 28); stderr:\n{}", run.stderr);
    assert!(run.stderr.contains("SyntaxError"), "stderr:\n{}", run.stderr);
    assert!(!output.exists(), "nothing is written for a module that does not compile");
}

#[test]
fn compile_of_a_valid_module_writes_a_wasm_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("worker.js");
    std::fs::copy(fixture("serve_counter").join("index.js"), &input).expect("copying the fixture");

    // Default output: the input with .wasm.
    let run = run_facets(&["compile", input.to_str().expect("utf-8 path")]);
    assert!(run.status.success(), "{}\nstderr:\n{}", run.status, run.stderr);
    let wasm = std::fs::read(dir.path().join("worker.wasm")).expect("worker.wasm was written");
    assert_eq!(&wasm[..4], b"\0asm", "a Wasm file starts with the magic bytes");
    assert!(wasm.len() > 8, "{} bytes", wasm.len());
    assert!(run.stdout.contains("worker.wasm"), "stdout names the output: {}", run.stdout);

    // -o picks the output.
    let chosen = dir.path().join("chosen name.wasm");
    let run = run_facets(&["compile", input.to_str().expect("utf-8 path"), "-o", chosen.to_str().expect("utf-8 path")]);
    assert!(run.status.success(), "{}\nstderr:\n{}", run.status, run.stderr);
    let again = std::fs::read(&chosen).expect("-o file was written");
    assert_eq!(&again[..4], b"\0asm");
}

/// Runs `facets serve` on a fixture with `extra` arguments, on port 0 and a
/// fresh data dir, to completion (it must exit by itself).
fn serve_to_exit(name: &str, extra: &[&str]) -> common::Finished {
    let data = tempfile::tempdir().expect("temp dir");
    let project = fixture(name);
    let mut args = vec!["serve", project.to_str().expect("utf-8 path"), "--port", "0", "--data-dir", data.path().to_str().expect("utf-8 path")];
    args.extend_from_slice(extra);
    run_facets(&args)
}

/// Runs `facets serve` on a broken fixture: it must exit non-zero without
/// serving; returns its stderr.
fn serve_fails(name: &str) -> String {
    let run = serve_to_exit(name, &[]);
    assert!(!run.status.success(), "serve of {name} should fail at start-up; stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("Ready on"), "serve of {name} must not start serving; stdout:\n{}", run.stdout);
    run.stderr
}

#[test]
fn serve_refuses_to_start_when_the_main_module_has_a_syntax_error() {
    let stderr = serve_fails("cli_syntax_error");
    let (line, _col) = position_after(&stderr, "index.js").unwrap_or_else(|| panic!("no index.js:LINE:COL in stderr:\n{stderr}"));
    assert_eq!(line, 7, "stderr:\n{stderr}");
    assert!(stderr.contains("SyntaxError"), "stderr:\n{stderr}");
}

/// `facets serve` listens before it loads the project, so that a client that
/// connects during start-up waits in the accept queue for its answer instead
/// of being refused. A port already in use is therefore the first error, even
/// for a project that would not load.
#[test]
fn serve_listens_before_it_loads_the_project() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let port = busy.local_addr().expect("local addr").port().to_string();
    let data = tempfile::tempdir().expect("temp dir");
    let project = fixture("cli_syntax_error");
    let run = run_facets(&[
        "serve",
        project.to_str().expect("utf-8 path"),
        "--port",
        &port,
        "--data-dir",
        data.path().to_str().expect("utf-8 path"),
    ]);
    assert!(!run.status.success(), "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("could not listen on 127.0.0.1:"), "stderr:\n{}", run.stderr);
    assert!(!run.stderr.contains("SyntaxError"), "the project was loaded before listening; stderr:\n{}", run.stderr);
}

#[test]
fn serve_refuses_to_start_when_the_config_has_no_main() {
    let stderr = serve_fails("cli_missing_main");
    assert!(stderr.contains("`main`"), "the error names the field; stderr:\n{stderr}");
    assert!(stderr.contains("wrangler.jsonc"), "the error names the config file; stderr:\n{stderr}");
}

#[test]
fn serve_refuses_to_start_when_top_level_code_throws() {
    let stderr = serve_fails("cli_top_level_throw");
    assert!(stderr.contains("top-level code refused to start"), "stderr:\n{stderr}");
    let (line, _col) = position_after(&stderr, "index.js").unwrap_or_else(|| panic!("no index.js:LINE:COL in stderr:\n{stderr}"));
    assert_eq!(line, 5, "the throw is on line 5; stderr:\n{stderr}");
}

/// More instance slots than the address space can hold is a configuration
/// error. The full pool is built after the server starts listening (a small
/// boot pool serves first), so the server stops with the error, exit code 1,
/// rather than run on the boot pool's slots. (100,000 slots reserve about
/// 800 TiB for linear memories: beyond x86-64's 128 TiB user address space.)
#[test]
fn serve_stops_with_an_error_when_the_instance_pool_cannot_be_built() {
    let run = serve_to_exit("serve_counter", &["--max-instances", "100000"]);
    assert_eq!(run.status.code(), Some(1), "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("error: --max-instances 100000: building the instance pool failed"), "stderr:\n{}", run.stderr);
}
