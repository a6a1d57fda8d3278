//! An instance's database, opened when its code first uses storage: an
//! object that never stores anything costs no file, no connection and no
//! start-up time (opening a new file, switching it to WAL and creating the
//! kv table is the largest part of a new object's storage cost).

use std::path::PathBuf;
use std::time::Duration;

use super::{Database, StorageError, StorageOptions};

/// Asked before a database is opened; an `Err` (its message) refuses it
/// (the namespace's object limit), and it is asked again on the next use.
pub type Admit = Box<dyn Fn() -> Result<(), String> + Send>;

/// What an instance has for storage.
pub enum Storage {
    /// None at all: the stateless worker (and tools that only compile code).
    None,
    /// A database at `path`, not opened yet. `in_event`: an event is open, so
    /// the database begins one as soon as it opens.
    Unopened { path: PathBuf, options: StorageOptions, in_event: bool, admit: Option<Admit> },
    Open(Database),
}

impl Storage {
    /// The database at `path`, opened on first use, once `admit` allows it.
    pub fn lazy(path: PathBuf, options: StorageOptions, admit: Admit) -> Storage {
        Storage::Unopened { path, options, in_event: false, admit: Some(admit) }
    }

    /// The database, opening it now if it is not open yet; `None` for an
    /// instance without storage.
    pub fn database(&mut self) -> Option<Result<&mut Database, StorageError>> {
        if let Storage::Unopened { path, options, in_event, admit } = self {
            if let Some(admit) = admit
                && let Err(refused) = admit()
            {
                return Some(Err(StorageError::Refused(refused)));
            }
            let mut db = match open_waiting(path, options) {
                Ok(db) => db,
                Err(e) => return Some(Err(e)),
            };
            if *in_event && let Err(e) = db.begin_event() {
                return Some(Err(e));
            }
            *self = Storage::Open(db);
        }
        match self {
            Storage::Open(db) => Some(Ok(db)),
            _ => None,
        }
    }

    /// Whether the database is still to be opened (on first use).
    pub fn is_unopened(&self) -> bool {
        matches!(self, Storage::Unopened { .. })
    }

    /// The database if it is open.
    pub fn opened(&self) -> Option<&Database> {
        match self {
            Storage::Open(db) => Some(db),
            _ => None,
        }
    }

    /// Starts an event: its writes commit (or roll back) together.
    pub fn begin_event(&mut self) -> Result<(), StorageError> {
        self.event(true, Database::begin_event)
    }

    /// Commits the event (see [`Database::commit_event`]).
    pub fn commit_event(&mut self) -> Result<(), StorageError> {
        self.event(false, Database::commit_event)
    }

    /// Discards the event's writes (see [`Database::rollback_event`]).
    pub fn rollback_event(&mut self) -> Result<(), StorageError> {
        self.event(false, Database::rollback_event)
    }

    /// `step` on an open database; else only whether an event is open.
    fn event(&mut self, open: bool, step: fn(&mut Database) -> Result<(), StorageError>) -> Result<(), StorageError> {
        match self {
            Storage::Open(db) => step(db),
            Storage::Unopened { in_event, .. } => {
                *in_event = open;
                Ok(())
            }
            Storage::None => Ok(()),
        }
    }
}

/// Opens a database, waiting up to a second while another connection still
/// holds it (an evicted instance of the same object that is closing).
fn open_waiting(path: &std::path::Path, options: &StorageOptions) -> Result<Database, StorageError> {
    let mut attempts = 0;
    loop {
        match Database::open(path, options) {
            Err(StorageError::Locked { .. }) if attempts < 200 => {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            other => return other,
        }
    }
}
