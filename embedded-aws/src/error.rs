//! Errors: [`EmbeddedError`] for the library API, [`ApiError`] for what goes back on the wire.
//!
//! Key decision: an `ApiError` carries the AWS error code and HTTP status, and is rendered per protocol at the
//! edge (SQS JSON `__type`/`message`, S3 `<Error><Code>`), so storage and handlers never format bodies.

/// The library's error: starting, storage, and API calls made through the Rust handle.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error("cannot create state directory {path}: {source}")]
    StateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("storage: {0}")]
    Storage(#[from] rusqlite::Error),
    #[error("{code}: {message}")]
    Api { code: &'static str, message: String },
}

impl From<ApiError> for EmbeddedError {
    fn from(e: ApiError) -> Self {
        match e.kind {
            ApiErrorKind::Storage(s) => EmbeddedError::Api {
                code: "InternalFailure",
                message: s,
            },
            _ => EmbeddedError::Api {
                code: e.code,
                message: e.message,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiErrorKind {
    /// The caller's fault (4xx).
    Client,
    /// Ours: storage failed (5xx).
    Storage(String),
}

/// One AWS-shaped error. `code` is the bare AWS code (`QueueDoesNotExist`, `NoSuchKey`, ...); `sqs_type` the
/// fully qualified `__type` for the JSON protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub sqs_type: &'static str,
    pub message: String,
    pub kind: ApiErrorKind,
}

impl ApiError {
    pub fn sqs(
        status: u16,
        code: &'static str,
        sqs_type: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code,
            sqs_type,
            message: message.into(),
            kind: ApiErrorKind::Client,
        }
    }

    pub fn s3(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            sqs_type: code,
            message: message.into(),
            kind: ApiErrorKind::Client,
        }
    }

    pub fn queue_does_not_exist() -> Self {
        Self::sqs(
            400,
            "QueueDoesNotExist",
            "com.amazonaws.sqs#QueueDoesNotExist",
            "The specified queue does not exist.",
        )
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::sqs(
            400,
            "InvalidParameterValue",
            "com.amazonaws.sqs#InvalidParameterValue",
            message,
        )
    }

    pub fn missing_parameter(message: impl Into<String>) -> Self {
        Self::sqs(
            400,
            "MissingParameter",
            "com.amazonaws.sqs#MissingParameter",
            message,
        )
    }

    pub fn invalid_attribute_name(message: impl Into<String>) -> Self {
        Self::sqs(
            400,
            "InvalidAttributeName",
            "com.amazonaws.sqs#InvalidAttributeName",
            message,
        )
    }

    pub fn receipt_handle_invalid(handle: &str) -> Self {
        Self::sqs(
            400,
            "ReceiptHandleIsInvalid",
            "com.amazonaws.sqs#ReceiptHandleIsInvalid",
            format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
        )
    }

    pub fn storage(e: impl std::fmt::Display) -> Self {
        Self {
            status: 500,
            code: "InternalFailure",
            sqs_type: "com.amazonaws.sqs#InternalFailure",
            message: "internal storage failure".into(),
            kind: ApiErrorKind::Storage(e.to_string()),
        }
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::storage(e)
    }
}
