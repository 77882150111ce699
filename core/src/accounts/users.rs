//! Users: stored with Argon2id password hashes, created with a one-time password that must be
//! changed at first sign-in.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use super::departments::department;
use super::{Actor, Role, Roles};
use crate::ca::profiles::check_fin;
use crate::exchange::OrganisationId;
use crate::store::DbConnection;
use crate::store::schema::users;
use crate::{Error, Result};

/// A user's identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, diesel_derive_newtype::DieselNewType)]
pub struct UserId(pub String);

/// A stored user.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    /// Identifier.
    pub id: UserId,
    /// Sign-in name.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// Where notices go.
    pub email: Option<String>,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Comma-separated roles.
    pub roles: String,
    /// Whether the password is a one-time password still to be changed.
    pub must_change_password: bool,
    /// When the user was created (UTC).
    pub created_at: NaiveDateTime,
    /// The organisation the user works for; none for the platform's own staff.
    pub organisation_id: Option<OrganisationId>,
    /// The department within it.
    pub department_id: Option<String>,
    /// The person's FIN (GOV 3.2), to which their signature certificates must be issued.
    pub fin: Option<String>,
}

/// What is needed to create a user.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Sign-in name: lower-case letters, digits, '.', '-' and '_'.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// Where notices go.
    pub email: Option<String>,
    /// Roles to grant.
    pub roles: Vec<Role>,
    /// The organisation the user works for: required for the exchange roles.
    pub organisation: Option<OrganisationId>,
    /// The name of a department of that organisation.
    pub department: Option<String>,
    /// The person's FIN (GOV 3.2): a signer signs only with certificates issued to it.
    pub fin: Option<String>,
}

impl User {
    /// The user as an actor with its roles.
    pub fn actor(&self) -> Result<Actor> {
        Ok(Actor {
            id: format!("user:{}", self.username),
            roles: Roles::parse(&self.roles)?,
            organisation: self.organisation_id.clone(),
        })
    }
}

/// Creates a user with a fresh one-time password, which is returned once and never stored.
pub fn create_user(conn: &mut DbConnection, new: &NewUser) -> Result<(User, String)> {
    let username = new.username.trim().to_string();
    if username.is_empty()
        || !username
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c))
    {
        return Err(Error::invalid(
            "username",
            format!(
                "{username:?} may hold only lower-case Latin letters, digits, '.', '-' and '_'"
            ),
        ));
    }
    let roles = Roles::new(new.roles.clone())?;
    if new.organisation.is_none()
        && let Some(role) = roles.iter().find(|r| r.of_organisation())
    {
        return Err(Error::invalid(
            "organisation",
            format!("the role {role} is held within an organisation: name it"),
        ));
    }
    let department_id = match (&new.organisation, &new.department) {
        (Some(organisation), Some(name)) => Some(department(conn, organisation, name)?.id),
        (None, Some(_)) => {
            return Err(Error::invalid(
                "department",
                "a department belongs to an organisation: name the organisation too",
            ));
        }
        (_, None) => None,
    };
    if let Some(organisation) = &new.organisation {
        crate::exchange::organisation(conn, organisation)?;
    }
    if let Some(fin) = &new.fin {
        check_fin(fin)?;
    }
    if find_user(conn, &username)?.is_some() {
        return Err(Error::refused(
            "username_taken",
            format!("a user named {username} exists already"),
        ));
    }
    let password = one_time_password()?;
    let user = User {
        id: UserId(random_id()?),
        username,
        display_name: new.display_name.trim().to_string(),
        email: new.email.clone(),
        password_hash: hash_password(&password)?,
        roles: roles.to_stored(),
        must_change_password: true,
        created_at: crate::time::to_db(crate::time::now()),
        organisation_id: new.organisation.clone(),
        department_id,
        fin: new.fin.clone(),
    };
    diesel::insert_into(users::table)
        .values(&user)
        .execute(conn)?;
    Ok((user, password))
}

