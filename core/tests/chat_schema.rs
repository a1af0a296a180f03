//! `docs/chat-transcript.schema.json` and the Rust decoder agree: every sample the schema accepts decodes, and
//! every sample it refuses is refused by the decoder too, with the path the schema points at.

use std::path::Path;

use serde_json::Value;
use tr_core::chat::transcript::decode;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn validator() -> jsonschema::Validator {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("docs/chat-transcript.schema.json")).unwrap()).unwrap();
    jsonschema::options().should_validate_formats(true).build(&schema).expect("the schema is valid draft 2020-12")
}

fn fixture(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo().join("tests/fixtures/chat").join(name)).unwrap()).unwrap()
}

/// Applies `edit` to the identified-visitor sample.
fn edited(edit: impl FnOnce(&mut Value)) -> Value {
    let mut v = fixture("generic.json");
    edit(&mut v);
    v
}

#[test]
fn the_schema_declares_draft_2020_12() {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("docs/chat-transcript.schema.json")).unwrap()).unwrap();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
}

#[test]
fn samples_the_schema_accepts_decode() {
    let v = validator();
    let accepted = [
        fixture("generic.json"),
        fixture("generic-anonymous.json"),
        edited(|t| {
            t["visitor"] = serde_json::json!({});
            t["subject"] = "Refund".into();
            t["page_url"] = Value::Null;
            t["messages"] = serde_json::json!([]);
            t["some_vendor_field"] = serde_json::json!({"kept": false});
        }),
        edited(|t| t["conversation_id"] = "é".repeat(256).into()),
    ];
    for (i, sample) in accepted.iter().enumerate() {
        let errors: Vec<String> = v.iter_errors(sample).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "sample {i}: schema refuses: {errors:?}");
        let body = serde_json::to_vec(sample).unwrap();
        if let Err(e) = decode(&body) {
            panic!("sample {i}: the schema accepts it but decoding fails: {e}");
        }
    }
}

#[test]
fn samples_the_schema_refuses_are_refused_at_the_same_path() {
    let v = validator();
    let refused: Vec<(&str, Value)> = vec![
        ("$", edited(|t| drop(t.as_object_mut().unwrap().remove("resolved")))),
        ("$", edited(|t| drop(t.as_object_mut().unwrap().remove("messages")))),
        ("$.conversation_id", edited(|t| t["conversation_id"] = "".into())),
        ("$.conversation_id", edited(|t| t["conversation_id"] = "x".repeat(257).into())),
        ("$.conversation_id", edited(|t| t["conversation_id"] = 42.into())),
        ("$.resolved", edited(|t| t["resolved"] = "no".into())),
        ("$.started_at", edited(|t| t["started_at"] = "yesterday".into())),
        ("$.ended_at", edited(|t| t["ended_at"] = "2026-11-26T10:09:30".into())),
        ("$.visitor.email", edited(|t| t["visitor"]["email"] = 7.into())),
        ("$.messages[1].role", edited(|t| t["messages"][1]["role"] = "customer".into())),
        ("$.messages[2].time", edited(|t| t["messages"][2]["time"] = "26/11/2026 10:02".into())),
        ("$.messages[0]", edited(|t| drop(t["messages"][0].as_object_mut().unwrap().remove("text")))),
        ("$.messages", edited(|t| t["messages"] = serde_json::json!({"role": "visitor"}))),
    ];
    for (path, sample) in refused {
        let schema_paths: Vec<String> =
            v.iter_errors(&sample).map(|e| format!("${}", e.instance_path.to_string().replace('/', "."))).collect();
        assert!(!schema_paths.is_empty(), "{path}: the schema accepts {sample}");
        let err = decode(&serde_json::to_vec(&sample).unwrap()).expect_err(path);
        let rust_path = err.path.replace('[', ".").replace(']', "");
        assert!(schema_paths.contains(&rust_path), "{path}: decoder says {err}, schema says {schema_paths:?}");
        assert_eq!(err.path, path, "{err}");
    }
}
