//! The customer portal's first pages over HTTP, as a browser meets them: the login form in the
//! browser's language with its CSRF token, a strict Content-Security-Policy, the customer's
//! tickets after signing in, and the login page for anyone without a session.

use docket_integration_tests::html::Page;
use docket_integration_tests::web::{browser, set_cookie};
use docket_integration_tests::{Mode, TestApp, content_type};

const PASSWORD: &str = "a password for jane, long enough";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_customer_signs_in_and_sees_their_tickets() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let api = app.api.clone();
    let site = api.trim_end_matches("/api/v1").to_owned();
    let (_, ticket) = app
        .customer_with_ticket("jane", PASSWORD, "Beamer im Hörsaal 2")
        .await;
    let number = ticket["number"].as_str().unwrap().to_owned();

    // The login page, in the browser's language, under a strict policy.
    let browser = browser();
    let page = browser
        .get(format!("{site}/portal/login"))
        .header("accept-language", "de-DE,de;q=0.9,en;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    let form_cookie = set_cookie(&page, "docket_form").unwrap();
    let html = page.text().await.unwrap();
    let page = Page::parse(&html);
    assert_eq!(page.attrs("html", "lang"), ["de"], "{html}");
    assert!(html.contains("Anmelden"));
    let csrf = page.csrf();
    assert_eq!(csrf, form_cookie);

    let post = |cookie: Option<String>, csrf: String, password: &str| {
        let mut request = browser.post(format!("{site}/portal/login?lang=en")).form(&[
            ("csrf", csrf.as_str()),
            ("tenant", "it-centre"),
            ("login", "jane"),
            ("password", password),
        ]);
        if let Some(c) = cookie {
            request = request.header("cookie", format!("docket_form={c}"));
        }
        request.send()
    };
    // A form without its cookie (another site posting it) is refused.
    let forged = post(None, csrf.clone(), PASSWORD).await.unwrap();
    assert_eq!(forged.status(), 403);
    assert!(
        forged
            .text()
            .await
            .unwrap()
            .contains("The form has expired")
    );
    // A wrong password: the form again, the error tied to the fields.
    let wrong = post(Some(form_cookie.clone()), csrf.clone(), "not her password")
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let html = wrong.text().await.unwrap();
    let page = Page::parse(&html);
    assert!(
        page.has(r#"[role="alert"]"#) && page.has(r#"[aria-describedby="login-error"]"#),
        "{html}"
    );
    // Signed in: the session cookie, and on to her tickets.
    let signed_in = post(Some(form_cookie), csrf, PASSWORD).await.unwrap();
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()["location"], "/portal/");
    let session = set_cookie(&signed_in, "docket_session").unwrap();
    // A portal page as she sees it, with her session.
    let signed_in_page = |path: String| {
        browser
            .get(format!("{site}{path}"))
            .header("cookie", format!("docket_session={session}"))
            .send()
    };
    let mine = signed_in_page("/portal/?lang=en".into()).await.unwrap();
    assert_eq!(mine.status(), 200);
    let html = mine.text().await.unwrap();
    assert!(html.contains("My requests"), "{html}");
    assert!(
        html.contains("Beamer im Hörsaal 2") && html.contains(&number),
        "{html}"
    );

    // Her ticket's page: the messages she may read, not the agents' internal note.
    let ticket_id = ticket["id"].as_str().unwrap();
    for (visible, channel, body) in [
        (false, "note", "Internal: the lamp is broken, order one."),
        (true, "email", "We are replacing the projector lamp today."),
    ] {
        let r = app
            .client
            .post(format!("{api}/tickets/{ticket_id}/articles"))
            .json(&serde_json::json!({"sender": "agent", "channel": channel,
                                      "visible_to_customer": visible, "body": body}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let page = signed_in_page(format!("/portal/tickets/{number}?lang=de"))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Reported by phone.") && html.contains("replacing the projector lamp"),
        "{html}"
    );
    assert!(
        !html.contains("Internal: the lamp"),
        "an internal note reached the portal: {html}"
    );
    assert!(
        html.contains("Service-Desk") && html.contains("neu"),
        "{html}"
    );
    // Someone else's ticket is as unknown as a missing one.
    let (_, other) = app
        .customer_with_ticket("max", "a password for max, long enough", "Max's printer")
        .await;
    let foreign = signed_in_page(format!(
        "/portal/tickets/{}",
        other["number"].as_str().unwrap()
    ))
    .await
    .unwrap();
    assert_eq!(foreign.status(), 404);

    // Without a session: the login page, never a ticket.
    let anonymous = browser.get(format!("{site}/portal/")).send().await.unwrap();
    assert_eq!(anonymous.status(), 303);
    assert_eq!(anonymous.headers()["location"], "/portal/login");
    let css = browser
        .get(format!("{site}/assets/docket.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert!(content_type(&css).starts_with("text/css"));
    app.stop().await;
}
