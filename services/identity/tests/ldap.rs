//! LDAP authentication against a real OpenLDAP server: the test directory that
//! `deploy/dev/slapd.sh` (run by `make services` and `make test`) seeds from `deploy/dev/ldap/`.
//! Set `DOCKET_TEST_LDAP_URL` to use another address than `ldap://127.0.0.1:3890`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use docket_identity::ldap::{LdapAuthenticator, LdapConfig, LdapError, LdapUser, map_groups};
use docket_platform::config::Secret;

mod support;

const PEOPLE: &str = "ou=people,dc=docket,dc=test";
const GROUPS: &str = "ou=groups,dc=docket,dc=test";
const SERVICE_DN: &str = "cn=docket-service,dc=docket,dc=test";
const SERVICE_PASSWORD: &str = "service-secret";

fn url() -> String {
    std::env::var("DOCKET_TEST_LDAP_URL").unwrap_or_else(|_| "ldap://127.0.0.1:3890".into())
}

fn config() -> LdapConfig {
    LdapConfig {
        url: url(),
        bind_dn: SERVICE_DN.into(),
        bind_password: Secret::new(SERVICE_PASSWORD),
        user_base_dn: PEOPLE.into(),
        group_base_dn: Some(GROUPS.into()),
        timeout_secs: 5,
        ..LdapConfig::default()
    }
}

/// The authenticator for `config`, once the test directory is known to answer; fails the test
/// with what to do when it does not (these tests never skip).
async fn directory_with(config: LdapConfig) -> LdapAuthenticator {
    let url = url();
    let hint = "start it with deploy/dev/slapd.sh (or `make services`)";
    let (conn, mut ldap) =
        tokio::time::timeout(Duration::from_secs(10), ldap3::LdapConnAsync::new(&url))
            .await
            .unwrap_or_else(|_| panic!("the LDAP test directory at {url} does not answer; {hint}"))
            .unwrap_or_else(|e| panic!("no LDAP test directory at {url} ({e}); {hint}"));
    let driver = tokio::spawn(conn.drive());
    let found = async {
        ldap.simple_bind(SERVICE_DN, SERVICE_PASSWORD)
            .await?
            .success()?;
        let (entries, _) = ldap
            .search(PEOPLE, ldap3::Scope::OneLevel, "(uid=jdoe)", vec!["uid"])
            .await?
            .success()?;
        ldap.unbind().await?;
        Ok::<_, ldap3::LdapError>(entries.iter().filter(|e| !e.is_ref()).count())
    };
    match tokio::time::timeout(Duration::from_secs(10), found).await {
        Ok(Ok(1)) => {}
        other => panic!(
            "{url} is not the seeded Docket test directory ({other:?}); \
             rebuild it with deploy/dev/slapd.sh"
        ),
    }
    driver.abort();
    LdapAuthenticator::new(config)
}

async fn directory() -> LdapAuthenticator {
    directory_with(config()).await
}

fn user(dn: &str, login: &str, name: &str, email: &str, groups: &[&str]) -> LdapUser {
    LdapUser {
        dn: dn.into(),
        login: login.into(),
        name: name.into(),
        email: Some(email.into()),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
    }
}

fn jane() -> LdapUser {
    user(
        &format!("uid=jdoe,{PEOPLE}"),
        "jdoe",
        "Jane Doe",
        "jane.doe@uni.example",
        &["students"],
    )
}

/// An address where nothing listens: a port the kernel just gave us and took back.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("ldap://127.0.0.1:{port}")
}

#[tokio::test]
async fn logs_in_by_uid_with_name_mail_and_groups() {
    let ldap = directory().await;
    assert_eq!(ldap.authenticate("jdoe", "jane-secret").await, Ok(jane()));
    // LDAP matches uid case-insensitively; the answer carries the directory's spelling.
    assert_eq!(
        ldap.authenticate("  JDoe ", "jane-secret").await,
        Ok(jane())
    );
    assert_eq!(
        ldap.authenticate("agent1", "agent1-secret").await,
        Ok(user(
            &format!("uid=agent1,{PEOPLE}"),
            "agent1",
            "Ada Agent",
            "agent1@uni.example",
            &["it-2nd-level", "it-helpdesk"],
        ))
    );
}

#[tokio::test]
async fn logs_in_by_mail() {
    let ldap = directory().await;
    assert_eq!(
        ldap.authenticate("jane.doe@uni.example", "jane-secret")
            .await,
        Ok(jane())
    );
    assert_eq!(
        ldap.authenticate("Jane.Doe@UNI.example", "jane-secret")
            .await,
        Ok(jane())
    );
}

