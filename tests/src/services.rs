//! Where the test services are. `scripts/test` starts moto with SigV4 verification on, creates an IAM user for
//! the tests, and exports `TR_MOTO_ENDPOINT`, `TR_MOTO_ACCESS_KEY_ID`, `TR_MOTO_SECRET_ACCESS_KEY`; it also starts
//! ministack and exports `TR_MINISTACK_ENDPOINT`.

use tr_core::Credentials;

pub struct Moto {
    pub endpoint: String,
    pub credentials: Credentials,
    pub region: String,
}

fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests through `scripts/test` (it starts moto and ministack), not bare `cargo test`")
    })
}

impl Moto {
    pub fn from_env() -> Self {
        Moto {
            endpoint: required("TR_MOTO_ENDPOINT"),
            credentials: Credentials::new(required("TR_MOTO_ACCESS_KEY_ID"), required("TR_MOTO_SECRET_ACCESS_KEY")),
            region: "us-east-1".into(),
        }
    }
}

/// ministack's endpoint (Bedrock runtime in its real response shapes); `scripts/test` starts it.
pub fn ministack_endpoint() -> String {
    required("TR_MINISTACK_ENDPOINT")
}

/// Runs `tests/tools/sqs_tool.py` (boto3) with the moto connection details; returns its stdout.
pub fn sqs_tool(args: &[&str]) -> String {
    python_tool("sqs_tool.py", args)
}

/// Runs `tests/tools/s3_tool.py` (boto3: bucket with notification, PutObject); returns its stdout.
pub fn s3_tool(args: &[&str]) -> String {
    python_tool("s3_tool.py", args)
}

fn python_tool(name: &str, args: &[&str]) -> String {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tools").join(name);
    let out = std::process::Command::new("python3").arg(script).args(args).output().expect("python3 runs");
    assert!(out.status.success(), "{name} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A queue name no other test run uses.
pub fn unique_queue(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{nanos}")
}
