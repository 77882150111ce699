//! Reading a signed PDF into evidence: each signature's CMS, read by the CMS plugin over the
//! bytes its /ByteRange covers, with everything wrong with that coverage and with the revisions
//! around it. Nothing is checked cryptographically here (the validator does that).

use lopdf::xref::XrefEntry;
use lopdf::{Document, Object};
use mubadile_plugin_api::{
    FormatPlugin, PluginError, SignatureEvidence, SignerReference, TimestampEvidence, TimestampKind,
};
use mubadile_plugin_cms::CmsPlugin;

use crate::byte_range::{self, Coverage};
use crate::changes;
use crate::docmdp::{self, FieldLock};
use crate::dss::Dss;
use crate::fields::{self, SignatureField, SignatureKind};
use crate::revisions::{self, Revision};

/// A PDF file, parsed once, with its revisions and signatures.
pub struct SignedPdf<'a> {
    /// The file as given.
    pub file: &'a [u8],
    /// The latest revision, parsed.
    pub document: Document,
    /// Every revision's end, in file order.
    pub revisions: Vec<Revision>,
    /// Every signature and document timestamp, in the order they were made.
    pub signatures: Vec<FoundSignature>,
}

/// One signature dictionary and what its /ByteRange covers.
pub struct FoundSignature {
    /// The field holding it.
    pub field: SignatureField,
    /// What it is.
    pub kind: SignatureKind,
    /// What it covers.
    pub coverage: Coverage,
}

impl FoundSignature {
    /// The DER of the CMS (or timestamp token) in /Contents, without the zero padding after it.
    pub fn cms(&self) -> Result<&[u8], String> {
        let contents = self
            .field
            .value
            .get(b"Contents")
            .and_then(Object::as_str)
            .map_err(|_| "the signature dictionary has no /Contents string".to_string())?;
        der_prefix(contents).ok_or_else(|| {
            "the /Contents is not a DER-encoded CMS structure (ISO 32000-1 12.8.3.3)".to_string()
        })
    }
}

