//! Offline verification of an archival package (EDE 7): from the package alone and the trust
//! anchors the archivist chooses, with no database and no network.
//!
//! 1. Every file is there with the SHA-256 `package.json` lists, and nothing else is.
//! 2. The envelope is the one the package names, its form and digests intact (EDE 5.1.1).
//! 3. Every journal entry is unaltered and in a checkpoint that the exporter's seal signed and
//!    the TSA timestamped (EDE 6.2): the earliest such time proves the envelope existed then.
//! 4. The seal and every signature of the document are judged as of that time, with the
//!    certificates and revocation answers the package keeps (EDE 7.2–7.3, SVR 2.3).
//! 5. Every receipt binds the envelope's SHA-256; a signed one is validated too (EDE 4.4–4.5);
//!    its own evidence record holds, as in 6.
//! 6. The envelope's RFC 4998 evidence record leads from its bytes to every archive timestamp,
//!    each valid when the next was made and the newest valid now (RFC 4998 5.3, EDE 7.4), its
//!    TSA certificate not revoked by the CRLs the timestamp carries (RFC 4998 4.2).
//! 7. So does the evidence record of each checkpoint signature the inclusion proofs lead to: it
//!    keeps the checkpoint's own timestamp provable after its TSA certificate ends.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use mubadile_plugin_api::ValidationData;
use serde::{Deserialize, Serialize};

use super::super::directory::OrganisationId;
use super::super::envelope;
use super::super::proofs::InclusionProof;
use super::super::receipt::{self, Receipt};
use super::{JOURNAL_FILE, PACKAGE_MEDIA_TYPE, PROOFS_DIR, evidence, proof_path};
use crate::journal::{Journal, JournalEntry};
use crate::pki::{CertificateFacts, TrustAnchors};
use crate::validation::{Indication, ValidationReport, Validator};
use crate::{Error, Result};

/// One thing checked.
#[derive(Debug, Clone, Serialize)]
pub struct PackageCheck {
    /// What was checked, e.g. `seal` or `journal outgoing 12`.
    pub subject: String,
    /// How it came out.
    pub indication: Indication,
    /// What was found.
    pub detail: String,
}

/// What [`verify_package`] found.
#[derive(Debug, Clone, Serialize)]
pub struct PackageVerification {
    /// The worst of the checks.
    pub indication: Indication,
    /// The document.
    pub document_id: String,
    /// The sender's registration number.
    pub registration_number: String,
    /// Who exported the package.
    pub exported_by: String,
    /// The earliest time a timestamped checkpoint proves the envelope existed.
    pub existed_at: Option<DateTime<Utc>>,
    /// Every check, in order.
    pub checks: Vec<PackageCheck>,
}

impl fmt::Display for PackageVerification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Archival package of document {} ({}), exported by {}",
            self.document_id, self.registration_number, self.exported_by
        )?;
        if let Some(at) = self.existed_at {
            writeln!(
                f,
                "The envelope existed by {} (timestamped checkpoint)",
                at.to_rfc3339()
            )?;
        }
        for check in &self.checks {
            writeln!(
                f,
                "  {:<13} {}: {}",
                check.indication.name(),
                check.subject,
                check.detail
            )?;
        }
        writeln!(
            f,
            "Result: {} ({})",
            self.indication.name(),
            self.indication.result()
        )
    }
}

