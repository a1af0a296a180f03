//! S3 GetObject, SigV4-signed (service `s3`), for the raw mail SES writes.
//!
//! Role: fetch one object, whole, under a size cap. Key decisions: path-style (`{endpoint}/{bucket}/{key}`) or
//! virtual-hosted (`{bucket}.{host}/{key}`) addressing is configuration, because AWS prefers the latter and local
//! servers (moto, the embedded host) need the former; the key is percent-encoded once per segment (S3 signs the
//! path as sent, no double encoding); an object over the cap is refused from its `Content-Length`, and again
//! from the bytes received, so a lying header cannot push a huge body through. Throttling, 5xx and network
//! failures are retried like SQS calls; a missing object or a refused signature is not.

use std::time::SystemTime;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::aws_error::{self, AwsError};
use crate::credentials::Credentials;
use crate::retry::{RetryPolicy, retrying};
use crate::sigv4::{self, SignOptions};
use crate::transport::{Runtime, Transport, TransportError};

/// RFC 3986 unreserved characters stay; everything else in a key segment is encoded (as S3's own SDKs do).
const KEY_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

#[derive(Debug, Clone)]
pub struct S3Config {
    pub region: String,
    /// `https://s3.<region>.amazonaws.com` when `None`.
    pub endpoint: Option<String>,
    /// `{endpoint}/{bucket}/{key}` instead of `{bucket}.{endpoint host}/{key}`.
    pub path_style: bool,
    pub credentials: Credentials,
    pub retry: RetryPolicy,
    /// Objects larger than this are refused, not fetched.
    pub max_object_bytes: u64,
}

impl S3Config {
    pub fn new(region: impl Into<String>, credentials: Credentials, max_object_bytes: u64) -> Self {
        Self {
            region: region.into(),
            endpoint: None,
            path_style: false,
            credentials,
            retry: RetryPolicy::default(),
            max_object_bytes,
        }
    }