#[tokio::test]
async fn unknown_users_wrong_passwords_and_locked_accounts_get_the_same_answer() {
    let ldap = directory().await;
    let wrong_password = ldap.authenticate("jdoe", "jane-secret2").await;
    let unknown_user = ldap.authenticate("nobody", "jane-secret").await;
    let unknown_mail = ldap.authenticate("nobody@uni.example", "x").await;
    // The right password of an account the password policy locked.
    let locked = ldap.authenticate("locked", "locked-secret").await;
    let password_of_another = ldap.authenticate("jdoe", "agent1-secret").await;
    let case_changed = ldap.authenticate("jdoe", "Jane-secret").await;
    for (what, outcome) in [
        ("wrong password", &wrong_password),
        ("unknown user", &unknown_user),
        ("unknown mail", &unknown_mail),
        ("locked account", &locked),
        ("another user's password", &password_of_another),
        ("password in another case", &case_changed),
    ] {
        assert_eq!(outcome, &Err(LdapError::InvalidCredentials), "{what}");
        let text = outcome.as_ref().unwrap_err().to_string();
        assert_eq!(text, "invalid credentials", "{what}");
    }
}

#[tokio::test]
async fn empty_passwords_are_refused_even_for_real_users() {
    let ldap = directory().await;
    for login in ["jdoe", "jane.doe@uni.example", "agent1", "nobody"] {
        assert_eq!(
            ldap.authenticate(login, "").await,
            Err(LdapError::InvalidCredentials),
            "{login}"
        );
    }
    // Refused before any connection: even a directory that is down answers the same.
    let down = LdapAuthenticator::new(LdapConfig {
        url: closed_port_url(),
        ..config()
    });
    assert_eq!(
        down.authenticate("jdoe", "").await,
        Err(LdapError::InvalidCredentials)
    );
}

#[tokio::test]
async fn filter_injection_never_logs_anyone_in() {
    let ldap = directory().await;
    let attempts = [
        "*",
        "j*",
        "jd*",
        "jdoe*",
        "*doe",
        "*@uni.example",
        "jdoe)(uid=*",
        "*)(|(uid=*",
        "*)(uid=*))(|(uid=*",
        "jdoe)(|(objectClass=*)",
        "jdoe))(|(uid=jdoe",
        "*)(mail=jane.doe@uni.example",
        "jdoe\0",
        "jdoe\\",
        "jdoe\\2a",
        "\\6a\\64\\6f\\65", // jdoe, hex-escaped
        "(uid=jdoe)",
    ];
    for login in attempts {
        // Every password of the directory: an injected filter that matched anybody, with that
        // person's password, would log in.
        for password in ["jane-secret", "agent1-secret", "twin1-secret", "x"] {
            let outcome = ldap.authenticate(login, password).await;
            assert_eq!(
                outcome,
                Err(LdapError::InvalidCredentials),
                "{login:?} with {password:?}"
            );
        }
    }
}

#[tokio::test]
async fn logins_full_of_filter_syntax_work_when_they_are_real() {
    let ldap = directory().await;
    let lab = ldap
        .authenticate("it\\lab(1)*", "lab-secret")
        .await
        .unwrap();
    assert_eq!(lab.login, "it\\lab(1)*");
    assert_eq!(lab.name, "Lab Account (1)");
    // Its DN holds an escape, so the group search must escape it again for the filter; the
    // group's name holds a comma, escaped in the DN.
    assert_eq!(lab.groups, ["it, weekend shift"]);
    assert_eq!(
        ldap.authenticate("it\\lab(1)*", "jane-secret").await,
        Err(LdapError::InvalidCredentials)
    );
    assert_eq!(
        ldap.authenticate("it\\lab(1)", "lab-secret").await,
        Err(LdapError::InvalidCredentials),
        "the asterisk is part of the login, not a wildcard"
    );

    let obrien = ldap.authenticate("o'brien", "obrien-secret").await.unwrap();
    assert_eq!(
        obrien,
        user(
            &format!("uid=o'brien,{PEOPLE}"),
            "o'brien",
            "Siobhán O'Brien",
            "siobhan.obrien@uni.example",
            &["students"],
        )
    );
}

