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

/// Each digest algorithm with its `DigestMethod` URI and dotted OID.
const DIGESTS: [(DigestAlgorithm, &str, &str); 4] = [
    (
        DigestAlgorithm::Sha1,
        "http://www.w3.org/2000/09/xmldsig#sha1",
        "1.3.14.3.2.26",
    ),
    (
        DigestAlgorithm::Sha256,
        "http://www.w3.org/2001/04/xmlenc#sha256",
        "2.16.840.1.101.3.4.2.1",
    ),
    (
        DigestAlgorithm::Sha384,
        "http://www.w3.org/2001/04/xmldsig-more#sha384",
        "2.16.840.1.101.3.4.2.2",
    ),
    (
        DigestAlgorithm::Sha512,
        "http://www.w3.org/2001/04/xmlenc#sha512",
        "2.16.840.1.101.3.4.2.3",
    ),
];

impl DigestAlgorithm {
    /// The algorithm a `DigestMethod` URI names.
    pub fn from_uri(uri: &str) -> Option<Self> {
        DIGESTS.iter().find(|d| d.1 == uri).map(|d| d.0)
    }

    /// The algorithm of dotted object identifier `oid`.
    pub fn from_oid(oid: &str) -> Option<Self> {
        DIGESTS.iter().find(|d| d.2 == oid).map(|d| d.0)
    }

    /// The `DigestMethod` URI.
    pub fn uri(self) -> &'static str {
        DIGESTS.iter().find(|d| d.0 == self).map_or("", |d| d.1)
    }

    /// Dotted object identifier.
    pub fn oid(self) -> &'static str {
        DIGESTS.iter().find(|d| d.0 == self).map_or("", |d| d.2)
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

/// The key family of a signature method, which decides how its value is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// RSA PKCS #1 v1.5: identifiers carry NULL parameters (RFC 4055 section 5).
    Rsa,
    /// ECDSA: the XML value is `r || s` (XMLDSig 6.4.3), the validator's is DER.
    Ecdsa,
    /// Ed25519 (RFC 9231 2.3.11): the value is the same in XML and for the validator.
    Ed25519,
}

/// Each signature method: its URI (RFC 6931 2.3, RFC 9231), OID, digest and family.
const SIGNATURE_METHODS: [(&str, &str, DigestAlgorithm, Family); 9] = [
    (
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        "1.2.840.113549.1.1.5",
        DigestAlgorithm::Sha1,
        Family::Rsa,
    ),
    (
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        "1.2.840.113549.1.1.11",
        DigestAlgorithm::Sha256,
        Family::Rsa,
    ),
    (
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
        "1.2.840.113549.1.1.12",
        DigestAlgorithm::Sha384,
        Family::Rsa,
    ),
    (
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
        "1.2.840.113549.1.1.13",
        DigestAlgorithm::Sha512,
        Family::Rsa,
    ),
    (
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1",
        "1.2.840.10045.4.1",
        DigestAlgorithm::Sha1,
        Family::Ecdsa,
    ),
    (
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        "1.2.840.10045.4.3.2",
        DigestAlgorithm::Sha256,
        Family::Ecdsa,
    ),
    (
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
        "1.2.840.10045.4.3.3",
        DigestAlgorithm::Sha384,
        Family::Ecdsa,
    ),
    (
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
        "1.2.840.10045.4.3.4",
        DigestAlgorithm::Sha512,
        Family::Ecdsa,
    ),
    (
        "http://www.w3.org/2021/04/xmldsig-more#eddsa-ed25519",
        "1.3.101.112",
        DigestAlgorithm::Sha512,
        Family::Ed25519,
    ),
];

