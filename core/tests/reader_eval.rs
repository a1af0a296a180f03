//! `tr-intake eval`'s figures, natively: the offline reader on the default sheet (leave-one-out must reproduce the
//! benchmark's 14/9/17 of 18), a hand-made labelled file whose agreement is known in advance, a fake Bedrock that
//! checks the InvokeModel request and answers from a script (so the token and cost figures come from `usage`),
//! thresholds, and file:line on malformed rows.

use std::cell::RefCell;
use std::time::{Duration, SystemTime};

use pollster::block_on;
use serde_json::{Value, json};
use tr_core::reader::RulesSheet;
use tr_core::reader::eval::{
    EvalError, HAIKU_4_5, LabelFormat, Tally, Thresholds, evaluate, parse_labelled, render,
};
use tr_core::reader::lane::Reader;
use tr_core::store::{KvError, MemoryKv};
use tr_core::transport::{HttpRequest, HttpResponse, Runtime, Transport, TransportError};
use tr_core::vars::MapVars;
use tr_core::Wiring;

struct NoNetwork;
impl Transport for NoNetwork {
    async fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
        unreachable!("the offline reader makes no request")
    }
}
#[derive(Clone)]
struct Now;
impl Runtime for Now {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn random_u64(&self) -> u64 {
        1
    }
    async fn sleep(&self, _: Duration) {}
}

fn sheet() -> RulesSheet {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../rules/rules.toml");
    RulesSheet::parse(&std::fs::read_to_string(path).unwrap(), "rules/rules.toml").unwrap()
}

fn offline() -> Reader<&'static NoNetwork, Now> {
    Reader::Offline
}

#[test]
fn offline_leave_one_out_on_the_default_sheet_is_the_benchmark_figure() {
    let sheet = sheet();
    let mut seen = vec![];
    let tally = block_on(evaluate(&offline(), &sheet, "rules sheet", &sheet.examples, true, &mut |d, t| seen.push((d, t)))).unwrap();
    assert_eq!(tally.total, 18);
    // BENCHMARKS.md, "Offline reader, leave-one-out over the sheet's 18 examples".
    assert_eq!((tally.topic, tally.urgency, tally.tone, tally.all), (14, 9, 17, 7));
    assert_eq!(tally.confusion.values().sum::<usize>(), 18);
    assert_eq!(tally.unsure, tally.confusion.iter().filter(|((_, got), _)| got == "unsure").map(|(_, k)| k).sum::<usize>());
    assert_eq!((tally.usage.input_tokens, tally.usage.output_tokens, tally.calls), (0, 0, 0));
    assert_eq!(seen.len(), 18);
    assert_eq!(seen.last(), Some(&(18, 18)));

    let text = render(&tally, &sheet, Some(&HAIKU_4_5));
    assert!(text.contains("| topic | 14/18 | 78 |"), "{text}");
    assert!(text.contains("| urgency | 9/18 | 50 |"), "{text}");
    assert!(text.contains("| tone | 17/18 | 94 |"), "{text}");
    assert!(text.contains("tokens: 0 in, 0 out over 0 model calls; $0.00 per 1,000 tickets (no model calls)"), "{text}");
    assert!(text.contains("| expected \\ read | billing |"), "{text}");
}

/// Three texts copied from the sheet's examples and labelled as there (read with the whole sheet, each is its
/// own nearest example: all three fields agree), and one copy whose labels are deliberately all different.
const CSV: &str = "id,text,topic,urgency,tone
1,I was charged twice for the November invoice. Can you refund the duplicate payment?,billing,medium,calm
2,\"Your whole dashboard has been down for an hour and my team can't work. This is the third time this month!!\",outage,high,angry
3,\"How do I add a second admin to our workspace? I looked in settings but couldn't find it.\",how-to,low,confused
4,Exporting a report to CSV gives a 500 error every time since yesterday's update.,privacy,high,angry
";

