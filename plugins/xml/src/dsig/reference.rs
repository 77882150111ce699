//! Reference processing (XMLDSig 1.1 section 4.4.3): dereferencing a same-document URI, applying
//! the enveloped-signature and canonicalization transforms, and digesting the result.
//!
//! Supported: URIs `""` (the document without comments), `#id` (an element without comments),
//! `#xpointer(/)` and `#xpointer(id('id'))` (the same with comments), and one Reference without
//! URI standing for the detached data the caller supplies (XMLDSig 4.4.3.1: the application knows
//! the object); transforms enveloped-signature, the XPath Filter 2.0 subtraction of every
//! signature (`/descendant::ds:Signature`, which lets parallel enveloped signatures leave each
//! other intact), base64 alone over an element, and the six canonicalization algorithms,
//! canonicalization last. Anything else (external URIs, other XPath, XSLT) is refused with a
//! reason, so the signature is a format failure rather than something half-checked.

use crate::c14n::{Algorithm, Method, Subset, canonicalize};
use crate::dsig::algorithms::DigestAlgorithm;
use crate::dsig::{DSIG, EXC_C14N_NAMESPACE, child, children, decode_base64};
use mubadile_xml_tree::{Document, NodeId};

/// The enveloped-signature transform (XMLDSig 6.6.4).
pub const ENVELOPED_SIGNATURE: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// The XPath Filter 2.0 transform and its namespace (W3C XML-Signature XPath Filter 2.0).
pub const XPATH_FILTER2: &str = "http://www.w3.org/2002/06/xmldsig-filter2";
/// The base64 transform (XMLDSig 6.6.2).
pub const BASE64: &str = "http://www.w3.org/2000/09/xmldsig#base64";

/// A `ds:Reference` after processing.
#[derive(Debug, Clone)]
pub struct ProcessedReference {
    /// The `URI` attribute; `None` for the detached data.
    pub uri: Option<String>,
    /// The `Type` attribute, if any.
    pub kind: Option<String>,
    /// The element the URI selects (`None` for the whole document).
    pub target: Option<NodeId>,
    /// The digest algorithm.
    pub digest: DigestAlgorithm,
    /// The `DigestValue`.
    pub claimed: Vec<u8>,
    /// The digest of the data as it is now; `None` for detached data not given.
    pub computed: Option<Vec<u8>>,
}

/// Processes `reference`, a `ds:Reference` of `signature`; `detached` is the data a Reference
/// without URI stands for. The error says why the reference cannot be checked.
pub fn process(
    doc: &Document<'_>,
    signature: NodeId,
    reference: NodeId,
    detached: Option<&[u8]>,
) -> Result<ProcessedReference, String> {
    let uri = doc.attribute(reference, "", "URI");
    let digest_method = child(doc, reference, DSIG, "DigestMethod")
        .and_then(|m| doc.attribute(m, "", "Algorithm"))
        .ok_or("a Reference has no DigestMethod")?;
    let digest = DigestAlgorithm::from_uri(&digest_method)
        .ok_or_else(|| format!("digest method {digest_method} is not supported"))?;
    let claimed = child(doc, reference, DSIG, "DigestValue")
        .map(|v| decode_base64(&doc.text(v)))
        .ok_or("a Reference has no DigestValue")?
        .map_err(|e| format!("the DigestValue of Reference {uri:?} is not base64: {e}"))?;
    let (octets, target) = processed_octets(doc, signature, reference, detached)?;
    Ok(ProcessedReference {
        kind: doc.attribute(reference, "", "Type").map(|t| t.into_owned()),
        computed: octets.map(|o| digest.digest(&o)),
        uri: uri.map(|u| u.into_owned()),
        target,
        digest,
        claimed,
    })
}

/// The octets `reference` of `signature` digests (`None` for detached data not given), and the
/// element its URI selects.
pub fn processed_octets(
    doc: &Document<'_>,
    signature: NodeId,
    reference: NodeId,
    detached: Option<&[u8]>,
) -> Result<(Option<Vec<u8>>, Option<NodeId>), String> {
    match doc.attribute(reference, "", "URI") {
        Some(uri) => {
            let (octets, target) = octets(doc, signature, reference, &uri)?;
            Ok((Some(octets), target))
        }
        None => Ok((detached_octets(doc, reference, detached)?, None)),
    }
}

