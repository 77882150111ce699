//! Any bytes given to the CMS plugin and to the validator as a signed document: a clear error or
//! a report, never a panic (the validation issue: garbage, truncated and hostile DER).
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use mubadile_core::pki::TrustAnchors;
use mubadile_core::validation::Validator;
use mubadile_plugin_api::FormatPlugin;
use mubadile_plugin_cms::CmsPlugin;

fn validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| Validator::new(vec![Arc::new(CmsPlugin)]))
}

fuzz_target!(|data: &[u8]| {
    let _ = CmsPlugin.sniff(data);
    let _ = CmsPlugin.signatures(data, None);
    let _ = CmsPlugin.signatures(data, Some(b"detached content"));
    // No anchors: no path is ever built, so nothing is fetched from URLs in hostile certificates.
    let _ = validator().validate(data, None, &TrustAnchors::default(), None);
});
