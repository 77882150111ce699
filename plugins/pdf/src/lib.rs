//! The PAdES format plugin of Mübadilə: PDF signatures (ISO 32000-1 12.8) at the baseline
//! levels of ETSI EN 319 142-1.
//!
//! Reading finds every signature field's signature dictionary, checks that its /ByteRange
//! covers the whole revision it signs except exactly its /Contents, and reads the CMS inside with
//! the CMS plugin over the covered bytes; changes made in later revisions are classified as PAdES
//! allows them or not (SVR 4.2.7). Signing appends an incremental update and leaves every earlier
//! byte as it was. It never checks a signature: `mubadile-core` does.

mod appearance;
mod archive;
mod byte_range;
mod changes;
mod date;
mod docmdp;
mod dss;
mod extend;
mod fields;
mod font;
mod incremental;
mod objects;
mod protocol;
mod read;
mod revisions;
mod serialize;
mod sign;
mod sparse;
mod text;

use mubadile_plugin_api::{
    Description, Format, FormatPlugin, PluginError, Prepared, SignRequest, SignatureEvidence,
    ValidationData,
};

pub use crate::protocol::{Block, Protocol};
use crate::read::SignedPdf;

// The C ABI entries, only in the loadable build (see the `dynamic` feature in Cargo.toml).
#[cfg(feature = "dynamic")]
mubadile_plugin_api::export_plugin!(PdfPlugin);

/// The PAdES plugin.
#[derive(Debug, Default, Clone, Copy)]
pub struct PdfPlugin;

impl FormatPlugin for PdfPlugin {
    fn name(&self) -> &'static str {
        "pdf"
    }

    fn formats(&self) -> Vec<Format> {
        vec![Format::new("PDF (PAdES)", "application/pdf")]
    }

    fn sniff(&self, document: &[u8]) -> Option<Description> {
        if !document.starts_with(b"%PDF-") {
            return None;
        }
        // An encrypted PDF is still recognised, so that validating it says why it cannot be
        // validated rather than that no plugin knows it.
        let signature_count = if read::is_encrypted(document) {
            0
        } else {
            SignedPdf::read(document).ok()?.signature_count()
        };
        Some(Description {
            plugin: self.name().into(),
            format: "PDF (PAdES)".into(),
            media_type: "application/pdf".into(),
            signature_count,
            detached: false,
        })
    }

    fn signatures(
        &self,
        document: &[u8],
        detached_content: Option<&[u8]>,
    ) -> Result<Vec<SignatureEvidence>, PluginError> {
        if detached_content.is_some() {
            return Err(PluginError::bad_request(
                "a PDF carries its signed data: give no detached content",
            ));
        }
        SignedPdf::read(document)?.evidence()
    }

    /// The text of the revision the first signature signed (`text.rs`); never an error: a PDF
    /// whose text cannot be told has none, and is exchanged all the same.
    fn text(&self, document: &[u8]) -> Result<Option<String>, PluginError> {
        Ok(text::signed_text(document))
    }

    /// The file up to the end of the revision signature `signature` signed: a PDF of its own,
    /// what the signer saw, whatever later revisions changed (SVR 4.2.1, 4.2.3).
    fn signed_revision(
        &self,
        document: &[u8],
        signature: &str,
    ) -> Result<Option<Vec<u8>>, PluginError> {
        SignedPdf::read(document)?
            .signed_revision(signature)
            .map(Some)
    }

    fn prepare(&self, request: &SignRequest) -> Result<Prepared, PluginError> {
        sign::prepare(request)
    }

    fn finish(
        &self,
        request: &SignRequest,
        prepared: &Prepared,
        signature_value: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        sign::finish(request, prepared, signature_value)
    }

    fn sign(
        &self,
        request: SignRequest,
        key: &mut mubadile_plugin_api::SigningKey<'_>,
    ) -> Result<Vec<u8>, PluginError> {
        sign::sign(request, key)
    }

    fn signature_timestamp_data(
        &self,
        document: &[u8],
        signature: &str,
    ) -> Result<Vec<u8>, PluginError> {
        extend::signature_timestamp_data(document, signature)
    }

    fn add_signature_timestamp(
        &self,
        document: &[u8],
        signature: &str,
        token: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        extend::add_signature_timestamp(document, signature, token)
    }

    fn add_validation_data(
        &self,
        document: &[u8],
        data: &ValidationData,
    ) -> Result<Vec<u8>, PluginError> {
        dss::add_validation_data(document, data)
    }

    /// A document timestamp covers every signature at once: `signature` only has to exist.
    fn archive_timestamp_data(
        &self,
        document: &[u8],
        signature: &str,
        detached_content: Option<&[u8]>,
    ) -> Result<Vec<u8>, PluginError> {
        if detached_content.is_some() {
            return Err(PluginError::bad_request(
                "a PDF carries its signed data: give no detached content",
            ));
        }
        SignedPdf::read(document)?.signature(signature)?;
        archive::archive_timestamp_data(document)
    }

    fn add_archive_timestamp(
        &self,
        document: &[u8],
        signature: &str,
        token: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        SignedPdf::read(document)?.signature(signature)?;
        archive::add_archive_timestamp(document, token)
    }
}