/// The octets `reference` digests, and the element its URI selects.
fn octets(
    doc: &Document<'_>,
    signature: NodeId,
    reference: NodeId,
    uri: &str,
) -> Result<(Vec<u8>, Option<NodeId>), String> {
    // XMLDSig 4.4.3.3: "" and bare names drop comments; the XPointer forms keep them.
    let (target, keep_comments) = if uri.is_empty() {
        (None, false)
    } else if uri == "#xpointer(/)" {
        (None, true)
    } else if let Some(id) = uri
        .strip_prefix("#xpointer(id(")
        .and_then(|rest| rest.strip_suffix("))"))
    {
        let id = id.trim_matches(|c| c == '\'' || c == '"');
        (Some(element_by_unique_id(doc, id)?), true)
    } else if let Some(id) = uri.strip_prefix('#') {
        (Some(element_by_unique_id(doc, id)?), false)
    } else {
        return Err(format!(
            "Reference URI {uri:?} points outside the document, which is not supported yet"
        ));
    };

    let mut excluded = None;
    let mut every_signature = Vec::new();
    let mut method: Option<(Algorithm, Vec<String>)> = None;
    let transforms: Vec<NodeId> = child(doc, reference, DSIG, "Transforms")
        .map(|t| children(doc, t, DSIG, "Transform").collect())
        .unwrap_or_default();
    if let [only] = transforms[..]
        && doc.attribute(only, "", "Algorithm").as_deref() == Some(BASE64)
    {
        // XMLDSig 6.6.2: the text of the element, decoded.
        let target = target.ok_or("the base64 transform applies to an element, not a document")?;
        let octets = decode_base64(&doc.text(target))
            .map_err(|e| format!("the base64 data of Reference {uri:?} is not base64: {e}"))?;
        return Ok((octets, Some(target)));
    }
    for transform in transforms {
        let algorithm = doc
            .attribute(transform, "", "Algorithm")
            .ok_or("a Transform has no Algorithm")?;
        if method.is_some() {
            return Err(format!(
                "transform {algorithm} after canonicalization is not supported"
            ));
        }
        if algorithm == ENVELOPED_SIGNATURE {
            excluded = Some(signature);
        } else if algorithm == XPATH_FILTER2 {
            subtract_signatures(doc, transform)?;
            every_signature = doc
                .elements()
                .filter(|&e| crate::dsig::is(doc, e, DSIG, "Signature"))
                .collect();
        } else if let Ok(c14n) = Algorithm::from_uri(&algorithm) {
            method = Some((c14n, inclusive_prefixes(doc, transform, c14n)));
        } else {
            return Err(format!("transform {algorithm} is not supported"));
        }
    }
    // XMLDSig 4.4.3.2: a node-set left at the end becomes octets through Canonical XML 1.0.
    let (mut algorithm, prefixes) = method.unwrap_or((
        Algorithm::new(Method::Inclusive10, keep_comments),
        Vec::new(),
    ));
    // Comments dropped by dereferencing do not come back with a WithComments method.
    algorithm.with_comments &= keep_comments;
    let subset = target.map_or_else(Subset::document, Subset::element);
    let subset = match excluded {
        Some(signature) => subset.excluding(signature),
        None => subset,
    }
    .excluding_all(&every_signature);
    let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    let octets = canonicalize(doc, algorithm, subset, &prefixes).map_err(|e| e.to_string())?;
    Ok((octets, target))
}

/// The octets of the detached data a Reference without URI stands for: the data as given, which
/// no transform may change (one Reference only may omit its URI, XMLDSig 4.4.3.1); `None` when
/// the data was not given (the validator then says the signed data is not found).
fn detached_octets(
    doc: &Document<'_>,
    reference: NodeId,
    detached: Option<&[u8]>,
) -> Result<Option<Vec<u8>>, String> {
    if child(doc, reference, DSIG, "Transforms").is_some() {
        return Err("transforms over detached data are not supported".into());
    }
    Ok(detached.map(<[u8]>::to_vec))
}

/// Checks that the XPath Filter 2.0 `transform` is the one this plugin understands: a single
/// `subtract` of `/descendant::p:Signature` with `p` bound to the XMLDSig namespace. Any other
/// expression would need an XPath engine, and is refused.
fn subtract_signatures(doc: &Document<'_>, transform: NodeId) -> Result<(), String> {
    let mut filters = children(doc, transform, XPATH_FILTER2, "XPath");
    let (Some(filter), None) = (filters.next(), filters.next()) else {
        return Err("an XPath Filter 2.0 transform must hold one XPath element here".into());
    };
    let expression = doc.text(filter);
    let refused = || {
        format!(
            "XPath Filter 2.0 {expression:?} is not supported; only subtracting /descendant::ds:Signature is"
        )
    };
    if doc.attribute(filter, "", "Filter").as_deref() != Some("subtract") {
        return Err(refused());
    }
    let prefix = expression
        .trim()
        .strip_prefix("/descendant::")
        .and_then(|rest| rest.strip_suffix(":Signature"))
        .ok_or_else(refused)?;
    if doc.namespace_in_scope(filter, prefix) != Some(DSIG) {
        return Err(refused());
    }
    Ok(())
}

/// The PrefixList of an exclusive canonicalization element (`Transform` or
/// `CanonicalizationMethod`).
pub fn inclusive_prefixes(doc: &Document<'_>, method: NodeId, algorithm: Algorithm) -> Vec<String> {
    if algorithm.method != Method::Exclusive10 {
        return Vec::new();
    }
    child(doc, method, EXC_C14N_NAMESPACE, "InclusiveNamespaces")
        .and_then(|n| doc.attribute(n, "", "PrefixList"))
        .map(|list| list.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The one element with ID `id`. Two elements with one ID are refused: a signature wrapping
/// attack hides a second element with the signed ID.
fn element_by_unique_id(doc: &Document<'_>, id: &str) -> Result<NodeId, String> {
    let found = doc
        .element_by_id(id)
        .ok_or_else(|| format!("no element has the ID {id:?} a Reference points at"))?;
    let twice = doc.elements().filter(|&e| e > found).any(|e| {
        mubadile_xml_tree::ID_ATTRIBUTES
            .iter()
            .any(|&(ns, name)| doc.attribute(e, ns, name).as_deref() == Some(id))
    });
    if twice {
        return Err(format!(
            "two elements have the ID {id:?}; the Reference is ambiguous"
        ));
    }
    Ok(found)
}
