//! The safe XML reader: quick-xml's tokenizer plus the checks it leaves to its caller.
//!
//! What it refuses, and why:
//! - any document type declaration: DTDs are never processed, so no entity can be defined, none
//!   can expand ("billion laughs") and none can reach outside the document (XXE);
//! - any entity reference except `&lt; &gt; &amp; &apos; &quot;` and character references;
//! - input over [`MAX_INPUT_BYTES`], elements nested deeper than [`MAX_DEPTH`], elements with more
//!   than [`MAX_ATTRIBUTES`] attributes;
//! - anything not UTF-8, characters XML does not allow, and documents that are not well-formed or
//!   not namespace-well-formed (undeclared prefixes, `xmlns:p=""`, two attributes with one
//!   expanded name).
//!
//! Every error names what was found and where (byte offset, line and column).

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::declaration;
use crate::document::{
    Attribute, Declaration, Document, Element, NO_PARENT, Namespace, Node, NodeKind, Span,
    XML_NAMESPACE,
};
use crate::error::{Position, XmlError};
use crate::escape::{self, ReferenceError};

/// Largest input the reader accepts, in bytes (256 MiB): enough for any official document with
/// embedded attachments, small enough that a parsed document (about 1.5 times its size in memory)
/// cannot exhaust the server.
pub const MAX_INPUT_BYTES: usize = 256 * 1024 * 1024;

/// Deepest element nesting accepted. XAdES signatures nest about a dozen levels; 256 leaves room
/// for any real document while bounding the reader's stacks.
pub const MAX_DEPTH: usize = 256;

/// Most attributes (namespace declarations included) accepted on one element: duplicate checks
/// are quadratic in this number.
pub const MAX_ATTRIBUTES: usize = 256;

/// The namespace reserved for namespace declarations themselves.
const XMLNS_NAMESPACE: &str = "http://www.w3.org/2000/xmlns/";

/// Reads `input` into a [`Document`], refusing anything unsafe or malformed with a clear error.
pub fn parse(input: &[u8]) -> Result<Document<'_>, XmlError> {
    if input.len() > MAX_INPUT_BYTES {
        return Err(XmlError::TooLarge {
            size: input.len(),
            limit: MAX_INPUT_BYTES,
        });
    }
    let (base, body) = strip_byte_order_mark(input)?;
    let text = std::str::from_utf8(body).map_err(|e| XmlError::Encoding {
        position: Position::locate(
            std::str::from_utf8(&body[..e.valid_up_to()]).unwrap_or(""),
            base,
            e.valid_up_to(),
        ),
        found: format!(
            "byte 0x{:02X} does not continue a UTF-8 character",
            body.get(e.valid_up_to()).copied().unwrap_or(0)
        ),
    })?;
    if let Some(offset) = first_forbidden_character(text) {
        let c = text
            .get(offset..)
            .and_then(|s| s.chars().next())
            .unwrap_or('\0');
        return Err(XmlError::Malformed {
            position: Position::locate(text, base, offset),
            message: format!("character U+{:04X} is not allowed in XML", c as u32),
        });
    }
    Builder::new(text, base).build()
}

/// Skips a UTF-8 byte order mark; refuses UTF-16 and UTF-32 ones with a clear error.
fn strip_byte_order_mark(input: &[u8]) -> Result<(usize, &[u8]), XmlError> {
    if let Some(rest) = input.strip_prefix(b"\xEF\xBB\xBF") {
        return Ok((3, rest));
    }
    if input.starts_with(b"\xFE\xFF") || input.starts_with(b"\xFF\xFE") {
        return Err(XmlError::Encoding {
            position: Position {
                offset: 0,
                line: 1,
                column: 1,
            },
            found: "a UTF-16 byte order mark".into(),
        });
    }
    Ok((0, input))
}

