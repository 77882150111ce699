//! The DER structures of RFC 4998 (Appendix A, `DEFINITIONS IMPLICIT TAGS`).

use cms::content_info::ContentInfo;
use const_oid::ObjectIdentifier;
use der::asn1::{Any, OctetString, SetOfVec};
use der::{Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;

use crate::{Error, Result};

/// `EvidenceRecord`: the archive timestamps that prove a data object existed, renewed over time.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EvidenceRecord {
    /// Always 1.
    pub version: u8,
    /// Every hash algorithm the record uses, in the order of its chains.
    pub digest_algorithms: Vec<AlgorithmIdentifierOwned>,
    /// Further information on the algorithms (none written).
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub crypto_infos: Option<Vec<Attribute>>,
    /// How the object was encrypted before it was hashed (never: envelopes are hashed as they are).
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub encryption_info: Option<EncryptionInfo>,
    /// `ArchiveTimeStampSequence`: the chains, oldest first; a new chain per hash-tree renewal.
    pub archive_time_stamp_sequence: Vec<ArchiveTimeStampChain>,
}

/// `ArchiveTimeStampChain`: archive timestamps with one hash algorithm, each (after the first)
/// covering the timestamp before it (timestamp renewal, RFC 4998 5.2).
pub type ArchiveTimeStampChain = Vec<ArchiveTimeStamp>;

/// `ArchiveTimeStamp`: one timestamp over the root of a hash tree, and the reduced hash tree
/// that leads from this object's hash to that root.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct ArchiveTimeStamp {
    /// The hash algorithm of the tree (written every time, though RFC 4998 lets it be taken from
    /// the timestamp).
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub digest_algorithm: Option<AlgorithmIdentifierOwned>,
    /// Attributes (none written).
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub attributes: Option<SetOfVec<Attribute>>,
    /// The `PartialHashtree`s from the leaves up; absent when the timestamp covers the one hash.
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT", optional = "true")]
    pub reduced_hashtree: Option<Vec<Vec<OctetString>>>,
    /// The RFC 3161 timestamp token.
    pub time_stamp: ContentInfo,
}

/// `EncryptionInfo`.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EncryptionInfo {
    /// The kind of encryption.
    pub encryption_info_type: ObjectIdentifier,
    /// Its parameters.
    pub encryption_info_value: Any,
}

impl EvidenceRecord {
    /// Reads a DER evidence record; the error says what `what` is and that it is damaged.
    pub fn from_der_named(bytes: &[u8], what: &'static str) -> Result<EvidenceRecord> {
        EvidenceRecord::from_der(bytes).map_err(|e| {
            Error::invalid(
                what,
                format!("not a DER RFC 4998 evidence record ({e}); export it again"),
            )
        })
    }

    /// The record in DER.
    pub fn der(&self) -> Result<Vec<u8>> {
        Ok(self.to_der()?)
    }
}

/// The DER of the sequence of `chains`: RFC 4998 5.2's `atsc`, which a hash-tree renewal binds
/// to the object's new hash.
pub fn sequence_der(chains: &[ArchiveTimeStampChain]) -> Result<Vec<u8>> {
    Ok(chains.to_vec().to_der()?)
}

/// The DER of an archive timestamp's `timeStamp` field: what the next timestamp of its chain
/// covers.
pub fn time_stamp_der(ats: &ArchiveTimeStamp) -> Result<Vec<u8>> {
    Ok(ats.time_stamp.to_der()?)
}

/// The algorithm identifier of the hash `oid` (parameters absent, RFC 5754).
pub fn algorithm(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}
