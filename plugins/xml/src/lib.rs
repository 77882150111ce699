//! The XML format plugin of Mübadilə: the safe XML reader ([`parse`], from `mubadile-xml-tree`,
//! re-exported here with its tree and errors), the W3C canonicalization
//! methods ([`c14n`]) that XMLDSig and XAdES signatures are computed over, reading XMLDSig/XAdES
//! signatures as evidence for the validator ([`dsig`]), and, through the plugin contract
//! ([`XmlPlugin`]), making XAdES baseline B-B signatures (enveloped, enveloping or detached, new
//! or parallel) and raising them to B-T, B-LT and B-LTA; and ETSI TS 119 612 trust lists
//! ([`tsl`]), read and written.
//!
//! The reader refuses DTDs outright, so no entity can expand or reach outside the document; the
//! canonicalizer is byte-exact with libxml2's (`xmllint --c14n`, `--c14n11`, `--exc-c14n`), which
//! the tests check on every run.

pub mod c14n;
pub mod dsig;
mod extend;
mod plugin;
mod sign;
pub mod tsl;

pub use c14n::{Algorithm, Method, Subset, canonicalize, canonicalize_with_uri};
pub use mubadile_xml_tree::{
    Child, Document, MAX_ATTRIBUTES, MAX_DEPTH, MAX_INPUT_BYTES, NodeId, Position, XML_NAMESPACE,
    XmlError, parse,
};
pub use plugin::XmlPlugin;

// The C ABI entries, only in the loadable build (see the `dynamic` feature in Cargo.toml).
#[cfg(feature = "dynamic")]
mubadile_plugin_api::export_plugin!(XmlPlugin);
