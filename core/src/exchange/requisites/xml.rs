//! `requisites.xml`: the requisites as the envelope carries them (EDE 3.1–3.2), written with
//! quick-xml and validated on receipt (EDE 5.1.1) against the platform's schema,
//! `docs/schemas/requisites.xsd`, which this module mirrors type by type: there is no XML Schema
//! validator to rely on in Rust, so [`SCHEMA`] restates the schema's content models and
//! [`SimpleType::check`] its types and patterns. A test runs `xmllint --schema` over a corpus of
//! good and defective documents and requires both to agree on each; change both together.
//!
//! The document is read with the safe XML reader (`mubadile-xml-tree`, the XML plugin's too): no
//! DTD (so no entity expansion and no external entities), UTF-8 only, bounded nesting; and here at
//! most [`MAX_BYTES`].

use std::collections::BTreeSet;
use std::fmt;

use chrono::NaiveDate;
use mubadile_xml_tree::{Child, Document, NodeId};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use super::{Addressee, OptionalRequisites, Requisites, VERSION};
use crate::exchange::directory::{OrganisationId, OrganisationRequisites};

/// The schema's target namespace.
pub const NAMESPACE: &str = "urn:mubadile:requisites:1";
/// The largest `requisites.xml` accepted; the schema's longest document is far smaller.
pub const MAX_BYTES: usize = 1024 * 1024;
/// The XML Schema instance namespace: `xsi:schemaLocation` is tolerated, as schema processors do.
const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Why a requisites document is defective: the element (as a path) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defect {
    /// The element at fault, e.g. `/Requisites/Sender/TaxId`; `/` for the document itself.
    pub element: String,
    /// What is wrong, in words the sender's administrator can act on.
    pub reason: String,
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.element, self.reason)
    }
}

/// Writes `requisites` as `requisites.xml`. Call [`Requisites::defects`] first: values the
/// schema refuses are written as they are, and the recipient refuses them (EDE 5.1.1).
pub fn write(requisites: &Requisites) -> Vec<u8> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing into a Vec cannot fail; the results are ignored for that reason only.
    let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let mut root = BytesStart::new("Requisites");
    root.push_attribute(("xmlns", NAMESPACE));
    root.push_attribute(("version", VERSION.to_string().as_str()));
    let _ = w.write_event(Event::Start(root));
    leaf(
        &mut w,
        "RegistrationNumber",
        &requisites.registration_number,
    );
    leaf(
        &mut w,
        "RegistrationDate",
        &requisites.registration_date.format("%Y-%m-%d").to_string(),
    );
    leaf(&mut w, "Kind", &requisites.kind);
    leaf(&mut w, "Title", &requisites.title);
    let sender = &requisites.sender;
    open(&mut w, "Sender");
    leaf(&mut w, "Id", &sender.id.0);
    leaf(&mut w, "Name", &sender.name);
    leaf(&mut w, "TaxId", &sender.tax_id);
    leaf(&mut w, "Address", &sender.address);
    if let Some(phone) = &sender.phone {
        leaf(&mut w, "Phone", phone);
    }
    leaf(&mut w, "Email", &sender.email);
    close(&mut w, "Sender");
    open(&mut w, "Addressees");
    for addressee in &requisites.addressees {
        open(&mut w, "Addressee");
        leaf(&mut w, "Id", &addressee.id.0);
        leaf(&mut w, "Name", &addressee.name);
        close(&mut w, "Addressee");
    }
    close(&mut w, "Addressees");
    let o = &requisites.optional;
    if *o != OptionalRequisites::default() {
        open(&mut w, "Optional");
        for (name, value) in [
            ("Phone", &o.phone),
            ("Fax", &o.fax),
            ("Email", &o.email),
            ("Approver", &o.approver),
            ("Executor", &o.executor),
            ("InReplyTo", &o.in_reply_to),
        ] {
            if let Some(value) = value {
                leaf(&mut w, name, value);
            }
        }
        close(&mut w, "Optional");
    }
    close(&mut w, "Requisites");
    let mut bytes = w.into_inner();
    bytes.push(b'\n');
    bytes
}

