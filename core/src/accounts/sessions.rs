//! Web UI sessions and sign-in throttling (docs/ui.md).
//!
//! A session is a row in the database, so that every node behind a load balancer sees it and
//! signing out (here or everywhere) takes effect at once. The browser holds a random token; only
//! its SHA-256 is stored, so a copy of the database opens no session. Each session carries its
//! own CSRF synchronizer token. Failed sign-ins are counted per account and per client address
//! over a sliding window; past the limit, sign-in is refused before the password is checked.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use super::second_factor::has_second_factor;
use super::users::{User, authenticate, random_id};
use crate::store::DbConnection;
use crate::store::schema::{sign_in_failures, ui_sessions, users};
use crate::time::{from_db, now, to_db};
use crate::{Error, Result};

/// A session ends after this long without a request.
pub const IDLE_TIMEOUT_MINUTES: i64 = 30;
/// A session ends this long after sign-in, however busy.
pub const ABSOLUTE_TIMEOUT_HOURS: i64 = 12;
/// The window over which failed sign-ins are counted.
pub const THROTTLE_WINDOW_MINUTES: i64 = 15;
/// Failed sign-ins for one account within the window before it is refused.
pub const FAILURES_PER_ACCOUNT: i64 = 5;
/// Failed sign-ins from one address within the window before it is refused.
pub const FAILURES_PER_ADDRESS: i64 = 20;

/// A signed-in browser, as the UI sees it.
#[derive(Debug, Clone)]
pub struct Session {
    /// The user signed in.
    pub user: User,
    /// The synchronizer token every form of this session must carry.
    pub csrf_token: String,
    /// When the session ends unless used again.
    pub expires_at: DateTime<Utc>,
    /// Whether the user has a second factor turned on.
    pub second_factor: bool,
}

/// Signs `username` in from `address`: refused with `sign_in_throttled` while the account or the
/// address has too many recent failures, otherwise the password is checked (Argon2id) and a
/// failure recorded. A success clears the account's failures, unless the user has a second factor
/// still to give (`second_factor::complete_second_step` clears them then).
pub fn sign_in(
    conn: &mut DbConnection,
    username: &str,
    password: &str,
    address: &str,
) -> Result<User> {
    refuse_if_throttled(conn, username, address)?;
    match authenticate(conn, username, password) {
        Ok(user) => {
            // With a second factor, failures count on until the second step succeeds too.
            if !has_second_factor(conn, &user.id)? {
                clear_failures(conn, username)?;
            }
            Ok(user)
        }
        Err(e) => {
            record_failure(conn, username, address)?;
            Err(e)
        }
    }
}

/// Refuses with `sign_in_throttled` while `username` or `address` has too many recent failures.
pub(super) fn refuse_if_throttled(
    conn: &mut DbConnection,
    username: &str,
    address: &str,
) -> Result<()> {
    let since = to_db(now() - Duration::minutes(THROTTLE_WINDOW_MINUTES));
    let by_account: i64 = sign_in_failures::table
        .filter(sign_in_failures::username.eq(username))
        .filter(sign_in_failures::at.gt(since))
        .count()
        .get_result(conn)?;
    let by_address: i64 = sign_in_failures::table
        .filter(sign_in_failures::address.eq(address))
        .filter(sign_in_failures::at.gt(since))
        .count()
        .get_result(conn)?;
    if by_account >= FAILURES_PER_ACCOUNT || by_address >= FAILURES_PER_ADDRESS {
        return Err(Error::refused(
            "sign_in_throttled",
            format!(
                "too many failed sign-ins for this account or from this address; try again in {THROTTLE_WINDOW_MINUTES} minutes"
            ),
        ));
    }
    Ok(())
}

/// Counts a failed sign-in of `username` from `address`.
pub(super) fn record_failure(conn: &mut DbConnection, username: &str, address: &str) -> Result<()> {
    diesel::insert_into(sign_in_failures::table)
        .values((
            sign_in_failures::id.eq(random_id()?),
            sign_in_failures::username.eq(username),
            sign_in_failures::address.eq(address),
            sign_in_failures::at.eq(to_db(now())),
        ))
        .execute(conn)?;
    Ok(())
}

/// Forgets the failed sign-ins of `username` after a complete sign-in.
pub(super) fn clear_failures(conn: &mut DbConnection, username: &str) -> Result<()> {
    diesel::delete(sign_in_failures::table.filter(sign_in_failures::username.eq(username)))
        .execute(conn)?;
    Ok(())
}

