//! Drafts: a document a clerk of an organisation is forming (EDE 2.1 steps 1–2) before it is
//! sent. A draft holds the main file, attachments, requisites, addressees chosen from the
//! directory and a route for signatures: the people who sign it, in order. Each signs in turn,
//! with the key carrier they hold (opened in memory only) or on their own token through the
//! two-step flow; each signature is added beside the earlier ones (parallel signatures) by the
//! format plugin of the file where one knows it, CAdES otherwise. When the route is complete a
//! person allowed to send (EDE 4.2) sends it through [`Exchange::send`], which runs the check
//! before sending (EDE 4.1); the draft then points at the sent document.
//!
//! A draft's message id is `draft-{id}`: a send interrupted after [`Exchange::send`] committed
//! answers the same document when repeated, so a draft is never sent twice (EDE 4.3.3).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use mubadile_plugin_api::{FormatPlugin, SignTarget, SignatureAppearance};
use serde::{Deserialize, Serialize};

use super::Exchange;
use super::directory::{self, OrganisationId};
use super::envelope::DataObject;
use super::query::DocumentView;
use super::requisites::OptionalRequisites;
use super::send::{Outgoing, SendingParty};
use super::signer_binding::require_own_certificate;
use crate::accounts::{Actor, Role, find_user};
use crate::crypto::{Signer, open_key_carrier};
use crate::signing::SignatureOptions;
use crate::signing::external::{self, Preparation, SigningSession};
use crate::store::schema::{draft_signers, drafts, users};
use crate::store::{DbConnection, blob, put_blob, transaction};
use crate::time::{from_db, now, to_db};
use crate::{Error, Result};

/// Roles that form and send drafts (EDE 4.2: the sender's signer, or a clerk it authorised).
pub const COMPOSERS: [Role; 2] = [Role::Clerk, Role::Signer];

/// Where a draft stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftStatus {
    /// Someone on the route has still to sign.
    AwaitingSignature,
    /// Everyone on the route signed; it may be sent.
    Ready,
    /// Sent: it became the document `sent_document_id`.
    Sent,
}

impl DraftStatus {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            DraftStatus::AwaitingSignature => "awaiting_signature",
            DraftStatus::Ready => "ready",
            DraftStatus::Sent => "sent",
        }
    }

    fn parse(name: &str) -> Result<DraftStatus> {
        match name {
            "awaiting_signature" => Ok(DraftStatus::AwaitingSignature),
            "ready" => Ok(DraftStatus::Ready),
            "sent" => Ok(DraftStatus::Sent),
            other => Err(Error::invalid(
                "draft status",
                format!("{other:?} is not stored"),
            )),
        }
    }
}

/// What a clerk gives to start a draft.
#[derive(Debug, Clone)]
pub struct NewDraft {
    /// The kind of document, e.g. `letter`.
    pub kind: String,
    /// What it is about.
    pub title: String,
    /// Optional requisites (EDE 3.2).
    pub optional: OptionalRequisites,
    /// The addressees, from the directory.
    pub addressees: Vec<OrganisationId>,
    /// The main document, unsigned (or already carrying signatures made elsewhere).
    pub document: DataObject,
    /// Attachments.
    pub attachments: Vec<DataObject>,
    /// The route: the sign-in names of the people who sign, in order.
    pub signers: Vec<String>,
}

/// One step of the route for signatures.
#[derive(Debug, Clone, Serialize)]
pub struct RouteStep {
    /// Position, from 1.
    pub position: i32,
    /// The signer's sign-in name.
    pub username: String,
    /// Their name.
    pub display_name: String,
    /// When they signed; `None` while they have not.
    pub signed_at: Option<DateTime<Utc>>,
}

/// An attachment of a draft.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DraftFile {
    /// The file's name.
    pub name: String,
    /// Its media type.
    pub media_type: String,
    /// SHA-256 (hex) of its bytes in `blobs`.
    pub sha256: String,
}

/// A draft as pages show it.
#[derive(Debug, Clone, Serialize)]
pub struct DraftView {
    /// Identifier.
    pub id: String,
    /// The organisation forming it.
    pub organisation: OrganisationId,
    /// Who started it (`user:…`).
    pub created_by: String,
    /// When (UTC).
    pub created_at: DateTime<Utc>,
    /// The kind of document.
    pub kind: String,
    /// What it is about.
    pub title: String,
    /// Optional requisites.
    pub optional: OptionalRequisites,
    /// The addressees' ids.
    pub addressees: Vec<OrganisationId>,
    /// The main document's name (with `.p7s` once CAdES wraps it).
    pub document_name: String,
    /// Its media type.
    pub document_media_type: String,
    /// SHA-256 (hex) of the main document as it stands.
    pub document_sha256: String,
    /// Attachments.
    pub attachments: Vec<DraftFile>,
    /// Where it stands.
    pub status: DraftStatus,
    /// The route for signatures.
    pub route: Vec<RouteStep>,
    /// Whether a two-step signature was prepared and awaits its value.
    pub signature_prepared: bool,
    /// The document it became, once sent.
    pub sent_document_id: Option<String>,
    /// Last change (UTC).
    pub updated_at: DateTime<Utc>,
}

