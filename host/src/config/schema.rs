//! The configuration's schema: one JSON value (from JSONC or TOML) into a [`ProjectConfig`].
//!
//! Checked by hand rather than with `#[derive(Deserialize)]` so that every error names the
//! field path and what was found, and unknown fields are warnings rather than errors.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};

use super::{ConfigError, DurableObjectBinding, Format, ProjectConfig};

/// Where the value came from, for messages and relative paths.
pub(super) struct Context<'a> {
    /// The file as the user named it, for messages.
    pub file: &'a str,
    pub format: Format,
    /// Absolute path of the file.
    pub config_path: PathBuf,
    /// Absolute directory of the file.
    pub root: PathBuf,
}

/// Top-level fields read by facets.
const KNOWN: &[&str] = &[
    "name",
    "main",
    "compatibility_date",
    "compatibility_flags",
    "migrations",
    "durable_objects",
    "vars",
    "worker_loaders",
    "limits",
    "facets",
];

/// Top-level Wrangler fields about deployment on Cloudflare, which mean nothing here:
/// accepted without a warning.
const IGNORED: &[&str] = &[
    "$schema",
    "account_id",
    "keep_vars",
    "logpush",
    "minify",
    "observability",
    "placement",
    "preview_urls",
    "route",
    "routes",
    "send_metrics",
    "upload_source_maps",
    "workers_dev",
];

/// Top-level Wrangler fields for features facets does not have: ignored with a warning, since
/// code relying on them will not find them in `env`.
const UNSUPPORTED: &[&str] = &[
    "ai",
    "alias",
    "analytics_engine_datasets",
    "assets",
    "base_dir",
    "browser",
    "build",
    "containers",
    "d1_databases",
    "define",
    "dispatch_namespaces",
    "env",
    "find_additional_modules",
    "hyperdrive",
    "images",
    "kv_namespaces",
    "mtls_certificates",
    "no_bundle",
    "node_compat",
    "pipelines",
    "queues",
    "r2_buckets",
    "rules",
    "secrets_store_secrets",
    "send_email",
    "services",
    "site",
    "tail_consumers",
    "triggers",
    "unsafe",
    "usage_model",
    "vectorize",
    "version_metadata",
    "workflows",
];

const MAIN_HINT: &str = "the path of the worker's main module, e.g. \"src/index.js\"";
const DATE_HINT: &str = "the date of the Workers runtime behaviour to use, e.g. \"2025-04-01\"";

