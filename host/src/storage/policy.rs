//! What user SQL may do: the authorizer and the limits installed on every connection.
//!
//! The host's own statements (the KV methods, the event transaction, savepoints,
//! `deleteAll`, the size query) run *trusted*: the authorizer allows everything while a
//! trusted scope is alive, except inside triggers and views (user code, even when a host
//! statement fires it). Everything else, including statements prepared or re-prepared while
//! stepping user SQL (pragma table-valued functions, FTS5's own queries, `VACUUM`'s internal
//! `ATTACH`), is checked. Untrusted is the default, so host code that forgets to
//! enter a trusted scope fails with `not authorized` instead of running user SQL unchecked.
//!
//! Rules for user SQL, after workerd's `SqliteDatabase::isAuthorized` (Cloudflare's
//! implementation):
//! - Internal tables (names starting with `_cf_` or `__cf_`, in any case; the KV table is
//!   `__cf_kv`) may not be read, written, altered, dropped, indexed, or carry triggers. Their
//!   names are still visible in `sqlite_master` and `PRAGMA table_list`, as on Cloudflare.
//! - No `ATTACH`/`DETACH`, no temporary objects (they would live outside the database file).
//! - Transaction control (`BEGIN`, `COMMIT`, `END`, `ROLLBACK`, `SAVEPOINT`, `RELEASE`) is
//!   denied; the error points to `ctx.storage.transactionSync()` / `transaction()`.
//! - `PRAGMA`: only [`ALLOWED_PRAGMAS`], with their arguments checked.
//! - Functions: all built-ins except [`DENIED_FUNCTIONS`].
//! - Virtual tables: only `fts5` (and `fts5vocab`); FTS5 creates its shadow tables itself.
//!   Reading the `dbstat` table (page-level statistics of every table, internal ones
//!   included) is denied.
//! - `VACUUM` (plain or `INTO '<file>'`) fails: it works by attaching a database, which is
//!   denied (and it could not run inside the event's transaction anyway).
//! - Writes to `sqlite_master`/`sqlite_schema`: the authorizer must allow the `INSERT`,
//!   `UPDATE` and `DELETE` on it that `CREATE`, `ALTER` and `DROP` imply, so direct writes are
//!   refused by SQLite itself (`table sqlite_master may not be modified`), with
//!   `writable_schema` denied and `SQLITE_DBCONFIG_DEFENSIVE` on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rusqlite::Connection;
use rusqlite::config::DbConfig;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::limits::Limit;

/// Longest SQL text accepted in one call, in bytes (`SQLITE_LIMIT_SQL_LENGTH`; Cloudflare's
/// limit).
pub const MAX_SQL_LENGTH: usize = 100_000;

/// The limits set on every connection, as `(limit, value, reason)`. A statement over one of
/// them fails with SQLite's own message (`too many SQL variables`, `string or blob too big`,
/// `LIKE or GLOB pattern too complex`, ...).
pub const LIMITS: &[(Limit, i32, &str)] = &[
    // Cloudflare's maximum string, BLOB or row size; also bounds a KV value.
    (
        Limit::SQLITE_LIMIT_LENGTH,
        2_000_000,
        "Cloudflare's maximum row size",
    ),
    (
        Limit::SQLITE_LIMIT_SQL_LENGTH,
        MAX_SQL_LENGTH as i32,
        "Cloudflare's statement length",
    ),
    (
        Limit::SQLITE_LIMIT_COLUMN,
        100,
        "Cloudflare's columns per table",
    ),
    (
        Limit::SQLITE_LIMIT_EXPR_DEPTH,
        100,
        "workerd's setting; bounds parser recursion",
    ),
    (Limit::SQLITE_LIMIT_COMPOUND_SELECT, 5, "workerd's setting"),
    (
        Limit::SQLITE_LIMIT_FUNCTION_ARG,
        32,
        "Cloudflare's documented arguments per function",
    ),
    (
        Limit::SQLITE_LIMIT_ATTACHED,
        0,
        "one database file per object",
    ),
    (
        Limit::SQLITE_LIMIT_LIKE_PATTERN_LENGTH,
        50,
        "Cloudflare's LIKE/GLOB pattern length",
    ),
    (
        Limit::SQLITE_LIMIT_VARIABLE_NUMBER,
        100,
        "Cloudflare's bound parameters per query",
    ),
    (Limit::SQLITE_LIMIT_TRIGGER_DEPTH, 10, "workerd's setting"),
    (
        Limit::SQLITE_LIMIT_WORKER_THREADS,
        0,
        "no threads behind the object's back",
    ),
];

