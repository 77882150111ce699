//! The time-stamping authority (RFC 3161, RFC 5816; CSP 6.1–6.5): UTC time to the second, signed
//! by the TSA certificate at creation, refused when that certificate is not in force.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use const_oid::ObjectIdentifier;
use der::asn1::{Any, BitString, Int, OctetString, SetOfVec};
use der::{Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;
use x509_tsp::{Accuracy, TimeStampReq, TspVersion, TstInfo};

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};

use crate::crypto::{Signer, digest, oids};
use crate::time::{from_x509_time, generalized_time};
use crate::{Error, Result};

/// id-ct-TSTInfo (RFC 3161).
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// id-signedData (RFC 5652).
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// id-contentType.
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
/// id-messageDigest.
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// id-aa-signingCertificateV2 (RFC 5035).
const ID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");

/// The time-stamping unit.
#[derive(Debug, Clone)]
pub struct TimeStampAuthority {
    /// The TSA certificate (critical EKU timeStamping).
    pub certificate: Certificate,
    /// The issuing CA and root, included when the request asks for certificates.
    pub chain: Vec<Certificate>,
    /// The TSA's key.
    pub signer: Arc<dyn Signer>,
    /// The time-stamping policy.
    pub policy: ObjectIdentifier,
}

/// A granted timestamp, for the register (CSP 6.1: register and keep).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedTimestamp {
    /// Serial number.
    pub serial: Vec<u8>,
    /// genTime.
    pub gen_time: DateTime<Utc>,
    /// Policy.
    pub policy: ObjectIdentifier,
    /// Hash algorithm of the imprint.
    pub hash_algorithm: ObjectIdentifier,
    /// The imprint.
    pub hashed_message: Vec<u8>,
}

/// The answer to one request.
#[derive(Debug, Clone)]
pub struct TsaOutcome {
    /// The DER TimeStampResp.
    pub response_der: Vec<u8>,
    /// What was granted, if anything.
    pub issued: Option<IssuedTimestamp>,
}

/// PKIFailureInfo bits used (RFC 3161 2.4.2).
#[derive(Debug, Clone, Copy)]
enum FailInfo {
    BadAlg = 0,
    BadDataFormat = 5,
    UnacceptedPolicy = 15,
    UnacceptedExtension = 16,
    SystemFailure = 25,
}

impl TimeStampAuthority {
    /// Answers a DER TimeStampReq at `now`. Never fails: problems are answered as a rejection
    /// with a failure bit and a status string that says what is wrong.
    pub fn respond(&self, request: &[u8], now: DateTime<Utc>) -> TsaOutcome {
        match self.grant(request, now) {
            Ok((response_der, issued)) => TsaOutcome {
                response_der,
                issued: Some(issued),
            },
            Err((fail, text)) => TsaOutcome {
                response_der: rejection(fail, &text),
                issued: None,
            },
        }
    }

    fn grant(
        &self,
        request: &[u8],
        now: DateTime<Utc>,
    ) -> std::result::Result<(Vec<u8>, IssuedTimestamp), (FailInfo, String)> {
        let req = TimeStampReq::from_der(request).map_err(|e| {
            (
                FailInfo::BadDataFormat,
                format!("not a DER TimeStampReq: {e}"),
            )
        })?;
        let imprint = &req.message_imprint;
        let alg = imprint.hash_algorithm.oid;
        let expected = if alg == oids::ID_SHA_256 {
            32
        } else if alg == oids::ID_SHA_384 {
            48
        } else if alg == oids::ID_SHA_512 {
            64
        } else {
            return Err((
                FailInfo::BadAlg,
                format!("hash algorithm {alg} is not accepted; use SHA-256, SHA-384 or SHA-512"),
            ));
        };
        if imprint.hashed_message.as_bytes().len() != expected {
            return Err((
                FailInfo::BadDataFormat,
                format!("the imprint must be {expected} bytes for {alg}"),
            ));
        }
        if let Some(policy) = req.req_policy
            && policy != self.policy
        {
            return Err((
                FailInfo::UnacceptedPolicy,
                format!(
                    "policy {policy} is not offered; this TSA uses {}",
                    self.policy
                ),
            ));
        }
        if req.extensions.as_ref().is_some_and(|e| !e.is_empty()) {
            return Err((
                FailInfo::UnacceptedExtension,
                "request extensions are not supported".into(),
            ));
        }
        // CSP 6.5: a timestamp made with a certificate not in force is invalid, so none is made.
        let validity = &self.certificate.tbs_certificate.validity;
        if now < from_x509_time(&validity.not_before) || now > from_x509_time(&validity.not_after) {
            return Err((
                FailInfo::SystemFailure,
                "the TSA certificate is not in force; no timestamp can be made (CSP 6.5)".into(),
            ));
        }
        let system = |e: Error| {
            (
                FailInfo::SystemFailure,
                format!("the timestamp could not be made: {e}"),
            )
        };
        // Timestamp serials are drawn like certificate serials: positive, 16 random bytes.
        let serial = super::certificate::new_serial().map_err(system)?;
        let gen_time = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
        let info = TstInfo {
            version: TspVersion::V1,
            policy: self.policy,
            message_imprint: imprint.clone(),
            serial_number: Int::new(&serial).map_err(|e| system(e.into()))?,
            gen_time: generalized_time(gen_time).map_err(|e| system(e.into()))?,
            accuracy: Some(Accuracy {
                seconds: Some(1),
                millis: None,
                micros: None,
            }),
            ordering: false,
            nonce: req.nonce.clone(),
            tsa: Some(GeneralName::DirectoryName(
                self.certificate.tbs_certificate.subject.clone(),
            )),
            extensions: None,
        };
        let token = self.sign(&info, req.cert_req).map_err(system)?;
        let response = TimeStampResponse {
            status: StatusInfo {
                status: 0,
                status_string: None,
                fail_info: None,
            },
            token: Some(token),
        };
        let der = response.to_der().map_err(|e| system(e.into()))?;
        let issued = IssuedTimestamp {
            serial,
            gen_time,
            policy: self.policy,
            hash_algorithm: alg,
            hashed_message: imprint.hashed_message.as_bytes().to_vec(),
        };
        Ok((der, issued))
    }

