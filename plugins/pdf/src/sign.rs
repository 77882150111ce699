//! Making a PAdES baseline B-B signature (EN 319 142-1 6.3) as an incremental update: a
//! signature field with an invisible widget on the first page, or a visible stamp where the
//! request places it (`appearance`), a signature dictionary with
//! /SubFilter /ETSI.CAdES.detached, a fixed-size /Contents placeholder and a /ByteRange patched
//! in place; the CMS inside is made by the CMS plugin, detached over the /ByteRange bytes.
//!
//! The prepared file is built deterministically from the request, so [`finish`] builds it again
//! instead of carrying it through the host.

use lopdf::{Dictionary, Document, Object, ObjectId, StringFormat};
use mubadile_plugin_api::{
    DocMdpPermissions, FormatPlugin, PluginError, Prepared, SignRequest, SignTarget,
};
use mubadile_plugin_cms::{CmsPlugin, SigningTime};

use crate::appearance::{Placement, Stamp};
use crate::docmdp;
use crate::fields::{FormField, FormTree, deref_dict, field_names};
use crate::incremental::Update;
use crate::objects::ObjectSink;
use crate::read;
use crate::serialize;

/// Marks the state [`prepare`] hands to [`finish`]; the digest of the covered bytes follows.
const STATE: &[u8] = b"pdf-b-b/2:";
/// Room in /Contents beyond the certificates: signature value, signed attributes and a signature
/// timestamp token with its TSA certificates, added in place later (B-T).
const CONTENTS_MARGIN: usize = 16 * 1024;

/// The prepared file: the file as given, and the update with the placeholder to append to it.
pub struct PreparedPdf<'a> {
    /// The file as given.
    file: &'a [u8],
    /// What is appended to it: the update.
    tail: Vec<u8>,
    /// Where the /Contents hexadecimal string (`<…>`) is in the updated file (in the update).
    hole: (usize, usize),
}

impl PreparedPdf<'_> {
    /// The bytes the /ByteRange covers, where they lie: the whole file given, then the update
    /// around the /Contents string.
    pub fn covered_parts(&self) -> [&[u8]; 3] {
        let (start, end) = self.hole_in_tail();
        [self.file, &self.tail[..start], &self.tail[end..]]
    }

    /// The bytes the /ByteRange covers, concatenated.
    pub fn covered(&self) -> Vec<u8> {
        self.covered_parts().concat()
    }

    /// The digest of the covered bytes with `algorithm` (dotted OID), in one pass over them.
    pub fn digest(&self, algorithm: &str) -> Result<Vec<u8>, PluginError> {
        mubadile_plugin_cms::digest_parts(algorithm, &self.covered_parts())
    }

    /// Writes `cms` into the /Contents string.
    pub fn write_contents(&mut self, cms: &[u8]) -> Result<(), PluginError> {
        let hole = self.hole_in_tail();
        write_contents(&mut self.tail, hole, cms)
    }

    /// The updated file.
    pub fn bytes(&self) -> Vec<u8> {
        [self.file, &self.tail].concat()
    }

    fn hole_in_tail(&self) -> (usize, usize) {
        let base = self.file.len();
        (self.hole.0 - base, self.hole.1 - base)
    }
}

/// Builds the update with an empty signature and the CMS signed attributes over it.
pub fn prepare(request: &SignRequest) -> Result<Prepared, PluginError> {
    let pdf = prepared_pdf(request)?;
    let digest = pdf.digest(&request.digest_algorithm)?;
    let cms = mubadile_plugin_cms::prepare_detached(
        &cms_request(request),
        &digest,
        SigningTime::InContainer,
    )?;
    Ok(Prepared {
        data_to_be_signed: cms.data_to_be_signed,
        digest_algorithm: cms.digest_algorithm,
        state: [STATE, &digest].concat(),
    })
}

