//! Tests of the SQL API on real SQLite files in temporary directories.

use super::*;

/// Generous result limit for tests that are not about it.
const MAX: usize = 1 << 24;

fn open(dir: &tempfile::TempDir) -> Database {
    Database::open(&dir.path().join("db.sqlite"), &StorageOptions::default()).unwrap()
}

fn exec(db: &mut Database, sql: &str) -> ExecResult {
    db.sql_exec(sql, &[], MAX)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn exec_err(db: &mut Database, sql: &str) -> String {
    match db.sql_exec(sql, &[], MAX) {
        Ok(r) => panic!("{sql}: expected an error, got {r:?}"),
        Err(e) => e.to_string(),
    }
}

fn int(i: i64) -> SqlValue {
    SqlValue::Integer(i)
}

fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.to_owned())
}

/// A database with user data and KV data, for checking that it survives denied statements.
fn fixture(dir: &tempfile::TempDir) -> Database {
    let mut db = open(dir);
    exec(
        &mut db,
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
         INSERT INTO users (name) VALUES ('ada'), ('bob');",
    );
    db.kv_put("k", b"v").unwrap();
    db
}

/// The fixture's data is all there and the database still works.
fn assert_intact(db: &mut Database, after: &str) {
    assert_eq!(
        db.kv_get("k").unwrap().as_deref(),
        Some(&b"v"[..]),
        "KV data after {after}"
    );
    let users = exec(db, "SELECT id, name FROM users ORDER BY id");
    assert_eq!(
        users.rows,
        [vec![int(1), text("ada")], vec![int(2), text("bob")]],
        "user table after {after}"
    );
    let tables = exec(
        db,
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
    );
    assert_eq!(
        tables.rows,
        [vec![text(KV_TABLE)], vec![text("users")]],
        "tables after {after}"
    );
    db.kv_put("k2", b"w").unwrap();
    assert!(db.kv_delete("k2").unwrap());
}

/// Whether `err` is SQLite's report of an authorizer denial. SQLite words it after the
/// action: `not authorized`, `access to t.c is prohibited` (reads), `not authorized to use
/// function: f` (reported as SQLITE_ERROR, with an offset), as on Cloudflare.
fn is_denial(err: &str) -> bool {
    err == "not authorized: SQLITE_AUTH"
        || err.starts_with("access to ") && err.ends_with(" is prohibited: SQLITE_AUTH")
        || err.starts_with("not authorized to use function: ") && err.ends_with(": SQLITE_ERROR")
}

fn assert_denied(db: &mut Database, sql: &str) {
    let err = exec_err(db, sql);
    assert!(is_denial(&err), "{sql}: {err}");
    assert_intact(db, sql);
}

// ---------------------------------------------------------------------------------------
// Values, statements, bindings

#[test]
fn sql_values_round_trip_through_bindings_and_tables() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    let values = [
        SqlValue::Null,
        int(0),
        int(i64::MIN),
        int(i64::MAX),
        int(-1),
        SqlValue::Real(1.5),
        SqlValue::Real(-1e308),
        SqlValue::Real(f64::MIN_POSITIVE),
        text(""),
        text("héllo, 世界 😀"),
        text("nul\0inside"),
        SqlValue::Blob(vec![]),
        SqlValue::Blob(vec![0, 1, 2, 255, 0]),
        SqlValue::Blob((0..=255).collect()),
    ];
    exec(&mut db, "CREATE TABLE v (x)");
    for value in &values {
        // Straight back from a binding.
        let r = db
            .sql_exec("SELECT ?", std::slice::from_ref(value), MAX)
            .unwrap();
        assert_eq!(r.rows, [vec![value.clone()]]);
        let r = db
            .sql_exec("INSERT INTO v VALUES (?)", std::slice::from_ref(value), MAX)
            .unwrap();
        assert_eq!(r.rows_written, 1);
        assert!(r.columns.is_empty() && r.rows.is_empty());
    }
    let r = exec(&mut db, "SELECT x, typeof(x) FROM v ORDER BY rowid");
    assert_eq!(r.columns, ["x", "typeof(x)"]);
    let types = [
        "null", "integer", "integer", "integer", "integer", "real", "real", "real", "text", "text",
        "text", "blob", "blob", "blob",
    ];
    assert_eq!(r.rows.len(), values.len());
    for ((row, value), ty) in r.rows.iter().zip(&values).zip(types) {
        assert_eq!(row, &vec![value.clone(), text(ty)]);
    }
    // SQLite's own values map the same way.
    let r = exec(
        &mut db,
        "SELECT NULL, 9223372036854775807, -9223372036854775808, 0.25, 'a', x'00ff', 1e400",
    );
    assert_eq!(
        r.rows,
        [vec![
            SqlValue::Null,
            int(i64::MAX),
            int(i64::MIN),
            SqlValue::Real(0.25),
            text("a"),
            SqlValue::Blob(vec![0, 255]),
            SqlValue::Real(f64::INFINITY),
        ]]
    );
    // Invalid UTF-8 in TEXT becomes replacement characters.
    let r = exec(&mut db, "SELECT CAST(x'61ff62' AS TEXT)");
    assert_eq!(r.rows, [vec![text("a\u{FFFD}b")]]);
}

#[test]
fn column_names_come_from_the_statement() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    let r = exec(&mut db, "SELECT 1 AS one, 'x' AS \"two words\", 3");
    assert_eq!(r.columns, ["one", "two words", "3"]);
    exec(&mut db, "CREATE TABLE t (a, b)");
    let r = exec(&mut db, "SELECT * FROM t");
    assert_eq!(r.columns, ["a", "b"]);
    assert!(r.rows.is_empty());
    let r = exec(&mut db, "INSERT INTO t VALUES (1, 2) RETURNING b, a");
    assert_eq!(r.columns, ["b", "a"]);
    assert_eq!(r.rows, [vec![int(2), int(1)]]);
}

#[test]
fn empty_queries_and_comments_return_an_empty_result() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    for sql in [
        "",
        "   \n\t",
        ";",
        ";;",
        "-- a comment",
        "/* a comment */",
        "/* a */ ; -- b",
    ] {
        let r = exec(&mut db, sql);
        assert!(r.columns.is_empty() && r.rows.is_empty(), "{sql:?}");
        assert_eq!((r.rows_read, r.rows_written), (0, 0), "{sql:?}");
    }
    assert_eq!(
        db.sql_exec("", &[int(1)], MAX).unwrap_err().to_string(),
        "Wrong number of parameter bindings for SQL query: expected 0, got 1: SQLITE_RANGE"
    );
}

