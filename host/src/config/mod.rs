//! The worker project: its Wrangler configuration file and its ES modules.
//!
//! A project is a `wrangler.jsonc` (or `wrangler.json`, or `wrangler.toml`) next to the
//! worker's JavaScript modules, exactly as for Cloudflare. [`load`] reads and checks the
//! configuration into a [`ProjectConfig`]; [`collect_modules`] reads the modules that sit
//! under the directory of `main`.
//!
//! Configuration mistakes are errors that name the file and the field path
//! (`wrangler.jsonc: durable_objects.bindings[0].class_name: expected a string, found a
//! number`) and say how to fix them; fields facets does not use are warnings, returned in
//! [`ProjectConfig::warnings`] for the caller to log.
//!
//! # Layout
//! - `mod.rs`: [`ProjectConfig`], [`load`] (finding the file), [`ConfigError`].
//! - `parse`: the file's syntax (JSONC or TOML) into one JSON value.
//! - `schema`: that JSON value into a [`ProjectConfig`]: types, required fields, migrations,
//!   bindings, warnings for unknown fields.
//! - `modules`: [`collect_modules`] and its caps ([`MAX_MODULES`], [`MAX_MODULES_TOTAL_BYTES`]).

mod modules;
mod parse;
mod schema;
#[cfg(test)]
mod tests;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub use modules::{MAX_MODULES, MAX_MODULES_TOTAL_BYTES, ModuleFile, ModuleSource, collect_modules};

/// The configuration file names looked for in a project directory, in order of preference.
pub const CONFIG_FILE_NAMES: [&str; 3] = ["wrangler.jsonc", "wrangler.json", "wrangler.toml"];

/// A worker project, as read from its Wrangler configuration file by [`load`].
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectConfig {
    /// The configuration file that was read (absolute).
    pub config_path: PathBuf,
    /// The directory containing it (absolute); relative paths in the file are relative to it.
    pub root: PathBuf,
    /// The worker's `name`, if set.
    pub name: Option<String>,
    /// Absolute path of the main module (`main`), which exists and is a `.js` or `.mjs` file.
    pub main: PathBuf,
    /// `compatibility_date`, a valid `YYYY-MM-DD` date.
    pub compatibility_date: String,
    /// `compatibility_flags`, as written.
    pub compatibility_flags: Vec<String>,
    /// `durable_objects.bindings`, in order; names are unique among all `env` bindings and every
    /// class is created by a migration.
    pub durable_objects: Vec<DurableObjectBinding>,
    /// The Durable Object classes that exist after applying `migrations` in order: classes of
    /// `new_sqlite_classes` and `new_classes` in order of appearance, renamed by
    /// `renamed_classes`, removed by `deleted_classes`, without duplicates.
    pub sqlite_classes: Vec<String>,
    /// `vars`: plain values exposed in `env`.
    pub vars: serde_json::Map<String, serde_json::Value>,
    /// Binding names of `worker_loaders: [{ "binding": "LOADER" }]`, in order.
    pub worker_loaders: Vec<String>,
    /// `limits`, kept as raw JSON (TOML is converted) for the limits feature to interpret.
    pub limits: Option<serde_json::Value>,
    /// `facets`, the host-settings section, kept as raw JSON for the host to interpret.
    pub facets: Option<serde_json::Value>,
    /// Things that are not errors but that the user should know (unknown fields, fields facets
    /// ignores, KV-backed classes stored in SQLite); the caller logs them.
    pub warnings: Vec<String>,
}

/// One entry of `durable_objects.bindings`: `env[name]` is the namespace of class `class_name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurableObjectBinding {
    pub name: String,
    pub class_name: String,
}

