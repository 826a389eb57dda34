//! The administration API end to end on the embedded default: groups, roles and agents whose
//! tokens carry the grants; who is refused what (404 for a tenant one does not administer, 403
//! for installation-level calls, customers and API tokens without the `admin` scope); customers;
//! API tokens until revoked; the second factor; the audit log; bad input as problem+json.

use docket_integration_tests::{
    ADMIN_LOGIN, ADMIN_PASSWORD, ADMIN_TENANT, Mode, TestApp, item_strs, item_where, login_client,
};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

/// (client, method, path, body, expected status, what).
type BadCase<'a> = (&'a Client, &'a str, String, Option<Value>, u16, &'a str);

const PASSWORD: &str = "another password, long enough";

/// Sends a request and returns the status and the JSON body (`Null` if none). Every error is
/// problem+json.
async fn call(
    client: &Client,
    method: &str,
    url: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let request = match method {
        "get" => client.get(url),
        "post" => client.post(url),
        "put" => client.put(url),
        "patch" => client.patch(url),
        "delete" => client.delete(url),
        other => panic!("unexpected method {other}"),
    };
    let request = match body {
        Some(b) => request.json(&b),
        None => request,
    };
    let response = request.send().await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = response.text().await.unwrap();
    if !status.is_success() {
        assert_eq!(
            content_type, "application/problem+json",
            "{method} {url}: {status} {text}"
        );
    }
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {url}: {e}: {text}"))
    };
    (status, json)
}

/// A client sending `Authorization: Bearer <token>`.
fn bearer(token: &str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    Client::builder().default_headers(headers).build().unwrap()
}

struct Api<'a> {
    app: &'a TestApp,
}