/// What the verifier reads of `package.json`.
#[derive(Deserialize)]
struct Stated {
    #[serde(rename = "type")]
    kind_of_record: String,
    version: u32,
    document: StatedDocument,
    exported_by: OrganisationId,
    #[serde(default)]
    seals: BTreeMap<OrganisationId, String>,
    files: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct StatedDocument {
    id: String,
    sender: OrganisationId,
    envelope_sha256: String,
    requisites: super::super::requisites::Requisites,
    deliveries: Vec<StatedDelivery>,
}

#[derive(Deserialize)]
struct StatedDelivery {
    recipient: OrganisationId,
    receipt_sha256: Option<String>,
}

/// Verifies an archival package offline, trusting `anchors`. `validator` should not go online
/// ([`crate::pki::RevocationChecker::offline`]) when the package alone is to speak. Fails only
/// when `bytes` is not an archival package; everything else is a check in the result.
pub fn verify_package(
    bytes: &[u8],
    validator: &Validator,
    anchors: &TrustAnchors,
) -> Result<PackageVerification> {
    let files = super::super::asic::read(bytes, PACKAGE_MEDIA_TYPE, "archival package")?;
    let stated: Stated = files
        .get("package.json")
        .and_then(|p| serde_json::from_slice(p).ok())
        .filter(|s: &Stated| s.kind_of_record == "mubadile-archive-package")
        .ok_or_else(|| {
            Error::invalid(
                "archival package",
                "it holds no readable package.json; export the package again",
            )
        })?;
    let mut run = Run {
        validator,
        anchors,
        supplied: supplied_data(&files),
        checks: Vec::new(),
    };
    run.files(&files, &stated);
    let envelope = files
        .get("envelope.asice")
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let opened = run.envelope(envelope, &stated);
    let proven = run.journal(&files, &stated);
    let existed_at = proven.iter().map(|p| p.1).min();
    if let Some(opened) = &opened {
        run.signatures(opened, &stated, existed_at);
    }
    run.receipts(&files, &stated, proven.iter().map(|p| p.1).max());
    if opened.is_some() {
        run.evidence(&files, envelope);
    }
    run.checkpoint_evidence(&files);
    let indication = run
        .checks
        .iter()
        .map(|c| c.indication)
        .max()
        .unwrap_or(Indication::TotalFailed);
    Ok(PackageVerification {
        indication,
        document_id: stated.document.id.clone(),
        registration_number: stated.document.requisites.registration_number.clone(),
        exported_by: stated.exported_by.to_string(),
        existed_at,
        checks: run.checks,
    })
}

struct Run<'a> {
    validator: &'a Validator,
    anchors: &'a TrustAnchors,
    supplied: ValidationData,
    checks: Vec<PackageCheck>,
}

