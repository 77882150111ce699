//! The host side of the C ABI: opens a plugin library, checks its ABI version before anything
//! else, and wraps its vtable as a [`FormatPlugin`]. Libraries are never unloaded: a plugin's
//! code and the names it reported stay valid for the rest of the process.
#![expect(
    unsafe_code,
    reason = "the host side of the C ABI opens libraries and calls their exported entries"
)]

use std::fmt;
use std::path::{Path, PathBuf};

use libloading::Library;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{
    ABI_VERSION_SYMBOL, Bytes, DocumentCall, Entry, FinishCall, PluginInfo, SignatureCall,
    VTABLE_SYMBOL, VTable, ValidationDataCall,
};
use crate::{
    ABI_VERSION, Description, Format, FormatPlugin, PluginError, Prepared, SignRequest,
    SignatureEvidence, ValidationData,
};

/// Opens the plugin library at `path` and checks that it was built for [`ABI_VERSION`].
///
/// Opening a library runs its initialisers, which can do anything the process can: call this
/// only for a file the operator trusts (the `mubadile` binary loads only files whose SHA-256 the
/// configuration allow-lists, checked just before).
pub fn load(path: &Path) -> Result<DynamicPlugin, LoadError> {
    let error = |reason| LoadError {
        path: path.to_path_buf(),
        reason,
    };
    // SAFETY: loading runs the library's initialisers; the caller vouches for the file (see the
    // doc comment). The library is leaked below, so nothing obtained from it outlives it.
    let library =
        unsafe { Library::new(path) }.map_err(|e| error(LoadErrorReason::Open(e.to_string())))?;
    let library: &'static Library = Box::leak(Box::new(library));

    let version_name = format!("{ABI_VERSION_SYMBOL}\0");
    // SAFETY: the symbol, when present, is the `u32` static that `export_plugin!` (or a plugin
    // following docs/plugins.md) exports; reading a `u32` through its address is valid for as
    // long as the library is loaded, which is forever.
    let version = unsafe {
        let symbol = library
            .get::<*const u32>(version_name.as_bytes())
            .map_err(|_| error(LoadErrorReason::NotAPlugin))?;
        **symbol
    };
    if version != ABI_VERSION {
        return Err(error(LoadErrorReason::AbiVersion { found: version }));
    }

    let vtable_name = format!("{VTABLE_SYMBOL}\0");
    // SAFETY: a library of this ABI version exports its `VTable` under this name, a static
    // that lives as long as the (never unloaded) library.
    let vtable: &'static VTable = unsafe {
        let symbol = library
            .get::<*const VTable>(vtable_name.as_bytes())
            .map_err(|_| error(LoadErrorReason::NoVTable))?;
        &**symbol
    };

    let info: PluginInfo = call(vtable, vtable.info, &serde_json::json!({}))
        .map_err(|e| error(LoadErrorReason::Info(e)))?;
    Ok(DynamicPlugin {
        // Leaked like the library itself: `FormatPlugin::name` is `&'static str`.
        name: Box::leak(info.name.into_boxed_str()),
        formats: info.formats,
        vtable,
    })
}

/// A format plugin served by a dynamically loaded library.
#[derive(Debug)]
pub struct DynamicPlugin {
    name: &'static str,
    formats: Vec<Format>,
    vtable: &'static VTable,
}

/// Why a library was not loaded.
#[derive(Debug)]
pub struct LoadError {
    /// The library file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: LoadErrorReason,
}

/// What is wrong with a library that was not loaded.
#[derive(Debug)]
#[non_exhaustive]
pub enum LoadErrorReason {
    /// The operating system could not open it.
    Open(String),
    /// It exports no ABI-version symbol, so it is not a Mübadilə plugin.
    NotAPlugin,
    /// It was built for another ABI version.
    AbiVersion {
        /// The version it was built for.
        found: u32,
    },
    /// It has the version symbol but no vtable.
    NoVTable,
    /// Its `info` entry failed.
    Info(PluginError),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.reason {
            LoadErrorReason::Open(e) => write!(f, "cannot open plugin library {path}: {e}"),
            LoadErrorReason::NotAPlugin => write!(
                f,
                "{path} is not a Mübadilə plugin: it exports no {ABI_VERSION_SYMBOL} symbol \
                 (build it with mubadile_plugin_api::export_plugin!, or a built-in plugin with \
                 its `dynamic` feature)"
            ),
            LoadErrorReason::AbiVersion { found } => write!(
                f,
                "{path} was built for plugin ABI version {found}, this program speaks version \
                 {ABI_VERSION}: rebuild it against this release's mubadile-plugin-api"
            ),
            LoadErrorReason::NoVTable => write!(
                f,
                "{path} exports {ABI_VERSION_SYMBOL} but no {VTABLE_SYMBOL}: it is damaged or \
                 not built with export_plugin!"
            ),
            LoadErrorReason::Info(e) => write!(f, "{path} failed to describe itself: {e}"),
        }
    }
}

impl std::error::Error for LoadError {}

