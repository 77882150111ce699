//! The audit log (CSP 14.6: internal-audit data; CSP 2.3: security-relevant changes visible to
//! the operator): `GET /ui/ca/audit` for the security officer, fifty entries a page, newest
//! first, filtered by action and by Baku dates, with whether the hash chain verifies;
//! `GET /ui/ca/audit/chain` tells the system administrator only whether the chain is intact.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Days, NaiveDate, Utc};
use mubadile_core::Error;
use mubadile_core::ca::audit::{self, AuditEntry, AuditQuery};
use mubadile_core::time::{BAKU, from_db};
use serde::Deserialize;

use super::{CaPage, filled};
use crate::problem::with_connection;
use crate::state::AppState;
use crate::ui::i18n::Tr;
use crate::ui::session::SignedIn;
use crate::ui::{Layout, UiError, render};

/// Entries per page.
const PAGE: i64 = 50;

/// The filters; empty means any.
#[derive(Deserialize, Default)]
pub struct AuditForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    before: Option<i64>,
}

/// The security officer's page of the audit log.
pub async fn log(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    form: web::Query<AuditForm>,
) -> Result<HttpResponse, UiError> {
    CaPage::AuditLog
        .admit(&signed_in.actor)
        .map_err(|e| signed_in.fail(e))?;
    let form = form.into_inner();
    let query = AuditQuery {
        action: filled(Some(form.action.clone())),
        from: baku_day_start(&form.from, "from", 0).map_err(|e| signed_in.fail(e))?,
        // The "to" day is included: entries before the start of the next day.
        until: baku_day_start(&form.to, "to", 1).map_err(|e| signed_in.fail(e))?,
        before_seq: form.before,
        limit: PAGE,
        ..Default::default()
    };
    let (entries, chain) = with_connection(&state.pool, move |conn| {
        let entries = audit::list(conn, &query)?;
        Ok((entries, audit::verify(conn)))
    })
    .await
    .map_err(|p| signed_in.fail(p.0))?;
    let t = signed_in.preferences.tr();
    let next = (entries.len() == usize::try_from(PAGE).unwrap_or(usize::MAX))
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    let page = AuditPage {
        chain: ChainLine::new(chain, t),
        rows: entries.into_iter().map(|e| EntryRow::new(e, t)).collect(),
        form,
        next,
        t,
        layout: signed_in.layout(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// The system administrator's (and the security officer's) check of the chain alone.
pub async fn chain(
    state: web::Data<AppState>,
    signed_in: SignedIn,
) -> Result<HttpResponse, UiError> {
    CaPage::AuditChain
        .admit(&signed_in.actor)
        .map_err(|e| signed_in.fail(e))?;
    let chain = with_connection(&state.pool, |conn| Ok(audit::verify(conn)))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    let t = signed_in.preferences.tr();
    let page = ChainPage {
        chain: ChainLine::new(chain, t),
        t,
        layout: signed_in.layout(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "ui/ca/audit.html")]
struct AuditPage {
    t: Tr,
    layout: Layout,
    form: AuditForm,
    chain: ChainLine,
    rows: Vec<EntryRow>,
    next: Option<i64>,
}

#[derive(Template)]
#[template(path = "ui/ca/audit_chain.html")]
struct ChainPage {
    t: Tr,
    layout: Layout,
    chain: ChainLine,
}

/// Whether the chain verifies, and what broke it.
struct ChainLine {
    intact: bool,
    text: String,
}

impl ChainLine {
    fn new(verified: Result<i64, Error>, t: Tr) -> ChainLine {
        match verified {
            Ok(count) => ChainLine {
                intact: true,
                text: t
                    .get("ca.chain_intact")
                    .replace("{count}", &count.to_string()),
            },
            // The core names the first entry altered, inserted or missing.
            Err(e) => ChainLine {
                intact: false,
                text: format!("{} ({e})", t.get("ca.chain_broken")),
            },
        }
    }
}

/// One entry.
struct EntryRow {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    target: String,
    details: String,
}

impl EntryRow {
    fn new(e: AuditEntry, t: Tr) -> EntryRow {
        EntryRow {
            seq: e.seq,
            at: t.time(from_db(e.at)),
            actor: e.actor,
            action: e.action,
            target: e.target,
            details: e.details,
        }
    }
}

/// The start, in UTC, of the Baku day `typed` (`YYYY-MM-DD`) plus `days`; `None` when empty.
fn baku_day_start(
    typed: &str,
    field: &'static str,
    days: u64,
) -> Result<Option<DateTime<Utc>>, Error> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Ok(None);
    }
    let day = NaiveDate::parse_from_str(typed, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.checked_add_days(Days::new(days)))
        .ok_or_else(|| Error::invalid(field, format!("{typed:?} is not a date as YYYY-MM-DD")))?;
    Ok(day
        .and_hms_opt(0, 0, 0)
        .and_then(|midnight| midnight.and_local_timezone(BAKU).earliest())
        .map(|at| at.with_timezone(&Utc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_6_3_audit_dates_are_baku_days() {
        let from = baku_day_start("2026-12-05", "from", 0).unwrap().unwrap();
        assert_eq!(from.to_rfc3339(), "2026-12-04T20:00:00+00:00");
        let until = baku_day_start("2026-12-05", "to", 1).unwrap().unwrap();
        assert_eq!(until.to_rfc3339(), "2026-12-05T20:00:00+00:00");
        assert_eq!(baku_day_start(" ", "from", 0).unwrap(), None);
        let wrong = baku_day_start("5/12/2026", "from", 0).unwrap_err();
        assert!(wrong.to_string().contains("YYYY-MM-DD"), "{wrong}");
    }

    #[test]
    fn a_broken_chain_is_shown_with_the_entry_the_core_names() {
        let t = Tr::new(crate::ui::i18n::Locale::En);
        let broken = ChainLine::new(
            Err(Error::refused(
                "audit_log_tampered",
                "audit log entry 3 (…): was altered after it was written",
            )),
            t,
        );
        assert!(!broken.intact);
        assert!(broken.text.contains("entry 3"), "{}", broken.text);
        let intact = ChainLine::new(Ok(12), t);
        assert!(
            intact.intact && intact.text.contains("12"),
            "{}",
            intact.text
        );
    }
}
