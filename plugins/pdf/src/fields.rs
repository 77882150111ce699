//! Finding signature dictionaries: the values of the signature fields of the interactive form
//! (ISO 32000-1 12.7.4.5, 12.8.1), signatures and document timestamps alike.

use std::collections::{HashMap, HashSet};

use lopdf::{Dictionary, Document, Object, ObjectId};

/// How deep the field tree may nest before it is taken as hostile.
const MAX_DEPTH: usize = 32;

/// A filled signature field.
#[derive(Debug, Clone)]
pub struct SignatureField {
    /// The field's fully qualified name (ISO 32000-1 12.7.3.2).
    pub name: String,
    /// The signature dictionary (the field's /V), when it is an indirect object.
    pub value_id: Option<ObjectId>,
    /// The signature dictionary.
    pub value: Dictionary,
    /// The field's /Lock dictionary (ISO 32000-2 12.7.5.5): the fields and DocMDP permissions
    /// its signature locks.
    pub lock: Option<Dictionary>,
}

/// A terminal field of the interactive form (one that holds a value, ISO 32000-1 12.7.3.1) and
/// its widget annotations.
#[derive(Debug, Clone)]
pub struct FormField {
    /// Its fully qualified name.
    pub name: String,
    /// Its field dictionary, when it is an indirect object.
    pub id: Option<ObjectId>,
    /// Its field dictionary.
    pub dict: Dictionary,
    /// Its type (/FT, inherited from its ancestors when not its own): `Sig`, `Tx`, `Btn`, `Ch`.
    pub field_type: Option<Vec<u8>>,
    /// Its widget annotations: the field dictionary itself when the two are merged, else its
    /// kids, each with its id when it is an indirect object.
    pub widgets: Vec<(Option<ObjectId>, Dictionary)>,
}

impl FormField {
    /// Whether it is a signature field.
    pub fn is_signature(&self) -> bool {
        self.field_type.as_deref() == Some(b"Sig")
    }

    /// Whether it holds a value (a signature field: is signed).
    pub fn is_filled(&self) -> bool {
        self.dict.has(b"V")
    }

    /// Whether any of its widgets takes room on a page (a rectangle of some area).
    pub fn is_visible(&self) -> bool {
        self.widgets.iter().any(|(_, widget)| has_area(widget))
    }
}

/// What an object of the interactive form is, by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormRole {
    /// A terminal field's dictionary (merged with its widget or not), by the field's name.
    Field(String),
    /// A widget annotation of a terminal field (not merged with it), by the field's name.
    Widget(String),
    /// A field that only groups others (its kids have names of their own).
    Parent(String),
}

/// The interactive form of a document: every terminal field, and what each indirect object of
/// the field tree is.
#[derive(Debug, Clone, Default)]
pub struct FormTree {
    /// The terminal fields, in the form's order.
    pub fields: Vec<FormField>,
    /// The field tree's indirect objects.
    pub roles: HashMap<ObjectId, FormRole>,
}

impl FormTree {
    /// The form of `document`; empty when it has none.
    pub fn read(document: &Document) -> FormTree {
        let mut tree = FormTree::default();
        let mut seen = HashSet::new();
        for field in form_fields(document) {
            tree.node(document, field, "", None, 0, &mut seen);
        }
        tree
    }

    /// The terminal field called `name`.
    pub fn field(&self, name: &str) -> Option<&FormField> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The names of the empty signature fields, to say which may be signed into.
    pub fn empty_signature_fields(&self) -> Vec<String> {
        self.fields
            .iter()
            .filter(|f| f.is_signature() && !f.is_filled())
            .map(|f| f.name.clone())
            .collect()
    }

    /// The terminal field whose field dictionary or widget `id` is.
    pub fn field_of(&self, id: ObjectId) -> Option<&FormField> {
        match self.roles.get(&id)? {
            FormRole::Field(name) | FormRole::Widget(name) => self.field(name),
            FormRole::Parent(_) => None,
        }
    }

