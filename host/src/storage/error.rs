//! [`StorageError`]: what went wrong, in words that can be shown to JavaScript.

use std::path::PathBuf;

use rusqlite::ffi;

/// An error reported by SQLite: its message and the name of its (primary) result code.
///
/// Displayed as `message: CODE`, e.g. `database or disk is full: SQLITE_FULL` or
/// `UNIQUE constraint failed: t.id: SQLITE_CONSTRAINT`, the way Cloudflare shows SQLite
/// errors to JavaScript.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}: {code}")]
pub struct SqliteError {
    /// The primary result code's name, e.g. `SQLITE_FULL`.
    pub code: &'static str,
    /// The extended result code, e.g. 1555 for `SQLITE_CONSTRAINT_PRIMARYKEY`.
    pub extended_code: i32,
    /// SQLite's message for it (`sqlite3_errmsg`).
    pub message: String,
}

impl SqliteError {
    /// An error with primary code `code` (e.g. `ffi::SQLITE_RANGE`) and its own message.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        SqliteError {
            code: code_name(code),
            extended_code: code,
            message: message.into(),
        }
    }

    /// Whether the primary result code is `code` (e.g. `ffi::SQLITE_FULL`).
    pub fn is(&self, code: i32) -> bool {
        self.extended_code & 0xff == code
    }
}

impl From<rusqlite::Error> for SqliteError {
    fn from(err: rusqlite::Error) -> Self {
        match err {
            rusqlite::Error::SqliteFailure(e, message) => SqliteError {
                code: code_name(e.extended_code),
                extended_code: e.extended_code,
                message: message.unwrap_or_else(|| ffi::code_to_str(e.extended_code).to_owned()),
            },
            // Cloudflare's wording: `near "SELEC": syntax error at offset 0: SQLITE_ERROR`
            // (rusqlite's Display also quotes the whole statement).
            rusqlite::Error::SqlInputError {
                error, msg, offset, ..
            } => SqliteError {
                code: code_name(error.extended_code),
                extended_code: error.extended_code,
                message: format!("{msg} at offset {offset}"),
            },
            // Errors raised by rusqlite itself (type conversions, misuse): bugs on our side,
            // reported as SQLite's generic error.
            other => SqliteError {
                code: "SQLITE_ERROR",
                extended_code: ffi::SQLITE_ERROR,
                message: other.to_string(),
            },
        }
    }
}

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// SQLite refused the operation (full, constraint, I/O error, ...).
    #[error(transparent)]
    Sqlite(#[from] SqliteError),

    /// The host refused to create the database (e.g. the namespace's object limit).
    #[error("{0}")]
    Refused(String),

    #[error("cannot create the directory of database {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot open database {}: {source}", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: SqliteError,
    },

    /// The database file itself could not be opened (to lock it).
    #[error("cannot open database {}: {source}", path.display())]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Another connection (in this process or another) holds the file.
    #[error(
        "database {} is in use by another process or connection; each database belongs to \
         one facets process: stop the other one, or give this one its own data directory",
        path.display()
    )]
    Locked { path: PathBuf },

    #[error(
        "database {}: could not switch it to WAL journal mode (it is in {mode:?} mode); \
         keep the data directory on a local file system",
        path.display()
    )]
    NotWal { path: PathBuf, mode: String },

    /// A bug in the caller: events do not nest.
    #[error("cannot begin an event: the previous event's transaction is still open")]
    EventAlreadyOpen,

    /// A bug in the caller: commit or rollback without `begin_event`.
    #[error("cannot {operation} an event: no event transaction is open")]
    NoEvent { operation: &'static str },

    /// A bug in the caller: an event cannot start while a transaction opened outside one
    /// ([`super::Database::transaction_begin`]) is still open.
    #[error("cannot begin an event: a transaction (transactionSync) is still open")]
    TransactionStillOpen,

    /// A bug in the caller: commit or rollback without `transaction_begin`.
    #[error("cannot {operation} a transaction: no transaction is open")]
    NoTransaction { operation: &'static str },

    /// SQLite rolled back the whole transaction after an error (`SQLITE_FULL`,
    /// `SQLITE_IOERR`, ...), the savepoint included.
    #[error(
        "the transaction's writes were discarded: SQLite rolled back the enclosing \
         transaction after an earlier error"
    )]
    TransactionAborted,

    /// The rows of a query would not fit in the result size limit.
    #[error(
        "the result of the SQL query is larger than the limit of {limit} bytes; select fewer \
         rows (LIMIT) or smaller columns"
    )]
    ResultTooLarge { limit: usize },

    /// SQLite rolled the event's transaction back by itself after an error (this can happen
    /// on `SQLITE_FULL`, `SQLITE_IOERR`, `SQLITE_NOMEM`): nothing of the event was stored.
    #[error(
        "the event's writes were discarded: SQLite rolled back its transaction after an \
         earlier error"
    )]
    EventAborted,
}

