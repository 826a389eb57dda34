//! The login flow end to end against real stores: passwords, lockout, second factor, sessions,
//! API tokens and signing keys.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use docket_auth::{Kind, Permission, Verifier};
use docket_identity::authority::{AuthSettings, Authority, LoginOutcome};
use docket_identity::domain::*;
use docket_identity::storage::{
    AgentStore, AuditStore, CustomerStore, SqlIdentityStore, TenantStore, TokenStore,
};
use docket_identity::{IdentityError, totp::TotpSecret};
use docket_store::{Backend, Db};

mod support;

const DAY: i64 = 24 * 3600 * 1_000_000;
const PASSWORD: &str = "correct horse battery";

struct Fixture {
    authority: Authority,
    store: Arc<SqlIdentityStore>,
    db: Db,
    tenant: Tenant,
    admin: Agent,
}

async fn fixture(backend: Backend) -> Fixture {
    let (db, store, tenant, admin) = support::bootstrapped(backend, "Admin", PASSWORD).await;
    let authority = Authority::new(store.clone(), AuthSettings::default());
    Fixture {
        authority,
        store,
        db,
        tenant,
        admin,
    }
}

impl Fixture {
    /// Logs an agent in with `password` (and `code`) at `at`, expecting a refusal: its error.
    async fn refused(
        &self,
        login: &str,
        password: &str,
        code: Option<&str>,
        at: i64,
    ) -> IdentityError {
        self.authority
            .login_agent(login, password, code, at)
            .await
            .unwrap_err()
    }

    /// The administrator logged in with the right password at `at`.
    async fn admin_grant(&self, at: i64) -> docket_identity::authority::LoginGrant {
        logged_in(
            self.authority
                .login_agent("admin", PASSWORD, None, at)
                .await
                .unwrap(),
        )
    }
}

fn now() -> i64 {
    docket_platform::time::now_micros()
}

fn logged_in(outcome: LoginOutcome) -> docket_identity::authority::LoginGrant {
    match outcome {
        LoginOutcome::LoggedIn(g) => g,
        LoginOutcome::SecondFactorRequired => panic!("unexpected second factor request"),
    }
}

async fn verifier(f: &Fixture, at: i64) -> Verifier {
    f.authority.verifier(at).await.unwrap()
}

impl docket_store::testing::Fixture for Fixture {
    fn into_db(self) -> Db {
        self.db
    }
}

docket_store::conformance!(
    fixture = fixture;
    bootstrap_admin_logs_in_with_admin_grants,
    failures_are_indistinguishable_and_audited,
    repeated_failures_lock_the_account,
    second_factor_is_required_and_not_replayable,
    sessions_refresh_until_logout,
    ending_a_persons_sessions_refuses_their_refresh_and_tokens,
    revoked_sessions_are_listed_for_an_access_tokens_lifetime,
    api_tokens_are_scoped_and_revocable,
    signing_keys_rotate_and_old_tokens_still_verify,
    customers_log_in_to_their_tenant_only,
);

async fn bootstrap_admin_logs_in_with_admin_grants(f: &Fixture) {
    let grant = logged_in(
        f.authority
            .login_agent("ADMIN", PASSWORD, None, now())
            .await
            .unwrap(),
    );
    let claims = verifier(f, now())
        .await
        .verify(&grant.access_token)
        .unwrap();
    assert_eq!(claims.kind, Kind::Agent);
    assert_eq!(claims.sub, f.admin.id.to_string());
    assert_eq!(claims.login, "admin");
    let tenant = f.tenant.id.to_string();
    assert!(claims.is_admin_of(&tenant));
    assert!(
        f.admin.installation_admin,
        "bootstrap makes an installation administrator"
    );
    assert!(claims.is_installation_admin());
    assert!(claims.may_administer("another-tenant"));
    let groups = f.store.list_groups(f.tenant.id).await.unwrap();
    let users = groups.iter().find(|g| g.name == "users").unwrap();
    assert!(claims.allows(&tenant, &users.id.to_string(), Permission::Rw));
    assert!(!claims.allows("another-tenant", &users.id.to_string(), Permission::Ro));
    assert!(grant.session.expose().starts_with("dks_"));
    let audit = f.store.audit_log(None, 50).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "login" && e.outcome == "ok" && e.actor == "admin")
    );
}

