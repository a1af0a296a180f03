//! S3 payload signing, by hand (the SDK never sends these): a body that does not match its signed
//! `x-amz-content-sha256` is refused; `UNSIGNED-PAYLOAD` is accepted (the signature still covers everything else);
//! a request signed with the wrong secret gets S3's XML `SignatureDoesNotMatch`.

mod common;

use std::io::{Read, Write};
use std::time::SystemTime;

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;

/// Signs a PUT of `signed_body` to `path` for S3, returning the headers to send.
fn signed_headers(
    host: &str,
    path: &str,
    signed_body: Option<&[u8]>,
    secret: &str,
) -> Vec<(String, String)> {
    let identity =
        aws_credential_types::Credentials::new(common::ACCESS_KEY, secret, None, None, "test")
            .into();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(common::REGION)
        .name("s3")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let uri = format!("http://{host}{path}");
    let body = match signed_body {
        Some(b) => SignableBody::Bytes(b),
        None => SignableBody::UnsignedPayload,
    };
    let headers = [("host", host)];
    let request = SignableRequest::new("PUT", &uri, headers.into_iter(), body).unwrap();
    let (instructions, _) = sign(request, &params).unwrap().into_parts();
    let mut out: Vec<(String, String)> = vec![("host".into(), host.into())];
    out.extend(
        instructions
            .headers()
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    out
}

/// One HTTP/1.1 request over a fresh connection; returns (status, body).
fn put(host: &str, path: &str, headers: &[(String, String)], body: &[u8]) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    let mut req = format!("PUT {path} HTTP/1.1\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    stream.write_all(req.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_hash_is_checked_and_unsigned_payload_is_accepted() {
    let (server, _dir, _target) = common::embedded().await;
    server.create_bucket("drop").await.unwrap();
    let host = server.local_addr().to_string();
    let path = "/drop/mail%20one.eml";
    tokio::task::spawn_blocking(move || {
        let body = b"the signed body";
        let headers = signed_headers(&host, path, Some(body), common::SECRET);
        assert_eq!(put(&host, path, &headers, body).0, 200);

        let (status, text) = put(&host, path, &headers, b"another body!!!");
        assert_eq!(status, 400, "{text}");
        assert!(
            text.contains("<Code>XAmzContentSHA256Mismatch</Code>"),
            "{text}"
        );

        let unsigned = signed_headers(&host, path, None, common::SECRET);
        assert!(
            unsigned
                .iter()
                .any(|(k, v)| k == "x-amz-content-sha256" && v == "UNSIGNED-PAYLOAD")
        );
        assert_eq!(put(&host, path, &unsigned, b"any body at all").0, 200);
        // ...but the path is still signed.
        let (status, text) = put(&host, "/drop/other.eml", &unsigned, b"x");
        assert_eq!(status, 403, "{text}");
        assert!(
            text.contains("<Code>SignatureDoesNotMatch</Code>"),
            "{text}"
        );

        let wrong = signed_headers(&host, path, Some(body), "wrong-secret");
        let (status, text) = put(&host, path, &wrong, body);
        assert_eq!(status, 403);
        assert!(
            text.contains("<Error><Code>SignatureDoesNotMatch</Code>"),
            "{text}"
        );
    })
    .await
    .unwrap();
}
