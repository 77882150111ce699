//! Reading a CMS SignedData into evidence: every signer and every counter-signature, with the
//! exact bytes each signature covers. Nothing is checked here (the validator does that).

use cms::cert::CertificateChoices;
use cms::signed_data::{SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use der::asn1::OctetString;
use der::{Decode, Encode};
use mubadile_plugin_api::{
    CertificateReference, DigestCheck, PluginError, SignatureEvidence, SignerReference,
    TimestampEvidence, TimestampKind,
};
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::time::Time;

use crate::asn1::{self, *};

/// A signed document, decoded once.
pub struct SignedDocument<'a> {
    /// The document as encoded.
    raw: &'a [u8],
    /// The decoded SignedData.
    pub signed: SignedData,
    /// The signed content, embedded or supplied.
    pub content: Option<&'a [u8]>,
    raw_infos: Vec<&'a [u8]>,
}

impl<'a> SignedDocument<'a> {
    /// Decodes `document`, taking the content from inside it or from `detached`.
    pub fn read(
        document: &'a [u8],
        detached: Option<&'a [u8]>,
    ) -> Result<SignedDocument<'a>, PluginError> {
        let signed = decode_signed_data(document)?;
        let raw_infos = raw_signer_infos(document)?;
        let embedded = embedded_content(document)?;
        let content = match (embedded, detached) {
            (Some(_), Some(_)) => {
                return Err(PluginError::bad_request(
                    "the signature carries its content (attached); do not give detached data",
                ));
            }
            (Some(c), None) => Some(c),
            (None, d) => d,
        };
        Ok(SignedDocument {
            raw: document,
            signed,
            content,
            raw_infos,
        })
    }

    /// Every signature with its counter-signatures, in document order.
    pub fn evidence(&self) -> Result<Vec<SignatureEvidence>, PluginError> {
        let shared = Shared::of(&self.signed);
        let mut out = Vec::new();
        for raw in &self.raw_infos {
            let info = SignerInfo::from_der(raw)
                .map_err(|e| PluginError::malformed(format!("a SignerInfo is damaged: {e}")))?;
            let covered = Covered::Content {
                content_type: self.signed.encap_content_info.econtent_type,
                content: self.content,
            };
            collect(&info, raw, Some(self.raw), covered, None, &shared, &mut out)?;
        }
        Ok(out)
    }

    /// How many signatures the document holds, counter-signatures included, without computing
    /// anything (what sniffing needs).
    pub fn signature_count(&self) -> usize {
        fn with_counters(info: &SignerInfo) -> usize {
            let unsigned: &[Attribute] = info.unsigned_attrs.as_ref().map_or(&[], |a| a.as_slice());
            1 + values(unsigned, ID_COUNTERSIGNATURE)
                .filter_map(|v| v.to_der().ok())
                .filter_map(|der| SignerInfo::from_der(&der).ok())
                .map(|counter| with_counters(&counter))
                .sum::<usize>()
        }
        self.signed.signer_infos.0.iter().map(with_counters).sum()
    }

    /// The decoded signer infos with their identifiers, in document order.
    pub fn signer_infos(&self) -> Result<Vec<(String, SignerInfo)>, PluginError> {
        self.raw_infos
            .iter()
            .map(|raw| {
                let info = SignerInfo::from_der(raw)
                    .map_err(|e| PluginError::malformed(format!("a SignerInfo is damaged: {e}")))?;
                Ok((signature_id(None, info.signature.as_bytes()), info))
            })
            .collect()
    }
}

/// A signature's identifier: stable while timestamps and validation data are added, because it
/// comes from the signature value itself. Counter-signatures are named under their parent.
pub fn signature_id(parent: Option<&str>, signature_value: &[u8]) -> String {
    let hash = asn1::digest(&ID_SHA_256, signature_value).unwrap_or_default();
    let short: String = hash.iter().take(6).map(|b| format!("{b:02x}")).collect();
    match parent {
        Some(p) => format!("{p}/c-{short}"),
        None => format!("s-{short}"),
    }
}