/// The offset of the first character outside XML 1.0 production [2] Char: C0 controls other than
/// TAB, LF and CR, and U+FFFE, U+FFFF (UTF-8 cannot hold surrogates).
fn first_forbidden_character(text: &str) -> Option<usize> {
    // Most input has none: a branch-free test per 64-byte chunk (which the compiler vectorises)
    // flags chunks with a control character or a 0xEF lead byte, and only those are looked at.
    const CHUNK: usize = 64;
    let bytes = text.as_bytes();
    let suspect = |b: u8| (b < 0x20) & (b != b'\t') & (b != b'\n') & (b != b'\r') | (b == 0xEF);
    for (n, chunk) in bytes.chunks(CHUNK).enumerate() {
        if !chunk.iter().fold(false, |any, &b| any | suspect(b)) {
            continue;
        }
        let base = n * CHUNK;
        for (i, &b) in chunk.iter().enumerate() {
            let at = base + i;
            let forbidden = (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
                || (b == 0xEF
                    && bytes.get(at + 1) == Some(&0xBF)
                    && matches!(bytes.get(at + 2), Some(0xBE | 0xBF)));
            if forbidden {
                return Some(at);
            }
        }
    }
    None
}

/// An element being read: its node and where its namespace scope starts.
struct Open {
    node: u32,
    scope_mark: usize,
}

struct Builder<'a> {
    text: &'a str,
    base: usize,
    nodes: Vec<Node>,
    attributes: Vec<Attribute>,
    declarations: Vec<Declaration<'a>>,
    /// In-scope prefixes, innermost last: (prefix, declaration index).
    scope: Vec<(&'a str, u32)>,
    open: Vec<Open>,
    root: Option<u32>,
    /// Scratch: the attribute names of the element being read.
    keys: Vec<&'a str>,
}

impl<'a> Builder<'a> {
    fn new(text: &'a str, base: usize) -> Self {
        // Room for one node per 24 bytes, which real documents rarely exceed, so the lists
        // seldom move; capacity never touched costs no memory.
        let nodes = text.len() / 24;
        Builder {
            text,
            base,
            nodes: Vec::with_capacity(nodes),
            attributes: Vec::with_capacity(nodes / 2),
            declarations: Vec::new(),
            scope: Vec::new(),
            open: Vec::new(),
            root: None,
            keys: Vec::new(),
        }
    }

    fn build(mut self) -> Result<Document<'a>, XmlError> {
        let mut reader = Reader::from_str(self.text);
        let config = reader.config_mut();
        config.check_comments = true;
        config.check_end_names = true;
        config.expand_empty_elements = false;
        config.trim_text(false);
        loop {
            let start = reader.buffer_position() as usize;
            let event = reader.read_event().map_err(|e| XmlError::Malformed {
                position: self.position(reader.error_position() as usize),
                message: e.to_string(),
            })?;
            let end = reader.buffer_position() as usize;
            match event {
                Event::Decl(_) => {
                    if start != 0 {
                        return Err(self.malformed(start, "an XML declaration may only come first"));
                    }
                    let raw = self.text.get(start..end).unwrap_or("");
                    let declared = declaration::read(raw).map_err(|m| self.malformed(start, m))?;
                    if declared.version != "1.0" {
                        return Err(self.malformed(
                            start,
                            format!(
                                "XML version {} is not accepted; only XML 1.0 is",
                                declared.version
                            ),
                        ));
                    }
                    if let Some(encoding) = declared.encoding
                        && !encoding.eq_ignore_ascii_case("utf-8")
                    {
                        return Err(XmlError::Encoding {
                            position: self.position(start),
                            found: format!("the declaration says encoding=\"{encoding}\""),
                        });
                    }
                }
                Event::DocType(doctype) => {
                    let content: &str = &doctype;
                    let shown: String = content.trim().chars().take(60).collect();
                    return Err(XmlError::Doctype {
                        position: self.position(start),
                        found: format!("<!DOCTYPE {shown}"),
                    });
                }
                Event::Start(element) => self.start_element(&element, start, false)?,
                Event::Empty(element) => self.start_element(&element, start, true)?,
                Event::End(_) => self.end_element(),
                Event::Text(text) => {
                    let raw: &str = &text;
                    if self.open.is_empty() {
                        if let Some(i) = raw.find(|c: char| !matches!(c, ' ' | '\t' | '\n' | '\r'))
                        {
                            return Err(
                                self.malformed(start + i, "text outside the document element")
                            );
                        }
                    } else {
                        if let Some(i) = raw
                            .as_bytes()
                            .contains(&b']')
                            .then(|| raw.find("]]>"))
                            .flatten()
                        {
                            return Err(self.malformed(start + i, "\"]]>\" in character data"));
                        }
                        self.push_text(start, end);
                    }
                }
                Event::GeneralRef(reference) => {
                    if self.open.is_empty() {
                        return Err(
                            self.malformed(start, "a reference outside the document element")
                        );
                    }
                    let name: &str = &reference;
                    let after_amp = self.text.get(start + 1..).unwrap_or("");
                    escape::reference(after_amp)
                        .map_err(|e| self.reference_error(start, e, name))?;
                    self.push_text(start, end);
                }
                Event::CData(cdata) => {
                    if self.open.is_empty() {
                        return Err(
                            self.malformed(start, "a CDATA section outside the document element")
                        );
                    }
                    let span = self.span_of(&cdata, start)?;
                    self.push(NodeKind::CData(span));
                }
                Event::Comment(comment) => {
                    let span = self.span_of(&comment, start)?;
                    self.push(NodeKind::Comment(span));
                }
                Event::PI(pi) => {
                    let target = pi.target();
                    if target.eq_ignore_ascii_case("xml") {
                        return Err(self.malformed(
                            start,
                            "a processing instruction named \"xml\" (an XML declaration may only come first)",
                        ));
                    }
                    check_name(target).map_err(|m| self.malformed(start, m))?;
                    let target = self.span_of(target, start)?;
                    let data = pi.content().trim_start_matches([' ', '\t', '\n', '\r']);
                    let data = self.span_of(data, start)?;
                    self.push(NodeKind::Pi { target, data });
                }
                Event::Eof => break,
            }
        }
        if let Some(open) = self.open.last() {
            let name = match &self.nodes.get(open.node as usize).map(|n| &n.kind) {
                Some(NodeKind::Element(e)) => self.text.get(e.name.range()).unwrap_or(""),
                _ => "",
            };
            return Err(self.malformed(self.text.len(), format!("element <{name}> is not closed")));
        }
        let Some(root) = self.root else {
            return Err(self.malformed(self.text.len(), "there is no document element"));
        };
        Ok(Document {
            text: self.text,
            nodes: self.nodes,
            attributes: self.attributes,
            declarations: self.declarations,
            root,
        })
    }

    fn start_element(
        &mut self,
        element: &BytesStart<'_>,
        start: usize,
        empty: bool,
    ) -> Result<(), XmlError> {
        if self.open.is_empty() && self.root.is_some() {
            return Err(self.malformed(start, "a second document element"));
        }
        if self.open.len() >= MAX_DEPTH {
            return Err(XmlError::TooDeep {
                position: self.position(start),
                limit: MAX_DEPTH,
            });
        }
        let name_str = element.name().0;
        let name = self.span_of(name_str, start)?;
        let prefix_len = check_qname(name_str).map_err(|m| self.malformed(start, m))?;

        let scope_mark = self.scope.len();
        let first_declaration = self.declarations.len();
        let first_attribute = self.attributes.len();
        let mut count = 0;
        self.keys.clear();
        let mut attributes = element.attributes();
        // Duplicates are checked below without quick-xml's per-element allocation.
        attributes.with_checks(false);
        for attribute in attributes {
            let attribute = attribute.map_err(|e| self.malformed(start, e))?;
            count += 1;
            if count > MAX_ATTRIBUTES {
                return Err(XmlError::TooManyAttributes {
                    position: self.position(start),
                    limit: MAX_ATTRIBUTES,
                });
            }
            let key = attribute.key.0;
            let key_span = self.span_of(key, start)?;
            self.keys
                .push(self.text.get(key_span.range()).unwrap_or(""));
            let attribute_prefix_len =
                check_qname(key).map_err(|m| self.malformed(start, m))? as usize;
            let value = match &attribute.value {
                Cow::Borrowed(value) => self.span_of(value, start)?,
                Cow::Owned(_) => {
                    return Err(self.malformed(start, "an attribute value was not read in place"));
                }
            };
            // XML 1.0 production [40]: white space between attributes (quick-xml lets
            // `a="1"b="2"` through).
            let after_quote = self.text.as_bytes().get(value.end as usize + 1);
            if !matches!(
                after_quote,
                Some(b' ' | b'\t' | b'\r' | b'\n' | b'/' | b'>')
            ) {
                return Err(self.malformed(
                    value.end as usize + 1,
                    format!("white space is missing after attribute {key}"),
                ));
            }
            let raw = self.text.get(value.range()).unwrap_or("");
            escape::check_attribute_value(raw)
                .map_err(|(i, e)| self.reference_error(value.start as usize + i, e, key))?;
            let declared = if key == "xmlns" {
                Some("")
            } else {
                key.strip_prefix("xmlns:")
            };
            if let Some(prefix) = declared {
                let prefix = self.span_of(prefix, start)?;
                let prefix = self.text.get(prefix.range()).unwrap_or("");
                self.declare(prefix, escape::decode_attribute(raw), start)?;
            } else {
                let name = self.span_of(key, start)?;
                self.attributes.push(Attribute {
                    name,
                    prefix_len: attribute_prefix_len as u32,
                    namespace: Namespace::None,
                    value,
                });
            }
        }

        // Prefixes resolve against every declaration of the element, wherever it is written.
        let namespace = self.resolve(name_str, prefix_len, true, start)?;
        for i in first_attribute..self.attributes.len() {
            let Some(attribute) = self.attributes.get(i) else {
                continue;
            };
            if attribute.prefix_len == 0 {
                continue;
            }
            let key = self.text.get(attribute.name.range()).unwrap_or("");
            let namespace = self.resolve(key, attribute.prefix_len, false, start)?;
            if let Some(attribute) = self.attributes.get_mut(i) {
                attribute.namespace = namespace;
            }
        }
        self.check_unique_names(first_attribute, start)?;

        let node = self.nodes.len() as u32;
        self.push(NodeKind::Element(Element {
            name,
            prefix_len,
            namespace,
            attributes: Span {
                start: first_attribute as u32,
                end: self.attributes.len() as u32,
            },
            declarations: Span {
                start: first_declaration as u32,
                end: self.declarations.len() as u32,
            },
        }));
        if self.open.is_empty() {
            self.root = Some(node);
        }
        if empty {
            self.scope.truncate(scope_mark);
        } else {
            self.open.push(Open { node, scope_mark });
        }
        Ok(())
    }

    fn end_element(&mut self) {
        if let Some(open) = self.open.pop() {
            let end = self.nodes.len() as u32;
            if let Some(node) = self.nodes.get_mut(open.node as usize) {
                node.end = end;
            }
            self.scope.truncate(open.scope_mark);
        }
    }

    /// Records `xmlns:prefix="uri"` (or `xmlns="uri"` for an empty prefix).
    fn declare(&mut self, prefix: &'a str, uri: Cow<'a, str>, at: usize) -> Result<(), XmlError> {
        let problem = if prefix == "xmlns" {
            Some("the prefix xmlns cannot be declared".to_owned())
        } else if prefix == "xml" && uri != XML_NAMESPACE {
            Some(format!(
                "the prefix xml is bound to {uri:?}; it can only be bound to {XML_NAMESPACE}"
            ))
        } else if prefix != "xml" && uri == XML_NAMESPACE {
            Some(format!(
                "{XML_NAMESPACE} can only be bound to the prefix xml"
            ))
        } else if uri == XMLNS_NAMESPACE {
            Some(format!("{XMLNS_NAMESPACE} cannot be declared"))
        } else if !prefix.is_empty() && uri.is_empty() {
            Some(format!(
                "xmlns:{prefix}=\"\" undeclares a prefix, which XML 1.0 namespaces do not allow"
            ))
        } else {
            first_non_uri_character(&uri).map(|c| {
                format!(
                    "the namespace name {uri:?} is not a URI reference ({c:?} is not allowed; percent-encode it)"
                )
            })
        };
        if let Some(message) = problem {
            return Err(XmlError::Namespace {
                position: self.position(at),
                message,
            });
        }
        let index = self.declarations.len() as u32;
        self.declarations.push(Declaration { prefix, uri });
        self.scope.push((prefix, index));
        Ok(())
    }

    /// The namespace of `name` (prefix `prefix_len` bytes long). Unprefixed attributes are in no
    /// namespace; unprefixed elements are in the default one.
    fn resolve(
        &self,
        name: &str,
        prefix_len: u32,
        is_element: bool,
        at: usize,
    ) -> Result<Namespace, XmlError> {
        let prefix = name.get(..prefix_len as usize).unwrap_or("");
        if prefix.is_empty() && !is_element {
            return Ok(Namespace::None);
        }
        match prefix {
            "xml" => return Ok(Namespace::Xml),
            "xmlns" => {
                return Err(XmlError::Namespace {
                    position: self.position(at),
                    message: format!("<{name}>: the prefix xmlns is reserved for declarations"),
                });
            }
            _ => {}
        }
        match self.scope.iter().rev().find(|(p, _)| *p == prefix) {
            Some(&(_, index)) => {
                let empty = self
                    .declarations
                    .get(index as usize)
                    .is_none_or(|d| d.uri.is_empty());
                Ok(if empty {
                    Namespace::None
                } else {
                    Namespace::Declared(index)
                })
            }
            None if prefix.is_empty() => Ok(Namespace::None),
            None => Err(XmlError::Namespace {
                position: self.position(at),
                message: format!("the prefix {prefix:?} of {name} is not declared"),
            }),
        }
    }

    /// XML 1.0 section 3.1 and Namespaces in XML 1.0 section 6.3: no two attributes of an
    /// element with the same name as written (`keys`), nor with the same namespace URI and local
    /// name under different prefixes. Without allocating for ordinary elements: small sets are
    /// compared pairwise.
    fn check_unique_names(&mut self, first: usize, at: usize) -> Result<(), XmlError> {
        if let Some(key) = first_duplicate(&mut self.keys) {
            return Err(self.malformed(at, format!("attribute {key} appears twice")));
        }
        let attributes = self.attributes.get(first..).unwrap_or(&[]);
        let expanded = |a: &Attribute| {
            let name = self.text.get(a.name.range()).unwrap_or("");
            (
                self.uri(a.namespace),
                crate::document::local_part(name, a.prefix_len),
            )
        };
        let prefixed = attributes.iter().filter(|a| a.prefix_len > 0);
        let duplicate = if prefixed.clone().nth(1).is_none() {
            None
        } else if attributes.len() <= PAIRWISE {
            prefixed.clone().enumerate().find_map(|(i, a)| {
                let name = expanded(a);
                prefixed
                    .clone()
                    .skip(i + 1)
                    .any(|b| expanded(b) == name)
                    .then_some(name)
            })
        } else {
            let mut names: Vec<(&str, &str)> = prefixed.map(expanded).collect();
            first_duplicate(&mut names)
        };
        match duplicate {
            Some((uri, local)) => Err(XmlError::Namespace {
                position: self.position(at),
                message: format!("two attributes named {{{uri}}}{local} on one element"),
            }),
            None => Ok(()),
        }
    }

    fn uri(&self, namespace: Namespace) -> &str {
        crate::document::namespace_uri(&self.declarations, namespace)
    }

    /// Adds character data `start..end` of the input, joining it to the text node just before
    /// when they touch (text and references arrive as separate events).
    fn push_text(&mut self, start: usize, end: usize) {
        if let Some(Node {
            kind: NodeKind::Text(span),
            ..
        }) = self.nodes.last_mut()
            && span.end as usize == start
        {
            span.end = end as u32;
            return;
        }
        self.push(NodeKind::Text(Span {
            start: start as u32,
            end: end as u32,
        }));
    }

    fn push(&mut self, kind: NodeKind) {
        let index = self.nodes.len() as u32;
        self.nodes.push(Node {
            kind,
            parent: self.open.last().map_or(NO_PARENT, |o| o.node),
            end: index + 1,
        });
    }

    /// The span of `part`, a slice quick-xml handed out from the input (its lifetime no longer
    /// says so, its address does).
    fn span_of(&self, part: &str, at: usize) -> Result<Span, XmlError> {
        let offset = (part.as_ptr() as usize).wrapping_sub(self.text.as_ptr() as usize);
        match offset.checked_add(part.len()) {
            Some(end) if end <= self.text.len() => Ok(Span {
                start: offset as u32,
                end: end as u32,
            }),
            // An empty part need not point into the input; where it is does not matter.
            _ if part.is_empty() => Ok(Span { start: 0, end: 0 }),
            _ => Err(self.malformed(at, "a name or value was not read in place")),
        }
    }

    fn reference_error(&self, at: usize, error: ReferenceError, context: &str) -> XmlError {
        match error {
            ReferenceError::UnknownEntity(name) => XmlError::UnknownEntity {
                name,
                position: self.position(at),
            },
            ReferenceError::Unterminated => self.malformed(
                at,
                format!("in {context:?}: & must start a reference ending in ';' (write &amp; for a plain &)"),
            ),
            ReferenceError::BadCharacter(what) => {
                self.malformed(at, format!("in {context:?}: {what} is not an allowed character"))
            }
        }
    }

    fn malformed(&self, at: usize, message: impl std::fmt::Display) -> XmlError {
        XmlError::Malformed {
            position: self.position(at),
            message: message.to_string(),
        }
    }

    fn position(&self, offset: usize) -> Position {
        Position::locate(self.text, self.base, offset)
    }
}

