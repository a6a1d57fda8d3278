//! Host settings from the project config: the `limits` section (host-wide
//! defaults and caps) and the `facets` section (listen address, admin
//! listener, data directory, durability, log format...). Command-line flags
//! override both; every value not given anywhere has a documented default.
//!
//! ```jsonc
//! "limits": {
//!   "cpu_ms": 30000,               // CPU per event (Wrangler's field); loaded code may ask for up to cpu_ms_cap
//!   "cpu_ms_cap": 300000,
//!   "subrequests": 1000, "subrequests_cap": 10000,
//!   "memory_mib": 128, "memory_mib_cap": 128,
//!   "request_body_bytes": 104857600, "response_body_bytes": 104857600,
//!   "console_bytes_per_event": 1048576,
//!   "database_bytes": 10737418240,
//!   "facets_per_object": 100, "objects_per_namespace": 1000000,
//!   "loaded_code_bytes": 33554432, "loaded_modules": 1000,
//!   "instances": 1000,
//!   "event_wall_ms": 60000, "outbound_timeout_ms": 60000
//! },
//! "facets": {
//!   "ip": "127.0.0.1", "port": 8787, "data_dir": ".facets/data", "durability": "full",
//!   "log_format": "text", "idle_timeout_s": 30, "warm_slots": 8,
//!   "admin": { "ip": "127.0.0.1", "port": 8788, "token": "...", "insecure": false }
//! }
//! ```

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Result, bail};
use serde_json::{Map, Value};

use crate::config::ProjectConfig;

/// Limits that are not per event: enforced by the object layer and the HTTP server.
#[derive(Clone, Debug)]
pub struct HostLimits {
    /// Largest request body accepted at the front door (413 beyond it).
    pub request_body_bytes: usize,
    /// Largest response body sent (500 with an explanation beyond it).
    pub response_body_bytes: usize,
    /// Facets running at once in one object.
    pub facets_per_object: usize,
    /// Objects stored in one namespace (class); a new one beyond it is refused.
    pub objects_per_namespace: u64,
    /// Total size of the modules of one piece of loaded code.
    pub loaded_code_bytes: usize,
    /// Modules in one piece of loaded code.
    pub loaded_modules: usize,
}

impl Default for HostLimits {
    fn default() -> Self {
        HostLimits {
            request_body_bytes: crate::http::MAX_REQUEST_BODY,
            response_body_bytes: 100 << 20,
            facets_per_object: 100,
            objects_per_namespace: 1_000_000,
            loaded_code_bytes: crate::worker::MAX_LOADED_CODE_BYTES,
            loaded_modules: crate::worker::MAX_LOADED_MODULES,
        }
    }
}

/// What the config file says; `None` where it says nothing.
#[derive(Clone, Debug, Default)]
pub struct FileSettings {
    pub cpu_ms: Option<u32>,
    pub cpu_ms_cap: Option<u32>,
    pub subrequests: Option<u32>,
    pub subrequests_cap: Option<u32>,
    pub memory_mib: Option<u32>,
    pub memory_mib_cap: Option<u32>,
    pub request_body_bytes: Option<u64>,
    pub response_body_bytes: Option<u64>,
    pub console_bytes_per_event: Option<u64>,
    pub database_bytes: Option<u64>,
    pub facets_per_object: Option<u32>,
    pub objects_per_namespace: Option<u64>,
    pub loaded_code_bytes: Option<u64>,
    pub loaded_modules: Option<u32>,
    pub instances: Option<u32>,
    pub event_wall_ms: Option<u32>,
    pub outbound_timeout_ms: Option<u64>,

    pub ip: Option<IpAddr>,
    pub port: Option<u16>,
    pub data_dir: Option<PathBuf>,
    pub cache_dir: Option<PathBuf>,
    pub durability: Option<String>,
    pub log_format: Option<String>,
    pub idle_timeout_s: Option<u64>,
    pub warm_slots: Option<u32>,
    pub admin_ip: Option<IpAddr>,
    pub admin_port: Option<u16>,
    pub admin_token: Option<String>,
    pub admin_insecure: Option<bool>,
}

struct Reader<'a> {
    file: String,
    warnings: &'a mut Vec<String>,
}

