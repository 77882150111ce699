//! `mubadile org …`: the directory of organisations, their API clients, agreements and document
//! categories; administrators' work at the server.

use anyhow::Context;
use clap::Subcommand;
use mubadile_core::accounts::{
    ClientKind, Role, bind_client_certificate, create_client, create_department, revoke_client,
};
use mubadile_core::config::Config;
use mubadile_core::exchange::{
    Agreement, Category, NewOrganisation, OrganisationId, ReceiptKind, accept_trust_list,
    add_trust_anchor, create_organisation, list_organisations, set_agreement, set_category,
};
use mubadile_core::pki::trust_list::SignerPin;

use super::Officer;

#[derive(Subcommand)]
pub enum OrgCommand {
    /// Add an organisation to the directory; the CA issues its seal (GOV 3.3–3.5).
    Create {
        #[command(flatten)]
        officer: Officer,
        #[command(flatten)]
        organisation: OrganisationArgs,
    },
    /// List the directory.
    List {
        #[command(flatten)]
        officer: Officer,
    },
    /// Create an API client of an organisation; prints its token once.
    Client {
        #[command(flatten)]
        officer: Officer,
        /// The organisation.
        organisation: String,
        /// A name people recognise.
        #[arg(long)]
        name: String,
        /// `automated_system` (acts as the sender programmed it) or `agency_system` (acts
        /// for the persons it authenticates) (EDE 4.2).
        #[arg(long, default_value = "automated_system")]
        kind: String,
    },
    /// Let an API client also authenticate, over the TLS listener, with a TLS client
    /// certificate from the platform's CA: any certificate in force with this one's subject.
    BindCertificate {
        #[command(flatten)]
        officer: Officer,
        /// The client's identifier.
        id: String,
        /// The client's certificate (PEM or DER).
        certificate: std::path::PathBuf,
    },
    /// Revoke an API client's token.
    RevokeClient {
        #[command(flatten)]
        officer: Officer,
        /// The client's identifier.
        id: String,
    },
    /// Record what a sender and a recipient agreed about receipts (EDE 4.4–4.6).
    Agree {
        #[command(flatten)]
        officer: Officer,
        /// The sending organisation.
        sender: String,
        /// The receiving organisation.
        recipient: String,
        /// `automatic` (an unsigned notice) or `signed` (a receipt the recipient signs).
        #[arg(long, default_value = "automatic")]
        receipt: String,
        /// Hours the recipient has to confirm receipt.
        #[arg(long, default_value_t = 72)]
        term_hours: i64,
    },
    /// Accept signatures under another centre's root certificate (PEM or DER file) for
    /// documents the organisation receives (GOV 1.3).
    Trust {
        #[command(flatten)]
        officer: Officer,
        /// The organisation.
        organisation: String,
        /// The root certificate file.
        certificate: std::path::PathBuf,
    },
    /// Accept a signed trust list of accredited centres (ETSI TS 119 612; ACC 1.2, GOV 1.3): its
    /// granted CA services become the organisation's trust anchors, replacing those of the list
    /// it accepted before; an older list is refused.
    TrustList {
        #[command(flatten)]
        officer: Officer,
        /// The organisation.
        organisation: String,
        /// The signed trust list (XML).
        file: std::path::PathBuf,
        /// The scheme operator's signing certificate (PEM or DER file), or its SHA-256 as 64 hex
        /// digits, as obtained out of band from the operator.
        #[arg(long)]
        signer: String,
    },
    /// Add a department to an organisation.
    Department {
        #[command(flatten)]
        officer: Officer,
        /// The organisation.
        organisation: String,
        /// The department's name.
        name: String,
    },
    /// Define a document category of an organisation (EDE 1.2, 7.1.4).
    Category {
        #[command(flatten)]
        officer: Officer,
        /// The organisation.
        organisation: String,
        /// The category's name.
        name: String,
        /// Documents of it may not be exchanged (state secrets, EDE 1.2).
        #[arg(long)]
        not_exchangeable: bool,
        /// Years its documents are kept.
        #[arg(long, default_value_t = 10)]
        retention_years: i32,
    },
}

/// An organisation's requisites as the directory keeps them (EDE 3.1).
#[derive(clap::Args)]
pub struct OrganisationArgs {
    /// Short identifier: lower-case Latin letters, digits and '-', e.g. min-justice.
    id: String,
    /// Full official name.
    #[arg(long)]
    name: String,
    /// Tax identification number (VÖEN), 10 digits.
    #[arg(long)]
    tax_id: String,
    /// Postal address.
    #[arg(long)]
    address: String,
    /// E-mail for notices.
    #[arg(long)]
    email: String,
    /// Telephone.
    #[arg(long)]
    phone: Option<String>,
}

impl From<OrganisationArgs> for NewOrganisation {
    fn from(a: OrganisationArgs) -> NewOrganisation {
        NewOrganisation {
            id: a.id,
            name: a.name,
            tax_id: a.tax_id,
            address: a.address,
            phone: a.phone,
            email: a.email,
        }
    }
}

