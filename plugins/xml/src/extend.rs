//! Raising a XAdES signature's level (ETSI EN 319 132-1 6.3): a signature timestamp (B-T), the
//! certificate and revocation values (B-LT) and archive timestamps (B-LTA), each put into the
//! signature's `xades:UnsignedSignatureProperties`, which no Reference covers, so the signature
//! stays intact.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use mubadile_plugin_api::{PluginError, ValidationData};

use crate::c14n::{Algorithm, EXC_C14N, Method};
use crate::dsig::{
    DSIG, XADES, XADES141, archive_timestamp_bytes, child, descendants, is_counter_signature,
    qualifying_properties, signature_timestamp_bytes,
};
use crate::parse;
use crate::sign::insert_at_end;
use mubadile_xml_tree::{Document, NodeId};

/// The bytes a signature timestamp over signature `id` covers: its `ds:SignatureValue`
/// element, canonicalized with exclusive C14N (EN 319 132-1 5.3), the method the timestamp
/// element names.
pub fn signature_timestamp_data(document: &[u8], id: &str) -> Result<Vec<u8>, PluginError> {
    let doc = parse(document).map_err(PluginError::malformed)?;
    let signature = signature(&doc, id)?;
    signature_timestamp_bytes(&doc, signature, Algorithm::new(Method::Exclusive10, false))
        .map_err(PluginError::malformed)
}

/// Adds `xades:SignatureTimeStamp` holding `token` to signature `id` (B-T).
pub fn add_signature_timestamp(
    document: &[u8],
    id: &str,
    token: &[u8],
) -> Result<Vec<u8>, PluginError> {
    add_timestamp(document, id, token, XADES, "xades", "SignatureTimeStamp")
}