impl Reader<'_> {
    fn fail(&self, field: &str, message: impl std::fmt::Display) -> anyhow::Error {
        anyhow::anyhow!("{}: {field}: {message}", self.file)
    }

    fn section<'v>(&self, value: Option<&'v Value>, field: &str) -> Result<Option<&'v Map<String, Value>>> {
        match value {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(other) => Err(self.fail(field, format!("expected an object, found {other}"))),
        }
    }

    fn unknown(&mut self, map: &Map<String, Value>, prefix: &str, known: &[&str]) {
        for key in map.keys() {
            if !known.contains(&key.as_str()) {
                self.warnings.push(format!("{}: unknown field `{prefix}.{key}` is ignored (known: {})", self.file, known.join(", ")));
            }
        }
    }

    fn uint<T: TryFrom<u64>>(&self, map: &Map<String, Value>, prefix: &str, key: &str, min: u64) -> Result<Option<T>> {
        let Some(v) = map.get(key) else { return Ok(None) };
        let field = format!("{prefix}.{key}");
        let n = v.as_u64().ok_or_else(|| self.fail(&field, format!("expected a whole number, found {v}")))?;
        if n < min {
            return Err(self.fail(&field, format!("must be at least {min}, found {n}")));
        }
        T::try_from(n).map(Some).map_err(|_| self.fail(&field, format!("{n} is too large")))
    }

    fn string(&self, map: &Map<String, Value>, prefix: &str, key: &str) -> Result<Option<String>> {
        match map.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(self.fail(&format!("{prefix}.{key}"), format!("expected a string, found {v}"))),
        }
    }

    fn one_of(&self, map: &Map<String, Value>, prefix: &str, key: &str, allowed: &[&str]) -> Result<Option<String>> {
        let Some(s) = self.string(map, prefix, key)? else { return Ok(None) };
        if !allowed.contains(&s.as_str()) {
            return Err(self.fail(&format!("{prefix}.{key}"), format!("expected one of {}, found \"{s}\"", allowed.join(", "))));
        }
        Ok(Some(s))
    }

    fn ip(&self, map: &Map<String, Value>, prefix: &str, key: &str) -> Result<Option<IpAddr>> {
        let Some(s) = self.string(map, prefix, key)? else { return Ok(None) };
        s.parse().map(Some).map_err(|_| self.fail(&format!("{prefix}.{key}"), format!("expected an IP address, found \"{s}\"")))
    }

    fn boolean(&self, map: &Map<String, Value>, prefix: &str, key: &str) -> Result<Option<bool>> {
        match map.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.fail(&format!("{prefix}.{key}"), format!("expected true or false, found {v}"))),
        }
    }
}

const LIMIT_KEYS: &[&str] = &[
    "cpu_ms",
    "cpu_ms_cap",
    "subrequests",
    "subrequests_cap",
    "memory_mib",
    "memory_mib_cap",
    "request_body_bytes",
    "response_body_bytes",
    "console_bytes_per_event",
    "database_bytes",
    "facets_per_object",
    "objects_per_namespace",
    "loaded_code_bytes",
    "loaded_modules",
    "instances",
    "event_wall_ms",
    "outbound_timeout_ms",
];
const FACETS_KEYS: &[&str] = &["ip", "port", "data_dir", "cache_dir", "durability", "log_format", "idle_timeout_s", "warm_slots", "admin"];
const ADMIN_KEYS: &[&str] = &["ip", "port", "token", "insecure"];

