//! Archivists' search over what an organisation sent and received (EDE 7.1.3: information
//! usable for later reference): by registration number, dates, counterparty, kind, status,
//! signature result and full text, newest first, a page at a time.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::Exchange;
use super::directory::OrganisationId;
use crate::store::schema::{deliveries, documents};
use crate::time::{from_db, to_db};
use crate::{Error, Result};

/// What to look for; every field narrows the search.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// `sent` or `received`; both when absent.
    #[serde(default)]
    pub direction: Option<String>,
    /// A registration number, the sender's or the recipient's, or a part of one.
    #[serde(default)]
    pub number: Option<String>,
    /// Sent on or after this date (Baku).
    #[serde(default)]
    pub from: Option<NaiveDate>,
    /// Sent on or before this date (Baku).
    #[serde(default)]
    pub to: Option<NaiveDate>,
    /// The other organisation.
    #[serde(default)]
    pub counterparty: Option<String>,
    /// The document kind.
    #[serde(default)]
    pub kind: Option<String>,
    /// `pending`, `awaiting_receipt`, `acknowledged`, `refused`, `duplicate`, `not_sent`, or
    /// `overdue` (the first receipt term passed, no receipt yet).
    #[serde(default)]
    pub status: Option<String>,
    /// `TOTAL-PASSED`, `TOTAL-FAILED` or `INDETERMINATE`.
    #[serde(default)]
    pub signature_result: Option<String>,
    /// Words that must all occur in the requisites or the text attachments (any case).
    #[serde(default)]
    pub text: Option<String>,
    /// The `next` of the previous page.
    #[serde(default)]
    pub after: Option<String>,
    /// At most this many hits (1–1000, default 100).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// One delivery found.
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    /// The document.
    pub document_id: String,
    /// `sent` or `received`, from the searcher's side.
    pub direction: &'static str,
    /// The sender.
    pub sender: OrganisationId,
    /// The recipient.
    pub recipient: OrganisationId,
    /// The sender's registration number.
    pub sender_registration_number: String,
    /// The recipient's registration number.
    pub recipient_registration_number: Option<String>,
    /// The kind.
    pub kind: String,
    /// What it is about.
    pub title: String,
    /// When it was sent (EDE 7.1.2).
    pub sent_at: DateTime<Utc>,
    /// When it was received (EDE 7.1.2).
    pub received_at: Option<DateTime<Utc>>,
    /// The delivery's status.
    pub status: String,
    /// Whether the first receipt term passed without a receipt.
    pub overdue: bool,
    /// The result of the recipient's verification.
    pub signature_result: Option<String>,
}

/// A page of hits; `next` reads on, `None` at the end.
#[derive(Debug, Clone, Serialize)]
pub struct SearchPage {
    /// The hits, newest first.
    pub items: Vec<SearchHit>,
    /// The cursor of the following page.
    pub next: Option<String>,
}

type Row = (
    String,
    OrganisationId,
    String,
    String,
    String,
    NaiveDateTime,
    String,
    OrganisationId,
    String,
    Option<String>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<String>,
);