/// The pragmas user SQL may run, and what each accepts (workerd's list, plus
/// `integrity_check`, which is read-only like `quick_check`). Every other pragma is denied:
/// those touching files, the journal, locking, memory (`cache_size`, `mmap_size`), the size
/// limit (`max_page_count`), the schema (`writable_schema`, `schema_version`) or the SQLite
/// build (`compile_options`, `function_list`, ...).
pub const ALLOWED_PRAGMAS: &[(&str, PragmaArg)] = &[
    ("data_version", PragmaArg::None),
    ("table_list", PragmaArg::Any),
    ("table_info", PragmaArg::Object),
    ("table_xinfo", PragmaArg::Object),
    ("index_info", PragmaArg::Object),
    ("index_xinfo", PragmaArg::Object),
    ("index_list", PragmaArg::Object),
    ("foreign_key_list", PragmaArg::Object),
    ("foreign_key_check", PragmaArg::OptionalObject),
    ("integrity_check", PragmaArg::OptionalNumberOrObject),
    ("quick_check", PragmaArg::OptionalNumberOrObject),
    ("optimize", PragmaArg::OptionalNumber),
    ("case_sensitive_like", PragmaArg::Boolean),
    ("defer_foreign_keys", PragmaArg::Boolean),
    ("foreign_keys", PragmaArg::Boolean),
    ("ignore_check_constraints", PragmaArg::Boolean),
    ("legacy_alter_table", PragmaArg::Boolean),
    ("recursive_triggers", PragmaArg::Boolean),
    ("reverse_unordered_selects", PragmaArg::Boolean),
];

/// SQL functions user SQL may not call: loading native code, file access (shell functions,
/// denied in case a build ever includes them), and `fts3_tokenizer` (returns a pointer).
pub const DENIED_FUNCTIONS: &[&str] = &[
    "load_extension",
    "readfile",
    "writefile",
    "edit",
    "fts3_tokenizer",
];

/// Virtual table modules user SQL may create.
const ALLOWED_MODULES: &[&str] = &["fts5", "fts5vocab"];

/// Tables (eponymous virtual tables) user SQL may not read.
const DENIED_TABLES: &[&str] = &["dbstat", "sqlite_dbpage"];

/// What an allowed pragma accepts after `=` or in parentheses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PragmaArg {
    /// No argument (read only).
    None,
    /// Anything.
    Any,
    /// The name of a table or index that is not internal (required).
    Object,
    /// Like [`PragmaArg::Object`], or nothing.
    OptionalObject,
    /// Nothing, an integer, or the name of a table that is not internal.
    OptionalNumberOrObject,
    /// Nothing or an integer.
    OptionalNumber,
    /// Nothing (to read the value) or a boolean (`on`, `off`, `true`, `false`, `yes`, `no`,
    /// `1`, `0`).
    Boolean,
}

/// Whether `name` belongs to facets: `_cf_*` or `__cf_*`, in any case (SQLite names are
/// case-insensitive).
pub fn is_internal_name(name: &str) -> bool {
    let starts_with = |prefix: &str| {
        name.len() >= prefix.len()
            && name.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
    };
    starts_with("_cf_") || starts_with("__cf_")
}

/// State shared between a [`super::Database`] and its authorizer callback.
#[derive(Debug, Default)]
pub(super) struct AuthState {
    /// Inside a [`Trusted`] scope: allow everything.
    trusted: AtomicBool,
    /// The last denial was of transaction control (for a better message).
    denied_transaction: AtomicBool,
}

impl AuthState {
    /// Whether a transaction statement was denied since the last call; clears the flag.
    pub(super) fn take_transaction_denial(&self) -> bool {
        self.denied_transaction.swap(false, Ordering::Relaxed)
    }
}

