//! The MD5 digests SQS returns with every send and receive, which SDKs check.
//!
//! `MD5OfMessageBody` is the MD5 of the body's UTF-8 bytes. `MD5OfMessageAttributes` follows the documented
//! encoding: attributes sorted by name; for each, name, data type and value are each written as a 4-byte
//! big-endian length then the bytes, with a one-byte transport type (1 = String/Number, 2 = Binary) before the
//! value.

use md5::{Digest, Md5};

use super::types::{AttributeValue, MessageAttribute};

pub fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

/// `None` when there are no attributes (SQS then omits the field).
pub fn md5_of_attributes<'a>(
    attributes: impl IntoIterator<Item = (&'a String, &'a MessageAttribute)>,
) -> Option<String> {
    let mut sorted: Vec<_> = attributes.into_iter().collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut buf = Vec::new();
    let put = |buf: &mut Vec<u8>, bytes: &[u8]| {
        buf.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        buf.extend_from_slice(bytes);
    };
    for (name, attr) in sorted {
        put(&mut buf, name.as_bytes());
        put(&mut buf, attr.data_type.as_bytes());
        match &attr.value {
            AttributeValue::String(s) => {
                buf.push(1);
                put(&mut buf, s.as_bytes());
            }
            AttributeValue::Binary(b) => {
                buf.push(2);
                put(&mut buf, b);
            }
        }
    }
    Some(md5_hex(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_digest_is_plain_md5() {
        assert_eq!(md5_hex(b"hello"), "5d41402abc4b2a76b9719d911017c592");
    }

    #[test]
    fn attribute_digest_follows_the_documented_encoding() {
        // Independently computed: name "a" String "b" → md5(00000001 61 00000006 "String" 01 00000001 62).
        let attrs = [(
            "a".to_string(),
            MessageAttribute {
                data_type: "String".into(),
                value: AttributeValue::String("b".into()),
            },
        )];
        let mut expected = Vec::new();
        expected.extend_from_slice(&[0, 0, 0, 1, b'a', 0, 0, 0, 6]);
        expected.extend_from_slice(b"String");
        expected.extend_from_slice(&[1, 0, 0, 0, 1, b'b']);
        assert_eq!(
            md5_of_attributes(attrs.iter().map(|(k, v)| (k, v))),
            Some(md5_hex(&expected))
        );
        assert_eq!(md5_of_attributes(std::iter::empty()), None);
    }
}
