//! `ctx.storage.sql`: running user SQL ([`Database::sql_exec`]), the database size, and
//! `deleteAll`.
//!
//! User statements run untrusted (see [`super::policy`]). A single statement is prepared
//! through the connection's statement cache (LRU, [`STATEMENT_CACHE_CAPACITY`]); each
//! statement of a multi-statement query is prepared afresh, after the ones before it ran.
//!
//! # Metering
//! `rows_written` is the number of rows inserted, updated or deleted by the statements,
//! including by triggers and foreign key actions (the change in `sqlite3_total_changes()`
//! over each statement; DDL and `DROP TABLE`'s implicit deletes count zero).
//!
//! `rows_read` is an approximation of Cloudflare's (a patched-SQLite counter): for each
//! statement, the larger of the rows it returned and the rows its full scans visited
//! (`SQLITE_STMTSTATUS_FULLSCAN_STEP`, the steps of table or index scans without a usable
//! constraint, plus one for the first row). So a `SELECT` of a whole table counts its rows
//! once, a filtered scan counts every row scanned, an indexed lookup counts the rows
//! returned, and an `UPDATE` with a `WHERE` on an unindexed column counts the table's rows.
//! Undercounts: rows visited through index seeks beyond those returned, the first row of
//! each further scan of a join, a scan of a single row that returns nothing, and
//! `count(*)` (answered from the b-tree: 1).

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, Statement, StatementStatus, ToSql, ffi};

use super::error::{SqliteError, StorageError};
use super::policy::MAX_SQL_LENGTH;
use super::{Database, HostSql, INTERNAL_SQL_TAG, KV_TABLE, split};

/// Prepared statements kept per connection (user and host statements together); least
/// recently used ones are finalized first.
pub const STATEMENT_CACHE_CAPACITY: usize = 128;

/// A value in SQLite's type system, as bound to a parameter or read from a column.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl SqlValue {
    /// What the value counts toward `max_result_bytes`: the length of text and blobs,
    /// 8 bytes for numbers, 1 for NULL.
    fn result_size(&self) -> usize {
        match self {
            SqlValue::Null => 1,
            SqlValue::Integer(_) | SqlValue::Real(_) => 8,
            SqlValue::Text(s) => s.len(),
            SqlValue::Blob(b) => b.len(),
        }
    }
}

impl From<ValueRef<'_>> for SqlValue {
    fn from(value: ValueRef<'_>) -> Self {
        match value {
            ValueRef::Null => SqlValue::Null,
            ValueRef::Integer(i) => SqlValue::Integer(i),
            ValueRef::Real(f) => SqlValue::Real(f),
            // SQLite does not check that TEXT is UTF-8 (`CAST(x'ff' AS TEXT)`); JavaScript
            // would decode it with replacement characters too.
            ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
        }
    }
}

impl ToSql for SqlValue {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            SqlValue::Null => ValueRef::Null,
            SqlValue::Integer(i) => ValueRef::Integer(*i),
            SqlValue::Real(f) => ValueRef::Real(*f),
            SqlValue::Text(s) => ValueRef::Text(s.as_bytes()),
            SqlValue::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

/// What [`Database::sql_exec`] returns: the last statement's rows, and metering for all of
/// them (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct ExecResult {
    /// The last statement's column names (empty if it has none, e.g. an `INSERT`).
    pub columns: Vec<String>,
    /// The last statement's rows, each with one value per column.
    pub rows: Vec<Vec<SqlValue>>,
    pub rows_read: u64,
    pub rows_written: u64,
}

/// Cloudflare's message for a binding count that does not match the statement.
const WRONG_BINDINGS: &str = "Wrong number of parameter bindings for SQL query";

/// The message replacing `not authorized` when user SQL tries transaction control.
const NO_TRANSACTIONS_IN_SQL: &str = "cannot start a transaction within a SQL query; use \
                                      ctx.storage.transactionSync() or transaction() instead";

