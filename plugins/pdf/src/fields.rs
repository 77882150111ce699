//! Finding signature dictionaries: the values of the signature fields of the interactive form
//! (ISO 32000-1 12.7.4.5, 12.8.1), signatures and document timestamps alike.

use std::collections::HashSet;

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
        .map(|name| String::from_utf8_lossy(name).into_owned())
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
    let partial = dict
        .get(b"T")
        .and_then(Object::as_str)
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .ok();
    let name = match (parent_name, partial) {
        ("", Some(p)) => p,
        (parent, Some(p)) => format!("{parent}.{p}"),
        (parent, None) => parent.to_string(),
    };
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