async fn failures_are_indistinguishable_and_audited(f: &Fixture) {
    let wrong = f.refused("admin", "not the password", None, now()).await;
    let unknown = f.refused("nobody", PASSWORD, None, now()).await;
    let empty = f.refused("", "", None, now()).await;
    assert!(matches!(wrong, IdentityError::LoginFailed));
    assert_eq!(wrong.to_string(), unknown.to_string());
    assert_eq!(wrong.to_string(), empty.to_string());
    f.store
        .set_agent_active(f.admin.id, false, "test")
        .await
        .unwrap();
    let disabled = f.refused("admin", PASSWORD, None, now()).await;
    assert_eq!(disabled.to_string(), wrong.to_string());
    let audit = f.store.audit_log(None, 50).await.unwrap();
    let reasons: Vec<String> = audit
        .iter()
        .filter(|e| e.action == "login_failed")
        .map(|e| e.details["reason"].as_str().unwrap().to_owned())
        .collect();
    for reason in ["wrong_password", "unknown_user", "disabled"] {
        assert!(
            reasons.iter().any(|r| r == reason),
            "{reason} in {reasons:?}"
        );
    }
}

async fn repeated_failures_lock_the_account(f: &Fixture) {
    let t = now();
    for i in 0..Throttle::MAX_FAILURES {
        let e = f.refused("admin", "wrong password!", None, t + i).await;
        assert!(matches!(e, IdentityError::LoginFailed));
    }
    // Locked: even the right password fails, with the same answer.
    let locked = f.refused("admin", PASSWORD, None, t + 10).await;
    assert!(matches!(locked, IdentityError::LoginFailed));
    let audit = f.store.audit_log(None, 100).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "lockout"));
    assert!(
        audit
            .iter()
            .any(|e| e.action == "login_failed" && e.details["reason"] == "locked")
    );
    // After the lockout the right password works again.
    // The lock runs from the fifth failure (at t + 4).
    assert!(
        f.authority
            .login_agent("admin", PASSWORD, None, t + 3 + Throttle::LOCKOUT)
            .await
            .is_err()
    );
    let later = t + 5 + Throttle::LOCKOUT;
    assert!(
        f.authority
            .login_agent("admin", PASSWORD, None, later)
            .await
            .is_ok()
    );
}

async fn second_factor_is_required_and_not_replayable(f: &Fixture) {
    let secret = TotpSecret::generate();
    f.store
        .set_agent_totp(f.admin.id, Some(&secret.to_base32()), "test")
        .await
        .unwrap();
    let t = now();
    let first = f
        .authority
        .login_agent("admin", PASSWORD, None, t)
        .await
        .unwrap();
    assert!(matches!(first, LoginOutcome::SecondFactorRequired));
    let secs = u64::try_from(t / 1_000_000).unwrap();
    let code = secret.code_at(secs);
    let ok = f
        .authority
        .login_agent("admin", PASSWORD, Some(&code), t)
        .await
        .unwrap();
    assert!(matches!(ok, LoginOutcome::LoggedIn(_)));
    // The same code again is a replay.
    let replay = f.refused("admin", PASSWORD, Some(&code), t).await;
    assert!(matches!(replay, IdentityError::LoginFailed));
    let wrong = f.refused("admin", PASSWORD, Some("000000x"), t).await;
    assert!(matches!(wrong, IdentityError::LoginFailed));
    // A wrong password never reveals that a second factor exists.
    let e = f.refused("admin", "wrong password!", None, t).await;
    assert!(matches!(e, IdentityError::LoginFailed));
}

async fn sessions_refresh_until_logout(f: &Fixture) {
    let t = now();
    let grant = f.admin_grant(t).await;
    let secret = grant.session.expose().to_owned();
    let (token, expires) = f.authority.refresh(&secret, t + 60_000_000).await.unwrap();
    assert!(expires > t);
    assert!(verifier(f, t).await.verify(&token).is_ok());
    // A tampered secret fails.
    let mut tampered = secret.clone();
    tampered.pop();
    tampered.push(if secret.ends_with('A') { 'B' } else { 'A' });
    assert!(matches!(
        f.authority.refresh(&tampered, t).await,
        Err(IdentityError::Unauthenticated)
    ));
    // Expired sessions fail.
    let after_expiry = t + AuthSettings::default().session_secs * 1_000_000 + 1;
    assert!(f.authority.refresh(&secret, after_expiry).await.is_err());
    f.authority.logout(&secret, t).await.unwrap();
    assert!(matches!(
        f.authority.refresh(&secret, t).await,
        Err(IdentityError::Unauthenticated)
    ));
}

