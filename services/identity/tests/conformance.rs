//! The storage conformance suite of [`IdentityStore`]: every case runs unchanged against PostgreSQL
//! and SQLite, each on a fresh database.
//!
//! The servers are required: a test fails (it is never skipped) when PostgreSQL is not reachable at
//! `DOCKET_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use docket_auth::{PermSet, Permission, TenantGrants};
use docket_bus::outbox::OutboxSignal;
use docket_identity::IdentityError;
use docket_identity::domain::*;
use docket_identity::password;
use docket_identity::storage::{
    AccessStore, AgentStore, AuditStore, CustomerStore, SqlIdentityStore, TenantStore,
    ThrottleStore, TokenStore,
};
use docket_proto::events::v1 as ev;
use docket_store::{Backend, Db, Row};
use prost::Message as _;

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// A migrated, empty store on a fresh database of `backend`.
async fn setup(backend: Backend) -> (SqlIdentityStore, Db) {
    let db = docket_store::testing::fresh_db(backend)
        .await
        .unwrap_or_else(|e| {
            panic!("cannot open a fresh {backend:?} database (is it running?): {e}")
        });
    SqlIdentityStore::migrate(&db)
        .await
        .unwrap_or_else(|e| panic!("migrating the {backend:?} database failed: {e}"));
    let store = SqlIdentityStore::new(db.clone(), OutboxSignal::new());
    (store, db)
}

/// Every static statement of the service (and of the bus tables it holds) prepares on this
/// engine: a misspelt column fails here, in a second, not in the scenario that runs it.
async fn case_every_statement_prepares(_store: &SqlIdentityStore, db: &Db) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let bus = dir.join("../../crates/docket-bus/src");
    docket_store::statements::assert_every_statement_prepares(db, &[dir.join("src"), bus]).await;
}

docket_store::conformance!(
    case_every_statement_prepares,
    case_create_tenant,
    case_tenant_defaults,
    case_groups,
    case_roles,
    case_agents,
    case_totp,
    case_membership_and_grants,
    case_grants_stay_in_their_tenant,
    case_absences,
    case_companies_and_customers,
    case_customer_update,
    case_throttle_locks_on_the_fifth_failure,
    case_throttle_lockout_is_neither_lifted_nor_extended,
    case_throttle_spread_failures_and_clearing,
    case_sessions,
    case_ending_sessions,
    case_api_tokens,
    case_signing_keys,
    case_audit_log,
    case_audit_log_is_append_only,
    case_group_and_role_lookup,
    case_tenant_members_and_memberships,
    case_installation_admin,
    case_totp_enrolment,
    case_tenant_lists,
    case_audit_pages,
);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const ACTOR: &str = "conformance";
const PASSWORD: &str = "correct horse battery";
const SECOND: Micros = 1_000_000;
const MINUTE: Micros = 60 * SECOND;
const DAY: Micros = 24 * 60 * MINUTE;
/// A fixed point in time (2023-11-14) for the operations that take `now`.
const T0: Micros = 1_700_000_000_000_000;

fn login(s: &str) -> Login {
    Login::parse(s).unwrap()
}

fn perms(p: &[Permission]) -> PermSet {
    PermSet::of(p)
}

async fn tenant(store: &SqlIdentityStore, slug: &str) -> Tenant {
    store
        .create_tenant(
            NewTenant::parse(slug, &format!("Tenant {slug}")).unwrap(),
            ACTOR,
        )
        .await
        .unwrap()
}

async fn group(store: &SqlIdentityStore, tenant: &Tenant, name: &str) -> Group {
    store
        .list_groups(tenant.id)
        .await
        .unwrap()
        .into_iter()
        .find(|g| g.name == name)
        .unwrap_or_else(|| panic!("tenant {} has no group {name}", tenant.slug))
}

async fn role(store: &SqlIdentityStore, tenant: &Tenant, name: &str) -> Role {
    store
        .list_roles(tenant.id)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("tenant {} has no role {name}", tenant.slug))
}

fn new_agent(login_name: &str, password: Option<&str>) -> NewAgent {
    NewAgent {
        login: login(login_name),
        name: format!("Agent {login_name}"),
        email: Some(format!("{login_name}@example.com")),
        password: password.map(|p| NewPassword::parse(p).unwrap()),
    }
}

async fn ldap_agent(store: &SqlIdentityStore, login_name: &str) -> Agent {
    store
        .create_agent(new_agent(login_name, None), Source::Ldap, ACTOR)
        .await
        .unwrap()
}

/// An LDAP agent (no password hashing, so fast) who is a member of `tenants`.
async fn member(store: &SqlIdentityStore, login_name: &str, tenants: &[&Tenant]) -> Agent {
    let agent = ldap_agent(store, login_name).await;
    for t in tenants {
        store
            .add_agent_to_tenant(agent.id, t.id, ACTOR)
            .await
            .unwrap();
    }
    agent
}

/// The agent's grants in `tenant` at `at`, if it has any there.
async fn grants_in(
    store: &SqlIdentityStore,
    agent: &Agent,
    tenant: &Tenant,
    at: Micros,
) -> Option<TenantGrants> {
    store
        .agent_grants(agent.id, at)
        .await
        .unwrap()
        .tenants
        .get(&tenant.id.to_string())
        .cloned()
}

/// The agent's merged permissions per group *name* in `tenant` (at `T0`).
async fn perms_by_name(
    store: &SqlIdentityStore,
    agent: &Agent,
    tenant: &Tenant,
) -> BTreeMap<String, PermSet> {
    let groups = store.list_groups(tenant.id).await.unwrap();
    let grants = grants_in(store, agent, tenant, T0)
        .await
        .unwrap_or_else(|| {
            panic!(
                "agent {} has no grants in {}",
                agent.login.as_str(),
                tenant.slug
            )
        });
    grants
        .groups
        .iter()
        .map(|(id, set)| {
            let g = groups
                .iter()
                .find(|g| g.id.to_string() == *id)
                .unwrap_or_else(|| panic!("group {id} of the grants is not in {}", tenant.slug));
            (g.name.clone(), *set)
        })
        .collect()
}

fn named(pairs: &[(&str, PermSet)]) -> BTreeMap<String, PermSet> {
    pairs.iter().map(|(n, s)| ((*n).to_owned(), *s)).collect()
}

/// A role's permissions per group name.
fn role_perms_by_name(role: &Role, groups: &[Group]) -> BTreeMap<String, PermSet> {
    role.permissions
        .iter()
        .map(|(id, set)| {
            let g = groups
                .iter()
                .find(|g| g.id == *id)
                .unwrap_or_else(|| panic!("role {} grants on foreign group {id}", role.name));
            (g.name.clone(), *set)
        })
        .collect()
}

fn names<T>(items: &[T], name: impl Fn(&T) -> &str) -> BTreeSet<String> {
    items.iter().map(|i| name(i).to_owned()).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

async fn outbox(db: &Db) -> Vec<(String, Vec<u8>)> {
    sqlx::query("SELECT event_type, envelope FROM bus_outbox ORDER BY seq")
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.get::<String, _>("event_type"),
                r.get::<Vec<u8>, _>("envelope"),
            )
        })
        .collect()
}

async fn outbox_count(db: &Db, event_type: &str) -> usize {
    outbox(db)
        .await
        .iter()
        .filter(|(t, _)| t == event_type)
        .count()
}

async fn audit_count(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(db.pool())
        .await
        .unwrap()
}

async fn audit_entries(store: &SqlIdentityStore, tenant: Option<&Tenant>) -> Vec<AuditEntry> {
    store.audit_log(tenant.map(|t| t.id), 10_000).await.unwrap()
}

#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(result: Result<T, IdentityError>, kind: &str) {
    match result {
        Err(IdentityError::NotFound { kind: k, .. }) => assert_eq!(k, kind, "not-found kind"),
        other => panic!("expected NotFound {kind}, got {other:?}"),
    }
}

#[track_caller]
fn assert_invalid<T: std::fmt::Debug>(result: Result<T, IdentityError>) {
    assert!(
        matches!(result, Err(IdentityError::InvalidArgument(_))),
        "expected InvalidArgument, got {result:?}"
    );
}

#[track_caller]
fn assert_exists<T: std::fmt::Debug>(result: Result<T, IdentityError>) {
    assert!(
        matches!(result, Err(IdentityError::AlreadyExists(_))),
        "expected AlreadyExists, got {result:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Tenants, groups, roles
// ---------------------------------------------------------------------------------------------

async fn case_create_tenant(store: &SqlIdentityStore, db: &Db) {
    assert!(store.list_tenants().await.unwrap().is_empty());
    assert!(outbox(db).await.is_empty());

    let before = docket_platform::time::now_micros();
    let zulu = store
        .create_tenant(NewTenant::parse("zulu", " Zulu Ltd ").unwrap(), ACTOR)
        .await
        .unwrap();
    let after = docket_platform::time::now_micros();
    assert_eq!(zulu.slug, "zulu");
    assert_eq!(zulu.name, "Zulu Ltd");
    assert!(
        (before..=after).contains(&zulu.created_at),
        "created_at {} not within [{before}, {after}]",
        zulu.created_at
    );
    assert_eq!(store.get_tenant(zulu.id).await.unwrap(), zulu);

    // A duplicate slug is refused and writes nothing.
    let audit_before = audit_count(db).await;
    assert_exists(
        store
            .create_tenant(NewTenant::parse("zulu", "Another name").unwrap(), ACTOR)
            .await,
    );
    assert_eq!(audit_count(db).await, audit_before);
    assert_eq!(store.list_tenants().await.unwrap(), vec![zulu.clone()]);

    let acme = tenant(store, "acme").await;
    assert_ne!(acme.id, zulu.id);
    assert_eq!(
        store.list_tenants().await.unwrap(),
        vec![acme.clone(), zulu.clone()]
    );
    assert_eq!(store.get_tenant(acme.id).await.unwrap(), acme);
    assert_not_found(store.get_tenant(TenantId::new()).await, "tenant");

    // One `tenant.created` per tenant, none for the refused duplicate.
    let events = outbox(db).await;
    let created: Vec<_> = events
        .iter()
        .filter(|(t, _)| t == "tenant.created")
        .collect();
    assert_eq!(
        created.len(),
        2,
        "{:?}",
        events.iter().map(|e| &e.0).collect::<Vec<_>>()
    );
    let envelope = ev::Envelope::decode(created[0].1.as_slice()).unwrap();
    assert_eq!(envelope.event_type, "tenant.created");
    assert_eq!(envelope.tenant_id, zulu.id.to_string());
    assert_eq!(envelope.aggregate_type, "tenant");
    assert_eq!(envelope.aggregate_id, zulu.id.to_string());
    let payload = ev::TenantCreated::decode(envelope.payload.as_slice()).unwrap();
    assert_eq!(payload.tenant_id, zulu.id.to_string());
    assert_eq!(payload.slug, "zulu");
    assert_eq!(payload.name, "Zulu Ltd");

    // One `tenant_created` audit entry per tenant, in that tenant.
    let audit = audit_entries(store, Some(&zulu)).await;
    let entries: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "tenant_created")
        .collect();
    assert_eq!(entries.len(), 1, "{audit:?}");
    let e = entries[0];
    assert_eq!(e.tenant_id, Some(zulu.id));
    assert_eq!(e.actor, ACTOR);
    assert_eq!(e.target.as_deref(), Some(zulu.id.to_string().as_str()));
    assert_eq!(e.outcome, "ok");
    assert_eq!(e.details["slug"], "zulu");
}

async fn case_tenant_defaults(store: &SqlIdentityStore, _db: &Db) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "beta").await;
    for t in [&a, &b] {
        let groups = store.list_groups(t.id).await.unwrap();
        assert_eq!(names(&groups, |g| &g.name), set(&DEFAULT_GROUPS));
        assert_eq!(groups.len(), DEFAULT_GROUPS.len());
        assert!(groups.iter().all(|g| g.tenant_id == t.id));

        let roles = store.list_roles(t.id).await.unwrap();
        assert_eq!(roles.len(), ROLE_TEMPLATES.len(), "{roles:?}");
        for template in &ROLE_TEMPLATES {
            let r = roles
                .iter()
                .find(|r| r.name == template.name)
                .unwrap_or_else(|| panic!("no built-in role {}", template.name));
            assert_eq!(r.tenant_id, t.id);
            assert_eq!(r.tenant_admin, template.tenant_admin, "{}", template.name);
            let expected: BTreeMap<String, PermSet> = template
                .grants
                .iter()
                .map(|(g, p)| ((*g).to_owned(), PermSet::of(p)))
                .collect();
            assert_eq!(
                role_perms_by_name(r, &groups),
                expected,
                "{}",
                template.name
            );
        }
    }
    // Each tenant has its own groups and roles.
    let ga: BTreeSet<_> = store
        .list_groups(a.id)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.id)
        .collect();
    let gb: BTreeSet<_> = store
        .list_groups(b.id)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.id)
        .collect();
    assert!(ga.is_disjoint(&gb));
    let ra: BTreeSet<_> = store
        .list_roles(a.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    let rb: BTreeSet<_> = store
        .list_roles(b.id)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert!(ra.is_disjoint(&rb));
    assert!(store.list_roles(TenantId::new()).await.unwrap().is_empty());
}

