//! The errors of the XML reader, of the XML plugin's canonicalizer and of its trust lists.
//!
//! Which error to use where: everything that is wrong with the input document is an
//! [`XmlError`] that names what was found and where ([`Position`]); a request that cannot be
//! served (an unknown canonicalization URI, a subset that is not an element) is an [`XmlError`]
//! too, with no position. The canonicalization and trust-list variants are the XML plugin's; they
//! live in this one enum so that its users see one error type for everything XML. Conversion to
//! the plugin contract's `PluginError` happens at the contract's edge, in the plugin.

use std::fmt;

/// Where in the input something was found: byte offset (from the first byte of the input, a byte
/// order mark included), line and column (both from 1, the column counted in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Byte offset from the start of the input.
    pub offset: usize,
    /// Line number, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` of `text`, which starts `base` bytes into the input (after
    /// a byte order mark).
    pub(crate) fn locate(text: &str, base: usize, offset: usize) -> Position {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Position {
            offset: base + offset,
            line: 1 + before.bytes().filter(|&b| b == b'\n').count(),
            column: 1 + before.get(line_start..).map_or(0, |s| s.chars().count()),
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {} (byte {})",
            self.line, self.column, self.offset
        )
    }
}

/// What is wrong with an XML document or with a request to canonicalize one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XmlError {
    /// The input is larger than the reader accepts.
    #[error(
        "the XML document is {size} bytes, more than the {limit} bytes accepted; send a smaller document"
    )]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// [`crate::MAX_INPUT_BYTES`].
        limit: usize,
    },
    /// The input is not UTF-8, or declares another encoding.
    #[error("the XML document is not UTF-8 at {position}: {found}; convert it to UTF-8")]
    Encoding {
        /// Where the problem is.
        position: Position,
        /// What was found.
        found: String,
    },
    /// The document has a document type declaration, which is never processed.
    #[error(
        "the XML document has a document type declaration at {position} ({found}); DTDs are refused because their entities can expand without bound or fetch outside files: send the document without a DOCTYPE"
    )]
    Doctype {
        /// Where the DOCTYPE starts.
        position: Position,
        /// The start of the declaration as written.
        found: String,
    },
    /// A reference to an entity other than the five predefined ones.
    #[error(
        "the XML document refers to entity &{name}; at {position}; only &lt; &gt; &amp; &apos; &quot; and character references are allowed (no DTD entities are processed)"
    )]
    UnknownEntity {
        /// The entity name as written.
        name: String,
        /// Where the reference is.
        position: Position,
    },
    /// Elements nest deeper than the reader accepts.
    #[error("the XML document nests elements deeper than {limit} levels at {position}")]
    TooDeep {
        /// Where the element too deep starts.
        position: Position,
        /// [`crate::MAX_DEPTH`].
        limit: usize,
    },
    /// An element has more attributes than the reader accepts.
    #[error("an element at {position} has more than {limit} attributes")]
    TooManyAttributes {
        /// Where the element starts.
        position: Position,
        /// [`crate::MAX_ATTRIBUTES`].
        limit: usize,
    },
    /// The document is not well-formed XML.
    #[error("the XML document is not well-formed at {position}: {message}")]
    Malformed {
        /// Where the problem is.
        position: Position,
        /// What is wrong.
        message: String,
    },
    /// The document breaks the rules of Namespaces in XML 1.0.
    #[error("the XML document breaks the namespace rules at {position}: {message}")]
    Namespace {
        /// Where the problem is.
        position: Position,
        /// What is wrong.
        message: String,
    },
    /// A canonicalization method URI the XML plugin does not implement.
    #[error(
        "unknown canonicalization method {uri:?}; supported: C14N 1.0, C14N 1.1 and exclusive C14N 1.0, each with or without comments"
    )]
    UnknownAlgorithm {
        /// The URI as given.
        uri: String,
    },
    /// A namespace URI that the canonicalization methods do not define output for.
    #[error(
        "element <{element}> declares the relative namespace URI {uri:?}; canonical XML is not defined for relative namespace URIs (libxml2 refuses them too)"
    )]
    RelativeNamespace {
        /// The element's name as written.
        element: String,
        /// The namespace URI.
        uri: String,
    },
    /// A canonicalization request that does not fit the document or the method.
    #[error("cannot canonicalize: {0}")]
    BadRequest(String),
    /// A document read as an ETSI TS 119 612 trust list is not a usable one.
    #[error(
        "not a usable ETSI TS 119 612 trust list: {0}; ask the scheme operator for the signed list"
    )]
    TrustList(String),
}
