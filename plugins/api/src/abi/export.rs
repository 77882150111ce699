//! The plugin side of the C ABI: the entries [`crate::export_plugin!`] puts in a library's
//! [`VTable`]. Each one reads its request, calls the plugin inside `catch_unwind` and writes the
//! response into a buffer that only [`free`] releases.
#![expect(
    unsafe_code,
    reason = "the plugin side of the C ABI reads the host's request pointer and frees its own buffers"
)]

use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{
    Bytes, DocumentCall, FinishCall, PluginInfo, RawBuffer, SignatureCall, VTable,
    ValidationDataCall,
};
use crate::{FormatPlugin, PluginError, SignRequest};

/// Gives the exported vtable its plugin; implemented by [`crate::export_plugin!`].
pub trait Exported {
    /// The plugin instance the library serves, created once.
    fn plugin() -> &'static dyn FormatPlugin;
}

/// The vtable serving `E`'s plugin.
pub const fn vtable<E: Exported>() -> VTable {
    VTable {
        info: info::<E>,
        sniff: sniff::<E>,
        signatures: signatures::<E>,
        signed_content: signed_content::<E>,
        text: text::<E>,
        prepare: prepare::<E>,
        finish: finish::<E>,
        signature_timestamp_data: signature_timestamp_data::<E>,
        add_signature_timestamp: add_signature_timestamp::<E>,
        add_validation_data: add_validation_data::<E>,
        archive_timestamp_data: archive_timestamp_data::<E>,
        add_archive_timestamp: add_archive_timestamp::<E>,
        free,
    }
}

/// Exports `$plugin` (an expression of a type implementing `FormatPlugin`, evaluated once, on
/// first use) through the C ABI: the ABI-version symbol and the vtable. Invoke it once, at the
/// root of a `cdylib` crate. A library linked statically into a program together with other
/// plugins must not invoke it (the symbols would clash), so the built-in plugins put it behind
/// their `dynamic` feature.
#[macro_export]
macro_rules! export_plugin {
    ($plugin:expr) => {
        #[doc(hidden)]
        pub struct MubadilePluginExport;

        impl $crate::abi::export::Exported for MubadilePluginExport {
            fn plugin() -> &'static dyn $crate::FormatPlugin {
                static PLUGIN: ::std::sync::OnceLock<::std::boxed::Box<dyn $crate::FormatPlugin>> =
                    ::std::sync::OnceLock::new();
                PLUGIN
                    .get_or_init(|| ::std::boxed::Box::new($plugin))
                    .as_ref()
            }
        }

        /// The C ABI version this library was built for (read by the host before anything else).
        // SAFETY: the symbol name is reserved for this macro, invoked once per library.
        #[expect(
            unsafe_code,
            reason = "exporting an unmangled symbol for the plugin loader"
        )]
        #[unsafe(no_mangle)]
        pub static MUBADILE_PLUGIN_ABI_VERSION: u32 = $crate::ABI_VERSION;

        /// The operations of this library's plugin, for the host's loader.
        // SAFETY: the symbol name is reserved for this macro, invoked once per library.
        #[expect(
            unsafe_code,
            reason = "exporting an unmangled symbol for the plugin loader"
        )]
        #[unsafe(no_mangle)]
        pub static MUBADILE_PLUGIN_VTABLE: $crate::abi::VTable =
            $crate::abi::export::vtable::<MubadilePluginExport>();
    };
}

unsafe extern "C" fn info<E: Exported>(input: *const u8, len: usize) -> RawBuffer {
    // SAFETY: the host passes a request valid for `len` bytes during this call (Entry's contract).
    unsafe {
        respond(input, len, |_: serde::de::IgnoredAny| {
            Ok(info_of(E::plugin()))
        })
    }
}

unsafe extern "C" fn sniff<E: Exported>(input: *const u8, len: usize) -> RawBuffer {
    // SAFETY: as in `info`.
    unsafe {
        respond(input, len, |call: DocumentCall| {
            Ok(E::plugin().sniff(&call.document))
        })
    }
}

unsafe extern "C" fn signatures<E: Exported>(input: *const u8, len: usize) -> RawBuffer {
    // SAFETY: as in `info`.
    unsafe {
        respond(input, len, |call: DocumentCall| {
            E::plugin().signatures(&call.document, call.detached_content.as_deref())
        })
    }
}

unsafe extern "C" fn signed_content<E: Exported>(input: *const u8, len: usize) -> RawBuffer {
    // SAFETY: as in `info`.
    unsafe {
        respond(input, len, |call: DocumentCall| {
            Ok(E::plugin().signed_content(&call.document)?.map(Bytes))
        })
    }
}

unsafe extern "C" fn text<E: Exported>(input: *const u8, len: usize) -> RawBuffer {
    // SAFETY: as in `info`.
    unsafe {
        respond(input, len, |call: DocumentCall| {
            E::plugin().text(&call.document)
        })
    }
}

