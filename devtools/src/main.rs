//! `tr-intake`: the local host's command line (the tools are in this crate's library, the runtime in tr-host).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tr_devtools::local_aws::{self, LocalAws, LocalAwsState};
use tr_core::reader::RulesSheet;
use tr_core::reader::eval::{self as eval_core, LabelFormat, Thresholds, parse_fraction};
use tr_core::reader::lane::Reader;
use tr_core::reader::model_client::DEFAULT_BEDROCK_MODEL;
use tr_core::store::{KvError, MemoryKv, TicketStatus};
use tr_core::{Vars, Wiring};
use tr_devtools::eval::{MODEL_TIMEOUT, Progress, SystemRuntime};
use tr_tests::native::UreqTransport;
use tr_devtools::{eval, inspect, mail_drop, show, startup};
use tr_host::app::{App, Options, manifest_path};
use tr_host::http_trigger::InstanceReuse;

#[derive(Parser)]
#[command(name = "tr-intake", about = "Run tr-intake's spin.toml on one machine, like `spin up`.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every [[trigger.http]] route and poll every [[trigger.sqs]] queue. With nothing configured, also
    /// run the embedded SQS/S3 endpoint and wire the application to it (the embedded default).
    Up {
        /// spin.toml, or the folder holding it.
        #[arg(short = 'f', long = "from", default_value = "spin.toml")]
        manifest: PathBuf,
        #[arg(long, default_value = "127.0.0.1:3000")]
        listen: SocketAddr,
        /// name=value, overrides SPIN_VARIABLE_<NAME> and the manifest default (repeatable).
        #[arg(long = "variable")]
        variables: Vec<String>,
        /// Per-request limit for HTTP components, in seconds.
        #[arg(long, default_value_t = 30)]
        http_timeout: u64,
        /// HTTP connections served at once (64 more are answered 503; past that, accepting waits).
        #[arg(long, default_value_t = tr_host::http_trigger::ConnectionLimits::default().max_connections)]
        max_connections: usize,
        /// Each guest instance's memory limit, in MiB; a guest that needs more traps (that call fails).
        #[arg(long, default_value_t = tr_host::runtime::DEFAULT_GUEST_MEMORY / (1024 * 1024))]
        guest_memory_mib: usize,
        /// Requests one HTTP component instance serves before it is dropped, as Spin's flag of the same name
        /// (its default for WASIp3 components); 1 gives every request a fresh instance.
        #[arg(long, default_value_t = InstanceReuse::default().max_requests, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
        max_instance_reuse_count: usize,
        /// Requests one HTTP component instance serves at once (Spin's flag and default).
        #[arg(long, default_value_t = InstanceReuse::default().max_concurrent, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
        max_instance_concurrent_reuse_count: usize,
        /// How long an idle HTTP component instance is kept for the next request, as Spin's flag: seconds, or a
        /// number with `s`, `ms`, `us` or `ns`.
        #[arg(long, default_value = "1s", value_parser = parse_duration)]
        idle_instance_timeout: Duration,
        /// The embedded SQS/S3 endpoint: `auto` runs it for an application with queues ([[trigger.sqs]] or a
        /// `ticket_queue_url` variable) unless AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL,
        /// SPIN_VARIABLE_SQS_ENDPOINT or SPIN_VARIABLE_TICKET_QUEUE_URL points elsewhere.
        #[arg(long, value_enum, default_value_t = Embedded::Auto)]
        embedded: Embedded,
        /// Where the embedded endpoint listens.
        #[arg(long, default_value = "127.0.0.1:4566")]
        aws_listen: SocketAddr,
        /// Delete the state folder (.spin/ beside spin.toml: tickets, queues, mail) before starting.
        #[arg(long)]
        reset: bool,
    },
    /// Raw mail into the embedded raw-mail bucket, as SES inbound writes it.
    Mail {
        #[command(subcommand)]
        command: MailCommand,
    },
    /// List the stored tickets, or show one in full: every message with its lane, time, how it joined,
    /// its sender's verification and its text.
    Tickets {
        /// A ticket id (a 26-character ULID, as `tickets` lists them), or the Message-ID of any email on the
        /// ticket, with or without its angle brackets (anything that is not a ticket id is taken as one; a
        /// Message-ID no stored email has exits non-zero).
        #[arg(value_name = "ID|MESSAGE-ID")]
        id: Option<String>,
        /// With ID: the stored record as JSON, each message whole (text, raw body, merge, verification).
        #[arg(long, requires = "id")]
        json: bool,
        #[arg(short = 'f', long = "from", default_value = "spin.toml")]
        manifest: PathBuf,
    },
    /// Queue depths (visible, in flight), dead-letter queues included.
    Queues {
        #[arg(short = 'f', long = "from", default_value = "spin.toml")]
        manifest: PathBuf,
    },
    /// Move dead-lettered messages back to their queue.
    Replay {
        /// The dead-letter queue, e.g. tr-tickets-dlq (a queue some RedrivePolicy names; others are refused).
        dlq: String,
        /// The queue to move them to (default: the queue whose RedrivePolicy dead-letters into DLQ).
        #[arg(long)]
        to: Option<String>,
        #[arg(short = 'f', long = "from", default_value = "spin.toml")]
        manifest: PathBuf,
    },
    /// Send the router's status command for a ticket to the ticket queue: the read component applies it and
    /// acknowledges it on the read queue (solved: a reply within 7 days reopens the ticket; closed: a reply
    /// starts a follow-up ticket; neither takes a duplicate).
    Status {
        /// The ticket id.
        id: String,
        #[arg(value_enum)]
        status: StatusArg,
        /// The command's id (default: a new ULID); the same id again is the same command.
        #[arg(long)]
        command_id: Option<String>,
        #[arg(short = 'f', long = "from", default_value = "spin.toml")]
        manifest: PathBuf,
    },
    /// Measure the reader against labelled tickets: the rules sheet's examples (leave-one-out) and, optionally,
    /// a file of your own. Prints per-field agreement, a topic confusion table, the unsure rate, tokens and $ per
    /// 1,000 tickets; exits non-zero below a --min-* threshold.
    Eval {
        #[arg(long, default_value = "rules/rules.toml")]
        rules: PathBuf,
        /// Labelled tickets, .csv (header: text,topic,urgency,tone) or .jsonl (one object per line, same fields).
        #[arg(long)]
        file: Option<PathBuf>,
        /// offline (the default here), bedrock, anthropic or openai; settings are the read component's
        /// variables (SPIN_VARIABLE_<NAME> or --variable).
        #[arg(long)]
        reader: Option<String>,
        /// name=value, overrides SPIN_VARIABLE_<NAME> (repeatable).
        #[arg(long = "variable")]
        variables: Vec<String>,
        /// Minimum topic agreement, a fraction (0.8) or percent (80%), on every set read.
        #[arg(long, value_parser = parse_fraction)]
        min_topic: Option<f64>,
        #[arg(long, value_parser = parse_fraction)]
        min_urgency: Option<f64>,
        #[arg(long, value_parser = parse_fraction)]
        min_tone: Option<f64>,
    },
}