async fn case_groups(store: &SqlIdentityStore, db: &Db) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "beta").await;

    let sales = store.create_group(a.id, " sales ", ACTOR).await.unwrap();
    assert_eq!(sales.name, "sales");
    assert_eq!(sales.tenant_id, a.id);
    let groups_a = store.list_groups(a.id).await.unwrap();
    assert_eq!(
        names(&groups_a, |g| &g.name),
        set(&["admin", "sales", "users"])
    );
    assert!(groups_a.contains(&sales));
    // Not leaking into another tenant.
    let groups_b = store.list_groups(b.id).await.unwrap();
    assert_eq!(names(&groups_b, |g| &g.name), set(&["admin", "users"]));
    assert!(!groups_b.iter().any(|g| g.id == sales.id));

    assert_exists(store.create_group(a.id, "sales", ACTOR).await);
    assert_exists(store.create_group(a.id, "users", ACTOR).await);
    // The same name in another tenant is another group.
    let sales_b = store.create_group(b.id, "sales", ACTOR).await.unwrap();
    assert_ne!(sales_b.id, sales.id);
    assert_eq!(sales_b.tenant_id, b.id);

    assert_not_found(
        store.create_group(TenantId::new(), "x", ACTOR).await,
        "tenant",
    );
    assert_invalid(store.create_group(a.id, "   ", ACTOR).await);
    assert_eq!(store.list_groups(a.id).await.unwrap().len(), 3);
    assert!(store.list_groups(TenantId::new()).await.unwrap().is_empty());

    assert_eq!(outbox_count(db, "group.created").await, 2);
    let audit = audit_entries(store, Some(&a)).await;
    assert_eq!(
        audit.iter().filter(|e| e.action == "group_created").count(),
        1,
        "{audit:?}"
    );
}

async fn case_roles(store: &SqlIdentityStore, db: &Db) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "beta").await;
    let users = group(store, &a, "users").await;
    let sales = store.create_group(a.id, "sales", ACTOR).await.unwrap();
    let users_b = group(store, &b, "users").await;

    let auditors = store
        .create_role(a.id, "Auditors", false, ACTOR)
        .await
        .unwrap();
    assert_eq!(auditors.name, "Auditors");
    assert_eq!(auditors.tenant_id, a.id);
    assert!(!auditors.tenant_admin);
    assert!(auditors.permissions.is_empty());
    let bosses = store
        .create_role(a.id, "Bosses", true, ACTOR)
        .await
        .unwrap();
    assert!(bosses.tenant_admin);

    assert_exists(store.create_role(a.id, "Auditors", true, ACTOR).await);
    assert_exists(store.create_role(a.id, "Administrator", false, ACTOR).await);
    assert_not_found(
        store.create_role(TenantId::new(), "x", false, ACTOR).await,
        "tenant",
    );
    assert_invalid(store.create_role(a.id, "", false, ACTOR).await);
    // The same name in another tenant is fine.
    store
        .create_role(b.id, "Auditors", false, ACTOR)
        .await
        .unwrap();

    // Set.
    let ro_note = perms(&[Permission::Ro, Permission::Note]);
    let r = store
        .set_role_permissions(auditors.id, users.id, ro_note, ACTOR)
        .await
        .unwrap();
    assert_eq!(r.id, auditors.id);
    assert_eq!(r.permissions, BTreeMap::from([(users.id, ro_note)]));
    let rw = perms(&[Permission::Rw]);
    let r = store
        .set_role_permissions(auditors.id, sales.id, rw, ACTOR)
        .await
        .unwrap();
    assert_eq!(
        r.permissions,
        BTreeMap::from([(users.id, ro_note), (sales.id, rw)])
    );
    assert_eq!(role(store, &a, "Auditors").await, r);

    // Replace, not merge.
    let owner = perms(&[Permission::Owner]);
    let r = store
        .set_role_permissions(auditors.id, users.id, owner, ACTOR)
        .await
        .unwrap();
    assert_eq!(
        r.permissions,
        BTreeMap::from([(users.id, owner), (sales.id, rw)])
    );
    assert_eq!(role(store, &a, "Auditors").await, r);

    // An empty set removes the row.
    let r = store
        .set_role_permissions(auditors.id, users.id, PermSet::NONE, ACTOR)
        .await
        .unwrap();
    assert_eq!(r.permissions, BTreeMap::from([(sales.id, rw)]));
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM role_permissions WHERE role_id = $1")
        .bind(auditors.id.to_string())
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(rows, 1);
    assert_eq!(role(store, &a, "Auditors").await, r);

    // A group of another tenant, an unknown group, an unknown role.
    assert_not_found(
        store
            .set_role_permissions(auditors.id, users_b.id, rw, ACTOR)
            .await,
        "group",
    );
    assert_not_found(
        store
            .set_role_permissions(auditors.id, GroupId::new(), rw, ACTOR)
            .await,
        "group",
    );
    assert_not_found(
        store
            .set_role_permissions(RoleId::new(), users.id, rw, ACTOR)
            .await,
        "role",
    );
    assert_eq!(
        role(store, &a, "Auditors").await,
        r,
        "refused changes changed the role"
    );

    // Listing is per tenant.
    let roles_a = store.list_roles(a.id).await.unwrap();
    assert_eq!(roles_a.len(), ROLE_TEMPLATES.len() + 2);
    assert!(roles_a.iter().all(|r| r.tenant_id == a.id));
    let roles_b = store.list_roles(b.id).await.unwrap();
    assert_eq!(roles_b.len(), ROLE_TEMPLATES.len() + 1);
    assert!(roles_b.iter().all(|r| r.tenant_id == b.id));
    let auditors_b = roles_b.iter().find(|r| r.name == "Auditors").unwrap();
    assert_ne!(auditors_b.id, auditors.id);
    assert!(auditors_b.permissions.is_empty());
    assert!(!roles_b.iter().any(|r| r.id == bosses.id));
    // Built-in roles are untouched by the custom role's changes.
    let groups_a = store.list_groups(a.id).await.unwrap();
    let second = roles_a.iter().find(|r| r.name == "2nd level").unwrap();
    assert_eq!(
        role_perms_by_name(second, &groups_a),
        named(&[("users", rw)])
    );
}

// ---------------------------------------------------------------------------------------------
// Agents
// ---------------------------------------------------------------------------------------------

