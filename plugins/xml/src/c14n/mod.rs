//! Canonical XML: the three W3C canonicalization methods that XMLDSig names by URI, each with
//! and without comments, over a whole document or over the document subset a same-document
//! reference selects (an element with its descendants, less an enveloped signature).
//!
//! - Canonical XML 1.0 (<https://www.w3.org/TR/2001/REC-xml-c14n-20010315>)
//! - Canonical XML 1.1 (<https://www.w3.org/TR/2008/REC-xml-c14n11-20080502/>)
//! - Exclusive XML Canonicalization 1.0 (<https://www.w3.org/TR/2002/REC-xml-exc-c14n-20020718/>),
//!   with an InclusiveNamespaces PrefixList
//!
//! Subsets: the apex element gets the namespace declarations in scope from its ancestors
//! (inclusive methods: all of them; exclusive: those it visibly uses), and for the inclusive
//! methods the `xml:*` attributes it inherits from them (C14N 1.0: all of them; C14N 1.1:
//! `xml:lang` and `xml:space`, not `xml:id`). Simplification, C14N 1.1 section 2.4: `xml:base` is
//! not inherited by the apex at all, where the method would join the ancestors' values into the
//! apex's; documents that put `xml:base` above a signed element are not canonicalized as the
//! method says.
//!
//! Like libxml2, canonicalization refuses elements that declare relative namespace URIs. Unlike
//! libxml2, it escapes `&`, `<` and `"` in namespace URIs: C14N 1.0 section 2.3 processes
//! namespace nodes as attributes, and libxml2's `xmlns:p="a&b"` is not even well-formed.

mod writer;

use mubadile_xml_tree::XmlError;
use mubadile_xml_tree::{Document, NodeId};

/// The canonicalization methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// Canonical XML 1.0.
    Inclusive10,
    /// Canonical XML 1.1.
    Inclusive11,
    /// Exclusive XML Canonicalization 1.0.
    Exclusive10,
}

/// A canonicalization algorithm as XMLDSig names it: a method, with or without comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Algorithm {
    /// The method.
    pub method: Method,
    /// Whether comments are kept.
    pub with_comments: bool,
}

/// `http://www.w3.org/TR/2001/REC-xml-c14n-20010315`: Canonical XML 1.0, comments dropped.
pub const C14N_10: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";
/// Canonical XML 1.0 with comments.
pub const C14N_10_WITH_COMMENTS: &str =
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments";
/// `http://www.w3.org/2006/12/xml-c14n11`: Canonical XML 1.1, comments dropped.
pub const C14N_11: &str = "http://www.w3.org/2006/12/xml-c14n11";
/// Canonical XML 1.1 with comments.
pub const C14N_11_WITH_COMMENTS: &str = "http://www.w3.org/2006/12/xml-c14n11#WithComments";
/// `http://www.w3.org/2001/10/xml-exc-c14n#`: Exclusive XML Canonicalization 1.0, comments
/// dropped.
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// Exclusive XML Canonicalization 1.0 with comments.
pub const EXC_C14N_WITH_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";

const URIS: [(&str, Algorithm); 6] = [
    (C14N_10, Algorithm::new(Method::Inclusive10, false)),
    (
        C14N_10_WITH_COMMENTS,
        Algorithm::new(Method::Inclusive10, true),
    ),
    (C14N_11, Algorithm::new(Method::Inclusive11, false)),
    (
        C14N_11_WITH_COMMENTS,
        Algorithm::new(Method::Inclusive11, true),
    ),
    (EXC_C14N, Algorithm::new(Method::Exclusive10, false)),
    (
        EXC_C14N_WITH_COMMENTS,
        Algorithm::new(Method::Exclusive10, true),
    ),
];

impl Algorithm {
    /// Every algorithm this crate implements, in the order of their URIs above.
    pub const ALL: [Algorithm; 6] = [
        URIS[0].1, URIS[1].1, URIS[2].1, URIS[3].1, URIS[4].1, URIS[5].1,
    ];

    /// The algorithm `method`, with or without comments.
    pub const fn new(method: Method, with_comments: bool) -> Self {
        Algorithm {
            method,
            with_comments,
        }
    }

