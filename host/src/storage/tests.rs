//! Tests on real SQLite files in temporary directories.

use super::*;

fn open(dir: &tempfile::TempDir) -> Database {
    Database::open(&dir.path().join("db.sqlite"), &StorageOptions::default()).unwrap()
}

fn keys(entries: &[(String, Vec<u8>)]) -> Vec<&str> {
    entries.iter().map(|(k, _)| k.as_str()).collect()
}

fn list(db: &mut Database, opts: KvListOptions) -> Vec<String> {
    keys(&db.kv_list(&opts).unwrap())
        .into_iter()
        .map(str::to_owned)
        .collect()
}

fn fill(db: &mut Database, keys: &[&str]) {
    for k in keys {
        db.kv_put(k, k.as_bytes()).unwrap();
    }
}

#[test]
fn kv_put_get_delete_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    assert_eq!(db.kv_get("a").unwrap(), None);
    db.kv_put("a", b"one").unwrap();
    assert_eq!(db.kv_get("a").unwrap().as_deref(), Some(&b"one"[..]));
    db.kv_put("a", b"two").unwrap();
    assert_eq!(db.kv_get("a").unwrap().as_deref(), Some(&b"two"[..]));
    db.kv_put("empty", b"").unwrap();
    assert_eq!(db.kv_get("empty").unwrap().as_deref(), Some(&b""[..]));
    assert!(db.kv_delete("a").unwrap());
    assert!(!db.kv_delete("a").unwrap());
    assert_eq!(db.kv_get("a").unwrap(), None);
    // Keys are exact: NUL and case matter.
    db.kv_put("k\0x", b"nul").unwrap();
    assert_eq!(db.kv_get("k").unwrap(), None);
    assert_eq!(db.kv_get("K\0x").unwrap(), None);
    assert_eq!(db.kv_get("k\0x").unwrap().as_deref(), Some(&b"nul"[..]));
}

#[test]
fn kv_list_returns_keys_in_utf8_byte_order_with_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    // Byte order: "B" < "a" < "z" < "é" (C3 A9) < "中" (E4 B8 AD) < "😀" (F0 9F 98 80).
    // U+FFFF (EF BF BF) sorts before U+10000 (F0 90 80 80) in bytes, unlike UTF-16.
    fill(
        &mut db,
        &[
            "😀",
            "z",
            "é",
            "a",
            "中",
            "B",
            "\u{FFFF}",
            "\u{10000}",
            "a\0",
            "",
        ],
    );
    let all = db.kv_list(&KvListOptions::default()).unwrap();
    assert_eq!(
        keys(&all),
        [
            "",
            "B",
            "a",
            "a\0",
            "z",
            "é",
            "中",
            "\u{FFFF}",
            "\u{10000}",
            "😀"
        ]
    );
    assert!(all.iter().all(|(k, v)| k.as_bytes() == v.as_slice()));
}

#[test]
fn kv_list_applies_each_option() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    fill(&mut db, &["a", "b", "ba", "bb", "bc", "c", "d"]);
    let o = KvListOptions::default;
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                prefix: s("b"),
                ..o()
            }
        ),
        ["b", "ba", "bb", "bc"]
    );
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                prefix: s("bb"),
                ..o()
            }
        ),
        ["bb"]
    );
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                prefix: s("x"),
                ..o()
            }
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                prefix: s(""),
                ..o()
            }
        )
        .len(),
        7
    );
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                start: s("bb"),
                ..o()
            }
        ),
        ["bb", "bc", "c", "d"]
    );
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                start: s("bbb"),
                ..o()
            }
        ),
        ["bc", "c", "d"]
    );
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                start_after: s("bb"),
                ..o()
            }
        ),
        ["bc", "c", "d"]
    );
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                end: s("bb"),
                ..o()
            }
        ),
        ["a", "b", "ba"]
    );
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                reverse: true,
                ..o()
            }
        ),
        ["d", "c", "bc", "bb", "ba", "b", "a"]
    );
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                limit: Some(2),
                ..o()
            }
        ),
        ["a", "b"]
    );
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                limit: Some(0),
                ..o()
            }
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                limit: Some(100),
                ..o()
            }
        )
        .len(),
        7
    );
}

