//! Sending (EDE 4.1–4.2): the check before sending, numbering, sealing, and the one transaction
//! that records the document, its envelope, its outgoing journal entry and its deliveries.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use mubadile_plugin_api::{FormatPlugin, MAX_TEXT, SignTarget};
use serde::Serialize;

use super::Exchange;
use super::delivery::{NewDelivery, insert_pending_many};
use super::directory::{self, OrganisationId};
use super::directory_cache::DirectoryCache;
use super::envelope::{Contents, DataObject};
use super::numbering;
use super::query::{DeliveryView, DocumentView};
use super::records::Records;
use super::requisites::{Addressee, OptionalRequisites, Requisites, VERSION};
use crate::crypto::Signer;
use crate::journal::{self, Event, Journal, NewEntry};
use crate::signing::{SigningIdentity, sign};
use crate::store::schema::documents;
use crate::store::{DbConnection, put_blobs, serialize_writers_in_order};
use crate::time::{baku_date, now, to_db};
use crate::validation::Indication;
use crate::{Error, Result};

/// Who sends (EDE 4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SenderKind {
    /// The sender itself: a person signing for the organisation.
    Sender,
    /// A person authorised to act for the sender.
    AuthorisedPerson,
    /// An automated information system acting as the sender programmed it.
    AutomatedSystem,
}

impl SenderKind {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            SenderKind::Sender => "sender",
            SenderKind::AuthorisedPerson => "authorised_person",
            SenderKind::AutomatedSystem => "automated_system",
        }
    }
}

/// The organisation that sends and who acts for it.
#[derive(Debug, Clone)]
pub struct SendingParty {
    /// The sending organisation.
    pub organisation: OrganisationId,
    /// Who acts, as written to the record, e.g. `client:3f…` or `user:aliyev`.
    pub actor: String,
    /// In which capacity (EDE 4.2).
    pub kind: SenderKind,
}

/// A document to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The sender's own identifier of this message: sending it again returns the first result
    /// and never registers a second document (EDE 4.3.3).
    pub message_id: String,
    /// The kind of document, e.g. `letter`.
    pub kind: String,
    /// What it is about.
    pub title: String,
    /// The sender's category; `general` if `None`.
    pub category: Option<String>,
    /// The addressees.
    pub addressees: Vec<OrganisationId>,
    /// The sender's registration number, when its own office system assigned one; the platform
    /// numbers the document otherwise.
    pub registration_number: Option<String>,
    /// Optional requisites (EDE 3.2).
    pub optional: OptionalRequisites,
    /// The main document, signed in its own format.
    pub document: DataObject,
    /// Attachments.
    pub attachments: Vec<DataObject>,
    /// Hours the recipients have to confirm receipt, instead of the agreed term (EDE 4.6).
    pub receipt_term_hours: Option<i64>,
}

