//! Ticket search through the gateway: full text with filters, the agent's default views, saved
//! searches, and clear errors for bad searches. Runs on the embedded default and on PostgreSQL +
//! RabbitMQ.

use docket_integration_tests::{Mode, TestApp, expect, item_strs, send};
use serde_json::{Value, json};

fn titles(list: &Value) -> Vec<&str> {
    item_strs(list, "title")
}

async fn agents_search_and_save_their_searches(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let raw = app.queue_id("Raw").await;
    let misc = app.queue_id("Misc").await;
    let new_ticket = |queue: &str, title: &str, priority: u8, body: &str| {
        json!({"queue_id": queue, "title": title, "priority": priority,
               "article": {"sender": "customer", "channel": "email", "visible_to_customer": true, "body": body}})
    };
    for (queue, title, priority, body) in [
        (&raw, "VPN client fails", 5, "The tunnel drops every hour."),
        (&raw, "Printer jam", 2, "Paper stuck in tray 2."),
        (&misc, "VPN on the phone", 5, "Which app do I need?"),
        (&raw, "Mailbox full", 5, "Quota exceeded, vpn unaffected."),
    ] {
        let r = app
            .post("/tickets", new_ticket(queue, title, priority, body))
            .await;
        assert_eq!(r.status(), 201);
    }
    let search = |body: Value| {
        send(
            app.client
                .post(format!("{}/tickets/search", app.api))
                .json(&body),
        )
    };

    // Full text over titles and articles, with two filters, sorted and paged.
    let (status, found) =
        search(json!({"filter": {"text": "VPN", "queue_ids": [raw], "priorities": [5]}})).await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(titles(&found), ["VPN client fails", "Mailbox full"]);
    let (_, first) = search(
        json!({"filter": {"text": "vpn"}, "sort": "created_at", "order": "desc", "page_size": 2}),
    )
    .await;
    assert_eq!(titles(&first), ["Mailbox full", "VPN on the phone"]);
    let token = first["next_page_token"].as_str().unwrap();
    let (_, second) = search(json!({"filter": {"text": "vpn"}, "sort": "created_at", "order": "desc", "page_size": 2, "page_token": token})).await;
    assert_eq!(titles(&second), ["VPN client fails"]);
    assert!(second["next_page_token"].is_null());
    let (_, prefix) = search(json!({"filter": {"text": "tun*"}})).await;
    assert_eq!(titles(&prefix), ["VPN client fails"]);

    // Bad searches are the caller's mistake, with a reason.
    for (body, why) in [
        (json!({"filter": {"text": "***"}}), "no words"),
        (json!({"filter": {"priorities": [9]}}), "priority"),
        (json!({"filter": {"queue_ids": ["nope"]}}), "id"),
        (json!({"filter": {"colour": "red"}}), "unknown field"),
        (
            json!({"filter": {"created": {"from": "2026-11-30T00:00:00Z", "until": "2026-11-01T00:00:00Z"}}}),
            "range",
        ),
        (json!({"view": "nope"}), "view"),
    ] {
        let (status, problem) = search(body).await;
        assert_eq!(status, 422, "{why}: {problem}");
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{why}: {problem}"
        );
    }

    // The default views, then a saved search that becomes a view of its own.
    let views = app.get_json("/views").await;
    let keys: Vec<&str> = item_strs(&views, "id");
    assert_eq!(
        keys,
        [
            "my-locked",
            "my-queues",
            "watched",
            "responsible",
            "collaborating"
        ]
    );
    let mine = app.get_json("/views/my-queues/tickets").await;
    assert_eq!(
        titles(&mine).len(),
        4,
        "the administrator works in Raw and Misc: {mine}"
    );
    assert_eq!(
        titles(&app.get_json("/views/my-locked/tickets").await).len(),
        0
    );

    let (status, saved) = send(app.client.post(format!("{}/views", app.api)).json(&json!({
        "name": "Urgent VPN", "filter": {"text": "vpn", "priorities": [5]}, "sort": "priority", "order": "desc"
    }))).await;
    assert_eq!(status, 201, "{saved}");
    assert_eq!(saved["builtin"], false);
    let id = saved["id"].as_str().unwrap().to_owned();
    let (status, again) = send(
        app.client
            .post(format!("{}/views", app.api))
            .json(&json!({"name": "Urgent VPN"})),
    )
    .await;
    assert_eq!(status, 409, "{again}");
    let urgent = app.get_json(&format!("/views/{id}/tickets")).await;
    assert_eq!(titles(&urgent).len(), 3);
    // Searching within a saved view narrows it further.
    let (_, within) = search(json!({"view": id, "filter": {"queue_ids": [misc]}})).await;
    assert_eq!(titles(&within), ["VPN on the phone"]);
    assert_eq!(
        app.get_json("/views").await["items"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    let view = format!("{}/views/{id}", app.api);
    expect(204, app.client.delete(&view), "the view deleted").await;
    expect(
        404,
        app.client.get(format!("{view}/tickets")),
        "a deleted view's tickets",
    )
    .await;
    app.stop().await;
}

in_both_modes!(agents_search_and_save_their_searches: agents_search_on_the_embedded_default, agents_search_on_postgres_and_rabbitmq);
