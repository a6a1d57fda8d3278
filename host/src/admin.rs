//! The admin listener: a separate HTTP port for the operator, off by default.
//!
//! - `GET /usage?namespace=&object=`: metered usage as JSON (see [`crate::usage`]).
//! - `GET /metrics`: Prometheus text format (see [`crate::metrics`]).
//! - `GET /logs?object=&namespace=`: an object's recent log lines as JSON (see [`crate::logs`]).
//!
//! Every request must carry `Authorization: Bearer TOKEN`. Without a token the
//! listener starts only when explicitly allowed (`--admin-insecure`) and only
//! on a loopback address.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Result, bail};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::engine::Runtime;
use crate::usage::Usage;

/// How the admin listener is set up.
#[derive(Clone, Debug)]
pub struct AdminOptions {
    pub addr: SocketAddr,
    /// The bearer token every request must carry.
    pub token: Option<String>,
    /// Serve without a token (loopback addresses only).
    pub insecure: bool,
}

/// What the admin endpoints read.
pub struct AdminState {
    pub usage: Arc<Usage>,
    pub runtime: Arc<Runtime>,
    pub token: Option<String>,
}

/// Checks the options: a token is required unless explicitly insecure on loopback.
pub fn check(options: &AdminOptions) -> Result<()> {
    match &options.token {
        Some(t) if t.len() < 16 => bail!("the admin token must be at least 16 characters long"),
        Some(_) => Ok(()),
        None if !options.insecure => bail!(
            "the admin listener needs a token: set --admin-token, FACETS_ADMIN_TOKEN or facets.admin.token \
             (or --admin-insecure to serve it without one on a loopback address)"
        ),
        None if !options.addr.ip().is_loopback() => {
            bail!("the admin listener serves without a token only on a loopback address, not {}", options.addr.ip())
        }
        None => Ok(()),
    }
}

/// Serves the admin endpoints on `listener` until `shutdown` resolves.
pub async fn serve(listener: TcpListener, state: Arc<AdminState>, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else {
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                let state = state.clone();
                let service = service_fn(move |req| handle(state.clone(), req));
                tokio::spawn(async move {
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
            _ = &mut shutdown => break,
        }
    }
}

fn reply(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    res.headers_mut().insert("content-type", content_type.parse().expect("static header"));
    res
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response<Full<Bytes>> {
    reply(status, "application/json", format!("{value}\n"))
}

fn error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    json(status, &serde_json::json!({ "error": message }))
}

/// Compares without an early exit on the first differing byte.
fn same_token(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len() && given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

fn query(req: &Request<Incoming>) -> Vec<(String, String)> {
    let q = req.uri().query().unwrap_or("");
    url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

async fn handle(state: Arc<AdminState>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if let Some(token) = &state.token {
        let given = req
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !same_token(given.as_bytes(), token.as_bytes()) {
            let mut res = error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
            res.headers_mut().insert("www-authenticate", "Bearer".parse().expect("static header"));
            return Ok(res);
        }
    }
    if req.method() != hyper::Method::GET {
        return Ok(error(StatusCode::METHOD_NOT_ALLOWED, "only GET is served here"));
    }
    let params = query(&req);
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    let res = match req.uri().path() {
        "/usage" => {
            let usage = state.usage.clone();
            let (ns, obj) = (param("namespace").map(str::to_string), param("object").map(str::to_string));
            match tokio::task::spawn_blocking(move || usage.query(ns.as_deref(), obj.as_deref())).await {
                Ok(Ok(rows)) => json(StatusCode::OK, &serde_json::json!({ "usage": rows })),
                Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, &format!("reading usage: {e:#}")),
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &format!("reading usage: {e}")),
            }
        }
        "/metrics" => {
            let m = crate::metrics::metrics();
            m.live_instances.set(state.runtime.live_instances() as i64);
            m.instance_slots.set(state.runtime.instance_slots() as i64);
            let usage = state.usage.clone();
            if let Ok(bytes) = tokio::task::spawn_blocking(move || usage.storage_bytes()).await {
                m.storage_bytes.set(bytes as i64);
            }
            reply(StatusCode::OK, "application/openmetrics-text; version=1.0.0; charset=utf-8", m.encode())
        }
        "/logs" => match param("object") {
            None => error(StatusCode::BAD_REQUEST, "name the object: /logs?object=NAME (and optionally &namespace=CLASS)"),
            Some(object) => {
                let lines = crate::logs::recent(param("namespace"), object);
                json(StatusCode::OK, &serde_json::json!({ "object": object, "lines": lines }))
            }
        },
        _ => error(StatusCode::NOT_FOUND, "not found: GET /usage, /metrics or /logs"),
    };
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(addr: &str, token: Option<&str>, insecure: bool) -> AdminOptions {
        AdminOptions { addr: addr.parse().unwrap(), token: token.map(str::to_string), insecure }
    }

    #[test]
    fn a_token_is_required_unless_insecure_on_loopback() {
        assert!(check(&opts("127.0.0.1:1", Some("0123456789abcdef"), false)).is_ok());
        assert!(check(&opts("0.0.0.0:1", Some("0123456789abcdef"), false)).is_ok());
        assert!(check(&opts("127.0.0.1:1", Some("short"), false)).unwrap_err().to_string().contains("at least 16"));
        assert!(check(&opts("127.0.0.1:1", None, false)).unwrap_err().to_string().contains("needs a token"));
        assert!(check(&opts("127.0.0.1:1", None, true)).is_ok());
        assert!(check(&opts("0.0.0.0:1", None, true)).unwrap_err().to_string().contains("loopback"));
        assert!(same_token(b"abc", b"abc") && !same_token(b"abd", b"abc") && !same_token(b"ab", b"abc"));
    }
}
