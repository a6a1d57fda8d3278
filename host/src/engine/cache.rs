//! The compiled engine, cached on disk.
//!
//! Compiling the engine with Cranelift takes about half a second, so the
//! result is kept as a serialized component keyed by the engine's hash, the
//! wasmtime version and the engine configuration. A file that is missing,
//! stale, truncated or corrupt (checksum mismatch: the `.crc` file holds
//! the XXH3-64 of the compiled file) is rebuilt, never trusted.
//!
//! Every other build of facets (another engine or wasmtime) has entries of
//! its own in the same folder, so each entry's use is recorded (the `.crc`
//! file's modification time is set at every load); whenever an entry is
//! compiled, those unused for [`UNUSED_FOR`] are removed, with temporary
//! files that a crash left behind.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;

/// How long an entry of the cache may go unused before it is removed.
pub const UNUSED_FOR: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// Where compiled engines are cached unless configured otherwise.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("FACETS_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("facets");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home).join(".cache").join("facets");
    }
    std::env::temp_dir().join("facets-cache")
}

/// An engine component and the SHA-256 of its bytes (hex), its cache key.
pub struct Source<'a> {
    bytes: &'a [u8],
    digest: std::borrow::Cow<'static, str>,
}

impl Source<'static> {
    /// The engine built into this binary; build.rs computed its digest, so
    /// start-up does not hash 3.6 MB.
    pub fn built_in() -> Self {
        Source { bytes: super::ENGINE_COMPONENT, digest: env!("FACETS_ENGINE_SHA256").into() }
    }
}

impl<'a> Source<'a> {
    /// Another engine (`FACETS_ENGINE`, `--engine`): hashed here.
    pub fn of(bytes: &'a [u8]) -> Self {
        Source { bytes, digest: hex::encode(Sha256::digest(bytes)).into() }
    }

    /// Bytes whose digest [`Source::of`] already computed.
    pub fn with_digest(bytes: &'a [u8], digest: String) -> Self {
        Source { bytes, digest: digest.into() }
    }

    /// The SHA-256 of the bytes (hex).
    pub fn digest(&self) -> &str {
        &self.digest
    }
}

pub(super) fn cache_key(engine: &wasmtime::Engine, digest: &str) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    // The checksum format is part of the key, so that builds with another
    // format (CRC-32 before) keep entries of their own instead of rebuilding
    // each other's.
    "xxh3".hash(&mut h);
    // wasmtime's own header check catches a different wasmtime version.
    format!("engine-{}-{:016x}", &digest[..24], h.finish())
}

/// The checksum of a cached engine's compiled file, begun before the
/// engine that loads it is made (see [`prefetch`]).
pub struct Prefetched {
    /// The file being checksummed.
    path: PathBuf,
    sum: Checksum,
}

/// Starts checksumming, on a thread of its own, the cache entry of `source`
/// that an engine with `engine`'s configuration loads (the entry's key is
/// that configuration's hash; an engine with the on-demand allocator costs
/// microseconds to make, one with a pool about 4.5 µs per slot). The checksum
/// takes 1-3 ms, mostly faulting the file's pages in, and runs beside the
/// making of the engine that [`load_prefetched`] then uses it for, if that
/// engine's key names the same entry.
pub fn prefetch(engine: &wasmtime::Engine, source: &Source<'_>, cache_dir: &Path) -> Option<Prefetched> {
    let path = cache_dir.join(format!("{}.cwasm", cache_key(engine, &source.digest)));
    let file = path.clone();
    Some(Prefetched { path, sum: Checksum::spawn(file)? })
}

/// Loads the compiled engine from `cache_dir`, compiling and storing it when
/// the cache has no valid copy. Returns the component and whether it was a hit.
pub fn load(engine: &wasmtime::Engine, source: &Source<'_>, cache_dir: &Path) -> Result<(Component, bool)> {
    load_prefetched(engine, source, cache_dir, None)
}

/// [`load`], with the checksum [`prefetch`] began.
pub fn load_prefetched(
    engine: &wasmtime::Engine,
    source: &Source<'_>,
    cache_dir: &Path,
    prefetched: Option<Prefetched>,
) -> Result<(Component, bool)> {
    load_prepared(engine, source, cache_dir, prefetched, |c| Ok(c.clone()))
}