/// Builds the update again, puts the CMS with `signature_value` into its /Contents.
pub fn finish(
    request: &SignRequest,
    prepared: &Prepared,
    signature_value: &[u8],
) -> Result<Vec<u8>, PluginError> {
    let mut pdf = prepared_pdf(request)?;
    let digest = pdf.digest(&request.digest_algorithm)?;
    prepared.check_state(&[STATE, &digest].concat())?;
    let inner = cms_request(request);
    let cms_prepared =
        mubadile_plugin_cms::prepare_detached(&inner, &digest, SigningTime::InContainer)?;
    if cms_prepared.data_to_be_signed != prepared.data_to_be_signed {
        return Err(PluginError::bad_request(
            "the data to be signed differ from the prepared ones; prepare again",
        ));
    }
    let cms = CmsPlugin.finish(&inner, &cms_prepared, signature_value)?;
    pdf.write_contents(&cms)?;
    Ok(pdf.bytes())
}

/// Prepares, signs with `key` and finishes in one pass over the file: the update is built once,
/// the covered bytes hashed once where they lie, and the update appended to the request's own
/// buffer, so a large PDF is neither hashed twice nor copied.
pub fn sign(
    request: SignRequest,
    key: &mut mubadile_plugin_api::SigningKey<'_>,
) -> Result<Vec<u8>, PluginError> {
    let tail = {
        let mut pdf = prepared_pdf(&request)?;
        let digest = pdf.digest(&request.digest_algorithm)?;
        let inner = cms_request(&request);
        let cms_prepared =
            mubadile_plugin_cms::prepare_detached(&inner, &digest, SigningTime::InContainer)?;
        let value = key(&cms_prepared.data_to_be_signed)?;
        let cms = CmsPlugin.finish(&inner, &cms_prepared, &value)?;
        pdf.write_contents(&cms)?;
        pdf.tail
    };
    let mut bytes = match request.target {
        SignTarget::New { content, .. } => content,
        SignTarget::Parallel { document, .. } => document,
        // `prepared_pdf` refused every other target.
        SignTarget::Counter { document, .. } => document,
    };
    bytes.extend_from_slice(&tail);
    Ok(bytes)
}

/// Writes `cms` in hexadecimal into the /Contents string at `hole`, padded with zeros.
pub fn write_contents(
    bytes: &mut [u8],
    hole: (usize, usize),
    cms: &[u8],
) -> Result<(), PluginError> {
    let room = hole.1 - hole.0 - 2;
    let hex: Vec<u8> = cms
        .iter()
        .flat_map(|b| format!("{b:02X}").into_bytes())
        .collect();
    if hex.len() > room {
        return Err(PluginError::unsupported(format!(
            "the signature ({} bytes) does not fit the {} bytes reserved for it in the PDF",
            cms.len(),
            room / 2
        )));
    }
    let digits = &mut bytes[hole.0 + 1..hole.1 - 1];
    digits.fill(b'0');
    digits[..hex.len()].copy_from_slice(&hex);
    Ok(())
}

/// The CMS plugin's request: a detached signature, over the covered bytes whose digest is
/// given beside it (the document is not copied into it).
fn cms_request(request: &SignRequest) -> SignRequest {
    SignRequest {
        target: SignTarget::New {
            content: Vec::new(),
            attached: false,
        },
        signer_certificate: request.signer_certificate.clone(),
        chain: request.chain.clone(),
        signature_algorithm: request.signature_algorithm.clone(),
        digest_algorithm: request.digest_algorithm.clone(),
        signing_time: request.signing_time,
        appearance: None,
        certify: None,
        field: None,
    }
}

/// The PDF to sign, from the request.
fn document(request: &SignRequest) -> Result<&[u8], PluginError> {
    match &request.target {
        SignTarget::New {
            content,
            attached: true,
        } => Ok(content),
        SignTarget::New {
            attached: false, ..
        } => Err(PluginError::bad_request(
            "a PDF signature is always inside the PDF: ask for an attached signature",
        )),
        SignTarget::Parallel {
            document,
            detached_content: None,
        } => Ok(document),
        SignTarget::Parallel { .. } => Err(PluginError::bad_request(
            "a PDF carries its signed data: give no detached content",
        )),
        SignTarget::Counter { .. } => Err(PluginError::unsupported(
            "PDF has no counter-signatures; add another signature instead",
        )),
    }
}