impl Database {
    /// Runs one or more `;`-separated statements; `bindings` apply to the LAST statement,
    /// whose rows are returned. The statements before it run to completion (their rows are
    /// discarded) and may not have parameters.
    ///
    /// Fails (nothing returned) if the result would exceed `max_result_bytes` (see
    /// [`SqlValue`]'s sizes; column names count their length). If a statement fails, the
    /// ones before it stay applied, as in SQLite. Statements that write fail with
    /// [`StorageError::EventAborted`] or [`StorageError::TransactionAborted`] once SQLite has
    /// rolled back the enclosing transaction (see `Database::check_transaction_intact`).
    pub fn sql_exec(
        &mut self,
        query: &str,
        bindings: &[SqlValue],
        max_result_bytes: usize,
    ) -> Result<ExecResult, StorageError> {
        let _untrusted = self.untrusted();
        // SQLite checks this per prepare call; check the whole text, so that splitting it
        // does not raise the limit.
        if query.len() > MAX_SQL_LENGTH {
            return Err(SqliteError::new(ffi::SQLITE_TOOBIG, "statement too long").into());
        }
        let statements = split::statements(query);
        let mut result = ExecResult::default();
        let count = statements.len();
        for (index, sql) in statements.into_iter().enumerate() {
            let last = index + 1 == count;
            // Drop a stale flag from a denial seen outside this loop.
            self.auth.take_transaction_denial();
            let mut execute = |stmt: &mut Statement<'_>| {
                if !stmt.readonly() {
                    self.check_transaction_intact()?;
                }
                run(
                    &self.conn,
                    stmt,
                    last,
                    bindings,
                    max_result_bytes,
                    &mut result,
                )
            };
            let outcome = if count == 1 && !sql.starts_with(INTERNAL_SQL_TAG) {
                // A statement the host prepared (trusted) is never reused for user SQL:
                // host SQL starts with the tag, user SQL with the tag is prepared afresh.
                self.conn
                    .prepare_cached(sql)
                    .map(|mut stmt| execute(&mut stmt))
            } else {
                self.conn.prepare(sql).map(|mut stmt| execute(&mut stmt))
            };
            match outcome {
                Ok(Ok(())) => {}
                // Only comments after all (the splitter keeps what it cannot classify).
                Err(rusqlite::Error::Empty) => {}
                Ok(Err(e)) => return Err(self.explain_denial(e)),
                Err(e) => return Err(self.explain_denial(e.into())),
            }
        }
        if count == 0 && !bindings.is_empty() {
            return Err(wrong_bindings(0, bindings.len()).into());
        }
        Ok(result)
    }

    /// The size of the database in bytes (pages × page size), what Cloudflare reports as
    /// `ctx.storage.sql.databaseSize`. Includes free pages: dropped data is not returned to
    /// the file system before a `VACUUM`, which facets does not run.
    pub fn database_size(&self) -> Result<u64, StorageError> {
        self.size_bytes()
    }

    /// `ctx.storage.deleteAll()`: drops every table, index, view and trigger of user SQL,
    /// empties the KV table, and resets `AUTOINCREMENT` counters and `ANALYZE` statistics.
    ///
    /// Part of the current transaction (the event's, or a nested one) like any write: all of
    /// it or nothing is done. Foreign keys between the dropped tables are no obstacle.
    pub fn delete_all(&mut self) -> Result<(), StorageError> {
        self.check_transaction_intact()?;
        let _trusted = self.trusted();
        let conn = &self.conn;
        conn.prepare_host(internal_sql!("SAVEPOINT facets_delete_all"))?
            .execute([])?;
        let result = drop_everything(conn).and_then(|()| {
            conn.prepare_host(internal_sql!("RELEASE facets_delete_all"))?
                .execute([])?;
            Ok(())
        });
        if let Err(err) = result {
            if !conn.is_autocommit() {
                // Undo the half-done work; the first error is the one to report.
                let _ = conn.execute_batch(internal_sql!(
                    "ROLLBACK TO facets_delete_all; RELEASE facets_delete_all"
                ));
            }
            return Err(err);
        }
        Ok(())
    }

    /// Replaces a generic `not authorized` for transaction control by a message pointing to
    /// the API to use instead.
    fn explain_denial(&self, err: StorageError) -> StorageError {
        match err {
            StorageError::Sqlite(e)
                if e.is(ffi::SQLITE_AUTH) && self.auth.take_transaction_denial() =>
            {
                SqliteError::new(ffi::SQLITE_AUTH, NO_TRANSACTIONS_IN_SQL).into()
            }
            other => other,
        }
    }
}

