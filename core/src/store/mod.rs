//! Persistence: diesel over SQLite (embedded default) or PostgreSQL through one connection type.
