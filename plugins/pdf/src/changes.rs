//! What changed in the revisions after a signature, and whether PAdES allows it (SVR 4.2.7;
//! EN 319 142-1 5.4 and ISO 32000-1 12.8.2.2: validation data, document timestamps and further
//! signatures may follow a signature; changes to what the signer saw may not). The document's XMP
//! metadata stream may be rewritten too, as pyHanko and Acrobat do on every incremental save (its
//! modification date), provided it stays well-formed XMP: it is not shown as page content.

use std::collections::BTreeSet;

use lopdf::{Dictionary, Document, Object, ObjectId};

use crate::read::{SignedPdf, parse};

/// Catalog entries that later revisions may add or change: besides the form and the validation
/// data, the version an update declares (ISO 32000-2 7.2.2 lets the catalog's /Version raise the
/// header's), as pyHanko writes when it signs a PDF 1.7 file with `--use-pades` (/Version /2.0,
/// /Extensions). /Metadata may change too when it names a well-formed XMP stream (pyHanko adds
/// one); neither is shown on a page, and the document information dictionary (/Info), the older
/// form of the metadata, may change as well.
const CATALOG_ALLOWED: &[&[u8]] = &[b"AcroForm", b"DSS", b"Extensions", b"Version"];
/// Interactive-form entries that later revisions may change.
const FORM_ALLOWED: &[&[u8]] = &[b"Fields", b"SigFlags", b"DR", b"DA"];

/// Every change made after revision `revision` (index into `pdf.revisions`) that PAdES does not
/// allow, one message each; empty when every later change is allowed.
pub fn disallowed_after(pdf: &SignedPdf<'_>, revision: usize) -> Vec<String> {
    let Some(end) = pdf.revisions.get(revision).map(|r| r.end) else {
        return Vec::new();
    };
    let before = match parse(&pdf.file[..end.min(pdf.file.len())]) {
        Ok(before) => before,
        Err(e) => {
            return vec![format!(
                "the signed revision cannot be read on its own ({e}), so later changes cannot be told apart (SVR 4.2.7)"
            )];
        }
    };
    let after = &pdf.document;
    let root = |d: &Document| d.trailer.get(b"Root").and_then(Object::as_reference).ok();
    let old_root = root(&before);
    let form_ids = form_objects(&before);
    let metadata = metadata_stream(&before);
    let mut problems = Vec::new();
    for (id, old) in &before.objects {
        let Some(new) = after.objects.get(id) else {
            continue;
        };
        if same(old, new) {
            continue;
        }
        let allowed = match (old, new) {
            (Object::Dictionary(o), Object::Dictionary(n)) if Some(*id) == old_root => {
                only_keys_changed(o, n, CATALOG_ALLOWED)
                    || (only_keys_changed(o, n, &[CATALOG_ALLOWED, &[b"Metadata"]].concat())
                        && n.get(b"Metadata").is_ok_and(|m| is_xmp(after, m)))
            }
            (Object::Stream(_), new @ Object::Stream(_)) if metadata == Some(*id) => {
                is_xmp(after, new)
            }
            (Object::Dictionary(o), Object::Dictionary(n)) if form_ids.form == Some(*id) => {
                only_keys_changed(o, n, FORM_ALLOWED)
                    && grows(o.get(b"Fields").ok(), n.get(b"Fields").ok(), &before, after)
            }
            (Object::Array(o), Object::Array(n)) if form_ids.arrays.contains(id) => {
                o.iter().all(|item| n.contains(item))
            }
            (Object::Dictionary(o), Object::Dictionary(n)) if o.has_type(b"Page") => {
                only_keys_changed(o, n, &[b"Annots"])
                    && added_annotations_are_signature_widgets(
                        o.get(b"Annots").ok(),
                        n.get(b"Annots").ok(),
                        &before,
                        after,
                    )
            }
            (Object::Array(o), Object::Array(n)) if is_annots_array(&before, *id) => {
                o.iter().all(|item| n.contains(item))
                    && n.iter()
                        .filter(|item| !o.contains(item))
                        .all(|item| is_signature_widget(after, item))
            }
            (Object::Dictionary(o), Object::Dictionary(n)) => {
                // An empty signature field being signed, or the document information.
                (is_signature_field(o) && !o.has(b"V") && only_keys_changed(o, n, &[b"V", b"AP"]))
                    || before
                        .trailer
                        .get(b"Info")
                        .and_then(Object::as_reference)
                        .ok()
                        == Some(*id)
            }
            _ => false,
        };
        if !allowed {
            problems.push(format!(
                "object {} {} was changed after the signature in a way PAdES does not allow: what the signer saw may differ from what is shown now (SVR 4.2.7)",
                id.0, id.1
            ));
        }
    }
    problems
}