impl Exchange {
    /// Sends a document: checks it (EDE 4.1), numbers it, seals its envelope and records it
    /// with one pending delivery per addressee, all in one transaction. Sending the same
    /// `message_id` again answers the first result (EDE 4.3.3); reusing it for other content is
    /// refused.
    pub fn send(&self, party: &SendingParty, outgoing: &Outgoing) -> Result<DocumentView> {
        let message_id = outgoing.message_id.trim();
        if message_id.is_empty() || message_id.len() > 200 {
            return Err(Error::invalid(
                "message id",
                "give every message an identifier of 1 to 200 characters that you never reuse",
            ));
        }
        let content_sha256 = hex::encode(crate::crypto::sha256(&outgoing.document.content));
        if let Some(sent) = self.already_sent(&party.organisation, message_id, &content_sha256)? {
            return Ok(sent);
        }
        let mut conn = self.pool.get()?;
        let listed = self.directory.existing(&mut conn, &party.organisation)?;
        let sender = &listed.organisation;
        let category_name = outgoing
            .category
            .clone()
            .unwrap_or_else(|| directory::GENERAL.to_string());
        let category = self
            .directory
            .category(&mut conn, &sender.id, &category_name)?;
        if !category.exchangeable {
            return Err(Error::refused(
                "category_not_exchangeable",
                format!(
                    "documents of the category {category_name:?} may not be exchanged electronically (EDE 1.2)"
                ),
            ));
        }
        let mut defects = Vec::new();
        let mut addressees = Vec::new();
        for id in &outgoing.addressees {
            match self.directory.organisation(&mut conn, id)? {
                Some(found) => addressees.push(Addressee {
                    id: found.organisation.id.clone(),
                    name: found.organisation.name.clone(),
                }),
                None => defects.push(format!(
                    "the addressee {id} is not in the directory (EDE 4.1)"
                )),
            }
        }
        let (seal_key, seal_certificate) = match (&sender.seal_key_ref, &sender.seal_certificate) {
            (Some(key), Some(certificate)) => (key.clone(), certificate.clone()),
            _ => {
                return Err(Error::refused(
                    "no_seal",
                    format!(
                        "{} has no seal to bind its envelopes; an administrator issues one",
                        sender.id
                    ),
                ));
            }
        };
        drop(conn);
        defects.extend(self.signature_defects(&outgoing.document)?);
        let at = now();
        let today = crate::time::baku_date(at);
        let mut requisites = Requisites {
            version: VERSION,
            registration_number: outgoing.registration_number.clone().unwrap_or_default(),
            registration_date: today,
            kind: outgoing.kind.trim().to_string(),
            title: outgoing.title.trim().to_string(),
            sender: sender.requisites(),
            addressees,
            optional: outgoing.optional.clone(),
        };
        // The number is given inside the transaction; check the rest as if it were there.
        let numbered_later = outgoing.registration_number.is_none();
        if numbered_later {
            // A placeholder of the schema's form (EDE 3.1), replaced by the number below.
            requisites.registration_number = "0".into();
        }
        defects.extend(requisites.defects());
        if !outgoing.addressees.is_empty() && defects.iter().any(|d| d.contains("no addressee")) {
            defects.retain(|d| !d.contains("no addressee"));
        }
        if !defects.is_empty() {
            return Err(Error::refused(
                "incomplete_document",
                format!(
                    "the document cannot be sent (EDE 4.1): {}",
                    defects.join("; ")
                ),
            ));
        }
        let contents = Contents {
            requisites,
            document: outgoing.document.clone(),
            attachments: outgoing.attachments.clone(),
        };
        contents.check_names()?;
        let ready = ReadySend {
            document_id: hex::encode(crate::crypto::random_bytes::<16>()?),
            sender: sender.id.clone(),
            party: party.clone(),
            message_id: message_id.to_string(),
            category: category_name,
            content_sha256: content_sha256.clone(),
            document_text: self.document_text(&contents.document),
            contents,
            numbered_later,
            at,
            receipt_term_hours: outgoing.receipt_term_hours,
            seal: Seal {
                signer: self.seal_signer(&seal_key)?,
                chain: self.validation.chain_for(&seal_certificate)?,
                certificate: seal_certificate,
                cms: self.validation.validator.plugin_named("cms")?.clone(),
            },
            written: None,
        };
        match self.sends.submit(ready) {
            // Answered from what was written, without reading it back.
            Ok(sent) => sent.view(),
            // Two sends of one message id at once: the loser answers the winner's result.
            Err(Error::Refused {
                code: "message_id_taken",
                ..
            }) => self
                .already_sent(&party.organisation, message_id, &content_sha256)?
                .ok_or_else(|| Error::refused("message_id_taken", "retry the request")),
            Err(e) => Err(e),
        }
    }

