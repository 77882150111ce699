//! Verification protocols (SVC: a certified protocol of a verification): what a validation
//! found, written for people in their language — the result of each signature separately (SVR
//! 5.6) with the signer's name, pseudonym flag, organisation and position, the signing time and
//! whether the document changed after signing (SVR 4.2), the chain and where each revocation
//! answer came from — set as a PDF and sealed by the organisation it was made for
//! (`Exchange::seal_protocol`). The web UI offers one per document; `POST /api/v1/validations`
//! answers one for `Accept: application/pdf`.

use chrono::{DateTime, Utc};
use mubadile_core::exchange::{Exchange, OrganisationId, Outcome, Reading, directory};
use mubadile_core::pki::{Origin, RevocationAnswer, Status};
use mubadile_core::validation::{SignatureReport, SubIndication, ValidationReport};
use mubadile_plugin_pdf::{Block, Protocol};

use crate::ui::i18n::Tr;

/// The media type of a protocol.
pub const MEDIA_TYPE: &str = "application/pdf";

/// The sealed protocol of `report`, made for `holder` now (the report may be "as of" an
/// earlier time, which it states itself).
pub fn of_report(
    exchange: &Exchange,
    holder: &OrganisationId,
    report: &ValidationReport,
    t: Tr,
) -> mubadile_core::Result<Vec<u8>> {
    let mut text = Text::new(t);
    text.report(report);
    text.seal(exchange, holder, mubadile_core::time::now())
}

/// The sealed protocol of document `reading` as its reader's organisation `holder` verified it
/// now: the document's requisites, then the envelope's seal and the document's signatures.
pub fn of_document(
    exchange: &Exchange,
    holder: &OrganisationId,
    reading: &Reading,
    t: Tr,
) -> mubadile_core::Result<Vec<u8>> {
    let mut text = Text::new(t);
    let view = &reading.view;
    let requisites = &view.requisites;
    text.heading("document.requisites");
    text.field("documents.title", &requisites.title);
    text.field(
        "document.registration_number",
        &requisites.registration_number,
    );
    text.field(
        "document.registration_date",
        &requisites.registration_date.format("%d.%m.%Y").to_string(),
    );
    text.field(
        "document.sender",
        &format!("{} ({})", requisites.sender.name, requisites.sender.id),
    );
    for addressee in &requisites.addressees {
        text.field(
            "document.addressees",
            &format!("{} ({})", addressee.name, addressee.id),
        );
    }
    text.field("document.sent_at", &t.time(view.sent_at));
    text.field("document.envelope_sha256", &view.envelope_sha256);
    text.field("protocol.as_of", &t.time(reading.verified_at));
    let (verification, problem) = match &reading.outcome {
        Outcome::Accepted(v) => (Some(v), None),
        Outcome::Refused(reason, v) => (v.as_ref(), Some(reason)),
        Outcome::Incomplete(reason) => (None, Some(reason)),
    };
    let overall = match (&reading.outcome, verification) {
        (Outcome::Refused(..), _) => "TOTAL-FAILED",
        (_, None) => "INDETERMINATE",
        (_, Some(v)) => v.worst().name(),
    };
    text.field("document.overall", &text.result(overall));
    if let Some(problem) = problem {
        text.field("document.not_verified", problem);
    }
    if let Some(v) = verification {
        text.heading("document.seal");
        text.signatures(&v.seal);
        text.heading("document.signatures");
        text.signatures(&v.document);
    }
    text.seal(exchange, holder, reading.verified_at)
}

/// A protocol's text being written.
struct Text {
    t: Tr,
    blocks: Vec<Block>,
}

impl Text {
    fn new(t: Tr) -> Text {
        Text {
            t,
            blocks: vec![
                Block::Title(t.get("protocol.title").to_string()),
                Block::Text(t.get("protocol.intro").to_string()),
            ],
        }
    }

    fn heading(&mut self, key: &str) {
        self.blocks
            .push(Block::Heading(self.t.get(key).to_string()));
    }

    fn field(&mut self, key: &str, value: &str) {
        self.blocks.push(Block::Field {
            label: self.t.get(key).to_string(),
            value: value.to_string(),
        });
    }

    /// Positive, negative or incomplete (SVR 5.2), with the ETSI indication.
    fn result(&self, indication: &str) -> String {
        let key = match indication {
            "TOTAL-PASSED" => "result.positive",
            "TOTAL-FAILED" => "result.negative",
            _ => "result.incomplete",
        };
        format!("{} ({indication})", self.t.get(key))
    }

    /// The whole report of a document given for validation.
    fn report(&mut self, report: &ValidationReport) {
        let d = &report.document;
        self.heading("protocol.document");
        self.field("protocol.format", &d.format);
        self.field(
            "protocol.size",
            &format!("{} {}", d.size, self.t.get("protocol.bytes")),
        );
        self.field("protocol.sha256", &d.sha256);
        if d.detached {
            self.field("protocol.signature_kind", self.t.get("protocol.detached"));
        }
        self.field("protocol.as_of", &self.t.time(report.validation_time));
        self.field("document.overall", &self.result(report.indication.name()));
        self.heading("document.signatures");
        self.signatures(report);
    }

    fn signatures(&mut self, report: &ValidationReport) {
        if report.signatures.is_empty() {
            self.blocks.push(Block::Text(
                self.t.get("document.no_signatures").to_string(),
            ));
        }
        for s in &report.signatures {
            self.signature(s);
        }
    }

