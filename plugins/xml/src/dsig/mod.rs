//! XMLDSig and XAdES signatures read as evidence for the validator: every `ds:Signature` with the
//! canonical `SignedInfo` its value is computed over, its references processed and digested, its
//! certificates and the XAdES signed properties that bind the signer. Nothing is checked here:
//! `mubadile-core` does that from the evidence.

pub mod algorithms;
pub(crate) mod evidence;
pub mod reference;

use base64::Engine as _;

use mubadile_xml_tree::{Document, NodeId};

pub(crate) use evidence::{
    archive_timestamp_bytes, is_counter_signature, qualifying_properties, signature_timestamp_bytes,
};
pub use evidence::{
    counter_signatures, evidence, named_evidence, named_signatures, signature_by_id, signatures,
};

/// The XMLDSig namespace.
pub const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The XAdES 1.3.2 namespace (ETSI EN 319 132-1).
pub const XADES: &str = "http://uri.etsi.org/01903/v1.3.2#";
/// The XAdES 1.4.1 namespace, of `ArchiveTimeStamp` (ETSI EN 319 132-1 5.5.2).
pub const XADES141: &str = "http://uri.etsi.org/01903/v1.4.1#";
/// The namespace of exclusive canonicalization's `InclusiveNamespaces`.
pub const EXC_C14N_NAMESPACE: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// The first child element of `node` named `{namespace}local`.
pub(crate) fn child(
    doc: &Document<'_>,
    node: NodeId,
    namespace: &str,
    local: &str,
) -> Option<NodeId> {
    children(doc, node, namespace, local).next()
}

/// The child elements of `node` named `{namespace}local`.
pub(crate) fn children<'d>(
    doc: &'d Document<'_>,
    node: NodeId,
    namespace: &'d str,
    local: &'d str,
) -> impl Iterator<Item = NodeId> + 'd {
    doc.child_elements(node)
        .filter(move |&c| is(doc, c, namespace, local))
}

/// The elements below `node` named `{namespace}local`.
pub(crate) fn descendants<'d>(
    doc: &'d Document<'_>,
    node: NodeId,
    namespace: &'d str,
    local: &'d str,
) -> impl Iterator<Item = NodeId> + 'd {
    doc.descendants(node)
        .filter(move |&c| is(doc, c, namespace, local))
}

/// True when element `node` is named `{namespace}local`.
pub(crate) fn is(doc: &Document<'_>, node: NodeId, namespace: &str, local: &str) -> bool {
    doc.local_name(node) == Some(local) && doc.namespace(node) == Some(namespace)
}

/// True when `signature` has a Reference without URI: its data is detached and must be given.
pub(crate) fn is_detached(doc: &Document<'_>, signature: NodeId) -> bool {
    child(doc, signature, DSIG, "SignedInfo").is_some_and(|si| {
        children(doc, si, DSIG, "Reference").any(|r| doc.attribute(r, "", "URI").is_none())
    })
}

/// XML Schema base64Binary: base64 with any white space between the characters.
pub(crate) fn decode_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(compact)
}
