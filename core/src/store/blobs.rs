//! Document bytes, stored content-addressed by SHA-256 in the same transaction as the metadata
//! that names them (DESIGN.md "Persistence"): the same bytes are kept once, and a hash names
//! exactly one content.

use diesel::prelude::*;

use super::DbConnection;
use super::schema::blobs;
use crate::{Error, Result};

/// Stores `content` unless it is stored already; returns its SHA-256 (hex).
pub fn put_blob(conn: &mut DbConnection, content: &[u8]) -> Result<String> {
    let sha256 = hex::encode(crate::crypto::sha256(content));
    let size = i64::try_from(content.len()).map_err(|_| Error::invalid("content", "too large"))?;
    let row = (
        blobs::sha256.eq(&sha256),
        blobs::size.eq(size),
        blobs::content.eq(content),
    );
    // Two transactions may store the same bytes at once: the second does nothing.
    let inserted = match conn {
        DbConnection::Sqlite(c) => diesel::insert_into(blobs::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConnection::Postgres(c) => diesel::insert_into(blobs::table)
            .values(row)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    if inserted == 0 {
        // Bytes erased after a disposal that come again are kept again.
        diesel::update(
            blobs::table
                .find(&sha256)
                .filter(blobs::erased_at.is_not_null()),
        )
        .set((
            blobs::content.eq(content),
            blobs::erased_at.eq(None::<chrono::NaiveDateTime>),
        ))
        .execute(conn)?;
    }
    Ok(sha256)
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