#[test]
fn multiple_statements_run_in_order_and_bindings_go_to_the_last() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    let r = db
        .sql_exec(
            "CREATE TABLE t (a INTEGER, b TEXT);
             INSERT INTO t VALUES (1, 'x'), (2, 'y');
             SELECT * FROM t; -- rows discarded
             SELECT b, a FROM t WHERE a = ?;
             -- trailing comment",
            &[int(2)],
            MAX,
        )
        .unwrap();
    assert_eq!(r.columns, ["b", "a"]);
    assert_eq!(r.rows, [vec![text("y"), int(2)]]);
    assert_eq!(r.rows_written, 2);

    // A trigger body's semicolons do not end the statement.
    exec(
        &mut db,
        "CREATE TABLE log (msg TEXT);
         CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN
           INSERT INTO log VALUES ('one; two');
           INSERT INTO log VALUES ('three');
         END;
         INSERT INTO t VALUES (3, 'z')",
    );
    let r = exec(&mut db, "SELECT msg FROM log ORDER BY rowid");
    assert_eq!(r.rows, [vec![text("one; two")], vec![text("three")]]);

    // Only the last statement may have parameters; the statements before it ran.
    let err = db
        .sql_exec(
            "INSERT INTO t VALUES (4, 'w'); SELECT ?; SELECT 1",
            &[int(1)],
            MAX,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "When executing multiple SQL statements in a single call, only the last statement \
         can have parameters: SQLITE_RANGE"
    );
    // A failing statement stops the rest; the ones before it stay applied.
    let err = exec_err(
        &mut db,
        "INSERT INTO t VALUES (5, 'v'); INSERT INTO missing VALUES (1); INSERT INTO t VALUES (6, 'u')",
    );
    assert!(err.starts_with("no such table: missing"), "{err}");
    let r = exec(&mut db, "SELECT a FROM t WHERE a >= 4 ORDER BY a");
    assert_eq!(r.rows, [vec![int(4)], vec![int(5)]]);
}

#[test]
fn wrong_binding_counts_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    let cases: &[(&str, &[SqlValue], usize)] = &[
        ("SELECT ?, ?", &[], 2),
        ("SELECT ?, ?", &[SqlValue::Null], 2),
        ("SELECT ?", &[SqlValue::Null, SqlValue::Null], 1),
        ("SELECT 1", &[int(1)], 0),
        ("SELECT ?3", &[int(1)], 3),
    ];
    for &(sql, bindings, expected) in cases {
        let err = db.sql_exec(sql, bindings, MAX).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "Wrong number of parameter bindings for SQL query: expected {expected}, got {}: \
                 SQLITE_RANGE",
                bindings.len()
            ),
            "{sql}"
        );
        assert_eq!(err.sqlite().unwrap().code, "SQLITE_RANGE");
    }
    // A numbered parameter used twice is one parameter.
    let r = db.sql_exec("SELECT ?1, ?1 + 1", &[int(1)], MAX).unwrap();
    assert_eq!(r.rows, [vec![int(1), int(2)]]);
    // Named parameters are numbered in order of appearance.
    let r = db
        .sql_exec("SELECT :b, :a, :b", &[text("b"), text("a")], MAX)
        .unwrap();
    assert_eq!(r.rows, [vec![text("b"), text("a"), text("b")]]);
}

#[test]
fn single_statements_are_cached_and_survive_schema_changes() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    exec(&mut db, "CREATE TABLE t (a)");
    for i in 0..5 {
        db.sql_exec("INSERT INTO t VALUES (?)", &[int(i)], MAX)
            .unwrap();
    }
    let first = exec(&mut db, "SELECT count(*) AS n, sum(a) FROM t WHERE a >= 0");
    let again = exec(&mut db, "SELECT count(*) AS n, sum(a) FROM t WHERE a >= 0");
    assert_eq!(first.rows, [vec![int(5), int(10)]]);
    assert_eq!(again.rows, first.rows);
    // The counters of a cached statement start from zero on each run.
    assert_eq!(again.rows_read, first.rows_read);
    // The cached statement is re-prepared after the schema changed.
    exec(&mut db, "DROP TABLE t; CREATE TABLE t (a, b)");
    let r = exec(&mut db, "SELECT count(*) AS n, sum(a) FROM t WHERE a >= 0");
    assert_eq!(r.rows, [vec![int(0), SqlValue::Null]]);
    exec(&mut db, "DROP TABLE t");
    let err = exec_err(&mut db, "SELECT count(*) AS n, sum(a) FROM t WHERE a >= 0");
    assert!(err.starts_with("no such table: t"), "{err}");
}

#[test]
fn sqlite_error_messages_match_cloudflare() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    exec(
        &mut db,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, u TEXT UNIQUE, n INTEGER NOT NULL CHECK (n > 0))",
    );
    exec(&mut db, "INSERT INTO t VALUES (1, 'a', 1)");
    let cases = [
        (
            "SELEC 1",
            "near \"SELEC\": syntax error at offset 0: SQLITE_ERROR",
        ),
        (
            "INSERT INTO t VALUES (1, 'b', 1)",
            "UNIQUE constraint failed: t.id: SQLITE_CONSTRAINT",
        ),
        (
            "INSERT INTO t VALUES (2, 'a', 1)",
            "UNIQUE constraint failed: t.u: SQLITE_CONSTRAINT",
        ),
        (
            "INSERT INTO t VALUES (2, 'b', NULL)",
            "NOT NULL constraint failed: t.n: SQLITE_CONSTRAINT",
        ),
        (
            "INSERT INTO t VALUES (2, 'b', 0)",
            "CHECK constraint failed: n > 0: SQLITE_CONSTRAINT",
        ),
        (
            "SELECT * FROM nowhere",
            "no such table: nowhere: SQLITE_ERROR",
        ),
        (
            "SELECT nope FROM t",
            "no such column: nope at offset 7: SQLITE_ERROR",
        ),
    ];
    for (sql, expected) in cases {
        assert_eq!(exec_err(&mut db, sql), expected, "{sql}");
    }
}

#[test]
fn foreign_keys_are_enforced_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    exec(
        &mut db,
        "CREATE TABLE p (id INTEGER PRIMARY KEY);
         CREATE TABLE c (p INTEGER REFERENCES p (id));",
    );
    assert_eq!(
        exec_err(&mut db, "INSERT INTO c VALUES (1)"),
        "FOREIGN KEY constraint failed: SQLITE_CONSTRAINT"
    );
    assert_eq!(exec(&mut db, "PRAGMA foreign_keys").rows, [vec![int(1)]]);
}

// ---------------------------------------------------------------------------------------
// Metering and the result limit

#[test]
fn rows_read_and_written_are_metered() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    let r = exec(
        &mut db,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER);
         INSERT INTO t (v) VALUES (1), (2), (3), (4), (5), (6), (7), (8), (9), (10);",
    );
    assert_eq!((r.rows_read, r.rows_written), (0, 10));

    let meter = |db: &mut Database, sql: &str| {
        let r = exec(db, sql);
        (r.rows_read, r.rows_written)
    };
    // A full scan returning every row counts each row once.
    assert_eq!(meter(&mut db, "SELECT * FROM t"), (10, 0));
    // A scan filtering on an unindexed column counts the rows scanned.
    assert_eq!(meter(&mut db, "SELECT * FROM t WHERE v = 3"), (10, 0));
    // A primary key lookup counts the row returned.
    assert_eq!(meter(&mut db, "SELECT * FROM t WHERE id = 3"), (1, 0));
    assert_eq!(meter(&mut db, "SELECT * FROM t WHERE id = 99"), (0, 0));
    assert_eq!(meter(&mut db, "UPDATE t SET v = v + 1"), (10, 10));
    assert_eq!(meter(&mut db, "UPDATE t SET v = 0 WHERE id = 1").1, 1);
    assert_eq!(meter(&mut db, "DELETE FROM t WHERE id > 8"), (0, 2));
    // DDL writes no rows, even right after a DML statement (sqlite3_changes() would still
    // report the DML's count).
    assert_eq!(
        meter(
            &mut db,
            "INSERT INTO t (v) VALUES (1), (2); CREATE TABLE u (x)"
        ),
        (0, 2)
    );
    // Rows written by triggers count.
    exec(
        &mut db,
        "CREATE TRIGGER copy AFTER INSERT ON t BEGIN INSERT INTO u VALUES (new.v); END",
    );
    assert_eq!(meter(&mut db, "INSERT INTO t (v) VALUES (5)").1, 2);
    // Statements whose rows are discarded are metered too.
    let (read, _) = meter(&mut db, "SELECT * FROM t; SELECT 1");
    assert!(read >= 11, "{read}");
}

