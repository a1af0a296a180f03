//! A request body read into memory, never past a limit.
//!
//! Key decision: the limit is enforced while reading, not after. A chunked body (no `Content-Length`), or one
//! whose length header lies, would otherwise be buffered whole before any check — a public endpoint's memory
//! for anyone to fill. Over the limit is the client's 413; a body that breaks off is the client's 400.

use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use crate::http_answer::ApiError;

/// The whole body, or 413 as soon as more than `limit` bytes have arrived.
pub async fn read_body<B>(body: B, limit: usize) -> Result<Bytes, ApiError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Debug + Send + Sync + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => {
            Err(ApiError::new(413, "payload_too_large", format!("the body is over the limit of {limit} bytes")))
        }
        Err(e) => Err(ApiError::bad_request(format!("the body could not be read: {e}"))),
    }
}
