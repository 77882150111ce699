//! One `ds:Signature` as [`SignatureEvidence`].
//!
//! The contract carries one data digest per signature; an XMLDSig signature has one per
//! reference. The evidence carries the first reference whose digest does not match, or the first
//! reference when all match, so any changed reference makes the validator report a hash failure
//! (SVR 4.2.7). References that cannot be processed are format problems.

use mubadile_plugin_api::{
    CertificateReference, DigestCheck, SignatureEvidence, SignerReference, TimestampEvidence,
    TimestampKind,
};

use crate::c14n::{Algorithm, Method, Subset, canonicalize};
use crate::dsig::algorithms::{DigestAlgorithm, SignatureAlgorithm, ecdsa_to_der};
use crate::dsig::reference::{self, ProcessedReference};
use crate::dsig::{DSIG, XADES, XADES141, child, children, decode_base64, descendants};
use mubadile_xml_tree::{Document, NodeId};

/// Every `ds:Signature` of `doc` that is not a counter-signature, in document order: the
/// signatures named `s0`, `s1` … Adding a counter-signature leaves these names as they were.
pub fn signatures(doc: &Document<'_>) -> Vec<NodeId> {
    doc.elements()
        .filter(|&e| crate::dsig::is(doc, e, DSIG, "Signature") && !is_counter_signature(doc, e))
        .collect()
}

/// The counter-signatures of `signature` (EN 319 132-1 5.2.7): the `ds:Signature` in each
/// `xades:CounterSignature` of its unsigned signature properties, in document order; named
/// `{parent}/c0`, `{parent}/c1` …
pub fn counter_signatures(doc: &Document<'_>, signature: NodeId) -> Vec<NodeId> {
    qualifying_properties(doc, signature)
        .and_then(|q| child(doc, q, XADES, "UnsignedProperties"))
        .and_then(|u| child(doc, u, XADES, "UnsignedSignatureProperties"))
        .map(|p| {
            children(doc, p, XADES, "CounterSignature")
                .filter_map(|c| child(doc, c, DSIG, "Signature"))
                .collect()
        })
        .unwrap_or_default()
}

/// Every signature of `doc` with its name and, for a counter-signature, its parent's name:
/// `s0`, then `s0`'s counter-signatures (`s0/c0`, their own `s0/c0/c0` …), then `s1` …
pub fn named_signatures(doc: &Document<'_>) -> Vec<(String, Option<String>, NodeId)> {
    fn with_counters(
        doc: &Document<'_>,
        name: String,
        parent: Option<String>,
        node: NodeId,
        out: &mut Vec<(String, Option<String>, NodeId)>,
    ) {
        let counters = counter_signatures(doc, node);
        out.push((name.clone(), parent, node));
        for (j, counter) in counters.into_iter().enumerate() {
            with_counters(
                doc,
                format!("{name}/c{j}"),
                Some(name.clone()),
                counter,
                out,
            );
        }
    }
    let mut out = Vec::new();
    for (i, signature) in signatures(doc).into_iter().enumerate() {
        with_counters(doc, format!("s{i}"), None, signature, &mut out);
    }
    out
}

/// The signature named `id` as [`named_signatures`] names them.
pub fn signature_by_id(doc: &Document<'_>, id: &str) -> Option<NodeId> {
    named_signatures(doc)
        .into_iter()
        .find(|(name, _, _)| name == id)
        .map(|(_, _, node)| node)
}

/// True when `signature` sits inside a `xades:CounterSignature`.
pub(crate) fn is_counter_signature(doc: &Document<'_>, signature: NodeId) -> bool {
    let mut at = doc.parent(signature);
    while let Some(node) = at {
        if crate::dsig::is(doc, node, XADES, "CounterSignature") {
            return true;
        }
        at = doc.parent(node);
    }
    false
}

/// The evidence of `signature`, the `index`th of the document (its id is `s{index}`);
/// `detached` is the data its Reference without URI, if any, stands for.
pub fn evidence(
    doc: &Document<'_>,
    index: usize,
    signature: NodeId,
    detached: Option<&[u8]>,
) -> SignatureEvidence {
    named_evidence(doc, &format!("s{index}"), None, signature, detached)
}