#[derive(Subcommand)]
enum MailCommand {
    /// PutObject each file into the raw-mail bucket; its notification reaches the email component.
    Send {
        files: Vec<PathBuf>,
        #[arg(short = 'f', long = "from", default_value = "spin.toml")]
        manifest: PathBuf,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum StatusArg {
    Solved,
    Closed,
    Open,
}

impl From<StatusArg> for TicketStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Solved => TicketStatus::Solved,
            StatusArg::Closed => TicketStatus::Closed,
            StatusArg::Open => TicketStatus::Open,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Embedded {
    Auto,
    On,
    Off,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // Start-up errors are the user's to fix (a missing variable, a bad manifest): print the chain, no backtrace.
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Up {
            manifest: manifest_arg,
            listen,
            variables,
            http_timeout,
            max_connections,
            guest_memory_mib,
            max_instance_reuse_count,
            max_instance_concurrent_reuse_count,
            idle_instance_timeout,
            embedded,
            aws_listen,
            reset,
        } => {
            let manifest = manifest_path(&manifest_arg);
            let state_dir = local_aws::state_dir(&manifest);
            if reset && state_dir.exists() {
                std::fs::remove_dir_all(&state_dir)?;
                println!("tr-intake: --reset: removed {}", state_dir.display());
            }
            let use_embedded = match embedded {
                Embedded::On => true,
                Embedded::Off => false,
                Embedded::Auto => {
                    let loaded = tr_host::manifest::LoadedManifest::load(&manifest)?;
                    let needs_aws = !loaded.manifest.trigger.sqs.is_empty()
                        || loaded.manifest.variables.contains_key("ticket_queue_url");
                    needs_aws && local_aws::wanted(|k| std::env::var(k).ok())
                }
            };
            let local = if use_embedded {
                std::fs::create_dir_all(&state_dir)?;
                Some(LocalAws::start(&state_dir, aws_listen).await?)
            } else {
                None
            };
            let options = Options {
                manifest: manifest.clone(),
                variables,
                variable_defaults: local.as_ref().map(LocalAws::variable_defaults).unwrap_or_default(),
                queue_urls: local.as_ref().map(|l| l.state.queues.clone()).unwrap_or_default(),
                http_timeout: Duration::from_secs(http_timeout),
                sqs_cpu_limit: Duration::from_secs(600),
                guest_memory: guest_memory_mib * 1024 * 1024,
                connection_limits: tr_host::http_trigger::ConnectionLimits { max_connections, ..Default::default() },
                instance_reuse: InstanceReuse {
                    max_requests: max_instance_reuse_count,
                    max_concurrent: max_instance_concurrent_reuse_count,
                    idle_timeout: idle_instance_timeout,
                },
            };
            let app = App::load(&options)?;
            let listener = tokio::net::TcpListener::bind(listen).await?;
            let local_addr = listener.local_addr()?;
            println!("tr-intake: serving {} from {}", app.manifest.manifest.application.name, options.manifest.display());
            println!("tr-intake: listening on http://{local_addr}");
            for line in startup::route_lines(app.http.router.routes(), &format!("http://{local_addr}")) {
                println!("{line}");
            }
            if let Some(local) = &local {
                print_embedded(local, &state_dir, &manifest_arg);
                let drop = state_dir.join("mail-drop");
                println!("  mail drop: put .eml files in {} (sent ones move to sent/)", drop.display());
                tokio::spawn(mail_drop::watch(local.state.clone(), drop));
            }
            if !app.sqs_triggers.is_empty() {
                let client = match &local {
                    Some(local) => aws_sdk_sqs::Client::new(&local.state.sdk_config().await),
                    None => tr_host::sqs_trigger::client_from_env().await,
                };
                for trigger in &app.sqs_triggers {
                    println!("  {}: SQS queue {}", trigger.component, trigger.queue_url);
                    tokio::spawn(tr_host::sqs_trigger::run(client.clone(), trigger.clone(), app.sqs.clone()));
                }
            }
            for warning in startup::lane_warnings(&app.manifest.manifest, &app.variables) {
                eprintln!("{warning}");
            }
            let http = app.http.clone();
            tokio::select! {
                r = http.serve(listener) => Ok(r?),
                _ = tokio::signal::ctrl_c() => { println!("tr-intake: stopping"); Ok(()) }
            }
        }
        Command::Mail { command: MailCommand::Send { files, manifest } } => {
            anyhow::ensure!(!files.is_empty(), "name at least one .eml file");
            let state = LocalAwsState::load(&manifest_path(&manifest))?;
            for (file, key) in files.iter().zip(mail_drop::send(&state, &files).await?) {
                println!("{} -> s3://{}/{key}", file.display(), state.bucket);
            }
            Ok(())
        }
        Command::Tickets { id: Some(id), json, manifest } => {
            let found = show::find(&manifest_path(&manifest), &id)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&show::json(&found)?)?);
            } else {
                print!("{}", show::render(&found));
            }
            Ok(())
        }
        Command::Tickets { id: None, manifest, .. } => {
            let records = inspect::tickets(&manifest_path(&manifest))?;
            for record in &records {
                println!("{}", inspect::ticket_line(record));
            }
            println!("{} tickets", records.len());
            Ok(())
        }
        Command::Queues { manifest } => {
            let state = LocalAwsState::load(&manifest_path(&manifest))?;
            println!("{:<24} {:>8} {:>10}", "queue", "visible", "in flight");
            for (name, visible, in_flight) in inspect::queue_depths(&state).await? {
                println!("{name:<24} {visible:>8} {in_flight:>10}");
            }
            Ok(())
        }
        Command::Replay { dlq, to, manifest } => {
            let state = LocalAwsState::load(&manifest_path(&manifest))?;
            let source = inspect::replay_target(&state, &dlq, to.as_deref()).await?;
            let moved = inspect::replay(&state, &dlq, &source).await?;
            println!("moved {moved} messages from {dlq} to {source}");
            Ok(())
        }
        Command::Status { id, status, command_id, manifest } => {
            let command = tr_devtools::status::command(&id, status.into(), command_id.as_deref())?;
            let state = LocalAwsState::load(&manifest_path(&manifest))?;
            let message_id = tr_devtools::status::send(&state, &command).await?;
            println!(
                "sent {} for ticket {} (command {}, message {message_id}); the read component acknowledges it on {}",
                command.status.as_str(),
                command.ticket_id,
                command.command_id,
                local_aws::READ_QUEUE
            );
            Ok(())
        }
        Command::Eval { rules, file, reader, variables, min_topic, min_urgency, min_tone } => {
            let thresholds = Thresholds { topic: min_topic, urgency: min_urgency, tone: min_tone };
            run_eval(&rules, file.as_deref(), reader.as_deref(), &variables, &thresholds).await
        }
    }
}