#[tokio::test]
async fn non_ascii_passwords_work() {
    let ldap = directory().await;
    assert_eq!(
        ldap.authenticate("mmuster", "Müller-Passwort-1").await,
        Ok(user(
            &format!("uid=mmuster,{PEOPLE}"),
            "mmuster",
            "Max Mustermann",
            "max.mustermann@uni.example",
            &["it-2nd-level"],
        ))
    );
    for wrong in [
        "Muller-Passwort-1",
        "Mueller-Passwort-1",
        "M\u{0075}\u{0308}ller-Passwort-1", // ü decomposed: other bytes
        "müller-passwort-1",
    ] {
        assert_eq!(
            ldap.authenticate("mmuster", wrong).await,
            Err(LdapError::InvalidCredentials),
            "{wrong}"
        );
    }
}

#[tokio::test]
async fn a_mail_shared_by_two_people_logs_nobody_in() {
    let ldap = directory().await;
    // Both are real and log in by uid ...
    assert_eq!(
        ldap.authenticate("twin1", "twin1-secret")
            .await
            .unwrap()
            .email,
        Some("shared@uni.example".into())
    );
    assert!(ldap.authenticate("twin2", "twin2-secret").await.is_ok());
    // ... but their shared mail names nobody, whichever password comes with it.
    for password in ["twin1-secret", "twin2-secret", "wrong"] {
        let outcome = ldap.authenticate("shared@uni.example", password).await;
        assert_eq!(outcome, Err(LdapError::Ambiguous), "{password}");
        assert_eq!(
            outcome.unwrap_err().to_string(),
            LdapError::InvalidCredentials.to_string(),
            "callers cannot tell it from a wrong password"
        );
    }
}

#[tokio::test]
async fn groups_come_from_member_of_alone_as_with_active_directory() {
    // No group search: the memberof overlay's memberOf on the entry, as Active Directory has.
    let ldap = directory_with(LdapConfig {
        group_base_dn: None,
        ..config()
    })
    .await;
    let agent = ldap.authenticate("agent1", "agent1-secret").await.unwrap();
    assert_eq!(agent.groups, ["it-2nd-level", "it-helpdesk"]);
    let lab = ldap
        .authenticate("it\\lab(1)*", "lab-secret")
        .await
        .unwrap();
    assert_eq!(lab.groups, ["it, weekend shift"]);
}

