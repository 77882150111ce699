//! One certificate of the register (CSP 9.2): its data, its history in Baku time, its PEM, and
//! for the registration officer the forms that request its suspension, restoration or
//! revocation (CSP 4.1, 13.3), and the report of a key compromise, which suspends it at once
//! (GOV 4.2, CSP 4.3: the formal revocation is then due within one day).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, NaiveDateTime, Utc};
use mubadile_core::Error;
use mubadile_core::ca::reason::RevocationReason;
use mubadile_core::ca::register::{self, CertificateEvent, CertificateRecord, Serial};
use mubadile_core::ca::requests::Requested;
use mubadile_core::time::{BAKU, from_db};
use serde::Deserialize;

use super::register::CertificateRow;
use super::{CaPage, admit_form, filled};
use crate::pki::certificate_pem;
use crate::problem::{blocking, with_connection};
use crate::state::AppState;
use crate::ui::documents::download::attachment;
use crate::ui::i18n::Tr;
use crate::ui::session::{SignedIn, see_other};
use crate::ui::{Layout, UiError, render};

/// Reasons a registration officer may give for a revocation (hold and its removal are
/// suspension and restoration).
const REVOCATION_REASONS: [RevocationReason; 6] = [
    RevocationReason::KeyCompromise,
    RevocationReason::AffiliationChanged,
    RevocationReason::Superseded,
    RevocationReason::CessationOfOperation,
    RevocationReason::PrivilegeWithdrawn,
    RevocationReason::Unspecified,
];

/// `?done=` after a form.
#[derive(Deserialize)]
pub struct Done {
    #[serde(default)]
    pub done: Option<String>,
}