/// The evidence of `signature` named `id`; `parent` is the signature it counter-signs, if any,
/// whose `ds:SignatureValue` one of its References must cover (EN 319 132-1 5.2.7).
pub fn named_evidence(
    doc: &Document<'_>,
    id: &str,
    parent: Option<(&str, NodeId)>,
    signature: NodeId,
    detached: Option<&[u8]>,
) -> SignatureEvidence {
    let mut problems = Vec::new();
    let signed_info = child(doc, signature, DSIG, "SignedInfo");
    if signed_info.is_none() {
        problems.push("the Signature has no SignedInfo".to_owned());
    }

    let signed_bytes = signed_info
        .map(|si| signed_info_bytes(doc, si))
        .transpose()
        .unwrap_or_else(|e| {
            problems.push(e);
            None
        })
        .unwrap_or_default();

    let method = signed_info
        .and_then(|si| child(doc, si, DSIG, "SignatureMethod"))
        .and_then(|m| doc.attribute(m, "", "Algorithm"))
        .unwrap_or_default();
    let algorithm = SignatureAlgorithm::from_uri(&method);
    if algorithm.is_none() {
        problems.push(format!("signature method {method:?} is not supported"));
    }

    let signature_value = signature_value(doc, signature, algorithm.as_ref()).unwrap_or_else(|e| {
        problems.push(e);
        Vec::new()
    });

    let mut processed = Vec::new();
    for (i, r) in signed_info
        .map(|si| children(doc, si, DSIG, "Reference").collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        match reference::process(doc, signature, r, detached) {
            Ok(p) => processed.push(p),
            Err(e) => problems.push(format!("Reference {}: {e}", i + 1)),
        }
    }
    if processed.iter().filter(|p| p.uri.is_none()).count() > 1 {
        // XMLDSig 4.4.3.1: which detached object each would stand for is unknowable.
        problems.push("more than one Reference has no URI".to_owned());
    }
    if signed_info.is_some() && processed.is_empty() && problems.is_empty() {
        problems.push("the SignedInfo has no Reference".to_owned());
    }
    if let Some((parent_id, parent)) = parent {
        let countersigned = child(doc, parent, DSIG, "SignatureValue");
        let covers_parent = signed_info
            .map(|si| children(doc, si, DSIG, "Reference").collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .any(|r| {
                doc.attribute(r, "", "Type").as_deref()
                    == Some(crate::sign::COUNTERSIGNED_SIGNATURE_TYPE)
                    && doc
                        .attribute(r, "", "URI")
                        .and_then(|uri| uri.strip_prefix('#').map(str::to_owned))
                        .and_then(|target| doc.element_by_id(&target))
                        .is_some_and(|target| Some(target) == countersigned)
            });
        if !covers_parent {
            problems.push(format!(
                "the counter-signature has no Reference of Type {} to the ds:SignatureValue of {parent_id} (EN 319 132-1 5.2.7)",
                crate::sign::COUNTERSIGNED_SIGNATURE_TYPE
            ));
        }
    }
    let data_digest = processed
        .iter()
        .find(|p| p.computed.as_ref() != Some(&p.claimed))
        .or(processed.first())
        .map(|p| DigestCheck {
            algorithm: p.digest.oid().to_owned(),
            claimed: p.claimed.clone(),
            computed: p.computed.clone(),
        });

    let unsigned = Unsigned::read(doc, signature, detached, &mut problems);
    let certificates = certificates(doc, signature, &unsigned, &mut problems);
    let properties = SignedProperties::read(doc, signature, &processed, &mut problems);
    let signer = properties
        .signer(&certificates)
        .or_else(|| certificates.first().cloned())
        .unwrap_or_else(|| {
            problems
                .push("the Signature carries no signer certificate (ds:X509Certificate)".into());
            Vec::new()
        });

    SignatureEvidence {
        id: id.to_owned(),
        counter_signature_of: parent.map(|(p, _)| p.to_owned()),
        level: properties.level(&unsigned).to_owned(),
        signer: SignerReference::Certificate(signer),
        signed_bytes,
        signature_algorithm: algorithm
            .as_ref()
            .map(|a| a.identifier.clone())
            .unwrap_or_default(),
        digest_algorithm: algorithm.as_ref().map_or("", |a| a.digest.oid()).to_owned(),
        signature_value,
        data_digest,
        claimed_signing_time: properties.signing_time,
        signing_certificate_references: properties
            .certificate_references
            .iter()
            .map(|(algorithm, hash)| CertificateReference {
                hash_algorithm: algorithm.oid().to_owned(),
                hash: hash.clone(),
                issuer_serial: None,
            })
            .collect(),
        certificates,
        crls: unsigned.crls,
        ocsp_responses: unsigned.ocsp_responses,
        timestamps: unsigned.timestamps,
        content_type: None,
        format_problems: problems,
        notes: Vec::new(),
    }
}

/// The canonical `SignedInfo`: the bytes the signature value is computed over (XMLDSig 4.4.1).
fn signed_info_bytes(doc: &Document<'_>, signed_info: NodeId) -> Result<Vec<u8>, String> {
    let method = child(doc, signed_info, DSIG, "CanonicalizationMethod")
        .ok_or("the SignedInfo has no CanonicalizationMethod")?;
    let uri = doc.attribute(method, "", "Algorithm").unwrap_or_default();
    let algorithm = Algorithm::from_uri(&uri).map_err(|e| e.to_string())?;
    let prefixes = reference::inclusive_prefixes(doc, method, algorithm);
    let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    canonicalize(doc, algorithm, Subset::element(signed_info), &prefixes).map_err(|e| e.to_string())
}

/// The `SignatureValue`, ECDSA's `r || s` turned into the DER the validator verifies.
fn signature_value(
    doc: &Document<'_>,
    signature: NodeId,
    algorithm: Option<&SignatureAlgorithm>,
) -> Result<Vec<u8>, String> {
    let value = child(doc, signature, DSIG, "SignatureValue")
        .ok_or("the Signature has no SignatureValue")?;
    let value = decode_base64(&doc.text(value))
        .map_err(|e| format!("the SignatureValue is not base64: {e}"))?;
    match algorithm {
        Some(a) if a.ecdsa => {
            ecdsa_to_der(&value).ok_or_else(|| "the ECDSA SignatureValue is not r || s".to_owned())
        }
        _ => Ok(value),
    }
}

/// The DER certificates in `ds:KeyInfo` and in XAdES `CertificateValues`.
fn certificates(
    doc: &Document<'_>,
    signature: NodeId,
    unsigned: &Unsigned,
    problems: &mut Vec<String>,
) -> Vec<Vec<u8>> {
    let key_info = child(doc, signature, DSIG, "KeyInfo");
    let in_key_info = key_info
        .into_iter()
        .flat_map(|k| descendants(doc, k, DSIG, "X509Certificate"));
    let mut all = decoded(doc, in_key_info, "a certificate", problems);
    all.extend(unsigned.certificates.iter().cloned());
    all
}

/// The base64 content of each of `nodes`, decoded; `what` names them in problems.
fn decoded(
    doc: &Document<'_>,
    nodes: impl Iterator<Item = NodeId>,
    what: &str,
    problems: &mut Vec<String>,
) -> Vec<Vec<u8>> {
    nodes
        .filter_map(|c| match decode_base64(&doc.text(c)) {
            Ok(der) => Some(der),
            Err(e) => {
                problems.push(format!("{what} is not base64: {e}"));
                None
            }
        })
        .collect()
}

/// The `xades:QualifyingProperties` of `signature`: in one of its own `ds:Object`s, never in a
/// signature nested inside it.
pub(crate) fn qualifying_properties(doc: &Document<'_>, signature: NodeId) -> Option<NodeId> {
    children(doc, signature, DSIG, "Object")
        .find_map(|o| child(doc, o, XADES, "QualifyingProperties"))
}

/// What a signature timestamp over `signature` covers: its `ds:SignatureValue` element
/// canonicalized with `algorithm` (EN 319 132-1 5.3).
pub(crate) fn signature_timestamp_bytes(
    doc: &Document<'_>,
    signature: NodeId,
    algorithm: Algorithm,
) -> Result<Vec<u8>, String> {
    let value = child(doc, signature, DSIG, "SignatureValue")
        .ok_or("the Signature has no SignatureValue")?;
    canonicalize(doc, algorithm, Subset::element(value), &[]).map_err(|e| e.to_string())
}

/// What an archive timestamp over `signature` covers (EN 319 132-1 5.5.2, not distributed):
/// the octets of each Reference as processed, then `ds:SignedInfo`, `ds:SignatureValue` and
/// `ds:KeyInfo`, then each unsigned signature property before `before` (all of them when
/// `None`), then each `ds:Object` but the one with the qualifying properties, every element
/// canonicalized with `algorithm`.
pub(crate) fn archive_timestamp_bytes(
    doc: &Document<'_>,
    signature: NodeId,
    before: Option<NodeId>,
    algorithm: Algorithm,
    detached: Option<&[u8]>,
) -> Result<Vec<u8>, String> {
    let c14n = |node: NodeId, out: &mut Vec<u8>| {
        crate::c14n::canonicalize_into(doc, algorithm, Subset::element(node), &[], out)
            .map_err(|e| e.to_string())
    };
    let mut out = Vec::new();
    let signed_info =
        child(doc, signature, DSIG, "SignedInfo").ok_or("the Signature has no SignedInfo")?;
    for reference in children(doc, signed_info, DSIG, "Reference") {
        let (octets, _) = reference::processed_octets(doc, signature, reference, detached)?;
        out.extend(
            octets.ok_or("the archive timestamp covers detached data, which was not given")?,
        );
    }
    c14n(signed_info, &mut out)?;
    for name in ["SignatureValue", "KeyInfo"] {
        if let Some(node) = child(doc, signature, DSIG, name) {
            c14n(node, &mut out)?;
        }
    }
    let qualifying = qualifying_properties(doc, signature);
    if let Some(properties) = qualifying
        .and_then(|q| child(doc, q, XADES, "UnsignedProperties"))
        .and_then(|u| child(doc, u, XADES, "UnsignedSignatureProperties"))
    {
        for property in doc
            .child_elements(properties)
            .take_while(|&p| Some(p) != before)
        {
            c14n(property, &mut out)?;
        }
    }
    for object in children(doc, signature, DSIG, "Object") {
        if qualifying.and_then(|q| doc.parent(q)) != Some(object) {
            c14n(object, &mut out)?;
        }
    }
    Ok(out)
}

/// What XAdES `UnsignedSignatureProperties` carry (EN 319 132-1 5.3 and 5.5): signature
/// timestamps, certificate and revocation values.
#[derive(Default)]
struct Unsigned {
    timestamps: Vec<TimestampEvidence>,
    certificates: Vec<Vec<u8>>,
    crls: Vec<Vec<u8>>,
    ocsp_responses: Vec<Vec<u8>>,
}

impl Unsigned {
    fn read(
        doc: &Document<'_>,
        signature: NodeId,
        detached: Option<&[u8]>,
        problems: &mut Vec<String>,
    ) -> Self {
        let Some(properties) = qualifying_properties(doc, signature)
            .and_then(|q| child(doc, q, XADES, "UnsignedProperties"))
            .and_then(|u| child(doc, u, XADES, "UnsignedSignatureProperties"))
        else {
            return Unsigned::default();
        };
        let mut timestamps = Vec::new();
        for stamp in doc.child_elements(properties) {
            let kind = if crate::dsig::is(doc, stamp, XADES, "SignatureTimeStamp") {
                TimestampKind::Signature
            } else if crate::dsig::is(doc, stamp, XADES141, "ArchiveTimeStamp") {
                TimestampKind::Archive
            } else {
                continue;
            };
            // EN 319 132-1 5.3, 5.5.2: without a CanonicalizationMethod, Canonical XML 1.0.
            let method = child(doc, stamp, DSIG, "CanonicalizationMethod")
                .and_then(|m| doc.attribute(m, "", "Algorithm"))
                .map_or(Ok(Algorithm::new(Method::Inclusive10, false)), |uri| {
                    Algorithm::from_uri(&uri)
                });
            let tokens = descendants(doc, stamp, XADES, "EncapsulatedTimeStamp");
            let token = decoded(doc, tokens, "a timestamp", problems);
            let covered = |method| match kind {
                TimestampKind::Signature => signature_timestamp_bytes(doc, signature, method),
                TimestampKind::Archive => {
                    archive_timestamp_bytes(doc, signature, Some(stamp), method, detached)
                }
            };
            match (method, token.as_slice()) {
                (Ok(method), [token]) => match covered(method) {
                    Ok(covered_data) => timestamps.push(TimestampEvidence {
                        kind,
                        token: token.clone(),
                        covered_data,
                    }),
                    Err(e) => problems.push(e),
                },
                (Err(e), _) => problems.push(format!("a timestamp: {e}")),
                (_, _) => problems
                    .push("a timestamp does not hold exactly one EncapsulatedTimeStamp".into()),
            }
        }
        let values = |local: &'static str, what: &str, problems: &mut Vec<String>| {
            decoded(
                doc,
                descendants(doc, properties, XADES, local),
                what,
                problems,
            )
        };
        Unsigned {
            timestamps,
            certificates: values("EncapsulatedX509Certificate", "a certificate", problems),
            crls: values("EncapsulatedCRLValue", "a CRL", problems),
            ocsp_responses: values("EncapsulatedOCSPValue", "an OCSP response", problems),
        }
    }
}

