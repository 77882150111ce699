//! Raising signatures to a higher baseline level (EN 319 122-1 6.3): B-B → B-T adds a signature
//! timestamp to every signature that has none; B-T → B-LT validates the document now and embeds
//! every certificate and revocation answer that validation relied on, the timestamps' included,
//! so the signature can be validated later without the network; B-LT → B-LTA adds an archive
//! timestamp over the signature and all that data, renewable before its algorithms weaken.

use mubadile_plugin_api::ValidationData;

use super::{TimestampSource, add_archive_timestamp, add_signature_timestamp, plugin_error};
use crate::pki::TrustAnchors;
use crate::validation::{Indication, Validator};
use crate::{Error, Result};

/// A baseline level a signature can be raised to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// With a signature timestamp.
    T,
    /// With the validation data as well.
    Lt,
    /// With an archive timestamp over all of it.
    Lta,
}

impl std::str::FromStr for Level {
    type Err = Error;

    fn from_str(s: &str) -> Result<Level> {
        match s.to_ascii_uppercase().as_str() {
            "T" | "B-T" => Ok(Level::T),
            "LT" | "B-LT" => Ok(Level::Lt),
            "LTA" | "B-LTA" => Ok(Level::Lta),
            _ => Err(Error::invalid(
                "level",
                format!("{s:?} is not a level to extend to; give T, LT or LTA"),
            )),
        }
    }
}

/// Raises every signature of `document` to `level`, timestamps from `tsa`. Only signatures that
/// validate (TOTAL-PASSED) now are given validation data: embedding evidence for a failed or
/// undecided signature would certify nothing.
pub fn extend(
    validator: &Validator,
    anchors: &TrustAnchors,
    tsa: &dyn TimestampSource,
    document: &[u8],
    detached: Option<&[u8]>,
    level: Level,
) -> Result<Vec<u8>> {
    let (plugin, _) = validator.plugin_for(document)?;
    let mut document = document.to_vec();
    let evidence = plugin
        .signatures(&document, detached)
        .map_err(plugin_error)?;
    if evidence.is_empty() {
        return Err(Error::invalid(
            "document",
            "it holds no signature to extend",
        ));
    }
    for signature in evidence.iter().filter(|e| e.timestamps.is_empty()) {
        document = add_signature_timestamp(plugin.as_ref(), &document, &signature.id, tsa)?;
    }
    if level < Level::Lt {
        return Ok(document);
    }
    let report = validator.validate(&document, detached, anchors, None)?;
    let mut data = ValidationData::default();
    for signature in &report.signatures {
        if signature.indication != Indication::TotalPassed {
            return Err(Error::refused(
                "signature_not_valid",
                format!(
                    "signature {} is {} ({}): {}; validation data is embedded only for signatures \
                     that validate now",
                    signature.id,
                    signature.indication.name(),
                    signature.sub_indication.map_or("", |s| s.name()),
                    signature.messages.join("; ")
                ),
            ));
        }
        let used = &signature.validation_data;
        for (into, from) in [
            (&mut data.certificates, &used.certificates),
            (&mut data.crls, &used.crls),
            (&mut data.ocsp_responses, &used.ocsp_responses),
        ] {
            for der in from {
                if !into.contains(der) {
                    into.push(der.clone());
                }
            }
        }
    }
    let mut document = plugin
        .add_validation_data(&document, &data)
        .map_err(plugin_error)?;
    if level < Level::Lta {
        return Ok(document);
    }
    for signature in report
        .signatures
        .iter()
        .filter(|s| s.counter_signature_of.is_none())
    {
        document = add_archive_timestamp(plugin.as_ref(), &document, &signature.id, detached, tsa)?;
    }
    Ok(document)
}
