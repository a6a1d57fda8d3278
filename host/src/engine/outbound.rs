//! Outbound `fetch()` from the guest, performed by the host with hyper's
//! client: redirects per the request's mode (bounded), connect and total
//! timeouts, a response-size cap, and a host-wide list of socket addresses
//! the guest may never reach (the host's own listeners), checked after DNS
//! resolution so that every alias of them (`localhost`, `127.0.0.1`, `[::1]`,
//! `0.0.0.0`, the machine's own addresses) is caught.
//!
//! `https:` goes through rustls (with the ring provider), trusting the
//! Mozilla root certificates of `webpki-roots`; the deny list applies to it
//! the same way (it sits under TLS, at the TCP connect).

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Uri;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use super::bindings::facets::runtime::io::{FetchResponse, RedirectMode};
use super::bindings::{HttpRequest, HttpResponse, JsError};

/// Settings of outbound `fetch()`.
#[derive(Clone, Debug)]
pub struct OutboundOptions {
    /// How long connecting to a server may take. Default 10 s.
    pub connect_timeout: Duration,
    /// How long one `fetch()` may take in all (connect, redirects, the whole
    /// response body). Default 60 s.
    pub total_timeout: Duration,
    /// The largest response body `fetch()` accepts (it is copied into the
    /// guest's memory). Default 32 MiB.
    pub max_response_bytes: usize,
}

impl Default for OutboundOptions {
    fn default() -> Self {
        OutboundOptions {
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(60),
            max_response_bytes: 32 << 20,
        }
    }
}

/// Redirects one `fetch()` follows at most (the Fetch standard's limit).
pub const MAX_REDIRECTS: usize = 20;

/// Socket addresses no guest may connect to.
#[derive(Clone, Default)]
struct DenyList(Arc<RwLock<Vec<SocketAddr>>>);

impl DenyList {
    fn denies(&self, addr: &SocketAddr) -> bool {
        let list = self.0.read().expect("deny list lock");
        list.iter().any(|d| {
            if d.port() != addr.port() {
                return false;
            }
            let ip = canonical(addr.ip());
            let denied = canonical(d.ip());
            // A listener on 0.0.0.0 / [::] answers on every local address;
            // connecting to 0.0.0.0 reaches the local machine.
            ip == denied || ip.is_unspecified() || (denied.is_unspecified() && is_local(ip)) || (ip.is_loopback() && denied.is_loopback())
        })
    }
}

/// IPv4-mapped IPv6 addresses as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// Whether `ip` is an address of this machine (loopback, or one a socket can be bound to).
fn is_local(ip: IpAddr) -> bool {
    ip.is_loopback() || std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

/// The guest tried to reach one of the host's own listeners.
#[derive(Debug, thiserror::Error)]
#[error("{0} is an address of this host's own listeners, which guests may not reach")]
struct Denied(String);

/// Resolves, checks the deny list, then connects (with a timeout).
#[derive(Clone)]
struct Connector {
    denied: DenyList,
    connect_timeout: Duration,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower_service::Service<Uri> for Connector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let result: Result<Self::Response, BoxError> = async {
            let host = uri.host().ok_or("the URL has no host")?;
            let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
            let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("https") { 443 } else { 80 });
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port)).await?.collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            let allowed: Vec<SocketAddr> = addrs.iter().copied().filter(|a| !this.denied.denies(a)).collect();
            if allowed.is_empty() {
                return Err(Box::new(Denied(format!("{host}:{port}"))) as BoxError);
            }
            let mut last: Option<BoxError> = None;
            for addr in allowed {
                match tokio::time::timeout(this.connect_timeout, TcpStream::connect(addr)).await {
                    Ok(Ok(stream)) => {
                        let _ = stream.set_nodelay(true);
                        return Ok(TokioIo::new(stream));
                    }
                    Ok(Err(e)) => last = Some(e.into()),
                    Err(_) => last = Some(format!("connecting to {addr} timed out after {} ms", this.connect_timeout.as_millis()).into()),
                }
            }
            Err(last.unwrap_or_else(|| "could not connect".into()))
            }
            .await;
            result
        })
    }
}

/// The host's outbound HTTP client, shared by every instance of a runtime.
pub struct Outbound {
    client: Client<hyper_rustls::HttpsConnector<Connector>, Full<Bytes>>,
    denied: DenyList,
    options: OutboundOptions,
}

/// Request headers the host sets itself (hop-by-hop, or derived from the body and URL).
const SKIPPED_REQUEST_HEADERS: &[&str] =
    &["host", "content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer", "proxy-connection"];

fn fetch_error(message: impl Into<String>) -> JsError {
    JsError::new("TypeError", format!("fetch() failed: {}", message.into()))
}