#[tokio::test]
async fn directory_groups_map_to_docket_groups() {
    let ldap = directory().await;
    let mapping: BTreeMap<String, String> = [
        ("IT-Helpdesk", "1st level (help desk)"),
        ("it-2nd-level", "2nd level"),
        ("staff", "Staff"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect();
    let groups_of = async |login: &str, password: &str| {
        let user = ldap.authenticate(login, password).await.unwrap();
        map_groups(&user.groups, &mapping)
    };
    assert_eq!(
        groups_of("agent1", "agent1-secret").await,
        ["1st level (help desk)", "2nd level"]
    );
    assert_eq!(
        groups_of("mmuster", "Müller-Passwort-1").await,
        ["2nd level"]
    );
    assert!(
        groups_of("jdoe", "jane-secret").await.is_empty(),
        "students is not mapped"
    );
}

#[tokio::test]
async fn a_wrong_service_password_is_unavailable_not_a_wrong_user_password() {
    let ldap = directory_with(LdapConfig {
        bind_password: Secret::new("not-the-service-secret"),
        ..config()
    })
    .await;
    let err = ldap.authenticate("jdoe", "jane-secret").await.unwrap_err();
    let LdapError::Unavailable(message) = &err else {
        panic!("expected Unavailable, got {err:?}");
    };
    assert!(message.contains("service account"), "{message}");
    for secret in ["not-the-service-secret", "jane-secret"] {
        assert!(!err.to_string().contains(secret), "{err}");
        assert!(!format!("{err:?}").contains(secret), "{err:?}");
    }
}

#[tokio::test]
async fn a_missing_user_base_is_unavailable() {
    let ldap = directory_with(LdapConfig {
        user_base_dn: "ou=nobody-here,dc=docket,dc=test".into(),
        ..config()
    })
    .await;
    assert!(matches!(
        ldap.authenticate("jdoe", "jane-secret").await,
        Err(LdapError::Unavailable(_))
    ));
}

#[tokio::test]
async fn an_unreachable_directory_is_unavailable_at_once() {
    let ldap = LdapAuthenticator::new(LdapConfig {
        url: closed_port_url(),
        timeout_secs: 5,
        ..config()
    });
    let started = Instant::now();
    let outcome = ldap.authenticate("jdoe", "jane-secret").await;
    assert!(
        matches!(&outcome, Err(LdapError::Unavailable(_))),
        "{outcome:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_directory_that_never_answers_is_unavailable_after_the_timeout() {
    // Accepts connections and reads, never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            held.push(socket);
        }
    });
    let ldap = LdapAuthenticator::new(LdapConfig {
        url: format!("ldap://127.0.0.1:{port}"),
        timeout_secs: 1,
        ..config()
    });
    let started = Instant::now();
    let outcome = ldap.authenticate("jdoe", "jane-secret").await;
    let took = started.elapsed();
    silent.abort();
    assert!(
        matches!(&outcome, Err(LdapError::Unavailable(_))),
        "{outcome:?}"
    );
    // The service bind waited for its one-second limit, then gave up.
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[tokio::test]
async fn many_logins_at_once() {
    let ldap = std::sync::Arc::new(directory().await);
    let mut logins = tokio::task::JoinSet::new();
    for i in 0..24 {
        let ldap = ldap.clone();
        logins.spawn(async move {
            match i % 3 {
                0 => ldap
                    .authenticate("jdoe", "jane-secret")
                    .await
                    .map(|u| u.login),
                1 => ldap
                    .authenticate("mmuster", "Müller-Passwort-1")
                    .await
                    .map(|u| u.login),
                _ => ldap.authenticate("jdoe", "wrong").await.map(|u| u.login),
            }
        });
    }
    let mut outcomes = Vec::new();
    while let Some(outcome) = logins.join_next().await {
        outcomes.push(outcome.unwrap());
    }
    let ok = |login: &str| {
        outcomes
            .iter()
            .filter(|o| o.as_deref() == Ok(login))
            .count()
    };
    assert_eq!((ok("jdoe"), ok("mmuster")), (8, 8));
    let refused = outcomes
        .iter()
        .filter(|o| **o == Err(LdapError::InvalidCredentials))
        .count();
    assert_eq!(refused, 8);
}

/// The whole login flow with the directory behind it: the authority creates the agent on first
/// login, maps directory groups to roles in the LDAP tenant, and answers every failure alike.
mod login_flow {
    use std::sync::Arc;

    use docket_auth::Permission;
    use docket_identity::IdentityError;
    use docket_identity::authority::{AuthSettings, Authority, LoginOutcome};
    use docket_identity::domain::{Login, NewCustomer, NewPassword, NewTenant, Source, Tenant};
    use docket_identity::storage::{CustomerStore, SqlIdentityStore, TenantStore};
    use docket_store::{Backend, Db};

    async fn authority(backend: Backend) -> (Authority, Arc<SqlIdentityStore>, Tenant, Db) {
        super::directory().await;
        let (db, store, tenant, _) =
            super::support::bootstrapped(backend, "admin", "correct horse battery").await;
        let settings = AuthSettings {
            ldap: Some(super::config()),
            ldap_tenant: Some("it-centre".into()),
            customer_ldap: Some(super::config()),
            customer_ldap_tenant: Some("it-centre".into()),
            ldap_role_mapping: [
                ("it-helpdesk".to_owned(), "1st level (help desk)".to_owned()),
                ("students".to_owned(), "Team member".to_owned()),
            ]
            .into(),
            ..AuthSettings::default()
        };
        (Authority::new(store.clone(), settings), store, tenant, db)
    }

    fn now() -> i64 {
        docket_platform::time::now_micros()
    }

    async fn subject(authority: &Authority, login: &str, password: &str) -> docket_auth::Claims {
        let grant = match authority.login_agent(login, password, None, now()).await {
            Ok(LoginOutcome::LoggedIn(grant)) => grant,
            other => panic!("{login} did not log in: {other:?}"),
        };
        authority
            .verifier(now())
            .await
            .unwrap()
            .verify(&grant.access_token)
            .unwrap()
    }

    async fn first_login_creates_the_agent_and_mail_reaches_the_same_account(backend: Backend) {
        let (authority, store, tenant, db) = authority(backend).await;
        let by_uid = subject(&authority, "jdoe", "jane-secret").await;
        assert_eq!(by_uid.login, "jdoe");
        let grants = by_uid
            .tenant(&tenant.id.to_string())
            .expect("in the LDAP tenant");
        assert!(!grants.admin);
        // Team member: read and note on the `users` group's queues, nothing more.
        let users = store
            .list_groups(tenant.id)
            .await
            .unwrap()
            .into_iter()
            .find(|g| g.name == "users")
            .unwrap();
        let perms = grants.groups[&users.id.to_string()];
        assert!(perms.allows(Permission::Note) && !perms.allows(Permission::Rw));

        let by_mail = subject(&authority, "Jane.Doe@uni.example", "jane-secret").await;
        assert_eq!(
            by_mail.sub, by_uid.sub,
            "one account, however the user logs in"
        );
        assert_eq!(by_mail.login, "jdoe");
        docket_store::testing::discard(db).await.unwrap();
    }

    async fn failures_are_one_clear_answer(backend: Backend) {
        let (authority, _, _, db) = authority(backend).await;
        let wrong = authority
            .login_agent("jdoe", "not-her-password", None, now())
            .await;
        let unknown = authority
            .login_agent("nobody", "whatever-it-is", None, now())
            .await;
        let locked = authority
            .login_agent("locked", "locked-secret", None, now())
            .await;
        for (what, result) in [
            ("wrong password", wrong),
            ("unknown user", unknown),
            ("locked", locked),
        ] {
            match result {
                Err(e @ IdentityError::LoginFailed) => {
                    assert_eq!(
                        e.to_string(),
                        IdentityError::LoginFailed.to_string(),
                        "{what}"
                    )
                }
                other => panic!("{what}: {other:?}"),
            }
        }
        docket_store::testing::discard(db).await.unwrap();
    }

    async fn customer(
        authority: &Authority,
        tenant: &Tenant,
        login: &str,
        password: &str,
    ) -> Result<docket_auth::Claims, IdentityError> {
        let grant = authority
            .login_customer(tenant.id, login, password, now())
            .await?;
        Ok(authority
            .verifier(now())
            .await
            .unwrap()
            .verify(&grant.access_token)
            .unwrap())
    }

    /// Customers of the directory's tenant log in with their directory password; the first
    /// login makes the customer user, by uid or mail alike. Other tenants, wrong passwords and
    /// logins a local customer owns get the one failure.
    async fn customers_log_in_through_their_directory(backend: Backend) {
        let (authority, store, tenant, db) = authority(backend).await;
        let first = customer(&authority, &tenant, "jdoe", "jane-secret")
            .await
            .unwrap();
        let made = store
            .customer_credentials(tenant.id, &Login::parse("jdoe").unwrap())
            .await
            .unwrap()
            .expect("the customer user was made");
        assert_eq!(made.customer.id.to_string(), first.sub);
        assert_eq!(made.customer.source, Source::Ldap);
        assert_eq!(made.customer.name, "Jane Doe");
        assert_eq!(made.customer.email.as_deref(), Some("jane.doe@uni.example"));
        assert!(
            made.password_hash.is_none(),
            "the directory keeps the password"
        );
        let again = customer(&authority, &tenant, "Jane.Doe@uni.example", "jane-secret")
            .await
            .unwrap();
        assert_eq!(again.sub, first.sub, "one customer, however she logs in");
        assert!(matches!(
            customer(&authority, &tenant, "jdoe", "not-her-password").await,
            Err(IdentityError::LoginFailed)
        ));
        // Another tenant does not take its customers from this directory.
        let other = store
            .create_tenant(NewTenant::parse("hs-other", "Other").unwrap(), "test")
            .await
            .unwrap();
        assert!(matches!(
            customer(&authority, &other, "mmuster", "Müller-Passwort-1").await,
            Err(IdentityError::LoginFailed)
        ));
        // A local customer owns her login: the directory's password does not open it.
        store
            .create_customer(
                NewCustomer {
                    tenant_id: tenant.id,
                    login: Login::parse("mmuster").unwrap(),
                    name: "Local Max".into(),
                    email: None,
                    phone: None,
                    company_id: None,
                    company_tickets: false,
                    password: Some(NewPassword::parse("the local password").unwrap()),
                    language: None,
                },
                Source::Local,
                "test",
            )
            .await
            .unwrap();
        assert!(matches!(
            customer(&authority, &tenant, "mmuster", "Müller-Passwort-1").await,
            Err(IdentityError::LoginFailed)
        ));
        customer(&authority, &tenant, "mmuster", "the local password")
            .await
            .unwrap();
        docket_store::testing::discard(db).await.unwrap();
    }

    docket_store::conformance!(
        engine;
        customers_log_in_through_their_directory,
        first_login_creates_the_agent_and_mail_reaches_the_same_account,
        failures_are_one_clear_answer,
    );
}
