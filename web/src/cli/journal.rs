//! `mubadile journal verify ORG`: checks an organisation's registration journals (EDE 6.2), their
//! hash chains and latest signed checkpoints, and names the first altered or missing entry. Exit
//! code 0 when whole, 3 when broken. `mubadile journal checkpoint ORG` signs the heads now.

use clap::Subcommand;
use mubadile_core::config::Config;
use mubadile_core::exchange::OrganisationId;
use mubadile_core::journal::Journal;

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
    /// Sign and timestamp the heads of an organisation's journals now (the server does it
    /// every hour).
    Checkpoint {
        #[command(flatten)]
        officer: Officer,
        /// The organisation.
        organisation: String,
    },
}

pub fn run(config: Config, command: JournalCommand) -> anyhow::Result<()> {
    let (pool, exchange) = super::exchange(&config)?;
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
            for which in journals {
                let verified = exchange.verify_journal(&organisation, which)?;
                let checkpoint = match verified.checkpoint {
                    Some((seq, at)) => format!(
                        "; signed checkpoint of {} covers entries up to {seq}",
                        mubadile_core::time::baku_display(at)
                    ),
                    None => "; no signed checkpoint yet".into(),
                };
                println!(
                    "{organisation} {which} journal: {} entries, whole; head {}{checkpoint}",
                    verified.chain.entries, verified.chain.head
                );
            }
        }
        JournalCommand::Checkpoint {
            officer,
            organisation,
        } => {
            officer.actor(&pool)?;
            let organisation = OrganisationId::parse(&organisation)?;
            for which in [Journal::Outgoing, Journal::Incoming] {
                match exchange.checkpoint(&organisation, which)? {
                    Some(seq) => println!("{organisation} {which} journal: checkpoint up to {seq}"),
                    None => println!("{organisation} {which} journal: nothing new to checkpoint"),
                }
            }
        }
    }
    Ok(())
}
