//! The C ABI of dynamically loaded format plugins (DESIGN.md "Format plugins", STYLE.md "Plugins
//! across a dynamic boundary"), described for third parties in `docs/plugins.md`.
//!
//! A plugin library exports two symbols:
//!
//! - [`ABI_VERSION_SYMBOL`], a `u32` equal to [`crate::ABI_VERSION`]. The host reads it before
//!   anything else and refuses a library built for another version without calling into it.
//! - [`VTABLE_SYMBOL`], a [`VTable`]: one `extern "C"` entry per operation of
//!   [`crate::FormatPlugin`], plus the plugin's own `free`.
//!
//! Every entry has the same shape, [`Entry`]: it takes a request message (UTF-8 JSON, borrowed
//! from the host for the duration of the call) and returns a response message in a
//! [`RawBuffer`] that the plugin allocated. Ownership is never shared: the host copies the
//! response and hands the buffer back, exactly once, to the same plugin's [`VTable::free`]; the
//! plugin never keeps a pointer to the request. Only `#[repr(C)]` types, integers and byte
//! pointers cross; never a Rust trait object, `String` or `Vec`, so a plugin built by another
//! compiler (or written in C) loads as well.
//!
//! The messages are the contract's own serde types as JSON (bytes as base64 strings). A response
//! is `{"Ok": …}` or `{"Err": PluginError}`. A panic inside the plugin is caught at the boundary
//! and answered as a [`crate::PluginErrorKind::Internal`] error. A loaded library is never
//! unloaded.
//!
//! Plugins written in Rust use [`crate::export_plugin!`]; the host uses [`load::load`] (feature
//! `load`). The only `unsafe` code of the workspace lives in this module's `export` and `load`.

use serde::{Deserialize, Serialize};

use crate::{Format, Prepared, SignRequest, ValidationData};

#[doc(hidden)]
pub mod export;
#[cfg(feature = "load")]
pub mod load;

/// Name of the exported `u32` holding the ABI version the library was built for.
pub const ABI_VERSION_SYMBOL: &str = "MUBADILE_PLUGIN_ABI_VERSION";
/// Name of the exported [`VTable`].
pub const VTABLE_SYMBOL: &str = "MUBADILE_PLUGIN_VTABLE";

/// One operation across the boundary: `input` points to `input_len` bytes of the request
/// message, valid only during the call; the result is the response message, owned by the
/// plugin until given back to [`VTable::free`].
pub type Entry = unsafe extern "C" fn(input: *const u8, input_len: usize) -> RawBuffer;

/// A byte buffer allocated by the plugin, described by its pointer, length and capacity so that
/// the plugin can free it with its own allocator.
#[repr(C)]
#[derive(Debug)]
pub struct RawBuffer {
    /// Start of the bytes; never null (an empty buffer has a dangling, aligned pointer).
    pub ptr: *mut u8,
    /// Number of bytes.
    pub len: usize,
    /// The allocation's capacity, for the plugin's `free`.
    pub capacity: usize,
}

/// The operations of a plugin, in this order; the layout is fixed for an ABI version.
#[repr(C)]
#[derive(Debug)]
pub struct VTable {
    /// Request: `{}`. Response: [`PluginInfo`].
    pub info: Entry,
    /// Request: [`DocumentCall`]. Response: `Option<Description>` (`null` or a description).
    pub sniff: Entry,
    /// Request: [`DocumentCall`]. Response: a list of `SignatureEvidence`.
    pub signatures: Entry,
    /// Request: [`DocumentCall`]. Response: `Option<Bytes>`.
    pub signed_content: Entry,
    /// Request: [`DocumentCall`]. Response: `Option<String>`, the searchable text (ABI
    /// version 2).
    pub text: Entry,
    /// Request: `SignRequest`. Response: `Prepared`.
    pub prepare: Entry,
    /// Request: [`FinishCall`]. Response: [`Bytes`], the signed document.
    pub finish: Entry,
    /// Request: [`SignatureCall`] (no token). Response: [`Bytes`].
    pub signature_timestamp_data: Entry,
    /// Request: [`SignatureCall`] with a token. Response: [`Bytes`].
    pub add_signature_timestamp: Entry,
    /// Request: [`ValidationDataCall`]. Response: [`Bytes`].
    pub add_validation_data: Entry,
    /// Request: [`SignatureCall`] (no token; `detached_content` when detached). Response:
    /// [`Bytes`].
    pub archive_timestamp_data: Entry,
    /// Request: [`SignatureCall`] with a token. Response: [`Bytes`].
    pub add_archive_timestamp: Entry,
    /// Gives a [`RawBuffer`] returned by any entry back to the plugin's allocator.
    pub free: unsafe extern "C" fn(buffer: RawBuffer),
}

/// Who a plugin is: the response of [`VTable::info`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// The plugin's short stable name.
    pub name: String,
    /// The formats it reads.
    pub formats: Vec<Format>,
}

/// Request of `sniff`, `signatures`, `signed_content` and `text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentCall {
    /// The document.
    #[serde(with = "crate::base64_serde")]
    pub document: Vec<u8>,
    /// The signed data of a detached signature (`signatures` only).
    #[serde(default, with = "crate::base64_serde::optional")]
    pub detached_content: Option<Vec<u8>>,
}

/// Request of `finish`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinishCall {
    /// The request `prepared` was made for.
    pub request: SignRequest,
    /// What `prepare` answered.
    pub prepared: Prepared,
    /// The signature value made over `prepared.data_to_be_signed`.
    #[serde(with = "crate::base64_serde")]
    pub signature_value: Vec<u8>,
}

/// Request of the timestamp operations, which name one signature of a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureCall {
    /// The signed document.
    #[serde(with = "crate::base64_serde")]
    pub document: Vec<u8>,
    /// The signature's identifier.
    pub signature: String,
    /// The timestamp token to add (`add_*_timestamp` only).
    #[serde(default, with = "crate::base64_serde::optional")]
    pub token: Option<Vec<u8>>,
    /// The signed data of a detached signature (`archive_timestamp_data` only).
    #[serde(default, with = "crate::base64_serde::optional")]
    pub detached_content: Option<Vec<u8>>,
}

/// Request of `add_validation_data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationDataCall {
    /// The signed document.
    #[serde(with = "crate::base64_serde")]
    pub document: Vec<u8>,
    /// What to add.
    pub data: ValidationData,
}

/// Bytes in a response (a base64 string).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Bytes(#[serde(with = "crate::base64_serde")] pub Vec<u8>);
