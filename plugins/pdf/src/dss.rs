//! The document security store (EN 319 142-1 5.4.2): certificates, CRLs and OCSP responses kept
//! in the PDF for long-term validation (B-LT), shared by every signature: read, and added as an
//! incremental update.

use lopdf::{Dictionary, Document, Object};
use mubadile_plugin_api::{PluginError, SignatureEvidence, ValidationData};

use crate::fields::deref;
use crate::incremental::Update;
use crate::objects::ObjectSink;
use crate::read::SignedPdf;

/// The largest certificate, CRL or OCSP response read, decompressed (a bomb is ignored).
const MAX_ITEM: usize = 64 << 20;

/// What the /DSS of the latest revision holds, each a DER structure.
#[derive(Debug, Clone, Default)]
pub struct Dss {
    /// DER certificates (/Certs).
    pub certificates: Vec<Vec<u8>>,
    /// DER CRLs (/CRLs).
    pub crls: Vec<Vec<u8>>,
    /// DER OCSP responses (/OCSPs).
    pub ocsp_responses: Vec<Vec<u8>>,
}

impl Dss {
    /// Reads the /DSS of `document`; an absent or damaged one holds nothing.
    pub fn read(document: &Document) -> Dss {
        let Some(dss) = document
            .catalog()
            .ok()
            .and_then(|c| deref(document, c.get(b"DSS").ok()))
            .and_then(|d| d.as_dict().ok())
        else {
            return Dss::default();
        };
        let streams = |key: &[u8]| -> Vec<Vec<u8>> {
            match deref(document, dss.get(key).ok()) {
                Some(Object::Array(items)) => items
                    .iter()
                    .filter_map(|item| deref(document, Some(item))?.as_stream().ok())
                    .filter_map(|s| s.decompressed_content_with_limit(MAX_ITEM).ok())
                    .collect(),
                _ => Vec::new(),
            }
        };
        Dss {
            certificates: streams(b"Certs"),
            crls: streams(b"CRLs"),
            ocsp_responses: streams(b"OCSPs"),
        }
    }

    /// Whether it holds revocation data (what makes B-LT).
    pub fn has_revocation_data(&self) -> bool {
        !self.crls.is_empty() || !self.ocsp_responses.is_empty()
    }

    /// Adds what it holds to the evidence of a signature, without repeating what is there.
    pub fn add_to(&self, evidence: &mut SignatureEvidence) {
        let merge = |into: &mut Vec<Vec<u8>>, from: &[Vec<u8>]| {
            for der in from {
                if !into.contains(der) {
                    into.push(der.clone());
                }
            }
        };
        merge(&mut evidence.certificates, &self.certificates);
        merge(&mut evidence.crls, &self.crls);
        merge(&mut evidence.ocsp_responses, &self.ocsp_responses);
    }
}

/// Adds the certificates, CRLs and OCSP responses of `data` that the /DSS lacks, as an
/// incremental update (EN 319 142-1 5.4.2, B-LT): one stream each, listed in the catalog's /DSS.
pub fn add_validation_data(file: &[u8], data: &ValidationData) -> Result<Vec<u8>, PluginError> {
    let pdf = SignedPdf::read(file)?;
    let document = &pdf.document;
    let existing = Dss::read(document);
    let last = *pdf
        .revisions
        .last()
        .ok_or_else(|| PluginError::malformed("the PDF has no %%EOF"))?;
    let mut update = Update::new(file, document, last);
    let root_id = document
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|_| PluginError::malformed("the PDF's trailer has no /Root catalog reference"))?;
    let mut catalog = document
        .get_dictionary(root_id)
        .map_err(|e| PluginError::malformed(format!("the catalog is damaged: {e}")))?
        .clone();
    let (dss_id, mut dss) = match catalog.get(b"DSS") {
        Ok(Object::Reference(id)) => (
            Some(*id),
            document
                .get_dictionary(*id)
                .map_err(|e| PluginError::malformed(format!("the /DSS is damaged: {e}")))?
                .clone(),
        ),
        Ok(Object::Dictionary(dss)) => (None, dss.clone()),
        _ => (None, Dictionary::new()),
    };
    let mut added = 0;
    for (key, new, have) in [
        (&b"Certs"[..], &data.certificates, &existing.certificates),
        (b"CRLs", &data.crls, &existing.crls),
        (b"OCSPs", &data.ocsp_responses, &existing.ocsp_responses),
    ] {
        let mut items = match deref(document, dss.get(key).ok()) {
            Some(Object::Array(items)) => items.clone(),
            _ => Vec::new(),
        };
        for der in new {
            if have.contains(der) {
                continue;
            }
            let id = update.new_id();
            update.put_stream(id, Dictionary::new(), der)?;
            items.push(Object::Reference(id));
            added += 1;
        }
        if !items.is_empty() {
            dss.set(key, Object::Array(items));
        }
    }
    if added == 0 {
        return Ok(file.to_vec());
    }
    match dss_id {
        Some(id) => update.put(id, &Object::Dictionary(dss))?,
        None => {
            catalog.set("DSS", Object::Dictionary(dss));
            update.put(root_id, &Object::Dictionary(catalog))?;
        }
    }
    Ok(update.finish()?.appended_to(file))
}
