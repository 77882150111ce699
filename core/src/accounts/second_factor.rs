//! The optional second factor at sign-in (docs/ui.md): time-based one-time passwords (RFC 6238:
//! HMAC-SHA-1, 6 digits, 30-second steps, one step of clock drift either way) and ten one-time
//! recovery codes.
//!
//! The TOTP secret is kept encrypted at rest (AES-256-GCM under the second-factor key, bound to
//! the user's id), so that a copy of the database yields no codes; recovery codes are kept only
//! as Argon2id hashes, as passwords are. A code is never accepted twice: the last accepted time
//! step is stored and only later steps count. After a correct password a user with a second
//! factor gets a short-lived pending sign-in, not a session; a wrong code counts as a failed
//! sign-in for the throttling of `sessions`. Enabling, disabling, spending a recovery code,
//! replacing the recovery codes and an administrator's reset are recorded in the audit log
//! (CSP 14.6).

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use super::roles::{Actor, Role};
use super::sessions::{clear_failures, record_failure, refuse_if_throttled};
use super::users::{
    User, UserId, authenticate, hash_password, random_id, random_text, verify_password,
};
use crate::ca::audit;
use crate::config::Config;
use crate::store::DbConnection;
use crate::store::schema::{
    pending_sign_ins, recovery_codes, second_factor_resets, second_factors, users,
};
use crate::time::{from_db, now, to_db};
use crate::{Error, Result};

/// Seconds per time step (RFC 6238 X).
pub const STEP_SECONDS: i64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Recovery codes issued at enrolment.
pub const RECOVERY_CODES: usize = 10;
/// How long the second step may wait after a correct password.
pub const PENDING_MINUTES: i64 = 5;

/// Bytes of a TOTP secret: 160 bits, the HMAC-SHA-1 output size (RFC 4226 4, R6).
const SECRET_BYTES: usize = 20;
/// Recovery codes use lower-case letters and digits without look-alikes.
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// The key that encrypts TOTP secrets at rest.
pub struct SecondFactorKey(LessSafeKey);

impl std::fmt::Debug for SecondFactorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecondFactorKey(..)")
    }
}

impl SecondFactorKey {
    /// The key of `config`: derived from the environment variable `[ui] second_factor_key_env`
    /// when set (at least 32 characters; every node sharing a database needs the same value),
    /// otherwise from the file `data_dir/keys/second-factor-key`, which the first start creates
    /// with owner-only permissions.
    pub fn open(config: &Config) -> Result<SecondFactorKey> {
        let variable = &config.ui.second_factor_key_env;
        let secret = match std::env::var(variable) {
            Ok(value) if value.chars().count() >= 32 => value,
            Ok(value) if !value.is_empty() => {
                return Err(Error::Config(format!(
                    "the second-factor key in {variable} is too short: give at least 32 random characters, e.g. the output of `openssl rand -base64 32`"
                )));
            }
            _ => {
                let dir = config.data_dir.join("keys");
                std::fs::create_dir_all(&dir)?;
                crate::ca::keystore::passphrase_file(&dir.join("second-factor-key"))?
            }
        };
        SecondFactorKey::from_secret(&secret)
    }

    /// The key derived from `secret` (SHA-256 with a label, so it differs from any other use).
    pub fn from_secret(secret: &str) -> Result<SecondFactorKey> {
        let material =
            crate::crypto::sha256(format!("mubadile second factor\0{secret}").as_bytes());
        let key = UnboundKey::new(&AES_256_GCM, &material)
            .map_err(|_| Error::Crypto("the second-factor key could not be set up".into()))?;
        Ok(SecondFactorKey(LessSafeKey::new(key)))
    }

    /// `secret` encrypted for `user`: nonce, then ciphertext and tag.
    fn seal(&self, user: &UserId, secret: &[u8]) -> Result<Vec<u8>> {
        let nonce = crate::crypto::random_bytes::<NONCE_LEN>()?;
        let mut sealed = secret.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(user.0.as_bytes()),
                &mut sealed,
            )
            .map_err(|_| Error::Crypto("encrypting the second-factor secret failed".into()))?;
        Ok([nonce.as_slice(), &sealed].concat())
    }

    /// The secret `sealed` for `user`; refused when the key differs from the one that sealed it.
    fn unseal(&self, user: &UserId, sealed: &[u8]) -> Result<Vec<u8>> {
        let undecryptable = || {
            Error::Config(
                "a second-factor secret cannot be decrypted: the second-factor key differs from the one that encrypted it (set the same key on every node; docs/configuration.md)".into(),
            )
        };
        let (nonce, ciphertext) = sealed
            .split_at_checked(NONCE_LEN)
            .ok_or_else(undecryptable)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| undecryptable())?;
        let mut in_out = ciphertext.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(user.0.as_bytes()), &mut in_out)
            .map_err(|_| undecryptable())?;
        Ok(plain.to_vec())
    }
}

