//! `ctx.storage.sql` and the storage API of SQLite-backed Durable Objects, end to end
//! through HTTP: the JS API case by case (fixtures `sql_api`, `sql_bigint`), hostile SQL
//! against an object's database (`sql_hostile`), and the database size limit
//! (`sql_quota`, `facets serve --max-database-bytes`).

mod common;

use std::path::PathBuf;

use common::{Reply, TestHost, fixture};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------
// The JS API, case by case

/// Runs GET /run on a case fixture; the report `{ case: { ok, detail } }`.
fn case_report(host: &TestHost) -> serde_json::Map<String, Value> {
    let reply = host.get("/run");
    assert_eq!(reply.status, 200, "GET /run: {reply:?}\nlogs:\n{}", host.logs());
    match reply.json() {
        Value::Object(map) => map,
        other => panic!("the report is not an object: {other}"),
    }
}

/// Asserts that the report holds exactly `expected` cases and that all of them passed,
/// listing every failure.
fn assert_all_pass(host: &TestHost, expected: &[&str]) {
    let report = case_report(host);
    let mut failures = Vec::new();
    for (name, result) in &report {
        if result["ok"] != Value::Bool(true) {
            failures.push(format!("  {name}: {}", result["detail"].as_str().unwrap_or(&result.to_string())));
        }
    }
    let missing: Vec<&str> = expected.iter().copied().filter(|n| !report.contains_key(*n)).collect();
    let unexpected: Vec<&String> = report.keys().filter(|k| !expected.contains(&k.as_str())).collect();
    assert!(
        failures.is_empty() && missing.is_empty() && unexpected.is_empty(),
        "{} of {} cases failed:\n{}\nmissing from the report: {missing:?}\nnot listed in the test: {unexpected:?}",
        failures.len(),
        report.len(),
        failures.join("\n"),
    );
}

/// The cases of tests/fixtures/sql_api/index.js.
const API_CASES: &[&str] = &[
    "cursor_for_of",
    "cursor_next",
    "cursor_to_array",
    "cursor_one",
    "cursor_one_with_no_rows_throws",
    "cursor_one_with_several_rows_throws",
    "cursor_raw",
    "cursor_raw_shares_the_position_with_next",
    "cursor_column_names",
    "cursor_rows_read",
    "cursor_rows_written",
    "multiple_statements_bind_the_last_one",
    "bind_string",
    "bind_integer",
    "bind_float",
    "bind_null",
    "bind_arraybuffer",
    "bind_uint8array",
    "bind_other_typed_arrays",
    "result_types",
    "int64_without_the_flag_comes_back_as_lossy_numbers",
    "database_size_grows",
    "error_syntax",
    "error_unique_constraint",
    "error_no_such_table",
    "error_wrong_number_of_bindings",
    "transaction_sync_commits_on_return",
    "transaction_sync_returns_the_callbacks_value",
    "transaction_sync_rolls_back_on_throw",
    "transaction_sync_nests",
    "transaction_sync_outer_throw_undoes_committed_inner",
    "transaction_async_commits",
    "transaction_async_rolls_back_on_throw",
    "transaction_async_explicit_rollback",
    "sql_transaction_statements_are_rejected",
    "kv_async_api_shares_the_sync_kv_table",
    "kv_get_one_and_many",
    "kv_put_one_and_many",
    "kv_delete_one_and_many",
    "kv_list_with_options",
    "kv_delete_all_drops_sql_tables_too",
    "kv_sync_resolves",
    "kv_more_than_128_keys_is_a_range_error",
    "kv_entry_over_2_mib_throws",
];

/// The cases of tests/fixtures/sql_bigint/index.js.
const BIGINT_CASES: &[&str] = &[
    "integers_beyond_2_pow_53_come_back_as_bigint",
    "safe_integers_and_reals_stay_numbers",
    "bigint_bindings_are_accepted",
    "bigints_round_trip_through_a_table",
    "bigint_outside_64_bits_is_refused",
];

