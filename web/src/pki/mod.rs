//! The public face of the PKI (CSP 5.1–5.4, 9.3: reachable 24×7, free, no sign-in): CA
//! certificates, CRLs, OCSP (RFC 6960 A.1, GET and POST), time-stamping (RFC 3161 3.4) and the
//! OID register, and the platform's published trust list.

mod cps;
mod lookup;

use actix_web::{HttpResponse, web};
use base64::Engine;
use mubadile_core::Error;
use mubadile_core::ca::ocsp::decode_get_path;

use crate::problem::{Problem, blocking};
use crate::state::AppState;

/// Largest OCSP or time-stamp request accepted; real ones are a few hundred bytes.
const MAX_REQUEST: usize = 64 * 1024;

/// Registers the routes under `/pki`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/pki")
            .app_data(web::PayloadConfig::new(MAX_REQUEST))
            .route("/ocsp", web::post().to(ocsp_post))
            .route("/ocsp/{request:.*}", web::get().to(ocsp_get))
            .route("/tsa", web::post().to(timestamp))
            .route("/oids", web::get().to(oid_register))
            .route("/trust-list.xml", web::get().to(trust_list))
            .route("/cps", web::get().to(cps::cps))
            .route("/certificates", web::get().to(lookup::lookup))
            .route("/{label}/ca.crt", web::get().to(ca_certificate))
            .route("/{label}/full.crl", web::get().to(full_crl))
            .route("/{label}/delta.crl", web::get().to(delta_crl)),
    );
}

async fn ca_certificate(
    state: web::Data<AppState>,
    label: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let ca = state.ca.authority(&label)?;
    Ok(HttpResponse::Ok()
        .content_type("application/pkix-cert")
        .body(ca.der.clone()))
}

async fn full_crl(
    state: web::Data<AppState>,
    label: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    crl(state, label.into_inner(), false).await
}

async fn delta_crl(
    state: web::Data<AppState>,
    label: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    crl(state, label.into_inner(), true).await
}

async fn crl(
    state: web::Data<AppState>,
    label: String,
    delta: bool,
) -> Result<HttpResponse, Problem> {
    let ca = state.ca.clone();
    let crl = blocking(move || ca.latest_crl(&label, delta)).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pkix-crl")
        .insert_header(("Cache-Control", "public, max-age=300"))
        .body(crl.der))
}

async fn ocsp_post(state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, Problem> {
    ocsp(state, body.to_vec()).await
}

async fn ocsp_get(
    state: web::Data<AppState>,
    request: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    // A request that does not decode still gets an OCSP malformedRequest answer from `respond`.
    let der = decode_get_path(&request).unwrap_or_default();
    ocsp(state, der).await
}

async fn ocsp(state: web::Data<AppState>, der: Vec<u8>) -> Result<HttpResponse, Problem> {
    let ca = state.ca.clone();
    let response = blocking(move || Ok(ca.answer_ocsp(&der))).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/ocsp-response")
        .body(response))
}

async fn timestamp(state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, Problem> {
    let ca = state.ca.clone();
    let response = blocking(move || ca.answer_timestamp(&body)).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/timestamp-reply")
        .body(response))
}

async fn oid_register(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(state.ca.settings().oids.entries())
}

/// The latest trust list (ETSI TS 119 612) published with `mubadile trust-list publish`
/// (ACC 1.2): verifiers import it and pin the operator's seal certificate.
async fn trust_list(state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    let exchange = state.exchange.clone();
    match blocking(move || exchange.latest_trust_list()).await? {
        Some(xml) => Ok(HttpResponse::Ok()
            .content_type("application/vnd.etsi.tsl+xml")
            .body(xml)),
        None => Err(Problem(Error::not_found(
            "trust list",
            "(none published yet: run `mubadile trust-list publish`)",
        ))),
    }
}

/// Base64 of DER, for JSON answers.
pub fn b64(der: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(der)
}

/// A DER certificate as PEM.
pub fn certificate_pem(der: &[u8]) -> Result<String, Error> {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der)
        .map_err(|e| Error::from(der::Error::from(e)))
}