#[test]
fn results_over_the_size_limit_fail_with_a_message_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    exec(&mut db, "CREATE TABLE t (b BLOB)");
    for _ in 0..4 {
        db.sql_exec(
            "INSERT INTO t VALUES (?)",
            &[SqlValue::Blob(vec![1; 1000])],
            MAX,
        )
        .unwrap();
    }
    // Column name (1) + 4 × 1000 bytes.
    let r = db.sql_exec("SELECT b FROM t", &[], 4001).unwrap();
    assert_eq!(r.rows.len(), 4);
    let err = db.sql_exec("SELECT b FROM t", &[], 4000).unwrap_err();
    assert!(
        matches!(err, StorageError::ResultTooLarge { limit: 4000 }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the result of the SQL query is larger than the limit of 4000 bytes; select fewer \
         rows (LIMIT) or smaller columns"
    );
    // The database is fine, and smaller results still come back.
    let r = db
        .sql_exec("SELECT length(b) FROM t LIMIT 1", &[], 100)
        .unwrap();
    assert_eq!(r.rows, [vec![int(1000)]]);
}

// ---------------------------------------------------------------------------------------
// The authorizer

#[test]
fn the_kv_table_is_listed_but_out_of_reach() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = fixture(&dir);
    let r = exec(
        &mut db,
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
    );
    assert_eq!(r.rows, [vec![text("__cf_kv")], vec![text("users")]]);
    let r = exec(&mut db, "PRAGMA table_list");
    let names: Vec<&SqlValue> = r.rows.iter().map(|row| &row[1]).collect();
    assert!(names.contains(&&text("__cf_kv")), "{names:?}");

    for sql in [
        "SELECT * FROM __cf_kv",
        "SELECT value FROM __cf_kv WHERE key = 'k'",
        "SELECT count(*) FROM __cf_kv",
        "SELECT 1 FROM __CF_KV LIMIT 1",
        "SELECT * FROM main.__cf_kv",
        "SELECT (SELECT key FROM __cf_kv) AS k",
        "INSERT INTO __cf_kv VALUES ('x', x'00')",
        "INSERT INTO users (name) SELECT key FROM __cf_kv",
        "UPDATE __cf_kv SET value = x'00'",
        "DELETE FROM __cf_kv",
        "DROP TABLE __cf_kv",
        "ALTER TABLE __cf_kv RENAME TO mine",
        "ALTER TABLE __cf_kv ADD COLUMN extra",
        "CREATE INDEX kv_values ON __cf_kv (value)",
        "CREATE TRIGGER spy AFTER INSERT ON __cf_kv BEGIN SELECT 1; END",
        "PRAGMA table_info(__cf_kv)",
        "PRAGMA table_xinfo('__cf_kv')",
        "PRAGMA index_list(__cf_kv)",
        "SELECT * FROM pragma_table_info('__cf_kv')",
        // Other internal names cannot be created either.
        "CREATE TABLE _cf_mine (x)",
        "CREATE TABLE __cf_other (x)",
        "CREATE TABLE _CF_Upper (x)",
        "CREATE INDEX __cf_index ON users (name)",
        "CREATE VIEW _cf_view AS SELECT 1",
        "CREATE VIRTUAL TABLE __cf_fts USING fts5 (body)",
    ] {
        assert_denied(&mut db, sql);
    }
}

#[test]
fn views_and_triggers_cannot_reach_the_kv_table() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = fixture(&dir);
    // Creating them is allowed (their bodies are checked when used), using them is not.
    exec(&mut db, "CREATE VIEW leak AS SELECT * FROM __cf_kv");
    assert_eq!(
        exec_err(&mut db, "SELECT * FROM leak"),
        "access to __cf_kv.key is prohibited: SQLITE_AUTH"
    );
    exec(&mut db, "DROP VIEW leak");
    exec(
        &mut db,
        "CREATE TRIGGER wipe AFTER INSERT ON users BEGIN DELETE FROM __cf_kv; END",
    );
    assert_eq!(
        exec_err(&mut db, "INSERT INTO users (name) VALUES ('eve')"),
        "not authorized: SQLITE_AUTH"
    );
    exec(&mut db, "DROP TRIGGER wipe");
    assert_intact(&mut db, "triggers and views");
}

#[test]
fn user_triggers_fired_by_host_statements_are_checked_like_user_sql() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = fixture(&dir);
    // A foreign key to the KV table cascades the host's deletes into a user table, whose
    // trigger then tries to write the KV table.
    exec(
        &mut db,
        "CREATE TABLE mirror (key TEXT REFERENCES __cf_kv (key) ON DELETE CASCADE);
         CREATE TRIGGER sneak AFTER DELETE ON mirror
         BEGIN INSERT INTO __cf_kv VALUES ('planted', x'00'); END;",
    );
    db.kv_put("a", b"1").unwrap();
    // Checking the reference reads the KV table: denied...
    let err = db
        .sql_exec("INSERT INTO mirror VALUES (?)", &[text("a")], MAX)
        .unwrap_err()
        .to_string();
    assert_eq!(err, "access to __cf_kv.key is prohibited: SQLITE_AUTH");
    // ...unless foreign keys are off.
    exec(
        &mut db,
        "PRAGMA foreign_keys = OFF; INSERT INTO mirror VALUES ('a'); PRAGMA foreign_keys = ON",
    );
    let err = db.kv_delete("a").unwrap_err().to_string();
    assert!(is_denial(&err), "{err}");
    assert_eq!(db.kv_get("planted").unwrap(), None);
    assert_eq!(db.kv_get("a").unwrap().as_deref(), Some(&b"1"[..]));
    // deleteAll drops the trigger before anything can fire it.
    exec(
        &mut db,
        "CREATE TABLE p (id INTEGER PRIMARY KEY);
         CREATE TABLE c (p INTEGER REFERENCES p (id) ON DELETE CASCADE);
         CREATE TRIGGER c_del AFTER DELETE ON c BEGIN DELETE FROM __cf_kv; END;
         INSERT INTO p VALUES (1); INSERT INTO c VALUES (1);",
    );
    db.delete_all().unwrap();
    assert_eq!(schema(&mut db), ["table __cf_kv"]);
    assert!(db.kv_list(&KvListOptions::default()).unwrap().is_empty());
}

