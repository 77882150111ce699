//! The directory of organisations that exchange documents on this platform: their requisites
//! (EDE 3.1: the sender organisation's requisites travel with every document), their seals
//! (GOV 3.3–3.5), the agreements between pairs of organisations (EDE 4.4–4.6) and the document
//! categories each keeps (EDE 1.2, 7.1.4).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::accounts::Actor;
use crate::ca::authority::CertificateAuthority;
use crate::ca::lifecycle::{IssueRequest, KeySource};
use crate::ca::profiles::{Enrollment, SealHolder};
use crate::crypto::KeyAlgorithm;
use crate::exchange::directory_cache::changing;
use crate::store::schema::{
    agreements, document_categories, organisation_trust_anchors, organisations,
};
use crate::store::{DbConnection, DbPool};
use crate::{Error, Result};

/// An organisation's short identifier, chosen when it joins: lower-case Latin letters, digits and
/// '-', e.g. `min-justice`. It names the organisation in URLs, registration numbers and journals.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    diesel_derive_newtype::DieselNewType,
)]
pub struct OrganisationId(pub String);

impl OrganisationId {
    /// Checks the form of an identifier given from outside.
    pub fn parse(input: &str) -> Result<OrganisationId> {
        let id = input.trim();
        let well_formed = (2..=32).contains(&id.len())
            && id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !id.starts_with('-')
            && !id.ends_with('-');
        if !well_formed {
            return Err(Error::invalid(
                "organisation id",
                format!(
                    "{id:?} must be 2 to 32 lower-case Latin letters, digits and inner '-', e.g. min-justice"
                ),
            ));
        }
        Ok(OrganisationId(id.to_string()))
    }
}

impl std::fmt::Display for OrganisationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An organisation as the directory keeps it.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = organisations)]
pub struct Organisation {
    /// Identifier.
    pub id: OrganisationId,
    /// Full official name.
    pub name: String,
    /// Tax identification number (VÖEN), 10 digits.
    pub tax_id: String,
    /// Postal address (EDE 3.1).
    pub address: String,
    /// Telephone (EDE 3.2).
    pub phone: Option<String>,
    /// E-mail for notices (EDE 3.2).
    pub email: String,
    /// The seal key in the platform's key store.
    pub seal_key_ref: Option<String>,
    /// The seal certificate (DER).
    pub seal_certificate: Option<Vec<u8>>,
    /// Where its systems receive signed notices (webhooks).
    pub webhook_url: Option<String>,
    /// The secret the notices are signed with (HMAC-SHA256).
    pub webhook_secret: Option<String>,
    /// When it joined (UTC).
    pub created_at: NaiveDateTime,
}

/// What joining needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOrganisation {
    /// Identifier (see [`OrganisationId::parse`]).
    pub id: String,
    /// Full official name.
    pub name: String,
    /// Tax identification number (VÖEN), 10 digits.
    pub tax_id: String,
    /// Postal address.
    pub address: String,
    /// Telephone.
    #[serde(default)]
    pub phone: Option<String>,
    /// E-mail for notices.
    pub email: String,
}

/// The sender organisation's requisites as they travel in a document (EDE 3.1, 3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganisationRequisites {
    /// Identifier on this platform.
    pub id: OrganisationId,
    /// Full official name.
    pub name: String,
    /// Tax identification number (VÖEN).
    pub tax_id: String,
    /// Postal address.
    pub address: String,
    /// Telephone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// E-mail.
    pub email: String,
}

impl NewOrganisation {
    /// The directory entry, checked and trimmed, without a seal yet.
    pub(crate) fn checked(&self) -> Result<Organisation> {
        let id = OrganisationId::parse(&self.id)?;
        let tax_id = self.tax_id.trim().to_string();
        if tax_id.len() != 10 || !tax_id.chars().all(|c| c.is_ascii_digit()) {
            return Err(Error::invalid(
                "tax id",
                format!("{tax_id:?} must be the 10 digits of the organisation's VÖEN"),
            ));
        }
        for (what, value) in [
            ("name", &self.name),
            ("address", &self.address),
            ("email", &self.email),
        ] {
            if value.trim().is_empty() {
                return Err(Error::invalid(
                    "organisation",
                    format!(
                        "the {what} is empty; every organisation's requisites carry it (EDE 3.1)"
                    ),
                ));
            }
        }
        Ok(Organisation {
            id,
            name: self.name.trim().to_string(),
            tax_id,
            address: self.address.trim().to_string(),
            phone: self.phone.as_ref().map(|p| p.trim().to_string()),
            email: self.email.trim().to_string(),
            seal_key_ref: None,
            seal_certificate: None,
            webhook_url: None,
            webhook_secret: None,
            created_at: crate::time::to_db(crate::time::now()),
        })
    }
}

impl Organisation {
    /// The requisites a document from this organisation carries.
    pub fn requisites(&self) -> OrganisationRequisites {
        OrganisationRequisites {
            id: self.id.clone(),
            name: self.name.clone(),
            tax_id: self.tax_id.clone(),
            address: self.address.clone(),
            phone: self.phone.clone(),
            email: self.email.clone(),
        }
    }
}

