//! Verification protocols (SVC: a certified protocol of a verification): a PDF the platform
//! made for an organisation, sealed by that organisation (GOV 3.3–3.5) as a PAdES signature
//! raised to B-LT, so that the protocol proves itself offline: a timestamp from the embedded TSA
//! shows when it was made, and the seal's chain and revocation answers travel inside it.

use mubadile_plugin_api::SignTarget;

use super::Exchange;
use super::directory::{OrganisationId, organisation};
use crate::signing::extend::{Level, extend};
use crate::signing::{SigningIdentity, sign};
use crate::time::now;
use crate::{Error, Result};

impl Exchange {
    /// `pdf`, a protocol made for `holder`, sealed by it; refused when it has no seal.
    pub fn seal_protocol(&self, holder: &OrganisationId, pdf: &[u8]) -> Result<Vec<u8>> {
        let holder = organisation(&mut *self.pool.get()?, holder)?;
        let (Some(key), Some(certificate)) = (&holder.seal_key_ref, &holder.seal_certificate)
        else {
            return Err(Error::refused(
                "no_seal",
                format!(
                    "{} has no seal to certify the protocol with; an administrator issues one",
                    holder.id
                ),
            ));
        };
        let signer = self.seal_signer(key)?;
        let chain = self.validation.chain_for(certificate)?;
        let pdf_plugin = self.validation.validator.plugin_named("pdf")?;
        let sealed = sign(
            pdf_plugin.as_ref(),
            SignTarget::New {
                content: pdf.to_vec(),
                attached: true,
            },
            SigningIdentity {
                signer: signer.as_ref(),
                certificate,
                chain: &chain,
            },
            now(),
        )?;
        extend(
            &self.validation.validator,
            &self.validation.anchors,
            self.ca.as_ref(),
            &sealed,
            None,
            Level::Lt,
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use mubadile_plugin_pdf::{Block, Protocol};

    use super::super::testing::World;
    use super::*;
    use crate::both_backends;
    use crate::store::DbPool;
    use crate::validation::Indication;

    both_backends! {
        fn svc_a_protocol_sealed_by_the_organisation_validates_at_b_lt_over_the_bytes_it_was_given(
            pool: &DbPool,
        ) {
            let w = World::new(pool);
            let pdf = Protocol {
                title: "Yoxlama protokolu".into(),
                blocks: vec![
                    Block::Title("Elektron imzaların yoxlanılması protokolu".into()),
                    Block::Field { label: "Nəticə".into(), value: "müsbət".into() },
                ],
                footer: "Mübadilə".into(),
                created: 1_780_000_000,
            }
            .to_pdf()
            .unwrap();
            let sealed = w.exchange.seal_protocol(&w.justice, &pdf).unwrap();
            // Incremental updates only: the protocol as made is untouched.
            assert!(sealed.starts_with(&pdf));
            let report = w.exchange.validation.validate(&sealed, None, None).unwrap();
            assert_eq!(report.indication, Indication::TotalPassed, "{report:#?}");
            let seal = &report.signatures[0];
            assert_eq!(seal.level, "PAdES-BASELINE-LT");
            assert!(seal.proven_signing_time.is_some());
            assert_eq!(
                seal.signer.as_ref().and_then(|s| s.organisation.as_deref()),
                Some("Ədliyyə Nazirliyi")
            );

            let stranger = OrganisationId("min-nowhere".into());
            let error = w.exchange.seal_protocol(&stranger, &pdf).unwrap_err();
            assert!(error.to_string().contains("min-nowhere"), "{error}");
        }
    }
}
