//! `mubadile ca requests …`: the officers' requests (CSP 13.3) from the command line, as `/ui/ca`
//! and `/api/v1/ca/requests` offer them: the registration officer files, the certificate officer
//! carries out or rejects.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use mubadile_core::ca::authority::CertificateAuthority;
use mubadile_core::ca::profiles::Enrollment;
use mubadile_core::ca::requests::{CaRequest, RequestParts, Requested};
use mubadile_core::store::DbPool;

use super::{IssuedOutput, KeyOptions};
use crate::cli::Officer;

#[derive(Subcommand)]
pub enum RequestsCommand {
    /// File a request (registration officer).
    File {
        #[command(flatten)]
        officer: Officer,
        #[arg(long, value_enum)]
        kind: Kind,
        /// An issuance: holder data as JSON with its "profile".
        #[arg(long, required_if_eq("kind", "issue"))]
        holder: Option<PathBuf>,
        /// An issuance: the holder consents to public lookup (CSP 2.3).
        #[arg(long)]
        public: bool,
        /// A status change: the certificate's serial (hex).
        #[arg(long, required_if_eq_any([("kind", "suspend"), ("kind", "restore"), ("kind", "revoke")]))]
        serial: Option<String>,
        /// A revocation: key_compromise, affiliation_changed, superseded, …
        #[arg(long, required_if_eq("kind", "revoke"))]
        reason: Option<String>,
        /// A revocation: RFC 3339 time from which the key is known or suspected to be compromised.
        #[arg(long)]
        invalidity_date: Option<chrono::DateTime<chrono::Utc>>,
        /// What was checked (e.g. the identity document).
        #[arg(long)]
        note: Option<String>,
    },
    /// List the pending requests (with --all, the latest hundred of any status).
    List {
        #[command(flatten)]
        officer: Officer,
        #[arg(long)]
        all: bool,
    },
    /// Carry out a pending request (certificate officer); an issuance takes --csr or --generate.
    CarryOut {
        #[command(flatten)]
        officer: Officer,
        id: String,
        #[command(flatten)]
        key: KeyOptions,
        #[command(flatten)]
        output: IssuedOutput,
    },
    /// Reject a pending request with a reason (certificate officer, CSP 3.7).
    Reject {
        #[command(flatten)]
        officer: Officer,
        id: String,
        #[arg(long)]
        reason: String,
    },
}

/// What a request asks for.
#[derive(Clone, Copy, ValueEnum)]
pub enum Kind {
    Issue,
    Suspend,
    Restore,
    Revoke,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Issue => "issue",
            Kind::Suspend => "suspend",
            Kind::Restore => "restore",
            Kind::Revoke => "revoke",
        }
    }
}

pub fn run(
    pool: &DbPool,
    ca: &CertificateAuthority,
    command: RequestsCommand,
) -> anyhow::Result<()> {
    match command {
        RequestsCommand::File {
            officer,
            kind,
            holder,
            public,
            serial,
            reason,
            invalidity_date,
            note,
        } => {
            let enrollment: Option<Enrollment> = match holder {
                Some(holder) => {
                    let text = std::fs::read_to_string(&holder)
                        .with_context(|| format!("cannot read {}", holder.display()))?;
                    Some(serde_json::from_str(&text).with_context(|| {
                        format!("{} is not valid holder data", holder.display())
                    })?)
                }
                None => None,
            };
            let requested = Requested::from_parts(RequestParts {
                kind: kind.name(),
                enrollment,
                public_consent: public,
                serial: serial.as_deref(),
                reason: reason.as_deref(),
                invalidity_date,
            })?;
            let filed = ca.file_request(&officer.actor(pool)?, &requested, note.as_deref())?;
            print_request(&filed);
        }
        RequestsCommand::List { officer, all } => {
            for request in ca.requests(&officer.actor(pool)?, !all)? {
                print_request(&request);
            }
        }
        RequestsCommand::CarryOut {
            officer,
            id,
            key,
            output,
        } => {
            let actor = officer.actor(pool)?;
            if ca.request(&actor, &id)?.kind == "issue" {
                let issued = ca.carry_out_issuance(&actor, &id, key.source()?)?;
                output.write(&issued)?;
            } else {
                anyhow::ensure!(
                    key.is_empty(),
                    "request {id} changes a status: give no --csr or --generate"
                );
                let r = ca.carry_out_change(&actor, &id)?;
                println!("{} {}", r.serial, r.status);
            }
        }
        RequestsCommand::Reject {
            officer,
            id,
            reason,
        } => {
            print_request(&ca.reject_request(&officer.actor(pool)?, &id, &reason)?);
        }
    }
    Ok(())
}

fn print_request(r: &CaRequest) {
    println!(
        "{}\t{}\t{}\t{}\t{}\t{}",
        r.id,
        r.kind,
        r.status,
        r.serial.as_deref().unwrap_or("-"),
        r.requested_by,
        r.outcome.as_deref().unwrap_or("")
    );
}