impl From<rusqlite::Error> for StorageError {
    fn from(err: rusqlite::Error) -> Self {
        StorageError::Sqlite(err.into())
    }
}

impl StorageError {
    /// The SQLite error inside, if any.
    pub fn sqlite(&self) -> Option<&SqliteError> {
        match self {
            StorageError::Sqlite(e) | StorageError::Open { source: e, .. } => Some(e),
            _ => None,
        }
    }
}

/// The name of the primary code of a (possibly extended) result code: extended codes keep
/// their primary code in the low byte, so `SQLITE_IOERR_FSYNC` (1034) → `SQLITE_IOERR`.
pub(super) fn code_name(code: i32) -> &'static str {
    match code & 0xff {
        ffi::SQLITE_OK => "SQLITE_OK",
        ffi::SQLITE_ERROR => "SQLITE_ERROR",
        ffi::SQLITE_INTERNAL => "SQLITE_INTERNAL",
        ffi::SQLITE_PERM => "SQLITE_PERM",
        ffi::SQLITE_ABORT => "SQLITE_ABORT",
        ffi::SQLITE_BUSY => "SQLITE_BUSY",
        ffi::SQLITE_LOCKED => "SQLITE_LOCKED",
        ffi::SQLITE_NOMEM => "SQLITE_NOMEM",
        ffi::SQLITE_READONLY => "SQLITE_READONLY",
        ffi::SQLITE_INTERRUPT => "SQLITE_INTERRUPT",
        ffi::SQLITE_IOERR => "SQLITE_IOERR",
        ffi::SQLITE_CORRUPT => "SQLITE_CORRUPT",
        ffi::SQLITE_NOTFOUND => "SQLITE_NOTFOUND",
        ffi::SQLITE_FULL => "SQLITE_FULL",
        ffi::SQLITE_CANTOPEN => "SQLITE_CANTOPEN",
        ffi::SQLITE_PROTOCOL => "SQLITE_PROTOCOL",
        ffi::SQLITE_EMPTY => "SQLITE_EMPTY",
        ffi::SQLITE_SCHEMA => "SQLITE_SCHEMA",
        ffi::SQLITE_TOOBIG => "SQLITE_TOOBIG",
        ffi::SQLITE_CONSTRAINT => "SQLITE_CONSTRAINT",
        ffi::SQLITE_MISMATCH => "SQLITE_MISMATCH",
        ffi::SQLITE_MISUSE => "SQLITE_MISUSE",
        ffi::SQLITE_NOLFS => "SQLITE_NOLFS",
        ffi::SQLITE_AUTH => "SQLITE_AUTH",
        ffi::SQLITE_FORMAT => "SQLITE_FORMAT",
        ffi::SQLITE_RANGE => "SQLITE_RANGE",
        ffi::SQLITE_NOTADB => "SQLITE_NOTADB",
        ffi::SQLITE_NOTICE => "SQLITE_NOTICE",
        ffi::SQLITE_WARNING => "SQLITE_WARNING",
        ffi::SQLITE_ROW => "SQLITE_ROW",
        ffi::SQLITE_DONE => "SQLITE_DONE",
        _ => "SQLITE_ERROR",
    }
}