/// The first character of `uri` that a URI reference (RFC 3986) cannot hold, as written: Namespaces
/// in XML 1.0 names namespaces by URI references, and libxml2 refuses the others too. A `%` must
/// start a percent-encoded octet.
fn first_non_uri_character(uri: &str) -> Option<char> {
    let bytes = uri.as_bytes();
    uri.char_indices().find_map(|(i, c)| {
        let allowed = c.is_ascii_alphanumeric()
            || "-._~:/?#[]@!$&'()*+,;=".contains(c)
            || (c == '%'
                && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit));
        (!allowed).then_some(c)
    })
}

/// Up to this many attributes, duplicates are looked for pairwise; above, by sorting.
const PAIRWISE: usize = 16;

/// An item that occurs twice in `items` (which may be reordered).
fn first_duplicate<T: Ord + Copy>(items: &mut [T]) -> Option<T> {
    if items.len() <= PAIRWISE {
        return items
            .iter()
            .enumerate()
            .find(|&(i, a)| items.get(i + 1..).is_some_and(|rest| rest.contains(a)))
            .map(|(_, a)| *a);
    }
    items.sort_unstable();
    items.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
}

/// Checks a qualified name (`prefix:local` or `local`) and returns the prefix length.
fn check_qname(name: &str) -> Result<u32, String> {
    let (prefix, local) = match name.split_once(':') {
        Some((prefix, local)) => (prefix, local),
        None => ("", name),
    };
    if !prefix.is_empty() || name.contains(':') {
        check_name(prefix).map_err(|m| format!("{m} (in {name:?})"))?;
    }
    check_name(local).map_err(|m| format!("{m} (in {name:?})"))?;
    Ok(prefix.len() as u32)
}