/// What a signature covers.
#[derive(Clone, Copy)]
enum Covered<'a> {
    /// The document's content.
    Content {
        content_type: ObjectIdentifier,
        content: Option<&'a [u8]>,
    },
    /// The signature value of another signer (RFC 5652 11.4).
    Signature(&'a [u8]),
}

/// What all signers of one SignedData share: its certificates and revocation data.
struct Shared {
    certificates: Vec<Vec<u8>>,
    crls: Vec<Vec<u8>>,
    ocsp_responses: Vec<Vec<u8>>,
    problems: Vec<String>,
}

impl Shared {
    fn of(signed: &SignedData) -> Shared {
        let mut shared = Shared {
            certificates: Vec::new(),
            crls: Vec::new(),
            ocsp_responses: Vec::new(),
            problems: Vec::new(),
        };
        for choice in signed.certificates.iter().flat_map(|s| s.0.iter()) {
            match choice {
                CertificateChoices::Certificate(c) => match c.to_der() {
                    Ok(der) => shared.certificates.push(der),
                    Err(e) => shared
                        .problems
                        .push(format!("a certificate is damaged: {e}")),
                },
                CertificateChoices::Other(_) => {}
            }
        }
        for choice in signed.crls.iter().flat_map(|s| s.0.iter()) {
            match revocation_choice(choice) {
                Ok(RevocationChoice::Crl(der)) => shared.crls.push(der),
                Ok(RevocationChoice::Ocsp(der)) => shared.ocsp_responses.push(der),
                Ok(RevocationChoice::Other) => {}
                Err(e) => shared.problems.push(e.message),
            }
        }
        shared
    }
}

