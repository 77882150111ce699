//! Archivists' search (EDE 7.1.3): `GET /api/v1/search?…` answers a page of JSON hits;
//! `GET /api/v1/search.csv?…` every hit as CSV (UTF-8, header row), at most 100,000 rows. The
//! query parameters are those of [`SearchQuery`]: `direction`, `number`, `from`, `to`,
//! `counterparty`, `kind`, `status`, `signature_result`, `text`, `after`, `limit`.

use actix_web::{HttpResponse, web};
use mubadile_core::Error;
use mubadile_core::exchange::{Exchange, OrganisationId, SearchQuery};

use crate::auth::{KEEPERS, Party};
use crate::problem::{Problem, blocking};
use crate::state::AppState;

/// The most rows a CSV export holds.
const MAX_CSV_ROWS: usize = 100_000;

/// A page of hits.
pub async fn search(
    state: web::Data<AppState>,
    party: Party,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, Problem> {
    let organisation = party.acting_for(KEEPERS)?;
    let exchange = state.exchange.clone();
    let page = blocking(move || exchange.search(&organisation, &query)).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Every hit as CSV.
pub async fn csv(
    state: web::Data<AppState>,
    party: Party,
    query: web::Query<SearchQuery>,
) -> Result<HttpResponse, Problem> {
    let organisation = party.acting_for(KEEPERS)?;
    let exchange = state.exchange.clone();
    let query = query.into_inner();
    let bytes = blocking(move || search_csv(&exchange, &organisation, query)).await?;
    Ok(csv_attachment(bytes))
}

/// A CSV export as a download.
pub fn csv_attachment(bytes: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", "attachment; filename=\"search.csv\""))
        .body(bytes)
}

/// Every hit of `query` in `organisation`'s journals as CSV (UTF-8, header row), at most
/// [`MAX_CSV_ROWS`] rows; also the UI's export (`/ui/search.csv`).
pub fn search_csv(
    exchange: &Exchange,
    organisation: &OrganisationId,
    mut query: SearchQuery,
) -> Result<Vec<u8>, Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| Error::Io(std::io::Error::other(e));
    writer
        .write_record([
            "document_id",
            "direction",
            "sender",
            "recipient",
            "sender_registration_number",
            "recipient_registration_number",
            "kind",
            "title",
            "sent_at",
            "received_at",
            "status",
            "overdue",
            "signature_result",
        ])
        .map_err(csv_error)?;
    let mut rows = 0;
    query.limit = Some(1000);
    loop {
        let page = exchange.search(organisation, &query)?;
        for hit in &page.items {
            writer
                .write_record([
                    hit.document_id.as_str(),
                    hit.direction,
                    &hit.sender.0,
                    &hit.recipient.0,
                    &hit.sender_registration_number,
                    hit.recipient_registration_number.as_deref().unwrap_or(""),
                    &hit.kind,
                    &hit.title,
                    &hit.sent_at.to_rfc3339(),
                    &hit.received_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    &hit.status,
                    if hit.overdue { "true" } else { "false" },
                    hit.signature_result.as_deref().unwrap_or(""),
                ])
                .map_err(csv_error)?;
        }
        rows += page.items.len();
        match page.next {
            Some(next) if rows < MAX_CSV_ROWS => query.after = Some(next),
            _ => break,
        }
    }
    writer
        .into_inner()
        .map_err(|e| Error::Io(std::io::Error::other(e.to_string())))
}