    fn sign(&self, info: &TstInfo, include_certificates: bool) -> Result<ContentInfo> {
        let content = info.to_der()?;
        let digest_oid = self.signer.algorithm().digest_oid();
        let digest_alg = AlgorithmIdentifierOwned {
            oid: digest_oid,
            parameters: None,
        };
        let cert_hash = digest(&oids::ID_SHA_256, &self.certificate.to_der()?)?;
        let signing_certificate = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                cert_hash: OctetString::new(cert_hash)?,
                issuer_serial: Some(IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(
                        self.certificate.tbs_certificate.issuer.clone(),
                    )],
                    serial_number: self.certificate.tbs_certificate.serial_number.clone(),
                }),
            }],
        };
        let attributes: SetOfVec<Attribute> = SetOfVec::try_from(vec![
            attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_CT_TST_INFO)?)?,
            attribute(
                ID_MESSAGE_DIGEST,
                Any::encode_from(&OctetString::new(digest(&digest_oid, &content)?)?)?,
            )?,
            attribute(
                ID_SIGNING_CERTIFICATE_V2,
                Any::encode_from(&signing_certificate)?,
            )?,
        ])?;
        // RFC 5652 5.4: the signature covers the DER of the attributes as a SET OF.
        let signature = self.signer.sign(&attributes.to_der()?)?;
        let signer_info = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: self.certificate.tbs_certificate.issuer.clone(),
                serial_number: self.certificate.tbs_certificate.serial_number.clone(),
            }),
            digest_alg: digest_alg.clone(),
            signed_attrs: Some(attributes),
            signature_algorithm: self.signer.signature_algorithm(),
            signature: OctetString::new(signature)?,
            unsigned_attrs: None,
        };
        let certificates = if include_certificates {
            let all = std::iter::once(&self.certificate)
                .chain(self.chain.iter())
                .map(|c| CertificateChoices::Certificate(c.clone()))
                .collect::<Vec<_>>();
            Some(CertificateSet(SetOfVec::try_from(all)?))
        } else {
            None
        };
        let signed = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![digest_alg])?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_CT_TST_INFO,
                econtent: Some(Any::encode_from(&OctetString::new(content)?)?),
            },
            certificates,
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
        };
        Ok(ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&signed)?,
        })
    }
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

fn rejection(fail: FailInfo, text: &str) -> Vec<u8> {
    let bit = fail as usize;
    let mut bytes = vec![0u8; bit / 8 + 1];
    bytes[bit / 8] = 0x80 >> (bit % 8);
    // DER named bit lists drop trailing zero bits: the last set bit ends the string.
    let unused = u8::try_from(7 - bit % 8).unwrap_or(0);
    let response = TimeStampResponse {
        status: StatusInfo {
            status: 2,
            status_string: Some(vec![text.to_string()]),
            fail_info: BitString::new(unused, bytes).ok(),
        },
        token: None,
    };
    // A rejection is built from fixed parts and cannot fail to encode; fall back to a bare one.
    response
        .to_der()
        .unwrap_or_else(|_| vec![0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02])
}

/// TimeStampResp (RFC 3161 2.4.2) with PKIStatusInfo (RFC 4210) spelt out, so the failure
/// information is a plain BIT STRING.
#[derive(Sequence)]
struct TimeStampResponse {
    status: StatusInfo,
    #[asn1(optional = "true")]
    token: Option<ContentInfo>,
}

#[derive(Sequence)]
struct StatusInfo {
    status: u8,
    #[asn1(optional = "true")]
    status_string: Option<Vec<String>>,
    #[asn1(optional = "true")]
    fail_info: Option<BitString>,
}