#[test]
fn kv_list_options_compose() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    fill(&mut db, &["a", "b", "ba", "bb", "bc", "bd", "c", "d"]);
    let o = KvListOptions::default;
    let s = |v: &str| Some(v.to_owned());
    // prefix + start + reverse + limit: the largest keys first, start still the smallest.
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                prefix: s("b"),
                start: s("bb"),
                reverse: true,
                limit: Some(2),
                ..o()
            }
        ),
        ["bd", "bc"]
    );
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                prefix: s("b"),
                start: s("bb"),
                reverse: true,
                limit: Some(10),
                ..o()
            }
        ),
        ["bd", "bc", "bb"]
    );
    // A start below the prefix does not widen it; a start above narrows it.
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                prefix: s("b"),
                start: s("a"),
                ..o()
            }
        ),
        ["b", "ba", "bb", "bc", "bd"]
    );
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                prefix: s("b"),
                start: s("c"),
                ..o()
            }
        ),
        Vec::<String>::new()
    );
    // prefix + end, either bound tighter.
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                prefix: s("b"),
                end: s("bc"),
                ..o()
            }
        ),
        ["b", "ba", "bb"]
    );
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                prefix: s("b"),
                end: s("z"),
                ..o()
            }
        ),
        ["b", "ba", "bb", "bc", "bd"]
    );
    // start + end, start_after + end, reversed, limited.
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                start: s("ba"),
                end: s("c"),
                ..o()
            }
        ),
        ["ba", "bb", "bc", "bd"]
    );
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                start_after: s("ba"),
                end: s("c"),
                reverse: true,
                limit: Some(2),
                ..o()
            }
        ),
        ["bd", "bc"]
    );
    // start and start_after together: the tighter wins, ties go to the exclusive bound.
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                start: s("bb"),
                start_after: s("bb"),
                ..o()
            }
        ),
        ["bc", "bd", "c", "d"]
    );
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                start: s("bc"),
                start_after: s("bb"),
                ..o()
            }
        ),
        ["bc", "bd", "c", "d"]
    );
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                start: s("ba"),
                start_after: s("bb"),
                ..o()
            }
        ),
        ["bc", "bd", "c", "d"]
    );
    // Empty ranges.
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                start: s("c"),
                end: s("b"),
                ..o()
            }
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                start: s("b"),
                end: s("b"),
                ..o()
            }
        ),
        Vec::<String>::new()
    );
    // Everything at once.
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                prefix: s("b"),
                start: s("ba"),
                start_after: s("ba"),
                end: s("bd"),
                reverse: true,
                limit: Some(1),
            }
        ),
        ["bc"]
    );
}

#[test]
fn kv_list_prefix_handles_non_ascii_and_the_largest_code_point() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    let max = "\u{10FFFF}";
    fill(
        &mut db,
        &[
            "é",
            "éa",
            "é\u{10FFFF}",
            "ê",
            "\u{10FFFF}",
            "\u{10FFFF}a",
            "\u{10FFFF}\u{10FFFF}",
            "a\u{7F}",
            "a\u{7F}x",
            "a\u{80}",
        ],
    );
    let o = KvListOptions::default;
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                prefix: s("é"),
                ..o()
            }
        ),
        ["é", "éa", "é\u{10FFFF}"]
    );
    // The prefix's successor would be past the end of Unicode: no upper bound.
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                prefix: s(max),
                ..o()
            }
        ),
        [max, "\u{10FFFF}a", "\u{10FFFF}\u{10FFFF}"]
    );
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                prefix: s(max),
                reverse: true,
                limit: Some(1),
                ..o()
            }
        ),
        ["\u{10FFFF}\u{10FFFF}"]
    );
    // The successor of U+007F is U+0080, a two-byte character.
    assert_eq!(
        list(
            &mut db,
            KvListOptions {
                prefix: s("a\u{7F}"),
                ..o()
            }
        ),
        ["a\u{7F}", "a\u{7F}x"]
    );
}