#[test]
fn attach_detach_and_vacuum_into_are_denied_and_create_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = fixture(&dir);
    let other = dir.path().join("other.sqlite");
    let copy = dir.path().join("copy.sqlite");
    assert_denied(&mut db, &format!("ATTACH '{}' AS other", other.display()));
    assert_denied(&mut db, "ATTACH ':memory:' AS mem");
    assert_denied(&mut db, "DETACH other");
    assert_denied(&mut db, "DETACH main");
    assert!(!other.exists());

    let err = exec_err(&mut db, &format!("VACUUM INTO '{}'", copy.display()));
    assert!(
        err.ends_with(": SQLITE_AUTH") || err.contains("not authorized"),
        "{err}"
    );
    assert!(
        !copy.exists(),
        "VACUUM INTO must not create {}",
        copy.display()
    );
    assert_intact(&mut db, "VACUUM INTO");
    // Plain VACUUM fails too (it attaches a temporary database).
    let err = exec_err(&mut db, "VACUUM");
    assert!(
        err.ends_with(": SQLITE_AUTH") || err.contains("not authorized"),
        "{err}"
    );
    // And inside an event, SQLite refuses it anyway.
    db.begin_event().unwrap();
    let err = exec_err(&mut db, &format!("VACUUM INTO '{}'", copy.display()));
    assert!(!err.is_empty());
    db.rollback_event().unwrap();
    assert!(!copy.exists());
    // Nothing left behind in the directory but the database and its WAL.
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["db.sqlite", "db.sqlite-wal"]);
    assert_intact(&mut db, "VACUUM");
}

#[test]
fn unsafe_pragmas_are_denied() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = fixture(&dir);
    for sql in [
        "PRAGMA writable_schema = ON",
        "PRAGMA writable_schema",
        "PRAGMA journal_mode = DELETE",
        "PRAGMA journal_mode",
        "PRAGMA main.journal_mode = OFF",
        "PRAGMA locking_mode = NORMAL",
        "PRAGMA synchronous = OFF",
        "PRAGMA max_page_count = 4294967294",
        "PRAGMA mmap_size = 1000000000",
        "PRAGMA cache_size = -1000000",
        "PRAGMA page_size = 512",
        "PRAGMA auto_vacuum = FULL",
        "PRAGMA temp_store = FILE",
        "PRAGMA wal_checkpoint(TRUNCATE)",
        "PRAGMA schema_version = 1",
        "PRAGMA user_version = 1",
        "PRAGMA compile_options",
        "PRAGMA database_list",
        "PRAGMA foreign_keys = maybe",
        "PRAGMA data_version = 1",
        "PRAGMA temp.table_info(users)",
        "SELECT * FROM pragma_journal_mode",
        "SELECT * FROM pragma_compile_options",
    ] {
        assert_denied(&mut db, sql);
    }
    // The size limit and journal are untouched.
    let size = db.with_trusted_connection(|c| {
        c.query_row("PRAGMA max_page_count", [], |r| r.get::<_, i64>(0))
            .unwrap()
    });
    assert_eq!(
        size,
        i64::try_from(max_page_count(DEFAULT_MAX_SIZE_BYTES)).unwrap()
    );
}

#[test]
fn harmless_pragmas_are_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = fixture(&dir);
    exec(
        &mut db,
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, user INTEGER REFERENCES users (id));
         CREATE INDEX posts_user ON posts (user);",
    );
    let r = exec(&mut db, "PRAGMA table_info(users)");
    assert_eq!(
        r.columns,
        ["cid", "name", "type", "notnull", "dflt_value", "pk"]
    );
    assert_eq!(r.rows.len(), 2);
    assert_eq!(exec(&mut db, "PRAGMA table_xinfo('users')").rows.len(), 2);
    assert_eq!(
        exec(&mut db, "SELECT name FROM pragma_table_info('users')")
            .rows
            .len(),
        2
    );
    assert_eq!(exec(&mut db, "PRAGMA index_list(posts)").rows.len(), 1);
    assert_eq!(exec(&mut db, "PRAGMA index_info(posts_user)").rows.len(), 1);
    assert_eq!(
        exec(&mut db, "PRAGMA index_xinfo(posts_user)").rows.len(),
        2
    );
    assert_eq!(
        exec(&mut db, "PRAGMA foreign_key_list(posts)").rows.len(),
        1
    );
    assert!(exec(&mut db, "PRAGMA foreign_key_check").rows.is_empty());
    assert!(
        exec(&mut db, "PRAGMA foreign_key_check(posts)")
            .rows
            .is_empty()
    );
    assert_eq!(exec(&mut db, "PRAGMA quick_check").rows, [vec![text("ok")]]);
    assert_eq!(
        exec(&mut db, "PRAGMA quick_check(10)").rows,
        [vec![text("ok")]]
    );
    assert_eq!(
        exec(&mut db, "PRAGMA integrity_check").rows,
        [vec![text("ok")]]
    );
    assert_eq!(
        exec(&mut db, "PRAGMA integrity_check(users)").rows,
        [vec![text("ok")]]
    );
    exec(&mut db, "PRAGMA data_version");
    exec(&mut db, "PRAGMA optimize");
    exec(&mut db, "PRAGMA optimize = 0x10002");
    for pragma in [
        "foreign_keys",
        "defer_foreign_keys",
        "case_sensitive_like",
        "ignore_check_constraints",
        "legacy_alter_table",
        "recursive_triggers",
        "reverse_unordered_selects",
    ] {
        exec(&mut db, &format!("PRAGMA {pragma}"));
        exec(&mut db, &format!("PRAGMA {pragma} = ON"));
        exec(&mut db, &format!("PRAGMA {pragma} = false"));
    }
    exec(&mut db, "PRAGMA foreign_keys = ON");
    exec(&mut db, "PRAGMA Foreign_Keys");
    // `optimize` ran ANALYZE.
    exec(
        &mut db,
        "DROP TABLE posts; DROP TABLE IF EXISTS sqlite_stat1; DROP TABLE IF EXISTS sqlite_stat4",
    );
    assert_intact(&mut db, "pragmas");
}

