//! The XMLDSig algorithm URIs this plugin reads, with the object identifiers and DER the
//! validator works with, and the digests it computes.

use const_oid::ObjectIdentifier;
use sha1::Sha1;
use sha2::{Digest as _, Sha256, Sha384, Sha512};

/// A digest algorithm of `ds:DigestMethod` (XMLDSig 6.2, RFC 6931 2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    /// SHA-1: read only, the algorithm policy reports it as weak.
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlgorithm {
    /// The algorithm a `DigestMethod` URI names.
    pub fn from_uri(uri: &str) -> Option<Self> {
        Some(match uri {
            "http://www.w3.org/2000/09/xmldsig#sha1" => DigestAlgorithm::Sha1,
            "http://www.w3.org/2001/04/xmlenc#sha256" => DigestAlgorithm::Sha256,
            "http://www.w3.org/2001/04/xmldsig-more#sha384" => DigestAlgorithm::Sha384,
            "http://www.w3.org/2001/04/xmlenc#sha512" => DigestAlgorithm::Sha512,
            _ => return None,
        })
    }

    /// Dotted object identifier.
    pub fn oid(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha1 => "1.3.14.3.2.26",
            DigestAlgorithm::Sha256 => "2.16.840.1.101.3.4.2.1",
            DigestAlgorithm::Sha384 => "2.16.840.1.101.3.4.2.2",
            DigestAlgorithm::Sha512 => "2.16.840.1.101.3.4.2.3",
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            DigestAlgorithm::Sha1 => Sha1::digest(data).to_vec(),
            DigestAlgorithm::Sha256 => Sha256::digest(data).to_vec(),
            DigestAlgorithm::Sha384 => Sha384::digest(data).to_vec(),
            DigestAlgorithm::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

/// A `ds:SignatureMethod` (RFC 6931 2.3): its DER `AlgorithmIdentifier`, the digest it uses, and
/// whether its value is ECDSA's `r || s` (XMLDSig 6.4.3), which the validator wants as DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureAlgorithm {
    /// DER `AlgorithmIdentifier`.
    pub identifier: Vec<u8>,
    /// The digest the signature is made over.
    pub digest: DigestAlgorithm,
    /// The value is `r || s` of ECDSA.
    pub ecdsa: bool,
}

impl SignatureAlgorithm {
    /// The algorithm a `SignatureMethod` URI names.
    pub fn from_uri(uri: &str) -> Option<Self> {
        const MORE: &str = "http://www.w3.org/2001/04/xmldsig-more#";
        let (oid, digest, ecdsa) = match uri.strip_prefix(MORE) {
            Some("rsa-sha256") => ("1.2.840.113549.1.1.11", DigestAlgorithm::Sha256, false),
            Some("rsa-sha384") => ("1.2.840.113549.1.1.12", DigestAlgorithm::Sha384, false),
            Some("rsa-sha512") => ("1.2.840.113549.1.1.13", DigestAlgorithm::Sha512, false),
            Some("ecdsa-sha1") => ("1.2.840.10045.4.1", DigestAlgorithm::Sha1, true),
            Some("ecdsa-sha256") => ("1.2.840.10045.4.3.2", DigestAlgorithm::Sha256, true),
            Some("ecdsa-sha384") => ("1.2.840.10045.4.3.3", DigestAlgorithm::Sha384, true),
            Some("ecdsa-sha512") => ("1.2.840.10045.4.3.4", DigestAlgorithm::Sha512, true),
            _ if uri == "http://www.w3.org/2000/09/xmldsig#rsa-sha1" => {
                ("1.2.840.113549.1.1.5", DigestAlgorithm::Sha1, false)
            }
            _ => return None,
        };
        let oid = ObjectIdentifier::new(oid).ok()?;
        let mut content = tlv(0x06, oid.as_bytes());
        if !ecdsa {
            // RSA PKCS #1 v1.5 identifiers carry NULL parameters (RFC 4055 section 5).
            content.extend_from_slice(&[0x05, 0x00]);
        }
        Some(SignatureAlgorithm {
            identifier: tlv(0x30, &content),
            digest,
            ecdsa,
        })
    }
}

/// ECDSA `r || s` (two equal halves) as DER `ECDSA-Sig-Value` (RFC 5480 section 2.2).
pub fn ecdsa_to_der(value: &[u8]) -> Option<Vec<u8>> {
    if value.is_empty() || !value.len().is_multiple_of(2) {
        return None;
    }
    let (r, s) = value.split_at(value.len() / 2);
    let mut content = integer(r);
    content.extend_from_slice(&integer(s));
    Some(tlv(0x30, &content))
}

/// A DER INTEGER of the unsigned big-endian `bytes`.
fn integer(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let mut content = Vec::with_capacity(bytes.len() + 1);
    match bytes.get(start) {
        None => content.push(0),
        Some(&first) => {
            if first & 0x80 != 0 {
                content.push(0);
            }
            content.extend_from_slice(&bytes[start..]);
        }
    }
    tlv(0x02, &content)
}

/// A DER tag-length-value.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_identifiers_are_the_der_the_validator_knows() {
        let rsa = SignatureAlgorithm::from_uri("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
            .unwrap();
        assert_eq!(hex(&rsa.identifier), "300d06092a864886f70d01010b0500");
        let ec =
            SignatureAlgorithm::from_uri("http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256")
                .unwrap();
        assert_eq!(hex(&ec.identifier), "300a06082a8648ce3d040302");
        assert!(
            SignatureAlgorithm::from_uri("http://www.w3.org/2000/09/xmldsig#dsa-sha1").is_none()
        );
    }

    #[test]
    fn ecdsa_values_become_der_with_minimal_integers() {
        let mut value = vec![0u8; 64];
        value[0] = 0x80;
        value[63] = 1;
        let der = ecdsa_to_der(&value).unwrap();
        assert_eq!(der[..5], [0x30, 0x26, 0x02, 0x21, 0x00]);
        assert_eq!(der[der.len() - 3..], [0x02, 0x01, 0x01]);
        assert!(ecdsa_to_der(&[1, 2, 3]).is_none());
        let long = ecdsa_to_der(&[0xFF; 132]).unwrap();
        assert_eq!(long[..3], [0x30, 0x81, 0x8A]);
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