#[test]
fn kv_writes_persist_after_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dirs/db.sqlite");
    let mut db = Database::open(&path, &StorageOptions::default()).unwrap();
    db.kv_put("outside", b"1").unwrap();
    db.begin_event().unwrap();
    db.kv_put("inside", b"2").unwrap();
    db.commit_event().unwrap();
    db.close().unwrap();

    let mut db = Database::open(&path, &StorageOptions::default()).unwrap();
    assert_eq!(db.kv_get("outside").unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(db.kv_get("inside").unwrap().as_deref(), Some(&b"2"[..]));
    drop(db);
    // Dropped without close: still there.
    let mut db = Database::open(
        &path,
        &StorageOptions {
            durability: Durability::Normal,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(db.kv_list(&KvListOptions::default()).unwrap().len(), 2);
}

#[test]
fn open_uses_wal_exclusive_locking_and_the_durability_setting() {
    let dir = tempfile::tempdir().unwrap();
    for (durability, expected) in [(Durability::Full, 2), (Durability::Normal, 1)] {
        let path = dir.path().join(format!("{durability:?}.sqlite"));
        let db = Database::open(
            &path,
            &StorageOptions {
                durability,
                max_size_bytes: 1 << 20,
            },
        )
        .unwrap();
        let pragma = |name: &str| -> String {
            db.with_trusted_connection(|conn| {
                conn.query_row(&format!("PRAGMA {name}"), [], |r| {
                    r.get::<_, rusqlite::types::Value>(0)
                })
            })
            .map(|v| match v {
                rusqlite::types::Value::Text(t) => t,
                rusqlite::types::Value::Integer(i) => i.to_string(),
                other => format!("{other:?}"),
            })
            .unwrap()
        };
        assert_eq!(pragma("journal_mode"), "wal");
        assert_eq!(pragma("locking_mode"), "exclusive");
        assert_eq!(pragma("synchronous"), expected.to_string());
        assert_eq!(pragma("max_page_count"), "256");
        // No shared-memory index with exclusive locking.
        assert!(!path.with_extension("sqlite-shm").exists());
    }
}

#[test]
fn rollback_discards_the_events_writes_and_commit_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    db.kv_put("kept", b"before").unwrap();

    db.begin_event().unwrap();
    assert_eq!(db.event_state(), EventState::Open);
    db.kv_put("kept", b"changed").unwrap();
    db.kv_put("new", b"x").unwrap();
    db.kv_delete("kept").unwrap();
    // The event sees its own writes.
    assert_eq!(db.kv_get("new").unwrap().as_deref(), Some(&b"x"[..]));
    db.rollback_event().unwrap();
    assert_eq!(db.event_state(), EventState::Idle);
    assert_eq!(db.kv_get("kept").unwrap().as_deref(), Some(&b"before"[..]));
    assert_eq!(db.kv_get("new").unwrap(), None);

    db.begin_event().unwrap();
    db.kv_put("new", b"y").unwrap();
    db.commit_event().unwrap();
    assert_eq!(db.kv_get("new").unwrap().as_deref(), Some(&b"y"[..]));
}

#[test]
fn event_calls_out_of_order_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    assert_eq!(
        db.commit_event().unwrap_err().to_string(),
        "cannot commit an event: no event transaction is open"
    );
    assert_eq!(
        db.rollback_event().unwrap_err().to_string(),
        "cannot roll back an event: no event transaction is open"
    );
    db.begin_event().unwrap();
    assert_eq!(
        db.begin_event().unwrap_err().to_string(),
        "cannot begin an event: the previous event's transaction is still open"
    );
    // The first event is still usable.
    db.kv_put("k", b"v").unwrap();
    db.commit_event().unwrap();
    assert_eq!(db.kv_get("k").unwrap().as_deref(), Some(&b"v"[..]));
}

