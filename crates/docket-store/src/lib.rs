//! A service's database: PostgreSQL in production, SQLite as the embedded default.
//!
//! Both sit behind one pool type ([`sqlx::AnyPool`]) so a repository is written once, with `$1`
//! parameters that both engines accept. Values are kept to what both engines store alike: integers,
//! text, bytes; times as microseconds since the epoch, ids as text. Where the engines truly differ
//! (full-text search, row locking), code asks [`Db::backend`] and branches.
//!
//! Rows are read into `#[derive(sqlx::FromRow)]` structs of what the database holds, with
//! [`decode`]: a row that does not decode is a [`CorruptRow`], which a service reports as its own
//! `Corrupt` error.

mod params;
mod rows;
pub mod statements;

pub use params::Params;
pub use rows::{CorruptRow, decode, flag};

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions, Connection, Executor};

pub use sqlx::{Any, AnyPool as Pool, Row, Transaction};

use std::sync::Arc;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// Which engine a database runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn of_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else {
            Err(StoreError::UnsupportedUrl(redact(url)))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database url `{0}`: use postgres://… or sqlite:…")]
    UnsupportedUrl(String),
    #[error("cannot connect to the database at {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("migrating the database failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
}

/// One schema change, written once: the portable SQL both engines run, then what each engine needs
/// of its own (column types, triggers).
pub struct MigrationSql {
    pub version: i64,
    pub description: &'static str,
    pub portable: &'static str,
    pub postgres: &'static str,
    pub sqlite: &'static str,
}

/// Column types that the engines spell differently, as `(placeholder, PostgreSQL, SQLite)`: a
/// migration's engine part that differs only by these is written once, with the placeholders
/// ([`MigrationSql::typed`]).
pub const TYPE_PLACEHOLDERS: [(&str, &str, &str); 1] = [("{bytes}", "BYTEA", "BLOB")];

/// The engine part of a step that has none: the text such steps' engine files held, so that the
/// checksums of steps applied before [`MigrationSql::portable`] stay the same.
const NO_ENGINE_PART: &str = "-- Nothing engine-specific.\n";

impl MigrationSql {
    /// A step both engines run as it is written.
    pub const fn portable(version: i64, description: &'static str, portable: &'static str) -> Self {
        Self {
            version,
            description,
            portable,
            postgres: NO_ENGINE_PART,
            sqlite: NO_ENGINE_PART,
        }
    }

    /// A step whose engine part differs between the engines only by the column types of
    /// [`TYPE_PLACEHOLDERS`]: `typed` is written once, with the placeholders.
    pub const fn typed(
        version: i64,
        description: &'static str,
        portable: &'static str,
        typed: &'static str,
    ) -> Self {
        Self {
            version,
            description,
            portable,
            postgres: typed,
            sqlite: typed,
        }
    }
}

/// `sql` with the type placeholders spelled for `backend`.
fn spell_types(sql: String, backend: Backend) -> String {
    TYPE_PLACEHOLDERS
        .iter()
        .fold(sql, |sql, (placeholder, postgres, sqlite)| {
            sql.replace(
                placeholder,
                match backend {
                    Backend::Postgres => postgres,
                    Backend::Sqlite => sqlite,
                },
            )
        })
}

/// The migrations of one component, one migrator per engine.
pub struct Migrations {
    postgres: Migrator,
    sqlite: Migrator,
}

