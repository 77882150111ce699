//! The archivist's pages of one document (EDE 6–7): its history in the organisation's journals
//! and deliveries, its evidence verified again, and its archival package to download and check
//! offline. Only the organisation's archivists reach them (EDE 7.4); the core refuses anyone
//! else, and another organisation's archivist finds no such document.

pub(super) mod evidence;
pub(super) mod history;
pub(super) mod package;
