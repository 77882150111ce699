//! Checking an RFC 3161 timestamp token: that it covers the given bytes, that its signature
//! verifies with the TSA certificate it names, and that this certificate is for time-stamping
//! (SVR 2.5: the TSA's certificate and the timestamp's usage limits are checked).

use chrono::{DateTime, Utc};
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::ID_KP_TIME_STAMPING;
use der::asn1::OctetString;
use der::{Decode, Encode};
use x509_tsp::TstInfo;

use super::facts::CertificateFacts;
use crate::crypto::{digest, verify_cms_signature};
use crate::time::from_x509_time;

/// id-ct-TSTInfo (RFC 3161).
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// id-messageDigest.
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");

/// A timestamp whose own signature and imprint have been checked. Its TSA certificate's path and
/// revocation are checked by the caller, like any other certificate's.
#[derive(Debug, Clone)]
pub struct CheckedTimestamp {
    /// The time it attests.
    pub gen_time: DateTime<Utc>,
    /// The TSA certificate that signed it.
    pub tsa: CertificateFacts,
    /// Certificates the token carries.
    pub certificates: Vec<CertificateFacts>,
    /// Dotted OID of the imprint's hash algorithm (for the algorithm policy).
    pub hash_algorithm: ObjectIdentifier,
}

/// Checks `token` (DER ContentInfo) against the bytes it should cover; `pool` supplies the TSA
/// certificate when the token does not carry it. `Err` says what is wrong.
pub fn check_timestamp(
    token: &[u8],
    covered: &[u8],
    pool: &[CertificateFacts],
) -> Result<CheckedTimestamp, String> {
    check_token(
        token,
        |algorithm| digest(algorithm, covered).map_err(|e| e.to_string()),
        "the timestamp does not cover this signature (message imprint differs)",
        pool,
    )
}

/// [`check_timestamp`] for a token that should cover the hash `hashed` made with `algorithm`
/// (an RFC 4998 hash tree's root): the imprint must be that hash, made with that algorithm.
pub fn check_timestamp_of_hash(
    token: &[u8],
    algorithm: &ObjectIdentifier,
    hashed: &[u8],
    pool: &[CertificateFacts],
) -> Result<CheckedTimestamp, String> {
    check_token(
        token,
        |used| {
            if used == algorithm {
                Ok(hashed.to_vec())
            } else {
                Err(format!(
                    "the timestamp's imprint is made with {used}, the record says {algorithm}"
                ))
            }
        },
        "the timestamp does not cover the hash tree's root (message imprint differs)",
        pool,
    )
}

/// The checks of both: `expected` gives the imprint the token must carry for its algorithm.
fn check_token(
    token: &[u8],
    expected: impl FnOnce(&ObjectIdentifier) -> Result<Vec<u8>, String>,
    differs: &str,
    pool: &[CertificateFacts],
) -> Result<CheckedTimestamp, String> {
    let info =
        ContentInfo::from_der(token).map_err(|e| format!("not a DER timestamp token: {e}"))?;
    let signed: SignedData = info
        .content
        .decode_as()
        .map_err(|e| format!("the timestamp token is damaged: {e}"))?;
    if signed.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err("the token does not hold a TSTInfo".into());
    }
    let content = signed
        .encap_content_info
        .econtent
        .as_ref()
        .and_then(|c| c.decode_as::<OctetString>().ok())
        .ok_or("the token has no TSTInfo")?;
    let tst = TstInfo::from_der(content.as_bytes()).map_err(|e| format!("damaged TSTInfo: {e}"))?;
    let imprint = &tst.message_imprint;
    let hash_algorithm = imprint.hash_algorithm.oid;
    if imprint.hashed_message.as_bytes() != expected(&hash_algorithm)?.as_slice() {
        return Err(differs.into());
    }
    let [signer] = signed.signer_infos.0.as_slice() else {
        return Err("a timestamp token must have exactly one signer".into());
    };
    let attrs = signer
        .signed_attrs
        .as_ref()
        .ok_or("the timestamp token has no signed attributes")?;
    let claimed = attrs
        .iter()
        .find(|a| a.oid == ID_MESSAGE_DIGEST)
        .and_then(|a| a.values.get(0))
        .and_then(|v| v.decode_as::<OctetString>().ok())
        .ok_or("the timestamp token has no message-digest")?;
    let computed = digest(&signer.digest_alg.oid, content.as_bytes()).map_err(|e| e.to_string())?;
    if claimed.as_bytes() != computed.as_slice() {
        return Err("the timestamp token's content was changed (message-digest differs)".into());
    }
    let certificates: Vec<CertificateFacts> = signed
        .certificates
        .iter()
        .flat_map(|s| s.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => {
                CertificateFacts::from_certificate(c.clone()).ok()
            }
            CertificateChoices::Other(_) => None,
        })
        .collect();
    let tsa = certificates
        .iter()
        .chain(pool)
        .find(|c| match &signer.sid {
            SignerIdentifier::IssuerAndSerialNumber(ias) => {
                ias.serial_number == c.certificate.tbs_certificate.serial_number
                    && ias.issuer.to_der().ok().as_deref() == Some(&c.issuer_der[..])
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => {
                c.subject_key_id.as_deref() == Some(ski.0.as_bytes())
            }
        })
        .cloned()
        .ok_or("the TSA certificate is neither in the token nor known")?;
    let signed_bytes = attrs.to_der().map_err(|e| e.to_string())?;
    verify_cms_signature(
        &tsa.certificate.tbs_certificate.subject_public_key_info,
        &signer.signature_algorithm,
        &signer.digest_alg.oid,
        &signed_bytes,
        signer.signature.as_bytes(),
    )
    .map_err(|_| "the timestamp's signature does not verify".to_string())?;
    if !tsa.extended_key_usage.contains(&ID_KP_TIME_STAMPING) {
        return Err(format!(
            "{} is not a time-stamping certificate (RFC 3161 2.3)",
            tsa.subject()
        ));
    }
    let gen_time = from_x509_time(&x509_cert::time::Time::GeneralTime(tst.gen_time));
    if !tsa.valid_at(gen_time) {
        return Err("the TSA certificate was not in force at the time it attests (CSP 6.5)".into());
    }
    Ok(CheckedTimestamp {
        gen_time,
        tsa,
        certificates,
        hash_algorithm,
    })
}
