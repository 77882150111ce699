//! Any bytes given to the CMS plugin and to the validator as a signed document: a clear error or
//! a report, never a panic (the validation issue: garbage, truncated and hostile DER).
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use mubadile_core::validation::Validator;
use mubadile_fuzz::read_and_validate;
use mubadile_plugin_cms::CmsPlugin;

fuzz_target!(|data: &[u8]| {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| Validator::new(vec![Arc::new(CmsPlugin)]));
    read_and_validate(&CmsPlugin, validator, data);
});