/// A secret waiting for its first valid code, as the enrolment page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    /// The secret in base32 (RFC 4648, no padding), for typing into an authenticator.
    pub secret_base32: String,
    /// The `otpauth://totp/…` URI an authenticator reads from a QR code.
    pub uri: String,
}

/// The HOTP value (RFC 4226 5.3) of `secret` at `counter`, `digits` long.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &counter.to_be_bytes());
    let mac = mac.as_ref();
    // Dynamic truncation: the low nibble of the last byte picks four bytes.
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]);
    let value = u64::from(binary) % 10_u64.pow(digits);
    format!("{value:0width$}", width = digits as usize)
}

/// The time step of `at` (RFC 6238 4.2, T0 = 0).
pub fn time_step(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(STEP_SECONDS)
}

/// The 6-digit code of `secret` at `at`.
pub fn totp(secret: &[u8], at: DateTime<Utc>) -> String {
    // Steps before 1970 do not occur; a negative one maps to 0.
    hotp(secret, u64::try_from(time_step(at)).unwrap_or(0), DIGITS)
}

/// Decodes a base32 secret as the enrolment page shows it (spaces and case ignored).
pub fn decode_base32(text: &str) -> Result<Vec<u8>> {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    data_encoding::BASE32_NOPAD
        .decode(cleaned.trim_end_matches('=').as_bytes())
        .map_err(|e| Error::invalid("base32 secret", e))
}

/// Whether `user` has a second factor turned on.
pub fn has_second_factor(conn: &mut DbConnection, user: &UserId) -> Result<bool> {
    let enabled: Option<Option<chrono::NaiveDateTime>> = second_factors::table
        .find(&user.0)
        .select(second_factors::enabled_at)
        .first(conn)
        .optional()?;
    Ok(matches!(enabled, Some(Some(_))))
}

/// The enrolment of `user`: the secret waiting for its first code, created now if there is none.
/// Refused when the second factor is on already. `issuer` names the platform in authenticators.
pub fn enrolment(
    conn: &mut DbConnection,
    key: &SecondFactorKey,
    user: &User,
    issuer: &str,
) -> Result<Enrolment> {
    let stored: Option<(Vec<u8>, Option<chrono::NaiveDateTime>)> = second_factors::table
        .find(&user.id.0)
        .select((second_factors::secret_encrypted, second_factors::enabled_at))
        .first(conn)
        .optional()?;
    let secret = match stored {
        Some((_, Some(_))) => return Err(already_on()),
        Some((sealed, None)) => key.unseal(&user.id, &sealed)?,
        None => {
            let secret = crate::crypto::random_bytes::<SECRET_BYTES>()?.to_vec();
            diesel::insert_into(second_factors::table)
                .values((
                    second_factors::user_id.eq(&user.id.0),
                    second_factors::secret_encrypted.eq(key.seal(&user.id, &secret)?),
                    second_factors::created_at.eq(to_db(now())),
                    second_factors::enabled_at.eq(None::<chrono::NaiveDateTime>),
                    second_factors::last_step.eq(0_i64),
                ))
                .execute(conn)?;
            secret
        }
    };
    let secret_base32 = data_encoding::BASE32_NOPAD.encode(&secret);
    let uri = format!(
        "otpauth://totp/{}:{}?secret={secret_base32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        uri_component(issuer),
        uri_component(&user.username),
        uri_component(issuer),
    );
    Ok(Enrolment { secret_base32, uri })
}

/// Turns the second factor on once `code` is valid for the waiting secret; returns the recovery
/// codes, shown once (only their hashes are kept).
pub fn enable(
    conn: &mut DbConnection,
    key: &SecondFactorKey,
    user: &User,
    code: &str,
) -> Result<Vec<String>> {
    conn.transaction(|conn| {
        if has_second_factor(conn, &user.id)? {
            return Err(already_on());
        }
        if !accept_totp(conn, key, user, code)? {
            return Err(wrong_code());
        }
        let at = now();
        diesel::update(second_factors::table.find(&user.id.0))
            .set(second_factors::enabled_at.eq(Some(to_db(at))))
            .execute(conn)?;
        let codes = issue_recovery_codes(conn, user)?;
        record(conn, at, user, "account.second_factor.enable")?;
        Ok(codes)
    })
}