/// The update that adds the signature (into a new field, or into the empty field the request
/// names), its widget and the signature dictionary with an empty /Contents, its /ByteRange
/// already patched; a certification signature's DocMDP reference when the request certifies.
fn prepared_pdf(request: &SignRequest) -> Result<PreparedPdf<'_>, PluginError> {
    let mut entries =
        b"/Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /M ".to_vec();
    // EN 319 142-1 6.3: the signing time is claimed in /M, not in a CMS attribute.
    serialize::write(
        &mut entries,
        &Object::String(
            crate::date::format(request.signing_time).into_bytes(),
            StringFormat::Literal,
        ),
    )?;
    let placeholder = Placeholder {
        field_prefix: "Signature",
        entries,
        room: request.signer_certificate.len()
            + request.chain.iter().map(Vec::len).sum::<usize>()
            + CONTENTS_MARGIN,
        stamp: request.appearance.as_ref().map(|appearance| Stamp {
            appearance,
            signing_time: request.signing_time,
        }),
        purpose: Purpose::Signature {
            certify: request.certify,
            field: request.field.as_deref(),
        },
    };
    prepared_update(document(request)?, &placeholder)
}

/// What goes into the new signature dictionary besides /ByteRange and /Contents, and how its
/// widget looks.
pub struct Placeholder<'a> {
    /// The new field's name, before its number.
    pub field_prefix: &'static str,
    /// The dictionary's other entries, in PDF syntax.
    pub entries: Vec<u8>,
    /// How many bytes /Contents may hold.
    pub room: usize,
    /// The visible stamp; `None`: an invisible widget on the first page.
    pub stamp: Option<Stamp<'a>>,
    /// A signature or a document timestamp.
    pub purpose: Purpose<'a>,
}

/// What the placeholder is for.
pub enum Purpose<'a> {
    /// A signature: a certification one with these permissions, or an approval one (`None`);
    /// into the existing empty signature field so named, or a new field (`None`).
    Signature {
        /// The DocMDP permissions to certify with.
        certify: Option<DocMdpPermissions>,
        /// The empty signature field to sign into.
        field: Option<&'a str>,
    },
    /// A document timestamp (EN 319 142-1 5.4.3): always permitted, in a new invisible field.
    DocumentTimestamp,
}