/// [`load_prefetched`], returning what `prepare` makes of the component.
/// A cached component is handed to `prepare` as soon as it is
/// deserialized, while its file's checksum may still be running on the
/// other thread, and what `prepare` made is returned only if the checksum
/// then matches (else the engine is compiled again and `prepare` called
/// on that). So `prepare` may look at the component (type-check it against
/// a linker: `Linker::instantiate_pre`) but must not run any of its code.
/// The start-up's main thread used to wait for the checksum before making
/// its linker and pre-instantiation; now that work fills the wait.
pub fn load_prepared<T>(
    engine: &wasmtime::Engine,
    source: &Source<'_>,
    cache_dir: &Path,
    prefetched: Option<Prefetched>,
    prepare: impl Fn(&Component) -> Result<T>,
) -> Result<(T, bool)> {
    let key = cache_key(engine, &source.digest);
    let path = cache_dir.join(format!("{key}.cwasm"));
    let crc_path = cache_dir.join(format!("{key}.crc"));
    // (Another entry's checksum is left to finish on its own.)
    let prefetched = prefetched.filter(|p| p.path == path).map(|p| p.sum);
    if let Some(prepared) = try_load(engine, &path, &crc_path, prefetched, &prepare) {
        mark_used(&crc_path);
        return Ok((prepared, true));
    }
    let component = Component::new(engine, source.bytes)
        .map_err(anyhow::Error::from)
        .context("compiling the engine component")?;
    if let Err(e) = store(&component, cache_dir, &path, &crc_path) {
        tracing::warn!(dir = %cache_dir.display(), "could not cache the compiled engine: {e:#}");
    }
    prune(cache_dir, &key, std::time::SystemTime::now());
    Ok((prepare(&component)?, false))
}

/// Removes the entries of `dir` other than `keep` that were last used more
/// than [`UNUSED_FOR`] before `now`, and temporary files as old.
fn prune(dir: &Path, keep: &str, now: std::time::SystemTime) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let unused = |path: &Path| unused_at(path, now);
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        if !name.starts_with("engine-") && !(name.starts_with(".engine-") && name.ends_with(".tmp")) {
            continue;
        }
        if name.ends_with(".tmp") {
            if unused(&path) {
                let _ = std::fs::remove_file(&path);
            }
            continue;
        }
        let Some(key) = name.strip_suffix(".cwasm") else { continue };
        let crc = dir.join(format!("{key}.crc"));
        // An entry without its checksum file is judged by the compiled file itself.
        if key != keep && unused(if crc.exists() { &crc } else { &path }) {
            tracing::info!(file = %path.display(), "removing a compiled engine unused for {} days", UNUSED_FOR.as_secs() / 86_400);
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_file(&crc);
        }
    }
}

fn try_load<T>(
    engine: &wasmtime::Engine,
    path: &Path,
    crc_path: &Path,
    prefetched: Option<Checksum>,
    prepare: impl Fn(&Component) -> Result<T>,
) -> Option<T> {
    let expected = std::fs::read_to_string(crc_path).ok()?;
    // The checksum (1-3 ms, mostly faulting the file's pages in) runs on
    // another thread (begun by `prefetch`, or here) while this one maps and
    // parses the file and `prepare`s the component; that is returned only
    // if the checksum matches, and nothing of it has run before then.
    let sum = match prefetched {
        Some(sum) => sum,
        None => Checksum::spawn(path.to_path_buf())?,
    };
    let prepared = deserialize(engine, path).and_then(|c| prepare(&c));
    let sum = sum.wait();
    if !matches!(sum, Some(Ok(ref sum)) if *sum == expected.trim()) {
        tracing::warn!(file = %path.display(), "compiled engine cache is corrupt; recompiling");
        return None;
    }
    match prepared {
        Ok(prepared) => Some(prepared),
        Err(e) => {
            tracing::warn!(file = %path.display(), "compiled engine cache is unusable ({e:#}); recompiling");
            None
        }
    }
}

/// The checksum of a file (see [`checksum`]), taken on a thread of its own
/// through a read-only mapping: the pages come from the page cache (which
/// wasmtime's own mapping of the file then shares) rather than being copied
/// into a fresh buffer. The result is sent as soon as it is known; only
/// then does the thread let the mapping go (see [`release`]) and exit,
/// which nobody waits for. (Unmapping the 7.6 MB engine, with the TLB
/// shootdown it sends to the other CPU, and the thread's exit took 0.4 ms,
/// ad hoc timers, that the start-up's main thread spent joining it.)
pub(super) struct Checksum(std::sync::mpsc::Receiver<std::io::Result<String>>);