pub(super) fn build(value: &Value, cx: &Context<'_>) -> Result<ProjectConfig, ConfigError> {
    let mut warnings = Vec::new();
    let top = match value {
        Value::Object(map) => map,
        other => {
            return Err(cx.invalid(
                "(top level)",
                format!("expected an object, found {}", kind(other)),
            ));
        }
    };

    for key in top.keys() {
        let key = key.as_str();
        if KNOWN.contains(&key) || IGNORED.contains(&key) {
            continue;
        }
        if UNSUPPORTED.contains(&key) {
            warnings.push(format!(
                "{}: `{key}` is not supported by facets and is ignored",
                cx.file
            ));
        } else {
            warnings.push(format!(
                "{}: unknown field `{key}` is ignored; check its spelling",
                cx.file
            ));
        }
    }

    let name = top.get("name").map(|v| cx.string(v, "name")).transpose()?;
    let main = cx.string(cx.required(top, "main", "", MAIN_HINT)?, "main")?;
    let compatibility_date = cx.string(
        cx.required(top, "compatibility_date", "", DATE_HINT)?,
        "compatibility_date",
    )?;
    if !is_valid_date(&compatibility_date) {
        return Err(cx.invalid(
            "compatibility_date",
            format!(
                "{compatibility_date:?} is not a valid date; write it as YYYY-MM-DD, \
                 e.g. \"2025-04-01\""
            ),
        ));
    }
    let compatibility_flags = match top.get("compatibility_flags") {
        Some(v) => cx.strings(v, "compatibility_flags")?,
        None => Vec::new(),
    };

    let classes = match top.get("migrations") {
        Some(v) => migrations(cx, v, &mut warnings)?,
        None => Classes::default(),
    };

    // Every name in `env`, with the field that defined it, to report duplicates.
    let mut env_names: HashMap<String, String> = HashMap::new();
    let mut claim = |name: &str, field: String| -> Result<(), ConfigError> {
        if name.is_empty() {
            return Err(cx.invalid(&field, "a binding name must not be empty".to_owned()));
        }
        if let Some(first) = env_names.get(name) {
            return Err(cx.invalid(
                &field,
                format!(
                    "binding \"{name}\" is already defined by {first}; every binding in `env` \
                     needs its own name"
                ),
            ));
        }
        env_names.insert(name.to_owned(), field);
        Ok(())
    };

    let mut durable_objects = Vec::new();
    if let Some(v) = top.get("durable_objects") {
        let section = cx.object(v, "durable_objects")?;
        cx.warn_unknown(section, "durable_objects", &["bindings"], &mut warnings);
        if let Some(v) = section.get("bindings") {
            for (i, item) in cx.array(v, "durable_objects.bindings")?.iter().enumerate() {
                let path = format!("durable_objects.bindings[{i}]");
                let binding = durable_object_binding(cx, item, &path, name.as_deref(), &classes)?;
                cx.warn_unknown(
                    cx.object(item, &path)?,
                    &path,
                    &["name", "class_name", "script_name"],
                    &mut warnings,
                );
                claim(&binding.name, format!("{path}.name"))?;
                durable_objects.push(binding);
            }
        }
    }

    let mut worker_loaders = Vec::new();
    if let Some(v) = top.get("worker_loaders") {
        for (i, item) in cx.array(v, "worker_loaders")?.iter().enumerate() {
            let path = format!("worker_loaders[{i}]");
            let obj = cx.object(item, &path)?;
            let binding = cx.string(
                cx.required(
                    obj,
                    "binding",
                    &path,
                    "the name of the binding in `env`, e.g. \"LOADER\"",
                )?,
                &format!("{path}.binding"),
            )?;
            cx.warn_unknown(obj, &path, &["binding"], &mut warnings);
            claim(&binding, format!("{path}.binding"))?;
            worker_loaders.push(binding);
        }
    }

    let vars = match top.get("vars") {
        Some(v) => cx.object(v, "vars")?.clone(),
        None => Map::new(),
    };
    for key in vars.keys() {
        claim(key, format!("vars.{key}"))?;
    }

    let main = resolve_main(cx, &main)?;

    Ok(ProjectConfig {
        config_path: cx.config_path.clone(),
        root: cx.root.clone(),
        name,
        main,
        compatibility_date,
        compatibility_flags,
        durable_objects,
        sqlite_classes: classes.live,
        vars,
        worker_loaders,
        limits: top.get("limits").cloned(),
        facets: top.get("facets").cloned(),
        warnings,
    })
}

/// The Durable Object classes after applying the migrations in order.
#[derive(Default)]
struct Classes {
    live: Vec<String>,
    /// Deleted classes, with the field that deleted them, for a better error.
    deleted: HashMap<String, String>,
    migrations: usize,
}

fn migrations(
    cx: &Context<'_>,
    value: &Value,
    warnings: &mut Vec<String>,
) -> Result<Classes, ConfigError> {
    let mut classes = Classes::default();
    let mut tags: HashMap<String, usize> = HashMap::new();
    let items = cx.array(value, "migrations")?;
    classes.migrations = items.len();
    for (i, item) in items.iter().enumerate() {
        let path = format!("migrations[{i}]");
        let obj = cx.object(item, &path)?;
        let tag = cx.string(
            cx.required(
                obj,
                "tag",
                &path,
                "a name for this migration, unique in `migrations`, e.g. \"v1\"",
            )?,
            &format!("{path}.tag"),
        )?;
        if let Some(first) = tags.insert(tag.clone(), i) {
            return Err(cx.invalid(
                &format!("{path}.tag"),
                format!("tag \"{tag}\" is already used by migrations[{first}]; give each migration its own tag"),
            ));
        }
        for (key, _) in obj {
            match key.as_str() {
                "tag" | "new_sqlite_classes" | "new_classes" | "renamed_classes"
                | "deleted_classes" => {}
                "transferred_classes" => warnings.push(format!(
                    "{}: {path}.transferred_classes is not supported by facets (it runs one \
                     worker per project) and is ignored",
                    cx.file
                )),
                other => warnings.push(format!(
                    "{}: unknown field `{path}.{other}` is ignored; check its spelling",
                    cx.file
                )),
            }
        }
        if let Some(v) = obj.get("new_sqlite_classes") {
            for class in cx.strings(v, &format!("{path}.new_sqlite_classes"))? {
                classes.add(class);
            }
        }
        if let Some(v) = obj.get("new_classes") {
            let field = format!("{path}.new_classes");
            for class in cx.strings(v, &field)? {
                warnings.push(format!(
                    "{}: {field}: facets stores every Durable Object in SQLite, so \"{class}\" \
                     gets SQLite storage; list it in `new_sqlite_classes` to say so",
                    cx.file
                ));
                classes.add(class);
            }
        }
        if let Some(v) = obj.get("renamed_classes") {
            for (j, rename) in cx
                .array(v, &format!("{path}.renamed_classes"))?
                .iter()
                .enumerate()
            {
                let rpath = format!("{path}.renamed_classes[{j}]");
                let robj = cx.object(rename, &rpath)?;
                let from = cx.string(
                    cx.required(robj, "from", &rpath, "the class's old name")?,
                    &format!("{rpath}.from"),
                )?;
                let to = cx.string(
                    cx.required(robj, "to", &rpath, "the class's new name")?,
                    &format!("{rpath}.to"),
                )?;
                cx.warn_unknown(robj, &rpath, &["from", "to"], warnings);
                classes.rename(&from, to);
            }
        }
        if let Some(v) = obj.get("deleted_classes") {
            let field = format!("{path}.deleted_classes");
            for class in cx.strings(v, &field)? {
                classes.live.retain(|c| *c != class);
                classes.deleted.insert(class, field.clone());
            }
        }
    }
    Ok(classes)
}