async fn case_agents(store: &SqlIdentityStore, _db: &Db) {
    // A local agent needs a password.
    assert_invalid(
        store
            .create_agent(new_agent("nopass", None), Source::Local, ACTOR)
            .await,
    );
    assert!(
        store
            .agent_credentials(&login("nopass"))
            .await
            .unwrap()
            .is_none()
    );

    let before = docket_platform::time::now_micros();
    let jane = store
        .create_agent(new_agent("Jane.Doe", Some(PASSWORD)), Source::Local, ACTOR)
        .await
        .unwrap();
    assert_eq!(jane.login.as_str(), "jane.doe");
    assert_eq!(jane.name, "Agent Jane.Doe");
    assert_eq!(jane.email.as_deref(), Some("Jane.Doe@example.com"));
    assert_eq!(jane.source, Source::Local);
    assert!(jane.active);
    assert!(!jane.totp_enabled);
    assert!(jane.created_at >= before);
    assert_eq!(store.get_agent(jane.id).await.unwrap(), jane);
    assert_not_found(store.get_agent(AgentId::new()).await, "agent");

    // Logins are case-insensitive: the same login in other case exists already, either source.
    assert_exists(
        store
            .create_agent(
                new_agent(" JANE.doe ", Some(PASSWORD)),
                Source::Local,
                ACTOR,
            )
            .await,
    );
    assert_exists(
        store
            .create_agent(new_agent("jane.DOE", None), Source::Ldap, ACTOR)
            .await,
    );

    // An LDAP agent has no password.
    let bob = ldap_agent(store, "bob").await;
    assert_eq!(bob.source, Source::Ldap);
    assert_eq!(store.get_agent(bob.id).await.unwrap(), bob);
    let bob_creds = store
        .agent_credentials(&login("BOB"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bob_creds.agent, bob);
    assert!(bob_creds.password_hash.is_none());

    // Credentials: the argon2id hash of the password.
    let creds = store
        .agent_credentials(&login("JANE.DOE"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(creds.agent, jane);
    let hash = creds.password_hash.unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(password::verify(PASSWORD, &hash));
    assert!(!password::verify("correct horse batterY", &hash));
    assert!(creds.totp_secret.is_none());
    assert!(creds.totp_last_step.is_none());
    assert!(
        store
            .agent_credentials(&login("nobody"))
            .await
            .unwrap()
            .is_none()
    );

    // A new password replaces the old.
    let new_hash = password::hash(&NewPassword::parse("a brand new password").unwrap()).unwrap();
    store
        .set_agent_password(jane.id, &new_hash, ACTOR)
        .await
        .unwrap();
    let stored = store
        .agent_credentials(&jane.login)
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap();
    assert_eq!(stored, new_hash);
    assert!(password::verify("a brand new password", &stored));
    assert!(!password::verify(PASSWORD, &stored));
    // Only local agents have a password here.
    assert_not_found(
        store.set_agent_password(bob.id, &new_hash, ACTOR).await,
        "local agent",
    );
    assert!(
        store
            .agent_credentials(&bob.login)
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .is_none()
    );
    assert_not_found(
        store
            .set_agent_password(AgentId::new(), &new_hash, ACTOR)
            .await,
        "local agent",
    );

    // Deactivation is visible to login.
    store.set_agent_active(jane.id, false, ACTOR).await.unwrap();
    let creds = store.agent_credentials(&jane.login).await.unwrap().unwrap();
    assert!(!creds.agent.active);
    assert!(!store.get_agent(jane.id).await.unwrap().active);
    assert!(
        store.get_agent(bob.id).await.unwrap().active,
        "only jane is deactivated"
    );
    store.set_agent_active(jane.id, true, ACTOR).await.unwrap();
    assert!(
        store
            .agent_credentials(&jane.login)
            .await
            .unwrap()
            .unwrap()
            .agent
            .active
    );
    assert_not_found(
        store.set_agent_active(AgentId::new(), false, ACTOR).await,
        "agent",
    );
}

async fn case_totp(store: &SqlIdentityStore, _db: &Db) {
    let jane = ldap_agent(store, "jane").await;
    let other = ldap_agent(store, "other").await;

    store
        .set_agent_totp(jane.id, Some("SECRET-ONE"), ACTOR)
        .await
        .unwrap();
    assert!(store.get_agent(jane.id).await.unwrap().totp_enabled);
    assert!(!store.get_agent(other.id).await.unwrap().totp_enabled);
    let creds = store.agent_credentials(&jane.login).await.unwrap().unwrap();
    assert!(creds.agent.totp_enabled);
    assert_eq!(creds.totp_secret.as_deref(), Some("SECRET-ONE"));
    assert_eq!(creds.totp_last_step, None);

    // Increasing steps are accepted; the same or an older one is a replay.
    assert!(store.use_totp_step(jane.id, 1000).await.unwrap());
    assert!(
        !store.use_totp_step(jane.id, 1000).await.unwrap(),
        "same step replayed"
    );
    assert!(
        !store.use_totp_step(jane.id, 999).await.unwrap(),
        "older step accepted"
    );
    assert!(store.use_totp_step(jane.id, 1001).await.unwrap());
    assert!(store.use_totp_step(jane.id, 1050).await.unwrap());
    assert!(
        !store.use_totp_step(jane.id, 1020).await.unwrap(),
        "older step accepted"
    );
    let creds = store.agent_credentials(&jane.login).await.unwrap().unwrap();
    assert_eq!(creds.totp_last_step, Some(1050));
    // Steps are per agent.
    assert!(store.use_totp_step(other.id, 5).await.unwrap());
    assert!(!store.use_totp_step(jane.id, 1050).await.unwrap());

    // A new secret resets the last step.
    store
        .set_agent_totp(jane.id, Some("SECRET-TWO"), ACTOR)
        .await
        .unwrap();
    let creds = store.agent_credentials(&jane.login).await.unwrap().unwrap();
    assert_eq!(creds.totp_secret.as_deref(), Some("SECRET-TWO"));
    assert_eq!(creds.totp_last_step, None);
    assert!(store.use_totp_step(jane.id, 10).await.unwrap());
    assert!(!store.use_totp_step(jane.id, 10).await.unwrap());

    // Removing the secret disables the second factor.
    store.set_agent_totp(jane.id, None, ACTOR).await.unwrap();
    let creds = store.agent_credentials(&jane.login).await.unwrap().unwrap();
    assert!(!creds.agent.totp_enabled);
    assert!(creds.totp_secret.is_none());
    assert_not_found(
        store.set_agent_totp(AgentId::new(), Some("S"), ACTOR).await,
        "agent",
    );
    assert!(!store.use_totp_step(AgentId::new(), 1).await.unwrap());
}

// ---------------------------------------------------------------------------------------------
// Membership and grants
// ---------------------------------------------------------------------------------------------

async fn case_membership_and_grants(store: &SqlIdentityStore, _db: &Db) {
    let t = tenant(store, "acme").await;
    let users = group(store, &t, "users").await;
    let admin_group = group(store, &t, "admin").await;
    let team = role(store, &t, "Team member").await;
    let first = role(store, &t, "1st level (help desk)").await;
    let administrator = role(store, &t, "Administrator").await;

    let jane = ldap_agent(store, "jane").await;
    assert!(
        store
            .agent_grants(jane.id, T0)
            .await
            .unwrap()
            .tenants
            .is_empty()
    );
    assert!(
        store
            .agent_grants(AgentId::new(), T0)
            .await
            .unwrap()
            .tenants
            .is_empty()
    );

    // Not a member yet: no role, no own permissions.
    assert_invalid(store.assign_role(jane.id, team.id, ACTOR).await);
    assert_invalid(
        store
            .set_agent_permissions(jane.id, users.id, perms(&[Permission::Ro]), ACTOR)
            .await,
    );
    assert!(
        store
            .agent_grants(jane.id, T0)
            .await
            .unwrap()
            .tenants
            .is_empty()
    );

    store
        .add_agent_to_tenant(jane.id, t.id, ACTOR)
        .await
        .unwrap();
    store
        .add_agent_to_tenant(jane.id, t.id, ACTOR)
        .await
        .unwrap(); // idempotent
    let grants = store.agent_grants(jane.id, T0).await.unwrap();
    assert_eq!(
        grants.tenants,
        BTreeMap::from([(t.id.to_string(), TenantGrants::default())])
    );
    assert_not_found(
        store
            .add_agent_to_tenant(jane.id, TenantId::new(), ACTOR)
            .await,
        "tenant",
    );
    assert_not_found(
        store.add_agent_to_tenant(AgentId::new(), t.id, ACTOR).await,
        "agent",
    );
    assert_not_found(
        store.assign_role(jane.id, RoleId::new(), ACTOR).await,
        "role",
    );
    assert_not_found(
        store.assign_role(AgentId::new(), team.id, ACTOR).await,
        "agent",
    );

    // Through a role.
    store.assign_role(jane.id, team.id, ACTOR).await.unwrap();
    store.assign_role(jane.id, team.id, ACTOR).await.unwrap(); // idempotent
    let ro_note = perms(&[Permission::Ro, Permission::Note]);
    assert_eq!(
        perms_by_name(store, &jane, &t).await,
        named(&[("users", ro_note)])
    );
    let g = grants_in(store, &jane, &t, T0).await.unwrap();
    assert!(!g.admin);
    let on_users = g.groups[&users.id.to_string()];
    assert!(on_users.allows(Permission::Ro));
    assert!(on_users.allows(Permission::Note));
    assert!(!on_users.allows(Permission::Owner));
    assert!(!on_users.allows(Permission::Rw));

    // The agent's own permissions are merged with the role's (union).
    store
        .set_agent_permissions(jane.id, users.id, perms(&[Permission::Owner]), ACTOR)
        .await
        .unwrap();
    let ro_note_owner = perms(&[Permission::Ro, Permission::Note, Permission::Owner]);
    assert_eq!(
        perms_by_name(store, &jane, &t).await,
        named(&[("users", ro_note_owner)])
    );

    // rw on the admin group is not tenant administration.
    let rw = perms(&[Permission::Rw]);
    store
        .set_agent_permissions(jane.id, admin_group.id, rw, ACTOR)
        .await
        .unwrap();
    assert_eq!(
        perms_by_name(store, &jane, &t).await,
        named(&[("users", ro_note_owner), ("admin", rw)])
    );
    let g = grants_in(store, &jane, &t, T0).await.unwrap();
    assert!(!g.admin, "admin only through a tenant_admin role");
    // rw implies every permission.
    let on_admin = g.groups[&admin_group.id.to_string()];
    for p in Permission::ALL {
        assert!(on_admin.allows(p), "{p}");
    }

    // Two roles merge.
    store.assign_role(jane.id, first.id, ACTOR).await.unwrap();
    let first_level = perms(&[
        Permission::Ro,
        Permission::Create,
        Permission::MoveInto,
        Permission::Note,
        Permission::Owner,
        Permission::Priority,
    ]);
    assert_eq!(
        perms_by_name(store, &jane, &t).await,
        named(&[("users", first_level), ("admin", rw)])
    );
    let on_users = grants_in(store, &jane, &t, T0).await.unwrap().groups[&users.id.to_string()];
    assert!(on_users.allows(Permission::Priority));
    assert!(!on_users.allows(Permission::Rw));

    // Revoking a role removes what only it granted.
    store.revoke_role(jane.id, first.id, ACTOR).await.unwrap();
    assert_eq!(
        perms_by_name(store, &jane, &t).await,
        named(&[("users", ro_note_owner), ("admin", rw)])
    );
    store.revoke_role(jane.id, team.id, ACTOR).await.unwrap();
    assert_eq!(
        perms_by_name(store, &jane, &t).await,
        named(&[("users", perms(&[Permission::Owner])), ("admin", rw)])
    );
    assert_not_found(
        store.revoke_role(jane.id, RoleId::new(), ACTOR).await,
        "role",
    );

    // An empty set removes the agent's own permissions.
    store
        .set_agent_permissions(jane.id, admin_group.id, PermSet::NONE, ACTOR)
        .await
        .unwrap();
    assert_eq!(
        perms_by_name(store, &jane, &t).await,
        named(&[("users", perms(&[Permission::Owner]))])
    );

    // Administration only through a tenant_admin role.
    store
        .assign_role(jane.id, administrator.id, ACTOR)
        .await
        .unwrap();
    let g = grants_in(store, &jane, &t, T0).await.unwrap();
    assert!(g.admin);
    assert_eq!(
        perms_by_name(store, &jane, &t).await,
        named(&[
            ("users", perms(&[Permission::Owner, Permission::Rw])),
            ("admin", rw)
        ])
    );
    store
        .revoke_role(jane.id, administrator.id, ACTOR)
        .await
        .unwrap();
    assert!(!grants_in(store, &jane, &t, T0).await.unwrap().admin);

    // A custom tenant_admin role without any permissions still makes an administrator.
    let bosses = store
        .create_role(t.id, "Bosses", true, ACTOR)
        .await
        .unwrap();
    store.assign_role(jane.id, bosses.id, ACTOR).await.unwrap();
    let g = grants_in(store, &jane, &t, T0).await.unwrap();
    assert!(g.admin);
    assert_eq!(
        perms_by_name(store, &jane, &t).await,
        named(&[("users", perms(&[Permission::Owner]))])
    );

    // Role changes reach the agent's grants.
    store
        .set_role_permissions(bosses.id, admin_group.id, perms(&[Permission::Ro]), ACTOR)
        .await
        .unwrap();
    assert_eq!(
        perms_by_name(store, &jane, &t).await,
        named(&[
            ("users", perms(&[Permission::Owner])),
            ("admin", perms(&[Permission::Ro]))
        ])
    );

    // Another agent is unaffected.
    let bob = member(store, "bob", &[&t]).await;
    assert_eq!(
        grants_in(store, &bob, &t, T0).await.unwrap(),
        TenantGrants::default()
    );
}

async fn case_grants_stay_in_their_tenant(store: &SqlIdentityStore, _db: &Db) {
    let a = tenant(store, "alpha").await;
    let b = tenant(store, "beta").await;
    let c = tenant(store, "gamma").await;
    let jane = member(store, "jane", &[&a, &b]).await;

    store
        .assign_role(jane.id, role(store, &a, "Team member").await.id, ACTOR)
        .await
        .unwrap();
    store
        .assign_role(jane.id, role(store, &b, "2nd level").await.id, ACTOR)
        .await
        .unwrap();
    store
        .assign_role(jane.id, role(store, &b, "Administrator").await.id, ACTOR)
        .await
        .unwrap();
    let sales_b = store.create_group(b.id, "sales", ACTOR).await.unwrap();
    store
        .set_agent_permissions(jane.id, sales_b.id, perms(&[Permission::Create]), ACTOR)
        .await
        .unwrap();

    let grants = store.agent_grants(jane.id, T0).await.unwrap();
    assert_eq!(
        grants.tenants.keys().cloned().collect::<BTreeSet<_>>(),
        set(&[&a.id.to_string(), &b.id.to_string()])
    );
    for t in [&a, &b] {
        let own: BTreeSet<String> = store
            .list_groups(t.id)
            .await
            .unwrap()
            .iter()
            .map(|g| g.id.to_string())
            .collect();
        let granted: BTreeSet<String> = grants.tenants[&t.id.to_string()]
            .groups
            .keys()
            .cloned()
            .collect();
        assert!(
            granted.is_subset(&own),
            "grants in {} name groups of another tenant: {granted:?}",
            t.slug
        );
    }
    let rw = perms(&[Permission::Rw]);
    assert_eq!(
        perms_by_name(store, &jane, &a).await,
        named(&[("users", perms(&[Permission::Ro, Permission::Note]))])
    );
    assert!(!grants.tenants[&a.id.to_string()].admin);
    assert_eq!(
        perms_by_name(store, &jane, &b).await,
        named(&[
            ("users", rw),
            ("admin", rw),
            ("sales", perms(&[Permission::Create]))
        ])
    );
    assert!(grants.tenants[&b.id.to_string()].admin);
    // The tenant-B rw on `users` gives nothing on tenant A's `users`.
    let users_a = group(store, &a, "users").await;
    let on_users_a = grants.tenants[&a.id.to_string()].groups[&users_a.id.to_string()];
    assert!(!on_users_a.allows(Permission::Owner));
    assert!(
        !grants.tenants[&b.id.to_string()]
            .groups
            .contains_key(&users_a.id.to_string())
    );

    // Nothing in a tenant the agent is not a member of.
    assert_invalid(
        store
            .set_agent_permissions(jane.id, group(store, &c, "users").await.id, rw, ACTOR)
            .await,
    );
    assert_invalid(
        store
            .assign_role(jane.id, role(store, &c, "Administrator").await.id, ACTOR)
            .await,
    );
    assert_not_found(
        store
            .set_agent_permissions(jane.id, GroupId::new(), rw, ACTOR)
            .await,
        "group",
    );
    assert_not_found(
        store
            .set_agent_permissions(AgentId::new(), users_a.id, rw, ACTOR)
            .await,
        "agent",
    );
    let after = store.agent_grants(jane.id, T0).await.unwrap();
    assert_eq!(after, grants, "refused changes changed the grants");
    assert!(!after.tenants.contains_key(&c.id.to_string()));
}

// ---------------------------------------------------------------------------------------------
// Absences
// ---------------------------------------------------------------------------------------------

async fn case_absences(store: &SqlIdentityStore, _db: &Db) {
    let t = tenant(store, "acme").await;
    let other_tenant = tenant(store, "beta").await;
    let absent = member(store, "absent", &[&t, &other_tenant]).await;
    let substitute = member(store, "substitute", &[&t]).await;
    let bystander = member(store, "bystander", &[&t]).await;

    let starts = T0 + 10 * MINUTE;
    let ends = T0 + 20 * MINUTE;

    // Validation.
    assert_invalid(
        store
            .add_absence(absent.id, substitute.id, starts, starts, ACTOR)
            .await,
    );
    assert_invalid(
        store
            .add_absence(absent.id, substitute.id, ends, starts, ACTOR)
            .await,
    );
    assert_invalid(
        store
            .add_absence(absent.id, absent.id, starts, ends, ACTOR)
            .await,
    );
    assert_not_found(
        store
            .add_absence(AgentId::new(), substitute.id, starts, ends, ACTOR)
            .await,
        "agent",
    );
    assert_not_found(
        store
            .add_absence(absent.id, AgentId::new(), starts, ends, ACTOR)
            .await,
        "agent",
    );
    // None of the refused ones took effect.
    let mid = starts + 5 * MINUTE;
    assert!(
        grants_in(store, &substitute, &t, mid)
            .await
            .unwrap()
            .substitute_for
            .is_empty()
    );

    let absence = store
        .add_absence(absent.id, substitute.id, starts, ends, ACTOR)
        .await
        .unwrap();
    assert_eq!(absence.agent_id, absent.id);
    assert_eq!(absence.substitute_id, substitute.id);
    assert_eq!(absence.starts_at, starts);
    assert_eq!(absence.ends_at, ends);

    let subs = |g: Option<TenantGrants>| g.unwrap().substitute_for;
    let absent_id = absent.id.to_string();
    // Active in [starts, ends).
    for (at, active) in [
        (T0, false),
        (starts - 1, false),
        (starts, true),
        (mid, true),
        (ends - 1, true),
        (ends, false),
        (ends + DAY, false),
    ] {
        let expected = if active {
            vec![absent_id.clone()]
        } else {
            vec![]
        };
        assert_eq!(
            subs(grants_in(store, &substitute, &t, at).await),
            expected,
            "at {} minutes",
            (at - T0) / MINUTE
        );
        // Only the substitute stands in; the absent one and a bystander do not.
        assert!(subs(grants_in(store, &absent, &t, at).await).is_empty());
        assert!(subs(grants_in(store, &bystander, &t, at).await).is_empty());
    }
    // Only in the tenants both share: the substitute is not a member of the other tenant.
    let grants = store.agent_grants(substitute.id, mid).await.unwrap();
    assert_eq!(grants.tenants.len(), 1);
    assert!(!grants.tenants.contains_key(&other_tenant.id.to_string()));
    assert!(
        subs(grants_in(store, &absent, &other_tenant, mid).await).is_empty(),
        "the absent agent substitutes nobody"
    );
    // Substitution grants no permissions by itself.
    assert!(
        grants_in(store, &substitute, &t, mid)
            .await
            .unwrap()
            .groups
            .is_empty()
    );

    // Once the substitute joins the other tenant, it stands in there as well.
    store
        .add_agent_to_tenant(substitute.id, other_tenant.id, ACTOR)
        .await
        .unwrap();
    assert_eq!(
        subs(grants_in(store, &substitute, &other_tenant, mid).await),
        vec![absent_id.clone()]
    );
    assert!(subs(grants_in(store, &substitute, &other_tenant, ends).await).is_empty());

    // Overlapping absences of the same agent list it once.
    store
        .add_absence(
            absent.id,
            substitute.id,
            starts - MINUTE,
            mid + MINUTE,
            ACTOR,
        )
        .await
        .unwrap();
    assert_eq!(
        subs(grants_in(store, &substitute, &t, mid).await),
        vec![absent_id.clone()]
    );
    assert_eq!(
        subs(grants_in(store, &substitute, &t, starts - MINUTE).await),
        vec![absent_id]
    );
}

// ---------------------------------------------------------------------------------------------
// Companies and customers
// ---------------------------------------------------------------------------------------------

fn new_customer(
    tenant: &Tenant,
    login_name: &str,
    company: Option<&Company>,
    password: Option<&str>,
) -> NewCustomer {
    NewCustomer {
        tenant_id: tenant.id,
        login: login(login_name),
        name: format!("Customer {login_name}"),
        email: Some(format!("{login_name}@example.org")),
        phone: Some("+49 30 123456".to_owned()),
        company_id: company.map(|c| c.id),
        company_tickets: company.is_some(),
        password: password.map(|p| NewPassword::parse(p).unwrap()),
        language: Some("de".to_owned()),
    }
}

async fn case_customer_update(store: &SqlIdentityStore, db: &Db) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "beta").await;
    let company = store.create_company(a.id, "Physik", ACTOR).await.unwrap();
    let foreign = store.create_company(b.id, "Chemie", ACTOR).await.unwrap();
    let jane = store
        .create_customer(
            new_customer(&a, "jane", None, Some(PASSWORD)),
            Source::Local,
            ACTOR,
        )
        .await
        .unwrap();
    let old_hash = store
        .customer_credentials(a.id, &jane.login)
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap();

    let update = CustomerUpdate {
        name: " Jane Roe ".to_owned(),
        email: Some("jane.roe@example.org".to_owned()),
        phone: None,
        company_id: Some(company.id),
        company_tickets: true,
        language: Some("en".to_owned()),
        active: false,
        password: Some(NewPassword::parse("jane's new password").unwrap()),
    };
    let changed = store
        .update_customer(jane.id, update.clone(), ACTOR)
        .await
        .unwrap();
    assert_eq!(
        changed,
        Customer {
            name: "Jane Roe".to_owned(),
            email: Some("jane.roe@example.org".to_owned()),
            phone: None,
            company_id: Some(company.id),
            company_tickets: true,
            language: Some("en".to_owned()),
            active: false,
            ..jane.clone()
        }
    );
    assert_eq!(store.get_customer(jane.id).await.unwrap(), changed);
    let new_hash = store
        .customer_credentials(a.id, &jane.login)
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap();
    assert!(password::verify("jane's new password", &new_hash));
    assert!(!password::verify(PASSWORD, &new_hash));

    // Without a password the hash stays.
    let kept = store
        .update_customer(
            jane.id,
            CustomerUpdate {
                password: None,
                ..update.clone()
            },
            ACTOR,
        )
        .await
        .unwrap();
    assert_eq!(kept, changed);
    let still = store
        .customer_credentials(a.id, &jane.login)
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap();
    assert_eq!(still, new_hash);
    assert_ne!(still, old_hash);

    // Ticket core hears the new details, with the company's name.
    let last = outbox(db)
        .await
        .iter()
        .filter(|(t, _)| t == "customer.changed")
        .map(|(_, bytes)| {
            let envelope = ev::Envelope::decode(bytes.as_slice()).unwrap();
            ev::CustomerChanged::decode(envelope.payload.as_slice()).unwrap()
        })
        .rfind(|c| c.customer_id == jane.id.to_string())
        .unwrap();
    assert_eq!(
        last,
        ev::CustomerChanged {
            customer_id: jane.id.to_string(),
            tenant_id: a.id.to_string(),
            company_id: company.id.to_string(),
            name: "Jane Roe".into(),
            email: "jane.roe@example.org".into(),
            phone: String::new(),
            company_name: "Physik".into(),
        }
    );

    // The audit log names what changed, not the values (newest first: the second save
    // changed nothing).
    let entries: Vec<AuditEntry> = audit_entries(store, Some(&a))
        .await
        .into_iter()
        .filter(|e| e.action == "customer_changed")
        .collect();
    assert_eq!(entries.len(), 2);
    assert!(
        entries
            .iter()
            .all(|e| e.target == Some(jane.id.to_string()))
    );
    assert_eq!(entries[0].details["changed"], serde_json::json!([]));
    assert_eq!(
        entries[1].details["changed"],
        serde_json::json!([
            "name",
            "email",
            "phone",
            "company_id",
            "company_tickets",
            "language",
            "active",
            "password"
        ])
    );

    // Another tenant's company, an unknown customer, an empty name: refused, nothing changed.
    assert_not_found(
        store
            .update_customer(
                jane.id,
                CustomerUpdate {
                    company_id: Some(foreign.id),
                    ..update.clone()
                },
                ACTOR,
            )
            .await,
        "company",
    );
    assert_not_found(
        store
            .update_customer(CustomerId::new(), update.clone(), ACTOR)
            .await,
        "customer",
    );
    assert_invalid(
        store
            .update_customer(
                jane.id,
                CustomerUpdate {
                    name: " ".to_owned(),
                    ..update
                },
                ACTOR,
            )
            .await,
    );
    assert_eq!(store.get_customer(jane.id).await.unwrap(), changed);
}

async fn case_companies_and_customers(store: &SqlIdentityStore, db: &Db) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "beta").await;

    let company = store
        .create_company(a.id, " Widgets Ltd ", ACTOR)
        .await
        .unwrap();
    assert_eq!(company.name, "Widgets Ltd");
    assert_eq!(company.tenant_id, a.id);
    assert_exists(store.create_company(a.id, "Widgets Ltd", ACTOR).await);
    let company_b = store
        .create_company(b.id, "Widgets Ltd", ACTOR)
        .await
        .unwrap();
    assert_ne!(company_b.id, company.id);
    assert_invalid(store.create_company(a.id, "", ACTOR).await);
    assert_not_found(
        store
            .create_company(TenantId::new(), "Nowhere", ACTOR)
            .await,
        "tenant",
    );

    // Without a company.
    let solo = store
        .create_customer(
            new_customer(&a, "Solo", None, Some(PASSWORD)),
            Source::Local,
            ACTOR,
        )
        .await
        .unwrap();
    assert_eq!(solo.tenant_id, a.id);
    assert_eq!(solo.login.as_str(), "solo");
    assert_eq!(solo.name, "Customer Solo");
    assert_eq!(solo.email.as_deref(), Some("Solo@example.org"));
    assert_eq!(solo.phone.as_deref(), Some("+49 30 123456"));
    assert_eq!(solo.company_id, None);
    assert!(!solo.company_tickets);
    assert_eq!(solo.source, Source::Local);
    assert_eq!(solo.language.as_deref(), Some("de"));
    assert!(solo.active);
    assert_eq!(store.get_customer(solo.id).await.unwrap(), solo);

    // With a company of its tenant; an LDAP customer has no password.
    let worker = store
        .create_customer(
            new_customer(&a, "worker", Some(&company), None),
            Source::Ldap,
            ACTOR,
        )
        .await
        .unwrap();
    assert_eq!(worker.company_id, Some(company.id));
    assert!(worker.company_tickets);
    assert_eq!(worker.source, Source::Ldap);
    assert_eq!(store.get_customer(worker.id).await.unwrap(), worker);
    let worker_creds = store
        .customer_credentials(a.id, &worker.login)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(worker_creds.customer, worker);
    assert!(worker_creds.password_hash.is_none());

    // Each new customer is announced with its company and contact details, for ticket core.
    let announced: Vec<ev::CustomerChanged> = outbox(db)
        .await
        .iter()
        .filter(|(t, _)| t == "customer.changed")
        .map(|(_, bytes)| {
            let envelope = ev::Envelope::decode(bytes.as_slice()).unwrap();
            assert_eq!(envelope.tenant_id, a.id.to_string());
            ev::CustomerChanged::decode(envelope.payload.as_slice()).unwrap()
        })
        .collect();
    assert_eq!(
        announced,
        [
            ev::CustomerChanged {
                customer_id: solo.id.to_string(),
                tenant_id: a.id.to_string(),
                company_id: String::new(),
                name: solo.name.clone(),
                email: solo.email.clone().unwrap(),
                phone: "+49 30 123456".into(),
                company_name: String::new(),
            },
            ev::CustomerChanged {
                customer_id: worker.id.to_string(),
                tenant_id: a.id.to_string(),
                company_id: company.id.to_string(),
                name: worker.name.clone(),
                email: worker.email.clone().unwrap(),
                phone: "+49 30 123456".into(),
                company_name: "Widgets Ltd".into(),
            },
        ]
    );

    // A company of another tenant, or none at all.
    assert_not_found(
        store
            .create_customer(
                new_customer(&a, "spy", Some(&company_b), None),
                Source::Ldap,
                ACTOR,
            )
            .await,
        "company",
    );
    let ghost = Company {
        id: CompanyId::new(),
        tenant_id: a.id,
        name: "Ghost".to_owned(),
    };
    assert_not_found(
        store
            .create_customer(
                new_customer(&a, "spy", Some(&ghost), None),
                Source::Ldap,
                ACTOR,
            )
            .await,
        "company",
    );
    assert!(
        store
            .customer_credentials(a.id, &login("spy"))
            .await
            .unwrap()
            .is_none()
    );

    // Logins are unique per tenant, case-insensitively.
    assert_exists(
        store
            .create_customer(new_customer(&a, "SOLO", None, None), Source::Ldap, ACTOR)
            .await,
    );
    let solo_b = store
        .create_customer(
            new_customer(&b, "solo", None, Some("another password")),
            Source::Local,
            ACTOR,
        )
        .await
        .unwrap();
    assert_eq!(solo_b.tenant_id, b.id);
    assert_ne!(solo_b.id, solo.id);
    assert_not_found(store.get_customer(CustomerId::new()).await, "customer");
    let nowhere = Tenant {
        id: TenantId::new(),
        ..a.clone()
    };
    assert_not_found(
        store
            .create_customer(
                new_customer(&nowhere, "lost", None, None),
                Source::Ldap,
                ACTOR,
            )
            .await,
        "tenant",
    );

    // Credentials per tenant.
    let creds = store
        .customer_credentials(a.id, &login("Solo"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(creds.customer, solo);
    let hash = creds.password_hash.unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(password::verify(PASSWORD, &hash));
    assert!(!password::verify("another password", &hash));
    let creds_b = store
        .customer_credentials(b.id, &login("solo"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(creds_b.customer, solo_b);
    assert!(password::verify(
        "another password",
        &creds_b.password_hash.unwrap()
    ));
    // The worker of tenant A is unknown in tenant B, and in an unknown tenant.
    assert!(
        store
            .customer_credentials(b.id, &worker.login)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .customer_credentials(TenantId::new(), &solo.login)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .customer_credentials(a.id, &login("nobody"))
            .await
            .unwrap()
            .is_none()
    );
}

// ---------------------------------------------------------------------------------------------
// Throttling
// ---------------------------------------------------------------------------------------------

/// Records `n` failures of `key`, at `start`, `start + step`, …, each expected not to lock.
async fn fail_without_lock(
    store: &SqlIdentityStore,
    key: &str,
    start: Micros,
    step: Micros,
    n: i64,
) {
    for i in 0..n {
        let at = start + i * step;
        assert_eq!(
            store.record_login_failure(key, at).await.unwrap(),
            None,
            "failure {} of {key} locked",
            i + 1
        );
        assert_eq!(store.locked_until(key, at).await.unwrap(), None);
    }
}

async fn case_throttle_locks_on_the_fifth_failure(store: &SqlIdentityStore, _db: &Db) {
    let key = "agent:jane";
    assert_eq!(store.locked_until(key, T0).await.unwrap(), None);
    fail_without_lock(store, key, T0, MINUTE, Throttle::MAX_FAILURES - 1).await;

    // The fifth within the window locks, from its own time.
    let fifth = T0 + Throttle::WINDOW - 1;
    let until = fifth + Throttle::LOCKOUT;
    assert_eq!(
        store.record_login_failure(key, fifth).await.unwrap(),
        Some(until)
    );
    assert_eq!(store.locked_until(key, fifth).await.unwrap(), Some(until));
    assert_eq!(
        store.locked_until(key, until - 1).await.unwrap(),
        Some(until)
    );
    assert_eq!(store.locked_until(key, until).await.unwrap(), None);
    assert_eq!(store.locked_until(key, until + DAY).await.unwrap(), None);
    // Other keys are not locked.
    assert_eq!(store.locked_until("agent:bob", fifth).await.unwrap(), None);

    // After the lockout the count starts afresh: four more do not lock, the fifth does.
    fail_without_lock(store, key, until, SECOND, Throttle::MAX_FAILURES - 1).await;
    let again = until + 10 * SECOND;
    assert_eq!(
        store.record_login_failure(key, again).await.unwrap(),
        Some(again + Throttle::LOCKOUT)
    );
    assert_eq!(
        store.locked_until(key, again).await.unwrap(),
        Some(again + Throttle::LOCKOUT)
    );
}

async fn case_throttle_lockout_is_neither_lifted_nor_extended(store: &SqlIdentityStore, _db: &Db) {
    let key = "customer:acme:bob";
    fail_without_lock(store, key, T0, SECOND, Throttle::MAX_FAILURES - 1).await;
    let fifth = T0 + MINUTE;
    let until = fifth + Throttle::LOCKOUT;
    assert_eq!(
        store.record_login_failure(key, fifth).await.unwrap(),
        Some(until)
    );

    // Regression: a sixth failure while locked must keep locked_until unchanged.
    let sixth = fifth + MINUTE;
    assert_eq!(store.record_login_failure(key, sixth).await.unwrap(), None);
    assert_eq!(store.locked_until(key, sixth).await.unwrap(), Some(until));
    // Nor do many more, up to the lock's last moment.
    for i in 1..=(2 * Throttle::MAX_FAILURES) {
        let at = sixth + i * SECOND;
        assert_eq!(
            store.record_login_failure(key, at).await.unwrap(),
            None,
            "failure {i}"
        );
        assert_eq!(
            store.locked_until(key, at).await.unwrap(),
            Some(until),
            "failure {i}"
        );
    }
    assert_eq!(
        store.record_login_failure(key, until - 1).await.unwrap(),
        None
    );
    assert_eq!(
        store.locked_until(key, until - 1).await.unwrap(),
        Some(until)
    );
    assert_eq!(store.locked_until(key, until).await.unwrap(), None);
    // Failures during the lockout did not count towards the next one.
    fail_without_lock(store, key, until, SECOND, Throttle::MAX_FAILURES - 1).await;
}

async fn case_throttle_spread_failures_and_clearing(store: &SqlIdentityStore, _db: &Db) {
    // Five failures spanning more than the window do not lock, however many follow at that pace.
    let spread = "agent:spread";
    let step = Throttle::WINDOW / (Throttle::MAX_FAILURES - 1) + SECOND;
    fail_without_lock(store, spread, T0, step, 3 * Throttle::MAX_FAILURES).await;

    // Clearing resets the count.
    let key = "agent:cleared";
    fail_without_lock(store, key, T0, SECOND, Throttle::MAX_FAILURES - 1).await;
    store.clear_login_failures(key).await.unwrap();
    fail_without_lock(store, key, T0 + MINUTE, SECOND, Throttle::MAX_FAILURES - 1).await;
    let fifth = T0 + 2 * MINUTE;
    let until = fifth + Throttle::LOCKOUT;
    assert_eq!(
        store.record_login_failure(key, fifth).await.unwrap(),
        Some(until)
    );
    // Clearing lifts a lock (a successful admin reset) and leaves other keys alone.
    fail_without_lock(store, "agent:other", T0, SECOND, Throttle::MAX_FAILURES - 1).await;
    store.clear_login_failures(key).await.unwrap();
    assert_eq!(store.locked_until(key, fifth + MINUTE).await.unwrap(), None);
    assert_eq!(
        store
            .record_login_failure("agent:other", T0 + 5 * SECOND)
            .await
            .unwrap(),
        Some(T0 + 5 * SECOND + Throttle::LOCKOUT),
        "clearing one key cleared another"
    );
    // Clearing an unknown key is fine.
    store.clear_login_failures("agent:nobody").await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Sessions, API tokens, signing keys
// ---------------------------------------------------------------------------------------------

async fn case_sessions(store: &SqlIdentityStore, _db: &Db) {
    let agent_session = Session {
        id: "sess-agent".to_owned(),
        kind: PrincipalKind::Agent,
        principal_id: AgentId::new().to_string(),
        secret_hash: "hash-one".to_owned(),
        created_at: T0,
        expires_at: T0 + DAY,
        revoked_at: None,
    };
    let customer_session = Session {
        id: "sess-customer".to_owned(),
        kind: PrincipalKind::Customer,
        principal_id: CustomerId::new().to_string(),
        secret_hash: "hash-two".to_owned(),
        created_at: T0 + 1,
        expires_at: T0 + 2 * DAY,
        revoked_at: None,
    };
    store.create_session(&agent_session).await.unwrap();
    store.create_session(&customer_session).await.unwrap();
    assert!(
        store.create_session(&agent_session).await.is_err(),
        "duplicate id"
    );
    assert_eq!(
        store.get_session("sess-agent").await.unwrap(),
        Some(agent_session.clone())
    );
    assert_eq!(
        store.get_session("sess-customer").await.unwrap(),
        Some(customer_session.clone())
    );
    assert_eq!(store.get_session("nope").await.unwrap(), None);

    let revoked_at = T0 + MINUTE;
    store
        .revoke_session("sess-agent", revoked_at)
        .await
        .unwrap();
    let revoked = Session {
        revoked_at: Some(revoked_at),
        ..agent_session
    };
    assert_eq!(
        store.get_session("sess-agent").await.unwrap(),
        Some(revoked.clone())
    );
    // Idempotent: a second revocation keeps the first time.
    store
        .revoke_session("sess-agent", revoked_at + MINUTE)
        .await
        .unwrap();
    assert_eq!(
        store.get_session("sess-agent").await.unwrap(),
        Some(revoked)
    );
    // Other sessions are untouched; an unknown one is no error.
    assert_eq!(
        store.get_session("sess-customer").await.unwrap(),
        Some(customer_session)
    );
    store.revoke_session("nope", revoked_at).await.unwrap();
    assert_eq!(store.get_session("nope").await.unwrap(), None);
}

/// Ending a principal's sessions revokes its open ones only (not another principal's, not one
/// already revoked or expired), and the revoked list holds what was revoked since a time.
async fn case_ending_sessions(store: &SqlIdentityStore, _db: &Db) {
    let agent = AgentId::new().to_string();
    let session = |id: &str, kind: PrincipalKind, principal: &str, expires_at: Micros| Session {
        id: id.to_owned(),
        kind,
        principal_id: principal.to_owned(),
        secret_hash: format!("hash-{id}"),
        created_at: T0,
        expires_at,
        revoked_at: None,
    };
    for s in [
        session("a-one", PrincipalKind::Agent, &agent, T0 + DAY),
        session("a-two", PrincipalKind::Agent, &agent, T0 + DAY),
        session("a-logged-out", PrincipalKind::Agent, &agent, T0 + DAY),
        session("a-expired", PrincipalKind::Agent, &agent, T0 + MINUTE),
        // The same id string as another kind of principal: not the agent's.
        session("c-same-id", PrincipalKind::Customer, &agent, T0 + DAY),
        session(
            "other",
            PrincipalKind::Agent,
            &AgentId::new().to_string(),
            T0 + DAY,
        ),
    ] {
        store.create_session(&s).await.unwrap();
    }
    store
        .revoke_session("a-logged-out", T0 + SECOND)
        .await
        .unwrap();
    assert_eq!(
        store.revoked_sessions(T0).await.unwrap(),
        vec!["a-logged-out"]
    );

    let at = T0 + 2 * MINUTE;
    let ended = store
        .end_sessions(PrincipalKind::Agent, &agent, at)
        .await
        .unwrap();
    assert_eq!(ended, 2, "the two open sessions");
    for id in ["a-one", "a-two"] {
        let s = store.get_session(id).await.unwrap().unwrap();
        assert_eq!(s.revoked_at, Some(at), "{id}");
    }
    let kept =
        |id: &'static str| async move { store.get_session(id).await.unwrap().unwrap().revoked_at };
    assert_eq!(
        kept("a-logged-out").await,
        Some(T0 + SECOND),
        "first revocation kept"
    );
    assert_eq!(
        kept("a-expired").await,
        None,
        "an expired session is left as it was"
    );
    assert_eq!(kept("c-same-id").await, None);
    assert_eq!(kept("other").await, None);

    assert_eq!(
        store.revoked_sessions(T0).await.unwrap(),
        vec!["a-logged-out", "a-one", "a-two"]
    );
    assert_eq!(
        store.revoked_sessions(T0 + MINUTE).await.unwrap(),
        vec!["a-one", "a-two"],
        "revoked before `since`: no longer listed"
    );
    assert!(store.revoked_sessions(at + 1).await.unwrap().is_empty());
    // Nothing left to end.
    assert_eq!(
        store
            .end_sessions(PrincipalKind::Agent, &agent, at + MINUTE)
            .await
            .unwrap(),
        0
    );
}

fn api_token(agent: &Agent, id: &str, scopes: &[&str], created_at: Micros) -> ApiToken {
    ApiToken {
        id: id.to_owned(),
        agent_id: agent.id,
        name: format!("token {id}"),
        secret_hash: format!("hash of {id}"),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        created_at,
        expires_at: created_at + 30 * DAY,
        revoked_at: None,
    }
}

async fn case_api_tokens(store: &SqlIdentityStore, _db: &Db) {
    let jane = ldap_agent(store, "jane").await;
    let bob = ldap_agent(store, "bob").await;
    let ghost = Agent {
        id: AgentId::new(),
        ..jane.clone()
    };
    assert_not_found(
        store
            .create_api_token(&api_token(&ghost, "tok-ghost", &[], T0), ACTOR)
            .await,
        "agent",
    );
    assert_eq!(store.get_api_token("tok-ghost").await.unwrap(), None);

    let first = api_token(&jane, "tok-1", &["tickets:read", "tickets:write"], T0);
    let second = api_token(&jane, "tok-2", &[], T0 + MINUTE);
    let third = api_token(&jane, "tok-3", &["*"], T0 + 2 * MINUTE);
    let bobs = api_token(&bob, "tok-bob", &["tickets:read"], T0);
    for t in [&first, &second, &third, &bobs] {
        store.create_api_token(t, ACTOR).await.unwrap();
    }
    assert_eq!(
        store.get_api_token("tok-1").await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.get_api_token("tok-2").await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(
        store.get_api_token("tok-1").await.unwrap().unwrap().scopes,
        vec!["tickets:read", "tickets:write"]
    );
    assert!(
        store
            .get_api_token("tok-2")
            .await
            .unwrap()
            .unwrap()
            .scopes
            .is_empty()
    );
    assert_eq!(store.get_api_token("nope").await.unwrap(), None);

    assert_eq!(
        store.list_api_tokens(jane.id).await.unwrap(),
        vec![first.clone(), second.clone(), third.clone()]
    );
    assert_eq!(
        store.list_api_tokens(bob.id).await.unwrap(),
        vec![bobs.clone()]
    );
    assert!(
        store
            .list_api_tokens(AgentId::new())
            .await
            .unwrap()
            .is_empty()
    );

    let revoked_at = T0 + DAY;
    store
        .revoke_api_token("tok-1", revoked_at, ACTOR)
        .await
        .unwrap();
    let revoked = ApiToken {
        revoked_at: Some(revoked_at),
        ..first
    };
    assert_eq!(
        store.get_api_token("tok-1").await.unwrap(),
        Some(revoked.clone())
    );
    assert_not_found(
        store.revoke_api_token("tok-1", revoked_at + 1, ACTOR).await,
        "api token",
    );
    assert_eq!(
        store.get_api_token("tok-1").await.unwrap(),
        Some(revoked.clone())
    );
    assert_not_found(
        store.revoke_api_token("nope", revoked_at, ACTOR).await,
        "api token",
    );
    assert_eq!(
        store.list_api_tokens(jane.id).await.unwrap(),
        vec![revoked, second, third]
    );
    assert_eq!(store.get_api_token("tok-bob").await.unwrap(), Some(bobs));

    // Issuing and revoking are audited.
    let audit = audit_entries(store, None).await;
    let issued: Vec<_> = audit
        .iter()
        .filter(|e| e.action == "token_issued")
        .collect();
    assert_eq!(issued.len(), 4, "{audit:?}");
    let e = issued
        .iter()
        .find(|e| e.details["api_token"] == "tok-1")
        .expect("token_issued for tok-1");
    assert_eq!(e.actor, ACTOR);
    assert_eq!(e.target.as_deref(), Some(jane.id.to_string().as_str()));
    assert_eq!(e.outcome, "ok");
    assert_eq!(
        e.details["scopes"],
        serde_json::json!(["tickets:read", "tickets:write"])
    );
    assert!(
        !e.details.to_string().contains("hash of"),
        "secret hash in the audit log"
    );
    assert_eq!(
        audit.iter().filter(|e| e.action == "token_revoked").count(),
        1,
        "{audit:?}"
    );
}

async fn case_signing_keys(store: &SqlIdentityStore, _db: &Db) {
    assert!(store.signing_keys(T0).await.unwrap().is_empty());
    store
        .add_signing_key("k1", "pkcs8-one", T0, T0 + 10 * DAY)
        .await
        .unwrap();
    store
        .add_signing_key("k2", "pkcs8-two", T0 + DAY, T0 + 11 * DAY)
        .await
        .unwrap();
    assert!(
        store
            .add_signing_key("k1", "other", T0, T0 + DAY)
            .await
            .is_err(),
        "duplicate kid"
    );

    let both = vec![
        ("k2".to_owned(), "pkcs8-two".to_owned(), T0 + DAY),
        ("k1".to_owned(), "pkcs8-one".to_owned(), T0),
    ];
    assert_eq!(store.signing_keys(T0 + DAY).await.unwrap(), both);
    assert_eq!(store.signing_keys(T0 + 10 * DAY - 1).await.unwrap(), both);
    // Retired at retire_at.
    assert_eq!(
        store.signing_keys(T0 + 10 * DAY).await.unwrap(),
        vec![("k2".to_owned(), "pkcs8-two".to_owned(), T0 + DAY)]
    );
    assert!(store.signing_keys(T0 + 11 * DAY).await.unwrap().is_empty());

    // A key added later but created earlier sorts by creation.
    store
        .add_signing_key("k0", "pkcs8-zero", T0 - DAY, T0 + 20 * DAY)
        .await
        .unwrap();
    let kids: Vec<String> = store
        .signing_keys(T0 + DAY)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.0)
        .collect();
    assert_eq!(kids, vec!["k2", "k1", "k0"]);
}

// ---------------------------------------------------------------------------------------------
// Audit log
// ---------------------------------------------------------------------------------------------

async fn case_audit_log(store: &SqlIdentityStore, db: &Db) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "beta").await;
    let jane = member(store, "jane", &[&a]).await;
    let users = group(store, &a, "users").await;
    let team = role(store, &a, "Team member").await;

    // Every change of access rights is a `permission_changed` entry of its tenant.
    let count_changes = |entries: &[AuditEntry]| {
        entries
            .iter()
            .filter(|e| e.action == "permission_changed")
            .count()
    };
    let before = count_changes(&audit_entries(store, Some(&a)).await);
    assert_eq!(before, 1, "add_agent_to_tenant");
    store.assign_role(jane.id, team.id, ACTOR).await.unwrap();
    store
        .set_agent_permissions(jane.id, users.id, perms(&[Permission::Owner]), ACTOR)
        .await
        .unwrap();
    store
        .set_role_permissions(team.id, users.id, perms(&[Permission::Ro]), ACTOR)
        .await
        .unwrap();
    store.revoke_role(jane.id, team.id, ACTOR).await.unwrap();
    let entries_a = audit_entries(store, Some(&a)).await;
    assert_eq!(count_changes(&entries_a), before + 4, "{entries_a:?}");
    let newest = &entries_a[0];
    assert_eq!(newest.action, "permission_changed");
    assert_eq!(newest.target.as_deref(), Some(jane.id.to_string().as_str()));
    assert_eq!(newest.details["role_revoked"], team.id.to_string());
    // A refused change is not recorded as one.
    assert_invalid(
        store
            .assign_role(jane.id, role(store, &b, "Team member").await.id, ACTOR)
            .await,
    );
    assert_eq!(
        count_changes(&audit_entries(store, Some(&a)).await),
        before + 4
    );
    assert_eq!(count_changes(&audit_entries(store, Some(&b)).await), 0);

    // Filtering by tenant.
    assert!(entries_a.iter().all(|e| e.tenant_id == Some(a.id)));
    let entries_b = audit_entries(store, Some(&b)).await;
    assert!(!entries_b.is_empty());
    assert!(entries_b.iter().all(|e| e.tenant_id == Some(b.id)));
    let all = audit_entries(store, None).await;
    assert_eq!(i64::try_from(all.len()).unwrap(), audit_count(db).await);
    assert!(
        all.len() > entries_a.len() + entries_b.len(),
        "tenantless entries are listed too"
    );
    assert!(
        all.iter()
            .any(|e| e.tenant_id.is_none() && e.action == "agent_created")
    );
    assert!(
        audit_entries(
            store,
            Some(&Tenant {
                id: TenantId::new(),
                ..a.clone()
            })
        )
        .await
        .is_empty()
    );
    // Newest first, and limited.
    assert!(all.windows(2).all(|w| w[0].occurred_at >= w[1].occurred_at));
    assert_eq!(store.audit_log(None, 2).await.unwrap(), all[..2].to_vec());

    // An explicit entry round-trips.
    let entry = AuditEntry {
        occurred_at: docket_platform::time::now_micros() + DAY,
        tenant_id: Some(b.id),
        actor: "jane".to_owned(),
        action: "login_failed".to_owned(),
        target: Some(jane.id.to_string()),
        outcome: "denied".to_owned(),
        details: serde_json::json!({ "reason": "wrong_password", "attempt": 3 }),
    };
    store.audit(entry.clone()).await.unwrap();
    assert_eq!(
        store.audit_log(Some(b.id), 1).await.unwrap(),
        vec![entry.clone()]
    );
    assert_eq!(store.audit_log(None, 1).await.unwrap(), vec![entry]);
    assert_eq!(
        store.audit_log(Some(a.id), 1).await.unwrap()[0],
        entries_a[0],
        "an entry of tenant B shows in tenant A"
    );
}

async fn case_audit_log_is_append_only(store: &SqlIdentityStore, db: &Db) {
    tenant(store, "acme").await;
    ldap_agent(store, "jane").await;
    let before = audit_entries(store, None).await;
    assert!(before.len() >= 2, "{before:?}");

    let update = sqlx::query("UPDATE audit_log SET actor = 'x'")
        .execute(db.pool())
        .await;
    assert!(
        update.is_err(),
        "UPDATE of the audit log succeeded: {update:?}"
    );
    let delete = sqlx::query("DELETE FROM audit_log")
        .execute(db.pool())
        .await;
    assert!(
        delete.is_err(),
        "DELETE from the audit log succeeded: {delete:?}"
    );
    let delete_one = sqlx::query("DELETE FROM audit_log WHERE action = 'tenant_created'")
        .execute(db.pool())
        .await;
    assert!(
        delete_one.is_err(),
        "DELETE of one entry succeeded: {delete_one:?}"
    );

    assert_eq!(audit_entries(store, None).await, before);
    assert!(before.iter().all(|e| e.actor == ACTOR));
    // Appending still works.
    ldap_agent(store, "bob").await;
    assert_eq!(audit_entries(store, None).await.len(), before.len() + 1);
}

// ---------------------------------------------------------------------------------------------
// What the administration needs
// ---------------------------------------------------------------------------------------------

async fn case_group_and_role_lookup(store: &SqlIdentityStore, _db: &Db) {
    let a = tenant(store, "acme").await;
    let users = group(store, &a, "users").await;
    assert_eq!(store.get_group(users.id).await.unwrap(), users);
    assert_not_found(store.get_group(GroupId::new()).await, "group");

    let night = store
        .create_role(a.id, "Night shift", false, ACTOR)
        .await
        .unwrap();
    store
        .set_role_permissions(
            night.id,
            users.id,
            perms(&[Permission::Ro, Permission::Note]),
            ACTOR,
        )
        .await
        .unwrap();
    let got = store.get_role(night.id).await.unwrap();
    assert_eq!(got.tenant_id, a.id);
    assert_eq!(got.name, "Night shift");
    assert!(!got.tenant_admin);
    assert_eq!(
        got.permissions.get(&users.id),
        Some(&perms(&[Permission::Ro, Permission::Note]))
    );
    // The same as the tenant's list says.
    let listed = role_in_list(store, &a, night.id).await;
    assert_eq!(got, listed);
    assert!(
        store
            .get_role(role(store, &a, "Administrator").await.id)
            .await
            .unwrap()
            .tenant_admin
    );
    assert_not_found(store.get_role(RoleId::new()).await, "role");
}

async fn role_in_list(store: &SqlIdentityStore, t: &Tenant, id: RoleId) -> Role {
    store
        .list_roles(t.id)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id == id)
        .unwrap()
}

async fn case_tenant_members_and_memberships(store: &SqlIdentityStore, _db: &Db) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "beta").await;
    let zoe = member(store, "zoe", &[&a]).await;
    let bob = member(store, "bob", &[&a, &b]).await;
    let carl = member(store, "carl", &[&b]).await;
    let loner = ldap_agent(store, "loner").await;

    // Members by login, each tenant its own.
    let logins = |agents: Vec<Agent>| {
        agents
            .into_iter()
            .map(|a| a.login.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        logins(store.list_agents(a.id).await.unwrap()),
        ["bob", "zoe"]
    );
    assert_eq!(
        logins(store.list_agents(b.id).await.unwrap()),
        ["bob", "carl"]
    );
    assert!(store.list_agents(TenantId::new()).await.unwrap().is_empty());
    assert_eq!(store.list_agents(a.id).await.unwrap()[1], zoe);

    // Memberships: tenants, roles there, own permissions there.
    assert!(store.agent_memberships(loner.id).await.unwrap().is_empty());
    assert!(
        store
            .agent_memberships(AgentId::new())
            .await
            .unwrap()
            .is_empty()
    );
    let team_a = role(store, &a, "Team member").await;
    let second_b = role(store, &b, "2nd level").await;
    let users_b = group(store, &b, "users").await;
    store.assign_role(bob.id, team_a.id, ACTOR).await.unwrap();
    store.assign_role(bob.id, second_b.id, ACTOR).await.unwrap();
    store
        .set_agent_permissions(bob.id, users_b.id, perms(&[Permission::Owner]), ACTOR)
        .await
        .unwrap();
    let memberships = store.agent_memberships(bob.id).await.unwrap();
    assert_eq!(memberships.len(), 2);
    let of = |t: &Tenant| {
        memberships
            .iter()
            .find(|m| m.tenant_id == t.id)
            .unwrap_or_else(|| panic!("no membership in {}", t.slug))
            .clone()
    };
    assert_eq!(of(&a).role_ids, vec![team_a.id]);
    assert!(of(&a).permissions.is_empty());
    assert_eq!(of(&b).role_ids, vec![second_b.id]);
    assert_eq!(
        of(&b).permissions,
        BTreeMap::from([(users_b.id, perms(&[Permission::Owner]))])
    );
    // Another agent's are its own.
    let carls = store.agent_memberships(carl.id).await.unwrap();
    assert_eq!(carls.len(), 1);
    assert_eq!(carls[0].tenant_id, b.id);
    assert!(carls[0].role_ids.is_empty() && carls[0].permissions.is_empty());
    // Revoking shows at once.
    store.revoke_role(bob.id, team_a.id, ACTOR).await.unwrap();
    let memberships = store.agent_memberships(bob.id).await.unwrap();
    assert!(
        memberships
            .iter()
            .find(|m| m.tenant_id == a.id)
            .unwrap()
            .role_ids
            .is_empty()
    );
}

