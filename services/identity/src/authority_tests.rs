//! The timing rule of refusals: a locked login spends the time of a password check, like a
//! wrong password does. (Times are not asserted; the dummy verification's run is.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use docket_bus::outbox::OutboxSignal;
use docket_store::Backend;

use super::*;
use crate::password::DUMMY_VERIFICATIONS;
use crate::storage::SqlIdentityStore;

const PASSWORD: &str = "correct horse battery";

/// An authority over a fresh SQLite store with one local agent, `admin`, and one customer login
/// in the tenant (its id).
async fn authority() -> (Authority, TenantId) {
    let db = docket_store::testing::fresh_db(Backend::Sqlite)
        .await
        .unwrap();
    SqlIdentityStore::migrate(&db).await.unwrap();
    let store = Arc::new(SqlIdentityStore::new(db, OutboxSignal::new()));
    let (tenant, _) = crate::server::bootstrap(
        store.as_ref(),
        NewTenant::parse("it-centre", "IT Centre").unwrap(),
        Login::parse("admin").unwrap(),
        "The Administrator",
        NewPassword::parse(PASSWORD).unwrap(),
    )
    .await
    .unwrap();
    (Authority::new(store, AuthSettings::default()), tenant.id)
}

fn dummy_runs() -> u64 {
    DUMMY_VERIFICATIONS.with(std::cell::Cell::get)
}

// A current-thread runtime: the login runs on this thread, so its thread-local count is ours.
#[tokio::test(flavor = "current_thread")]
async fn a_locked_agent_login_runs_the_password_check_all_the_same() {
    let (authority, _) = authority().await;
    let t = docket_platform::time::now_micros();
    for i in 0..Throttle::MAX_FAILURES {
        assert!(
            authority
                .login_agent("admin", "wrong password!", None, t + i)
                .await
                .is_err()
        );
    }
    let before = dummy_runs();
    let refused = authority.login_agent("admin", PASSWORD, None, t + 10).await;
    assert!(matches!(refused, Err(IdentityError::LoginFailed)));
    assert_eq!(
        dummy_runs(),
        before + 1,
        "a locked login verifies against the dummy hash"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_locked_customer_login_runs_the_password_check_all_the_same() {
    let (authority, tenant) = authority().await;
    let t = docket_platform::time::now_micros();
    // Failures lock a customer login whether or not it exists.
    for i in 0..Throttle::MAX_FAILURES {
        assert!(
            authority
                .login_customer(tenant, "nobody", "wrong password!", t + i)
                .await
                .is_err()
        );
    }
    let before = dummy_runs();
    let refused = authority
        .login_customer(tenant, "nobody", "wrong password!", t + 10)
        .await;
    assert!(matches!(refused, Err(IdentityError::LoginFailed)));
    assert_eq!(dummy_runs(), before + 1);
}
