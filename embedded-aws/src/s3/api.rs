//! The S3 REST API, path-style (`/<bucket>/<key>`): the calls a mail drop needs.
//!
//! Implemented: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, ListObjectsV2 (prefix, max-keys,
//! start-after/continuation), PutObject (plain or `aws-chunked` with an unsigned trailer, as SDKs send it when
//! they add a checksum trailer), GetObject (with `Range`), HeadObject, DeleteObject. Key decision: a PutObject to a
//! bucket with a notification target stores the object and enqueues the `ObjectCreated:Put` event in one
//! transaction, answered only after commit.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode, Uri};
use http_body_util::Full;

use super::notification::{self, PutEvent, put_event};
use super::store::{self as object_store, ObjectMeta};
use crate::app::{App, now_ms};
use crate::error::ApiError;
use crate::sigv4_verify::STREAMING_UNSIGNED_TRAILER;
use crate::sqs::messages::{self, NewMessage};
use crate::sqs::store as queue_store;

pub type S3Response = Response<Full<Bytes>>;

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn http_date(unix_s: i64) -> String {
    httpdate::fmt_http_date(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix_s.max(0) as u64),
    )
}

fn iso_date(unix_s: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp(unix_s)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    notification::event_time(at)
}

fn xml(status: StatusCode, body: String) -> S3Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/xml")
        .body(Full::new(Bytes::from(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}"
        ))))
        .expect("static response parts")
}

fn empty(status: StatusCode) -> http::response::Builder {
    Response::builder().status(status)
}

/// Splits `/<bucket>/<key>` (raw path) into the bucket and the percent-decoded key.
fn split_path(uri: &Uri) -> Result<(String, Option<String>), ApiError> {
    let path = uri.path().trim_start_matches('/');
    let (bucket, key) = match path.split_once('/') {
        Some((b, k)) if !k.is_empty() => (b, Some(k)),
        Some((b, _)) => (b, None),
        None => (path, None),
    };
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .map_err(|_| ApiError::s3(400, "InvalidURI", "Couldn't parse the specified URI."))
    };
    Ok((decode(bucket)?, key.map(decode).transpose()?))
}

fn query_param(uri: &Uri, name: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| {
            percent_encoding::percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

/// Decodes an `aws-chunked` body: `<hex size>[;ext]\r\n<data>\r\n` ... `0\r\n<trailers>\r\n\r\n`.
pub fn decode_aws_chunked(body: &[u8]) -> Result<Vec<u8>, ApiError> {
    let bad = || {
        ApiError::s3(
            400,
            "IncompleteBody",
            "The aws-chunked body could not be decoded.",
        )
    };
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").ok_or_else(bad)?;
        let header = std::str::from_utf8(&rest[..line_end]).map_err(|_| bad())?;
        let size_hex = header.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16).map_err(|_| bad())?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(out); // trailers (checksums) follow; the ETag is our own MD5 either way
        }
        // `size` is the client's number: checked, so a huge one is a 400 rather than an overflow.
        let end = size.checked_add(2).ok_or_else(bad)?;
        if rest.len() < end || &rest[size..end] != b"\r\n" {
            return Err(bad());
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[end..];
    }
}