/// A password, activation or role change ends every session of the person (one path): the
/// secrets no longer refresh, and the access tokens they issued are refused.
async fn ending_a_persons_sessions_refuses_their_refresh_and_tokens(f: &Fixture) {
    let t = now();
    let first = f.admin_grant(t).await;
    let second = f.admin_grant(t + 1).await;
    let claims = verifier(f, t).await.verify(&first.access_token).unwrap();
    f.authority.check_session(&claims).await.unwrap();
    // Someone else's session is left alone.
    f.store
        .create_customer(
            NewCustomer {
                tenant_id: f.tenant.id,
                login: Login::parse("jane").unwrap(),
                name: "Jane".into(),
                email: None,
                phone: None,
                company_id: None,
                company_tickets: false,
                language: None,
                password: Some(NewPassword::parse(PASSWORD).unwrap()),
            },
            Source::Local,
            "test",
        )
        .await
        .unwrap();
    let other = f
        .authority
        .login_customer(f.tenant.id, "jane", PASSWORD, t)
        .await
        .unwrap();

    f.authority
        .end_sessions(PrincipalKind::Agent, &f.admin.id.to_string(), t + 2)
        .await
        .unwrap();
    for grant in [&first, &second] {
        assert!(matches!(
            f.authority.refresh(grant.session.expose(), t + 3).await,
            Err(IdentityError::Unauthenticated)
        ));
    }
    assert!(matches!(
        f.authority.check_session(&claims).await,
        Err(IdentityError::Unauthenticated)
    ));
    assert!(
        f.authority
            .refresh(other.session.expose(), t + 3)
            .await
            .is_ok()
    );
    // Logging in again opens a new session that works.
    let again = f.admin_grant(t + 4).await;
    assert!(
        f.authority
            .refresh(again.session.expose(), t + 5)
            .await
            .is_ok()
    );
}

/// Logged-out and ended sessions are listed while tokens they issued may be unexpired, then
/// dropped from the list.
async fn revoked_sessions_are_listed_for_an_access_tokens_lifetime(f: &Fixture) {
    let t = now();
    let grant = f.admin_grant(t).await;
    let sid = verifier(f, t)
        .await
        .verify(&grant.access_token)
        .unwrap()
        .sid
        .unwrap();
    let open = f.admin_grant(t).await;
    let open_sid = verifier(f, t)
        .await
        .verify(&open.access_token)
        .unwrap()
        .sid
        .unwrap();
    assert!(
        !f.authority
            .revoked_sessions(t)
            .await
            .unwrap()
            .contains(&sid)
    );
    f.authority.logout(grant.session.expose(), t).await.unwrap();
    let listed = f.authority.revoked_sessions(t + 1).await.unwrap();
    assert!(listed.contains(&sid), "{listed:?}");
    assert!(!listed.contains(&open_sid), "open sessions are not listed");
    let lifetime = AuthSettings::default().access_token_secs * 1_000_000;
    // Its tokens expire an access token's lifetime after the logout at the latest.
    assert!(
        f.authority
            .revoked_sessions(t + lifetime)
            .await
            .unwrap()
            .contains(&sid)
    );
    assert!(
        !f.authority
            .revoked_sessions(t + lifetime + 61_000_000)
            .await
            .unwrap()
            .contains(&sid)
    );
}