/// Runs one prepared user statement; if it is the `last`, binds `bindings` and collects its
/// rows into `out`. Adds its metering to `out` either way.
fn run(
    conn: &Connection,
    stmt: &mut Statement<'_>,
    last: bool,
    bindings: &[SqlValue],
    max_result_bytes: usize,
    out: &mut ExecResult,
) -> Result<(), StorageError> {
    let parameters = stmt.parameter_count();
    let mut size = 0usize;
    if last {
        if parameters != bindings.len() {
            return Err(wrong_bindings(parameters, bindings.len()).into());
        }
        for (i, value) in bindings.iter().enumerate() {
            stmt.raw_bind_parameter(i + 1, value)?;
        }
        out.columns = stmt.column_names().map(str::to_owned).collect();
        size = out.columns.iter().map(String::len).sum();
        if size > max_result_bytes {
            return Err(StorageError::ResultTooLarge {
                limit: max_result_bytes,
            });
        }
    } else if parameters > 0 {
        return Err(SqliteError::new(
            ffi::SQLITE_RANGE,
            "When executing multiple SQL statements in a single call, only the last \
             statement can have parameters",
        )
        .into());
    }
    let columns = stmt.column_count();
    // A cached statement keeps its counters across runs.
    stmt.reset_status(StatementStatus::FullscanStep);
    let changes_before = conn.total_changes();
    let mut returned = 0u64;
    {
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next()? {
            returned += 1;
            if !last {
                continue;
            }
            let mut values = Vec::with_capacity(columns);
            for column in 0..columns {
                let value = SqlValue::from(row.get_ref(column)?);
                size = size.saturating_add(value.result_size());
                values.push(value);
            }
            if size > max_result_bytes {
                return Err(StorageError::ResultTooLarge {
                    limit: max_result_bytes,
                });
            }
            out.rows.push(values);
        }
    }
    // SQLite counts the steps from one row to the next: a scan of n rows counts n - 1.
    let steps = u64::try_from(stmt.reset_status(StatementStatus::FullscanStep)).unwrap_or(0);
    let scanned = if steps > 0 { steps + 1 } else { 0 };
    out.rows_read += returned.max(scanned);
    out.rows_written += conn.total_changes().saturating_sub(changes_before);
    Ok(())
}

fn wrong_bindings(expected: usize, given: usize) -> SqliteError {
    SqliteError::new(
        ffi::SQLITE_RANGE,
        format!("{WRONG_BINDINGS}: expected {expected}, got {given}"),
    )
}

/// The body of [`Database::delete_all`], inside its savepoint.
fn drop_everything(conn: &Connection) -> Result<(), StorageError> {
    // Dropping a table referenced by another one's foreign key deletes its rows first;
    // defer the checks until the savepoint ends, when both are gone. Restored afterwards
    // (it would otherwise last until the end of the event's transaction).
    let deferred: bool = conn
        .prepare_host(internal_sql!("PRAGMA defer_foreign_keys"))?
        .query_row([], |row| row.get(0))?;
    conn.prepare_host(internal_sql!("PRAGMA defer_foreign_keys = ON"))?
        .execute([])?;
    let result = drop_objects(conn);
    if !deferred {
        conn.prepare_host(internal_sql!("PRAGMA defer_foreign_keys = OFF"))?
            .execute([])?;
    }
    result
}

/// Drops the user objects, empties the KV table and SQLite's bookkeeping tables.
fn drop_objects(conn: &Connection) -> Result<(), StorageError> {
    let schema = |conn: &Connection| -> rusqlite::Result<Vec<(String, String, String)>> {
        let mut stmt = conn.prepare_host(internal_sql!(
            "SELECT type, name, coalesce(sql, '') FROM sqlite_schema"
        ))?;
        let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
        rows.collect()
    };
    let user_object = |name: &str| {
        !name.eq_ignore_ascii_case(KV_TABLE)
            && !name
                .get(..7)
                .is_some_and(|p| p.eq_ignore_ascii_case("sqlite_"))
    };
    let quote = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));

    // Triggers first (so that none fires while tables go), then views, then virtual tables
    // (they drop their shadow tables: dropping those directly is refused in defensive mode),
    // then the remaining tables with their indexes.
    let objects = schema(conn)?;
    for (kind, name, _) in &objects {
        if kind == "trigger" && user_object(name) {
            conn.execute(&format!("DROP TRIGGER IF EXISTS {}", quote(name)), [])?;
        }
    }
    for (kind, name, _) in &objects {
        if kind == "view" && user_object(name) {
            conn.execute(&format!("DROP VIEW IF EXISTS {}", quote(name)), [])?;
        }
    }
    for (kind, name, sql) in &objects {
        let is_virtual = sql
            .get(..20)
            .is_some_and(|p| p.eq_ignore_ascii_case("CREATE VIRTUAL TABLE"));
        if kind == "table" && is_virtual && user_object(name) {
            conn.execute(&format!("DROP TABLE IF EXISTS {}", quote(name)), [])?;
        }
    }
    for (kind, name, _) in schema(conn)? {
        if kind == "table" && user_object(&name) {
            conn.execute(&format!("DROP TABLE IF EXISTS {}", quote(&name)), [])?;
        }
    }
    // SQLite's own tables: statistics may be dropped, AUTOINCREMENT counters only emptied.
    for (kind, name, _) in schema(conn)? {
        if kind != "table" {
            continue;
        }
        if name.eq_ignore_ascii_case("sqlite_sequence") {
            conn.execute("DELETE FROM sqlite_sequence", [])?;
        } else if name.to_ascii_lowercase().starts_with("sqlite_stat") {
            conn.execute(&format!("DROP TABLE IF EXISTS {}", quote(&name)), [])?;
        }
    }
    conn.prepare_host(internal_sql!("DELETE FROM __cf_kv"))?
        .execute([])?;
    Ok(())
}
