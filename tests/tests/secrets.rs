//! Secrets never show in `Debug` output or error messages.

use tr_core::{Credentials, SqsConfig};

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const TOKEN: &str = "session-token-AQoDYXdzEPT-example";

#[test]
fn credentials_and_config_redact_secrets() {
    let creds = Credentials::new("AKIDEXAMPLE", SECRET).with_session_token(TOKEN);
    let config = SqsConfig::new("us-east-1", creds.clone()).with_endpoint("http://127.0.0.1:1");
    for shown in [format!("{creds:?}"), format!("{creds:#?}"), format!("{config:?}"), format!("{:?}", creds.secret_access_key)] {
        assert!(!shown.contains(SECRET), "secret in {shown}");
        assert!(!shown.contains(TOKEN), "token in {shown}");
    }
    assert!(format!("{creds:?}").contains("AKIDEXAMPLE"), "the key id stays visible for operators");
    assert!(format!("{creds:?}").contains("redacted"));
}

#[test]
fn a_transport_failure_does_not_mention_secrets() {
    let creds = Credentials::new("AKIDEXAMPLE", SECRET).with_session_token(TOKEN);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut config = SqsConfig::new("us-east-1", creds).with_endpoint(format!("http://127.0.0.1:{port}"));
    config.retry.max_attempts = 1;
    let sqs = tr_core::SqsClient::new(config, tr_tests::native::UreqTransport::default(), tr_tests::native::SystemRuntime::default());
    let msg = tr_core::sqs_client::OutgoingMessage { body: "{}".into(), ..Default::default() };
    let err = pollster::block_on(sqs.send_message("http://127.0.0.1/q", &msg)).unwrap_err();
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains(SECRET) && !shown.contains(TOKEN), "leak in {shown}");
    }
}