impl Api<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app.api)
    }

    async fn as_(
        &self,
        client: &Client,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        call(client, method, &self.url(path), body).await
    }

    /// As the bootstrapped administrator; the request must succeed.
    async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, json) = self.as_(&self.app.client, method, path, body).await;
        assert!(status.is_success(), "{method} {path}: {status} {json}");
        json
    }

    /// As the bootstrapped administrator.
    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.as_(&self.app.client, method, path, body).await
    }

    /// The id of the bootstrapped tenant.
    async fn tenant_id(&self) -> String {
        let tenants = self.ok("get", "/admin/tenants", None).await;
        item_where(&tenants, "slug", ADMIN_TENANT)["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn group_id(&self, tenant: &str, name: &str) -> String {
        let groups = self
            .ok("get", &format!("/admin/tenants/{tenant}/groups"), None)
            .await;
        item_where(&groups, "name", name)["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn role_id(&self, tenant: &str, name: &str) -> String {
        let roles = self
            .ok("get", &format!("/admin/tenants/{tenant}/roles"), None)
            .await;
        item_where(&roles, "name", name)["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A new local agent of `tenant` with `roles`; returns its id.
    async fn agent(&self, tenant: &str, login: &str, roles: &[&str]) -> String {
        let created = self
            .ok(
                "post",
                &format!("/admin/tenants/{tenant}/agents"),
                Some(json!({ "login": login, "name": format!("Agent {login}"), "password": PASSWORD, "role_ids": roles })),
            )
            .await;
        created["id"].as_str().unwrap().to_owned()
    }

    async fn audit(&self, tenant: &str) -> Vec<Value> {
        let page = self
            .ok(
                "get",
                &format!("/admin/tenants/{tenant}/audit?page_size=500"),
                None,
            )
            .await;
        page["items"].as_array().unwrap().clone()
    }
}

fn login_of(client_result: Result<Client, StatusCode>, who: &str) -> Client {
    client_result.unwrap_or_else(|s| panic!("{who} cannot log in: {s}"))
}

fn has_entry(log: &[Value], action: &str, target: &str) -> bool {
    log.iter()
        .any(|e| e["action"] == action && e["target"] == target)
}

#[tokio::test]
async fn agents_get_the_grants_of_their_roles_and_own_permissions() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let api = Api { app: &app };

    // The bootstrapped administrator administers the installation and its tenant.
    let me = api.ok("get", "/me", None).await;
    assert_eq!(me["kind"], "agent");
    assert_eq!(me["login"], ADMIN_LOGIN);
    assert_eq!(me["installation_admin"], true);
    let tenant = api.tenant_id().await;
    assert_eq!(me["tenants"][&tenant]["admin"], true);

    // A group, a role with permissions on it, then changed permissions.
    let (status, group) = api
        .admin(
            "post",
            &format!("/admin/tenants/{tenant}/groups"),
            Some(json!({ "name": "2nd level" })),
        )
        .await;
    assert_eq!(status, 201, "{group}");
    let group = group["id"].as_str().unwrap().to_owned();
    let (status, role) = api
        .admin(
            "post",
            &format!("/admin/tenants/{tenant}/roles"),
            Some(json!({ "name": "Night shift", "permissions": [{ "group_id": group, "permissions": ["ro", "note"] }] })),
        )
        .await;
    assert_eq!(status, 201, "{role}");
    assert_eq!(role["tenant_admin"], false);
    assert_eq!(role["permissions"][0]["permissions"], json!(["ro", "note"]));
    let role = role["id"].as_str().unwrap().to_owned();
    let changed = api
        .ok(
            "put",
            &format!("/admin/roles/{role}/permissions"),
            Some(json!({ "group_id": group, "permissions": ["note", "ro", "owner"] })),
        )
        .await;
    assert_eq!(
        changed["permissions"][0]["permissions"],
        json!(["ro", "note", "owner"])
    );

    // An agent with that role: the administrator sees its merged grants…
    let (status, nina) = api
        .admin(
            "post",
            &format!("/admin/tenants/{tenant}/agents"),
            Some(
                json!({ "login": "Nina", "name": "Nina Night", "email": "nina@uni.example",
                          "password": PASSWORD, "role_ids": [role] }),
            ),
        )
        .await;
    assert_eq!(status, 201, "{nina}");
    assert_eq!(nina["login"], "nina");
    assert_eq!(nina["source"], "local");
    assert_eq!(nina["installation_admin"], false);
    let membership = &nina["memberships"][0];
    assert_eq!(membership["tenant_id"], tenant.as_str());
    assert_eq!(membership["role_ids"], json!([role]));
    assert_eq!(membership["tenant_admin"], false);
    assert_eq!(
        membership["effective"],
        json!([{ "group_id": group, "permissions": ["ro", "note", "owner"] }])
    );
    let nina_id = nina["id"].as_str().unwrap().to_owned();

    // …and so does its own access token.
    let nina = login_of(login_client(&app.api, "nina", PASSWORD).await, "nina");
    let (_, nina_me) = api.as_(&nina, "get", "/me", None).await;
    assert_eq!(nina_me["installation_admin"], false);
    assert_eq!(nina_me["tenants"][&tenant]["admin"], false);
    assert_eq!(
        nina_me["tenants"][&tenant]["groups"][&group],
        json!(["ro", "note", "owner"])
    );

    // Own permissions add to the role's; revoking the role leaves only them.
    let users = api.group_id(&tenant, "users").await;
    let with_own = api
        .ok(
            "put",
            &format!("/admin/agents/{nina_id}/permissions"),
            Some(json!({ "group_id": users, "permissions": ["create"] })),
        )
        .await;
    assert_eq!(
        with_own["memberships"][0]["permissions"],
        json!([{ "group_id": users, "permissions": ["create"] }])
    );
    let revoked = api
        .ok(
            "delete",
            &format!("/admin/agents/{nina_id}/roles/{role}"),
            None,
        )
        .await;
    assert_eq!(revoked["memberships"][0]["role_ids"], json!([]));
    assert_eq!(
        revoked["memberships"][0]["effective"],
        json!([{ "group_id": users, "permissions": ["create"] }])
    );
    let nina = login_of(login_client(&app.api, "nina", PASSWORD).await, "nina");
    let (_, nina_me) = api.as_(&nina, "get", "/me", None).await;
    let mut only_own = serde_json::Map::new();
    only_own.insert(users.clone(), json!(["create"]));
    assert_eq!(
        nina_me["tenants"][&tenant]["groups"],
        Value::Object(only_own)
    );
    let assigned = api
        .ok(
            "put",
            &format!("/admin/agents/{nina_id}/roles/{role}"),
            None,
        )
        .await;
    assert_eq!(assigned["memberships"][0]["role_ids"], json!([role]));

    // The tenant's agents, and an absence: the substitute stands in while it lasts.
    let otto_id = api.agent(&tenant, "otto", &[]).await;
    let agents = api
        .ok("get", &format!("/admin/tenants/{tenant}/agents"), None)
        .await;
    let logins: Vec<&str> = item_strs(&agents, "login");
    assert_eq!(logins, ["admin", "nina", "otto"]);
    let now = absence_window();
    let (status, absence) = api
        .admin(
            "post",
            &format!("/admin/tenants/{tenant}/absences"),
            Some(json!({ "agent_id": nina_id, "substitute_id": otto_id,
                          "starts_at": now.0, "ends_at": now.1 })),
        )
        .await;
    assert_eq!(status, 201, "{absence}");
    let absences = api
        .ok("get", &format!("/admin/tenants/{tenant}/absences"), None)
        .await;
    assert_eq!(absences["items"].as_array().unwrap().len(), 1);
    assert_eq!(absences["items"][0]["substitute_id"], otto_id.as_str());
    let otto = login_of(login_client(&app.api, "otto", PASSWORD).await, "otto");
    let (_, otto_me) = api.as_(&otto, "get", "/me", None).await;
    assert_eq!(
        otto_me["tenants"][&tenant]["substitute_for"],
        json!([nina_id])
    );

    // Passwords and activation.
    let new_password = "a brand new password here";
    api.ok(
        "put",
        &format!("/admin/agents/{otto_id}/password"),
        Some(json!({ "password": new_password })),
    )
    .await;
    assert!(login_client(&app.api, "otto", PASSWORD).await.is_err());
    login_of(login_client(&app.api, "otto", new_password).await, "otto");
    let deactivated = api
        .ok(
            "put",
            &format!("/admin/agents/{nina_id}/active"),
            Some(json!({ "active": false })),
        )
        .await;
    assert_eq!(deactivated["active"], false);
    assert_eq!(
        login_client(&app.api, "nina", PASSWORD).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    api.ok(
        "put",
        &format!("/admin/agents/{nina_id}/active"),
        Some(json!({ "active": true })),
    )
    .await;
    login_of(login_client(&app.api, "nina", PASSWORD).await, "nina");

    // The audit log: logins, permission changes, activation.
    let log = api.audit(&tenant).await;
    assert!(has_entry(&log, "login", &nina_id), "nina's login");
    assert!(
        has_entry(&log, "permission_changed", &role),
        "the role's permissions"
    );
    assert!(
        has_entry(&log, "permission_changed", &nina_id),
        "nina's roles"
    );
    assert!(has_entry(&log, "agent_activation", &nina_id));
    assert!(has_entry(&log, "password_changed", &otto_id));
    assert!(
        log.iter()
            .all(|e| e["outcome"] == "ok" || e["outcome"] == "denied")
    );
    let newest = log[0]["occurred_at"].as_str().unwrap();
    let oldest = log[log.len() - 1]["occurred_at"].as_str().unwrap();
    assert!(newest >= oldest, "newest first");

    // Paging through it gives the same entries.
    let mut paged = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let path = match &next {
            Some(token) => format!("/admin/tenants/{tenant}/audit?page_size=7&page_token={token}"),
            None => format!("/admin/tenants/{tenant}/audit?page_size=7"),
        };
        let page = api.ok("get", &path, None).await;
        paged.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_page_token"].as_str() {
            Some(token) => next = Some(token.to_owned()),
            None => break,
        }
    }
    // Logins after the first read may have added entries; the older ones are the same.
    assert!(paged.len() >= log.len());
    assert_eq!(paged[paged.len() - log.len()..].to_vec(), log);
    app.stop().await;
}

/// An absence from an hour ago to an hour from now, as RFC 3339.
fn absence_window() -> (String, String) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let fmt = |secs: i64| {
        // Civil date from days since the epoch (Howard Hinnant's algorithm).
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )
    };
    (fmt(now - 3600), fmt(now + 3600))
}

