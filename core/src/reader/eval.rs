//! `tr-intake eval`: how well the configured reader tags labelled tickets, and what it costs — plain data in and
//! out, so the figures are tested natively; the command line only reads files, prints and sets the exit code.
//!
//! Key decisions:
//! - Two sets: the rules sheet's own examples, each read by a sheet *without* that example (leave-one-out, as
//!   the figure in BENCHMARKS.md; an example that is in the prompt would grade itself), and a team's labelled
//!   file (CSV or JSONL: `text, topic, urgency, tone`), read with the whole sheet.
//! - Each text becomes a ticket through [`TicketDraft::into_ticket`] (masking and bounds included), so the model
//!   sees what the read lane would send. The offline reader reads that ticket's body alone: its figure then
//!   matches the benchmark's, which never had a subject (a ticket built here has none; the lane's reader would
//!   add the `(no subject)` placeholder's words).
//! - A model call that fails on the setup or an outage stops the run (a half-measured figure is no figure); an
//!   answer that stays invalid counts as `unsure`, as in the lane.
//! - A malformed labelled row is refused with file:line, never skipped: a silently smaller N inflates agreement.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Deserialize;

use super::answer::Usage;
use super::lane::{Read, ReadBy, Reader};
use super::model_client::ModelError;
use super::offline::read_text;
use super::rules_sheet::{Example, RulesSheet, UNSURE};
use crate::normalise::{Limits, NormaliseError, TicketDraft};
use crate::ticket::{Source, ThreadIds, Ticket, Tone, Urgency};
use crate::transport::{Runtime, Transport};

/// A model's list price in US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub model: &'static str,
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
}

/// Claude Haiku 4.5 (the default model): $1/M input, $5/M output — Anthropic's list price, the same on Bedrock
/// on-demand; as stated in issue 22 and BENCHMARKS.md, 2026-12-04.
pub const HAIKU_4_5: Price = Price { model: "Claude Haiku 4.5", input_per_mtok: 1.0, output_per_mtok: 5.0 };

/// The list price of a model id (Bedrock id, inference profile or Anthropic alias), when known. Other models
/// (an OpenAI-compatible server, most often local) get tokens but no dollar figure rather than a wrong one.
pub fn list_price(model_id: &str) -> Option<Price> {
    model_id.contains("haiku-4-5").then_some(HAIKU_4_5)
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{file}:{line}: {message}")]
    Label { file: String, line: u64, message: String },
    #[error("{file}: no labelled tickets")]
    Empty { file: String },
    #[error("{set}, ticket {number}: {source}")]
    Ticket { set: String, number: usize, source: NormaliseError },
    #[error("{set}, ticket {number}: the model call failed, the run stops: {source}")]
    Model { set: String, number: usize, source: ModelError },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelFormat {
    Csv,
    Jsonl,
}

impl LabelFormat {
    /// By the file's extension: `.csv`, `.jsonl` (or `.ndjson`).
    pub fn from_path(path: &str) -> Option<Self> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".csv") {
            Some(LabelFormat::Csv)
        } else if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
            Some(LabelFormat::Jsonl)
        } else {
            None
        }
    }
}

/// One labelled row; other columns or fields (an id, a date) are ignored.
#[derive(Deserialize)]
struct Row {
    text: String,
    topic: String,
    urgency: Urgency,
    tone: Tone,
}

