//! The canonical serialiser: one pass over the nodes in document order, writing straight into the
//! output buffer. Scratch lists for an element's namespaces and attributes are reused from element
//! to element, so nothing is allocated per node.

use crate::c14n::{Algorithm, Method};
use mubadile_xml_tree::raw::{
    Element, NO_PARENT, Namespace, NodeKind, Source, local_part, write_escaped,
};
use mubadile_xml_tree::{Document, NodeId, XmlError};

pub(super) struct Writer<'d, 'a, 'o> {
    doc: &'d Document<'a>,
    algorithm: Algorithm,
    /// The InclusiveNamespaces PrefixList, `#default` written as the empty prefix.
    inclusive_prefixes: Vec<&'d str>,
    out: &'o mut Vec<u8>,
    /// Namespace declarations written by the open output elements, innermost last.
    rendered: Vec<(&'d str, &'d str)>,
    /// Scratch: the namespace declarations of the element being written.
    namespaces: Vec<(&'d str, &'d str)>,
    /// Scratch: the attributes of the element being written.
    attributes: Vec<OutputAttribute<'d>>,
}

#[derive(Clone, Copy)]
struct OutputAttribute<'d> {
    namespace: &'d str,
    local: &'d str,
    name: &'d str,
    /// The value as written in the document.
    value: &'d str,
}

/// An element whose end tag is still to be written.
struct Open<'d> {
    end: u32,
    name: &'d str,
    rendered_mark: usize,
}

