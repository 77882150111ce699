//! Building DER directly from pieces already encoded — certificates, names, serial numbers —
//! where decoding them into structures only to encode them again would cost more than the
//! signature itself (the signing speed target of the validation issue).

use std::cmp::Ordering;

use der::Tag;
use mubadile_plugin_api::PluginError;

use crate::asn1::tlvs;

/// The parts of a DER certificate a signature names, as they are encoded in it.
#[derive(Debug, Clone, Copy)]
pub struct CertificateFields<'a> {
    /// The issuer `Name` TLV.
    pub issuer: &'a [u8],
    /// The serial number `INTEGER` TLV.
    pub serial: &'a [u8],
}

/// Finds the issuer and serial number in a DER certificate without decoding the rest.
pub fn certificate_fields(der: &[u8]) -> Result<CertificateFields<'_>, PluginError> {
    let bad = || PluginError::bad_request("not a DER X.509 certificate");
    let certificate = match tlvs(der)?.as_slice() {
        [one] if one.tag == Tag::Sequence => *one,
        _ => return Err(bad()),
    };
    let tbs = *tlvs(certificate.value)?.first().ok_or_else(bad)?;
    let fields = tlvs(tbs.value)?;
    // TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer, … }
    let skip = usize::from(fields.first().is_some_and(|f| f.tag != Tag::Integer));
    match fields.get(skip..skip + 3) {
        Some([serial, _, issuer]) if serial.tag == Tag::Integer && issuer.tag == Tag::Sequence => {
            Ok(CertificateFields {
                issuer: issuer.whole,
                serial: serial.whole,
            })
        }
        _ => Err(bad()),
    }
}

/// A TLV with `tag` around the concatenation of `parts`.
pub fn tlv(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let length: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(length + 6);
    out.push(tag);
    if length < 0x80 {
        out.push(length as u8);
    } else {
        let bytes = length.to_be_bytes();
        let first = bytes
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - first) as u8);
        out.extend_from_slice(&bytes[first..]);
    }
    for part in parts {
        out.extend_from_slice(part);
    }
    out
}

/// A DER SET OF with `tag`: the elements in the order X.690 11.6 requires (their encodings
/// compared as octet strings, the shorter padded with zero octets).
pub fn set_of(tag: u8, elements: &mut [&[u8]]) -> Vec<u8> {
    elements.sort_by(|a, b| der_order(a, b));
    tlv(tag, elements)
}

fn der_order(a: &[u8], b: &[u8]) -> Ordering {
    let common = a.len().min(b.len());
    a[..common].cmp(&b[..common]).then_with(|| {
        let (rest, sign) = if a.len() > b.len() {
            (&a[common..], Ordering::Greater)
        } else {
            (&b[common..], Ordering::Less)
        };
        if rest.iter().all(|x| *x == 0) {
            Ordering::Equal
        } else {
            sign
        }
    })
}

#[cfg(test)]
mod tests {
    use der::Encode;
    use der::asn1::{OctetString, SetOfVec};

    use super::*;

    #[test]
    fn lengths_and_set_order_match_the_der_crate() {
        for size in [0, 1, 127, 128, 255, 256, 65_535, 65_536] {
            let value = vec![7u8; size];
            let ours = tlv(0x04, &[&value]);
            assert_eq!(ours, OctetString::new(value).unwrap().to_der().unwrap());
        }
        let items: Vec<OctetString> = [&b"b"[..], b"a", b"ab", b"", b"\x00"]
            .iter()
            .map(|b| OctetString::new(*b).unwrap())
            .collect();
        let encoded: Vec<Vec<u8>> = items.iter().map(|i| i.to_der().unwrap()).collect();
        let mut refs: Vec<&[u8]> = encoded.iter().map(Vec::as_slice).collect();
        let theirs = SetOfVec::try_from(items).unwrap().to_der().unwrap();
        assert_eq!(set_of(0x31, &mut refs), theirs);
    }
}