#[test]
fn a_labelled_file_read_offline_agrees_as_its_labels_say_csv_and_jsonl_alike() {
    let sheet = sheet();
    let rows = parse_labelled(CSV, "team.csv", LabelFormat::Csv, &sheet).unwrap();
    assert_eq!(rows.len(), 4);
    let tally = block_on(evaluate(&offline(), &sheet, "team.csv", &rows, false, &mut |_, _| {})).unwrap();
    assert_eq!((tally.total, tally.topic, tally.urgency, tally.tone, tally.all), (4, 3, 3, 3, 3));
    assert_eq!(tally.confusion.get(&("privacy".into(), "bug".into())), Some(&1));

    let jsonl: String = rows
        .iter()
        .map(|r| json!({"text": r.text, "topic": r.topic, "urgency": r.urgency, "tone": r.tone}).to_string() + "\n")
        .collect();
    let from_jsonl = parse_labelled(&jsonl, "team.jsonl", LabelFormat::Jsonl, &sheet).unwrap();
    assert_eq!(from_jsonl, rows);

    let thresholds = |topic| Thresholds { topic: Some(topic), urgency: None, tone: None };
    assert!(tally.below(&thresholds(0.75)).is_empty());
    let below = tally.below(&thresholds(1.0));
    assert_eq!(below, vec!["team.csv: topic agreement 75.0% is below --min-topic 100.0%".to_owned()]);
    let all = Thresholds { topic: Some(0.8), urgency: Some(0.8), tone: Some(0.8) };
    assert_eq!(tally.below(&all).len(), 3);
}

#[test]
fn malformed_rows_are_refused_with_file_and_line() {
    let sheet = sheet();
    let err = |source: &str, file: &str, format| parse_labelled(source, file, format, &sheet).unwrap_err().to_string();

    let bad_urgency = "text,topic,urgency,tone\n\"two\nlines\",billing,low,calm\nhello,billing,soon,calm\n";
    let e = err(bad_urgency, "team.csv", LabelFormat::Csv);
    assert!(e.starts_with("team.csv:4: "), "{e}");
    assert!(e.contains("soon"), "{e}");

    let e = err("text,topic,urgency,tone\nhi,billing,low\n", "team.csv", LabelFormat::Csv);
    assert!(e.starts_with("team.csv:2: "), "{e}");
    let e = err("text,topic,tone\nhi,billing,calm\n", "team.csv", LabelFormat::Csv);
    assert_eq!(e, "team.csv:1: no `urgency` column (the header needs text, topic, urgency, tone)");
    let e = err("text,topic,urgency,tone\nhi,refunds,low,calm\n", "team.csv", LabelFormat::Csv);
    assert_eq!(e, "team.csv:2: topic `refunds` is not in the rules sheet (nor `unsure`)");

    let jsonl = "{\"text\":\"a\",\"topic\":\"billing\",\"urgency\":\"low\",\"tone\":\"calm\"}\n\n{\"text\":\"b\",\"topic\":\"billing\"}\n";
    let e = err(jsonl, "team.jsonl", LabelFormat::Jsonl);
    assert!(e.starts_with("team.jsonl:3: "), "{e}");
    assert!(e.contains("urgency"), "{e}");
    let e = err("{\"text\":\"a\",\"topic\":\"billing\",\"urgency\":\"low\",\"tone\":\"calm\"\n", "team.jsonl", LabelFormat::Jsonl);
    assert!(e.starts_with("team.jsonl:1: "), "{e}");

    assert!(matches!(parse_labelled("text,topic,urgency,tone\n", "e.csv", LabelFormat::Csv, &sheet), Err(EvalError::Empty { .. })));
    assert_eq!(LabelFormat::from_path("x/Team.CSV"), Some(LabelFormat::Csv));
    assert_eq!(LabelFormat::from_path("team.jsonl"), Some(LabelFormat::Jsonl));
    assert_eq!(LabelFormat::from_path("team.xlsx"), None);
}

/// Bedrock InvokeModel as the service speaks it: a SigV4 `bedrock` signature, the model in the path,
/// `anthropic_version` in the body; the answer a Messages response with `usage`. The script maps a phrase of the
/// ticket (found in the user turn only: the system prompt holds the other examples) to the answer's text.
struct FakeBedrock {
    script: Vec<(&'static str, &'static str)>,
    calls: RefCell<usize>,
}