impl Checksum {
    fn spawn(path: PathBuf) -> Option<Checksum> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        crate::threads::spawn_beside("facets-checksum", move || match map_file(&path) {
            Ok(map) => {
                let _ = tx.send(Ok(checksum(&map)));
                release(map);
            }
            Err(e) => {
                let _ = tx.send(Err(e));
            }
        })
        .ok()?;
        Some(Checksum(rx))
    }

    /// The checksum, or `None` if its thread died without one.
    fn wait(self) -> Option<std::io::Result<String>> {
        self.0.recv().ok()
    }
}

/// Unmaps `map` a megabyte at a time: each `madvise(MADV_DONTNEED)` holds
/// the address space's lock for about 50 µs, where one `munmap` of the
/// whole 7.6 MB engine held it for 0.4 ms, and meanwhile no other thread
/// could map or unmap anything (start-up's thread spawns, the first
/// instances' memories).
#[expect(unsafe_code, reason = "MADV_DONTNEED on a mapping nothing reads any more")]
fn release(map: memmap2::Mmap) {
    const CHUNK: usize = 1 << 20;
    for offset in (0..map.len()).step_by(CHUNK) {
        // SAFETY: the mapping is read-only and file-backed, and nothing reads
        // it any more (it is dropped below): its pages are only let go.
        let _ = unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, CHUNK.min(map.len() - offset)) };
    }
    drop(map);
}

#[expect(unsafe_code, reason = "mapping a file is unsafe if another process truncates it meanwhile")]
fn map_file(path: &Path) -> std::io::Result<memmap2::Mmap> {
    let file = std::fs::File::open(path)?;
    // SAFETY: cache files are written under a temporary name and renamed into
    // place, never modified in place, and the mapping only lives while the
    // checksum is taken. Only another process truncating the file meanwhile
    // could make a read fault (SIGBUS); wasmtime's own mapping of it carries
    // that risk too.
    unsafe { memmap2::Mmap::map(&file) }
}

#[expect(unsafe_code, reason = "wasmtime's deserialization is unsafe: it maps machine code")]
fn deserialize(engine: &wasmtime::Engine, path: &Path) -> Result<Component> {
    // SAFETY: the file was written by `store` below from `Component::serialize`
    // of this same engine configuration (the key includes wasmtime's version
    // and the configuration hash, which wasmtime checks again), it is replaced
    // only by atomic rename, and `try_load` drops the component unless the
    // file's checksum, taken meanwhile, matches: none of its code runs first.
    unsafe { Component::deserialize_file(engine, path) }.map_err(anyhow::Error::from)
}

/// The content of a checksum file: `xxh3:` and the XXH3-64 of the bytes in
/// hex. (It was a CRC-32 until crc32fast's 1.5-2.2 ms over the 6 MB file was
/// the largest part of start-up after the pool; with XXH3 the check takes
/// 0.65-0.8 ms, mostly faulting the file's pages in.
/// The format is part of the cache key, and a file in another format is no
/// match.) twox-hash picks AVX2 at run time where the CPU has it, which
/// hashes the 7.6 MB engine, its pages already mapped, in 0.13 ms against
/// 0.26 for xxhash-rust's SSE2 (ad hoc, on this VM); the sums are the same.
fn checksum(bytes: &[u8]) -> String {
    format!("xxh3:{:016x}", twox_hash::XxHash3_64::oneshot(bytes))
}

fn store(component: &Component, dir: &Path, path: &Path, crc_path: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let bytes = component.serialize()?;
    let tmp = tempfile_in(dir, path)?;
    std::fs::write(&tmp, &bytes)?;
    std::fs::rename(&tmp, path)?;
    let tmp = tempfile_in(dir, crc_path)?;
    std::fs::write(&tmp, checksum(&bytes))?;
    std::fs::rename(&tmp, crc_path)?;
    Ok(())
}

fn tempfile_in(dir: &Path, target: &Path) -> Result<PathBuf> {
    let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("engine");
    Ok(dir.join(format!(".{name}.{}.tmp", std::process::id())))
}

/// The project's own modules compiled to QuickJS bytecode, kept beside the
/// compiled engine: a server that starts again with the same sources and the
/// same engine skips compiling them (an instance made for it and the
/// parse, 0.6-1.2 ms of start-up). Loaded code (the Worker Loader's) is not
/// kept here.
pub struct CodeCache {
    dir: PathBuf,
    engine_digest: String,
}