/// Adds an organisation to the directory and has the embedded CA issue its seal (GOV 3.3–3.5),
/// whose key the platform keeps in its key store and applies to every envelope the organisation
/// sends (EDE 4.2: sending by an automated system acting as the sender programmed it).
pub fn create_organisation(
    ca: &CertificateAuthority,
    actor: &Actor,
    new: &NewOrganisation,
) -> Result<Organisation> {
    actor.require(&[crate::accounts::Role::SystemAdministrator])?;
    let checked = new.checked()?;
    let (id, tax_id) = (checked.id.clone(), checked.tax_id.clone());
    {
        let mut conn = ca.pool().get()?;
        if find_organisation(&mut conn, &id)?.is_some() {
            return Err(Error::refused(
                "organisation_exists",
                format!("an organisation {id} is in the directory already"),
            ));
        }
    }
    let suffix = hex::encode(crate::crypto::random_bytes::<4>()?);
    let issued = ca.issue(
        actor,
        &IssueRequest {
            ca: None,
            enrollment: Enrollment::OrganisationSeal(SealHolder {
                organisation: new.name.trim().to_string(),
                organisation_id: tax_id.clone(),
                seal_name: format!("{} — elektron möhür", new.name.trim()),
                purpose: "Elektron sənəd mübadiləsi".into(),
                area_of_use: "Mübadilə platformasında göndərilən sənədlərin zərfləri".into(),
                seal_text: new.name.trim().to_string(),
                email: new.email.trim().to_string(),
            }),
            key: KeySource::Platform {
                name: format!("seal-{id}-{suffix}"),
                algorithm: KeyAlgorithm::EcdsaP256,
            },
            public_consent: true,
        },
    )?;
    let organisation = Organisation {
        seal_key_ref: issued.key_ref,
        seal_certificate: Some(issued.certificate),
        ..checked
    };
    changing(ca.pool(), |conn| {
        diesel::insert_into(organisations::table)
            .values(&organisation)
            .execute(conn)?;
        Ok(())
    })?;
    Ok(organisation)
}

/// The organisation `id`, if it is in the directory.
pub fn find_organisation(
    conn: &mut DbConnection,
    id: &OrganisationId,
) -> Result<Option<Organisation>> {
    Ok(organisations::table
        .find(id)
        .select(Organisation::as_select())
        .first(conn)
        .optional()?)
}

/// The organisation `id`, or a not-found error naming it.
pub fn organisation(conn: &mut DbConnection, id: &OrganisationId) -> Result<Organisation> {
    find_organisation(conn, id)?.ok_or_else(|| Error::not_found("organisation", id))
}

/// Every organisation, by identifier: the directory of addressees.
pub fn list_organisations(conn: &mut DbConnection) -> Result<Vec<Organisation>> {
    Ok(organisations::table
        .order(organisations::id)
        .select(Organisation::as_select())
        .load(conn)?)
}

/// How the recipient confirms receipt (EDE 4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptKind {
    /// An unsigned automatic notice, sent as soon as verification passes.
    Automatic,
    /// A receipt document signed by the recipient.
    Signed,
}

impl ReceiptKind {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            ReceiptKind::Automatic => "automatic",
            ReceiptKind::Signed => "signed",
        }
    }

    /// Parses the stored or given name.
    pub fn parse(name: &str) -> Result<ReceiptKind> {
        match name {
            "automatic" => Ok(ReceiptKind::Automatic),
            "signed" => Ok(ReceiptKind::Signed),
            other => Err(Error::invalid(
                "receipt kind",
                format!("{other:?} is not one of automatic, signed"),
            )),
        }
    }
}

/// What two organisations agreed about the documents one sends the other (EDE 4.4–4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Agreement {
    /// How receipt is confirmed.
    pub receipt_kind: ReceiptKind,
    /// Hours the recipient has to confirm receipt (EDE 4.6).
    pub term_hours: i64,
}

impl Default for Agreement {
    /// Without an agreement: an automatic notice (EDE 4.4 "unless agreed otherwise") within
    /// three days.
    fn default() -> Agreement {
        Agreement {
            receipt_kind: ReceiptKind::Automatic,
            term_hours: 72,
        }
    }
}

