//! A parsed XML document: a flat list of nodes in document order that borrows every name and
//! value from the input, so reading a document allocates per document, not per node.
//!
//! Text and attribute values are kept as written (references not yet replaced, line ends not yet
//! normalised); the reader has checked them, and the canonicalizer decodes and escapes them in one
//! pass. [`Document::attribute`] and [`Document::text`] give decoded values.

use std::borrow::Cow;
use std::ops::Range;

use quick_xml::events::Event;

use crate::escape;

/// The namespace bound to the prefix `xml` (Namespaces in XML 1.0, section 3).
pub const XML_NAMESPACE: &str = "http://www.w3.org/XML/1998/namespace";

/// The attributes taken as IDs, (namespace, local name): no DTD declares them, so these are the
/// names [`Document::element_by_id`] and XMLDSig same-document references go by.
pub const ID_ATTRIBUTES: [(&str, &str); 4] =
    [("", "Id"), ("", "ID"), ("", "id"), (XML_NAMESPACE, "id")];

/// An element (or other node) of a [`Document`], valid only for that document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(#[doc(hidden)] pub u32);

/// A parsed, well-formed, namespace-well-formed XML document.
#[derive(Debug, Clone)]
pub struct Document<'a> {
    /// The input after any byte order mark.
    pub(crate) text: &'a str,
    /// Every node in document order; an element's descendants follow it up to its `end`.
    pub(crate) nodes: Vec<Node>,
    /// Attributes (namespace declarations excluded), element by element.
    pub(crate) attributes: Vec<Attribute>,
    /// Namespace declarations, element by element, with their decoded URIs.
    pub(crate) declarations: Vec<Declaration<'a>>,
    /// The document element.
    pub(crate) root: u32,
}

/// A byte range of [`Document::source`].
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// Where content can be added at the end of an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentEnd {
    /// The offset of the element's end tag.
    BeforeEndTag(usize),
    /// The offset of the `/>` closing the element's empty-element tag.
    EmptyElement(usize),
}

/// A node directly inside an element, as [`Document::children`] gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Child<'a> {
    /// A child element.
    Element(NodeId),
    /// Character data, references replaced and line ends normalised.
    Text(Cow<'a, str>),
    /// The content of a CDATA section, line ends normalised.
    CData(Cow<'a, str>),
    /// A comment.
    Comment,
    /// A processing instruction.
    ProcessingInstruction,
}

/// "No parent": a node outside the document element.
#[doc(hidden)]
pub const NO_PARENT: u32 = u32::MAX;

/// A node as stored: what it is, its parent and the end of its descendants.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct Node {
    pub kind: NodeKind,
    /// The parent element, or [`NO_PARENT`].
    pub parent: u32,
    /// One past the last descendant (the node itself when it has none).
    pub end: u32,
}

/// What a stored node is, with the spans of its name and content as written.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub enum NodeKind {
    Element(Element),
    /// Character data as written: references checked but not replaced, line ends raw.
    Text(Span),
    /// The content of a CDATA section.
    CData(Span),
    /// The content of a comment.
    Comment(Span),
    /// A processing instruction: target and data (leading white space of the data removed).
    Pi {
        target: Span,
        data: Span,
    },
}

/// An element as stored.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct Element {
    /// The qualified name as written.
    pub name: Span,
    /// Length of the prefix (0 when there is none).
    pub prefix_len: u32,
    /// The element's namespace.
    pub namespace: Namespace,
    /// Its attributes in [`Document::attributes`].
    pub attributes: Span,
    /// Its namespace declarations in [`Document::declarations`].
    pub declarations: Span,
}

/// An attribute as stored (namespace declarations are [`Declaration`]s).
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct Attribute {
    /// The qualified name as written.
    pub name: Span,
    pub prefix_len: u32,
    pub namespace: Namespace,
    /// The value as written between the quotes.
    pub value: Span,
}

/// A namespace declaration as stored.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct Declaration<'a> {
    /// The declared prefix, empty for the default namespace.
    pub prefix: &'a str,
    /// The namespace URI, decoded; empty to undeclare the default namespace.
    pub uri: Cow<'a, str>,
}

/// The namespace of a name.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Namespace {
    /// No namespace.
    None,
    /// The `xml` namespace, bound without declaration.
    Xml,
    /// The namespace of declaration `n` in [`Document::declarations`].
    Declared(u32),
}

impl<'a> Document<'a> {
    /// The document element.
    pub fn root(&self) -> NodeId {
        NodeId(self.root)
    }

