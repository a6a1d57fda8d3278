//! The KV table behind `ctx.storage.kv`: `__cf_kv (key TEXT PRIMARY KEY, value BLOB)`.
//!
//! Its statements are the host's own: they run trusted, past the SQL API's authorizer.
//!
//! Keys compare in UTF-8 byte order (SQLite's BINARY collation), which is also Unicode code
//! point order, as on Cloudflare.

use std::cmp::Ordering;

use rusqlite::types::ValueRef;

use super::{Database, HostSql, StorageError};

/// Which keys [`Database::kv_list`] returns. All options compose: the keys returned are
/// those satisfying every bound given, in ascending order (descending with `reverse`), at
/// most `limit` of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KvListOptions {
    /// Only keys starting with this.
    pub prefix: Option<String>,
    /// Only keys `>=` this.
    pub start: Option<String>,
    /// Only keys `>` this.
    pub start_after: Option<String>,
    /// Only keys `<` this.
    pub end: Option<String>,
    /// Descending order. The bounds keep their meaning (`start` is still the smallest key),
    /// and `limit` counts from the largest key.
    pub reverse: bool,
    /// At most this many entries.
    pub limit: Option<u32>,
}

/// A lower bound on keys.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Lower {
    key: String,
    inclusive: bool,
}

impl Database {
    /// The value stored under `key`, if any.
    pub fn kv_get(&mut self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let _trusted = self.trusted();
        let mut stmt = self
            .conn
            .prepare_host(internal_sql!("SELECT value FROM __cf_kv WHERE key = ?1"))?;
        let mut rows = stmt.query([key])?;
        match rows.next()? {
            Some(row) => Ok(Some(value_bytes(row.get_ref(0)?))),
            None => Ok(None),
        }
    }

    /// Stores `value` under `key`, replacing any previous value.
    pub fn kv_put(&mut self, key: &str, value: &[u8]) -> Result<(), StorageError> {
        self.check_transaction_intact()?;
        let _trusted = self.trusted();
        self.conn
            .prepare_host(internal_sql!(
                "INSERT INTO __cf_kv (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            ))?
            .execute(rusqlite::params![key, value])?;
        Ok(())
    }

    /// Deletes `key`; whether it existed.
    pub fn kv_delete(&mut self, key: &str) -> Result<bool, StorageError> {
        self.check_transaction_intact()?;
        let _trusted = self.trusted();
        let deleted = self
            .conn
            .prepare_host(internal_sql!("DELETE FROM __cf_kv WHERE key = ?1"))?
            .execute([key])?;
        Ok(deleted > 0)
    }

    /// The entries selected by `opts`, in key order (reversed with `opts.reverse`).
    pub fn kv_list(
        &mut self,
        opts: &KvListOptions,
    ) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        // Fold all bounds into at most one lower and one upper bound, so that there are few
        // distinct statements to cache and SQLite walks one range of the primary key.
        let mut lower: Option<Lower> = None;
        let mut upper: Option<String> = None; // exclusive
        let mut tighten_lower = |candidate: Lower| {
            lower = Some(match lower.take() {
                Some(current) if !is_tighter(&candidate, &current) => current,
                _ => candidate,
            });
        };
        if let Some(prefix) = &opts.prefix {
            tighten_lower(Lower {
                key: prefix.clone(),
                inclusive: true,
            });
        }
        if let Some(start) = &opts.start {
            tighten_lower(Lower {
                key: start.clone(),
                inclusive: true,
            });
        }
        if let Some(after) = &opts.start_after {
            tighten_lower(Lower {
                key: after.clone(),
                inclusive: false,
            });
        }
        let mut tighten_upper = |candidate: String| {
            if upper
                .as_ref()
                .is_none_or(|current| candidate.as_bytes() < current.as_bytes())
            {
                upper = Some(candidate);
            }
        };
        if let Some(successor) = opts.prefix.as_deref().and_then(prefix_successor) {
            tighten_upper(successor);
        }
        if let Some(end) = &opts.end {
            tighten_upper(end.clone());
        }

        let mut sql = String::from(internal_sql!("SELECT key, value FROM __cf_kv"));
        let mut params: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(3);
        let mut clause = " WHERE";
        if let Some(lower) = &lower {
            sql.push_str(clause);
            sql.push_str(if lower.inclusive {
                " key >= ?"
            } else {
                " key > ?"
            });
            params.push(&lower.key);
            clause = " AND";
        }
        if let Some(upper) = &upper {
            sql.push_str(clause);
            sql.push_str(" key < ?");
            params.push(upper);
        }
        sql.push_str(if opts.reverse {
            " ORDER BY key DESC"
        } else {
            " ORDER BY key"
        });
        // A negative LIMIT means none in SQLite; keeps the statement count down.
        let limit = opts.limit.map_or(-1, i64::from);
        sql.push_str(" LIMIT ?");
        params.push(&limit);

        let _trusted = self.trusted();
        let mut stmt = self.conn.prepare_host(&sql)?;
        let mut rows = stmt.query(params.as_slice())?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let key: String = row.get(0)?;
            out.push((key, value_bytes(row.get_ref(1)?)));
        }
        Ok(out)
    }
}

