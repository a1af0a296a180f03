//! `tr-embedded-aws serve --dir DIR [--port PORT] [--bind IP] [--account ID] [--region R] [LIMITS]`: the embedded
//! endpoint as a process (used by the crash and hold tests and for manual runs). LIMITS are the
//! [`tr_embedded_aws::Limits`] knobs, each defaulting as documented there. The access key comes from the environment
//! (`TR_EMBEDDED_ACCESS_KEY_ID`, `TR_EMBEDDED_SECRET_ACCESS_KEY`) so the secret never shows in `ps`.
//! Prints `listening on http://ADDR` once ready.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use tr_embedded_aws::{Config, EmbeddedAws, Limits, LocalCredentials};

const USAGE: &str = "usage: tr-embedded-aws serve --dir DIR [--port PORT] [--bind IP] [--account ID] [--region R]\n\
                     limits: [--max-body BYTES] [--header-timeout SECS] [--idle-timeout SECS] [--max-connections N]\n\
                     \x20       [--overflow-connections N] [--drain-bytes BYTES] [--drain-time SECS] [--accept-backoff-max SECS]\n\
                     env: TR_EMBEDDED_ACCESS_KEY_ID, TR_EMBEDDED_SECRET_ACCESS_KEY";

/// Seconds, fractions allowed (`0.5`), as a duration.
fn seconds(value: &str) -> Option<Duration> {
    value
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("serve") {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let mut dir = None;
    let (mut port, mut ip): (u16, IpAddr) = (0, [127, 0, 0, 1].into());
    let (mut account, mut region) = (None, None);
    let mut limits = Limits::default();
    let mut it = args[1..].iter();
    while let Some(flag) = it.next() {
        let Some(value) = it.next() else {
            eprintln!("{flag} needs a value\n{USAGE}");
            return ExitCode::from(2);
        };
        let ok = match flag.as_str() {
            "--dir" => {
                dir = Some(value.clone());
                true
            }
            "--port" => value.parse().map(|p| port = p).is_ok(),
            "--bind" => value.parse().map(|i| ip = i).is_ok(),
            "--account" => {
                account = Some(value.clone());
                true
            }
            "--region" => {
                region = Some(value.clone());
                true
            }
            "--max-body" => value.parse().map(|n| limits.max_body_bytes = n).is_ok(),
            "--header-timeout" => seconds(value)
                .map(|d| limits.header_read_timeout = d)
                .is_some(),
            "--idle-timeout" => seconds(value).map(|d| limits.idle_timeout = d).is_some(),
            "--max-connections" => value.parse().map(|n| limits.max_connections = n).is_ok(),
            "--overflow-connections" => value
                .parse()
                .map(|n| limits.overflow_connections = n)
                .is_ok(),
            "--drain-bytes" => value.parse().map(|n| limits.drain_bytes = n).is_ok(),
            "--drain-time" => seconds(value).map(|d| limits.drain_time = d).is_some(),
            "--accept-backoff-max" => seconds(value)
                .map(|d| limits.accept_backoff_max = d)
                .is_some(),
            _ => false,
        };
        if !ok {
            eprintln!("bad argument {flag} {value}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let (Some(dir), Ok(key), Ok(secret)) = (
        dir,
        std::env::var("TR_EMBEDDED_ACCESS_KEY_ID"),
        std::env::var("TR_EMBEDDED_SECRET_ACCESS_KEY"),
    ) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let mut config = Config::new(dir, LocalCredentials::new(key, secret))
        .with_bind(SocketAddr::new(ip, port))
        .with_limits(limits);
    if let Some(a) = account {
        config = config.with_account(a);
    }
    if let Some(r) = region {
        config = config.with_region(r);
    }
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    runtime.block_on(async move {
        match EmbeddedAws::start(config).await {
            Ok(server) => {
                println!("listening on {}", server.endpoint());
                let _ = tokio::signal::ctrl_c().await;
                server.shutdown().await;
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("tr-embedded-aws: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
