//! Setup shared by the identity test binaries that log in (`mod support;` in each).

use std::sync::Arc;

use docket_bus::outbox::OutboxSignal;
use docket_identity::domain::{Agent, Login, NewPassword, NewTenant, Tenant};
use docket_identity::server::bootstrap;
use docket_identity::storage::SqlIdentityStore;
use docket_store::{Backend, Db};

/// A fresh, migrated identity database on `backend` with the `it-centre` tenant bootstrapped, as
/// `docket admin bootstrap` does: its administrator logs in as `login` with `password`.
pub async fn bootstrapped(
    backend: Backend,
    login: &str,
    password: &str,
) -> (Db, Arc<SqlIdentityStore>, Tenant, Agent) {
    let db = docket_store::testing::fresh_db(backend).await.unwrap();
    SqlIdentityStore::migrate(&db).await.unwrap();
    let store = Arc::new(SqlIdentityStore::new(db.clone(), OutboxSignal::new()));
    let (tenant, admin) = bootstrap(
        store.as_ref(),
        NewTenant::parse("it-centre", "IT Centre").unwrap(),
        Login::parse(login).unwrap(),
        "The Administrator",
        NewPassword::parse(password).unwrap(),
    )
    .await
    .unwrap();
    (db, store, tenant, admin)
}