/// While alive, statements prepared on the connection are the host's own: the authorizer
/// allows them. Restores the previous mode when dropped.
#[must_use = "the scope ends when this is dropped"]
pub(super) struct Trusted {
    state: Arc<AuthState>,
    previous: bool,
}

impl Trusted {
    /// Enters trusted (`true`) or untrusted (`false`) mode.
    pub(super) fn enter(state: &Arc<AuthState>, trusted: bool) -> Trusted {
        let previous = state.trusted.swap(trusted, Ordering::Relaxed);
        Trusted {
            state: Arc::clone(state),
            previous,
        }
    }
}

impl Drop for Trusted {
    fn drop(&mut self) {
        self.state.trusted.store(self.previous, Ordering::Relaxed);
    }
}

/// Installs the limits, defensive mode and the authorizer on `conn`.
pub(super) fn install(conn: &mut Connection, state: &Arc<AuthState>) -> rusqlite::Result<()> {
    for &(limit, value, _reason) in LIMITS {
        conn.set_limit(limit, value)?;
    }
    // Defensive mode: no writable_schema tricks, no writes to shadow tables of virtual
    // tables (FTS5's, except through FTS5), no corrupting the database file by SQL.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    let state = Arc::clone(state);
    conn.authorizer(Some(move |ctx: AuthContext<'_>| authorize(&state, &ctx)))
}

fn authorize(state: &AuthState, ctx: &AuthContext<'_>) -> Authorization {
    // The host uses no triggers or views: one running inside a host statement is user code
    // (a trigger fired by a foreign key action, say) and is checked like user SQL.
    if state.trusted.load(Ordering::Relaxed) && ctx.accessor.is_none() {
        return Authorization::Allow;
    }
    // For ALTER TABLE, SQLite passes the schema name as the action's first argument and
    // uses the database name slot for the column name (of `DROP COLUMN`).
    let database_name = match ctx.action {
        AuthAction::AlterTable { database_name, .. } => Some(database_name),
        _ => ctx.database_name,
    };
    let allowed = match database_name {
        None | Some("main") => allow_action(state, &ctx.action),
        // Only what reading the (always empty) temp schema needs.
        Some("temp") => match ctx.action {
            AuthAction::Read { table_name, .. } | AuthAction::Update { table_name, .. } => {
                !is_internal_name(table_name)
            }
            _ => false,
        },
        Some(_) => false,
    };
    if allowed {
        Authorization::Allow
    } else {
        Authorization::Deny
    }
}

fn allow_action(state: &AuthState, action: &AuthAction<'_>) -> bool {
    let allowed_name = |name: &str| !is_internal_name(name);
    match *action {
        AuthAction::Select | AuthAction::Recursive => true,
        AuthAction::Read { table_name, .. } => {
            allowed_name(table_name)
                && !DENIED_TABLES
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(table_name))
        }
        AuthAction::Insert { table_name }
        | AuthAction::Delete { table_name }
        | AuthAction::Update { table_name, .. }
        | AuthAction::CreateTable { table_name }
        | AuthAction::DropTable { table_name }
        | AuthAction::AlterTable { table_name, .. } => allowed_name(table_name),
        AuthAction::CreateView { view_name } | AuthAction::DropView { view_name } => {
            allowed_name(view_name)
        }
        AuthAction::CreateIndex {
            index_name,
            table_name,
        }
        | AuthAction::DropIndex {
            index_name,
            table_name,
        } => allowed_name(index_name) && allowed_name(table_name),
        AuthAction::CreateTrigger {
            trigger_name,
            table_name,
        }
        | AuthAction::DropTrigger {
            trigger_name,
            table_name,
        } => allowed_name(trigger_name) && allowed_name(table_name),
        AuthAction::Reindex { index_name } => allowed_name(index_name),
        // `PRAGMA optimize` runs ANALYZE on every table; statistics hold no table content.
        AuthAction::Analyze { .. } => true,
        AuthAction::CreateVtable {
            table_name,
            module_name,
        }
        | AuthAction::DropVtable {
            table_name,
            module_name,
        } => {
            allowed_name(table_name)
                && ALLOWED_MODULES
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(module_name))
        }
        AuthAction::Function { function_name } => !DENIED_FUNCTIONS
            .iter()
            .any(|f| f.eq_ignore_ascii_case(function_name)),
        AuthAction::Pragma {
            pragma_name,
            pragma_value,
        } => allow_pragma(pragma_name, pragma_value),
        AuthAction::Transaction { .. } | AuthAction::Savepoint { .. } => {
            state.denied_transaction.store(true, Ordering::Relaxed);
            false
        }
        // ATTACH, DETACH, temporary objects, and anything this list does not know.
        _ => false,
    }
}