async fn run_eval(
    rules: &std::path::Path,
    file: Option<&std::path::Path>,
    reader: Option<&str>,
    flags: &[String],
    thresholds: &Thresholds,
) -> anyhow::Result<()> {
    let rules_name = rules.display().to_string();
    let source = std::fs::read_to_string(rules).with_context(|| format!("reading {rules_name}"))?;
    let sheet = RulesSheet::parse(&source, &rules_name)?;
    // Read before any model call: a malformed row should cost nothing.
    let labelled = match file {
        Some(path) => {
            let name = path.display().to_string();
            let format = LabelFormat::from_path(&name).with_context(|| format!("{name}: name a .csv or .jsonl file"))?;
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {name}"))?;
            Some((eval_core::parse_labelled(&text, &name, format, &sheet)?, name))
        }
        None => None,
    };

    let vars = eval::variables(std::env::vars(), flags, reader)?;
    let kv: Result<MemoryKv, KvError> = Err(KvError::Other("eval stores nothing".into()));
    let wiring = Wiring::from_vars(&vars, UreqTransport::with_timeout(MODEL_TIMEOUT), SystemRuntime, kv).await;
    let reader = Reader::from_vars(&vars, &wiring).await.map_err(|e| anyhow::anyhow!("reader: {e}"))?;
    let which = vars.optional("reader").await.unwrap_or_default();
    let model = match which.as_str() {
        "bedrock" => Some(vars.optional("model_id").await.unwrap_or_else(|| DEFAULT_BEDROCK_MODEL.to_owned())),
        "anthropic" => Some(vars.optional("model_id").await.unwrap_or_else(|| "claude-haiku-4-5".to_owned())),
        "openai" => vars.optional("openai_model").await,
        _ => None,
    };
    let price = model.as_deref().and_then(eval_core::list_price);

    println!("# tr-intake eval: reader {which}{}, rules {rules_name}\n", model.map(|m| format!(" ({m})")).unwrap_or_default());
    let mut sets = vec![(format!("{rules_name} examples, leave-one-out"), sheet.examples.clone(), true)];
    if let Some((rows, name)) = labelled {
        sets.push((name, rows, false));
    }
    let mut failures = Vec::new();
    for (set, examples, leave_one_out) in &sets {
        let mut progress = Progress::new(set);
        let tally =
            eval_core::evaluate(&reader, &sheet, set, examples, *leave_one_out, &mut |d, t| progress.update(d, t)).await?;
        println!("{}", eval_core::render(&tally, &sheet, price.as_ref()));
        failures.extend(tally.below(thresholds));
    }
    if failures.is_empty() {
        return Ok(());
    }
    for failure in &failures {
        eprintln!("{failure}");
    }
    anyhow::bail!("{} threshold(s) not met", failures.len())
}