    /// The earlier result of `message_id`, if it was sent; refused if it carried other content.
    fn already_sent(
        &self,
        sender: &OrganisationId,
        message_id: &str,
        content_sha256: &str,
    ) -> Result<Option<DocumentView>> {
        let mut conn = self.pool.get()?;
        let found: Option<(String, String)> = documents::table
            .filter(documents::sender_id.eq(sender))
            .filter(documents::message_id.eq(message_id))
            .select((documents::id, documents::content_sha256))
            .first(&mut conn)
            .optional()?;
        let Some((id, earlier_sha256)) = found else {
            return Ok(None);
        };
        if earlier_sha256 != content_sha256 {
            return Err(Error::refused(
                "message_id_reused",
                format!(
                    "message id {message_id:?} was used for document {id} with other content; give a new message a new id"
                ),
            ));
        }
        let mut view = super::query::document_view(&mut conn, &id)?;
        view.repeated = true;
        Ok(Some(view))
    }

    /// The text archivists' search finds in the main document (EDE 7.1.3): what its format
    /// plugin reads of what the signatures cover ([`FormatPlugin::text`]: the signed text of
    /// CAdES, the text of a PDF's signed revision). A plugin that fails gives none: the
    /// document is exchanged all the same.
    pub(super) fn document_text(&self, document: &DataObject) -> Option<String> {
        let mut text = self.plugin_of(document)?.text(&document.content).ok()??;
        // A loaded plugin is not trusted to keep the bound.
        if text.len() > MAX_TEXT {
            let mut end = MAX_TEXT;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
        }
        Some(text)
    }

    /// The content the main document's signatures cover, when it is UTF-8 text (SVR 4.2.3:
    /// shown to the reader as signed).
    pub(super) fn signed_text(&self, document: &DataObject) -> Option<String> {
        let content = self
            .plugin_of(document)?
            .signed_content(&document.content)
            .ok()??;
        mubadile_plugin_api::utf8_text(&content)
    }

    /// The format plugin that reads `document`, if one does.
    fn plugin_of(&self, document: &DataObject) -> Option<&Arc<dyn FormatPlugin>> {
        let (plugin, _) = self
            .validation
            .validator
            .plugin_for(&document.content)
            .ok()?;
        Some(plugin)
    }

    /// What is wrong with the main document's signatures before sending (EDE 4.1: it must carry
    /// a signature; one that already fails is not sent).
    pub(super) fn signature_defects(&self, document: &DataObject) -> Result<Vec<String>> {
        let report = match self.validation.validate(&document.content, None, None) {
            Ok(report) => report,
            Err(Error::InvalidInput { reason, .. }) => {
                return Ok(vec![format!(
                    "the document {:?} carries no signature this platform can read ({reason}); sign it first (EDE 4.1)",
                    document.name
                )]);
            }
            Err(e) => return Err(e),
        };
        if report.signatures.is_empty() {
            return Ok(vec![format!(
                "the document {:?} carries no signature; sign it first (EDE 4.1)",
                document.name
            )]);
        }
        Ok(report
            .signatures
            .iter()
            .filter(|s| s.indication == Indication::TotalFailed)
            .map(|s| {
                format!(
                    "signature {} by {} fails ({}); the recipient would refuse the document (EDE 5.1.2)",
                    s.id,
                    s.signer.as_ref().map_or("an unknown signer", |n| n.name.as_str()),
                    s.sub_indication.map_or("", |x| x.name())
                )
            })
            .collect())
    }

    /// `content` sealed by `holder` (a detached CAdES signature): the platform applies an
    /// organisation's seal for it (GOV 3.5).
    pub(super) fn seal_with(
        &self,
        holder: &directory::Organisation,
        content: &[u8],
    ) -> Result<Vec<u8>> {
        let (Some(key), Some(certificate)) = (&holder.seal_key_ref, &holder.seal_certificate)
        else {
            return Err(Error::refused(
                "no_seal",
                format!("{} has no seal; an administrator issues one", holder.id),
            ));
        };
        let signer = self.seal_signer(key)?;
        let chain = self.validation.chain_for(certificate)?;
        let cms = self.validation.validator.plugin_named("cms")?.clone();
        sign(
            cms.as_ref(),
            SignTarget::New {
                content: content.to_vec(),
                attached: false,
            },
            SigningIdentity {
                signer: signer.as_ref(),
                certificate,
                chain: &chain,
            },
            now(),
        )
    }

