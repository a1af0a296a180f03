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
