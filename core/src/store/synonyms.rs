//! Support vocabulary that names one thing in several ways ("text message" / "SMS", "seat" / "user", "sign in" /
//! "log in"), so the duplicate rule ([`super::similar`]) counts them as one shared word.
//!
//! The table is data, in `synonyms.txt` beside this file (its header says what belongs there and why the list is
//! kept short). It is compiled in and parsed once; a malformed table is a build-time mistake that the unit test
//! below catches, so the parse error is typed rather than handled at run time.
//!
//! Editing the table changes the words a fingerprint holds. Tickets indexed before an edit keep their old words
//! until they leave the duplicate window (72 h): a word the edit renamed then fails to match, so the cost is a
//! missed merge for those days, never a wrong one.
//!
//! Terms are stored normalised by the caller's function (the rule's own folding and suffix fold), so a table term
//! and a word of a message meet exactly when the rule would have called them the same word.

use std::collections::HashMap;

/// A malformed line of the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SynonymError {
    #[error("synonyms line {line}: no `canonical:` before the terms")]
    NoCanonical { line: usize },
    /// The canonical word is what a merge lists as shared: one word, so the explanation stays readable.
    #[error("synonyms line {line}: the canonical term must be one word")]
    CanonicalNotOneWord { line: usize },
    #[error("synonyms line {line}: a term with no words")]
    EmptyTerm { line: usize },
    /// One term in two concepts would make the table's answer depend on line order.
    #[error("synonyms line {line}: `{term}` is already listed on line {first}")]
    Repeated { term: String, line: usize, first: usize },
}

/// The parsed table: single words and phrases, each to its concept's canonical word (normalised).
#[derive(Debug, Clone, Default)]
pub struct Synonyms {
    words: HashMap<String, String>,
    phrases: HashMap<Vec<String>, String>,
    /// Words in the longest phrase: how far [`Synonyms::phrase`] looks ahead.
    longest: usize,
}

impl Synonyms {
    /// Parses `canonical: term, term, …` lines (`#` comments and blank lines skipped), normalising every word
    /// with `norm`.
    pub fn parse(text: &str, norm: impl Fn(&str) -> String) -> Result<Self, SynonymError> {
        let mut table = Synonyms::default();
        let mut seen: HashMap<Vec<String>, usize> = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let (canonical, rest) = content.split_once(':').ok_or(SynonymError::NoCanonical { line })?;
            let words = |term: &str| -> Vec<String> { term.split_whitespace().map(&norm).collect() };
            let canonical = words(canonical);
            let [canonical_word] = canonical.as_slice() else {
                return Err(SynonymError::CanonicalNotOneWord { line });
            };
            let canonical_word = canonical_word.clone();
            for term in std::iter::once(canonical.clone()).chain(rest.split(',').map(words)) {
                if term.is_empty() {
                    return Err(SynonymError::EmptyTerm { line });
                }
                if let Some(&first) = seen.get(&term) {
                    return Err(SynonymError::Repeated { term: term.join(" "), line, first });
                }
                seen.insert(term.clone(), line);
                table.longest = table.longest.max(term.len());
                if let [word] = term.as_slice() {
                    table.words.insert(word.clone(), canonical_word.clone());
                } else {
                    table.phrases.insert(term, canonical_word.clone());
                }
            }
        }
        Ok(table)
    }

    /// The canonical word for a single normalised word, if the table lists it.
    pub fn word(&self, word: &str) -> Option<&str> {
        self.words.get(word).map(String::as_str)
    }

    /// The longest phrase of the table that `words` (normalised) starts with: its canonical word and how many
    /// words it covers.
    pub fn phrase(&self, words: &[String]) -> Option<(&str, usize)> {
        (2..=self.longest.min(words.len()))
            .rev()
            .find_map(|n| self.phrases.get(&words[..n]).map(|c| (c.as_str(), n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lower(w: &str) -> String {
        w.to_lowercase()
    }

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(lower).collect()
    }

    #[test]
    fn words_and_longest_phrases_map_to_the_canonical_word() {
        let t = Synonyms::parse("# comment\n\nlogin: log in, sign in\nsso: single sign on\nseat: User, licence\n", lower)
            .unwrap();
        assert_eq!(t.word("user"), Some("seat"));
        assert_eq!(t.word("seat"), Some("seat"));
        assert_eq!(t.word("sign"), None);
        assert_eq!(t.phrase(&words("sign in now")), Some(("login", 2)));
        assert_eq!(t.phrase(&words("single sign on page")), Some(("sso", 3)));
        assert_eq!(t.phrase(&words("single")), None);
    }

    #[test]
    fn malformed_tables_are_rejected() {
        assert_eq!(Synonyms::parse("seat user", lower).unwrap_err(), SynonymError::NoCanonical { line: 1 });
        assert_eq!(Synonyms::parse("text message: sms", lower).unwrap_err(), SynonymError::CanonicalNotOneWord { line: 1 });
        assert_eq!(Synonyms::parse("seat: user,, member", lower).unwrap_err(), SynonymError::EmptyTerm { line: 1 });
        assert_eq!(
            Synonyms::parse("seat: user\nperson: USER", lower).unwrap_err(),
            SynonymError::Repeated { term: "user".into(), line: 2, first: 1 }
        );
    }
}