/// Adds the timestamp element `{namespace}local` (written with `prefix`) holding `token` to
/// signature `id`, stating exclusive C14N as the method its covered data was made with.
fn add_timestamp(
    document: &[u8],
    id: &str,
    token: &[u8],
    namespace: &str,
    prefix: &str,
    local: &str,
) -> Result<Vec<u8>, PluginError> {
    if token.first() != Some(&0x30) {
        return Err(PluginError::bad_request(
            "the timestamp token is not a DER ContentInfo",
        ));
    }
    // The EncapsulatedTimeStamp is in the XAdES 1.3.2 namespace whatever the element's.
    let xades = if namespace == XADES {
        String::new()
    } else {
        format!(r#" xmlns:xades="{XADES}""#)
    };
    let element = format!(
        r#"<{prefix}:{local} xmlns:{prefix}="{namespace}"{xades} xmlns:ds="{DSIG}"><ds:CanonicalizationMethod Algorithm="{EXC_C14N}"/><xades:EncapsulatedTimeStamp>{}</xades:EncapsulatedTimeStamp></{prefix}:{local}>"#,
        STANDARD.encode(token)
    );
    add_unsigned_signature_property(document, id, &element)
}

/// The bytes an archive timestamp added to signature `id` now covers (EN 319 132-1 5.5.2, with
/// exclusive C14N): its references' data, SignedInfo, SignatureValue, KeyInfo, every unsigned
/// signature property and its other `ds:Object`s.
pub fn archive_timestamp_data(
    document: &[u8],
    id: &str,
    detached: Option<&[u8]>,
) -> Result<Vec<u8>, PluginError> {
    let doc = parse(document).map_err(PluginError::malformed)?;
    let signature = signature(&doc, id)?;
    // Counter-signatures are not extended, so covering them is fine.
    if descendants(&doc, signature, DSIG, "Signature").any(|s| !is_counter_signature(&doc, s)) {
        // Its archive timestamp would cover the nested signature, which its own extension
        // then changes.
        return Err(PluginError::unsupported(format!(
            "signature {id} holds another signature in a ds:Object; archive timestamps over such nested parallel signatures are not supported"
        )));
    }
    archive_timestamp_bytes(
        &doc,
        signature,
        None,
        Algorithm::new(Method::Exclusive10, false),
        detached,
    )
    .map_err(PluginError::malformed)
}

/// Adds `xades141:ArchiveTimeStamp` holding `token` to signature `id` (B-LTA), made over
/// [`archive_timestamp_data`].
pub fn add_archive_timestamp(
    document: &[u8],
    id: &str,
    token: &[u8],
) -> Result<Vec<u8>, PluginError> {
    add_timestamp(
        document,
        id,
        token,
        XADES141,
        "xades141",
        "ArchiveTimeStamp",
    )
}

/// Adds `xades:CertificateValues` and `xades:RevocationValues` with `data` to every signature
/// of `document` (B-LT), leaving out what a signature already carries.
pub fn add_validation_data(document: &[u8], data: &ValidationData) -> Result<Vec<u8>, PluginError> {
    let mut document = document.to_vec();
    let count = {
        let doc = parse(&document).map_err(PluginError::malformed)?;
        crate::dsig::signatures(&doc).len()
    };
    for index in 0..count {
        let id = format!("s{index}");
        let carried = {
            let doc = parse(&document).map_err(PluginError::malformed)?;
            let evidence = crate::dsig::evidence(&doc, index, signature(&doc, &id)?, None);
            [
                evidence.certificates,
                evidence.crls,
                evidence.ocsp_responses,
            ]
        };
        let new = |values: &[Vec<u8>], carried: &[Vec<u8>], tag: &str| -> String {
            values
                .iter()
                .filter(|v| !carried.contains(v))
                .map(|v| format!("<xades:{tag}>{}</xades:{tag}>", STANDARD.encode(v)))
                .collect()
        };
        let certificates = new(
            &data.certificates,
            &carried[0],
            "EncapsulatedX509Certificate",
        );
        let crls = new(&data.crls, &carried[1], "EncapsulatedCRLValue");
        let ocsp = new(&data.ocsp_responses, &carried[2], "EncapsulatedOCSPValue");
        let mut element = String::new();
        if !certificates.is_empty() {
            element += &format!(
                r#"<xades:CertificateValues xmlns:xades="{XADES}">{certificates}</xades:CertificateValues>"#
            );
        }
        if !crls.is_empty() || !ocsp.is_empty() {
            let crls = if crls.is_empty() {
                crls
            } else {
                format!("<xades:CRLValues>{crls}</xades:CRLValues>")
            };
            let ocsp = if ocsp.is_empty() {
                ocsp
            } else {
                format!("<xades:OCSPValues>{ocsp}</xades:OCSPValues>")
            };
            element += &format!(
                r#"<xades:RevocationValues xmlns:xades="{XADES}">{crls}{ocsp}</xades:RevocationValues>"#
            );
        }
        if !element.is_empty() {
            document = add_unsigned_signature_property(&document, &id, &element)?;
        }
    }
    Ok(document)
}

/// `document` with `element` appended to the UnsignedSignatureProperties of signature `id`,
/// which are made when missing.
fn add_unsigned_signature_property(
    document: &[u8],
    id: &str,
    element: &str,
) -> Result<Vec<u8>, PluginError> {
    let doc = parse(document).map_err(PluginError::malformed)?;
    let signature = signature(&doc, id)?;
    let (node, open, close) = unsigned_signature_property_place(&doc, signature)?;
    Ok(insert_at_end(document, &doc, node, &[&open, element, &close])?.0)
}

/// Where a new unsigned signature property of `signature` goes: at the end of element `node`,
/// wrapped in `open` and `close`, which make the UnsignedSignatureProperties (and the
/// UnsignedProperties) when missing.
pub(crate) fn unsigned_signature_property_place(
    doc: &Document<'_>,
    signature: NodeId,
) -> Result<(NodeId, String, String), PluginError> {
    let properties = qualifying_properties(doc, signature).ok_or_else(|| {
        PluginError::unsupported(
            "the signature has no xades:QualifyingProperties: it is XMLDSig, not XAdES, and cannot be extended",
        )
    })?;
    let unsigned = child(doc, properties, XADES, "UnsignedProperties");
    Ok(
        match unsigned.map(|u| (u, child(doc, u, XADES, "UnsignedSignatureProperties"))) {
            Some((_, Some(signature_properties))) => {
                (signature_properties, String::new(), String::new())
            }
            Some((unsigned, None)) => (
                unsigned,
                format!(r#"<xades:UnsignedSignatureProperties xmlns:xades="{XADES}">"#),
                "</xades:UnsignedSignatureProperties>".into(),
            ),
            None => (
                properties,
                format!(
                    r#"<xades:UnsignedProperties xmlns:xades="{XADES}"><xades:UnsignedSignatureProperties>"#
                ),
                "</xades:UnsignedSignatureProperties></xades:UnsignedProperties>".into(),
            ),
        },
    )
}

/// Signature `id` of `doc` as the evidence names them: `s{index}`, or `s{index}/c{n}…` for a
/// counter-signature (which gets signature timestamps in its own unsigned properties; the
/// validation values and archive timestamps of B-LT and B-LTA go to the top-level signatures).
pub(crate) fn signature(doc: &Document<'_>, id: &str) -> Result<NodeId, PluginError> {
    crate::dsig::signature_by_id(doc, id).ok_or_else(|| PluginError::no_such_signature(id))
}
