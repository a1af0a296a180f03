//! The rules sheet: the topics a ticket can have and labelled example tickets, in TOML.
//!
//! Role: the one place a support team says what its topics are; the prompt, the answer check and the offline
//! reader all read it. Key decision: it is validated whole at load, and every error names the file and the line
//! (an unknown topic in an example, a duplicate topic, an empty list, a bad urgency), because the people who edit
//! it are not the people who read logs.
//!
//! ```toml
//! [[topics]]
//! name = "billing"                      # lower-case letters, digits, - and _; `unsure` is reserved
//! description = "Invoices, charges, refunds, plan prices."
//! cues = ["invoice", "refund", "charged"] # optional: words the offline reader looks for
//!
//! [[examples]]
//! text = "I was charged twice this month, please refund one."
//! topic = "billing"                      # a topic above, or `unsure`
//! urgency = "medium"                     # low | medium | high
//! tone = "calm"                          # calm | confused | angry
//! ```

use serde::Deserialize;
use toml::Spanned;

use crate::ticket::{Tone, Urgency};

/// The topic the model answers when none fits. Not a sheet topic.
pub const UNSURE: &str = "unsure";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    pub name: String,
    pub description: String,
    pub cues: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    pub text: String,
    pub topic: String,
    pub urgency: Urgency,
    pub tone: Tone,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesSheet {
    pub topics: Vec<Topic>,
    pub examples: Vec<Example>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct RulesError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSheet {
    #[serde(default)]
    topics: Vec<Spanned<RawTopic>>,
    #[serde(default)]
    examples: Vec<Spanned<RawExample>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTopic {
    name: Spanned<String>,
    description: String,
    #[serde(default)]
    cues: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExample {
    text: String,
    topic: Spanned<String>,
    urgency: Urgency,
    tone: Tone,
}

impl RulesSheet {
    /// Parses and validates `source`; `file` is only used in error messages.
    pub fn parse(source: &str, file: &str) -> Result<RulesSheet, RulesError> {
        let error = |offset: usize, message: String| RulesError { file: file.to_owned(), line: line_of(source, offset), message };
        let raw: RawSheet = toml::from_str(source).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            error(offset, e.message().trim().to_owned())
        })?;
        if raw.topics.is_empty() {
            return Err(error(0, "no [[topics]]: the sheet needs at least one topic".into()));
        }
        let mut topics: Vec<Topic> = Vec::with_capacity(raw.topics.len());
        for spanned in raw.topics {
            let (span, topic) = (spanned.span(), spanned.into_inner());
            let name_at = topic.name.span().start;
            let name = topic.name.into_inner().trim().to_owned();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_') {
                return Err(error(name_at, format!("topic name `{name}`: use lower-case letters, digits, `-` and `_`")));
            }
            if name == UNSURE {
                return Err(error(name_at, format!("`{UNSURE}` is reserved for tickets no topic fits")));
            }
            if topics.iter().any(|t| t.name == name) {
                return Err(error(name_at, format!("duplicate topic `{name}`")));
            }
            if topic.description.trim().is_empty() {
                return Err(error(span.start, format!("topic `{name}` has no description")));
            }
            let cues = topic.cues.iter().map(|c| c.trim().to_lowercase()).filter(|c| !c.is_empty()).collect();
            topics.push(Topic { name, description: topic.description.trim().to_owned(), cues });
        }
        let mut examples = Vec::with_capacity(raw.examples.len());
        for spanned in raw.examples {
            let (span, example) = (spanned.span(), spanned.into_inner());
            let topic_at = example.topic.span().start;
            let topic = example.topic.into_inner().trim().to_owned();
            if topic != UNSURE && !topics.iter().any(|t| t.name == topic) {
                return Err(error(topic_at, format!("example names unknown topic `{topic}`")));
            }
            if example.text.trim().is_empty() {
                return Err(error(span.start, "example has no text".into()));
            }
            examples.push(Example { text: example.text.trim().to_owned(), topic, urgency: example.urgency, tone: example.tone });
        }
        Ok(RulesSheet { topics, examples })
    }

    pub fn has_topic(&self, name: &str) -> bool {
        name == UNSURE || self.topics.iter().any(|t| t.name == name)
    }

    pub fn topic_names(&self) -> impl Iterator<Item = &str> {
        self.topics.iter().map(|t| t.name.as_str())
    }
}

fn line_of(source: &str, offset: usize) -> usize {
    source[..offset.min(source.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[topics]]
name = "billing"
description = "Invoices and refunds."
cues = ["Invoice", "refund"]

[[topics]]
name = "login"
description = "Signing in."

[[examples]]
text = "Charged twice"
topic = "billing"
urgency = "medium"
tone = "calm"
"#;

    fn err(source: &str) -> String {
        RulesSheet::parse(source, "rules.toml").unwrap_err().to_string()
    }

    #[test]
    fn a_good_sheet_loads() {
        let sheet = RulesSheet::parse(GOOD, "rules.toml").unwrap();
        assert_eq!(sheet.topic_names().collect::<Vec<_>>(), ["billing", "login"]);
        assert_eq!(sheet.topics[0].cues, ["invoice", "refund"]);
        assert_eq!(sheet.examples[0].urgency, Urgency::Medium);
        assert!(sheet.has_topic("unsure") && !sheet.has_topic("shipping"));
    }

    #[test]
    fn errors_name_file_and_line() {
        assert_eq!(err(&GOOD.replace("topic = \"billing\"", "topic = \"shipping\"")), "rules.toml:13: example names unknown topic `shipping`");
        assert_eq!(err(&GOOD.replace("name = \"login\"", "name = \"billing\"")), "rules.toml:8: duplicate topic `billing`");
        assert_eq!(err("[[examples]]\ntext = \"x\"\ntopic = \"unsure\"\nurgency = \"low\"\ntone = \"calm\"\n"), "rules.toml:1: no [[topics]]: the sheet needs at least one topic");
        assert!(err(&GOOD.replace("urgency = \"medium\"", "urgency = \"urgent\"")).starts_with("rules.toml:14: unknown variant `urgent`"));
        assert!(err(&GOOD.replace("cues = [", "colour = \"red\"\ncues = [")).starts_with("rules.toml:5: unknown field `colour`"));
        assert_eq!(err(&GOOD.replace("name = \"login\"", "name = \"unsure\"")), "rules.toml:8: `unsure` is reserved for tickets no topic fits");
    }
}
