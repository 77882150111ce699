//! `GET /ui/search`: the archivists' and registrars' search of the organisation's journals and
//! archive (EDE 6–7), with the filters of the REST search: direction, registration number,
//! dates, the other organisation, kind, status (overdue included), verification result, and
//! words in the requisites or the signed text; `GET /ui/search.csv` exports every hit of the
//! same filters as CSV.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::NaiveDate;
use mubadile_core::Error;
use mubadile_core::accounts::Role;
use mubadile_core::exchange::{OrganisationId, SearchQuery};
use serde::Deserialize;

use super::Row;
use crate::api::search::{csv_attachment, search_csv};
use crate::problem::blocking;
use crate::state::AppState;
use crate::ui::i18n::Tr;
use crate::ui::session::SignedIn;
use crate::ui::{Layout, UiError, render};

/// Who searches: the keepers of the journals and the archive.
const SEARCHERS: [Role; 2] = [Role::Archivist, Role::Registrar];

/// Delivery statuses offered as a filter, as the search names them.
const STATUSES: [&str; 7] = [
    "pending",
    "awaiting_receipt",
    "acknowledged",
    "refused",
    "duplicate",
    "not_sent",
    "overdue",
];

/// The filters as the form sends them back; empty means "any".
#[derive(Deserialize, Default)]
pub struct SearchForm {
    #[serde(default)]
    direction: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    counterparty: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    signature_result: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    after: Option<String>,
}

impl SearchForm {
    fn query(&self) -> Result<SearchQuery, Error> {
        let given = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let date = |field: &'static str, s: &str| {
            given(s)
                .map(|s| {
                    NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                        .map_err(|_| Error::invalid(field, "give a date as YYYY-MM-DD"))
                })
                .transpose()
        };
        Ok(SearchQuery {
            direction: given(&self.direction),
            number: given(&self.number),
            from: date("from", &self.from)?,
            to: date("to", &self.to)?,
            counterparty: given(&self.counterparty),
            kind: given(&self.kind),
            status: given(&self.status),
            signature_result: given(&self.signature_result),
            text: given(&self.text),
            after: self.after.clone(),
            limit: Some(100),
        })
    }
}

#[derive(Template)]
#[template(path = "ui/documents/search.html")]
struct SearchPage {
    t: Tr,
    layout: Layout,
    form: SearchForm,
    statuses: Vec<Choice>,
    results: Vec<Choice>,
    searched: bool,
    heading: &'static str,
    counterparty_heading: &'static str,
    rows: Vec<Row>,
    next: Option<String>,
    more: String,
    /// The same search as CSV, every hit (EDE 7.1.3).
    export: String,
}

/// One option of a filter's list.
struct Choice {
    value: &'static str,
    label: String,
    selected: bool,
}

/// The search page: the form, and what it found once it was sent.
pub async fn search(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    request: HttpRequest,
    form: web::Query<SearchForm>,
) -> Result<HttpResponse, UiError> {
    let organisation = searcher_organisation(&signed_in).map_err(|e| signed_in.fail(e))?;
    let form = form.into_inner();
    let searched = !request.query_string().is_empty();
    let (rows, next) = if searched {
        let query = form.query().map_err(|e| signed_in.fail(e))?;
        let exchange = state.exchange.clone();
        let page = blocking(move || exchange.search(&organisation, &query))
            .await
            .map_err(|p| signed_in.fail(p.0))?;
        let t = signed_in.preferences.tr();
        (
            page.items.into_iter().map(|hit| Row::new(hit, t)).collect(),
            page.next,
        )
    } else {
        (Vec::new(), None)
    };
    // The same filters for the next page and the export, without the cursor.
    let filters = request
        .query_string()
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("after="))
        .collect::<Vec<_>>()
        .join("&");
    let t = signed_in.preferences.tr();
    let view = SearchPage {
        t,
        layout: signed_in.layout(),
        statuses: STATUSES
            .iter()
            .map(|s| Choice {
                value: s,
                label: t.get(&format!("status.{s}")).to_string(),
                selected: form.status == *s,
            })
            .collect(),
        results: [
            ("TOTAL-PASSED", "result.positive"),
            ("TOTAL-FAILED", "result.negative"),
            ("INDETERMINATE", "result.incomplete"),
        ]
        .iter()
        .map(|(value, key)| Choice {
            value,
            label: t.get(key).to_string(),
            selected: form.signature_result == *value,
        })
        .collect(),
        form,
        searched,
        heading: "search.results",
        counterparty_heading: "documents.counterparty",
        rows,
        next,
        more: format!("/ui/search?{filters}"),
        export: format!("/ui/search.csv?{filters}"),
    };
    Ok(render(StatusCode::OK, &view))
}

/// `GET /ui/search.csv`: every hit of the same filters as CSV, as the REST export writes it.
pub async fn csv(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Query<SearchForm>,
) -> Result<HttpResponse, UiError> {
    let organisation = searcher_organisation(&signed_in).map_err(|e| signed_in.fail(e))?;
    let query = form.query().map_err(|e| signed_in.fail(e))?;
    let exchange = state.exchange.clone();
    let bytes = blocking(move || search_csv(&exchange, &organisation, query))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    Ok(csv_attachment(bytes))
}

/// The organisation whose journals the user may search.
fn searcher_organisation(signed_in: &SignedIn) -> Result<OrganisationId, Error> {
    let organisation =
        signed_in.actor.organisation.clone().ok_or_else(|| {
            Error::refused("no_organisation", "the user belongs to no organisation")
        })?;
    signed_in.actor.require_in(&organisation, &SEARCHERS)?;
    Ok(organisation)
}
