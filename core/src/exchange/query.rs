//! What senders, recipients and archivists see of documents and deliveries. An organisation
//! sees only documents it sent or received (EDE 6.2, 7.4: protected from unauthorised access).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::Exchange;
use super::delivery::DeliveryStatus;
use super::directory::OrganisationId;
use super::requisites::Requisites;
use super::retention::refuse_if_disposed;
use crate::store::schema::{deliveries, documents};
use crate::store::{DbConnection, blob};
use crate::time::from_db;
use crate::{Error, Result};

/// A document as its sender and its recipients see it.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentView {
    /// Identifier.
    pub id: String,
    /// The sender's message id.
    pub message_id: String,
    /// The sender.
    pub sender: OrganisationId,
    /// Every requisite, as the envelope carries them.
    pub requisites: Requisites,
    /// The sender's category.
    pub category: String,
    /// SHA-256 (hex) of the envelope.
    pub envelope_sha256: String,
    /// Who sent it and in which capacity (EDE 4.2).
    pub sent_by: String,
    /// `sender`, `authorised_person` or `automated_system`.
    pub sent_by_kind: String,
    /// When it was sent (EDE 7.1.2).
    pub sent_at: DateTime<Utc>,
    /// One delivery per addressee.
    pub deliveries: Vec<DeliveryView>,
    /// True when this answers a repeated send of the same message id (EDE 4.3.3).
    pub repeated: bool,
}

/// One addressee's delivery.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryView {
    /// Identifier.
    pub id: String,
    /// The addressee.
    pub recipient: OrganisationId,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Verification attempts made.
    pub attempts: i32,
    /// Why the last attempt did not finish.
    pub last_error: Option<String>,
    /// When the recipient received it (EDE 7.1.2).
    pub delivered_at: Option<DateTime<Utc>>,
    /// When it was accepted, refused or recognised as a repeat.
    pub decided_at: Option<DateTime<Utc>>,
    /// The recipient's registration number.
    pub incoming_number: Option<String>,
    /// Why it was refused, or whose repeat it is (EDE 5.4, 4.3.3).
    pub reason: Option<String>,
    /// The delivery this one repeats (EDE 4.3.3).
    pub duplicate_of: Option<String>,
    /// `automatic` or `signed` (EDE 4.5).
    pub receipt_kind: String,
    /// SHA-256 (hex) of the receipt, once there is one.
    pub receipt_sha256: Option<String>,
    /// When the receipt is due (EDE 4.6).
    pub due_at: DateTime<Utc>,
    /// When the first term passed and the recipient was told; the second term runs to
    /// `due_at` (EDE 4.6).
    pub overdue_at: Option<DateTime<Utc>>,
    /// For an addressee of another node: the transfer of the envelope there (federation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer: Option<super::federation::TransferView>,
}

/// A delivery in a recipient's inbox.
#[derive(Debug, Clone, Serialize)]
pub struct InboxItem {
    /// The position in the recipient's incoming journal: pass it as `after` to read on.
    pub cursor: i64,
    /// What the journal recorded: `registered`, `refused` or `duplicate`.
    pub event: String,
    /// The delivery, as it stands now.
    pub delivery: DeliveryView,
    /// The document.
    pub document_id: String,
    /// The sender.
    pub sender: OrganisationId,
    /// The sender's registration number.
    pub sender_registration_number: String,
    /// What it is about.
    pub title: String,
    /// Its kind.
    pub kind: String,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
}

type DeliveryRow = (
    String,
    OrganisationId,
    String,
    i32,
    Option<String>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

macro_rules! delivery_columns {
    () => {
        (
            deliveries::id,
            deliveries::recipient_id,
            deliveries::status,
            deliveries::attempts,
            deliveries::last_error,
            deliveries::delivered_at,
            deliveries::decided_at,
            deliveries::incoming_number,
            deliveries::reason,
            deliveries::duplicate_of,
            deliveries::receipt_kind,
            deliveries::receipt_sha256,
            deliveries::due_at,
            deliveries::overdue_at,
        )
    };
}

impl DeliveryView {
    /// A delivery just recorded as pending, as [`document_view`] would read it back.
    pub(super) fn pending(
        new: &super::delivery::NewDelivery,
        transfer: Option<super::federation::TransferView>,
    ) -> DeliveryView {
        DeliveryView {
            id: new.id.clone(),
            recipient: new.recipient.clone(),
            status: DeliveryStatus::Pending,
            attempts: 0,
            last_error: None,
            delivered_at: None,
            decided_at: None,
            incoming_number: None,
            reason: None,
            duplicate_of: None,
            receipt_kind: new.receipt_kind.name().to_string(),
            receipt_sha256: None,
            due_at: new.due_at(),
            overdue_at: None,
            transfer,
        }
    }
}

fn delivery_view(row: DeliveryRow) -> Result<DeliveryView> {
    let (
        id,
        recipient,
        status,
        attempts,
        last_error,
        delivered_at,
        decided_at,
        incoming_number,
        reason,
        duplicate_of,
        receipt_kind,
        receipt_sha256,
        due_at,
        overdue_at,
    ) = row;
    Ok(DeliveryView {
        id,
        recipient,
        status: DeliveryStatus::parse(&status)?,
        attempts,
        last_error,
        delivered_at: delivered_at.map(from_db),
        decided_at: decided_at.map(from_db),
        incoming_number,
        reason,
        duplicate_of,
        receipt_kind,
        receipt_sha256,
        due_at: from_db(due_at),
        overdue_at: overdue_at.map(from_db),
        transfer: None,
    })
}

/// The document `id` with its deliveries, whoever asks.
pub(super) fn document_view(conn: &mut DbConnection, id: &str) -> Result<DocumentView> {
    let (
        id,
        message_id,
        sender,
        category,
        requisites,
        envelope_sha256,
        sent_by,
        sent_by_kind,
        sent_at,
    ): (
        String,
        String,
        OrganisationId,
        String,
        String,
        String,
        String,
        String,
        NaiveDateTime,
    ) = documents::table
        .find(id)
        .select((
            documents::id,
            documents::message_id,
            documents::sender_id,
            documents::category,
            documents::requisites,
            documents::envelope_sha256,
            documents::sent_by,
            documents::sent_by_kind,
            documents::sent_at,
        ))
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("document", id))?;
    let rows: Vec<DeliveryRow> = deliveries::table
        .filter(deliveries::document_id.eq(&id))
        .order(deliveries::recipient_id.asc())
        .select(delivery_columns!())
        .load(conn)?;
    let mut deliveries: Vec<DeliveryView> =
        rows.into_iter().map(delivery_view).collect::<Result<_>>()?;
    let ids: Vec<String> = deliveries.iter().map(|d| d.id.clone()).collect();
    for (id, transfer) in super::federation::transfer_views(conn, &ids)? {
        if let Some(delivery) = deliveries.iter_mut().find(|d| d.id == id) {
            delivery.transfer = Some(transfer);
        }
    }
    Ok(DocumentView {
        requisites: serde_json::from_str(&requisites)
            .map_err(|e| Error::invalid("stored requisites", e.to_string()))?,
        id,
        message_id,
        sender,
        category,
        envelope_sha256,
        sent_by,
        sent_by_kind,
        sent_at: from_db(sent_at),
        deliveries,
        repeated: false,
    })
}

