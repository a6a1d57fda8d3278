//! One SQLite database per Durable Object or facet.
//!
//! Each object and each of its facets has its own database file; a [`Database`] is the one
//! connection to it, owned by the object's actor. `ctx.storage.kv` lives in the internal
//! table `_cf_KV` of the same database (Cloudflare's name for it); `ctx.storage.sql` uses
//! the connection directly ([`Database::connection_mut`]).
//!
//! The writes of one event (one request, one alarm) form one transaction:
//! [`Database::begin_event`] before running it, [`Database::commit_event`] before its
//! response leaves the object (durable per [`Durability`] when it returns), or
//! [`Database::rollback_event`] if it failed. Outside an event, each write commits by itself.
//!
//! Opening is on the hot path of a new object's first request, so it runs few statements
//! and no queries that are not needed: each file is opened with `locking_mode=EXCLUSIVE`
//! (one process owns it; no shared-memory locking per transaction), `journal_mode=WAL`,
//! `synchronous` from [`Durability`], `max_page_count` from
//! [`StorageOptions::max_size_bytes`], and a busy timeout of zero (a second opener fails at
//! once with [`StorageError::Locked`] instead of waiting).
//!
//! # Layout
//! - `mod.rs`: [`Database`] (opening, the event transaction, size), [`StorageOptions`].
//! - `kv`: the KV table: [`Database::kv_get`], `kv_put`, `kv_delete`, `kv_list`
//!   ([`KvListOptions`]).
//! - `error`: [`StorageError`] and [`SqliteError`] (`message: SQLITE_CODE`).

mod error;
mod kv;
#[cfg(test)]
mod tests;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, ffi};

pub use error::{SqliteError, StorageError};
pub use kv::KvListOptions;

/// Name of the table behind `ctx.storage.kv` (Cloudflare's internal name). The SQL API must
/// not let user code read or write it.
pub const KV_TABLE: &str = "_cf_KV";

/// Page size of the databases facets creates (SQLite's default); used to turn
/// [`StorageOptions::max_size_bytes`] into `max_page_count`.
pub const PAGE_SIZE: u64 = 4096;

/// Default [`StorageOptions::max_size_bytes`]: 10 GiB, Cloudflare's limit for one
/// SQLite-backed Durable Object.
pub const DEFAULT_MAX_SIZE_BYTES: u64 = 10 * 1024 * 1024 * 1024;

/// When a committed event is safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: the WAL is synced on every commit; a commit survives a power loss.
    #[default]
    Full,
    /// `synchronous=NORMAL`: the WAL is synced at checkpoints only; a commit survives a crash
    /// of the process but the last ones may be lost on a power loss. Faster.
    Normal,
}

/// How to open a [`Database`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageOptions {
    /// Default [`Durability::Full`].
    pub durability: Durability,
    /// The database may not grow beyond this (rounded down to whole pages of
    /// [`PAGE_SIZE`]); writes past it fail with `SQLITE_FULL`. Default
    /// [`DEFAULT_MAX_SIZE_BYTES`].
    pub max_size_bytes: u64,
}

impl Default for StorageOptions {
    fn default() -> Self {
        StorageOptions {
            durability: Durability::Full,
            max_size_bytes: DEFAULT_MAX_SIZE_BYTES,
        }
    }
}

/// Where the database is in the event transaction.
///
/// Explicit so that nested transactions (`transactionSync`, savepoints) can be added as
/// another state without guessing from SQLite's autocommit flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventState {
    /// No event transaction: every statement commits by itself.
    Idle,
    /// Between [`Database::begin_event`] and its commit or rollback.
    Open,
}

/// The connection to one object's (or facet's) database.
#[derive(Debug)]
pub struct Database {
    conn: Connection,
    path: PathBuf,
    event: EventState,
}

