//! The audit log of CA actions (CSP 13.3, CSP 14.6: internal-audit data; CSP 2.3: security-relevant
//! changes visible to the operator). Append-only and hash-chained: each entry's hash covers the
//! previous entry's hash and its own fields, so changing or deleting an entry breaks the chain at
//! that point, and [`verify`] names it.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::store::DbConnection;
use crate::store::schema::audit_log;
use crate::time::{from_db, to_db};
use crate::{Error, Result};

/// One entry of the audit log.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When (UTC).
    pub at: NaiveDateTime,
    /// Who acted.
    pub actor: String,
    /// What was done, e.g. `certificate.revoke`.
    pub action: String,
    /// What it was done to, e.g. a serial number.
    pub target: String,
    /// Details as JSON.
    pub details: String,
    /// Hash of the previous entry (hex); 64 zeros for the first.
    pub prev_hash: String,
    /// Hash of this entry (hex).
    pub hash: String,
}

/// The hash before the first entry.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Appends an entry. Call inside the transaction that makes the change, so the change and its
/// record commit together.
pub fn append(
    conn: &mut DbConnection,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    target: &str,
    details: &serde_json::Value,
) -> Result<AuditEntry> {
    let mut entries = append_many(
        conn,
        &[Action {
            at,
            actor,
            action,
            target,
            details: details.clone(),
        }],
    )?;
    entries
        .pop()
        .ok_or_else(|| Error::Config("an audit append wrote nothing".into()))
}

/// One action to record with [`append_many`].
#[derive(Debug, Clone)]
pub struct Action<'a> {
    /// When (UTC).
    pub at: DateTime<Utc>,
    /// Who acted.
    pub actor: &'a str,
    /// What was done.
    pub action: &'a str,
    /// What it was done to.
    pub target: &'a str,
    /// Details.
    pub details: serde_json::Value,
}

/// Appends `actions` in order, chained one to the next; on PostgreSQL in one statement (a group
/// commit records many issuances at once). Call inside the transaction that makes the changes.
pub fn append_many(conn: &mut DbConnection, actions: &[Action<'_>]) -> Result<Vec<AuditEntry>> {
    crate::store::serialize_writers(conn, super::WRITE_LOCK)?;
    let last: Option<(i64, String)> = audit_log::table
        .order(audit_log::seq.desc())
        .select((audit_log::seq, audit_log::hash))
        .first(conn)
        .optional()?;
    let (mut seq, mut prev_hash) = match last {
        Some((seq, hash)) => (seq, hash),
        None => (0, GENESIS.to_string()),
    };
    let mut entries = Vec::with_capacity(actions.len());
    for a in actions {
        seq += 1;
        let mut entry = AuditEntry {
            seq,
            at: to_db(a.at),
            actor: a.actor.to_string(),
            action: a.action.to_string(),
            target: a.target.to_string(),
            details: a.details.to_string(),
            prev_hash: prev_hash.clone(),
            hash: String::new(),
        };
        entry.hash = entry_hash(&entry);
        prev_hash = entry.hash.clone();
        entries.push(entry);
    }
    // The primary key on seq makes a concurrent append fail rather than fork the chain.
    match conn {
        DbConnection::Postgres(pg) => {
            diesel::insert_into(audit_log::table)
                .values(&entries)
                .execute(pg)?;
        }
        DbConnection::Sqlite(_) => {
            for entry in &entries {
                diesel::insert_into(audit_log::table)
                    .values(entry)
                    .execute(conn)?;
            }
        }
    }
    Ok(entries)
}

/// Which entries [`list`] returns.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only this actor's, e.g. `user:aliyev`.
    pub actor: Option<String>,
    /// Only actions starting with this, e.g. `certificate.` or `certificate.revoke`.
    pub action: Option<String>,
    /// Only entries at or after this moment.
    pub from: Option<DateTime<Utc>>,
    /// Only entries before this moment.
    pub until: Option<DateTime<Utc>>,
    /// Only entries before this position (the next page, newest first).
    pub before_seq: Option<i64>,
    /// Page size, 1 to 1000.
    pub limit: i64,
}

