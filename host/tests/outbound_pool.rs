//! The outbound client keeps connections for reuse, and its failures are the connection errors a fresh connection
//! would give (the lanes retry those): a local HTTP/1.1 server counts the connections it accepts.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http_body_util::{BodyExt, Empty};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tr_host::outbound::PooledClient;
use wasmtime_wasi_http::Error as HttpError;

/// Answers every request on a connection with a small 200, keeping the connection open; counts connections.
async fn server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = socket.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                        if socket.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    (format!("http://{addr}"), accepted)
}

fn get(url: &str) -> http::Request<wasmtime_wasi_http::WasiBody> {
    http::Request::get(url).body(Empty::new().map_err(|never| match never {}).boxed_unsync()).unwrap()
}

#[tokio::test]
async fn requests_to_one_host_share_a_kept_open_connection() {
    let (base, accepted) = server().await;
    let client = PooledClient::new();
    for i in 0..5 {
        let response = client.send(get(&format!("{base}/q{i}")), None).await.expect("answered");
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"ok");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "five requests, one connection");
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error_and_tls_is_ready_for_https() {
    let client = PooledClient::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    match client.send(get(&format!("http://127.0.0.1:{port}/")), None).await {
        Err(HttpError::Connect(e)) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}"),
        other => panic!("expected a refused connect, got {:?}", other.map(|r| r.status())),
    }
    // An https URL goes through the TLS connector (built with an explicit crypto provider: the process links two).
    // A server that hangs up at once fails the handshake: an error, not a panic.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            drop(socket);
        }
    });
    assert!(client.send(get(&format!("https://{addr}/")), None).await.is_err());
}