impl Database {
    /// Opens (creating if needed) the database at `path`, creating its parent directories.
    ///
    /// Fails with [`StorageError::Locked`] at once if another connection has it open.
    pub fn open(path: &Path, opts: &StorageOptions) -> Result<Database, StorageError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|source| StorageError::CreateDir {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let open_error = |e: rusqlite::Error| -> StorageError {
            let e = SqliteError::from(e);
            if e.is(ffi::SQLITE_BUSY) || e.is(ffi::SQLITE_LOCKED) {
                StorageError::Locked {
                    path: path.to_path_buf(),
                }
            } else {
                StorageError::Open {
                    path: path.to_path_buf(),
                    source: e,
                }
            }
        };
        // No SQLITE_OPEN_URI: a path is a path.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(open_error)?;
        // rusqlite sets 5 s; fail fast instead (the file is ours alone, or it is an error).
        conn.busy_timeout(Duration::ZERO).map_err(open_error)?;

        let synchronous = match opts.durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        // locking_mode must come before the switch to WAL, so that SQLite keeps the WAL index
        // in heap memory (no -shm file) and holds the exclusive lock from then on.
        conn.execute_batch(&format!(
            "PRAGMA locking_mode=EXCLUSIVE; PRAGMA synchronous={synchronous}; \
             PRAGMA max_page_count={};",
            max_page_count(opts.max_size_bytes)
        ))
        .map_err(open_error)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
            .map_err(open_error)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StorageError::NotWal {
                path: path.to_path_buf(),
                mode,
            });
        }
        conn.execute(
            "CREATE TABLE IF NOT EXISTS _cf_KV (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID",
            [],
        )
        .map_err(open_error)?;

        Ok(Database {
            conn,
            path: path.to_path_buf(),
            event: EventState::Idle,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the event transaction is.
    pub fn event_state(&self) -> EventState {
        self.event
    }

    /// Starts the implicit transaction of one event (`BEGIN`, deferred).
    pub fn begin_event(&mut self) -> Result<(), StorageError> {
        if self.event != EventState::Idle {
            return Err(StorageError::EventAlreadyOpen);
        }
        self.conn.prepare_cached("BEGIN")?.execute([])?;
        self.event = EventState::Open;
        Ok(())
    }

    /// Commits the event's transaction; when this returns, its writes are as durable as
    /// [`Durability`] says.
    ///
    /// If the commit fails, the transaction is rolled back (nothing of the event is
    /// stored) and the error returned. If SQLite had already rolled it back after an earlier
    /// error, returns [`StorageError::EventAborted`].
    pub fn commit_event(&mut self) -> Result<(), StorageError> {
        self.end_event("commit")?;
        if self.conn.is_autocommit() {
            return Err(StorageError::EventAborted);
        }
        let result = self
            .conn
            .prepare_cached("COMMIT")
            .and_then(|mut s| s.execute([]));
        if let Err(err) = result {
            if !self.conn.is_autocommit() {
                // Still open (e.g. SQLITE_BUSY): discard it so that the next event starts
                // clean. The commit's error is the one worth reporting.
                let _ = self.conn.execute_batch("ROLLBACK");
            }
            return Err(err.into());
        }
        Ok(())
    }

    /// Discards the event's writes.
    pub fn rollback_event(&mut self) -> Result<(), StorageError> {
        self.end_event("roll back")?;
        if self.conn.is_autocommit() {
            // SQLite already rolled it back after an error.
            return Ok(());
        }
        self.conn.prepare_cached("ROLLBACK")?.execute([])?;
        Ok(())
    }

    fn end_event(&mut self, operation: &'static str) -> Result<(), StorageError> {
        match self.event {
            EventState::Open => {
                self.event = EventState::Idle;
                Ok(())
            }
            EventState::Idle => Err(StorageError::NoEvent { operation }),
        }
    }

    /// The size of the database in bytes (pages in use × page size), including writes of
    /// the open event; what Cloudflare reports as `ctx.storage.sql.databaseSize`.
    pub fn size_bytes(&self) -> Result<u64, StorageError> {
        let size: i64 = self
            .conn
            .prepare_cached("SELECT p.page_count * s.page_size FROM pragma_page_count() AS p, pragma_page_size() AS s")?
            .query_row([], |row| row.get(0))?;
        Ok(u64::try_from(size).unwrap_or(0))
    }

    /// The connection, for the SQL API.
    ///
    /// The caller must keep user SQL away from [`KV_TABLE`] and from transaction control
    /// (`BEGIN`, `COMMIT`, `SAVEPOINT`, ...: it would desynchronize [`EventState`]), e.g. with
    /// an authorizer.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The connection, mutably (to install an authorizer or hooks); see
    /// [`Database::connection`].
    pub fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Closes the database, reporting errors that dropping it would ignore. An open event is
    /// rolled back.
    pub fn close(self) -> Result<(), StorageError> {
        self.conn.close().map_err(|(_, e)| e.into())
    }
}

/// `max_page_count` for a size limit: whole pages, at least one, at most SQLite's maximum.
fn max_page_count(max_size_bytes: u64) -> u64 {
    const SQLITE_MAX_PAGE_COUNT: u64 = 0xFFFF_FFFE;
    (max_size_bytes / PAGE_SIZE).clamp(1, SQLITE_MAX_PAGE_COUNT)
}