/// Entries, newest first, filtered by `query`.
pub fn list(conn: &mut DbConnection, query: &AuditQuery) -> Result<Vec<AuditEntry>> {
    let mut q = audit_log::table.into_boxed();
    if let Some(a) = query.actor.as_deref().filter(|a| !a.is_empty()) {
        q = q.filter(audit_log::actor.eq(a.to_string()));
    }
    if let Some(a) = query.action.as_deref().filter(|a| !a.is_empty()) {
        q = q.filter(
            audit_log::action
                .like(format!("{}%", super::register::escape_like(a)))
                .escape('\\'),
        );
    }
    if let Some(from) = query.from {
        q = q.filter(audit_log::at.ge(to_db(from)));
    }
    if let Some(until) = query.until {
        q = q.filter(audit_log::at.lt(to_db(until)));
    }
    if let Some(b) = query.before_seq {
        q = q.filter(audit_log::seq.lt(b));
    }
    Ok(q.order(audit_log::seq.desc())
        .limit(query.limit.clamp(1, 1000))
        .select(AuditEntry::as_select())
        .load(conn)?)
}

/// Checks the whole chain; returns the number of entries, or an error naming the first entry
/// that was altered, inserted or whose predecessor is missing.
pub fn verify(conn: &mut DbConnection) -> Result<i64> {
    let entries: Vec<AuditEntry> = audit_log::table
        .order(audit_log::seq.asc())
        .select(AuditEntry::as_select())
        .load(conn)?;
    let mut expected_prev = GENESIS.to_string();
    for (i, entry) in entries.iter().enumerate() {
        let expected_seq = i64::try_from(i).unwrap_or(i64::MAX) + 1;
        let broken = |what: &str| {
            Error::refused(
                "audit_log_tampered",
                format!(
                    "audit log entry {} ({}, {}): {what}",
                    entry.seq,
                    from_db(entry.at),
                    entry.action
                ),
            )
        };
        if entry.seq != expected_seq {
            return Err(broken(&format!("entry {expected_seq} is missing")));
        }
        if entry.prev_hash != expected_prev {
            return Err(broken("does not follow the entry before it"));
        }
        if entry_hash(entry) != entry.hash {
            return Err(broken("was altered after it was written"));
        }
        expected_prev = entry.hash.clone();
    }
    Ok(i64::try_from(entries.len()).unwrap_or(i64::MAX))
}

fn entry_hash(e: &AuditEntry) -> String {
    crate::crypto::chain_hash(&[
        e.prev_hash.as_str(),
        &e.seq.to_string(),
        &from_db(e.at).to_rfc3339(),
        &e.actor,
        &e.action,
        &e.target,
        &e.details,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::both_backends;
    use crate::store::DbPool;

    both_backends!(
        fn csp_14_6_audit_log_names_the_first_altered_entry(pool: &DbPool) {
            let mut conn = pool.get().unwrap();
            let now = crate::time::now();
            for i in 0..5 {
                append(
                    &mut conn,
                    now,
                    "user:a",
                    "certificate.issue",
                    &format!("s{i}"),
                    &serde_json::json!({"i": i}),
                )
                .unwrap();
            }
            assert_eq!(verify(&mut conn).unwrap(), 5);
            diesel::update(audit_log::table.find(3_i64))
                .set(audit_log::target.eq("forged"))
                .execute(&mut conn)
                .unwrap();
            let err = verify(&mut conn).unwrap_err();
            assert!(err.to_string().contains("entry 3"), "{err}");
            assert!(err.to_string().contains("altered"), "{err}");
        }
    );

    both_backends!(
        fn audit_log_detects_a_deleted_entry(pool: &DbPool) {
            let mut conn = pool.get().unwrap();
            let now = crate::time::now();
            for i in 0..4 {
                append(
                    &mut conn,
                    now,
                    "user:a",
                    "x",
                    &i.to_string(),
                    &serde_json::json!({}),
                )
                .unwrap();
            }
            diesel::delete(audit_log::table.find(2_i64))
                .execute(&mut conn)
                .unwrap();
            let err = verify(&mut conn).unwrap_err();
            assert!(err.to_string().contains("entry 2 is missing"), "{err}");
        }
    );
}
