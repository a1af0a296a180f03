//! Spin variables, typed. Key decision: an error names the variable and never carries its value (secrets are
//! variables too).

use tr_core::Credentials;

#[derive(Debug, thiserror::Error)]
pub enum VarError {
    #[error("variable `{0}` is not set (declare it in spin.toml and give it a value)")]
    Missing(String),
    #[error("variable `{name}` is invalid: {why}")]
    Invalid { name: String, why: String },
}

/// The variable's value, trimmed; empty counts as unset.
pub async fn optional(name: &str) -> Option<String> {
    spin_sdk::variables::get(name).await.ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

pub async fn required(name: &str) -> Result<String, VarError> {
    optional(name).await.ok_or_else(|| VarError::Missing(name.to_owned()))
}

/// `aws_access_key_id`, `aws_secret_access_key` and, when set, `aws_session_token`.
pub async fn aws_credentials() -> Result<Credentials, VarError> {
    let credentials = Credentials::new(required("aws_access_key_id").await?, required("aws_secret_access_key").await?);
    Ok(match optional("aws_session_token").await {
        Some(token) => credentials.with_session_token(token),
        None => credentials,
    })
}