/// Turns the second factor off: needs the password and a valid code (or a recovery code).
pub fn disable(
    conn: &mut DbConnection,
    key: &SecondFactorKey,
    user: &User,
    password: &str,
    code: &str,
) -> Result<()> {
    conn.transaction(|conn| {
        authenticate(conn, &user.username, password)?;
        if !has_second_factor(conn, &user.id)? {
            return Err(off());
        }
        if !accept_code(conn, key, user, code)? {
            return Err(wrong_code());
        }
        diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(&user.id.0)))
            .execute(conn)?;
        diesel::delete(second_factors::table.find(&user.id.0)).execute(conn)?;
        record(conn, now(), user, "account.second_factor.disable")
    })
}

/// Replaces the recovery codes with [`RECOVERY_CODES`] new ones, returned once, after a valid
/// code from the authenticator (a recovery code does not do: the codes are replaced because
/// they may be lost or seen). The old codes stop working in the same transaction.
pub fn regenerate_recovery_codes(
    conn: &mut DbConnection,
    key: &SecondFactorKey,
    user: &User,
    code: &str,
) -> Result<Vec<String>> {
    conn.transaction(|conn| {
        if !has_second_factor(conn, &user.id)? {
            return Err(off());
        }
        if !accept_totp(conn, key, user, code)? {
            return Err(wrong_code());
        }
        let codes = issue_recovery_codes(conn, user)?;
        record(
            conn,
            now(),
            user,
            "account.second_factor.recovery_codes_replaced",
        )?;
        Ok(codes)
    })
}

/// A system administrator turns `username`'s second factor off, e.g. when the authenticator
/// and the recovery codes are lost: the secret, the recovery codes and any pending sign-in go;
/// the audit log records who did it (CSP 14.6). The user is told at the next sign-in
/// ([`take_reset_notice`]) and, where the configuration requires a second factor of their role,
/// must enrol again before anything else. No one resets their own: that would open the account
/// to whoever holds the password alone.
pub fn reset(conn: &mut DbConnection, administrator: &Actor, username: &str) -> Result<User> {
    administrator.require(&[Role::SystemAdministrator])?;
    conn.transaction(|conn| {
        let user: User = users::table
            .filter(users::username.eq(username.trim()))
            .select(User::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| Error::not_found("user", username.trim()))?;
        if administrator.id == format!("user:{}", user.username) {
            return Err(Error::refused(
                "second_factor_own_reset",
                "an administrator does not reset their own second factor: ask another administrator",
            ));
        }
        if !has_second_factor(conn, &user.id)? {
            return Err(off());
        }
        diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(&user.id.0)))
            .execute(conn)?;
        diesel::delete(second_factors::table.find(&user.id.0)).execute(conn)?;
        diesel::delete(pending_sign_ins::table.filter(pending_sign_ins::user_id.eq(&user.id.0)))
            .execute(conn)?;
        let at = now();
        diesel::delete(second_factor_resets::table.find(&user.id.0)).execute(conn)?;
        diesel::insert_into(second_factor_resets::table)
            .values((
                second_factor_resets::user_id.eq(&user.id.0),
                second_factor_resets::reset_by.eq(&administrator.id),
                second_factor_resets::reset_at.eq(to_db(at)),
            ))
            .execute(conn)?;
        audit::append(
            conn,
            at,
            &administrator.id,
            "account.second_factor.reset",
            &user.username,
            &serde_json::json!({ "user": user.username, "by": administrator.id }),
        )?;
        Ok(user)
    })
}

/// When an administrator reset `user`'s second factor since the user last signed in: the
/// time, once (the notice is spent by reading it).
pub fn take_reset_notice(conn: &mut DbConnection, user: &UserId) -> Result<Option<DateTime<Utc>>> {
    let at: Option<chrono::NaiveDateTime> = second_factor_resets::table
        .find(&user.0)
        .select(second_factor_resets::reset_at)
        .first(conn)
        .optional()?;
    if at.is_some() {
        diesel::delete(second_factor_resets::table.find(&user.0)).execute(conn)?;
    }
    Ok(at.map(from_db))
}

