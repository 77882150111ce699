//! Persistence: diesel over SQLite (embedded default) or PostgreSQL through one connection type
//! (DESIGN.md "Persistence", STYLE.md "Database"). See `docs/storage.md`.

mod blobs;
mod connection;
mod group_commit;
pub mod schema;
#[cfg(any(test, feature = "testkit"))]
pub mod testing;

pub use blobs::{blob, erase_blob, kept, put_blob, put_blobs};
pub use connection::{
    Backend, DbConnection, DbPool, Manager, PooledConnection, backend, open_pool,
    serialize_writers, serialize_writers_in_order, transaction, with_first_start_lock,
};
pub use group_commit::GroupCommit;