async fn case_installation_admin(store: &SqlIdentityStore, db: &Db) {
    let a = tenant(store, "acme").await;
    let jane = member(store, "jane", &[&a]).await;
    assert!(!jane.installation_admin);
    assert!(
        !store
            .agent_grants(jane.id, T0)
            .await
            .unwrap()
            .installation_admin
    );

    let before = audit_count(db).await;
    store
        .set_installation_admin(jane.id, true, ACTOR)
        .await
        .unwrap();
    assert!(store.get_agent(jane.id).await.unwrap().installation_admin);
    assert!(
        store
            .agent_credentials(&jane.login)
            .await
            .unwrap()
            .unwrap()
            .agent
            .installation_admin
    );
    assert!(store.list_agents(a.id).await.unwrap()[0].installation_admin);
    assert_eq!(audit_count(db).await, before + 1);
    let entry = &audit_entries(store, None).await[0];
    assert_eq!(entry.action, "permission_changed");
    assert_eq!(entry.target.as_deref(), Some(jane.id.to_string().as_str()));
    assert_eq!(entry.details["installation_admin"], true);

    store
        .set_installation_admin(jane.id, false, ACTOR)
        .await
        .unwrap();
    assert!(!store.get_agent(jane.id).await.unwrap().installation_admin);
    assert_not_found(
        store
            .set_installation_admin(AgentId::new(), true, ACTOR)
            .await,
        "agent",
    );
    assert_eq!(audit_count(db).await, before + 2);
}