/// The update of `file` that adds a signature (in a new field with its widget, invisible on the
/// first page or the placeholder's stamp, or in the existing empty field the placeholder names)
/// and a signature dictionary as `placeholder` says, with an empty /Contents and its /ByteRange
/// already patched.
pub fn prepared_update<'a>(
    file: &'a [u8],
    placeholder: &Placeholder<'_>,
) -> Result<PreparedPdf<'a>, PluginError> {
    let (document, last) = read::for_update(file)?;
    let doc = &document;
    let form = FormTree::read(doc);
    let (certify, field_name) = match placeholder.purpose {
        Purpose::Signature { certify, field } => {
            permitted(doc, &form, certify, field, placeholder.stamp.is_some())?;
            (certify, field)
        }
        Purpose::DocumentTimestamp => (None, None),
    };
    let existing = field_name
        .map(|name| empty_signature_field(&form, name))
        .transpose()?;
    let mut update = Update::new(file, doc, last);
    let signature_id = update.new_id();

    let root_id = doc
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|_| PluginError::malformed("the PDF's trailer has no /Root catalog reference"))?;
    let mut catalog = doc
        .get_dictionary(root_id)
        .map_err(|e| PluginError::malformed(format!("the catalog is damaged: {e}")))?
        .clone();
    let mut catalog_changed = false;
    if certify.is_some() {
        // ISO 32000-1 12.8.4: the catalog's /Perms names the certification signature.
        let mut perms = deref_dict(doc, catalog.get(b"Perms").ok())
            .cloned()
            .unwrap_or_default();
        perms.set("DocMDP", Object::Reference(signature_id));
        catalog.set("Perms", Object::Dictionary(perms));
        catalog_changed = true;
    }

    let field_id = match existing {
        Some((field, widget_id)) => fill_signature_field(
            &mut update,
            doc,
            field,
            widget_id,
            signature_id,
            placeholder,
        )?,
        None => new_signature_field(&mut update, doc, signature_id, placeholder)?,
    };

    // The form lists the field; /SigFlags 3: signatures exist, append only (12.7.2).
    let add_field = |form: &mut Dictionary, update: &mut Update<'_>| -> Result<(), PluginError> {
        form.set("SigFlags", Object::Integer(3));
        if existing.is_some() {
            return Ok(());
        }
        match form.get(b"Fields") {
            Ok(Object::Reference(fields_id)) => {
                let fields_id = *fields_id;
                let mut fields = doc
                    .get_object(fields_id)
                    .and_then(Object::as_array)
                    .map_err(|e| {
                        PluginError::malformed(format!("the form's /Fields is damaged: {e}"))
                    })?
                    .clone();
                fields.push(Object::Reference(field_id));
                update.put(fields_id, &Object::Array(fields))
            }
            Ok(Object::Array(fields)) => {
                let mut fields = fields.clone();
                fields.push(Object::Reference(field_id));
                form.set("Fields", Object::Array(fields));
                Ok(())
            }
            _ => {
                form.set("Fields", Object::Array(vec![Object::Reference(field_id)]));
                Ok(())
            }
        }
    };
    let form_entry = catalog.get(b"AcroForm").ok().cloned();
    match form_entry {
        Some(Object::Reference(form_id)) => {
            let old = doc
                .get_dictionary(form_id)
                .map_err(|e| PluginError::malformed(format!("the form is damaged: {e}")))?;
            let mut form = old.clone();
            add_field(&mut form, &mut update)?;
            if &form != old {
                update.put(form_id, &Object::Dictionary(form))?;
            }
        }
        Some(Object::Dictionary(old)) => {
            let mut form = old.clone();
            add_field(&mut form, &mut update)?;
            if form != old {
                catalog.set("AcroForm", Object::Dictionary(form));
                catalog_changed = true;
            }
        }
        _ => {
            let mut form = Dictionary::new();
            add_field(&mut form, &mut update)?;
            catalog.set("AcroForm", Object::Dictionary(form));
            catalog_changed = true;
        }
    }
    if catalog_changed {
        update.put(root_id, &Object::Dictionary(catalog))?;
    }

    // The signature dictionary, written by hand so the placeholders' places are known.
    let room = placeholder.room;
    let mut body = b"<<".to_vec();
    body.extend_from_slice(&placeholder.entries);
    let lock = existing.and_then(|(field, _)| deref_dict(doc, field.dict.get(b"Lock").ok()));
    body.extend(docmdp::reference_entry(doc, certify, lock, root_id)?);
    let byte_range_at = body.len() + b" /ByteRange ".len();
    body.extend_from_slice(format!(" /ByteRange [{:<43}]", "0").as_bytes());
    let contents_at = body.len() + b" /Contents ".len();
    body.extend_from_slice(b" /Contents <");
    body.resize(body.len() + 2 * room, b'0');
    body.extend_from_slice(b">>>");
    update.put_raw(signature_id, body);

    let mut written = update.finish()?;
    let object_at = written
        .offsets
        .get(&signature_id)
        .copied()
        .ok_or_else(|| PluginError::malformed("the signature object was not written"))?;
    let header = format!("{} {} obj\n", signature_id.0, signature_id.1).len();
    let hole_start = object_at + header + contents_at;
    let hole_end = hole_start + 2 * room + 2;
    let length = file.len() + written.tail.len();
    let byte_range = format!("[0 {hole_start} {hole_end} {}", length - hole_end);
    // The signature object is in the update, after the file's own bytes.
    let range_start = object_at + header + byte_range_at - file.len();
    let slot = written
        .tail
        .get_mut(range_start..range_start + 44)
        .ok_or_else(|| PluginError::malformed("the /ByteRange placeholder was not written"))?;
    if byte_range.len() > slot.len() {
        return Err(PluginError::unsupported("the PDF is too large to sign"));
    }
    slot.fill(b' ');
    slot[..byte_range.len()].copy_from_slice(byte_range.as_bytes());
    Ok(PreparedPdf {
        file,
        tail: written.tail,
        hole: (hole_start, hole_end),
    })
}