impl Migrations {
    /// `table` records what was applied; components sharing a database need their own.
    pub fn new(table: &'static str, steps: &[MigrationSql]) -> Self {
        // The checksum sqlx records is of this text: an applied step must keep it byte for byte.
        let build = |backend: Backend, engine: fn(&MigrationSql) -> &'static str| {
            let migrations = steps
                .iter()
                .map(|step| {
                    let sql = format!("{}\n{}", step.portable, engine(step));
                    sqlx::migrate::Migration::new(
                        step.version,
                        step.description.into(),
                        sqlx::migrate::MigrationType::Simple,
                        sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(spell_types(
                            sql, backend,
                        ))),
                        false,
                    )
                })
                .collect();
            let mut migrator = Migrator::with_migrations(migrations);
            migrator.dangerous_set_table_name(table);
            migrator
        };
        Self {
            postgres: build(Backend::Postgres, |s| s.postgres),
            sqlite: build(Backend::Sqlite, |s| s.sqlite),
        }
    }

    /// The checksum recorded for step `version` on `backend`, for tests that pin applied steps.
    pub fn checksum(&self, backend: Backend, version: i64) -> Option<&[u8]> {
        let migrator = match backend {
            Backend::Postgres => &self.postgres,
            Backend::Sqlite => &self.sqlite,
        };
        migrator
            .iter()
            .find(|m| m.version == version)
            .map(|m| m.checksum.as_ref())
    }

    /// Every step's version with the first four bytes of its checksum (`1:d0275e41 2:…`): what a
    /// test pins so that no applied step changes by accident.
    pub fn fingerprint(&self, backend: Backend) -> String {
        let migrator = match backend {
            Backend::Postgres => &self.postgres,
            Backend::Sqlite => &self.sqlite,
        };
        migrator
            .iter()
            .map(|m| {
                let start: String = m
                    .checksum
                    .iter()
                    .take(4)
                    .map(|b| format!("{b:02x}"))
                    .collect();
                format!("{}:{start}", m.version)
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A connection pool to one service's database.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer: writers of this process queue here, in order, instead of polling
    /// the file lock in SQLite's busy handler (which sleeps and makes a long latency tail).
    writer: Option<Arc<Mutex<()>>>,
}

/// A write transaction; on SQLite it also holds this process's writer turn until it ends.
pub struct WriteTx {
    tx: Transaction<'static, Any>,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// How large a pool to open.
#[derive(Debug, Clone, Copy)]
pub struct PoolSize {
    pub max_connections: u32,
}

impl PoolSize {
    /// A pool of at most `max_connections`.
    pub fn max(max_connections: u32) -> Self {
        Self { max_connections }
    }
}

impl Default for PoolSize {
    fn default() -> Self {
        Self {
            max_connections: 16,
        }
    }
}

impl Db {
    /// Opens a pool. A SQLite file (and its folder) is created when missing and runs in WAL mode.
    pub async fn connect(url: &str, size: PoolSize) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let connect_err = |source| StoreError::Connect {
            url: redact(url),
            source,
        };
        let mut url = url.to_owned();
        if backend == Backend::Sqlite {
            url = sqlite_url_creating_file(&url);
        }
        let options = AnyConnectOptions::from_str(&url)
            .map_err(connect_err)?
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
        let pool = AnyPoolOptions::new()
            .max_connections(size.max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(connect_err)?;
        let writer = (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Ok(Self {
            pool,
            backend,
            writer,
        })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the service's migrations for this engine.
    pub async fn migrate(&self, migrations: &Migrations) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Postgres => &migrations.postgres,
            Backend::Sqlite => &migrations.sqlite,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// Begins a transaction that will write. On SQLite it waits for this process's writer turn and
    /// takes the write lock at once (`BEGIN IMMEDIATE`), so concurrent writers queue instead of
    /// failing with SQLITE_BUSY when a read lock cannot be upgraded.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let turn = match &self.writer {
            Some(writer) => Some(writer.clone().lock_owned().await),
            None => None,
        };
        let tx = match self.backend {
            Backend::Postgres => self.pool.begin().await?,
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
        };
        Ok(WriteTx { tx, _turn: turn })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Whether an error is a unique-constraint violation, and of which constraint if the engine says.
pub fn unique_violation(err: &sqlx::Error) -> Option<String> {
    match err {
        sqlx::Error::Database(db) if db.is_unique_violation() => Some(
            db.constraint()
                .map(str::to_owned)
                .unwrap_or_else(|| db.message().to_owned()),
        ),
        _ => None,
    }
}

fn sqlite_url_creating_file(url: &str) -> String {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or_default();
    let parent = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty());
    if let (false, Some(parent)) = (path.is_empty() || path == ":memory:", parent)
        && let Err(e) = std::fs::create_dir_all(parent)
    {
        tracing::warn!(path = %parent.display(), error = %e, "cannot create the data folder");
    }
    if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// The url without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Creates a PostgreSQL database if it does not exist (for `docket migrate` and tests). A no-op
/// for SQLite, whose file is created on connect.
pub async fn create_database_if_missing(url: &str) -> Result<(), StoreError> {
    if Backend::of_url(url)? != Backend::Postgres {
        return Ok(());
    }
    let (server, name) = split_pg_database(url)?;
    let connect_err = |source| StoreError::Connect {
        url: redact(&server),
        source,
    };
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&server)
        .await
        .map_err(connect_err)?;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_optional(&mut conn)
        .await?;
    if exists.is_none() {
        let sql = format!("CREATE DATABASE \"{}\"", name.replace('"', ""));
        if let Err(e) = conn.execute(sqlx::AssertSqlSafe(sql)).await {
            // Another process may have created it at the same moment.
            if unique_violation(&e).is_none() {
                return Err(e.into());
            }
        }
    }
    conn.close().await?;
    Ok(())
}

/// Splits `postgres://…/name?opts` into the server url (database `postgres`) and `name`.
fn split_pg_database(url: &str) -> Result<(String, String), StoreError> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let slash = base
        .rfind('/')
        .filter(|i| *i > base.find("://").map_or(0, |s| s + 2))
        .ok_or_else(|| StoreError::UnsupportedUrl(redact(url)))?;
    let name = base[slash + 1..].to_owned();
    if name.is_empty() {
        return Err(StoreError::UnsupportedUrl(redact(url)));
    }
    let mut server = format!("{}/postgres", &base[..slash]);
    if let Some(q) = query {
        server.push('?');
        server.push_str(q);
    }
    Ok((server, name))
}

/// A case run on both engines: one `#[tokio::test]` per engine for each case, as
/// `mod case { fn postgres; fn sqlite }` (`make test-quick` picks the SQLite ones by name). Each
/// case runs on a fresh database, dropped after a passing case (a failing one leaves it for
/// inspection). Three forms, by what a case takes:
///
/// - `conformance!(a, b)`: a storage conformance suite. The calling file provides
///   `async fn setup(Backend) -> (Store, Db)`; each case is `async fn case(&Store, &Db)`.
/// - `conformance!(fixture = world; a, b)`: any fixture. `async fn world(Backend) -> F` builds it,
///   each case is `async fn case(&F)`, and [`testing::Fixture`] says which database `F` holds.
/// - `conformance!(engine; a, b)`: each case is `async fn case(Backend)` and builds (and
///   discards) what it needs itself, e.g. a fresh world per row of a table.
#[macro_export]
macro_rules! conformance {
    (fixture = $fixture:path; $($case:ident),+ $(,)?) => {
        $(
            mod $case {
                $crate::conformance!(@engine postgres, Postgres, $fixture, $case);
                $crate::conformance!(@engine sqlite, Sqlite, $fixture, $case);
            }
        )+
    };
    (engine; $($case:ident),+ $(,)?) => {
        $(
            mod $case {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    super::$case($crate::Backend::Postgres).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    super::$case($crate::Backend::Sqlite).await;
                }
            }
        )+
    };
    (@engine $name:ident, $backend:ident, $fixture:path, $case:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            // The fixture function is named as the calling module sees it.
            #[allow(unused_imports)]
            use super::*;
            let fx = $fixture($crate::Backend::$backend).await;
            super::$case(&fx).await;
            $crate::testing::discard($crate::testing::Fixture::into_db(fx))
                .await
                .unwrap();
        }
    };
    ($($case:ident),+ $(,)?) => {
        $(
            mod $case {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    let (store, db) = super::setup($crate::Backend::Postgres).await;
                    super::$case(&store, &db).await;
                    $crate::testing::discard(db).await.unwrap();
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    let (store, db) = super::setup($crate::Backend::Sqlite).await;
                    super::$case(&store, &db).await;
                    $crate::testing::discard(db).await.unwrap();
                }
            }
        )+
    };
}

