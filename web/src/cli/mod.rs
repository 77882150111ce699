//! The command line: `mubadile serve`, and every CA, user, directory and journal operation for
//! officers who work at the server (`mubadile ca …`, `mubadile users …`, `mubadile org …`, `mubadile peer …`,
//! `mubadile journal …`, `mubadile archive …`).
//!
//! Exit codes: 0 success, 1 failure, 2 bad usage (clap), 3 refused by a rule, a missing role or
//! bad input, 4 not found; `mubadile verify` adds 10 (a signature failed) and 11 (indeterminate).

mod archive;
mod ca;
mod extend;
mod journal;
mod org;
mod peer;
mod plugins;
mod sign;
mod trust_list;
mod users;
pub mod verify;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use mubadile_core::Error;
use mubadile_core::accounts::{Actor, authenticate};
use mubadile_core::config::Config;
use mubadile_core::exchange::Exchange;
use mubadile_core::store::DbPool;

/// Mübadilə: exchange of officially signed electronic documents, with its own certificate
/// authority.
#[derive(Parser)]
#[command(name = "mubadile", version, about)]
pub struct Cli {
    /// Configuration file (TOML); environment variables MUBADILE__SECTION__KEY override it.
    #[arg(long, short, global = true, env = "MUBADILE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (creates, migrates and initialises everything on first start).
    Serve,
    /// Certificate authority operations.
    #[command(subcommand)]
    Ca(ca::CaCommand),
    /// The directory of organisations, their API clients, agreements and categories.
    #[command(subcommand)]
    Org(org::OrgCommand),
    /// Other nodes this node exchanges envelopes with (federation), and their organisations.
    #[command(subcommand)]
    Peer(peer::PeerCommand),
    /// Registration journals.
    #[command(subcommand)]
    Journal(journal::JournalCommand),
    /// The archive: export, disposal and legal holds (EDE 7).
    #[command(subcommand)]
    Archive(archive::ArchiveCommand),
    /// User accounts.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Two-step external signing: prepare, sign on your own token, finish.
    #[command(subcommand)]
    Sign(sign::SignCommand),
    /// Raise every signature of a signed file to B-T or B-LT.
    Extend(extend::ExtendArgs),
    /// Validate every signature of a signed file (exit code 0 passed, 10 failed, 11 indeterminate).
    Verify(verify::VerifyArgs),
    /// Format plugins: what is loaded, from where, and what was refused.
    #[command(subcommand)]
    Plugins(plugins::PluginsCommand),
    /// Trust lists (ETSI TS 119 612): publish the platform's CA as a signed list.
    #[command(subcommand)]
    TrustList(trust_list::TrustListCommand),
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = Config::load(cli.config.as_deref())?;
    let result = match cli.command {
        Command::Serve => crate::server::serve(config).map(|()| ExitCode::SUCCESS),
        Command::Ca(command) => ca::run(config, command).map(|()| ExitCode::SUCCESS),
        Command::Org(command) => org::run(config, command).map(|()| ExitCode::SUCCESS),
        Command::Peer(command) => peer::run(config, command).map(|()| ExitCode::SUCCESS),
        Command::Journal(command) => journal::run(config, command).map(|()| ExitCode::SUCCESS),
        Command::Archive(command) => archive::run(config, command).map(|()| ExitCode::SUCCESS),
        Command::Users(command) => users::run(config, command).map(|()| ExitCode::SUCCESS),
        Command::Sign(command) => sign::run(config, command).map(|()| ExitCode::SUCCESS),
        Command::Extend(args) => extend::run(&config, args).map(|()| ExitCode::SUCCESS),
        Command::Verify(args) => verify::run(&config, args),
        Command::Plugins(command) => plugins::run(&config, command).map(|()| ExitCode::SUCCESS),
        Command::TrustList(command) => {
            trust_list::run(&config, command).map(|()| ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => Ok(code),
        Err(e) => {
            let code = match e.downcast_ref::<Error>() {
                Some(Error::Refused { .. } | Error::Forbidden(_) | Error::InvalidInput { .. }) => 3,
                Some(Error::NotFound { .. }) => 4,
                _ => 1,
            };
            eprintln!("error: {e:#}");
            Ok(ExitCode::from(code))
        }
    }
}

/// The node's store and exchange engine, for commands that work on documents and journals.
fn exchange(config: &Config) -> anyhow::Result<(DbPool, Exchange)> {
    let (pool, ca, _) = crate::server::open(config)?;
    let hierarchy: Vec<Vec<u8>> = std::iter::once(&ca.root().der)
        .chain(ca.issuing().iter().map(|c| &c.der))
        .cloned()
        .collect();
    let validation = Arc::new(crate::plugins::platform_validation(config, &hierarchy)?);
    Ok((pool.clone(), Exchange::new(pool, ca, validation)))
}

/// The officer running a command: `--user` with the password from `MUBADILE_PASSWORD`.
#[derive(clap::Args)]
pub struct Officer {
    /// Your user name; the password is read from the environment variable MUBADILE_PASSWORD.
    #[arg(long, env = "MUBADILE_USER")]
    user: String,
}

impl Officer {
    fn actor(&self, pool: &DbPool) -> anyhow::Result<Actor> {
        let password = std::env::var("MUBADILE_PASSWORD").map_err(|_| {
            Error::invalid(
                "password",
                "set MUBADILE_PASSWORD to your password to act as an officer",
            )
        })?;
        let mut conn = pool.get()?;
        let user = authenticate(&mut conn, &self.user, &password)?;
        if user.must_change_password {
            return Err(Error::refused(
                "password_change_required",
                "replace your one-time password first: mubadile users passwd (current password in MUBADILE_PASSWORD, new one in MUBADILE_NEW_PASSWORD)",
            )
            .into());
        }
        Ok(user.actor()?)
    }
}
