//! Raising a PDF signature's level: a signature timestamp (B-T) written into the signature's own
//! /Contents in place, which the /ByteRange leaves out, so no signed byte moves.

use mubadile_plugin_api::{FormatPlugin, PluginError};
use mubadile_plugin_cms::CmsPlugin;

use crate::read::SignedPdf;
use crate::sign::write_contents;

/// The bytes a signature timestamp over signature `id` covers: its signature value
/// (EN 319 142-1 6.3, as in CAdES).
pub fn signature_timestamp_data(document: &[u8], id: &str) -> Result<Vec<u8>, PluginError> {
    let pdf = SignedPdf::read(document)?;
    let (_, cms) = pdf.signature(id)?;
    CmsPlugin.signature_timestamp_data(cms, id)
}

/// Adds the signature timestamp `token` to signature `id`, rewriting its /Contents in place.
pub fn add_signature_timestamp(
    document: &[u8],
    id: &str,
    token: &[u8],
) -> Result<Vec<u8>, PluginError> {
    let pdf = SignedPdf::read(document)?;
    let (found, cms) = pdf.signature(id)?;
    // A later revision covers this /Contents: changing it would break every later signature.
    if found.coverage.revision != Some(pdf.revisions.len() - 1) {
        return Err(PluginError::unsupported(
            "only a signature in the latest revision can get a signature timestamp in place; later signatures cover this one. Add a document timestamp instead",
        ));
    }
    if !found.coverage.problems.is_empty() {
        return Err(PluginError::malformed(format!(
            "the signature's /ByteRange is damaged: {}",
            found.coverage.problems.join("; ")
        )));
    }
    let timestamped = CmsPlugin.add_signature_timestamp(cms, id, token)?;
    let hole = (found.coverage.ranges[0].1, found.coverage.ranges[1].0);
    let mut bytes = document.to_vec();
    write_contents(&mut bytes, hole, &timestamped)?;
    Ok(bytes)
}