/// Fresh, empty databases for tests: one per test, on either engine.
pub mod testing {
    use super::*;

    /// What a `conformance!(fixture = …)` case runs on: the database it holds is dropped after
    /// a passing case.
    pub trait Fixture {
        fn into_db(self) -> Db;
    }

    impl<S> Fixture for (S, Db) {
        fn into_db(self) -> Db {
            self.1
        }
    }

    /// The PostgreSQL server tests use; `DOCKET_TEST_POSTGRES` overrides it.
    pub fn postgres_server() -> String {
        std::env::var("DOCKET_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
    }

    /// The url of a new, empty database on `backend`. SQLite files go to the system temp folder.
    pub async fn fresh_database_url(backend: Backend) -> Result<String, StoreError> {
        let name = format!("docket_test_{}", uuid::Uuid::now_v7().simple());
        match backend {
            Backend::Postgres => {
                let url = format!("{}/{name}", postgres_server());
                create_database_if_missing(&url).await?;
                Ok(url)
            }
            Backend::Sqlite => {
                let path = std::env::temp_dir()
                    .join("docket-tests")
                    .join(format!("{name}.db"));
                Ok(format!("sqlite:{}", path.display()))
            }
        }
    }

    /// Drops a test's database (PostgreSQL) or deletes its files (SQLite). Call it after a passing
    /// test; a failing one leaves its database for inspection.
    pub async fn discard(db: Db) -> Result<(), StoreError> {
        match db.backend() {
            Backend::Postgres => {
                let name: String = sqlx::query_scalar("SELECT CAST(current_database() AS TEXT)")
                    .fetch_one(db.pool())
                    .await?;
                db.close().await;
                let server = format!("{}/postgres", postgres_server());
                let mut conn = sqlx::AnyConnection::connect(&server)
                    .await
                    .map_err(|source| StoreError::Connect {
                        url: redact(&server),
                        source,
                    })?;
                let drop = format!(
                    "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                    name.replace('"', "")
                );
                conn.execute(sqlx::AssertSqlSafe(drop)).await?;
                conn.close().await?;
            }
            Backend::Sqlite => {
                let rows = sqlx::query("PRAGMA database_list")
                    .fetch_all(db.pool())
                    .await?;
                let file = rows
                    .iter()
                    .find(|r| r.try_get::<String, _>("name").is_ok_and(|n| n == "main"))
                    .and_then(|r| r.try_get::<String, _>("file").ok());
                db.close().await;
                for suffix in ["", "-wal", "-shm"] {
                    if let Some(file) = file.as_deref().filter(|f| !f.is_empty()) {
                        let _ = std::fs::remove_file(format!("{file}{suffix}"));
                    }
                }
            }
        }
        Ok(())
    }

    /// A connected pool on a new, empty database.
    pub async fn fresh_db(backend: Backend) -> Result<Db, StoreError> {
        let url = fresh_database_url(backend).await?;
        Db::connect(&url, PoolSize { max_connections: 8 }).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_steps_spell_their_column_types_per_engine() {
        let migrations = Migrations::new(
            "_test_migrations",
            &[MigrationSql::typed(
                1,
                "typed",
                "CREATE TABLE a (id TEXT);",
                "CREATE TABLE b (raw {bytes} NOT NULL);\n",
            )],
        );
        let plain = |engine: &str| {
            sqlx::migrate::Migration::new(
                1,
                "typed".into(),
                sqlx::migrate::MigrationType::Simple,
                sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(format!(
                    "CREATE TABLE a (id TEXT);\nCREATE TABLE b (raw {engine} NOT NULL);\n"
                ))),
                false,
            )
            .checksum
        };
        assert_eq!(
            migrations.checksum(Backend::Postgres, 1),
            Some(plain("BYTEA").as_ref())
        );
        assert_eq!(
            migrations.checksum(Backend::Sqlite, 1),
            Some(plain("BLOB").as_ref())
        );
        assert_eq!(migrations.checksum(Backend::Sqlite, 2), None);
    }

    #[test]
    fn backend_from_url() {
        assert_eq!(
            Backend::of_url("postgres://x/y").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::of_url("sqlite:data/t.db").unwrap(),
            Backend::Sqlite
        );
        assert!(Backend::of_url("mysql://x").is_err());
    }

    #[test]
    fn redact_hides_the_password_only() {
        assert_eq!(
            redact("postgres://u:pw@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("sqlite:data/t.db"), "sqlite:data/t.db");
    }

    #[test]
    fn splits_the_database_name_off() {
        let (server, name) =
            split_pg_database("postgres://u@h:5432/docket_ticket?sslmode=disable").unwrap();
        assert_eq!(server, "postgres://u@h:5432/postgres?sslmode=disable");
        assert_eq!(name, "docket_ticket");
        assert!(split_pg_database("postgres://u@h:5432").is_err());
    }

    #[test]
    fn sqlite_urls_create_their_file() {
        assert_eq!(
            sqlite_url_creating_file("sqlite::memory:"),
            "sqlite::memory:?mode=rwc"
        );
        assert_eq!(
            sqlite_url_creating_file("sqlite:x.db?mode=ro"),
            "sqlite:x.db?mode=ro"
        );
    }

    async fn accepts_dollar_parameters(backend: Backend) {
        let db = testing::fresh_db(backend).await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT CAST($1 AS BIGINT) + $2")
            .bind(40_i64)
            .bind(2_i64)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(n, 42, "{backend:?}");
        testing::discard(db).await.unwrap();
    }

    #[tokio::test]
    async fn postgres_accepts_dollar_parameters() {
        accepts_dollar_parameters(Backend::Postgres).await;
    }

    #[tokio::test]
    async fn sqlite_accepts_dollar_parameters() {
        accepts_dollar_parameters(Backend::Sqlite).await;
    }
}