/// Opens a session for `user`; returns the token for the browser's cookie (shown once, only its
/// hash is kept) and the session.
pub fn open_session(conn: &mut DbConnection, user: &User) -> Result<(String, Session)> {
    let token = random_token()?;
    let csrf_token = random_token()?;
    let at = now();
    let expires_at = at + Duration::minutes(IDLE_TIMEOUT_MINUTES);
    diesel::insert_into(ui_sessions::table)
        .values((
            ui_sessions::token_sha256.eq(token_hash(&token)),
            ui_sessions::user_id.eq(&user.id.0),
            ui_sessions::csrf_token.eq(&csrf_token),
            ui_sessions::created_at.eq(to_db(at)),
            ui_sessions::last_seen_at.eq(to_db(at)),
            ui_sessions::expires_at.eq(to_db(at + Duration::hours(ABSOLUTE_TIMEOUT_HOURS))),
        ))
        .execute(conn)?;
    let session = Session {
        user: user.clone(),
        csrf_token,
        expires_at,
        second_factor: has_second_factor(conn, &user.id)?,
    };
    Ok((token, session))
}

/// The live session of `token`, renewed for another idle period; `None` when there is none or
/// it ended (idle or absolute timeout), in which case its row is removed.
pub fn session(conn: &mut DbConnection, token: &str) -> Result<Option<Session>> {
    let hash = token_hash(token);
    let row: Option<(String, String, chrono::NaiveDateTime, chrono::NaiveDateTime)> =
        ui_sessions::table
            .find(&hash)
            .select((
                ui_sessions::user_id,
                ui_sessions::csrf_token,
                ui_sessions::last_seen_at,
                ui_sessions::expires_at,
            ))
            .first(conn)
            .optional()?;
    let Some((user_id, csrf_token, last_seen_at, absolute_end)) = row else {
        return Ok(None);
    };
    let at = now();
    let idle_end = from_db(last_seen_at) + Duration::minutes(IDLE_TIMEOUT_MINUTES);
    if at >= idle_end || at >= from_db(absolute_end) {
        diesel::delete(ui_sessions::table.find(&hash)).execute(conn)?;
        return Ok(None);
    }
    diesel::update(ui_sessions::table.find(&hash))
        .set(ui_sessions::last_seen_at.eq(to_db(at)))
        .execute(conn)?;
    let user: User = users::table
        .find(&user_id)
        .select(User::as_select())
        .first(conn)?;
    let second_factor = has_second_factor(conn, &user.id)?;
    Ok(Some(Session {
        user,
        csrf_token,
        expires_at: (at + Duration::minutes(IDLE_TIMEOUT_MINUTES)).min(from_db(absolute_end)),
        second_factor,
    }))
}

/// Ends the session of `token` (signing out).
pub fn close_session(conn: &mut DbConnection, token: &str) -> Result<()> {
    diesel::delete(ui_sessions::table.find(token_hash(token))).execute(conn)?;
    Ok(())
}

/// Ends every session of `user`, on every browser (signing out everywhere); returns how many.
pub fn close_every_session(conn: &mut DbConnection, user: &User) -> Result<usize> {
    Ok(
        diesel::delete(ui_sessions::table.filter(ui_sessions::user_id.eq(&user.id.0)))
            .execute(conn)?,
    )
}