/// Every administration and self-service route with a body of the right shape, and the ids to
/// put into its path.
struct Ids {
    tenant: String,
    group: String,
    role: String,
    agent: String,
    other_agent: String,
    customer: String,
    token: String,
}

/// A received message's id in the refusal table (refused before it is looked up).
const MESSAGE: &str = "01a20000-0000-7000-8000-0000000000aa";

fn routes(ids: &Ids) -> Vec<(&'static str, String, Option<Value>, Scope)> {
    let (starts, ends) = absence_window();
    let t = &ids.tenant;
    let a = &ids.agent;
    let r = &ids.role;
    vec![
        (
            "post",
            "/admin/tenants".into(),
            Some(json!({ "slug": "refused", "name": "Refused" })),
            Scope::Installation,
        ),
        ("get", "/admin/tenants".into(), None, Scope::Installation),
        (
            "get",
            "/admin/mail/messages".into(),
            None,
            Scope::Installation,
        ),
        (
            "get",
            format!("/admin/mail/messages/{MESSAGE}"),
            None,
            Scope::Installation,
        ),
        (
            "get",
            format!("/admin/mail/messages/{MESSAGE}/raw"),
            None,
            Scope::Installation,
        ),
        (
            "post",
            format!("/admin/mail/messages/{MESSAGE}/reprocess"),
            None,
            Scope::Installation,
        ),
        (
            "post",
            "/admin/retention-runs".into(),
            Some(json!({ "dry_run": true })),
            Scope::Installation,
        ),
        (
            "get",
            "/admin/retention-runs".into(),
            None,
            Scope::Installation,
        ),
        ("get", format!("/admin/tenants/{t}"), None, Scope::Tenant),
        (
            "post",
            format!("/admin/tenants/{t}/groups"),
            Some(json!({ "name": "refused" })),
            Scope::Tenant,
        ),
        (
            "get",
            format!("/admin/tenants/{t}/groups"),
            None,
            Scope::Tenant,
        ),
        (
            "post",
            format!("/admin/tenants/{t}/roles"),
            Some(json!({ "name": "refused" })),
            Scope::Tenant,
        ),
        (
            "get",
            format!("/admin/tenants/{t}/roles"),
            None,
            Scope::Tenant,
        ),
        (
            "put",
            format!("/admin/roles/{r}/permissions"),
            Some(json!({ "group_id": ids.group, "permissions": ["rw"] })),
            Scope::Tenant,
        ),
        (
            "post",
            format!("/admin/tenants/{t}/agents"),
            Some(json!({ "login": "refused", "name": "R", "password": PASSWORD })),
            Scope::Tenant,
        ),
        (
            "get",
            format!("/admin/tenants/{t}/agents"),
            None,
            Scope::Tenant,
        ),
        (
            "put",
            format!("/admin/tenants/{t}/agents/{a}"),
            None,
            Scope::Tenant,
        ),
        ("get", format!("/admin/agents/{a}"), None, Scope::Tenant),
        (
            "put",
            format!("/admin/agents/{a}/roles/{r}"),
            None,
            Scope::Tenant,
        ),
        (
            "delete",
            format!("/admin/agents/{a}/roles/{r}"),
            None,
            Scope::Tenant,
        ),
        (
            "put",
            format!("/admin/agents/{a}/permissions"),
            Some(json!({ "group_id": ids.group, "permissions": ["rw"] })),
            Scope::Tenant,
        ),
        (
            "put",
            format!("/admin/agents/{a}/password"),
            Some(json!({ "password": "refused password!" })),
            Scope::Tenant,
        ),
        (
            "put",
            format!("/admin/agents/{a}/active"),
            Some(json!({ "active": false })),
            Scope::Tenant,
        ),
        (
            "post",
            format!("/admin/tenants/{t}/absences"),
            Some(
                json!({ "agent_id": a, "substitute_id": ids.other_agent, "starts_at": starts, "ends_at": ends }),
            ),
            Scope::Tenant,
        ),
        (
            "get",
            format!("/admin/tenants/{t}/absences"),
            None,
            Scope::Tenant,
        ),
        (
            "post",
            format!("/admin/tenants/{t}/companies"),
            Some(json!({ "name": "Refused Ltd" })),
            Scope::Tenant,
        ),
        (
            "get",
            format!("/admin/tenants/{t}/companies"),
            None,
            Scope::Tenant,
        ),
        (
            "post",
            format!("/admin/tenants/{t}/customers"),
            Some(json!({ "login": "refused", "name": "R" })),
            Scope::Tenant,
        ),
        (
            "get",
            format!("/admin/tenants/{t}/customers"),
            None,
            Scope::Tenant,
        ),
        (
            "get",
            format!("/admin/customers/{}", ids.customer),
            None,
            Scope::Tenant,
        ),
        (
            "patch",
            format!("/admin/customers/{}", ids.customer),
            Some(json!({ "name": "Refused" })),
            Scope::Tenant,
        ),
        (
            "get",
            format!("/admin/tenants/{t}/audit"),
            None,
            Scope::Tenant,
        ),
        (
            "post",
            "/me/api-tokens".into(),
            Some(json!({ "name": "refused", "scopes": ["admin"] })),
            Scope::SelfService,
        ),
        ("get", "/me/api-tokens".into(), None, Scope::SelfService),
        (
            "delete",
            format!("/me/api-tokens/{}", ids.token),
            None,
            Scope::SelfService,
        ),
        ("post", "/me/totp".into(), None, Scope::SelfService),
        (
            "post",
            "/me/totp/confirm".into(),
            Some(json!({ "code": "123456" })),
            Scope::SelfService,
        ),
        (
            "delete",
            "/me/totp".into(),
            Some(json!({ "code": "123456" })),
            Scope::SelfService,
        ),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Installation administrators only: 403 for everyone else.
    Installation,
    /// Administrators of the tenant: 404 for other agents.
    Tenant,
    /// Any agent's login session.
    SelfService,
}

#[tokio::test]
async fn customers_non_administrators_and_narrow_api_tokens_are_refused() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let api = Api { app: &app };
    let tenant = api.tenant_id().await;
    let me = api.ok("get", "/me", None).await;
    let admin_id = me["id"].as_str().unwrap().to_owned();

    // A company and a customer of it, who sees the company's tickets.
    let (status, company) = api
        .admin(
            "post",
            &format!("/admin/tenants/{tenant}/companies"),
            Some(json!({ "name": "Widgets Ltd" })),
        )
        .await;
    assert_eq!(status, 201, "{company}");
    let company = company["id"].as_str().unwrap().to_owned();
    let (status, customer) = api
        .admin(
            "post",
            &format!("/admin/tenants/{tenant}/customers"),
            Some(
                json!({ "login": "max", "name": "Max Muster", "email": "max@widgets.example",
                          "company_id": company, "company_tickets": true, "password": PASSWORD,
                          "language": "de" }),
            ),
        )
        .await;
    assert_eq!(status, 201, "{customer}");
    assert_eq!(customer["company_id"], company.as_str());
    assert_eq!(customer["company_tickets"], true);
    let customer_id = customer["id"].as_str().unwrap().to_owned();
    let read = api
        .ok("get", &format!("/admin/customers/{customer_id}"), None)
        .await;
    assert_eq!(read, customer);
    let listed = api
        .ok("get", &format!("/admin/tenants/{tenant}/customers"), None)
        .await;
    assert_eq!(listed["items"], json!([customer]));
    let companies = api
        .ok("get", &format!("/admin/tenants/{tenant}/companies"), None)
        .await;
    assert_eq!(companies["items"][0]["name"], "Widgets Ltd");

    // The customer logs in to its tenant, and its token says so.
    let (status, login) = call(
        &Client::new(),
        "post",
        &api.url("/auth/login"),
        Some(json!({ "kind": "customer", "tenant": ADMIN_TENANT, "login": "max", "password": PASSWORD })),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    let customer = bearer(login["access_token"].as_str().unwrap());
    let (_, customer_me) = api.as_(&customer, "get", "/me", None).await;
    assert_eq!(customer_me["kind"], "customer");
    assert_eq!(customer_me["customer"]["company_id"], company.as_str());
    assert_eq!(customer_me["customer"]["company_tickets"], true);

    // Her details change: a new address, no company (and so none of its tickets), no sign-in.
    let changed = api
        .ok(
            "patch",
            &format!("/admin/customers/{customer_id}"),
            Some(json!({ "email": "max@uni.example", "company_id": "", "active": false })),
        )
        .await;
    assert_eq!(
        (
            &changed["email"],
            &changed["company_id"],
            &changed["company_tickets"],
            &changed["active"],
            &changed["name"]
        ),
        (
            &json!("max@uni.example"),
            &Value::Null,
            &json!(false),
            &json!(false),
            &json!("Max Muster")
        ),
        "{changed}"
    );
    let customer_login =
        json!({ "kind": "customer", "tenant": ADMIN_TENANT, "login": "max", "password": PASSWORD });
    let (status, _) = call(
        &Client::new(),
        "post",
        &api.url("/auth/login"),
        Some(customer_login.clone()),
    )
    .await;
    assert_eq!(status, 401, "an inactive customer cannot sign in");
    let (status, problem) = api
        .admin(
            "patch",
            &format!("/admin/customers/{customer_id}"),
            Some(json!({ "company_tickets": true })),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    let restored = api
        .ok(
            "patch",
            &format!("/admin/customers/{customer_id}"),
            Some(json!({ "company_id": company, "company_tickets": true, "active": true })),
        )
        .await;
    assert_eq!(restored["company_tickets"], true);
    let (status, login) = call(
        &Client::new(),
        "post",
        &api.url("/auth/login"),
        Some(customer_login),
    )
    .await;
    assert_eq!(status, 200, "active again");
    // The deactivation ended her earlier session: she goes on with the new one.
    let customer = bearer(login["access_token"].as_str().unwrap());
    let customer_id_read = api
        .ok("get", &format!("/admin/customers/{customer_id}"), None)
        .await;
    assert_eq!(customer_id_read, restored);

    // An agent without administration, and API tokens with and without the `admin` scope.
    let users = api.group_id(&tenant, "users").await;
    let team = api.role_id(&tenant, "Team member").await;
    let nina_id = api.agent(&tenant, "nina", &[&team]).await;
    let nina = login_of(login_client(&app.api, "nina", PASSWORD).await, "nina");
    let (status, narrow) = api
        .admin(
            "post",
            "/me/api-tokens",
            Some(json!({ "name": "reader", "scopes": ["tickets:read"] })),
        )
        .await;
    assert_eq!(status, 201, "{narrow}");
    let narrow_token = bearer(narrow["secret"].as_str().unwrap());
    let token_id = narrow["token"]["id"].as_str().unwrap().to_owned();

    let ids = Ids {
        tenant: tenant.clone(),
        group: users,
        role: team,
        agent: nina_id.clone(),
        other_agent: admin_id.clone(),
        customer: customer_id,
        token: token_id,
    };
    let table = routes(&ids);

    // The table covers every administration and self-service route of the API.
    let doc = api.ok("get", "/openapi.json", None).await;
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !(path.starts_with("/admin") || path.starts_with("/me/")) {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    let template = |concrete: &str| {
        concrete
            .replace(&ids.tenant, "{tenant_id}")
            .replace(&ids.role, "{role_id}")
            .replace(&ids.agent, "{agent_id}")
            .replace(&ids.customer, "{customer_id}")
            .replace(&ids.token, "{token_id}")
            .replace(MESSAGE, "{message_id}")
    };
    for (method, path) in &documented {
        assert!(
            table
                .iter()
                .any(|(m, p, _, _)| m == method && template(p) == *path),
            "{method} {path} is not checked for refusals"
        );
    }
    assert_eq!(documented.len(), table.len(), "{documented:?}");

    for (method, path, body, scope) in &table {
        // Customers may not administer at all.
        let (status, problem) = api.as_(&customer, method, path, body.clone()).await;
        assert_eq!(status, 403, "customer: {method} {path}: {problem}");
        // Nor may API tokens without the `admin` scope, nor mint tokens or change the factor.
        let (status, problem) = api.as_(&narrow_token, method, path, body.clone()).await;
        assert_eq!(status, 403, "API token: {method} {path}: {problem}");
        // An agent who administers nothing: 403 for the installation, 404 for tenants.
        let expected = match scope {
            Scope::Installation => 403,
            Scope::Tenant => 404,
            Scope::SelfService => continue,
        };
        let (status, problem) = api.as_(&nina, method, path, body.clone()).await;
        assert_eq!(status, expected, "nina: {method} {path}: {problem}");
    }
    // The 404s say no more than for a tenant that does not exist.
    let (_, refused) = api
        .as_(
            &nina,
            "get",
            &format!("/admin/tenants/{tenant}/groups"),
            None,
        )
        .await;
    let ghost = "01a20000-0000-7000-8000-000000000000";
    let (_, missing) = api
        .admin("get", &format!("/admin/tenants/{ghost}/groups"), None)
        .await;
    assert_eq!(
        refused["detail"].as_str().unwrap().replace(&tenant, "X"),
        missing["detail"].as_str().unwrap().replace(ghost, "X")
    );
    let (_, problem) = api.as_(&narrow_token, "get", "/admin/tenants", None).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("`admin` scope"),
        "{problem}"
    );
    let (_, problem) = api.as_(&customer, "get", "/admin/tenants", None).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("customers"),
        "{problem}"
    );

    // Nothing the refused requests asked for happened.
    let agent = api
        .ok("get", &format!("/admin/agents/{nina_id}"), None)
        .await;
    assert_eq!(agent["active"], true);
    let groups = api
        .ok("get", &format!("/admin/tenants/{tenant}/groups"), None)
        .await;
    assert!(
        groups["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["name"] != "refused")
    );
    let tenants = api.ok("get", "/admin/tenants", None).await;
    assert_eq!(tenants["items"].as_array().unwrap().len(), 1);
    login_of(login_client(&app.api, "nina", PASSWORD).await, "nina");

    // An API token with the `admin` scope administers, but still mints no tokens.
    let (_, wide) = api
        .admin(
            "post",
            "/me/api-tokens",
            Some(json!({ "name": "admin script", "scopes": ["admin"] })),
        )
        .await;
    let wide = bearer(wide["secret"].as_str().unwrap());
    let (status, _) = api
        .as_(
            &wide,
            "get",
            &format!("/admin/tenants/{tenant}/groups"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = api
        .as_(
            &wide,
            "post",
            "/me/api-tokens",
            Some(json!({ "name": "x", "scopes": ["admin"] })),
        )
        .await;
    assert_eq!(status, 403);
    app.stop().await;
}

#[tokio::test]
async fn api_tokens_work_until_revoked_and_land_in_the_audit_log() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let api = Api { app: &app };
    let tenant = api.tenant_id().await;
    let admin_id = api.ok("get", "/me", None).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, issued) = api
        .admin(
            "post",
            "/me/api-tokens",
            Some(json!({ "name": "backup script", "scopes": ["tickets:read", "admin"], "valid_days": 30 })),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    let secret = issued["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("dkt_"), "{secret}");
    let id = issued["token"]["id"].as_str().unwrap().to_owned();
    assert_eq!(issued["token"]["scopes"], json!(["admin", "tickets:read"]));
    assert!(issued["token"]["revoked_at"].is_null());
    let listed = api.ok("get", "/me/api-tokens", None).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed["items"][0]["id"], id.as_str());
    assert!(
        listed["items"][0].get("secret").is_none(),
        "the secret is shown once"
    );

    // The token works as a bearer token, with its scopes.
    let script = bearer(&secret);
    let (status, script_me) = api.as_(&script, "get", "/me", None).await;
    assert_eq!(status, 200);
    assert_eq!(script_me["id"], admin_id.as_str());
    assert_eq!(script_me["scopes"], json!(["admin", "tickets:read"]));
    let (status, _) = api
        .as_(
            &script,
            "get",
            &format!("/admin/tenants/{tenant}/agents"),
            None,
        )
        .await;
    assert_eq!(status, 200);

    // Someone else's, unknown and malformed token ids.
    let nina_id = api.agent(&tenant, "nina", &[]).await;
    let nina = login_of(login_client(&app.api, "nina", PASSWORD).await, "nina");
    let (status, _) = api
        .as_(&nina, "delete", &format!("/me/api-tokens/{id}"), None)
        .await;
    assert_eq!(status, 404, "nina cannot revoke the administrator's token");
    let (status, _) = api.as_(&nina, "get", "/me/api-tokens", None).await;
    assert_eq!(status, 200);
    let (status, _) = api
        .admin(
            "delete",
            "/me/api-tokens/0123456789abcdef0123456789abcdef",
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = api
        .admin("delete", "/me/api-tokens/not-a-token", None)
        .await;
    assert_eq!(status, 422);

    // Revoked, it stops working at once (and revoking again changes nothing).
    let revoked = api
        .ok("delete", &format!("/me/api-tokens/{id}"), None)
        .await;
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    let (status, _) = api.as_(&script, "get", "/me", None).await;
    assert_eq!(status, 401);
    let again = api
        .ok("delete", &format!("/me/api-tokens/{id}"), None)
        .await;
    assert_eq!(again["revoked_at"], revoked["revoked_at"]);

    // Bad token requests.
    for body in [
        json!({ "name": "", "scopes": ["x"] }),
        json!({ "name": "n", "scopes": [] }),
        json!({ "name": "n", "scopes": ["has space"] }),
        json!({ "name": "n", "scopes": ["x"], "valid_days": 0 }),
        json!({ "name": "n", "scopes": ["x"], "valid_days": 367 }),
        json!({ "name": "n" }),
    ] {
        let (status, problem) = api
            .admin("post", "/me/api-tokens", Some(body.clone()))
            .await;
        assert_eq!(status, 422, "{body}: {problem}");
    }

    // The audit log has the logins, the token's issue and revocation.
    let log = api.audit(&tenant).await;
    assert!(
        has_entry(&log, "login", &admin_id),
        "the administrator's login"
    );
    assert!(has_entry(&log, "login", &nina_id), "nina's login");
    assert!(has_entry(&log, "token_issued", &admin_id), "{log:#?}");
    assert!(has_entry(&log, "token_revoked", &id));
    let issue = log
        .iter()
        .find(|e| e["action"] == "token_issued" && e["details"]["api_token"] == id.as_str())
        .unwrap();
    assert_eq!(issue["actor"], ADMIN_LOGIN);
    assert_eq!(issue["details"]["scopes"], json!(["admin", "tickets:read"]));
    app.stop().await;
}

#[tokio::test]
async fn the_second_factor_is_enrolled_confirmed_and_disabled_by_its_owner() {
    use docket_identity::totp::TotpSecret;
    let app = TestApp::spawn(Mode::Embedded).await;
    let api = Api { app: &app };
    let secs = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };

    let (status, problem) = api
        .admin(
            "post",
            "/me/totp/confirm",
            Some(json!({ "code": "123456" })),
        )
        .await;
    assert_eq!(status, 409, "nothing to confirm yet: {problem}");
    let (status, enrolment) = api.admin("post", "/me/totp", None).await;
    assert_eq!(status, 201, "{enrolment}");
    let uri = enrolment["otpauth_uri"].as_str().unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Docket:admin?secret="),
        "{uri}"
    );
    let secret = TotpSecret::from_base32(enrolment["secret"].as_str().unwrap()).unwrap();

    // Not in force until confirmed.
    login_of(
        login_client(&app.api, ADMIN_LOGIN, ADMIN_PASSWORD).await,
        "admin",
    );
    let right = secret.code_at(secs());
    let wrong = format!(
        "{:06}",
        (right.parse::<u32>().unwrap() + 500_000) % 1_000_000
    );
    for code in [wrong.as_str(), "12345", "abcdef"] {
        let (status, problem) = api
            .admin("post", "/me/totp/confirm", Some(json!({ "code": code })))
            .await;
        assert_eq!(status, 422, "{code}: {problem}");
    }
    let (status, confirmed) = api
        .admin("post", "/me/totp/confirm", Some(json!({ "code": right })))
        .await;
    assert_eq!(status, 200, "{confirmed}");
    assert_eq!(confirmed["enabled"], true);
    let (status, _) = api.admin("post", "/me/totp", None).await;
    assert_eq!(status, 409, "enabled already");

    // Logging in now needs a code.
    let (status, problem) = call(
        &Client::new(),
        "post",
        &api.url("/auth/login"),
        Some(json!({ "login": ADMIN_LOGIN, "password": ADMIN_PASSWORD })),
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("second-factor-required"),
        "{problem}"
    );

    // Disabling needs a fresh code: not the one used up, not a wrong one.
    let (status, _) = api
        .admin("delete", "/me/totp", Some(json!({ "code": right })))
        .await;
    assert_eq!(status, 422, "a used code is a replay");
    let (status, _) = api
        .admin("delete", "/me/totp", Some(json!({ "code": wrong })))
        .await;
    assert_eq!(status, 422);
    let next = secret.code_at(secs() + 30);
    let (status, disabled) = api
        .admin("delete", "/me/totp", Some(json!({ "code": next })))
        .await;
    assert_eq!(status, 200, "{disabled}");
    assert_eq!(disabled["enabled"], false);
    login_of(
        login_client(&app.api, ADMIN_LOGIN, ADMIN_PASSWORD).await,
        "admin",
    );
    let log = api.audit(&api.tenant_id().await).await;
    let changes: Vec<&Value> = log
        .iter()
        .filter(|e| e["action"] == "second_factor_changed")
        .map(|e| &e["details"]["enabled"])
        .collect();
    assert_eq!(changes, [&json!(false), &json!(true)]);
    app.stop().await;
}

#[tokio::test]
async fn bad_input_and_foreign_ids_are_problems_not_crashes() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let api = Api { app: &app };
    let tenant = api.tenant_id().await;
    let users = api.group_id(&tenant, "users").await;
    let team = api.role_id(&tenant, "Team member").await;
    let ghost = "01a20000-0000-7000-8000-000000000000";

    // A second tenant, and an administrator of the first one only.
    let (status, other) = api
        .admin(
            "post",
            "/admin/tenants",
            Some(json!({ "slug": "other-centre", "name": "Other Centre" })),
        )
        .await;
    assert_eq!(status, 201, "{other}");
    let other = other["id"].as_str().unwrap().to_owned();
    let other_role = api.role_id(&other, "Team member").await;
    let other_group = api.group_id(&other, "users").await;
    let administrator = api.role_id(&tenant, "Administrator").await;
    let tina_id = api.agent(&tenant, "tina", &[&administrator]).await;
    let tina = login_of(login_client(&app.api, "tina", PASSWORD).await, "tina");
    let (status, _) = api
        .as_(
            &tina,
            "get",
            &format!("/admin/tenants/{tenant}/groups"),
            None,
        )
        .await;
    assert_eq!(status, 200, "tina administers her tenant");

    let cases: Vec<BadCase> = vec![
        // Unknown permission names, empty names, malformed ids.
        (
            &app.client,
            "put",
            format!("/admin/roles/{team}/permissions"),
            Some(json!({ "group_id": users, "permissions": ["sudo"] })),
            422,
            "sudo",
        ),
        (
            &app.client,
            "post",
            format!("/admin/tenants/{tenant}/groups"),
            Some(json!({ "name": "  " })),
            422,
            "group name",
        ),
        (
            &app.client,
            "post",
            format!("/admin/tenants/{tenant}/roles"),
            Some(json!({ "name": "" })),
            422,
            "role name",
        ),
        (
            &app.client,
            "post",
            format!("/admin/tenants/{tenant}/companies"),
            Some(json!({ "name": "" })),
            422,
            "company name",
        ),
        (
            &app.client,
            "post",
            "/admin/tenants".into(),
            Some(json!({ "slug": "Not A Slug", "name": "x" })),
            422,
            "slug",
        ),
        (
            &app.client,
            "get",
            "/admin/agents/not-an-id".into(),
            None,
            422,
            "not a valid agent id",
        ),
        (
            &app.client,
            "get",
            "/admin/tenants/42/groups".into(),
            None,
            422,
            "not a valid tenant id",
        ),
        (
            &app.client,
            "put",
            format!("/admin/roles/{team}/permissions"),
            Some(json!({ "group_id": "nope", "permissions": ["ro"] })),
            422,
            "not a valid group id",
        ),
        (
            &app.client,
            "put",
            format!("/admin/agents/{tina_id}/roles/xyz"),
            None,
            422,
            "not a valid role id",
        ),
        // Values out of the policy.
        (
            &app.client,
            "post",
            format!("/admin/tenants/{tenant}/agents"),
            Some(json!({ "login": "short", "name": "S", "password": "short" })),
            422,
            "at least 10",
        ),
        (
            &app.client,
            "post",
            format!("/admin/tenants/{tenant}/agents"),
            Some(json!({ "login": "has space", "name": "S", "password": PASSWORD })),
            422,
            "login",
        ),
        (
            &app.client,
            "post",
            format!("/admin/tenants/{tenant}/agents"),
            Some(
                json!({ "login": "mail", "name": "S", "email": "no-at-sign", "password": PASSWORD }),
            ),
            422,
            "email",
        ),
        (
            &app.client,
            "post",
            format!("/admin/tenants/{tenant}/agents"),
            Some(json!({ "login": "tina", "name": "S", "password": PASSWORD })),
            409,
            "exists already",
        ),
        (
            &app.client,
            "post",
            format!("/admin/tenants/{tenant}/customers"),
            Some(json!({ "login": "c", "name": "C", "company_tickets": true })),
            422,
            "company_id",
        ),
        (
            &app.client,
            "post",
            format!("/admin/tenants/{tenant}/absences"),
            Some(json!({ "agent_id": tina_id, "substitute_id": tina_id,
                      "starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-02T00:00:00Z" })),
            422,
            "themselves",
        ),
        (
            &app.client,
            "post",
            format!("/admin/tenants/{tenant}/absences"),
            Some(json!({ "agent_id": tina_id, "substitute_id": tina_id,
                      "starts_at": "yesterday", "ends_at": "2030-01-02T00:00:00Z" })),
            422,
            "starts_at",
        ),
        (
            &app.client,
            "get",
            format!("/admin/tenants/{tenant}/audit?page_token=garbage"),
            None,
            422,
            "page_token",
        ),
        (
            &app.client,
            "get",
            format!("/admin/tenants/{tenant}/audit?page_size=0"),
            None,
            422,
            "page_size",
        ),
        (
            &app.client,
            "get",
            format!("/admin/tenants/{tenant}/audit?page_size=501"),
            None,
            422,
            "page_size",
        ),
        (
            &app.client,
            "get",
            format!("/admin/tenants/{tenant}/audit?page_size=-1"),
            None,
            400,
            "page_size",
        ),
        (
            &app.client,
            "put",
            format!("/admin/agents/{tina_id}/active"),
            Some(json!({ "active": "no" })),
            422,
            "active",
        ),
        (
            &app.client,
            "put",
            format!("/admin/agents/{tina_id}/active"),
            Some(json!({ "active": true, "x": 1 })),
            422,
            "x",
        ),
        // Unknown ids.
        (
            &app.client,
            "get",
            format!("/admin/agents/{ghost}"),
            None,
            404,
            "not found",
        ),
        (
            &app.client,
            "get",
            format!("/admin/tenants/{ghost}"),
            None,
            404,
            "not found",
        ),
        (
            &app.client,
            "get",
            format!("/admin/customers/{ghost}"),
            None,
            404,
            "not found",
        ),
        (
            &app.client,
            "put",
            format!("/admin/roles/{ghost}/permissions"),
            Some(json!({ "group_id": users, "permissions": ["ro"] })),
            404,
            "not found",
        ),
        (
            &app.client,
            "put",
            format!("/admin/roles/{team}/permissions"),
            Some(json!({ "group_id": ghost, "permissions": ["ro"] })),
            404,
            "not found",
        ),
        // A group of another tenant on this tenant's role.
        (
            &app.client,
            "put",
            format!("/admin/roles/{team}/permissions"),
            Some(json!({ "group_id": other_group, "permissions": ["ro"] })),
            404,
            "not found",
        ),
        // Foreign ids: the other tenant is as unknown to tina as a tenant that does not exist.
        (
            &tina,
            "get",
            format!("/admin/tenants/{other}"),
            None,
            404,
            "not found",
        ),
        (
            &tina,
            "get",
            format!("/admin/tenants/{other}/groups"),
            None,
            404,
            "not found",
        ),
        (
            &tina,
            "put",
            format!("/admin/roles/{other_role}/permissions"),
            Some(json!({ "group_id": other_group, "permissions": ["rw"] })),
            404,
            "not found",
        ),
        (
            &tina,
            "put",
            format!("/admin/agents/{tina_id}/roles/{other_role}"),
            None,
            404,
            "not found",
        ),
        (
            &tina,
            "get",
            "/admin/tenants".into(),
            None,
            403,
            "installation administrator",
        ),
        // Tenant administrators do not take over installation administrators.
        (
            &tina,
            "put",
            format!(
                "/admin/agents/{}/password",
                api.ok("get", "/me", None).await["id"].as_str().unwrap()
            ),
            Some(json!({ "password": "taken over, long enough" })),
            403,
            "installation administrator",
        ),
        (
            &tina,
            "put",
            format!("/admin/agents/{tina_id}/active"),
            Some(json!({ "active": false })),
            422,
            "your own",
        ),
    ];
    for (client, method, path, body, status, detail) in cases {
        let (got, problem) = api.as_(client, method, &path, body.clone()).await;
        assert_eq!(got.as_u16(), status, "{method} {path} {body:?}: {problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains(detail),
            "{method} {path}: `{detail}` not in {problem}"
        );
    }
    // Malformed JSON and a missing body.
    let raw = app
        .client
        .post(api.url(&format!("/admin/tenants/{tenant}/groups")))
        .header("content-type", "application/json")
        .body("{ not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    assert_eq!(raw.headers()["content-type"], "application/problem+json");
    let (status, _) = api
        .admin("post", &format!("/admin/tenants/{tenant}/groups"), None)
        .await;
    assert!(status == 415 || status == 400, "{status}");
    // The administrator still logs in with the old password.
    login_of(
        login_client(&app.api, ADMIN_LOGIN, ADMIN_PASSWORD).await,
        "admin",
    );
    app.stop().await;
}
