//! Any bytes given to the XML plugin (XMLDSig/XAdES evidence, with and without detached content)
//! and to the validator as a signed document: a clear error or a report, never a panic.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use mubadile_core::pki::TrustAnchors;
use mubadile_core::validation::Validator;
use mubadile_plugin_api::FormatPlugin;
use mubadile_plugin_xml::XmlPlugin;

fn validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| Validator::new(vec![Arc::new(XmlPlugin)]))
}

fuzz_target!(|data: &[u8]| {
    let _ = XmlPlugin.sniff(data);
    let _ = XmlPlugin.signatures(data, None);
    let _ = XmlPlugin.signatures(data, Some(b"detached content"));
    // No anchors: no path is ever built, so nothing is fetched from URLs in hostile certificates.
    let _ = validator().validate(data, None, &TrustAnchors::default(), None);
});
