//! Tests on real project directories in temporary directories.

use std::fs;
use std::path::Path;

use serde_json::json;

use super::*;

/// A project directory with `files` (path → contents).
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, contents) in files {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }
    dir
}

const INDEX: (&str, &str) = ("src/index.js", "export default {};\n");

const JSONC: &str = r#"
// A worker with one Durable Object class.
{
  "$schema": "node_modules/wrangler/config-schema.json",
  "name": "counter", /* block comment */
  "main": "src/index.js",
  "compatibility_date": "2025-04-01",
  "compatibility_flags": ["nodejs_compat",],
  "observability": { "enabled": true },
  "durable_objects": {
    "bindings": [
      { "name": "COUNTER", "class_name": "Counter" },
      { "name": "OTHER", "class_name": "Other", "script_name": "counter" },
    ],
  },
  "migrations": [
    { "tag": "v1", "new_sqlite_classes": ["Counter", "Old"] },
    { "tag": "v2", "new_sqlite_classes": ["Counter", "Other"], "deleted_classes": ["Old"] },
  ],
  "vars": { "GREETING": "hello", "LIMITS": { "max": 3 } },
  "worker_loaders": [{ "binding": "LOADER" }],
  "limits": { "cpu_ms": 50 },
  "facets": { "data_dir": "data" },
}
"#;

const TOML: &str = r#"
"$schema" = "node_modules/wrangler/config-schema.json"
name = "counter"
main = "src/index.js"
compatibility_date = "2025-04-01"
compatibility_flags = ["nodejs_compat"]

[observability]
enabled = true

[[durable_objects.bindings]]
name = "COUNTER"
class_name = "Counter"

[[durable_objects.bindings]]
name = "OTHER"
class_name = "Other"
script_name = "counter"

[[migrations]]
tag = "v1"
new_sqlite_classes = ["Counter", "Old"]

[[migrations]]
tag = "v2"
new_sqlite_classes = ["Counter", "Other"]
deleted_classes = ["Old"]

[vars]
GREETING = "hello"
LIMITS = { max = 3 }

[[worker_loaders]]
binding = "LOADER"

[limits]
cpu_ms = 50

[facets]
data_dir = "data"
"#;

/// A minimal valid JSONC config with `extra` fields spliced in.
fn jsonc_with(extra: &str) -> String {
    format!(
        r#"{{ "main": "src/index.js", "compatibility_date": "2025-04-01"{}{extra} }}"#,
        if extra.is_empty() { "" } else { ", " }
    )
}

fn load_err(files: &[(&str, &str)], file: &str) -> String {
    let dir = project(files);
    let path = dir.path().join(file);
    let err = load(&path).unwrap_err().to_string();
    // Messages name the file as given, and sometimes absolute paths; strip the temporary
    // directory.
    let canonical = fs::canonicalize(dir.path()).unwrap();
    err.replace(&format!("{}/", canonical.display()), "")
        .replace(&format!("{}/", dir.path().display()), "")
}

fn jsonc_err(contents: &str) -> String {
    load_err(&[INDEX, ("wrangler.jsonc", contents)], "wrangler.jsonc")
}

#[test]
fn jsonc_with_comments_and_trailing_commas_loads() {
    let dir = project(&[INDEX, ("wrangler.jsonc", JSONC)]);
    let config = load(dir.path()).unwrap();
    let root = fs::canonicalize(dir.path()).unwrap();
    assert_eq!(config.config_path, root.join("wrangler.jsonc"));
    assert_eq!(config.root, root);
    assert_eq!(config.name.as_deref(), Some("counter"));
    assert_eq!(config.main, root.join("src/index.js"));
    assert_eq!(config.compatibility_date, "2025-04-01");
    assert_eq!(config.compatibility_flags, ["nodejs_compat"]);
    assert_eq!(
        config.durable_objects,
        [
            DurableObjectBinding {
                name: "COUNTER".into(),
                class_name: "Counter".into()
            },
            DurableObjectBinding {
                name: "OTHER".into(),
                class_name: "Other".into()
            },
        ]
    );
    assert_eq!(config.sqlite_classes, ["Counter", "Other"]);
    assert_eq!(
        serde_json::Value::Object(config.vars.clone()),
        json!({ "GREETING": "hello", "LIMITS": { "max": 3 } })
    );
    assert_eq!(config.worker_loaders, ["LOADER"]);
    assert_eq!(config.limits, Some(json!({ "cpu_ms": 50 })));
    assert_eq!(config.facets, Some(json!({ "data_dir": "data" })));
    assert_eq!(config.warnings, Vec::<String>::new());
}

