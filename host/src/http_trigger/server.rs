//! The HTTP trigger: `[[trigger.http]]` routes served with hyper, each component's instances reused as Spin
//! reuses them ([`super::reuse`]).
//!
//! Each request is matched to a route ([`super::routes`]), told Spin's `spin-*` headers, and handed to the
//! component's `ProxyHandler` (wasmtime-wasi-http's, as Spin's trigger and `wasmtime serve` use it), which gives
//! it to an instance that has room or instantiates one from the pre-linked component. A p3 guest may still be
//! writing its body after `handle` returned; the instance lives on until it is done. A trap, a guest error code
//! or a timeout fails that request with a 500 (no guest detail leaks to the client; it goes to the log) and the
//! host keeps serving — running out of its memory limit included. How connections are accepted and bounded:
//! [`super::connections`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use wasmtime_wasi_http::handler::{ExpirationError, InstantiationError, ProxyHandler, TrapOrPanicError};

use tr_accept_backoff::{AcceptBackoff, is_per_connection};

use super::connections::{Activity, Admission, ConnectionLimits, DrainOnDrop, Gate};
use super::reuse::{ComponentInstances, Served};
use super::routes::{Router, spin_headers};
use crate::runtime::is_pool_exhausted;

pub type ResponseBody = http_body_util::combinators::UnsyncBoxBody<Bytes, wasmtime_wasi_http::Error>;

pub struct HttpTrigger {
    pub router: Router,
    /// Each routed component's instances.
    pub components: HashMap<String, ProxyHandler<ComponentInstances>>,
    pub limits: ConnectionLimits,
}

impl HttpTrigger {
    /// Serves until the listener fails for good (it does not: failing accepts back off and retry).
    pub async fn serve(self: Arc<Self>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        let local = listener.local_addr()?;
        let gate = Gate::new(&self.limits);
        let mut backoff = AcceptBackoff::new(self.limits.accept_backoff_max);
        loop {
            let slot = gate.slot().await;
            let (stream, client) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) if is_per_connection(&e) => continue,
                Err(e) => {
                    let (delay, line) = backoff.failed(&e, Instant::now());
                    if let Some(line) = line {
                        eprintln!("[http] {line}");
                    }
                    drop(slot);
                    tokio::time::sleep(delay).await;
                    continue;
                }
            };
            if let Some(line) = backoff.succeeded(Instant::now()) {
                eprintln!("[http] {line}");
            }
            // Streamed bodies leave the head and the body in separate writes; without NODELAY, Nagle plus the
            // client's delayed ACK adds ~40 ms to every keep-alive request.
            if let Err(e) = stream.set_nodelay(true) {
                eprintln!("[http] set_nodelay for {client}: {e}");
            }
            let slot = gate.upgrade(slot);
            let trigger = self.clone();
            tokio::spawn(async move {
                let admission = slot.admission;
                let activity = Activity::new();
                let service = hyper::service::service_fn({
                    let activity = activity.clone();
                    let trigger = trigger.clone();
                    move |req| {
                        let busy = activity.begin();
                        let trigger = trigger.clone();
                        async move {
                            let _busy = busy;
                            let response = match admission {
                                Admission::Served => trigger.handle(req, local, client).await,
                                Admission::Overloaded => overloaded(),
                            };
                            Ok::<_, std::convert::Infallible>(response)
                        }
                    }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(trigger.limits.header_read_timeout)
                    // An overflow connection gets its one 503 and is closed, freeing the slot.
                    .keep_alive(admission == Admission::Served)
                    .serve_connection(TokioIo::new(stream), service);
                tokio::pin!(conn);
                let mut closing = false;
                let result = loop {
                    tokio::select! {
                        result = conn.as_mut() => break result,
                        _ = activity.idle_for(trigger.limits.idle_timeout), if !closing => {
                            conn.as_mut().graceful_shutdown();
                            closing = true;
                        }
                    }
                };
                if let Err(e) = result
                    && !e.is_incomplete_message()
                    && !e.is_timeout()
                {
                    eprintln!("[http] connection from {client}: {e}");
                }
                drop(slot);
            });
        }
    }

