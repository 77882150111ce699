//! Archival packages (EDE 7): per document, everything needed to show years later what was sent
//! and received and that it was authentic, without the platform's database: the envelope as
//! sent, each recipient's receipt, validation report and the validation data the verification
//! relied on (certificates, CRLs, OCSP answers, timestamps; EDE 7.2–7.3), the journal entries,
//! and `package.json` with sender, recipients, the times sent and received (EDE 7.1.2), the
//! retention period (EDE 7.1.4) and the SHA-256 of every file.
//!
//! Each journal entry comes with its inclusion proof in the earliest signed, timestamped
//! checkpoint that covers it, and the validation data of that checkpoint's signature, so that
//! [`verify_package`] can show offline that the envelope existed when the journal registered it
//! and judge every signature as of then.
//!
//! The envelope's RFC 4998 evidence record ([`evidence`], `evidence/envelope.ers`) keeps proving
//! that it existed unchanged after the timestamps above have expired, and so do each receipt's
//! (`evidence/receipts/`) and each checkpoint signature's (`evidence/checkpoints/`) for the
//! checkpoint's own timestamp; the
//! certificates of their timestamps' TSA paths go under `validation-data/evidence/`.

pub mod evidence;
mod verify;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use mubadile_plugin_api::ValidationData;
use serde::Serialize;

pub use verify::{PackageCheck, PackageVerification, verify_package};

use super::Exchange;
use super::delivery::Evidence;
use super::directory::{OrganisationId, organisation};
use super::query::DocumentView;
use crate::accounts::Actor;
use crate::journal::{Journal, JournalEntry};
use crate::store::blob;
use crate::store::schema::deliveries;
use crate::{Error, Result};

/// Where the package keeps the journal entries.
const JOURNAL_FILE: &str = "journal.json";
/// The folder of the entries' inclusion proofs.
const PROOFS_DIR: &str = "journal/proofs";
/// The folder of the validation data of the checkpoints' signatures.
const CHECKPOINT_DATA_DIR: &str = "validation-data/checkpoints";

/// The folder of the certificates of the evidence record's TSA paths.
const EVIDENCE_DATA_DIR: &str = "validation-data/evidence";

/// The media type of an archival package (its `mimetype` entry, first and stored).
pub const PACKAGE_MEDIA_TYPE: &str = "application/vnd.mubadile.archive-package+zip";

/// `package.json`.
#[derive(Debug, Clone, Serialize)]
struct Package<'a> {
    #[serde(rename = "type")]
    kind_of_record: &'static str,
    version: u32,
    document: &'a DocumentView,
    /// SHA-256 (hex) of the seal certificates of the sender and of the exporter: the seals the
    /// envelope and the checkpoints must be signed with.
    seals: BTreeMap<&'a OrganisationId, String>,
    retention_years: i32,
    keep_until: DateTime<Utc>,
    exported_by: &'a OrganisationId,
    exported_at: DateTime<Utc>,
    files: Vec<(String, String)>,
}

impl Exchange {
    /// An archivist of an organisation exports its package of document `id` (EDE 7.4: only
    /// the organisation's people with that role).
    pub fn export_package(&self, actor: &Actor, id: &str) -> Result<Vec<u8>> {
        let organisation = super::retention::archivist_of(actor)?;
        self.archive_package(&organisation, id)
    }

