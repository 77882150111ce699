//! Databases for tests, on both back ends (STYLE.md: the same tests run against SQLite and
//! PostgreSQL). PostgreSQL tests clone a migrated template database per test
//! (`CREATE DATABASE … TEMPLATE`) and drop their clone afterwards.
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
        let admin_url =
            std::env::var("MUBADILE_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_POSTGRES.into());
        let mut admin = PgConnection::establish(&admin_url).unwrap_or_else(|e| {
            panic!("PostgreSQL is not reachable at {admin_url}: {e}; run scripts/test-env (or set MUBADILE_TEST_POSTGRES)")
        });
        let template = ensure_template(&mut admin, &admin_url);
        let name = format!(
            "mubadile_t_{}",
            hex::encode(crate::crypto::random_bytes::<8>().unwrap())
        );
        admin
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
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

/// Creates the template named after a hash of the PostgreSQL migrations once, under an advisory
/// lock so that parallel test threads and processes agree; drops templates of older migrations.
fn ensure_template(admin: &mut PgConnection, admin_url: &str) -> String {
    let name = format!("mubadile_tpl_{}", migrations_hash());
    admin
        .batch_execute("SELECT pg_advisory_lock(7312027)")
        .unwrap();
    #[derive(QueryableByName)]
    struct Db {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let existing: Vec<Db> =
        diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE 'mubadile_tpl_%'")
            .load(admin)
            .unwrap();
    if !existing.iter().any(|d| d.datname == name) {
        for old in &existing {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                old.datname
            ));
        }
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        // Migrate it, then close every connection so it can serve as a template.
        drop(open_pool(&with_database(admin_url, &name), 1).unwrap());
    }
    admin
        .batch_execute("SELECT pg_advisory_unlock(7312027)")
        .unwrap();
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

fn with_database(url: &str, name: &str) -> String {
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
    ($(#[$meta:meta])* fn $name:ident($pool:ident : $ty:ty) $body:block) => {
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
