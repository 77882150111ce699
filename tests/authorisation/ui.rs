//! The web UI's part of the matrix: every route of the UI's route table — the table the router
//! registers from (`web/src/ui/routes.rs`), read here with a macro of its own, so a new route
//! fails the test until it is placed in [`access`] — × every kind of caller that may not use it.
//! Each caller has a session of its own, signed in through the sign-in form, and every form it
//! posts carries that session's CSRF token, so that a refusal is about who posts and not about a
//! forged form.
//!
//! What the UI answers: a visitor with no session (an API client's token opens none) is sent to
//! the sign-in page, for a page and for a form alike, before anything is read or done; a person
//! without the role gets the refusal page (403); a person of another organisation finds no such
//! document or draft (404) and sees only its own in the lists; a CA officer, who acts for no
//! organisation, is told so (409 `no_organisation`, as the API says it) or refused (403) by the
//! core.

use std::collections::BTreeMap;

use super::{CERTIFICATE, Caller, KEEPERS, Probes, REGISTRARS, REGISTRATION, SECURITY};
use crate::common::Server;
use crate::common::ui::{agent, hidden_csrf, multipart, sign_in};

macro_rules! ui_routes {
    ($($method:ident $path:literal => $handler:path,)*) => {
        /// Every route of the web UI under `/ui`, as the router registers it.
        const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path),)*];
    };
}

include!("../../web/src/ui/routes.rs");

/// Who may use a route of the UI, as its handler (or the core function it calls) checks it.
#[derive(Debug, Clone, Copy)]
enum Access {
    /// Anyone, signed in or not: signing in, the display switches, the stylesheet.
    Open,
    /// A signed-in person, on their own account: the password, the second factor, signing out.
    OwnAccount,
    /// The people of an organisation holding one of these roles, on their organisation's
    /// documents and drafts only (EDE 6.2, 7.4).
    Organisation(&'static [&'static str]),
    /// A person holding one of these roles of the platform (CSP 13.3).
    Platform(&'static [&'static str]),
}

/// The UI's readers: the API's, and the organisation's administrator.
const READERS: &[&str] = &[
    "clerk",
    "signer",
    "registrar",
    "archivist",
    "organisation_administrator",
];
const COMPOSERS: &[&str] = &["clerk", "signer"];
const ANY_CA: &[&str] = &[
    "registration_officer",
    "certificate_officer",
    "security_officer",
    "system_administrator",
];
/// CSP 13.3: the system administrator checks the audit chain's integrity and reads no entry.
const AUDIT_CHAIN: &[&str] = &["security_officer", "system_administrator"];
/// The system administrator alone resets another person's second factor.
const RESETTERS: &[&str] = &["system_administrator"];

/// Every route of [`ROUTES`] and who may use it. A new route fails the test until it is placed
/// here.
fn access(method: &str, path: &str) -> Access {
    use Access::{Open, Organisation, OwnAccount, Platform};
    match (method, path) {
        ("get", "" | "/ui.css" | "/sign-in" | "/sign-in/second-step")
        | ("post", "/preferences" | "/sign-in" | "/sign-in/second-step") => Open,
        ("get", "/password" | "/second-factor")
        | (
            "post",
            "/password"
            | "/sign-out"
            | "/sign-out-everywhere"
            | "/second-factor/enable"
            | "/second-factor/disable"
            | "/second-factor/recovery-codes",
        ) => OwnAccount,
        ("get" | "post", "/second-factor/reset") => Platform(RESETTERS),
        (
            "get",
            "/inbox"
            | "/outbox"
            | "/documents/{id}"
            | "/documents/{id}/document"
            | "/documents/{id}/envelope"
            | "/documents/{id}/protocol"
            | "/documents/{id}/signatures/{n}/signed-revision"
            | "/drafts/{id}"
            | "/drafts/{id}/document",
        ) => Organisation(READERS),
        ("get", "/search" | "/search.csv") => Organisation(KEEPERS),
        ("post", "/documents/{id}/acceptance" | "/documents/{id}/refusal") => {
            Organisation(REGISTRARS)
        }
        (
            "get",
            "/documents/{id}/history" | "/documents/{id}/evidence" | "/documents/{id}/package",
        ) => Organisation(&["archivist"]),
        ("get", "/drafts/new") | ("post", "/drafts" | "/drafts/{id}/sending") => {
            Organisation(COMPOSERS)
        }
        ("get", "/drafts/{id}/to-be-signed")
        | (
            "post",
            "/drafts/{id}/signature" | "/drafts/{id}/preparation" | "/drafts/{id}/signature-value",
        ) => Organisation(&["signer"]),
        ("get", "/ca") => Platform(ANY_CA),
        (
            "get",
            "/ca/register"
            | "/ca/certificates/{serial}"
            | "/ca/certificates/{serial}/certificate.pem"
            | "/ca/requests",
        ) => Platform(REGISTRATION),
        ("get" | "post", "/ca/enrolment" | "/ca/enrolment/seal" | "/ca/enrolment/tls")
        | ("post", "/ca/certificates/{serial}/requests" | "/ca/certificates/{serial}/compromise") => {
            Platform(&["registration_officer"])
        }
        ("get", "/ca/requests/{id}")
        | (
            "post",
            "/ca/requests/{id}/issuance"
            | "/ca/requests/{id}/change"
            | "/ca/requests/{id}/rejection"
            | "/ca/crls",
        ) => Platform(CERTIFICATE),
        ("get", "/ca/audit") => Platform(SECURITY),
        ("get", "/ca/audit/chain") => Platform(AUDIT_CHAIN),
        _ => {
            panic!("{method} /ui{path}: not in the authorisation matrix; place it in `ui::access`")
        }
    }
}

