//! The email lane's component: a `spin:sqs@3.0.0` guest on the raw-mail event queue.
//!
//! Thin by design: decode the SQS message, build the core's clients from Spin variables, hand the body to
//! [`tr_core::email_lane`], encode its verdict as `delete` / `leave` / error. One log line per object (bucket, key,
//! outcome, ticket id); never a body, an address or a secret.
//!
//! Variables: `ticket_queue_url` (required), `append_queue_url`, `aws_region`, `aws_access_key_id`,
//! `aws_secret_access_key`, `aws_session_token`, `sqs_endpoint`, `s3_endpoint`, `s3_path_style`,
//! `max_mail_bytes` (default 40 MiB, SES's own limit).

spin_sdk::wit_bindgen::generate!({
    world: "spin:sqs/spin-sqs@3.0.0",
    path: "../../wit",
    runtime_path: "spin_sdk::wit_bindgen::rt",
});

use tr_core::email::DEFAULT_MAX_BYTES;
use tr_core::email_lane::{EmailLane, EmailLaneConfig, LaneVerdict, MailOutcome};
use tr_core::s3_client::{S3Client, S3Config};
use tr_core::store::{Store, StoreConfig};
use tr_core::{Limits, SqsClient, SqsConfig};
use tr_spin_glue::{
    GuestFailure, SpinKv, SpinRuntime, SpinTransport, VarError, Verdict, aws_credentials, optional, required, verdict,
};

struct EmailComponent;

impl Guest for EmailComponent {
    async fn handle_queue_message(message: Message) -> Result<MessageAction, Error> {
        let id = message.id.unwrap_or_default();
        let Some(body) = message.body else {
            return Err(Error::Other(format!("message {id} has no body; an S3 event was expected")));
        };
        let result = run(&body).await.map(|verdict| match verdict {
            LaneVerdict::TestEvent => println!("[email] message {id}: s3:TestEvent, nothing to do"),
            LaneVerdict::Done(objects) => {
                for (object, outcome) in objects {
                    println!("[email] s3://{}/{} -> {}", object.bucket, object.key, describe(&outcome));
                }
            }
        });
        match verdict("email", &id, result) {
            Verdict::Delete => Ok(MessageAction::Delete),
            Verdict::Leave => Ok(MessageAction::Leave),
            Verdict::Error(e) => Err(Error::Other(e)),
        }
    }
}

async fn run(body: &str) -> Result<LaneVerdict, GuestFailure> {
    let region = optional("aws_region").await.unwrap_or_else(|| "us-east-1".to_owned());
    let credentials = aws_credentials().await?;
    let max_bytes = match optional("max_mail_bytes").await {
        Some(v) => v.parse::<u64>().map_err(|e| VarError::Invalid { name: "max_mail_bytes".into(), why: e.to_string() })?,
        None => DEFAULT_MAX_BYTES as u64,
    };

    let mut s3 = S3Config::new(region.clone(), credentials.clone(), max_bytes);
    s3.endpoint = optional("s3_endpoint").await;
    s3.path_style = optional("s3_path_style").await.is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let mut sqs = SqsConfig::new(region, credentials);
    sqs.endpoint = optional("sqs_endpoint").await;
    let config = EmailLaneConfig {
        ticket_queue_url: required("ticket_queue_url").await?,
        append_queue_url: optional("append_queue_url").await,
        limits: Limits::default(),
    };

    let s3 = S3Client::new(s3, SpinTransport, SpinRuntime);
    let sqs = SqsClient::new(sqs, SpinTransport, SpinRuntime);
    let store = Store::new(SpinKv::open("default").await?, StoreConfig::default());
    let lane = EmailLane { s3: &s3, sqs: &sqs, store: &store, runtime: &SpinRuntime, config: &config };
    Ok(lane.handle_message(body).await?)
}

fn describe(outcome: &MailOutcome) -> String {
    match outcome {
        MailOutcome::Created { ticket_id } => format!("created {ticket_id}"),
        MailOutcome::Unparseable { ticket_id } => format!("created {ticket_id}, flagged unparseable"),
        MailOutcome::Appended { ticket_id } => format!("appended to {ticket_id}"),
        MailOutcome::Repeat { ticket_id } => format!("repeat of {ticket_id}"),
        MailOutcome::Suppressed { reason } => format!("suppressed ({reason})"),
        MailOutcome::Refused { reason } => format!("refused ({reason})"),
    }
}

export!(EmailComponent);
