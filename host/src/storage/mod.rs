//! One SQLite database per Durable Object or facet.
//!
//! Each object and each of its facets has its own database file; a [`Database`] is the one
//! connection to it, owned by the object's actor. `ctx.storage.kv` lives in the internal
//! table `__cf_kv` of the same database (Cloudflare's name for it); `ctx.storage.sql` runs
//! user SQL on the same connection ([`Database::sql_exec`]), checked by an authorizer that
//! keeps it away from internal tables, files and transaction control ([`policy`]).
//!
//! The writes of one event (one request, one alarm) form one transaction:
//! [`Database::begin_event`] before running it, [`Database::commit_event`] before its
//! response leaves the object (durable per [`Durability`] when it returns), or
//! [`Database::rollback_event`] if it failed. Outside an event, each write commits by itself.
//! `transactionSync()` / `transaction()` nest inside it (or open one outside an event) as
//! savepoints: [`Database::transaction_begin`], `transaction_commit`, `transaction_rollback`.
//!
//! Opening is on the hot path of a new object's first request, so it runs few statements
//! and no queries that are not needed: each file is opened with `locking_mode=EXCLUSIVE`
//! (one process owns it; no shared-memory locking per transaction), `journal_mode=WAL`,
//! `synchronous` from [`Durability`], `max_page_count` from
//! [`StorageOptions::max_size_bytes`], and a busy timeout of zero (a second opener fails at
//! once with [`StorageError::Locked`] instead of waiting). Then the limits and the
//! authorizer of [`policy`] are installed.
//!
//! The host's own statements start with [`INTERNAL_SQL_TAG`] (the `internal_sql!` macro) and
//! run in a trusted scope; see [`policy`] and [`Database::sql_exec`] for why the tag matters.
//!
//! # Layout
//! - `mod.rs`: [`Database`] (opening, the event transaction, nested transactions, size),
//!   [`StorageOptions`].
//! - `kv`: the KV table: [`Database::kv_get`], `kv_put`, `kv_delete`, `kv_list`
//!   ([`KvListOptions`]).
//! - `sql`: the SQL API: [`Database::sql_exec`] ([`SqlValue`], [`ExecResult`]),
//!   `database_size`, `delete_all`.
//! - `policy`: what user SQL may do: the authorizer, the PRAGMA allowlist, the limits.
//! - `split`: splitting SQL text into statements.
//! - `error`: [`StorageError`] and [`SqliteError`] (`message: SQLITE_CODE`).

/// Marks the host's own SQL text. Prefixes every statement the host prepares through the
/// statement cache (`prepare_host`): user SQL starting with it is never looked up
/// in the cache, so user SQL can never reuse a statement that was authorized as trusted.
pub const INTERNAL_SQL_TAG: &str = "/*facets:internal*/ ";

/// `internal_sql!("SELECT ...")`: the statement prefixed with [`INTERNAL_SQL_TAG`].
macro_rules! internal_sql {
    ($sql:literal) => {
        concat!("/*facets:internal*/ ", $sql)
    };
}

mod error;
mod kv;
mod lazy;
pub mod policy;
mod split;
mod sql;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_sql;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{CachedStatement, Connection, OpenFlags, ffi};

pub use error::{SqliteError, StorageError};
pub use kv::KvListOptions;
pub use lazy::{Admit, Storage};
pub use sql::{ExecResult, STATEMENT_CACHE_CAPACITY, SqlValue};

use policy::{AuthState, Trusted};

/// Name of the table behind `ctx.storage.kv` (Cloudflare's internal name: "a hidden SQLite
/// table `__cf_kv`", listed by `sqlite_master` but out of reach of the SQL API).
pub const KV_TABLE: &str = "__cf_kv";

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
/// Explicit rather than guessed from SQLite's autocommit flag; nested transactions are
/// counted separately ([`Database::transaction_depth`]).
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
    /// The file's lock, when facets holds it itself (see [`lock_file`]);
    /// released after the connection closes (fields drop in order).
    _lock: Option<fs::File>,
    path: PathBuf,
    event: EventState,
    /// Open savepoints of [`Database::transaction_begin`].
    tx_depth: u32,
    /// Shared with the authorizer callback.
    auth: Arc<AuthState>,
    /// When set, SQL still running at that instant is interrupted
    /// (`SQLITE_INTERRUPT`): the event's CPU budget holds in SQLite too.
    deadline: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
    /// Bytes per page, read at open: user SQL cannot change it (the
    /// `page_size` pragma is denied), so `size_bytes` asks only for the count.
    page_size: u64,
    /// When metering last read the size (see [`Database::metered_size`]).
    size_read_at: std::cell::Cell<Option<std::time::Instant>>,
    /// Whether a write since then left metering a size to read.
    size_owed: std::cell::Cell<bool>,
}

