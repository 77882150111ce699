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

use super::directory::organisation;
use super::{Exchange, OrganisationId};
use crate::accounts::{Actor, Role};
use crate::pki::trust_list::VerifiedTrustList;
use crate::store::schema::{
    organisation_trust_list_anchors, organisation_trust_lists, published_trust_lists,
};
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
    crate::exchange::directory_cache::changing(pool, |conn| {
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

/// The platform's CA, listed: each CA certificate (root and issuing generations) with its
/// subject, for the list writer.
pub type ListedCertificates = [(String, Vec<u8>)];

/// A trust list this platform published about its own CA.
#[derive(Debug, Clone)]
pub struct PublishedTrustList {
    /// `TSLSequenceNumber`: one more than the previous publication.
    pub sequence: u64,
    /// The signed list.
    pub xml: Vec<u8>,
    /// SHA-256 (hex) of the seal certificate that signed it: what verifiers pin.
    pub signer_sha256: String,
}

impl Exchange {
    /// Publishes the platform's CA as a trust list (ACC 1.2): `write` makes the unsigned list
    /// from its sequence number, issue time, next update and the CA certificates; it is then
    /// sealed, enveloped XAdES through the XML plugin, with the seal of `operator` (GOV 3.3–3.5:
    /// the scheme operator's stamp; the CA's own keys sign only certificates, status information
    /// and timestamps, CSP 2.4), and kept.
    pub fn publish_trust_list(
        &self,
        actor: &Actor,
        operator: &OrganisationId,
        valid_for: chrono::Duration,
        write: impl FnOnce(u64, DateTime<Utc>, DateTime<Utc>, &ListedCertificates) -> Vec<u8>,
    ) -> Result<PublishedTrustList> {
        actor.require(&[Role::SystemAdministrator])?;
        let mut conn = self.pool.get()?;
        let org = organisation(&mut conn, operator)?;
        let (Some(key_ref), Some(certificate)) = (&org.seal_key_ref, &org.seal_certificate) else {
            return Err(Error::refused(
                "no_seal",
                format!(
                    "{operator} has no seal to sign the trust list with; an administrator issues one"
                ),
            ));
        };
        let last: Option<i64> = published_trust_lists::table
            .select(diesel::dsl::max(published_trust_lists::sequence))
            .first(&mut conn)?;
        drop(conn);
        let sequence = u64::try_from(last.unwrap_or(0)).unwrap_or_default() + 1;
        let issued = crate::time::now();
        let next_update = issued + valid_for;
        let listed = self
            .ca
            .authorities()
            .iter()
            .map(|ca| {
                let facts = crate::pki::CertificateFacts::parse(&ca.der)?;
                Ok((facts.subject(), ca.der.clone()))
            })
            .collect::<Result<Vec<_>>>()?;
        let unsigned = write(sequence, issued, next_update, &listed);
        let xml = self.validation.validator.plugin_named("xml")?.clone();
        let signer = self.seal_signer(key_ref)?;
        let chain = self.validation.chain_for(certificate)?;
        let signed = crate::signing::sign(
            xml.as_ref(),
            mubadile_plugin_api::SignTarget::New {
                content: unsigned,
                attached: true,
            },
            crate::signing::SigningIdentity {
                signer: signer.as_ref(),
                certificate,
                chain: &chain,
            },
            issued,
        )?;
        transaction(&self.pool, |conn| {
            diesel::insert_into(published_trust_lists::table)
                .values((
                    published_trust_lists::sequence.eq(i64::try_from(sequence).unwrap_or(i64::MAX)),
                    published_trust_lists::operator_id.eq(operator),
                    published_trust_lists::issued_at.eq(to_db(issued)),
                    published_trust_lists::next_update.eq(to_db(next_update)),
                    published_trust_lists::list.eq(&signed),
                ))
                .execute(conn)?;
            Ok(())
        })?;
        Ok(PublishedTrustList {
            sequence,
            xml: signed,
            signer_sha256: hex::encode(crate::crypto::sha256(certificate)),
        })
    }

    /// The latest trust list this platform published, if any (served at `/pki/trust-list.xml`).
    pub fn latest_trust_list(&self) -> Result<Option<Vec<u8>>> {
        let mut conn = self.pool.get()?;
        Ok(published_trust_lists::table
            .order(published_trust_lists::sequence.desc())
            .select(published_trust_lists::list)
            .first(&mut conn)
            .optional()?)
    }
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

#[cfg(test)]
mod publication {
    use std::sync::Arc;

    use mubadile_plugin_xml::tsl::{Publication, TrustList, publish};

    use super::*;
    use crate::both_backends;
    use crate::exchange::testing::{World, administrator};
    use crate::pki::TrustAnchors;
    use crate::pki::trust_list::{SignerPin, TrustListContent, verify_trust_list};
    use crate::validation::{Indication, Validator};

    both_backends!(
        fn acc_1_2_a_published_list_anchors_only_the_organisation_that_accepts_it(pool: &DbPool) {
            // Another platform publishes its CA, sealed by its Ministry of Justice.
            let publisher_db = crate::store::testing::TestDb::sqlite();
            let publisher = World::new(publisher_db.pool());
            let write = |sequence, issued, next_update, certificates: &ListedCertificates| {
                publish(&Publication {
                    operator: "Ədliyyə Nazirliyi",
                    sequence,
                    issued,
                    next_update,
                    certificates,
                })
            };
            let admin = administrator();
            let publish_once = || {
                publisher
                    .exchange
                    .publish_trust_list(
                        &admin,
                        &publisher.justice,
                        chrono::Duration::days(30),
                        write,
                    )
                    .unwrap()
            };
            let (first, second) = (publish_once(), publish_once());
            assert_eq!((first.sequence, second.sequence), (1, 2));
            assert_eq!(
                publisher.exchange.latest_trust_list().unwrap(),
                Some(second.xml.clone())
            );
            let mut conn = publisher_db.pool().get().unwrap();
            let seal = organisation(&mut conn, &publisher.justice)
                .unwrap()
                .seal_certificate
                .unwrap();
            drop(conn);

            // This platform's Ministry of Finance accepts it; Health does not.
            let w = World::new(pool);
            let validator = Validator::new(vec![
                Arc::new(mubadile_plugin_cms::CmsPlugin),
                Arc::new(mubadile_plugin_xml::XmlPlugin),
            ]);
            let parsed = TrustList::parse(&second.xml).unwrap();
            let content = TrustListContent {
                sequence: parsed.sequence,
                issued: parsed.issued,
                next_update: parsed.next_update,
                operator: parsed.operator.clone(),
                anchors: parsed.current_anchors(),
            };
            let verified = verify_trust_list(
                &validator,
                &second.xml,
                content,
                &SignerPin::Certificate(seal),
                crate::time::now(),
            )
            .unwrap();
            accept_trust_list(pool, &admin, &w.finance, &verified).unwrap();

            let letter = publisher.aygun.sign(b"Salam", true);
            let mut conn = pool.get().unwrap();
            let anchors_of = |conn: &mut DbConnection, org| {
                TrustAnchors::new(
                    crate::exchange::trust_anchors(conn, org)
                        .unwrap()
                        .iter()
                        .map(|der| crate::pki::CertificateFacts::parse(der).unwrap())
                        .collect(),
                )
            };
            let finance = anchors_of(&mut conn, &w.finance);
            let health = anchors_of(&mut conn, &w.health);
            let report = validator.validate(&letter, None, &finance, None).unwrap();
            assert_eq!(report.indication, Indication::TotalPassed, "{report:#?}");
            let report = validator.validate(&letter, None, &health, None).unwrap();
            assert_eq!(report.indication, Indication::Indeterminate, "{report:#?}");
        }
    );
}