/// The labelled tickets in `source` (`file` only names errors). Every topic must be one of the sheet's or
/// `unsure`: a label the reader can never give would count as a miss for a reason no change to the sheet fixes.
pub fn parse_labelled(source: &str, file: &str, format: LabelFormat, sheet: &RulesSheet) -> Result<Vec<Example>, EvalError> {
    let error = |line: u64, message: String| EvalError::Label { file: file.to_owned(), line, message };
    let mut rows = Vec::new();
    match format {
        LabelFormat::Csv => {
            let mut reader = csv::ReaderBuilder::new().from_reader(source.as_bytes());
            let headers = reader.headers().map_err(|e| error(csv_line(&e), e.to_string()))?.clone();
            for name in ["text", "topic", "urgency", "tone"] {
                if !headers.iter().any(|h| h.trim() == name) {
                    return Err(error(1, format!("no `{name}` column (the header needs text, topic, urgency, tone)")));
                }
            }
            let headers = csv::StringRecord::from(headers.iter().map(str::trim).collect::<Vec<_>>());
            for record in reader.records() {
                let record = record.map_err(|e| error(csv_line(&e), e.to_string()))?;
                let line = record.position().map_or(0, |p| p.line());
                let row: Row = record.deserialize(Some(&headers)).map_err(|e| error(line, deserialize_message(&e)))?;
                rows.push((line, row));
            }
        }
        LabelFormat::Jsonl => {
            for (i, text) in source.lines().enumerate() {
                if text.trim().is_empty() {
                    continue;
                }
                let row: Row = serde_json::from_str(text).map_err(|e| error(i as u64 + 1, e.to_string()))?;
                rows.push((i as u64 + 1, row));
            }
        }
    }
    if rows.is_empty() {
        return Err(EvalError::Empty { file: file.to_owned() });
    }
    rows.into_iter()
        .map(|(line, row)| {
            let topic = row.topic.trim().to_owned();
            if topic != UNSURE && !sheet.has_topic(&topic) {
                return Err(error(line, format!("topic `{topic}` is not in the rules sheet (nor `{UNSURE}`)")));
            }
            if row.text.trim().is_empty() {
                return Err(error(line, "the text is empty".into()));
            }
            Ok(Example { text: row.text.trim().to_owned(), topic, urgency: row.urgency, tone: row.tone })
        })
        .collect()
}

fn csv_line(e: &csv::Error) -> u64 {
    e.position().map_or(0, |p| p.line())
}

/// csv's deserialize error without its own position prefix (the line is given once, as file:line).
fn deserialize_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => {
            let field = err.field().map(|f| format!("column {}: ", f + 1)).unwrap_or_default();
            format!("{field}{}", err.kind())
        }
        _ => e.to_string(),
    }
}

/// One set's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub set: String,
    pub total: usize,
    pub topic: usize,
    pub urgency: usize,
    pub tone: usize,
    pub all: usize,
    /// Readings whose topic is `unsure`.
    pub unsure: usize,
    /// (expected topic, topic read) → tickets.
    pub confusion: BTreeMap<(String, String), usize>,
    pub usage: Usage,
    pub calls: u32,
    /// Readings that ended `unsure` + `read-error` (invalid answers, refused tickets).
    pub read_errors: usize,
    /// Readings the offline fallback made because the model was unavailable (they are not the model's).
    pub offline_fallbacks: usize,
}

impl Tally {
    fn add(&mut self, expected: &Example, read: &Read) {
        let got = &read.reading;
        self.total += 1;
        let (topic, urgency, tone) = (got.topic == expected.topic, got.urgency == expected.urgency, got.tone == expected.tone);
        self.topic += usize::from(topic);
        self.urgency += usize::from(urgency);
        self.tone += usize::from(tone);
        self.all += usize::from(topic && urgency && tone);
        self.unsure += usize::from(got.topic == UNSURE);
        *self.confusion.entry((expected.topic.clone(), got.topic.clone())).or_default() += 1;
        self.usage.input_tokens += read.usage.input_tokens;
        self.usage.output_tokens += read.usage.output_tokens;
        self.calls += read.calls;
        self.read_errors += usize::from(read.error.is_some());
        self.offline_fallbacks += usize::from(read.by == ReadBy::OfflineFallback);
    }

    pub fn fraction(&self, field: Field) -> f64 {
        let agree = match field {
            Field::Topic => self.topic,
            Field::Urgency => self.urgency,
            Field::Tone => self.tone,
        };
        if self.total == 0 { 0.0 } else { agree as f64 / self.total as f64 }
    }