#[test]
fn sql_and_storage_api_cases_all_pass() {
    let host = TestHost::start(fixture("sql_api"));
    assert_all_pass(&host, API_CASES);
}

#[test]
fn with_sql_int64_as_bigint_large_integers_are_bigints_both_ways() {
    let host = TestHost::start(fixture("sql_bigint"));
    assert_all_pass(&host, BIGINT_CASES);
}

// ---------------------------------------------------------------------------------------
// Hostile SQL

/// An object of `sql_hostile` holding a table `users` and a KV entry `config`.
struct Victim<'a> {
    host: &'a TestHost,
    name: &'a str,
}

impl<'a> Victim<'a> {
    fn setup(host: &'a TestHost, name: &'a str) -> Victim<'a> {
        let reply = host.post(&format!("/{name}/setup"), "");
        assert_eq!(reply.status, 200, "setup of {name}: {reply:?}\nlogs:\n{}", host.logs());
        let victim = Victim { host, name };
        victim.assert_intact("right after setup");
        victim
    }

    /// sql.exec(sql, ...bindings) in the object; what it answered.
    fn exec(&self, sql: &str, bindings: Value) -> Value {
        let body = json!({ "sql": sql, "bindings": bindings }).to_string();
        let reply = self.host.post(&format!("/{}/exec", self.name), &body);
        assert_eq!(reply.status, 200, "exec of {}: {reply:?}\nlogs:\n{}", short(sql), self.host.logs());
        reply.json()
    }

    /// Runs `sql`, which must succeed; its answer (`rows`, `columns`, `first`, `all`).
    fn ok(&self, sql: &str, bindings: Value) -> Value {
        let answer = self.exec(sql, bindings);
        assert_eq!(answer["ok"], true, "{} should succeed: {answer}", short(sql));
        answer
    }

    /// Runs `sql`, which must throw an Error with exactly `message`; then checks that the
    /// object's earlier data is intact, in a following request.
    fn denied(&self, sql: &str, bindings: Value, message: &str) {
        let answer = self.exec(sql, bindings);
        assert_eq!(answer["ok"], false, "{} should fail with {message:?}: {answer}", short(sql));
        assert_eq!(answer["message"], message, "the error of {}", short(sql));
        assert_eq!(answer["name"], "Error", "the error of {}: {answer}", short(sql));
        self.assert_intact(&format!("after {}", short(sql)));
    }

    /// The table `users` and the KV entry `config` are still what setup stored.
    fn assert_intact(&self, when: &str) {
        let reply = self.host.get(&format!("/{}/check", self.name));
        assert_eq!(reply.status, 200, "check of {} {when}: {reply:?}\nlogs:\n{}", self.name, self.host.logs());
        let state = reply.json();
        assert_eq!(
            state,
            json!({
                "users": [{ "id": 1, "name": "alice" }, { "id": 2, "name": "bob" }],
                "config": { "version": 1, "secret": format!("secret of {}", self.name) },
                "keys": 1,
            }),
            "the data of {} {when}",
            self.name
        );
    }
}

/// The start of a long SQL text, for messages.
fn short(sql: &str) -> String {
    if sql.len() <= 80 {
        format!("`{sql}`")
    } else {
        format!("`{}…` ({} bytes)", &sql[..60], sql.len())
    }
}

/// The database file of the `sql_hostile` object `name`.
fn database_file(host: &TestHost, name: &str) -> PathBuf {
    let reply = host.get(&format!("/id?name={name}"));
    assert_eq!(reply.status, 200, "{reply:?}");
    let id = reply.json()["id"].as_str().expect("an id").to_string();
    assert_eq!(id.len(), 64, "{id}");
    host.data_dir.join("Victim").join(id).join("state.sqlite")
}

