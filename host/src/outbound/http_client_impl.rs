//! `wasi:http/client@0.3.0` policy: every outbound request a guest sends passes `allowed_outbound_hosts`
//! ([`super::allowed_hosts`]) before a connection is made; a refused one reaches the guest as
//! `error-code::http-request-denied`, and the host logs it. An allowed one goes out over the application's pooled
//! connections ([`super::pooled_client`]).

use std::future::Future;
use std::sync::Arc;

use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use super::allowed_hosts::AllowedHosts;
use super::pooled_client::PooledClient;

pub struct OutboundHooks {
    component: String,
    allowed: AllowedHosts,
    client: Arc<PooledClient>,
}

impl OutboundHooks {
    pub fn new(component: String, allowed: AllowedHosts, client: Arc<PooledClient>) -> Self {
        Self { component, allowed, client }
    }
}

type IoFuture = Box<dyn Future<Output = Result<(), HttpError>> + Send>;

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _body_done: IoFuture,
    ) -> Box<dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), HttpError>> + Send> {
        let uri = request.uri();
        let scheme = uri.scheme_str().unwrap_or("http").to_owned();
        let host = uri.host().unwrap_or_default().to_owned();
        if !self.allowed.allows(&scheme, &host, uri.port_u16()) {
            // Scheme, host and port only: a path or query can carry a key, and a URI its user:password.
            let port = uri.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
            eprintln!(
                "[outbound] {}: {} {scheme}://{host}{port} DENIED (not in allowed_outbound_hosts)",
                self.component,
                request.method()
            );
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        let client = self.client.clone();
        Box::new(async move {
            let response = client.send(request, options).await?;
            // The pool's own task drives the connection: nothing is left for the caller to poll.
            Ok((response, Box::new(async { Ok(()) }) as IoFuture))
        })
    }
}