/// The evidence of signer `info` (encoded as `raw`) and its counter-signatures; `document` is
/// the whole signed document for a top-level signer, whose archive timestamps cover it.
fn collect(
    info: &SignerInfo,
    raw: &[u8],
    document: Option<&[u8]>,
    covered: Covered<'_>,
    parent: Option<&str>,
    shared: &Shared,
    out: &mut Vec<SignatureEvidence>,
) -> Result<(), PluginError> {
    let id = signature_id(parent, info.signature.as_bytes());
    let mut problems = shared.problems.clone();
    let signed_attributes = raw_signed_attributes(raw)?;
    let attrs: &[Attribute] = info.signed_attrs.as_ref().map_or(&[], |a| a.as_slice());
    let unsigned: &[Attribute] = info.unsigned_attrs.as_ref().map_or(&[], |a| a.as_slice());
    let digest_algorithm = info.digest_alg.oid;

    let (covered_bytes, expected_content_type) = match covered {
        Covered::Content {
            content_type,
            content,
        } => (content, Some(content_type)),
        Covered::Signature(value) => (Some(value), None),
    };
    let signed_bytes = match (&signed_attributes, covered_bytes) {
        (Some(attrs), _) => attrs.clone(),
        (None, Some(content)) => content.to_vec(),
        (None, None) => Vec::new(),
    };
    let data_digest = match single_value::<OctetString>(attrs, ID_MESSAGE_DIGEST, &mut problems) {
        Some(claimed) => Some(DigestCheck {
            algorithm: digest_algorithm.to_string(),
            claimed: claimed.as_bytes().to_vec(),
            computed: covered_bytes
                .map(|c| asn1::digest(&digest_algorithm, c))
                .transpose()?,
        }),
        None => {
            if signed_attributes.is_some() {
                problems.push("signed attributes without a message-digest (RFC 5652 5.3)".into());
            }
            None
        }
    };
    let content_type = single_value::<ObjectIdentifier>(attrs, ID_CONTENT_TYPE, &mut problems);
    match (expected_content_type, content_type) {
        (Some(expected), Some(named)) if expected != named => problems.push(format!(
            "the content-type attribute names {named} but the content is {expected} (RFC 5652 11.1)"
        )),
        (Some(_), None) if signed_attributes.is_some() => {
            problems.push("signed attributes without a content-type (RFC 5652 11.1)".into())
        }
        (None, Some(_)) => problems
            .push("a counter-signature must not carry a content-type (RFC 5652 11.4)".into()),
        _ => {}
    }
    let claimed_signing_time = single_value::<Time>(attrs, ID_SIGNING_TIME, &mut problems)
        .and_then(|t| i64::try_from(t.to_unix_duration().as_secs()).ok());
    let signing_certificate_references = certificate_references(attrs, &mut problems);

    let mut timestamps: Vec<TimestampEvidence> = values(unsigned, ID_SIGNATURE_TIME_STAMP)
        .filter_map(|token| token.to_der().ok())
        .map(|token| TimestampEvidence {
            kind: TimestampKind::Signature,
            token,
            covered_data: info.signature.as_bytes().to_vec(),
        })
        .collect();
    if let (Some(document), Some(content)) = (document, covered_bytes) {
        for token in values(unsigned, ID_ARCHIVE_TIME_STAMP_V3).filter_map(|t| t.to_der().ok()) {
            // Archive timestamps of another form than v3 with its index are not evidence here.
            if let Some(found) = crate::archive::existing(document, raw, content, &token)? {
                problems.extend(found.missing);
                timestamps.push(TimestampEvidence {
                    kind: TimestampKind::Archive,
                    token,
                    covered_data: found.covered,
                });
            }
        }
    }
    let archived = values(unsigned, ID_ARCHIVE_TIME_STAMP_V3).next().is_some();
    let has_validation_data = !shared.crls.is_empty() || !shared.ocsp_responses.is_empty();
    let level = match (
        signing_certificate_references.is_empty(),
        timestamps.is_empty(),
        has_validation_data,
        archived,
    ) {
        (true, ..) => "CMS",
        (false, _, _, true) => "CAdES-BASELINE-LTA",
        (false, false, true, false) => "CAdES-BASELINE-LT",
        (false, false, false, false) => "CAdES-BASELINE-T",
        (false, true, ..) => "CAdES-BASELINE-B",
    };
    if covered_bytes.is_none() {
        problems.push(
            "the signed data is not in the file (detached signature); give it as well".into(),
        );
    }
    let signer = match &info.sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => SignerReference::IssuerSerial {
            issuer: ias
                .issuer
                .to_der()
                .map_err(|e| PluginError::malformed(format!("damaged issuer name: {e}")))?,
            serial: ias.serial_number.as_bytes().to_vec(),
        },
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            SignerReference::KeyIdentifier(ski.0.as_bytes().to_vec())
        }
    };
    out.push(SignatureEvidence {
        id: id.clone(),
        counter_signature_of: parent.map(str::to_string),
        level: level.to_string(),
        signer,
        signed_bytes,
        signature_algorithm: info
            .signature_algorithm
            .to_der()
            .map_err(|e| PluginError::malformed(format!("damaged signature algorithm: {e}")))?,
        digest_algorithm: digest_algorithm.to_string(),
        signature_value: info.signature.as_bytes().to_vec(),
        data_digest,
        claimed_signing_time,
        signing_certificate_references,
        certificates: shared.certificates.clone(),
        crls: shared.crls.clone(),
        ocsp_responses: shared.ocsp_responses.clone(),
        timestamps,
        content_type: content_type.map(|c| c.to_string()),
        format_problems: problems,
        notes: Vec::new(),
    });
    for counter in values(unsigned, ID_COUNTERSIGNATURE) {
        let raw_counter = counter
            .to_der()
            .map_err(|e| PluginError::malformed(format!("damaged counter-signature: {e}")))?;
        let counter_info = SignerInfo::from_der(&raw_counter)
            .map_err(|e| PluginError::malformed(format!("damaged counter-signature: {e}")))?;
        collect(
            &counter_info,
            &raw_counter,
            None,
            Covered::Signature(info.signature.as_bytes()),
            Some(&id),
            shared,
            out,
        )?;
    }
    Ok(())
}