#[test]
fn dangerous_functions_and_virtual_tables_are_denied_but_fts5_works() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = fixture(&dir);
    for sql in [
        "SELECT load_extension('x')",
        "SELECT load_extension('/tmp/evil.so', 'init')",
        "SELECT LOAD_EXTENSION('x')",
        "SELECT fts3_tokenizer('simple')",
        "CREATE VIRTUAL TABLE r USING rtree (id, minx, maxx)",
        "CREATE VIRTUAL TABLE f4 USING fts4 (body)",
        "CREATE VIRTUAL TABLE f3 USING fts3 (body)",
        "SELECT * FROM dbstat",
        "SELECT name, pgsize FROM dbstat WHERE name = '__cf_kv'",
        "CREATE TEMP TABLE scratch (x)",
        "CREATE TEMP VIEW scratch AS SELECT 1",
        "CREATE TRIGGER temp.tr AFTER INSERT ON users BEGIN SELECT 1; END",
    ] {
        assert_denied(&mut db, sql);
    }

    exec(
        &mut db,
        "CREATE VIRTUAL TABLE docs USING fts5 (title, body);
         INSERT INTO docs VALUES ('one', 'the quick brown fox'), ('two', 'lazy dogs sleep');",
    );
    let r = exec(
        &mut db,
        "SELECT title, highlight(docs, 1, '[', ']') FROM docs WHERE docs MATCH 'quick' \
         ORDER BY bm25(docs)",
    );
    assert_eq!(r.rows, [vec![text("one"), text("the [quick] brown fox")]]);
    exec(
        &mut db,
        "CREATE VIRTUAL TABLE docs_vocab USING fts5vocab (docs, row)",
    );
    assert!(!exec(&mut db, "SELECT * FROM docs_vocab").rows.is_empty());
    // FTS5's shadow tables are there, but read-only to SQL in defensive mode.
    let err = exec_err(&mut db, "DELETE FROM docs_data");
    assert!(err.contains("may not be modified"), "{err}");
    exec(&mut db, "DROP TABLE docs_vocab; DROP TABLE docs");
    assert_intact(&mut db, "fts5");

    // Ordinary functions work.
    let r = exec(
        &mut db,
        "SELECT json_extract('{\"a\": [1, 2]}', '$.a[1]'), upper('x'), length(randomblob(4)), \
         abs(-3), date('2024-01-02'), sqlite_version() IS NOT NULL",
    );
    assert_eq!(
        r.rows,
        [vec![
            int(2),
            text("X"),
            int(4),
            int(3),
            text("2024-01-02"),
            int(1)
        ]]
    );
}

#[test]
fn the_schema_table_cannot_be_written_directly() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = fixture(&dir);
    for sql in [
        "INSERT INTO sqlite_master VALUES ('table', 'x', 'x', 0, 'CREATE TABLE x (a)')",
        "UPDATE sqlite_master SET sql = 'CREATE TABLE users (x)' WHERE name = 'users'",
        "DELETE FROM sqlite_schema WHERE name = '__cf_kv'",
        "DROP TABLE sqlite_master",
    ] {
        let err = exec_err(&mut db, sql);
        assert!(
            err.contains("may not be modified")
                || err.contains("may not be dropped")
                || err.contains("not authorized"),
            "{sql}: {err}"
        );
        assert_intact(&mut db, sql);
    }
}

#[test]
fn transaction_statements_point_to_the_transaction_api() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = fixture(&dir);
    let expected = "cannot start a transaction within a SQL query; use \
                    ctx.storage.transactionSync() or transaction() instead: SQLITE_AUTH";
    for sql in [
        "BEGIN",
        "BEGIN TRANSACTION",
        "BEGIN IMMEDIATE",
        "begin exclusive;",
        "COMMIT",
        "END",
        "ROLLBACK",
        "SAVEPOINT sp",
        "RELEASE sp",
        "RELEASE SAVEPOINT sp",
        "ROLLBACK TO sp",
        "SELECT 1; BEGIN; SELECT 2",
        "INSERT INTO users (name) VALUES ('eve'); COMMIT",
        // The host's own statement text, with its tag.
        internal_sql!("BEGIN"),
        internal_sql!("SAVEPOINT facets_tx_1"),
    ] {
        let err = db.sql_exec(sql, &[], MAX).unwrap_err();
        assert_eq!(err.to_string(), expected, "{sql}");
        assert!(err.sqlite().unwrap().is(ffi::SQLITE_AUTH));
    }
    // Also inside an event: the event's transaction is unaffected.
    db.begin_event().unwrap();
    db.kv_put("in-event", b"1").unwrap();
    assert_eq!(exec_err(&mut db, "COMMIT"), expected);
    assert_eq!(exec_err(&mut db, "ROLLBACK"), expected);
    db.rollback_event().unwrap();
    assert_eq!(db.kv_get("in-event").unwrap(), None);
    // One INSERT above ran before the COMMIT was refused.
    exec(&mut db, "DELETE FROM users WHERE name = 'eve'");
    assert_intact(&mut db, "transaction statements");
    // Other denials keep SQLite's message.
    assert_eq!(
        exec_err(&mut db, "DELETE FROM __cf_kv"),
        "not authorized: SQLITE_AUTH"
    );
    assert_eq!(
        exec_err(&mut db, "SELECT * FROM __cf_kv"),
        "access to __cf_kv.key is prohibited: SQLITE_AUTH"
    );
}

#[test]
fn user_sql_never_reuses_the_hosts_trusted_statements() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = fixture(&dir);
    // The host prepared (and cached) these while trusted.
    db.kv_get("k").unwrap();
    db.kv_list(&KvListOptions::default()).unwrap();
    for sql in [
        internal_sql!("SELECT value FROM __cf_kv WHERE key = ?1"),
        internal_sql!("DELETE FROM __cf_kv WHERE key = ?1"),
    ] {
        let err = db.sql_exec(sql, &[text("k")], MAX).unwrap_err().to_string();
        assert!(is_denial(&err), "{sql}: {err}");
    }
    let err = db
        .sql_exec(
            internal_sql!("SELECT key, value FROM __cf_kv ORDER BY key LIMIT ?"),
            &[int(-1)],
            MAX,
        )
        .unwrap_err()
        .to_string();
    assert!(is_denial(&err), "{err}");
    assert_intact(&mut db, "host statement texts");
    assert!(INTERNAL_SQL_TAG.len() > 2 && internal_sql!("X").starts_with(INTERNAL_SQL_TAG));
}

#[test]
fn allowed_schema_changes_work_under_the_authorizer() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = fixture(&dir);
    exec(
        &mut db,
        "CREATE TABLE a (x INTEGER, y TEXT);
         CREATE INDEX a_x ON a (x);
         CREATE UNIQUE INDEX a_y ON a (y);
         CREATE VIEW a_view AS SELECT x FROM a;
         CREATE TRIGGER a_trig AFTER INSERT ON a BEGIN UPDATE a SET y = y || '!' WHERE rowid = new.rowid; END;
         INSERT INTO a VALUES (1, 'one');
         ALTER TABLE a ADD COLUMN z DEFAULT 3;
         ALTER TABLE a RENAME COLUMN y TO label;
         ALTER TABLE a RENAME TO b;
         ALTER TABLE b DROP COLUMN z;
         REINDEX a_x;
         ANALYZE;
         DROP INDEX a_x;",
    );
    let r = exec(&mut db, "SELECT x, label FROM b");
    assert_eq!(r.rows, [vec![int(1), text("one!")]]);
    let r = exec(
        &mut db,
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) \
         SELECT sum(i) FROM n",
    );
    assert_eq!(r.rows, [vec![int(15)]]);
    exec(
        &mut db,
        "DROP VIEW a_view; DROP TABLE b; DROP TABLE sqlite_stat1; DROP TABLE sqlite_stat4",
    );
    assert_intact(&mut db, "schema changes");
}

