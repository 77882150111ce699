//! Bodies of `/api/v1/documents`: sending (EDE 4.1–4.2) and refusing (EDE 5.4).

use mubadile_core::exchange::envelope::DataObject;
use mubadile_core::exchange::requisites::OptionalRequisites;
use serde::{Deserialize, Serialize};

/// `POST /api/v1/documents`: a signed document for one or more organisations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendBody {
    /// The sender's id of this message; or the `Idempotency-Key` header (EDE 4.3.3).
    #[serde(default)]
    pub message_id: Option<String>,
    /// The kind of document, e.g. `letter`.
    pub kind: String,
    /// What it is about.
    pub title: String,
    /// The sender's category; `general` if absent.
    #[serde(default)]
    pub category: Option<String>,
    /// The addressees' organisation ids (EDE 3.1).
    pub addressees: Vec<String>,
    /// The sender's registration number, when its own office system assigned one.
    #[serde(default)]
    pub registration_number: Option<String>,
    /// Optional requisites (EDE 3.2).
    #[serde(default)]
    pub optional: OptionalRequisites,
    /// The signed main document.
    pub document: FileBody,
    /// Attachments.
    #[serde(default)]
    pub attachments: Vec<FileBody>,
    /// Hours the recipients have to confirm receipt, instead of the agreed term (EDE 4.6).
    #[serde(default)]
    pub receipt_term_hours: Option<i64>,
}

/// A file inside a body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileBody {
    /// Its name, without folder.
    pub name: String,
    /// Its media type.
    pub media_type: String,
    /// Its bytes (base64).
    #[serde(with = "mubadile_core::serde_base64")]
    pub content: Vec<u8>,
}

impl From<FileBody> for DataObject {
    fn from(file: FileBody) -> DataObject {
        DataObject {
            name: file.name,
            media_type: file.media_type,
            content: file.content,
        }
    }
}

/// `POST /api/v1/documents/{id}/refusal`: why the document is defective (EDE 5.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefusalBody {
    /// The reason, told to the sender.
    pub reason: String,
}