/// Creates the first administrator if there are no users yet; returns its one-time credentials
/// (printed once at first start) or `None` when users exist.
pub fn bootstrap_administrator(conn: &mut DbConnection) -> Result<Option<(User, String)>> {
    let count: i64 = users::table.count().get_result(conn)?;
    if count > 0 {
        return Ok(None);
    }
    let admin = NewUser {
        username: "admin".into(),
        display_name: "Administrator".into(),
        email: None,
        roles: vec![
            Role::SystemAdministrator,
            Role::CertificateOfficer,
            Role::RegistrationOfficer,
        ],
        organisation: None,
        department: None,
        fin: None,
    };
    create_user(conn, &admin).map(Some)
}

/// Records `fin` as the FIN of user `username` (GOV 3.2), or clears it with `None`.
pub fn set_fin(conn: &mut DbConnection, username: &str, fin: Option<&str>) -> Result<User> {
    if let Some(fin) = fin {
        check_fin(fin)?;
    }
    let updated = diesel::update(users::table.filter(users::username.eq(username)))
        .set(users::fin.eq(fin))
        .execute(conn)?;
    if updated == 0 {
        return Err(Error::not_found("user", username));
    }
    find_user(conn, username)?.ok_or_else(|| Error::not_found("user", username))
}

/// Looks a user up by sign-in name.
pub fn find_user(conn: &mut DbConnection, username: &str) -> Result<Option<User>> {
    Ok(users::table
        .filter(users::username.eq(username))
        .select(User::as_select())
        .first(conn)
        .optional()?)
}

/// Every user, by sign-in name.
pub fn list_users(conn: &mut DbConnection) -> Result<Vec<User>> {
    Ok(users::table
        .order(users::username.asc())
        .select(User::as_select())
        .load(conn)?)
}

/// Checks a user's password and returns the user. The same error is returned for an unknown user
/// and a wrong password, so that sign-in does not reveal which users exist.
pub fn authenticate(conn: &mut DbConnection, username: &str, password: &str) -> Result<User> {
    let refused = || Error::refused("bad_credentials", "unknown user or wrong password");
    let Some(user) = find_user(conn, username)? else {
        // Spend the same time as a real check.
        let _ = verify_password(DUMMY_HASH, password);
        return Err(refused());
    };
    if verify_password(&user.password_hash, password) {
        Ok(user)
    } else {
        Err(refused())
    }
}

/// Replaces a user's password after checking the current one; clears the one-time flag. The new
/// password must have at least 12 characters and differ from the current one.
pub fn change_password(
    conn: &mut DbConnection,
    username: &str,
    current: &str,
    new: &str,
) -> Result<User> {
    let user = authenticate(conn, username, current)?;
    if new.chars().count() < 12 {
        return Err(Error::invalid(
            "new password",
            "must have at least 12 characters",
        ));
    }
    if new == current {
        return Err(Error::invalid(
            "new password",
            "must differ from the current one",
        ));
    }
    diesel::update(users::table.find(&user.id))
        .set((
            users::password_hash.eq(hash_password(new)?),
            users::must_change_password.eq(false),
        ))
        .execute(conn)?;
    authenticate(conn, username, new)
}

const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$9O3pOQfQq0xqU3o0rHmbT5E7xW2Qp6bCqU7WmZc0c3k";

/// The Argon2id PHC string of `password` (also of recovery codes).
pub(super) fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Crypto(format!("hashing the password failed: {e}")))
}

/// Whether `password` matches the Argon2id PHC string `hash`.
pub(super) fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

fn one_time_password() -> Result<String> {
    // 20 characters from an alphabet without look-alikes: about 115 bits.
    random_text(
        b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789",
        20,
    )
}