/// How often, at most, metering reads a database's size (see [`Database::metered_size`]).
pub const METER_SIZE_EVERY: Duration = Duration::from_secs(1);

/// Creates `dir` and its missing parents. With [`Durability::Full`] every
/// new directory entry is synced too, so that a new object's database is not
/// lost with its directory on a power loss (SQLite syncs the file, not the
/// folders above it).
fn create_dirs_durably(dir: &Path, durability: Durability) -> std::io::Result<()> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if d.as_os_str().is_empty() || d.is_dir() {
            break;
        }
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    fs::create_dir_all(dir)?;
    if durability == Durability::Full {
        for d in &missing {
            if let Some(parent) = d.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::File::open(parent)?.sync_all()?;
            }
        }
    }
    Ok(())
}

/// The kv table of every database (see [`Database::kv_get`]).
const KV_TABLE_SQL: &str = "CREATE TABLE IF NOT EXISTS __cf_kv (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID";

/// The bytes of a new, empty database: WAL mode and the kv table, made once
/// per process by SQLite itself (in a scratch file in `dir`, removed after).
fn template(dir: &Path) -> std::io::Result<&'static [u8]> {
    static TEMPLATE: std::sync::OnceLock<Result<Vec<u8>, String>> = std::sync::OnceLock::new();
    let made = TEMPLATE.get_or_init(|| {
        let path = dir.join(format!(".facets-template-{}.sqlite", std::process::id()));
        let make = || -> Result<Vec<u8>, Box<dyn std::error::Error>> {
            let _ = fs::remove_file(&path);
            {
                let conn = Connection::open(&path)?;
                let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))?;
                if !mode.eq_ignore_ascii_case("wal") {
                    return Err(format!("journal mode {mode}").into());
                }
                conn.execute(KV_TABLE_SQL, [])?;
                // Closing checkpoints the WAL into the file and removes it.
                conn.close().map_err(|(_, e)| e)?;
            }
            Ok(fs::read(&path)?)
        };
        let made = make().map_err(|e| format!("making the database template: {e}"));
        for suffix in ["", "-wal", "-shm"] {
            let _ = fs::remove_file(format!("{}{suffix}", path.display()));
        }
        made
    });
    made.as_deref().map_err(|e| std::io::Error::other(e.clone()))
}

/// Puts a copy of the template at `path` (written under another name, then
/// renamed: a crash leaves no half-written database). `false`: no template
/// (SQLite then makes the database itself), or `path` appeared meanwhile.
fn create_from_template(path: &Path, durability: Durability) -> std::io::Result<bool> {
    use std::io::Write;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let bytes = match template(dir) {
        Ok(b) => b,
        Err(e) => {
            static WARNED: std::sync::Once = std::sync::Once::new();
            WARNED.call_once(|| tracing::warn!("{e}; new databases are made by SQLite"));
            return Ok(false);
        }
    };
    let partial = path.with_file_name(format!(".{}.new", path.file_name().and_then(|n| n.to_str()).unwrap_or("db")));
    let mut file = fs::File::create(&partial)?;
    file.write_all(bytes)?;
    if durability == Durability::Full {
        file.sync_all()?;
    }
    drop(file);
    if path.exists() {
        let _ = fs::remove_file(&partial);
        return Ok(false);
    }
    fs::rename(&partial, path)?;
    if durability == Durability::Full {
        fs::File::open(dir)?.sync_all()?;
    }
    Ok(true)
}