/// What XAdES `SignedProperties` say (ETSI EN 319 132-1 section 5.2).
#[derive(Default)]
struct SignedProperties {
    present: bool,
    signing_time: Option<i64>,
    certificate_references: Vec<(DigestAlgorithm, Vec<u8>)>,
}

impl SignedProperties {
    fn read(
        doc: &Document<'_>,
        signature: NodeId,
        processed: &[ProcessedReference],
        problems: &mut Vec<String>,
    ) -> Self {
        let Some(properties) = qualifying_properties(doc, signature)
            .and_then(|q| child(doc, q, XADES, "SignedProperties"))
        else {
            return SignedProperties::default();
        };
        if !processed.iter().any(|p| p.target == Some(properties)) {
            problems.push(
                "the XAdES SignedProperties are not covered by a Reference of the SignedInfo"
                    .into(),
            );
        }
        let signing_time = descendants(doc, properties, XADES, "SigningTime")
            .next()
            .and_then(|t| {
                let text = doc.text(t);
                let parsed = chrono::DateTime::parse_from_rfc3339(text.trim());
                if parsed.is_err() {
                    problems.push(format!(
                        "SigningTime {text:?} is not a date and time with a zone"
                    ));
                }
                parsed.ok().map(|t| t.timestamp())
            });
        let mut certificate_references = Vec::new();
        for cert in descendants(doc, properties, XADES, "Cert") {
            let Some(digest) = child(doc, cert, XADES, "CertDigest") else {
                problems.push("a SigningCertificate Cert has no CertDigest".into());
                continue;
            };
            let method = child(doc, digest, DSIG, "DigestMethod")
                .and_then(|m| doc.attribute(m, "", "Algorithm"))
                .unwrap_or_default();
            let value =
                child(doc, digest, DSIG, "DigestValue").map(|v| decode_base64(&doc.text(v)));
            match (DigestAlgorithm::from_uri(&method), value) {
                (Some(algorithm), Some(Ok(hash))) => certificate_references.push((algorithm, hash)),
                _ => problems.push(format!(
                    "a SigningCertificate CertDigest is unreadable (method {method:?})"
                )),
            }
        }
        SignedProperties {
            present: true,
            signing_time,
            certificate_references,
        }
    }