/// After a correct password: the token of a pending sign-in for the browser's cookie (only its
/// hash is kept), valid for [`PENDING_MINUTES`]. It opens no page; only the second step.
pub fn begin_second_step(conn: &mut DbConnection, user: &User) -> Result<String> {
    let token = hex::encode(crate::crypto::random_bytes::<32>()?);
    diesel::insert_into(pending_sign_ins::table)
        .values((
            pending_sign_ins::token_sha256.eq(token_hash(&token)),
            pending_sign_ins::user_id.eq(&user.id.0),
            pending_sign_ins::expires_at.eq(to_db(now() + Duration::minutes(PENDING_MINUTES))),
        ))
        .execute(conn)?;
    Ok(token)
}

/// The second step of the pending sign-in `token`, from `address`: a TOTP code or a recovery
/// code. Throttled like the password step and counted as a failed sign-in when wrong; on
/// success the pending sign-in ends and the user is returned, for a session to be opened.
pub fn complete_second_step(
    conn: &mut DbConnection,
    key: &SecondFactorKey,
    token: &str,
    code: &str,
    address: &str,
) -> Result<User> {
    let hash = token_hash(token);
    let pending: Option<(String, chrono::NaiveDateTime)> = pending_sign_ins::table
        .find(&hash)
        .select((pending_sign_ins::user_id, pending_sign_ins::expires_at))
        .first(conn)
        .optional()?;
    let expired = || {
        Error::refused(
            "second_step_expired",
            format!(
                "the sign-in waited too long for its second step (over {PENDING_MINUTES} minutes): sign in again"
            ),
        )
    };
    let Some((user_id, expires_at)) = pending else {
        return Err(expired());
    };
    if now() >= from_db(expires_at) {
        diesel::delete(pending_sign_ins::table.find(&hash)).execute(conn)?;
        return Err(expired());
    }
    let user: User = users::table
        .find(&user_id)
        .select(User::as_select())
        .first(conn)?;
    refuse_if_throttled(conn, &user.username, address)?;
    if !accept_code(conn, key, &user, code)? {
        record_failure(conn, &user.username, address)?;
        return Err(wrong_code());
    }
    diesel::delete(pending_sign_ins::table.find(&hash)).execute(conn)?;
    clear_failures(conn, &user.username)?;
    Ok(user)
}

/// Removes pending sign-ins that ended before `at`; returns how many.
pub fn clear_ended_pending(conn: &mut DbConnection, at: DateTime<Utc>) -> Result<usize> {
    Ok(
        diesel::delete(pending_sign_ins::table.filter(pending_sign_ins::expires_at.le(to_db(at))))
            .execute(conn)?,
    )
}

/// Accepts a 6-digit TOTP code or, failing that, an unused recovery code.
fn accept_code(
    conn: &mut DbConnection,
    key: &SecondFactorKey,
    user: &User,
    code: &str,
) -> Result<bool> {
    let code = code.trim();
    if code.len() == DIGITS as usize && code.bytes().all(|b| b.is_ascii_digit()) {
        accept_totp(conn, key, user, code)
    } else {
        spend_recovery_code(conn, user, code)
    }
}

/// Accepts `code` for the current time step or one step either side, only for a step later than
/// the last one accepted; remembers the step, so that the code cannot be used again.
fn accept_totp(
    conn: &mut DbConnection,
    key: &SecondFactorKey,
    user: &User,
    code: &str,
) -> Result<bool> {
    let stored: Option<(Vec<u8>, i64)> = second_factors::table
        .find(&user.id.0)
        .select((second_factors::secret_encrypted, second_factors::last_step))
        .first(conn)
        .optional()?;
    let Some((sealed, last_step)) = stored else {
        return Ok(false);
    };
    let secret = key.unseal(&user.id, &sealed)?;
    let current = time_step(now());
    let matched = (current - 1..=current + 1)
        .filter(|step| *step > last_step)
        .find(|step| {
            let expected = hotp(&secret, u64::try_from(*step).unwrap_or(0), DIGITS);
            constant_time_eq(expected.as_bytes(), code.trim().as_bytes())
        });
    let Some(step) = matched else {
        return Ok(false);
    };
    // Conditional, so that two requests racing with the same code accept it once.
    let updated = diesel::update(
        second_factors::table
            .find(&user.id.0)
            .filter(second_factors::last_step.lt(step)),
    )
    .set(second_factors::last_step.eq(step))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Spends the unused recovery code matching `code`, if any, and records it in the audit log.
fn spend_recovery_code(conn: &mut DbConnection, user: &User, code: &str) -> Result<bool> {
    let normalised = normalise_recovery_code(code);
    if normalised.is_empty() {
        return Ok(false);
    }
    let unused: Vec<(String, String)> = recovery_codes::table
        .filter(recovery_codes::user_id.eq(&user.id.0))
        .filter(recovery_codes::used_at.is_null())
        .select((recovery_codes::id, recovery_codes::code_hash))
        .load(conn)?;
    let Some((id, _)) = unused
        .into_iter()
        .find(|(_, hash)| verify_password(hash, &normalised))
    else {
        return Ok(false);
    };
    let at = now();
    let updated = diesel::update(
        recovery_codes::table
            .find(&id)
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(Some(to_db(at))))
    .execute(conn)?;
    if updated == 1 {
        record(conn, at, user, "account.second_factor.recovery_code_used")?;
    }
    Ok(updated == 1)
}

/// Replaces the user's recovery codes with [`RECOVERY_CODES`] new ones, returned once.
fn issue_recovery_codes(conn: &mut DbConnection, user: &User) -> Result<Vec<String>> {
    diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(&user.id.0)))
        .execute(conn)?;
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    for _ in 0..RECOVERY_CODES {
        let text = random_text(RECOVERY_ALPHABET, 10)?;
        let code = format!("{}-{}", &text[..5], &text[5..]);
        diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::id.eq(random_id()?),
                recovery_codes::user_id.eq(&user.id.0),
                recovery_codes::code_hash.eq(hash_password(&normalise_recovery_code(&code))?),
                recovery_codes::used_at.eq(None::<chrono::NaiveDateTime>),
            ))
            .execute(conn)?;
        codes.push(code);
    }
    Ok(codes)
}