/// Refuses a signature the document does not permit: a certification signature on a document
/// already signed (ISO 32000-1 12.8.2.2: it must be the first), any signature on a document
/// certified with no changes permitted, and a new visible signature field on a certified one
/// (a new annotation, which pyHanko's difference analysis, like Acrobat's stricter setting,
/// does not take as "signing"). `field`: the field signed into, if any.
fn permitted(
    document: &Document,
    form: &FormTree,
    certify: Option<DocMdpPermissions>,
    field: Option<&str>,
    stamped: bool,
) -> Result<(), PluginError> {
    let signed: Vec<&str> = form
        .fields
        .iter()
        .filter(|f| f.is_signature() && f.is_filled())
        .map(|f| f.name.as_str())
        .collect();
    if certify.is_some() && !signed.is_empty() {
        return Err(PluginError::bad_request(format!(
            "the PDF is already signed ({}): a certification signature must be a document's \
             first signature (ISO 32000-1 12.8.2.2); sign it without `certify`, as an approval \
             signature",
            quoted(&signed)
        )));
    }
    match docmdp::of_document(document) {
        Some(DocMdpPermissions::NoChanges) => Err(PluginError::bad_request(
            "the PDF is certified with DocMDP permissions P=1 (no changes): any further \
             signature would invalidate its certification signature",
        )),
        Some(p) if stamped && field.is_none() => Err(PluginError::bad_request(format!(
            "the PDF is certified with DocMDP permissions {p}: a new visible signature field \
             would be a new annotation on its page, which counts against the certification; \
             sign into one of its empty signature fields (`field`: {}) or without a stamp",
            quoted(&form.empty_signature_fields())
        ))),
        _ => Ok(()),
    }
}

/// The empty signature field `name` of `form` and the object of its widget, refused with the
/// empty signature fields listed when there is no such field or it is no empty signature field.
fn empty_signature_field<'f>(
    form: &'f FormTree,
    name: &str,
) -> Result<(&'f FormField, ObjectId), PluginError> {
    let empty = form.empty_signature_fields();
    let choose = || match empty.is_empty() {
        true => "it has no empty signature field: sign without `field` to add one".to_string(),
        false => format!("its empty signature fields: {}", quoted(&empty)),
    };
    let field = form.field(name).ok_or_else(|| {
        PluginError::bad_request(format!(
            "the PDF has no field {name:?} to sign into; {}",
            choose()
        ))
    })?;
    if !field.is_signature() {
        return Err(PluginError::bad_request(format!(
            "the PDF's field {name:?} is not a signature field; {}",
            choose()
        )));
    }
    if field.is_filled() {
        return Err(PluginError::bad_request(format!(
            "the PDF's signature field {name:?} is already signed; {}",
            choose()
        )));
    }
    let widget = match (field.id, &field.widgets[..]) {
        (Some(id), [(Some(widget), _)]) => Some((id, *widget)),
        _ => None,
    };
    widget.map(|(_, widget)| (field, widget)).ok_or_else(|| {
        PluginError::unsupported(format!(
            "signature field {name:?} is not one indirect field with one widget, which is all \
             this plugin signs into; sign without `field` to add a field of its own"
        ))
    })
}

/// Fills the empty signature `field` (its widget `widget_id`) with the signature `signature_id`,
/// drawing the placeholder's stamp in the widget's own rectangle; the field's id. Its page and
/// the form's /Fields stay as they are.
fn fill_signature_field(
    update: &mut Update<'_>,
    document: &Document,
    field: &FormField,
    widget_id: ObjectId,
    signature_id: ObjectId,
    placeholder: &Placeholder<'_>,
) -> Result<ObjectId, PluginError> {
    let field_id = field
        .id
        .ok_or_else(|| PluginError::malformed("the signature field is not an indirect object"))?;
    let mut dict = field.dict.clone();
    dict.set("V", Object::Reference(signature_id));
    let appearance = match &placeholder.stamp {
        Some(stamp) => {
            let widget = field
                .widgets
                .first()
                .map(|(_, w)| w)
                .ok_or_else(|| PluginError::malformed("the signature field has no widget"))?;
            let placement = stamp.place_in_widget(document, widget_id, widget, &field.name)?;
            let form_id = stamp.write(update, &placement)?;
            Some(Object::Dictionary(Dictionary::from_iter([(
                "N",
                Object::Reference(form_id),
            )])))
        }
        None => None,
    };
    match appearance {
        Some(ap) if widget_id == field_id => dict.set("AP", ap),
        Some(ap) => {
            let mut widget = field.widgets[0].1.clone();
            widget.set("AP", ap);
            update.put(widget_id, &Object::Dictionary(widget))?;
        }
        None => {}
    }
    update.put(field_id, &Object::Dictionary(dict))?;
    Ok(field_id)
}

