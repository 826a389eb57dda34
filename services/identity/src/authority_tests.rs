//! The timing rule of refusals: every refusal spends the time of one password check, whatever
//! its reason: a wrong password, a locked, unknown, malformed or deactivated login. (Times are
//! not asserted; that one verification runs is.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use docket_bus::outbox::OutboxSignal;
use docket_store::Backend;

use super::*;
use crate::password::VERIFICATIONS;
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
    VERIFICATIONS.with(std::cell::Cell::get)
}

/// How many password verifications `refusal` ran; it must be refused.
async fn checks_in<T: std::fmt::Debug>(
    refusal: impl std::future::Future<Output = Result<T, IdentityError>>,
) -> u64 {
    let before = dummy_runs();
    let refused = refusal.await;
    assert!(
        matches!(refused, Err(IdentityError::LoginFailed)),
        "{refused:?}"
    );
    dummy_runs() - before
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

#[tokio::test(flavor = "current_thread")]
async fn every_agent_refusal_runs_one_password_check() {
    let (authority, _) = authority().await;
    let t = docket_platform::time::now_micros();
    for (login, password) in [
        ("admin", "wrong password!"),
        ("nobody", PASSWORD),
        ("not a login", PASSWORD),
        ("", PASSWORD),
    ] {
        let checks = checks_in(authority.login_agent(login, password, None, t)).await;
        assert_eq!(checks, 1, "{login:?}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn every_customer_refusal_runs_one_password_check() {
    let (authority, tenant) = authority().await;
    let t = docket_platform::time::now_micros();
    let store = authority.store();
    let jane = store
        .create_customer(
            NewCustomer {
                tenant_id: tenant,
                login: Login::parse("jane").unwrap(),
                name: "Jane".into(),
                email: None,
                phone: None,
                company_id: None,
                company_tickets: false,
                password: Some(NewPassword::parse(PASSWORD).unwrap()),
                language: None,
            },
            Source::Local,
            "test",
        )
        .await
        .unwrap();
    assert!(
        authority
            .login_customer(tenant, "jane", PASSWORD, t)
            .await
            .is_ok()
    );
    store
        .update_customer(
            jane.id,
            CustomerUpdate {
                name: jane.name.clone(),
                email: None,
                phone: None,
                company_id: None,
                company_tickets: false,
                language: None,
                active: false,
                password: None,
            },
            "test",
        )
        .await
        .unwrap();
    for (login, password) in [
        ("jane", PASSWORD), // deactivated, right password
        ("jane", "wrong password!"),
        ("nobody", PASSWORD),
        ("not a login", PASSWORD),
    ] {
        let checks = checks_in(authority.login_customer(tenant, login, password, t)).await;
        assert_eq!(checks, 1, "{login:?} / {password:?}");
    }
}