/// What the matrix expects of one request.
#[derive(Debug, PartialEq, Eq)]
enum Expected {
    /// Sent to the sign-in page (`303`), nothing read or done.
    SignIn,
    /// Refused with one of these statuses, nothing shown or changed.
    Refused(&'static [u16]),
    /// The caller's own organisation's list: answered without anything of the owners'.
    OwnOnly,
    /// Not probed: open to anyone, the caller's own account, or what the caller may do.
    NotProbed,
}

/// What the probes name: the document (min-justice to min-finance), min-justice's draft, the
/// certificate and the CA request, with what would betray each on a page.
pub struct Targets {
    pub document: String,
    pub envelope_sha256: String,
    pub document_title: String,
    pub draft: String,
    pub draft_title: String,
    pub serial: String,
    pub request: String,
    /// The PEM of a certificate, for the two-step signing form.
    pub certificate_pem: String,
}

/// A caller's UI session: its cookie and its CSRF token.
pub struct Session {
    cookie: String,
    csrf: String,
}

/// Signs every person in through the UI.
pub fn sessions(s: &Server, callers: &[Caller]) -> BTreeMap<&'static str, Session> {
    callers
        .iter()
        .filter_map(|caller| match caller {
            Caller::Person { name, password, .. } => {
                let cookie = sign_in(s, name, password);
                let (status, _, page) = get(s, "/ui/password", Some(cookie.as_str()), None);
                assert_eq!(status, 200, "{page}");
                let csrf = hidden_csrf(&page);
                Some((*name, Session { cookie, csrf }))
            }
            _ => None,
        })
        .collect()
}

/// A draft of min-justice formed by its clerk `composer` for `signer` to sign: returns its id.
pub fn draft(s: &Server, composer: &Session, signer: &str, title: &str) -> String {
    let fields = [
        ("csrf", composer.csrf.as_str()),
        ("kind", "letter"),
        ("title", title),
        ("addressee", "min-finance"),
        ("letter", "Hörmətli həmkarlar, rüblük hesabat əlavə olunur."),
        ("signer", signer),
    ];
    let (status, location, page) = post(
        s,
        "/ui/drafts",
        Some(composer),
        None,
        Body::Multipart(&fields),
    );
    assert_eq!(status, 303, "{page}");
    location
        .strip_prefix("/ui/drafts/")
        .and_then(|rest| rest.split('?').next())
        .unwrap_or_else(|| panic!("no draft in {location}"))
        .to_string()
}

/// Probes every route of the UI as every caller that may not use it.
pub fn probe_every_route(
    s: &Server,
    callers: &[Caller],
    owners_of_documents: &[&str],
    sessions: &BTreeMap<&'static str, Session>,
    targets: &Targets,
    probes: &mut Probes,
) {
    assert!(ROUTES.len() >= 60, "only {} UI routes read", ROUTES.len());
    for &(method, path) in ROUTES {
        let access = access(method, path);
        // The draft is min-justice's alone; the document also min-finance's, its recipient.
        let owners: &[&str] = if path.starts_with("/drafts/{id}") {
            &["min-justice"]
        } else {
            owners_of_documents
        };
        for caller in callers {
            let expect = expected(access, caller, method, path.contains('{'), owners);
            if expect == Expected::NotProbed {
                continue;
            }
            let session = match caller {
                Caller::Person { name, .. } => Some(&sessions[name]),
                _ => None,
            };
            let answer = request(s, method, path, caller, session, targets);
            // The owners' own people read what they are refused to change; anyone else must
            // see nothing of it.
            let reader = matches!(caller, Caller::Person { organisation: Some(org), .. } if owners.contains(org));
            let route = format!(
                "{} /ui{path} by {}",
                method.to_uppercase(),
                caller.describe()
            );
            judge(&route, expect, answer, reader, targets, probes);
        }
    }
}