impl Transport for FakeBedrock {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        *self.calls.borrow_mut() += 1;
        assert_eq!(request.uri().path(), "/model/anthropic.claude-haiku-4-5-20251001-v1:0/invoke".replace(':', "%3A"));
        let auth = request.headers()["authorization"].to_str().unwrap();
        assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEVAL/") && auth.contains("/eu-west-1/bedrock/aws4_request"), "{auth}");
        let body: Value = serde_json::from_slice(request.body()).unwrap();
        assert_eq!(body["anthropic_version"], "bedrock-2023-05-31");
        let user = body["messages"].to_string();
        let (_, answer) = self.script.iter().find(|(phrase, _)| user.contains(phrase)).unwrap_or_else(|| panic!("no script line for {user}"));
        let response = json!({"id": "msg_bdrk_01", "type": "message", "role": "assistant",
            "content": [{"type": "text", "text": answer}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 600, "output_tokens": 20}});
        Ok(http::Response::builder().status(200).body(serde_json::to_vec(&response).unwrap()).unwrap())
    }
}

#[test]
fn fake_bedrock_over_the_wire_format_gives_agreement_tokens_and_cost() {
    let sheet = sheet();
    let fake = FakeBedrock {
        script: vec![
            ("charged twice", r#"{"topic":"billing","urgency":"medium","tone":"calm"}"#),
            ("dashboard has been down", r#"{"topic":"outage","urgency":"high","tone":"angry"}"#),
            // Wrong topic and urgency: a miss on two fields.
            ("second admin", r#"{"topic":"account-access","urgency":"high","tone":"confused"}"#),
            // Not an answer, twice: `unsure` with a read error, two billed calls.
            ("500 error", "I think this is a bug."),
        ],
        calls: RefCell::new(0),
    };
    let vars = MapVars::from_pairs([
        ("reader", "bedrock"),
        ("bedrock_endpoint", "https://bedrock-runtime.eu-west-1.amazonaws.com"),
        ("aws_region", "eu-west-1"),
        ("aws_access_key_id", "AKIDEVAL"),
        ("aws_secret_access_key", "secret"),
    ]);
    let wiring = block_on(Wiring::<&FakeBedrock, Now, MemoryKv>::from_vars(&vars, &fake, Now, Err(KvError::Other("eval stores nothing".into()))));
    let reader = block_on(Reader::from_vars(&vars, &wiring)).unwrap();
    let rows = parse_labelled(CSV, "team.csv", LabelFormat::Csv, &sheet).unwrap();
    let tally = block_on(evaluate(&reader, &sheet, "team.csv", &rows, false, &mut |_, _| {})).unwrap();

    // Row 4 is labelled privacy/high/angry and read unsure/medium/calm: no field agrees.
    assert_eq!((tally.total, tally.topic, tally.urgency, tally.tone, tally.all), (4, 2, 2, 3, 2));
    assert_eq!((tally.unsure, tally.read_errors, tally.calls), (1, 1, 5));
    assert_eq!(*fake.calls.borrow(), 5);
    assert_eq!((tally.usage.input_tokens, tally.usage.output_tokens), (3_000, 100));
    // ($3,000 × 1 + 100 × 5) / 1M = $0.0035 for 4 tickets → $0.875 per 1,000.
    assert!((tally.dollars_per_1000(&HAIKU_4_5) - 0.875).abs() < 1e-9);
    let text = render(&tally, &sheet, Some(&HAIKU_4_5));
    assert!(text.contains("tokens: 3000 in, 100 out over 5 model calls; $0.88 per 1,000 tickets"), "{text}");
    assert!(text.contains("unsure: 1/4 (25%); read errors"), "{text}");

    // The sheet's own examples leave-one-out through the same fake: only the scripted phrases are among them.
    let scripted: Vec<_> = sheet.examples.iter().filter(|e| fake.script.iter().any(|(p, _)| e.text.contains(p))).cloned().collect();
    let tally = block_on(evaluate(&reader, &sheet, "rules sheet", &scripted, true, &mut |_, _| {})).unwrap();
    assert_eq!(tally.total, 4);
    assert!(!Tally::below(&tally, &Thresholds { topic: Some(1.0), ..Thresholds::default() }).is_empty());
}