#[test]
fn attach_of_another_objects_database_is_denied() {
    let host = TestHost::start(fixture("sql_hostile"));
    let victim = Victim::setup(&host, "victim");
    let other = Victim::setup(&host, "other");
    let path = database_file(&host, "other");
    assert!(path.is_file(), "the other object's database should be at {}", path.display());
    let path = path.to_str().expect("a UTF-8 path");

    victim.denied(&format!("ATTACH DATABASE '{path}' AS x"), json!([]), "not authorized: SQLITE_AUTH");
    victim.denied("ATTACH DATABASE ? AS x", json!([path]), "not authorized: SQLITE_AUTH");
    victim.denied(&format!("ATTACH '{path}' AS x; SELECT * FROM x.users"), json!([]), "not authorized: SQLITE_AUTH");
    // Nothing was attached.
    victim.denied("SELECT * FROM x.users", json!([]), "no such table: x.users: SQLITE_ERROR");
    victim.denied("DETACH DATABASE main", json!([]), "not authorized: SQLITE_AUTH");
    other.assert_intact("after the attempts to attach it");
}

#[test]
fn pragmas_touching_files_schema_or_limits_are_denied() {
    let host = TestHost::start(fixture("sql_hostile"));
    let v = Victim::setup(&host, "pragmas");
    for pragma in [
        "PRAGMA writable_schema = ON",
        "PRAGMA journal_mode = DELETE",
        "PRAGMA journal_mode",
        "PRAGMA max_page_count = 1000000000",
        "PRAGMA mmap_size = 1000000",
        "PRAGMA table_info(__cf_kv)",
        "SELECT * FROM pragma_table_info('__cf_kv')",
        "SELECT * FROM pragma_journal_mode",
    ] {
        v.denied(pragma, json!([]), "not authorized: SQLITE_AUTH");
    }
    v.denied(
        "UPDATE sqlite_master SET sql = 'CREATE TABLE users (x)' WHERE name = 'users'",
        json!([]),
        "table sqlite_master may not be modified: SQLITE_ERROR",
    );
    // An allowed pragma still works.
    let r = v.ok("PRAGMA table_info(users)", json!([]));
    assert_eq!(r["rows"], 2, "{r}");
}

#[test]
fn the_kv_table_is_out_of_reach_of_sql() {
    let host = TestHost::start(fixture("sql_hostile"));
    let v = Victim::setup(&host, "kv");
    v.denied("SELECT * FROM __cf_kv", json!([]), "access to __cf_kv.key is prohibited: SQLITE_AUTH");
    v.denied("SELECT * FROM __CF_KV", json!([]), "access to __cf_kv.key is prohibited: SQLITE_AUTH");
    v.denied("SELECT count(*) FROM main.__cf_kv", json!([]), "not authorized: SQLITE_AUTH");
    v.denied("INSERT INTO __cf_kv VALUES ('config', x'00')", json!([]), "not authorized: SQLITE_AUTH");
    v.denied("DROP TABLE __cf_kv", json!([]), "not authorized: SQLITE_AUTH");
    v.denied("DELETE FROM __cf_kv", json!([]), "not authorized: SQLITE_AUTH");
    v.denied("ALTER TABLE __cf_kv RENAME TO stolen", json!([]), "not authorized: SQLITE_AUTH");
    v.denied("CREATE INDEX kv_value ON __cf_kv (value)", json!([]), "not authorized: SQLITE_AUTH");
    v.denied("CREATE TRIGGER kv_t AFTER INSERT ON __cf_kv BEGIN SELECT 1; END", json!([]), "not authorized: SQLITE_AUTH");
    v.denied("CREATE TABLE _cf_mine (x)", json!([]), "not authorized: SQLITE_AUTH");
    // A view can be created, but reading the table through it is denied.
    v.ok("CREATE VIEW kv_view AS SELECT * FROM __cf_kv", json!([]));
    v.denied("SELECT * FROM kv_view", json!([]), "access to __cf_kv.key is prohibited: SQLITE_AUTH");
    // A trigger on a user table cannot reach it either.
    v.ok("CREATE TABLE log (x)", json!([]));
    v.ok("CREATE TRIGGER log_t AFTER INSERT ON log BEGIN DELETE FROM __cf_kv; END", json!([]));
    v.denied("INSERT INTO log VALUES (1)", json!([]), "not authorized: SQLITE_AUTH");

    // sqlite_master lists the user's tables (and may list `__cf_kv`, as on Cloudflare).
    let r = v.ok("SELECT name FROM sqlite_master", json!([]));
    let names: Vec<&str> = r["all"].as_array().expect("rows").iter().map(|row| row[0].as_str().unwrap_or("")).collect();
    for name in ["users", "log", "log_t", "kv_view"] {
        assert!(names.contains(&name), "sqlite_master should list {name}: {names:?}");
    }
    assert!(
        names.iter().all(|n| ["users", "log", "log_t", "kv_view", "__cf_kv"].contains(n)),
        "unexpected names in sqlite_master: {names:?}"
    );
}

