//! Notices to organisations about their documents: arrival, receipt, refusal, an overdue
//! receipt and a document that counts as not sent (EDE 4.4, 4.6, 5.4). Each notice is queued in
//! the transaction that makes the change it reports, so none is lost; the mail job delivers it.

use chrono::{DateTime, Utc};

use super::delivery::DeliveryFacts;
use super::directory::{OrganisationId, find_organisation};
use crate::Result;
use crate::notify::mail;
use crate::store::DbConnection;
use crate::time::baku_display;

/// A document arrived and was registered (to the recipient).
pub(super) fn arrived(
    conn: &mut DbConnection,
    facts: &DeliveryFacts,
    number: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    send(
        conn,
        &facts.recipient,
        &format!("Yeni sənəd / New document: {}", facts.title),
        &format!(
            "{sender} göndərdi: «{title}» ({sender_number}). Daxil olan qeydiyyat nömrəsi: {number}.\n\n{sender} sent «{title}» ({sender_number}); registered as {number} at {time}.\n",
            sender = facts.sender,
            title = facts.title,
            sender_number = facts.sender_number,
            time = baku_display(at),
        ),
        at,
    )
}

/// The recipient confirmed receipt (to the sender, EDE 4.4).
pub(super) fn acknowledged(
    conn: &mut DbConnection,
    facts: &DeliveryFacts,
    at: DateTime<Utc>,
) -> Result<()> {
    send(
        conn,
        &facts.sender,
        &format!(
            "Alınma təsdiqləndi / Receipt confirmed: {}",
            facts.sender_number
        ),
        &format!(
            "{recipient} «{title}» ({number}) sənədinin alındığını təsdiqlədi.\n\n{recipient} confirmed receipt of «{title}» ({number}) at {time}.\n",
            recipient = facts.recipient,
            title = facts.title,
            number = facts.sender_number,
            time = baku_display(at),
        ),
        at,
    )
}

/// The recipient refused the document as defective (to the sender, EDE 5.4).
pub(super) fn refused(
    conn: &mut DbConnection,
    facts: &DeliveryFacts,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    send(
        conn,
        &facts.sender,
        &format!(
            "Sənəd qəbul edilmədi / Document refused: {}",
            facts.sender_number
        ),
        &format!(
            "{recipient} «{title}» ({number}) sənədini qəbul etmədi; sənəd göndərilməmiş sayılır.\nSəbəb: {reason}\n\n{recipient} refused «{title}» ({number}); it counts as not sent (EDE 4.3).\nReason: {reason}\n",
            recipient = facts.recipient,
            title = facts.title,
            number = facts.sender_number,
        ),
        at,
    )
}

/// The receipt term passed; a new term runs (to the recipient, EDE 4.6).
pub(super) fn overdue(
    conn: &mut DbConnection,
    facts: &DeliveryFacts,
    due: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<()> {
    send(
        conn,
        &facts.recipient,
        &format!(
            "Alınma təsdiqi gecikir / Receipt overdue: {}",
            facts.sender_number
        ),
        &format!(
            "{sender} göndərdiyi «{title}» ({number}) sənədinin alınmasını təsdiqləməyinizi gözləyir. Yeni müddət: {due}.\n\n{sender} awaits your confirmation of receipt of «{title}» ({number}). New term: {due} (EDE 4.6).\n",
            sender = facts.sender,
            title = facts.title,
            number = facts.sender_number,
            due = baku_display(due),
        ),
        at,
    )
}

/// No receipt within the second term: the document counts as not sent (to the sender, EDE 4.6).
pub(super) fn not_sent(
    conn: &mut DbConnection,
    facts: &DeliveryFacts,
    at: DateTime<Utc>,
) -> Result<()> {
    send(
        conn,
        &facts.sender,
        &format!(
            "Sənəd göndərilməmiş sayılır / Document counts as not sent: {}",
            facts.sender_number
        ),
        &format!(
            "{recipient} «{title}» ({number}) sənədinin alınmasını müddətində təsdiqləmədi; sənəd göndərilməmiş sayılır. Məzmunu başqa yolla çatdıra bilərsiniz.\n\n{recipient} did not confirm receipt of «{title}» ({number}) within the second term; it counts as not sent and may be delivered by other means (EDE 4.6).\n",
            recipient = facts.recipient,
            title = facts.title,
            number = facts.sender_number,
        ),
        at,
    )
}

fn send(
    conn: &mut DbConnection,
    to: &OrganisationId,
    subject: &str,
    body: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    if let Some(organisation) = find_organisation(conn, to)? {
        mail::enqueue(conn, &organisation.email, subject, body, at)?;
    }
    Ok(())
}
