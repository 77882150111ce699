//! Raising a signature's level: signature timestamps (B-T) and validation data (B-LT).

use der::asn1::Any;
use der::{Decode, Encode};
use mubadile_plugin_api::{PluginError, ValidationData};
use x509_cert::Certificate;

use crate::asn1::*;
use crate::read::SignedDocument;
use crate::rewrite::{add_certificates, modify_signer, rewrite};

/// The bytes a signature timestamp covers: the signature value (EN 319 122-1 5.3).
pub fn signature_timestamp_data(document: &[u8], id: &str) -> Result<Vec<u8>, PluginError> {
    let doc = SignedDocument::read(document, None)?;
    doc.signer_infos()?
        .into_iter()
        .find(|(found, _)| found == id)
        .map(|(_, info)| info.signature.as_bytes().to_vec())
        .ok_or_else(|| PluginError::no_such_signature(id))
}

/// Adds a signature-time-stamp unsigned attribute to signer `id` (B-T).
pub fn add_signature_timestamp(
    document: &[u8],
    id: &str,
    token: &[u8],
) -> Result<Vec<u8>, PluginError> {
    add_unsigned_token(document, id, ID_SIGNATURE_TIME_STAMP, token)
}

/// Adds the timestamp `token` as an unsigned attribute `kind` of signer `id`.
pub fn add_unsigned_token(
    document: &[u8],
    id: &str,
    kind: der::asn1::ObjectIdentifier,
    token: &[u8],
) -> Result<Vec<u8>, PluginError> {
    let token = Any::from_der(token)
        .map_err(|e| PluginError::bad_request(format!("the timestamp token is not DER: {e}")))?;
    rewrite(document, |signed| {
        modify_signer(signed, id, |info| {
            let mut unsigned = info.unsigned_attrs.take().unwrap_or_default();
            unsigned
                .insert(attribute(kind, &token)?)
                .map_err(encoding)?;
            info.unsigned_attrs = Some(unsigned);
            Ok(())
        })
    })
}

/// Adds certificates, CRLs and OCSP responses to the SignedData (B-LT keeps them in its
/// `certificates` and `crls` fields, EN 319 122-1 6.3 and RFC 5940).
pub fn add_validation_data(document: &[u8], data: &ValidationData) -> Result<Vec<u8>, PluginError> {
    let certificates = data
        .certificates
        .iter()
        .map(|der| {
            Certificate::from_der(der)
                .map_err(|e| PluginError::bad_request(format!("not a DER X.509 certificate: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut choices = Vec::new();
    for crl in &data.crls {
        choices.push(crl_choice(crl)?);
    }
    for response in &data.ocsp_responses {
        choices.push(ocsp_choice(response)?);
    }
    rewrite(document, |signed| {
        add_certificates(signed, certificates)?;
        let mut set = signed
            .crls
            .take()
            .map(|s| s.0.into_vec())
            .unwrap_or_default();
        for choice in choices {
            let encoded = choice.to_der().map_err(encoding)?;
            if !set.iter().any(|c| c.to_der().is_ok_and(|d| d == encoded)) {
                set.push(choice);
            }
        }
        signed.crls = Some(RevocationChoices(
            der::asn1::SetOfVec::try_from(set).map_err(encoding)?,
        ));
        Ok(())
    })
}