/// Requests `method path` (its parameters the targets) as `caller`, in its session if it has
/// one, posting every form field with the session's CSRF token; status, `Location` and body.
fn request(
    s: &Server,
    method: &str,
    path: &str,
    caller: &Caller,
    session: Option<&Session>,
    targets: &Targets,
) -> (u16, String, String) {
    let concrete = concrete(path, targets);
    let bearer = caller.authorization().filter(|_| session.is_none());
    if method == "get" {
        return get(
            s,
            &concrete,
            session.map(|s| s.cookie.as_str()),
            bearer.as_deref(),
        );
    }
    let fields = form(session.map_or("", |s| s.csrf.as_str()), targets);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let body = if multipart_form(path) {
        Body::Multipart(&fields)
    } else {
        Body::Form(&fields)
    };
    post(s, &concrete, session, bearer.as_deref(), body)
}

/// Records whether `route`'s answer is what the matrix expects; `reader` when the caller may
/// read the target anyway.
fn judge(
    route: &str,
    expect: Expected,
    (status, location, page): (u16, String, String),
    reader: bool,
    targets: &Targets,
    probes: &mut Probes,
) {
    let shown = [
        &targets.document_title,
        &targets.draft_title,
        &targets.envelope_sha256,
    ]
    .into_iter()
    .find(|secret| !reader && page.contains(secret.as_str()));
    let failure = match expect {
        Expected::SignIn => {
            probes.refused += 1;
            (status != 303 || location != "/ui/sign-in")
                .then(|| format!("{route}: {status} to {location:?}, not 303 to the sign-in page"))
        }
        Expected::Refused(allowed) => {
            probes.refused += 1;
            if !allowed.contains(&status) {
                Some(format!(
                    "{route}: {status} {location}, not {allowed:?}: {}",
                    excerpt(&page)
                ))
            } else if page.contains(CSRF_REFUSAL) {
                Some(format!(
                    "{route}: refused for its CSRF token, not for who posts"
                ))
            } else {
                shown.map(|secret| format!("{route}: the refusal shows {secret}"))
            }
        }
        Expected::OwnOnly => {
            probes.own_only += 1;
            let names_ours = page.contains(&targets.document) || page.contains(&targets.draft);
            shown
                .cloned()
                .or(names_ours.then(|| "an id of ours".to_string()))
                .map(|secret| format!("{route} ({status}) shows {secret}"))
        }
        Expected::NotProbed => unreachable!(),
    };
    probes.failures.extend(failure);
}

/// The English text of the CSRF refusal (`web/locales/en.toml`, `csrf_failed`).
const CSRF_REFUSAL: &str = "The form expired or did not come from this site";

fn expected(
    access: Access,
    caller: &Caller,
    method: &str,
    names_target: bool,
    owners: &[&str],
) -> Expected {
    use Expected::{NotProbed, OwnOnly, Refused, SignIn};
    let (organisation, roles) = match (access, caller) {
        (Access::Open, _) => return NotProbed,
        // No session: a token is no UI session, and a visitor signs in first.
        (_, Caller::Nobody | Caller::System { .. }) => return SignIn,
        (Access::OwnAccount, Caller::Person { .. }) => return NotProbed,
        (
            _,
            Caller::Person {
                organisation,
                roles,
                ..
            },
        ) => (*organisation, *roles),
    };
    match access {
        Access::Open | Access::OwnAccount => unreachable!(),
        Access::Platform(allowed) => {
            if roles.iter().any(|r| allowed.contains(r)) {
                NotProbed
            } else {
                Refused(&[403])
            }
        }
        Access::Organisation(allowed) => match organisation {
            None => Refused(&[403, 409]),
            Some(org) if !roles.iter().any(|r| allowed.contains(r)) => {
                // Where the core looks for the draft in the caller's organisation before whose
                // turn it is to sign, another organisation finds none (404) before the role.
                if names_target && !owners.contains(&org) {
                    Refused(&[403, 404])
                } else {
                    Refused(&[403])
                }
            }
            Some(org) if owners.contains(&org) => NotProbed,
            Some(_) if names_target => Refused(&[404]),
            // Forming a draft of its own, or its own lists.
            Some(_) if method == "get" => OwnOnly,
            Some(_) => NotProbed,
        },
    }
}

/// `path` with the probes' targets in place of its parameters, and a query where a page
/// shows nothing without one.
fn concrete(path: &str, targets: &Targets) -> String {
    let id = if path.starts_with("/drafts/") {
        &targets.draft
    } else if path.starts_with("/ca/requests/") {
        &targets.request
    } else {
        &targets.document
    };
    let query = match path {
        "/search" | "/search.csv" => "?text=hesabat",
        "/ca/register" => "?subject=Ayg",
        _ => "",
    };
    format!(
        "/ui{}{query}",
        path.replace("{id}", id)
            .replace("{serial}", &targets.serial)
            .replace("{n}", "1")
    )
}