/// Another program's SQLite (its own POSIX locks) is refused the file while
/// facets has it open, as a second facets connection is; it may use it after.
#[test]
fn a_foreign_sqlite_is_refused_the_file_while_it_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let mut db = Database::open(&path, &StorageOptions::default()).unwrap();
    db.kv_put("k", b"v").unwrap();
    let foreign = rusqlite::Connection::open(&path).unwrap();
    foreign.busy_timeout(std::time::Duration::ZERO).unwrap();
    let count = |c: &rusqlite::Connection| c.query_row("SELECT count(*) FROM __cf_kv", [], |r| r.get::<_, i64>(0));
    let err = count(&foreign).unwrap_err();
    assert_eq!(err.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy), "{err}");
    drop(db);
    assert_eq!(count(&foreign).unwrap(), 1);
}

#[test]
fn second_open_of_the_same_file_fails_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let first = Database::open(&path, &StorageOptions::default()).unwrap();
    let started = std::time::Instant::now();
    let err = Database::open(&path, &StorageOptions::default()).unwrap_err();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(1),
        "must not wait for the lock"
    );
    assert!(matches!(err, StorageError::Locked { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "database {} is in use by another process or connection; each database belongs to \
             one facets process: stop the other one, or give this one its own data directory",
            path.display()
        )
    );
    drop(first);

    // Also when the file already existed (WAL mode, table present: the opener writes
    // nothing, yet must hold the lock).
    let first = Database::open(&path, &StorageOptions::default()).unwrap();
    let err = Database::open(&path, &StorageOptions::default()).unwrap_err();
    assert!(matches!(err, StorageError::Locked { .. }), "{err:?}");
    drop(first);
    Database::open(&path, &StorageOptions::default()).unwrap();
}

#[test]
fn size_limit_fails_with_sqlite_full_and_the_database_stays_readable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let opts = StorageOptions {
        max_size_bytes: 64 * 1024,
        ..Default::default()
    };
    let mut db = Database::open(&path, &opts).unwrap();
    let value = vec![7u8; 3000];
    let mut stored = 0;
    let err = loop {
        match db.kv_put(&format!("key{stored:04}"), &value) {
            Ok(()) => stored += 1,
            Err(err) => break err,
        }
        assert!(stored < 1000, "the limit was never reached");
    };
    assert!(stored > 0);
    assert_eq!(err.to_string(), "database or disk is full: SQLITE_FULL");
    let sqlite = err.sqlite().unwrap();
    assert_eq!(sqlite.code, "SQLITE_FULL");
    assert!(sqlite.is(ffi::SQLITE_FULL));
    assert!(db.size_bytes().unwrap() <= 64 * 1024);

    // Readable, and deleting still works.
    assert_eq!(db.kv_get("key0000").unwrap().as_deref(), Some(&value[..]));
    assert_eq!(db.kv_list(&KvListOptions::default()).unwrap().len(), stored);
    assert!(db.kv_delete("key0000").unwrap());

    // Inside an event: the failed write is an error; the event can still be rolled back or
    // committed, and the database is consistent afterwards.
    db.begin_event().unwrap();
    db.kv_put("small", b"s").unwrap();
    let big = vec![1u8; 200 * 1024];
    let err = db.kv_put("big", &big).unwrap_err();
    assert_eq!(err.to_string(), "database or disk is full: SQLITE_FULL");
    match db.commit_event() {
        Ok(()) => assert_eq!(db.kv_get("small").unwrap().as_deref(), Some(&b"s"[..])),
        Err(StorageError::EventAborted) => assert_eq!(db.kv_get("small").unwrap(), None),
        Err(other) => panic!("unexpected {other:?}"),
    }
    assert_eq!(db.kv_get("big").unwrap(), None);
    assert_eq!(db.event_state(), EventState::Idle);
    db.close().unwrap();

    let mut db = Database::open(&path, &opts).unwrap();
    assert_eq!(db.kv_get("key0001").unwrap().as_deref(), Some(&value[..]));
}