async fn case_totp_enrolment(store: &SqlIdentityStore, db: &Db) {
    let jane = ldap_agent(store, "jane").await;
    let other = ldap_agent(store, "other").await;
    assert_eq!(store.pending_totp(jane.id).await.unwrap(), None);
    assert_not_found(store.pending_totp(AgentId::new()).await, "agent");

    // Nothing pending: nothing to confirm.
    assert!(matches!(
        store.confirm_totp(jane.id, "PENDING-ONE", 10, ACTOR).await,
        Err(IdentityError::Conflict(_))
    ));
    store
        .set_pending_totp(jane.id, Some("PENDING-ONE"))
        .await
        .unwrap();
    assert_eq!(
        store.pending_totp(jane.id).await.unwrap().as_deref(),
        Some("PENDING-ONE")
    );
    assert_eq!(store.pending_totp(other.id).await.unwrap(), None);
    // Pending is not in force.
    let creds = store.agent_credentials(&jane.login).await.unwrap().unwrap();
    assert!(!creds.agent.totp_enabled);
    assert_eq!(creds.totp_secret, None);

    // A newer enrolment replaces an older one; confirming the older one fails.
    store
        .set_pending_totp(jane.id, Some("PENDING-TWO"))
        .await
        .unwrap();
    let before = audit_count(db).await;
    assert!(matches!(
        store.confirm_totp(jane.id, "PENDING-ONE", 10, ACTOR).await,
        Err(IdentityError::Conflict(_))
    ));
    assert_eq!(
        audit_count(db).await,
        before,
        "a refused confirmation is no change"
    );
    store
        .confirm_totp(jane.id, "PENDING-TWO", 10, ACTOR)
        .await
        .unwrap();
    let creds = store.agent_credentials(&jane.login).await.unwrap().unwrap();
    assert!(creds.agent.totp_enabled);
    assert_eq!(creds.totp_secret.as_deref(), Some("PENDING-TWO"));
    assert_eq!(
        creds.totp_last_step,
        Some(10),
        "the confirming code is used up"
    );
    assert!(!store.use_totp_step(jane.id, 10).await.unwrap());
    assert!(store.use_totp_step(jane.id, 11).await.unwrap());
    assert_eq!(store.pending_totp(jane.id).await.unwrap(), None);
    assert_eq!(audit_count(db).await, before + 1);
    let entry = &audit_entries(store, None).await[0];
    assert_eq!(entry.action, "second_factor_changed");
    assert_eq!(entry.details["enabled"], true);

    // Discarding a pending one leaves the active one alone.
    store
        .set_pending_totp(jane.id, Some("PENDING-THREE"))
        .await
        .unwrap();
    store.set_pending_totp(jane.id, None).await.unwrap();
    assert_eq!(store.pending_totp(jane.id).await.unwrap(), None);
    assert_eq!(
        store
            .agent_credentials(&jane.login)
            .await
            .unwrap()
            .unwrap()
            .totp_secret
            .as_deref(),
        Some("PENDING-TWO")
    );
    assert_not_found(
        store.set_pending_totp(AgentId::new(), Some("X")).await,
        "agent",
    );
}

