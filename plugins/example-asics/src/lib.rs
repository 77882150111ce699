//! An example format plugin for Mübadilə, built outside its workspace and loaded at run time:
//! ASiC-S containers (ETSI EN 319 162-1, "simple" associated signature containers) holding one
//! data file and a detached CAdES signature over it in `META-INF/signature.p7s`.
//!
//! The signature itself is the platform's CAdES plugin's business, used here as a library: this
//! plugin only opens and writes the container and hands the signature and its data to it. See
//! `docs/plugins.md` for the C ABI, building, and allow-listing the library by its SHA-256.

use std::io::{Cursor, Read, Write};

use mubadile_plugin_api::{
    Description, Format, FormatPlugin, PluginError, Prepared, SignRequest, SignTarget,
    SignatureEvidence, ValidationData,
};
use mubadile_plugin_cms::CmsPlugin;
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

/// The media type of ASiC-S containers, held by their first entry, `mimetype`.
pub const MEDIA_TYPE: &str = "application/vnd.etsi.asic-s+zip";
/// Where the CAdES signature lives in the container (EN 319 162-1 4.3.3).
pub const SIGNATURE_PATH: &str = "META-INF/signature.p7s";
/// The data file's name in containers this plugin creates (the contract carries no file name).
pub const DATA_NAME: &str = "document.bin";
/// The most a container may hold, uncompressed: a guard against ZIP bombs.
const MAX_CONTENT: u64 = 256 * 1024 * 1024;

mubadile_plugin_api::export_plugin!(AsicsPlugin);

/// The ASiC-S plugin.
#[derive(Debug, Default, Clone, Copy)]
pub struct AsicsPlugin;

/// An opened container: its data file and its signature.
struct Container {
    data_name: String,
    data: Vec<u8>,
    signature: Vec<u8>,
}

impl FormatPlugin for AsicsPlugin {
    fn name(&self) -> &'static str {
        "asics"
    }

    fn formats(&self) -> Vec<Format> {
        vec![Format::new("ASiC-S with a CAdES signature", MEDIA_TYPE)]
    }

    fn sniff(&self, document: &[u8]) -> Option<Description> {
        let container = Container::read(document).ok()?;
        let cms = CmsPlugin.sniff(&container.signature)?;
        Some(Description {
            plugin: self.name().into(),
            format: "ASiC-S with a CAdES signature".into(),
            media_type: MEDIA_TYPE.into(),
            signature_count: cms.signature_count,
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
                "an ASiC-S container carries its data: give no detached content",
            ));
        }
        let container = Container::read(document)?;
        CmsPlugin.signatures(&container.signature, Some(&container.data))
    }

    fn signed_content(&self, document: &[u8]) -> Result<Option<Vec<u8>>, PluginError> {
        Ok(Some(Container::read(document)?.data))
    }

    fn prepare(&self, request: &SignRequest) -> Result<Prepared, PluginError> {
        CmsPlugin.prepare(&inner_request(request)?.0)
    }

    fn finish(
        &self,
        request: &SignRequest,
        prepared: &Prepared,
        signature_value: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        let (inner, data_name, data) = inner_request(request)?;
        let signature = CmsPlugin.finish(&inner, prepared, signature_value)?;
        Container {
            data_name,
            data,
            signature,
        }
        .write()
    }

    fn signature_timestamp_data(
        &self,
        document: &[u8],
        signature: &str,
    ) -> Result<Vec<u8>, PluginError> {
        CmsPlugin.signature_timestamp_data(&Container::read(document)?.signature, signature)
    }

    fn add_signature_timestamp(
        &self,
        document: &[u8],
        signature: &str,
        token: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        Container::read(document)?
            .with_signature(|s| CmsPlugin.add_signature_timestamp(s, signature, token))
    }

    fn add_validation_data(
        &self,
        document: &[u8],
        data: &ValidationData,
    ) -> Result<Vec<u8>, PluginError> {
        Container::read(document)?.with_signature(|s| CmsPlugin.add_validation_data(s, data))
    }

    fn archive_timestamp_data(
        &self,
        document: &[u8],
        signature: &str,
        _detached_content: Option<&[u8]>,
    ) -> Result<Vec<u8>, PluginError> {
        let container = Container::read(document)?;
        CmsPlugin.archive_timestamp_data(&container.signature, signature, Some(&container.data))
    }

    fn add_archive_timestamp(
        &self,
        document: &[u8],
        signature: &str,
        token: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        Container::read(document)?
            .with_signature(|s| CmsPlugin.add_archive_timestamp(s, signature, token))
    }
}

