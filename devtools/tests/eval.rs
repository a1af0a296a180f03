//! `tr-intake eval` as a person or a CI job runs it: the real binary, offline, on the default rules sheet — the
//! output's shape, the progress on stderr, and the exit codes (thresholds, a malformed labelled file).

use std::path::PathBuf;
use std::process::{Command, Output};

fn rules() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../rules/rules.toml")
}

fn eval(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tr-intake"))
        .arg("eval")
        .arg("--rules")
        .arg(rules())
        .args(args)
        // Whatever the calling shell has configured, these runs are offline.
        .env_remove("SPIN_VARIABLE_READER")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn offline_on_the_default_sheet_prints_the_figures_and_passes_without_thresholds() {
    let out = eval(&[]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("# tr-intake eval: reader offline, rules "), "{stdout}");
    assert!(stdout.contains("examples, leave-one-out (18 tickets)"), "{stdout}");
    for row in ["| topic | 14/18 | 78 |", "| urgency | 9/18 | 50 |", "| tone | 17/18 | 94 |", "| all three | 7/18 | 39 |"] {
        assert!(stdout.contains(row), "{row} missing:\n{stdout}");
    }
    assert!(stdout.contains("\nunsure: "), "{stdout}");
    assert!(stdout.contains("tokens: 0 in, 0 out over 0 model calls; $0.00 per 1,000 tickets"), "{stdout}");
    assert!(stdout.contains("| expected \\ read | billing |"), "{stdout}");
    // Not a terminal here: plain progress lines, the last one complete.
    assert!(stderr.contains("18/18 read"), "{stderr}");

    let passing = eval(&["--min-topic", "70%", "--min-urgency", "0.5", "--min-tone", "90"]);
    assert!(passing.status.success(), "{}", text(&passing.stderr));
}

#[test]
fn a_threshold_above_the_figure_fails_the_run() {
    let out = eval(&["--min-topic", "1.0"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("topic agreement 77.8% is below --min-topic 100.0%"), "{stderr}");
    assert!(stderr.contains("1 threshold(s) not met"), "{stderr}");
    // The figures are printed all the same: the failing run says why.
    assert!(text(&out.stdout).contains("| topic | 14/18 | 78 |"));

    let bad = eval(&["--min-tone", "most"]);
    assert_eq!(bad.status.code(), Some(2), "clap refuses a threshold that is not a number");
}

#[test]
fn a_labelled_file_is_read_and_a_malformed_one_refused_with_file_and_line() {
    let dir = std::env::temp_dir().join(format!("tr-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("team.jsonl");
    std::fs::write(
        &good,
        concat!(
            r#"{"id": 1, "text": "I was charged twice for the November invoice. Can you refund the duplicate payment?", "topic": "billing", "urgency": "medium", "tone": "calm"}"#,
            "\n",
            r#"{"id": 2, "text": "Exporting a report to CSV gives a 500 error every time since yesterday's update.", "topic": "privacy", "urgency": "medium", "tone": "calm"}"#,
            "\n"
        ),
    )
    .unwrap();
    let out = eval(&["--file", good.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("team.jsonl (2 tickets)"), "{stdout}");
    assert!(stdout.contains("| topic | 1/2 | 50 |"), "{stdout}");

    let bad = dir.join("team.csv");
    std::fs::write(&bad, "text,topic,urgency,tone\nhello,billing,low,calm\nhi,billing,soon,calm\n").unwrap();
    let out = eval(&["--file", bad.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("{}:3: ", bad.display())), "{stderr}");
    // Refused before anything is read.
    assert!(!stderr.contains("18/18"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `tests/tools/fake_bedrock.py` (SigV4 checked with botocore's signer, structured output required, scripted by
/// a `case=` marker in the text; no marker answers billing/medium/calm), on a free port.
struct FakeBedrock {
    child: std::process::Child,
    origin: String,
}

impl Drop for FakeBedrock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fake_bedrock(dir: &std::path::Path) -> FakeBedrock {
    let port_file = dir.join("fake-bedrock.port");
    let child = Command::new("python3")
        .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/tools/fake_bedrock.py"))
        .arg(&port_file)
        .env("TR_MOTO_ACCESS_KEY_ID", "AKIDEVAL")
        .env("TR_MOTO_SECRET_ACCESS_KEY", "eval-secret")
        .spawn()
        .unwrap();
    // Held from the start, so a fake that never answers is still killed when the assert below fails.
    let mut fake = FakeBedrock { child, origin: String::new() };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if let Ok(port) = std::fs::read_to_string(&port_file)
            && !port.is_empty()
        {
            fake.origin = format!("http://127.0.0.1:{port}");
            return fake;
        }
        assert!(std::time::Instant::now() < deadline, "fake_bedrock.py did not start");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn bedrock_reader_through_a_fake_bedrock_reports_tokens_cost_and_read_errors() {
    let dir = std::env::temp_dir().join(format!("tr-eval-bedrock-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fake = fake_bedrock(&dir);
    let file = dir.join("team.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"text": "I was charged twice this month, please refund one.", "topic": "billing", "urgency": "medium", "tone": "calm"}"#,
            "\n",
            r#"{"text": "Charged twice again case=non-json", "topic": "billing", "urgency": "medium", "tone": "calm"}"#,
            "\n",
            r#"{"text": "Where is my parcel case=unknown-topic", "topic": "billing", "urgency": "high", "tone": "angry"}"#,
            "\n"
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tr-intake"))
        .args(["eval", "--reader", "bedrock", "--file", file.to_str().unwrap(), "--min-topic", "0.5"])
        .arg("--rules")
        .arg(rules())
        .env("SPIN_VARIABLE_BEDROCK_ENDPOINT", &fake.origin)
        .env("SPIN_VARIABLE_AWS_ACCESS_KEY_ID", "AKIDEVAL")
        .arg("--variable")
        .arg("aws_secret_access_key=eval-secret")
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(stdout.starts_with("# tr-intake eval: reader bedrock (anthropic.claude-haiku-4-5-20251001-v1:0)"), "{stdout}\n{stderr}");
    // The sheet: every one of the 18 examples read once, all answered billing.
    assert!(stdout.contains("examples, leave-one-out (18 tickets)"), "{stdout}");
    assert!(stdout.contains("over 18 model calls; $"), "{stdout}");
    // The file: one valid answer; two invalid twice (two calls each) → unsure with a read error.
    assert!(stdout.contains("team.jsonl (3 tickets)"), "{stdout}");
    assert!(stdout.contains("| topic | 1/3 | 33 |"), "{stdout}");
    assert!(stdout.contains("unsure: 2/3 (67%); read errors (invalid answers, read as unsure): 2"), "{stdout}");
    // Output tokens as the fake reports them: 17 (valid) + 2 × 9 (non-json) + 2 × 17 (unknown topic).
    assert!(stdout.contains(" 69 out over 5 model calls; $"), "{stdout}");
    assert!(stdout.contains("per 1,000 tickets at Claude Haiku 4.5's list price ($1/M in, $5/M out)"), "{stdout}");
    // 1/3 topic on the file is below 50%: the run fails, naming the set.
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("team.jsonl: topic agreement 33.3% is below --min-topic 50.0%"), "{stderr}");
    drop(fake);
    std::fs::remove_dir_all(&dir).unwrap();
}
