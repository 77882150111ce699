//! Making a PAdES baseline B-B signature (EN 319 142-1 6.3) as an incremental update: a
//! signature field with an invisible widget on the first page, or a visible stamp where the
//! request places it (`appearance`), a signature dictionary with
//! /SubFilter /ETSI.CAdES.detached, a fixed-size /Contents placeholder and a /ByteRange patched
//! in place; the CMS inside is made by the CMS plugin, detached over the /ByteRange bytes.
//!
//! The prepared file is built deterministically from the request, so [`finish`] builds it again
//! instead of carrying it through the host.

use lopdf::{Dictionary, Object, StringFormat};
use mubadile_plugin_api::{FormatPlugin, PluginError, Prepared, SignRequest, SignTarget};
use mubadile_plugin_cms::{CmsPlugin, SigningTime};

use crate::appearance::{Placement, Stamp};
use crate::fields::field_names;
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

/// The update that adds the signature field, its widget and the signature dictionary with an
/// empty /Contents, its /ByteRange already patched.
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
}

/// The update of `file` that adds a signature field, its widget (invisible on the first page, or
/// the placeholder's stamp) and a signature dictionary as `placeholder` says, with an empty /Contents and its /ByteRange
/// already patched.
pub fn prepared_update<'a>(
    file: &'a [u8],
    placeholder: &Placeholder<'_>,
) -> Result<PreparedPdf<'a>, PluginError> {
    let (document, last) = read::for_update(file)?;
    let doc = &document;
    let mut update = Update::new(file, doc, last);
    let signature_id = update.new_id();
    let field_id = update.new_id();

    let root_id = doc
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .map_err(|_| PluginError::malformed("the PDF's trailer has no /Root catalog reference"))?;
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
        let form_id = stamp.write(&mut update, placement.rotate)?;
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

    // The form lists the field; /SigFlags 3: signatures exist, append only (12.7.2).
    let mut catalog = doc
        .get_dictionary(root_id)
        .map_err(|e| PluginError::malformed(format!("the catalog is damaged: {e}")))?
        .clone();
    let add_field = |form: &mut Dictionary, update: &mut Update<'_>| -> Result<(), PluginError> {
        form.set("SigFlags", Object::Integer(3));
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
    match catalog.get(b"AcroForm") {
        Ok(Object::Reference(form_id)) => {
            let form_id = *form_id;
            let mut form = doc
                .get_dictionary(form_id)
                .map_err(|e| PluginError::malformed(format!("the form is damaged: {e}")))?
                .clone();
            add_field(&mut form, &mut update)?;
            update.put(form_id, &Object::Dictionary(form))?;
        }
        Ok(Object::Dictionary(form)) => {
            let mut form = form.clone();
            add_field(&mut form, &mut update)?;
            catalog.set("AcroForm", Object::Dictionary(form));
            update.put(root_id, &Object::Dictionary(catalog))?;
        }
        _ => {
            let mut form = Dictionary::new();
            add_field(&mut form, &mut update)?;
            catalog.set("AcroForm", Object::Dictionary(form));
            update.put(root_id, &Object::Dictionary(catalog))?;
        }
    }

    // The signature dictionary, written by hand so the placeholders' places are known.
    let room = placeholder.room;
    let mut body = b"<<".to_vec();
    body.extend_from_slice(&placeholder.entries);
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