async fn case_tenant_lists(store: &SqlIdentityStore, _db: &Db) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "beta").await;
    assert!(store.list_companies(a.id).await.unwrap().is_empty());
    assert!(store.list_customers(a.id).await.unwrap().is_empty());
    assert!(store.list_absences(a.id).await.unwrap().is_empty());

    // Companies by name, per tenant.
    let zeta = store.create_company(a.id, "Zeta", ACTOR).await.unwrap();
    let alpha = store.create_company(a.id, "Alpha", ACTOR).await.unwrap();
    let other = store.create_company(b.id, "Other", ACTOR).await.unwrap();
    assert_eq!(
        store.list_companies(a.id).await.unwrap(),
        vec![alpha.clone(), zeta.clone()]
    );
    assert_eq!(store.list_companies(b.id).await.unwrap(), vec![other]);
    assert!(
        store
            .list_companies(TenantId::new())
            .await
            .unwrap()
            .is_empty()
    );

    // Customers by login, per tenant, as stored.
    let max = store
        .create_customer(
            new_customer(&a, "max", Some(&zeta), None),
            Source::Local,
            ACTOR,
        )
        .await
        .unwrap();
    let eve = store
        .create_customer(new_customer(&a, "eve", None, None), Source::Local, ACTOR)
        .await
        .unwrap();
    let bea = store
        .create_customer(new_customer(&b, "bea", None, None), Source::Local, ACTOR)
        .await
        .unwrap();
    assert_eq!(
        store.list_customers(a.id).await.unwrap(),
        vec![eve, max.clone()]
    );
    assert_eq!(store.list_customers(b.id).await.unwrap(), vec![bea]);
    let listed = &store.list_customers(a.id).await.unwrap()[1];
    assert_eq!(listed.company_id, Some(zeta.id));
    assert!(listed.company_tickets);
    assert_eq!(*listed, store.get_customer(max.id).await.unwrap());

    // Absences of the tenant's members, by start.
    let jane = member(store, "jane", &[&a]).await;
    let sub = member(store, "sub", &[&a, &b]).await;
    let carl = member(store, "carl", &[&b]).await;
    let later = store
        .add_absence(jane.id, sub.id, T0 + DAY, T0 + 2 * DAY, ACTOR)
        .await
        .unwrap();
    let sooner = store
        .add_absence(jane.id, sub.id, T0, T0 + MINUTE, ACTOR)
        .await
        .unwrap();
    let in_b = store
        .add_absence(carl.id, sub.id, T0, T0 + MINUTE, ACTOR)
        .await
        .unwrap();
    assert_eq!(
        store.list_absences(a.id).await.unwrap(),
        vec![sooner, later]
    );
    assert_eq!(store.list_absences(b.id).await.unwrap(), vec![in_b]);
    assert!(
        store
            .list_absences(TenantId::new())
            .await
            .unwrap()
            .is_empty()
    );
}

