//! The CA officers' pages under `/ui/ca` (CSP 13.3, docs/ui.md): the registration officer
//! enrols holders and requests issuance, suspension, restoration and revocation; the
//! certificate officer carries the requests out and publishes CRLs; the security officer reads
//! the audit log; the system administrator sees whether the audit log's chain is intact. Every
//! handler calls the core operation the REST API calls, and checks the page's roles on the
//! server before anything else ([`CaPage::admit`]); the core checks them again.

pub(super) mod audit;
pub(super) mod certificate;
pub(super) mod enrolment;
pub(super) mod register;
pub(super) mod requests;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use askama::Template;
use mubadile_core::Error;
use mubadile_core::accounts::{Actor, Role};

use super::i18n::Tr;
use super::session::SignedIn;
use super::{Layout, UiError, render};

/// The CA's pages, each with the roles that may open it and post its forms (CSP 13.3). This
/// table is the one place the UI decides who sees what; the menu is drawn from it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaPage {
    /// The register: search, a certificate's page and its PEM (CSP 9.1–9.2).
    Register,
    /// Enrolling a holder (a person, an organisation's seal, a node's TLS certificate) and
    /// requesting issuance; requesting a status change; recording a
    /// holder's report of a key compromise (GOV 4.2).
    Enrolment,
    /// The requests filed and their status.
    Requests,
    /// Carrying out or rejecting a request: issuance, suspension, restoration, revocation.
    CarryOut,
    /// Publishing CRLs now (CSP 9.4).
    PublishCrls,
    /// The audit log's entries (CSP 14.6).
    AuditLog,
    /// Whether the audit log's hash chain is intact.
    AuditChain,
}

impl CaPage {
    /// Every page, in the menu's order.
    pub const ALL: [CaPage; 7] = [
        CaPage::Register,
        CaPage::Enrolment,
        CaPage::Requests,
        CaPage::CarryOut,
        CaPage::PublishCrls,
        CaPage::AuditLog,
        CaPage::AuditChain,
    ];

    /// Who may open the page and post its forms (CSP 13.3): the registration administrator
    /// identifies holders and files requests, the certificate administrator makes
    /// certificates and keeps the registers, the security administrator runs information
    /// protection (the audit log, and nothing else of the CA), the system administrator runs
    /// the system (it may check the audit chain's integrity, as `mubadile ca verify-audit`
    /// lets it, but reads no entry and no holder's data).
    pub fn roles(self) -> &'static [Role] {
        match self {
            CaPage::Register | CaPage::Requests => {
                &[Role::RegistrationOfficer, Role::CertificateOfficer]
            }
            CaPage::Enrolment => &[Role::RegistrationOfficer],
            CaPage::CarryOut | CaPage::PublishCrls => &[Role::CertificateOfficer],
            CaPage::AuditLog => &[Role::SecurityOfficer],
            CaPage::AuditChain => &[Role::SecurityOfficer, Role::SystemAdministrator],
        }
    }

    /// Refuses unless `actor` holds one of the page's roles (403 with the reason).
    pub fn admit(self, actor: &Actor) -> Result<(), Error> {
        actor.require(self.roles())
    }

    /// The menu entry: where it leads and its text's key, for the pages that have one.
    fn menu_entry(self) -> Option<(&'static str, &'static str)> {
        match self {
            CaPage::Register => Some(("/ui/ca/register", "ca.menu_register")),
            CaPage::Enrolment => Some(("/ui/ca/enrolment", "ca.menu_enrolment")),
            CaPage::Requests => Some(("/ui/ca/requests", "ca.menu_requests")),
            CaPage::AuditLog => Some(("/ui/ca/audit", "ca.menu_audit")),
            CaPage::AuditChain => Some(("/ui/ca/audit/chain", "ca.menu_audit_chain")),
            CaPage::CarryOut | CaPage::PublishCrls => None,
        }
    }
}

/// The CA menu entries `actor` may follow: (href, text key).
pub fn menu(actor: &Actor) -> Vec<(&'static str, &'static str)> {
    CaPage::ALL
        .into_iter()
        .filter(|page| page.admit(actor).is_ok())
        .filter_map(CaPage::menu_entry)
        .collect()
}

/// Where a signed-in user starts: the CA's pages for an officer of no organisation.
pub fn start_page(actor: &Actor) -> &'static str {
    if actor.organisation.is_none() && !menu(actor).is_empty() {
        "/ui/ca"
    } else {
        "/ui/inbox"
    }
}

/// `GET /ui/ca`: the pages this officer may open; refused to anyone with none.
pub(super) async fn home(signed_in: SignedIn) -> Result<HttpResponse, UiError> {
    let links = menu(&signed_in.actor);
    if links.is_empty() {
        return Err(signed_in.fail(Error::Forbidden(format!(
            "{} holds no role of the certificate authority (CSP 13.3)",
            signed_in.actor.id
        ))));
    }
    let page = HomePage {
        t: signed_in.preferences.tr(),
        layout: signed_in.layout(),
        links,
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "ui/ca/home.html")]
struct HomePage {
    t: Tr,
    layout: Layout,
    links: Vec<(&'static str, &'static str)>,
}

