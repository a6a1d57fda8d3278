//! Metering for billing: what each object and facet used, kept durably in a
//! host-level SQLite database (`usage.sqlite` in the data directory).
//!
//! Events add to counters in memory ([`Usage::record`]); a background task
//! writes them out in one transaction every second ([`Usage::flush`]), and
//! once more at shutdown. Nothing is written on the request path.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use anyhow::{Context, Result};
use serde::Serialize;

/// What one instance (or one event) used. Added up per object and facet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub requests: u64,
    /// Events that failed (exception, limit, trap).
    pub errors: u64,
    pub cpu_ms: u64,
    pub wall_ms: u64,
    pub rows_read: u64,
    pub rows_written: u64,
    pub subrequests: u64,
    pub instance_starts: u64,
}

impl Counters {
    pub fn add(&mut self, other: &Counters) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.cpu_ms += other.cpu_ms;
        self.wall_ms += other.wall_ms;
        self.rows_read += other.rows_read;
        self.rows_written += other.rows_written;
        self.subrequests += other.subrequests;
        self.instance_starts += other.instance_starts;
    }

    /// Takes the counters, leaving zeros.
    pub fn take(&mut self) -> Counters {
        std::mem::take(self)
    }
}

/// Whose usage: the namespace (class), the object (its name, or id) and the
/// facet path (`""` for the object itself, `a/b` for facet b of facet a).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub namespace: String,
    pub object: String,
    pub facet: String,
}

/// One row of `GET /usage`.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    pub namespace: String,
    pub object: String,
    pub facet: String,
    #[serde(flatten)]
    pub counters: Counters,
    /// The database's size when last measured.
    pub storage_bytes: u64,
}

#[derive(Default)]
struct Pending {
    counters: Counters,
    storage_bytes: Option<u64>,
}

