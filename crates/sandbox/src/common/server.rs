//! Serving a sandbox's router over HTTP or HTTPS on a chosen or ephemeral port.

use super::tls::TlsMaterial;
use axum::Router;
use std::net::SocketAddr;
use std::time::Duration;

/// The URL a client reached the sandbox at (`public_url` when set, else `scheme://Host`), for
/// links, `Location` headers and `instance_url`.
pub fn instance_url(public_url: Option<&str>, scheme: &str, headers: &http::HeaderMap) -> String {
    if let Some(url) = public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("{scheme}://{host}")
}

/// Errors while starting to serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source} (is another process using the port? try --port 0 for a free one)")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The TLS certificate or key was rejected.
    #[error("the TLS certificate or key is not usable: {0}")]
    Tls(std::io::Error),
}

/// A server that is running; dropping it does not stop it, [`Listening::shutdown`] does.
#[derive(Debug)]
pub struct Listening {
    addr: SocketAddr,
    base_url: String,
    handle: axum_server::Handle<SocketAddr>,
    task: tokio::task::JoinHandle<()>,
}

impl Listening {
    /// The bound address (with the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` or `https://…`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Stops accepting connections, lets requests in flight finish (up to a few seconds) and
    /// waits for the server task to end.
    pub async fn shutdown(self) {
        self.handle.graceful_shutdown(Some(Duration::from_secs(5)));
        let _ = self.task.await;
    }
}

/// HTTP/2 requests name their host in the `:authority` pseudo-header, which hyper puts in
/// the URI rather than in a `Host` header; copy it over so that every handler finds the host
/// the client used in one place.
async fn host_from_authority(mut request: axum::extract::Request) -> axum::extract::Request {
    if !request.headers().contains_key(http::header::HOST) {
        if let Some(value) = request
            .uri()
            .authority()
            .and_then(|a| http::HeaderValue::from_str(a.as_str()).ok())
        {
            request.headers_mut().insert(http::header::HOST, value);
        }
    }
    request
}

/// Binds `addr` and serves `router` on it, with TLS when `tls` is given.
pub async fn serve(
    router: Router,
    addr: SocketAddr,
    tls: Option<&TlsMaterial>,
) -> Result<Listening, ServeError> {
    super::ensure_crypto_provider();
    let listener =
        std::net::TcpListener::bind(addr).map_err(|source| ServeError::Bind { addr, source })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| ServeError::Bind { addr, source })?;
    let handle = axum_server::Handle::new();
    let service = router
        .layer(axum::middleware::map_request(host_from_authority))
        .into_make_service_with_connect_info::<SocketAddr>();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let task = match tls {
        Some(material) => {
            let config = axum_server::tls_rustls::RustlsConfig::from_pem(
                material.cert_pem.clone(),
                material.key_pem.clone(),
            )
            .await
            .map_err(ServeError::Tls)?;
            let server = axum_server::tls_rustls::from_tcp_rustls(listener, config)
                .map_err(|source| ServeError::Bind { addr, source })?
                .handle(handle.clone());
            tokio::spawn(async move {
                if let Err(e) = server.serve(service).await {
                    tracing::error!(error = %e, "sandbox server stopped with an error");
                }
            })
        }
        None => {
            let server = axum_server::from_tcp(listener)
                .map_err(|source| ServeError::Bind { addr, source })?
                .handle(handle.clone());
            tokio::spawn(async move {
                if let Err(e) = server.serve(service).await {
                    tracing::error!(error = %e, "sandbox server stopped with an error");
                }
            })
        }
    };
    let shown = if local.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], local.port()))
    } else {
        local
    };
    Ok(Listening {
        addr: local,
        base_url: format!("{scheme}://{shown}"),
        handle,
        task,
    })
}