#[test]
fn kv_methods_work_between_and_during_user_sql() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = fixture(&dir);
    db.begin_event().unwrap();
    db.kv_put("a", b"1").unwrap();
    exec(&mut db, "INSERT INTO users (name) VALUES ('cy')");
    assert!(is_denial(&exec_err(&mut db, "SELECT * FROM __cf_kv")));
    db.kv_put("b", b"2").unwrap();
    assert_eq!(db.kv_list(&KvListOptions::default()).unwrap().len(), 3);
    assert!(db.kv_delete("a").unwrap());
    assert!(db.database_size().unwrap() > 0);
    db.commit_event().unwrap();
    assert_eq!(db.kv_get("b").unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(
        exec(&mut db, "SELECT count(*) FROM users").rows,
        [vec![int(3)]]
    );
}

// ---------------------------------------------------------------------------------------
// Limits

#[test]
fn each_limit_trips_with_sqlites_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = fixture(&dir);
    let repeat = |item: &str, n: usize, sep: &str| vec![item; n].join(sep);
    let cases: Vec<(String, Vec<SqlValue>, &str)> = vec![
        // SQLITE_LIMIT_LENGTH: 2,000,000 bytes.
        (
            "SELECT zeroblob(2000001)".into(),
            vec![],
            "string or blob too big: SQLITE_TOOBIG",
        ),
        (
            "SELECT length(?)".into(),
            vec![SqlValue::Blob(vec![0; 2_000_001])],
            "string or blob too big: SQLITE_TOOBIG",
        ),
        (
            "SELECT ?".into(),
            vec![SqlValue::Text("x".repeat(2_000_001))],
            "string or blob too big: SQLITE_TOOBIG",
        ),
        // SQLITE_LIMIT_SQL_LENGTH: 100,000 bytes, also across statements.
        (
            format!("SELECT '{}'", "x".repeat(100_000)),
            vec![],
            "statement too long: SQLITE_TOOBIG",
        ),
        (
            repeat("SELECT 1;", 11_200, ""),
            vec![],
            "statement too long: SQLITE_TOOBIG",
        ),
        // SQLITE_LIMIT_COLUMN: 100.
        (
            format!(
                "CREATE TABLE wide ({})",
                (0..101)
                    .map(|i| format!("c{i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            vec![],
            "too many columns on wide: SQLITE_ERROR",
        ),
        (
            format!("SELECT {}", repeat("1", 101, ", ")),
            vec![],
            "too many columns in result set: SQLITE_ERROR",
        ),
        // SQLITE_LIMIT_EXPR_DEPTH: 100.
        (
            format!("SELECT {}1", "1 + ".repeat(100)),
            vec![],
            "Expression tree is too large (maximum depth 100): SQLITE_ERROR",
        ),
        // SQLITE_LIMIT_COMPOUND_SELECT: 5.
        (
            repeat("SELECT 1", 6, " UNION ALL "),
            vec![],
            "too many terms in compound SELECT: SQLITE_ERROR",
        ),
        // SQLITE_LIMIT_FUNCTION_ARG: 32.
        (
            format!("SELECT max({})", repeat("1", 33, ", ")),
            vec![],
            "too many arguments on function max: SQLITE_ERROR",
        ),
        // SQLITE_LIMIT_LIKE_PATTERN_LENGTH: 50.
        (
            format!("SELECT 'a' LIKE '{}'", "a".repeat(51)),
            vec![],
            "LIKE or GLOB pattern too complex: SQLITE_ERROR",
        ),
        // SQLITE_LIMIT_VARIABLE_NUMBER: 100.
        (
            format!("SELECT {}", repeat("?", 101, ", ")),
            vec![SqlValue::Null; 101],
            "too many SQL variables: SQLITE_ERROR",
        ),
        (
            "SELECT ?101".into(),
            vec![SqlValue::Null; 101],
            "variable number must be between ?1 and ?100: SQLITE_ERROR",
        ),
    ];
    for (sql, bindings, expected) in &cases {
        let err = db.sql_exec(sql, bindings, MAX).unwrap_err().to_string();
        // SQLite adds the position of some parse errors.
        let without_offset = match err.find(" at offset ") {
            Some(i) => format!("{}{}", &err[..i], &err[err.rfind(": ").unwrap()..]),
            None => err.clone(),
        };
        assert_eq!(
            without_offset,
            *expected,
            "{}…: {err}",
            &sql[..sql.len().min(60)]
        );
    }
    assert_intact(&mut db, "limits");

    // Just under the limits is fine.
    exec(&mut db, "SELECT length(zeroblob(2000000))");
    exec(&mut db, &repeat("SELECT 1", 5, " UNION ALL "));
    exec(&mut db, &format!("SELECT max({})", repeat("1", 32, ", ")));
    exec(&mut db, &format!("SELECT 'a' LIKE '{}'", "a".repeat(50)));
    db.sql_exec(
        &format!("SELECT {}", repeat("?", 100, ", ")),
        &vec![int(1); 100],
        MAX,
    )
    .unwrap();

    // SQLITE_LIMIT_TRIGGER_DEPTH: 10.
    exec(
        &mut db,
        "PRAGMA recursive_triggers = ON;
         CREATE TABLE chain (n INTEGER);
         CREATE TRIGGER more AFTER INSERT ON chain WHEN new.n < 100
         BEGIN INSERT INTO chain VALUES (new.n + 1); END;",
    );
    assert_eq!(
        exec_err(&mut db, "INSERT INTO chain VALUES (1)"),
        "triggers nested too deep: SQLITE_ERROR"
    );
    exec(&mut db, "INSERT INTO chain VALUES (95)");
    assert_eq!(
        exec(&mut db, "SELECT count(*) FROM chain").rows,
        [vec![int(6)]]
    );

    // The KV API is bound by the length limit too.
    let err = db.kv_put("big", &vec![0; 2_000_001]).unwrap_err();
    assert_eq!(err.to_string(), "string or blob too big: SQLITE_TOOBIG");
}

// ---------------------------------------------------------------------------------------
// Transactions

fn names(db: &mut Database) -> Vec<String> {
    exec(db, "SELECT name FROM items ORDER BY name")
        .rows
        .into_iter()
        .map(|row| match &row[0] {
            SqlValue::Text(t) => t.clone(),
            other => panic!("{other:?}"),
        })
        .collect()
}

fn insert(db: &mut Database, name: &str) {
    db.sql_exec("INSERT INTO items VALUES (?)", &[text(name)], MAX)
        .unwrap();
}

#[test]
fn nested_transactions_outside_an_event() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let mut db = Database::open(&path, &StorageOptions::default()).unwrap();
    exec(&mut db, "CREATE TABLE items (name TEXT)");

    db.transaction_begin().unwrap();
    assert_eq!(db.transaction_depth(), 1);
    insert(&mut db, "a");
    db.kv_put("ka", b"1").unwrap();
    db.transaction_begin().unwrap();
    insert(&mut db, "b");
    db.kv_put("kb", b"2").unwrap();
    db.transaction_begin().unwrap();
    insert(&mut db, "c");
    assert_eq!(db.transaction_depth(), 3);
    db.transaction_commit().unwrap(); // c joins b's transaction
    db.transaction_rollback().unwrap(); // b and c are gone
    assert_eq!(names(&mut db), ["a"]);
    assert_eq!(db.kv_get("kb").unwrap(), None);
    db.transaction_commit().unwrap();
    assert_eq!(db.transaction_depth(), 0);
    db.close().unwrap();

    let mut db = Database::open(&path, &StorageOptions::default()).unwrap();
    assert_eq!(names(&mut db), ["a"]);
    assert_eq!(db.kv_get("ka").unwrap().as_deref(), Some(&b"1"[..]));

    // A rolled-back outermost transaction leaves nothing.
    db.transaction_begin().unwrap();
    insert(&mut db, "z");
    db.transaction_rollback().unwrap();
    assert_eq!(names(&mut db), ["a"]);
    // An event cannot start while one is open.
    db.transaction_begin().unwrap();
    assert_eq!(
        db.begin_event().unwrap_err().to_string(),
        "cannot begin an event: a transaction (transactionSync) is still open"
    );
    db.transaction_commit().unwrap();
    db.begin_event().unwrap();
    db.commit_event().unwrap();
}

#[test]
fn nested_transactions_inside_an_event() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    exec(&mut db, "CREATE TABLE items (name TEXT)");

    db.begin_event().unwrap();
    insert(&mut db, "event");
    db.transaction_begin().unwrap();
    insert(&mut db, "outer");
    db.transaction_begin().unwrap();
    insert(&mut db, "inner");
    db.transaction_rollback().unwrap();
    // The rollback of the inner one keeps the outer one's earlier writes.
    assert_eq!(names(&mut db), ["event", "outer"]);
    db.transaction_begin().unwrap();
    insert(&mut db, "inner2");
    db.transaction_commit().unwrap();
    db.transaction_commit().unwrap();
    db.commit_event().unwrap();
    assert_eq!(names(&mut db), ["event", "inner2", "outer"]);

    // Rolling back the event discards committed nested transactions too.
    db.begin_event().unwrap();
    db.transaction_begin().unwrap();
    insert(&mut db, "gone");
    db.transaction_commit().unwrap();
    db.rollback_event().unwrap();
    assert_eq!(names(&mut db), ["event", "inner2", "outer"]);

    // Savepoints left open when the event ends are ended with it.
    db.begin_event().unwrap();
    db.transaction_begin().unwrap();
    insert(&mut db, "kept");
    db.commit_event().unwrap();
    assert_eq!(db.transaction_depth(), 0);
    assert_eq!(names(&mut db), ["event", "inner2", "kept", "outer"]);

    // A failing statement inside a transaction leaves the transaction usable.
    db.begin_event().unwrap();
    db.transaction_begin().unwrap();
    insert(&mut db, "before-error");
    assert!(exec_err(&mut db, "INSERT INTO nowhere VALUES (1)").starts_with("no such table"));
    db.transaction_commit().unwrap();
    db.commit_event().unwrap();
    assert!(names(&mut db).contains(&"before-error".to_owned()));
}