    /// The certificate the first signing-certificate reference names.
    fn signer(&self, certificates: &[Vec<u8>]) -> Option<Vec<u8>> {
        let (algorithm, hash) = self.certificate_references.first()?;
        certificates
            .iter()
            .find(|c| algorithm.digest(c) == *hash)
            .cloned()
    }

    /// The baseline level the structure shows (EN 319 132-1 6): B-B with the signing
    /// certificate bound, B-T with a signature timestamp, B-LT with validation values too,
    /// B-LTA with an archive timestamp.
    fn level(&self, unsigned: &Unsigned) -> &'static str {
        let revocation = !unsigned.crls.is_empty() || !unsigned.ocsp_responses.is_empty();
        let values = !unsigned.certificates.is_empty() && revocation;
        let archived = unsigned
            .timestamps
            .iter()
            .any(|t| t.kind == TimestampKind::Archive);
        match (
            self.present,
            self.certificate_references.is_empty(),
            unsigned.timestamps.is_empty(),
        ) {
            (true, false, false) if values && archived => "XAdES-BASELINE-LTA",
            (true, false, false) if values => "XAdES-BASELINE-LT",
            (true, false, false) => "XAdES-BASELINE-T",
            (true, false, true) => "XAdES-BASELINE-B",
            (true, true, _) => "XAdES",
            (false, _, _) => "XMLDSig",
        }
    }
}
