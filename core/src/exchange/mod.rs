//! The exchange engine: every step of EDE 2.1 as a rule.
//!
//! 1. form the document and 2. attach its requisites and signatures: the caller brings a main
//!    document signed in its own format and its attachments; [`Exchange::send`] completes the
//!    requisites from the directory, runs the check before sending (EDE 4.1), numbers the
//!    document, and seals an ASiC-E [`envelope`] with the sending organisation's seal;
//! 3. send: the document, its envelope, its entry in the sender's outgoing journal and one
//!    pending delivery per addressee commit in one transaction, so a crash loses or duplicates
//!    nothing;
//! 4. verify authenticity: [`Exchange::deliver_pending`] checks each delivery as the recipient
//!    (EDE 5.1: the envelope's form and requisites, the seal, every signature of the document);
//! 5. confirm receipt: an automatic notice or a receipt the recipient signs, as the two agreed
//!    (EDE 4.4–4.5);
//! 6. register: in the recipient's incoming journal, or record the refusal in both journals
//!    (EDE 5.3–5.4, 6.1);
//! 7. store: the envelope stays, content-addressed, beside its validation report (EDE 7).

mod acknowledge;
pub mod archive;
mod asic;
mod checkpoints;
mod deadlines;
mod delivery;
pub mod directory;
pub(crate) mod directory_cache;
pub mod drafts;
pub mod envelope;
mod evidence;
pub mod federation;
mod notices;
mod numbering;
mod proofs;
mod protocols;
mod query;
mod reading;
pub mod receipt;
mod records;
pub mod requisites;
mod retention;
mod scenarios;
mod search;
mod send;
mod signer_binding;
#[cfg(test)]
pub(crate) mod testing;
pub mod trust_lists;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use checkpoints::{CheckpointStatement, JournalVerification};
pub use deadlines::DeadlineRun;
pub use delivery::{DeliveryStatus, Evidence, Outcome, Verification};
pub use directory::{
    Agreement, Category, NewOrganisation, Organisation, OrganisationId, OrganisationRequisites,
    ReceiptKind, add_trust_anchor, agreement, create_organisation, find_organisation,
    list_organisations, organisation, set_agreement, set_category, trust_anchors,
};
pub use drafts::{DraftStatus, DraftView, NewDraft, RouteStep};
pub use evidence::{Aspect, EvidenceCheck, EvidenceVerification, History};
pub use numbering::next_number;
pub use proofs::{Covering, InclusionProof, PROOF_RECORD_TYPE};
pub use query::{DeliveryView, DocumentView, InboxItem};
pub use reading::{Reading, signature_number};
pub use retention::{Disposal, LegalHold, keep_until};
pub use search::{SearchHit, SearchPage, SearchQuery};
pub use send::{Outgoing, SenderKind, SendingParty};
pub use trust_lists::{
    AcceptedTrustList, ListedCertificates, PublishedTrustList, accept_trust_list, trust_list,
};

use crate::ca::authority::CertificateAuthority;
use crate::crypto::Signer;
use crate::store::{DbPool, GroupCommit};
use crate::validation::PlatformValidation;

/// The engine, shared by every request and job of a node.
pub struct Exchange {
    pool: DbPool,
    ca: Arc<CertificateAuthority>,
    validation: Arc<PlatformValidation>,
    /// Seal keys already loaded, by key reference: loading one from a token is slow.
    seals: Mutex<HashMap<String, Arc<dyn Signer>>>,
    /// Sends arriving at the same moment, recorded in one commit.
    sends: GroupCommit<send::ReadySend>,
    /// The directory as every send and delivery reads it.
    directory: Arc<directory_cache::DirectoryCache>,
    /// Names this engine among the workers of every node sharing its database, in the claims
    /// it holds on transfers (`federation`).
    claimant: String,
}

impl Exchange {
    /// The engine over `pool`, sealing with keys of `ca` and verifying with `validation`.
    pub fn new(
        pool: DbPool,
        ca: Arc<CertificateAuthority>,
        validation: Arc<PlatformValidation>,
    ) -> Exchange {
        let directory = Arc::new(directory_cache::DirectoryCache::default());
        Exchange {
            sends: GroupCommit::new(pool.clone(), {
                let directory = directory.clone();
                move |conn, sends| send::record_sends(conn, &directory, sends)
            }),
            directory,
            pool,
            ca,
            validation,
            seals: Mutex::new(HashMap::new()),
            claimant: federation::claimant(),
        }
    }

    /// The database.
    pub fn pool(&self) -> &DbPool {
        &self.pool
    }
}

impl std::fmt::Debug for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exchange").finish_non_exhaustive()
    }
}
