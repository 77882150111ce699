//! The trust list (ETSI TS 119 612) an organisation accepts: the ministry's *Register of
//! certificate service centres* (ACC 1.2, 2.12), whose granted CA services become the
//! organisation's trust anchors (GOV 1.3), exactly like roots added one by one with
//! [`super::add_trust_anchor`].
//!
//! An organisation accepts one list. A list with a higher sequence number replaces the older
//! one and all its anchors at once; an older sequence number is refused, so nobody can roll an
//! organisation back to a list from before a centre was withdrawn. The same sequence number again
//! replaces the stored copy (an idempotent re-import).

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::OrganisationId;
use super::directory::organisation;
use crate::accounts::{Actor, Role};
use crate::pki::trust_list::VerifiedTrustList;
use crate::store::schema::{organisation_trust_list_anchors, organisation_trust_lists};
use crate::store::{DbConnection, DbPool, transaction};
use crate::time::{from_db, to_db};
use crate::{Error, Result};

/// The trust list an organisation accepts, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedTrustList {
    /// The accepting organisation.
    pub organisation_id: OrganisationId,
    /// `TSLSequenceNumber`.
    pub sequence: u64,
    /// `ListIssueDateTime`.
    pub issued: DateTime<Utc>,
    /// `NextUpdate`.
    pub next_update: DateTime<Utc>,
    /// The scheme operator.
    pub operator: String,
    /// SHA-256 (hex) of the certificate that signed the list.
    pub signer_sha256: String,
    /// Subject of that certificate.
    pub signer_subject: String,
    /// How many anchors the list gave.
    pub anchors: usize,
}

/// Makes `list` the trust list of `organisation_id`, replacing an older one and its anchors
/// (GOV 1.3); refuses a list older than the one accepted.
pub fn accept_trust_list(
    pool: &DbPool,
    actor: &Actor,
    organisation_id: &OrganisationId,
    list: &VerifiedTrustList,
) -> Result<AcceptedTrustList> {
    actor.require(&[Role::SystemAdministrator])?;
    let content = &list.content;
    let sequence = i64::try_from(content.sequence).map_err(|_| {
        Error::invalid(
            "trust list",
            "its TSLSequenceNumber is larger than this platform can store",
        )
    })?;
    let next_update = content.next_update.ok_or_else(|| {
        Error::invalid(
            "trust list",
            "it has no NextUpdate; verify it before accepting it",
        )
    })?;
    let anchors = content
        .anchors
        .iter()
        .map(|der| {
            let facts = crate::pki::CertificateFacts::parse(der)?;
            Ok((hex::encode(&facts.sha256), facts.subject(), der.clone()))
        })
        .collect::<Result<Vec<_>>>()?;
    transaction(pool, |conn| {
        organisation(conn, organisation_id)?;
        if let Some(current) = trust_list(conn, organisation_id)?
            && current.sequence > content.sequence
        {
            return Err(Error::refused(
                "trust_list_outdated",
                format!(
                    "{organisation_id} accepts list sequence {} (issued {}); sequence {} is older \
                     and cannot replace it — import the current list",
                    current.sequence, current.issued, content.sequence
                ),
            ));
        }
        diesel::delete(
            organisation_trust_list_anchors::table
                .filter(organisation_trust_list_anchors::organisation_id.eq(organisation_id)),
        )
        .execute(conn)?;
        diesel::delete(organisation_trust_lists::table.find(organisation_id)).execute(conn)?;
        diesel::insert_into(organisation_trust_lists::table)
            .values((
                organisation_trust_lists::organisation_id.eq(organisation_id),
                organisation_trust_lists::sequence.eq(sequence),
                organisation_trust_lists::issued_at.eq(to_db(content.issued)),
                organisation_trust_lists::next_update.eq(to_db(next_update)),
                organisation_trust_lists::operator.eq(&content.operator),
                organisation_trust_lists::signer_sha256.eq(&list.signer_sha256),
                organisation_trust_lists::signer_subject.eq(&list.signer_subject),
                organisation_trust_lists::list.eq(&list.xml),
                organisation_trust_lists::imported_at.eq(to_db(crate::time::now())),
            ))
            .execute(conn)?;
        // Duplicates are dropped: the same certificate may serve several services.
        let mut seen = std::collections::HashSet::new();
        for (sha256, subject, der) in anchors.iter().filter(|a| seen.insert(a.0.clone())) {
            diesel::insert_into(organisation_trust_list_anchors::table)
                .values((
                    organisation_trust_list_anchors::organisation_id.eq(organisation_id),
                    organisation_trust_list_anchors::sha256.eq(sha256),
                    organisation_trust_list_anchors::subject.eq(subject),
                    organisation_trust_list_anchors::certificate.eq(der),
                ))
                .execute(conn)?;
        }
        trust_list(conn, organisation_id)?
            .ok_or_else(|| Error::not_found("trust list of", organisation_id))
    })
}