    async fn handle(&self, mut req: hyper::Request<Incoming>, local: SocketAddr, client: SocketAddr) -> hyper::Response<ResponseBody> {
        let started = Instant::now();
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let Some(route) = self.router.find(&path) else {
            println!("[http] {method} {path} -> 404 (no route) in {:.1} ms", ms(started));
            return plain(404, "Not Found\n");
        };
        let component = &self.components[&route.component];
        let host = req.headers().get(http::header::HOST).and_then(|h| h.to_str().ok()).map(str::to_owned);
        let authority = host.unwrap_or_else(|| local.to_string());
        let path_and_query = req.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| path.clone());
        let full_url = format!("http://{authority}{path_and_query}");
        for (name, value) in spin_headers(route, &full_url, &path, &client.to_string()) {
            if let Ok(value) = http::HeaderValue::from_str(&value) {
                req.headers_mut().insert(name, value);
            }
        }
        if let Ok(uri) = full_url.parse::<http::Uri>() {
            *req.uri_mut() = uri;
        }

        let served = Arc::new(Served::default());
        let req = req.map(|body| DrainOnDrop::new(body, &self.limits).map_err(wasmtime_wasi_http::Error::from).boxed_unsync());
        let response = component.handle(served.clone(), req).await;
        let (status, mut note) = match &response {
            Ok(r) => (r.status().as_u16(), String::new()),
            Err(e) if pool_exhausted(e) => (503, " (every instance slot is taken)".to_owned()),
            Err(e) if e.is::<TrapOrPanicError>() => match served.failure(Duration::from_millis(200)).await {
                Some(why) => (500, format!(" (its instance failed: {why})")),
                None => (500, " (its instance failed while serving it)".to_owned()),
            },
            Err(e) => (500, format!(" ({})", why_failed(e))),
        };
        match served.read() {
            Some((instance, 1, Some(instantiate))) => {
                note.push_str(&format!(" (instance {instance}, instantiate {:.2} ms)", instantiate.as_secs_f64() * 1000.0));
            }
            Some((instance, nth, _)) => note.push_str(&format!(" (instance {instance}, request {nth})")),
            None => {}
        }
        println!("[http] {} {method} {path} -> {status} in {:.1} ms{note}", route.component, ms(started));
        match response {
            Ok(r) => r,
            Err(_) if status == 503 => busy("Service Unavailable: every instance slot is taken\n"),
            Err(_) => plain(500, "Internal Server Error\n"),
        }
    }
}

/// Whether a request failed because no instance could be made for want of a pool slot (503: retry later).
fn pool_exhausted(e: &wasmtime::Error) -> bool {
    e.downcast_ref::<InstantiationError<Arc<Served>>>().is_some_and(|i| is_pool_exhausted(&i.error))
}

/// What the log says about a failed request: the guest's own error where there is one.
fn why_failed(e: &wasmtime::Error) -> String {
    if e.is::<ExpirationError>() {
        "timed out".to_owned()
    } else if let Some(i) = e.downcast_ref::<InstantiationError<Arc<Served>>>() {
        format!("instantiation failed: {:#}", i.error)
    } else {
        format!("{e:#}")
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// The answer on a connection past the cap: quick, and the client is told when to come back.
fn overloaded() -> hyper::Response<ResponseBody> {
    busy("Service Unavailable: too many connections\n")
}

/// A 503 the client should retry in a second.
fn busy(text: &'static str) -> hyper::Response<ResponseBody> {
    let mut response = plain(503, text);
    response.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("1"));
    response
}

fn plain(status: u16, text: &'static str) -> hyper::Response<ResponseBody> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from_static(text.as_bytes())).map_err(|never| match never {}).boxed_unsync())
        .expect("static response")
}