impl DraftView {
    /// The step whose turn it is, while the route is not complete.
    pub fn next_step(&self) -> Option<&RouteStep> {
        self.route.iter().find(|s| s.signed_at.is_none())
    }
}

impl Exchange {
    /// Starts a draft for the organisation `actor` acts for. Refused, naming the field, when
    /// the title, kind or main document is missing, an addressee is not in the directory, or
    /// a person on the route is not a signer of the organisation.
    pub fn create_draft(&self, actor: &Actor, new: NewDraft) -> Result<DraftView> {
        let organisation = acting_organisation(actor)?;
        actor.require_in(&organisation, &COMPOSERS)?;
        if new.title.trim().is_empty() {
            return Err(Error::invalid("title", "say what the document is about"));
        }
        if new.kind.trim().is_empty() {
            return Err(Error::invalid(
                "kind",
                "give the kind of document, e.g. letter",
            ));
        }
        if new.document.content.is_empty() {
            return Err(Error::invalid(
                "document",
                "upload the main document or type the letter's text",
            ));
        }
        if new.addressees.is_empty() {
            return Err(Error::invalid(
                "addressees",
                "choose at least one addressee from the directory (EDE 3.1)",
            ));
        }
        if new.signers.is_empty() {
            return Err(Error::invalid(
                "signers",
                "choose at least one person to sign (EDE 4.1: a document is sent signed)",
            ));
        }
        let id = hex::encode(crate::crypto::random_bytes::<16>()?);
        let at = now();
        transaction(&self.pool, |conn| {
            for addressee in &new.addressees {
                if directory::find_organisation(conn, addressee)?.is_none() {
                    return Err(Error::invalid(
                        "addressees",
                        format!("{addressee} is not in the directory"),
                    ));
                }
            }
            let mut signer_ids = Vec::new();
            for username in &new.signers {
                let user = find_user(conn, username)?
                    .filter(|u| u.organisation_id.as_ref() == Some(&organisation))
                    .ok_or_else(|| {
                        Error::invalid(
                            "signers",
                            format!("{username} is not a user of {organisation}"),
                        )
                    })?;
                // GOV 2.5: only staff the head granted the right to sign are on a route.
                if !user.actor()?.roles.has(Role::Signer) {
                    return Err(Error::invalid(
                        "signers",
                        format!("{username} has not been granted the right to sign (role signer)"),
                    ));
                }
                if signer_ids.contains(&user.id.0) {
                    return Err(Error::invalid(
                        "signers",
                        format!("{username} is on the route twice"),
                    ));
                }
                signer_ids.push(user.id.0);
            }
            let document_sha256 = put_blob(conn, &new.document.content)?;
            let mut attachments = Vec::new();
            for file in &new.attachments {
                attachments.push(DraftFile {
                    name: file.name.clone(),
                    media_type: file.media_type.clone(),
                    sha256: put_blob(conn, &file.content)?,
                });
            }
            diesel::insert_into(drafts::table)
                .values((
                    drafts::id.eq(&id),
                    drafts::organisation_id.eq(&organisation),
                    drafts::created_by.eq(&actor.id),
                    drafts::created_at.eq(to_db(at)),
                    drafts::kind.eq(new.kind.trim()),
                    drafts::title.eq(new.title.trim()),
                    drafts::optional.eq(json(&new.optional)?),
                    drafts::addressees.eq(json(&new.addressees)?),
                    drafts::document_name.eq(&new.document.name),
                    drafts::document_media_type.eq(&new.document.media_type),
                    drafts::document_sha256.eq(&document_sha256),
                    drafts::attachments.eq(json(&attachments)?),
                    drafts::status.eq(DraftStatus::AwaitingSignature.name()),
                    drafts::updated_at.eq(to_db(at)),
                ))
                .execute(conn)?;
            for (i, user_id) in signer_ids.iter().enumerate() {
                diesel::insert_into(draft_signers::table)
                    .values((
                        draft_signers::draft_id.eq(&id),
                        draft_signers::position.eq(i32::try_from(i + 1).unwrap_or(i32::MAX)),
                        draft_signers::user_id.eq(user_id),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        })?;
        self.draft(actor, &id)
    }

    /// The draft `id` of the organisation `actor` acts for; "not found" for any other.
    pub fn draft(&self, actor: &Actor, id: &str) -> Result<DraftView> {
        let organisation = acting_organisation(actor)?;
        let mut conn = self.pool.get()?;
        draft_view(&mut conn, &organisation, id)
    }

    /// The organisation's drafts not sent yet, newest first.
    pub fn open_drafts(&self, organisation: &OrganisationId) -> Result<Vec<DraftView>> {
        let mut conn = self.pool.get()?;
        let ids: Vec<String> = drafts::table
            .filter(drafts::organisation_id.eq(organisation))
            .filter(drafts::status.ne(DraftStatus::Sent.name()))
            .order(drafts::created_at.desc())
            .select(drafts::id)
            .load(&mut conn)?;
        ids.iter()
            .map(|id| draft_view(&mut conn, organisation, id))
            .collect()
    }

    /// The main document of a draft as it stands, to read or to sign elsewhere.
    pub fn draft_document(&self, actor: &Actor, id: &str) -> Result<DataObject> {
        let view = self.draft(actor, id)?;
        let mut conn = self.pool.get()?;
        Ok(DataObject {
            content: blob(&mut conn, &view.document_sha256)?,
            name: view.document_name,
            media_type: view.document_media_type,
        })
    }

    /// The signer whose turn it is signs with the key carrier they brought (PKCS#12), opened
    /// with `password` in memory for this one signature and dropped after it; with a visible
    /// stamp where `appearance` places it, on a PDF (issue 5; the signer's details are taken
    /// from the certificate, GOV 3.2).
    pub fn sign_draft_with_key_carrier(
        &self,
        actor: &Actor,
        id: &str,
        carrier: &[u8],
        password: &str,
        appearance: Option<SignatureAppearance>,
    ) -> Result<DraftView> {
        // Whose turn it is before the carrier is opened: nobody else has the server spend a
        // key carrier's key derivation on a draft that is not theirs to sign.
        self.signers_turn(actor, id)?;
        let opened = open_key_carrier(carrier, password)?;
        let (view, document) = self.draft_to_sign(actor, id, Some(&opened.certificate))?;
        let chain = if opened.chain.is_empty() {
            self.validation.chain_for(&opened.certificate)?
        } else {
            opened.chain.clone()
        };
        let (plugin, target) = self.signing_target(&document)?;
        let at = now();
        // The same checks and insertion as the two-step flow: a certificate in force for
        // signing, and a value that verifies before it goes in.
        let preparation = external::prepare(
            plugin.as_ref(),
            target,
            &opened.certificate,
            &chain,
            at,
            SignatureOptions {
                appearance,
                ..SignatureOptions::default()
            },
        )?;
        let value = opened.key.sign(&preparation.data_to_be_signed)?;
        let session = SigningSession::decode(&preparation.session)?;
        let signed = external::finish(plugin.as_ref(), &session, &value, at)?;
        self.record_signature(&view, actor, signed, plugin.name())
    }

    /// Two-step flow, step one: prepares the next signature over the draft for the holder of
    /// `certificate` (DER), with a visible stamp where `appearance` places it on a PDF; the
    /// session is kept with the draft until the value comes back.
    pub fn prepare_draft_signature(
        &self,
        actor: &Actor,
        id: &str,
        certificate: &[u8],
        appearance: Option<SignatureAppearance>,
    ) -> Result<Preparation> {
        let (view, document) = self.draft_to_sign(actor, id, Some(certificate))?;
        let chain = self.validation.chain_for(certificate)?;
        let (plugin, target) = self.signing_target(&document)?;
        let preparation = external::prepare(
            plugin.as_ref(),
            target,
            certificate,
            &chain,
            now(),
            SignatureOptions {
                appearance,
                ..SignatureOptions::default()
            },
        )?;
        let mut conn = self.pool.get()?;
        diesel::update(drafts::table.find(&view.id))
            .set((
                drafts::signing_session.eq(&preparation.session),
                drafts::updated_at.eq(to_db(now())),
            ))
            .execute(&mut conn)?;
        Ok(preparation)
    }

    /// The data to be signed of the prepared two-step signature of a draft, for the signer whose
    /// turn it is alone (the holder's token signs it).
    pub fn draft_data_to_be_signed(&self, actor: &Actor, id: &str) -> Result<Vec<u8>> {
        self.signers_turn(actor, id)?;
        Ok(self
            .prepared_session(actor, id)?
            .data_to_be_signed()
            .to_vec())
    }

    /// Two-step flow, step two: inserts `signature_value` (DER, or r‖s for ECDSA), made on the
    /// signer's token over the prepared data.
    pub fn finish_draft_signature(
        &self,
        actor: &Actor,
        id: &str,
        signature_value: &[u8],
    ) -> Result<DraftView> {
        // The certificate was checked when the signature was prepared.
        let (view, _) = self.draft_to_sign(actor, id, None)?;
        let session = self.prepared_session(actor, id)?;
        let plugin = self.validation.validator.plugin_named(session.plugin())?;
        let signed = external::finish(plugin.as_ref(), &session, signature_value, now())?;
        self.record_signature(&view, actor, signed, plugin.name())
    }

    /// Sends a draft whose route is complete (EDE 4.2: by a person allowed to send). The check
    /// before sending (EDE 4.1) is [`Exchange::send`]'s; its refusal says what is missing.
    pub fn send_draft(
        &self,
        party: &SendingParty,
        actor: &Actor,
        id: &str,
    ) -> Result<DocumentView> {
        actor.require_in(&party.organisation, &COMPOSERS)?;
        let view = self.draft(actor, id)?;
        match view.status {
            DraftStatus::Ready => {}
            DraftStatus::AwaitingSignature => {
                let who = view.next_step().map_or("", |s| s.display_name.as_str());
                return Err(Error::refused(
                    "draft_awaiting_signature",
                    format!(
                        "the draft awaits the signature of {who}; it is sent once everyone on the route has signed (EDE 4.1)"
                    ),
                ));
            }
            DraftStatus::Sent => {
                return Err(Error::refused(
                    "draft_sent",
                    "the draft was sent already; open the sent document",
                ));
            }
        }
        let document = self.draft_document(actor, id)?;
        let mut attachments = Vec::new();
        {
            let mut conn = self.pool.get()?;
            for file in &view.attachments {
                attachments.push(DataObject {
                    name: file.name.clone(),
                    media_type: file.media_type.clone(),
                    content: blob(&mut conn, &file.sha256)?,
                });
            }
        }
        let outgoing = Outgoing {
            message_id: format!("draft-{id}"),
            kind: view.kind.clone(),
            title: view.title.clone(),
            category: None,
            addressees: view.addressees.clone(),
            registration_number: None,
            optional: view.optional.clone(),
            document,
            attachments,
            receipt_term_hours: None,
        };
        let sent = self.send(party, &outgoing)?;
        let mut conn = self.pool.get()?;
        diesel::update(drafts::table.find(id))
            .set((
                drafts::status.eq(DraftStatus::Sent.name()),
                drafts::sent_document_id.eq(&sent.id),
                drafts::signing_session.eq(None::<String>),
                drafts::updated_at.eq(to_db(now())),
            ))
            .execute(&mut conn)?;
        Ok(sent)
    }

    /// The draft and its current bytes, if it is `actor`'s turn to sign it and `certificate`,
    /// when given, was issued to them (GOV 3.2).
    fn draft_to_sign(
        &self,
        actor: &Actor,
        id: &str,
        certificate: Option<&[u8]>,
    ) -> Result<(DraftView, Vec<u8>)> {
        let (view, signer) = self.signers_turn(actor, id)?;
        let mut conn = self.pool.get()?;
        if let Some(certificate) = certificate {
            require_own_certificate(&mut conn, &signer, certificate)?;
        }
        let document = blob(&mut conn, &view.document_sha256)?;
        Ok((view, document))
    }

    /// The draft and the username of its next signer, if that is `actor` (EDE 4.2: the route
    /// is signed in order, each by the person on it).
    fn signers_turn(&self, actor: &Actor, id: &str) -> Result<(DraftView, String)> {
        let view = self.draft(actor, id)?;
        let Some(step) = view.next_step() else {
            return Err(Error::refused(
                "draft_signed",
                "everyone on the route has signed this draft; it can be sent",
            ));
        };
        if actor.id != format!("user:{}", step.username) {
            return Err(Error::Forbidden(format!(
                "it is {}'s turn to sign this draft (position {} of the route), not {}'s",
                step.display_name, step.position, actor.id
            )));
        }
        let signer = step.username.clone();
        Ok((view, signer))
    }

    fn prepared_session(&self, actor: &Actor, id: &str) -> Result<SigningSession> {
        let organisation = acting_organisation(actor)?;
        let mut conn = self.pool.get()?;
        let session: Option<String> = drafts::table
            .filter(drafts::id.eq(id))
            .filter(drafts::organisation_id.eq(&organisation))
            .select(drafts::signing_session)
            .first::<Option<String>>(&mut conn)
            .optional()?
            .ok_or_else(|| Error::not_found("draft", id))?;
        let session = session.ok_or_else(|| {
            Error::refused(
                "signature_not_prepared",
                "no signature was prepared for this draft; prepare it with your certificate first",
            )
        })?;
        SigningSession::decode(&session)
    }

    /// How the next signature goes onto `document`: beside the signatures it carries, by the
    /// plugin that reads them; a first signature by the plugin of the file's own format (PDF,
    /// XML), else an attached CAdES signature (as REST `prepare` chooses).
    fn signing_target(
        &self,
        document: &[u8],
    ) -> Result<(std::sync::Arc<dyn FormatPlugin>, SignTarget)> {
        let validator = &self.validation.validator;
        Ok(match validator.plugin_for(document) {
            Ok((plugin, description)) if description.signature_count > 0 => (
                plugin.clone(),
                SignTarget::Parallel {
                    document: document.to_vec(),
                    detached_content: None,
                },
            ),
            Ok((plugin, _)) => (
                plugin.clone(),
                SignTarget::New {
                    content: document.to_vec(),
                    attached: true,
                },
            ),
            Err(_) => (
                validator.plugin_named("cms")?.clone(),
                SignTarget::New {
                    content: document.to_vec(),
                    attached: true,
                },
            ),
        })
    }

    /// Keeps `signed` as the draft's document and marks the step signed, unless the signature
    /// fails validation or someone else changed the draft meanwhile.
    fn record_signature(
        &self,
        view: &DraftView,
        actor: &Actor,
        signed: Vec<u8>,
        plugin: &str,
    ) -> Result<DraftView> {
        let defects = self.signature_defects(&DataObject {
            name: view.document_name.clone(),
            media_type: view.document_media_type.clone(),
            content: signed.clone(),
        })?;
        if !defects.is_empty() {
            return Err(Error::refused(
                "signature_not_valid",
                format!("the signature was not added: {}", defects.join("; ")),
            ));
        }
        let (name, media_type) = if plugin == "cms" && view.document_media_type != CADES {
            (format!("{}.p7s", view.document_name), CADES.to_string())
        } else {
            (view.document_name.clone(), view.document_media_type.clone())
        };
        let step = view
            .next_step()
            .ok_or_else(|| Error::refused("draft_signed", "everyone has signed"))?
            .position;
        let complete = step == view.route.last().map_or(0, |s| s.position);
        let at = now();
        transaction(&self.pool, |conn| {
            let sha256 = put_blob(conn, &signed)?;
            // Only from the state this signature was made over: a second submission, or
            // another signer in between, changes nothing.
            let changed = diesel::update(
                drafts::table
                    .find(&view.id)
                    .filter(drafts::document_sha256.eq(&view.document_sha256))
                    .filter(drafts::status.eq(DraftStatus::AwaitingSignature.name())),
            )
            .set((
                drafts::document_sha256.eq(&sha256),
                drafts::document_name.eq(&name),
                drafts::document_media_type.eq(&media_type),
                drafts::signing_session.eq(None::<String>),
                drafts::status.eq(if complete {
                    DraftStatus::Ready.name()
                } else {
                    DraftStatus::AwaitingSignature.name()
                }),
                drafts::updated_at.eq(to_db(at)),
            ))
            .execute(conn)?;
            if changed != 1 {
                return Err(Error::refused(
                    "draft_changed",
                    "the draft changed while you signed it; open it again",
                ));
            }
            diesel::update(draft_signers::table.find((&view.id, step)))
                .set(draft_signers::signed_at.eq(Some(to_db(at))))
                .execute(conn)?;
            Ok(())
        })?;
        tracing::info!(draft = %view.id, signer = %actor.id, step, "draft signed");
        self.draft(actor, &view.id)
    }
}

/// The media type of an attached CAdES signature.
const CADES: &str = "application/pkcs7-mime";

fn acting_organisation(actor: &Actor) -> Result<OrganisationId> {
    actor
        .organisation
        .clone()
        .ok_or_else(|| Error::Forbidden(format!("{} belongs to no organisation", actor.id)))
}

fn json(value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::invalid("draft", e.to_string()))
}

fn parse<T: for<'a> Deserialize<'a>>(what: &'static str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::invalid(what, e.to_string()))
}

type DraftRow = (
    String,
    String,
    String,
    chrono::NaiveDateTime,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    chrono::NaiveDateTime,
);

fn draft_view(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    id: &str,
) -> Result<DraftView> {
    let row: DraftRow = drafts::table
        .filter(drafts::id.eq(id))
        .filter(drafts::organisation_id.eq(organisation))
        .select((
            drafts::id,
            drafts::organisation_id,
            drafts::created_by,
            drafts::created_at,
            drafts::kind,
            drafts::title,
            drafts::optional,
            drafts::addressees,
            drafts::document_name,
            drafts::document_media_type,
            drafts::document_sha256,
            drafts::attachments,
            drafts::status,
            drafts::signing_session,
            drafts::sent_document_id,
            drafts::updated_at,
        ))
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("draft", id))?;
    let route: Vec<(i32, String, String, Option<chrono::NaiveDateTime>)> = draft_signers::table
        .inner_join(users::table)
        .filter(draft_signers::draft_id.eq(id))
        .order(draft_signers::position.asc())
        .select((
            draft_signers::position,
            users::username,
            users::display_name,
            draft_signers::signed_at,
        ))
        .load(conn)?;
    Ok(DraftView {
        id: row.0,
        organisation: OrganisationId(row.1),
        created_by: row.2,
        created_at: from_db(row.3),
        kind: row.4,
        title: row.5,
        optional: parse("optional requisites", &row.6)?,
        addressees: parse("addressees", &row.7)?,
        document_name: row.8,
        document_media_type: row.9,
        document_sha256: row.10,
        attachments: parse("attachments", &row.11)?,
        status: DraftStatus::parse(&row.12)?,
        signature_prepared: row.13.is_some(),
        sent_document_id: row.14,
        updated_at: from_db(row.15),
        route: route
            .into_iter()
            .map(|(position, username, display_name, signed_at)| RouteStep {
                position,
                username,
                display_name,
                signed_at: signed_at.map(from_db),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{NewUser, create_user};
    use crate::both_backends;
    use crate::ca::lifecycle::{IssueRequest, KeySource};
    use crate::ca::profiles::{Enrollment, PersonHolder};
    use crate::crypto::KeyAlgorithm;
    use crate::exchange::send::SenderKind;
    use crate::exchange::testing::{World, administrator};
    use crate::store::DbPool;

    /// The World's people: Aygün of Justice and Leyla of Finance, by the FINs their
    /// certificates carry.
    const AYGUN: Option<&str> = Some("5ZK7QW2");
    const LEYLA: Option<&str> = Some("6AB2CD3");

    fn user(pool: &DbPool, w: &World, name: &str, roles: Vec<Role>, fin: Option<&str>) -> Actor {
        let mut conn = pool.get().unwrap();
        let (user, _) = create_user(
            &mut conn,
            &NewUser {
                username: name.into(),
                display_name: format!("{name} Əliyev"),
                email: None,
                roles,
                organisation: Some(w.justice.clone()),
                department: None,
                fin: fin.map(str::to_string),
            },
        )
        .unwrap();
        user.actor().unwrap()
    }

    /// The two-step flow through to the end: `person`'s certificate prepared, their key signs.
    fn sign_in_two_steps(
        w: &World,
        actor: &Actor,
        draft: &str,
        person: &crate::exchange::testing::Person,
    ) -> Result<DraftView> {
        let prepared =
            w.exchange
                .prepare_draft_signature(actor, draft, person.certificate(), None)?;
        w.exchange.finish_draft_signature(
            actor,
            draft,
            &person.sign_value(&prepared.data_to_be_signed),
        )
    }

    fn letter(signers: Vec<String>, w: &World) -> NewDraft {
        NewDraft {
            kind: "letter".into(),
            title: "Hesabat haqqında".into(),
            optional: OptionalRequisites::default(),
            addressees: vec![w.finance.clone()],
            document: DataObject {
                name: "məktub.txt".into(),
                media_type: "text/plain; charset=utf-8".into(),
                content: "Hörmətli həmkarlar, hesabatı göndəririk."
                    .as_bytes()
                    .to_vec(),
            },
            attachments: vec![DataObject {
                name: "cədvəl.csv".into(),
                media_type: "text/csv".into(),
                content: b"il,say\n2026,7\n".to_vec(),
            }],
            signers,
        }
    }

    both_backends!(
        fn ede_2_1_a_draft_is_signed_along_its_route_in_order_then_sent_once(pool: &DbPool) {
            let w = World::new(pool);
            let clerk = user(pool, &w, "clerk", vec![Role::Clerk], None);
            let aygun = user(pool, &w, "aygun", vec![Role::Signer], AYGUN);

            // The route takes only people granted the right to sign (GOV 2.5).
            let err = w
                .exchange
                .create_draft(&clerk, letter(vec!["clerk".into()], &w));
            assert!(err.unwrap_err().to_string().contains("signers"));
            let mut missing = letter(vec!["aygun".into()], &w);
            missing.title = " ".into();
            let err = w.exchange.create_draft(&clerk, missing).unwrap_err();
            assert!(err.to_string().contains("title"), "{err}");

            let draft = w
                .exchange
                .create_draft(&clerk, letter(vec!["aygun".into()], &w))
                .unwrap();
            assert_eq!(draft.status, DraftStatus::AwaitingSignature);
            assert_eq!(w.exchange.open_drafts(&w.justice).unwrap().len(), 1);

            // EDE 4.1: not sent before it is signed, saying whose signature it awaits.
            let party = SendingParty {
                organisation: w.justice.clone(),
                actor: clerk.id.clone(),
                kind: SenderKind::AuthorisedPerson,
            };
            let err = w
                .exchange
                .send_draft(&party, &clerk, &draft.id)
                .unwrap_err();
            assert!(err.to_string().contains("aygun Əliyev"), "{err}");
            // Only the signer whose turn it is signs.
            let err = w
                .exchange
                .prepare_draft_signature(&clerk, &draft.id, w.aygun.certificate(), None)
                .unwrap_err();
            assert_eq!(err.code(), "forbidden", "{err}");

            // Two-step: prepare, the holder's own key signs, finish.
            let prepared = w
                .exchange
                .prepare_draft_signature(&aygun, &draft.id, w.aygun.certificate(), None)
                .unwrap();
            assert_eq!(
                w.exchange
                    .draft_data_to_be_signed(&aygun, &draft.id)
                    .unwrap(),
                prepared.data_to_be_signed
            );
            let err = w
                .exchange
                .finish_draft_signature(&aygun, &draft.id, b"not a signature")
                .unwrap_err();
            assert!(err.to_string().contains("signature value"), "{err}");
            let signed = w
                .exchange
                .finish_draft_signature(
                    &aygun,
                    &draft.id,
                    &w.aygun.sign_value(&prepared.data_to_be_signed),
                )
                .unwrap();
            assert_eq!(signed.status, DraftStatus::Ready);
            assert_eq!(signed.document_name, "məktub.txt.p7s");
            assert!(signed.route[0].signed_at.is_some());

            let sent = w.exchange.send_draft(&party, &clerk, &draft.id).unwrap();
            assert_eq!(sent.requisites.title, "Hesabat haqqında");
            let after = w.exchange.draft(&clerk, &draft.id).unwrap();
            assert_eq!(after.status, DraftStatus::Sent);
            assert_eq!(after.sent_document_id.as_deref(), Some(sent.id.as_str()));
            assert!(w.exchange.open_drafts(&w.justice).unwrap().is_empty());
            let err = w
                .exchange
                .send_draft(&party, &clerk, &draft.id)
                .unwrap_err();
            assert_eq!(err.code(), "draft_sent");
            // Another organisation finds nothing.
            let mut stranger = clerk.clone();
            stranger.organisation = Some(w.finance.clone());
            assert_eq!(
                w.exchange.draft(&stranger, &draft.id).unwrap_err().code(),
                "not_found"
            );
        }
    );

    both_backends!(
        fn xml_and_pdf_are_signed_in_their_own_format_each_signer_in_turn_beside_the_last(
            pool: &DbPool,
        ) {
            let w = World::new(pool);
            let first = user(pool, &w, "first", vec![Role::Signer], AYGUN);
            let second = user(pool, &w, "second", vec![Role::Signer], LEYLA);
            let files = [
                (
                    "məktub.xml",
                    "application/xml",
                    "xml",
                    "<məktub><mətn>Hesabat</mətn></məktub>".as_bytes().to_vec(),
                ),
                (
                    "məktub.pdf",
                    "application/pdf",
                    "pdf",
                    crate::testkit::one_page_pdf(),
                ),
            ];
            for (name, media_type, format, content) in files {
                let mut new = letter(vec!["first".into(), "second".into()], &w);
                new.document = DataObject {
                    name: name.into(),
                    media_type: media_type.into(),
                    content,
                };
                let draft = w.exchange.create_draft(&first, new).unwrap();
                let sign = |actor: &Actor, person| sign_in_two_steps(&w, actor, &draft.id, person);
                // In route order only.
                assert_eq!(sign(&second, &w.leyla).unwrap_err().code(), "forbidden");
                let after_first = sign(&first, &w.aygun).unwrap();
                assert_eq!(after_first.status, DraftStatus::AwaitingSignature);
                let done = sign(&second, &w.leyla).unwrap();
                assert_eq!(done.status, DraftStatus::Ready);
                // XAdES inside the XML, PAdES inside the PDF, not a CAdES wrapper; two
                // signatures, both valid.
                assert_eq!(done.document_name, name);
                assert_eq!(done.document_media_type, media_type);
                let signed = w
                    .exchange
                    .draft_document(&first, &draft.id)
                    .unwrap()
                    .content;
                let (plugin, _) = w.exchange.validation.validator.plugin_for(&signed).unwrap();
                assert_eq!(plugin.name(), format);
                let report = w.exchange.validation.validate(&signed, None, None).unwrap();
                assert_eq!(report.signatures.len(), 2);
                assert!(
                    report
                        .signatures
                        .iter()
                        .all(|s| s.indication == crate::validation::Indication::TotalPassed),
                    "{report:?}"
                );
            }
        }
    );

    both_backends!(
        fn ede_4_2_only_the_signer_whose_turn_it_is_has_a_key_carrier_opened_or_reads_the_data_to_be_signed(
            pool: &DbPool,
        ) {
            let w = World::new(pool);
            let clerk = user(pool, &w, "clerk", vec![Role::Clerk], None);
            let aygun = user(pool, &w, "aygun", vec![Role::Signer], AYGUN);
            let draft = w
                .exchange
                .create_draft(&clerk, letter(vec!["aygun".into()], &w))
                .unwrap();
            // Regression: a key carrier was opened (its key derivation run) before whose turn
            // it is was checked, so anyone of the organisation had the server run it.
            let by = |actor: &Actor| {
                w.exchange
                    .sign_draft_with_key_carrier(
                        actor,
                        &draft.id,
                        b"not a key carrier",
                        "pin",
                        None,
                    )
                    .unwrap_err()
                    .code()
            };
            assert_eq!(by(&clerk), "forbidden");
            assert_eq!(by(&aygun), "invalid_input");
            // Regression: anyone of the organisation read the data prepared for the signer's
            // token.
            w.exchange
                .prepare_draft_signature(&aygun, &draft.id, w.aygun.certificate(), None)
                .unwrap();
            let err = w
                .exchange
                .draft_data_to_be_signed(&clerk, &draft.id)
                .unwrap_err();
            assert_eq!(err.code(), "forbidden", "{err}");
            assert!(
                w.exchange
                    .draft_data_to_be_signed(&aygun, &draft.id)
                    .is_ok()
            );
        }
    );

    both_backends!(
        fn a_signature_made_over_an_earlier_state_of_the_draft_changes_nothing(pool: &DbPool) {
            let w = World::new(pool);
            let first = user(pool, &w, "first", vec![Role::Signer], AYGUN);
            user(pool, &w, "second", vec![Role::Signer], LEYLA);
            let draft = w
                .exchange
                .create_draft(&first, letter(vec!["first".into(), "second".into()], &w))
                .unwrap();
            let signed = sign_in_two_steps(&w, &first, &draft.id, &w.aygun).unwrap();
            // A second submission of the first signature, made over the unsigned draft (a
            // double click, or a request replayed): refused, the draft as it was.
            let bytes = w
                .exchange
                .draft_document(&first, &draft.id)
                .unwrap()
                .content;
            let err = w
                .exchange
                .record_signature(&draft, &first, bytes, "cms")
                .unwrap_err();
            assert_eq!(err.code(), "draft_changed", "{err}");
            let now = w.exchange.draft(&first, &draft.id).unwrap();
            assert_eq!(now.document_sha256, signed.document_sha256);
            assert_eq!(now.next_step().unwrap().username, "second");
        }
    );

    both_backends!(
        fn gov_3_2_a_signer_signs_a_draft_only_with_a_certificate_issued_to_their_fin(
            pool: &DbPool,
        ) {
            let w = World::new(pool);
            let aygun = user(pool, &w, "aygun", vec![Role::Signer], None);
            let draft = w
                .exchange
                .create_draft(&aygun, letter(vec!["aygun".into()], &w))
                .unwrap();
            let prepare = |certificate: &[u8]| {
                w.exchange
                    .prepare_draft_signature(&aygun, &draft.id, certificate, None)
                    .map(|_| ())
            };
            // No FIN recorded: the platform cannot tell whose certificates are hers.
            let err = prepare(w.aygun.certificate()).unwrap_err();
            assert_eq!(err.code(), "fin_not_recorded", "{err}");
            assert!(
                err.to_string().contains("mubadile users fin aygun"),
                "{err}"
            );

            crate::accounts::set_fin(&mut pool.get().unwrap(), "aygun", AYGUN).unwrap();
            // Someone else's certificate, by either flow, is refused naming whose it is.
            let err = prepare(w.leyla.certificate()).unwrap_err();
            assert_eq!(err.code(), "certificate_not_yours", "{err}");
            assert!(err.to_string().contains("FIN 6AB2CD3"), "{err}");
            let issued = w
                .exchange
                .ca
                .issue(
                    &administrator(),
                    &IssueRequest {
                        ca: None,
                        enrollment: Enrollment::PersonSignature(PersonHolder {
                            given_name: "Nərmin".into(),
                            surname: "Quliyeva".into(),
                            pseudonym: None,
                            fin: "7XY8ZW9".into(),
                            organisation: "Ədliyyə Nazirliyi".into(),
                            organisation_id: Some("1400000001".into()),
                            department: None,
                            position: "Məsləhətçi".into(),
                            email: "7xy8zw9@example.gov.az".into(),
                        }),
                        key: KeySource::Generate {
                            algorithm: KeyAlgorithm::EcdsaP256,
                            carrier_password: "pin-of-narmin".into(),
                        },
                        public_consent: false,
                    },
                )
                .unwrap();
            let carrier = issued.key_carrier.unwrap();
            let err = w
                .exchange
                .sign_draft_with_key_carrier(&aygun, &draft.id, &carrier, "pin-of-narmin", None)
                .unwrap_err();
            assert!(
                err.to_string().contains("Nərmin Quliyeva (FIN 7XY8ZW9)"),
                "{err}"
            );
            assert_eq!(err.code(), "certificate_not_yours", "{err}");
            assert_eq!(
                w.exchange.draft(&aygun, &draft.id).unwrap().status,
                DraftStatus::AwaitingSignature
            );

            // Her own certificate signs.
            let done = sign_in_two_steps(&w, &aygun, &draft.id, &w.aygun).unwrap();
            assert_eq!(done.status, DraftStatus::Ready);
        }
    );
}
