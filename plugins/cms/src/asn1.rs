//! The ASN.1 pieces of CAdES that the `cms` crate does not define, the object identifiers, and a
//! reader of raw TLVs for the bytes that must be taken exactly as they were encoded.

use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, DigestAlgorithmIdentifiers, EncapsulatedContentInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use der::asn1::{Any, OctetString, SetOfVec};
use der::{Decode, Encode, Header, Reader, Sequence, SliceReader, Tag, Tagged};
use mubadile_plugin_api::PluginError;
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;

/// id-signedData (RFC 5652).
pub const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// id-data (RFC 5652).
pub const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
/// id-contentType.
pub const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
/// id-messageDigest.
pub const ID_MESSAGE_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// id-signingTime.
pub const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
/// id-countersignature (RFC 5652 11.4).
pub const ID_COUNTERSIGNATURE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.6");
/// id-aa-signingCertificate (RFC 2634, SHA-1 references; read, never written).
pub const ID_SIGNING_CERTIFICATE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.12");
/// id-aa-signingCertificateV2 (RFC 5035).
pub const ID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// id-aa-signatureTimeStampToken (RFC 3161 appendix A).
pub const ID_SIGNATURE_TIME_STAMP: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
/// id-aa-ATSHashIndex-v3 (ETSI EN 319 122-1 5.5.2).
pub const ID_ATS_HASH_INDEX_V3: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.19122.1.5");
/// id-aa-ets-archiveTimestampV3 (ETSI EN 319 122-1 5.5.3).
pub const ID_ARCHIVE_TIME_STAMP_V3: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("0.4.0.1733.2.4");
/// id-ri-ocsp-response (RFC 5940): an OCSP response among a SignedData's revocation choices.
pub const ID_RI_OCSP_RESPONSE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.16.2");
/// id-sha1.
pub const ID_SHA_1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
/// id-sha256.
pub const ID_SHA_256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
/// id-sha384.
pub const ID_SHA_384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
/// id-sha512.
pub const ID_SHA_512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

/// SignedData (RFC 5652 5.1), as the `cms` crate defines it except for `crls`: that crate reads
/// `OtherRevocationInfoFormat` as an AlgorithmIdentifier and so cannot read the OCSP responses of
/// RFC 5940 that CAdES-LT carries. Each revocation choice is kept as it was encoded.
#[derive(Clone, Debug, Sequence)]
pub struct SignedData {
    /// CMSVersion.
    pub version: CmsVersion,
    /// Every digest algorithm the signers use.
    pub digest_algorithms: DigestAlgorithmIdentifiers,
    /// The content type and, when attached, the content.
    pub encap_content_info: EncapsulatedContentInfo,
    /// Certificates.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub certificates: Option<CertificateSet>,
    /// Revocation choices: a CRL, or `[1]` other format (RFC 5940 OCSP responses).
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub crls: Option<RevocationChoices>,
    /// The signers.
    pub signer_infos: SignerInfos,
}

/// RevocationInfoChoices, each choice kept as encoded.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct RevocationChoices(pub SetOfVec<Any>);
x509_cert::impl_newtype!(RevocationChoices, SetOfVec<Any>);

/// SigningCertificateV2 (RFC 5035).
#[derive(Clone, Debug, Sequence)]
pub struct SigningCertificateV2 {
    /// The certificate references, the signer's first.
    pub certs: Vec<EssCertIdV2>,
    /// Policies (not used by CAdES baseline).
    #[asn1(optional = "true")]
    pub policies: Option<Any>,
}

/// ESSCertIDv2 (RFC 5035).
#[derive(Clone, Debug, Sequence)]
pub struct EssCertIdV2 {
    /// The hash algorithm; absent means SHA-256 (and DER requires leaving out the default).
    #[asn1(optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    /// Hash of the DER certificate.
    pub cert_hash: OctetString,
    /// Issuer and serial of the certificate.
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// SigningCertificate (RFC 2634): SHA-1 references, read for old signatures.
#[derive(Clone, Debug, Sequence)]
pub struct SigningCertificateV1 {
    /// The certificate references.
    pub certs: Vec<EssCertIdV1>,
    /// Policies.
    #[asn1(optional = "true")]
    pub policies: Option<Any>,
}

/// ESSCertID (RFC 2634).
#[derive(Clone, Debug, Sequence)]
pub struct EssCertIdV1 {
    /// SHA-1 hash of the DER certificate.
    pub cert_hash: OctetString,
    /// Issuer and serial of the certificate.
    #[asn1(optional = "true")]
    pub issuer_serial: Option<IssuerSerial>,
}

/// IssuerSerial (RFC 5035).
#[derive(Clone, Debug, Sequence)]
pub struct IssuerSerial {
    /// The issuer as general names (a directory name).
    pub issuer: Vec<GeneralName>,
    /// The serial number.
    pub serial_number: SerialNumber,
}

/// An attribute with one value.
pub fn attribute(oid: ObjectIdentifier, value: &impl Encode) -> Result<Attribute, PluginError> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![
            Any::from_der(&value.to_der().map_err(encoding)?).map_err(encoding)?,
        ])
        .map_err(encoding)?,
    })
}

