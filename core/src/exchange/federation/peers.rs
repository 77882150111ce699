//! The other nodes this node exchanges with, and the organisations whose home is one of them.
//! A peer is known by its base URL and by the roots of its CA: they verify its TLS server
//! certificate when this node calls it, its TLS client certificate when it calls this node, and
//! the seals and receipts of its organisations (GOV 1.3: the trust is the administrator's
//! explicit choice).

use diesel::prelude::*;

use crate::accounts::{Actor, Role};
use crate::exchange::directory::{NewOrganisation, Organisation, OrganisationId};
use crate::exchange::directory_cache::changing;
use crate::pki::CertificateFacts;
use crate::store::schema::{organisations, peer_trust_anchors, peers, remote_organisations};
use crate::store::{DbConnection, DbPool};
use crate::time::{now, to_db};
use crate::{Error, Result};

/// Another Mübadilə node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Its short name on this node, e.g. `node-finance`.
    pub id: String,
    /// Where its federation endpoint lives: `https://host:port`.
    pub base_url: String,
    /// The roots of its CA (DER).
    pub anchors: Vec<Vec<u8>>,
}

/// Adds the peer `id` at `base_url` with the roots of its CA, or replaces its URL and roots.
/// The TLS listener accepts the peer's client certificates from its next start.
pub fn add_peer(
    pool: &DbPool,
    actor: &Actor,
    id: &str,
    base_url: &str,
    anchors: &[Vec<u8>],
) -> Result<Peer> {
    actor.require(&[Role::SystemAdministrator])?;
    let id = OrganisationId::parse(id)
        .map_err(|_| {
            Error::invalid(
                "peer",
                format!("{id:?} must be 2 to 32 lower-case Latin letters, digits and inner '-', e.g. node-finance"),
            )
        })?
        .0;
    let base_url = base_url.trim().trim_end_matches('/').to_string();
    let host = base_url.strip_prefix("https://").unwrap_or_default();
    if host.is_empty() || host.contains('/') {
        return Err(Error::invalid(
            "peer URL",
            format!(
                "{base_url:?} must be the peer's TLS listener as https://host:port, without a path"
            ),
        ));
    }
    if anchors.is_empty() {
        return Err(Error::invalid(
            "peer roots",
            "give the root certificate of the peer's CA (PEM or DER)",
        ));
    }
    let mut facts = Vec::new();
    for der in anchors {
        let parsed = CertificateFacts::parse(der)?;
        if !parsed.self_issued() {
            return Err(Error::invalid(
                "peer roots",
                "give the peer CA's root certificate (self-issued), not an intermediate or end-entity certificate",
            ));
        }
        facts.push((der, parsed.subject()));
    }
    changing(pool, |conn| {
        diesel::delete(peer_trust_anchors::table.filter(peer_trust_anchors::peer_id.eq(&id)))
            .execute(conn)?;
        let updated = diesel::update(peers::table.find(&id))
            .set(peers::base_url.eq(&base_url))
            .execute(conn)?;
        if updated == 0 {
            diesel::insert_into(peers::table)
                .values((
                    peers::id.eq(&id),
                    peers::base_url.eq(&base_url),
                    peers::added_at.eq(to_db(now())),
                ))
                .execute(conn)?;
        }
        for (der, subject) in &facts {
            diesel::insert_into(peer_trust_anchors::table)
                .values((
                    peer_trust_anchors::peer_id.eq(&id),
                    peer_trust_anchors::sha256.eq(hex::encode(crate::crypto::sha256(der))),
                    peer_trust_anchors::subject.eq(subject),
                    peer_trust_anchors::certificate.eq(der.as_slice()),
                ))
                .execute(conn)?;
        }
        Ok(())
    })?;
    Ok(Peer {
        id,
        base_url,
        anchors: anchors.to_vec(),
    })
}

/// Adds an organisation whose home is the node `peer` to this node's directory: local senders
/// may address it, and it may send to local organisations through that node. It has no seal
/// here; its envelopes carry the seal its own node's CA issued.
pub fn add_remote_organisation(
    pool: &DbPool,
    actor: &Actor,
    peer_id: &str,
    new: &NewOrganisation,
) -> Result<Organisation> {
    actor.require(&[Role::SystemAdministrator])?;
    let organisation = new.checked()?;
    let id = organisation.id.clone();
    changing(pool, |conn| {
        peer(conn, peer_id)?;
        let exists: i64 = organisations::table
            .filter(organisations::id.eq(&id))
            .count()
            .get_result(conn)?;
        if exists > 0 {
            return Err(Error::refused(
                "organisation_exists",
                format!("{id} is already in the directory; choose another identifier"),
            ));
        }
        diesel::insert_into(organisations::table)
            .values(&organisation)
            .execute(conn)?;
        diesel::insert_into(remote_organisations::table)
            .values((
                remote_organisations::organisation_id.eq(&id),
                remote_organisations::peer_id.eq(peer_id),
            ))
            .execute(conn)?;
        Ok(())
    })?;
    Ok(organisation)
}

/// The peer `id`.
pub fn peer(conn: &mut DbConnection, id: &str) -> Result<Peer> {
    let base_url: String = peers::table
        .find(id)
        .select(peers::base_url)
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("peer", id))?;
    let anchors = peer_trust_anchors::table
        .filter(peer_trust_anchors::peer_id.eq(id))
        .order(peer_trust_anchors::sha256.asc())
        .select(peer_trust_anchors::certificate)
        .load(conn)?;
    Ok(Peer {
        id: id.to_string(),
        base_url,
        anchors,
    })
}

/// Every peer, by name.
pub fn peers(conn: &mut DbConnection) -> Result<Vec<Peer>> {
    let ids: Vec<String> = peers::table
        .order(peers::id.asc())
        .select(peers::id)
        .load(conn)?;
    ids.iter().map(|id| peer(conn, id)).collect()
}

/// The peer that is the home of `organisation`; `None` for an organisation of this node.
pub fn home_of(conn: &mut DbConnection, organisation: &OrganisationId) -> Result<Option<String>> {
    Ok(remote_organisations::table
        .find(organisation)
        .select(remote_organisations::peer_id)
        .first(conn)
        .optional()?)
}

/// The organisations whose home is `peer`.
pub fn organisations_of(conn: &mut DbConnection, peer: &str) -> Result<Vec<OrganisationId>> {
    Ok(remote_organisations::table
        .filter(remote_organisations::peer_id.eq(peer))
        .order(remote_organisations::organisation_id.asc())
        .select(remote_organisations::organisation_id)
        .load(conn)?)
}