#[test]
fn size_bytes_grows_with_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    let empty = db.size_bytes().unwrap();
    assert!(empty > 0 && empty.is_multiple_of(PAGE_SIZE), "{empty}");
    db.kv_put("k", &vec![0u8; 100_000]).unwrap();
    assert!(db.size_bytes().unwrap() >= empty + 100_000);
}

/// Metering reads the size at the first write, then at most once per
/// METER_SIZE_EVERY; a read skipped meanwhile is owed, and made once.
#[test]
fn metered_size_is_read_at_most_once_a_second_and_owed_in_between() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    assert_eq!(db.owed_size(), None, "nothing owed before any read");
    let first = db.metered_size().expect("the first read is made");
    db.kv_put("k", &vec![0u8; 100_000]).unwrap();
    assert_eq!(db.metered_size(), None, "within a second of the last read");
    assert_eq!(db.owed_size(), Some(db.size_bytes().unwrap()), "the skipped read, made now");
    assert!(db.size_bytes().unwrap() >= first + 100_000);
    assert_eq!(db.owed_size(), None, "owed once");
    std::thread::sleep(super::METER_SIZE_EVERY);
    db.kv_put("k2", &vec![0u8; 10_000]).unwrap();
    assert_eq!(db.metered_size(), Some(db.size_bytes().unwrap()), "read again a second later");
}

#[test]
fn sqlite_errors_show_message_and_code_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(&dir);
    db.sql_exec(
        "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1)",
        &[],
        1 << 20,
    )
    .unwrap();
    let err = db
        .sql_exec("INSERT INTO t VALUES (1)", &[], 1 << 20)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "UNIQUE constraint failed: t.id: SQLITE_CONSTRAINT"
    );
    let sqlite = err.sqlite().unwrap();
    assert_eq!(sqlite.code, "SQLITE_CONSTRAINT");
    assert_eq!(sqlite.extended_code, ffi::SQLITE_CONSTRAINT_PRIMARYKEY);
    let err = db.sql_exec("SELEC 1", &[], 1 << 20).unwrap_err();
    assert_eq!(
        err.to_string(),
        "near \"SELEC\": syntax error at offset 0: SQLITE_ERROR"
    );
    // In a later statement, the offset is from the end of the one before.
    let err = db.sql_exec("SELECT 1; SELEC 2", &[], 1 << 20).unwrap_err();
    assert_eq!(
        err.to_string(),
        "near \"SELEC\": syntax error at offset 1: SQLITE_ERROR"
    );
    let err = db
        .sql_exec("SELECT * FROM missing", &[], 1 << 20)
        .unwrap_err();
    assert_eq!(err.to_string(), "no such table: missing: SQLITE_ERROR");
}

#[test]
fn open_reports_an_unusable_path() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let err = Database::open(&blocker.join("db.sqlite"), &StorageOptions::default()).unwrap_err();
    assert!(matches!(err, StorageError::CreateDir { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("cannot create the directory of database "),
        "{err}"
    );

    let not_a_db = dir.path().join("garbage.sqlite");
    std::fs::write(&not_a_db, vec![0x55u8; 8192]).unwrap();
    let err = Database::open(&not_a_db, &StorageOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot open database {}: file is not a database: SQLITE_NOTADB",
            not_a_db.display()
        )
    );
}

