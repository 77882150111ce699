//! Trust lists (ETSI TS 119 612; ACC 1.2, GOV 1.3): `mubadile trust-list publish` writes the
//! platform's CA as a list sealed by the scheme operator organisation; `mubadile org trust-list`
//! (in `org.rs`) accepts another centre's list for one organisation through [`import`].

use std::path::PathBuf;

use anyhow::Context;
use mubadile_core::Error;
use mubadile_core::config::Config;
use mubadile_core::exchange::OrganisationId;
use mubadile_core::pki::trust_list::{
    SignerPin, TrustListContent, VerifiedTrustList, verify_trust_list,
};
use mubadile_core::validation::Validator;
use mubadile_plugin_xml::tsl::{Publication, TrustList, publish};

use super::Officer;

/// Trust lists this platform publishes.
#[derive(clap::Subcommand)]
pub enum TrustListCommand {
    /// Write the platform's CA certificates as a signed TS 119 612 trust list (each a CA/QC
    /// service, status granted), sealed by the scheme operator organisation.
    Publish {
        #[command(flatten)]
        officer: Officer,
        /// The organisation that operates the scheme and seals the list, e.g. the ministry that
        /// keeps the register of centres (ACC 1.2). Verifiers pin its seal certificate.
        #[arg(long)]
        operator: String,
        /// Where to write the signed list.
        #[arg(long)]
        out: PathBuf,
        /// Days until NextUpdate; publish again before then.
        #[arg(long, default_value_t = 30)]
        valid_days: i64,
    },
}

/// Runs a `trust-list` command.
pub fn run(config: &Config, command: TrustListCommand) -> anyhow::Result<()> {
    match command {
        TrustListCommand::Publish {
            officer,
            operator,
            out,
            valid_days,
        } => {
            let (pool, exchange) = super::exchange(config)?;
            let actor = officer.actor(&pool)?;
            let org = OrganisationId::parse(&operator)?;
            let name = {
                let mut conn = pool.get()?;
                mubadile_core::exchange::organisation(&mut conn, &org)?.name
            };
            let published = exchange.publish_trust_list(
                &actor,
                &org,
                chrono::Duration::days(valid_days.max(1)),
                |sequence, issued, next_update, certificates| {
                    publish(&Publication {
                        operator: &name,
                        sequence,
                        issued,
                        next_update,
                        certificates,
                    })
                },
            )?;
            std::fs::write(&out, &published.xml)
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!(
                "trust list sequence {} written to {}, sealed by {org}",
                published.sequence,
                out.display()
            );
            println!(
                "signer SHA-256 (give verifiers out of band, for --signer): {}",
                published.signer_sha256
            );
        }
    }
    Ok(())
}

/// Reads the trust list `xml` with the XML plugin and verifies it with `validator` against
/// `pin`, as of now.
pub fn import(
    validator: &Validator,
    xml: &[u8],
    pin: &SignerPin,
) -> Result<VerifiedTrustList, Error> {
    let list = TrustList::parse(xml).map_err(|e| Error::invalid("trust list", e))?;
    let content = TrustListContent {
        sequence: list.sequence,
        issued: list.issued,
        next_update: list.next_update,
        operator: list.operator.clone(),
        anchors: list.current_anchors(),
    };
    verify_trust_list(validator, xml, content, pin, mubadile_core::time::now())
}