/// The trust list `organisation_id` accepts, if any.
pub fn trust_list(
    conn: &mut DbConnection,
    organisation_id: &OrganisationId,
) -> Result<Option<AcceptedTrustList>> {
    let row = organisation_trust_lists::table
        .find(organisation_id)
        .select((
            organisation_trust_lists::sequence,
            organisation_trust_lists::issued_at,
            organisation_trust_lists::next_update,
            organisation_trust_lists::operator,
            organisation_trust_lists::signer_sha256,
            organisation_trust_lists::signer_subject,
        ))
        .first::<(i64, _, _, String, String, String)>(conn)
        .optional()?;
    let Some((sequence, issued, next_update, operator, signer_sha256, signer_subject)) = row else {
        return Ok(None);
    };
    let anchors: i64 = organisation_trust_list_anchors::table
        .filter(organisation_trust_list_anchors::organisation_id.eq(organisation_id))
        .count()
        .get_result(conn)?;
    Ok(Some(AcceptedTrustList {
        organisation_id: organisation_id.clone(),
        sequence: u64::try_from(sequence).unwrap_or_default(),
        issued: from_db(issued),
        next_update: from_db(next_update),
        operator,
        signer_sha256,
        signer_subject,
        anchors: usize::try_from(anchors).unwrap_or_default(),
    }))
}

/// The anchors (DER) `organisation_id`'s accepted trust list grants.
pub(super) fn trust_list_anchors(
    conn: &mut DbConnection,
    organisation_id: &OrganisationId,
) -> Result<Vec<Vec<u8>>> {
    Ok(organisation_trust_list_anchors::table
        .filter(organisation_trust_list_anchors::organisation_id.eq(organisation_id))
        .order(organisation_trust_list_anchors::sha256.asc())
        .select(organisation_trust_list_anchors::certificate)
        .load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::both_backends;
    use crate::exchange::testing::{World, administrator};
    use crate::pki::trust_list::TrustListContent;

    fn list(sequence: u64, anchors: Vec<Vec<u8>>) -> VerifiedTrustList {
        let now = crate::time::now();
        VerifiedTrustList {
            content: TrustListContent {
                sequence,
                issued: now,
                next_update: Some(now + chrono::Duration::days(30)),
                operator: "Nazirlik".into(),
                anchors,
            },
            signer_sha256: "ab".repeat(32),
            signer_subject: "CN=Operator".into(),
            xml: b"<tsl/>".to_vec(),
        }
    }

    both_backends!(
        fn gov_1_3_a_newer_list_replaces_the_anchors_and_an_older_one_is_refused(pool: &DbPool) {
            let w = World::new(pool);
            let mut conn = pool.get().unwrap();
            let hierarchy = crate::ca::authority::hierarchy_certificates(&mut conn).unwrap();
            let before = crate::exchange::trust_anchors(&mut conn, &w.finance).unwrap();
            drop(conn);
            let admin = administrator();

            let accepted =
                accept_trust_list(pool, &admin, &w.finance, &list(5, hierarchy.clone())).unwrap();
            assert_eq!((accepted.sequence, accepted.anchors), (5, hierarchy.len()));
            let mut conn = pool.get().unwrap();
            let anchors = crate::exchange::trust_anchors(&mut conn, &w.finance).unwrap();
            assert_eq!(anchors.len(), before.len() + hierarchy.len());
            // Only the organisation that accepted the list trusts its centres.
            assert!(trust_list(&mut conn, &w.health).unwrap().is_none());
            assert!(
                crate::exchange::trust_anchors(&mut conn, &w.health)
                    .unwrap()
                    .is_empty()
            );
            drop(conn);

            // Rolling back to an older list (from before a withdrawal) is refused.
            let err =
                accept_trust_list(pool, &admin, &w.finance, &list(4, Vec::new())).unwrap_err();
            assert_eq!(err.code(), "trust_list_outdated", "{err}");

            // A newer list replaces the older one's anchors: here it grants only the root.
            accept_trust_list(pool, &admin, &w.finance, &list(6, hierarchy[..1].to_vec())).unwrap();
            let mut conn = pool.get().unwrap();
            assert_eq!(
                crate::exchange::trust_anchors(&mut conn, &w.finance)
                    .unwrap()
                    .len(),
                before.len() + 1
            );
            assert_eq!(
                trust_list(&mut conn, &w.finance).unwrap().unwrap().sequence,
                6
            );
        }
    );

    both_backends!(
        fn gov_1_3_only_a_system_administrator_accepts_a_list(pool: &DbPool) {
            let w = World::new(pool);
            let clerk = Actor {
                id: "user:clerk".into(),
                roles: crate::accounts::Roles::parse("clerk").unwrap(),
                organisation: Some(w.finance.clone()),
            };
            let err =
                accept_trust_list(pool, &clerk, &w.finance, &list(1, Vec::new())).unwrap_err();
            assert_eq!(err.code(), "forbidden", "{err}");
        }
    );
}
