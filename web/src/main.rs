//! `mubadile`: the Mübadilə server and its command line.

mod api;
mod auth;
mod cli;
mod delivery;
mod federation;
mod jobs;
mod observability;
mod pki;
mod plugins;
mod problem;
mod protocol;
mod server;
mod state;
mod tls;
mod ui;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MUBADILE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr);
    // Structured logs for collectors: one JSON object per line.
    if std::env::var("MUBADILE_LOG_FORMAT").is_ok_and(|f| f == "json") {
        logs.json().init();
    } else {
        logs.init();
    }
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