impl Classes {
    fn add(&mut self, class: String) {
        self.deleted.remove(&class);
        if !self.live.contains(&class) {
            self.live.push(class);
        }
    }

    fn rename(&mut self, from: &str, to: String) {
        self.deleted.remove(&to);
        if self.live.contains(&to) {
            self.live.retain(|c| c != from);
        } else if let Some(slot) = self.live.iter_mut().find(|c| *c == from) {
            *slot = to;
        } else {
            // The class was created by a migration no longer listed; trust the rename.
            self.live.push(to);
        }
    }
}

fn durable_object_binding(
    cx: &Context<'_>,
    item: &Value,
    path: &str,
    worker_name: Option<&str>,
    classes: &Classes,
) -> Result<DurableObjectBinding, ConfigError> {
    let obj = cx.object(item, path)?;
    let name = cx.string(
        cx.required(
            obj,
            "name",
            path,
            "the name of the binding in `env`, e.g. \"COUNTER\"",
        )?,
        &format!("{path}.name"),
    )?;
    let class_field = format!("{path}.class_name");
    let class_name = cx.string(
        cx.required(
            obj,
            "class_name",
            path,
            "the name of the exported Durable Object class, e.g. \"Counter\"",
        )?,
        &class_field,
    )?;
    if let Some(v) = obj.get("script_name") {
        let script = cx.string(v, &format!("{path}.script_name"))?;
        if worker_name != Some(script.as_str()) {
            return Err(cx.invalid(
                &format!("{path}.script_name"),
                format!(
                    "\"{script}\" is another worker; facets runs the classes of this worker \
                     only: remove `script_name` (or set it to this worker's `name`)"
                ),
            ));
        }
    }
    if !classes.live.contains(&class_name) {
        let message = match classes.deleted.get(&class_name) {
            Some(field) => format!(
                "class \"{class_name}\" was deleted by {field}; remove this binding, or add a \
                 later migration that creates the class again: {}",
                cx.migration_example(&class_name, classes.migrations)
            ),
            None => format!(
                "class \"{class_name}\" is not created by any migration; Durable Object \
                 classes need one: add {}",
                cx.migration_example(&class_name, classes.migrations)
            ),
        };
        return Err(cx.invalid(&class_field, message));
    }
    Ok(DurableObjectBinding { name, class_name })
}

fn resolve_main(cx: &Context<'_>, main: &str) -> Result<PathBuf, ConfigError> {
    let config_name = cx
        .config_path
        .file_name()
        .map_or_else(|| cx.file.to_owned(), |n| n.to_string_lossy().into_owned());
    if main.is_empty() {
        return Err(cx.invalid("main", format!("must not be empty; set it to {MAIN_HINT}")));
    }
    let extension = Path::new(main).extension().and_then(|e| e.to_str());
    if !matches!(extension, Some("js" | "mjs")) {
        return Err(cx.invalid(
            "main",
            format!(
                "\"{main}\" is not a JavaScript module; facets runs .js and .mjs ES modules \
                 (build TypeScript or other sources to JavaScript first, and point `main` at \
                 the output)"
            ),
        ));
    }
    let path = normalize(&cx.root.join(main));
    if !path.is_file() {
        let problem = if path.exists() {
            "is not a file"
        } else {
            "does not exist"
        };
        return Err(cx.invalid(
            "main",
            format!(
                "\"{main}\" ({}) {problem}; set `main` to the path of the worker's main module, \
                 relative to {config_name}",
                path.display()
            ),
        ));
    }
    Ok(path)
}