impl FormatPlugin for DynamicPlugin {
    fn name(&self) -> &'static str {
        self.name
    }

    fn formats(&self) -> Vec<Format> {
        self.formats.clone()
    }

    /// A plugin whose `sniff` fails recognises nothing.
    fn sniff(&self, document: &[u8]) -> Option<Description> {
        self.call::<Option<Description>>(self.vtable.sniff, &document_call(document, None))
            .ok()
            .flatten()
    }

    fn signatures(
        &self,
        document: &[u8],
        detached_content: Option<&[u8]>,
    ) -> Result<Vec<SignatureEvidence>, PluginError> {
        self.call(
            self.vtable.signatures,
            &document_call(document, detached_content),
        )
    }

    fn signed_content(&self, document: &[u8]) -> Result<Option<Vec<u8>>, PluginError> {
        let content: Option<Bytes> =
            self.call(self.vtable.signed_content, &document_call(document, None))?;
        Ok(content.map(|b| b.0))
    }

    fn text(&self, document: &[u8]) -> Result<Option<String>, PluginError> {
        self.call(self.vtable.text, &document_call(document, None))
    }

    fn prepare(&self, request: &SignRequest) -> Result<Prepared, PluginError> {
        self.call(self.vtable.prepare, request)
    }

    fn finish(
        &self,
        request: &SignRequest,
        prepared: &Prepared,
        signature_value: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        let call = FinishCall {
            request: request.clone(),
            prepared: prepared.clone(),
            signature_value: signature_value.to_vec(),
        };
        self.bytes(self.vtable.finish, &call)
    }

    fn signature_timestamp_data(
        &self,
        document: &[u8],
        signature: &str,
    ) -> Result<Vec<u8>, PluginError> {
        let call = signature_call(document, signature, None, None);
        self.bytes(self.vtable.signature_timestamp_data, &call)
    }

    fn add_signature_timestamp(
        &self,
        document: &[u8],
        signature: &str,
        token: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        let call = signature_call(document, signature, Some(token), None);
        self.bytes(self.vtable.add_signature_timestamp, &call)
    }

    fn add_validation_data(
        &self,
        document: &[u8],
        data: &ValidationData,
    ) -> Result<Vec<u8>, PluginError> {
        let call = ValidationDataCall {
            document: document.to_vec(),
            data: data.clone(),
        };
        self.bytes(self.vtable.add_validation_data, &call)
    }

    fn archive_timestamp_data(
        &self,
        document: &[u8],
        signature: &str,
        detached_content: Option<&[u8]>,
    ) -> Result<Vec<u8>, PluginError> {
        let call = signature_call(document, signature, None, detached_content);
        self.bytes(self.vtable.archive_timestamp_data, &call)
    }

    fn add_archive_timestamp(
        &self,
        document: &[u8],
        signature: &str,
        token: &[u8],
    ) -> Result<Vec<u8>, PluginError> {
        let call = signature_call(document, signature, Some(token), None);
        self.bytes(self.vtable.add_archive_timestamp, &call)
    }
}

impl DynamicPlugin {
    fn call<Response: DeserializeOwned>(
        &self,
        entry: Entry,
        request: &impl Serialize,
    ) -> Result<Response, PluginError> {
        call(self.vtable, entry, request)
    }

    fn bytes(&self, entry: Entry, request: &impl Serialize) -> Result<Vec<u8>, PluginError> {
        self.call::<Bytes>(entry, request).map(|b| b.0)
    }
}

/// Sends `request` to `entry` of `vtable` and decodes the plugin's answer.
fn call<Response: DeserializeOwned>(
    vtable: &VTable,
    entry: Entry,
    request: &impl Serialize,
) -> Result<Response, PluginError> {
    let input = serde_json::to_vec(request)
        .map_err(|e| PluginError::internal(format!("cannot encode the plugin request: {e}")))?;
    // SAFETY: `entry` belongs to `vtable`, exported by a library of our ABI version that is never
    // unloaded; `input` stays alive and unchanged for the whole call.
    let output = unsafe { entry(input.as_ptr(), input.len()) };
    let answer = if output.ptr.is_null() {
        Vec::new()
    } else {
        // SAFETY: the plugin returned a buffer of `len` initialised bytes that it keeps until
        // `free`; it is copied here before being freed just below.
        unsafe { std::slice::from_raw_parts(output.ptr, output.len) }.to_vec()
    };
    // SAFETY: the buffer came from this library's entry and is given back exactly once; nothing
    // points into it any more (the bytes were copied).
    unsafe { (vtable.free)(output) };
    serde_json::from_slice::<Result<Response, PluginError>>(&answer).map_err(|e| {
        PluginError::internal(format!(
            "the plugin answered something that is not a response of ABI version {ABI_VERSION}: {e}"
        ))
    })?
}

fn document_call(document: &[u8], detached_content: Option<&[u8]>) -> DocumentCall {
    DocumentCall {
        document: document.to_vec(),
        detached_content: detached_content.map(<[u8]>::to_vec),
    }
}

fn signature_call(
    document: &[u8],
    signature: &str,
    token: Option<&[u8]>,
    detached_content: Option<&[u8]>,
) -> SignatureCall {
    SignatureCall {
        document: document.to_vec(),
        signature: signature.to_owned(),
        token: token.map(<[u8]>::to_vec),
        detached_content: detached_content.map(<[u8]>::to_vec),
    }
}
