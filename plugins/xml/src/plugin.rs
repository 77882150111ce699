//! The XML plugin behind the format-plugin contract: reading, B-B signing, signature timestamps
//! (B-T), validation values (B-LT) and archive timestamps (B-LTA).

use mubadile_plugin_api::{
    Description, Format, FormatPlugin, PluginError, Prepared, SignRequest, SignatureEvidence,
    ValidationData,
};

use crate::{dsig, extend, parse, sign};

/// The XML (XMLDSig / XAdES) plugin.
#[derive(Debug, Default, Clone, Copy)]
pub struct XmlPlugin;

impl FormatPlugin for XmlPlugin {
    fn name(&self) -> &'static str {
        "xml"
    }

    fn formats(&self) -> Vec<Format> {
        vec![Format::new(
            "XML with XMLDSig/XAdES signatures",
            "application/xml",
        )]
    }

    fn sniff(&self, document: &[u8]) -> Option<Description> {
        let doc = parse(document).ok()?;
        let signatures = dsig::signatures(&doc);
        let signature_count = dsig::named_signatures(&doc).len();
        let detached = signatures.iter().any(|&s| dsig::is_detached(&doc, s));
        Some(Description {
            plugin: self.name().into(),
            format: if signature_count > 0 {
                "XML with XMLDSig/XAdES signatures"
            } else {
                "XML"
            }
            .into(),
            media_type: "application/xml".into(),
            signature_count,
            detached,
        })
    }

    fn signatures(
        &self,
        document: &[u8],
        detached_content: Option<&[u8]>,
    ) -> Result<Vec<SignatureEvidence>, PluginError> {
        let doc = parse(document).map_err(PluginError::malformed)?;
        let named = dsig::named_signatures(&doc);
        Ok(named
            .iter()
            .map(|(id, parent, node)| {
                let parent = parent.as_deref().and_then(|p| {
                    named
                        .iter()
                        .find(|(name, _, _)| name == p)
                        .map(|(name, _, n)| (name.as_str(), *n))
                });
                dsig::named_evidence(&doc, id, parent, *node, detached_content)
            })
            .collect())
    }

    fn prepare(&self, request: &SignRequest) -> Result<Prepared, PluginError> {
        request.refuse_form_options("XML (XAdES)")?;
        sign::prepare(request)
    }

    fn finish(
        &self,
        request: &SignRequest,
        prepared: &Prepared,
        signature_value: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        request.refuse_form_options("XML (XAdES)")?;
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
        extend::archive_timestamp_data(document, signature, detached_content)
    }

    fn add_archive_timestamp(
        &self,
        document: &[u8],
        signature: &str,
        token: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        extend::add_archive_timestamp(document, signature, token)
    }
}
