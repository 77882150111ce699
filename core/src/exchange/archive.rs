//! Archival packages (EDE 7): per document, everything needed to show years later what was sent
//! and received and that it was authentic, without the platform's database: the envelope as
//! sent, each recipient's receipt, validation report and the validation data the verification
//! relied on (certificates, CRLs, OCSP answers, timestamps; EDE 7.2–7.3), the journal entries,
//! and `package.json` with sender, recipients, the times sent and received (EDE 7.1.2), the
//! retention period (EDE 7.1.4) and the SHA-256 of every file.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::Exchange;
use super::delivery::Evidence;
use super::directory::{OrganisationId, category};
use super::query::DocumentView;
use crate::journal::JournalEntry;
use crate::store::blob;
use crate::store::schema::{deliveries, journal_entries};
use crate::{Error, Result};

/// The media type of an archival package (its `mimetype` entry, first and stored).
pub const PACKAGE_MEDIA_TYPE: &str = "application/vnd.mubadile.archive-package+zip";

/// `package.json`.
#[derive(Debug, Clone, Serialize)]
struct Package<'a> {
    #[serde(rename = "type")]
    kind_of_record: &'static str,
    version: u32,
    document: &'a DocumentView,
    retention_years: i32,
    keep_until: DateTime<Utc>,
    exported_by: &'a OrganisationId,
    exported_at: DateTime<Utc>,
    files: Vec<(String, String)>,
}

impl Exchange {
    /// The archival package of document `id` as `viewer` keeps it: the sender's holds every
    /// delivery, a recipient's only its own.
    pub fn archive_package(&self, viewer: &OrganisationId, id: &str) -> Result<Vec<u8>> {
        let view = self.document(viewer, id)?;
        let mut conn = self
            .pool
            .get()
            .map_err(|e| Error::Connection(e.to_string()))?;
        let mut files: Vec<(String, Vec<u8>)> = vec![(
            "envelope.asice".into(),
            blob(&mut conn, &view.envelope_sha256)?,
        )];
        for delivery in &view.deliveries {
            let recipient = &delivery.recipient;
            if let Some(sha256) = &delivery.receipt_sha256 {
                let receipt = blob(&mut conn, sha256)?;
                let extension = if receipt.starts_with(b"PK") {
                    "asics"
                } else {
                    "json"
                };
                files.push((format!("receipts/{recipient}.{extension}"), receipt));
            }
            let (report, evidence): (Option<String>, Option<String>) = deliveries::table
                .find(&delivery.id)
                .select((deliveries::report, deliveries::evidence_sha256))
                .first(&mut conn)?;
            if let Some(report) = report {
                files.push((format!("reports/{recipient}.json"), report.into_bytes()));
            }
            if let Some(sha256) = evidence {
                let evidence: Evidence = serde_json::from_slice(&blob(&mut conn, &sha256)?)
                    .map_err(|e| Error::invalid("stored evidence", e.to_string()))?;
                files.extend(evidence_files(
                    &format!("validation-data/{recipient}"),
                    &evidence,
                ));
            }
        }
        let entries: Vec<JournalEntry> = journal_entries::table
            .filter(journal_entries::organisation_id.eq(viewer))
            .filter(journal_entries::document_id.eq(id))
            .order((journal_entries::journal.asc(), journal_entries::seq.asc()))
            .select(JournalEntry::as_select())
            .load(&mut conn)?;
        files.push((
            "journal.json".into(),
            serde_json::to_vec_pretty(&entries)
                .map_err(|e| Error::invalid("journal", e.to_string()))?,
        ));
        let retention_years =
            category(&mut conn, &view.sender, &view.category).map_or(10, |c| c.retention_years);
        let package = Package {
            kind_of_record: "mubadile-archive-package",
            version: 1,
            document: &view,
            retention_years,
            keep_until: view.sent_at + Duration::days(366 * i64::from(retention_years)),
            exported_by: viewer,
            exported_at: crate::time::now(),
            files: files
                .iter()
                .map(|(path, bytes)| (path.clone(), hex::encode(crate::crypto::sha256(bytes))))
                .collect(),
        };
        let package = serde_json::to_vec_pretty(&package)
            .map_err(|e| Error::invalid("package", e.to_string()))?;
        let mut entries: Vec<(&str, &[u8])> = vec![("package.json", &package)];
        entries.extend(
            files
                .iter()
                .map(|(path, bytes)| (path.as_str(), bytes.as_slice())),
        );
        super::asic::write(PACKAGE_MEDIA_TYPE, &entries)
    }
}

/// The validation data as separate DER files under `dir`.
fn evidence_files(dir: &str, evidence: &Evidence) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let all = evidence.seal.iter().chain(&evidence.document);
    for data in all {
        for (folder, extension, items) in [
            ("certificates", "der", &data.certificates),
            ("crls", "crl", &data.crls),
            ("ocsp", "der", &data.ocsp_responses),
        ] {
            for item in items {
                let name = hex::encode(&crate::crypto::sha256(item)[..8]);
                if seen.insert((folder, name.clone())) {
                    files.push((format!("{dir}/{folder}/{name}.{extension}"), item.clone()));
                }
            }
        }
    }
    for token in &evidence.timestamps {
        let name = hex::encode(&crate::crypto::sha256(token)[..8]);
        files.push((format!("{dir}/timestamps/{name}.tst"), token.clone()));
    }
    files
}
