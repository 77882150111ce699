//! Composing, signing and sending in the UI (EDE 2.1 steps 1–3): a clerk forms a draft (a file
//! uploaded or a letter typed in the form, requisites, addressees from the directory, a route
//! for signatures); each signer on the route signs in turn, with the key carrier they hold and
//! its PIN, or on their own token in two steps; then a person allowed to send sends it. Every
//! rule is the core's (`mubadile_core::exchange::drafts`, `Exchange::send`); these handlers
//! only read forms and show pages. Forms with files are `multipart/form-data`, held in memory,
//! so a key carrier never touches the disk.

pub(super) mod compose;
pub(super) mod send;
pub(super) mod show;
pub(super) mod sign;

pub use show::draft_status;

use actix_multipart::form::bytes::Bytes;
use mubadile_core::Error;
use mubadile_core::exchange::OrganisationId;
use mubadile_core::exchange::drafts::COMPOSERS;

use super::session::SignedIn;

/// The organisation the user forms documents for, if they may.
fn composer_organisation(signed_in: &SignedIn) -> Result<OrganisationId, Error> {
    let organisation =
        signed_in.actor.organisation.clone().ok_or_else(|| {
            Error::refused("no_organisation", "the user belongs to no organisation")
        })?;
    signed_in.actor.require_in(&organisation, &COMPOSERS)?;
    Ok(organisation)
}

/// An uploaded file, `None` when the file field was left empty (browsers send an empty part).
fn uploaded(file: Option<Bytes>) -> Option<Bytes> {
    file.filter(|f| !f.data.is_empty())
}

/// The name an uploaded file is kept under: its own name without any folder, or `fallback`.
fn file_name(file: &Bytes, fallback: &str) -> String {
    file.file_name
        .as_deref()
        .and_then(|n| n.rsplit(['/', '\\']).next())
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(fallback)
        .to_string()
}

/// The media type of an uploaded file as the browser declared it.
fn media_type(file: &Bytes) -> String {
    file.content_type.as_ref().map_or_else(
        || "application/octet-stream".to_string(),
        ToString::to_string,
    )
}
