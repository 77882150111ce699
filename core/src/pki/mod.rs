//! Path building and validation, revocation checking and trust anchors (DESIGN.md `core/pki`):
//! the certificate half of signature validation, shared by every format.

pub mod bundle;
pub mod facts;
pub mod path;
pub mod revocation;
pub mod timestamp;
pub mod trust_list;

pub use bundle::read_certificates;
pub use facts::{CertificateFacts, Holder};
pub use path::{PathProblem, TrustAnchors, VerifiedEdges, build_path};
pub use revocation::{Embedded, Origin, RevocationAnswer, RevocationChecker, Status};
pub use timestamp::{CheckedTimestamp, check_timestamp, check_timestamp_of_hash};