impl<'a> SignedPdf<'a> {
    /// Parses `file`: a clear error if it is not a PDF or is too damaged to read.
    pub fn read(file: &'a [u8]) -> Result<SignedPdf<'a>, PluginError> {
        let document = parse(file)?;
        let revisions = revisions::revisions(file);
        if revisions.is_empty() {
            return Err(PluginError::malformed(
                "the PDF has no `startxref … %%EOF` end: it is truncated or damaged",
            ));
        }
        let mut signatures: Vec<FoundSignature> = fields::signature_fields(&document)
            .into_iter()
            .map(|field| {
                let object_start = field.value_id.and_then(|id| {
                    match document.reference_table.entries.get(&id.0) {
                        Some(XrefEntry::Normal { offset, .. }) => usize::try_from(*offset).ok(),
                        _ => None,
                    }
                });
                let coverage = byte_range::coverage(file, &field.value, object_start, &revisions);
                FoundSignature {
                    kind: SignatureKind::of(&field.value),
                    field,
                    coverage,
                }
            })
            .collect();
        signatures.sort_by_key(|s| s.coverage.end());
        Ok(SignedPdf {
            file,
            document,
            revisions,
            signatures,
        })
    }

    /// How many signatures (document timestamps aside) the file holds.
    pub fn signature_count(&self) -> usize {
        self.signatures
            .iter()
            .filter(|s| s.kind != SignatureKind::DocumentTimestamp)
            .count()
    }

    /// Every signature as evidence, in the order they were made. Document timestamps are not
    /// signatures: each becomes an archive timestamp of the signatures made before it.
    pub fn evidence(&self) -> Result<Vec<SignatureEvidence>, PluginError> {
        let document_problems = self.document_problems();
        let dss = Dss::read(&self.document);
        let last_revision = self.revisions.len() - 1;
        // SVR 4.2.7: the changes of every revision after the first signature's, read once for
        // all the signatures.
        let history = self
            .signatures
            .iter()
            .filter(|s| s.kind != SignatureKind::DocumentTimestamp)
            .filter_map(|s| s.coverage.revision)
            .filter(|revision| *revision < last_revision)
            .min()
            .map(|from| changes::History::since(self, from));
        let mut out = Vec::new();
        for (index, found) in self.signatures.iter().enumerate() {
            if found.kind == SignatureKind::DocumentTimestamp {
                continue;
            }
            let mut problems = document_problems.clone();
            problems.extend(found.coverage.problems.iter().cloned());
            let value = &found.field.value;
            if value.get(b"Filter").and_then(Object::as_name).is_err() {
                problems.push(
                    "the signature dictionary has no /Filter name (ISO 32000-1 12.8.1 requires one, such as /Adobe.PPKLite): it is malformed"
                        .into(),
                );
            }
            let lock = found.field.lock.as_ref();
            let permissions = changes::Permissions {
                docmdp: docmdp::of_signature(&self.document, value, lock),
                lock: &FieldLock::of_signature(&self.document, value, lock),
            };
            let mut notes = Vec::new();
            if let Some(p) = permissions.docmdp {
                notes.push(format!(
                    "a certification signature (ISO 32000-1 12.8.2.2): its DocMDP permissions {p} say what may change after it"
                ));
            }
            if let Some(revision) = found.coverage.revision
                && revision < last_revision
                && let Some(history) = &history
            {
                // SVR 4.2.7: every change made after the signature is shown, revision by
                // revision; those the signature does not permit make it fail.
                let verdict = history.after(revision, &permissions);
                problems.extend(verdict.disallowed);
                notes.extend(verdict.permitted);
            }
            let covered = found.coverage.concatenated(self.file);
            let read = found.cms().and_then(|cms| {
                if found.kind == SignatureKind::Other {
                    return Err(format!(
                        "the signature's /SubFilter {} is not supported; only ETSI.CAdES.detached and adbe.pkcs7.detached are",
                        sub_filter(found)
                    ));
                }
                CmsPlugin
                    .signatures(cms, Some(&covered))
                    .map_err(|e| format!("the signature's CMS cannot be read: {e}"))
            });
            let evidence = match read {
                Ok(evidence) => evidence,
                Err(problem) => {
                    problems.push(problem);
                    vec![unreadable(&found.field.name)]
                }
            };
            let later_timestamps: Vec<TimestampEvidence> = self.signatures[index + 1..]
                .iter()
                .filter(|s| s.kind == SignatureKind::DocumentTimestamp)
                .filter_map(|s| {
                    Some(TimestampEvidence {
                        kind: TimestampKind::Archive,
                        token: s.cms().ok()?.to_vec(),
                        covered_data: s.coverage.concatenated(self.file),
                    })
                })
                .collect();
            for mut ev in evidence {
                ev.level = level(found.kind, &ev, &dss, !later_timestamps.is_empty());
                ev.format_problems.extend(problems.iter().cloned());
                ev.notes.extend(notes.iter().cloned());
                if ev.counter_signature_of.is_none() {
                    ev.timestamps.extend(later_timestamps.iter().cloned());
                }
                if ev.claimed_signing_time.is_none() {
                    // EN 319 142-1 6.3: a PAdES signature claims its time in /M.
                    ev.claimed_signing_time = found
                        .field
                        .value
                        .get(b"M")
                        .and_then(Object::as_str)
                        .ok()
                        .and_then(crate::date::parse);
                }
                dss.add_to(&mut ev);
                out.push(ev);
            }
        }
        Ok(out)
    }

    /// The signature whose CMS holds signature `id` (an evidence identifier), with that CMS.
    pub fn signature(&self, id: &str) -> Result<(&FoundSignature, &[u8]), PluginError> {
        for found in &self.signatures {
            if found.kind == SignatureKind::DocumentTimestamp {
                continue;
            }
            let Ok(cms) = found.cms() else { continue };
            // Only the identifiers are wanted: no content, so nothing is hashed.
            let ids = CmsPlugin.signatures(cms, Some(b""));
            if ids.is_ok_and(|e| e.iter().any(|ev| ev.id == id)) {
                return Ok((found, cms));
            }
        }
        Err(PluginError::no_such_signature(id))
    }

    /// The revision signature `id` signed, as the PDF it was (SVR 4.2.1, 4.2.3: the content the
    /// signer saw, to show beside the result): the file up to the end its /ByteRange covers.
    pub fn signed_revision(&self, id: &str) -> Result<Vec<u8>, PluginError> {
        let (found, _) = self.signature(id)?;
        if !found.coverage.problems.is_empty() {
            return Err(PluginError::malformed(format!(
                "the signature's /ByteRange does not mark a whole revision, so the signed revision cannot be told: {}",
                found.coverage.problems.join("; ")
            )));
        }
        Ok(self.file[..found.coverage.end()].to_vec())
    }

    /// Problems of the file as a whole, reported with every signature.
    fn document_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(last) = self.revisions.last()
            && let Some((at, length)) = revisions::trailing_bytes(self.file, last)
        {
            problems.push(format!(
                "{length} bytes at offset {at} follow the last revision (%%EOF) and belong to no revision: content no signature covers (SVR 4.2.7)"
            ));
        }
        if self.document.xref_recovery.is_some() {
            problems.push(
                "the cross-reference data is damaged and had to be rebuilt to read the file: what a viewer shows may differ from what was signed (SVR 4.2.1)"
                    .into(),
            );
        }
        problems
    }
}