impl Exchange {
    /// The document `id` as `viewer` may see it: all of it for its sender, only the viewer's
    /// own delivery for a recipient; not found for anyone else.
    pub fn document(&self, viewer: &OrganisationId, id: &str) -> Result<DocumentView> {
        let mut conn = self.pool.get()?;
        self.document_in(&mut conn, viewer, id)
    }

    /// [`Exchange::document`] on `conn`, inside the caller's transaction.
    pub(super) fn document_in(
        &self,
        conn: &mut DbConnection,
        viewer: &OrganisationId,
        id: &str,
    ) -> Result<DocumentView> {
        let mut view = document_view(conn, id)?;
        if view.sender != *viewer {
            view.deliveries.retain(|d| d.recipient == *viewer);
            if view.deliveries.is_empty() {
                return Err(Error::not_found("document", id));
            }
            view.message_id = String::new();
        }
        Ok(view)
    }

    /// The envelope of document `id`, for its sender and for recipients that accepted it,
    /// unless they disposed of their copy (EDE 7.4).
    pub fn envelope(&self, viewer: &OrganisationId, id: &str) -> Result<Vec<u8>> {
        let view = self.document(viewer, id)?;
        let mut conn = self.pool.get()?;
        refuse_if_disposed(&mut conn, viewer, id)?;
        blob(&mut conn, &view.envelope_sha256)
    }

    /// The receipt of the delivery of document `id` to `recipient`, for the sender and that
    /// recipient (EDE 4.4); for a repeat, the original's receipt (EDE 4.3.3).
    pub fn receipt(
        &self,
        viewer: &OrganisationId,
        id: &str,
        recipient: &OrganisationId,
    ) -> Result<Vec<u8>> {
        let view = self.document(viewer, id)?;
        let delivery = view
            .deliveries
            .iter()
            .find(|d| d.recipient == *recipient)
            .ok_or_else(|| Error::not_found("delivery", format!("{id} to {recipient}")))?;
        let sha256 = delivery.receipt_sha256.as_deref().ok_or_else(|| {
            Error::refused(
                "no_receipt_yet",
                format!(
                    "{recipient} has not confirmed receipt; the delivery is {}",
                    delivery.status.name()
                ),
            )
        })?;
        let mut conn = self.pool.get()?;
        refuse_if_disposed(&mut conn, viewer, id)?;
        blob(&mut conn, sha256)
    }

    /// What `recipient` received, in the order its incoming journal recorded the decisions,
    /// after the journal position `after` (the cursor), at most `limit`: every document it
    /// registered, refused or recognised as a repeat. The journal's order is the order of
    /// commits, so a poller that resumes from its last cursor misses nothing.
    pub fn inbox(
        &self,
        recipient: &OrganisationId,
        after: i64,
        limit: i64,
    ) -> Result<Vec<InboxItem>> {
        let mut conn = self.pool.get()?;
        let entries = crate::journal::entries(
            &mut conn,
            recipient,
            crate::journal::Journal::Incoming,
            after,
            limit.clamp(1, 500),
        )?;
        let mut items = Vec::with_capacity(entries.len());
        for entry in entries {
            let delivery: DeliveryRow = deliveries::table
                .filter(deliveries::document_id.eq(&entry.document_id))
                .filter(deliveries::recipient_id.eq(recipient))
                .select(delivery_columns!())
                .first(&mut conn)?;
            let (sender, number, title, kind, sent_at): (
                OrganisationId,
                String,
                String,
                String,
                NaiveDateTime,
            ) = documents::table
                .find(&entry.document_id)
                .select((
                    documents::sender_id,
                    documents::registration_number,
                    documents::title,
                    documents::kind,
                    documents::sent_at,
                ))
                .first(&mut conn)?;
            items.push(InboxItem {
                cursor: entry.seq,
                event: entry.event,
                delivery: delivery_view(delivery)?,
                document_id: entry.document_id,
                sender,
                sender_registration_number: number,
                title,
                kind,
                sent_at: from_db(sent_at),
            });
        }
        Ok(items)
    }
}