impl<'d, 'a, 'o> Writer<'d, 'a, 'o> {
    pub(super) fn new(
        doc: &'d Document<'a>,
        algorithm: Algorithm,
        inclusive_prefixes: &[&'d str],
        out: &'o mut Vec<u8>,
    ) -> Self {
        Writer {
            doc,
            algorithm,
            inclusive_prefixes: inclusive_prefixes
                .iter()
                .map(|&p| if p == "#default" { "" } else { p })
                .collect(),
            out,
            rendered: Vec::new(),
            namespaces: Vec::new(),
            attributes: Vec::new(),
        }
    }

    pub(super) fn write(
        mut self,
        apex: Option<NodeId>,
        excluded: Option<NodeId>,
        also_excluded: &[NodeId],
    ) -> Result<(), XmlError> {
        let doc = self.doc;
        let nodes = doc.nodes();
        let (start, end) = match apex {
            Some(apex) => (apex.0, nodes.get(apex.0 as usize).map_or(apex.0, |n| n.end)),
            None => (0, nodes.len() as u32),
        };
        let excluded = excluded.map(|e| e.0);
        let mut open: Vec<Open<'d>> = Vec::new();
        let mut i = start;
        while i < end {
            while let Some(top) = open.last()
                && top.end <= i
            {
                self.end_tag(top.name, top.rendered_mark);
                open.pop();
            }
            let Some(node) = nodes.get(i as usize) else {
                break;
            };
            if Some(i) == excluded || also_excluded.contains(&NodeId(i)) {
                i = node.end.max(i + 1);
                continue;
            }
            let outside = node.parent == NO_PARENT;
            match &node.kind {
                NodeKind::Element(element) => {
                    let rendered_mark = self.rendered.len();
                    self.start_tag(NodeId(i), element, Some(NodeId(i)) == apex)?;
                    open.push(Open {
                        end: node.end,
                        name: doc.slice(element.name),
                        rendered_mark,
                    });
                }
                NodeKind::Text(span) if !outside => {
                    write_escaped(self.out, doc.slice(*span), Source::Text);
                }
                NodeKind::CData(span) => write_escaped(self.out, doc.slice(*span), Source::CData),
                NodeKind::Text(_) => {}
                NodeKind::Comment(span) => {
                    if self.algorithm.with_comments {
                        self.before_outside(outside, i);
                        self.out.extend_from_slice(b"<!--");
                        write_escaped(self.out, doc.slice(*span), Source::Markup);
                        self.out.extend_from_slice(b"-->");
                        self.after_outside(outside, i);
                    }
                }
                NodeKind::Pi { target, data } => {
                    self.before_outside(outside, i);
                    self.out.extend_from_slice(b"<?");
                    self.out.extend_from_slice(doc.slice(*target).as_bytes());
                    let data = doc.slice(*data);
                    if !data.is_empty() {
                        self.out.push(b' ');
                        write_escaped(self.out, data, Source::Markup);
                    }
                    self.out.extend_from_slice(b"?>");
                    self.after_outside(outside, i);
                }
            }
            i += 1;
        }
        while let Some(top) = open.pop() {
            self.end_tag(top.name, top.rendered_mark);
        }
        Ok(())
    }

    /// C14N 1.0 section 2.3, root node: a comment or PI after the document element is preceded by
    /// a line feed.
    fn before_outside(&mut self, outside: bool, node: u32) {
        if outside && node > self.doc.root().0 {
            self.out.push(b'\n');
        }
    }

    /// ... and one before the document element is followed by one.
    fn after_outside(&mut self, outside: bool, node: u32) {
        if outside && node < self.doc.root().0 {
            self.out.push(b'\n');
        }
    }

    fn start_tag(&mut self, id: NodeId, element: &Element, is_apex: bool) -> Result<(), XmlError> {
        let doc = self.doc;
        let name = doc.slice(element.name);
        for declaration in doc.declarations_of(element) {
            if is_relative(&declaration.uri) {
                return Err(XmlError::RelativeNamespace {
                    element: name.into(),
                    uri: declaration.uri.to_string(),
                });
            }
        }
        self.out.push(b'<');
        self.out.extend_from_slice(name.as_bytes());

        self.namespaces.clear();
        match self.algorithm.method {
            Method::Inclusive10 | Method::Inclusive11 => {
                if is_apex {
                    self.collect_in_scope(id);
                } else {
                    for declaration in doc.declarations_of(element) {
                        self.namespaces.push((declaration.prefix, &declaration.uri));
                    }
                }
            }
            Method::Exclusive10 => self.collect_visibly_used(id, element),
        }
        let rendered = &self.rendered;
        self.namespaces.retain(|&(prefix, uri)| {
            if prefix == "xml" {
                return false;
            }
            match rendered.iter().rev().find(|(p, _)| *p == prefix) {
                Some(&(_, current)) => current != uri,
                // Nothing rendered above: an empty default namespace is already in effect.
                None => !uri.is_empty(),
            }
        });
        self.namespaces.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for &(prefix, uri) in &self.namespaces {
            self.out.extend_from_slice(b" xmlns");
            if !prefix.is_empty() {
                self.out.push(b':');
                self.out.extend_from_slice(prefix.as_bytes());
            }
            self.out.extend_from_slice(b"=\"");
            write_escaped(self.out, uri, Source::DecodedAttribute);
            self.out.push(b'"');
        }
        self.rendered.extend_from_slice(&self.namespaces);

        self.attributes.clear();
        for attribute in doc.attributes_of(element) {
            let name = doc.slice(attribute.name);
            self.attributes.push(OutputAttribute {
                namespace: doc.namespace_uri(attribute.namespace),
                local: local_part(name, attribute.prefix_len),
                name,
                value: doc.slice(attribute.value),
            });
        }
        if is_apex && self.algorithm.method != Method::Exclusive10 {
            self.inherit_xml_attributes(id);
        }
        if self.attributes.len() > 1 {
            self.attributes
                .sort_unstable_by(|a, b| (a.namespace, a.local).cmp(&(b.namespace, b.local)));
        }
        for attribute in &self.attributes {
            self.out.push(b' ');
            self.out.extend_from_slice(attribute.name.as_bytes());
            self.out.extend_from_slice(b"=\"");
            write_escaped(self.out, attribute.value, Source::Attribute);
            self.out.push(b'"');
        }
        self.out.push(b'>');
        Ok(())
    }

    fn end_tag(&mut self, name: &str, rendered_mark: usize) {
        self.out.extend_from_slice(b"</");
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(b'>');
        self.rendered.truncate(rendered_mark);
    }

    /// Inclusive methods at the apex: every namespace in scope, the innermost declaration of each
    /// prefix winning.
    fn collect_in_scope(&mut self, id: NodeId) {
        let doc = self.doc;
        let mut at = Some(id);
        while let Some(node) = at {
            if let Some(element) = doc.element(node) {
                for declaration in doc.declarations_of(element) {
                    if !self
                        .namespaces
                        .iter()
                        .any(|(p, _)| *p == declaration.prefix)
                    {
                        self.namespaces.push((declaration.prefix, &declaration.uri));
                    }
                }
            }
            at = doc.parent(node);
        }
    }

    /// Exclusive C14N section 3: the namespaces the element visibly uses (its own prefix, or the
    /// default namespace, and its attributes' prefixes), plus those of the PrefixList in scope.
    fn collect_visibly_used(&mut self, id: NodeId, element: &Element) {
        let doc = self.doc;
        let name = doc.slice(element.name);
        let prefix = name.get(..element.prefix_len as usize).unwrap_or("");
        self.namespaces
            .push((prefix, doc.namespace_uri(element.namespace)));
        for attribute in doc.attributes_of(element) {
            if attribute.prefix_len == 0 || attribute.namespace == Namespace::Xml {
                continue;
            }
            let name = doc.slice(attribute.name);
            let prefix = name.get(..attribute.prefix_len as usize).unwrap_or("");
            if !self.namespaces.iter().any(|(p, _)| *p == prefix) {
                self.namespaces
                    .push((prefix, doc.namespace_uri(attribute.namespace)));
            }
        }
        for index in 0..self.inclusive_prefixes.len() {
            let Some(&prefix) = self.inclusive_prefixes.get(index) else {
                continue;
            };
            if self.namespaces.iter().any(|(p, _)| *p == prefix) {
                continue;
            }
            match self.in_scope(id, prefix) {
                Some(uri) => self.namespaces.push((prefix, uri)),
                None if prefix.is_empty() => self.namespaces.push(("", "")),
                None => {}
            }
        }
    }

    /// The namespace URI bound to `prefix` at element `id`.
    fn in_scope(&self, id: NodeId, prefix: &str) -> Option<&'d str> {
        let doc = self.doc;
        let mut at = Some(id);
        while let Some(node) = at {
            if let Some(element) = doc.element(node)
                && let Some(declaration) = doc
                    .declarations_of(element)
                    .iter()
                    .find(|d| d.prefix == prefix)
            {
                return Some(&declaration.uri);
            }
            at = doc.parent(node);
        }
        None
    }