/// The catalog's /Metadata stream, when it is an object of its own.
fn metadata_stream(document: &Document) -> Option<ObjectId> {
    document
        .catalog()
        .ok()?
        .get(b"Metadata")
        .ok()?
        .as_reference()
        .ok()
}

/// Whether `object` (direct or by reference) is an XMP metadata stream (ISO 32000-1 14.3.2) whose
/// packet is well-formed XML.
fn is_xmp(document: &Document, object: &Object) -> bool {
    let stream = match object {
        Object::Reference(id) => document.get_object(*id).and_then(Object::as_stream),
        other => other.as_stream(),
    };
    let Ok(stream) = stream else {
        return false;
    };
    let name = |key: &[u8]| stream.dict.get(key).and_then(Object::as_name).ok();
    if name(b"Type") != Some(b"Metadata") || name(b"Subtype") != Some(b"XML") {
        return false;
    }
    let Ok(packet) = stream.decompressed_content_with_limit(MAX_XMP) else {
        return false;
    };
    well_formed_xml(&packet)
}

/// The largest XMP packet read when judging a metadata update.
const MAX_XMP: usize = 4 << 20;

fn well_formed_xml(packet: &[u8]) -> bool {
    let mut reader = quick_xml::Reader::from_reader(packet);
    let mut buf = Vec::new();
    let mut depth = 0usize;
    let mut elements = 0usize;
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Start(_)) => {
                depth += 1;
                elements += 1;
            }
            Ok(quick_xml::events::Event::Empty(_)) => elements += 1,
            Ok(quick_xml::events::Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(quick_xml::events::Event::Eof) => return depth == 0 && elements > 0,
            Ok(_) => {}
            Err(_) => return false,
        }
        buf.clear();
    }
}

/// The form dictionary and its /Fields array, when they are objects of their own.
struct FormObjects {
    form: Option<ObjectId>,
    arrays: BTreeSet<ObjectId>,
}

fn form_objects(document: &Document) -> FormObjects {
    let form_ref = document
        .catalog()
        .ok()
        .and_then(|c| c.get(b"AcroForm").ok());
    let form = form_ref.and_then(|f| f.as_reference().ok());
    let mut arrays = BTreeSet::new();
    if let Some(fields) = crate::fields::deref_dict(document, form_ref)
        .and_then(|f| f.get(b"Fields").ok())
        .and_then(|f| f.as_reference().ok())
    {
        arrays.insert(fields);
    }
    FormObjects { form, arrays }
}

fn is_annots_array(document: &Document, id: ObjectId) -> bool {
    document.page_iter().any(|page| {
        document
            .get_dictionary(page)
            .ok()
            .and_then(|p| p.get(b"Annots").ok())
            .and_then(|a| a.as_reference().ok())
            == Some(id)
    })
}

/// Whether the entries of `old` and `new` differ only under `keys`.
fn only_keys_changed(old: &Dictionary, new: &Dictionary, keys: &[&[u8]]) -> bool {
    let differs = |key: &[u8]| match (old.get(key).ok(), new.get(key).ok()) {
        (Some(o), Some(n)) => !same(o, n),
        (o, n) => o.is_some() || n.is_some(),
    };
    old.iter()
        .chain(new.iter())
        .all(|(key, _)| keys.contains(&key.as_slice()) || !differs(key))
}