#[test]
fn transaction_calls_out_of_order_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    assert_eq!(
        db.transaction_commit().unwrap_err().to_string(),
        "cannot commit a transaction: no transaction is open"
    );
    assert_eq!(
        db.transaction_rollback().unwrap_err().to_string(),
        "cannot roll back a transaction: no transaction is open"
    );
    db.begin_event().unwrap();
    assert!(matches!(
        db.transaction_commit(),
        Err(StorageError::NoTransaction { .. })
    ));
    db.commit_event().unwrap();
}

#[test]
fn a_failed_final_commit_rolls_the_transaction_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    exec(
        &mut db,
        "CREATE TABLE p (id INTEGER PRIMARY KEY);
         CREATE TABLE c (p INTEGER REFERENCES p (id) DEFERRABLE INITIALLY DEFERRED);",
    );
    db.transaction_begin().unwrap();
    exec(&mut db, "INSERT INTO c VALUES (42)");
    let err = db.transaction_commit().unwrap_err();
    assert_eq!(
        err.to_string(),
        "FOREIGN KEY constraint failed: SQLITE_CONSTRAINT"
    );
    assert_eq!(db.transaction_depth(), 0);
    assert_eq!(exec(&mut db, "SELECT count(*) FROM c").rows, [vec![int(0)]]);
    // The connection is out of any transaction: an event can start.
    db.begin_event().unwrap();
    db.commit_event().unwrap();
}

// ---------------------------------------------------------------------------------------
// Size quota

#[test]
fn the_size_limit_holds_for_sql_writes() {
    let dir = tempfile::tempdir().unwrap();
    let opts = StorageOptions {
        max_size_bytes: 64 * 1024,
        ..Default::default()
    };
    let mut db = Database::open(&dir.path().join("db.sqlite"), &opts).unwrap();
    db.kv_put("k", b"v").unwrap();
    exec(&mut db, "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)");
    let blob = SqlValue::Blob(vec![7; 3000]);
    let mut stored = 0;
    let err = loop {
        match db.sql_exec(
            "INSERT INTO t (b) VALUES (?)",
            std::slice::from_ref(&blob),
            MAX,
        ) {
            Ok(_) => stored += 1,
            Err(err) => break err,
        }
        assert!(stored < 1000, "the limit was never reached");
    };
    assert!(stored > 0);
    assert_eq!(err.to_string(), "database or disk is full: SQLITE_FULL");
    assert!(db.database_size().unwrap() <= 64 * 1024);
    // zeroblob cannot get around it either.
    assert_eq!(
        exec_err(&mut db, "INSERT INTO t (b) VALUES (zeroblob(1000000))"),
        "database or disk is full: SQLITE_FULL"
    );

    // Reads and deletes still work, and the freed space can be reused.
    assert_eq!(
        exec(&mut db, "SELECT count(*) FROM t").rows,
        [vec![int(stored)]]
    );
    assert_eq!(db.kv_get("k").unwrap().as_deref(), Some(&b"v"[..]));
    let r = exec(&mut db, "DELETE FROM t WHERE id <= 5");
    assert_eq!(r.rows_written, 5);
    db.sql_exec("INSERT INTO t (b) VALUES (?)", &[blob], MAX)
        .unwrap();
}

// ---------------------------------------------------------------------------------------
// deleteAll

/// Fills the database with one of each kind of object.
fn populate(db: &mut Database) {
    exec(
        db,
        "CREATE TABLE parent (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);
         CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent (id));
         CREATE TABLE \"odd \"\"name\"\"\" (x);
         CREATE INDEX child_parent ON child (parent);
         CREATE VIEW names AS SELECT name FROM parent;
         CREATE TRIGGER parent_ins AFTER INSERT ON parent BEGIN SELECT 1; END;
         CREATE VIRTUAL TABLE search USING fts5 (body);
         INSERT INTO parent (name) VALUES ('a'), ('b');
         INSERT INTO child (parent) VALUES (1), (2);
         INSERT INTO search VALUES ('hello world');
         ANALYZE;",
    );
    db.kv_put("k1", b"1").unwrap();
    db.kv_put("k2", b"2").unwrap();
}