/// A recovery code as hashed: lower case, without spaces and dashes.
fn normalise_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Appends `action` on `user`'s second factor to the audit log (CSP 14.6).
fn record(conn: &mut DbConnection, at: DateTime<Utc>, user: &User, action: &str) -> Result<()> {
    let actor = format!("user:{}", user.username);
    audit::append(
        conn,
        at,
        &actor,
        action,
        &user.username,
        &serde_json::json!({}),
    )
    .map(drop)
}

fn already_on() -> Error {
    Error::refused(
        "second_factor_on",
        "the second factor is on already: turn it off first to enrol a new authenticator",
    )
}

fn off() -> Error {
    Error::refused("second_factor_off", "the second factor is not turned on")
}

fn wrong_code() -> Error {
    Error::refused(
        "second_factor_wrong_code",
        "the code is wrong, was used already, or its 30 seconds have passed: type the code the authenticator shows now, or an unused recovery code",
    )
}

fn token_hash(token: &str) -> String {
    hex::encode(crate::crypto::sha256(token.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Percent-encodes everything but unreserved characters (RFC 3986 2.3).
fn uri_component(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{bootstrap_administrator, sign_in};
    use crate::both_backends;
    use crate::store::DbPool;
    use crate::store::schema::audit_log;

    /// RFC 6238 Appendix B, the SHA-1 column: the 20-byte ASCII seed, 8 digits, T0 = 0, X = 30.
    #[test]
    fn rfc_6238_appendix_b_sha1_test_vectors() {
        let seed = b"12345678901234567890";
        for (unix, expected) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            let at = DateTime::from_timestamp(unix, 0).unwrap();
            let step = u64::try_from(time_step(at)).unwrap();
            assert_eq!(hotp(seed, step, 8), expected, "T = {unix}");
            assert_eq!(totp(seed, at), expected[2..], "6 digits at T = {unix}");
        }
    }

    #[test]
    fn base32_secrets_round_trip_ignoring_case_and_spaces() {
        let secret = b"12345678901234567890";
        let text = data_encoding::BASE32_NOPAD.encode(secret);
        assert_eq!(text, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            decode_base32("gezd gnbv gy3t qojq gezd gnbv gy3t qojq").unwrap(),
            secret
        );
        assert_eq!(
            decode_base32("not base32!").unwrap_err().code(),
            "invalid_input"
        );
    }

    #[test]
    fn a_secret_sealed_for_one_user_opens_only_for_that_user_and_key() {
        let key =
            SecondFactorKey::from_secret("a test key of at least thirty-two characters").unwrap();
        let (alice, bob) = (UserId("alice".into()), UserId("bob".into()));
        let sealed = key.seal(&alice, b"secret bytes").unwrap();
        assert!(
            !sealed.windows(12).any(|w| w == b"secret bytes"),
            "encrypted"
        );
        assert_eq!(key.unseal(&alice, &sealed).unwrap(), b"secret bytes");
        assert!(key.unseal(&bob, &sealed).is_err(), "bound to the user");
        let other =
            SecondFactorKey::from_secret("another key of at least thirty-two characters").unwrap();
        assert_eq!(
            other.unseal(&alice, &sealed).unwrap_err().code(),
            "configuration_error"
        );
    }

    /// The code the authenticator shows `steps` steps from now.
    fn code_in(enrolment: &Enrolment, steps: i64) -> String {
        let secret = decode_base32(&enrolment.secret_base32).unwrap();
        hotp(
            &secret,
            u64::try_from(time_step(now()) + steps).unwrap(),
            DIGITS,
        )
    }

    /// The audit log's actions, oldest first.
    fn actions(conn: &mut DbConnection) -> Vec<String> {
        audit_log::table
            .order(audit_log::seq)
            .select(audit_log::action)
            .load(conn)
            .unwrap()
    }

    fn key() -> SecondFactorKey {
        SecondFactorKey::from_secret("the key these tests encrypt secrets with").unwrap()
    }

    both_backends!(
        fn enrolment_enables_only_after_a_valid_code_and_stores_the_secret_encrypted(
            pool: &DbPool,
        ) {
            let mut conn = pool.get().unwrap();
            let (admin, _) = bootstrap_administrator(&mut conn).unwrap().unwrap();
            let key = key();
            let enrolment = enrolment(&mut conn, &key, &admin, "Mübadilə").unwrap();
            assert!(
                enrolment
                    .uri
                    .starts_with("otpauth://totp/M%C3%BCbadil%C9%99:admin?secret="),
                "{}",
                enrolment.uri
            );
            assert!(enrolment.uri.contains("&digits=6&period=30"));
            assert_eq!(
                super::enrolment(&mut conn, &key, &admin, "Mübadilə").unwrap(),
                enrolment,
                "the same secret until enabled"
            );
            let stored: Vec<u8> = second_factors::table
                .select(second_factors::secret_encrypted)
                .first(&mut conn)
                .unwrap();
            let secret = decode_base32(&enrolment.secret_base32).unwrap();
            assert!(
                !stored.windows(secret.len()).any(|w| w == secret),
                "encrypted at rest"
            );
            assert!(!has_second_factor(&mut conn, &admin.id).unwrap());
            assert_eq!(
                enable(&mut conn, &key, &admin, "000000")
                    .unwrap_err()
                    .code(),
                "second_factor_wrong_code"
            );
            let codes = enable(&mut conn, &key, &admin, &code_in(&enrolment, 0)).unwrap();
            assert_eq!(codes.len(), RECOVERY_CODES);
            assert!(has_second_factor(&mut conn, &admin.id).unwrap());
            let hashes: Vec<String> = recovery_codes::table
                .select(recovery_codes::code_hash)
                .load(&mut conn)
                .unwrap();
            assert!(
                hashes.iter().all(|h| h.starts_with("$argon2id$")),
                "Argon2id"
            );
            assert_eq!(
                super::enrolment(&mut conn, &key, &admin, "Mübadilə")
                    .unwrap_err()
                    .code(),
                "second_factor_on"
            );
            let actions: Vec<String> = audit_log::table
                .select(audit_log::action)
                .load(&mut conn)
                .unwrap();
            assert_eq!(actions, ["account.second_factor.enable"]);
        }
    );

    both_backends!(
        fn the_second_step_refuses_a_reused_code_and_spends_recovery_codes_once(pool: &DbPool) {
            let mut conn = pool.get().unwrap();
            let (admin, password) = bootstrap_administrator(&mut conn).unwrap().unwrap();
            let key = key();
            let enrolment = enrolment(&mut conn, &key, &admin, "Mübadilə").unwrap();
            let codes = enable(&mut conn, &key, &admin, &code_in(&enrolment, 0)).unwrap();

            let user = sign_in(&mut conn, "admin", &password, "10.0.0.1").unwrap();
            let pending = begin_second_step(&mut conn, &user).unwrap();
            let code = code_in(&enrolment, 1);
            let signed_in =
                complete_second_step(&mut conn, &key, &pending, &code, "10.0.0.1").unwrap();
            assert_eq!(signed_in.id, admin.id);
            assert_eq!(
                complete_second_step(&mut conn, &key, &pending, &code, "10.0.0.1")
                    .unwrap_err()
                    .code(),
                "second_step_expired",
                "a pending sign-in is spent with its step"
            );
            let pending = begin_second_step(&mut conn, &user).unwrap();
            assert_eq!(
                complete_second_step(&mut conn, &key, &pending, &code, "10.0.0.1")
                    .unwrap_err()
                    .code(),
                "second_factor_wrong_code",
                "a code is accepted once"
            );
            let recovery = codes[3].to_uppercase();
            complete_second_step(&mut conn, &key, &pending, &recovery, "10.0.0.1").unwrap();
            let pending = begin_second_step(&mut conn, &user).unwrap();
            assert_eq!(
                complete_second_step(&mut conn, &key, &pending, &recovery, "10.0.0.1")
                    .unwrap_err()
                    .code(),
                "second_factor_wrong_code",
                "a recovery code works once"
            );
            let actions = actions(&mut conn);
            assert_eq!(
                actions,
                [
                    "account.second_factor.enable",
                    "account.second_factor.recovery_code_used"
                ]
            );
        }
    );

    both_backends!(
        fn wrong_codes_count_toward_sign_in_throttling(pool: &DbPool) {
            let mut conn = pool.get().unwrap();
            let (admin, password) = bootstrap_administrator(&mut conn).unwrap().unwrap();
            let key = key();
            let enrolment = enrolment(&mut conn, &key, &admin, "Mübadilə").unwrap();
            enable(&mut conn, &key, &admin, &code_in(&enrolment, 0)).unwrap();
            let user = sign_in(&mut conn, "admin", &password, "10.0.0.2").unwrap();
            let pending = begin_second_step(&mut conn, &user).unwrap();
            for _ in 0..crate::accounts::FAILURES_PER_ACCOUNT {
                let err = complete_second_step(&mut conn, &key, &pending, "wrong", "10.0.0.2")
                    .unwrap_err();
                assert_eq!(err.code(), "second_factor_wrong_code");
            }
            let err = complete_second_step(
                &mut conn,
                &key,
                &pending,
                &code_in(&enrolment, 1),
                "10.0.0.2",
            )
            .unwrap_err();
            assert_eq!(err.code(), "sign_in_throttled", "even the right code");
            assert_eq!(
                sign_in(&mut conn, "admin", &password, "10.0.0.3")
                    .unwrap_err()
                    .code(),
                "sign_in_throttled",
                "and the password step"
            );
        }
    );

    both_backends!(
        fn turning_the_second_factor_off_needs_the_password_and_a_code(pool: &DbPool) {
            let mut conn = pool.get().unwrap();
            let (admin, password) = bootstrap_administrator(&mut conn).unwrap().unwrap();
            let key = key();
            let enrolment = enrolment(&mut conn, &key, &admin, "Mübadilə").unwrap();
            enable(&mut conn, &key, &admin, &code_in(&enrolment, 0)).unwrap();
            let code = code_in(&enrolment, 1);
            assert_eq!(
                disable(&mut conn, &key, &admin, "wrong", &code)
                    .unwrap_err()
                    .code(),
                "bad_credentials"
            );
            assert_eq!(
                disable(&mut conn, &key, &admin, &password, "123")
                    .unwrap_err()
                    .code(),
                "second_factor_wrong_code"
            );
            disable(&mut conn, &key, &admin, &password, &code).unwrap();
            assert!(!has_second_factor(&mut conn, &admin.id).unwrap());
            let left: i64 = recovery_codes::table.count().get_result(&mut conn).unwrap();
            assert_eq!(left, 0);
            let last: String = audit_log::table
                .order(audit_log::seq.desc())
                .select(audit_log::action)
                .first(&mut conn)
                .unwrap();
            assert_eq!(last, "account.second_factor.disable");
        }
    );

    both_backends!(
        fn replaced_recovery_codes_need_a_current_code_and_the_old_ones_stop_working(
            pool: &DbPool,
        ) {
            let mut conn = pool.get().unwrap();
            let (admin, password) = bootstrap_administrator(&mut conn).unwrap().unwrap();
            let key = key();
            let enrolment = enrolment(&mut conn, &key, &admin, "Mübadilə").unwrap();
            let old = enable(&mut conn, &key, &admin, &code_in(&enrolment, 0)).unwrap();
            assert_eq!(
                regenerate_recovery_codes(&mut conn, &key, &admin, "000000")
                    .unwrap_err()
                    .code(),
                "second_factor_wrong_code"
            );
            assert_eq!(
                regenerate_recovery_codes(&mut conn, &key, &admin, &old[0])
                    .unwrap_err()
                    .code(),
                "second_factor_wrong_code",
                "a recovery code does not replace the recovery codes"
            );
            let new = regenerate_recovery_codes(&mut conn, &key, &admin, &code_in(&enrolment, 1))
                .unwrap();
            assert_eq!(new.len(), RECOVERY_CODES);
            assert!(new.iter().all(|c| !old.contains(c)));
            let stored: i64 = recovery_codes::table.count().get_result(&mut conn).unwrap();
            assert_eq!(stored, i64::try_from(RECOVERY_CODES).unwrap());

            let user = sign_in(&mut conn, "admin", &password, "10.0.0.4").unwrap();
            let pending = begin_second_step(&mut conn, &user).unwrap();
            assert_eq!(
                complete_second_step(&mut conn, &key, &pending, &old[1], "10.0.0.4")
                    .unwrap_err()
                    .code(),
                "second_factor_wrong_code",
                "an old code stopped working"
            );
            complete_second_step(&mut conn, &key, &pending, &new[1], "10.0.0.4").unwrap();
            let actions = actions(&mut conn);
            assert_eq!(
                actions,
                [
                    "account.second_factor.enable",
                    "account.second_factor.recovery_codes_replaced",
                    "account.second_factor.recovery_code_used"
                ]
            );
        }
    );

    both_backends!(
        fn an_administrator_resets_another_users_second_factor_audited_and_the_user_is_told(
            pool: &DbPool,
        ) {
            use crate::accounts::{NewUser, create_user};

            let mut conn = pool.get().unwrap();
            let (admin, _) = bootstrap_administrator(&mut conn).unwrap().unwrap();
            let officer = |name: &str, role: Role| NewUser {
                username: name.into(),
                display_name: name.into(),
                email: None,
                roles: vec![role],
                organisation: None,
                department: None,
                fin: None,
            };
            let (cavid, password) =
                create_user(&mut conn, &officer("cavid", Role::CertificateOfficer)).unwrap();
            let (rena, _) =
                create_user(&mut conn, &officer("rena", Role::RegistrationOfficer)).unwrap();
            let key = key();
            let enrolment = enrolment(&mut conn, &key, &cavid, "Mübadilə").unwrap();
            enable(&mut conn, &key, &cavid, &code_in(&enrolment, 0)).unwrap();
            let pending = begin_second_step(&mut conn, &cavid).unwrap();

            // CSP 13.3: only the system administrator resets, and not their own.
            let refused = reset(&mut conn, &rena.actor().unwrap(), "cavid").unwrap_err();
            assert_eq!(refused.code(), "forbidden");
            let administrator = admin.actor().unwrap();
            assert_eq!(
                reset(&mut conn, &administrator, "nobody")
                    .unwrap_err()
                    .code(),
                "not_found"
            );
            assert_eq!(
                reset(&mut conn, &administrator, "rena").unwrap_err().code(),
                "second_factor_off"
            );
            let own = super::enrolment(&mut conn, &key, &admin, "Mübadilə").unwrap();
            enable(&mut conn, &key, &admin, &code_in(&own, 0)).unwrap();
            assert_eq!(
                reset(&mut conn, &administrator, "admin")
                    .unwrap_err()
                    .code(),
                "second_factor_own_reset"
            );

            assert_eq!(
                reset(&mut conn, &administrator, " cavid ").unwrap().id,
                cavid.id
            );
            assert!(!has_second_factor(&mut conn, &cavid.id).unwrap());
            let codes: i64 = recovery_codes::table
                .filter(recovery_codes::user_id.eq(&cavid.id.0))
                .count()
                .get_result(&mut conn)
                .unwrap();
            assert_eq!(codes, 0);
            assert_eq!(
                complete_second_step(
                    &mut conn,
                    &key,
                    &pending,
                    &code_in(&enrolment, 1),
                    "10.0.0.5"
                )
                .unwrap_err()
                .code(),
                "second_step_expired",
                "a sign-in pending at the reset is ended"
            );
            let (actor, action, target): (String, String, String) = audit_log::table
                .order(audit_log::seq.desc())
                .select((audit_log::actor, audit_log::action, audit_log::target))
                .first(&mut conn)
                .unwrap();
            assert_eq!(
                (actor.as_str(), action.as_str(), target.as_str()),
                ("user:admin", "account.second_factor.reset", "cavid")
            );
            // The password alone signs in now; the notice is given once.
            sign_in(&mut conn, "cavid", &password, "10.0.0.5").unwrap();
            assert!(take_reset_notice(&mut conn, &cavid.id).unwrap().is_some());
            assert!(take_reset_notice(&mut conn, &cavid.id).unwrap().is_none());
            assert!(take_reset_notice(&mut conn, &rena.id).unwrap().is_none());
            // Enrolling again works as the first time.
            let again = super::enrolment(&mut conn, &key, &cavid, "Mübadilə").unwrap();
            assert_ne!(again.secret_base32, enrolment.secret_base32);
        }
    );
}