    /// The object's URL under this addressing style.
    pub fn object_url(&self, bucket: &str, key: &str) -> String {
        let endpoint = match &self.endpoint {
            Some(e) => e.trim_end_matches('/').to_owned(),
            None => format!("https://s3.{}.amazonaws.com", self.region),
        };
        let path: Vec<String> = key.split('/').map(|s| utf8_percent_encode(s, KEY_SEGMENT).to_string()).collect();
        let path = path.join("/");
        if self.path_style {
            return format!("{endpoint}/{}/{path}", utf8_percent_encode(bucket, KEY_SEGMENT));
        }
        match endpoint.split_once("://") {
            Some((scheme, host)) => format!("{scheme}://{bucket}.{host}/{path}"),
            None => format!("https://{bucket}.{endpoint}/{path}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    #[error("no object {key:?} in bucket {bucket:?}")]
    NotFound { bucket: String, key: String },
    #[error("object is {bytes} bytes; the limit is {limit}")]
    TooLarge { bytes: u64, limit: u64 },
    #[error("S3 refused the request: {0}")]
    Service(AwsError),
    #[error("could not reach S3: {0}")]
    Transport(TransportError),
    #[error("could not sign the request: {0}")]
    Signing(String),
    #[error("gave up after {attempts} attempts; last error: {last}")]
    RetriesExhausted { attempts: u32, last: Box<S3Error> },
}

impl S3Error {
    /// Whether trying again later can help (the queue trigger then leaves the message).
    pub fn is_retryable(&self) -> bool {
        match self {
            S3Error::Service(e) => e.kind.is_retryable(),
            S3Error::Transport(e) => e.is_retryable(),
            S3Error::RetriesExhausted { .. } => true,
            _ => false,
        }
    }
}

pub struct S3Client<T, R> {
    config: S3Config,
    transport: T,
    runtime: R,
}

impl<T: Transport, R: Runtime> S3Client<T, R> {
    pub fn new(config: S3Config, transport: T, runtime: R) -> Self {
        Self { config, transport, runtime }
    }

    pub fn config(&self) -> &S3Config {
        &self.config
    }

    /// The whole object, or why not.
    pub async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, S3Error> {
        let response = self.fetch(bucket, key, None).await?;
        self.checked_body(response)
    }

    /// The object's first `bytes` bytes (a `Range` GET), whatever its size: enough to read an oversized mail's
    /// headers without fetching it.
    pub async fn get_object_prefix(&self, bucket: &str, key: &str, bytes: u64) -> Result<Vec<u8>, S3Error> {
        let mut body = self.fetch(bucket, key, Some(bytes)).await?.into_body();
        body.truncate(bytes as usize);
        Ok(body)
    }

    async fn fetch(&self, bucket: &str, key: &str, prefix: Option<u64>) -> Result<http::Response<Vec<u8>>, S3Error> {
        let url = self.config.object_url(bucket, key);
        let answer = retrying(&self.config.retry, &self.runtime, S3Error::is_retryable, async || {
            let request = self.signed_get(&url, prefix, self.runtime.now())?;
            match self.transport.send(request).await {
                Ok(response) if response.status().is_success() => Ok(response),
                Ok(response) => {
                    let error = aws_error::parse(response.status().as_u16(), response.headers(), response.body());
                    // Only S3's own "no such key" means the object is gone. Any other 404 — `NoSuchBucket`, a
                    // proxy or endpoint answering for a wrong path — is configuration, and must not get mail
                    // acknowledged and dropped.
                    if error.status == 404 && error.code == "NoSuchKey" {
                        return Err(S3Error::NotFound { bucket: bucket.to_owned(), key: key.to_owned() });
                    }
                    Err(S3Error::Service(error))
                }
                Err(e) => Err(S3Error::Transport(e)),
            }
        })
        .await;
        answer.map_err(|gave_up| {
            gave_up.into_error(|attempts, last| S3Error::RetriesExhausted { attempts, last: Box::new(last) })
        })
    }

    fn checked_body(&self, response: http::Response<Vec<u8>>) -> Result<Vec<u8>, S3Error> {
        let limit = self.config.max_object_bytes;
        let declared = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let received = response.body().len() as u64;
        let bytes = declared.unwrap_or(received).max(received);
        if bytes > limit {
            return Err(S3Error::TooLarge { bytes, limit });
        }
        Ok(response.into_body())
    }

    fn signed_get(&self, url: &str, prefix: Option<u64>, now: SystemTime) -> Result<http::Request<Vec<u8>>, S3Error> {
        let mut request = http::Request::get(url);
        if let Some(bytes) = prefix {
            request = request.header(http::header::RANGE, format!("bytes=0-{}", bytes.saturating_sub(1)));
        }
        let mut request =
            request.body(Vec::new()).map_err(|e| S3Error::Signing(format!("invalid object URL: {e}")))?;
        sigv4::sign(&mut request, &self.config.credentials, &self.config.region, "s3", now, SignOptions::S3)
            .map_err(|e| S3Error::Signing(e.to_string()))?;
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(endpoint: Option<&str>, path_style: bool) -> S3Config {
        let mut c = S3Config::new("eu-west-1", Credentials::new("AKIDEXAMPLE", "secret"), 1024);
        c.endpoint = endpoint.map(str::to_owned);
        c.path_style = path_style;
        c
    }

    #[test]
    fn urls_follow_the_addressing_style_and_encode_each_key_segment_once() {
        let key = "inbound/a b+c é.eml";
        assert_eq!(
            config(None, false).object_url("tr-raw-mail", key),
            "https://tr-raw-mail.s3.eu-west-1.amazonaws.com/inbound/a%20b%2Bc%20%C3%A9.eml"
        );
        assert_eq!(
            config(Some("http://127.0.0.1:5000/"), true).object_url("tr-raw-mail", key),
            "http://127.0.0.1:5000/tr-raw-mail/inbound/a%20b%2Bc%20%C3%A9.eml"
        );
    }
}