/// The digest of `data` with the algorithm `oid`.
pub fn digest(oid: &ObjectIdentifier, data: &[u8]) -> Result<Vec<u8>, PluginError> {
    digest_parts(oid, &[data])
}

/// The digest of the concatenation of `parts` with the algorithm `oid`, without concatenating
/// them (a large document's ranges are hashed where they lie).
pub fn digest_parts(oid: &ObjectIdentifier, parts: &[&[u8]]) -> Result<Vec<u8>, PluginError> {
    use sha2::Digest;
    fn over<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
        let mut hasher = D::new();
        for part in parts {
            hasher.update(part);
        }
        hasher.finalize().to_vec()
    }
    Ok(if *oid == ID_SHA_256 {
        over::<sha2::Sha256>(parts)
    } else if *oid == ID_SHA_384 {
        over::<sha2::Sha384>(parts)
    } else if *oid == ID_SHA_512 {
        over::<sha2::Sha512>(parts)
    } else if *oid == ID_SHA_1 {
        // Legacy material stays readable; the validator's algorithm policy reports it as weak.
        over::<sha1::Sha1>(parts)
    } else {
        return Err(PluginError::unsupported(format!(
            "digest algorithm {oid} is not supported; SHA-256, SHA-384, SHA-512 (and SHA-1 for reading) are"
        )));
    })
}

/// Decodes a DER `ContentInfo` holding a `SignedData`.
pub fn decode_signed_data(document: &[u8]) -> Result<SignedData, PluginError> {
    let info = ContentInfo::from_der(document).map_err(|e| {
        PluginError::malformed(format!(
            "not a DER CMS ContentInfo ({e}); give a .p7s/.p7m file in DER (convert PEM or BER with `openssl cms -cmsout -outform DER`)"
        ))
    })?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(PluginError::unsupported(format!(
            "the CMS content is {}, not SignedData",
            info.content_type
        )));
    }
    info.content
        .decode_as::<SignedData>()
        .map_err(|e| PluginError::malformed(format!("the SignedData is damaged: {e}")))
}

/// Encodes a `SignedData` as a DER `ContentInfo`.
pub fn encode_signed_data(signed: &SignedData) -> Result<Vec<u8>, PluginError> {
    ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(signed).map_err(encoding)?,
    }
    .to_der()
    .map_err(encoding)
}

/// A bug in what the plugin builds, not bad input.
pub fn encoding(e: der::Error) -> PluginError {
    PluginError::bad_request(format!("could not encode the signature structure: {e}"))
}

/// One TLV as it was encoded.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    /// The tag.
    pub tag: Tag,
    /// Tag, length and value.
    pub whole: &'a [u8],
    /// The value only.
    pub value: &'a [u8],
}

/// The TLVs one after another in `bytes`.
pub fn tlvs(mut bytes: &[u8]) -> Result<Vec<Tlv<'_>>, PluginError> {
    let malformed = |e: der::Error| PluginError::malformed(format!("damaged DER: {e}"));
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let mut reader = SliceReader::new(bytes).map_err(malformed)?;
        let header = Header::decode(&mut reader).map_err(malformed)?;
        let header_len = usize::try_from(reader.position()).map_err(malformed)?;
        let value_len = usize::try_from(header.length).map_err(malformed)?;
        let end = header_len
            .checked_add(value_len)
            .filter(|end| *end <= bytes.len())
            .ok_or_else(|| PluginError::malformed("damaged DER: a length runs past the end"))?;
        out.push(Tlv {
            tag: header.tag,
            whole: &bytes[..end],
            value: &bytes[header_len..end],
        });
        bytes = &bytes[end..];
    }
    Ok(out)
}

/// The fields of the SignedData in a DER `ContentInfo`, as encoded: version, digestAlgorithms,
/// encapContentInfo, [0] certificates, [1] crls, signerInfos.
pub fn raw_signed_data_fields(document: &[u8]) -> Result<Vec<Tlv<'_>>, PluginError> {
    let content_info = single(document)?;
    // ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT content }
    let parts = tlvs(content_info.value)?;
    let explicit = parts
        .get(1)
        .ok_or_else(|| PluginError::malformed("ContentInfo without content"))?;
    let signed_data = single(explicit.value)?;
    tlvs(signed_data.value)
}

