//! The worker's modules: every file under the directory of `main` that one of
//! Wrangler's default module rules names: `.js`/`.mjs` (ES modules), `.txt`/`.html`/`.sql`
//! (text), `.bin` (data), plus `.json` (Wrangler's bundler imports JSON files as their value;
//! tools' own files such as `package.json` and `tsconfig.json` are left out).

use std::fs;
use std::path::{Path, PathBuf};

use super::{ConfigError, ProjectConfig};

/// At most this many module files under the directory of `main`: a worker has tens of
/// modules; thousands mean the directory holds something else (a build tree, vendored
/// packages) that would be read and compiled for nothing.
pub const MAX_MODULES: usize = 1000;

/// At most this many bytes of module source in total: Cloudflare caps a worker at 10 MiB
/// compressed; 32 MiB of uncompressed source stays in that range and bounds the host's
/// memory and compile time for one project.
pub const MAX_MODULES_TOTAL_BYTES: u64 = 32 * 1024 * 1024;

/// One module of the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleSource {
    /// Path relative to the directory of `main`, with `/` separators (`index.js`,
    /// `lib/util.mjs`): the specifier other modules import it by (`./lib/util.mjs`).
    pub name: String,
    pub content: ModuleFile,
}

/// What a module file holds, by its extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleFile {
    /// An ES module (`.js`, `.mjs`).
    Js(String),
    /// A text module (`.txt`, `.html`, `.sql`): `export default` is the string.
    Text(String),
    /// A JSON module (`.json`): `export default` is the parsed value.
    Json(String),
    /// A data module (`.bin`): `export default` is an `ArrayBuffer`.
    Data(Vec<u8>),
}

impl ModuleSource {
    /// The source of an ES module (`None` for text, JSON and data modules).
    pub fn js(&self) -> Option<&str> {
        match &self.content {
            ModuleFile::Js(s) => Some(s),
            _ => None,
        }
    }
}

/// The kind of module a file name names, if any.
fn kind_of(name: &str) -> Option<fn(String) -> ModuleFile> {
    let ext = name.rsplit_once('.').map(|(_, e)| e)?;
    match ext {
        "js" | "mjs" => Some(ModuleFile::Js),
        "txt" | "html" | "sql" => Some(ModuleFile::Text),
        "json" => Some(ModuleFile::Json),
        _ => None,
    }
}

/// Reads the worker's modules: every `.js` and `.mjs` file under the directory of `main`,
/// recursively, `main` first and the others sorted by name.
///
/// `node_modules`, dot-directories and dot-files are skipped; symbolic links to files are
/// followed, symbolic links to directories are not (no cycles, nothing outside the tree by
/// surprise). Capped by [`MAX_MODULES`] and [`MAX_MODULES_TOTAL_BYTES`].
pub fn collect_modules(config: &ProjectConfig) -> Result<Vec<ModuleSource>, ConfigError> {
    let main = &config.main;
    let base = main
        .parent()
        .expect("`main` is an absolute file path, so it has a parent");
    let main_name = module_name(main)?;

    let mut found = Vec::new();
    walk(base, base, "", &mut found)?;
    found.sort();
    // `main` first, even if the walk skipped it (a dot-file, say).
    found.retain(|(name, _)| *name != main_name);
    found.insert(0, (main_name, main.clone()));
    if found.len() > MAX_MODULES {
        return Err(ConfigError::TooManyModules {
            dir: base.to_path_buf(),
        });
    }

    let too_large = || ConfigError::ModulesTooLarge {
        dir: base.to_path_buf(),
    };
    let mut total: u64 = 0;
    let mut modules = Vec::with_capacity(found.len());
    for (name, path) in found {
        // Check the size before reading, then count what was actually read (the file may
        // have grown in between).
        let len = fs::metadata(&path)
            .map_err(|source| io_error(&path, source))?
            .len();
        if total.saturating_add(len) > MAX_MODULES_TOTAL_BYTES {
            return Err(too_large());
        }
        let bytes = fs::read(&path).map_err(|source| io_error(&path, source))?;
        total = total.saturating_add(bytes.len() as u64);
        if total > MAX_MODULES_TOTAL_BYTES {
            return Err(too_large());
        }
        let content = match kind_of(&name) {
            Some(text_kind) => text_kind(String::from_utf8(bytes).map_err(|_| ConfigError::NotUtf8 { path })?),
            // `.bin` (and `main`, whatever its name, is checked to be JS by the schema).
            None if name.ends_with(".bin") => ModuleFile::Data(bytes),
            None => ModuleFile::Js(String::from_utf8(bytes).map_err(|_| ConfigError::NotUtf8 { path })?),
        };
        modules.push(ModuleSource { name, content });
    }
    Ok(modules)
}

/// Collects `(name, path)` of the module files under `dir`, `prefix` being `dir`'s name
/// relative to the base (empty, or ending in `/`).
fn walk(
    base: &Path,
    dir: &Path,
    prefix: &str,
    found: &mut Vec<(String, PathBuf)>,
) -> Result<(), ConfigError> {
    let entries = fs::read_dir(dir).map_err(|source| io_error(dir, source))?;
    for entry in entries {
        let entry = entry.map_err(|source| io_error(dir, source))?;
        let path = entry.path();
        let Some(file_name) = entry.file_name().to_str().map(str::to_owned) else {
            // A name that is not UTF-8 cannot be a module specifier; skip it unless it
            // looks like a module (then say so).
            if is_module_file_name(&entry.file_name().to_string_lossy()) {
                return Err(ConfigError::NotUtf8Name { path });
            }
            continue;
        };
        if file_name.starts_with('.') {
            continue;
        }
        let file_type = entry
            .file_type()
            .map_err(|source| io_error(&path, source))?;
        if file_type.is_dir() {
            if file_name != "node_modules" {
                walk(base, &path, &format!("{prefix}{file_name}/"), found)?;
            }
            continue;
        }
        if !is_module_file_name(&file_name) {
            continue;
        }
        let is_file = if file_type.is_symlink() {
            // Follows the link; a dangling link is skipped like a directory link.
            fs::metadata(&path).is_ok_and(|m| m.is_file())
        } else {
            file_type.is_file()
        };
        if is_file {
            found.push((format!("{prefix}{file_name}"), path));
            // Stop early on a huge tree; the exact cap is checked by the caller, which
            // may drop one duplicate of `main`.
            if found.len() > MAX_MODULES + 1 {
                return Err(ConfigError::TooManyModules {
                    dir: base.to_path_buf(),
                });
            }
        }
    }
    Ok(())
}

fn is_module_file_name(name: &str) -> bool {
    (kind_of(name).is_some() || name.ends_with(".bin")) && !is_tooling_json(name)
}

/// JSON files that configure tools rather than hold a worker's data
/// (`package.json`, `tsconfig.json`, `wrangler.json`...): not modules.
fn is_tooling_json(name: &str) -> bool {
    const TOOLING: &[&str] = &["package", "package-lock", "tsconfig", "jsconfig", "wrangler", "deno", "bun"];
    name.strip_suffix(".json")
        .is_some_and(|stem| TOOLING.iter().any(|t| stem == *t || stem.starts_with(&format!("{t}."))))
}

fn module_name(main: &Path) -> Result<String, ConfigError> {
    main.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| ConfigError::NotUtf8Name {
            path: main.to_path_buf(),
        })
}

fn io_error(path: &Path, source: std::io::Error) -> ConfigError {
    ConfigError::Io {
        path: path.to_path_buf(),
        source,
    }
}