/// Reads and validates `requisites.xml` (EDE 5.1.1): well-formed under the safe reader, then
/// valid against the schema; the first defect found is returned, naming its element.
pub fn read(bytes: &[u8]) -> Result<Requisites, Defect> {
    if bytes.len() > MAX_BYTES {
        return Err(Defect {
            element: "/".into(),
            reason: format!(
                "the document has {} bytes; requisites take at most {MAX_BYTES}",
                bytes.len()
            ),
        });
    }
    let document = mubadile_xml_tree::parse(bytes).map_err(|e| Defect {
        element: "/".into(),
        reason: format!("not acceptable XML: {e}"),
    })?;
    let tree = validate(&document)?;
    Ok(requisites_from(&tree))
}

/// The schema's defects in `requisites`, as [`Requisites::defects`] reports them before
/// sending (EDE 4.1), so that the platform never writes what a recipient refuses. Blank values
/// are left to the caller, which names them already.
pub(super) fn value_defects(requisites: &Requisites) -> Vec<String> {
    let r = requisites;
    let o = &r.optional;
    let date = r.registration_date.format("%Y-%m-%d").to_string();
    let mut values: Vec<(String, &str, SimpleType)> = vec![
        (
            "the registration number".into(),
            &r.registration_number,
            SimpleType::RegistrationNumber,
        ),
        ("the registration date".into(), &date, SimpleType::Date),
        ("the document kind".into(), &r.kind, SimpleType::ShortText),
        ("the title".into(), &r.title, SimpleType::Text),
        (
            "the sender's id".into(),
            &r.sender.id.0,
            SimpleType::OrganisationId,
        ),
        ("the sender's name".into(), &r.sender.name, SimpleType::Text),
        (
            "the sender's tax id".into(),
            &r.sender.tax_id,
            SimpleType::TaxId,
        ),
        (
            "the sender's address".into(),
            &r.sender.address,
            SimpleType::Text,
        ),
        (
            "the sender's e-mail".into(),
            &r.sender.email,
            SimpleType::Email,
        ),
    ];
    if let Some(phone) = &r.sender.phone {
        values.push(("the sender's phone".into(), phone, SimpleType::Phone));
    }
    for a in &r.addressees {
        values.push((
            format!("the addressee {}", a.id),
            &a.id.0,
            SimpleType::OrganisationId,
        ));
        values.push((
            format!("the name of addressee {}", a.id),
            &a.name,
            SimpleType::Text,
        ));
    }
    if r.addressees.len() > MAX_ADDRESSEES {
        return vec![format!(
            "{} addressees are given; a document goes to at most {MAX_ADDRESSEES} (EDE 3.1)",
            r.addressees.len()
        )];
    }
    // Blank mandatory values are named by the caller; a blank optional one would be written as
    // an empty element, which the schema refuses.
    let mandatory = values.len();
    for (what, value, kind) in [
        ("the phone", &o.phone, SimpleType::Phone),
        ("the fax", &o.fax, SimpleType::Phone),
        ("the e-mail", &o.email, SimpleType::Email),
        ("the approver", &o.approver, SimpleType::ShortText),
        ("the executor", &o.executor, SimpleType::ShortText),
        (
            "the number replied to",
            &o.in_reply_to,
            SimpleType::RegistrationNumber,
        ),
    ] {
        if let Some(value) = value {
            values.push((format!("{what} (EDE 3.2)"), value, kind));
        }
    }
    values
        .into_iter()
        .enumerate()
        .filter(|(i, (_, value, _))| *i >= mandatory || !value.trim().is_empty())
        .filter_map(|(_, (what, value, kind))| {
            if let Some(c) = value.chars().find(|&c| !xml_char(c)) {
                return Some(format!(
                    "{what} contains the control character U+{:04X}, which XML cannot carry",
                    u32::from(c)
                ));
            }
            kind.check(value)
                .err()
                .map(|reason| format!("{what} {reason}"))
        })
        .collect()
}

/// The most addressees one document has (`maxOccurs` of `Addressee`).
const MAX_ADDRESSEES: usize = 1000;

// ---------------------------------------------------------------------------------------------
// The schema, restated.

/// The schema's simple types (`xs:simpleType` in `requisites.xsd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SimpleType {
    /// At most 1000 characters, at least one not white space.
    Text,
    /// `Text` of at most 200 characters.
    ShortText,
    /// Latin and Azerbaijani letters, digits, separators; 1 to 64 characters.
    RegistrationNumber,
    /// `xs:date` restricted to `YYYY-MM-DD`, years 1000 to 2999.
    Date,
    /// `[a-z0-9][a-z0-9-]{0,30}[a-z0-9]`.
    OrganisationId,
    /// `[0-9]{10}`.
    TaxId,
    /// `[+(0-9][0-9 ()-./]{1,38}[0-9]`.
    Phone,
    /// `[^@\s]+@[^@\s]+`, at most 254 characters.
    Email,
}