    /// C14N 1.0 section 2.4 (and 1.1 section 2.4): the apex of a subset takes the `xml:*`
    /// attributes of its ancestors that it does not carry itself, the nearest winning.
    fn inherit_xml_attributes(&mut self, id: NodeId) {
        let doc = self.doc;
        let mut at = doc.parent(id);
        while let Some(node) = at {
            if let Some(element) = doc.element(node) {
                for attribute in doc.attributes_of(element) {
                    if attribute.namespace != Namespace::Xml {
                        continue;
                    }
                    let name = doc.slice(attribute.name);
                    let local = local_part(name, attribute.prefix_len);
                    // C14N 1.1: xml:id is not inherited; xml:base not either (see the module
                    // documentation).
                    if self.algorithm.method == Method::Inclusive11
                        && matches!(local, "id" | "base")
                    {
                        continue;
                    }
                    if !self
                        .attributes
                        .iter()
                        .any(|a| a.namespace == crate::XML_NAMESPACE && a.local == local)
                    {
                        self.attributes.push(OutputAttribute {
                            namespace: crate::XML_NAMESPACE,
                            local,
                            name,
                            value: doc.slice(attribute.value),
                        });
                    }
                }
            }
            at = doc.parent(node);
        }
    }
}

/// True when `uri` is a relative URI reference (no scheme), as libxml2 decides.
fn is_relative(uri: &str) -> bool {
    if uri.is_empty() {
        return false;
    }
    match uri.split_once(':') {
        Some((scheme, _)) => {
            let mut chars = scheme.chars();
            !(chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
        }
        None => true,
    }
}
