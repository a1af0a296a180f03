//! Deployment variables (Spin variables in a guest), typed, behind a trait so every lane's configuration is read
//! and checked natively.
//!
//! Key decision: an error names the variable and never carries its value (secrets are variables too); an empty
//! value counts as unset, so `SPIN_VARIABLE_X=` turns an optional setting off instead of making it invalid.

use std::collections::BTreeMap;
use std::future::Future;

use crate::credentials::Credentials;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VarError {
    #[error("variable `{0}` is not set (declare it in spin.toml and give it a value)")]
    Missing(String),
    #[error("variable `{name}` is invalid: {why}")]
    Invalid { name: String, why: String },
}

/// Where variables come from: Spin's `spin:variables` in a guest, a map in tests.
pub trait Vars {
    /// The raw value, or `None` when the variable is undefined or cannot be read.
    fn get(&self, name: &str) -> impl Future<Output = Option<String>>;

    /// The value, trimmed; empty counts as unset.
    fn optional(&self, name: &str) -> impl Future<Output = Option<String>> {
        async move { self.get(name).await.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) }
    }

    fn required(&self, name: &str) -> impl Future<Output = Result<String, VarError>> {
        async move { self.optional(name).await.ok_or_else(|| VarError::Missing(name.to_owned())) }
    }

    /// `aws_access_key_id`, `aws_secret_access_key` and, when set, `aws_session_token`.
    fn aws_credentials(&self) -> impl Future<Output = Result<Credentials, VarError>> {
        async move {
            let credentials =
                Credentials::new(self.required("aws_access_key_id").await?, self.required("aws_secret_access_key").await?);
            Ok(match self.optional("aws_session_token").await {
                Some(token) => credentials.with_session_token(token),
                None => credentials,
            })
        }
    }
}

/// Variables from a map: tests, and anything that already holds the values.
#[derive(Clone, Default)]
pub struct MapVars(pub BTreeMap<String, String>);

impl MapVars {
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
    }
}

/// Names only: values may be secrets.
impl std::fmt::Debug for MapVars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

impl Vars for MapVars {
    async fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_unset_and_errors_name_the_variable_not_the_value() {
        let vars = MapVars::from_pairs([("a", "  x "), ("b", "  "), ("aws_access_key_id", "AKID")]);
        pollster::block_on(async {
            assert_eq!(vars.optional("a").await.as_deref(), Some("x"));
            assert_eq!(vars.optional("b").await, None);
            assert_eq!(vars.required("b").await, Err(VarError::Missing("b".into())));
            let e = vars.aws_credentials().await.unwrap_err();
            assert!(e.to_string().contains("aws_secret_access_key"), "{e}");
        });
        assert!(!format!("{vars:?}").contains("AKID"));
    }
}