    /// The archival package of document `id` as `viewer` keeps it: the sender's holds every
    /// delivery, a recipient's only its own.
    pub fn archive_package(&self, viewer: &OrganisationId, id: &str) -> Result<Vec<u8>> {
        let view = self.document(viewer, id)?;
        let mut conn = self.pool.get()?;
        super::retention::refuse_if_disposed(&mut conn, viewer, id)?;
        let mut files: Vec<(String, Vec<u8>)> = vec![(
            "envelope.asice".into(),
            blob(&mut conn, &view.envelope_sha256)?,
        )];
        let mut records = vec![(
            evidence::ENVELOPE_RECORD.to_string(),
            self.blob_evidence(evidence::Covered::Envelope, &view.envelope_sha256)?,
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
                records.push((
                    evidence::receipt_record_path(&recipient.0),
                    self.blob_evidence(evidence::Covered::Receipt, sha256)?,
                ));
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
        let entries = crate::journal::of_document(&mut conn, viewer, id)?;
        files.push((
            JOURNAL_FILE.into(),
            serde_json::to_vec_pretty(&entries)
                .map_err(|e| Error::invalid("journal", e.to_string()))?,
        ));
        let (proofs, checkpoint_records) = self.journal_proofs(&entries)?;
        files.extend(proofs);
        records.extend(checkpoint_records);
        files.extend(self.evidence_files(&records)?);
        let mut seals = BTreeMap::new();
        for id in [&view.sender, viewer] {
            if let Some(certificate) = organisation(&mut conn, id)?.seal_certificate {
                seals.insert(id, hex::encode(crate::crypto::sha256(&certificate)));
            }
        }
        let (retention_years, keep_until) = super::retention::retention(&mut conn, &view)?;
        let package = Package {
            kind_of_record: "mubadile-archive-package",
            version: 2,
            document: &view,
            seals,
            retention_years,
            keep_until,
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

    /// The inclusion proof of each entry that a checkpoint covers, and the validation data of
    /// those checkpoints' signatures as they validate now; and the evidence record of each
    /// of those signatures, by its path in the package.
    fn journal_proofs(&self, entries: &[JournalEntry]) -> Result<JournalProofs> {
        let mut files = Vec::new();
        let mut checkpoint_data = Vec::new();
        let mut records = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for entry in entries {
            let which = Journal::parse(&entry.journal)?;
            let proof = match self.inclusion_proof(&entry.organisation_id, which, entry.seq) {
                Ok(proof) => proof,
                // The package says so, and its verification reports the entry as unproven.
                Err(Error::Refused {
                    code: "not_checkpointed",
                    ..
                }) => continue,
                Err(e) => return Err(e),
            };
            if seen.insert(crate::crypto::sha256(&proof.checkpoint_signature)) {
                let report = self.validation.validate(
                    &proof.checkpoint_signature,
                    Some(&proof.checkpoint),
                    None,
                )?;
                checkpoint_data.extend(report.signatures.into_iter().map(|s| s.validation_data));
                let statement = proof
                    .check()
                    .map_err(|why| Error::invalid("inclusion proof", why))?;
                let source = format!(
                    "{}/{}/{}",
                    statement.organisation, statement.journal, statement.seq
                );
                records.push((
                    evidence::checkpoint_record_path(&proof.checkpoint_signature),
                    self.checkpoint_evidence(source, &proof.checkpoint_signature)?,
                ));
            }
            files.push((
                proof_path(which, entry.seq),
                serde_json::to_vec_pretty(&proof)
                    .map_err(|e| Error::invalid("proof", e.to_string()))?,
            ));
        }
        files.extend(validation_data_files(
            CHECKPOINT_DATA_DIR,
            &checkpoint_data,
            &[],
        ));
        Ok((files, records))
    }
}

/// Files of a package by path, and evidence records by the path they will have.
type JournalProofs = (
    Vec<(String, Vec<u8>)>,
    Vec<(String, evidence::EvidenceRecord)>,
);

impl Exchange {
    /// The evidence records (the envelope's and the checkpoints'), by path, each newest
    /// timestamp carrying its TSA path's CRLs as of now, and the certificates of their TSAs'
    /// paths to the platform's roots, so that they verify offline.
    fn evidence_files(
        &self,
        records: &[(String, evidence::EvidenceRecord)],
    ) -> Result<Vec<(String, Vec<u8>)>> {
        let mut tokens = std::collections::HashMap::new();
        let mut current = Vec::with_capacity(records.len());
        for (path, record) in records {
            // Without today's CRLs the newest timestamp still carries those of its making.
            let record = match self.with_current_tsa_status(record.clone(), &mut tokens) {
                Ok(record) => record,
                Err(e) => {
                    tracing::warn!(
                        path = %path,
                        "the package's evidence record keeps the CRLs its newest timestamp was \
                         made with: today's could not be added ({e})"
                    );
                    record.clone()
                }
            };
            current.push((path.clone(), record));
        }
        let records = current;
        let known = &self.validation.validator.known_certificates;
        let mut certificates = Vec::new();
        let stamps = records
            .iter()
            .flat_map(|(_, record)| record.archive_time_stamp_sequence.iter().flatten());
        for ats in stamps {
            let Ok(signed) = ats
                .time_stamp
                .content
                .decode_as::<cms::signed_data::SignedData>()
            else {
                continue;
            };
            for choice in signed.certificates.iter().flat_map(|set| set.0.iter()) {
                if let cms::cert::CertificateChoices::Certificate(c) = choice {
                    certificates.push(der::Encode::to_der(c)?);
                }
            }
        }
        certificates.extend(known.iter().map(|c| c.der.clone()));
        let data = ValidationData {
            certificates,
            ..ValidationData::default()
        };
        let mut files = records
            .iter()
            .map(|(path, record)| Ok((path.clone(), record.der()?)))
            .collect::<Result<Vec<_>>>()?;
        files.extend(validation_data_files(EVIDENCE_DATA_DIR, &[data], &[]));
        Ok(files)
    }
}

/// Whether `bytes` look like an archival package: a ZIP whose first entry is the stored
/// `mimetype` naming [`PACKAGE_MEDIA_TYPE`] (ETSI EN 319 162-1 containers put it there).
pub fn is_package(bytes: &[u8]) -> bool {
    super::asic::is_container(bytes, PACKAGE_MEDIA_TYPE)
}

/// Where the inclusion proof of entry `seq` of `journal` lies in a package.
fn proof_path(journal: Journal, seq: i64) -> String {
    format!("{PROOFS_DIR}/{journal}-{seq}.json")
}

/// The validation data as separate DER files under `dir`.
fn evidence_files(dir: &str, evidence: &Evidence) -> Vec<(String, Vec<u8>)> {
    let all: Vec<ValidationData> = evidence
        .seal
        .iter()
        .chain(&evidence.document)
        .cloned()
        .collect();
    validation_data_files(dir, &all, &evidence.timestamps)
}

/// Certificates, CRLs, OCSP answers and timestamp tokens as separate DER files under `dir`,
/// each once.
fn validation_data_files(
    dir: &str,
    all: &[ValidationData],
    timestamps: &[Vec<u8>],
) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
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
    for token in timestamps {
        let name = hex::encode(&crate::crypto::sha256(token)[..8]);
        files.push((format!("{dir}/timestamps/{name}.tst"), token.clone()));
    }
    files
}