/// Records (or replaces) what `sender` and `recipient` agreed.
pub fn set_agreement(
    pool: &DbPool,
    actor: &Actor,
    sender: &OrganisationId,
    recipient: &OrganisationId,
    agreement: Agreement,
) -> Result<()> {
    actor.require(&[crate::accounts::Role::SystemAdministrator])?;
    if agreement.term_hours < 1 {
        return Err(Error::invalid(
            "term",
            "the receipt term must be at least one hour (EDE 4.6)",
        ));
    }
    changing(pool, |conn| {
        organisation(conn, sender)?;
        organisation(conn, recipient)?;
        diesel::delete(agreements::table.find((sender, recipient))).execute(conn)?;
        diesel::insert_into(agreements::table)
            .values((
                agreements::sender_id.eq(sender),
                agreements::recipient_id.eq(recipient),
                agreements::receipt_kind.eq(agreement.receipt_kind.name()),
                agreements::term_hours.eq(agreement.term_hours),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// What `sender` and `recipient` agreed, or the default.
pub fn agreement(
    conn: &mut DbConnection,
    sender: &OrganisationId,
    recipient: &OrganisationId,
) -> Result<Agreement> {
    let row: Option<(String, i64)> = agreements::table
        .find((sender, recipient))
        .select((agreements::receipt_kind, agreements::term_hours))
        .first(conn)
        .optional()?;
    Ok(match row {
        Some((kind, term_hours)) => Agreement {
            receipt_kind: ReceiptKind::parse(&kind)?,
            term_hours,
        },
        None => Agreement::default(),
    })
}

/// A category of documents an organisation keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Queryable, Selectable, Insertable)]
#[diesel(table_name = document_categories)]
pub struct Category {
    /// The organisation.
    pub organisation_id: OrganisationId,
    /// The category's name, e.g. `general` or `state-secret`.
    pub name: String,
    /// Whether documents of it may be exchanged at all (EDE 1.2: state secrets may not).
    pub exchangeable: bool,
    /// Years its documents are kept before disposal may be proposed (EDE 7.1.4).
    pub retention_years: i32,
}

/// The category every document belongs to unless it names another.
pub const GENERAL: &str = "general";

/// Records (or replaces) a category of `organisation`.
pub fn set_category(pool: &DbPool, actor: &Actor, category: &Category) -> Result<()> {
    actor.require(&[crate::accounts::Role::SystemAdministrator])?;
    if category.name.trim().is_empty() || category.retention_years < 1 {
        return Err(Error::invalid(
            "category",
            "give a name and a retention period of at least one year (EDE 7.1.4)",
        ));
    }
    changing(pool, |conn| {
        organisation(conn, &category.organisation_id)?;
        diesel::delete(
            document_categories::table.find((&category.organisation_id, &category.name)),
        )
        .execute(conn)?;
        diesel::insert_into(document_categories::table)
            .values(category)
            .execute(conn)?;
        Ok(())
    })
}

/// The category `name` of `organisation`; `general` exists for everyone (exchangeable, kept
/// 10 years) unless the organisation defined it otherwise.
pub fn category(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    name: &str,
) -> Result<Category> {
    let found = document_categories::table
        .find((organisation, name))
        .select(Category::as_select())
        .first(conn)
        .optional()?;
    match found {
        Some(category) => Ok(category),
        None if name == GENERAL => Ok(Category {
            organisation_id: organisation.clone(),
            name: GENERAL.into(),
            exchangeable: true,
            retention_years: 10,
        }),
        None => Err(Error::invalid(
            "category",
            format!(
                "{organisation} has no document category {name:?}; define it first or send as {GENERAL:?}"
            ),
        )),
    }
}

/// Adds a root certificate (DER) that `organisation` accepts signatures under, besides the
/// platform's own (GOV 1.3: the trust policy of an organisation); returns its subject.
pub fn add_trust_anchor(
    pool: &DbPool,
    actor: &Actor,
    organisation_id: &OrganisationId,
    certificate: &[u8],
) -> Result<String> {
    actor.require(&[crate::accounts::Role::SystemAdministrator])?;
    let facts = crate::pki::CertificateFacts::parse(certificate)?;
    if !facts.self_issued() {
        return Err(Error::invalid(
            "trust anchor",
            "give the root certificate of the other centre (self-issued), not an intermediate or end-entity certificate",
        ));
    }
    let subject = facts.subject();
    changing(pool, |conn| {
        organisation(conn, organisation_id)?;
        let sha256 = hex::encode(crate::crypto::sha256(certificate));
        diesel::delete(organisation_trust_anchors::table.find((organisation_id, &sha256)))
            .execute(conn)?;
        diesel::insert_into(organisation_trust_anchors::table)
            .values((
                organisation_trust_anchors::organisation_id.eq(organisation_id),
                organisation_trust_anchors::sha256.eq(&sha256),
                organisation_trust_anchors::subject.eq(&subject),
                organisation_trust_anchors::certificate.eq(certificate),
                organisation_trust_anchors::added_at.eq(crate::time::to_db(crate::time::now())),
            ))
            .execute(conn)?;
        Ok(())
    })?;
    Ok(subject)
}

/// The further trust anchors (DER) `organisation` accepts: the roots added one by one, then the
/// CA certificates its accepted trust list grants (GOV 1.3).
pub fn trust_anchors(
    conn: &mut DbConnection,
    organisation_id: &OrganisationId,
) -> Result<Vec<Vec<u8>>> {
    let mut anchors: Vec<Vec<u8>> = organisation_trust_anchors::table
        .filter(organisation_trust_anchors::organisation_id.eq(organisation_id))
        .order(organisation_trust_anchors::added_at.asc())
        .select(organisation_trust_anchors::certificate)
        .load(conn)?;
    anchors.extend(super::trust_lists::trust_list_anchors(
        conn,
        organisation_id,
    )?);
    Ok(anchors)
}
