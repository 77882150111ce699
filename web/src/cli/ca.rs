//! `mubadile ca …`: every CA operation from the server's command line.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use mubadile_core::accounts::Role;
use mubadile_core::ca::audit;
use mubadile_core::ca::key_change::KeyChange;
use mubadile_core::ca::lifecycle::{IssueRequest, Issued, KeySource};
use mubadile_core::ca::profiles::Enrollment;
use mubadile_core::ca::register::{self, RegisterQuery, Serial};
use mubadile_core::config::Config;

use super::Officer;
use crate::pki::certificate_pem;

mod requests;

/// Where the key of a certificate to issue comes from.
#[derive(clap::Args)]
pub struct KeyOptions {
    /// The holder's PKCS#10 request (PEM or DER).
    #[arg(long, conflicts_with = "generate")]
    csr: Option<PathBuf>,
    /// Generate the key here instead (rsa-2048 … ecdsa-p384, ed25519); the key carrier password
    /// is read from MUBADILE_CARRIER_PASSWORD.
    #[arg(long)]
    generate: Option<String>,
}

impl KeyOptions {
    fn source(&self) -> anyhow::Result<KeySource> {
        Ok(match (&self.csr, &self.generate) {
            (Some(path), None) => KeySource::Request(
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
            ),
            (None, Some(algorithm)) => KeySource::Generate {
                algorithm: algorithm.parse()?,
                carrier_password: std::env::var("MUBADILE_CARRIER_PASSWORD")
                    .context("set MUBADILE_CARRIER_PASSWORD to the key carrier's password")?,
            },
            _ => anyhow::bail!("give --csr FILE or --generate ALGORITHM"),
        })
    }

    fn is_empty(&self) -> bool {
        self.csr.is_none() && self.generate.is_none()
    }
}

/// Where an issued certificate and its key carrier go.
#[derive(clap::Args)]
pub struct IssuedOutput {
    /// Where to write the key carrier (PKCS#12) when generating.
    #[arg(long, requires = "generate")]
    carrier_out: Option<PathBuf>,
    /// Where to write the certificate (PEM); printed when omitted.
    #[arg(long)]
    out: Option<PathBuf>,
}

impl IssuedOutput {
    fn write(&self, issued: &Issued) -> anyhow::Result<()> {
        let pem = certificate_pem(&issued.certificate)?;
        match &self.out {
            Some(path) => std::fs::write(path, pem)?,
            None => print!("{pem}"),
        }
        if let (Some(carrier), Some(path)) = (&issued.key_carrier, &self.carrier_out) {
            std::fs::write(path, carrier)?;
        }
        eprintln!(
            "issued {} to {}",
            issued.record.serial, issued.record.subject
        );
        Ok(())
    }
}

