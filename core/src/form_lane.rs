//! The form lane end to end, minus the trigger: an accepted submission → ticket → store → ticket queue.
//!
//! Role: what the form component does once the request has passed its guards (origin, size, rate limit, site
//! key, bot checks). Key decisions:
//! - The idempotency key is `form:` + the embed's nonce, so a retry of the same submission (the embed retries
//!   network errors and 5xx with the same nonce) is the same ticket. A plain HTML post has no nonce: its key is a
//!   digest of what was posted (address, subject, message, page) and the hour, so a double click is one ticket
//!   (a click on each side of the hour makes two, which the store's duplicate rule then merges), while the same
//!   words sent another day are a new message rather than a repeat of an old, perhaps closed, ticket. Two posts
//!   with one key at the same instant can still make two tickets: Spin's key-value has no compare-and-swap
//!   (see the store's race notes).
//! - Required: email and message. Name and subject are optional (a missing subject becomes "(no subject)"). The
//!   page URL is the embed's `location.href`; when only the referrer is known it stands in as the page.
//! - Errors name the *form's* field (`email`, not `customer.email`) so the page can point at it.

use std::time::SystemTime;

use sha2::{Digest, Sha256};

use crate::form::FormSubmission;
use crate::keep::{Kept, keep};
use crate::lane_error::LaneError;
use crate::normalise::{Limits, NormaliseError, TicketDraft};
use crate::sqs_client::SqsClient;
use crate::store::{Intake, Kv, Store};
use crate::ticket::{Source, ThreadIds};
use crate::transport::{Runtime, Transport};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormLaneConfig {
    pub ticket_queue_url: String,
    /// Optional: an append (a form merged into the same customer's open ticket) is announced here for the router.
    pub append_queue_url: Option<String>,
    pub limits: Limits,
}

pub type FormOutcome = Kept;

#[derive(Debug, thiserror::Error)]
pub enum FormLaneError {
    /// A field is missing or refused; `field` is the form's name for it.
    #[error("{message}")]
    Field { field: &'static str, message: String },
    #[error(transparent)]
    Lane(#[from] LaneError),
}

pub struct FormLane<'a, T, R, K> {
    pub sqs: &'a SqsClient<T, R>,
    pub store: &'a Store<K>,
    pub runtime: &'a R,
    pub config: &'a FormLaneConfig,
}

impl<T: Transport, R: Runtime, K: Kv> FormLane<'_, T, R, K> {
    pub async fn handle(&self, form: &FormSubmission) -> Result<FormOutcome, FormLaneError> {
        let now = self.runtime.now();
        let ticket = draft(form, now)?
            .into_ticket(now, self.runtime.random_u128(), &self.config.limits)
            .map_err(field_error)?;
        let config = self.config;
        Ok(keep(self.store, self.sqs, &config.ticket_queue_url, config.append_queue_url.as_deref(), Intake::new(ticket)).await?)
    }
}

/// The ticket draft for a submission: required fields checked, the idempotency key chosen. Without a nonce (a
/// plain HTML form) the key is the content and the hour it came in: a double click is one ticket (unless it
/// straddles the hour), and the same words sent again another day are a new message, not a repeat of an old,
/// perhaps closed, ticket.
pub fn draft(form: &FormSubmission, now: SystemTime) -> Result<TicketDraft, FormLaneError> {
    let missing = |field: &'static str| FormLaneError::Field { field, message: format!("{field} is required") };
    let email = form.email.clone().ok_or_else(|| missing("email"))?;
    let message = form.message.clone().ok_or_else(|| missing("message"))?;
    let idempotency_key = match &form.nonce {
        Some(nonce) => format!("form:{nonce}"),
        None => {
            let hour = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs() / 3600);
            format!("form:content:{}:{hour}", content_digest(form))
        }
    };
    Ok(TicketDraft {
        source: Source::Form,
        customer_email: Some(email),
        customer_name: form.name.clone(),
        subject: form.subject.clone().unwrap_or_default(),
        body: message,
        page_url: form.page_url.clone().or_else(|| form.referrer.clone()),
        thread: ThreadIds::default(),
        transcript_id: None,
        idempotency_key,
    })
}

fn content_digest(form: &FormSubmission) -> String {
    let mut hash = Sha256::new();
    for part in [&form.email, &form.subject, &form.message, &form.page_url] {
        // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
        let part = part.as_deref().unwrap_or("");
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hex::encode(&hash.finalize()[..16])
}

/// A normalisation refusal, renamed to the form field it came from.
fn field_error(e: NormaliseError) -> FormLaneError {
    let field = match e.field() {
        "customer.email" => "email",
        "customer.name" => "name",
        "body" => "message",
        "idempotency_key" => "nonce",
        other => other,
    };
    let message = match &e {
        NormaliseError::Invalid { reason, .. } => format!("{field} {reason}"),
        NormaliseError::Missing { .. } => format!("{field} is required"),
        NormaliseError::TooLong { limit, .. } => format!("{field} is longer than {limit} characters"),
    };
    FormLaneError::Field { field, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> FormSubmission {
        FormSubmission {
            email: Some("Dana@Example.com".into()),
            message: Some("The export button does nothing.".into()),
            referrer: Some("https://example.com/blog".into()),
            ..Default::default()
        }
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_795_680_000 + secs)
    }

    #[test]
    fn the_key_is_the_nonce_or_else_the_content_and_its_hour() {
        let with_nonce = FormSubmission { nonce: Some("n-1".into()), ..form() };
        assert_eq!(draft(&with_nonce, at(0)).unwrap().idempotency_key, "form:n-1");
        let a = draft(&form(), at(0)).unwrap().idempotency_key;
        assert_eq!(a, draft(&form(), at(5)).unwrap().idempotency_key, "a double click");
        let other = FormSubmission { message: Some("Another problem".into()), ..form() };
        assert_ne!(a, draft(&other, at(0)).unwrap().idempotency_key);
        assert_ne!(a, draft(&form(), at(86_400)).unwrap().idempotency_key, "the same words a day later");
        assert!(a.starts_with("form:content:"));
    }

    #[test]
    fn the_referrer_stands_in_for_a_missing_page() {
        assert_eq!(draft(&form(), at(0)).unwrap().page_url.as_deref(), Some("https://example.com/blog"));
        let with_page = FormSubmission { page_url: Some("https://example.com/pricing".into()), ..form() };
        assert_eq!(draft(&with_page, at(0)).unwrap().page_url.as_deref(), Some("https://example.com/pricing"));
    }

    #[test]
    fn refusals_name_the_form_field() {
        let no_email = FormSubmission { email: None, ..form() };
        assert!(matches!(draft(&no_email, at(0)), Err(FormLaneError::Field { field: "email", .. })));
        let no_message = FormSubmission { message: None, ..form() };
        assert!(matches!(draft(&no_message, at(0)), Err(FormLaneError::Field { field: "message", .. })));
        let bad = FormSubmission { email: Some("not-an-address".into()), ..form() };
        let e = draft(&bad, at(0)).unwrap().into_ticket(std::time::SystemTime::now(), 1, &Limits::default()).map_err(field_error);
        match e {
            Err(FormLaneError::Field { field, message }) => {
                assert_eq!(field, "email");
                assert!(message.starts_with("email is not an email address"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}
