//! The ticket's three faces agree: the WIT contract (`wit/tr-intake.wit`), the Rust types, and the versioned
//! JSON on the queue.

use std::path::Path;

use serde_json::Value;
use tr_core::wire::{self, WireError};
use tr_core::{Customer, MaskCount, MaskKind, Reading, Source, ThreadIds, Ticket, TicketFlag, Tone, Urgency};
use wit_parser::{Resolve, Type, TypeDefKind};

fn sample() -> Ticket {
    Ticket {
        id: "01KB0Y3J5V6N2Q8R9S0T1V2W3X".into(),
        customer: Customer { email: Some("ana@example.com".into()), name: Some("Ana Lima".into()) },
        subject: "Invoice shows the wrong plan".into(),
        body: "Hello,\nmy invoice says Pro but I'm on Team.\n\u{00e9}\u{4e2d}\u{1F600} \"quoted\"".into(),
        body_truncated: false,
        source: Source::Email,
        received_at: "2026-11-26T16:32:44.123Z".into(),
        page_url: Some("https://example.com/pricing".into()),
        thread: ThreadIds {
            message_id: Some("abc@mail.example.com".into()),
            in_reply_to: Some("prev@mail.example.com".into()),
            references: vec!["first@mail.example.com".into(), "prev@mail.example.com".into()],
        },
        transcript_id: Some("conv-42".into()),
        idempotency_key: "abc@mail.example.com".into(),
        merged_from: vec!["01KB0Y3J5V6N2Q8R9S0T1V2W3Y".into()],
        reading: Some(Reading { topic: "billing".into(), urgency: Urgency::Medium, tone: Tone::Confused }),
        flags: vec![TicketFlag::ReplyMayBeCut, TicketFlag::Masked],
        masked: vec![MaskCount { kind: MaskKind::Card, count: 2 }],
    }
}