/// Why an encrypted PDF is not validated (ISO 32000-1 7.6).
const ENCRYPTED_VALIDATION: &str = "the PDF is encrypted (it has an /Encrypt dictionary, ISO 32000-1 7.6); validating signatures in an encrypted PDF is not supported, and decrypting it would change the signed bytes: ask the sender for the PDF signed without encryption";
/// Why an encrypted PDF is not signed, and what to do.
const ENCRYPTED_SIGNING: &str = "the PDF is encrypted (it has an /Encrypt dictionary, ISO 32000-1 7.6); signing an encrypted PDF is not supported: remove the encryption with `qpdf --decrypt in.pdf out.pdf` (add `--password=PASSWORD` if it opens only with a password) and sign the decrypted file";

/// Whether the newest trailer of `file` names an /Encrypt dictionary (ISO 32000-1 7.6), seen
/// without parsing the file.
pub fn is_encrypted(file: &[u8]) -> bool {
    revisions::last(file).is_some_and(|last| {
        crate::sparse::trailer(file, last.startxref).is_some_and(|t| t.has(b"Encrypt"))
    })
}

/// Parses `file` with lopdf, for validation. A panic inside the parser on hostile bytes is
/// turned into an error, so that a damaged upload can never bring the service down.
pub fn parse(file: &[u8]) -> Result<Document, PluginError> {
    check_header(file)?;
    // Seen in the trailer before lopdf tries (and may fail) to decrypt the file.
    if is_encrypted(file) {
        return Err(PluginError::unsupported(ENCRYPTED_VALIDATION));
    }
    let parsed = std::panic::catch_unwind(|| Document::load_mem(file))
        .map_err(|_| PluginError::malformed("the PDF is too damaged to read"))?;
    let document =
        parsed.map_err(|e| PluginError::malformed(format!("the PDF cannot be read: {e}")))?;
    if document.trailer.has(b"Encrypt") {
        return Err(PluginError::unsupported(ENCRYPTED_VALIDATION));
    }
    Ok(document)
}

/// What an incremental update of `file` needs: its last revision, and the document with the
/// objects the update touches ([`crate::sparse`]), or, when those cannot be read as written,
/// the whole file parsed by lopdf (which repairs what it can).
pub fn for_update(file: &[u8]) -> Result<(Document, Revision), PluginError> {
    check_header(file)?;
    let last = revisions::last(file).ok_or_else(|| {
        PluginError::malformed("the PDF has no `startxref … %%EOF` end: it is truncated or damaged")
    })?;
    let sparse = std::panic::catch_unwind(|| crate::sparse::document(file, last.startxref))
        .ok()
        .flatten();
    let document = match sparse {
        Some(document) => document,
        None => {
            let parsed = std::panic::catch_unwind(|| Document::load_mem(file))
                .map_err(|_| PluginError::malformed("the PDF is too damaged to read"))?;
            parsed.map_err(|e| PluginError::malformed(format!("the PDF cannot be read: {e}")))?
        }
    };
    if document.trailer.has(b"Encrypt") {
        return Err(PluginError::unsupported(ENCRYPTED_SIGNING));
    }
    Ok((document, last))
}