/// `length` characters drawn uniformly from `alphabet` (ASCII). Bytes at or above the largest
/// multiple of the alphabet's size are drawn again, so every character is equally likely.
pub(super) fn random_text(alphabet: &[u8], length: usize) -> Result<String> {
    let limit = 256 - 256 % alphabet.len();
    let mut text = String::with_capacity(length);
    while text.len() < length {
        for b in crate::crypto::random_bytes::<32>()? {
            if usize::from(b) < limit && text.len() < length {
                text.push(char::from(alphabet[usize::from(b) % alphabet.len()]));
            }
        }
    }
    Ok(text)
}

pub(super) fn random_id() -> Result<String> {
    Ok(hex::encode(crate::crypto::random_bytes::<16>()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::both_backends;
    use crate::store::DbPool;

    both_backends!(
        fn first_start_creates_one_administrator_with_a_one_time_password(pool: &DbPool) {
            let mut conn = pool.get().unwrap();
            let (admin, password) = bootstrap_administrator(&mut conn).unwrap().unwrap();
            assert!(admin.must_change_password);
            assert_eq!(password.len(), 20);
            assert!(
                !password.contains(['0', 'O', '1', 'l', 'I']),
                "no look-alike characters"
            );
            assert!(bootstrap_administrator(&mut conn).unwrap().is_none());
            let signed_in = authenticate(&mut conn, "admin", &password).unwrap();
            assert_eq!(signed_in.id, admin.id);
            assert!(
                signed_in
                    .actor()
                    .unwrap()
                    .roles
                    .has(Role::SystemAdministrator)
            );
            let err = authenticate(&mut conn, "admin", "wrong").unwrap_err();
            assert_eq!(err.code(), "bad_credentials");
            let err = authenticate(&mut conn, "nobody", "wrong").unwrap_err();
            assert_eq!(err.code(), "bad_credentials");

            assert_eq!(
                change_password(&mut conn, "admin", &password, "short")
                    .unwrap_err()
                    .code(),
                "invalid_input"
            );
            assert_eq!(
                change_password(&mut conn, "admin", "wrong", "a long new password")
                    .unwrap_err()
                    .code(),
                "bad_credentials"
            );
            let changed =
                change_password(&mut conn, "admin", &password, "a long new password").unwrap();
            assert!(!changed.must_change_password);
            assert!(
                authenticate(&mut conn, "admin", &password).is_err(),
                "the one-time password is spent"
            );
        }
    );

    both_backends!(
        fn csp_13_3_a_security_officer_with_another_role_is_refused(pool: &DbPool) {
            let mut conn = pool.get().unwrap();
            let new = NewUser {
                username: "sec".into(),
                display_name: "Security".into(),
                email: None,
                roles: vec![Role::SecurityOfficer, Role::SystemAdministrator],
                organisation: None,
                department: None,
                fin: None,
            };
            assert_eq!(
                create_user(&mut conn, &new).unwrap_err().code(),
                "role_separation"
            );
            assert!(
                list_users(&mut conn).unwrap().is_empty(),
                "nothing was created"
            );
        }
    );

    both_backends!(
        fn csp_13_3_a_security_officer_given_another_role_in_the_database_acts_as_no_one(
            pool: &DbPool,
        ) {
            // Separation holds where the roles are read, not only where a user is created: a row
            // changed behind the platform's back signs in as no actor at all.
            let mut conn = pool.get().unwrap();
            let new = NewUser {
                username: "sec".into(),
                display_name: "Security".into(),
                email: None,
                roles: vec![Role::SecurityOfficer],
                organisation: None,
                department: None,
                fin: None,
            };
            let (user, password) = create_user(&mut conn, &new).unwrap();
            assert!(user.actor().unwrap().roles.has(Role::SecurityOfficer));
            diesel::update(users::table.find(&user.id))
                .set(users::roles.eq("security_officer,certificate_officer"))
                .execute(&mut conn)
                .unwrap();
            let user = authenticate(&mut conn, "sec", &password).unwrap();
            assert_eq!(user.actor().unwrap_err().code(), "role_separation");
        }
    );
}
