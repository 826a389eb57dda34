//! The portal in Debian's Chromium, driven by playwright-core (`integration-tests/browser/`): a
//! customer signs in (keyboard only after a failed attempt), sees her request, switches the
//! language; axe-core finds no serious or critical violation on any page; her session gets no
//! agent-only data. Screenshots land in `integration-tests/browser/artifacts/`.
//! `deploy/dev/browser.sh` (called by `make test`) installs Chromium and the npm packages; without
//! them this test fails, it never skips.

use docket_integration_tests::mail::repo;
use docket_integration_tests::{ADMIN_LOGIN, ADMIN_PASSWORD, ADMIN_TENANT, Mode, TestApp};

const PASSWORD: &str = "a password for jane, long enough";
const TITLE: &str = "Beamer im Hörsaal 2 zeigt kein Bild";

/// Where the browser scripts live, with their npm packages installed (never skipped without).
fn browser_dir() -> std::path::PathBuf {
    let dir = repo().join("integration-tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "playwright-core is missing: run deploy/dev/browser.sh (make test does)"
    );
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_customer_uses_the_portal_in_a_real_browser() {
    let browser_dir = browser_dir();
    let app = TestApp::spawn(Mode::Embedded).await;
    let api = app.api.clone();
    app.customer_with_ticket("jane", PASSWORD, TITLE).await;

    let base = api.trim_end_matches("/api/v1").to_owned();
    let out = tokio::process::Command::new("node")
        .arg(browser_dir.join("portal.js"))
        .env("DOCKET_BASE_URL", &base)
        .env("DOCKET_TENANT", ADMIN_TENANT)
        .env("DOCKET_LOGIN", "jane")
        .env("DOCKET_PASSWORD", PASSWORD)
        .env("DOCKET_TICKET_TITLE", TITLE)
        .output()
        .await
        .expect("node runs (make test installs the browser tools)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the browser check failed:\n{report}");
    assert!(report.contains("portal: all passed"), "{report}");
    for page in ["login", "login-error", "tickets", "ticket"] {
        assert!(
            browser_dir
                .join(format!("artifacts/portal-{page}.png"))
                .exists(),
            "no screenshot of {page}"
        );
    }
    app.stop().await;
}

/// The whole desk in the browser: a customer reports a request with an attachment in the portal,
/// the agent sees it arrive in the queue view without reloading, answers; she reads the answer
/// (never the internal note) and replies; the agent, whose open ticket shows the reply live,
/// closes it. axe checks every page; a customer session gets no desk page. (`browser/desk.js`)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn customer_and_agent_work_a_request_in_real_browsers() {
    let browser_dir = browser_dir();
    let app = TestApp::spawn(Mode::Embedded).await;
    let api = app.api.clone();
    app.customer_with_ticket("erika", PASSWORD, "Drucker im 2. OG")
        .await;
    let misc = app.queue_id("Misc").await;
    let r = app
        .client
        .patch(format!("{api}/queues/{misc}"))
        .json(&serde_json::json!({"portal": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    for (kind, name) in [("services", "Netzwerk::WLAN"), ("ticket-types", "Störung")] {
        if name.contains("::") {
            let parent = name.split("::").next().unwrap();
            let r = app
                .post(
                    &format!("/tenants/{}/{kind}", app.tenant_id),
                    serde_json::json!({"name": parent}),
                )
                .await;
            assert_eq!(r.status(), 201);
        }
        let r = app
            .post(
                &format!("/tenants/{}/{kind}", app.tenant_id),
                serde_json::json!({"name": name}),
            )
            .await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }

    let base = api.trim_end_matches("/api/v1").to_owned();
    let out = tokio::process::Command::new("node")
        .arg(browser_dir.join("desk.js"))
        .env("DOCKET_BASE_URL", &base)
        .env("DOCKET_TENANT", ADMIN_TENANT)
        .env("DOCKET_CUSTOMER", "erika")
        .env("DOCKET_CUSTOMER_PASSWORD", PASSWORD)
        .env("DOCKET_AGENT", ADMIN_LOGIN)
        .env("DOCKET_AGENT_PASSWORD", ADMIN_PASSWORD)
        .env("DOCKET_QUEUE_ID", &misc)
        .output()
        .await
        .expect("node runs (make test installs the browser tools)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "the browser scenario failed:\n{report}"
    );
    assert!(report.contains("desk: all passed"), "{report}");
    for page in [
        "portal-new",
        "portal-ticket",
        "portal-tickets-phone",
        "desk-overview",
        "desk-queue-live",
        "desk-ticket",
    ] {
        assert!(
            browser_dir.join(format!("artifacts/{page}.png")).exists(),
            "no screenshot of {page}"
        );
    }
    app.stop().await;
}
