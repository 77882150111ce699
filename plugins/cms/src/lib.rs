//! The CAdES format plugin of Mübadilə: CMS SignedData signatures (RFC 5652) at the baseline
//! levels of ETSI EN 319 122-1.
//!
//! Reading gives every signature and counter-signature as evidence with the exact bytes it
//! covers; signing builds the signed attributes for the host to sign and then assembles the
//! SignedData (new, parallel or counter-signature); extending adds signature timestamps (B-T) and
//! validation data (B-LT). It never checks a signature: `mubadile-core` does.

mod archive;
mod asn1;
mod assemble;
mod extend;
mod read;
mod rewrite;
mod sign;

use mubadile_plugin_api::{
    Description, Format, FormatPlugin, PluginError, Prepared, SignRequest, SignatureEvidence,
    ValidationData,
};

use crate::read::SignedDocument;

pub use crate::sign::SigningTime;

// The C ABI entries, only in the loadable build (see the `dynamic` feature in Cargo.toml).
#[cfg(feature = "dynamic")]
mubadile_plugin_api::export_plugin!(CmsPlugin);

/// Prepares a new signature as [`FormatPlugin::prepare`] does, choosing where the signing time
/// goes; for formats that embed a detached CMS signature and carry the time themselves (PAdES).
/// [`CmsPlugin::finish`] completes it.
pub fn prepare_with(request: &SignRequest, time: SigningTime) -> Result<Prepared, PluginError> {
    sign::prepare_with(request, time)
}

/// Prepares a new detached signature over data whose digest is `message_digest` (with the
/// request's digest algorithm), without the data itself: for formats that hash large signed
/// data where it lies. The request's target is not read; [`CmsPlugin::finish`] completes it
/// with a request whose target is a detached [`SignTarget::New`](mubadile_plugin_api::SignTarget).
pub fn prepare_detached(
    request: &SignRequest,
    message_digest: &[u8],
    time: SigningTime,
) -> Result<Prepared, PluginError> {
    sign::prepare_detached(request, message_digest, time)
}

/// The digest of the concatenation of `parts` with the digest algorithm `oid` (dotted), hashed
/// part by part where they lie.
pub fn digest_parts(oid: &str, parts: &[&[u8]]) -> Result<Vec<u8>, PluginError> {
    let oid = const_oid::ObjectIdentifier::new(oid)
        .map_err(|e| PluginError::bad_request(format!("{oid:?} is not an OID: {e}")))?;
    asn1::digest_parts(&oid, parts)
}

/// The CAdES plugin.
#[derive(Debug, Default, Clone, Copy)]
pub struct CmsPlugin;

impl FormatPlugin for CmsPlugin {
    fn name(&self) -> &'static str {
        "cms"
    }

    fn formats(&self) -> Vec<Format> {
        vec![
            Format::new("CMS SignedData (CAdES)", "application/pkcs7-mime"),
            Format::new(
                "CMS SignedData (CAdES), detached",
                "application/pkcs7-signature",
            ),
        ]
    }

    fn sniff(&self, document: &[u8]) -> Option<Description> {
        let doc = SignedDocument::read(document, None).ok()?;
        let detached = doc.content.is_none();
        let signature_count = doc.signature_count();
        Some(Description {
            plugin: self.name().into(),
            format: "CMS SignedData (CAdES)".into(),
            media_type: if detached {
                "application/pkcs7-signature"
            } else {
                "application/pkcs7-mime"
            }
            .into(),
            signature_count,
            detached,
        })
    }

    fn signed_content(&self, document: &[u8]) -> Result<Option<Vec<u8>>, PluginError> {
        Ok(SignedDocument::read(document, None)?
            .content
            .map(<[u8]>::to_vec))
    }

    fn signatures(
        &self,
        document: &[u8],
        detached_content: Option<&[u8]>,
    ) -> Result<Vec<SignatureEvidence>, PluginError> {
        SignedDocument::read(document, detached_content)?.evidence()
    }

    fn prepare(&self, request: &SignRequest) -> Result<Prepared, PluginError> {
        request.refuse_form_options("CMS (CAdES)")?;
        sign::prepare(request)
    }

    fn finish(
        &self,
        request: &SignRequest,
        prepared: &Prepared,
        signature_value: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        request.refuse_form_options("CMS (CAdES)")?;
        sign::finish(request, prepared, signature_value)
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
        extend::add_validation_data(document, data)
    }

    fn archive_timestamp_data(
        &self,
        document: &[u8],
        signature: &str,
        detached_content: Option<&[u8]>,
    ) -> Result<Vec<u8>, PluginError> {
        archive::archive_timestamp_data(document, signature, detached_content)
    }

    fn add_archive_timestamp(
        &self,
        document: &[u8],
        signature: &str,
        token: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        archive::add_archive_timestamp(document, signature, token)
    }
}