#[test]
fn toml_gives_the_same_config_as_jsonc() {
    let jsonc = project(&[INDEX, ("wrangler.jsonc", JSONC)]);
    let toml = project(&[INDEX, ("wrangler.toml", TOML)]);
    let from_jsonc = load(jsonc.path()).unwrap();
    let mut from_toml = load(toml.path()).unwrap();
    assert_eq!(from_toml.config_path.file_name().unwrap(), "wrangler.toml");
    // Only the paths differ.
    from_toml.config_path = from_jsonc.config_path.clone();
    from_toml.root = from_jsonc.root.clone();
    from_toml.main = from_jsonc.main.clone();
    assert_eq!(from_toml, from_jsonc);
}

#[test]
fn plain_json_and_an_explicit_file_path_load() {
    let dir = project(&[INDEX, ("wrangler.json", &jsonc_with(""))]);
    assert!(load(dir.path()).is_ok());
    let config = load(&dir.path().join("wrangler.json")).unwrap();
    assert_eq!(config.config_path.file_name().unwrap(), "wrangler.json");
    assert_eq!(config.name, None);
    assert!(config.durable_objects.is_empty() && config.vars.is_empty());
}

#[test]
fn toml_accepts_an_unquoted_date() {
    let dir = project(&[
        INDEX,
        (
            "wrangler.toml",
            "main = \"src/index.js\"\ncompatibility_date = 2025-04-01\n",
        ),
    ]);
    assert_eq!(load(dir.path()).unwrap().compatibility_date, "2025-04-01");
}

#[test]
fn jsonc_is_preferred_and_the_others_are_reported() {
    let dir = project(&[
        INDEX,
        ("wrangler.jsonc", &jsonc_with("")),
        ("wrangler.toml", "this is not toml"),
    ]);
    let config = load(dir.path()).unwrap();
    assert_eq!(config.config_path.file_name().unwrap(), "wrangler.jsonc");
    assert_eq!(config.warnings.len(), 1);
    assert!(
        config.warnings[0].contains("ignoring"),
        "{:?}",
        config.warnings
    );
    assert!(config.warnings[0].ends_with("wrangler.toml; keep one configuration file per project"));
}

#[test]
fn unknown_fields_are_warnings_naming_the_field() {
    let dir = project(&[
        INDEX,
        (
            "wrangler.jsonc",
            &jsonc_with(
                r#""nmae": "x", "kv_namespaces": [], "workers_dev": true, "routes": [],
                   "durable_objects": { "bindings": [{ "name": "A", "class_name": "A", "extra": 1 }], "more": 2 },
                   "migrations": [{ "tag": "v1", "new_classes": ["A"], "note": "" }]"#,
            ),
        ),
    ]);
    let config = load(dir.path()).unwrap();
    let file = format!("{}", dir.path().join("wrangler.jsonc").display());
    let mut warnings = config.warnings.clone();
    warnings.sort();
    let mut expected = vec![
        format!("{file}: unknown field `nmae` is ignored; check its spelling"),
        format!("{file}: `kv_namespaces` is not supported by facets and is ignored"),
        format!("{file}: unknown field `durable_objects.more` is ignored; check its spelling"),
        format!(
            "{file}: unknown field `durable_objects.bindings[0].extra` is ignored; check its spelling"
        ),
        format!("{file}: unknown field `migrations[0].note` is ignored; check its spelling"),
        format!(
            "{file}: migrations[0].new_classes: facets stores every Durable Object in SQLite, so \
             \"A\" gets SQLite storage; list it in `new_sqlite_classes` to say so"
        ),
    ];
    expected.sort();
    assert_eq!(warnings, expected);
    // KV-backed classes count as classes.
    assert_eq!(config.sqlite_classes, ["A"]);
}

