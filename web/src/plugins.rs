//! The format plugins this binary registers (DESIGN.md: `core` never imports a concrete plugin;
//! the binary does): the built-ins, then those loaded from allow-listed files ([`dynamic`]).

pub mod dynamic;

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

/// Every plugin this node runs, built-ins first, and the plugin files it refused.
pub fn installed(
    config: &mubadile_core::config::Config,
) -> (Vec<dynamic::Installed>, Vec<dynamic::Refusal>) {
    let builtin = builtin();
    let names: Vec<&str> = builtin.iter().map(|p| p.name()).collect();
    let (loaded, refused) = dynamic::load_allowed(&config.plugins, &names);
    let builtin = builtin.into_iter().map(|plugin| dynamic::Installed {
        plugin,
        origin: dynamic::Origin::BuiltIn,
    });
    (builtin.chain(loaded).collect(), refused)
}

/// Validation as this binary runs it: the installed plugins, the configuration's policy and
/// anchors, and the platform's CA certificates `hierarchy` (DER, root first).
pub fn platform_validation(
    config: &mubadile_core::config::Config,
    hierarchy: &[Vec<u8>],
) -> mubadile_core::Result<mubadile_core::validation::PlatformValidation> {
    let plugins = installed(config).0.into_iter().map(|i| i.plugin).collect();
    mubadile_core::validation::PlatformValidation::new(config, plugins, hierarchy)
}
