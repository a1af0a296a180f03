//! SigV4 request signing, through the `aws-sigv4` crate (never a hand-written signer).
//!
//! One entry point, [`sign`], used for SQS (`sqs`), S3 (`s3`) and Bedrock (`bedrock`). It signs an
//! `http::Request<Vec<u8>>` in place: any signature headers from an earlier attempt are removed first, so a retry
//! is re-signed with a fresh time. The `Host` header is left to the transport (wasi-http forbids setting it):
//! `aws-sigv4` signs the URI's authority, which is what every HTTP client sends as `Host`.

use std::time::SystemTime;

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;

use crate::credentials::Credentials;

/// How a service wants its requests signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignOptions {
    /// Normalise the path and percent-encode it twice (every service but S3).
    pub normalize_path: bool,
    /// Send and sign `x-amz-content-sha256` (S3 requires it).
    pub content_sha256_header: bool,
    /// Include the session token in the canonical request (the default); `false` adds it after signing, as a
    /// few services expect.
    pub sign_session_token: bool,
}

impl SignOptions {
    /// SQS, Bedrock and every JSON-protocol service.
    pub const STANDARD: SignOptions =
        SignOptions { normalize_path: true, content_sha256_header: false, sign_session_token: true };
    /// S3: no path normalisation, single encoding, payload hash header.
    pub const S3: SignOptions =
        SignOptions { normalize_path: false, content_sha256_header: true, sign_session_token: true };
}

#[derive(Debug, thiserror::Error)]
#[error("cannot sign request: {0}")]
pub struct SignError(String);

/// Headers the signer owns; removed before signing so a re-sign never sees its own earlier output.
const SIGNATURE_HEADERS: [&str; 4] = ["authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"];

/// Signs `request` for `service` in `region` at `time`; returns the hex signature.
pub fn sign(
    request: &mut http::Request<Vec<u8>>,
    credentials: &Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
    options: SignOptions,
) -> Result<String, SignError> {
    for name in SIGNATURE_HEADERS {
        request.headers_mut().remove(name);
    }
    let identity = aws_credential_types::Credentials::new(
        credentials.access_key_id.clone(),
        credentials.secret_access_key.expose().to_owned(),
        credentials.session_token.as_ref().map(|t| t.expose().to_owned()),
        None,
        "tr-intake",
    )
    .into();

    let mut settings = SigningSettings::default();
    if !options.normalize_path {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    if options.content_sha256_header {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    if !options.sign_session_token {
        settings.session_token_mode = SessionTokenMode::Exclude;
    }

    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| SignError(e.to_string()))?
        .into();

    let headers = request
        .headers()
        .iter()
        .map(|(k, v)| v.to_str().map(|v| (k.as_str(), v)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| SignError("a header value is not visible ASCII".into()))?;
    let uri = request.uri().to_string();
    let signable = SignableRequest::new(
        request.method().as_str(),
        &uri,
        headers.into_iter(),
        SignableBody::Bytes(request.body()),
    )
    .map_err(|e| SignError(e.to_string()))?;

    let (instructions, signature) = aws_sigv4::http_request::sign(signable, &params)
        .map_err(|e| SignError(e.to_string()))?
        .into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(signature)
}