#[test]
fn migrations_apply_renames_and_deletes_in_order() {
    let dir = project(&[
        INDEX,
        (
            "wrangler.jsonc",
            &jsonc_with(
                r#""migrations": [
                    { "tag": "v1", "new_sqlite_classes": ["A", "B", "C"] },
                    { "tag": "v2", "renamed_classes": [{ "from": "B", "to": "B2" }], "deleted_classes": ["C"] },
                    { "tag": "v3", "new_sqlite_classes": ["D", "A"] }
                ]"#,
            ),
        ),
    ]);
    assert_eq!(load(dir.path()).unwrap().sqlite_classes, ["A", "B2", "D"]);
}

#[test]
fn syntax_errors_name_the_file_line_and_column() {
    assert_eq!(
        jsonc_err(
            "{\n  \"main\": \"src/index.js\",\n  \"compatibility_date\": \"2025-04-01\",\n  \"vars\": { \"A\": 1 \n}"
        ),
        "wrangler.jsonc:1:1: unterminated object"
    );
    assert_eq!(
        jsonc_err("{\n  \"main\": \"src/index.js\",\n  \"vars\": ]\n}"),
        "wrangler.jsonc:3:11: unexpected close bracket"
    );
    // jsonc-parser alone would accept a missing comma; Wrangler does not.
    assert_eq!(
        jsonc_err("{\n  \"main\": \"src/index.js\"\n  \"compatibility_date\": \"2025-04-01\"\n}"),
        "wrangler.jsonc:3:3: expected a comma before this value"
    );
    assert_eq!(
        jsonc_err(&jsonc_with(r#""compatibility_flags": ["a" "b"]"#)),
        "wrangler.jsonc:1:91: expected a comma before this value"
    );
    assert_eq!(
        jsonc_err(""),
        "wrangler.jsonc:1:1: the file is empty; expected a JSON object such as { \"main\": \"src/index.js\", \"compatibility_date\": \"2025-04-01\" }"
    );
    // Unquoted keys are not JSONC for Wrangler.
    assert!(jsonc_err("{ main: \"src/index.js\" }").starts_with("wrangler.jsonc:1:3: "));

    let err = load_err(
        &[
            INDEX,
            (
                "wrangler.toml",
                "main = \"src/index.js\"\ncompatibility_date = \n",
            ),
        ],
        "wrangler.toml",
    );
    assert!(err.starts_with("wrangler.toml:2:"), "{err}");
}

#[test]
fn missing_required_fields_say_what_to_write() {
    assert_eq!(
        jsonc_err(r#"{ "compatibility_date": "2025-04-01" }"#),
        "wrangler.jsonc: missing required field `main` (the path of the worker's main module, e.g. \"src/index.js\")"
    );
    assert_eq!(
        jsonc_err(r#"{ "main": "src/index.js" }"#),
        "wrangler.jsonc: missing required field `compatibility_date` (the date of the Workers runtime behaviour to use, e.g. \"2025-04-01\")"
    );
    assert_eq!(
        jsonc_err(&jsonc_with(
            r#""durable_objects": { "bindings": [{ "name": "A" }] }"#
        )),
        "wrangler.jsonc: missing required field `durable_objects.bindings[0].class_name` (the name of the exported Durable Object class, e.g. \"Counter\")"
    );
    assert_eq!(
        jsonc_err(&jsonc_with(
            r#""migrations": [{ "new_sqlite_classes": ["A"] }]"#
        )),
        "wrangler.jsonc: missing required field `migrations[0].tag` (a name for this migration, unique in `migrations`, e.g. \"v1\")"
    );
    assert_eq!(
        jsonc_err(&jsonc_with(r#""worker_loaders": [{}]"#)),
        "wrangler.jsonc: missing required field `worker_loaders[0].binding` (the name of the binding in `env`, e.g. \"LOADER\")"
    );
}

#[test]
fn wrong_types_name_the_field_path() {
    assert_eq!(
        jsonc_err(&jsonc_with(
            r#""migrations": [{ "tag": "v1", "new_sqlite_classes": ["A"] }], "durable_objects": { "bindings": [{ "name": "A", "class_name": 5 }] }"#
        )),
        "wrangler.jsonc: durable_objects.bindings[0].class_name: expected a string, found a number"
    );
    assert_eq!(
        jsonc_err(r#"{ "main": ["src/index.js"], "compatibility_date": "2025-04-01" }"#),
        "wrangler.jsonc: main: expected a string, found an array"
    );
    assert_eq!(
        jsonc_err(&jsonc_with(r#""compatibility_flags": ["a", null]"#)),
        "wrangler.jsonc: compatibility_flags[1]: expected a string, found null"
    );
    assert_eq!(
        jsonc_err(&jsonc_with(r#""compatibility_flags": "nodejs_compat""#)),
        "wrangler.jsonc: compatibility_flags: expected an array of strings, found a string"
    );
    assert_eq!(
        jsonc_err(&jsonc_with(r#""durable_objects": []"#)),
        "wrangler.jsonc: durable_objects: expected an object, found an array"
    );
    assert_eq!(
        jsonc_err(&jsonc_with(r#""vars": "x""#)),
        "wrangler.jsonc: vars: expected an object, found a string"
    );
    assert_eq!(
        jsonc_err("[]"),
        "wrangler.jsonc: (top level): expected an object, found an array"
    );
    assert_eq!(
        load_err(
            &[
                INDEX,
                (
                    "wrangler.toml",
                    "main = \"src/index.js\"\ncompatibility_date = \"2025-04-01\"\n[[durable_objects.bindings]]\nname = true\n"
                )
            ],
            "wrangler.toml"
        ),
        "wrangler.toml: durable_objects.bindings[0].name: expected a string, found a boolean"
    );
}

#[test]
fn compatibility_date_must_be_yyyy_mm_dd() {
    assert_eq!(
        jsonc_err(r#"{ "main": "src/index.js", "compatibility_date": "2025-4-1" }"#),
        "wrangler.jsonc: compatibility_date: \"2025-4-1\" is not a valid date; write it as YYYY-MM-DD, e.g. \"2025-04-01\""
    );
    assert!(
        jsonc_err(r#"{ "main": "src/index.js", "compatibility_date": "2025-02-30" }"#)
            .contains("is not a valid date")
    );
}

#[test]
fn main_must_exist_and_be_javascript() {
    assert_eq!(
        load_err(&[("wrangler.jsonc", &jsonc_with(""))], "wrangler.jsonc"),
        "wrangler.jsonc: main: \"src/index.js\" (src/index.js) does not exist; set `main` to the path of the worker's main module, relative to wrangler.jsonc"
    );
    let err = load_err(
        &[("src/index.js/x", ""), ("wrangler.jsonc", &jsonc_with(""))],
        "wrangler.jsonc",
    );
    assert!(err.contains("src/index.js) is not a file;"), "{err}");
    assert_eq!(
        jsonc_err(r#"{ "main": "src/index.ts", "compatibility_date": "2025-04-01" }"#),
        "wrangler.jsonc: main: \"src/index.ts\" is not a JavaScript module; facets runs .js and .mjs ES modules (build TypeScript or other sources to JavaScript first, and point `main` at the output)"
    );
}

#[test]
fn a_binding_needs_a_migration_creating_its_class() {
    assert_eq!(
        jsonc_err(&jsonc_with(
            r#""durable_objects": { "bindings": [{ "name": "COUNTER", "class_name": "Counter" }] }"#
        )),
        "wrangler.jsonc: durable_objects.bindings[0].class_name: class \"Counter\" is not created by any migration; Durable Object classes need one: add { \"tag\": \"v1\", \"new_sqlite_classes\": [\"Counter\"] } to `migrations`"
    );
    assert_eq!(
        load_err(
            &[
                INDEX,
                (
                    "wrangler.toml",
                    "main = \"src/index.js\"\ncompatibility_date = \"2025-04-01\"\n[[migrations]]\ntag = \"v1\"\n[[durable_objects.bindings]]\nname = \"C\"\nclass_name = \"Counter\"\n"
                )
            ],
            "wrangler.toml"
        ),
        "wrangler.toml: durable_objects.bindings[0].class_name: class \"Counter\" is not created by any migration; Durable Object classes need one: add a migration: [[migrations]] tag = \"v2\" new_sqlite_classes = [\"Counter\"]"
    );
    assert_eq!(
        jsonc_err(&jsonc_with(
            r#""migrations": [{ "tag": "v1", "new_sqlite_classes": ["A"] }, { "tag": "v2", "deleted_classes": ["A"] }],
               "durable_objects": { "bindings": [{ "name": "A", "class_name": "A" }] }"#
        )),
        "wrangler.jsonc: durable_objects.bindings[0].class_name: class \"A\" was deleted by migrations[1].deleted_classes; remove this binding, or add a later migration that creates the class again: { \"tag\": \"v3\", \"new_sqlite_classes\": [\"A\"] } to `migrations`"
    );
}

#[test]
fn duplicate_names_are_errors() {
    let migrations = r#""migrations": [{ "tag": "v1", "new_sqlite_classes": ["A", "B"] }]"#;
    assert_eq!(
        jsonc_err(&jsonc_with(&format!(
            r#"{migrations}, "durable_objects": {{ "bindings": [{{ "name": "X", "class_name": "A" }}, {{ "name": "X", "class_name": "B" }}] }}"#
        ))),
        "wrangler.jsonc: durable_objects.bindings[1].name: binding \"X\" is already defined by durable_objects.bindings[0].name; every binding in `env` needs its own name"
    );
    assert_eq!(
        jsonc_err(&jsonc_with(&format!(
            r#"{migrations}, "durable_objects": {{ "bindings": [{{ "name": "X", "class_name": "A" }}] }}, "vars": {{ "X": 1 }}"#
        ))),
        "wrangler.jsonc: vars.X: binding \"X\" is already defined by durable_objects.bindings[0].name; every binding in `env` needs its own name"
    );
    assert_eq!(
        jsonc_err(&jsonc_with(
            r#""worker_loaders": [{ "binding": "L" }, { "binding": "L" }]"#
        )),
        "wrangler.jsonc: worker_loaders[1].binding: binding \"L\" is already defined by worker_loaders[0].binding; every binding in `env` needs its own name"
    );
    assert_eq!(
        jsonc_err(&jsonc_with(
            r#""migrations": [{ "tag": "v1" }, { "tag": "v1" }]"#
        )),
        "wrangler.jsonc: migrations[1].tag: tag \"v1\" is already used by migrations[0]; give each migration its own tag"
    );
}

#[test]
fn script_name_of_another_worker_is_an_error() {
    assert_eq!(
        jsonc_err(&jsonc_with(
            r#""name": "me", "migrations": [{ "tag": "v1", "new_sqlite_classes": ["A"] }],
               "durable_objects": { "bindings": [{ "name": "A", "class_name": "A", "script_name": "other" }] }"#
        )),
        "wrangler.jsonc: durable_objects.bindings[0].script_name: \"other\" is another worker; facets runs the classes of this worker only: remove `script_name` (or set it to this worker's `name`)"
    );
}

#[test]
fn a_directory_without_config_lists_the_names() {
    let dir = project(&[INDEX]);
    let err = load(dir.path()).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "no worker configuration in {}: expected wrangler.jsonc, wrangler.json or \
             wrangler.toml there (or pass the path of the configuration file itself)",
            dir.path().display()
        )
    );
    let err = load(&dir.path().join("missing.jsonc"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("cannot read ") && err.contains("missing.jsonc: "),
        "{err}"
    );
    assert_eq!(
        load_err(&[("wrangler.yaml", "")], "wrangler.yaml"),
        "wrangler.yaml: unsupported configuration file type; use a .jsonc, .json or .toml file (e.g. wrangler.jsonc)"
    );
}

fn write(dir: &Path, path: &str, contents: impl AsRef<[u8]>) {
    let path = dir.join(path);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

#[test]
fn modules_are_the_files_under_main_that_the_rules_name_main_first() {
    let dir = project(&[
        ("wrangler.jsonc", &jsonc_with("")),
        ("src/index.js", "import './a.js';"),
        ("src/a.js", "a"),
        ("src/lib/z.mjs", "z"),
        ("src/lib/b.js", "b"),
        ("src/README.md", "not a module"),
        ("src/data.json", "{}"),
        ("src/page.html", "<p>"),
        ("src/blob.bin", "\u{1}"),
        ("src/package.json", "{}"),
        ("src/tsconfig.json", "{}"),
        ("src/node_modules/dep/index.js", "skipped"),
        ("src/.hidden/x.js", "skipped"),
        ("src/.eslintrc.js", "skipped"),
        ("outside.js", "not under main's directory"),
    ]);
    let config = load(dir.path()).unwrap();
    let modules = collect_modules(&config).unwrap();
    let names: Vec<&str> = modules.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["index.js", "a.js", "blob.bin", "data.json", "lib/b.js", "lib/z.mjs", "page.html"]);
    assert_eq!(modules[0].content, ModuleFile::Js("import './a.js';".into()));
    assert_eq!(modules[2].content, ModuleFile::Data(vec![1]));
    assert_eq!(modules[3].content, ModuleFile::Json("{}".into()));
    assert_eq!(modules[5].content, ModuleFile::Js("z".into()));
    assert_eq!(modules[6].content, ModuleFile::Text("<p>".into()));
}

#[test]
fn modules_reject_non_utf8_and_enforce_the_caps() {
    let dir = project(&[("wrangler.jsonc", &jsonc_with("")), INDEX]);
    write(dir.path(), "src/bad.js", [0x66u8, 0xff, 0xfe]);
    let config = load(dir.path()).unwrap();
    let err = collect_modules(&config).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}: not valid UTF-8 text; save the file as UTF-8",
            config.root.join("src/bad.js").display()
        )
    );
    fs::remove_file(dir.path().join("src/bad.js")).unwrap();

    for i in 0..MAX_MODULES {
        write(dir.path(), &format!("src/many/m{i}.js"), "");
    }
    let err = collect_modules(&config).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "too many modules under {}: more than 1000 module files",
            config.root.join("src").display()
        )),
        "{err}"
    );
    fs::remove_dir_all(dir.path().join("src/many")).unwrap();

    let big = "x".repeat(17 * 1024 * 1024);
    write(dir.path(), "src/big1.js", &big);
    write(dir.path(), "src/big2.js", &big);
    let err = collect_modules(&config).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "the modules under {} total more than 32 MiB; move files that are not part of the worker out of the directory of `main`",
            config.root.join("src").display()
        )
    );
    fs::remove_file(dir.path().join("src/big2.js")).unwrap();
    assert_eq!(collect_modules(&config).unwrap().len(), 2);
}