/// Takes the lock of the database file at `path`: an open-file-description
/// lock (`F_OFD_SETLK`, Linux 3.15+) on the whole file, for as long as the
/// returned file stays open. `Ok(None)`: no such locks here, or no file yet
/// (no template: SQLite makes it, and syncs its folder when durability is
/// full); SQLite's unix VFS then locks the file itself.
///
/// Why not SQLite's locks: its unix VFS keeps every file it opened in one
/// list per process and walks it at each open, to share POSIX locks among
/// connections of the process (a POSIX lock belongs to the process, and
/// closing any descriptor of the file drops it). With thousands of live
/// objects that walk was 9% of the server's CPU while objects were created
/// (`findReusableFd`, `findInodeInfo`; perf, about 2,000 open). An OFD lock
/// belongs to its open file description: a second open in the same process
/// conflicts with it as one in another process does, and a foreign SQLite
/// (its POSIX locks share the same lock table) is refused the file too. So
/// facets locks the file itself and opens it with the `unix-none` VFS, which
/// keeps no list (in exclusive locking mode, as here, WAL needs no locks).
#[cfg(target_os = "linux")]
fn lock_file(path: &Path) -> Result<Option<fs::File>, StorageError> {
    use std::os::fd::AsRawFd;
    let file = match fs::OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(StorageError::File { path: path.to_path_buf(), source }),
    };
    let lock = libc::flock {
        l_type: libc::F_WRLCK as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    #[expect(unsafe_code, reason = "fcntl with a flock struct of our own")]
    // SAFETY: `file` is open; F_OFD_SETLK reads the `flock` passed and never blocks.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &lock) };
    if rc == 0 {
        return Ok(Some(file));
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::EAGAIN | libc::EACCES) => Err(StorageError::Locked { path: path.to_path_buf() }),
        // (EINVAL: a kernel or file system without OFD locks.)
        _ => Ok(None),
    }
}

#[cfg(not(target_os = "linux"))]
fn lock_file(_path: &Path) -> Result<Option<fs::File>, StorageError> {
    Ok(None)
}

/// SQLite virtual-machine steps between two checks of the deadline.
const PROGRESS_STEPS: std::ffi::c_int = 10_000;