fn check_header(file: &[u8]) -> Result<(), PluginError> {
    if revisions::find(&file[..file.len().min(1024)], b"%PDF-").is_none() {
        return Err(PluginError::malformed(
            "not a PDF: no `%PDF-` header in its first 1024 bytes",
        ));
    }
    Ok(())
}

/// The signature level the document's structure shows (EN 319 142-1 6): B from the CMS, T with
/// a signature or document timestamp, LT with validation data in a DSS, LTA with a document
/// timestamp over them.
fn level(
    kind: SignatureKind,
    ev: &SignatureEvidence,
    dss: &Dss,
    timestamped_later: bool,
) -> String {
    if kind != SignatureKind::Cades || ev.counter_signature_of.is_some() {
        return match kind {
            SignatureKind::Pkcs7 => "PDF (adbe.pkcs7.detached)",
            _ => "PDF",
        }
        .into();
    }
    let cades = ev.level.as_str();
    let signature_timestamp = matches!(
        cades,
        "CAdES-BASELINE-T" | "CAdES-BASELINE-LT" | "CAdES-BASELINE-LTA"
    );
    match (
        cades,
        signature_timestamp || timestamped_later,
        dss.has_revocation_data(),
        timestamped_later,
    ) {
        ("CMS", ..) => "PDF (ETSI.CAdES.detached, no signing-certificate-v2)",
        (_, false, ..) => "PAdES-BASELINE-B",
        (_, true, false, _) => "PAdES-BASELINE-T",
        (_, true, true, false) => "PAdES-BASELINE-LT",
        (_, true, true, true) => "PAdES-BASELINE-LTA",
    }
    .into()
}

/// Evidence for a signature whose CMS cannot be read: the problem says why.
fn unreadable(field: &str) -> SignatureEvidence {
    SignatureEvidence {
        id: format!("field:{field}"),
        counter_signature_of: None,
        level: "PDF".into(),
        signer: SignerReference::KeyIdentifier(Vec::new()),
        signed_bytes: Vec::new(),
        signature_algorithm: Vec::new(),
        digest_algorithm: String::new(),
        signature_value: Vec::new(),
        data_digest: None,
        claimed_signing_time: None,
        signing_certificate_references: Vec::new(),
        certificates: Vec::new(),
        crls: Vec::new(),
        ocsp_responses: Vec::new(),
        timestamps: Vec::new(),
        content_type: None,
        format_problems: Vec::new(),
        notes: Vec::new(),
    }
}

fn sub_filter(found: &FoundSignature) -> String {
    found
        .field
        .value
        .get(b"SubFilter")
        .and_then(Object::as_name)
        .map(|n| format!("/{}", String::from_utf8_lossy(n)))
        .unwrap_or_else(|_| "(none)".into())
}

/// The leading DER TLV of `bytes` (the rest is the placeholder's zero padding).
fn der_prefix(bytes: &[u8]) -> Option<&[u8]> {
    let (&first, rest) = bytes.split_first()?;
    if first != 0x30 {
        return None;
    }
    let (&length_byte, rest) = rest.split_first()?;
    let (length, header) = if length_byte < 0x80 {
        (usize::from(length_byte), 2)
    } else {
        let count = usize::from(length_byte & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let length = rest
            .get(..count)?
            .iter()
            .fold(0usize, |n, b| n << 8 | usize::from(*b));
        (length, 2 + count)
    };
    bytes.get(..header.checked_add(length)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cms_ends_where_its_der_length_says() {
        assert_eq!(
            der_prefix(&[0x30, 2, 1, 2, 0, 0]),
            Some(&[0x30, 2, 1, 2][..])
        );
        assert_eq!(
            der_prefix(&[0x30, 0x81, 1, 9, 0]),
            Some(&[0x30, 0x81, 1, 9][..])
        );
        assert_eq!(der_prefix(&[0x30, 0x82, 1, 0, 0]), None);
        assert_eq!(der_prefix(&[0x04, 0]), None);
    }

    #[test]
    fn damaged_pdfs_give_a_clear_error() {
        let error = SignedPdf::read(b"hello").err().map(|e| e.message);
        assert!(error.is_some_and(|m| m.contains("not a PDF")));
        let error = SignedPdf::read(b"%PDF-1.7\n1 0 obj <<")
            .err()
            .map(|e| e.message);
        assert!(error.is_some_and(|m| m.contains("cannot be read")));
    }
}