    /// One signature, as SVR 4.2 asks it to be shown.
    fn signature(&mut self, s: &SignatureReport) {
        let t = self.t;
        let mut title = format!("{} {}", t.get("document.signature"), s.id);
        if let Some(of) = &s.counter_signature_of {
            title.push_str(&format!(
                " ({} {of})",
                t.get("protocol.counter_signature_of")
            ));
        }
        self.blocks.push(Block::Heading(title));
        let mut result = self.result(s.indication.name());
        if let Some(sub) = s.sub_indication {
            result = format!("{result}, {}", sub.name());
        }
        self.field("document.overall", &result);
        self.field("protocol.level", &s.level);
        let unknown = t.get("document.unknown");
        let holder = s.signer.as_ref();
        self.field("document.signer", holder.map_or(unknown, |h| &h.name));
        self.field(
            "document.pseudonym",
            t.get(if holder.is_some_and(|h| h.pseudonym) {
                "document.pseudonym_yes"
            } else {
                "document.pseudonym_no"
            }),
        );
        if let Some(organisation) = holder.and_then(|h| h.organisation.as_deref()) {
            self.field("document.organisation", organisation);
        }
        if let Some(position) = holder.and_then(|h| h.position.as_deref()) {
            self.field("document.position", position);
        }
        let time = match (s.proven_signing_time, s.claimed_signing_time) {
            (Some(at), _) => format!("{} ({})", t.time(at), t.get("document.proven")),
            (None, Some(at)) => format!("{} ({})", t.time(at), t.get("document.claimed")),
            (None, None) => unknown.to_string(),
        };
        self.field("document.signing_time", &time);
        // SVR 4.2.7: the signed data no longer matches its signature.
        self.field(
            "document.changed",
            t.get(if s.sub_indication == Some(SubIndication::HashFailure) {
                "document.changed_yes"
            } else {
                "document.changed_no"
            }),
        );
        for stamp in &s.timestamps {
            let verdict = match &stamp.problem {
                None => t.get("protocol.timestamp_accepted").to_string(),
                Some(problem) => format!("{}: {problem}", t.get("protocol.timestamp_refused")),
            };
            let time = stamp
                .time
                .map_or_else(|| unknown.to_string(), |at| t.time(at));
            let tsa = stamp.tsa.as_deref().unwrap_or(unknown);
            self.field("protocol.timestamp", &format!("{time}, {tsa}: {verdict}"));
        }
        for c in &s.chain {
            let mut line = format!("{} ({} {})", c.subject, t.get("protocol.serial"), c.serial);
            if c.trust_anchor {
                line.push_str(&format!(" — {}", t.get("protocol.trust_anchor")));
            }
            if let Some(answer) = &c.revocation {
                line.push_str(&format!("\n{}", self.revocation(answer)));
            }
            self.field("protocol.chain", &line);
        }
        for m in &s.messages {
            self.field("protocol.messages", m);
        }
        for w in &s.warnings {
            self.field("protocol.warnings", w);
        }
    }

    /// A revocation answer and where it came from (SVR 4.2).
    fn revocation(&self, answer: &RevocationAnswer) -> String {
        let t = self.t;
        let status = match &answer.status {
            Status::Good => t.get("protocol.good").to_string(),
            Status::Suspended { since } => {
                format!("{} {}", t.get("protocol.suspended"), t.time(*since))
            }
            Status::Revoked { at, .. } => format!("{} {}", t.get("protocol.revoked"), t.time(*at)),
        };
        let origin = match (&answer.origin, &answer.url) {
            (Origin::Signature, _) => t.get("protocol.in_signature").to_string(),
            (Origin::Fetched, Some(url)) => format!("{} {url}", t.get("protocol.fetched")),
            (Origin::Cache, Some(url)) => format!("{} {url}", t.get("protocol.cached")),
            (Origin::Fetched | Origin::Cache, None) => t.get("protocol.fetched").to_string(),
        };
        format!(
            "{} {}: {status}; {} {}; {origin}",
            t.get("protocol.revocation"),
            answer.kind.to_uppercase(),
            t.get("protocol.answer_made"),
            t.time(answer.this_update)
        )
    }

    /// The text set as a PDF and sealed by `holder`, whose name it gives as the one it was made
    /// for.
    fn seal(
        mut self,
        exchange: &Exchange,
        holder: &OrganisationId,
        at: DateTime<Utc>,
    ) -> mubadile_core::Result<Vec<u8>> {
        let name = directory::organisation(&mut *exchange.pool().get()?, holder)?.name;
        let t = self.t;
        self.heading("protocol.certification");
        self.field("protocol.made_for", &format!("{name} ({holder})"));
        self.field("protocol.made_at", &t.time(at));
        self.blocks.push(Block::Text(
            t.get("protocol.seal_note").replace("{organisation}", &name),
        ));
        let protocol = Protocol {
            title: t.get("protocol.title").to_string(),
            blocks: self.blocks,
            footer: t.get("protocol.footer").replace("{organisation}", &name),
            created: at.timestamp(),
        };
        let pdf = protocol
            .to_pdf()
            .map_err(|e| mubadile_core::Error::invalid("protocol", e.message))?;
        exchange.seal_protocol(holder, &pdf)
    }
}