#[test]
fn extensions_vacuum_into_and_virtual_tables_other_than_fts5_are_denied() {
    let host = TestHost::start(fixture("sql_hostile"));
    let v = Victim::setup(&host, "modules");
    v.denied(
        "SELECT load_extension('x')",
        json!([]),
        "not authorized to use function: load_extension at offset 7: SQLITE_ERROR",
    );
    let target = std::env::temp_dir().join(format!("facets-vacuum-into-{}-{}.sqlite", std::process::id(), line!()));
    let _ = std::fs::remove_file(&target);
    v.denied(
        &format!("VACUUM INTO '{}'", target.display()),
        json!([]),
        "cannot VACUUM from within a transaction: SQLITE_ERROR",
    );
    assert!(!target.exists(), "VACUUM INTO wrote {}", target.display());
    v.denied("VACUUM", json!([]), "cannot VACUUM from within a transaction: SQLITE_ERROR");
    v.denied("CREATE TEMP TABLE t (x)", json!([]), "not authorized: SQLITE_AUTH");
    v.denied("CREATE VIRTUAL TABLE t USING rtree(id, a, b)", json!([]), "not authorized: SQLITE_AUTH");
    v.denied("SELECT * FROM dbstat", json!([]), "access to dbstat.name is prohibited: SQLITE_AUTH");

    // FTS5 works.
    v.ok("CREATE VIRTUAL TABLE docs USING fts5(body)", json!([]));
    v.ok("INSERT INTO docs (body) VALUES ('hello world'), ('goodbye moon')", json!([]));
    let r = v.ok("SELECT body FROM docs WHERE docs MATCH ?", json!(["hello"]));
    assert_eq!(r["all"], json!([["hello world"]]), "{r}");
    v.assert_intact("after using FTS5");
}

#[test]
fn oversized_values_statements_parameters_and_patterns_fail_with_sqlites_errors() {
    let host = TestHost::start(fixture("sql_hostile"));
    let v = Victim::setup(&host, "sizes");
    let too_big = "string or blob too big: SQLITE_TOOBIG";
    v.denied("SELECT ?", json!([{ "repeat": "x", "times": 3_000_000 }]), too_big);
    v.denied("SELECT randomblob(3000000)", json!([]), too_big);
    v.denied("SELECT zeroblob(3000000)", json!([]), too_big);
    v.denied("SELECT length(zeroblob(3000000))", json!([]), too_big);
    // Nor stored in a table.
    v.ok("CREATE TABLE blobs (b BLOB)", json!([]));
    v.denied("INSERT INTO blobs VALUES (zeroblob(3000000))", json!([]), too_big);
    let r = v.ok("SELECT count(*) FROM blobs", json!([]));
    assert_eq!(r["first"], json!([0]));

    // 150 KB of SQL.
    let long = format!("SELECT '{}' AS v", "x".repeat(150_000));
    v.denied(&long, json!([]), "statement too long: SQLITE_TOOBIG");

    // 101 bound parameters (100 are fine).
    let params = |n: usize| format!("SELECT {}", vec!["?"; n].join(","));
    v.denied(&params(101), json!(vec![1; 101]), "too many SQL variables at offset 207: SQLITE_ERROR");
    let r = v.ok(&params(100), json!(vec![1; 100]));
    assert_eq!(r["rows"], 1);

    // A LIKE pattern of 51 bytes (50 are fine).
    v.denied("SELECT 'a' LIKE ?", json!(["%".repeat(51)]), "LIKE or GLOB pattern too complex: SQLITE_ERROR");
    v.ok("SELECT 'a' LIKE ?", json!(["%".repeat(50)]));
}

