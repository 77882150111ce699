//! Notices to organisations about their documents: arrival, receipt, refusal, an overdue
//! receipt and a document that counts as not sent (EDE 4.4, 4.6, 5.4), by e-mail to people and
//! by signed webhook to systems. Each notice is queued in the transaction that makes the change
//! it reports, so none is lost; jobs deliver them.

use chrono::{DateTime, Utc};

use super::delivery::DeliveryFacts;
use super::records::Records;
use crate::Result;
use crate::notify::webhook;
use crate::store::DbConnection;
use crate::time::baku_display;

/// What happened.
pub(super) enum Notice<'a> {
    /// The document arrived and was registered under this number (to the recipient).
    Arrived(&'a str),
    /// The recipient confirmed receipt (to the sender, EDE 4.4).
    Acknowledged,
    /// The recipient refused the document for this reason (to the sender, EDE 5.4).
    Refused(&'a str),
    /// The receipt term passed; a new one runs to this time (to the recipient, EDE 4.6).
    Overdue(DateTime<Utc>),
    /// No receipt within the second term: it counts as not sent (to the sender, EDE 4.6).
    NotSent,
}

/// Queues the notice about `facts`' delivery, in Azerbaijani and English.
pub(super) fn notify(
    conn: &mut DbConnection,
    records: &mut Records<'_>,
    facts: &DeliveryFacts,
    notice: Notice<'_>,
    at: DateTime<Utc>,
) -> Result<()> {
    let (sender, recipient) = (&facts.sender, &facts.recipient);
    let (title, number, time) = (&facts.title, &facts.sender_number, baku_display(at));
    let event = notice.event();
    let detail = match &notice {
        Notice::Arrived(incoming) => {
            serde_json::json!({ "recipient_registration_number": incoming })
        }
        Notice::Refused(reason) => serde_json::json!({ "reason": reason }),
        Notice::Overdue(due) => serde_json::json!({ "due_at": due }),
        Notice::Acknowledged | Notice::NotSent => serde_json::json!({}),
    };
    let (to, subject, body) = match notice {
        Notice::Arrived(incoming) => (
            recipient,
            format!("Yeni sənəd / New document: {title}"),
            format!(
                "{sender} göndərdi: «{title}» ({number}). Daxil olan qeydiyyat nömrəsi: {incoming}.\n\n{sender} sent «{title}» ({number}); registered as {incoming} at {time}.\n"
            ),
        ),
        Notice::Acknowledged => (
            sender,
            format!("Alınma təsdiqləndi / Receipt confirmed: {number}"),
            format!(
                "{recipient} «{title}» ({number}) sənədinin alındığını təsdiqlədi.\n\n{recipient} confirmed receipt of «{title}» ({number}) at {time}.\n"
            ),
        ),
        Notice::Refused(reason) => (
            sender,
            format!("Sənəd qəbul edilmədi / Document refused: {number}"),
            format!(
                "{recipient} «{title}» ({number}) sənədini qəbul etmədi; sənəd göndərilməmiş sayılır.\nSəbəb: {reason}\n\n{recipient} refused «{title}» ({number}); it counts as not sent (EDE 4.3).\nReason: {reason}\n"
            ),
        ),
        Notice::Overdue(due) => {
            let due = baku_display(due);
            (
                recipient,
                format!("Alınma təsdiqi gecikir / Receipt overdue: {number}"),
                format!(
                    "{sender} göndərdiyi «{title}» ({number}) sənədinin alınmasını təsdiqləməyinizi gözləyir. Yeni müddət: {due}.\n\n{sender} awaits your confirmation of receipt of «{title}» ({number}). New term: {due} (EDE 4.6).\n"
                ),
            )
        }
        Notice::NotSent => (
            sender,
            format!("Sənəd göndərilməmiş sayılır / Document counts as not sent: {number}"),
            format!(
                "{recipient} «{title}» ({number}) sənədinin alınmasını müddətində təsdiqləmədi; sənəd göndərilməmiş sayılır. Məzmunu başqa yolla çatdıra bilərsiniz.\n\n{recipient} did not confirm receipt of «{title}» ({number}) within the second term; it counts as not sent and may be delivered by other means (EDE 4.6).\n"
            ),
        ),
    };
    // An organisation of another node hears from its own node (federation).
    let Some(listed) = records.directory.organisation(conn, to)? else {
        return Ok(());
    };
    if listed.home.is_some() {
        return Ok(());
    }
    let organisation = &listed.organisation;
    records.mail(&organisation.email, subject, body, at);
    if let Some(url) = &organisation.webhook_url {
        records.webhook(webhook::NewNotice {
            organisation: organisation.id.clone(),
            url: url.clone(),
            payload: serde_json::json!({
                "event": event,
                "at": at,
                "document_id": facts.document_id,
                "sender": facts.sender,
                "recipient": facts.recipient,
                "sender_registration_number": facts.sender_number,
                "title": facts.title,
                "detail": detail,
            }),
            at,
        });
    }
    Ok(())
}

impl Notice<'_> {
    /// The event's name in webhooks.
    fn event(&self) -> &'static str {
        match self {
            Notice::Arrived(_) => "document.arrived",
            Notice::Acknowledged => "document.acknowledged",
            Notice::Refused(_) => "document.refused",
            Notice::Overdue(_) => "receipt.overdue",
            Notice::NotSent => "document.not_sent",
        }
    }
}
