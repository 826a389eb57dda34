//! Retention through the gateway: the tenant's policy, holds, a run and its log, and who may do
//! what. Embedded and on PostgreSQL + RabbitMQ.

use docket_integration_tests::{Mode, TestApp, expect, login_with_claims, send};
use serde_json::json;

async fn retention_is_configured_and_logged(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let (api, admin, tenant) = (app.api.clone(), app.client.clone(), app.tenant_id.clone());
    let raw = app.queue_id("Raw").await;

    let (status, policy) = send(admin.get(format!("{api}/tenants/{tenant}/retention"))).await;
    assert_eq!(
        (status, policy["days"].as_u64()),
        (200, Some(730)),
        "{policy}"
    );
    let (status, policy) = send(
        admin
            .put(format!("{api}/tenants/{tenant}/retention"))
            .json(&json!({"days": 365, "action": "anonymise"})),
    )
    .await;
    assert_eq!(
        (status, policy["action"].as_str()),
        (200, Some("anonymise"))
    );
    let (status, problem) = send(
        admin
            .put(format!("{api}/tenants/{tenant}/retention"))
            .json(&json!({"days": 3, "action": "delete"})),
    )
    .await;
    assert_eq!(status, 422, "{problem}");

    let (_, ticket) = send(
        admin
            .post(format!("{api}/tickets"))
            .json(&json!({"queue_id": raw, "title": "Keep me"})),
    )
    .await;
    let id = ticket["id"].as_str().unwrap();
    let held = expect(
        200,
        admin
            .put(format!("{api}/tickets/{id}/retention-hold"))
            .json(&json!({"legal_hold": true})),
        "legal hold",
    )
    .await;
    assert_eq!(held["legal_hold"].as_bool(), Some(true), "{held}");

    // A run now removes nothing (nothing is a year closed) and is logged; a dry run is not.
    let runs = format!("{api}/admin/retention-runs");
    let run = expect(
        200,
        admin.post(&runs).json(&json!({"dry_run": true})),
        "dry run",
    )
    .await;
    assert_eq!(run["dry_run"].as_bool(), Some(true), "{run}");
    let run = expect(200, admin.post(&runs).json(&json!({})), "run").await;
    assert_eq!(run["deleted"].as_array().unwrap().len(), 0);
    let (_, log) = send(admin.get(format!("{api}/admin/retention-runs"))).await;
    assert_eq!(log["items"].as_array().unwrap().len(), 1);
    assert_eq!(log["items"][0]["id"], run["id"]);

    // An agent who does not administer the installation may neither run nor read the log.
    let second = app
        .named(&format!("/admin/tenants/{tenant}/roles"), "2nd level")
        .await["id"]
        .clone();
    let (status, _) = send(admin.post(format!("{api}/admin/tenants/{tenant}/agents")).json(&json!({
        "login": "sam", "name": "Sam", "password": "a password long enough", "role_ids": [second]
    })))
    .await;
    assert_eq!(status, 201);
    let (sam, _) = login_with_claims(&api, "sam", "a password long enough")
        .await
        .unwrap();
    assert_eq!(
        send(
            sam.post(format!("{api}/admin/retention-runs"))
                .json(&json!({}))
        )
        .await
        .0,
        403
    );
    assert_eq!(
        send(sam.get(format!("{api}/admin/retention-runs"))).await.0,
        403
    );
    assert_eq!(
        send(
            sam.put(format!("{api}/tickets/{id}/retention-hold"))
                .json(&json!({"legal_hold": false}))
        )
        .await
        .0,
        403
    );
    app.stop().await;
}

in_both_modes!(retention_is_configured_and_logged: retention_on_the_embedded_default, retention_on_postgres_and_rabbitmq);
