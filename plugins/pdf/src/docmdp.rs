//! Certification and field locks: the changes a signature permits after it. A certification
//! signature carries a signature reference dictionary with the DocMDP transform method and its
//! permissions `P` (ISO 32000-1 12.8.2.2, Table 254), and the catalog's /Perms names it; a
//! signature may also lock fields (FieldMDP, 12.8.2.4), and a PDF 2.0 signature field's /Lock
//! dictionary may do both (ISO 32000-2 12.7.5.5). pyHanko reads them the same way.

use lopdf::{Dictionary, Document, Object, ObjectId};
use mubadile_plugin_api::{DocMdpPermissions, PluginError};

use crate::fields::{deref, deref_dict, text_string};
use crate::serialize;

/// The DocMDP permissions signature dictionary `value` sets, from its DocMDP reference, else
/// from its field's /Lock `lock`; `None` for an approval signature that sets none. A `P` that
/// is not 1, 2 or 3 is read as 1, the strictest.
pub fn of_signature(
    document: &Document,
    value: &Dictionary,
    lock: Option<&Dictionary>,
) -> Option<DocMdpPermissions> {
    let from_reference = references(document, value, b"DocMDP").next().map(|params| {
        params
            .and_then(|p| p.get(b"P").and_then(Object::as_i64).ok())
            .map_or(DocMdpPermissions::FormFilling, |p| {
                DocMdpPermissions::from_number(p).unwrap_or(DocMdpPermissions::NoChanges)
            })
    });
    from_reference.or_else(|| {
        let p = lock?.get(b"P").and_then(Object::as_i64).ok()?;
        Some(DocMdpPermissions::from_number(p).unwrap_or(DocMdpPermissions::NoChanges))
    })
}

/// The permissions of the document's certification signature, the one the catalog's /Perms
/// /DocMDP names; `None` when the document is not certified.
pub fn of_document(document: &Document) -> Option<DocMdpPermissions> {
    let perms = deref_dict(document, document.catalog().ok()?.get(b"Perms").ok())?;
    let signature = deref_dict(document, perms.get(b"DocMDP").ok())?;
    Some(of_signature(document, signature, None).unwrap_or(DocMdpPermissions::FormFilling))
}

/// The /Reference entry of a new signature's dictionary, in PDF syntax: a DocMDP reference
/// when it certifies with permissions `certify` (ISO 32000-1 Tables 253 and 254; EN 319 142-1
/// 5.4 takes them as they are), and a FieldMDP reference when the field it goes into has the
/// lock dictionary `lock` naming fields (12.7.4.5 Table 233: the fields locked "when this
/// signature field is signed", recorded as the FieldMDP transform of 12.8.2.4, whose /Data is
/// the catalog `root`), as pyHanko and Acrobat write them. Empty when there is neither.
pub fn reference_entry(
    document: &Document,
    certify: Option<DocMdpPermissions>,
    lock: Option<&Dictionary>,
    root: ObjectId,
) -> Result<Vec<u8>, PluginError> {
    let mut references = Vec::new();
    if let Some(p) = certify {
        let params = Dictionary::from_iter([("P", Object::Integer(i64::from(p.number())))]);
        references.push(signature_reference(b"DocMDP", params, None));
    }
    if let Some(params) = lock.and_then(|lock| field_mdp_params(document, lock)) {
        references.push(signature_reference(b"FieldMDP", params, Some(root)));
    }
    if references.is_empty() {
        return Ok(Vec::new());
    }
    let mut entry = b" /Reference ".to_vec();
    serialize::write(&mut entry, &Object::Array(references))?;
    Ok(entry)
}

/// A signature reference dictionary (ISO 32000-1 Table 253) for `method` with the transform
/// parameters `params` (their /Type and /V added) and, for FieldMDP, the /Data it analyses.
fn signature_reference(method: &[u8], params: Dictionary, data: Option<ObjectId>) -> Object {
    let mut transform =
        Dictionary::from_iter([("Type", Object::Name(b"TransformParams".to_vec()))]);
    for (key, value) in params.iter() {
        transform.set(key.clone(), value.clone());
    }
    transform.set("V", Object::Name(b"1.2".to_vec()));
    let mut reference = Dictionary::from_iter([
        ("Type", Object::Name(b"SigRef".to_vec())),
        ("TransformMethod", Object::Name(method.to_vec())),
    ]);
    if let Some(data) = data {
        reference.set("Data", Object::Reference(data));
    }
    reference.set("TransformParams", Object::Dictionary(transform));
    Object::Dictionary(reference)
}

