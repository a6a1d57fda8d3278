//! An instance's database, opened when its code first uses storage: an
//! object that never stores anything costs no file, no connection and no
//! start-up time (opening a new file, switching it to WAL and creating the
//! kv table is the largest part of a new object's storage cost).
//!
//! A facet whose code is expected to store has its database opened *ahead*:
//! on a blocking thread, from the moment the facet starts, while its instance
//! is made and its code loaded on this one (see [`Storage::ahead`]). If its
//! first event did not store after all, what the open made is removed again.

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
    Unopened { path: PathBuf, options: StorageOptions, in_event: bool, admit: Option<Admit>, ahead: Option<Ahead> },
    Open(Database),
}

impl Storage {
    /// The database at `path`, opened on first use, once `admit` allows it.
    pub fn lazy(path: PathBuf, options: StorageOptions, admit: Admit) -> Storage {
        Storage::Unopened { path, options, in_event: false, admit: Some(admit), ahead: None }
    }

    /// The database at `path`, opened now on a blocking thread of the tokio
    /// runtime (a facet's: no admission), taken by the first use. Unless
    /// taken, [`Storage::settle_ahead`] (after the facet's first event) or
    /// dropping this closes it and removes the file and folders the open made.
    pub fn ahead(path: PathBuf, options: StorageOptions) -> Storage {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let (p, o) = (path.clone(), options.clone());
        tokio::task::spawn_blocking(move || {
            let made = missing_dirs(&p);
            let existed = p.exists();
            let _ = tx.send(Opened { db: open_waiting(&p, &o), made, existed });
        });
        Storage::Unopened { path, options, in_event: false, admit: None, ahead: Some(Ahead { rx: Some(rx) }) }
    }

    /// Whether a database opened ahead is still waiting to be used.
    pub fn has_ahead(&self) -> bool {
        matches!(self, Storage::Unopened { ahead: Some(_), .. })
    }

    /// Gives up a database opened ahead and not used: it is closed and, if
    /// the open made it, removed with the folders made for it. `true` if
    /// there was one (the code did not store, contrary to the guess).
    pub fn settle_ahead(&mut self) -> bool {
        match self {
            Storage::Unopened { ahead, .. } => ahead.take().is_some(),
            _ => false,
        }
    }

    /// The database, opening it now if it is not open yet; `None` for an
    /// instance without storage.
    pub fn database(&mut self) -> Option<Result<&mut Database, StorageError>> {
        if let Storage::Unopened { path, options, in_event, admit, ahead } = self {
            if let Some(admit) = admit
                && let Err(refused) = admit()
            {
                return Some(Err(StorageError::Refused(refused)));
            }
            // Opened ahead: its result, whatever it is (an error is tried
            // again here, where it reaches the code).
            let opened = match ahead.take().and_then(Ahead::take) {
                Some(Ok(db)) => Ok(db),
                _ => open_waiting(path, options),
            };
            let mut db = match opened {
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

/// A database being opened ahead (see [`Storage::ahead`]).
pub struct Ahead {
    rx: Option<std::sync::mpsc::Receiver<Opened>>,
}

/// What an open ahead did.
struct Opened {
    db: Result<Database, StorageError>,
    /// The folders it made (missing when it began), outermost first.
    made: Vec<PathBuf>,
    /// Whether the file was there before.
    existed: bool,
}

impl Ahead {
    /// Waits for the open's result (the database is then the caller's).
    fn take(mut self) -> Option<Result<Database, StorageError>> {
        Some(self.rx.take()?.recv().ok()?.db)
    }
}

impl Drop for Ahead {
    /// Not taken: waits for the open (an open's time; longer only if
    /// `open_waiting` waits for a lock), closes the database and removes
    /// what the open made, so that a facet that does not store leaves
    /// nothing behind.
    fn drop(&mut self) {
        let Some(rx) = self.rx.take() else { return };
        let Ok(Opened { db: Ok(db), made, existed }) = rx.recv() else { return };
        let path = db.path().to_path_buf();
        drop(db);
        if existed {
            return;
        }
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        for dir in made.iter().rev() {
            // Only if empty: something else may have been put there meanwhile.
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// The folders above `path` that do not exist yet, outermost first.
fn missing_dirs(path: &std::path::Path) -> Vec<PathBuf> {
    let mut missing: Vec<PathBuf> = path
        .ancestors()
        .skip(1)
        .take_while(|d| !d.as_os_str().is_empty() && !d.is_dir())
        .map(std::path::Path::to_path_buf)
        .collect();
    missing.reverse();
    missing
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
