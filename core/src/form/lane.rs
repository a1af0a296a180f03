//! The form lane end to end, minus the trigger: a submission through its guards, in order, then ticket → store →
//! ticket queue.
//!
//! Role: everything a post does after the origin check ([`accept`]), and the lane itself ([`FormLane`]). Key
//! decisions:
//! - The guards run cheapest-and-most-telling first: content type (415), declared then actual size (413), the
//!   per-address rate limit (429, `Retry-After`), decoding (400), site key (401), the bot checks (a
//!   normal-looking 202, nothing made), then the lane (422 naming the field; 503 with `Retry-After` when the store
//!   or queue is down — a retry with the same nonce completes the same ticket). A refused request costs at most
//!   two key-value operations and never reaches the store. A nonce already used for a different message
//!   (other address, subject or text) is 409 `nonce_reused` with nothing kept: the embed draws a new nonce and
//!   sends once more.
//! - The idempotency key is `form:` + the embed's nonce, so a retry of the same submission (the embed retries
//!   network errors and 5xx with the same nonce) is the same ticket. A plain HTML post has no nonce: its key is a
//!   digest of what was posted (address, subject, message, page) and the hour, so a double click is one ticket
//!   (a click on each side of the hour makes two, which the store's duplicate rule then merges), while the same
//!   words sent another day are a new message rather than a repeat of an old, perhaps closed, ticket. Two posts
//!   with one key at the same instant can still make two tickets: Spin's key-value has no compare-and-swap
//!   (see the store's race notes).
//! - The address is whatever the visitor typed: every form ticket (and form message appended to a ticket) is
//!   flagged `unverified`, so an agent sees which words came from whom.
//! - Required: email and message. Name and subject are optional (a missing subject becomes "(no subject)"). The
//!   page URL is the embed's `location.href`; when only the referrer is known it stands in as the page.
//! - Errors name the *form's* field (`email`, not `customer.email`) so the page can point at it.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::credentials::Secret;
use crate::dependency_answer::{lane_failure, not_configured, store_unavailable};
use crate::form::rate_limit::RateDecision;
use crate::form::{
    AllowedOrigins, BotVerdict, Encoding, FormSubmission, RateLimit, RateLimiter, TrustedProxies, bot_verdict,
    check_site_key, client_address, decode,
};
use crate::http_answer::{ApiError, check_size};
use crate::lane_error::LaneError;
use crate::normalise::{Limits, NormaliseError, TicketDraft};
use crate::request_body::read_body;
use crate::sqs_client::SqsClient;
use crate::store::keep::{Kept, keep};
use crate::store::{Intake, KeyReuse, Kv, Store};
use crate::ticket::{Source, ThreadIds, TicketFlag};
use crate::transport::{Runtime, Transport};
use crate::vars::Vars;
use crate::wiring::{IntakeQueues, Wiring, intake_queues};

/// A support message is a few KB; 64 KB leaves room for a long one and nothing for abuse.
pub const MAX_BODY: usize = 64 * 1024;
pub const RETRY_AFTER_SECONDS: u32 = 15;
const DEFAULT_MIN_FILL: Duration = Duration::from_secs(3);

/// The form's own variables, read once per request. Each keeps its error until the guard that needs it, so a
/// misconfiguration is answered where that guard stands in the order.
pub struct FormSettings {
    /// `form_allowed_origins`: unset is an empty list (every origin refused).
    pub origins: Result<AllowedOrigins, ApiError>,
    /// `form_site_key` (secret).
    pub site_key: Option<Secret>,
    /// `form_min_fill_seconds` (default 3).
    pub min_fill: Result<Duration, ApiError>,
    /// `form_rate_limit` (default [`RateLimit::default`]).
    pub rate_limit: Result<RateLimit, ApiError>,
    /// `form_trusted_proxies` (default none).
    pub trusted_proxies: Result<TrustedProxies, ApiError>,
    pub queues: IntakeQueues,
}

impl FormSettings {
    pub async fn from_vars(vars: &impl Vars) -> Self {
        let origins = AllowedOrigins::parse(&vars.optional("form_allowed_origins").await.unwrap_or_default())
            .map_err(|why| not_configured(format!("form_allowed_origins: {why}")));
        let min_fill = match vars.optional("form_min_fill_seconds").await {
            Some(s) => s.parse().map(Duration::from_secs).map_err(|_| not_configured("form_min_fill_seconds is not a whole number")),
            None => Ok(DEFAULT_MIN_FILL),
        };
        let rate_limit = match vars.optional("form_rate_limit").await {
            Some(s) => RateLimit::parse(&s).map_err(|why| not_configured(format!("form_rate_limit: {why}"))),
            None => Ok(RateLimit::default()),
        };
        let trusted_proxies = match vars.optional("form_trusted_proxies").await {
            Some(s) => TrustedProxies::parse(&s).map_err(|why| not_configured(format!("form_trusted_proxies: {why}"))),
            None => Ok(TrustedProxies::default()),
        };
        let site_key = vars.optional("form_site_key").await.map(Secret::new);
        Self { origins, site_key, min_fill, rate_limit, trusted_proxies, queues: intake_queues(vars).await }
    }
}