/// Reads the `limits` and `facets` sections; unknown fields go to `warnings`.
pub fn from_config(config: &ProjectConfig, warnings: &mut Vec<String>) -> Result<FileSettings> {
    let mut r = Reader { file: config.config_path.display().to_string(), warnings };
    let mut s = FileSettings::default();
    if let Some(l) = r.section(config.limits.as_ref(), "limits")? {
        r.unknown(l, "limits", LIMIT_KEYS);
        let p = "limits";
        s.cpu_ms = r.uint(l, p, "cpu_ms", 1)?;
        s.cpu_ms_cap = r.uint(l, p, "cpu_ms_cap", 1)?;
        s.subrequests = r.uint(l, p, "subrequests", 0)?;
        s.subrequests_cap = r.uint(l, p, "subrequests_cap", 0)?;
        s.memory_mib = r.uint(l, p, "memory_mib", 16)?;
        s.memory_mib_cap = r.uint(l, p, "memory_mib_cap", 16)?;
        s.request_body_bytes = r.uint(l, p, "request_body_bytes", 0)?;
        s.response_body_bytes = r.uint(l, p, "response_body_bytes", 0)?;
        s.console_bytes_per_event = r.uint(l, p, "console_bytes_per_event", 0)?;
        s.database_bytes = r.uint(l, p, "database_bytes", 4096)?;
        s.facets_per_object = r.uint(l, p, "facets_per_object", 0)?;
        s.objects_per_namespace = r.uint(l, p, "objects_per_namespace", 1)?;
        s.loaded_code_bytes = r.uint(l, p, "loaded_code_bytes", 1)?;
        s.loaded_modules = r.uint(l, p, "loaded_modules", 1)?;
        s.instances = r.uint(l, p, "instances", 2)?;
        s.event_wall_ms = r.uint(l, p, "event_wall_ms", 1)?;
        s.outbound_timeout_ms = r.uint(l, p, "outbound_timeout_ms", 1)?;
    }
    if let Some(f) = r.section(config.facets.as_ref(), "facets")? {
        r.unknown(f, "facets", FACETS_KEYS);
        let p = "facets";
        s.ip = r.ip(f, p, "ip")?;
        s.port = r.uint(f, p, "port", 0)?;
        s.data_dir = r.string(f, p, "data_dir")?.map(|d| config.root.join(d));
        s.cache_dir = r.string(f, p, "cache_dir")?.map(|d| config.root.join(d));
        s.durability = r.one_of(f, p, "durability", &["full", "normal"])?;
        s.log_format = r.one_of(f, p, "log_format", &["text", "json"])?;
        s.idle_timeout_s = r.uint(f, p, "idle_timeout_s", 1)?;
        s.warm_slots = r.uint(f, p, "warm_slots", 0)?;
        if let Some(a) = r.section(f.get("admin"), "facets.admin")? {
            r.unknown(a, "facets.admin", ADMIN_KEYS);
            let p = "facets.admin";
            s.admin_ip = r.ip(a, p, "ip")?;
            s.admin_port = r.uint(a, p, "port", 0)?;
            s.admin_token = r.string(a, p, "token")?;
            s.admin_insecure = r.boolean(a, p, "insecure")?;
        }
    }
    if let (Some(v), Some(cap)) = (s.cpu_ms, s.cpu_ms_cap)
        && v > cap
    {
        bail!("{}: limits.cpu_ms: {v} is above limits.cpu_ms_cap ({cap})", r.file);
    }
    if let (Some(v), Some(cap)) = (s.memory_mib, s.memory_mib_cap)
        && v > cap
    {
        bail!("{}: limits.memory_mib: {v} is above limits.memory_mib_cap ({cap})", r.file);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(limits: Value, facets: Value) -> ProjectConfig {
        ProjectConfig {
            config_path: "/p/wrangler.jsonc".into(),
            root: "/p".into(),
            name: None,
            main: "/p/index.js".into(),
            compatibility_date: "2026-04-01".into(),
            compatibility_flags: vec![],
            durable_objects: vec![],
            sqlite_classes: vec![],
            vars: Default::default(),
            worker_loaders: vec![],
            limits: Some(limits),
            facets: Some(facets),
            warnings: vec![],
        }
    }

    #[test]
    fn reads_both_sections() {
        let c = config(
            serde_json::json!({ "cpu_ms": 50, "memory_mib": 64, "facets_per_object": 3 }),
            serde_json::json!({ "port": 9000, "data_dir": "d", "durability": "normal", "warm_slots": 0, "admin": { "port": 9001, "insecure": true } }),
        );
        let mut w = vec![];
        let s = from_config(&c, &mut w).unwrap();
        assert_eq!((s.cpu_ms, s.memory_mib, s.facets_per_object), (Some(50), Some(64), Some(3)));
        assert_eq!((s.port, s.admin_port, s.admin_insecure), (Some(9000), Some(9001), Some(true)));
        assert_eq!(s.data_dir, Some(PathBuf::from("/p/d")));
        assert_eq!(s.warm_slots, Some(0));
        assert!(w.is_empty(), "{w:?}");
    }

    #[test]
    fn bad_values_name_the_field() {
        let mut w = vec![];
        let e = from_config(&config(serde_json::json!({ "cpu_ms": "fast" }), Value::Null), &mut w).unwrap_err();
        assert_eq!(e.to_string(), "/p/wrangler.jsonc: limits.cpu_ms: expected a whole number, found \"fast\"");
        let e = from_config(&config(serde_json::json!({}), serde_json::json!({ "admin": { "ip": "nowhere" } })), &mut w).unwrap_err();
        assert!(e.to_string().contains("facets.admin.ip: expected an IP address"), "{e}");
        let e = from_config(&config(serde_json::json!({}), serde_json::json!({ "durability": "yolo" })), &mut w).unwrap_err();
        assert!(e.to_string().contains("facets.durability: expected one of full, normal"), "{e}");
        let e = from_config(&config(serde_json::json!({ "cpu_ms": 10, "cpu_ms_cap": 5 }), Value::Null), &mut w).unwrap_err();
        assert!(e.to_string().contains("above limits.cpu_ms_cap"), "{e}");
        from_config(&config(serde_json::json!({ "cpu_msec": 1 }), Value::Null), &mut w).unwrap();
        assert!(w[0].contains("unknown field `limits.cpu_msec`"), "{w:?}");
    }
}
