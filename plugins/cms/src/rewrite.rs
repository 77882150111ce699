//! Changing an existing signed document without breaking any signature in it.

use cms::cert::CertificateChoices;
use cms::content_info::CmsVersion;
use cms::signed_data::{CertificateSet, SignerInfo, SignerInfos};
use der::{Tag, Tagged};
use mubadile_plugin_api::PluginError;
use x509_cert::Certificate;

use crate::asn1::*;
use crate::read::signature_id;

/// Decodes `document`, lets `change` alter it, and encodes it again, refusing the result if any
/// existing signature's signed attributes would not come out byte for byte as they went in
/// (a signer that did not encode them in DER order could not be extended without breaking it).
pub fn rewrite(
    document: &[u8],
    change: impl FnOnce(&mut SignedData) -> Result<(), PluginError>,
) -> Result<Vec<u8>, PluginError> {
    let mut signed = decode_signed_data(document)?;
    change(&mut signed)?;
    signed.version = signed_data_version(&signed);
    let out = encode_signed_data(&signed)?;
    let after = signed_attribute_encodings(&out)?;
    for before in signed_attribute_encodings(document)? {
        if !after.contains(&before) {
            return Err(PluginError::unsupported(
                "a signature in this file does not encode its signed attributes in DER order; \
                 changing the file would break it, so it is left as it is",
            ));
        }
    }
    Ok(out)
}

/// Applies `change` to the top-level signer named `id`.
pub fn modify_signer(
    signed: &mut SignedData,
    id: &str,
    change: impl FnOnce(&mut SignerInfo) -> Result<(), PluginError>,
) -> Result<(), PluginError> {
    let mut infos = std::mem::replace(
        &mut signed.signer_infos,
        SignerInfos::try_from(Vec::new()).map_err(encoding)?,
    )
    .0
    .into_vec();
    let info = infos
        .iter_mut()
        .find(|i| signature_id(None, i.signature.as_bytes()) == id)
        .ok_or_else(|| PluginError::no_such_signature(id))?;
    change(info)?;
    signed.signer_infos = SignerInfos::try_from(infos).map_err(encoding)?;
    Ok(())
}

/// Adds certificates that are not in the SignedData yet.
pub fn add_certificates(
    signed: &mut SignedData,
    certificates: Vec<Certificate>,
) -> Result<(), PluginError> {
    let mut set = signed
        .certificates
        .take()
        .map(|s| s.0.into_vec())
        .unwrap_or_default();
    for certificate in certificates {
        let choice = CertificateChoices::Certificate(certificate);
        if !set.contains(&choice) {
            set.push(choice);
        }
    }
    signed.certificates = Some(CertificateSet::try_from(set).map_err(encoding)?);
    Ok(())
}

/// The version RFC 5652 5.1 requires for what the SignedData holds.
fn signed_data_version(signed: &SignedData) -> CmsVersion {
    let other_certificates = signed
        .certificates
        .iter()
        .flat_map(|s| s.0.iter())
        .any(|c| matches!(c, CertificateChoices::Other(_)));
    let other_revocation = signed
        .crls
        .iter()
        .flat_map(|s| s.0.iter())
        .any(|c| c.tag() != Tag::Sequence);
    if other_certificates || other_revocation {
        CmsVersion::V5
    } else if signed.encap_content_info.econtent_type != ID_DATA
        || signed
            .signer_infos
            .0
            .iter()
            .any(|i| i.version == CmsVersion::V3)
    {
        CmsVersion::V3
    } else {
        CmsVersion::V1
    }
}

fn signed_attribute_encodings(document: &[u8]) -> Result<Vec<Vec<u8>>, PluginError> {
    let mut out = Vec::new();
    for raw in raw_signer_infos(document)? {
        out.extend(raw_signed_attributes(raw)?);
    }
    Ok(out)
}