impl CodeCache {
    pub fn new(dir: &Path, engine_digest: &str) -> CodeCache {
        CodeCache { dir: dir.to_path_buf(), engine_digest: engine_digest.to_string() }
    }

    /// The entry for module `name` with this source: named by the SHA-256 of
    /// the engine's digest (bytecode is the engine build's own format), the
    /// name (kept in the bytecode) and the source.
    pub(super) fn path(&self, name: &str, source: &str) -> PathBuf {
        let key = Sha256::new()
            .chain_update(self.engine_digest.as_bytes())
            .chain_update([0])
            .chain_update(name.as_bytes())
            .chain_update([0])
            .chain_update(source.as_bytes())
            .finalize();
        self.dir.join(format!("code-{}.qjsbc", hex::encode(&key[..16])))
    }

    /// The bytecode cached for this module and source, if its checksum holds
    /// (an entry is its checksum, a newline, then the bytecode).
    pub fn get(&self, name: &str, source: &str) -> Option<Vec<u8>> {
        let path = self.path(name, source);
        let mut bytes = std::fs::read(&path).ok()?;
        let newline = bytes.iter().position(|b| *b == b'\n')?;
        if bytes[..newline] != *checksum(&bytes[newline + 1..]).as_bytes() {
            tracing::warn!(file = %path.display(), "cached bytecode is corrupt; compiling again");
            return None;
        }
        mark_used(&path);
        bytes.drain(..=newline);
        Some(bytes)
    }

    /// Keeps `bytecode` for this module and source (written under a
    /// temporary name, then renamed), and removes entries unused for
    /// [`UNUSED_FOR`]: one is made each time the project's source changes.
    pub fn put(&self, name: &str, source: &str, bytecode: &[u8]) {
        let path = self.path(name, source);
        let write = || -> Result<()> {
            std::fs::create_dir_all(&self.dir)?;
            let tmp = tempfile_in(&self.dir, &path)?;
            let mut entry = checksum(bytecode).into_bytes();
            entry.push(b'\n');
            entry.extend_from_slice(bytecode);
            std::fs::write(&tmp, entry)?;
            std::fs::rename(&tmp, &path)?;
            Ok(())
        };
        if let Err(e) = write() {
            tracing::debug!(dir = %self.dir.display(), "could not cache the project's bytecode: {e:#}");
        }
        prune_code(&self.dir, std::time::SystemTime::now());
    }
}

/// Marks a cache entry as used now (its modification time; see [`unused_at`]).
/// A read-only cache is fine.
fn mark_used(path: &Path) {
    let _ = std::fs::File::options().append(true).open(path).and_then(|f| f.set_modified(std::time::SystemTime::now()));
}

/// Whether the file at `path` was last used (modified) more than [`UNUSED_FOR`] before `now`.
fn unused_at(path: &Path, now: std::time::SystemTime) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > UNUSED_FOR))
}

