//! `tr-intake`: the local host's command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tr_host::app::{App, Options, manifest_path};

#[derive(Parser)]
#[command(name = "tr-intake", about = "Run tr-intake's spin.toml on one machine, like `spin up`.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every [[trigger.http]] route and poll every [[trigger.sqs]] queue.
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
    },
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
        Command::Up { manifest, listen, variables, http_timeout } => {
            let options = Options {
                manifest: manifest_path(&manifest),
                variables,
                http_timeout: Duration::from_secs(http_timeout),
                sqs_cpu_limit: Duration::from_secs(600),
            };
            let app = App::load(&options)?;
            let listener = tokio::net::TcpListener::bind(listen).await?;
            let local = listener.local_addr()?;
            println!("tr-intake: serving {} from {}", app.manifest.manifest.application.name, options.manifest.display());
            println!("tr-intake: listening on http://{local}");
            for route in app.http.router.routes() {
                let wildcard = if route.wildcard { " (wildcard)" } else { "" };
                println!("  {}: http://{local}{}{wildcard}", route.component, route.base);
            }
            if !app.sqs_triggers.is_empty() {
                let client = tr_host::sqs_trigger::client_from_env().await;
                for trigger in &app.sqs_triggers {
                    println!("  {}: SQS queue {}", trigger.component, trigger.queue_url);
                    tokio::spawn(tr_host::sqs_trigger::run(client.clone(), trigger.clone(), app.sqs.clone()));
                }
            }
            let http = app.http.clone();
            tokio::select! {
                r = http.serve(listener) => r,
                _ = tokio::signal::ctrl_c() => { println!("tr-intake: stopping"); Ok(()) }
            }
        }
    }
}