fn column_u64(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<u64> {
    r.get::<_, i64>(i).map(|v| v as u64)
}

/// The counters in columns `first..first + 8`, in the table's order.
fn counters_at(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Counters> {
    let n = |k: usize| column_u64(r, first + k);
    Ok(Counters {
        requests: n(0)?,
        errors: n(1)?,
        cpu_ms: n(2)?,
        wall_ms: n(3)?,
        rows_read: n(4)?,
        rows_written: n(5)?,
        subrequests: n(6)?,
        instance_starts: n(7)?,
    })
}

/// The usage database and the counters not yet written to it.
pub struct Usage {
    db: Mutex<rusqlite::Connection>,
    pending: Mutex<HashMap<Key, Pending>>,
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS usage (
    namespace TEXT NOT NULL, object TEXT NOT NULL, facet TEXT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0,
    cpu_ms INTEGER NOT NULL DEFAULT 0, wall_ms INTEGER NOT NULL DEFAULT 0,
    rows_read INTEGER NOT NULL DEFAULT 0, rows_written INTEGER NOT NULL DEFAULT 0,
    subrequests INTEGER NOT NULL DEFAULT 0, instance_starts INTEGER NOT NULL DEFAULT 0,
    storage_bytes INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (namespace, object, facet)
) WITHOUT ROWID";

impl Usage {
    /// Opens (or creates) `dir/usage.sqlite`.
    pub fn open(dir: &Path) -> Result<Usage> {
        let path = dir.join("usage.sqlite");
        let db = rusqlite::Connection::open(&path).with_context(|| format!("opening the usage database {}", path.display()))?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "NORMAL")?;
        db.execute_batch(SCHEMA).context("creating the usage table")?;
        Ok(Usage { db: Mutex::new(db), pending: Mutex::new(HashMap::new()) })
    }

    /// Adds `counters` to `key`'s usage (in memory until the next flush).
    pub fn record(&self, key: Key, counters: Counters, storage_bytes: Option<u64>) {
        let mut pending = self.pending.lock().expect("usage lock");
        let entry = pending.entry(key).or_default();
        entry.counters.add(&counters);
        if storage_bytes.is_some() {
            entry.storage_bytes = storage_bytes;
        }
    }

    /// Writes the pending counters in one transaction.
    pub fn flush(&self) -> Result<()> {
        let pending = std::mem::take(&mut *self.pending.lock().expect("usage lock"));
        if pending.is_empty() {
            return Ok(());
        }
        let mut db = self.db.lock().expect("usage db lock");
        let tx = db.transaction()?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO usage (namespace, object, facet, requests, errors, cpu_ms, wall_ms, rows_read, rows_written,
                     subrequests, instance_starts, storage_bytes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, coalesce(?12, 0))
                 ON CONFLICT (namespace, object, facet) DO UPDATE SET
                     requests = requests + ?4, errors = errors + ?5, cpu_ms = cpu_ms + ?6, wall_ms = wall_ms + ?7,
                     rows_read = rows_read + ?8, rows_written = rows_written + ?9, subrequests = subrequests + ?10,
                     instance_starts = instance_starts + ?11, storage_bytes = coalesce(?12, storage_bytes)",
            )?;
            for (k, p) in &pending {
                let c = &p.counters;
                upsert.execute(rusqlite::params![
                    k.namespace,
                    k.object,
                    k.facet,
                    c.requests as i64,
                    c.errors as i64,
                    c.cpu_ms as i64,
                    c.wall_ms as i64,
                    c.rows_read as i64,
                    c.rows_written as i64,
                    c.subrequests as i64,
                    c.instance_starts as i64,
                    p.storage_bytes.map(|b| b as i64),
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The usage of every object (and facet) matching the filters, including
    /// what is not flushed yet.
    pub fn query(&self, namespace: Option<&str>, object: Option<&str>) -> Result<Vec<Row>> {
        self.flush()?;
        let db = self.db.lock().expect("usage db lock");
        let mut stmt = db.prepare_cached(
            "SELECT namespace, object, facet, requests, errors, cpu_ms, wall_ms, rows_read, rows_written,
                    subrequests, instance_starts, storage_bytes
             FROM usage WHERE (?1 IS NULL OR namespace = ?1) AND (?2 IS NULL OR object = ?2)
             ORDER BY namespace, object, facet",
        )?;
        let rows = stmt.query_map(rusqlite::params![namespace, object], |r| {
            Ok(Row {
                namespace: r.get(0)?,
                object: r.get(1)?,
                facet: r.get(2)?,
                counters: counters_at(r, 3)?,
                storage_bytes: column_u64(r, 11)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The usage of one object or facet: what is stored plus what is pending
    /// (nothing is written).
    pub fn get(&self, key: &Key) -> Result<Option<Row>> {
        let stored = {
            let db = self.db.lock().expect("usage db lock");
            let mut stmt = db.prepare_cached(
                "SELECT requests, errors, cpu_ms, wall_ms, rows_read, rows_written, subrequests, instance_starts, storage_bytes
                 FROM usage WHERE namespace = ?1 AND object = ?2 AND facet = ?3",
            )?;
            let mut rows = stmt.query(rusqlite::params![key.namespace, key.object, key.facet])?;
            match rows.next()? {
                None => None,
                Some(r) => Some((counters_at(r, 0)?, column_u64(r, 8)?)),
            }
        };
        let pending = self.pending.lock().expect("usage lock");
        let waiting = pending.get(key);
        if stored.is_none() && waiting.is_none() {
            return Ok(None);
        }
        let (mut counters, mut storage_bytes) = stored.unwrap_or_default();
        if let Some(p) = waiting {
            counters.add(&p.counters);
            storage_bytes = p.storage_bytes.unwrap_or(storage_bytes);
        }
        Ok(Some(Row {
            namespace: key.namespace.clone(),
            object: key.object.clone(),
            facet: key.facet.clone(),
            counters,
            storage_bytes,
        }))
    }

    /// The usage of the facets of one object (`facet` not empty).
    pub fn facets_of(&self, namespace: &str, object: &str) -> Result<Vec<Row>> {
        Ok(self.query(Some(namespace), Some(object))?.into_iter().filter(|r| !r.facet.is_empty()).collect())
    }

    /// Total storage bytes last measured, for the metrics.
    pub fn storage_bytes(&self) -> u64 {
        let db = self.db.lock().expect("usage db lock");
        let flushed: i64 = db.query_row("SELECT coalesce(sum(storage_bytes), 0) FROM usage", [], |r| r.get(0)).unwrap_or(0);
        flushed as u64
    }
}

/// Flushes `usage` every `interval` until the returned handle is dropped or aborted.
pub fn spawn_flusher(usage: std::sync::Arc<Usage>, interval: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let u = usage.clone();
            match tokio::task::spawn_blocking(move || u.flush()).await {
                Ok(Err(e)) => tracing::warn!("writing the usage database failed: {e:#}"),
                Err(e) => tracing::warn!("writing the usage database failed: {e}"),
                Ok(Ok(())) => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(object: &str, facet: &str) -> Key {
        Key { namespace: "Ns".into(), object: object.into(), facet: facet.into() }
    }

    #[test]
    fn counters_add_up_across_flushes_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let usage = Usage::open(dir.path()).unwrap();
            usage.record(key("a", ""), Counters { requests: 1, cpu_ms: 5, ..Default::default() }, Some(4096));
            usage.flush().unwrap();
            usage.record(key("a", ""), Counters { requests: 2, rows_written: 3, ..Default::default() }, None);
            usage.record(key("a", "f"), Counters { requests: 1, ..Default::default() }, None);
            usage.record(key("b", ""), Counters { requests: 7, ..Default::default() }, None);
            usage.flush().unwrap();
        }
        let usage = Usage::open(dir.path()).unwrap();
        let rows = usage.query(Some("Ns"), Some("a")).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].facet.as_str(), rows[0].counters.requests, rows[0].counters.cpu_ms), ("", 3, 5));
        assert_eq!((rows[0].counters.rows_written, rows[0].storage_bytes), (3, 4096));
        assert_eq!((rows[1].facet.as_str(), rows[1].counters.requests), ("f", 1));
        assert_eq!(usage.query(None, None).unwrap().len(), 3);
        assert_eq!(usage.facets_of("Ns", "a").unwrap().len(), 1);
    }
}
