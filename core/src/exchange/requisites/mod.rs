//! The requisites of a document (EDE 3.1–3.3): what a document carries besides its signatures,
//! and the check before sending that refuses a document with any of them missing (EDE 4.1).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::directory::{OrganisationId, OrganisationRequisites};

pub mod xml;

/// Every requisite of a sent document, as the envelope carries it in `requisites.xml` ([`xml`];
/// envelopes sealed before that carry `requisites.json`, this structure in JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requisites {
    /// The form of this structure; `1`.
    pub version: u32,
    /// The sender's registration number of the outgoing document (EDE 3.1).
    pub registration_number: String,
    /// The date of registration, in Baku (EDE 3.1).
    pub registration_date: NaiveDate,
    /// The kind of document, e.g. `letter`, `order`, `decision` (EDE 3.3: layout per kind).
    pub kind: String,
    /// What the document is about: the heading of its general part (EDE 3.1).
    pub title: String,
    /// The sender organisation's requisites (EDE 3.1).
    pub sender: OrganisationRequisites,
    /// Who the document is addressed to (EDE 3.1).
    pub addressees: Vec<Addressee>,
    /// Optional requisites (EDE 3.2).
    #[serde(default)]
    pub optional: OptionalRequisites,
}

/// One addressee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Addressee {
    /// The organisation on this platform.
    pub id: OrganisationId,
    /// Its name as the directory gives it.
    pub name: String,
}

/// Requisites a document may carry (EDE 3.2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptionalRequisites {
    /// Telephone of the sender's contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Fax of the sender's contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fax: Option<String>,
    /// E-mail of the sender's contact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Name of the person entitled to approve the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver: Option<String>,
    /// Name of the person who prepared it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<String>,
    /// The registration number of the document this one answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
}

/// The current form of [`Requisites`].
pub const VERSION: u32 = 1;

impl Requisites {
    /// What is missing or malformed, in words a clerk can act on; empty when the requisites are
    /// complete (EDE 3.1 checked before sending, EDE 4.1, and on receipt, EDE 5.1.1).
    pub fn defects(&self) -> Vec<String> {
        let mut defects = Vec::new();
        if self.version != VERSION {
            defects.push(format!(
                "requisites version {} is not the supported {VERSION}",
                self.version
            ));
        }
        let blank = |s: &str| s.trim().is_empty();
        if blank(&self.registration_number) {
            defects.push("the registration number is missing (EDE 3.1)".into());
        }
        if blank(&self.kind) {
            defects.push("the document kind is missing (EDE 3.3)".into());
        }
        if blank(&self.title) {
            defects.push("the title (what the document is about) is missing (EDE 3.1)".into());
        }
        let sender = &self.sender;
        for (what, value) in [
            ("name", &sender.name),
            ("tax id", &sender.tax_id),
            ("address", &sender.address),
            ("e-mail", &sender.email),
        ] {
            if blank(value) {
                defects.push(format!("the sender's {what} is missing (EDE 3.1)"));
            }
        }
        if self.addressees.is_empty() {
            defects.push("no addressee is given (EDE 3.1, 4.1)".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for addressee in &self.addressees {
            if !seen.insert(&addressee.id) {
                defects.push(format!("{} is addressed twice (EDE 4.1)", addressee.id));
            }
            if addressee.id == sender.id {
                defects.push(format!(
                    "{} cannot address a document to itself (EDE 4.1)",
                    addressee.id
                ));
            }
        }
        // EDE 5.1.1: the recipient validates the requisites against the schema; refuse here
        // what it would refuse there.
        defects.extend(xml::value_defects(self));
        defects
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Complete requisites of a letter from Justice to Finance.
    pub(crate) fn complete() -> Requisites {
        Requisites {
            version: VERSION,
            registration_number: "MJ-2026/00001".into(),
            registration_date: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            kind: "letter".into(),
            title: "Hesabat haqqında".into(),
            sender: OrganisationRequisites {
                id: OrganisationId("min-justice".into()),
                name: "Ədliyyə Nazirliyi".into(),
                tax_id: "1234567890".into(),
                address: "Bakı, İnşaatçılar pr. 1".into(),
                phone: None,
                email: "info@justice.gov.az".into(),
            },
            addressees: vec![Addressee {
                id: OrganisationId("min-finance".into()),
                name: "Maliyyə Nazirliyi".into(),
            }],
            optional: OptionalRequisites::default(),
        }
    }

    #[test]
    fn ede_3_1_complete_requisites_have_no_defects() {
        assert!(complete().defects().is_empty());
    }

    #[test]
    fn ede_4_1_every_missing_requisite_is_named() {
        let mut r = complete();
        r.registration_number = " ".into();
        r.title = String::new();
        r.sender.address = String::new();
        r.addressees.clear();
        let defects = r.defects().join("; ");
        for expected in ["registration number", "title", "address", "no addressee"] {
            assert!(defects.contains(expected), "{defects}");
        }
    }

    #[test]
    fn ede_4_1_wrong_addressing_is_refused() {
        let mut r = complete();
        r.addressees.push(r.addressees[0].clone());
        r.addressees.push(Addressee {
            id: r.sender.id.clone(),
            name: r.sender.name.clone(),
        });
        let defects = r.defects().join("; ");
        assert!(defects.contains("addressed twice"), "{defects}");
        assert!(defects.contains("to itself"), "{defects}");
    }

    #[test]
    fn requisites_round_trip_through_json_and_refuse_unknown_fields() {
        let r = complete();
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Requisites>(&json).unwrap(), r);
        let tampered = json.replacen("{", "{\"secret\":1,", 1);
        assert!(serde_json::from_str::<Requisites>(&tampered).is_err());
    }
}