    /// Dollars per 1,000 tickets at `price`, from the tokens the provider reported.
    pub fn dollars_per_1000(&self, price: &Price) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let dollars = (self.usage.input_tokens as f64 * price.input_per_mtok
            + self.usage.output_tokens as f64 * price.output_per_mtok)
            / 1_000_000.0;
        dollars * 1_000.0 / self.total as f64
    }

    /// One line per threshold this set is below (empty: it passes).
    pub fn below(&self, thresholds: &Thresholds) -> Vec<String> {
        [(Field::Topic, thresholds.topic), (Field::Urgency, thresholds.urgency), (Field::Tone, thresholds.tone)]
            .into_iter()
            .filter_map(|(field, min)| {
                let (min, got) = (min?, self.fraction(field));
                (got < min).then(|| format!("{}: {} agreement {:.1}% is below --min-{} {:.1}%", self.set, field.name(), got * 100.0, field.name(), min * 100.0))
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Topic,
    Urgency,
    Tone,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::Topic => "topic",
            Field::Urgency => "urgency",
            Field::Tone => "tone",
        }
    }
}

/// Minimum agreement per field, as fractions.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Thresholds {
    pub topic: Option<f64>,
    pub urgency: Option<f64>,
    pub tone: Option<f64>,
}

/// `0.8`, `80%` or `80` (above 1 reads as a percent) → 0.8.
pub fn parse_fraction(text: &str) -> Result<f64, String> {
    let trimmed = text.trim();
    let (number, percent) = match trimmed.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (trimmed, false),
    };
    let value: f64 = number.parse().map_err(|_| format!("`{text}` is not a number (0.8, 80% or 80)"))?;
    let fraction = if percent || value > 1.0 { value / 100.0 } else { value };
    if !(0.0..=1.0).contains(&fraction) {
        return Err(format!("`{text}` is outside 0–100%"));
    }
    Ok(fraction)
}