fn allow_pragma(name: &str, arg: Option<&str>) -> bool {
    let Some(&(_, kind)) = ALLOWED_PRAGMAS
        .iter()
        .find(|(allowed, _)| allowed.eq_ignore_ascii_case(name))
    else {
        return false;
    };
    let object = |name: &str| !is_internal_name(name);
    match (kind, arg) {
        (PragmaArg::Any, _) => true,
        (PragmaArg::None, arg) => arg.is_none(),
        (PragmaArg::Object, arg) => arg.is_some_and(object),
        (
            PragmaArg::OptionalObject
            | PragmaArg::OptionalNumberOrObject
            | PragmaArg::OptionalNumber
            | PragmaArg::Boolean,
            None,
        ) => true,
        (PragmaArg::OptionalObject, Some(arg)) => object(arg),
        (PragmaArg::OptionalNumberOrObject, Some(arg)) => is_integer(arg) || object(arg),
        (PragmaArg::OptionalNumber, Some(arg)) => is_integer(arg),
        (PragmaArg::Boolean, Some(arg)) => is_boolean(arg),
    }
}

/// A decimal or `0x` hexadecimal integer, optionally signed.
fn is_integer(arg: &str) -> bool {
    let digits = arg.strip_prefix(['-', '+']).unwrap_or(arg);
    match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        None => !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// One of the spellings SQLite accepts for a boolean pragma value (quotes already removed
/// by SQLite, but accepted too).
fn is_boolean(arg: &str) -> bool {
    let arg = arg.trim_matches(|c| c == '\'' || c == '"');
    ["on", "off", "true", "false", "yes", "no", "1", "0"]
        .iter()
        .any(|b| b.eq_ignore_ascii_case(arg))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn internal_names_are_recognized_in_any_case() {
        for name in ["_cf_KV", "__cf_kv", "__CF_KV", "_CF_x", "__cf_", "_cf_"] {
            assert!(is_internal_name(name), "{name}");
        }
        for name in ["cf_kv", "_cfkv", "t", "", "_c", "x__cf_kv", "é_cf_"] {
            assert!(!is_internal_name(name), "{name}");
        }
    }

    #[test]
    fn pragma_arguments_are_checked() {
        assert!(allow_pragma("table_info", Some("t")));
        assert!(allow_pragma("TABLE_INFO", Some("t")));
        assert!(!allow_pragma("table_info", Some("__cf_kv")));
        assert!(!allow_pragma("table_info", None));
        assert!(allow_pragma("foreign_keys", None));
        assert!(allow_pragma("foreign_keys", Some("OFF")));
        assert!(allow_pragma("foreign_keys", Some("'on'")));
        assert!(!allow_pragma("foreign_keys", Some("2")));
        assert!(allow_pragma("data_version", None));
        assert!(!allow_pragma("data_version", Some("1")));
        assert!(allow_pragma("quick_check", Some("10")));
        assert!(allow_pragma("quick_check", Some("t")));
        assert!(!allow_pragma("quick_check", Some("_cf_x")));
        assert!(allow_pragma("optimize", Some("0x10002")));
        assert!(!allow_pragma("optimize", Some("x")));
        for denied in [
            "journal_mode",
            "writable_schema",
            "mmap_size",
            "cache_size",
            "max_page_count",
            "locking_mode",
            "synchronous",
            "page_size",
            "temp_store",
            "wal_checkpoint",
            "schema_version",
            "compile_options",
        ] {
            assert!(!allow_pragma(denied, None), "{denied}");
            assert!(!allow_pragma(denied, Some("1")), "{denied}");
        }
    }
}
