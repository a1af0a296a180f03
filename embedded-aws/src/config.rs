//! What an embedded endpoint is started with: where its state lives, where it listens, the one local key it
//! accepts, and the account/region it pretends to be.
//!
//! Key decision: exactly one access key is accepted. The endpoint is a local stand-in, not IAM; one key is enough
//! to make every request prove it was signed by someone holding the secret, which is what the tests need.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The access key the endpoint accepts. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct LocalCredentials {
    pub access_key_id: String,
    secret_access_key: String,
}

impl LocalCredentials {
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
        }
    }

    /// Only the SigV4 verifier needs the secret.
    pub(crate) fn secret(&self) -> &str {
        &self.secret_access_key
    }
}

impl fmt::Debug for LocalCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"**redacted**")
            .finish()
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    /// Directory holding `embedded-aws.sqlite3` (created if missing).
    pub dir: PathBuf,
    /// Where to listen; port 0 picks a free one (see [`crate::EmbeddedAws::endpoint`]).
    pub bind: SocketAddr,
    pub credentials: LocalCredentials,
    /// Twelve digits; appears in queue URLs and ARNs.
    pub account: String,
    pub region: String,
}

impl Config {
    /// Account `000000000000`, region `us-east-1`, loopback on a free port.
    pub fn new(dir: impl Into<PathBuf>, credentials: LocalCredentials) -> Self {
        Self {
            dir: dir.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            credentials,
            account: "000000000000".into(),
            region: "us-east-1".into(),
        }
    }

    pub fn with_bind(mut self, bind: SocketAddr) -> Self {
        self.bind = bind;
        self
    }

    pub fn with_account(mut self, account: impl Into<String>) -> Self {
        self.account = account.into();
        self
    }

    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_secret() {
        let c = LocalCredentials::new("AKIDLOCAL", "very-secret-value");
        let shown = format!("{c:?} {:?}", Config::new("/tmp/x", c.clone()));
        assert!(shown.contains("AKIDLOCAL"));
        assert!(!shown.contains("very-secret-value"), "{shown}");
    }
}