/// Reads every example and tallies the answers. `leave_one_out`: example *i* is read by the sheet without
/// example *i* (the sheet's own examples); otherwise by the whole sheet (a team's file). `progress(done, total)`
/// is called after each ticket.
pub async fn evaluate<T: Transport, R: Runtime>(
    reader: &Reader<T, R>,
    sheet: &RulesSheet,
    set: &str,
    examples: &[Example],
    leave_one_out: bool,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Tally, EvalError> {
    let mut tally = Tally { set: set.to_owned(), ..Tally::default() };
    for (i, expected) in examples.iter().enumerate() {
        let number = i + 1;
        let without;
        let sheet = if leave_one_out {
            let mut s = sheet.clone();
            s.examples.remove(i);
            without = s;
            &without
        } else {
            sheet
        };
        let ticket = ticket_of(&expected.text, i).map_err(|source| EvalError::Ticket { set: set.to_owned(), number, source })?;
        let read = match reader {
            Reader::Offline => Read {
                reading: read_text(sheet, &ticket.body, None),
                by: ReadBy::Offline,
                calls: 0,
                usage: Usage::default(),
                error: None,
            },
            Reader::Model { .. } => reader
                .read(sheet, &ticket)
                .await
                .map_err(|source| EvalError::Model { set: set.to_owned(), number, source })?,
        };
        tally.add(expected, &read);
        progress(number, examples.len());
    }
    Ok(tally)
}

/// The ticket a labelled text stands for: a chat ticket (no address needed) with no subject.
fn ticket_of(text: &str, i: usize) -> Result<Ticket, NormaliseError> {
    TicketDraft {
        source: Source::Chat,
        customer_email: None,
        customer_name: None,
        subject: String::new(),
        body: text.to_owned(),
        page_url: None,
        thread: ThreadIds::default(),
        transcript_id: None,
        idempotency_key: format!("eval-{i}"),
    }
    .into_ticket(SystemTime::UNIX_EPOCH, i as u128, &Limits::default())
}

/// The set's figures as Markdown (agreement table, unsure rate, tokens and cost, topic confusion).
pub fn render(tally: &Tally, sheet: &RulesSheet, price: Option<&Price>) -> String {
    let n = tally.total;
    let pct = |k: usize| if n == 0 { 0.0 } else { 100.0 * k as f64 / n as f64 };
    let mut out = format!("## {} ({n} tickets)\n\n| field | agree | % |\n|---|---|---|\n", tally.set);
    for (name, k) in [("topic", tally.topic), ("urgency", tally.urgency), ("tone", tally.tone), ("all three", tally.all)] {
        out += &format!("| {name} | {k}/{n} | {:.0} |\n", pct(k));
    }
    out += &format!("\nunsure: {}/{n} ({:.0}%)", tally.unsure, pct(tally.unsure));
    if tally.read_errors > 0 {
        out += &format!("; read errors (invalid answers, read as unsure): {}", tally.read_errors);
    }
    if tally.offline_fallbacks > 0 {
        out += &format!("; read by the offline fallback (model unavailable): {}", tally.offline_fallbacks);
    }
    out += &format!(
        "\ntokens: {} in, {} out over {} model calls; ",
        tally.usage.input_tokens, tally.usage.output_tokens, tally.calls
    );
    out += &match price {
        _ if tally.calls == 0 => "$0.00 per 1,000 tickets (no model calls)\n".to_owned(),
        Some(p) => format!(
            "${:.2} per 1,000 tickets at {}'s list price (${}/M in, ${}/M out)\n",
            tally.dollars_per_1000(p),
            p.model,
            p.input_per_mtok,
            p.output_per_mtok
        ),
        None => "no list price known for this model\n".to_owned(),
    };

    // Every topic of the sheet and `unsure` as a column; a row for each expected topic that occurs.
    let columns: Vec<&str> = sheet.topic_names().chain([UNSURE]).collect();
    out += "\ntopic confusion (rows: expected, columns: read)\n\n| expected \\ read |";
    for c in &columns {
        out += &format!(" {c} |");
    }
    out += "\n|---|";
    out += &"---|".repeat(columns.len());
    for row in &columns {
        if !tally.confusion.keys().any(|(expected, _)| expected == row) {
            continue;
        }
        out += &format!("\n| {row} |");
        for c in &columns {
            let k = tally.confusion.get(&(row.to_string(), c.to_string())).copied().unwrap_or(0);
            out += &format!(" {} |", if k == 0 { ".".to_owned() } else { k.to_string() });
        }
    }
    out.push('\n');
    out
}

/// `[#####     ] 12/40` (`width` cells), for a terminal's progress line.
pub fn progress_bar(done: usize, total: usize, width: usize) -> String {
    let filled = (done * width).checked_div(total).unwrap_or(width);
    format!("[{}{}] {done}/{total}", "#".repeat(filled), " ".repeat(width - filled))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_and_percents() {
        assert_eq!(parse_fraction("0.8"), Ok(0.8));
        assert_eq!(parse_fraction("80%"), Ok(0.8));
        assert_eq!(parse_fraction("80"), Ok(0.8));
        assert_eq!(parse_fraction("1"), Ok(1.0));
        assert!(parse_fraction("120%").is_err());
        assert!(parse_fraction("-0.1").is_err());
        assert!(parse_fraction("most").is_err());
    }

    #[test]
    fn progress_bar_fills_in_proportion() {
        assert_eq!(progress_bar(0, 40, 10), "[          ] 0/40");
        assert_eq!(progress_bar(12, 40, 10), "[###       ] 12/40");
        assert_eq!(progress_bar(40, 40, 10), "[##########] 40/40");
    }

    #[test]
    fn price_per_thousand_tickets() {
        let tally = Tally { total: 2, usage: Usage { input_tokens: 1_200, output_tokens: 40 }, ..Tally::default() };
        // (1200 × $1 + 40 × $5) / 1M = $0.0014 for 2 tickets → $0.70 per 1,000.
        assert!((tally.dollars_per_1000(&HAIKU_4_5) - 0.70).abs() < 1e-9);
        assert_eq!(list_price("us.anthropic.claude-haiku-4-5-20251001-v1:0"), Some(HAIKU_4_5));
        assert_eq!(list_price("llama3.1:8b"), None);
    }
}
