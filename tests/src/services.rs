//! Where the test services are. `scripts/test` starts moto with SigV4 verification on, creates an IAM user for
//! the tests, and exports `TR_MOTO_ENDPOINT`, `TR_MOTO_ACCESS_KEY_ID`, `TR_MOTO_SECRET_ACCESS_KEY`.

use tr_core::Credentials;

pub struct Moto {
    pub endpoint: String,
    pub credentials: Credentials,
    pub region: String,
}

fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the tests through `scripts/test` (it starts moto), not bare `cargo test`")
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