    fn node(
        &mut self,
        document: &Document,
        node: &Object,
        parent_name: &str,
        inherited_type: Option<&[u8]>,
        depth: usize,
        seen: &mut HashSet<ObjectId>,
    ) {
        let id = node.as_reference().ok();
        if depth > MAX_DEPTH || id.is_some_and(|id| !seen.insert(id)) {
            return;
        }
        let Some(dict) = deref_dict(document, Some(node)) else {
            return;
        };
        let name = qualified_name(parent_name, dict);
        let field_type = dict
            .get(b"FT")
            .and_then(Object::as_name)
            .ok()
            .or(inherited_type);
        let kids: Vec<&Object> = match deref(document, dict.get(b"Kids").ok()) {
            Some(Object::Array(kids)) => kids.iter().collect(),
            _ => Vec::new(),
        };
        let kid_dicts: Vec<(&Object, &Dictionary)> = kids
            .iter()
            .filter_map(|kid| Some((*kid, deref_dict(document, Some(kid))?)))
            .collect();
        if kid_dicts.iter().any(|(_, kid)| kid.has(b"T")) {
            if let Some(id) = id {
                self.roles.insert(id, FormRole::Parent(name.clone()));
            }
            for (kid, _) in kid_dicts {
                self.node(document, kid, &name, field_type, depth + 1, seen);
            }
            return;
        }
        if let Some(id) = id {
            self.roles.insert(id, FormRole::Field(name.clone()));
        }
        let widgets = if kid_dicts.is_empty() {
            vec![(id, dict.clone())]
        } else {
            kid_dicts
                .into_iter()
                .map(|(kid, widget)| {
                    let kid_id = kid.as_reference().ok();
                    if let Some(kid_id) = kid_id {
                        self.roles.insert(kid_id, FormRole::Widget(name.clone()));
                    }
                    (kid_id, widget.clone())
                })
                .collect()
        };
        self.fields.push(FormField {
            name,
            id,
            dict: dict.clone(),
            field_type: field_type.map(<[u8]>::to_vec),
            widgets,
        });
    }
}

/// Whether annotation `annotation` has a rectangle of some area (pyHanko's test of a visible
/// signature field, too).
pub fn has_area(annotation: &Dictionary) -> bool {
    let Ok(Object::Array(rect)) = annotation.get(b"Rect") else {
        return false;
    };
    let numbers: Vec<f32> = rect.iter().filter_map(|n| n.as_float().ok()).collect();
    matches!(numbers[..], [x1, y1, x2, y2] if (x2 - x1).abs() * (y2 - y1).abs() > 0.0)
}