fn object_headers(builder: http::response::Builder, meta: &ObjectMeta) -> http::response::Builder {
    builder
        .header("etag", format!("\"{}\"", meta.etag))
        .header("last-modified", http_date(meta.modified_s))
        .header("accept-ranges", "bytes")
        .header(
            "content-type",
            meta.content_type
                .as_deref()
                .unwrap_or("binary/octet-stream"),
        )
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n` → an inclusive range within `size`; `None` = not a single byte range.
fn parse_range(header: &str, size: u64) -> Result<Option<(u64, u64)>, ApiError> {
    let Some(spec) = header.strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None); // S3 ignores multi-range requests and returns the whole object
    }
    let unsatisfiable = || {
        ApiError::s3(
            416,
            "InvalidRange",
            "The requested range is not satisfiable",
        )
    };
    let (a, b) = spec.split_once('-').ok_or_else(unsatisfiable)?;
    let range = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().map_err(|_| unsatisfiable())?;
            if n == 0 || size == 0 {
                return Err(unsatisfiable());
            }
            (size.saturating_sub(n), size - 1)
        }
        (a, "") => (
            a.parse().map_err(|_| unsatisfiable())?,
            size.saturating_sub(1),
        ),
        (a, b) => {
            let (a, b): (u64, u64) = (
                a.parse().map_err(|_| unsatisfiable())?,
                b.parse().map_err(|_| unsatisfiable())?,
            );
            if b < a {
                return Ok(None);
            }
            (a, b.min(size.saturating_sub(1)))
        }
    };
    if range.0 >= size {
        return Err(unsatisfiable());
    }
    Ok(Some(range))
}

/// Handles one verified S3 request; `principal` is the verified access key id.
pub async fn handle(
    app: &Arc<App>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
    principal: &str,
) -> Result<S3Response, ApiError> {
    let (bucket, key) = split_path(uri)?;
    let now_s = now_ms() / 1000;
    match (method, bucket.is_empty(), key) {
        (&Method::GET, true, _) => {
            let buckets = app.storage.run(object_store::list_buckets).await?;
            let items: String = buckets
                .iter()
                .map(|(n, c)| {
                    format!(
                        "<Bucket><Name>{}</Name><CreationDate>{}</CreationDate></Bucket>",
                        xml_escape(n),
                        iso_date(*c)
                    )
                })
                .collect();
            Ok(xml(
                StatusCode::OK,
                format!(
                    "<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Owner><ID>{0}</ID>\
                     <DisplayName>{0}</DisplayName></Owner><Buckets>{items}</Buckets></ListAllMyBucketsResult>",
                    app.config.account
                ),
            ))
        }
        (_, true, _) => Err(ApiError::s3(
            405,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        )),
        (&Method::PUT, false, None) => {
            let b = bucket.clone();
            let created = app
                .storage
                .run(move |c| object_store::create_bucket(c, &b, now_s))
                .await?;
            if !created && app.config.region != "us-east-1" {
                // us-east-1 answers 200 to re-creating your own bucket; every other region 409.
                return Err(ApiError::s3(
                    409,
                    "BucketAlreadyOwnedByYou",
                    "Your previous request to create the named bucket succeeded and you already own it.",
                ));
            }
            Ok(empty(StatusCode::OK)
                .header("location", format!("/{bucket}"))
                .body(Full::default())
                .expect("response"))
        }
        (&Method::HEAD, false, None) => {
            let b = bucket.clone();
            if app
                .storage
                .run(move |c| object_store::bucket_exists(c, &b))
                .await?
            {
                Ok(empty(StatusCode::OK)
                    .header("x-amz-bucket-region", &app.config.region)
                    .body(Full::default())
                    .expect("response"))
            } else {
                Err(object_store::no_such_bucket())
            }
        }
        (&Method::DELETE, false, None) => {
            app.storage
                .run(move |c| object_store::delete_bucket(c, &bucket))
                .await?;
            Ok(empty(StatusCode::NO_CONTENT)
                .body(Full::default())
                .expect("response"))
        }
        (&Method::GET, false, None) => list_objects_v2(app, &bucket, uri).await,
        (&Method::PUT, false, Some(key)) => {
            put_object(app, bucket, key, headers, body, principal).await
        }
        (&Method::GET | &Method::HEAD, false, Some(key)) => {
            let head = method == Method::HEAD;
            let (meta, data) = if head {
                let (b, k) = (bucket.clone(), key.clone());
                (
                    app.storage
                        .run(move |c| object_store::head_object(c, &b, &k))
                        .await?,
                    Vec::new(),
                )
            } else {
                app.storage
                    .run(move |c| object_store::get_object(c, &bucket, &key))
                    .await?
            };
            let range = match headers
                .get(http::header::RANGE)
                .and_then(|v| v.to_str().ok())
            {
                Some(r) => parse_range(r, meta.size)?,
                None => None,
            };
            let builder = object_headers(Response::builder(), &meta);
            let response = match range {
                Some((a, b)) => builder
                    .status(StatusCode::PARTIAL_CONTENT)
                    .header("content-range", format!("bytes {a}-{b}/{}", meta.size))
                    .header("content-length", b - a + 1)
                    .body(Full::new(if head {
                        Bytes::new()
                    } else {
                        Bytes::from(data[a as usize..=b as usize].to_vec())
                    })),
                None => builder
                    .status(StatusCode::OK)
                    .header("content-length", meta.size)
                    .body(Full::new(Bytes::from(data))),
            };
            Ok(response.expect("response"))
        }
        (&Method::DELETE, false, Some(key)) => {
            app.storage
                .run(move |c| object_store::delete_object(c, &bucket, &key))
                .await?;
            Ok(empty(StatusCode::NO_CONTENT)
                .body(Full::default())
                .expect("response"))
        }
        _ => Err(ApiError::s3(
            501,
            "NotImplemented",
            "A header or method you provided implies functionality that is not implemented.",
        )),
    }
}

async fn put_object(
    app: &Arc<App>,
    bucket: String,
    key: String,
    headers: &HeaderMap,
    body: Bytes,
    principal: &str,
) -> Result<S3Response, ApiError> {
    if headers.contains_key("x-amz-copy-source") {
        return Err(ApiError::s3(
            501,
            "NotImplemented",
            "CopyObject is not implemented by the embedded endpoint.",
        ));
    }
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let chunked = header("x-amz-content-sha256") == Some(STREAMING_UNSIGNED_TRAILER)
        || header("content-encoding")
            .is_some_and(|e| e.split(',').any(|p| p.trim() == "aws-chunked"));
    let data = if chunked {
        decode_aws_chunked(&body)?
    } else {
        body.to_vec()
    };
    if let Some(declared) =
        header("x-amz-decoded-content-length").and_then(|v| v.parse::<usize>().ok())
        && declared != data.len()
    {
        return Err(ApiError::s3(
            400,
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header.",
        ));
    }
    let content_type = header("content-type").map(str::to_owned);
    let meta = store_object(app, bucket, key, data, content_type, principal).await?;
    Ok(empty(StatusCode::OK)
        .header("etag", format!("\"{}\"", meta.etag))
        .body(Full::default())
        .expect("response"))
}

/// Stores an object and, when the bucket has a notification target, enqueues its `ObjectCreated:Put` event in
/// the same transaction. Shared by PutObject and the Rust API.
pub async fn store_object(
    app: &Arc<App>,
    bucket: String,
    key: String,
    data: Vec<u8>,
    content_type: Option<String>,
    principal: &str,
) -> Result<ObjectMeta, ApiError> {
    let (region, principal) = (app.config.region.clone(), principal.to_owned());
    let at = time::OffsetDateTime::now_utc();
    let (meta, notified_queue) = app
        .storage
        .run(move |c| {
            let now_s = at.unix_timestamp();
            let meta =
                object_store::put_object(c, &bucket, &key, &data, content_type.as_deref(), now_s)?;
            let mut notified = None;
            if let Some(target) = object_store::notification(c, &bucket)? {
                // A missing target queue drops the event, as S3 does when delivery is impossible.
                if let Ok(queue) = queue_store::get_queue(c, &target.queue) {
                    let event = put_event(&PutEvent {
                        region: &region,
                        bucket: &bucket,
                        key: &key,
                        size: meta.size,
                        etag: &meta.etag,
                        configuration_id: &target.configuration_id,
                        principal: &principal,
                        at,
                        sequencer: at.unix_timestamp_nanos() as u128,
                    });
                    let body = event.to_string();
                    let message = if queue.is_fifo() {
                        NewMessage {
                            body,
                            group_id: Some(bucket.clone()),
                            dedup_id: Some(uuid::Uuid::new_v4().to_string()),
                            ..Default::default()
                        }
                    } else {
                        NewMessage {
                            body,
                            ..Default::default()
                        }
                    };
                    messages::send(c, &queue, message, now_ms())?;
                    notified = Some(target.queue);
                }
            }
            Ok((meta, notified))
        })
        .await?;
    if let Some(q) = notified_queue {
        app.wake(&q);
    }
    Ok(meta)
}

async fn list_objects_v2(app: &Arc<App>, bucket: &str, uri: &Uri) -> Result<S3Response, ApiError> {
    let prefix = query_param(uri, "prefix").unwrap_or_default();
    let max: usize = query_param(uri, "max-keys")
        .and_then(|m| m.parse().ok())
        .unwrap_or(1000)
        .min(1000);
    let start = query_param(uri, "continuation-token")
        .or_else(|| query_param(uri, "start-after"))
        .unwrap_or_default();
    let (b, p, s) = (bucket.to_owned(), prefix.clone(), start.clone());
    let mut items = app
        .storage
        .run(move |c| object_store::list_objects(c, &b, &p, &s, max + 1))
        .await?;
    let truncated = items.len() > max;
    items.truncate(max);
    let contents: String = items
        .iter()
        .map(|(k, m)| {
            format!(
                "<Contents><Key>{}</Key><LastModified>{}</LastModified><ETag>&quot;{}&quot;</ETag><Size>{}</Size>\
                 <StorageClass>STANDARD</StorageClass></Contents>",
                xml_escape(k),
                iso_date(m.modified_s),
                m.etag,
                m.size
            )
        })
        .collect();
    let next = if truncated {
        format!(
            "<NextContinuationToken>{}</NextContinuationToken>",
            xml_escape(&items.last().map(|i| i.0.clone()).unwrap_or_default())
        )
    } else {
        String::new()
    };
    Ok(xml(
        StatusCode::OK,
        format!(
            "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>{}</Name><Prefix>{}</Prefix>\
             <KeyCount>{}</KeyCount><MaxKeys>{max}</MaxKeys><IsTruncated>{truncated}</IsTruncated>{next}{contents}\
             </ListBucketResult>",
            xml_escape(bucket),
            xml_escape(&prefix),
            items.len()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_chunked_bodies_decode() {
        let body = b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
        assert_eq!(decode_aws_chunked(body).unwrap(), b"hello world");
        assert!(decode_aws_chunked(b"5\r\nhel").is_err());
        // A chunk size at the end of the number range is a 400, not an overflow.
        assert!(decode_aws_chunked(b"ffffffffffffffff\r\nx").is_err());
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-4", 10).unwrap(), Some((0, 4)));
        assert_eq!(parse_range("bytes=5-", 10).unwrap(), Some((5, 9)));
        assert_eq!(parse_range("bytes=-3", 10).unwrap(), Some((7, 9)));
        assert_eq!(parse_range("bytes=8-100", 10).unwrap(), Some((8, 9)));
        assert!(parse_range("bytes=10-", 10).is_err());
    }
}
