//! What a person reading a document is shown (SVR 4.2): the document verified again as of now,
//! exactly as it travelled (4.2.1, 4.2.4), the signed content (4.2.3), and each signature's
//! result with its signer (4.2.2, 4.2.5–4.2.7, SVR 5.6).

use super::Exchange;
use super::delivery::Outcome;
use super::directory::OrganisationId;
use super::envelope::{self, DataObject};
use super::query::DocumentView;
use crate::time::now;
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
            outcome,
            verified_at,
        })
    }

    /// The main document of `id` as the envelope carries it, for `reader` to download.
    pub fn signed_document(&self, reader: &OrganisationId, id: &str) -> Result<DataObject> {
        let bytes = self.envelope(reader, id)?;
        Ok(envelope::open(&bytes)?.contents.document)
    }
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