/// Checks an NCName: not empty, no colon, ASCII characters only from the name characters.
fn check_name(name: &str) -> Result<(), String> {
    let bytes = name.as_bytes();
    let Some(&first) = bytes.first() else {
        return Err("an empty name".into());
    };
    if first.is_ascii() && !(first.is_ascii_alphabetic() || first == b'_') {
        return Err(format!("a name cannot start with {:?}", first as char));
    }
    // Non-ASCII characters are let through: the name-character classes beyond ASCII are not
    // checked.
    match bytes
        .iter()
        .find(|&&b| b.is_ascii() && !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')))
    {
        Some(&b) => Err(format!("{:?} cannot appear in a name", b as char)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(input: &str) -> XmlError {
        parse(input.as_bytes()).unwrap_err()
    }

    #[test]
    fn a_doctype_is_refused_naming_what_was_found() {
        let e = error("<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY x \"y\">]>\n<a>&x;</a>");
        let XmlError::Doctype { position, found } = &e else {
            panic!("{e}")
        };
        assert_eq!(
            (position.line, position.column, position.offset),
            (2, 1, 22)
        );
        assert!(found.starts_with("<!DOCTYPE a [<!ENTITY"), "{found}");
        assert!(e.to_string().contains("without a DOCTYPE"), "{e}");
    }

    #[test]
    fn billion_laughs_is_refused_before_any_expansion() {
        let mut bomb =
            String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n");
        for i in 1..10 {
            let previous = if i == 1 {
                "lol".to_owned()
            } else {
                format!("lol{}", i - 1)
            };
            bomb.push_str(&format!(
                " <!ENTITY lol{i} \"{}\">\n",
                format!("&{previous};").repeat(10)
            ));
        }
        bomb.push_str("]>\n<lolz>&lol9;</lolz>\n");
        assert!(matches!(error(&bomb), XmlError::Doctype { .. }));
    }

    #[test]
    fn external_entities_xxe_are_refused() {
        let xxe = "<?xml version=\"1.0\"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]><foo>&xxe;</foo>";
        assert!(matches!(error(xxe), XmlError::Doctype { .. }));
        let parameter =
            "<!DOCTYPE foo [<!ENTITY % p SYSTEM \"http://evil.example/x.dtd\"> %p;]><foo/>";
        assert!(matches!(error(parameter), XmlError::Doctype { .. }));
    }

    #[test]
    fn an_undefined_entity_without_a_dtd_is_named_with_its_line() {
        let e = error("<a>\n  &lol9;</a>");
        assert_eq!(
            e,
            XmlError::UnknownEntity {
                name: "lol9".into(),
                position: Position {
                    offset: 6,
                    line: 2,
                    column: 3
                }
            }
        );
        assert!(matches!(
            error("<a b='&ent;'/>"),
            XmlError::UnknownEntity { .. }
        ));
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_refused() {
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(matches!(
            error(&deep),
            XmlError::TooDeep {
                limit: MAX_DEPTH,
                ..
            }
        ));
        let fits = "<a>".repeat(MAX_DEPTH) + &"</a>".repeat(MAX_DEPTH);
        assert!(parse(fits.as_bytes()).is_ok());
    }

    #[test]
    fn input_over_the_size_limit_is_refused_before_reading() {
        let big = vec![b' '; MAX_INPUT_BYTES + 1];
        assert!(matches!(parse(&big), Err(XmlError::TooLarge { .. })));
    }

    #[test]
    fn not_well_formed_documents_get_a_position() {
        for (input, expected) in [
            ("<a><b></a>", "not well-formed"),
            ("<a></a><b/>", "second document element"),
            ("text<a/>", "text outside"),
            ("<a>x]]>y</a>", "]]>"),
            ("<a b='<'/>", "<"),
            ("<a>&amp</a>", "not closed"),
            ("<a>&#0;</a>", "not an allowed character"),
            ("<a>\u{1}</a>", "U+0001"),
            ("<a", "not well-formed"),
            ("<a>", "not closed"),
            ("", "no document element"),
            ("<a/><?xml version='1.0'?>", "XML declaration"),
            (
                "<?xml version='1.0' encoding='ISO-8859-1'?><a/>",
                "ISO-8859-1",
            ),
            ("<?xml version='1.1'?><a/>", "only XML 1.0"),
            ("<a b='1' b='2'/>", "not well-formed"),
            ("<1a/>", "cannot start"),
            // Regressions: quick-xml lets these through, libxml2 refuses them.
            (
                "<a b='1'c='2'/>",
                "white space is missing after attribute b",
            ),
            ("<?xml version='1.0' standalone<a/>?><a/>", "has no '='"),
            (
                "<?xml version='1.0'encoding='UTF-8'?><a/>",
                "white space is missing",
            ),
        ] {
            let e = error(input).to_string();
            assert!(e.contains(expected), "{input:?}: {e}");
        }
        assert!(matches!(
            parse(b"<a>\xFF</a>"),
            Err(XmlError::Encoding { .. })
        ));
        assert!(matches!(
            parse(b"\xFF\xFE<\0a\0/\0>\0"),
            Err(XmlError::Encoding { .. })
        ));
    }

    #[test]
    fn namespace_rules_are_enforced() {
        for (input, expected) in [
            ("<p:a/>", "prefix \"p\""),
            ("<a p:b='1'/>", "prefix \"p\""),
            ("<a xmlns:p=''/>", "undeclares"),
            ("<a xmlns:xml='urn:x'/>", "prefix xml"),
            (
                "<a xmlns:p='http://www.w3.org/XML/1998/namespace'/>",
                "only be bound",
            ),
            (
                "<a xmlns:p='urn:x' xmlns:q='urn:x' p:b='1' q:b='2'/>",
                "two attributes",
            ),
            ("<xmlns:a/>", "reserved"),
        ] {
            let e = error(input);
            assert!(
                matches!(e, XmlError::Namespace { .. }) && e.to_string().contains(expected),
                "{input:?}: {e}"
            );
        }
    }

    #[test]
    fn names_values_and_text_are_read_in_place() {
        let doc = parse(
            "\u{FEFF}<r xmlns='urn:d' xmlns:p='urn:p' p:x='1&amp;2' y=\"a\r\nb\"><p:c>t&lt;\r\nu<![CDATA[<&>]]></p:c></r>"
                .as_bytes(),
        )
        .unwrap();
        let root = doc.root();
        assert_eq!(doc.name(root), Some("r"));
        assert_eq!(doc.namespace(root), Some("urn:d"));
        assert_eq!(doc.attribute(root, "urn:p", "x").as_deref(), Some("1&2"));
        assert_eq!(doc.attribute(root, "", "y").as_deref(), Some("a b"));
        let child = doc.child_elements(root).next().unwrap();
        assert_eq!(doc.local_name(child), Some("c"));
        assert_eq!(doc.namespace(child), Some("urn:p"));
        assert_eq!(doc.text(child), "t<\nu<&>");
        assert_eq!(doc.parent(child), Some(root));
    }
}
