//! Authentication at the gateway: every route but health and login refuses an unauthenticated
//! request; sessions, CSRF and bearer tokens behave.

use docket_integration_tests::{ADMIN_LOGIN, ADMIN_PASSWORD, Mode, TestApp};
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