#[test]
fn a_recursive_cte_with_a_small_limit_returns() {
    let host = TestHost::start(fixture("sql_hostile"));
    let v = Victim::setup(&host, "cte");
    let r = v.ok("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c LIMIT 5", json!([]));
    assert_eq!(r["all"], json!([[1], [2], [3], [4], [5]]));
    // A limit of billions inside the CTE, and a filter: only what the outer LIMIT needs
    // is computed.
    let r = v.ok(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 5000000000) \
         SELECT x FROM c WHERE x % 1000 = 0 LIMIT 3",
        json!([]),
    );
    assert_eq!(r["all"], json!([[1000], [2000], [3000]]), "{r}");
    v.assert_intact("after the CTEs");
}

#[test]
fn a_result_over_64_mib_fails_with_a_clear_error_and_the_server_keeps_serving() {
    let host = TestHost::start(fixture("sql_hostile"));
    let v = Victim::setup(&host, "huge");
    let message = "the result of the SQL query is larger than the limit of 67108864 bytes; \
                   select fewer rows (LIMIT) or smaller columns";
    // 100 rows of 1 MB.
    v.denied(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100) SELECT zeroblob(1000000) AS b FROM c",
        json!([]),
        message,
    );
    // 100 rows of 1 MB of text.
    v.denied(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100) SELECT hex(zeroblob(500000)) AS t FROM c",
        json!([]),
        message,
    );
    // 60 MB is fine.
    let r = v.ok(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 60) SELECT zeroblob(1000000) AS b FROM c",
        json!([]),
    );
    assert_eq!(r["rows"], 60);
    assert_eq!(r["first"], json!([{ "blob": 1_000_000 }]));
    // Other objects are served too.
    Victim::setup(&host, "bystander");
}

// ---------------------------------------------------------------------------------------
// The database size limit

/// `facets serve --max-database-bytes` for the quota tests: 64 pages.
const QUOTA: &str = "262144";

fn start_with_quota() -> (TestHost, tempfile::TempDir) {
    let data = tempfile::tempdir().expect("temp dir");
    let host = TestHost::start_with(fixture("sql_quota"), data.path(), &["--max-database-bytes", QUOTA]);
    (host, data)
}

fn quota_state(host: &TestHost, object: &str) -> Value {
    let reply = host.get(&format!("/{object}/state"));
    assert_eq!(reply.status, 200, "state of {object}: {reply:?}\nlogs:\n{}", host.logs());
    reply.json()
}

/// The object's data, without its size.
fn quota_data(host: &TestHost, object: &str) -> Value {
    let mut state = quota_state(host, object);
    state.as_object_mut().expect("an object").remove("size");
    state
}

fn post_ok(host: &TestHost, path: &str) -> Value {
    let reply = host.post(path, "");
    assert_eq!(reply.status, 200, "POST {path}: {reply:?}\nlogs:\n{}", host.logs());
    reply.json()
}

const FULL: &str = "database or disk is full: SQLITE_FULL";