/// A `ds:SignatureMethod` (RFC 6931 2.3): its URI, its DER `AlgorithmIdentifier`, the digest it
/// uses, and whether its value is ECDSA's `r || s` (XMLDSig 6.4.3), which the validator wants as
/// DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureAlgorithm {
    /// The `SignatureMethod` URI.
    pub uri: &'static str,
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
        SIGNATURE_METHODS
            .iter()
            .find(|m| m.0 == uri)
            .and_then(Self::from_entry)
    }

    /// The algorithm a DER `AlgorithmIdentifier` names (the signer's key gives it so), by its
    /// OID; RSA's NULL parameters may be there or not.
    pub fn from_identifier(identifier: &[u8]) -> Option<Self> {
        // SEQUENCE { OBJECT IDENTIFIER, parameters OPTIONAL }, every length below 128.
        let oid_bytes = match identifier {
            [0x30, _, 0x06, len, rest @ ..] => rest.get(..usize::from(*len))?,
            _ => return None,
        };
        SIGNATURE_METHODS
            .iter()
            .find(|m| ObjectIdentifier::new(m.1).is_ok_and(|o| o.as_bytes() == oid_bytes))
            .and_then(Self::from_entry)
    }

    fn from_entry(entry: &(&'static str, &str, DigestAlgorithm, Family)) -> Option<Self> {
        let &(uri, oid, digest, family) = entry;
        let oid = ObjectIdentifier::new(oid).ok()?;
        let mut content = tlv(0x06, oid.as_bytes());
        if family == Family::Rsa {
            content.extend_from_slice(&[0x05, 0x00]);
        }
        Some(SignatureAlgorithm {
            uri,
            identifier: tlv(0x30, &content),
            digest,
            ecdsa: family == Family::Ecdsa,
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

/// DER `ECDSA-Sig-Value` as XMLDSig's `r || s`, each half `size` bytes (the curve's field size,
/// XMLDSig 6.4.3); `None` when the DER is not two integers that fit.
pub fn ecdsa_from_der(der: &[u8], size: usize) -> Option<Vec<u8>> {
    let (content, rest) = read_tlv(der, 0x30)?;
    if !rest.is_empty() {
        return None;
    }
    let (r, rest) = read_tlv(content, 0x02)?;
    let (s, rest) = read_tlv(rest, 0x02)?;
    if !rest.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(2 * size);
    for integer in [r, s] {
        let start = integer
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(integer.len());
        let magnitude = integer.get(start..)?;
        if magnitude.len() > size {
            return None;
        }
        out.resize(out.len() + size - magnitude.len(), 0);
        out.extend_from_slice(magnitude);
    }
    Some(out)
}

/// The content of the DER element with tag `tag` at the start of `der`, and what follows it.
fn read_tlv(der: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = der.split_first()?;
    if first != tag {
        return None;
    }
    let (&len, mut rest) = rest.split_first()?;
    let len = if len < 0x80 {
        usize::from(len)
    } else {
        let count = usize::from(len & 0x7F);
        if count == 0 || count > 2 {
            return None;
        }
        let (bytes, after) = rest.split_at_checked(count)?;
        rest = after;
        bytes.iter().fold(0, |n, &b| n << 8 | usize::from(b))
    };
    rest.split_at_checked(len)
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

    #[test]
    fn ecdsa_der_becomes_fixed_halves_and_back() {
        for size in [32, 48, 66] {
            let mut value = vec![0u8; 2 * size];
            value[1] = 0x90;
            value[2 * size - 1] = 7;
            let der = ecdsa_to_der(&value).unwrap();
            assert_eq!(ecdsa_from_der(&der, size).unwrap(), value);
        }
        assert!(ecdsa_from_der(&[0x30, 0x03, 0x02, 0x01, 0x01], 32).is_none());
        let too_big = ecdsa_to_der(&[0x7F; 98]).unwrap();
        assert!(ecdsa_from_der(&too_big, 32).is_none());
    }

    #[test]
    fn signing_keys_name_their_method_by_identifier() {
        let rsa = SignatureAlgorithm::from_identifier(&hex_bytes("300d06092a864886f70d01010b0500"));
        assert_eq!(
            rsa.unwrap().uri,
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
        );
        let ec =
            SignatureAlgorithm::from_identifier(&hex_bytes("300a06082a8648ce3d040303")).unwrap();
        assert!(ec.ecdsa);
        assert_eq!(ec.digest, DigestAlgorithm::Sha384);
        let ed = SignatureAlgorithm::from_identifier(&hex_bytes("300506032b6570")).unwrap();
        assert_eq!(hex(&ed.identifier), "300506032b6570");
        assert!(SignatureAlgorithm::from_identifier(&[0x30, 0x00]).is_none());
    }

    fn hex_bytes(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