/// SigningCertificateV2 (RFC 5035).
#[derive(Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// ESSCertIDv2 with the default hash algorithm SHA-256 (left out, as DER requires).
#[derive(Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

#[derive(Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::certificate::{CertificateDraft, Issuer, new_serial, sign_certificate};
    use crate::ca::names::{NameBuilder, attrs};
    use crate::ca::oids::{EXAMPLE_ARC, OidRegister};
    use crate::ca::profiles::Profile;
    use crate::ca::urls::PkiUrls;
    use crate::crypto::{KeyAlgorithm, SoftwareKey};
    use crate::testkit::openssl_ok;

    fn tsa(valid_for: chrono::Duration) -> TimeStampAuthority {
        let key = Arc::new(SoftwareKey::generate(KeyAlgorithm::EcdsaP256).unwrap());
        let now = crate::time::now();
        let urls = PkiUrls::new("http://x.az");
        let oids = OidRegister::new(EXAMPLE_ARC).unwrap();
        let draft = CertificateDraft {
            profile: Profile::TimeStamping,
            serial: new_serial().unwrap(),
            subject: NameBuilder::new()
                .text(attrs::CN, "TSA", "cn")
                .unwrap()
                .build(),
            public_key: key.public_key().clone(),
            not_before: now - chrono::Duration::days(30),
            not_after: now + valid_for,
            key_usage_end: None,
            email: None,
            dns_names: vec![],
            seal: None,
        };
        // Self-issued for these tests: only the TSA's own checks are exercised here; the chain is
        // verified end to end with openssl in tests/ca_with_openssl.rs.
        let certificate = sign_certificate(
            &draft,
            &Issuer {
                certificate: None,
                label: "root",
                signer: key.as_ref(),
                urls: &urls,
                oids: &oids,
            },
        )
        .unwrap();
        TimeStampAuthority {
            certificate,
            chain: vec![],
            signer: key,
            policy: oids.tsa_policy(),
        }
    }

    fn status(response: &[u8]) -> (u8, Option<BitString>, Vec<String>) {
        let r = TimeStampResponse::from_der(response).unwrap();
        (
            r.status.status,
            r.status.fail_info,
            r.status.status_string.unwrap_or_default(),
        )
    }

    fn failure_bit(bits: &BitString) -> usize {
        let bytes = bits.raw_bytes();
        (0..bytes.len() * 8)
            .find(|i| bytes[i / 8] & (0x80 >> (i % 8)) != 0)
            .unwrap()
    }

    fn query(dir: &std::path::Path, hash: &str) -> Vec<u8> {
        std::fs::write(dir.join("doc"), b"document").unwrap();
        openssl_ok(
            &["ts", "-query", "-data", "doc", hash, "-out", "q.tsq"],
            dir,
        );
        std::fs::read(dir.join("q.tsq")).unwrap()
    }

    #[test]
    fn rfc_3161_bad_requests_are_rejected_with_the_failure_named() {
        let tsa = tsa(chrono::Duration::days(30));
        let now = crate::time::now();
        for garbage in [&b""[..], b"\x30\x80", b"not der at all"] {
            let out = tsa.respond(garbage, now);
            assert!(out.issued.is_none());
            let (s, fail, _) = status(&out.response_der);
            assert_eq!(
                (s, failure_bit(&fail.unwrap())),
                (2, FailInfo::BadDataFormat as usize)
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let out = tsa.respond(&query(dir.path(), "-sha1"), now);
        let (s, fail, text) = status(&out.response_der);
        assert_eq!(
            (s, failure_bit(&fail.unwrap())),
            (2, FailInfo::BadAlg as usize)
        );
        assert!(text[0].contains("SHA-256"), "{text:?}");
        let out = tsa.respond(&query(dir.path(), "-sha256"), now);
        assert_eq!(status(&out.response_der).0, 0);
        let issued = out.issued.unwrap();
        assert_eq!(issued.gen_time, now);
        assert_eq!(issued.hashed_message.len(), 32);
    }

    #[test]
    fn csp_6_5_no_timestamp_with_a_certificate_not_in_force() {
        let expired = tsa(chrono::Duration::days(-1));
        let dir = tempfile::tempdir().unwrap();
        let out = expired.respond(&query(dir.path(), "-sha256"), crate::time::now());
        assert!(out.issued.is_none());
        let (s, fail, text) = status(&out.response_der);
        assert_eq!(
            (s, failure_bit(&fail.unwrap())),
            (2, FailInfo::SystemFailure as usize)
        );
        assert!(text[0].contains("CSP 6.5"), "{text:?}");
        // openssl reads the rejection.
        std::fs::write(dir.path().join("r.tsr"), &out.response_der).unwrap();
        let shown = openssl_ok(&["ts", "-reply", "-in", "r.tsr", "-text"], dir.path());
        assert!(
            shown.contains("Rejected") || shown.contains("rejection"),
            "{shown}"
        );
    }
}
