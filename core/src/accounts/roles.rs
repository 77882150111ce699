//! Roles and the acting user. CSP 13.3 names the CA roles; the security officer may hold no other
//! role, and every CA action checks the role it needs. The exchange roles belong to people of one
//! organisation: clerks compose and send, signers sign, registrars register and refuse incoming
//! documents, archivists keep the archive (EDE 7), and the organisation's administrator manages
//! its people.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::exchange::OrganisationId;
use crate::{Error, Result};

/// A role a user holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Identifies holders and requests issuance, suspension, restoration and revocation (CSP 13.3).
    RegistrationOfficer,
    /// Makes certificates, keeps the registers, publishes CRLs, guards the CA key (CSP 13.3).
    CertificateOfficer,
    /// Runs information protection and reads the audit log; holds no other role (CSP 13.3).
    SecurityOfficer,
    /// Runs the system: users, configuration, initialisation (CSP 13.3).
    SystemAdministrator,
    /// Composes documents, enters requisites and sends them (EDE 4.2).
    Clerk,
    /// Signs documents of the organisation with an enhanced signature.
    Signer,
    /// Registers incoming documents, refuses defective ones and signs receipts (EDE 5.3–5.4, 6.1).
    Registrar,
    /// Searches, exports and keeps the archive; requests and approves disposal (EDE 7).
    Archivist,
    /// Manages the organisation's departments, people and API clients.
    OrganisationAdministrator,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 9] = [
        Role::RegistrationOfficer,
        Role::CertificateOfficer,
        Role::SecurityOfficer,
        Role::SystemAdministrator,
        Role::Clerk,
        Role::Signer,
        Role::Registrar,
        Role::Archivist,
        Role::OrganisationAdministrator,
    ];

    /// The stored and displayed name.
    pub fn name(self) -> &'static str {
        match self {
            Role::RegistrationOfficer => "registration_officer",
            Role::CertificateOfficer => "certificate_officer",
            Role::SecurityOfficer => "security_officer",
            Role::SystemAdministrator => "system_administrator",
            Role::Clerk => "clerk",
            Role::Signer => "signer",
            Role::Registrar => "registrar",
            Role::Archivist => "archivist",
            Role::OrganisationAdministrator => "organisation_administrator",
        }
    }

    /// Whether the role is held within one organisation (the exchange roles), rather than on
    /// the platform (the CA roles).
    pub fn of_organisation(self) -> bool {
        matches!(
            self,
            Role::Clerk
                | Role::Signer
                | Role::Registrar
                | Role::Archivist
                | Role::OrganisationAdministrator
        )
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Role {
    type Err = Error;

    fn from_str(s: &str) -> Result<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Role::ALL.iter().map(|r| r.name()).collect();
                Error::invalid("role", format!("{s:?} is not one of {}", names.join(", ")))
            })
    }
}

/// A set of roles, stored as a comma-separated list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roles(Vec<Role>);

impl Roles {
    /// Checks CSP 13.3 separation: the security officer holds no other role.
    pub fn new(mut roles: Vec<Role>) -> Result<Roles> {
        roles.sort();
        roles.dedup();
        if roles.contains(&Role::SecurityOfficer) && roles.len() > 1 {
            return Err(Error::refused(
                "role_separation",
                "the security officer may not hold any other role (CSP 13.3)",
            ));
        }
        Ok(Roles(roles))
    }

    /// Parses the stored form.
    pub fn parse(stored: &str) -> Result<Roles> {
        let roles = stored
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Role::from_str)
            .collect::<Result<Vec<_>>>()?;
        Roles::new(roles)
    }

    /// The stored form.
    pub fn to_stored(&self) -> String {
        self.0
            .iter()
            .map(|r| r.name())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Whether `role` is held.
    pub fn has(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    /// The roles held.
    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }
}

/// Who performs an action: a signed-in user, an API client, or the platform's own scheduler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The identifier written to the register and the audit log, e.g. `user:aliyev` or `system`.
    pub id: String,
    /// The roles the actor holds.
    pub roles: Roles,
    /// The organisation the actor acts for, if any; exchange roles count only within it.
    pub organisation: Option<OrganisationId>,
}

impl Actor {
    /// The platform itself (scheduled jobs), which may publish CRLs and escalate overdue cases but
    /// holds no officer role.
    pub fn system() -> Actor {
        Actor {
            id: "system".into(),
            roles: Roles::default(),
            organisation: None,
        }
    }

    /// Refuses unless the actor acts for `organisation` and holds one of `roles` there
    /// (EDE 7.4: archives protected from unauthorised access).
    pub fn require_in(&self, organisation: &OrganisationId, roles: &[Role]) -> Result<()> {
        if self.organisation.as_ref() != Some(organisation) {
            return Err(Error::Forbidden(format!(
                "{} does not act for {organisation}",
                self.id
            )));
        }
        self.require(roles)
    }

    /// Refuses unless the actor holds one of `roles` (CSP 13.3).
    pub fn require(&self, roles: &[Role]) -> Result<()> {
        if roles.iter().any(|r| self.roles.has(*r)) {
            Ok(())
        } else {
            let names: Vec<_> = roles.iter().map(|r| r.name()).collect();
            Err(Error::Forbidden(format!(
                "{} needs the role {} for this action (CSP 13.3)",
                self.id,
                names.join(" or ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_13_3_security_officer_holds_no_other_role() {
        let err = Roles::new(vec![Role::SecurityOfficer, Role::CertificateOfficer]).unwrap_err();
        assert_eq!(err.code(), "role_separation");
        assert!(Roles::new(vec![Role::SecurityOfficer]).is_ok());
        assert!(Roles::new(vec![Role::RegistrationOfficer, Role::CertificateOfficer]).is_ok());
    }

    #[test]
    fn csp_13_3_actions_check_the_role() {
        let clerk = Actor {
            id: "user:x".into(),
            roles: Roles::parse("registration_officer").unwrap(),
            organisation: None,
        };
        assert!(clerk.require(&[Role::RegistrationOfficer]).is_ok());
        let err = clerk.require(&[Role::CertificateOfficer]).unwrap_err();
        assert!(err.to_string().contains("certificate_officer"), "{err}");
    }

    #[test]
    fn stored_roles_round_trip() {
        let roles = Roles::parse("certificate_officer, registration_officer").unwrap();
        assert_eq!(Roles::parse(&roles.to_stored()).unwrap(), roles);
        assert!(Roles::parse("king").is_err());
    }
}