/// Whether lower bound `a` admits fewer keys than `b`.
fn is_tighter(a: &Lower, b: &Lower) -> bool {
    match a.key.as_bytes().cmp(b.key.as_bytes()) {
        Ordering::Greater => true,
        Ordering::Less => false,
        // `> k` is tighter than `>= k`.
        Ordering::Equal => !a.inclusive && b.inclusive,
    }
}

/// The smallest string greater than every string starting with `prefix` (in UTF-8 byte
/// order), or `None` if there is none (empty prefix, or only U+10FFFF characters).
///
/// Computed on characters rather than bytes so that the bound is valid UTF-8 text (a TEXT
/// key compared with a BLOB would always be smaller): trailing U+10FFFF are dropped and the
/// last character replaced by the next code point, skipping the surrogate gap.
fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            char::MAX => continue,
            '\u{D7FF}' => '\u{E000}',
            c => char::from_u32(u32::from(c) + 1).expect(
                "the successor of a char below U+10FFFF outside the surrogate gap is a char",
            ),
        };
        chars.push(next);
        return Some(chars.into_iter().collect());
    }
    None
}

/// A value's bytes. Values are written as BLOBs; accept TEXT too, and NULL as empty, rather
/// than fail on a row written by something else.
fn value_bytes(value: ValueRef<'_>) -> Vec<u8> {
    match value {
        ValueRef::Blob(b) | ValueRef::Text(b) => b.to_vec(),
        ValueRef::Null => Vec::new(),
        ValueRef::Integer(i) => i.to_string().into_bytes(),
        ValueRef::Real(f) => f.to_string().into_bytes(),
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn prefix_successor_is_the_next_code_point() {
        assert_eq!(prefix_successor("abc").as_deref(), Some("abd"));
        assert_eq!(prefix_successor("a\u{7F}").as_deref(), Some("a\u{80}"));
        assert_eq!(prefix_successor("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(
            prefix_successor("a\u{10FFFF}\u{10FFFF}").as_deref(),
            Some("b")
        );
        assert_eq!(prefix_successor("\u{10FFFF}"), None);
        assert_eq!(prefix_successor(""), None);
    }

    #[test]
    fn prefix_successor_bounds_every_extension_in_byte_order() {
        for prefix in ["a", "a\u{7F}", "\u{FFFF}", "é", "a\u{10FFFF}", "\u{D7FF}"] {
            let successor = prefix_successor(prefix).unwrap();
            for tail in ["", "\u{0}", "z", "\u{10FFFF}\u{10FFFF}", "\u{FFFF}"] {
                let key = format!("{prefix}{tail}");
                assert!(
                    key.as_bytes() < successor.as_bytes(),
                    "{key:?} < {successor:?}"
                );
            }
            assert!(prefix.as_bytes() < successor.as_bytes());
        }
    }
}