async fn api_tokens_are_scoped_and_revocable(f: &Fixture) {
    let t = now();
    let (token, secret) = f
        .authority
        .issue_api_token(
            f.admin.id,
            "nightly import",
            vec!["tickets:write".into()],
            30,
            "admin",
            t,
        )
        .await
        .unwrap();
    assert!(secret.expose().starts_with("dkt_"));
    let (jwt, _) = f
        .authority
        .exchange_api_token(secret.expose(), t)
        .await
        .unwrap();
    let claims = verifier(f, t).await.verify(&jwt).unwrap();
    assert_eq!(
        claims.scopes.as_deref(),
        Some(&["tickets:write".to_owned()][..])
    );
    assert!(!claims.has_scope("admin"));
    assert!(
        f.authority
            .exchange_api_token(secret.expose(), t + 31 * DAY)
            .await
            .is_err(),
        "expired"
    );
    f.store
        .revoke_api_token(&token.id, t, "admin")
        .await
        .unwrap();
    assert!(
        f.authority
            .exchange_api_token(secret.expose(), t)
            .await
            .is_err(),
        "revoked"
    );
    assert!(
        f.authority
            .issue_api_token(f.admin.id, "x", vec![], 30, "admin", t)
            .await
            .is_err()
    );
    assert!(
        f.authority
            .issue_api_token(f.admin.id, "x", vec!["a".into()], 0, "admin", t)
            .await
            .is_err()
    );
    let audit = f.store.audit_log(None, 50).await.unwrap();
    assert!(audit.iter().any(|e| e.action == "token_issued"));
}

async fn signing_keys_rotate_and_old_tokens_still_verify(f: &Fixture) {
    let t = now();
    let old = f.admin_grant(t).await;
    // Just past the rotation period: the old key still verifies the tokens it signed.
    let rotated_at = t + 30 * DAY + 60_000_000;
    let new = f.admin_grant(rotated_at).await;
    let old_kid = jsonwebtoken_kid(&old.access_token);
    let new_kid = jsonwebtoken_kid(&new.access_token);
    assert_ne!(old_kid, new_kid, "a new key after the rotation period");
    let jwks = f.authority.jwks(rotated_at).await.unwrap();
    let kids: Vec<_> = jwks
        .keys
        .iter()
        .filter_map(|k| k.common.key_id.clone())
        .collect();
    assert!(
        kids.contains(&old_kid) && kids.contains(&new_kid),
        "{kids:?}"
    );
    // Long after, the old key is retired and gone from the set.
    let much_later = rotated_at + 31 * DAY;
    let jwks = f.authority.jwks(much_later).await.unwrap();
    assert!(
        !jwks
            .keys
            .iter()
            .any(|k| k.common.key_id.as_deref() == Some(old_kid.as_str()))
    );
}

fn jsonwebtoken_kid(token: &str) -> String {
    use base64::Engine as _;
    let header = token.split('.').next().unwrap();
    let json: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    json["kid"].as_str().unwrap().to_owned()
}

async fn customers_log_in_to_their_tenant_only(f: &Fixture) {
    let company = f
        .store
        .create_company(f.tenant.id, "Faculty of Physics", "admin")
        .await
        .unwrap();
    f.store
        .create_customer(
            NewCustomer {
                tenant_id: f.tenant.id,
                login: Login::parse("jane.doe").unwrap(),
                name: "Jane Doe".into(),
                email: Some("jane.doe@uni.example".into()),
                phone: None,
                company_id: Some(company.id),
                company_tickets: true,
                password: Some(NewPassword::parse("jane's long password").unwrap()),
                language: Some("de".into()),
            },
            Source::Local,
            "admin",
        )
        .await
        .unwrap();
    let other = f
        .store
        .create_tenant(NewTenant::parse("library", "Library").unwrap(), "admin")
        .await
        .unwrap();
    let t = now();
    let grant = f
        .authority
        .login_customer(f.tenant.id, "jane.doe", "jane's long password", t)
        .await
        .unwrap();
    let claims = verifier(f, t).await.verify(&grant.access_token).unwrap();
    assert_eq!(claims.kind, Kind::Customer);
    let c = claims.customer.unwrap();
    assert_eq!(c.tenant_id, f.tenant.id.to_string());
    assert_eq!(c.company_id, Some(company.id.to_string()));
    assert!(c.company_tickets);
    assert!(claims.agent.is_none());
    let elsewhere = f
        .authority
        .login_customer(other.id, "jane.doe", "jane's long password", t)
        .await
        .unwrap_err();
    assert!(matches!(elsewhere, IdentityError::LoginFailed));
    // An agent login with a customer's credentials fails too.
    assert!(
        f.authority
            .login_agent("jane.doe", "jane's long password", None, t)
            .await
            .is_err()
    );
}