/// The raw `SignerInfo` TLVs of a DER `ContentInfo`/`SignedData`, in the order encoded.
pub fn raw_signer_infos(document: &[u8]) -> Result<Vec<&[u8]>, PluginError> {
    let fields = raw_signed_data_fields(document)?;
    let infos = fields
        .last()
        .filter(|t| t.tag == Tag::Set)
        .ok_or_else(|| PluginError::malformed("SignedData without signerInfos"))?;
    Ok(tlvs(infos.value)?.into_iter().map(|t| t.whole).collect())
}

/// The raw bytes a `SignerInfo`'s signature covers: its signed attributes re-tagged as a SET OF
/// (RFC 5652 5.4), exactly as the signer encoded them; `None` when it has no signed attributes.
pub fn raw_signed_attributes(signer_info: &[u8]) -> Result<Option<Vec<u8>>, PluginError> {
    let fields = tlvs(single(signer_info)?.value)?;
    let Some(attrs) = fields.iter().find(|t| {
        matches!(
            t.tag,
            Tag::ContextSpecific {
                number,
                constructed: true
            } if number.value() == 0
        )
    }) else {
        return Ok(None);
    };
    let header = Header::new(Tag::Set, attrs.value.len()).map_err(encoding)?;
    let mut out = header.to_der().map_err(encoding)?;
    out.extend_from_slice(attrs.value);
    Ok(Some(out))
}

/// One entry of a SignedData's revocation choices.
pub enum RevocationChoice {
    /// A DER CRL.
    Crl(Vec<u8>),
    /// A DER OCSPResponse (RFC 5940 id-ri-ocsp-response).
    Ocsp(Vec<u8>),
    /// Another format, not used.
    Other,
}

/// Reads one revocation choice as encoded.
pub fn revocation_choice(choice: &Any) -> Result<RevocationChoice, PluginError> {
    let damaged = |e| PluginError::malformed(format!("a revocation entry is damaged: {e}"));
    match choice.tag() {
        Tag::Sequence => Ok(RevocationChoice::Crl(choice.to_der().map_err(damaged)?)),
        Tag::ContextSpecific {
            number,
            constructed: true,
        } if number.value() == 1 => {
            let parts = tlvs(choice.value())?;
            match parts.as_slice() {
                [format, info] if format.tag == Tag::ObjectIdentifier => {
                    let oid = ObjectIdentifier::from_bytes(format.value).map_err(|e| {
                        PluginError::malformed(format!("a revocation entry is damaged: {e}"))
                    })?;
                    Ok(if oid == ID_RI_OCSP_RESPONSE {
                        RevocationChoice::Ocsp(info.whole.to_vec())
                    } else {
                        RevocationChoice::Other
                    })
                }
                _ => Err(PluginError::malformed(
                    "a revocation entry of another format is damaged",
                )),
            }
        }
        _ => Err(PluginError::malformed(
            "a revocation entry is neither a CRL nor another format",
        )),
    }
}

/// Encodes a CRL as a revocation choice.
pub fn crl_choice(crl: &[u8]) -> Result<Any, PluginError> {
    x509_cert::crl::CertificateList::from_der(crl)
        .map_err(|e| PluginError::bad_request(format!("not a DER CRL: {e}")))?;
    Any::from_der(crl).map_err(|e| PluginError::bad_request(format!("not a DER CRL: {e}")))
}

/// Encodes an OCSP response as a revocation choice (RFC 5940: `[1] { id-ri-ocsp-response, OCSPResponse }`).
pub fn ocsp_choice(response: &[u8]) -> Result<Any, PluginError> {
    let bad = |e: der::Error| PluginError::bad_request(format!("not a DER OCSP response: {e}"));
    single(response).map_err(|_| PluginError::bad_request("not a DER OCSP response"))?;
    let mut value = ID_RI_OCSP_RESPONSE.to_der().map_err(encoding)?;
    value.extend_from_slice(response);
    let tag = Tag::ContextSpecific {
        constructed: true,
        number: der::TagNumber::N1,
    };
    Any::new(tag, value).map_err(bad)
}

/// The one TLV `bytes` hold.
pub fn single(bytes: &[u8]) -> Result<Tlv<'_>, PluginError> {
    match tlvs(bytes)?.as_slice() {
        [one] => Ok(*one),
        _ => Err(PluginError::malformed(
            "damaged DER: expected exactly one element",
        )),
    }
}
