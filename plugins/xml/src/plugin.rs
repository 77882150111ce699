//! The XML plugin behind the format-plugin contract. Reading is implemented; signing and
//! extending XAdES signatures are not yet, and say so.

use mubadile_plugin_api::{
    Description, Format, FormatPlugin, PluginError, Prepared, SignRequest, SignatureEvidence,
    ValidationData,
};

use crate::{dsig, parse};

/// The XML (XMLDSig / XAdES) plugin.
#[derive(Debug, Default, Clone, Copy)]
pub struct XmlPlugin;

const NOT_YET: &str = "creating or extending XAdES signatures is not implemented yet (issue 6)";

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
        let signature_count = dsig::signatures(&doc).len();
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
                "XML signatures are read from the document itself; detached data is not supported yet",
            ));
        }
        let doc = parse(document).map_err(PluginError::malformed)?;
        Ok(dsig::signatures(&doc)
            .into_iter()
            .enumerate()
            .map(|(i, s)| dsig::evidence(&doc, i, s))
            .collect())
    }

    fn prepare(&self, _request: &SignRequest) -> Result<Prepared, PluginError> {
        Err(PluginError::unsupported(NOT_YET))
    }

    fn finish(
        &self,
        _request: &SignRequest,
        _prepared: &Prepared,
        _signature_value: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        Err(PluginError::unsupported(NOT_YET))
    }

    fn signature_timestamp_data(
        &self,
        _document: &[u8],
        _signature: &str,
    ) -> Result<Vec<u8>, PluginError> {
        Err(PluginError::unsupported(NOT_YET))
    }

    fn add_signature_timestamp(
        &self,
        _document: &[u8],
        _signature: &str,
        _token: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        Err(PluginError::unsupported(NOT_YET))
    }

    fn add_validation_data(
        &self,
        _document: &[u8],
        _data: &ValidationData,
    ) -> Result<Vec<u8>, PluginError> {
        Err(PluginError::unsupported(NOT_YET))
    }

    fn archive_timestamp_data(
        &self,
        _document: &[u8],
        _signature: &str,
        _detached_content: Option<&[u8]>,
    ) -> Result<Vec<u8>, PluginError> {
        Err(PluginError::unsupported(NOT_YET))
    }

    fn add_archive_timestamp(
        &self,
        _document: &[u8],
        _signature: &str,
        _token: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        Err(PluginError::unsupported(NOT_YET))
    }
}
