//! Authentication at the gateway: every route but health and login refuses an unauthenticated
//! request; sessions, CSRF and bearer tokens behave.

use std::time::Duration;

use docket_integration_tests::{
    ADMIN_LOGIN, ADMIN_PASSWORD, Mode, TestApp, send, test_settings, wait_until,
};
use serde_json::json;

/// Routes anyone may call: logging in, and refreshing a session (which itself is the credential).
const PUBLIC: &[(&str, &str)] = &[("post", "/auth/login"), ("post", "/auth/refresh")];

/// The keys of an OpenAPI path item that are operations.
const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

#[tokio::test]
async fn every_route_refuses_an_unauthenticated_request() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let doc = app.get_json("/openapi.json").await;
    let anonymous = reqwest::Client::new();
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if METHODS.contains(&method.as_str()) {
                operations.push((method.clone(), path.clone()));
            } else {
                // A path item's other fields are not operations; anything else is a mistake.
                assert!(
                    ["summary", "description", "parameters", "servers"].contains(&method.as_str()),
                    "unexpected key {method} on {path}"
                );
            }
        }
    }
    for (method, path) in PUBLIC {
        assert!(
            operations.iter().any(|(m, p)| m == method && p == path),
            "the public route {method} {path} is in the document"
        );
    }
    let mut checked = 0;
    for (method, path) in &operations {
        if PUBLIC.contains(&(method.as_str(), path.as_str())) {
            continue;
        }
        let concrete = path
            .split('/')
            .map(|seg| {
                if seg.starts_with('{') {
                    "01a20000-0000-7000-8000-000000000000"
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let url = format!("{}{concrete}", app.api);
        let request = match method.as_str() {
            "get" => anonymous.get(&url),
            "post" => anonymous.post(&url).json(&json!({})),
            "patch" => anonymous.patch(&url).json(&json!({})),
            "put" => anonymous.put(&url).json(&json!({})),
            "delete" => anonymous.delete(&url),
            other => panic!("unexpected method {other} on {path}"),
        };
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status(),
            401,
            "{method} {path} must refuse an anonymous caller"
        );
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        checked += 1;
    }
    // Every operation of the document was tried, but the public ones: none slipped through.
    assert_eq!(
        checked + PUBLIC.len(),
        operations.len(),
        "checked {checked} of the document's {} operations",
        operations.len()
    );
    assert!(checked >= 11, "only {checked} routes checked");
    // Routes outside the document: the document itself needs authentication too; health does not.
    let doc_anon = anonymous
        .get(format!("{}/openapi.json", app.api))
        .send()
        .await
        .unwrap();
    assert_eq!(doc_anon.status(), 401);
    let health_url = app.api.replace("/api/v1", "/healthz");
    assert_eq!(
        anonymous.get(health_url).send().await.unwrap().status(),
        200
    );
    app.stop().await;
}

/// The web pages (outside the OpenAPI document): without a session every page and form sends
/// the browser to its login page and shows nothing; the login pages and the assets are public.
#[tokio::test]
async fn every_web_page_sends_an_anonymous_browser_to_its_login() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let site = app.api.trim_end_matches("/api/v1").to_owned();
    let anonymous = docket_integration_tests::web::browser();
    let id = "01a20000-0000-7000-8000-000000000000";
    let pages: &[(&str, String)] = &[
        ("get", "/portal/".into()),
        ("get", "/portal/new".into()),
        ("post", "/portal/new".into()),
        ("get", "/portal/tickets/2026113010000001".into()),
        ("post", "/portal/tickets/2026113010000001/reply".into()),
        ("post", "/portal/tickets/2026113010000001/close".into()),
        ("post", "/portal/tickets/2026113010000001/reopen".into()),
        ("post", "/portal/logout".into()),
        ("get", "/desk/".into()),
        ("get", format!("/desk/queues/{id}")),
        ("get", "/desk/views/my-locked".into()),
        ("get", "/desk/search?text=vpn".into()),
        ("post", "/desk/bulk".into()),
        ("get", "/desk/phone".into()),
        ("post", "/desk/phone".into()),
        ("get", "/desk/tickets/2026113010000001".into()),
        ("post", "/desk/tickets/2026113010000001/articles".into()),
        ("post", "/desk/tickets/2026113010000001/update".into()),
        ("post", "/desk/tickets/2026113010000001/lock".into()),
        ("post", "/desk/tickets/2026113010000001/link".into()),
        ("post", "/desk/tickets/2026113010000001/watch".into()),
        ("post", "/desk/tickets/2026113010000001/fields".into()),
        ("post", "/desk/tickets/2026113010000001/tags".into()),
        ("post", "/desk/searches".into()),
        ("post", format!("/desk/views/{id}/delete")),
        ("post", "/desk/tickets/2026113010000001/merge".into()),
        (
            "post",
            format!("/desk/tickets/2026113010000001/articles/{id}/split"),
        ),
        ("get", "/desk/events".into()),
        ("get", "/desk/admin/queues".into()),
        ("post", "/desk/admin/queues".into()),
        ("post", format!("/desk/admin/templates/{id}/delete")),
        ("get", format!("/desk/admin/queues/{id}")),
        ("post", format!("/desk/admin/queues/{id}")),
        ("get", format!("/desk/admin/agents/{id}")),
        ("post", format!("/desk/admin/agents/{id}")),
        ("get", format!("/desk/admin/roles/{id}")),
        ("post", format!("/desk/admin/roles/{id}")),
        ("get", format!("/desk/admin/templates/{id}")),
        ("post", format!("/desk/admin/templates/{id}")),
        ("get", format!("/desk/admin/customers/{id}")),
        ("post", format!("/desk/admin/customers/{id}")),
        ("post", "/desk/logout".into()),
    ];
    for (method, path) in pages {
        let url = format!("{site}{path}");
        let request = match *method {
            "get" => anonymous.get(&url),
            _ => anonymous
                .post(&url)
                .multipart(reqwest::multipart::Form::new().text("csrf", "x")),
        };
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 303, "{method} {path}");
        let area = path.split('/').nth(1).unwrap();
        assert_eq!(
            response.headers()["location"],
            format!("/{area}/login"),
            "{method} {path}"
        );
    }
    for public in [
        "/portal/login",
        "/desk/login",
        "/assets/docket.css",
        "/assets/docket.js",
    ] {
        let response = anonymous
            .get(format!("{site}{public}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{public}");
    }
    app.stop().await;
}

