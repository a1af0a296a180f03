//! A test guest written as any Spin user would write one (spin-sdk 7, `#[http_service]`), so that the host is
//! proven on real SDK output. Each path exercises one capability; failures come back as status + the SDK's error
//! text, so tests can assert exactly what the guest saw.

use spin_sdk::http::{IntoResponse, Request, StatusCode};
use spin_sdk::http_service;
use spin_sdk::{key_value, variables};
use std::sync::atomic::{AtomicU32, Ordering};

static CALLS: AtomicU32 = AtomicU32::new(0);

#[http_service]
async fn handle(req: Request) -> anyhow::Result<impl IntoResponse> {
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let reply = match segments.as_slice() {
        [.., "hello"] => (StatusCode::OK, "hello".to_owned()),
        // Counts calls in this instance's memory: a host that reuses instances answers more than 1.
        [.., "instance"] => (StatusCode::OK, (CALLS.fetch_add(1, Ordering::SeqCst) + 1).to_string()),
        [.., "file", name] => match std::fs::read_to_string(format!("/data/{name}")) {
            Ok(text) => (StatusCode::OK, text),
            Err(e) => (StatusCode::NOT_FOUND, e.to_string()),
        },
        [.., "write", name] => match std::fs::write(format!("/data/{name}"), "x") {
            Ok(()) => (StatusCode::OK, "written".to_owned()),
            Err(e) => (StatusCode::FORBIDDEN, e.to_string()),
        },
        [.., "headers"] => {
            let mut lines: Vec<String> = req
                .headers()
                .iter()
                .filter(|(n, _)| n.as_str().starts_with("spin-"))
                .map(|(n, v)| format!("{}={}", n, v.to_str().unwrap_or("?")))
                .collect();
            lines.sort();
            (StatusCode::OK, lines.join("\n"))
        }
        [.., "var", name] => match variables::get(name).await {
            Ok(value) => (StatusCode::OK, value),
            Err(e) => (StatusCode::NOT_FOUND, format!("{e:?}")),
        },
        [.., "kv", label] => match key_value::Store::open(label).await {
            Err(e) => (StatusCode::FORBIDDEN, format!("{e:?}")),
            Ok(store) => {
                let n = store.get("n").await?.map(|v| String::from_utf8_lossy(&v).parse::<u64>().unwrap_or(0));
                let next = n.unwrap_or(0) + 1;
                store.set("n", next.to_string()).await?;
                let back = store.get("n").await?.unwrap_or_default();
                (StatusCode::OK, String::from_utf8_lossy(&back).into_owned())
            }
        },
        // Exactly one set and one get on the default store: the benchmark's key-value request.
        [.., "set-get"] => {
            let store = key_value::Store::open_default().await?;
            store.set("bench", path.as_bytes().to_vec()).await?;
            let back = store.get("bench").await?.unwrap_or_default();
            (StatusCode::OK, String::from_utf8_lossy(&back).into_owned())
        }
        [.., "outbound"] => {
            let url = req.uri().query().and_then(|q| q.strip_prefix("url=")).unwrap_or_default().to_owned();
            match spin_sdk::http::get(&url).await {
                Ok(resp) => (StatusCode::OK, format!("upstream {}", resp.status().as_u16())),
                Err(e) => (StatusCode::BAD_GATEWAY, format!("{e:?}")),
            }
        }
        // Refuses the body without reading it, as a guest checking the declared size does (413).
        [.., "refuse"] => (StatusCode::PAYLOAD_TOO_LARGE, "too large".to_owned()),
        // Allocates (and touches) 1 MiB after 1 MiB until the host's memory limit stops it.
        [.., "alloc"] => {
            let mut held: Vec<Vec<u8>> = Vec::new();
            loop {
                held.push(vec![1u8; 1024 * 1024]);
                std::hint::black_box(&held);
            }
        }
        [.., "trap"] => panic!("the guest trapped on purpose"),
        [.., "spin"] => loop {
            std::hint::spin_loop();
        },
        _ => (StatusCode::NOT_FOUND, format!("no probe at {path}")),
    };
    Ok(reply)
}