    pub(super) fn seal_signer(
        &self,
        key_ref: &str,
    ) -> Result<std::sync::Arc<dyn crate::crypto::Signer>> {
        let mut seals = self
            .seals
            .lock()
            .map_err(|_| Error::Crypto("the seal cache was poisoned".into()))?;
        if let Some(signer) = seals.get(key_ref) {
            return Ok(signer.clone());
        }
        let signer = self.ca.platform_key(key_ref)?;
        seals.insert(key_ref.to_string(), signer.clone());
        Ok(signer)
    }
}

/// A send checked before sending (EDE 4.1), waiting to be numbered, sealed and recorded together
/// with the sends that arrive at the same moment (one commit for the group).
pub(super) struct ReadySend {
    document_id: String,
    sender: OrganisationId,
    party: SendingParty,
    message_id: String,
    category: String,
    content_sha256: String,
    document_text: Option<String>,
    /// Its registration number is given inside the transaction when `numbered_later`.
    contents: Contents,
    numbered_later: bool,
    at: DateTime<Utc>,
    receipt_term_hours: Option<i64>,
    seal: Seal,
    /// What the transaction wrote, once it did.
    written: Option<Written>,
}

/// What recording a send wrote besides the document's own fields.
struct Written {
    envelope_sha256: String,
    deliveries: Vec<NewDelivery>,
    /// The deliveries whose envelope travels to another node, and that node.
    transfers: Vec<(String, String)>,
}

impl ReadySend {
    /// The document as it was recorded: what [`super::query::document_view`] would read back.
    fn view(self) -> Result<DocumentView> {
        let written = self
            .written
            .ok_or_else(|| Error::Connection("a send was committed without its record".into()))?;
        let mut deliveries: Vec<DeliveryView> = written
            .deliveries
            .iter()
            .map(|d| {
                let transfer = written
                    .transfers
                    .iter()
                    .find(|(id, _)| *id == d.id)
                    .map(|(_, peer)| super::federation::queued_view(peer, d.at));
                DeliveryView::pending(d, transfer)
            })
            .collect();
        deliveries.sort_by(|a, b| a.recipient.cmp(&b.recipient));
        Ok(DocumentView {
            id: self.document_id,
            message_id: self.message_id,
            sender: self.sender,
            requisites: self.contents.requisites,
            category: self.category,
            envelope_sha256: written.envelope_sha256,
            sent_by: self.party.actor,
            sent_by_kind: self.party.kind.name().to_string(),
            sent_at: self.at,
            deliveries,
            repeated: false,
        })
    }
}

/// The sender organisation's seal (GOV 3.3) and the plugin that makes it.
struct Seal {
    signer: Arc<dyn Signer>,
    certificate: Vec<u8>,
    chain: Vec<Vec<u8>>,
    cms: Arc<dyn FormatPlugin>,
}