/// The answer to a fill that ran into the limit: the JS handler caught `SQLITE_FULL` and
/// its answer (saying so) goes out, although SQLite rolled back the event's writes.
fn assert_fill_hit_the_limit(host: &TestHost, reply: &Reply) {
    assert_eq!(reply.status, 200, "a fill that hit the limit: {reply:?}\nlogs:\n{}", host.logs());
    let answer = reply.json();
    assert_eq!(answer["message"], FULL, "what JS caught: {answer}");
    assert_eq!(answer["name"], "Error", "what JS caught: {answer}");
}

#[test]
fn a_full_database_fails_writes_with_sqlite_full_and_still_serves_reads_and_deletes() {
    let (host, _data) = start_with_quota();
    let o = "q";
    post_ok(&host, &format!("/{o}/setup"));
    let baseline = quota_data(&host, o);

    // One event inserting until the database is full: JS sees SQLITE_FULL, and nothing of
    // the event is stored.
    let reply = host.post(&format!("/{o}/fill"), "");
    assert_fill_hit_the_limit(&host, &reply);
    assert!(
        host.wait_for_log(&format!("rows: Error: {FULL}")),
        "the handler should have caught `Error: {FULL}`; logs:\n{}",
        host.logs()
    );
    assert_eq!(quota_data(&host, o), baseline, "the failed event's writes should be rolled back");

    // Fill it one committed row per event.
    let mut committed = 0;
    loop {
        let reply = host.post(&format!("/{o}/fill?max=1"), "");
        if reply.status == 200 && reply.json()["inserted"] == 1 {
            committed += 1;
            assert!(committed < 100, "the limit of {QUOTA} bytes was never reached");
            continue;
        }
        assert_fill_hit_the_limit(&host, &reply);
        break;
    }
    assert!(committed > 10, "only {committed} rows of 8 kB fit in {QUOTA} bytes");

    // Reads work; the size stays within the limit.
    let state = quota_state(&host, o);
    assert_eq!(state["fillRows"], committed, "{state}");
    assert_eq!(state["users"], baseline["users"]);
    assert_eq!(state["config"], baseline["config"]);
    let size = state["size"].as_u64().expect("size");
    assert!(size <= QUOTA.parse().unwrap(), "databaseSize {size} is over the limit");

    // Still full.
    let reply = host.post(&format!("/{o}/fill?max=1"), "");
    assert_fill_hit_the_limit(&host, &reply);

    // Deleting works, and frees room for new rows.
    let deleted = post_ok(&host, &format!("/{o}/delete?keep=3"));
    assert_eq!(deleted["deleted"], committed - 3);
    assert_eq!(quota_state(&host, o)["fillRows"], 3);
    let again = post_ok(&host, &format!("/{o}/fill?max=5"));
    assert_eq!(again["inserted"], 5, "{again}");
    assert_eq!(quota_state(&host, o)["fillRows"], 8);

    // Other objects have their own limit.
    post_ok(&host, "/other/setup");
    assert_eq!(post_ok(&host, "/other/fill?max=5")["inserted"], 5);
}

#[test]
fn writes_after_sqlite_full_in_the_same_event_are_not_committed_behind_its_back() {
    let (host, _data) = start_with_quota();
    let o = "late";
    post_ok(&host, &format!("/{o}/setup"));
    let baseline = quota_data(&host, o);

    // The handler catches SQLITE_FULL, then writes a KV entry and a row, and answers.
    let reply = host.post(&format!("/{o}/fill?then=late-write"), "");
    assert!(
        host.wait_for_log(&format!("rows: Error: {FULL}")),
        "the handler should have caught `Error: {FULL}`; logs:\n{}",
        host.logs()
    );
    let state = quota_data(&host, o);
    // SQLite rolled back the event's transaction on SQLITE_FULL, discarding its inserts; the
    // writes made after that must not be committed on their own (outside the event's
    // transaction) while the rest of the event is discarded.
    assert_eq!(
        state,
        baseline,
        "after an event whose transaction was rolled back (answer: {} {:?}), some of its writes were still stored",
        reply.status,
        reply.body
    );
}