/// Admits `signed_in` to post a form of `page` carrying `csrf` (CSRF first, then the role).
fn admit_form(signed_in: &SignedIn, page: CaPage, csrf: &str) -> Result<(), Error> {
    signed_in.check_csrf(csrf)?;
    page.admit(&signed_in.actor)
}

/// An optional form field: `None` when left empty.
fn filled(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use mubadile_core::accounts::Roles;

    use super::*;

    fn actor(role: Role) -> Actor {
        Actor {
            id: format!("user:{}", role.name()),
            roles: Roles::new(vec![role]).unwrap(),
            organisation: None,
        }
    }

    fn pages_of(role: Role) -> Vec<CaPage> {
        CaPage::ALL
            .into_iter()
            .filter(|p| p.admit(&actor(role)).is_ok())
            .collect()
    }

    #[test]
    fn csp_13_3_the_registration_officer_enrols_and_requests_but_issues_nothing() {
        assert_eq!(
            pages_of(Role::RegistrationOfficer),
            [CaPage::Register, CaPage::Enrolment, CaPage::Requests]
        );
    }

    #[test]
    fn csp_13_3_the_certificate_officer_carries_out_and_publishes_but_enrols_nobody() {
        assert_eq!(
            pages_of(Role::CertificateOfficer),
            [
                CaPage::Register,
                CaPage::Requests,
                CaPage::CarryOut,
                CaPage::PublishCrls
            ]
        );
    }

    #[test]
    fn csp_13_3_the_security_officer_sees_the_audit_log_and_no_other_ca_page() {
        assert_eq!(
            pages_of(Role::SecurityOfficer),
            [CaPage::AuditLog, CaPage::AuditChain]
        );
        let refusal = CaPage::CarryOut
            .admit(&actor(Role::SecurityOfficer))
            .unwrap_err();
        assert_eq!(refusal.code(), "forbidden");
        assert!(refusal.to_string().contains("CSP 13.3"), "{refusal}");
    }

    #[test]
    fn csp_13_3_the_system_administrator_checks_the_audit_chain_and_reads_nothing_else() {
        assert_eq!(pages_of(Role::SystemAdministrator), [CaPage::AuditChain]);
    }

    #[test]
    fn csp_13_3_exchange_roles_see_no_ca_page_and_keep_the_inbox() {
        for role in Role::ALL.into_iter().filter(|r| r.of_organisation()) {
            assert!(pages_of(role).is_empty(), "{role}");
            assert_eq!(start_page(&actor(role)), "/ui/inbox");
        }
        assert_eq!(start_page(&actor(Role::SecurityOfficer)), "/ui/ca");
    }

    /// The keys the pages build at run time (the template test sees only literal ones).
    #[test]
    fn every_ca_text_built_at_run_time_is_translated() {
        use mubadile_core::ca::reason::RevocationReason;

        use crate::ui::i18n::{Locale, Tr};
        let mut keys: Vec<String> = Role::ALL
            .into_iter()
            .flat_map(|r| menu(&actor(r)))
            .map(|(_, key)| key.to_string())
            .collect();
        let built = [
            ("ca.status_", &["valid", "suspended", "revoked"][..]),
            ("ca.kind_", &["issue", "suspend", "restore", "revoke"]),
            ("ca.request_", &["pending", "done", "rejected"]),
            (
                "ca.done_",
                &["issued", "filed", "published", "rejected", "changed"],
            ),
            (
                "ca.event_",
                &[
                    "issued",
                    "reissued",
                    "replaced",
                    "suspended",
                    "restored",
                    "revoked",
                    "compromise_reported",
                    "escalated",
                    "archived",
                ],
            ),
        ];
        for (prefix, names) in built {
            keys.extend(names.iter().map(|n| format!("{prefix}{n}")));
        }
        keys.extend(
            RevocationReason::ALL
                .iter()
                .map(|r| format!("ca.reason_{}", r.name())),
        );
        for locale in Locale::ALL {
            let t = Tr::new(locale);
            for key in &keys {
                assert_ne!(t.get(key), key, "{}: {key}", locale.code());
            }
        }
    }

    #[test]
    fn csp_13_3_the_menu_lists_only_the_pages_the_roles_allow() {
        let hrefs = |role| {
            menu(&actor(role))
                .into_iter()
                .map(|(href, _)| href)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            hrefs(Role::RegistrationOfficer),
            ["/ui/ca/register", "/ui/ca/enrolment", "/ui/ca/requests"]
        );
        assert_eq!(
            hrefs(Role::CertificateOfficer),
            ["/ui/ca/register", "/ui/ca/requests"]
        );
        assert_eq!(
            hrefs(Role::SecurityOfficer),
            ["/ui/ca/audit", "/ui/ca/audit/chain"]
        );
    }
}