/// Removes what no longer counts at `now`: sessions that ended (idle or absolute timeout), pending
/// sign-ins whose second step did not come, and failed sign-ins older than the throttling window;
/// returns how many rows went. Run hourly.
pub fn clear_ended(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<usize> {
    let idle_since = to_db(now - Duration::minutes(IDLE_TIMEOUT_MINUTES));
    let sessions = diesel::delete(
        ui_sessions::table.filter(
            ui_sessions::expires_at
                .le(to_db(now))
                .or(ui_sessions::last_seen_at.le(idle_since)),
        ),
    )
    .execute(conn)?;
    let window_start = to_db(now - Duration::minutes(THROTTLE_WINDOW_MINUTES));
    let failures =
        diesel::delete(sign_in_failures::table.filter(sign_in_failures::at.le(window_start)))
            .execute(conn)?;
    let pending = super::second_factor::clear_ended_pending(conn, now)?;
    Ok(sessions + failures + pending)
}

/// Stores the UI language `user` chose (`az`, `en` or `ru`, checked by the caller).
pub fn set_language(conn: &mut DbConnection, user: &User, language: &str) -> Result<()> {
    diesel::update(users::table.find(&user.id))
        .set(users::language.eq(language))
        .execute(conn)?;
    Ok(())
}

/// The UI language `user` chose, if any.
pub fn language(conn: &mut DbConnection, user: &User) -> Result<Option<String>> {
    Ok(users::table
        .find(&user.id)
        .select(users::language)
        .first(conn)?)
}

/// 256 random bits, hex.
fn random_token() -> Result<String> {
    Ok(hex::encode(crate::crypto::random_bytes::<32>()?))
}

fn token_hash(token: &str) -> String {
    hex::encode(crate::crypto::sha256(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{bootstrap_administrator, change_password};
    use crate::both_backends;
    use crate::store::DbPool;

    both_backends!(
        fn a_session_opens_is_found_by_its_token_and_closes(pool: &DbPool) {
            let mut conn = pool.get().unwrap();
            let (admin, password) = bootstrap_administrator(&mut conn).unwrap().unwrap();
            let user = sign_in(&mut conn, "admin", &password, "10.0.0.1").unwrap();
            let (token, opened) = open_session(&mut conn, &user).unwrap();
            let found = session(&mut conn, &token).unwrap().unwrap();
            assert_eq!(found.user.id, admin.id);
            assert_eq!(found.csrf_token, opened.csrf_token);
            assert!(session(&mut conn, "not-a-token").unwrap().is_none());
            let stored: String = ui_sessions::table
                .select(ui_sessions::token_sha256)
                .first(&mut conn)
                .unwrap();
            assert_ne!(stored, token, "only the token's hash is stored");
            close_session(&mut conn, &token).unwrap();
            assert!(session(&mut conn, &token).unwrap().is_none());
        }
    );

    both_backends!(
        fn signing_out_everywhere_ends_every_session_of_the_user(pool: &DbPool) {
            let mut conn = pool.get().unwrap();
            let (admin, password) = bootstrap_administrator(&mut conn).unwrap().unwrap();
            let admin =
                change_password(&mut conn, &admin.username, &password, "a long new one").unwrap();
            let (first, _) = open_session(&mut conn, &admin).unwrap();
            let (second, _) = open_session(&mut conn, &admin).unwrap();
            assert_eq!(close_every_session(&mut conn, &admin).unwrap(), 2);
            assert!(session(&mut conn, &first).unwrap().is_none());
            assert!(session(&mut conn, &second).unwrap().is_none());
        }
    );

    both_backends!(
        fn an_idle_session_ends(pool: &DbPool) {
            let mut conn = pool.get().unwrap();
            let (admin, _) = bootstrap_administrator(&mut conn).unwrap().unwrap();
            let (token, _) = open_session(&mut conn, &admin).unwrap();
            diesel::update(ui_sessions::table)
                .set(
                    ui_sessions::last_seen_at
                        .eq(to_db(now() - Duration::minutes(IDLE_TIMEOUT_MINUTES + 1))),
                )
                .execute(&mut conn)
                .unwrap();
            assert!(session(&mut conn, &token).unwrap().is_none());
        }
    );

    both_backends!(
        fn ended_sessions_and_old_failures_are_cleared(pool: &DbPool) {
            let mut conn = pool.get().unwrap();
            let (admin, _) = bootstrap_administrator(&mut conn).unwrap().unwrap();
            let (live, _) = open_session(&mut conn, &admin).unwrap();
            let _ = sign_in(&mut conn, "admin", "wrong", "10.0.0.5");
            assert_eq!(
                clear_ended(&mut conn, now()).unwrap(),
                0,
                "nothing ended yet"
            );
            let later = now() + Duration::minutes(IDLE_TIMEOUT_MINUTES + 1);
            assert_eq!(clear_ended(&mut conn, later).unwrap(), 2);
            assert!(session(&mut conn, &live).unwrap().is_none());
        }
    );

    both_backends!(
        fn sign_in_is_throttled_per_account_and_per_address(pool: &DbPool) {
            let mut conn = pool.get().unwrap();
            let (_, password) = bootstrap_administrator(&mut conn).unwrap().unwrap();
            for _ in 0..FAILURES_PER_ACCOUNT {
                let err = sign_in(&mut conn, "admin", "wrong", "10.0.0.2").unwrap_err();
                assert_eq!(err.code(), "bad_credentials");
            }
            // The right password is refused too while the account is throttled.
            let err = sign_in(&mut conn, "admin", &password, "10.0.0.3").unwrap_err();
            assert_eq!(err.code(), "sign_in_throttled");
            for i in 0..FAILURES_PER_ADDRESS {
                let _ = sign_in(&mut conn, &format!("guess{i}"), "x", "10.0.0.4");
            }
            let err = sign_in(&mut conn, "someone", "x", "10.0.0.4").unwrap_err();
            assert_eq!(err.code(), "sign_in_throttled");
        }
    );
}