/// The content inside the document (the value of the eContent OCTET STRING), if attached.
fn embedded_content(document: &[u8]) -> Result<Option<&[u8]>, PluginError> {
    let content_info = tlvs(document)?;
    let Some(ci) = content_info.first() else {
        return Ok(None);
    };
    let explicit = tlvs(ci.value)?;
    let Some(sd) = explicit.get(1).map(|e| tlvs(e.value)).transpose()? else {
        return Ok(None);
    };
    let Some(fields) = sd.first().map(|s| tlvs(s.value)).transpose()? else {
        return Ok(None);
    };
    // SignedData: version, digestAlgorithms, encapContentInfo, …
    let Some(encap) = fields.get(2) else {
        return Ok(None);
    };
    let encap_fields = tlvs(encap.value)?;
    let Some(explicit_content) = encap_fields.get(1) else {
        return Ok(None);
    };
    let octets = tlvs(explicit_content.value)?;
    match octets.as_slice() {
        [one] if one.tag == der::Tag::OctetString => Ok(Some(one.value)),
        _ => Err(PluginError::unsupported(
            "the embedded content is not a DER OCTET STRING (BER-constructed content is not supported; re-encode with `openssl cms -cmsout -outform DER`)",
        )),
    }
}

fn values(attrs: &[Attribute], oid: ObjectIdentifier) -> impl Iterator<Item = &der::asn1::Any> {
    attrs
        .iter()
        .filter(move |a| a.oid == oid)
        .flat_map(|a| a.values.iter())
}

fn single_value<T: for<'a> Decode<'a>>(
    attrs: &[Attribute],
    oid: ObjectIdentifier,
    problems: &mut Vec<String>,
) -> Option<T> {
    let mut found = attrs.iter().filter(|a| a.oid == oid);
    let attr = found.next()?;
    if found.next().is_some() || attr.values.len() != 1 {
        problems.push(format!(
            "attribute {oid} must appear once with one value (RFC 5652 11)"
        ));
    }
    let decoded = attr
        .values
        .get(0)
        .and_then(|v| v.to_der().ok())
        .map(|der| T::from_der(&der));
    match decoded {
        Some(Ok(v)) => Some(v),
        _ => {
            problems.push(format!("attribute {oid} is damaged"));
            None
        }
    }
}

fn certificate_references(
    attrs: &[Attribute],
    problems: &mut Vec<String>,
) -> Vec<CertificateReference> {
    if let Some(v2) =
        single_value::<SigningCertificateV2>(attrs, ID_SIGNING_CERTIFICATE_V2, problems)
    {
        return v2
            .certs
            .iter()
            .map(|c| CertificateReference {
                hash_algorithm: c
                    .hash_algorithm
                    .as_ref()
                    .map_or(ID_SHA_256, |a| a.oid)
                    .to_string(),
                hash: c.cert_hash.as_bytes().to_vec(),
                issuer_serial: c.issuer_serial.as_ref().and_then(issuer_serial),
            })
            .collect();
    }
    if let Some(v1) = single_value::<SigningCertificateV1>(attrs, ID_SIGNING_CERTIFICATE, problems)
    {
        return v1
            .certs
            .iter()
            .map(|c| CertificateReference {
                hash_algorithm: ID_SHA_1.to_string(),
                hash: c.cert_hash.as_bytes().to_vec(),
                issuer_serial: c.issuer_serial.as_ref().and_then(issuer_serial),
            })
            .collect();
    }
    Vec::new()
}

fn issuer_serial(is: &IssuerSerial) -> Option<(Vec<u8>, Vec<u8>)> {
    let name = is.issuer.iter().find_map(|g| match g {
        GeneralName::DirectoryName(n) => n.to_der().ok(),
        _ => None,
    })?;
    Some((name, is.serial_number.as_bytes().to_vec()))
}