impl Exchange {
    /// Searches what `viewer` sent and received.
    pub fn search(&self, viewer: &OrganisationId, query: &SearchQuery) -> Result<SearchPage> {
        let limit = query.limit.unwrap_or(100).clamp(1, 1000);
        let mut q = deliveries::table.inner_join(documents::table).into_boxed();
        q = match query.direction.as_deref() {
            None => q.filter(
                documents::sender_id
                    .eq(viewer)
                    .or(deliveries::recipient_id.eq(viewer)),
            ),
            Some("sent") => q.filter(documents::sender_id.eq(viewer)),
            Some("received") => q.filter(deliveries::recipient_id.eq(viewer)),
            Some(other) => {
                return Err(Error::invalid(
                    "direction",
                    format!("{other:?} is not one of sent, received"),
                ));
            }
        };
        if let Some(number) = non_empty(&query.number) {
            let pattern = format!("%{}%", like_escape(number));
            q = q.filter(
                documents::registration_number
                    .like(pattern.clone())
                    .escape('\\')
                    .or(deliveries::incoming_number.like(pattern).escape('\\')),
            );
        }
        if let Some(from) = query.from {
            q = q.filter(documents::sent_at.ge(to_db(start_of_baku_day(from))));
        }
        if let Some(to) = query.to {
            q = q.filter(
                documents::sent_at.lt(to_db(start_of_baku_day(to + chrono::Duration::days(1)))),
            );
        }
        if let Some(counterparty) = non_empty(&query.counterparty) {
            let other = OrganisationId::parse(counterparty)?;
            q = q.filter(
                documents::sender_id
                    .eq(viewer)
                    .and(deliveries::recipient_id.eq(other.clone()))
                    .or(deliveries::recipient_id
                        .eq(viewer)
                        .and(documents::sender_id.eq(other))),
            );
        }
        if let Some(kind) = non_empty(&query.kind) {
            q = q.filter(documents::kind.eq(kind.to_string()));
        }
        match non_empty(&query.status) {
            None => {}
            Some("overdue") => {
                q = q
                    .filter(deliveries::overdue_at.is_not_null())
                    .filter(deliveries::status.eq_any(["pending", "awaiting_receipt"]));
            }
            Some(status) => {
                super::DeliveryStatus::parse(status)?;
                q = q.filter(deliveries::status.eq(status.to_string()));
            }
        }
        if let Some(result) = non_empty(&query.signature_result) {
            if !["TOTAL-PASSED", "TOTAL-FAILED", "INDETERMINATE"].contains(&result) {
                return Err(Error::invalid(
                    "signature result",
                    "use TOTAL-PASSED, TOTAL-FAILED or INDETERMINATE",
                ));
            }
            q = q.filter(deliveries::signature_result.eq(result.to_string()));
        }
        if let Some(text) = non_empty(&query.text) {
            for word in fold(text).split_whitespace() {
                q = q.filter(
                    documents::search_text
                        .like(format!("%{}%", like_escape(word)))
                        .escape('\\'),
                );
            }
        }
        if let Some(after) = non_empty(&query.after) {
            let (at, id) = parse_cursor(after)?;
            q = q.filter(
                documents::sent_at
                    .lt(at)
                    .or(documents::sent_at.eq(at).and(deliveries::id.lt(id))),
            );
        }
        let rows: Vec<Row> = q
            .order((documents::sent_at.desc(), deliveries::id.desc()))
            .limit(limit + 1)
            .select((
                documents::id,
                documents::sender_id,
                documents::registration_number,
                documents::kind,
                documents::title,
                documents::sent_at,
                deliveries::id,
                deliveries::recipient_id,
                deliveries::status,
                deliveries::incoming_number,
                deliveries::delivered_at,
                deliveries::overdue_at,
                deliveries::signature_result,
            ))
            .load(&mut self.pool.get()?)?;
        let more = i64::try_from(rows.len()).unwrap_or(i64::MAX) > limit;
        let mut items = Vec::with_capacity(rows.len());
        let mut next = None;
        for (
            document_id,
            sender,
            number,
            kind,
            title,
            sent_at,
            delivery_id,
            recipient,
            status,
            incoming,
            delivered,
            overdue_at,
            result,
        ) in rows
            .into_iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
        {
            next = Some(format!(
                "{}:{delivery_id}",
                sent_at.and_utc().timestamp_micros()
            ));
            items.push(SearchHit {
                direction: if sender == *viewer {
                    "sent"
                } else {
                    "received"
                },
                document_id,
                overdue: overdue_at.is_some()
                    && (status == "pending" || status == "awaiting_receipt"),
                sender,
                recipient,
                sender_registration_number: number,
                recipient_registration_number: incoming,
                kind,
                title,
                sent_at: from_db(sent_at),
                received_at: delivered.map(from_db),
                status,
                signature_result: result,
            });
        }
        Ok(SearchPage {
            items,
            next: if more { next } else { None },
        })
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Escapes LIKE's wildcards so that user input matches literally.
fn like_escape(input: &str) -> String {
    input
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn start_of_baku_day(date: NaiveDate) -> DateTime<Utc> {
    use chrono::TimeZone;
    let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    crate::time::BAKU
        .from_local_datetime(&midnight)
        .earliest()
        .map_or_else(|| midnight.and_utc(), |t| t.with_timezone(&Utc))
}

fn parse_cursor(cursor: &str) -> Result<(NaiveDateTime, String)> {
    let bad = || Error::invalid("cursor", "pass the `next` of the previous page unchanged");
    let (micros, id) = cursor.split_once(':').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let at = DateTime::from_timestamp_micros(micros)
        .ok_or_else(bad)?
        .naive_utc();
    Ok((at, id.to_string()))
}

/// Text as full-text search compares it: lower-cased, with the Azerbaijani dotted and dotless i
/// (İ, I, ı, i) folded to one letter, so that "MALİYYƏ", "Maliyyə" and "MALIYYƏ" all match.
pub(super) fn fold(text: &str) -> String {
    text.chars()
        .flat_map(|c| match c {
            'İ' | 'I' | 'ı' => "i".chars().collect::<Vec<_>>(),
            c => c.to_lowercase().collect(),
        })
        .collect()
}

#[cfg(test)]
mod fold_tests {
    #[test]
    fn azerbaijani_capitals_fold_to_the_letters_people_type() {
        assert_eq!(super::fold("MALİYYƏ PLANI"), "maliyyə plani");
        assert_eq!(super::fold("Maliyyə planı"), "maliyyə plani");
        assert_eq!(super::fold("ŞÖBƏ ÇĞÜ"), "şöbə çğü");
    }
}