/// The CAdES request for the signature inside the container `request` targets, with the data
/// file's name and bytes.
fn inner_request(request: &SignRequest) -> Result<(SignRequest, String, Vec<u8>), PluginError> {
    let (target, data_name, data) = match &request.target {
        SignTarget::New { content, .. } => (
            SignTarget::New {
                content: content.clone(),
                attached: false,
            },
            DATA_NAME.to_owned(),
            content.clone(),
        ),
        SignTarget::Parallel { document, .. } => {
            let container = Container::read(document)?;
            (
                SignTarget::Parallel {
                    document: container.signature,
                    detached_content: Some(container.data.clone()),
                },
                container.data_name,
                container.data,
            )
        }
        SignTarget::Counter {
            document,
            signature,
        } => {
            let container = Container::read(document)?;
            (
                SignTarget::Counter {
                    document: container.signature,
                    signature: signature.clone(),
                },
                container.data_name,
                container.data,
            )
        }
    };
    let inner = SignRequest {
        target,
        ..request.clone()
    };
    Ok((inner, data_name, data))
}

impl Container {
    /// Opens an ASiC-S container: `mimetype` first, one data file, the CAdES signature.
    fn read(bytes: &[u8]) -> Result<Container, PluginError> {
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| PluginError::malformed(format!("not a ZIP container: {e}")))?;
        let mut mimetype = None;
        let mut data = None;
        let mut signature = None;
        let mut total = 0_u64;
        for index in 0..archive.len() {
            let mut file = archive
                .by_index(index)
                .map_err(|e| PluginError::malformed(format!("entry {index}: {e}")))?;
            if file.is_dir() {
                continue;
            }
            let name = file
                .name()
                .map_err(|e| PluginError::malformed(format!("entry {index}: {e}")))?
                .into_owned();
            total = total.saturating_add(file.size());
            if total > MAX_CONTENT {
                return Err(PluginError::unsupported(format!(
                    "the container holds more than {} MiB uncompressed",
                    MAX_CONTENT / 1024 / 1024
                )));
            }
            let mut content = Vec::new();
            file.read_to_end(&mut content)
                .map_err(|e| PluginError::malformed(format!("{name} cannot be read: {e}")))?;
            match name.as_str() {
                "mimetype" if index == 0 => mimetype = Some(content),
                SIGNATURE_PATH => signature = Some(content),
                _ if name.starts_with("META-INF/") => {}
                _ if data.is_some() => {
                    return Err(PluginError::malformed(
                        "an ASiC-S container holds exactly one data file (EN 319 162-1 4.3.2)",
                    ));
                }
                _ => data = Some((name, content)),
            }
        }
        if mimetype.as_deref() != Some(MEDIA_TYPE.as_bytes()) {
            return Err(PluginError::malformed(format!(
                "the first entry must be `mimetype` holding {MEDIA_TYPE}"
            )));
        }
        let (data_name, data) =
            data.ok_or_else(|| PluginError::malformed("the container holds no data file"))?;
        let signature = signature.ok_or_else(|| {
            PluginError::unsupported(format!(
                "no {SIGNATURE_PATH}: only CAdES signatures are supported"
            ))
        })?;
        Ok(Container {
            data_name,
            data,
            signature,
        })
    }

    /// This container with its signature replaced by `change`'s result.
    fn with_signature(
        self,
        change: impl FnOnce(&[u8]) -> Result<Vec<u8>, PluginError>,
    ) -> Result<Vec<u8>, PluginError> {
        let signature = change(&self.signature)?;
        Container { signature, ..self }.write()
    }

    /// The container's bytes. Every entry is stored uncompressed (the signature and data are
    /// found in the file as they are) and dated 1980-01-01, so the same input gives the same
    /// bytes.
    fn write(&self) -> Result<Vec<u8>, PluginError> {
        let failed = |e: &dyn std::fmt::Display| {
            PluginError::internal(format!("cannot write the container: {e}"))
        };
        let stored = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .last_modified_time(zip::DateTime::default());
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, content) in [
            ("mimetype", MEDIA_TYPE.as_bytes()),
            (self.data_name.as_str(), self.data.as_slice()),
            (SIGNATURE_PATH, self.signature.as_slice()),
        ] {
            zip.start_file(name, stored).map_err(|e| failed(&e))?;
            zip.write_all(content).map_err(|e| failed(&e))?;
        }
        Ok(zip.finish().map_err(|e| failed(&e))?.into_inner())
    }
}