/// A duration as Spin's HTTP flags take one: a bare number of seconds, or a number with `s`, `ms`, `us` or `ns`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text:?}: expected a number of seconds, or a number with s, ms, us or ns");
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad())?;
    Ok(match unit {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "us" | "μs" => Duration::from_micros(n),
        "ns" => Duration::from_nanos(n),
        _ => return Err(bad()),
    })
}

fn print_embedded(local: &LocalAws, state_dir: &std::path::Path, manifest_arg: &std::path::Path) {
    let s = &local.state;
    println!("tr-intake: embedded SQS/S3 endpoint {} (access key {}, region {})", s.endpoint, s.access_key_id, s.region);
    println!("  bucket s3://{} -> notifies {}", s.bucket, local_aws::RAW_MAIL_QUEUE);
    let width = s.queues.keys().map(String::len).max().unwrap_or(0);
    let queues: BTreeMap<_, _> = s.queues.iter().collect();
    for (name, url) in queues {
        println!("  queue {name:<width$} {url}");
    }
    println!("  state: {} (`up --reset` starts clean); reader: offline unless SPIN_VARIABLE_READER is set", state_dir.display());
    // The binary as it runs now: `tr-intake` is seldom on PATH (`cargo run` leaves it in the target folder).
    let exe = std::env::current_exe().unwrap_or_else(|_| "tr-intake".into());
    for line in startup::try_lines(&exe, manifest_arg) {
        println!("{line}");
    }
}