/// Removes `.` and resolves `..` lexically (without following symbolic links, so that the
/// modules are looked for where the user put `main`).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if out.file_name().is_some() {
                    out.pop();
                } else if !out.has_root() {
                    out.push(component);
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// `YYYY-MM-DD` with a real month and day.
fn is_valid_date(date: &str) -> bool {
    let b = date.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

impl Context<'_> {
    fn invalid(&self, field: &str, message: String) -> ConfigError {
        ConfigError::InvalidField {
            file: self.file.to_owned(),
            field: field.to_owned(),
            message,
        }
    }

    fn required<'v>(
        &self,
        obj: &'v Map<String, Value>,
        key: &str,
        prefix: &str,
        hint: &'static str,
    ) -> Result<&'v Value, ConfigError> {
        obj.get(key).ok_or_else(|| ConfigError::MissingField {
            file: self.file.to_owned(),
            field: join(prefix, key),
            hint,
        })
    }

    fn string(&self, value: &Value, field: &str) -> Result<String, ConfigError> {
        match value {
            Value::String(s) => Ok(s.clone()),
            other => Err(self.invalid(field, format!("expected a string, found {}", kind(other)))),
        }
    }

    fn strings(&self, value: &Value, field: &str) -> Result<Vec<String>, ConfigError> {
        match value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| self.string(item, &format!("{field}[{i}]")))
                .collect(),
            other => Err(self.invalid(
                field,
                format!("expected an array of strings, found {}", kind(other)),
            )),
        }
    }

    fn array<'v>(&self, value: &'v Value, field: &str) -> Result<&'v Vec<Value>, ConfigError> {
        match value {
            Value::Array(items) => Ok(items),
            other => Err(self.invalid(field, format!("expected an array, found {}", kind(other)))),
        }
    }

    fn object<'v>(
        &self,
        value: &'v Value,
        field: &str,
    ) -> Result<&'v Map<String, Value>, ConfigError> {
        match value {
            Value::Object(map) => Ok(map),
            other => Err(self.invalid(field, format!("expected an object, found {}", kind(other)))),
        }
    }

    fn warn_unknown(
        &self,
        obj: &Map<String, Value>,
        prefix: &str,
        known: &[&str],
        warnings: &mut Vec<String>,
    ) {
        for key in obj.keys().filter(|k| !known.contains(&k.as_str())) {
            warnings.push(format!(
                "{}: unknown field `{}` is ignored; check its spelling",
                self.file,
                join(prefix, key)
            ));
        }
    }

    /// A migration creating `class`, in the file's own syntax.
    fn migration_example(&self, class: &str, existing: usize) -> String {
        let tag = format!("v{}", existing + 1);
        match self.format {
            Format::Jsonc => format!(
                "{{ \"tag\": \"{tag}\", \"new_sqlite_classes\": [\"{class}\"] }} to `migrations`"
            ),
            Format::Toml => format!(
                "a migration: [[migrations]] tag = \"{tag}\" new_sqlite_classes = [\"{class}\"]"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_must_be_real_calendar_days() {
        for ok in ["2025-04-01", "2024-02-29", "2000-02-29", "1999-12-31"] {
            assert!(is_valid_date(ok), "{ok}");
        }
        for bad in [
            "2025-4-01",
            "2025-04-1",
            "2025/04/01",
            "2025-13-01",
            "2025-00-10",
            "2025-04-31",
            "2023-02-29",
            "1900-02-29",
            "2025-04-01T00:00",
            "２０２５-04-01",
            "",
            "abcd-ef-gh",
        ] {
            assert!(!is_valid_date(bad), "{bad}");
        }
    }

    #[test]
    fn normalize_resolves_dots_lexically() {
        assert_eq!(
            normalize(Path::new("/a/b/./c/../d.js")),
            PathBuf::from("/a/b/d.js")
        );
        assert_eq!(
            normalize(Path::new("/a/../../b.js")),
            PathBuf::from("/b.js")
        );
    }
}