/// A content model: simple content of a type, or a sequence of element particles.
#[derive(Debug, Clone, Copy)]
enum Content {
    Simple(SimpleType),
    Sequence(&'static [Particle]),
}

/// One `xs:element` inside an `xs:sequence`.
#[derive(Debug, Clone, Copy)]
struct Particle {
    name: &'static str,
    min: usize,
    max: usize,
    content: Content,
}

const fn one(name: &'static str, content: Content) -> Particle {
    Particle {
        name,
        min: 1,
        max: 1,
        content,
    }
}

const fn optional(name: &'static str, content: Content) -> Particle {
    Particle {
        name,
        min: 0,
        max: 1,
        content,
    }
}

use Content::{Sequence, Simple};
use SimpleType as T;

/// `complexType Sender`.
const SENDER: &[Particle] = &[
    one("Id", Simple(T::OrganisationId)),
    one("Name", Simple(T::Text)),
    one("TaxId", Simple(T::TaxId)),
    one("Address", Simple(T::Text)),
    optional("Phone", Simple(T::Phone)),
    one("Email", Simple(T::Email)),
];

/// `complexType Addressee`.
const ADDRESSEE: &[Particle] = &[
    one("Id", Simple(T::OrganisationId)),
    one("Name", Simple(T::Text)),
];

/// `complexType Addressees`.
const ADDRESSEES: &[Particle] = &[Particle {
    name: "Addressee",
    min: 1,
    max: MAX_ADDRESSEES,
    content: Sequence(ADDRESSEE),
}];

/// `complexType Optional`.
const OPTIONAL: &[Particle] = &[
    optional("Phone", Simple(T::Phone)),
    optional("Fax", Simple(T::Phone)),
    optional("Email", Simple(T::Email)),
    optional("Approver", Simple(T::ShortText)),
    optional("Executor", Simple(T::ShortText)),
    optional("InReplyTo", Simple(T::RegistrationNumber)),
];

/// `complexType Requisites`, the content of the document element `Requisites`.
const SCHEMA: &[Particle] = &[
    one("RegistrationNumber", Simple(T::RegistrationNumber)),
    one("RegistrationDate", Simple(T::Date)),
    one("Kind", Simple(T::ShortText)),
    one("Title", Simple(T::Text)),
    one("Sender", Sequence(SENDER)),
    one("Addressees", Sequence(ADDRESSEES)),
    optional("Optional", Sequence(OPTIONAL)),
];

/// XML Schema's white space (`\s`): space, tab, CR, LF; nothing else.
fn schema_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// A character XML 1.0 can carry (its `Char` production; Rust strings hold no surrogates).
fn xml_char(c: char) -> bool {
    !matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

/// The letters of `RegistrationNumber`'s pattern: `[0-9A-Za-zÇçƏəĞğİıÖöŞşÜü]`.
fn number_letter(c: char) -> bool {
    c.is_ascii_alphanumeric() || "ÇçƏəĞğİıÖöŞşÜü".contains(c)
}

impl SimpleType {
    /// The schema's check of a value of this type, as written in the element (the white space
    /// facet applied here where the type's base collapses it: `xs:date`).
    fn check(self, value: &str) -> Result<(), String> {
        let length = value.chars().count();
        let quoted = shorten(value);
        match self {
            T::Text | T::ShortText => {
                let max = if self == T::Text { 1000 } else { 200 };
                if length > max {
                    return Err(format!(
                        "has {length} characters; at most {max} are allowed"
                    ));
                }
                if value.chars().all(schema_space) {
                    return Err("is empty".into());
                }
                Ok(())
            }
            T::RegistrationNumber => {
                // Two patterns, either matches: `L([L sep№]{0,62}L)?` and `№ L([L sep]{0,60}L)?`.
                let plain = |s: &str, max_inner: usize, separators: &str| {
                    let chars: Vec<char> = s.chars().collect();
                    match chars.as_slice() {
                        [only] => number_letter(*only),
                        [first, inner @ .., last] => {
                            number_letter(*first)
                                && number_letter(*last)
                                && inner.len() <= max_inner
                                && inner
                                    .iter()
                                    .all(|&c| number_letter(c) || separators.contains(c))
                        }
                        [] => false,
                    }
                };
                let fits = plain(value, 62, " -/._№")
                    || value
                        .strip_prefix("№ ")
                        .is_some_and(|rest| plain(rest, 60, " -/._"));
                if fits {
                    Ok(())
                } else {
                    Err(format!(
                        "{quoted} is not a registration number: 1 to 64 letters (Latin, Azerbaijani), digits and the separators space - / . _ №, beginning and ending with a letter or digit"
                    ))
                }
            }
            T::Date => {
                let collapsed = value.trim_matches(schema_space);
                let b = collapsed.as_bytes();
                let pattern = b.len() == 10
                    && matches!(b[0], b'1' | b'2')
                    && b.iter().enumerate().all(|(i, c)| {
                        if i == 4 || i == 7 {
                            *c == b'-'
                        } else {
                            c.is_ascii_digit()
                        }
                    });
                if !pattern {
                    return Err(format!("{quoted} is not a date written YYYY-MM-DD"));
                }
                NaiveDate::parse_from_str(collapsed, "%Y-%m-%d")
                    .map(|_| ())
                    .map_err(|_| format!("{quoted} is not a date of the calendar"))
            }
            T::OrganisationId => {
                let fine = (2..=32).contains(&value.len())
                    && value
                        .bytes()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
                    && !value.starts_with('-')
                    && !value.ends_with('-');
                fine.then_some(()).ok_or_else(|| {
                    format!(
                        "{quoted} is not an organisation id: 2 to 32 lowercase letters, digits and hyphens, not beginning or ending with a hyphen"
                    )
                })
            }
            T::TaxId => (value.len() == 10 && value.bytes().all(|c| c.is_ascii_digit()))
                .then_some(())
                .ok_or_else(|| format!("{quoted} is not a tax id: the 10 digits of a VÖEN")),
            T::Phone => {
                let chars: Vec<char> = value.chars().collect();
                let fine = match chars.as_slice() {
                    [first, inner @ .., last] => {
                        (*first == '+' || *first == '(' || first.is_ascii_digit())
                            && last.is_ascii_digit()
                            && (1..=38).contains(&inner.len())
                            && inner
                                .iter()
                                .all(|c| c.is_ascii_digit() || " ()-./".contains(*c))
                    }
                    _ => false,
                };
                fine.then_some(()).ok_or_else(|| {
                    format!(
                        "{quoted} is not a telephone number: 3 to 40 digits and + ( ) - . / or spaces, ending with a digit"
                    )
                })
            }
            T::Email => {
                if length > 254 {
                    return Err(format!("has {length} characters; at most 254 are allowed"));
                }
                let fine = match value.split_once('@') {
                    Some((local, domain)) => {
                        !local.is_empty()
                            && !domain.is_empty()
                            && !domain.contains('@')
                            && !value.chars().any(schema_space)
                    }
                    None => false,
                };
                fine.then_some(()).ok_or_else(|| {
                    format!("{quoted} is not an e-mail address: one @ with something on each side, no spaces")
                })
            }
        }
    }
}

/// `value` quoted for an error, cut after 60 characters.
fn shorten(value: &str) -> String {
    if value.chars().count() > 60 {
        format!("{:?}…", value.chars().take(60).collect::<String>())
    } else {
        format!("{value:?}")
    }
}

// ---------------------------------------------------------------------------------------------
// Validation.

/// An element that passed validation: its name, and its value or its child elements.
#[derive(Debug)]
struct Valid {
    name: &'static str,
    value: String,
    children: Vec<Valid>,
}

impl Valid {
    fn child(&self, name: &str) -> Option<&Valid> {
        self.children.iter().find(|c| c.name == name)
    }

    fn text(&self, name: &str) -> String {
        self.child(name)
            .map(|c| c.value.clone())
            .unwrap_or_default()
    }

    fn optional_text(&self, name: &str) -> Option<String> {
        self.child(name).map(|c| c.value.clone())
    }
}

/// Validates the whole document against the schema.
fn validate(document: &Document<'_>) -> Result<Valid, Defect> {
    let root = document.root();
    let name = document.local_name(root).unwrap_or_default();
    if document.namespace(root) != Some(NAMESPACE) || name != "Requisites" {
        return Err(Defect {
            element: format!("/{name}"),
            reason: format!(
                "the document element must be Requisites in the namespace {NAMESPACE}, not {{{}}}{name}",
                document.namespace(root).unwrap_or_default()
            ),
        });
    }
    let path = "/Requisites".to_string();
    let mut version = None;
    for (namespace, local, value) in document.attributes(root) {
        if namespace.is_empty() && local == "version" {
            version = Some(value);
        } else {
            refuse_attribute(&path, namespace, local)?;
        }
    }
    match version.as_deref() {
        Some("1") => {}
        Some(other) => {
            return Err(Defect {
                element: path,
                reason: format!("version {other:?} is not the supported \"1\""),
            });
        }
        None => {
            return Err(Defect {
                element: path,
                reason: "the attribute version=\"1\" is missing".into(),
            });
        }
    }
    let children = sequence(document, root, &path, SCHEMA)?;
    let valid = Valid {
        name: "Requisites",
        value: String::new(),
        children,
    };
    // `xs:unique AddresseeOnce`: no organisation is addressed twice (EDE 4.1).
    let mut seen = BTreeSet::new();
    if let Some(addressees) = valid.child("Addressees") {
        for (i, addressee) in addressees.children.iter().enumerate() {
            let id = addressee.text("Id");
            if !seen.insert(id.clone()) {
                return Err(Defect {
                    element: format!("/Requisites/Addressees/Addressee[{}]/Id", i + 1),
                    reason: format!("{id} is addressed twice"),
                });
            }
        }
    }
    Ok(valid)
}

/// Refuses an attribute the schema does not declare (only `xsi:schemaLocation` and
/// `xsi:noNamespaceSchemaLocation`, hints every schema processor allows, are let through).
fn refuse_attribute(path: &str, namespace: &str, local: &str) -> Result<(), Defect> {
    if namespace == XSI && matches!(local, "schemaLocation" | "noNamespaceSchemaLocation") {
        return Ok(());
    }
    let name = if namespace.is_empty() {
        local.to_string()
    } else {
        format!("{{{namespace}}}{local}")
    };
    Err(Defect {
        element: path.to_string(),
        reason: format!("the attribute {name} is not allowed here"),
    })
}

/// Validates the children of `element` against a sequence of particles.
fn sequence(
    document: &Document<'_>,
    element: NodeId,
    path: &str,
    particles: &'static [Particle],
) -> Result<Vec<Valid>, Defect> {
    let mut elements = Vec::new();
    for child in document.children(element) {
        match child {
            Child::Element(node) => elements.push(node),
            Child::Text(text) if text.chars().all(schema_space) => {}
            Child::Text(_) | Child::CData(_) => {
                return Err(Defect {
                    element: path.to_string(),
                    reason: "holds text between its elements; only elements belong here".into(),
                });
            }
            Child::Comment | Child::ProcessingInstruction => {}
        }
    }
    let mut next = elements.into_iter().peekable();
    let mut valid = Vec::new();
    for particle in particles {
        let mut count = 0;
        while count < particle.max
            && next
                .peek()
                .is_some_and(|&node| is(document, node, particle.name))
        {
            let Some(node) = next.next() else { break };
            count += 1;
            let child_path = if particle.max > 1 {
                format!("{path}/{}[{count}]", particle.name)
            } else {
                format!("{path}/{}", particle.name)
            };
            valid.push(element_content(document, node, &child_path, particle)?);
        }
        if count < particle.min {
            if let Some(&unknown) = next
                .peek()
                .filter(|&&n| !particles.iter().any(|p| is(document, n, p.name)))
            {
                return Err(Defect {
                    element: format!(
                        "{path}/{}",
                        document.local_name(unknown).unwrap_or_default()
                    ),
                    reason: format!(
                        "{} is not an element of the schema here (the requisites have no such field)",
                        describe(document, unknown)
                    ),
                });
            }
            let found = next
                .peek()
                .map_or("the end of the element".to_string(), |&n| {
                    describe(document, n)
                });
            return Err(Defect {
                element: format!("{path}/{}", particle.name),
                reason: format!("is missing (found {found} where it belongs)"),
            });
        }
    }
    if let Some(extra) = next.next() {
        return Err(Defect {
            element: format!("{path}/{}", document.local_name(extra).unwrap_or_default()),
            reason: format!(
                "{} is not expected here: unknown, repeated or out of order",
                describe(document, extra)
            ),
        });
    }
    Ok(valid)
}

/// Validates one element's attributes and content.
fn element_content(
    document: &Document<'_>,
    node: NodeId,
    path: &str,
    particle: &Particle,
) -> Result<Valid, Defect> {
    for (namespace, local, _) in document.attributes(node) {
        refuse_attribute(path, namespace, local)?;
    }
    match particle.content {
        Content::Sequence(particles) => Ok(Valid {
            name: particle.name,
            value: String::new(),
            children: sequence(document, node, path, particles)?,
        }),
        Content::Simple(kind) => {
            let mut value = String::new();
            for child in document.children(node) {
                match child {
                    Child::Text(text) | Child::CData(text) => value.push_str(&text),
                    Child::Element(inner) => {
                        return Err(Defect {
                            element: path.to_string(),
                            reason: format!(
                                "must hold text, not the element {}",
                                describe(document, inner)
                            ),
                        });
                    }
                    Child::Comment | Child::ProcessingInstruction => {}
                }
            }
            kind.check(&value).map_err(|reason| Defect {
                element: path.to_string(),
                reason,
            })?;
            if kind == T::Date {
                value = value.trim_matches(schema_space).to_string();
            }
            Ok(Valid {
                name: particle.name,
                value,
                children: Vec::new(),
            })
        }
    }
}

/// Whether `node` is the element `name` of the schema's namespace.
fn is(document: &Document<'_>, node: NodeId, name: &str) -> bool {
    document.namespace(node) == Some(NAMESPACE) && document.local_name(node) == Some(name)
}

/// An element's name for an error: `Name`, or `{namespace}Name` outside the schema's namespace.
fn describe(document: &Document<'_>, node: NodeId) -> String {
    let local = document.local_name(node).unwrap_or_default();
    match document.namespace(node) {
        Some(NAMESPACE) => local.to_string(),
        Some(other) => format!("{{{other}}}{local}"),
        None => local.to_string(),
    }
}

/// The requisites of a valid tree (every value already checked).
fn requisites_from(tree: &Valid) -> Requisites {
    let sender = tree.child("Sender");
    let field = |name: &str| sender.map(|s| s.text(name)).unwrap_or_default();
    let optional = tree.child("Optional");
    let opt = |name: &str| optional.and_then(|o| o.optional_text(name));
    Requisites {
        version: VERSION,
        registration_number: tree.text("RegistrationNumber"),
        registration_date: NaiveDate::parse_from_str(&tree.text("RegistrationDate"), "%Y-%m-%d")
            .unwrap_or_default(),
        kind: tree.text("Kind"),
        title: tree.text("Title"),
        sender: OrganisationRequisites {
            id: OrganisationId(field("Id")),
            name: field("Name"),
            tax_id: field("TaxId"),
            address: field("Address"),
            phone: sender.and_then(|s| s.optional_text("Phone")),
            email: field("Email"),
        },
        addressees: tree
            .child("Addressees")
            .map(|a| {
                a.children
                    .iter()
                    .map(|addressee| Addressee {
                        id: OrganisationId(addressee.text("Id")),
                        name: addressee.text("Name"),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        optional: OptionalRequisites {
            phone: opt("Phone"),
            fax: opt("Fax"),
            email: opt("Email"),
            approver: opt("Approver"),
            executor: opt("Executor"),
            in_reply_to: opt("InReplyTo"),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Writing helpers.

fn open(w: &mut Writer<Vec<u8>>, name: &str) {
    let _ = w.write_event(Event::Start(BytesStart::new(name)));
}

fn close(w: &mut Writer<Vec<u8>>, name: &str) {
    let _ = w.write_event(Event::End(BytesEnd::new(name)));
}

/// An element holding `value`; a CR is written as a character reference so that it survives
/// the reader's line-end normalisation.
fn leaf(w: &mut Writer<Vec<u8>>, name: &str, value: &str) {
    open(w, name);
    let escaped = quick_xml::escape::escape(value).replace('\r', "&#13;");
    let _ = w.write_event(Event::Text(BytesText::from_escaped(escaped)));
    close(w, name);
}

#[cfg(test)]
mod tests;
