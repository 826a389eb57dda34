//! The portal in Debian's Chromium, driven by playwright-core (`integration-tests/browser/`): a
//! customer signs in (keyboard only after a failed attempt), sees her request, switches the
//! language; axe-core finds no serious or critical violation on any page; her session gets no
//! agent-only data. Screenshots land in `integration-tests/browser/artifacts/`.
//! `deploy/dev/browser.sh` (called by `make test`) installs Chromium and the npm packages; without
//! them this test fails, it never skips.

use std::path::{Path, PathBuf};

use docket_integration_tests::mail::repo;
use docket_integration_tests::{ADMIN_LOGIN, ADMIN_PASSWORD, ADMIN_TENANT, Mode, TestApp};

const PASSWORD: &str = "a password for jane, long enough";
const TITLE: &str = "Beamer im Hörsaal 2 zeigt kein Bild";

/// Where the browser scripts live, with their npm packages installed (never skipped without).
fn browser_dir() -> PathBuf {
    let dir = repo().join("integration-tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "playwright-core is missing: run deploy/dev/browser.sh (make test does)"
    );
    dir
}

/// Runs `<script>.js` of the browser directory with node and `env`; asserts that it succeeded
/// and reported `<script>: all passed`.
async fn run_script(browser_dir: &Path, script: &str, env: &[(&str, &str)]) {
    let out = tokio::process::Command::new("node")
        .arg(browser_dir.join(format!("{script}.js")))
        .envs(env.iter().copied())
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
        "the browser scenario {script} failed:\n{report}"
    );
    assert!(
        report.contains(&format!("{script}: all passed")),
        "{report}"
    );
}

/// Asserts that the scripts left a screenshot of each page in `artifacts/`.
fn assert_screenshots(browser_dir: &Path, pages: &[&str]) {
    for page in pages {
        assert!(
            browser_dir.join(format!("artifacts/{page}.png")).exists(),
            "no screenshot of {page}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_customer_uses_the_portal_in_a_real_browser() {
    let browser_dir = browser_dir();
    let app = TestApp::spawn(Mode::Embedded).await;
    let api = app.api.clone();
    app.customer_with_ticket("jane", PASSWORD, TITLE).await;

    let base = api.trim_end_matches("/api/v1").to_owned();
    run_script(
        &browser_dir,
        "portal",
        &[
            ("DOCKET_BASE_URL", &base),
            ("DOCKET_TENANT", ADMIN_TENANT),
            ("DOCKET_LOGIN", "jane"),
            ("DOCKET_PASSWORD", PASSWORD),
            ("DOCKET_TICKET_TITLE", TITLE),
        ],
    )
    .await;
    assert_screenshots(
        &browser_dir,
        &[
            "portal-login",
            "portal-login-error",
            "portal-tickets",
            "portal-ticket",
        ],
    );
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
    run_script(
        &browser_dir,
        "desk",
        &[
            ("DOCKET_BASE_URL", &base),
            ("DOCKET_TENANT", ADMIN_TENANT),
            ("DOCKET_CUSTOMER", "erika"),
            ("DOCKET_CUSTOMER_PASSWORD", PASSWORD),
            ("DOCKET_AGENT", ADMIN_LOGIN),
            ("DOCKET_AGENT_PASSWORD", ADMIN_PASSWORD),
            ("DOCKET_QUEUE_ID", &misc),
        ],
    )
    .await;
    assert_screenshots(
        &browser_dir,
        &[
            "portal-new",
            "portal-ticket",
            "portal-tickets-phone",
            "desk-overview",
            "desk-queue-live",
            "desk-ticket",
        ],
    );
    app.stop().await;
}
