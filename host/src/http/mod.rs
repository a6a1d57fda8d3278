//! The HTTP front door: hyper on a TCP listener; every request goes to the
//! main module's default export. Request bodies are buffered (up to
//! [`MAX_REQUEST_BODY`]); a response whose body is a `ReadableStream` is sent
//! chunked as the guest produces it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::engine::HttpRequest;
use crate::object::{EventError, Registry};

/// Request bodies larger than this are refused with 413.
pub const MAX_REQUEST_BODY: usize = 100 << 20;

/// How long in-flight requests may take to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Serves `listener` until `shutdown` resolves, then lets in-flight requests
/// finish (up to [`SHUTDOWN_GRACE`]).
pub async fn serve(listener: TcpListener, registry: Arc<Registry>, shutdown: impl Future<Output = ()>) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let registry = registry.clone();
                let local = listener.local_addr().ok();
                let service = service_fn(move |req| measured(registry.clone(), req, local, peer));
                let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!("connection from {peer}: {e}");
                    }
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!("some connections did not finish within {SHUTDOWN_GRACE:?}");
    }
}

/// A response body: whole, or streamed from the guest.
type Body = UnsyncBoxBody<Bytes, std::io::Error>;

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed_unsync()
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut res = Response::new(full(body.to_string()));
    *res.status_mut() = status;
    res.headers_mut().insert("content-type", "text/plain;charset=UTF-8".parse().expect("static header"));
    res
}

/// [`handle`], counted in the metrics by outcome (from the status it answers).
async fn measured(
    registry: Arc<Registry>,
    req: Request<Incoming>,
    local: Option<SocketAddr>,
    peer: SocketAddr,
) -> Result<Response<Body>, Infallible> {
    use crate::metrics::{Kind, Outcome};
    let started = std::time::Instant::now();
    let res = handle(registry, req, local, peer).await;
    let outcome = match &res {
        Ok(r) if r.status() == StatusCode::SERVICE_UNAVAILABLE || r.status() == StatusCode::PAYLOAD_TOO_LARGE => Outcome::Limit,
        Ok(r) if r.headers().contains_key(EXCEPTION_MARK) => Outcome::Exception,
        Ok(r) if r.status().is_server_error() => Outcome::Error,
        _ => Outcome::Ok,
    };
    crate::metrics::metrics().request(Kind::Http, outcome, started.elapsed());
    res.map(|mut r| {
        r.headers_mut().remove(EXCEPTION_MARK);
        r
    })
}

/// Marks (inside this module) a response for an uncaught exception.
const EXCEPTION_MARK: &str = "x-facets-internal-exception";

async fn handle(
    registry: Arc<Registry>,
    req: Request<Incoming>,
    local: Option<SocketAddr>,
    _peer: SocketAddr,
) -> Result<Response<Body>, Infallible> {
    let (parts, body) = req.into_parts();
    let max_body = registry.limits().request_body_bytes;
    let body = match Limited::new(body, max_body).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                crate::metrics::metrics().limit_hit(crate::metrics::Limit::RequestBody);
                tracing::warn!(object = "worker", "refused a request body over the limit ({max_body} bytes)");
                return Ok(text(StatusCode::PAYLOAD_TOO_LARGE, &format!("request body too large (the limit is {max_body} bytes)\n")));
            }
            return Ok(text(StatusCode::BAD_REQUEST, "could not read the request body\n"));
        }
    };
    let host = parts
        .headers
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| local.map(|a| a.to_string()))
        .unwrap_or_else(|| "localhost".into());
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let url = format!("http://{host}{path}");
    if url::Url::parse(&url).is_err() {
        return Ok(text(StatusCode::BAD_REQUEST, "bad request URL\n"));
    }
    let headers = crate::engine::headers::join(parts.headers.iter().filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v))));
    let has_body = !body.is_empty() || parts.headers.contains_key(hyper::header::CONTENT_LENGTH);
    let request = HttpRequest {
        method: parts.method.as_str().to_string(),
        url,
        headers,
        body: has_body.then(|| body.to_vec()),
    };
    let (response, stream) = match registry.fetch_entry_streaming(request).await {
        Ok(r) => r,
        Err(EventError::Js(e)) => {
            tracing::error!(object = "worker", stack = e.stack.as_deref().unwrap_or(""), "uncaught {}: {}", e.name, e.message);
            let mut res = text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error: the worker threw an exception\n");
            res.headers_mut().insert(EXCEPTION_MARK, hyper::header::HeaderValue::from_static("1"));
            return Ok(res);
        }
        Err(EventError::Internal(m)) => {
            tracing::error!(object = "worker", "{m}");
            if m.starts_with("exceeded ") {
                return Ok(text(StatusCode::SERVICE_UNAVAILABLE, &format!("Service Unavailable: the worker {m}\n")));
            }
            return Ok(text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error\n"));
        }
    };
    let max_response = registry.limits().response_body_bytes;
    if response.body.len() > max_response {
        crate::metrics::metrics().limit_hit(crate::metrics::Limit::ResponseBody);
        tracing::error!(object = "worker", "exceeded the response body size limit ({max_response} bytes): {} bytes", response.body.len());
        return Ok(text(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("Service Unavailable: the worker exceeded the response body size limit ({max_response} bytes)\n"),
        ));
    }
    let body = match stream {
        None => full(response.body),
        Some(rx) => ChunkBody(rx).boxed_unsync(),
    };
    let mut res = Response::new(body);
    *res.status_mut() = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in crate::engine::headers::pairs(&response.headers) {
        if let (Ok(name), Ok(value)) = (hyper::header::HeaderName::from_bytes(k.as_bytes()), hyper::header::HeaderValue::from_str(&v)) {
            res.headers_mut().append(name, value);
        }
    }
    Ok(res)
}

/// A streamed body: the chunks the guest produces, as they come.
struct ChunkBody(crate::object::BodyReceiver);

impl hyper::body::Body for ChunkBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        self.0.poll_recv(cx).map(|chunk| chunk.map(|r| r.map(hyper::body::Frame::data)))
    }
}