fn schema(db: &mut Database) -> Vec<String> {
    exec(
        db,
        "SELECT type || ' ' || name FROM sqlite_master ORDER BY 1",
    )
    .rows
    .into_iter()
    .map(|row| match &row[0] {
        SqlValue::Text(t) => t.clone(),
        other => panic!("{other:?}"),
    })
    .collect()
}

#[test]
fn delete_all_leaves_an_empty_usable_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let mut db = Database::open(&path, &StorageOptions::default()).unwrap();
    let empty_schema = schema(&mut db);
    assert_eq!(empty_schema, ["table __cf_kv"]);
    populate(&mut db);
    assert!(schema(&mut db).len() > 10);

    db.delete_all().unwrap();
    assert_eq!(schema(&mut db), ["table __cf_kv", "table sqlite_sequence"]);
    assert_eq!(
        exec(&mut db, "SELECT count(*) FROM sqlite_sequence").rows,
        [vec![int(0)]]
    );
    assert!(db.kv_list(&KvListOptions::default()).unwrap().is_empty());

    // Usable again: same names, AUTOINCREMENT restarts, KV works.
    populate(&mut db);
    assert_eq!(
        exec(&mut db, "SELECT id FROM parent ORDER BY id").rows,
        [vec![int(1)], vec![int(2)]]
    );
    assert_eq!(db.kv_get("k1").unwrap().as_deref(), Some(&b"1"[..]));
    db.close().unwrap();

    // And on a database with nothing in it.
    let mut db = Database::open(&path, &StorageOptions::default()).unwrap();
    db.delete_all().unwrap();
    db.delete_all().unwrap();
    db.kv_put("after", b"x").unwrap();
    assert_eq!(db.kv_get("after").unwrap().as_deref(), Some(&b"x"[..]));
}

#[test]
fn delete_all_is_part_of_the_events_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    populate(&mut db);
    let before = schema(&mut db);

    db.begin_event().unwrap();
    db.delete_all().unwrap();
    assert_eq!(schema(&mut db), ["table __cf_kv", "table sqlite_sequence"]);
    db.rollback_event().unwrap();
    assert_eq!(schema(&mut db), before);
    assert_eq!(db.kv_get("k2").unwrap().as_deref(), Some(&b"2"[..]));

    db.begin_event().unwrap();
    db.delete_all().unwrap();
    db.kv_put("new", b"n").unwrap();
    exec(&mut db, "CREATE TABLE fresh (x)");
    db.commit_event().unwrap();
    assert_eq!(
        schema(&mut db),
        ["table __cf_kv", "table fresh", "table sqlite_sequence"]
    );
    assert_eq!(db.kv_list(&KvListOptions::default()).unwrap().len(), 1);
    // Deferred foreign key checks were switched back off.
    assert_eq!(
        exec(&mut db, "PRAGMA defer_foreign_keys").rows,
        [vec![int(0)]]
    );
}

#[test]
fn delete_all_inside_a_nested_transaction_can_be_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    populate(&mut db);
    let before = schema(&mut db);
    db.begin_event().unwrap();
    db.transaction_begin().unwrap();
    db.delete_all().unwrap();
    db.transaction_rollback().unwrap();
    db.commit_event().unwrap();
    assert_eq!(schema(&mut db), before);
    assert_eq!(db.kv_list(&KvListOptions::default()).unwrap().len(), 2);
}

#[test]
fn delete_all_works_with_foreign_keys_off_and_in_cycles() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    exec(
        &mut db,
        "CREATE TABLE a (id INTEGER PRIMARY KEY, b INTEGER REFERENCES b (id));
         CREATE TABLE b (id INTEGER PRIMARY KEY, a INTEGER REFERENCES a (id));
         PRAGMA defer_foreign_keys = ON;
         INSERT INTO a VALUES (1, NULL);
         INSERT INTO b VALUES (1, 1);
         UPDATE a SET b = 1;",
    );
    db.delete_all().unwrap();
    assert_eq!(schema(&mut db), ["table __cf_kv"]);
    exec(
        &mut db,
        "PRAGMA foreign_keys = OFF; CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (p REFERENCES p (id)); INSERT INTO c VALUES (5)",
    );
    db.delete_all().unwrap();
    assert_eq!(schema(&mut db), ["table __cf_kv"]);
    exec(&mut db, "PRAGMA foreign_keys = ON");
}

#[test]
fn after_sqlite_rolls_back_the_event_writes_fail_and_reads_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let opts = StorageOptions {
        max_size_bytes: 64 * 1024,
        ..Default::default()
    };
    let mut db = Database::open(&dir.path().join("db.sqlite"), &opts).unwrap();
    exec(
        &mut db,
        "CREATE TABLE t (b BLOB); INSERT INTO t VALUES (x'01')",
    );
    db.kv_put("k", b"v").unwrap();

    db.begin_event().unwrap();
    exec(&mut db, "INSERT INTO t VALUES (x'02')");
    db.transaction_begin().unwrap();
    // A single-row write over the limit: SQLite rolls back the whole transaction.
    assert_eq!(
        exec_err(&mut db, "INSERT INTO t VALUES (zeroblob(200000))"),
        "database or disk is full: SQLITE_FULL"
    );
    let aborted = "the event's writes were discarded: SQLite rolled back its transaction \
                   after an earlier error";
    // Reads go on, and see what is committed.
    assert_eq!(exec(&mut db, "SELECT count(*) FROM t").rows, [vec![int(1)]]);
    assert_eq!(db.kv_get("k").unwrap().as_deref(), Some(&b"v"[..]));
    // Writes would commit by themselves, outside the event: refused.
    assert_eq!(exec_err(&mut db, "DELETE FROM t"), aborted);
    assert_eq!(
        exec_err(&mut db, "SELECT 1; INSERT INTO t VALUES (x'03')"),
        aborted
    );
    assert_eq!(db.kv_put("k2", b"w").unwrap_err().to_string(), aborted);
    assert_eq!(db.kv_delete("k").unwrap_err().to_string(), aborted);
    assert_eq!(db.delete_all().unwrap_err().to_string(), aborted);
    assert_eq!(db.transaction_begin().unwrap_err().to_string(), aborted);
    // The savepoint went with it.
    db.transaction_rollback().unwrap();
    assert!(matches!(db.commit_event(), Err(StorageError::EventAborted)));

    // The next event starts afresh; deletes make room.
    db.begin_event().unwrap();
    assert_eq!(exec(&mut db, "DELETE FROM t").rows_written, 1);
    db.kv_put("k2", b"w").unwrap();
    db.commit_event().unwrap();
    assert_eq!(db.kv_list(&KvListOptions::default()).unwrap().len(), 2);

    // The same for a transaction opened outside an event.
    db.transaction_begin().unwrap();
    assert_eq!(
        exec_err(&mut db, "INSERT INTO t VALUES (zeroblob(200000))"),
        "database or disk is full: SQLITE_FULL"
    );
    assert_eq!(
        db.kv_put("k3", b"x").unwrap_err().to_string(),
        "the transaction's writes were discarded: SQLite rolled back the enclosing \
         transaction after an earlier error"
    );
    assert!(matches!(
        db.transaction_commit(),
        Err(StorageError::TransactionAborted)
    ));
    db.kv_put("k3", b"x").unwrap();
}
