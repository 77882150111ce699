//! The signer's details on a visible stamp, read from the signer's certificate: a stamp shows
//! what the certificate proves (GOV 3.2: name, organisation and position are in it), never a
//! caller's claim. A caller may leave them out; one that gives them must agree with the
//! certificate.

use mubadile_plugin_api::SignatureAppearance;

use crate::pki::CertificateFacts;
use crate::{Error, Result};

/// `requested` with the signer's name, position and organisation taken from `certificate`.
/// A detail the caller gives that the certificate states otherwise, or does not state at all,
/// is refused naming both.
pub fn from_certificate(
    mut requested: SignatureAppearance,
    certificate: &CertificateFacts,
) -> Result<SignatureAppearance> {
    let holder = certificate.holder();
    requested.signer_name = agreed("signer_name", requested.signer_name, Some(holder.name))?;
    requested.position = agreed("position", requested.position, holder.position)?;
    requested.organisation = agreed("organisation", requested.organisation, holder.organisation)?;
    Ok(requested)
}

/// The certificate's value of a detail, checked against what the caller gave.
fn agreed(
    field: &'static str,
    given: Option<String>,
    certified: Option<String>,
) -> Result<Option<String>> {
    match (given, certified) {
        (None, certified) => Ok(certified),
        (Some(given), Some(certified)) if same(&given, &certified) => Ok(Some(certified)),
        (Some(given), Some(certified)) => Err(Error::invalid(
            field,
            format!(
                "the stamp would show {given:?} but the signer's certificate states {certified:?}; \
                 leave it out to show what the certificate states"
            ),
        )),
        (Some(given), None) => Err(Error::invalid(
            field,
            format!(
                "the stamp would show {given:?} but the signer's certificate states no {}; a \
                 stamp shows only what the certificate proves, so leave it out",
                field.replace('_', " ")
            ),
        )),
    }
}

/// The same words, whatever their case and spacing.
fn same(a: &str, b: &str) -> bool {
    let words = |s: &str| {
        s.split_whitespace()
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
    };
    words(a) == words(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::SigningWorld;

    /// The holder the signing world issues to: Aygün Məmmədova, Baş məsləhətçi, Ədliyyə
    /// Nazirliyi.
    fn holder(world: &SigningWorld) -> CertificateFacts {
        CertificateFacts::parse(&world.certificate).unwrap()
    }

    fn request(name: Option<&str>, position: Option<&str>) -> SignatureAppearance {
        SignatureAppearance {
            page: Some(1),
            rect: Some([300, 40, 560, 150]),
            signer_name: name.map(str::to_string),
            position: position.map(str::to_string),
            organisation: None,
            registration_number: Some("ÇĞ-17/2026".into()),
            registration_date: None,
        }
    }

    #[test]
    fn gov_3_2_the_stamp_shows_name_position_and_organisation_from_the_certificate() {
        let world = SigningWorld::start();
        let holder = holder(&world);
        let stamp = from_certificate(request(None, None), &holder).unwrap();
        assert_eq!(stamp.signer_name.as_deref(), Some("Aygün Məmmədova"));
        assert_eq!(stamp.position.as_deref(), Some("Baş məsləhətçi"));
        assert_eq!(stamp.organisation.as_deref(), Some("Ədliyyə Nazirliyi"));
        assert_eq!(stamp.registration_number.as_deref(), Some("ÇĞ-17/2026"));
        // The same words in another case or spacing are the certificate's words.
        let stamp = from_certificate(request(Some("aygün  məmmədova"), None), &holder).unwrap();
        assert_eq!(stamp.signer_name.as_deref(), Some("Aygün Məmmədova"));
    }

    #[test]
    fn gov_3_2_a_stamp_claiming_what_the_certificate_does_not_state_is_refused() {
        let world = SigningWorld::start();
        let holder = holder(&world);
        let err = from_certificate(request(Some("Rüstəm Əliyev"), None), &holder).unwrap_err();
        assert!(err.to_string().contains("Rüstəm Əliyev"), "{err}");
        assert!(err.to_string().contains("Aygün Məmmədova"), "{err}");
        let err = from_certificate(request(None, Some("Nazir")), &holder).unwrap_err();
        assert!(err.to_string().contains("position"), "{err}");
    }
}