#[test]
fn round_trip_is_lossless() {
    let t = sample();
    let json = wire::encode(&t);
    assert!(json.starts_with(r#"{"v":1,"ticket":"#), "{json}");
    assert_eq!(wire::decode(&json).unwrap(), t);

    let mut bare = sample();
    bare.customer.email = None;
    bare.page_url = None;
    bare.reading = None;
    bare.thread = ThreadIds::default();
    bare.masked = Vec::new();
    // Nothing masked: no `masked` field on the wire, so the JSON is what readers before masking expect.
    assert!(!wire::encode(&bare).contains(r#""masked":"#));
    assert_eq!(wire::decode(&wire::encode(&bare)).unwrap(), bare);
}

#[test]
fn unknown_version_is_refused_clearly() {
    let json = wire::encode(&sample()).replacen(r#""v":1"#, r#""v":2"#, 1);
    let err = wire::decode(&json).unwrap_err();
    assert!(matches!(err, WireError::UnknownVersion { found: 2 }), "{err:?}");
    assert_eq!(err.to_string(), "ticket message version 2 is not supported (this build reads version 1)");

    let no_version = wire::encode(&sample()).replacen(r#""v":1,"#, "", 1);
    assert!(matches!(wire::decode(&no_version), Err(WireError::MissingVersion)));
    assert!(matches!(wire::decode("not json"), Err(WireError::Malformed(_))));
    assert!(matches!(wire::decode(r#"{"v":1,"ticket":{"id":"x"}}"#), Err(WireError::Malformed(_))));
}

#[test]
fn fields_added_within_a_version_are_ignored() {
    let mut value: Value = serde_json::from_str(&wire::encode(&sample())).unwrap();
    value["ticket"]["language"] = "pt".into();
    assert_eq!(wire::decode(&value.to_string()).unwrap(), sample());
}

/// Walks a WIT type beside the JSON the Rust type produced, asserting names and shapes agree.
fn check(resolve: &Resolve, ty: &Type, json: &Value, path: &str, problems: &mut Vec<String>) {
    match ty {
        Type::String => {
            if !json.is_string() {
                problems.push(format!("{path}: WIT string, JSON {json}"));
            }
        }
        Type::U32 => {
            if !json.as_u64().is_some_and(|n| n <= u64::from(u32::MAX)) {
                problems.push(format!("{path}: WIT u32, JSON {json}"));
            }
        }
        Type::Bool => {
            if !json.is_boolean() {
                problems.push(format!("{path}: WIT bool, JSON {json}"));
            }
        }
        Type::Id(id) => {
            let def = &resolve.types[*id];
            match &def.kind {
                TypeDefKind::Record(record) => {
                    let Some(obj) = json.as_object() else {
                        return problems.push(format!("{path}: WIT record, JSON {json}"));
                    };
                    let wit_names: Vec<String> = record.fields.iter().map(|f| f.name.replace('-', "_")).collect();
                    let json_names: Vec<String> = obj.keys().cloned().collect();
                    let mut sorted_wit = wit_names.clone();
                    sorted_wit.sort();
                    let mut sorted_json = json_names.clone();
                    sorted_json.sort();
                    if sorted_wit != sorted_json {
                        problems.push(format!("{path}: WIT fields {wit_names:?} != Rust/JSON fields {json_names:?}"));
                    }
                    for field in &record.fields {
                        if let Some(v) = obj.get(&field.name.replace('-', "_")) {
                            check(resolve, &field.ty, v, &format!("{path}.{}", field.name), problems);
                        }
                    }
                }
                TypeDefKind::Option(inner) => {
                    if json.is_null() {
                        problems.push(format!("{path}: sample should fill every option to check its shape"));
                    } else {
                        check(resolve, inner, json, path, problems);
                    }
                }
                TypeDefKind::List(inner) => match json.as_array() {
                    Some(items) if !items.is_empty() => {
                        for (i, item) in items.iter().enumerate() {
                            check(resolve, inner, item, &format!("{path}[{i}]"), problems);
                        }
                    }
                    _ => problems.push(format!("{path}: WIT list, JSON {json} (sample needs an item)")),
                },
                TypeDefKind::Enum(e) => {
                    let cases: Vec<&str> = e.cases.iter().map(|c| c.name.as_str()).collect();
                    if !json.as_str().is_some_and(|s| cases.contains(&s)) {
                        problems.push(format!("{path}: JSON {json} is not one of WIT cases {cases:?}"));
                    }
                }
                TypeDefKind::Type(alias) => check(resolve, alias, json, path, problems),
                other => problems.push(format!("{path}: WIT kind {} not expected in the ticket", other.as_str())),
            }
        }
        other => problems.push(format!("{path}: WIT type {other:?} not expected in the ticket")),
    }
}

fn load_wit() -> (Resolve, wit_parser::InterfaceId) {
    let mut resolve = Resolve::default();
    let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit");
    let (pkg, _) = resolve.push_dir(&wit).expect("wit/ parses, dependencies included");
    let package = &resolve.packages[pkg];
    assert_eq!(package.name.to_string(), "tr:intake@0.1.0");
    let types = package.interfaces["types"];
    (resolve, types)
}

fn wit_type(resolve: &Resolve, iface: wit_parser::InterfaceId, name: &str) -> Type {
    Type::Id(resolve.interfaces[iface].types[name])
}

#[test]
fn rust_ticket_matches_the_wit_contract() {
    let (resolve, types) = load_wit();
    let json = serde_json::to_value(sample()).unwrap();
    let mut problems = Vec::new();
    check(&resolve, &wit_type(&resolve, types, "ticket"), &json, "ticket", &mut problems);
    assert!(problems.is_empty(), "WIT and Rust disagree:\n{}", problems.join("\n"));
}

#[test]
fn every_enum_case_matches() {
    let (resolve, types) = load_wit();
    let cases = |name: &str| -> Vec<String> {
        let TypeDefKind::Enum(e) = &resolve.types[resolve.interfaces[types].types[name]].kind else {
            panic!("{name} is not an enum in the WIT");
        };
        e.cases.iter().map(|c| c.name.clone()).collect()
    };
    let json_of = |v: Value| v.as_str().unwrap().to_owned();
    let sources: Vec<String> = Source::ALL.iter().map(|s| json_of(serde_json::to_value(s).unwrap())).collect();
    assert_eq!(cases("source"), sources);
    let urgencies: Vec<String> =
        [Urgency::Low, Urgency::Medium, Urgency::High].iter().map(|u| json_of(serde_json::to_value(u).unwrap())).collect();
    assert_eq!(cases("urgency"), urgencies);
    let tones: Vec<String> =
        [Tone::Calm, Tone::Confused, Tone::Angry].iter().map(|t| json_of(serde_json::to_value(t).unwrap())).collect();
    assert_eq!(cases("tone"), tones);
    let flags: Vec<String> = TicketFlag::ALL.iter().map(|f| json_of(serde_json::to_value(f).unwrap())).collect();
    assert_eq!(cases("ticket-flag"), flags);
    let kinds: Vec<String> = MaskKind::ALL.iter().map(|k| json_of(serde_json::to_value(k).unwrap())).collect();
    assert_eq!(cases("mask-kind"), kinds);
}

#[test]
fn the_guest_worlds_resolve() {
    let (resolve, _) = load_wit();
    for world in ["http-lane", "queue-guest"] {
        let id = resolve.select_world(&[resolve.packages.iter().find(|(_, p)| p.name.name == "intake").unwrap().0], Some(world));
        let id = id.unwrap_or_else(|e| panic!("world {world}: {e}"));
        let exports: Vec<String> = resolve.worlds[id].exports.keys().map(|k| resolve.name_world_key(k)).collect();
        assert!(!exports.is_empty(), "{world} exports nothing");
        if world == "queue-guest" {
            assert!(exports.contains(&"handle-queue-message".to_owned()), "{exports:?}");
        }
    }
}
