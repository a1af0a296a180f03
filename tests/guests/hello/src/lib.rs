//! The hello-world baseline the form lane's benchmark compares against: what spin-sdk 7 costs on its own, in
//! .wasm size and in requests per second through the local host.

use spin_sdk::http::{IntoResponse, Request, StatusCode};
use spin_sdk::http_service;

#[http_service]
async fn handle(_req: Request) -> anyhow::Result<impl IntoResponse> {
    Ok((StatusCode::OK, "hello".to_owned()))
}
