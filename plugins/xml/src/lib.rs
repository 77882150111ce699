//! The XML format plugin of Mübadilə: a safe XML reader ([`parse`]), the W3C canonicalization
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
mod declaration;
mod document;
pub mod dsig;
mod error;
mod escape;
mod extend;
mod plugin;
mod reader;
mod sign;
pub mod tsl;

pub use c14n::{Algorithm, Method, Subset, canonicalize, canonicalize_with_uri};
pub use document::{Child, Document, NodeId, XML_NAMESPACE};
pub use error::{Position, XmlError};
pub use plugin::XmlPlugin;
pub use reader::{MAX_ATTRIBUTES, MAX_DEPTH, MAX_INPUT_BYTES, parse};

// The C ABI entries, only in the loadable build (see the `dynamic` feature in Cargo.toml).
#[cfg(feature = "dynamic")]
mubadile_plugin_api::export_plugin!(XmlPlugin);