/// A new database is a copy of the template: in WAL mode, with the kv table,
/// usable at once, and nothing but the database is left in its folder.
#[test]
fn new_databases_start_from_the_template_and_leave_no_scratch_files() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a", "b"] {
        let path = dir.path().join(name).join("state.sqlite");
        let mut db = Database::open(&path, &StorageOptions::default()).unwrap();
        let header = std::fs::read(&path).unwrap();
        assert_eq!(&header[..16], b"SQLite format 3\0");
        assert_eq!((header[18], header[19]), (2, 2), "WAL mode is in the file's header");
        db.begin_event().unwrap();
        db.kv_put("k", name.as_bytes()).unwrap();
        db.sql_exec("CREATE TABLE t (x)", &[], usize::MAX).unwrap();
        db.commit_event().unwrap();
        drop(db);
        let mut db = Database::open(&path, &StorageOptions::default()).unwrap();
        assert_eq!(db.kv_get("k").unwrap().as_deref(), Some(name.as_bytes()), "{name} kept its data");
        let left: Vec<String> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with("state.sqlite"))
            .collect();
        assert!(left.is_empty(), "scratch files left in {}: {left:?}", path.parent().unwrap().display());
    }
}

// --- databases opened ahead (a facet's, see `Storage::ahead`) -------------------

/// Every entry under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        found.push(path.strip_prefix(dir).unwrap().display().to_string());
        if path.is_dir() {
            found.extend(tree(&path).into_iter().map(|p| format!("{}/{p}", entry.file_name().to_string_lossy())));
        }
    }
    found.sort();
    found
}

#[test]
fn a_database_opened_ahead_is_the_one_its_first_use_gets() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("obj/facets/app.sqlite");
    let mut storage = rt.block_on(async { Storage::ahead(path.clone(), StorageOptions::default()) });
    assert!(storage.has_ahead());
    storage.begin_event().unwrap();
    let db = storage.database().expect("has storage").expect("opens");
    db.kv_put("k", b"v").unwrap();
    storage.commit_event().unwrap();
    assert!(!storage.has_ahead());
    // Taken: giving it up afterwards is a no-op, and the data stays.
    assert!(!storage.settle_ahead());
    drop(storage);
    let mut again = Database::open(&path, &StorageOptions::default()).unwrap();
    assert_eq!(again.kv_get("k").unwrap().as_deref(), Some(&b"v"[..]));
}

#[test]
fn a_database_opened_ahead_and_not_used_leaves_nothing_behind() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("obj")).unwrap();
    std::fs::write(dir.path().join("obj/other"), b"not ours").unwrap();
    let path = dir.path().join("obj/facets/app.sqlite");
    // Given up after the first event...
    let mut storage = rt.block_on(async { Storage::ahead(path.clone(), StorageOptions::default()) });
    assert!(storage.settle_ahead());
    assert!(!storage.has_ahead());
    assert_eq!(tree(dir.path()), ["obj", "obj/other"]);
    // ...and then used after all: opened then, as a lazy one is.
    let db = storage.database().expect("has storage").expect("opens");
    db.kv_put("k", b"v").unwrap();
    drop(storage);
    assert!(path.exists());
    // ...or dropped untaken (the instance went): the same, for a new file.
    std::fs::remove_dir_all(dir.path().join("obj/facets")).unwrap();
    let storage = rt.block_on(async { Storage::ahead(path.clone(), StorageOptions::default()) });
    drop(storage);
    assert_eq!(tree(dir.path()), ["obj", "obj/other"]);
}

#[test]
fn a_database_that_existed_stays_when_opened_ahead_is_given_up() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("facets/app.sqlite");
    Database::open(&path, &StorageOptions::default()).unwrap().kv_put("k", b"kept").unwrap();
    let mut storage = rt.block_on(async { Storage::ahead(path.clone(), StorageOptions::default()) });
    assert!(storage.settle_ahead());
    let mut db = Database::open(&path, &StorageOptions::default()).unwrap();
    assert_eq!(db.kv_get("k").unwrap().as_deref(), Some(&b"kept"[..]));
}
