//! `GET /pki/cps`: the CP/CPS (RFC 3647 outline) generated from the running configuration
//! (CSP 10.2–10.6).

use actix_web::{HttpResponse, web};
use askama::Template;
use mubadile_core::Error;
use mubadile_core::ca::oids::OidEntry;
use mubadile_core::ca::profiles::Profile;
use mubadile_core::config::KeyStoreConfig;
use mubadile_core::time::{baku_display, from_x509_time, now};

use crate::problem::Problem;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "cps.html")]
struct CpsPage {
    organisation: String,
    generated: String,
    oids: Vec<OidEntry>,
    authorities: Vec<AuthorityLine>,
    ocsp_url: String,
    tsa_url: String,
    cps_url: String,
    crl_interval_hours: u32,
    root_key: String,
    key_store: String,
    profiles: Vec<ProfileLine>,
}

struct AuthorityLine {
    label: String,
    subject: String,
    not_after: String,
    certificate_url: String,
    crl_url: String,
    delta_url: String,
}

struct ProfileLine {
    name: &'static str,
    validity: String,
    key_period: String,
    usage: &'static str,
}

/// Renders the CP/CPS.
pub async fn cps(state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    let ca = &state.ca;
    let urls = &ca.settings().urls;
    let start = now();
    let months = |end: chrono::DateTime<chrono::Utc>| {
        let days = (end - start).num_days();
        if days >= 365 {
            format!("{} years", (days + 180) / 365)
        } else {
            format!("{days} days")
        }
    };
    let page = CpsPage {
        organisation: state.config.ca.organisation.clone(),
        generated: baku_display(start),
        oids: ca.settings().oids.entries(),
        authorities: ca
            .authorities()
            .iter()
            .map(|a| AuthorityLine {
                label: a.label.clone(),
                subject: a.certificate.tbs_certificate.subject.to_string(),
                not_after: baku_display(from_x509_time(
                    &a.certificate.tbs_certificate.validity.not_after,
                )),
                certificate_url: urls.ca_certificate(&a.label),
                crl_url: urls.full_crl(&a.label),
                delta_url: urls.delta_crl(&a.label),
            })
            .collect(),
        ocsp_url: urls.ocsp(),
        tsa_url: urls.tsa(),
        cps_url: urls.cps(),
        crl_interval_hours: ca.settings().crl_interval_hours,
        root_key: state.config.ca.root_key.clone(),
        key_store: match &state.config.ca.key_store {
            KeyStoreConfig::Software { .. } => {
                "as encrypted PKCS#8 files (PBES2, scrypt, AES-256-CBC)".into()
            }
            KeyStoreConfig::Pkcs11 { .. } => {
                "in a PKCS#11 token, generated there and never exported".into()
            }
        },
        profiles: Profile::ALL
            .into_iter()
            .map(|p| {
                let (end, key_end) = p.validity(start);
                ProfileLine {
                    name: p.name(),
                    validity: months(end),
                    key_period: key_end.map(months).unwrap_or_else(|| "—".into()),
                    usage: usage(p),
                }
            })
            .collect(),
    };
    let html = page
        .render()
        .map_err(|e| Error::Config(format!("CPS template: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html))
}

fn usage(p: Profile) -> &'static str {
    match p {
        Profile::RootCa | Profile::IssuingCa => "certificate and CRL signing",
        Profile::PersonSignature => {
            "enhanced signatures of a person for an organisation (digitalSignature, nonRepudiation)"
        }
        Profile::OrganisationSeal => "organisation seal (digitalSignature, nonRepudiation)",
        Profile::TlsServer => "TLS server authentication of nodes",
        Profile::TlsClient => "TLS client authentication of nodes and systems",
        Profile::OcspResponder => "signing OCSP responses",
        Profile::TimeStamping => "signing timestamps",
    }
}