unsafe extern "C" fn prepare<E: Exported>(input: *const u8, len: usize) -> RawBuffer {
    // SAFETY: as in `info`.
    unsafe {
        respond(input, len, |request: SignRequest| {
            E::plugin().prepare(&request)
        })
    }
}

unsafe extern "C" fn finish<E: Exported>(input: *const u8, len: usize) -> RawBuffer {
    // SAFETY: as in `info`.
    unsafe {
        respond(input, len, |call: FinishCall| {
            let plugin = E::plugin();
            Ok(Bytes(plugin.finish(
                &call.request,
                &call.prepared,
                &call.signature_value,
            )?))
        })
    }
}

unsafe extern "C" fn signature_timestamp_data<E: Exported>(
    input: *const u8,
    len: usize,
) -> RawBuffer {
    // SAFETY: as in `info`.
    unsafe {
        respond(input, len, |call: SignatureCall| {
            let plugin = E::plugin();
            Ok(Bytes(plugin.signature_timestamp_data(
                &call.document,
                &call.signature,
            )?))
        })
    }
}

unsafe extern "C" fn add_signature_timestamp<E: Exported>(
    input: *const u8,
    len: usize,
) -> RawBuffer {
    // SAFETY: as in `info`.
    unsafe {
        respond(input, len, |call: SignatureCall| {
            let token = token_of(&call)?;
            let plugin = E::plugin();
            Ok(Bytes(plugin.add_signature_timestamp(
                &call.document,
                &call.signature,
                token,
            )?))
        })
    }
}

unsafe extern "C" fn add_validation_data<E: Exported>(input: *const u8, len: usize) -> RawBuffer {
    // SAFETY: as in `info`.
    unsafe {
        respond(input, len, |call: ValidationDataCall| {
            let plugin = E::plugin();
            Ok(Bytes(
                plugin.add_validation_data(&call.document, &call.data)?,
            ))
        })
    }
}

unsafe extern "C" fn archive_timestamp_data<E: Exported>(
    input: *const u8,
    len: usize,
) -> RawBuffer {
    // SAFETY: as in `info`.
    unsafe {
        respond(input, len, |call: SignatureCall| {
            let plugin = E::plugin();
            Ok(Bytes(plugin.archive_timestamp_data(
                &call.document,
                &call.signature,
                call.detached_content.as_deref(),
            )?))
        })
    }
}

unsafe extern "C" fn add_archive_timestamp<E: Exported>(input: *const u8, len: usize) -> RawBuffer {
    // SAFETY: as in `info`.
    unsafe {
        respond(input, len, |call: SignatureCall| {
            let token = token_of(&call)?;
            let plugin = E::plugin();
            Ok(Bytes(plugin.add_archive_timestamp(
                &call.document,
                &call.signature,
                token,
            )?))
        })
    }
}

/// Releases a buffer this library returned.
///
/// # Safety
/// `buffer` must be one returned by an entry of this library, not yet freed.
unsafe extern "C" fn free(buffer: RawBuffer) {
    // SAFETY: `buffer` came from `into_raw` below (the caller's contract), so its pointer, length
    // and capacity are those of a `Vec<u8>` of this library's allocator, released only here.
    drop(unsafe { Vec::from_raw_parts(buffer.ptr, buffer.len, buffer.capacity) });
}

/// What `plugin` tells of itself.
fn info_of(plugin: &dyn FormatPlugin) -> PluginInfo {
    PluginInfo {
        name: plugin.name().to_owned(),
        formats: plugin.formats(),
    }
}

fn token_of(call: &SignatureCall) -> Result<&[u8], PluginError> {
    call.token
        .as_deref()
        .ok_or_else(|| PluginError::bad_request("the request carries no timestamp token"))
}

/// Decodes the request, runs `operation` with panics caught, and encodes its result.
///
/// # Safety
/// `input` must be valid for reads of `len` bytes for the duration of the call (or `len` 0).
unsafe fn respond<Request, Response>(
    input: *const u8,
    len: usize,
    operation: impl FnOnce(Request) -> Result<Response, PluginError>,
) -> RawBuffer
where
    Request: DeserializeOwned,
    Response: Serialize,
{
    let request: &[u8] = if input.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: non-null and valid for `len` bytes during this call (the caller's contract);
        // the slice does not outlive the call.
        unsafe { std::slice::from_raw_parts(input, len) }
    };
    let result = catch_unwind(AssertUnwindSafe(|| {
        let request = serde_json::from_slice(request).map_err(|e| {
            PluginError::internal(format!("the plugin could not read its request: {e}"))
        })?;
        operation(request)
    }))
    .unwrap_or_else(|panic| Err(PluginError::internal(panicked(panic.as_ref()))));
    into_raw(encode(&result))
}

fn encode<Response: Serialize>(result: &Result<Response, PluginError>) -> Vec<u8> {
    serde_json::to_vec(result).unwrap_or_else(|e| {
        let error = PluginError::internal(format!("the plugin could not write its answer: {e}"));
        // A `Result` holding only a `PluginError` (strings and a unit enum) always serialises.
        serde_json::to_vec(&Err::<(), _>(error)).unwrap_or_default()
    })
}

