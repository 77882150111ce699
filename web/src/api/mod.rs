//! The REST API `/api/v1` for agencies, systems and officers. Answers JSON; errors are RFC 9457
//! problem details (see `problem.rs`).

mod account;
pub mod ca;
mod documents;
mod journals;
pub(crate) mod search;
mod signatures;
mod validations;
mod webhook;

use actix_web::web;
use serde::{Deserialize, Serialize};

/// Registers the routes under `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .route(
                "/account/password",
                web::post().to(account::change_password),
            )
            .route("/validations", web::post().to(validations::validate))
            .route("/webhook", web::put().to(webhook::set))
            .route("/openapi.json", web::get().to(openapi))
            .route("/search", web::get().to(search::search))
            .route("/search.csv", web::get().to(search::csv))
            .route("/signatures/prepare", web::post().to(signatures::prepare))
            .route("/signatures/finish", web::post().to(signatures::finish))
            .route("/signatures/extend", web::post().to(signatures::extend))
            .configure(documents::routes)
            .configure(journals::routes)
            .configure(ca::routes),
    );
}

/// The OpenAPI 3.1 document of this API, written by hand beside the handlers; the end-to-end
/// tests check it with openapi-spec-validator and probe every operation it names.
const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}

/// `?after=CURSOR&limit=N` of a list read in pages.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CursorQuery {
    /// The `next` of the previous page; 0 for the first.
    #[serde(default)]
    pub after: i64,
    /// At most this many items.
    #[serde(default = "default_limit")]
    pub limit: i64,
}

fn default_limit() -> i64 {
    100
}

/// One page of a list: `next` is the cursor that reads on, the same as `after` at the end.
#[derive(Serialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// The cursor of the following page.
    pub next: i64,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;

    /// Every `(path, method)` the API's modules register, read from their source: a scope other
    /// than `/api/v1` prefixes the routes of its file.
    fn registered_routes(dir: &Path, found: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                registered_routes(&path, found);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text: String = std::fs::read_to_string(&path)
                .unwrap()
                .split_whitespace()
                .collect();
            let literal = |s: &str| s.split('"').next().unwrap_or_default().to_string();
            let prefix = text
                .split("web::scope(\"")
                .nth(1)
                .map(literal)
                .filter(|scope| scope != "/api/v1")
                .unwrap_or_default();
            for route in text.split(".route(\"").skip(1) {
                let path = literal(route);
                let method = route
                    .split("web::")
                    .nth(1)
                    .and_then(|m| m.split('(').next())
                    .unwrap()
                    .to_string();
                found.push((format!("{prefix}{path}"), method));
            }
        }
    }

    /// The other half of the end-to-end check (every documented operation exists): every
    /// route the handlers register is documented, so no endpoint is left out of the document.
    #[test]
    fn every_registered_route_is_in_the_openapi_document() {
        let document: serde_json::Value = serde_json::from_str(super::OPENAPI).unwrap();
        let mut routes = Vec::new();
        registered_routes(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api"),
            &mut routes,
        );
        assert!(routes.len() >= 33, "only {} routes found", routes.len());
        let missing: Vec<String> = routes
            .iter()
            .filter(|(path, method)| document["paths"][path][method].is_null())
            .map(|(path, method)| format!("{} {path}", method.to_uppercase()))
            .collect();
        assert!(missing.is_empty(), "not in openapi.json: {missing:?}");
    }
}