/// Adds a new signature field holding `signature_id`, merged with its widget: on the first page
/// and invisible, or the placeholder's stamp where the request places it; the field's id. The
/// page lists the widget; the caller lists the field in the form.
fn new_signature_field(
    update: &mut Update<'_>,
    doc: &Document,
    signature_id: ObjectId,
    placeholder: &Placeholder<'_>,
) -> Result<ObjectId, PluginError> {
    let field_id = update.new_id();
    let placement = match &placeholder.stamp {
        Some(stamp) => stamp.place(doc)?,
        None => Placement {
            page: doc.page_iter().next().ok_or_else(|| {
                PluginError::malformed("the PDF has no page to put the signature on")
            })?,
            rect: [0.0; 4],
            rotate: 0,
        },
    };
    let page_id = placement.page;

    // The field and its widget in one dictionary (ISO 32000-1 12.5.6.19), printed and locked;
    // invisible: an empty rectangle; visible: the stamp as its normal appearance, written in
    // this same update so the signature covers it.
    let names = field_names(doc);
    let name = (1..)
        .map(|n| format!("{}{n}", placeholder.field_prefix))
        .find(|n| !names.contains(n))
        .unwrap_or_default();
    let mut field = Dictionary::new();
    field.set("FT", Object::Name(b"Sig".to_vec()));
    field.set(
        "T",
        Object::String(name.into_bytes(), StringFormat::Literal),
    );
    field.set("V", Object::Reference(signature_id));
    field.set("Type", Object::Name(b"Annot".to_vec()));
    field.set("Subtype", Object::Name(b"Widget".to_vec()));
    field.set(
        "Rect",
        Object::Array(
            placement
                .rect
                .into_iter()
                .map(|v| Object::Real(v as f32))
                .collect(),
        ),
    );
    if let Some(stamp) = &placeholder.stamp {
        let form_id = stamp.write(update, &placement)?;
        field.set(
            "AP",
            Object::Dictionary(Dictionary::from_iter([("N", Object::Reference(form_id))])),
        );
    }
    field.set("F", Object::Integer(132));
    field.set("P", Object::Reference(page_id));
    update.put(field_id, &Object::Dictionary(field))?;

    // The page lists the widget among its annotations.
    let mut page = doc
        .get_dictionary(page_id)
        .map_err(|e| PluginError::malformed(format!("the signature's page is damaged: {e}")))?
        .clone();
    match page.get(b"Annots") {
        Ok(Object::Reference(annots_id)) => {
            let annots_id = *annots_id;
            let mut annots = doc
                .get_object(annots_id)
                .and_then(Object::as_array)
                .map_err(|e| PluginError::malformed(format!("the page's /Annots is damaged: {e}")))?
                .clone();
            annots.push(Object::Reference(field_id));
            update.put(annots_id, &Object::Array(annots))?;
        }
        Ok(Object::Array(annots)) => {
            let mut annots = annots.clone();
            annots.push(Object::Reference(field_id));
            page.set("Annots", Object::Array(annots));
            update.put(page_id, &Object::Dictionary(page))?;
        }
        _ => {
            page.set("Annots", Object::Array(vec![Object::Reference(field_id)]));
            update.put(page_id, &Object::Dictionary(page))?;
        }
    }
    Ok(field_id)
}

/// `names`, quoted and separated by commas.
fn quoted(names: &[impl AsRef<str>]) -> String {
    names
        .iter()
        .map(|n| format!("{:?}", n.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
}