/// Whether the route's form carries files (`multipart/form-data`).
fn multipart_form(path: &str) -> bool {
    matches!(
        path,
        "/drafts"
            | "/drafts/{id}/signature"
            | "/drafts/{id}/preparation"
            | "/drafts/{id}/signature-value"
            | "/ca/requests/{id}/issuance"
    )
}

/// Every field any of the UI's forms requires, filled so that the form parses and is complete:
/// what refuses it can then only be who posts it. Each form reads its own fields.
fn form(csrf: &str, targets: &Targets) -> Vec<(&'static str, String)> {
    [
        ("csrf", csrf),
        // Documents: a refusal's reason.
        ("reason", "probe"),
        // Drafts: a new one, a key carrier and its PIN, a certificate, a signature value.
        ("kind", "letter"),
        ("title", "probe"),
        ("addressee", "min-finance"),
        ("letter", "probe"),
        ("signer", "j-signer"),
        ("carrier", "not a key carrier"),
        ("pin", "probe"),
        ("certificate", targets.certificate_pem.as_str()),
        ("value", "probe"),
        // The CA: enrolments, a status change, a compromise, an issuance.
        ("given_name", "Rəşad"),
        ("surname", "Quliyev"),
        ("fin", "7QX2KL9"),
        ("organisation", "min-health"),
        ("position", "müdir"),
        ("email", "probe@example.gov.az"),
        ("seal_name", "probe"),
        ("purpose", "probe"),
        ("area_of_use", "probe"),
        ("seal_text", "probe"),
        ("usage", "client"),
        ("common_name", "probe.example.gov.az"),
        ("change", "suspend"),
        ("description", "probe"),
        ("key", "generate"),
        ("algorithm", "ecdsa-p256"),
        ("carrier_password", "probe-password-2026"),
        ("carrier_password_repeat", "probe-password-2026"),
        // A second factor reset, confirmed.
        ("username", "ca-security"),
        ("confirm", "yes"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_string()))
    .collect()
}

/// A form's body.
enum Body<'a> {
    Form(&'a [(&'a str, &'a str)]),
    Multipart(&'a [(&'a str, &'a str)]),
}

/// Pages in English, so that a refusal can be read.
const ENGLISH: &str = "mbd_prefs=en.normal.normal";

/// GET `path` with the session cookie or an `Authorization` header; status, `Location` and
/// body.
fn get(
    s: &Server,
    path: &str,
    cookie: Option<&str>,
    authorization: Option<&str>,
) -> (u16, String, String) {
    let mut request = agent().get(&s.url(path)).set("Cookie", &cookies(cookie));
    if let Some(authorization) = authorization {
        request = request.set("Authorization", authorization);
    }
    answer(request.call(), path)
}

/// POST `body` to `path` in `session`; status, `Location` and body.
fn post(
    s: &Server,
    path: &str,
    session: Option<&Session>,
    authorization: Option<&str>,
    body: Body<'_>,
) -> (u16, String, String) {
    let mut request = agent()
        .post(&s.url(path))
        .set("Cookie", &cookies(session.map(|s| s.cookie.as_str())));
    if let Some(authorization) = authorization {
        request = request.set("Authorization", authorization);
    }
    let result = match body {
        Body::Form(fields) => request.send_form(fields),
        Body::Multipart(fields) => {
            let (content_type, bytes) = multipart(fields);
            request
                .set("Content-Type", &content_type)
                .send_bytes(&bytes)
        }
    };
    answer(result, path)
}

fn cookies(session: Option<&str>) -> String {
    match session {
        Some(cookie) => format!("{ENGLISH}; mbd_session={cookie}"),
        None => ENGLISH.to_string(),
    }
}

/// The status, `Location` and body of an answer.
fn answer(result: Result<ureq::Response, ureq::Error>, path: &str) -> (u16, String, String) {
    match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => {
            let location = r.header("Location").unwrap_or_default().to_string();
            (r.status(), location, r.into_string().unwrap_or_default())
        }
        Err(e) => panic!("{path}: {e}"),
    }
}

/// The message of an error page, or the start of any other.
fn excerpt(page: &str) -> String {
    page.split("id=\"error-message\">")
        .nth(1)
        .and_then(|rest| rest.split("</p>").next())
        .unwrap_or(page)
        .chars()
        .take(300)
        .collect()
}

/// The placing alone, without a server: a route added to the UI's table fails here at once
/// until [`access`] places it.
#[test]
fn every_ui_route_is_placed_in_the_matrix() {
    for &(method, path) in ROUTES {
        access(method, path);
    }
}