/// Whether array `new` (direct or by reference) holds everything array `old` held.
fn grows(old: Option<&Object>, new: Option<&Object>, before: &Document, after: &Document) -> bool {
    let (old, new) = (array_items(before, old), array_items(after, new));
    old.iter().all(|item| new.contains(item))
}

fn added_annotations_are_signature_widgets(
    old: Option<&Object>,
    new: Option<&Object>,
    before: &Document,
    after: &Document,
) -> bool {
    let (old, new) = (array_items(before, old), array_items(after, new));
    old.iter().all(|item| new.contains(item))
        && new
            .iter()
            .filter(|item| !old.contains(item))
            .all(|item| is_signature_widget(after, item))
}

/// The items of array `object` (direct or by reference); none if it is not an array.
fn array_items(document: &Document, object: Option<&Object>) -> Vec<Object> {
    match crate::fields::deref(document, object) {
        Some(Object::Array(items)) => items.clone(),
        _ => Vec::new(),
    }
}

fn is_signature_widget(document: &Document, annotation: &Object) -> bool {
    crate::fields::deref_dict(document, Some(annotation)).is_some_and(|a| {
        a.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Widget")
            && (is_signature_field(a)
                || crate::fields::deref_dict(document, a.get(b"Parent").ok())
                    .is_some_and(is_signature_field))
    })
}

fn is_signature_field(dict: &Dictionary) -> bool {
    dict.get(b"FT").and_then(Object::as_name).ok() == Some(b"Sig")
}

/// Whether two versions of an object are the same: the same values, however they are written.
/// A string written as `(en-US)` or `<656E2D5553>` is one string (ISO 32000-1 7.3.4): a
/// writer that rewrites an object may choose either (pyHanko rewrites the catalog's /Lang that
/// this plugin wrote in hexadecimal as a literal). Streams by dictionary and bytes only.
fn same(old: &Object, new: &Object) -> bool {
    match (old, new) {
        (Object::String(o, _), Object::String(n, _)) => o == n,
        (Object::Array(o), Object::Array(n)) => {
            o.len() == n.len() && o.iter().zip(n).all(|(o, n)| same(o, n))
        }
        (Object::Dictionary(o), Object::Dictionary(n)) => same_entries(o, n),
        (Object::Stream(o), Object::Stream(n)) => {
            same_entries(&o.dict, &n.dict) && o.content == n.content
        }
        _ => old == new,
    }
}

fn same_entries(old: &Dictionary, new: &Dictionary) -> bool {
    old.len() == new.len()
        && old
            .iter()
            .all(|(key, o)| new.get(key).is_ok_and(|n| same(o, n)))
}

#[cfg(test)]
mod tests {
    use lopdf::StringFormat;

    use super::*;

    #[test]
    fn a_string_rewritten_in_hexadecimal_is_the_same_and_another_string_is_not() {
        let literal = |s: &[u8]| Object::String(s.to_vec(), StringFormat::Literal);
        let hex = |s: &[u8]| Object::String(s.to_vec(), StringFormat::Hexadecimal);
        let catalog = |lang: Object| {
            Object::Dictionary(Dictionary::from_iter([
                ("Lang", lang),
                ("Names", Object::Array(vec![hex(b"a"), Object::Integer(1)])),
            ]))
        };
        assert!(same(&catalog(literal(b"en-US")), &catalog(hex(b"en-US"))));
        assert!(!same(&catalog(literal(b"en-US")), &catalog(hex(b"az-AZ"))));
        let mut more = catalog(literal(b"en-US"));
        more.as_dict_mut()
            .unwrap()
            .set("Version", Object::Name(b"2.0".to_vec()));
        assert!(!same(&catalog(literal(b"en-US")), &more));
    }
}
