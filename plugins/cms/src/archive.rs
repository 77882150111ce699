//! CAdES-B-LTA: archive-time-stamp-v3 with its ats-hash-index-v3 (ETSI EN 319 122-1 5.5.2,
//! 5.5.3). The archive timestamp covers the signed data, the signer's signed fields and an index
//! of hashes of every certificate, revocation answer and unsigned attribute present when it was
//! made; the index travels in the timestamp token's own unsigned attributes.
//!
//! Everything is hashed as encoded in the document (never decoded and re-encoded), so a
//! validator elsewhere computes the same bytes.

use der::asn1::Any;
use der::{Decode, Encode, Tag};
use mubadile_plugin_api::PluginError;
use spki::AlgorithmIdentifierOwned;

use crate::asn1::{self, *};
use crate::assemble::tlv;
use crate::read::{SignedDocument, signature_id};
use crate::rewrite::{modify_signer, rewrite};

/// The pieces of a signed document an archive timestamp covers, as encoded.
struct Archived<'a> {
    /// encapContentInfo.eContentType TLV.
    content_type: &'a [u8],
    /// Every CertificateChoices TLV of SignedData.certificates.
    certificates: Vec<&'a [u8]>,
    /// Every RevocationInfoChoice TLV of SignedData.crls.
    crls: Vec<&'a [u8]>,
    /// The fields of the signer's SignerInfo.
    signer_fields: Vec<asn1::Tlv<'a>>,
}

impl<'a> Archived<'a> {
    fn of(document: &'a [u8], raw_signer: &'a [u8]) -> Result<Archived<'a>, PluginError> {
        let fields = raw_signed_data_fields(document)?;
        let encapsulated = fields
            .iter()
            .find(|f| f.tag == Tag::Sequence)
            .ok_or_else(|| PluginError::malformed("SignedData without encapContentInfo"))?;
        let content_type = tlvs(encapsulated.value)?
            .first()
            .map(|t| t.whole)
            .ok_or_else(|| PluginError::malformed("encapContentInfo without eContentType"))?;
        let tagged = |number: u8| -> Result<Vec<&'a [u8]>, PluginError> {
            match fields.iter().find(
                |f| matches!(f.tag, Tag::ContextSpecific { number: n, .. } if n.value() == number),
            ) {
                Some(set) => Ok(tlvs(set.value)?.into_iter().map(|t| t.whole).collect()),
                None => Ok(Vec::new()),
            }
        };
        Ok(Archived {
            content_type,
            certificates: tagged(0)?,
            crls: tagged(1)?,
            signer_fields: tlvs(single(raw_signer)?.value)?,
        })
    }

    /// The unsigned attributes TLVs of the signer ([1] IMPLICIT SET OF Attribute).
    fn unsigned_attributes(&self) -> Result<Vec<asn1::Tlv<'a>>, PluginError> {
        match self.signer_fields.last() {
            Some(last) if matches!(last.tag, Tag::ContextSpecific { number, .. } if number.value() == 1) => {
                tlvs(last.value)
            }
            _ => Ok(Vec::new()),
        }
    }

    /// For each unsigned attribute value: the hash of its type and that value, concatenated
    /// (EN 319 122-1 5.5.2, unsignedAttrsHashIndex of version 3).
    fn attribute_hashes(&self) -> Result<Vec<Vec<u8>>, PluginError> {
        let mut hashes = Vec::new();
        for attribute in self.unsigned_attributes()? {
            let parts = tlvs(attribute.value)?;
            let [kind, values] = parts.as_slice() else {
                return Err(PluginError::malformed("an unsigned attribute is damaged"));
            };
            for value in tlvs(values.value)? {
                hashes.push(sha256(&[kind.whole, value.whole].concat())?);
            }
        }
        Ok(hashes)
    }

    /// The ats-hash-index-v3 value (ATSHashIndexV3) for the document as it is now.
    fn hash_index(&self) -> Result<Vec<u8>, PluginError> {
        let octets = |hashes: Vec<Vec<u8>>| -> Vec<u8> {
            let encoded: Vec<Vec<u8>> = hashes.iter().map(|h| tlv(0x04, &[h])).collect();
            let parts: Vec<&[u8]> = encoded.iter().map(Vec::as_slice).collect();
            tlv(0x30, &parts)
        };
        let algorithm = AlgorithmIdentifierOwned {
            oid: ID_SHA_256,
            parameters: None,
        }
        .to_der()
        .map_err(encoding)?;
        let certificates = self
            .certificates
            .iter()
            .map(|c| sha256(c))
            .collect::<Result<Vec<_>, _>>()?;
        let crls = self
            .crls
            .iter()
            .map(|c| sha256(c))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(tlv(
            0x30,
            &[
                &algorithm,
                &octets(certificates),
                &octets(crls),
                &octets(self.attribute_hashes()?),
            ],
        ))
    }

    /// The input of the archive timestamp's message imprint (EN 319 122-1 5.5.3): eContentType,
    /// the hash of the signed data, the SignerInfo's fields but its unsigned attributes, and the
    /// ats-hash-index-v3 value, each as encoded.
    fn covered(&self, content: &[u8], index: &[u8]) -> Result<Vec<u8>, PluginError> {
        let mut out = self.content_type.to_vec();
        out.extend(sha256(content)?);
        for field in &self.signer_fields {
            let unsigned =
                matches!(field.tag, Tag::ContextSpecific { number, .. } if number.value() == 1);
            if !unsigned {
                out.extend_from_slice(field.whole);
            }
        }
        out.extend_from_slice(index);
        Ok(out)
    }

    /// What an index lists that the document no longer holds, in words; empty when all is there.
    fn missing_from(&self, index: &[u8]) -> Result<Vec<String>, PluginError> {
        let parts = tlvs(single(index)?.value)?;
        let lists: Vec<Vec<Vec<u8>>> = parts
            .iter()
            .filter(|p| p.tag == Tag::Sequence)
            .skip(usize::from(parts.first().is_some_and(|p| {
                tlvs(p.value)
                    .ok()
                    .and_then(|f| f.first().map(|t| t.tag == Tag::ObjectIdentifier))
                    .unwrap_or(false)
            })))
            .map(|list| {
                Ok(tlvs(list.value)?
                    .into_iter()
                    .map(|o| o.value.to_vec())
                    .collect())
            })
            .collect::<Result<_, PluginError>>()?;
        let [certificates, crls, attributes] = lists.as_slice() else {
            return Ok(vec!["the ats-hash-index-v3 is damaged".into()]);
        };
        let have_certificates: Vec<Vec<u8>> = self
            .certificates
            .iter()
            .map(|c| sha256(c))
            .collect::<Result<_, _>>()?;
        let have_crls: Vec<Vec<u8>> = self
            .crls
            .iter()
            .map(|c| sha256(c))
            .collect::<Result<_, _>>()?;
        let have_attributes = self.attribute_hashes()?;
        let mut missing = Vec::new();
        for (listed, have, what) in [
            (certificates, &have_certificates, "certificate"),
            (crls, &have_crls, "revocation answer"),
            (attributes, &have_attributes, "unsigned attribute"),
        ] {
            let gone = listed.iter().filter(|h| !have.contains(h)).count();
            if gone > 0 {
                missing.push(format!(
                    "{gone} {what}(s) covered by an archive timestamp are no longer in the file"
                ));
            }
        }
        Ok(missing)
    }
}

