//! `mubadile journal verify ORG`: checks an organisation's registration journals (EDE 6.2) and
//! names the first altered or missing entry. Exit code 0 when whole, 3 when broken.

use clap::Subcommand;
use mubadile_core::config::Config;
use mubadile_core::exchange::OrganisationId;
use mubadile_core::journal::{self, Journal};
use mubadile_core::store::open_pool;

use super::Officer;

#[derive(Subcommand)]
pub enum JournalCommand {
    /// Check the hash chain of an organisation's journals.
    Verify {
        #[command(flatten)]
        officer: Officer,
        /// The organisation.
        organisation: String,
        /// Only this journal: `outgoing` or `incoming`.
        #[arg(long)]
        journal: Option<String>,
    },
}

pub fn run(config: Config, command: JournalCommand) -> anyhow::Result<()> {
    let pool = open_pool(&config.database_url(), 2)?;
    match command {
        JournalCommand::Verify {
            officer,
            organisation,
            journal: only,
        } => {
            officer.actor(&pool)?;
            let organisation = OrganisationId::parse(&organisation)?;
            let journals = match only {
                Some(name) => vec![Journal::parse(&name)?],
                None => vec![Journal::Outgoing, Journal::Incoming],
            };
            let mut conn = pool.get()?;
            for which in journals {
                let verified = journal::verify(&mut conn, &organisation, which)?;
                println!(
                    "{organisation} {which} journal: {} entries, whole; head {}",
                    verified.entries, verified.head
                );
            }
        }
    }
    Ok(())
}