impl Run<'_> {
    fn check(&mut self, subject: impl Into<String>, indication: Indication, detail: String) {
        self.checks.push(PackageCheck {
            subject: subject.into(),
            indication,
            detail,
        });
    }

    /// 1: every file listed, as listed, and nothing more.
    fn files(&mut self, files: &BTreeMap<String, Vec<u8>>, stated: &Stated) {
        let mut problems = Vec::new();
        if stated.version != 2 {
            problems.push(format!(
                "package version {} (this verifier reads version 2; export the package again)",
                stated.version
            ));
        }
        let listed: BTreeSet<&str> = stated.files.iter().map(|(p, _)| p.as_str()).collect();
        for (path, sha256) in &stated.files {
            match files.get(path) {
                None => problems.push(format!("{path} is missing")),
                Some(bytes) if hex::encode(crate::crypto::sha256(bytes)) != *sha256 => {
                    problems.push(format!("{path} was changed"));
                }
                Some(_) => {}
            }
        }
        for path in files.keys() {
            if path != "package.json" && !listed.contains(path.as_str()) {
                problems.push(format!("{path} is not listed"));
            }
        }
        if problems.is_empty() {
            let detail = format!("{} files, each as package.json lists it", listed.len());
            self.check("package", Indication::TotalPassed, detail);
        } else {
            self.check("package", Indication::TotalFailed, problems.join("; "));
        }
    }

    /// 2: the envelope named, readable, its digests intact.
    fn envelope(&mut self, bytes: &[u8], stated: &Stated) -> Option<envelope::Opened> {
        let sha256 = hex::encode(crate::crypto::sha256(bytes));
        if sha256 != stated.document.envelope_sha256 {
            let detail = format!(
                "its SHA-256 is {sha256}, the package names {}",
                stated.document.envelope_sha256
            );
            self.check("envelope", Indication::TotalFailed, detail);
            return None;
        }
        match envelope::open(bytes) {
            Ok(opened) => {
                let detail = format!(
                    "SHA-256 {sha256}; form and every digest of its manifest intact (EDE 5.1.1)"
                );
                self.check("envelope", Indication::TotalPassed, detail);
                Some(opened)
            }
            Err(e) => {
                self.check("envelope", Indication::TotalFailed, e.to_string());
                None
            }
        }
    }

    /// 3: each entry unaltered and proven in a checkpoint; returns each proven entry with the
    /// time its checkpoint is proven to have existed.
    fn journal(
        &mut self,
        files: &BTreeMap<String, Vec<u8>>,
        stated: &Stated,
    ) -> Vec<(JournalEntry, DateTime<Utc>)> {
        let Some(Ok(entries)) = files
            .get(JOURNAL_FILE)
            .map(|j| serde_json::from_slice::<Vec<JournalEntry>>(j))
        else {
            let detail = format!("{JOURNAL_FILE} is missing or unreadable");
            self.check("journal", Indication::TotalFailed, detail);
            return Vec::new();
        };
        let mut proven = Vec::new();
        let mut checkpoints: BTreeMap<Vec<u8>, std::result::Result<DateTime<Utc>, String>> =
            BTreeMap::new();
        let seal = stated.seals.get(&stated.exported_by);
        for entry in entries {
            let subject = format!(
                "journal {} {} ({} {})",
                entry.journal, entry.seq, entry.event, entry.registration_number
            );
            let outcome = self.entry(&entry, files, stated, seal, &mut checkpoints);
            match outcome {
                Ok(at) => {
                    let detail = format!(
                        "unaltered, in the {} journal's checkpoint sealed by {} and timestamped at {}",
                        entry.journal,
                        entry.organisation_id,
                        at.to_rfc3339()
                    );
                    self.check(subject, Indication::TotalPassed, detail);
                    if entry.content_sha256 == stated.document.envelope_sha256 {
                        proven.push((entry, at));
                    }
                }
                Err((indication, why)) => self.check(subject, indication, why),
            }
        }
        proven
    }

    fn entry(
        &self,
        entry: &JournalEntry,
        files: &BTreeMap<String, Vec<u8>>,
        stated: &Stated,
        seal: Option<&String>,
        checkpoints: &mut BTreeMap<Vec<u8>, std::result::Result<DateTime<Utc>, String>>,
    ) -> std::result::Result<DateTime<Utc>, (Indication, String)> {
        let failed = |why: String| (Indication::TotalFailed, why);
        if entry.organisation_id != stated.exported_by {
            return Err(failed(format!(
                "the entry is {}'s, the package {}'s",
                entry.organisation_id, stated.exported_by
            )));
        }
        if entry.computed_hash() != entry.hash {
            return Err(failed("altered: its fields no longer give its hash".into()));
        }
        let journal = Journal::parse(&entry.journal).map_err(|e| failed(e.to_string()))?;
        let Some(proof) = files.get(&proof_path(journal, entry.seq)) else {
            return Err((
                Indication::Indeterminate,
                "no checkpoint covered it when the package was exported; export it again after \
                 the next checkpoint"
                    .into(),
            ));
        };
        let proof: InclusionProof = serde_json::from_slice(proof)
            .map_err(|e| failed(format!("its inclusion proof is unreadable: {e}")))?;
        if proof.entry != *entry {
            return Err(failed("its inclusion proof is about another entry".into()));
        }
        let statement = proof.check().map_err(failed)?;
        let key = crate::crypto::sha256(&proof.checkpoint_signature).to_vec();
        let judged = checkpoints
            .entry(key)
            .or_insert_with(|| self.checkpoint(&proof, statement.at, seal))
            .clone();
        judged.map_err(failed)
    }

    /// The checkpoint's signature, by the exporter's seal, validated as of when it was made;
    /// the time its timestamp proves.
    fn checkpoint(
        &self,
        proof: &InclusionProof,
        at: DateTime<Utc>,
        seal: Option<&String>,
    ) -> std::result::Result<DateTime<Utc>, String> {
        let report = self
            .validate(&proof.checkpoint_signature, Some(&proof.checkpoint), at)
            .map_err(|e| format!("the checkpoint's signature cannot be read: {e}"))?;
        if report.indication != Indication::TotalPassed {
            return Err(format!(
                "the checkpoint's signature is {}: {}",
                report.indication.name(),
                summary(&report)
            ));
        }
        let signature = report.signatures.first();
        let signer = signature.and_then(|s| s.chain.first()).map(|c| &c.sha256);
        if seal.is_none() || signer != seal {
            return Err("the checkpoint is not signed by the exporter's seal".into());
        }
        signature
            .and_then(|s| s.proven_signing_time)
            .ok_or_else(|| "the checkpoint carries no timestamp".into())
    }

    /// 4: the seal and the document's signatures as of when the envelope is proven to exist.
    fn signatures(
        &mut self,
        opened: &envelope::Opened,
        stated: &Stated,
        existed_at: Option<DateTime<Utc>>,
    ) {
        let at = existed_at.unwrap_or_else(crate::time::now);
        let when = match existed_at {
            Some(at) => format!("as of {}", at.to_rfc3339()),
            None => "as of now (no checkpoint proves an earlier time)".into(),
        };
        match self.validate(&opened.seal, Some(&opened.manifest), at) {
            Ok(report) => {
                let signer = report.signatures.first().and_then(|s| s.chain.first());
                let sender_seal = stated.seals.get(&stated.document.sender);
                let (indication, detail) =
                    if sender_seal.is_some() && signer.map(|c| &c.sha256) != sender_seal {
                        (
                            Indication::TotalFailed,
                            format!("not the seal of the sender {}", stated.document.sender),
                        )
                    } else {
                        (report.indication, summary(&report))
                    };
                self.check("seal", indication, format!("{when}: {detail} (EDE 5.1.2)"));
            }
            Err(e) => self.check("seal", Indication::TotalFailed, e.to_string()),
        }
        let document = &opened.contents.document;
        match self.validate(&document.content, None, at) {
            Ok(report) => self.check(
                format!("document {}", document.name),
                report.indication,
                format!("{when}: {} (SVR 5.6)", summary(&report)),
            ),
            Err(e) => self.check(
                format!("document {}", document.name),
                Indication::TotalFailed,
                e.to_string(),
            ),
        }
    }

    /// 5: each receipt binds the envelope; a signed one is valid as of the latest proven time.
    fn receipts(
        &mut self,
        files: &BTreeMap<String, Vec<u8>>,
        stated: &Stated,
        latest: Option<DateTime<Utc>>,
    ) {
        for delivery in &stated.document.deliveries {
            if delivery.receipt_sha256.is_none() {
                continue;
            }
            let subject = format!("receipt of {}", delivery.recipient);
            let automatic = files.get(&format!("receipts/{}.json", delivery.recipient));
            let signed = files.get(&format!("receipts/{}.asics", delivery.recipient));
            let outcome = match (automatic, signed) {
                (Some(json), _) => self
                    .receipt(json, delivery, stated)
                    .map(|r| format!("automatic notice of {} (EDE 4.5)", r.received_at)),
                (None, Some(container)) => self.signed_receipt(container, delivery, stated, latest),
                (None, None) => Err((Indication::TotalFailed, "missing".into())),
            };
            match outcome {
                Ok(detail) => self.check(subject, Indication::TotalPassed, detail),
                Err((indication, why)) => self.check(subject, indication, why),
            }
            if let Some(bytes) = automatic.or(signed) {
                self.record(
                    &format!("receipt evidence record of {}", delivery.recipient),
                    "receipt",
                    files,
                    &evidence::receipt_record_path(&delivery.recipient.0),
                    bytes,
                );
            }
        }
    }

    fn receipt(
        &self,
        json: &[u8],
        delivery: &StatedDelivery,
        stated: &Stated,
    ) -> std::result::Result<Receipt, (Indication, String)> {
        let failed = |why: String| (Indication::TotalFailed, why);
        let receipt: Receipt =
            serde_json::from_slice(json).map_err(|e| failed(format!("unreadable: {e}")))?;
        if receipt.envelope_sha256 != stated.document.envelope_sha256 {
            return Err(failed(format!(
                "it acknowledges envelope {}, not this one",
                receipt.envelope_sha256
            )));
        }
        if receipt.recipient != delivery.recipient || receipt.document_id != stated.document.id {
            return Err(failed("it is about another delivery".into()));
        }
        Ok(receipt)
    }

    fn signed_receipt(
        &self,
        container: &[u8],
        delivery: &StatedDelivery,
        stated: &Stated,
        latest: Option<DateTime<Utc>>,
    ) -> std::result::Result<String, (Indication, String)> {
        let failed = |why: String| (Indication::TotalFailed, why);
        let signed = receipt::open_signed(container).map_err(|e| failed(e.to_string()))?;
        let receipt = self.receipt(&signed.receipt, delivery, stated)?;
        let report = self
            .validate(
                &signed.signature,
                Some(&signed.receipt),
                latest.unwrap_or_else(crate::time::now),
            )
            .map_err(|e| failed(e.to_string()))?;
        if report.indication != Indication::TotalPassed {
            return Err((report.indication, summary(&report)));
        }
        Ok(format!(
            "signed receipt of {}: {} (EDE 4.4)",
            receipt.received_at,
            summary(&report)
        ))
    }

    /// 6: the envelope's evidence record.
    fn evidence(&mut self, files: &BTreeMap<String, Vec<u8>>, envelope: &[u8]) {
        self.record(
            "evidence record",
            "envelope",
            files,
            evidence::ENVELOPE_RECORD,
            envelope,
        );
    }

    /// 7: the evidence record of each checkpoint signature the inclusion proofs lead to.
    fn checkpoint_evidence(&mut self, files: &BTreeMap<String, Vec<u8>>) {
        let mut signatures = BTreeMap::new();
        for (path, bytes) in files {
            if !path.starts_with(PROOFS_DIR) {
                continue;
            }
            // An unreadable proof is the journal check's to report.
            let Ok(proof) = serde_json::from_slice::<InclusionProof>(bytes) else {
                continue;
            };
            let Ok(statement) = proof.check() else {
                continue;
            };
            let label = format!(
                "{} {} {}",
                statement.organisation, statement.journal, statement.seq
            );
            signatures.insert(label, proof.checkpoint_signature);
        }
        for (label, signature) in signatures {
            let path = evidence::checkpoint_record_path(&signature);
            self.record(
                &format!("checkpoint evidence record {label}"),
                "checkpoint signature",
                files,
                &path,
                &signature,
            );
        }
    }

    /// The evidence record at `path` of `object` (`what` it is, in the result).
    fn record(
        &mut self,
        subject: &str,
        what: &str,
        files: &BTreeMap<String, Vec<u8>>,
        path: &str,
        object: &[u8],
    ) {
        let Some(der) = files.get(path) else {
            let detail = format!(
                "{path} is missing: nothing renews the proof once the timestamps above expire; \
                 export the package again"
            );
            self.check(subject, Indication::Indeterminate, detail);
            return;
        };
        let record = match evidence::EvidenceRecord::from_der_named(der, "evidence record") {
            Ok(record) => record,
            Err(e) => return self.check(subject, Indication::TotalFailed, e.to_string()),
        };
        let mut certificates: Vec<CertificateFacts> = self
            .supplied
            .certificates
            .iter()
            .filter_map(|c| CertificateFacts::parse(c).ok())
            .collect();
        certificates.extend(self.validator.known_certificates.iter().cloned());
        let cx = evidence::CheckContext {
            anchors: self.anchors,
            certificates: &certificates,
            policy: &self.validator.policy,
            now: crate::time::now(),
        };
        match evidence::check(object, &record, &cx) {
            Ok(seen) => {
                let newest = seen.stamps.last();
                let detail = format!(
                    "the {what} existed unchanged at {} (RFC 4998; {} archive timestamp(s), each \
                     TSA certificate not revoked when the next renewed it; the newest at {} by {}, \
                     valid until {}, not revoked as of {})",
                    seen.existed_at.to_rfc3339(),
                    seen.stamps.len(),
                    newest.map_or(String::new(), |s| s.at.to_rfc3339()),
                    newest.map_or(String::new(), |s| s.tsa.clone()),
                    newest.map_or(String::new(), |s| s.tsa_not_after.to_rfc3339()),
                    newest.map_or(String::new(), |s| s.not_revoked_as_of.to_rfc3339()),
                );
                self.check(subject, Indication::TotalPassed, detail);
            }
            Err(problem) => self.check(subject, problem.indication, problem.why),
        }
    }

    fn validate(
        &self,
        document: &[u8],
        detached: Option<&[u8]>,
        at: DateTime<Utc>,
    ) -> Result<ValidationReport> {
        self.validator
            .validate_with(document, detached, self.anchors, Some(at), &self.supplied)
    }
}