/// The innermost cause of a client error, as text (hyper's own are vague).
fn describe(err: &(dyn std::error::Error + 'static)) -> Result<String, String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    let mut last = err.to_string();
    while let Some(e) = cur {
        if let Some(d) = e.downcast_ref::<Denied>() {
            return Err(d.to_string());
        }
        last = e.to_string();
        cur = e.source();
    }
    Ok(last)
}

impl Outbound {
    pub fn new(options: OutboundOptions) -> Outbound {
        let denied = DenyList::default();
        let connector = Connector { denied: denied.clone(), connect_timeout: options.connect_timeout };
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(hyper_util::rt::TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(8)
            .build(connector);
        Outbound { client, denied, options }
    }

    /// Guests may never connect to `addr` (with a listener on an unspecified
    /// address such as `0.0.0.0:8787`, to any local address on that port).
    pub fn deny(&self, addr: SocketAddr) {
        self.denied.0.write().expect("deny list lock").push(addr);
    }

    /// Performs one `fetch()`, bounded by the total timeout.
    pub async fn fetch(&self, request: HttpRequest, redirect: RedirectMode) -> Result<FetchResponse, JsError> {
        let url = request.url.clone();
        match tokio::time::timeout(self.options.total_timeout, self.fetch_inner(request, redirect)).await {
            Ok(result) => result,
            Err(_) => Err(fetch_error(format!(
                "{url} did not answer within {} ms (the outbound fetch timeout)",
                self.options.total_timeout.as_millis()
            ))),
        }
    }

    async fn fetch_inner(&self, request: HttpRequest, redirect: RedirectMode) -> Result<FetchResponse, JsError> {
        let mut url = url::Url::parse(&request.url).map_err(|e| fetch_error(format!("invalid URL {}: {e}", request.url)))?;
        let mut method = request.method.clone();
        let mut headers: Vec<(&str, &str)> = super::headers::pairs(&request.headers).collect();
        let mut body = request.body.map(Bytes::from);
        let mut redirected = false;
        for _ in 0..=MAX_REDIRECTS {
            match url.scheme() {
                "http" | "https" => {}
                other => return Err(fetch_error(format!("{url}: unsupported URL scheme \"{other}:\""))),
            }
            let uri: Uri = url.as_str().parse().map_err(|e| fetch_error(format!("invalid URL {url}: {e}")))?;
            let mut builder = hyper::Request::builder().method(method.as_str()).uri(uri);
            for (k, v) in &headers {
                if SKIPPED_REQUEST_HEADERS.contains(&k.to_ascii_lowercase().as_str()) {
                    continue;
                }
                builder = builder.header(*k, *v);
            }
            let req = builder
                .body(Full::new(body.clone().unwrap_or_default()))
                .map_err(|e| fetch_error(format!("invalid request to {url}: {e}")))?;
            let res = self.client.request(req).await.map_err(|e| match describe(&e) {
                Err(denied) => fetch_error(format!("refused to connect to {url}: {denied}")),
                Ok(cause) => fetch_error(format!("could not reach {url}: {cause}")),
            })?;
            let status = res.status();
            let location = res.headers().get(hyper::header::LOCATION).and_then(|l| l.to_str().ok()).map(str::to_string);
            if status.is_redirection() && matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) && redirect != RedirectMode::Manual {
                if let Some(location) = location {
                    if redirect == RedirectMode::Error {
                        return Err(fetch_error(format!("{url} redirected to {location}, and the request's redirect mode is \"error\"")));
                    }
                    let next = url.join(&location).map_err(|e| fetch_error(format!("{url} redirected to an invalid URL {location:?}: {e}")))?;
                    let code = status.as_u16();
                    if code == 303 && method != "HEAD" || (code == 301 || code == 302) && method == "POST" {
                        method = "GET".into();
                        body = None;
                        headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
                    }
                    if next.origin() != url.origin() {
                        headers.retain(|(k, _)| !k.eq_ignore_ascii_case("authorization"));
                    }
                    url = next;
                    redirected = true;
                    continue;
                }
            }
            let status_text = status.canonical_reason().unwrap_or("").to_string();
            let response_headers = super::headers::join(
                res.headers()
                    .iter()
                    // A header value is a ByteString: each byte is one code point (Latin-1).
                    .map(|(k, v)| (k.as_str(), v.as_bytes().iter().map(|&b| b as char).collect::<String>())),
            );
            let max = self.options.max_response_bytes;
            let bytes = Limited::new(res.into_body(), max).collect().await.map_err(|e| {
                if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                    fetch_error(format!("the response from {url} is larger than the limit of {max} bytes"))
                } else {
                    fetch_error(format!("reading the response from {url}: {e}"))
                }
            })?;
            return Ok(FetchResponse {
                response: HttpResponse {
                    status: status.as_u16(),
                    status_text,
                    headers: response_headers,
                    body: bytes.to_bytes().to_vec(),
                },
                url: url.to_string(),
                redirected,
            });
        }
        Err(fetch_error(format!("too many redirects (more than {MAX_REDIRECTS}) starting at {}", request.url)))
    }
}