/// A text string (ISO 32000-1 7.9.2.2): UTF-16BE after its byte order mark, else taken as
/// UTF-8 (which PDFDocEncoding's ASCII part is).
pub fn text_string(bytes: &[u8]) -> String {
    match bytes.strip_prefix(&[0xFE, 0xFF]) {
        Some(utf16) => char::decode_utf16(
            utf16
                .chunks_exact(2)
                .map(|pair| u16::from_be_bytes([pair[0], pair[1]])),
        )
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect(),
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// `parent_name`, then the partial name of `dict` when it has one (ISO 32000-1 12.7.3.2).
fn qualified_name(parent_name: &str, dict: &Dictionary) -> String {
    let partial = dict
        .get(b"T")
        .and_then(Object::as_str)
        .map(text_string)
        .ok();
    match (parent_name, partial) {
        ("", Some(p)) => p,
        (parent, Some(p)) => format!("{parent}.{p}"),
        (parent, None) => parent.to_string(),
    }
}

/// What a signature dictionary holds, by its /Type and /SubFilter (EN 319 142-1 5.3, 5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureKind {
    /// `ETSI.CAdES.detached`: a PAdES baseline signature.
    Cades,
    /// `adbe.pkcs7.detached`: a plain PDF CMS signature.
    Pkcs7,
    /// `ETSI.RFC3161` in a `/DocTimeStamp`: a document timestamp.
    DocumentTimestamp,
    /// Another sub-filter (e.g. `adbe.x509.rsa_sha1`), not supported.
    Other,
}

impl SignatureKind {
    /// The kind of the signature dictionary `value`.
    pub fn of(value: &Dictionary) -> SignatureKind {
        let name = |key: &[u8]| value.get(key).and_then(Object::as_name).ok();
        match (name(b"Type"), name(b"SubFilter")) {
            (_, Some(b"ETSI.CAdES.detached")) => SignatureKind::Cades,
            (_, Some(b"adbe.pkcs7.detached")) => SignatureKind::Pkcs7,
            (Some(b"DocTimeStamp"), _) | (_, Some(b"ETSI.RFC3161")) => {
                SignatureKind::DocumentTimestamp
            }
            _ => SignatureKind::Other,
        }
    }
}

/// Every filled signature field of `document`'s form, in the form's order; empty fields (no /V)
/// are not signatures yet.
pub fn signature_fields(document: &Document) -> Vec<SignatureField> {
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    for field in form_fields(document) {
        walk(document, field, "", None, 0, &mut seen, &mut found);
    }
    found
}

/// The names of every field of the form (terminal or not), to choose a new unique one.
pub fn field_names(document: &Document) -> HashSet<String> {
    form_fields(document)
        .iter()
        .filter_map(|field| {
            deref_dict(document, Some(field))?
                .get(b"T")
                .ok()?
                .as_str()
                .ok()
        })
        .map(text_string)
        .collect()
}

/// The top-level fields of the interactive form (its /Fields), none if it has no form.
fn form_fields(document: &Document) -> &[Object] {
    let fields = document
        .catalog()
        .ok()
        .and_then(|catalog| deref_dict(document, catalog.get(b"AcroForm").ok()))
        .and_then(|form| deref(document, form.get(b"Fields").ok()));
    match fields {
        Some(Object::Array(fields)) => fields,
        _ => &[],
    }
}

fn walk(
    document: &Document,
    node: &Object,
    parent_name: &str,
    inherited_type: Option<&[u8]>,
    depth: usize,
    seen: &mut HashSet<ObjectId>,
    found: &mut Vec<SignatureField>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    if let Object::Reference(id) = node
        && !seen.insert(*id)
    {
        return;
    }
    let Some(dict) = deref_dict(document, Some(node)) else {
        return;
    };
    let name = qualified_name(parent_name, dict);
    let field_type = dict
        .get(b"FT")
        .and_then(Object::as_name)
        .ok()
        .or(inherited_type);
    if let Some(Object::Array(kids)) = deref(document, dict.get(b"Kids").ok()) {
        for kid in kids {
            walk(document, kid, &name, field_type, depth + 1, seen, found);
        }
    }
    if field_type != Some(b"Sig") {
        return;
    }
    let Ok(value) = dict.get(b"V") else {
        return;
    };
    let value_id = value.as_reference().ok();
    if let Some(value) = deref_dict(document, Some(value)) {
        found.push(SignatureField {
            name,
            value_id,
            value: value.clone(),
            lock: deref_dict(document, dict.get(b"Lock").ok()).cloned(),
        });
    }
}

/// `object`, following one indirect reference.
pub fn deref<'a>(document: &'a Document, object: Option<&'a Object>) -> Option<&'a Object> {
    match object? {
        Object::Reference(id) => document.get_object(*id).ok(),
        direct => Some(direct),
    }
}

/// `object` as a dictionary, following one indirect reference.
pub fn deref_dict<'a>(
    document: &'a Document,
    object: Option<&'a Object>,
) -> Option<&'a Dictionary> {
    deref(document, object)?.as_dict().ok()
}