/// Why a project could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no worker configuration in {}: expected wrangler.jsonc, wrangler.json or wrangler.toml \
         there (or pass the path of the configuration file itself)",
        dir.display()
    )]
    NotFound { dir: PathBuf },

    #[error(
        "{}: unsupported configuration file type; use a .jsonc, .json or .toml file \
         (e.g. wrangler.jsonc)",
        path.display()
    )]
    UnsupportedFormat { path: PathBuf },

    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{}: not valid UTF-8 text; save the file as UTF-8", path.display())]
    NotUtf8 { path: PathBuf },

    #[error("{}: the file name is not valid UTF-8, so it cannot name a module; rename it", path.display())]
    NotUtf8Name { path: PathBuf },

    /// The file is not valid JSONC / TOML.
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },

    #[error("{file}: missing required field `{field}` ({hint})")]
    MissingField {
        file: String,
        field: String,
        hint: &'static str,
    },

    /// A field has the wrong type or an invalid value; `field` is its path, e.g.
    /// `durable_objects.bindings[0].class_name`.
    #[error("{file}: {field}: {message}")]
    InvalidField {
        file: String,
        field: String,
        message: String,
    },

    #[error(
        "too many modules under {}: more than {MAX_MODULES} module files (node_modules and \
         dot-directories are skipped); move files that are not part of the worker out of the \
         directory of `main`",
        dir.display()
    )]
    TooManyModules { dir: PathBuf },

    #[error(
        "the modules under {} total more than {} MiB; move files that are not part of the \
         worker out of the directory of `main`",
        dir.display(),
        MAX_MODULES_TOTAL_BYTES / (1024 * 1024)
    )]
    ModulesTooLarge { dir: PathBuf },
}

/// The syntax of a configuration file, from its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `.jsonc` and `.json`: JSON with comments and trailing commas (Wrangler accepts both in
    /// either file).
    Jsonc,
    Toml,
}

impl Format {
    fn of(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()? {
            "jsonc" | "json" => Some(Format::Jsonc),
            "toml" => Some(Format::Toml),
            _ => None,
        }
    }
}

/// Reads and checks a worker project's configuration.
///
/// `path` is either the project directory (where `wrangler.jsonc`, `wrangler.json` and
/// `wrangler.toml` are looked for, in that order) or the configuration file itself.
pub fn load(path: &Path) -> Result<ProjectConfig, ConfigError> {
    let mut warnings = Vec::new();
    let file_path = find_config_file(path, &mut warnings)?;
    let format = Format::of(&file_path).ok_or_else(|| ConfigError::UnsupportedFormat {
        path: file_path.clone(),
    })?;
    let bytes = fs::read(&file_path).map_err(|source| ConfigError::Io {
        path: file_path.clone(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|_| ConfigError::NotUtf8 {
        path: file_path.clone(),
    })?;
    // Messages name the file as the user gave it (like a compiler does); the config keeps
    // absolute paths.
    let file = file_path.display().to_string();
    let value = parse::parse(&text, format, &file)?;

    let config_path = fs::canonicalize(&file_path).map_err(|source| ConfigError::Io {
        path: file_path.clone(),
        source,
    })?;
    let root = config_path
        .parent()
        .expect("a canonical file path has a parent")
        .to_path_buf();
    let mut config = schema::build(
        &value,
        &schema::Context {
            file: &file,
            format,
            config_path,
            root,
        },
    )?;
    warnings.append(&mut config.warnings);
    config.warnings = warnings;
    Ok(config)
}

fn find_config_file(path: &Path, warnings: &mut Vec<String>) -> Result<PathBuf, ConfigError> {
    let meta = fs::metadata(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Ok(path.to_path_buf());
    }
    let present: Vec<PathBuf> = CONFIG_FILE_NAMES
        .iter()
        .map(|name| path.join(name))
        .filter(|candidate| candidate.is_file())
        .collect();
    let Some(chosen) = present.first() else {
        return Err(ConfigError::NotFound {
            dir: path.to_path_buf(),
        });
    };
    if present.len() > 1 {
        let others: Vec<String> = present[1..]
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        warnings.push(format!(
            "using {} and ignoring {}; keep one configuration file per project",
            chosen.display(),
            others.join(" and ")
        ));
    }
    Ok(chosen.clone())
}
