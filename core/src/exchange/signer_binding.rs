//! Whose certificate may sign a draft: the person whose turn it is signs only with a signature
//! certificate issued to them. A person is known by the FIN recorded for their user (GOV 3.2), and
//! a signature certificate names its holder by the same FIN in its subject serialNumber, as
//! ETSI EN 319 412-1 writes it (`PNOAZ-` and the FIN) or alone. A certificate of someone else, or
//! a signer for whom no FIN is recorded, is refused before anything is signed.

use crate::accounts::find_user;
use crate::pki::CertificateFacts;
use crate::store::DbConnection;
use crate::{Error, Result};

/// The ETSI EN 319 412-1 (5.1.3) prefix of a natural person's national identity number in
/// Azerbaijan.
const NATIONAL_PREFIX: &str = "PNOAZ-";

/// Refuses `certificate` (DER) unless it was issued to the FIN recorded for user `username`.
pub(super) fn require_own_certificate(
    conn: &mut DbConnection,
    username: &str,
    certificate: &[u8],
) -> Result<()> {
    let user = find_user(conn, username)?.ok_or_else(|| Error::not_found("user", username))?;
    let Some(fin) = user.fin else {
        return Err(Error::refused(
            "fin_not_recorded",
            format!(
                "no FIN is recorded for {username}, so the platform cannot tell which \
                 certificates are theirs; an administrator records it with \
                 `mubadile users fin {username} FIN`"
            ),
        ));
    };
    let holder = CertificateFacts::parse(certificate)?.holder();
    let issued_to = holder
        .serial_number
        .as_deref()
        .map(|serial| serial.strip_prefix(NATIONAL_PREFIX).unwrap_or(serial));
    if issued_to == Some(fin.as_str()) {
        return Ok(());
    }
    Err(Error::refused(
        "certificate_not_yours",
        format!(
            "the certificate is issued to {} ({}), not to {} (FIN {fin}): sign with a \
             certificate of your own",
            holder.name,
            issued_to.map_or_else(|| "no FIN".to_string(), |f| format!("FIN {f}")),
            user.display_name,
        ),
    ))
}