/// `GET /ui/ca/certificates/{serial}`.
pub async fn show(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    serial: web::Path<String>,
    done: web::Query<Done>,
) -> Result<HttpResponse, UiError> {
    CaPage::Register
        .admit(&signed_in.actor)
        .map_err(|e| signed_in.fail(e))?;
    let serial: Serial = serial.parse().map_err(|e| signed_in.fail(e))?;
    let (record, history) = with_connection(&state.pool, move |conn| {
        Ok((
            register::find(conn, &serial)?,
            register::events(conn, &serial)?,
        ))
    })
    .await
    .map_err(|p| signed_in.fail(p.0))?;
    let t = signed_in.preferences.tr();
    let requests = CaPage::Enrolment.admit(&signed_in.actor).is_ok() && !record.archived;
    let page = CertificatePage {
        row: CertificateRow::new(&record, t),
        details: details(&record, t),
        history: history.iter().map(|e| EventRow::new(e, t)).collect(),
        may_suspend: requests && record.status == "valid",
        may_restore: requests && record.status == "suspended",
        may_revoke: requests && record.status != "revoked",
        reasons: REVOCATION_REASONS
            .into_iter()
            .map(|r| {
                (
                    r.name(),
                    t.get(&format!("ca.reason_{}", r.name())).to_string(),
                )
            })
            .collect(),
        done: done
            .into_inner()
            .done
            .filter(|d| ["issued", "compromise"].contains(&d.as_str()))
            .map(|d| t.get(&format!("ca.done_{d}")).to_string()),
        t,
        layout: signed_in.layout(),
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /ui/ca/certificates/{serial}/certificate.pem`: the certificate as PEM, to hand to the
/// holder or check with openssl.
pub async fn pem(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    serial: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    CaPage::Register
        .admit(&signed_in.actor)
        .map_err(|e| signed_in.fail(e))?;
    let serial: Serial = serial.parse().map_err(|e| signed_in.fail(e))?;
    let name = format!("{serial}.pem");
    let record = with_connection(&state.pool, move |conn| register::find(conn, &serial))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    let pem = certificate_pem(&record.der).map_err(|e| signed_in.fail(e))?;
    Ok(attachment(
        "application/x-pem-file",
        &name,
        pem.into_bytes(),
    ))
}

/// The form requesting a status change.
#[derive(Deserialize)]
pub struct ChangeForm {
    csrf: String,
    /// `suspend`, `restore` or `revoke`.
    change: String,
    #[serde(default)]
    reason: Option<String>,
    /// `YYYY-MM-DDTHH:MM` in Baku time, as an `<input type=datetime-local>` sends it.
    #[serde(default)]
    invalidity_date: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

/// `POST /ui/ca/certificates/{serial}/requests`: the registration officer files the request;
/// the certificate officer carries it out.
pub async fn request_change(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    serial: web::Path<String>,
    form: web::Form<ChangeForm>,
) -> Result<HttpResponse, UiError> {
    let form = form.into_inner();
    admit_form(&signed_in, CaPage::Enrolment, &form.csrf).map_err(|e| signed_in.fail(e))?;
    let serial: Serial = serial.parse().map_err(|e| signed_in.fail(e))?;
    let requested = requested(serial, &form).map_err(|e| signed_in.fail(e))?;
    let ca = state.ca.clone();
    let actor = signed_in.actor.clone();
    let note = filled(form.note);
    blocking(move || ca.file_request(&actor, &requested, note.as_deref()))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    Ok(see_other("/ui/ca/requests?done=filed"))
}

fn requested(serial: Serial, form: &ChangeForm) -> Result<Requested, Error> {
    Ok(match form.change.as_str() {
        "suspend" => Requested::Suspend(serial),
        "restore" => Requested::Restore(serial),
        "revoke" => Requested::Revoke {
            serial,
            reason: filled(form.reason.clone())
                .ok_or_else(|| Error::invalid("reason", "choose why the certificate is revoked"))?
                .parse()?,
            invalidity_date: filled(form.invalidity_date.clone())
                .map(|d| baku_moment(&d))
                .transpose()?,
        },
        other => {
            return Err(Error::invalid(
                "change",
                format!("{other:?} is not suspend, restore or revoke"),
            ));
        }
    })
}

/// The compromise report's form.
#[derive(Deserialize)]
pub struct CompromiseForm {
    csrf: String,
    description: String,
}

/// `POST /ui/ca/certificates/{serial}/compromise`: the registration officer records the
/// holder's report of a key compromise (GOV 4.3 cases) through
/// `CertificateAuthority::report_compromise`, the REST API's operation: the certificate is
/// suspended at once, new CRLs are published, and the revocation falls due within one day
/// (GOV 4.2), escalated by the scheduler when it is overdue.
pub async fn report_compromise(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    serial: web::Path<String>,
    form: web::Form<CompromiseForm>,
) -> Result<HttpResponse, UiError> {
    let form = form.into_inner();
    admit_form(&signed_in, CaPage::Enrolment, &form.csrf).map_err(|e| signed_in.fail(e))?;
    let serial: Serial = serial.parse().map_err(|e| signed_in.fail(e))?;
    let ca = state.ca.clone();
    let actor = signed_in.actor.clone();
    let reported = serial.clone();
    blocking(move || ca.report_compromise(&actor, &reported, &form.description))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    Ok(see_other(&format!(
        "/ui/ca/certificates/{serial}?done=compromise"
    )))
}

/// A moment typed in Baku time (`YYYY-MM-DDTHH:MM`, seconds optional) in UTC (CSP 6.3).
pub fn baku_moment(typed: &str) -> Result<DateTime<Utc>, Error> {
    let local = NaiveDateTime::parse_from_str(typed, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(typed, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| {
            Error::invalid(
                "invalidity_date",
                format!("{typed:?} is not a date and time as YYYY-MM-DDTHH:MM (Baku time)"),
            )
        })?;
    local
        .and_local_timezone(BAKU)
        .single()
        .map(|at| at.with_timezone(&Utc))
        .ok_or_else(|| Error::invalid("invalidity_date", format!("{typed:?} is ambiguous")))
}

#[derive(Template)]
#[template(path = "ui/ca/certificate.html")]
struct CertificatePage {
    t: Tr,
    layout: Layout,
    row: CertificateRow,
    details: Vec<(&'static str, String)>,
    history: Vec<EventRow>,
    may_suspend: bool,
    may_restore: bool,
    may_revoke: bool,
    reasons: Vec<(&'static str, String)>,
    done: Option<String>,
}

/// The register fields of CSP 9.2 beyond the row: (label key, value).
fn details(record: &CertificateRecord, t: Tr) -> Vec<(&'static str, String)> {
    let consent = if record.public_consent {
        "ca.yes"
    } else {
        "ca.no"
    };
    vec![
        ("ca.profile", record.profile.clone()),
        ("ca.issuer", record.issuer_id.clone()),
        (
            "ca.organisation",
            record.organisation.clone().unwrap_or_default(),
        ),
        ("ca.position", record.position.clone().unwrap_or_default()),
        ("ca.email", record.email.clone().unwrap_or_default()),
        (
            "ca.key_usage_until",
            record
                .key_usage_not_after
                .map(|at| t.time(from_db(at)))
                .unwrap_or_default(),
        ),
        (
            "ca.revocation_reason",
            record
                .revocation_reason
                .as_deref()
                .map(|r| t.get(&format!("ca.reason_{r}")).to_string())
                .unwrap_or_default(),
        ),
        (
            "ca.invalidity_date",
            record
                .invalidity_date
                .map(|at| t.time(from_db(at)))
                .unwrap_or_default(),
        ),
        ("ca.public_consent", t.get(consent).to_string()),
    ]
}

/// One event of the certificate's history.
struct EventRow {
    at: String,
    event: String,
    reason: String,
    actor: String,
}

impl EventRow {
    fn new(e: &CertificateEvent, t: Tr) -> EventRow {
        EventRow {
            at: t.time(from_db(e.at)),
            event: t.get(&format!("ca.event_{}", e.event)).to_string(),
            reason: e.reason.clone().unwrap_or_default(),
            actor: e.actor.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_6_3_an_invalidity_date_is_typed_in_baku_time() {
        let at = baku_moment("2026-12-05T10:30").unwrap();
        assert_eq!(at.to_rfc3339(), "2026-12-05T06:30:00+00:00");
        let wrong = baku_moment("05.12.2026").unwrap_err();
        assert!(wrong.to_string().contains("YYYY-MM-DDTHH:MM"), "{wrong}");
    }

    #[test]
    fn a_revocation_request_needs_a_reason_and_refuses_hold() {
        let form = |reason: &str| ChangeForm {
            csrf: String::new(),
            change: "revoke".into(),
            reason: Some(reason.into()),
            invalidity_date: None,
            note: None,
        };
        let serial: Serial = "0a1b".parse().unwrap();
        let missing = requested(serial.clone(), &form("")).unwrap_err();
        assert!(missing.to_string().contains("reason"), "{missing}");
        assert!(matches!(
            requested(serial.clone(), &form("superseded")).unwrap(),
            Requested::Revoke {
                reason: RevocationReason::Superseded,
                ..
            }
        ));
        let odd = requested(
            serial,
            &ChangeForm {
                change: "destroy".into(),
                ..form("superseded")
            },
        )
        .unwrap_err();
        assert!(
            odd.to_string().contains("suspend, restore or revoke"),
            "{odd}"
        );
    }
}