    /// The algorithm an XMLDSig `Algorithm` URI names.
    pub fn from_uri(uri: &str) -> Result<Self, XmlError> {
        URIS.iter()
            .find(|(u, _)| *u == uri)
            .map(|(_, a)| *a)
            .ok_or_else(|| XmlError::UnknownAlgorithm { uri: uri.into() })
    }

    /// The URI XMLDSig names this algorithm by.
    pub fn uri(self) -> &'static str {
        URIS.iter()
            .find(|(_, a)| *a == self)
            .map_or(C14N_10, |(u, _)| u)
    }
}

/// What part of a document to canonicalize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Subset<'s> {
    apex: Option<NodeId>,
    excluded: Option<NodeId>,
    also_excluded: &'s [NodeId],
}

impl<'s> Subset<'s> {
    /// The whole document: comments and processing instructions around the document element
    /// included (comments only with a `WithComments` algorithm).
    pub fn document() -> Self {
        Subset::default()
    }

    /// Element `apex` and its descendants, with the context its ancestors give it (XMLDSig
    /// same-document reference `#id`).
    pub fn element(apex: NodeId) -> Self {
        Subset {
            apex: Some(apex),
            ..Subset::default()
        }
    }

    /// This subset less element `excluded` and its descendants (the enveloped-signature
    /// transform removes the signature being verified).
    pub fn excluding(self, excluded: NodeId) -> Self {
        Subset {
            excluded: Some(excluded),
            ..self
        }
    }

    /// This subset less each of the elements `excluded` and their descendants (the XPath
    /// Filter 2.0 transform that subtracts every signature, so parallel signatures leave each
    /// other intact).
    pub fn excluding_all(self, excluded: &'s [NodeId]) -> Subset<'s> {
        Subset {
            also_excluded: excluded,
            ..self
        }
    }
}

/// Canonicalizes `subset` of `document` with `algorithm`. `inclusive_prefixes` is the
/// InclusiveNamespaces PrefixList of exclusive canonicalization (`#default` for the default
/// namespace); it must be empty for the other methods.
pub fn canonicalize(
    document: &Document<'_>,
    algorithm: Algorithm,
    subset: Subset<'_>,
    inclusive_prefixes: &[&str],
) -> Result<Vec<u8>, XmlError> {
    // Canonical output is rarely more than a quarter longer than its input (empty elements get
    // end tags, references in attributes are rewritten); capacity never touched costs nothing.
    let mut out = Vec::with_capacity(document.source().len() + document.source().len() / 2);
    canonicalize_into(document, algorithm, subset, inclusive_prefixes, &mut out)?;
    Ok(out)
}

/// [`canonicalize`] with the algorithm named by its XMLDSig URI.
pub fn canonicalize_with_uri(
    document: &Document<'_>,
    uri: &str,
    subset: Subset<'_>,
    inclusive_prefixes: &[&str],
) -> Result<Vec<u8>, XmlError> {
    canonicalize(
        document,
        Algorithm::from_uri(uri)?,
        subset,
        inclusive_prefixes,
    )
}

/// [`canonicalize`], appending to `out`.
pub fn canonicalize_into(
    document: &Document<'_>,
    algorithm: Algorithm,
    subset: Subset<'_>,
    inclusive_prefixes: &[&str],
    out: &mut Vec<u8>,
) -> Result<(), XmlError> {
    if algorithm.method != Method::Exclusive10 && !inclusive_prefixes.is_empty() {
        return Err(XmlError::BadRequest(format!(
            "an InclusiveNamespaces PrefixList applies only to exclusive canonicalization, not to {}",
            algorithm.uri()
        )));
    }
    let named = [("apex", subset.apex), ("excluded node", subset.excluded)];
    let also = subset
        .also_excluded
        .iter()
        .map(|&n| ("excluded node", Some(n)));
    for (what, node) in named.into_iter().chain(also) {
        if let Some(node) = node
            && !document.is_element(node)
        {
            return Err(XmlError::BadRequest(format!(
                "the subset's {what} is not an element of this document"
            )));
        }
    }
    writer::Writer::new(document, algorithm, inclusive_prefixes, out).write(
        subset.apex,
        subset.excluded,
        subset.also_excluded,
    )
}

#[cfg(test)]
mod tests;
