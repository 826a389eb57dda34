//! The desk offers what ticket core allows the agent: the change form's states appear for the
//! 2nd level (who may set them) and not for the 1st level (who may not), what is offered is
//! what the change then does, and a change that does not name the version it was made against
//! is refused.

use docket_integration_tests::web::Web;
use docket_integration_tests::{Mode, TestApp, item_where, send};
use serde_json::json;

const PASSWORD: &str = "a password for the agents, long enough";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_desk_offers_states_only_to_those_who_may_set_them() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let site = app.api.trim_end_matches("/api/v1").to_owned();
    let tenant = app.tenant_id.clone();
    let roles = app
        .get_json(&format!("/admin/tenants/{tenant}/roles"))
        .await;
    let role = |name: &str| item_where(&roles, "name", name)["id"].clone();
    for (login, role_name) in [("first", "1st level (help desk)"), ("second", "2nd level")] {
        let (status, agent) = send(
            app.client
                .post(format!("{}/admin/tenants/{tenant}/agents", app.api))
                .json(&json!({"login": login, "name": login, "password": PASSWORD,
                              "role_ids": [role(role_name)]})),
        )
        .await;
        assert_eq!(status, 201, "{agent}");
    }
    let (_, ticket) = app
        .customer_with_ticket(
            "jane",
            "a password for jane, long enough",
            "Beamer flackert",
        )
        .await;
    let number = ticket["number"].as_str().unwrap();
    let page = format!("/desk/tickets/{number}?lang=en");

    // 1st level: no state to choose, so no close offered that ticket core would refuse.
    let first = Web::login(&site, "desk", None, "first", PASSWORD).await;
    let (status, html) = first.get(&page).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Beamer flackert"), "{html}");
    assert!(!html.contains(r#"name="state""#), "{html}");

    // 2nd level: every settable state, the current one selected; choosing one changes it.
    let second = Web::login(&site, "desk", None, "second", PASSWORD).await;
    let (status, html) = second.get(&page).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(r#"name="state""#), "{html}");
    for state in [
        "new",
        "open",
        "pending_reminder",
        "closed_successful",
        "closed_unsuccessful",
    ] {
        assert!(
            html.contains(&format!(r#"value="{state}""#)),
            "{state} not offered: {html}"
        );
    }
    assert!(
        !html.contains(r#"value="merged""#),
        "only merging sets `merged`: {html}"
    );
    let version = ticket["version"].to_string();
    let (status, to) = second
        .submit(
            &format!("/desk/tickets/{number}/update"),
            &[("state", "open"), ("version", &version), ("priority", "3")],
        )
        .await;
    assert_eq!(status, 303, "{to}");
    let changed = app
        .get_json(&format!("/tickets/{}", ticket["id"].as_str().unwrap()))
        .await;
    assert_eq!(changed["state"], "open", "{changed}");
    // A form that does not say which version it shows is refused: it could overwrite another's
    // change unseen.
    let (status, html) = second
        .submit(
            &format!("/desk/tickets/{number}/update"),
            &[("state", "closed_successful"), ("priority", "3")],
        )
        .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("reload the page"), "{html}");
    let unchanged = app
        .get_json(&format!("/tickets/{}", ticket["id"].as_str().unwrap()))
        .await;
    assert_eq!(unchanged["state"], "open", "{unchanged}");
    app.stop().await;
}