/// Each signature's result and signer, in a line.
fn summary(report: &ValidationReport) -> String {
    let parts: Vec<String> = report
        .signatures
        .iter()
        .map(|s| {
            let signer =
                s.signer
                    .as_ref()
                    .map_or("unknown signer".to_string(), |h| match &h.organisation {
                        Some(org) => format!("{}, {org}", h.name),
                        None => h.name.clone(),
                    });
            let mut line = format!("{} by {signer}", s.indication.name());
            if let Some(why) = s.messages.first() {
                line.push_str(&format!(" ({why})"));
            }
            line
        })
        .collect();
    if parts.is_empty() {
        "no signature".into()
    } else {
        parts.join("; ")
    }
}

/// Every certificate, CRL and OCSP answer the package keeps under `validation-data/`.
fn supplied_data(files: &BTreeMap<String, Vec<u8>>) -> ValidationData {
    let mut data = ValidationData::default();
    for (path, bytes) in files {
        if !path.starts_with("validation-data/") {
            continue;
        }
        let list = if path.contains("/certificates/") {
            &mut data.certificates
        } else if path.contains("/crls/") {
            &mut data.crls
        } else if path.contains("/ocsp/") {
            &mut data.ocsp_responses
        } else {
            continue;
        };
        list.push(bytes.clone());
    }
    data
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use mubadile_plugin_cms::CmsPlugin;

    use super::*;
    use crate::both_backends;
    use crate::exchange::testing::World;
    use crate::pki::RevocationChecker;
    use crate::store::DbPool;

    /// A validator that knows nothing of the platform and never goes online: only the package
    /// and the archivist's anchors speak.
    fn offline() -> Validator {
        let mut validator = Validator::new(vec![Arc::new(CmsPlugin)]);
        validator.revocation = RevocationChecker::offline();
        validator
    }

    /// `files` with `path` replaced, optionally with package.json listing the new hash.
    fn rewritten(package: &[u8], path: &str, bytes: Vec<u8>, relist: bool) -> Vec<u8> {
        let mut files = crate::exchange::asic::read(package, PACKAGE_MEDIA_TYPE, "p").unwrap();
        if relist {
            let mut manifest: serde_json::Value =
                serde_json::from_slice(&files["package.json"]).unwrap();
            for entry in manifest["files"].as_array_mut().unwrap() {
                if entry[0] == path {
                    entry[1] = hex::encode(crate::crypto::sha256(&bytes)).into();
                }
            }
            files.insert(
                "package.json".into(),
                serde_json::to_vec(&manifest).unwrap(),
            );
        }
        files.insert(path.into(), bytes);
        let mut entries: Vec<(&str, &[u8])> = vec![("package.json", &files["package.json"])];
        entries.extend(
            files
                .iter()
                .filter(|(p, _)| *p != "package.json")
                .map(|(p, b)| (p.as_str(), b.as_slice())),
        );
        crate::exchange::asic::write(PACKAGE_MEDIA_TYPE, &entries).unwrap()
    }

    fn indication_of(v: &PackageVerification, subject: &str) -> Indication {
        v.checks
            .iter()
            .find(|c| c.subject.starts_with(subject))
            .unwrap_or_else(|| panic!("no check {subject}: {v}"))
            .indication
    }

    both_backends!(
        fn ede_7_3_an_exported_package_verifies_offline_as_of_its_timestamped_checkpoint(
            pool: &DbPool,
        ) {
            let w = World::new(pool);
            let anchors = &w.exchange.validation.anchors;
            let sent = w
                .exchange
                .send(&w.party(), &w.letter("m-1", b"Hesabat"))
                .unwrap();
            w.exchange.deliver_pending(10).unwrap();

            // Before any checkpoint: everything holds, but nothing proves when it existed.
            let early = w.exchange.archive_package(&w.justice, &sent.id).unwrap();
            assert!(crate::exchange::archive::is_package(&early));
            let v = verify_package(&early, &offline(), anchors).unwrap();
            assert_eq!(v.indication, Indication::Indeterminate, "{v}");
            assert_eq!(
                indication_of(&v, "journal outgoing 1"),
                Indication::Indeterminate
            );
            assert_eq!(indication_of(&v, "seal"), Indication::TotalPassed, "{v}");

            w.exchange.checkpoint_all().unwrap();
            let package = w.exchange.archive_package(&w.justice, &sent.id).unwrap();
            let v = verify_package(&package, &offline(), anchors).unwrap();
            assert_eq!(v.indication, Indication::TotalPassed, "{v}");
            assert!(v.existed_at.is_some());
            for subject in [
                "package",
                "envelope",
                "journal outgoing 1",
                "journal outgoing 2",
            ] {
                assert_eq!(indication_of(&v, subject), Indication::TotalPassed, "{v}");
            }
            assert_eq!(
                indication_of(&v, "document"),
                Indication::TotalPassed,
                "{v}"
            );
            assert_eq!(
                indication_of(&v, "receipt of min-finance"),
                Indication::TotalPassed
            );
            // The receipt is covered by an evidence record of its own.
            assert_eq!(
                indication_of(&v, "receipt evidence record of min-finance"),
                Indication::TotalPassed,
                "{v}"
            );
            // RFC 4998: the envelope's evidence record is in the package and holds.
            assert_eq!(
                indication_of(&v, "evidence record"),
                Indication::TotalPassed,
                "{v}"
            );
            // RFC 4998 for the checkpoint's own timestamp: its signature's record is in the
            // package and holds; another object's record in its place is named.
            assert_eq!(
                indication_of(&v, "checkpoint evidence record"),
                Indication::TotalPassed,
                "{v}"
            );
            let files = crate::exchange::asic::read(&package, PACKAGE_MEDIA_TYPE, "p").unwrap();
            let path = files
                .keys()
                .find(|p| p.starts_with(super::super::evidence::CHECKPOINT_RECORDS_DIR))
                .unwrap()
                .clone();
            let envelope_record = files[super::super::evidence::ENVELOPE_RECORD].clone();
            let swapped = rewritten(&package, &path, envelope_record, true);
            let forged = verify_package(&swapped, &offline(), anchors).unwrap();
            assert_eq!(
                indication_of(&forged, "checkpoint evidence record"),
                Indication::TotalFailed,
                "{forged}"
            );
            assert!(forged.to_string().contains("does not cover"), "{forged}");
            let text = v.to_string();
            assert!(text.contains("Result: TOTAL-PASSED (positive)"), "{text}");

            // The recipient's own package proves its incoming journal the same way.
            let theirs = w.exchange.archive_package(&w.finance, &sent.id).unwrap();
            let v = verify_package(&theirs, &offline(), anchors).unwrap();
            assert_eq!(v.indication, Indication::TotalPassed, "{v}");

            // Trusting nothing, the signatures cannot be judged.
            let none = TrustAnchors::new(Vec::new());
            let v = verify_package(&package, &offline(), &none).unwrap();
            assert_ne!(v.indication, Indication::TotalPassed, "{v}");
        }
    );

    both_backends!(
        fn ede_7_3_a_changed_package_names_what_was_changed(pool: &DbPool) {
            let w = World::new(pool);
            let anchors = &w.exchange.validation.anchors;
            let sent = w
                .exchange
                .send(&w.party(), &w.letter("m-1", b"Hesabat"))
                .unwrap();
            w.exchange.deliver_pending(10).unwrap();
            w.exchange.checkpoint_all().unwrap();
            let package = w.exchange.archive_package(&w.justice, &sent.id).unwrap();
            let files = crate::exchange::asic::read(&package, PACKAGE_MEDIA_TYPE, "p").unwrap();

            // A file changed without its listing: the listing says so.
            let mut journal: Vec<JournalEntry> =
                serde_json::from_slice(&files["journal.json"]).unwrap();
            journal[0].registration_number = "2026-O-000999".into();
            let forged = serde_json::to_vec(&journal).unwrap();
            let changed = rewritten(&package, "journal.json", forged.clone(), false);
            let v = verify_package(&changed, &offline(), anchors).unwrap();
            assert_eq!(indication_of(&v, "package"), Indication::TotalFailed);
            assert!(v.to_string().contains("journal.json was changed"), "{v}");

            // Changed and relisted: the entry no longer gives its hash.
            let relisted = rewritten(&package, "journal.json", forged, true);
            let v = verify_package(&relisted, &offline(), anchors).unwrap();
            assert_eq!(indication_of(&v, "package"), Indication::TotalPassed, "{v}");
            assert_eq!(
                indication_of(&v, "journal outgoing 1"),
                Indication::TotalFailed
            );
            assert_eq!(v.indication, Indication::TotalFailed);

            // Re-hashed as well: no longer in the tree the checkpoint signed.
            journal[0].hash = journal[0].computed_hash();
            let rehashed = rewritten(
                &package,
                "journal.json",
                serde_json::to_vec(&journal).unwrap(),
                true,
            );
            let v = verify_package(&rehashed, &offline(), anchors).unwrap();
            assert_eq!(
                indication_of(&v, "journal outgoing 1"),
                Indication::TotalFailed
            );
            assert!(
                v.to_string()
                    .contains("inclusion proof is about another entry"),
                "{v}"
            );

            // An evidence record whose timestamp claims another hash algorithm: named.
            let mut record = super::evidence::EvidenceRecord::from_der_named(
                &files[super::evidence::ENVELOPE_RECORD],
                "record",
            )
            .unwrap();
            record.archive_time_stamp_sequence[0][0].digest_algorithm =
                Some(spki::AlgorithmIdentifierOwned {
                    oid: crate::crypto::oids::ID_SHA_384,
                    parameters: None,
                });
            let forged = rewritten(
                &package,
                super::evidence::ENVELOPE_RECORD,
                record.der().unwrap(),
                true,
            );
            let v = verify_package(&forged, &offline(), anchors).unwrap();
            assert_eq!(
                indication_of(&v, "evidence record"),
                Indication::TotalFailed
            );
            assert!(v.to_string().contains("timestamp 1.1"), "{v}");

            // Another envelope in its place.
            let other = rewritten(&package, "envelope.asice", b"PK not it".to_vec(), true);
            let v = verify_package(&other, &offline(), anchors).unwrap();
            assert_eq!(indication_of(&v, "envelope"), Indication::TotalFailed);

            // Not a package at all.
            let err = verify_package(b"%PDF-1.7", &offline(), anchors).unwrap_err();
            assert_eq!(err.code(), "invalid_input");
        }
    );
}
