//! Any bytes given to the XML plugin (XMLDSig/XAdES evidence, with and without detached content)
//! and to the validator as a signed document: a clear error or a report, never a panic.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use mubadile_core::validation::Validator;
use mubadile_fuzz::read_and_validate;
use mubadile_plugin_xml::XmlPlugin;

fuzz_target!(|data: &[u8]| {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| Validator::new(vec![Arc::new(XmlPlugin)]));
    read_and_validate(&XmlPlugin, validator, data);
});