    /// The input after any byte order mark: the text the offsets of [`ContentEnd`] point into.
    pub fn source(&self) -> &'a str {
        self.text
    }

    /// Every stored node in document order (for the canonicalizer); [`NodeId`]`(i)` is `nodes()[i]`.
    #[doc(hidden)]
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Every element in document order.
    pub fn elements(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| matches!(n.kind, NodeKind::Element(_)))
            .map(|(i, _)| NodeId(i as u32))
    }

    /// The child nodes of `node` that are elements, in document order.
    pub fn child_elements(&self, node: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        let start = node.0 as usize + 1;
        let end = self
            .nodes
            .get(node.0 as usize)
            .map_or(start, |n| n.end as usize);
        let mut next = start;
        std::iter::from_fn(move || {
            while next < end {
                let here = next;
                let n = self.nodes.get(here)?;
                next = n.end.max(here as u32 + 1) as usize;
                if matches!(n.kind, NodeKind::Element(_)) {
                    return Some(NodeId(here as u32));
                }
            }
            None
        })
    }

    /// The parent element of `node`, `None` for the document element and nodes outside it.
    pub fn parent(&self, node: NodeId) -> Option<NodeId> {
        let parent = self.nodes.get(node.0 as usize)?.parent;
        (parent != NO_PARENT).then_some(NodeId(parent))
    }

    /// True when `node` is an element.
    pub fn is_element(&self, node: NodeId) -> bool {
        self.element(node).is_some()
    }

    /// The qualified name of element `node` as written, e.g. `ds:Signature`.
    pub fn name(&self, node: NodeId) -> Option<&'a str> {
        self.element(node).map(|e| self.slice(e.name))
    }

    /// The local part of element `node`'s name.
    pub fn local_name(&self, node: NodeId) -> Option<&'a str> {
        self.element(node)
            .map(|e| local_part(self.slice(e.name), e.prefix_len))
    }

    /// The namespace URI of element `node`, empty when it is in no namespace.
    pub fn namespace(&self, node: NodeId) -> Option<&str> {
        self.element(node).map(|e| self.namespace_uri(e.namespace))
    }

    /// The decoded value of the attribute of element `node` with namespace URI `namespace`
    /// (empty for none) and local name `local`.
    pub fn attribute(&self, node: NodeId, namespace: &str, local: &str) -> Option<Cow<'a, str>> {
        let element = self.element(node)?;
        self.attributes_of(element)
            .iter()
            .find(|a| {
                local_part(self.slice(a.name), a.prefix_len) == local
                    && self.namespace_uri(a.namespace) == namespace
            })
            .map(|a| escape::decode_attribute(self.slice(a.value)))
    }

    /// The decoded character data of `node` and its descendants (XPath `string()`).
    pub fn text(&self, node: NodeId) -> String {
        let Some(n) = self.nodes.get(node.0 as usize) else {
            return String::new();
        };
        let mut out = String::new();
        for n in self
            .nodes
            .get(node.0 as usize..n.end as usize)
            .unwrap_or(&[])
        {
            match n.kind {
                NodeKind::Text(span) => out.push_str(&escape::decode_text(self.slice(span))),
                NodeKind::CData(span) => {
                    out.push_str(&escape::normalize_line_ends(self.slice(span)))
                }
                _ => {}
            }
        }
        out
    }

    /// The attributes of element `node` in document order: namespace URI (empty for none),
    /// local name and decoded value. Namespace declarations are not attributes.
    pub fn attributes(
        &self,
        node: NodeId,
    ) -> impl Iterator<Item = (&str, &'a str, Cow<'a, str>)> + '_ {
        let attributes = self
            .element(node)
            .map_or(&[][..], |e| self.attributes_of(e));
        attributes.iter().map(|a| {
            (
                self.namespace_uri(a.namespace),
                local_part(self.slice(a.name), a.prefix_len),
                escape::decode_attribute(self.slice(a.value)),
            )
        })
    }

    /// The nodes directly inside element `node`, in document order (what a schema validator
    /// looks at: child elements, character data, CDATA sections; comments and processing
    /// instructions only as such).
    pub fn children(&self, node: NodeId) -> impl Iterator<Item = Child<'a>> + '_ {
        let start = node.0 as usize + 1;
        let end = self
            .nodes
            .get(node.0 as usize)
            .filter(|n| matches!(n.kind, NodeKind::Element(_)))
            .map_or(start, |n| n.end as usize);
        let mut next = start;
        std::iter::from_fn(move || {
            if next >= end {
                return None;
            }
            let here = next;
            let n = self.nodes.get(here)?;
            next = (n.end as usize).max(here + 1);
            Some(match n.kind {
                NodeKind::Element(_) => Child::Element(NodeId(here as u32)),
                NodeKind::Text(span) => Child::Text(escape::decode_text(self.slice(span))),
                NodeKind::CData(span) => {
                    Child::CData(escape::normalize_line_ends(self.slice(span)))
                }
                NodeKind::Comment(_) => Child::Comment,
                NodeKind::Pi { .. } => Child::ProcessingInstruction,
            })
        })
    }

    /// The first element, in document order, whose attribute `Id`, `ID`, `id` or `xml:id` has
    /// value `id` (what XMLDSig same-document references such as `#xyz` point at; no DTD is read,
    /// so these are the attribute names taken as IDs).
    pub fn element_by_id(&self, id: &str) -> Option<NodeId> {
        self.elements().find(|&e| {
            ID_ATTRIBUTES
                .iter()
                .any(|&(namespace, name)| self.attribute(e, namespace, name).as_deref() == Some(id))
        })
    }

    /// The elements below `node` (not `node` itself), in document order.
    pub fn descendants(&self, node: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        let end = self.nodes.get(node.0 as usize).map_or(node.0, |n| n.end);
        (node.0 + 1..end)
            .map(NodeId)
            .filter(|&n| self.is_element(n))
    }

    /// The namespace URI `prefix` is bound to in the scope of element `node` (`""` for the
    /// default namespace); `None` when it is not bound there.
    pub fn namespace_in_scope(&self, node: NodeId, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some(XML_NAMESPACE);
        }
        let mut at = Some(node);
        while let Some(n) = at {
            let element = self.element(n)?;
            if let Some(d) = self
                .declarations_of(element)
                .iter()
                .find(|d| d.prefix == prefix)
            {
                return (!d.uri.is_empty()).then_some(d.uri.as_ref());
            }
            at = self.parent(n);
        }
        None
    }

    /// Where new content goes at the end of element `node`, as a byte offset into
    /// [`Document::source`]: before its end tag, or, for an empty-element tag `<a/>`, at its `/>`.
    pub fn content_end(&self, node: NodeId) -> Option<ContentEnd> {
        let element = self.element(node)?;
        let start = (element.name.start as usize).checked_sub(1)?;
        // The document is well-formed: the element's end is where its depth returns to zero.
        let mut reader = quick_xml::Reader::from_str(self.text.get(start..)?);
        let mut depth = 0usize;
        loop {
            let before = reader.buffer_position() as usize;
            match reader.read_event().ok()? {
                Event::Start(_) => depth += 1,
                Event::End(_) => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(ContentEnd::BeforeEndTag(start + before));
                    }
                }
                Event::Empty(_) if depth == 0 => {
                    let after = reader.buffer_position() as usize;
                    return Some(ContentEnd::EmptyElement(start + after.checked_sub(2)?));
                }
                Event::Eof => return None,
                _ => {}
            }
        }
    }

    /// The stored element `node`, `None` when it is not an element (for the canonicalizer).
    #[doc(hidden)]
    pub fn element(&self, node: NodeId) -> Option<&Element> {
        match &self.nodes.get(node.0 as usize)?.kind {
            NodeKind::Element(e) => Some(e),
            _ => None,
        }
    }

    /// The text of `span` as written (for the canonicalizer).
    #[doc(hidden)]
    pub fn slice(&self, span: Span) -> &'a str {
        self.text.get(span.range()).unwrap_or("")
    }

    /// The stored attributes of `element` (for the canonicalizer).
    #[doc(hidden)]
    pub fn attributes_of(&self, element: &Element) -> &[Attribute] {
        self.attributes
            .get(element.attributes.range())
            .unwrap_or(&[])
    }

    /// The namespace declarations of `element` (for the canonicalizer).
    #[doc(hidden)]
    pub fn declarations_of(&self, element: &Element) -> &[Declaration<'a>] {
        self.declarations
            .get(element.declarations.range())
            .unwrap_or(&[])
    }

    /// The URI of `namespace` (for the canonicalizer).
    #[doc(hidden)]
    pub fn namespace_uri(&self, namespace: Namespace) -> &str {
        namespace_uri(&self.declarations, namespace)
    }
}

/// The URI of `namespace`, given the document's declarations so far.
pub(crate) fn namespace_uri<'d>(
    declarations: &'d [Declaration<'_>],
    namespace: Namespace,
) -> &'d str {
    match namespace {
        Namespace::None => "",
        Namespace::Xml => XML_NAMESPACE,
        Namespace::Declared(i) => declarations.get(i as usize).map_or("", |d| d.uri.as_ref()),
    }
}

/// The local part of qualified name `name` whose prefix is `prefix_len` bytes long.
#[doc(hidden)]
pub fn local_part(name: &str, prefix_len: u32) -> &str {
    if prefix_len == 0 {
        name
    } else {
        name.get(prefix_len as usize + 1..).unwrap_or(name)
    }
}