/// Records a group of sends in the open transaction: each is numbered, sealed and stored with
/// its outgoing journal entries and one pending delivery per addressee (EDE 4.2, 6.1). Each kind
/// of row goes in one statement for the whole group, and each journal and numbering series is
/// read once, so the locks below are held for a few round trips however large the group.
pub(super) fn record_sends(
    conn: &mut DbConnection,
    directory: &DirectoryCache,
    sends: &mut [ReadySend],
) -> Result<()> {
    // Every series and journal the group writes, locked up front in one order.
    let keys = sends
        .iter()
        .flat_map(|send| {
            let year = year_of(baku_date(send.at));
            [
                numbering::lock_key(&send.sender, Journal::Outgoing, year),
                journal::lock_key(&send.sender, Journal::Outgoing),
            ]
        })
        .collect();
    serialize_writers_in_order(conn, keys)?;
    let mut records = Records::new(directory);
    let mut envelopes = Vec::with_capacity(sends.len());
    for send in sends.iter_mut() {
        envelopes.push(seal_send(conn, &mut records, send)?);
    }
    let envelope_refs: Vec<&[u8]> = envelopes.iter().map(Vec::as_slice).collect();
    put_blobs(conn, &envelope_refs)?;
    insert_documents(conn, sends)?;
    let deliveries: Vec<NewDelivery> = sends
        .iter()
        .filter_map(|send| send.written.as_ref())
        .flat_map(|written| written.deliveries.iter().cloned())
        .collect();
    insert_pending_many(conn, &deliveries)?;
    for send in sends.iter() {
        let Some(written) = &send.written else {
            continue;
        };
        for (delivery_id, peer) in &written.transfers {
            super::federation::queue_transfer(conn, delivery_id, peer, send.at)?;
        }
    }
    records.write(conn)
}

/// Numbers and seals one send, and records its journal entries and deliveries to be written
/// with the group's; returns the sealed envelope.
fn seal_send(
    conn: &mut DbConnection,
    records: &mut Records<'_>,
    send: &mut ReadySend,
) -> Result<Vec<u8>> {
    let contents = &mut send.contents;
    if send.numbered_later {
        contents.requisites.registration_number = records.number(
            conn,
            &send.sender,
            Journal::Outgoing,
            year_of(baku_date(send.at)),
        )?;
    }
    let manifest = contents.manifest()?;
    let seal = sign(
        send.seal.cms.as_ref(),
        SignTarget::New {
            content: manifest.clone(),
            attached: false,
        },
        SigningIdentity {
            signer: send.seal.signer.as_ref(),
            certificate: &send.seal.certificate,
            chain: &send.seal.chain,
        },
        send.at,
    )?;
    let envelope = contents.seal(&manifest, &seal)?;
    let envelope_sha256 = hex::encode(crate::crypto::sha256(&envelope));
    let mut written = Written {
        envelope_sha256,
        deliveries: Vec::with_capacity(contents.requisites.addressees.len()),
        transfers: Vec::new(),
    };
    for addressee in &contents.requisites.addressees {
        let agreement = records
            .directory
            .agreement(conn, &send.sender, &addressee.id)?;
        let term = send
            .receipt_term_hours
            .unwrap_or(agreement.term_hours)
            .max(1);
        let delivery = NewDelivery::new(
            &send.document_id,
            &addressee.id,
            agreement.receipt_kind,
            term,
            send.at,
        )?;
        // An addressee of another node: the envelope travels there (federation).
        let home = records
            .directory
            .organisation(conn, &addressee.id)?
            .and_then(|listed| listed.home.clone());
        if let Some(peer) = home {
            written.transfers.push((delivery.id.clone(), peer));
        }
        written.deliveries.push(delivery);
        records.journal(
            conn,
            send.at,
            &NewEntry {
                organisation: &send.sender,
                journal: Journal::Outgoing,
                event: Event::Registered,
                document_id: &send.document_id,
                registration_number: &contents.requisites.registration_number,
                counterparty: &addressee.id,
                content_sha256: &written.envelope_sha256,
                details: serde_json::json!({
                    "title": contents.requisites.title,
                    "kind": contents.requisites.kind,
                    "sent_by": send.party.actor,
                    "sent_by_kind": send.party.kind.name(),
                }),
            },
        )?;
    }
    send.written = Some(written);
    Ok(envelope)
}