#[derive(Subcommand)]
pub enum CaCommand {
    /// Show the CA hierarchy (initialising it if needed).
    Info,
    /// Issue a certificate.
    Issue {
        #[command(flatten)]
        officer: Officer,
        /// Holder data as JSON with its "profile" (person-signature, organisation-seal, tls-server, tls-client).
        #[arg(long)]
        holder: PathBuf,
        #[command(flatten)]
        key: KeyOptions,
        /// Issuing CA label.
        #[arg(long)]
        ca: Option<String>,
        /// The holder consents to public lookup (CSP 2.3).
        #[arg(long)]
        public: bool,
        #[command(flatten)]
        output: IssuedOutput,
    },
    /// The officers' requests (CSP 13.3): file, list, carry out, reject.
    #[command(subcommand)]
    Requests(requests::RequestsCommand),
    /// Suspend a certificate.
    Suspend {
        #[command(flatten)]
        officer: Officer,
        serial: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Restore a suspended certificate.
    Restore {
        #[command(flatten)]
        officer: Officer,
        serial: String,
        #[arg(long)]
        note: Option<String>,
    },
    /// Revoke a certificate.
    Revoke {
        #[command(flatten)]
        officer: Officer,
        serial: String,
        /// key_compromise, affiliation_changed, superseded, cessation_of_operation, privilege_withdrawn, …
        #[arg(long)]
        reason: String,
        /// RFC 3339 time from which the key is known or suspected to be compromised.
        #[arg(long)]
        invalidity_date: Option<chrono::DateTime<chrono::Utc>>,
        #[arg(long)]
        note: Option<String>,
    },
    /// Report a key compromise (GOV 4.2): suspends now, revocation due within a day.
    Compromise {
        #[command(flatten)]
        officer: Officer,
        serial: String,
        #[arg(long)]
        description: String,
    },
    /// Change an issuing CA's key (CSP 4.4): a new generation takes over issuance. With
    /// --compromised, the root revokes the old CA, everything it issued is revoked, and the
    /// holders' certificates are re-issued under the new key and mailed to them.
    ChangeKey {
        #[command(flatten)]
        officer: Officer,
        /// The issuing CA whose key is changed, e.g. issuing-1.
        ca: String,
        /// The key is compromised: say what happened.
        #[arg(long)]
        compromised: Option<String>,
        /// RFC 3339 time from which the key is known or suspected to be compromised.
        #[arg(long, requires = "compromised")]
        invalidity_date: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Search the register.
    List {
        #[command(flatten)]
        officer: Officer,
        #[arg(long)]
        subject: Option<String>,
        #[arg(long)]
        holder: Option<String>,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        archived: bool,
    },
    /// Show one certificate and its history.
    Show {
        #[command(flatten)]
        officer: Officer,
        serial: String,
    },
    /// Publish full and delta CRLs now.
    PublishCrl {
        #[command(flatten)]
        officer: Officer,
    },
    /// Check the audit log's hash chain.
    VerifyAudit {
        #[command(flatten)]
        officer: Officer,
    },
    /// Show the latest audit log entries (security officer).
    Audit {
        #[command(flatten)]
        officer: Officer,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// The quarterly statistics of the register, as JSON (CSP 3.14).
    Statistics {
        #[command(flatten)]
        officer: Officer,
        #[arg(long)]
        year: i32,
        #[arg(long)]
        quarter: u32,
    },
}

pub fn run(config: Config, command: CaCommand) -> anyhow::Result<()> {
    let (pool, ca, _) = crate::server::open(&config)?;
    match command {
        CaCommand::Info => {
            for a in ca.authorities().iter() {
                println!("{}\t{}", a.label, a.certificate.tbs_certificate.subject);
            }
        }
        CaCommand::Issue {
            officer,
            holder,
            key,
            ca: label,
            public,
            output,
        } => {
            let actor = officer.actor(&pool)?;
            let text = std::fs::read_to_string(&holder)
                .with_context(|| format!("cannot read {}", holder.display()))?;
            let enrollment: Enrollment = serde_json::from_str(&text)
                .with_context(|| format!("{} is not valid holder data", holder.display()))?;
            let issued = ca.issue(
                &actor,
                &IssueRequest {
                    ca: label,
                    enrollment,
                    key: key.source()?,
                    public_consent: public,
                },
            )?;
            output.write(&issued)?;
        }
        CaCommand::Requests(command) => requests::run(&pool, &ca, command)?,
        CaCommand::Suspend {
            officer,
            serial,
            note,
        } => {
            let r = ca.suspend(&officer.actor(&pool)?, &serial.parse()?, note.as_deref())?;
            println!("{} {}", r.serial, r.status);
        }
        CaCommand::Restore {
            officer,
            serial,
            note,
        } => {
            let r = ca.restore(&officer.actor(&pool)?, &serial.parse()?, note.as_deref())?;
            println!("{} {}", r.serial, r.status);
        }
        CaCommand::Revoke {
            officer,
            serial,
            reason,
            invalidity_date,
            note,
        } => {
            let r = ca.revoke(
                &officer.actor(&pool)?,
                &serial.parse()?,
                reason.parse()?,
                invalidity_date,
                note.as_deref(),
            )?;
            println!("{} {}", r.serial, r.status);
        }
        CaCommand::Compromise {
            officer,
            serial,
            description,
        } => {
            let r = ca.report_compromise(&officer.actor(&pool)?, &serial.parse()?, &description)?;
            println!(
                "{} {} (revocation due within one day, GOV 4.2)",
                r.serial, r.status
            );
        }
        CaCommand::ChangeKey {
            officer,
            ca: label,
            compromised,
            invalidity_date,
        } => {
            let change = match compromised {
                Some(description) => KeyChange::Compromise {
                    description,
                    invalidity_date,
                },
                None => KeyChange::Planned,
            };
            let outcome = ca.change_key(&officer.actor(&pool)?, &label, &change)?;
            println!(
                "{} retired; {} issues now",
                outcome.retired, outcome.successor
            );
            for serial in &outcome.revoked {
                println!("revoked\t{serial}");
            }
            for r in &outcome.reissued {
                println!("reissued\t{}\t{}\t{}", r.replaces, r.serial, r.subject);
            }
        }
        CaCommand::List {
            officer,
            subject,
            holder,
            status,
            archived,
        } => {
            officer.actor(&pool)?.require(&[
                Role::RegistrationOfficer,
                Role::CertificateOfficer,
                Role::SecurityOfficer,
            ])?;
            let mut conn = pool.get()?;
            let query = RegisterQuery {
                subject,
                holder_id: holder,
                status,
                include_archived: archived,
                limit: Some(500),
                ..Default::default()
            };
            for r in register::search(&mut conn, &query)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    r.serial, r.status, r.profile, r.not_after, r.subject
                );
            }
        }
        CaCommand::Show { officer, serial } => {
            officer.actor(&pool)?.require(&[
                Role::RegistrationOfficer,
                Role::CertificateOfficer,
                Role::SecurityOfficer,
            ])?;
            let serial: Serial = serial.parse()?;
            let mut conn = pool.get()?;
            let r = register::find(&mut conn, &serial)?;
            println!("{}", serde_json::to_string_pretty(&r)?);
            for e in register::events(&mut conn, &serial)? {
                println!(
                    "{}\t{}\t{}\t{}",
                    e.at,
                    e.event,
                    e.actor,
                    e.reason.unwrap_or_default()
                );
            }
        }
        CaCommand::PublishCrl { officer } => {
            for crl in ca.publish_crls(&officer.actor(&pool)?, "published from the command line")? {
                println!(
                    "{}\t#{}\t{}",
                    crl.issuer_id,
                    crl.number,
                    if crl.base_number.is_some() {
                        "delta"
                    } else {
                        "full"
                    }
                );
            }
        }
        CaCommand::VerifyAudit { officer } => {
            officer
                .actor(&pool)?
                .require(&[Role::SecurityOfficer, Role::SystemAdministrator])?;
            let mut conn = pool.get()?;
            println!("audit log intact: {} entries", audit::verify(&mut conn)?);
        }
        CaCommand::Audit { officer, limit } => {
            officer.actor(&pool)?.require(&[Role::SecurityOfficer])?;
            let mut conn = pool.get()?;
            for e in audit::list(
                &mut conn,
                &audit::AuditQuery {
                    limit,
                    ..Default::default()
                },
            )? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    e.seq, e.at, e.actor, e.action, e.target, e.details
                );
            }
        }
        CaCommand::Statistics {
            officer,
            year,
            quarter,
        } => {
            officer.actor(&pool)?.require(&[
                Role::CertificateOfficer,
                Role::SecurityOfficer,
                Role::SystemAdministrator,
            ])?;
            let mut conn = pool.get()?;
            let stats = mubadile_core::ca::statistics::quarterly(&mut conn, year, quarter)?;
            println!("{}", serde_json::to_string_pretty(&stats)?);
        }
    }
    Ok(())
}
