//! Databases for tests, on both back ends (STYLE.md: the same tests run against SQLite and
//! PostgreSQL). PostgreSQL tests clone a migrated template database per test
//! (`CREATE DATABASE … TEMPLATE`) and drop their clone afterwards; `docs/storage.md` describes
//! the scheme.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;

use super::{DbPool, open_pool};

/// The server tests use; override with `MUBADILE_TEST_POSTGRES`.
pub const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A migrated database that lives as long as the value.
pub struct TestDb {
    pool: Option<DbPool>,
    url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// A fresh SQLite database in a temporary directory.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let pool = open_pool(&url, 8).unwrap();
        TestDb {
            pool: Some(pool),
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// A fresh PostgreSQL database cloned from the migrated template.
    pub fn postgres() -> TestDb {
        let admin_url = postgres_admin_url();
        let mut admin = postgres_admin(&admin_url);
        let name = format!(
            "mubadile_t_{}",
            hex::encode(crate::crypto::random_bytes::<8>().unwrap())
        );
        // One lock around making the template and cloning it: test processes of other worktrees
        // (other migrations) drop stale templates under the same lock, so a template cannot
        // vanish between being found and being cloned. A session lock: if this panics, closing
        // the connection releases it.
        admin
            .batch_execute(&format!("SELECT pg_advisory_lock({TEMPLATE_LOCK})"))
            .unwrap();
        let template = ensure_template(&mut admin, &admin_url);
        // One statement a call: CREATE DATABASE cannot run in the implicit transaction of a
        // multi-statement batch.
        admin
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .unwrap();
        admin
            .batch_execute(&format!("SELECT pg_advisory_unlock({TEMPLATE_LOCK})"))
            .unwrap();
        let url = with_database(&admin_url, &name);
        let pool = open_pool(&url, 8).unwrap();
        TestDb {
            pool: Some(pool),
            url,
            cleanup: Cleanup::Postgres { admin_url, name },
        }
    }

    /// The pool.
    pub fn pool(&self) -> &DbPool {
        self.pool.as_ref().expect("pool lives until drop")
    }

    /// The database URL, for a server process under test.
    pub fn url(&self) -> &str {
        &self.url
    }
}

/// The PostgreSQL server tests use: `MUBADILE_TEST_POSTGRES`, else [`DEFAULT_POSTGRES`].
pub fn postgres_admin_url() -> String {
    std::env::var("MUBADILE_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.into())
}

/// A connection to the tests' PostgreSQL server; an unreachable server fails the test with what
/// to do about it (never a silent skip).
pub(crate) fn postgres_admin(admin_url: &str) -> PgConnection {
    PgConnection::establish(admin_url).unwrap_or_else(|e| {
        panic!("PostgreSQL is not reachable at {admin_url}: {e}; run scripts/test-env (or set MUBADILE_TEST_POSTGRES)")
    })
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.pool.take();
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup
            && let Ok(mut admin) = PgConnection::establish(admin_url)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// The advisory lock key under which templates are made, dropped and cloned.
const TEMPLATE_LOCK: i64 = 7312027;

/// Templates of other migrations made longer ago than this are dropped; younger ones may still
/// serve the test runs of another worktree.
const STALE_TEMPLATE_SECS: i64 = 24 * 3600;

/// Makes, once, the migrated template named after a hash of the PostgreSQL migrations, and drops
/// templates of other migrations made more than a day ago. The caller holds `TEMPLATE_LOCK`.
fn ensure_template(admin: &mut PgConnection, admin_url: &str) -> String {
    #[derive(QueryableByName)]
    struct Template {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
        /// `built <unix seconds>`, set when the template was made.
        #[diesel(sql_type = diesel::sql_types::Text)]
        note: String,
    }
    let hash = migrations_hash();
    let name = format!("mubadile_tpl_{hash}");
    let now = chrono::Utc::now().timestamp();
    let existing: Vec<Template> = diesel::sql_query(
        "SELECT datname, COALESCE(shobj_description(oid, 'pg_database'), '') AS note \
         FROM pg_database WHERE datname LIKE 'mubadile\\_tpl\\_%'",
    )
    .load(admin)
    .unwrap();
    for old in existing.iter().filter(|t| t.datname != name) {
        let built = old
            .note
            .strip_prefix("built ")
            .and_then(|t| t.parse::<i64>().ok())
            .unwrap_or(0);
        if now - built > STALE_TEMPLATE_SECS {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                old.datname
            ));
        }
    }
    if !existing.iter().any(|t| t.datname == name) {
        // Built under another name and renamed when complete, so that a test process killed
        // half-way leaves no half-migrated template behind for the next run to clone.
        let building = format!("mubadile_tbuild_{hash}");
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"))
            .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {building}"))
            .unwrap();
        // Migrate it, then close every connection so it can serve as a template.
        drop(open_pool(&with_database(admin_url, &building), 1).unwrap());
        admin
            .batch_execute(&format!("ALTER DATABASE {building} RENAME TO {name}"))
            .unwrap();
        admin
            .batch_execute(&format!("COMMENT ON DATABASE {name} IS 'built {now}'"))
            .unwrap();
    }
    name
}

fn migrations_hash() -> String {
    let root = crate::testkit::project_root().join("migrations/postgres");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    let mut all = Vec::new();
    for dir in dirs {
        all.extend_from_slice(dir.file_name().unwrap().to_string_lossy().as_bytes());
        all.extend_from_slice(&std::fs::read(dir.join("up.sql")).unwrap());
    }
    hex::encode(&crate::crypto::digest(&crate::crypto::oids::ID_SHA_256, &all).unwrap()[..8])
}

/// `url` with its database name replaced by `name`.
pub(crate) fn with_database(url: &str, name: &str) -> String {
    let (base, _) = url.rsplit_once('/').expect("URL with a database");
    format!("{base}/{name}")
}

/// Runs one test body on SQLite and on PostgreSQL:
///
/// ```ignore
/// both_backends!(fn name_of_test(pool: &DbPool) { /* … */ });
/// ```
/// expands to a module `name_of_test` with the tests `sqlite` and `postgres`.
#[macro_export]
macro_rules! both_backends {
    ($(#[$meta:meta])* fn $name:ident($pool:ident : $ty:ty $(,)?) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn run($pool: $ty) $body

            #[test]
            fn sqlite() {
                let db = $crate::store::testing::TestDb::sqlite();
                run(db.pool());
            }

            #[test]
            fn postgres() {
                let db = $crate::store::testing::TestDb::postgres();
                run(db.pool());
            }
        }
    };
}