/// Inserts the documents of a group of sealed sends; on PostgreSQL in one statement.
fn insert_documents(conn: &mut DbConnection, sends: &[ReadySend]) -> Result<()> {
    let mut rows = Vec::with_capacity(sends.len());
    for send in sends {
        let Some(written) = &send.written else {
            continue;
        };
        let requisites = &send.contents.requisites;
        let requisites_json = serde_json::to_string(requisites)
            .map_err(|e| Error::invalid("requisites", e.to_string()))?;
        rows.push((
            documents::id.eq(send.document_id.clone()),
            documents::sender_id.eq(send.sender.clone()),
            documents::message_id.eq(send.message_id.clone()),
            documents::kind.eq(requisites.kind.clone()),
            documents::category.eq(send.category.clone()),
            documents::title.eq(requisites.title.clone()),
            documents::registration_number.eq(requisites.registration_number.clone()),
            documents::registration_date.eq(to_db(send.at)),
            documents::requisites.eq(requisites_json),
            documents::content_sha256.eq(send.content_sha256.clone()),
            documents::envelope_sha256.eq(written.envelope_sha256.clone()),
            documents::sent_by.eq(send.party.actor.clone()),
            documents::sent_by_kind.eq(send.party.kind.name()),
            documents::sent_at.eq(to_db(send.at)),
            documents::search_text.eq(search_text(&send.contents, send.document_text.as_deref())),
        ));
    }
    let inserted = match conn {
        DbConnection::Postgres(pg) if !rows.is_empty() => diesel::insert_into(documents::table)
            .values(rows)
            .execute(pg)
            .map(|_| ()),
        _ => rows.into_iter().try_for_each(|row| {
            diesel::insert_into(documents::table)
                .values(row)
                .execute(conn)
                .map(|_| ())
        }),
    };
    // A failed group is written again one send at a time, so the number named is the one at
    // fault.
    inserted.map_err(|e| {
        let number = sends
            .first()
            .map_or("", |s| s.contents.requisites.registration_number.as_str());
        unique_violation_reason(e, number)
    })
}

/// What archivists' full-text search looks in, lower-cased: the requisites, the file names, the
/// main document's text ([`Exchange::document_text`]), and the text of attachments that are
/// text (at most 1 MiB of each).
pub(super) fn search_text(contents: &Contents, document_text: Option<&str>) -> String {
    let r = &contents.requisites;
    let mut parts: Vec<String> = vec![
        r.registration_number.clone(),
        r.kind.clone(),
        r.title.clone(),
        r.sender.name.clone(),
        contents.document.name.clone(),
    ];
    parts.extend(r.addressees.iter().map(|a| a.name.clone()));
    parts.extend(document_text.map(str::to_string));
    let o = &r.optional;
    parts.extend(
        [
            &o.phone,
            &o.fax,
            &o.email,
            &o.approver,
            &o.executor,
            &o.in_reply_to,
        ]
        .into_iter()
        .flatten()
        .cloned(),
    );
    for attachment in &contents.attachments {
        parts.push(attachment.name.clone());
        if attachment.media_type.starts_with("text/") {
            let text = &attachment.content[..attachment.content.len().min(MAX_TEXT)];
            parts.push(String::from_utf8_lossy(text).into_owned());
        }
    }
    super::search::fold(&parts.join("\n"))
}

fn year_of(date: NaiveDate) -> i32 {
    chrono::Datelike::year(&date)
}

/// A unique-constraint failure on insert means a second send of the same message id raced this
/// one, or a registration number given by the sender that it used before.
fn unique_violation_reason(error: diesel::result::Error, number: &str) -> Error {
    use diesel::result::{DatabaseErrorKind, Error as DieselError};
    match &error {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
            if info.message().contains("registration_number")
                || info.constraint_name() == Some("documents_sender_number") =>
        {
            Error::refused(
                "registration_number_taken",
                format!(
                    "the registration number {number} was given to another document; each number is used once (EDE 6.1)"
                ),
            )
        }
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => Error::refused(
            "message_id_taken",
            "the message id was sent at the same moment",
        ),
        _ => error.into(),
    }
}
