//! The validation report as plain text for people (SVR 4.2): the terminal output of
//! `mubadile verify` and the body of the verification protocol.

use std::fmt;

use super::report::{SignatureReport, ValidationReport};
use crate::pki::{Origin, RevocationAnswer, Status};

impl fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.document;
        writeln!(f, "Document:   {} ({} bytes)", d.format, d.size)?;
        writeln!(f, "SHA-256:    {}", d.sha256)?;
        if d.detached {
            writeln!(
                f,
                "            detached signature; the signed data was given apart"
            )?;
        }
        writeln!(f, "Checked as of {}", self.validation_time.to_rfc3339())?;
        writeln!(
            f,
            "Result:     {} — {} ({} signature{})",
            self.indication.name(),
            self.result,
            self.signatures.len(),
            if self.signatures.len() == 1 { "" } else { "s" }
        )?;
        for s in &self.signatures {
            writeln!(f)?;
            write_signature(f, s)?;
        }
        Ok(())
    }
}

fn write_signature(f: &mut fmt::Formatter<'_>, s: &SignatureReport) -> fmt::Result {
    match &s.counter_signature_of {
        Some(of) => writeln!(f, "Counter-signature {} over {of} ({})", s.id, s.level)?,
        None => writeln!(f, "Signature {} ({})", s.id, s.level)?,
    }
    match s.sub_indication {
        Some(sub) => writeln!(
            f,
            "  Result:   {} / {} — {}",
            s.indication.name(),
            sub.name(),
            s.result
        )?,
        None => writeln!(f, "  Result:   {} — {}", s.indication.name(), s.result)?,
    }
    if let Some(signer) = &s.signer {
        let mut line = signer.name.clone();
        if signer.pseudonym {
            line.push_str(" (pseudonym)");
        }
        for part in [&signer.position, &signer.organisation]
            .into_iter()
            .flatten()
        {
            line.push_str(", ");
            line.push_str(part);
        }
        writeln!(f, "  Signer:   {line}")?;
    }
    if let Some(t) = s.claimed_signing_time {
        writeln!(f, "  Claimed signing time: {}", t.to_rfc3339())?;
    }
    if let Some(t) = s.proven_signing_time {
        writeln!(f, "  Proven to exist at:   {} (timestamp)", t.to_rfc3339())?;
    }
    for t in &s.timestamps {
        let time = t.time.map(|t| t.to_rfc3339()).unwrap_or_else(|| "?".into());
        let tsa = t.tsa.as_deref().unwrap_or("unknown TSA");
        match &t.problem {
            None => writeln!(f, "  Timestamp {time} by {tsa}: accepted")?,
            Some(p) => writeln!(f, "  Timestamp {time} by {tsa}: not accepted: {p}")?,
        }
    }
    if !s.chain.is_empty() {
        writeln!(f, "  Chain:")?;
    }
    for c in &s.chain {
        let anchor = if c.trust_anchor {
            " [trust anchor]"
        } else {
            ""
        };
        writeln!(f, "    {} (serial {}){anchor}", c.subject, c.serial)?;
        if let Some(answer) = &c.revocation {
            writeln!(f, "      {}", revocation_line(answer))?;
        }
    }
    for m in &s.messages {
        writeln!(f, "  - {m}")?;
    }
    for w in &s.warnings {
        writeln!(f, "  ! {w}")?;
    }
    Ok(())
}

fn revocation_line(answer: &RevocationAnswer) -> String {
    let status = match &answer.status {
        Status::Good => "good".to_string(),
        Status::Suspended { since } => format!("suspended since {}", since.to_rfc3339()),
        Status::Revoked { at, reason } => match reason {
            Some(r) => format!("revoked at {} ({r:?})", at.to_rfc3339()),
            None => format!("revoked at {}", at.to_rfc3339()),
        },
    };
    let origin = match (&answer.origin, &answer.url) {
        (Origin::Signature, _) => "carried in the signature".to_string(),
        (Origin::Fetched, Some(url)) => format!("fetched from {url}"),
        (Origin::Cache, Some(url)) => format!("fetched earlier from {url}"),
        (Origin::Fetched | Origin::Cache, None) => "fetched".to_string(),
    };
    format!(
        "{}: {status}, made {}, {origin}",
        answer.kind.to_uppercase(),
        answer.this_update.to_rfc3339()
    )
}