async fn case_audit_pages(store: &SqlIdentityStore, _db: &Db) {
    let a = tenant(store, "acme").await;
    let b = tenant(store, "beta").await;
    let jane = member(store, "jane", &[&a]).await;
    let carl = member(store, "carl", &[&b]).await;
    let at = docket_platform::time::now_micros() + DAY;
    // Tenantless entries: about a member of A, by a member of A, about an agent of B only.
    let tenantless =
        |actor: &str, action: &str, target: Option<String>, offset: Micros| AuditEntry {
            occurred_at: at + offset,
            tenant_id: None,
            actor: actor.to_owned(),
            action: action.to_owned(),
            target,
            outcome: "ok".to_owned(),
            details: serde_json::json!({}),
        };
    let login_of_jane = tenantless("jane", "login", Some(jane.id.to_string()), 1);
    let revoke_by_jane = tenantless("jane", "token_revoked", Some("tok-1".into()), 2);
    let login_of_carl = tenantless("carl", "login", Some(carl.id.to_string()), 3);
    let anonymous = tenantless("nobody", "login_failed", None, 4);
    for e in [&login_of_jane, &revoke_by_jane, &login_of_carl, &anonymous] {
        store.audit(e.clone()).await.unwrap();
    }

    // Page through A's log, newest first, in pages of 2.
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = store.audit_page(a.id, cursor.as_ref(), 2).await.unwrap();
        assert!(page.entries.len() <= 2);
        pages += 1;
        seen.extend(page.entries);
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(pages < 100, "paging does not end");
    }
    // A's own entries plus the tenantless ones by or about its members; nothing of B.
    let own = audit_entries(store, Some(&a)).await;
    assert!(own.len() >= 2, "{own:?}");
    assert_eq!(seen[0], revoke_by_jane, "newest first");
    assert_eq!(seen[1], login_of_jane);
    let (with_tenant, without): (Vec<AuditEntry>, Vec<AuditEntry>) = seen[2..]
        .iter()
        .cloned()
        .partition(|e| e.tenant_id.is_some());
    assert_eq!(with_tenant, own, "then the tenant's own, in order");
    // jane's creation happened without a tenant, but it is about a member.
    assert_eq!(
        without
            .iter()
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        ["agent_created"]
    );
    assert_eq!(seen.len(), own.len() + 3, "{seen:#?}");
    assert!(!seen.contains(&login_of_carl) && !seen.contains(&anonymous));
    assert!(
        seen.windows(2)
            .all(|w| w[0].occurred_at >= w[1].occurred_at)
    );
    assert_eq!(pages, seen.len().div_ceil(2));

    // One big page is the same; B sees carl's login, not jane's.
    let whole = store.audit_page(a.id, None, 1000).await.unwrap();
    assert_eq!(whole.entries, seen);
    assert_eq!(whole.next, None);
    let of_b = store.audit_page(b.id, None, 1000).await.unwrap().entries;
    assert_eq!(of_b[0], login_of_carl);
    assert!(!of_b.contains(&login_of_jane) && !of_b.contains(&revoke_by_jane));
    assert!(
        store
            .audit_page(TenantId::new(), None, 10)
            .await
            .unwrap()
            .entries
            .is_empty()
    );
    // Entries at the same instant are not lost between pages (ties broken by id).
    for _ in 0..3 {
        store
            .audit(tenantless("jane", "tie", Some(jane.id.to_string()), 10))
            .await
            .unwrap();
    }
    let first = store.audit_page(a.id, None, 2).await.unwrap();
    let second = store
        .audit_page(a.id, first.next.as_ref(), 2)
        .await
        .unwrap();
    let ties = first
        .entries
        .iter()
        .chain(&second.entries)
        .filter(|e| e.action == "tie")
        .count();
    assert_eq!(ties, 3);
    // A cursor survives its text form.
    let next = first.next.unwrap();
    assert_eq!(AuditCursor::parse(&next.encode()).unwrap(), next);
}
