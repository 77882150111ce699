//! `mubadile peer …`: the other nodes this node exchanges envelopes with (federation), and the
//! organisations whose home is one of them; administrators' work at the server. Every node's
//! TLS listener reads the peers' roots again every 5 s, so no restart is needed.

use clap::Subcommand;
use mubadile_core::config::Config;
use mubadile_core::exchange::federation::{
    add_peer, add_remote_organisation, organisations_of, peers,
};

use super::Officer;
use super::org::OrganisationArgs;

#[derive(Subcommand)]
pub enum PeerCommand {
    /// Add another node, or replace its URL and roots: its TLS listener's URL and the root
    /// certificate(s) of its CA (PEM or DER), which verify its server and client certificates
    /// and the seals and receipts of its organisations.
    Add {
        #[command(flatten)]
        officer: Officer,
        /// A short name for the node, e.g. node-finance.
        name: String,
        /// Its TLS listener: https://host:port (the host must be a name in its certificate).
        #[arg(long)]
        url: String,
        /// Its CA's root certificate file.
        #[arg(long)]
        root: std::path::PathBuf,
    },
    /// Add an organisation whose home is the node PEER: local organisations may then send to
    /// it, and receive from it through that node.
    Org {
        #[command(flatten)]
        officer: Officer,
        /// The node.
        peer: String,
        /// Its requisites, as on its own node; its seal must name this VÖEN.
        #[command(flatten)]
        organisation: OrganisationArgs,
    },
    /// List the peers and their organisations.
    List {
        #[command(flatten)]
        officer: Officer,
    },
}

pub fn run(config: Config, command: PeerCommand) -> anyhow::Result<()> {
    let (pool, _, _) = crate::server::open(&config)?;
    match command {
        PeerCommand::Add {
            officer,
            name,
            url,
            root,
        } => {
            let actor = officer.actor(&pool)?;
            let bytes = std::fs::read(&root)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", root.display()))?;
            let anchors = mubadile_core::pki::read_certificates(&bytes, "peer root")?;
            let peer = add_peer(&pool, &actor, &name, &url, &anchors)?;
            println!(
                "peer {} at {} with {} root(s); the TLS listeners accept it within 5 s",
                peer.id,
                peer.base_url,
                peer.anchors.len()
            );
        }
        PeerCommand::Org {
            officer,
            peer,
            organisation,
        } => {
            let actor = officer.actor(&pool)?;
            let organisation = add_remote_organisation(&pool, &actor, &peer, &organisation.into())?;
            println!(
                "added {} ({}) of the node {peer}",
                organisation.id, organisation.name
            );
        }
        PeerCommand::List { officer } => {
            officer.actor(&pool)?;
            let mut conn = pool.get()?;
            for peer in peers(&mut conn)? {
                let organisations: Vec<String> = organisations_of(&mut conn, &peer.id)?
                    .into_iter()
                    .map(|o| o.0)
                    .collect();
                println!(
                    "{}\t{}\t{}",
                    peer.id,
                    peer.base_url,
                    organisations.join(",")
                );
            }
        }
    }
    Ok(())
}