/// The FieldMDP transform parameters of the field lock `lock` (its /Action and, unless /All,
/// its /Fields; ISO 32000-1 Table 256), or `None` when it locks no fields (a PDF 2.0 lock may
/// set only /P).
fn field_mdp_params(document: &Document, lock: &Dictionary) -> Option<Dictionary> {
    let action = lock.get(b"Action").and_then(Object::as_name).ok()?;
    let mut params = Dictionary::from_iter([("Action", Object::Name(action.to_vec()))]);
    match action {
        b"All" => {}
        b"Include" | b"Exclude" => {
            let fields = deref(document, lock.get(b"Fields").ok())?.as_array().ok()?;
            let names = fields
                .iter()
                .filter_map(|name| deref(document, Some(name)).cloned())
                .collect();
            params.set("Fields", Object::Array(names));
        }
        _ => return None,
    }
    Some(params)
}

/// The fields a signature locks (FieldMDP).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FieldLock {
    /// None.
    #[default]
    None,
    /// Every field.
    All,
    /// These fields.
    Include(Vec<String>),
    /// Every field but these.
    Exclude(Vec<String>),
}

impl FieldLock {
    /// The lock signature dictionary `value` sets through a FieldMDP reference, else through its
    /// field's /Lock `lock`.
    pub fn of_signature(
        document: &Document,
        value: &Dictionary,
        lock: Option<&Dictionary>,
    ) -> FieldLock {
        references(document, value, b"FieldMDP")
            .flatten()
            .chain(lock)
            .map(|params| FieldLock::from_params(document, params))
            .find(|l| *l != FieldLock::None)
            .unwrap_or_default()
    }

    /// Whether the field called `name` is locked: it or one of its ancestors is named.
    pub fn locks(&self, name: &str) -> bool {
        let named = |names: &[String]| {
            names
                .iter()
                .any(|n| name == n || name.starts_with(&format!("{n}.")))
        };
        match self {
            FieldLock::None => false,
            FieldLock::All => true,
            FieldLock::Include(names) => named(names),
            FieldLock::Exclude(names) => !named(names),
        }
    }

    fn from_params(document: &Document, params: &Dictionary) -> FieldLock {
        let names = || match deref(document, params.get(b"Fields").ok()) {
            Some(Object::Array(names)) => names
                .iter()
                .filter_map(|n| deref(document, Some(n))?.as_str().ok())
                .map(text_string)
                .collect(),
            _ => Vec::new(),
        };
        match params.get(b"Action").and_then(Object::as_name).ok() {
            Some(b"All") => FieldLock::All,
            Some(b"Include") => FieldLock::Include(names()),
            Some(b"Exclude") => FieldLock::Exclude(names()),
            _ => FieldLock::None,
        }
    }
}

/// The transform parameters of each signature reference dictionary of `value` whose transform
/// method is `method` (`None` where a reference has none).
fn references<'a>(
    document: &'a Document,
    value: &'a Dictionary,
    method: &'a [u8],
) -> impl Iterator<Item = Option<&'a Dictionary>> + 'a {
    let items: &[Object] = match deref(document, value.get(b"Reference").ok()) {
        Some(Object::Array(items)) => items,
        _ => &[],
    };
    items
        .iter()
        .filter_map(move |item| deref_dict(document, Some(item)))
        .filter(move |r| r.get(b"TransformMethod").and_then(Object::as_name).ok() == Some(method))
        .map(move |r| deref_dict(document, r.get(b"TransformParams").ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_lock_names_fields_and_their_descendants() {
        let include = FieldLock::Include(vec!["ad".into(), "group".into()]);
        assert!(include.locks("ad") && include.locks("group.kid"));
        assert!(!include.locks("address") && !include.locks("other"));
        let exclude = FieldLock::Exclude(vec!["ad".into()]);
        assert!(!exclude.locks("ad") && exclude.locks("razi"));
        assert!(FieldLock::All.locks("x") && !FieldLock::None.locks("x"));
    }

    #[test]
    fn docmdp_permissions_are_read_from_the_reference_and_default_to_two() {
        let document = Document::new();
        let reference = |params: Option<Dictionary>| {
            let mut r =
                Dictionary::from_iter([("TransformMethod", Object::Name(b"DocMDP".to_vec()))]);
            if let Some(params) = params {
                r.set("TransformParams", Object::Dictionary(params));
            }
            Dictionary::from_iter([("Reference", Object::Array(vec![Object::Dictionary(r)]))])
        };
        let with_p = |p: i64| reference(Some(Dictionary::from_iter([("P", Object::Integer(p))])));
        assert_eq!(
            of_signature(&document, &with_p(1), None),
            Some(DocMdpPermissions::NoChanges)
        );
        assert_eq!(
            of_signature(&document, &with_p(3), None),
            Some(DocMdpPermissions::Annotations)
        );
        assert_eq!(
            of_signature(&document, &with_p(7), None),
            Some(DocMdpPermissions::NoChanges)
        );
        assert_eq!(
            of_signature(&document, &reference(None), None),
            Some(DocMdpPermissions::FormFilling)
        );
        assert_eq!(of_signature(&document, &Dictionary::new(), None), None);
        let lock = Dictionary::from_iter([("P", Object::Integer(1))]);
        assert_eq!(
            of_signature(&document, &Dictionary::new(), Some(&lock)),
            Some(DocMdpPermissions::NoChanges)
        );
    }
}