#[tokio::test]
async fn bad_credentials_get_one_non_revealing_answer() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let anonymous = reqwest::Client::new();
    let mut details = Vec::new();
    for (login, password) in [
        (ADMIN_LOGIN, "wrong password"),
        ("nobody", ADMIN_PASSWORD),
        ("", ""),
    ] {
        let r = anonymous
            .post(format!("{}/auth/login", app.api))
            .json(&json!({ "login": login, "password": password }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{login}");
        let problem: serde_json::Value = r.json().await.unwrap();
        details.push(problem["detail"].as_str().unwrap().to_owned());
    }
    assert!(details.windows(2).all(|w| w[0] == w[1]), "{details:?}");
    for bad in [
        "Bearer not-a-token",
        "Bearer a.b.c",
        "Basic YWRtaW46eA==",
        "Bearer dkt_x_y",
    ] {
        let r = anonymous
            .get(format!("{}/queues", app.api))
            .header("authorization", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{bad}");
    }
    app.stop().await;
}

#[tokio::test]
async fn browser_sessions_need_the_csrf_token_for_changes_and_end_at_logout() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let login = browser
        .post(format!("{}/auth/login", app.api))
        .json(&json!({ "login": ADMIN_LOGIN, "password": ADMIN_PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookies: Vec<String> = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("docket_session="))
        .unwrap();
    let session_value = session.split(';').next().unwrap().to_owned();
    assert!(
        session.contains("HttpOnly")
            && session.contains("Secure")
            && session.contains("SameSite=Lax")
    );
    let body: serde_json::Value = login.json().await.unwrap();
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();

    // Reading with the cookie works.
    let queues: serde_json::Value = browser
        .get(format!("{}/queues", app.api))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let queue = queues["items"][0]["id"].as_str().unwrap().to_owned();
    // A change without the CSRF header is refused.
    let ticket = json!({ "queue_id": queue, "title": "From the browser" });
    let forged = browser
        .post(format!("{}/tickets", app.api))
        .json(&ticket)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let wrong = browser
        .post(format!("{}/tickets", app.api))
        .header("x-csrf-token", "guessed")
        .json(&ticket)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let ok = browser
        .post(format!("{}/tickets", app.api))
        .header("x-csrf-token", &csrf)
        .json(&ticket)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
    let created: serde_json::Value = ok.json().await.unwrap();
    let history = browser
        .get(format!(
            "{}/tickets/{}/history",
            app.api,
            created["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(
        history["items"][0]["actor"], ADMIN_LOGIN,
        "the session's user is the actor"
    );

    let logout = browser
        .post(format!("{}/auth/logout", app.api))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let after = browser
        .get(format!("{}/queues", app.api))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401, "the cookie is gone");
    let replayed = reqwest::Client::new()
        .get(format!("{}/queues", app.api))
        .header("cookie", &session_value)
        .send()
        .await
        .unwrap();
    assert_eq!(
        replayed.status(),
        401,
        "the session is revoked, not only forgotten by the browser"
    );
    app.stop().await;
}

/// How long a service may still accept an access token of a revoked session: the verifiers poll
/// the revoked sessions every 3 s (`docket_auth::remote::REVOCATION_POLL`), with room for a
/// slow test machine.
const REVOCATION_DELAY: Duration = Duration::from_secs(10);

const AGENT_PASSWORD: &str = "otto's first password";

/// A browser's sign-in: its session cookie (`docket_session=…`), CSRF token and access token.
async fn sign_in(app: &TestApp, login: &str, password: &str) -> (String, String, String) {
    let response = reqwest::Client::new()
        .post(format!("{}/auth/login", app.api))
        .json(&json!({ "login": login, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{login} signs in");
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("docket_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body: serde_json::Value = response.json().await.unwrap();
    let csrf = body["csrf_token"].as_str().unwrap().to_owned();
    let token = body["access_token"].as_str().unwrap().to_owned();
    (cookie, csrf, token)
}

/// The status of refreshing the session of `cookie`.
async fn refresh(app: &TestApp, cookie: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/auth/refresh", app.api))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The status of reading the queues with the session cookie, and with the bearer token.
async fn reads(app: &TestApp, cookie: &str, token: &str) -> (u16, u16) {
    let client = reqwest::Client::new();
    let url = format!("{}/queues", app.api);
    let by_cookie = client.get(&url).header("cookie", cookie).send();
    let by_token = client.get(&url).bearer_auth(token).send();
    (
        by_cookie.await.unwrap().status().as_u16(),
        by_token.await.unwrap().status().as_u16(),
    )
}

in_both_modes!(
    a_password_or_role_change_ends_the_sessions:
        a_password_or_role_change_ends_the_sessions_embedded,
        a_password_or_role_change_ends_the_sessions_production
);

/// Issue 14, finding 3: after an administrator resets an agent's password, or gives or takes a
/// role, the agent's old session no longer refreshes, and its access tokens are refused.
async fn a_password_or_role_change_ends_the_sessions(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let tenant = app.tenant_id.clone();
    let admin = |method: reqwest::Method, path: String, body: serde_json::Value| {
        app.client
            .request(method, format!("{}{path}", app.api))
            .json(&body)
    };
    let (status, role) = send(admin(
        reqwest::Method::POST,
        format!("/admin/tenants/{tenant}/roles"),
        json!({ "name": "Night shift" }),
    ))
    .await;
    assert_eq!(status, 201, "{role}");
    let role = role["id"].as_str().unwrap().to_owned();
    let (status, otto) = send(admin(
        reqwest::Method::POST,
        format!("/admin/tenants/{tenant}/agents"),
        json!({ "login": "otto", "name": "Otto", "password": AGENT_PASSWORD, "role_ids": [role] }),
    ))
    .await;
    assert_eq!(status, 201, "{otto}");
    let otto = otto["id"].as_str().unwrap().to_owned();

    // A password reset.
    let (cookie, _, token) = sign_in(&app, "otto", AGENT_PASSWORD).await;
    assert_eq!(refresh(&app, &cookie).await, 200);
    assert_eq!(reads(&app, &cookie, &token).await, (200, 200));
    let new_password = "otto's second password";
    let (status, body) = send(admin(
        reqwest::Method::PUT,
        format!("/admin/agents/{otto}/password"),
        json!({ "password": new_password }),
    ))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(refresh(&app, &cookie).await, 401, "the old session ended");
    wait_until(
        REVOCATION_DELAY,
        "the old session's reads refused",
        || async {
            let seen = reads(&app, &cookie, &token).await;
            if seen == (401, 401) {
                Ok(())
            } else {
                Err(seen)
            }
        },
    )
    .await;

    // A role taken away, and given back: each ends the sessions open at the time.
    for (method, what) in [
        (reqwest::Method::DELETE, "a role taken away"),
        (reqwest::Method::PUT, "a role given"),
    ] {
        let (cookie, _, token) = sign_in(&app, "otto", new_password).await;
        assert_eq!(refresh(&app, &cookie).await, 200, "{what}");
        assert_eq!(reads(&app, &cookie, &token).await, (200, 200), "{what}");
        let (status, body) = send(admin(
            method,
            format!("/admin/agents/{otto}/roles/{role}"),
            json!({}),
        ))
        .await;
        assert_eq!(status, 200, "{what}: {body}");
        assert_eq!(refresh(&app, &cookie).await, 401, "{what}");
        wait_until(REVOCATION_DELAY, what, || async {
            let seen = reads(&app, &cookie, &token).await;
            if seen == (401, 401) {
                Ok(())
            } else {
                Err(seen)
            }
        })
        .await;
    }
    // Signing in again works.
    let (cookie, _, _) = sign_in(&app, "otto", new_password).await;
    assert_eq!(refresh(&app, &cookie).await, 200);
    app.stop().await;
}

in_both_modes!(
    a_logout_revokes_the_sessions_access_tokens:
        a_logout_revokes_the_sessions_access_tokens_embedded,
        a_logout_revokes_the_sessions_access_tokens_production
);

/// Issue 14, finding 3: an access token issued before a logout is refused once the services
/// have learnt of the logout (within the documented delay), not only when it expires.
async fn a_logout_revokes_the_sessions_access_tokens(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let (cookie, csrf, token) = sign_in(&app, ADMIN_LOGIN, ADMIN_PASSWORD).await;
    // Another session of the same person stays open.
    let (other_cookie, _, other_token) = sign_in(&app, ADMIN_LOGIN, ADMIN_PASSWORD).await;
    assert_eq!(reads(&app, &cookie, &token).await, (200, 200));
    let logout = reqwest::Client::new()
        .post(format!("{}/auth/logout", app.api))
        .header("cookie", format!("{cookie}; docket_csrf={csrf}"))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    wait_until(REVOCATION_DELAY, "the logged-out token refused", || async {
        let seen = reads(&app, &cookie, &token).await;
        if seen == (401, 401) {
            Ok(())
        } else {
            Err(seen)
        }
    })
    .await;
    // A change is refused as well.
    let (status, _) = send(
        reqwest::Client::new()
            .post(format!("{}/tickets", app.api))
            .bearer_auth(&token)
            .json(&json!({ "queue_id": "01a20000-0000-7000-8000-000000000000", "title": "x" })),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(reads(&app, &other_cookie, &other_token).await, (200, 200));
    assert_eq!(refresh(&app, &other_cookie).await, 200);
    app.stop().await;
}

/// Issue 14, finding 7b: after `sign_in_failures` failed sign-ins from one address, every
/// sign-in from it is refused with 429 and Retry-After, whatever the login and whether by the
/// API or a login form, until the window is over.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sign_ins_are_limited_per_client_address() {
    let data = tempfile::tempdir().unwrap();
    let mut settings = test_settings(Mode::Embedded, data.path()).await;
    settings.gateway.sign_in_failures = 3;
    settings.gateway.sign_in_window_secs = 3;
    let app = TestApp::spawn_with(settings, data, None).await;
    let client = reqwest::Client::new();
    let login = |login: &str, password: &str| {
        client
            .post(format!("{}/auth/login", app.api))
            .json(&json!({ "login": login, "password": password }))
    };
    // Different logins: no login gets locked, the address runs out.
    for name in ["nobody-1", "nobody-2", "nobody-3"] {
        let (status, _) = send(login(name, "wrong password")).await;
        assert_eq!(status, 401, "{name}");
    }
    let refused = login("nobody-4", "wrong password").send().await.unwrap();
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3).contains(&retry_after), "{retry_after}");
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    // The right password of another login: refused as well, the limit is per address.
    let (status, _) = send(login(ADMIN_LOGIN, ADMIN_PASSWORD)).await;
    assert_eq!(status, 429);
    // A client cannot name another address itself: no proxy is trusted.
    let (status, _) =
        send(login(ADMIN_LOGIN, ADMIN_PASSWORD).header("x-forwarded-for", "203.0.113.5")).await;
    assert_eq!(status, 429);
    // The desk's login form is limited too (before its form token is even looked at).
    let site = app.api.trim_end_matches("/api/v1");
    let form = client
        .post(format!("{site}/desk/login"))
        .form(&[
            ("csrf", "x"),
            ("login", ADMIN_LOGIN),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 429);
    assert!(form.headers().contains_key("retry-after"));
    // After the window the right password works again.
    wait_until(
        Duration::from_secs(10),
        "sign-ins accepted after the window",
        || async {
            match send(login(ADMIN_LOGIN, ADMIN_PASSWORD)).await {
                (200, _) => Ok(()),
                (status, body) => Err((status, body)),
            }
        },
    )
    .await;
    app.stop().await;
}
