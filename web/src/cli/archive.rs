//! `mubadile archive …`: an organisation's archivists at the server (EDE 7). Export a document's
//! archival package, ask to dispose of a copy whose retention period has run, decide such a
//! request as a second person, place or release legal holds, and run the renewal of the
//! archive's RFC 4998 evidence records by hand (the job `renew_archive_evidence` does it daily).

use std::path::PathBuf;

use clap::Subcommand;
use mubadile_core::config::Config;

use super::Officer;

#[derive(Subcommand)]
pub enum ArchiveCommand {
    /// Write a document's archival package, verifiable offline with `mubadile verify`.
    Export {
        #[command(flatten)]
        officer: Officer,
        /// The document's identifier.
        document: String,
        /// Where to write the package.
        #[arg(long)]
        out: PathBuf,
    },
    /// Ask to dispose of your organisation's copy of a document (EDE 7.1.4).
    Dispose {
        #[command(flatten)]
        officer: Officer,
        /// The document's identifier.
        document: String,
        /// Why it may go, e.g. the act of the expert commission.
        #[arg(long)]
        reason: String,
    },
    /// Approve or reject a disposal request someone else made (EDE 7.4).
    Decide {
        #[command(flatten)]
        officer: Officer,
        /// The request's identifier.
        request: String,
        /// Approve it; without this flag it is rejected.
        #[arg(long)]
        approve: bool,
        /// A note kept with the decision.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// List disposal requests awaiting a decision.
    Pending {
        #[command(flatten)]
        officer: Officer,
    },
    /// Place a legal hold on your organisation's copy of a document.
    Hold {
        #[command(flatten)]
        officer: Officer,
        /// The document's identifier.
        document: String,
        /// The dispute, audit or order it is for.
        #[arg(long)]
        reason: String,
    },
    /// Release a legal hold.
    Release {
        #[command(flatten)]
        officer: Officer,
        /// The hold's identifier.
        hold: String,
    },
    /// Give new envelopes and checkpoints their RFC 4998 evidence records and renew those due
    /// within the margin, now (the server's daily job `renew_archive_evidence` does the same).
    RenewEvidence {
        #[command(flatten)]
        officer: Officer,
        /// How far ahead to look, in days; default `[jobs] evidence_renewal_margin_days`.
        #[arg(long)]
        margin_days: Option<u32>,
    },
}

pub fn run(config: Config, command: ArchiveCommand) -> anyhow::Result<()> {
    let (pool, exchange) = super::exchange(&config)?;
    match command {
        ArchiveCommand::Export {
            officer,
            document,
            out,
        } => {
            let actor = officer.actor(&pool)?;
            let package = exchange.export_package(&actor, &document)?;
            std::fs::write(&out, package)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
            println!(
                "archival package of {document} written to {}",
                out.display()
            );
        }
        ArchiveCommand::Dispose {
            officer,
            document,
            reason,
        } => {
            let actor = officer.actor(&pool)?;
            let request = exchange.request_disposal(&actor, &document, &reason)?;
            println!(
                "disposal request {} recorded; another archivist or the organisation's \
                 administrator decides it",
                request.id
            );
        }
        ArchiveCommand::Decide {
            officer,
            request,
            approve,
            note,
        } => {
            let actor = officer.actor(&pool)?;
            let decided = exchange.decide_disposal(&actor, &request, approve, &note)?;
            println!(
                "disposal request {request} {}",
                decided.decision.unwrap_or_default()
            );
        }
        ArchiveCommand::Pending { officer } => {
            let actor = officer.actor(&pool)?;
            for request in exchange.open_disposals(&actor)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    request.id,
                    request.document_id,
                    request.requested_by,
                    request.requested_at,
                    request.reason
                );
            }
        }
        ArchiveCommand::Hold {
            officer,
            document,
            reason,
        } => {
            let actor = officer.actor(&pool)?;
            let hold = exchange.place_hold(&actor, &document, &reason)?;
            println!("legal hold {} placed on {document}", hold.id);
        }
        ArchiveCommand::RenewEvidence {
            officer,
            margin_days,
        } => {
            officer.actor(&pool)?;
            let days = margin_days.unwrap_or(config.jobs.evidence_renewal_margin_days);
            let run = exchange.renew_archive_evidence(chrono::Duration::days(i64::from(days)))?;
            println!(
                "Evidence records (RFC 4998, margin {days} days): {} first, {} timestamp \
                 renewals, {} hash-tree renewals, {} skipped (object erased)",
                run.first, run.timestamps_renewed, run.hash_trees_renewed, run.skipped
            );
        }
        ArchiveCommand::Release { officer, hold } => {
            let actor = officer.actor(&pool)?;
            exchange.release_hold(&actor, &hold)?;
            println!("legal hold {hold} released");
        }
    }
    Ok(())
}
