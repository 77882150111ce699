//! The format plugins this binary registers (DESIGN.md: `core` never imports a concrete plugin;
//! the binary does).

use std::sync::Arc;

use mubadile_plugin_api::FormatPlugin;
use mubadile_plugin_cms::CmsPlugin;
use mubadile_plugin_pdf::PdfPlugin;
use mubadile_plugin_xml::XmlPlugin;

/// The built-in plugins, in the order they are asked to recognise a document (a PDF never
/// parses as CMS or XML, nor CMS as either, so the order only saves work).
pub fn builtin() -> Vec<Arc<dyn FormatPlugin>> {
    vec![
        Arc::new(CmsPlugin),
        Arc::new(PdfPlugin),
        Arc::new(XmlPlugin),
    ]
}

/// Validation as this binary runs it: the built-in plugins, the configuration's policy and
/// anchors, and the platform's CA certificates `hierarchy` (DER, root first).
pub fn platform_validation(
    config: &mubadile_core::config::Config,
    hierarchy: &[Vec<u8>],
) -> mubadile_core::Result<mubadile_core::validation::PlatformValidation> {
    mubadile_core::validation::PlatformValidation::new(config, builtin(), hierarchy)
}
