//! What a person reading a document is shown (SVR 4.2): the document verified again as of now,
//! exactly as it travelled (4.2.1, 4.2.4), the signed content (4.2.3), the revision each
//! signature of a PDF signed, as a file of its own (4.2.1, 4.2.3), and each signature's result
//! with its signer (4.2.2, 4.2.5–4.2.7, SVR 5.6).

use mubadile_plugin_api::PluginError;

use super::Exchange;
use super::delivery::Outcome;
use super::directory::OrganisationId;
use super::envelope::{self, DataObject};
use super::query::DocumentView;
use crate::time::now;
use crate::validation::ValidationReport;
use crate::{Error, Result};

/// A document opened for reading.
#[derive(Debug, Clone)]
pub struct Reading {
    /// The document as the reader's organisation may see it.
    pub view: DocumentView,
    /// The main document, signed in its own format, as the envelope carries it; `None` when
    /// the envelope cannot be opened (its verification then says why).
    pub document: Option<DataObject>,
    /// The names of the attachments.
    pub attachments: Vec<String>,
    /// The signed content as text, when it is text (SVR 4.2.3).
    pub signed_text: Option<String>,
    /// The identifiers of the main document's signatures whose signed revision
    /// [`Exchange::signed_revision`] gives (the signatures of a PDF).
    pub signed_revisions: Vec<String>,
    /// The verification made now, of the envelope's bytes as stored (SVR 4.2.1, 4.2.4).
    pub outcome: Outcome,
    /// When that verification ran.
    pub verified_at: chrono::DateTime<chrono::Utc>,
}

impl Exchange {
    /// Opens document `id` for `reader` and verifies it again, as the recipient would: a
    /// recipient as itself, the sender as its first addressee.
    pub fn read(&self, reader: &OrganisationId, id: &str) -> Result<Reading> {
        let view = self.document(reader, id)?;
        let bytes = self.envelope(reader, id)?;
        let verifier = verifier(&view, reader)?;
        let verified_at = now();
        let outcome = self.verify_envelope(&bytes, &verifier, &view.sender, None);
        // SVR 4.2.7: a changed envelope is shown as a negative verification, not as an error.
        let contents = envelope::open(&bytes).ok().map(|opened| opened.contents);
        let signed_text = contents
            .as_ref()
            .and_then(|c| self.signed_text(&c.document));
        let signed_revisions = match (&contents, &outcome) {
            (
                Some(c),
                Outcome::Accepted(verification) | Outcome::Refused(_, Some(verification)),
            ) => self.signatures_with_revisions(&c.document, &verification.document),
            _ => Vec::new(),
        };
        let (document, attachments) = match contents {
            Some(c) => (
                Some(c.document),
                c.attachments.into_iter().map(|a| a.name).collect(),
            ),
            None => (None, Vec::new()),
        };
        Ok(Reading {
            view,
            document,
            attachments,
            signed_text,
            signed_revisions,
            outcome,
            verified_at,
        })
    }

    /// The main document of `id` as the envelope carries it, for `reader` to download.
    pub fn signed_document(&self, reader: &OrganisationId, id: &str) -> Result<DataObject> {
        let bytes = self.envelope(reader, id)?;
        Ok(envelope::open(&bytes)?.contents.document)
    }

    /// The revision of the main document of `id` that its signature number `number` (from 1,
    /// in document order, as the verification lists them) signed, as a file of its own, for
    /// `reader` to download (SVR 4.2.1, 4.2.3): exactly what the signer saw, whatever was
    /// added after. Only a format that signs revisions (PDF) has one; for another the answer
    /// is a refusal saying to download the signed document instead.
    pub fn signed_revision(
        &self,
        reader: &OrganisationId,
        id: &str,
        number: usize,
    ) -> Result<DataObject> {
        let document = self.signed_document(reader, id)?;
        let (plugin, description) = self.validation.validator.plugin_for(&document.content)?;
        let unreadable = |e: PluginError| {
            Error::invalid(
                "document",
                format!("its signatures cannot be read: {}", e.message),
            )
        };
        let signatures = plugin
            .signatures(&document.content, None)
            .map_err(unreadable)?;
        let signature = number
            .checked_sub(1)
            .and_then(|index| signatures.get(index))
            .ok_or_else(|| {
                Error::not_found(
                    "signature",
                    format!(
                        "{number} of document {id}: it has {} signature(s), numbered from 1",
                        signatures.len()
                    ),
                )
            })?;
        let revision = plugin
            .signed_revision(&document.content, &signature.id)
            .map_err(unreadable)?
            .ok_or_else(|| {
                Error::refused(
                    "no_signed_revision",
                    format!(
                        "the document is {}, whose signatures cover it as it is rather than an \
                         earlier revision of it; download the signed document instead (only a \
                         PDF keeps the revision each signature signed)",
                        description.format
                    ),
                )
            })?;
        // A name that travels in any header: the document's id, the signature's number and
        // the file's own extension.
        let extension = document
            .name
            .rsplit_once('.')
            .map(|(_, e)| e)
            .filter(|e| !e.is_empty() && e.chars().all(|c| c.is_ascii_alphanumeric()))
            .map_or_else(String::new, |e| format!(".{e}"));
        Ok(DataObject {
            name: format!("{id}-signature-{number}{extension}"),
            media_type: description.media_type,
            content: revision,
        })
    }

    /// The identifiers of the signatures in `report` whose signed revision `document` keeps.
    fn signatures_with_revisions(
        &self,
        document: &DataObject,
        report: &ValidationReport,
    ) -> Vec<String> {
        let Ok((plugin, _)) = self.validation.validator.plugin_for(&document.content) else {
            return Vec::new();
        };
        report
            .signatures
            .iter()
            .filter(|s| {
                plugin
                    .signed_revision(&document.content, &s.id)
                    .is_ok_and(|revision| revision.is_some())
            })
            .map(|s| s.id.clone())
            .collect()
    }
}

/// A signature's number as a path or form gives it: from 1, in document order.
pub fn signature_number(text: &str) -> Result<usize> {
    text.parse::<usize>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            Error::invalid(
                "signature number",
                format!(
                    "{text:?} is not a signature number; the signatures are numbered from 1 in document order"
                ),
            )
        })
}

/// Who verifies document `view` for `reader`, as the recipient would: a recipient itself, the
/// sender its first addressee.
pub(super) fn verifier(view: &DocumentView, reader: &OrganisationId) -> Result<OrganisationId> {
    if view.sender == *reader {
        view.deliveries
            .first()
            .map(|d| d.recipient.clone())
            .ok_or_else(|| Error::not_found("delivery", &view.id))
    } else {
        Ok(reader.clone())
    }
}
