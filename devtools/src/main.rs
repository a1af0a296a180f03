//! `tr-intake`: the local host's command line (the tools are in this crate's library, the runtime in tr-host).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tr_devtools::local_aws::{self, LocalAws, LocalAwsState};
use tr_devtools::{inspect, mail_drop, startup};
use tr_host::app::{App, Options, manifest_path};

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
    /// List the stored tickets, or show one in full.
    Tickets {
        /// A ticket id: print its whole record (messages, merges, reading) as JSON.
        id: Option<String>,
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
        Command::Up { manifest: manifest_arg, listen, variables, http_timeout, max_connections, guest_memory_mib, embedded, aws_listen, reset } => {
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
        Command::Tickets { id: Some(id), manifest } => {
            println!("{}", serde_json::to_string_pretty(&inspect::ticket(&manifest_path(&manifest), &id)?)?);
            Ok(())
        }
        Command::Tickets { id: None, manifest } => {
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
    }
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