/// The bytes a new archive timestamp over signature `id` covers (hashed with SHA-256).
pub fn archive_timestamp_data(
    document: &[u8],
    id: &str,
    detached: Option<&[u8]>,
) -> Result<Vec<u8>, PluginError> {
    let content = SignedDocument::read(document, detached)?
        .content
        .ok_or_else(|| {
            PluginError::bad_request("the signature is detached: give its signed data too")
        })?;
    let archived = signer(document, id)?;
    archived.covered(content, &archived.hash_index()?)
}

/// Adds the archive timestamp `token` (made over [`archive_timestamp_data`]) to signature `id`,
/// with the ats-hash-index-v3 in the token's unsigned attributes.
pub fn add_archive_timestamp(
    document: &[u8],
    id: &str,
    token: &[u8],
) -> Result<Vec<u8>, PluginError> {
    let index = Any::from_der(&signer(document, id)?.hash_index()?).map_err(encoding)?;
    let tsa_signer = SignedDocument::read(token, None)
        .map_err(|e| PluginError::bad_request(format!("not a timestamp token: {e}")))?
        .signer_infos()?
        .into_iter()
        .next()
        .map(|(signer, _)| signer)
        .ok_or_else(|| PluginError::bad_request("the timestamp token has no signer"))?;
    let token = rewrite(token, |signed| {
        modify_signer(signed, &tsa_signer, |info| {
            let mut unsigned = info.unsigned_attrs.take().unwrap_or_default();
            unsigned
                .insert(attribute(ID_ATS_HASH_INDEX_V3, &index)?)
                .map_err(encoding)?;
            info.unsigned_attrs = Some(unsigned);
            Ok(())
        })
    })?;
    crate::extend::add_unsigned_token(document, id, ID_ARCHIVE_TIME_STAMP_V3, &token)
}

/// An archive timestamp found in a document: the bytes its imprint covers, and what its index
/// lists that the document no longer holds, in words.
pub struct Existing {
    /// The input of the message imprint.
    pub covered: Vec<u8>,
    /// Covered data that is gone.
    pub missing: Vec<String>,
}

/// The archive timestamp `token` already in signature `raw_signer` of `document`; `None` when
/// the token carries no ats-hash-index-v3.
pub fn existing(
    document: &[u8],
    raw_signer: &[u8],
    content: &[u8],
    token: &[u8],
) -> Result<Option<Existing>, PluginError> {
    let archived = Archived::of(document, raw_signer)?;
    let Ok(signed) = decode_signed_data(token) else {
        return Ok(None);
    };
    let index = signed
        .signer_infos
        .0
        .iter()
        .flat_map(|i| i.unsigned_attrs.iter().flat_map(|a| a.iter()))
        .find(|a| a.oid == ID_ATS_HASH_INDEX_V3)
        .and_then(|a| a.values.iter().next())
        .map(|v| v.to_der())
        .transpose()
        .map_err(encoding)?;
    let Some(index) = index else { return Ok(None) };
    // The signer's own unsigned attributes now include this and later archive timestamps, which
    // the index cannot list; only what it lists must still be there.
    let missing = archived.missing_from(&index)?;
    Ok(Some(Existing {
        covered: archived.covered(content, &index)?,
        missing,
    }))
}

/// What an archive timestamp over top-level signature `id` of `document` covers.
fn signer<'a>(document: &'a [u8], id: &str) -> Result<Archived<'a>, PluginError> {
    let raw = raw_signer_infos(document)?
        .into_iter()
        .find(|raw| {
            cms::signed_data::SignerInfo::from_der(raw)
                .is_ok_and(|info| signature_id(None, info.signature.as_bytes()) == id)
        })
        .ok_or_else(|| PluginError::no_such_signature(id))?;
    Archived::of(document, raw)
}

fn sha256(data: &[u8]) -> Result<Vec<u8>, PluginError> {
    asn1::digest(&ID_SHA_256, data)
}
