//! Document timestamps (EN 319 142-1 5.4.3, B-LTA): one more incremental update with a signature
//! field whose /DocTimeStamp dictionary holds an RFC 3161 token over the /ByteRange bytes, which
//! cover every earlier revision with its signatures and /DSS.
//!
//! The update is built deterministically, so the bytes to timestamp and the file that receives
//! the token are the same update built twice.

use mubadile_plugin_api::PluginError;

use crate::sign::{Placeholder, PreparedPdf, Purpose, prepared_update};

/// Room for the token with the TSA's certificates.
const TOKEN_ROOM: usize = 16 * 1024;

/// The bytes a document timestamp added to `document` now covers (for any of its signatures:
/// a document timestamp covers them all).
pub fn archive_timestamp_data(document: &[u8]) -> Result<Vec<u8>, PluginError> {
    Ok(update(document)?.covered())
}

/// Adds a document timestamp holding `token`, made over [`archive_timestamp_data`].
pub fn add_archive_timestamp(document: &[u8], token: &[u8]) -> Result<Vec<u8>, PluginError> {
    let mut prepared = update(document)?;
    if token.first() != Some(&0x30) {
        return Err(PluginError::bad_request(
            "the timestamp token is not a DER ContentInfo",
        ));
    }
    prepared.write_contents(token)?;
    Ok(prepared.bytes())
}

fn update(document: &[u8]) -> Result<PreparedPdf<'_>, PluginError> {
    prepared_update(
        document,
        &Placeholder {
            field_prefix: "Timestamp",
            entries: b"/Type /DocTimeStamp /Filter /Adobe.PPKLite /SubFilter /ETSI.RFC3161"
                .to_vec(),
            room: TOKEN_ROOM,
            stamp: None,
            purpose: Purpose::DocumentTimestamp,
        },
    )
}
