//! The message attribute types every SQS layer shares: decoded from the wire, digested, stored as JSON.
//!
//! Their own module so the digest (`md5`) and the store can both depend on them without depending on each other.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttributeValue {
    String(String),
    Binary(Vec<u8>),
}

/// One message attribute; `data_type` is `String`, `Number`, `Binary`, optionally with a `.custom` suffix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageAttribute {
    pub data_type: String,
    pub value: AttributeValue,
}

pub type MessageAttributes = BTreeMap<String, MessageAttribute>;