impl Database {
    /// Opens (creating if needed) the database at `path`, creating its parent directories.
    ///
    /// Fails with [`StorageError::Locked`] at once if another connection has it open.
    pub fn open(path: &Path, opts: &StorageOptions) -> Result<Database, StorageError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir() {
                create_dirs_durably(dir, opts.durability).map_err(|source| StorageError::CreateDir {
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
        // A new database starts as a copy of the template (WAL mode, kv table):
        // one small write instead of SQLite switching the file to WAL and
        // creating the table in two transactions of its own.
        let from_template = !path.exists() && create_from_template(path, opts.durability).map_err(|source| StorageError::CreateDir {
            path: path.to_path_buf(),
            source,
        })?;
        // No SQLITE_OPEN_URI: a path is a path.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let lock = lock_file(path)?;
        let mut conn = match lock {
            Some(_) => Connection::open_with_flags_and_vfs(path, flags, c"unix-none"),
            None => Connection::open_with_flags(path, flags),
        }
        .map_err(open_error)?;
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
        if !from_template {
            conn.execute(KV_TABLE_SQL, []).map_err(open_error)?;
        }

        // (Before the authorizer is installed.)
        let page_size: i64 = conn.query_row("PRAGMA page_size", [], |row| row.get(0)).map_err(open_error)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
        let auth = Arc::new(AuthState::default());
        policy::install(&mut conn, &auth).map_err(open_error)?;
        let deadline: Arc<std::sync::Mutex<Option<std::time::Instant>>> = Arc::default();
        let watched = deadline.clone();
        conn.progress_handler(
            PROGRESS_STEPS,
            Some(move || watched.lock().map(|d| d.is_some_and(|d| std::time::Instant::now() >= d)).unwrap_or(false)),
        )
        .map_err(open_error)?;

        Ok(Database {
            conn,
            _lock: lock,
            path: path.to_path_buf(),
            event: EventState::Idle,
            tx_depth: 0,
            auth,
            deadline,
            page_size: u64::try_from(page_size).unwrap_or(0),
            size_read_at: std::cell::Cell::new(None),
            size_owed: std::cell::Cell::new(false),
        })
    }

    /// Interrupts SQL still running at `deadline` (`None`: no deadline).
    pub fn set_deadline(&self, deadline: Option<std::time::Instant>) {
        if let Ok(mut d) = self.deadline.lock() {
            *d = deadline;
        }
    }

    /// Until the returned value is dropped, statements are the host's own (see [`policy`]).
    fn trusted(&self) -> Trusted {
        Trusted::enter(&self.auth, true)
    }

    /// Until the returned value is dropped, statements are user SQL (the default; explicit
    /// where user SQL runs).
    fn untrusted(&self) -> Trusted {
        Trusted::enter(&self.auth, false)
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
        if self.tx_depth > 0 {
            return Err(StorageError::TransactionStillOpen);
        }
        let _trusted = self.trusted();
        self.conn
            .prepare_host(internal_sql!("BEGIN"))?
            .execute([])?;
        self.event = EventState::Open;
        Ok(())
    }

    /// Commits the event's transaction; when this returns, its writes are as durable as
    /// [`Durability`] says.
    ///
    /// If the commit fails, the transaction is rolled back (nothing of the event is
    /// stored) and the error returned. If SQLite had already rolled it back after an earlier
    /// error, returns [`StorageError::EventAborted`].
    ///
    /// Savepoints of [`Database::transaction_begin`] still open are committed with it.
    pub fn commit_event(&mut self) -> Result<(), StorageError> {
        self.end_event("commit")?;
        if self.conn.is_autocommit() {
            return Err(StorageError::EventAborted);
        }
        let _trusted = self.trusted();
        let result = self
            .conn
            .prepare_host(internal_sql!("COMMIT"))
            .and_then(|mut s| s.execute([]));
        if let Err(err) = result {
            if !self.conn.is_autocommit() {
                // Still open (e.g. SQLITE_BUSY): discard it so that the next event starts
                // clean. The commit's error is the one worth reporting.
                let _ = self.conn.execute_batch(internal_sql!("ROLLBACK"));
            }
            return Err(err.into());
        }
        Ok(())
    }

    /// Discards the event's writes (and its open savepoints).
    pub fn rollback_event(&mut self) -> Result<(), StorageError> {
        self.end_event("roll back")?;
        if self.conn.is_autocommit() {
            // SQLite already rolled it back after an error.
            return Ok(());
        }
        let _trusted = self.trusted();
        self.conn
            .prepare_host(internal_sql!("ROLLBACK"))?
            .execute([])?;
        Ok(())
    }

    fn end_event(&mut self, operation: &'static str) -> Result<(), StorageError> {
        match self.event {
            EventState::Open => {
                self.event = EventState::Idle;
                // COMMIT and ROLLBACK end the savepoints inside the transaction too.
                self.tx_depth = 0;
                Ok(())
            }
            EventState::Idle => Err(StorageError::NoEvent { operation }),
        }
    }

    /// Refuses writes once SQLite has rolled back the transaction the caller is in (the
    /// event's, or one of [`Database::transaction_begin`]).
    ///
    /// Some errors make SQLite roll back the whole transaction rather than the failing
    /// statement: `SQLITE_FULL` from a single-row write (no statement journal),
    /// `SQLITE_IOERR`, `SQLITE_NOMEM`. The writes after that would each commit by themselves,
    /// outside the event's atomicity; instead they fail, reads go on (seeing what is
    /// committed), and the event fails at [`Database::commit_event`]. The next event starts
    /// afresh: that is where deleting data to make room works.
    fn check_transaction_intact(&self) -> Result<(), StorageError> {
        if !self.conn.is_autocommit() {
            Ok(())
        } else if self.event == EventState::Open {
            Err(StorageError::EventAborted)
        } else if self.tx_depth > 0 {
            Err(StorageError::TransactionAborted)
        } else {
            Ok(())
        }
    }

    /// How many [`Database::transaction_begin`] are open.
    pub fn transaction_depth(&self) -> u32 {
        self.tx_depth
    }

    /// Opens a transaction (`transactionSync()`, `transaction()`): `SAVEPOINT
    /// facets_tx_<depth>`, nested in the event's transaction and in the transactions already
    /// open, or starting a transaction of its own outside an event.
    pub fn transaction_begin(&mut self) -> Result<(), StorageError> {
        self.check_transaction_intact()?;
        let depth = self.tx_depth + 1;
        let _trusted = self.trusted();
        self.conn
            .prepare_host(&format!(internal_sql!("SAVEPOINT facets_tx_{}"), depth))?
            .execute([])?;
        self.tx_depth = depth;
        Ok(())
    }

    /// Commits the innermost transaction (`RELEASE`): its writes become part of the
    /// enclosing one, or are committed if there is none.
    ///
    /// If that final commit fails (e.g. a deferred foreign key violation), the transaction is
    /// rolled back and the error returned. If SQLite had already rolled everything back
    /// after an error, returns [`StorageError::TransactionAborted`].
    pub fn transaction_commit(&mut self) -> Result<(), StorageError> {
        let depth = self.end_transaction("commit")?;
        if self.conn.is_autocommit() {
            return Err(StorageError::TransactionAborted);
        }
        let _trusted = self.trusted();
        let result = self
            .conn
            .prepare_host(&format!(internal_sql!("RELEASE facets_tx_{}"), depth))
            .and_then(|mut s| s.execute([]));
        if let Err(err) = result {
            if !self.conn.is_autocommit() {
                // The savepoint is still there: discard it, report the commit's error.
                let _ = self.rollback_savepoint(depth);
            }
            return Err(err.into());
        }
        Ok(())
    }

    /// Rolls back the innermost transaction (`ROLLBACK TO` and `RELEASE`): the enclosing
    /// transaction keeps its own earlier writes.
    pub fn transaction_rollback(&mut self) -> Result<(), StorageError> {
        let depth = self.end_transaction("roll back")?;
        if self.conn.is_autocommit() {
            // SQLite already rolled everything back after an error.
            return Ok(());
        }
        let _trusted = self.trusted();
        self.rollback_savepoint(depth)
    }

    fn rollback_savepoint(&self, depth: u32) -> Result<(), StorageError> {
        self.conn
            .prepare_host(&format!(internal_sql!("ROLLBACK TO facets_tx_{}"), depth))?
            .execute([])?;
        self.conn
            .prepare_host(&format!(internal_sql!("RELEASE facets_tx_{}"), depth))?
            .execute([])?;
        Ok(())
    }

    /// Pops the innermost transaction; its depth.
    fn end_transaction(&mut self, operation: &'static str) -> Result<u32, StorageError> {
        let depth = self.tx_depth;
        if depth == 0 {
            return Err(StorageError::NoTransaction { operation });
        }
        self.tx_depth = depth - 1;
        Ok(depth)
    }

    /// The size of the database in bytes (pages in use × page size), including writes of
    /// the open event; what Cloudflare reports as `ctx.storage.sql.databaseSize`.
    pub fn size_bytes(&self) -> Result<u64, StorageError> {
        let _trusted = self.trusted();
        // Metering asks after every event that wrote. A PRAGMA statement is
        // prepared again at every run (each is run-once, so the statement
        // cache cannot keep it): the page count is read through the
        // pragma's table-valued function, a statement the cache keeps, and
        // the page size once, at open.
        let pages: i64 = self
            .conn
            .prepare_host(internal_sql!("SELECT page_count FROM pragma_page_count()"))?
            .query_row([], |row| row.get(0))?;
        Ok(u64::try_from(pages).unwrap_or(0) * self.page_size)
    }

    /// The size for metering, after an event that wrote: read at most once
    /// per [`METER_SIZE_EVERY`], `None` in between (usage keeps the size it
    /// has; the read is then owed, see [`Database::owed_size`]). A read is
    /// not cheap: SQLite prepares `PRAGMA page_count` again at every run,
    /// inside `pragma_page_count()` too; read after every write, it took
    /// 1.7% of the server's CPU under `wrk` on the platform fixture (whose
    /// facet writes at every request; perf).
    pub fn metered_size(&self) -> Option<u64> {
        if self.size_read_at.get().is_some_and(|t| t.elapsed() < METER_SIZE_EVERY) {
            self.size_owed.set(true);
            return None;
        }
        self.size_owed.set(false);
        self.size_read_at.set(Some(std::time::Instant::now()));
        self.size_bytes().ok()
    }

    /// The size metering did not read after the last writes (see
    /// [`Database::metered_size`]), read now; `None` if none is owed. Asked
    /// when the instance ends, so that usage ends with the true size.
    pub fn owed_size(&self) -> Option<u64> {
        if !self.size_owed.replace(false) {
            return None;
        }
        self.size_read_at.set(Some(std::time::Instant::now()));
        self.size_bytes().ok()
    }

    /// Runs `f` on the connection as the host (no authorizer checks), for tests.
    #[cfg(test)]
    fn with_trusted_connection<T>(&self, f: impl FnOnce(&Connection) -> T) -> T {
        let _trusted = self.trusted();
        f(&self.conn)
    }

    /// Closes the database, reporting errors that dropping it would ignore. An open event is
    /// rolled back.
    pub fn close(self) -> Result<(), StorageError> {
        self.conn.close().map_err(|(_, e)| e.into())
    }
}

/// Preparing the host's own statements.
trait HostSql {
    /// `prepare_cached` for SQL written with `internal_sql!` (checked in debug builds).
    fn prepare_host(&self, sql: &str) -> rusqlite::Result<CachedStatement<'_>>;
}

impl HostSql for Connection {
    fn prepare_host(&self, sql: &str) -> rusqlite::Result<CachedStatement<'_>> {
        debug_assert!(
            sql.starts_with(INTERNAL_SQL_TAG),
            "host SQL must start with INTERNAL_SQL_TAG: {sql}"
        );
        self.prepare_cached(sql)
    }
}

/// `max_page_count` for a size limit: whole pages, at least one, at most SQLite's maximum.
fn max_page_count(max_size_bytes: u64) -> u64 {
    const SQLITE_MAX_PAGE_COUNT: u64 = 0xFFFF_FFFE;
    (max_size_bytes / PAGE_SIZE).clamp(1, SQLITE_MAX_PAGE_COUNT)
}