pub fn run(config: Config, command: OrgCommand) -> anyhow::Result<()> {
    let (pool, ca, _) = crate::server::open(&config)?;
    match command {
        OrgCommand::Create {
            officer,
            organisation,
        } => {
            let actor = officer.actor(&pool)?;
            let organisation = create_organisation(&ca, &actor, &organisation.into())?;
            println!("created {} ({})", organisation.id, organisation.name);
        }
        OrgCommand::List { officer } => {
            officer.actor(&pool)?;
            let mut conn = pool.get()?;
            for organisation in list_organisations(&mut conn)? {
                println!(
                    "{}\t{}\t{}\t{}",
                    organisation.id, organisation.tax_id, organisation.name, organisation.email
                );
            }
        }
        OrgCommand::Client {
            officer,
            organisation,
            name,
            kind,
        } => {
            officer
                .actor(&pool)?
                .require(&[Role::SystemAdministrator])?;
            let mut conn = pool.get()?;
            let (client, token) = create_client(
                &mut conn,
                &OrganisationId::parse(&organisation)?,
                &name,
                ClientKind::parse(&kind)?,
            )?;
            println!("created client {} of {}", client.id, client.organisation_id);
            println!("token (shown once): {token}");
        }
        OrgCommand::BindCertificate {
            officer,
            id,
            certificate,
        } => {
            officer
                .actor(&pool)?
                .require(&[Role::SystemAdministrator])?;
            let bytes = std::fs::read(&certificate)
                .with_context(|| format!("cannot read {}", certificate.display()))?;
            let mut conn = pool.get()?;
            let subject = bind_client_certificate(&mut conn, &id, &bytes)?;
            println!("client {id} authenticates with certificates of {subject}");
        }
        OrgCommand::RevokeClient { officer, id } => {
            officer
                .actor(&pool)?
                .require(&[Role::SystemAdministrator])?;
            let mut conn = pool.get()?;
            revoke_client(&mut conn, &id)?;
            println!("revoked client {id}");
        }
        OrgCommand::Agree {
            officer,
            sender,
            recipient,
            receipt,
            term_hours,
        } => {
            let actor = officer.actor(&pool)?;
            set_agreement(
                &pool,
                &actor,
                &OrganisationId::parse(&sender)?,
                &OrganisationId::parse(&recipient)?,
                Agreement {
                    receipt_kind: ReceiptKind::parse(&receipt)?,
                    term_hours,
                },
            )?;
            println!("{sender} → {recipient}: {receipt} receipt within {term_hours} h");
        }
        OrgCommand::Trust {
            officer,
            organisation,
            certificate,
        } => {
            let actor = officer.actor(&pool)?;
            let organisation = OrganisationId::parse(&organisation)?;
            let bytes = std::fs::read(&certificate)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", certificate.display()))?;
            for der in mubadile_core::pki::read_certificates(&bytes, "trust anchor")? {
                let subject = add_trust_anchor(&pool, &actor, &organisation, &der)?;
                println!("{organisation} now accepts signatures under {subject}");
            }
        }
        OrgCommand::TrustList {
            officer,
            organisation,
            file,
            signer,
        } => {
            let actor = officer.actor(&pool)?;
            let organisation = OrganisationId::parse(&organisation)?;
            let xml = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let pin = match std::fs::read(&signer) {
                Ok(bytes) => SignerPin::parse(&bytes)?,
                Err(_) => SignerPin::parse(signer.as_bytes())?,
            };
            let hierarchy: Vec<Vec<u8>> = ca.authorities().iter().map(|c| c.der.clone()).collect();
            let validation = crate::plugins::platform_validation(&config, &hierarchy)?;
            let verified = super::trust_list::import(&validation.validator, &xml, &pin)?;
            let accepted = accept_trust_list(&pool, &actor, &organisation, &verified)?;
            println!(
                "{organisation} accepts trust list sequence {} of {} (next update {}): {} trust anchors",
                accepted.sequence, accepted.operator, accepted.next_update, accepted.anchors
            );
        }
        OrgCommand::Department {
            officer,
            organisation,
            name,
        } => {
            let actor = officer.actor(&pool)?;
            let organisation = OrganisationId::parse(&organisation)?;
            if actor.require(&[Role::SystemAdministrator]).is_err() {
                actor.require_in(&organisation, &[Role::OrganisationAdministrator])?;
            }
            let mut conn = pool.get()?;
            let department = create_department(&mut conn, &organisation, &name)?;
            println!("department {} of {organisation} created", department.name);
        }
        OrgCommand::Category {
            officer,
            organisation,
            name,
            not_exchangeable,
            retention_years,
        } => {
            let actor = officer.actor(&pool)?;
            set_category(
                &pool,
                &actor,
                &Category {
                    organisation_id: OrganisationId::parse(&organisation)?,
                    name: name.clone(),
                    exchangeable: !not_exchangeable,
                    retention_years,
                },
            )?;
            println!("category {name} of {organisation} recorded");
        }
    }
    Ok(())
}
