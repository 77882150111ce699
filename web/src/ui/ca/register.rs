//! `GET /ui/ca/register`: the register of issued certificates (CSP 9.1–9.2) searched by the
//! registration and certificate officers, with the filters of the REST search: part of the
//! subject, the holder's FIN, the organisation and the status; a hundred at a time, with a link
//! to the next hundred.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use mubadile_core::ca::register::{self, CertificateRecord, RegisterQuery};
use mubadile_core::time::from_db;
use serde::Deserialize;

use super::{CaPage, filled};
use crate::problem::with_connection;
use crate::state::AppState;
use crate::ui::i18n::Tr;
use crate::ui::session::SignedIn;
use crate::ui::{Layout, UiError, render};

/// Certificates per page.
const PAGE: i64 = 100;

/// Statuses offered as a filter.
const STATUSES: [&str; 3] = ["valid", "suspended", "revoked"];

/// The filters as the form sends them back; empty means "any".
#[derive(Deserialize, Default)]
pub struct RegisterForm {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    holder_id: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    status: String,
    /// Certificates skipped: the pages before this one.
    #[serde(default)]
    offset: i64,
}

/// The search form and, once a filter is given, the certificates found (newest first).
pub async fn search(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Query<RegisterForm>,
) -> Result<HttpResponse, UiError> {
    CaPage::Register
        .admit(&signed_in.actor)
        .map_err(|e| signed_in.fail(e))?;
    let form = form.into_inner();
    let query = RegisterQuery {
        subject: filled(Some(form.subject.clone())),
        holder_id: filled(Some(form.holder_id.clone())),
        organisation: filled(Some(form.organisation.clone())),
        status: filled(Some(form.status.clone())),
        limit: Some(PAGE),
        offset: Some(form.offset.max(0)),
        ..Default::default()
    };
    let rows = with_connection(&state.pool, move |conn| register::search(conn, &query))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    let t = signed_in.preferences.tr();
    let next = (rows.len() == usize::try_from(PAGE).unwrap_or(usize::MAX))
        .then_some(form.offset.max(0) + PAGE);
    let page = RegisterPage {
        next,
        statuses: STATUSES
            .into_iter()
            .map(|s| {
                (
                    s,
                    t.get(&format!("ca.status_{s}")).to_string(),
                    form.status == s,
                )
            })
            .collect(),
        rows: rows.iter().map(|r| CertificateRow::new(r, t)).collect(),
        form,
        t,
        layout: signed_in.layout(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "ui/ca/register.html")]
struct RegisterPage {
    t: Tr,
    layout: Layout,
    form: RegisterForm,
    statuses: Vec<(&'static str, String, bool)>,
    rows: Vec<CertificateRow>,
    /// The offset of the next page, when this one is full.
    next: Option<i64>,
}

/// One certificate of the register as a row.
pub struct CertificateRow {
    /// Serial number (hex).
    pub serial: String,
    /// Subject distinguished name.
    pub subject: String,
    /// The holder's FIN or VÖEN.
    pub holder_id: String,
    /// Status, translated.
    pub status: String,
    /// Status as stored: the row's CSS class.
    pub status_class: String,
    /// Validity start, Baku time.
    pub not_before: String,
    /// Validity end, Baku time.
    pub not_after: String,
}

impl CertificateRow {
    /// The row of `record`, in the language of `t`.
    pub fn new(record: &CertificateRecord, t: Tr) -> CertificateRow {
        CertificateRow {
            serial: record.serial.0.clone(),
            subject: record.subject.clone(),
            holder_id: record.holder_id.clone().unwrap_or_default(),
            status: t.get(&format!("ca.status_{}", record.status)).to_string(),
            status_class: record.status.clone(),
            not_before: t.time(from_db(record.not_before)),
            not_after: t.time(from_db(record.not_after)),
        }
    }
}
