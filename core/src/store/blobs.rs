//! Document bytes, stored content-addressed by SHA-256 in the same transaction as the metadata
//! that names them (DESIGN.md "Persistence"): the same bytes are kept once, and a hash names
//! exactly one content.

use diesel::prelude::*;

use super::DbConnection;
use super::schema::blobs;
use crate::{Error, Result};

/// Stores `content` unless it is stored already; returns its SHA-256 (hex).
pub fn put_blob(conn: &mut DbConnection, content: &[u8]) -> Result<String> {
    let mut hashes = put_blobs(conn, &[content])?;
    hashes
        .pop()
        .ok_or_else(|| Error::Connection("a stored blob went unnamed".into()))
}

/// [`put_blob`] of each of `contents`, on PostgreSQL in one statement; returns their SHA-256
/// (hex) in order.
pub fn put_blobs(conn: &mut DbConnection, contents: &[&[u8]]) -> Result<Vec<String>> {
    let hashes: Vec<String> = contents
        .iter()
        .map(|content| hex::encode(crate::crypto::sha256(content)))
        .collect();
    // The same bytes twice in one statement: once is enough.
    let mut distinct: Vec<(&String, &[u8])> = Vec::with_capacity(contents.len());
    for (sha256, content) in hashes.iter().zip(contents) {
        if !distinct.iter().any(|(seen, _)| *seen == sha256) {
            distinct.push((sha256, content));
        }
    }
    let row = |(sha256, content): &(&String, &[u8])| -> Result<_> {
        let size =
            i64::try_from(content.len()).map_err(|_| Error::invalid("content", "too large"))?;
        Ok((
            blobs::sha256.eq((*sha256).clone()),
            blobs::size.eq(size),
            blobs::content.eq(content.to_vec()),
        ))
    };
    // Two transactions may store the same bytes at once: the second does nothing.
    let inserted: Vec<String> = match conn {
        DbConnection::Sqlite(c) => {
            let mut inserted = Vec::new();
            for new in &distinct {
                let added = diesel::insert_into(blobs::table)
                    .values(row(new)?)
                    .on_conflict_do_nothing()
                    .execute(c)?;
                if added > 0 {
                    inserted.push(new.0.clone());
                }
            }
            inserted
        }
        DbConnection::Postgres(c) if !distinct.is_empty() => diesel::insert_into(blobs::table)
            .values(distinct.iter().map(row).collect::<Result<Vec<_>>>()?)
            .on_conflict_do_nothing()
            .returning(blobs::sha256)
            .get_results(c)?,
        DbConnection::Postgres(_) => Vec::new(),
    };
    let known: Vec<&String> = distinct
        .iter()
        .map(|(sha256, _)| *sha256)
        .filter(|sha256| !inserted.contains(sha256))
        .collect();
    if !known.is_empty() {
        // Bytes erased after a disposal that come again are kept again.
        let erased: Vec<String> = blobs::table
            .filter(blobs::sha256.eq_any(known))
            .filter(blobs::erased_at.is_not_null())
            .select(blobs::sha256)
            .load(conn)?;
        for (sha256, content) in distinct.iter().filter(|(s, _)| erased.contains(s)) {
            diesel::update(blobs::table.find(*sha256))
                .set((
                    blobs::content.eq(*content),
                    blobs::erased_at.eq(None::<chrono::NaiveDateTime>),
                ))
                .execute(conn)?;
        }
    }
    Ok(hashes)
}

/// Erases the bytes stored under `sha256`, keeping the row (hash and size) that records
/// name: after a disposal, when no organisation keeps a copy (EDE 7.4).
pub fn erase_blob(conn: &mut DbConnection, sha256: &str) -> Result<()> {
    diesel::update(blobs::table.find(sha256))
        .set((
            blobs::content.eq(Vec::<u8>::new()),
            blobs::erased_at.eq(crate::time::to_db(crate::time::now())),
        ))
        .execute(conn)?;
    Ok(())
}

/// The bytes stored under `sha256` (hex).
pub fn blob(conn: &mut DbConnection, sha256: &str) -> Result<Vec<u8>> {
    let (content, erased_at): (Vec<u8>, Option<chrono::NaiveDateTime>) = blobs::table
        .find(sha256)
        .select((blobs::content, blobs::erased_at))
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("stored content", sha256))?;
    kept(sha256, content, erased_at)
}

/// The bytes of a blob row read with its `erased_at`, or why they are gone: for queries that
/// read a blob together with the record naming it.
pub fn kept(
    sha256: &str,
    content: Vec<u8>,
    erased_at: Option<chrono::NaiveDateTime>,
) -> Result<Vec<u8>> {
    match erased_at {
        None => Ok(content),
        Some(at) => Err(Error::refused(
            "erased",
            format!(
                "the content {sha256} was erased on {} after every organisation holding it \
                 disposed of it",
                crate::time::from_db(at).to_rfc3339()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::both_backends;
    use crate::store::DbPool;

    both_backends!(
        fn the_same_bytes_are_stored_once_under_their_hash(pool: &DbPool) {
            let mut conn = pool.get().unwrap();
            let content: Vec<u8> = (0..=255_u8).chain([0, 0]).collect();
            let first = put_blob(&mut conn, &content).unwrap();
            let second = put_blob(&mut conn, &content).unwrap();
            assert_eq!(first, second);
            assert_eq!(first, hex::encode(crate::crypto::sha256(&content)));
            assert_eq!(blob(&mut conn, &first).unwrap(), content);
            let count: i64 = blobs::table.count().get_result(&mut conn).unwrap();
            assert_eq!(count, 1);
            assert_eq!(blob(&mut conn, "00").unwrap_err().code(), "not_found");
        }
    );
}
