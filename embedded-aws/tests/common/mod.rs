//! Shared by the integration tests: SDK clients for an endpoint, an in-process embedded server, and the moto
//! target from the environment `scripts/test` prepares.
#![allow(dead_code)]

pub mod raw;

use std::collections::BTreeMap;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use tr_embedded_aws::{Config, EmbeddedAws, Limits, LocalCredentials};

pub const ACCESS_KEY: &str = "AKIDEMBEDDEDTEST";
pub const SECRET: &str = "embedded-test-secret";
pub const REGION: &str = "us-east-1";

/// An endpoint and the key to sign with.
#[derive(Clone)]
pub struct Target {
    pub name: &'static str,
    pub endpoint: String,
    pub access_key: String,
    pub secret: String,
}

impl Target {
    pub fn is_embedded(&self) -> bool {
        self.name == "embedded"
    }

    pub fn with_secret(&self, secret: &str) -> Target {
        Target {
            secret: secret.to_owned(),
            ..self.clone()
        }
    }

    pub fn with_key(&self, key: &str) -> Target {
        Target {
            access_key: key.to_owned(),
            ..self.clone()
        }
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        let conf = aws_sdk_sqs::Config::builder()
            .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
            .region(aws_sdk_sqs::config::Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                &self.access_key,
                &self.secret,
                None,
                None,
                "tests",
            ))
            .build();
        aws_sdk_sqs::Client::from_conf(conf)
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .force_path_style(true)
            .credentials_provider(Credentials::new(
                &self.access_key,
                &self.secret,
                None,
                None,
                "tests",
            ))
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }
}

/// Starts an embedded endpoint on a random port in a fresh directory (kept alive by the returned guard).
pub async fn embedded() -> (EmbeddedAws, tempfile::TempDir, Target) {
    embedded_with(Limits::default()).await
}

/// [`embedded`] with other limits (the hold tests shorten timeouts and caps).
pub async fn embedded_with(limits: Limits) -> (EmbeddedAws, tempfile::TempDir, Target) {
    let dir = tempfile::tempdir().unwrap();
    let server = EmbeddedAws::start(
        Config::new(dir.path(), LocalCredentials::new(ACCESS_KEY, SECRET)).with_limits(limits),
    )
    .await
    .unwrap();
    let target = Target {
        name: "embedded",
        endpoint: server.endpoint().to_owned(),
        access_key: ACCESS_KEY.into(),
        secret: SECRET.into(),
    };
    (server, dir, target)
}

/// The moto server `scripts/test` started. Missing variables fail the test: these tests never skip silently.
pub fn moto() -> Target {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: run through scripts/test, or start moto and eval tests/tools/moto_bootstrap.py")
        })
    };
    Target {
        name: "moto",
        endpoint: var("TR_MOTO_ENDPOINT"),
        access_key: var("TR_MOTO_ACCESS_KEY_ID"),
        secret: var("TR_MOTO_SECRET_ACCESS_KEY"),
    }
}

/// A name no other test run has used (moto is shared by every test binary of a `scripts/test` run).
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid_like()[..12])
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{:x}{:x}", nanos, std::process::id())
        .chars()
        .rev()
        .collect()
}

pub fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