/// Removes the bytecode entries of `dir` last used more than [`UNUSED_FOR`] before `now`.
fn prune_code(dir: &Path, now: std::time::SystemTime) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let ours = path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("code-") && n.ends_with(".qjsbc"));
        if ours && unused_at(&path, now) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine() -> wasmtime::Engine {
        wasmtime::Engine::new(wasmtime::Config::new().wasm_component_model(true)).expect("engine")
    }

    /// A tiny component (no imports, no exports) stands in for the engine.
    const COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

    /// What `load_prepared` made of a cached component before its checksum
    /// failed is dropped: the engine is compiled again and prepared anew.
    #[test]
    fn what_was_prepared_before_a_checksum_failed_is_not_returned() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine();
        load(&engine, &Source::of(COMPONENT), dir.path()).expect("first load compiles");
        let calls = std::cell::Cell::new(0);
        let prepare = |_: &Component| {
            calls.set(calls.get() + 1);
            Ok(calls.get())
        };
        let (prepared, hit) = load_prepared(&engine, &Source::of(COMPONENT), dir.path(), None, prepare).expect("loads");
        assert_eq!((prepared, hit, calls.get()), (1, true, 1), "a sound entry is prepared once");

        // The compiled file deserializes (and is prepared), but its checksum no longer matches.
        let crc = std::fs::read_dir(dir.path())
            .expect("cache dir")
            .map(|e| e.expect("entry").path())
            .find(|p| p.extension().is_some_and(|e| e == "crc"))
            .expect("a checksum file");
        std::fs::write(&crc, "xxh3:0000000000000000").expect("another checksum");
        calls.set(0);
        let (prepared, hit) = load_prepared(&engine, &Source::of(COMPONENT), dir.path(), None, prepare).expect("rebuilt");
        assert_eq!(calls.get(), 2, "prepared once from the file, once after compiling");
        assert_eq!((prepared, hit), (2, false), "only what the compiled component gave is returned");
    }

    #[test]
    fn a_corrupt_cache_file_is_recompiled_not_trusted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine();
        let (_, hit) = load(&engine, &Source::of(COMPONENT), dir.path()).expect("first load compiles");
        assert!(!hit, "an empty cache cannot hit");
        let (_, hit) = load(&engine, &Source::of(COMPONENT), dir.path()).expect("second load");
        assert!(hit, "the second load uses the cache");

        let cwasm = std::fs::read_dir(dir.path())
            .expect("cache dir")
            .map(|e| e.expect("entry").path())
            .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
            .expect("a cached file");
        let mut bytes = std::fs::read(&cwasm).expect("read");
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        std::fs::write(&cwasm, &bytes).expect("corrupt it");
        let (_, hit) = load(&engine, &Source::of(COMPONENT), dir.path()).expect("a corrupt cache is rebuilt");
        assert!(!hit, "a corrupt file must not be used");
        let (_, hit) = load(&engine, &Source::of(COMPONENT), dir.path()).expect("and stored again");
        assert!(hit);

        // A checksum file in another format (an older build's CRC-32) is no match.
        let crc = cwasm.with_extension("crc");
        std::fs::write(&crc, crc32fast::hash(&std::fs::read(&cwasm).expect("read")).to_string()).expect("old format");
        let (_, hit) = load(&engine, &Source::of(COMPONENT), dir.path()).expect("an old checksum file is rebuilt");
        assert!(!hit, "a CRC-32 checksum file must not be taken for a match");

        std::fs::write(&cwasm, b"truncated").expect("truncate");
        let (_, hit) = load(&engine, &Source::of(COMPONENT), dir.path()).expect("a truncated cache is rebuilt");
        assert!(!hit);
    }

    /// The digest build.rs computed is the built-in engine's (so its cache key
    /// is the one hashing it at start would give).
    #[test]
    fn the_built_in_engines_digest_is_its_sha256() {
        let built_in = Source::built_in();
        let hashed = Source::of(super::super::ENGINE_COMPONENT);
        assert_eq!(built_in.bytes, hashed.bytes);
        assert_eq!(built_in.digest, hashed.digest);
    }

    /// Entries unused for a month go when another is compiled; recent ones,
    /// whichever build made them, stay, and a load marks its entry as used.
    #[test]
    fn entries_unused_for_a_month_are_removed_when_another_is_compiled() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine();
        let old = std::time::SystemTime::now() - UNUSED_FOR - std::time::Duration::from_secs(3600);
        let entry = |key: &str, used: std::time::SystemTime| {
            std::fs::write(dir.path().join(format!("{key}.cwasm")), b"compiled").expect("write");
            let crc = dir.path().join(format!("{key}.crc"));
            std::fs::write(&crc, b"0").expect("write");
            std::fs::File::options().append(true).open(&crc).and_then(|f| f.set_modified(used)).expect("age");
        };
        entry("engine-stale", old);
        entry("engine-recent", std::time::SystemTime::now());
        let tmp = dir.path().join(".engine-x.cwasm.1.tmp");
        std::fs::write(&tmp, b"half").expect("write");
        std::fs::File::options().append(true).open(&tmp).and_then(|f| f.set_modified(old)).expect("age");
        std::fs::write(dir.path().join("notes.txt"), b"not ours").expect("write");

        let (_, hit) = load(&engine, &Source::of(COMPONENT), dir.path()).expect("compiles");
        assert!(!hit);
        let mut names: Vec<String> =
            std::fs::read_dir(dir.path()).expect("dir").map(|e| e.expect("entry").file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        assert_eq!(names.len(), 5, "{names:?}");
        assert!(names.contains(&"engine-recent.cwasm".to_string()) && names.contains(&"notes.txt".to_string()), "{names:?}");
        assert!(!names.iter().any(|n| n.contains("stale") || n.ends_with(".tmp")), "{names:?}");

        // A load (a hit) marks its entry as used: it outlives a prune a month on.
        let (_, hit) = load(&engine, &Source::of(COMPONENT), dir.path()).expect("loads");
        assert!(hit);
        let current = names.iter().find(|n| n.ends_with(".cwasm") && !n.contains("recent")).expect("the new entry").trim_end_matches(".cwasm").to_string();
        let crc = dir.path().join(format!("{current}.crc"));
        let used = std::fs::metadata(&crc).and_then(|m| m.modified()).expect("mtime");
        assert!(std::time::SystemTime::now().duration_since(used).expect("not in the future") < std::time::Duration::from_secs(60));
        prune(dir.path(), "another", std::time::SystemTime::now() + UNUSED_FOR / 2);
        assert!(dir.path().join(format!("{current}.cwasm")).exists(), "an entry used today was removed");
        prune(dir.path(), "another", std::time::SystemTime::now() + UNUSED_FOR * 2);
        assert!(!dir.path().join(format!("{current}.cwasm")).exists() && !crc.exists(), "an entry unused for two months stayed");
    }

    /// A checksum begun before the engine existed ([`prefetch`]) counts for
    /// the entry it was taken of, corrupt or not, and for no other entry.
    #[test]
    fn a_prefetched_checksum_counts_only_for_its_own_entry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine();
        let source = Source::of(COMPONENT);
        let fetched = prefetch(&engine, &source, dir.path()).expect("a thread");
        let (_, hit) = load_prefetched(&engine, &source, dir.path(), Some(fetched)).expect("compiles");
        assert!(!hit, "an empty cache cannot hit");
        let fetched = prefetch(&engine, &source, dir.path()).expect("a thread");
        let cwasm = fetched.path.clone();
        assert!(cwasm.exists(), "{}", cwasm.display());
        let (_, hit) = load_prefetched(&engine, &source, dir.path(), Some(fetched)).expect("loads");
        assert!(hit, "the prefetched checksum of a sound entry is taken");

        let sound = std::fs::read(&cwasm).expect("read");
        let mut bytes = sound.clone();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        std::fs::write(&cwasm, &bytes).expect("corrupt it");
        let fetched = prefetch(&engine, &source, dir.path()).expect("a thread");
        let (_, hit) = load_prefetched(&engine, &source, dir.path(), Some(fetched)).expect("a corrupt cache is rebuilt");
        assert!(!hit, "a corrupt file must not be used");

        // The entry of an engine with another configuration, holding the
        // bytes this entry's checksum file expects: its checksum must not be
        // taken for this entry, corrupt again.
        std::fs::write(&cwasm, &bytes).expect("corrupt it again");
        let other = wasmtime::Engine::new(wasmtime::Config::new().wasm_component_model(true).consume_fuel(true)).expect("engine");
        let other_cwasm = dir.path().join(format!("{}.cwasm", cache_key(&other, source.digest())));
        assert_ne!(other_cwasm, cwasm);
        std::fs::write(&other_cwasm, &sound).expect("write");
        std::fs::write(other_cwasm.with_extension("crc"), checksum(&sound)).expect("write");
        let fetched = prefetch(&other, &source, dir.path()).expect("a thread");
        let (_, hit) = load_prefetched(&engine, &source, dir.path(), Some(fetched)).expect("rebuilt");
        assert!(!hit, "another entry's checksum was taken for this one");
    }

    #[test]
    fn a_different_engine_gets_a_different_cache_entry() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = engine();
        load(&engine, &Source::of(COMPONENT), dir.path()).expect("load");
        let other = b"\0asm\x0d\0\x01\0\0\x05\x04name";
        let (_, hit) = load(&engine, &Source::of(other), dir.path()).expect("other engine");
        assert!(!hit, "another engine's bytes must not reuse this cache entry");
    }

    #[test]
    fn bytecode_entries_belong_to_one_engine_module_name_and_source() {
        let dir = tempfile::tempdir().unwrap();
        let cache = CodeCache::new(dir.path(), "engine-a");
        cache.put("index.js", "export default 1;", b"bytes");
        assert_eq!(cache.get("index.js", "export default 1;").as_deref(), Some(&b"bytes"[..]));
        assert_eq!(cache.get("index.js", "export default 2;"), None);
        assert_eq!(cache.get("other.js", "export default 1;"), None);
        assert_eq!(CodeCache::new(dir.path(), "engine-b").get("index.js", "export default 1;"), None);
        // An entry without its checksum line is not used either.
        std::fs::write(cache.path("index.js", "export default 1;"), b"bytes").unwrap();
        assert_eq!(cache.get("index.js", "export default 1;"), None);
    }

}