fn panicked(panic: &(dyn std::any::Any + Send)) -> String {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message");
    format!("the plugin panicked: {message}")
}

fn into_raw(bytes: Vec<u8>) -> RawBuffer {
    let mut bytes = ManuallyDrop::new(bytes);
    RawBuffer {
        ptr: bytes.as_mut_ptr(),
        len: bytes.len(),
        capacity: bytes.capacity(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Description, PluginErrorKind, Prepared, SignatureEvidence, ValidationData};

    /// Panics in every operation, as a buggy plugin would.
    struct Panicking;

    impl FormatPlugin for Panicking {
        fn name(&self) -> &'static str {
            "panicking"
        }
        fn sniff(&self, _: &[u8]) -> Option<Description> {
            panic!("sniffing went wrong")
        }
        fn signatures(
            &self,
            _: &[u8],
            _: Option<&[u8]>,
        ) -> Result<Vec<SignatureEvidence>, PluginError> {
            panic!("reading went wrong")
        }
        fn prepare(&self, _: &SignRequest) -> Result<Prepared, PluginError> {
            panic!("prepare went wrong")
        }
        fn finish(&self, _: &SignRequest, _: &Prepared, _: &[u8]) -> Result<Vec<u8>, PluginError> {
            panic!("finish went wrong")
        }
        fn signature_timestamp_data(&self, _: &[u8], _: &str) -> Result<Vec<u8>, PluginError> {
            panic!("signature_timestamp_data went wrong")
        }
        fn add_signature_timestamp(
            &self,
            _: &[u8],
            _: &str,
            _: &[u8],
        ) -> Result<Vec<u8>, PluginError> {
            panic!("add_signature_timestamp went wrong")
        }
        fn add_validation_data(
            &self,
            _: &[u8],
            _: &ValidationData,
        ) -> Result<Vec<u8>, PluginError> {
            panic!("add_validation_data went wrong")
        }
        fn archive_timestamp_data(
            &self,
            _: &[u8],
            _: &str,
            _: Option<&[u8]>,
        ) -> Result<Vec<u8>, PluginError> {
            panic!("archive_timestamp_data went wrong")
        }
        fn add_archive_timestamp(
            &self,
            _: &[u8],
            _: &str,
            _: &[u8],
        ) -> Result<Vec<u8>, PluginError> {
            panic!("add_archive_timestamp went wrong")
        }
    }

    struct Export;

    impl Exported for Export {
        fn plugin() -> &'static dyn FormatPlugin {
            &Panicking
        }
    }

    /// Calls `entry` as the host does and decodes the answer.
    fn call<R: DeserializeOwned>(
        entry: super::super::Entry,
        request: &[u8],
    ) -> Result<R, PluginError> {
        let table = vtable::<Export>();
        // SAFETY: `entry` is one of this crate's shims; `request` outlives the call; the answer
        // is copied and then freed once, by the same vtable's `free`.
        let answer = unsafe {
            let raw = entry(request.as_ptr(), request.len());
            let bytes = std::slice::from_raw_parts(raw.ptr, raw.len).to_vec();
            (table.free)(raw);
            bytes
        };
        serde_json::from_slice::<Result<R, PluginError>>(&answer).unwrap()
    }

    #[test]
    fn a_panic_in_the_plugin_comes_back_as_an_internal_error_with_its_message() {
        let table = vtable::<Export>();
        let request = br#"{"document": "AAEC"}"#;
        let error = call::<Option<Description>>(table.sniff, request).unwrap_err();
        assert_eq!(error.kind, PluginErrorKind::Internal);
        assert_eq!(error.message, "the plugin panicked: sniffing went wrong");
        let error = call::<Vec<SignatureEvidence>>(table.signatures, request).unwrap_err();
        assert_eq!(error.message, "the plugin panicked: reading went wrong");
        let request = br#"{"document": "AAEC", "signature": "s1"}"#;
        let error =
            call::<super::super::Bytes>(table.signature_timestamp_data, request).unwrap_err();
        assert_eq!(error.kind, PluginErrorKind::Internal);
        assert_eq!(
            error.message,
            "the plugin panicked: signature_timestamp_data went wrong"
        );
    }

    #[test]
    fn a_request_that_does_not_decode_is_an_internal_error_not_a_panic() {
        let table = vtable::<Export>();
        let error = call::<Option<Description>>(table.sniff, b"{not json").unwrap_err();
        assert_eq!(error.kind, PluginErrorKind::Internal);
        assert!(
            error
                .message
                .starts_with("the plugin could not read its request"),
            "{error}"
        );
    }

    #[test]
    fn info_names_the_plugin_and_its_formats() {
        let table = vtable::<Export>();
        let info = call::<super::super::PluginInfo>(table.info, b"{}").unwrap();
        assert_eq!(info.name, "panicking");
        assert!(info.formats.is_empty());
    }
}