/// What the request said about itself, read before its body is consumed.
#[derive(Debug, Clone, Default)]
pub struct Sent {
    /// The connection's peer (Spin's `spin-client-addr`).
    pub peer: Option<String>,
    /// Every `X-Forwarded-For` header, in order, as one list (a proxy may add its own header rather than append).
    pub forwarded_for: Option<String>,
    pub content_type: Option<String>,
    pub declared: Option<usize>,
    pub referer: Option<String>,
}

/// A post that passed every guard.
#[derive(Debug)]
pub enum Accepted {
    Ticket { kept: Kept, page: Option<String> },
    /// Caught by a bot check: answered like a person, nothing made.
    Bot(BotVerdict),
}

/// One post from an allowed origin, through the guards in order, into the lane.
pub async fn accept<T, R, K, B>(
    settings: &FormSettings,
    mut wiring: Wiring<T, R, K>,
    sent: &Sent,
    body: B,
) -> Result<Accepted, ApiError>
where
    T: Transport + Clone,
    R: Runtime + Clone,
    K: Kv,
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + std::fmt::Debug + Send + Sync + 'static,
{
    let content_type = sent.content_type.as_deref();
    let encoding = Encoding::from_content_type(content_type).ok_or_else(|| {
        let got = content_type.map(|c| format!("`{c}`")).unwrap_or_else(|| "no content type".into());
        ApiError::new(415, "unsupported_media_type", format!("{got}; send application/x-www-form-urlencoded or application/json"))
    })?;
    if let Some(declared) = sent.declared {
        check_size(declared, MAX_BODY)?;
    }
    let runtime = wiring.runtime.clone();
    let store = wiring.store().map_err(|e| store_unavailable(&runtime, "form", &e, RETRY_AFTER_SECONDS))?;
    rate_limit(settings, store.kv(), sent, &runtime).await?;

    let body = read_body(body, MAX_BODY).await?;
    let mut form = decode(encoding, &body).map_err(|e| {
        let error = ApiError::bad_request(e.message);
        match e.field {
            Some(field) => error.at(field),
            None => error,
        }
    })?;
    // A plain HTML form knows nothing of its page; the browser's Referer (the page, or under the default policy
    // its origin) is the best there is.
    if form.page_url.is_none() && form.referrer.is_none() {
        form.page_url = sent.referer.clone();
    }
    let site_key = settings.site_key.as_ref().ok_or_else(|| not_configured("variable `form_site_key` is not set"))?;
    check_site_key(form.site_key.as_deref(), site_key)?;
    match bot_verdict(&form, settings.min_fill.clone()?) {
        BotVerdict::Person => {}
        verdict => return Ok(Accepted::Bot(verdict)),
    }

    let config = FormLaneConfig {
        ticket_queue_url: settings.queues.ticket_queue_url.clone()?,
        append_queue_url: settings.queues.append_queue_url.clone(),
        limits: Limits::default(),
    };
    let sqs = wiring.sqs()?;
    let lane = FormLane { sqs: &sqs, store: &store, runtime: &runtime, config: &config };
    let kept = lane.handle(&form).await.map_err(|e| match e {
        FormLaneError::Field { field, message } => ApiError::unprocessable(message).at(field),
        FormLaneError::Lane(LaneError::Conflict(_)) => ApiError::new(
            409,
            "nonce_reused",
            "this nonce was already used for a different message; nothing was kept; send it again with a new nonce",
        )
        .at("nonce"),
        FormLaneError::Lane(e) => lane_failure(&runtime, "form", e, RETRY_AFTER_SECONDS),
    })?;
    Ok(Accepted::Ticket { kept, page: form.page_url.clone().or(form.referrer.clone()) })
}

/// 429 with `Retry-After` over the limit. A store that cannot count is not a reason to turn a customer away:
/// the post goes on (the store itself will answer 503 if it is really down).
async fn rate_limit<K: Kv>(settings: &FormSettings, kv: &K, sent: &Sent, runtime: &impl Runtime) -> Result<(), ApiError> {
    let limit = settings.rate_limit.clone()?;
    let trusted = settings.trusted_proxies.clone()?;
    let Some(peer) = sent.peer.as_deref() else { return Ok(()) };
    let Some(client) = client_address(peer, sent.forwarded_for.as_deref(), &trusted) else { return Ok(()) };
    match (RateLimiter { kv, limit }).hit(client, runtime.now()).await {
        Ok(RateDecision::Allowed) => Ok(()),
        Ok(RateDecision::Limited { retry_after }) => Err(ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(429, "rate_limited", format!("too many messages from this address; try again in {retry_after} s"))
        }),
        Err(e) => {
            runtime.log(&format!("[form] rate limit not counted ({e}); the post goes on"));
            Ok(())
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormLaneConfig {
    pub ticket_queue_url: String,
    /// Optional: appends (a form merged into the same customer's open ticket) go here instead of the ticket queue.
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
        let mut ticket = draft(form, now)?
            .into_ticket(now, self.runtime.random_u128(), &self.config.limits)
            .map_err(field_error)?;
        // The visitor typed the address: the words are theirs, the address is only what they say it is.
        ticket.flags.push(TicketFlag::Unverified);
        let config = self.config;
        let mut intake = Intake::new(ticket);
        if form.nonce.is_some() {
            // The embed draws a nonce per message: the same nonce with other words is a 409, never a repeat.
            intake.key_reuse = KeyReuse::Refuse;
        }
        Ok(keep(self.store, self.sqs, &config.ticket_queue_url, config.append_queue_url.as_deref(), intake).await?)
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
