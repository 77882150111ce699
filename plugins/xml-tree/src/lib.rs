//! The safe XML reader of Mübadilə ([`parse`]) and the tree it reads into ([`Document`]).
//!
//! A library, not a format plugin: it implements no plugin contract. The XML plugin
//! (`mubadile-plugin-xml`) canonicalizes and signs what it reads and re-exports its public items;
//! `mubadile-core` reads the envelope's own XML (`requisites.xml`, EDE 5.1.1) with it, which keeps
//! core clear of any concrete plugin (DESIGN.md: `core → plugins/api ← plugins/*`).
//!
//! The reader refuses DTDs outright, so no entity can expand or reach outside the document; input
//! size, nesting depth and attributes per element are bounded; only UTF-8 XML 1.0 is read, and
//! namespace well-formedness is enforced. Every error names what was found and where.

mod declaration;
mod document;
mod error;
mod escape;
mod reader;

pub use document::{Child, ContentEnd, Document, ID_ATTRIBUTES, NodeId, XML_NAMESPACE};
pub use error::{Position, XmlError};
pub use escape::escape_text;
pub use reader::{MAX_ATTRIBUTES, MAX_DEPTH, MAX_INPUT_BYTES, parse};

/// The tree as it is stored, for the XML plugin's canonicalizer, which writes canonical XML
/// straight from the nodes, spans and namespace declarations as written. Not a stable interface:
/// read documents through [`Document`]'s methods.
#[doc(hidden)]
pub mod raw {
    pub use crate::document::{
        Attribute, Declaration, Element, NO_PARENT, Namespace, Node, NodeKind, Span, local_part,
    };
    pub use crate::escape::{Source, write_escaped};
}
