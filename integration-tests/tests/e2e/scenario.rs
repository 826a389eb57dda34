//! The ticket scenario end to end, through the REST API, in both modes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use docket::Service;
use docket_bus::{Delivery, Handler, HandlerError, Subscription};
use docket_integration_tests::{
    Mode, TestApp, eventually, expect, probe, test_settings, text_of, wait_until, when,
};
use docket_platform::config::Secret;
use serde_json::json;

/// Records what a consumer of the in-process bus receives.
struct Recorder(Arc<Mutex<Vec<Delivery>>>);

#[async_trait]
impl Handler for Recorder {
    async fn handle(&self, d: &Delivery) -> Result<(), HandlerError> {
        self.0.lock().unwrap().push(d.clone());
        Ok(())
    }
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// Create a ticket with a first article, add an answer, list the queue, read the history; returns
/// the ticket's id and number.
async fn walk_the_scenario(app: &TestApp) -> (String, String) {
    let queue = app.queue_id("Raw").await;
    let created = app
        .client
        .post(format!("{}/tickets", app.api))
        .header("traceparent", format!("00-{TRACE_ID}-00f067aa0ba902b7-01"))
        .json(&json!({
            "queue_id": queue, "title": "VPN does not connect", "priority": 4,
            "customer": "jane.doe@uni.example",
            "article": {"sender": "customer", "channel": "phone", "visible_to_customer": true,
                        "subject": "VPN", "body": "Since this morning the VPN client fails."}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let ticket: serde_json::Value = created.json().await.unwrap();
    let id = ticket["id"].as_str().unwrap().to_owned();
    let number = ticket["number"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/v1/tickets/{id}"));
    assert_eq!(ticket["state"], "new");
    assert_eq!(ticket["priority"], 4);
    assert_eq!(number.len(), 18, "{number}");

    let answer = app
        .post(
            &format!("/tickets/{id}/articles"),
            json!({"sender": "agent", "channel": "email", "visible_to_customer": true,
                   "subject": "Re: VPN", "body": "Please update the client to 5.2."}),
        )
        .await;
    assert_eq!(answer.status(), 201);
    let note = app
        .post(
            &format!("/tickets/{id}/articles"),
            json!({"sender": "agent", "channel": "note", "body": "internal: known issue"}),
        )
        .await;
    assert_eq!(note.status(), 201);

    let updated = app
        .client
        .patch(format!("{}/tickets/{id}", app.api))
        .json(&json!({"state": "open", "owner_id": app.admin_id, "expected_version": 4}))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), 200);
    let updated: serde_json::Value = updated.json().await.unwrap();
    assert_eq!(
        (updated["state"].as_str(), updated["version"].as_u64()),
        (Some("open"), Some(5))
    );
    assert_eq!(updated["state_type"], "open");

    // Waiting for the customer: pending with a reminder date, locked by its owner meanwhile.
    let pending = app
        .client
        .patch(format!("{}/tickets/{id}", app.api))
        .json(&json!({"state": "pending_reminder", "pending_until": "2099-01-04T08:00:00Z", "locked": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(pending.status(), 200);
    let pending: serde_json::Value = pending.json().await.unwrap();
    assert_eq!(
        (
            &pending["state_type"],
            &pending["pending_until"],
            &pending["locked"]
        ),
        (
            &json!("pending_reminder"),
            &json!("2099-01-04T08:00:00Z"),
            &json!(true)
        )
    );
    expect(
        200,
        app.client
            .patch(format!("{}/tickets/{id}", app.api))
            .json(&json!({"state": "open", "locked": false})),
        "reopened",
    )
    .await;

    // A stale version is a conflict, not a lost update.
    let stale = app
        .client
        .patch(format!("{}/tickets/{id}", app.api))
        .json(&json!({"priority": 1, "expected_version": 4}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 409);
    assert_eq!(stale.headers()["content-type"], "application/problem+json");

    let by_number = app.get_json(&format!("/tickets/{number}")).await;
    assert_eq!(by_number["id"], id.as_str());

    let articles = app.get_json(&format!("/tickets/{id}/articles")).await;
    let articles = articles["items"].as_array().unwrap();
    assert_eq!(articles.len(), 3);
    assert_eq!(articles[2]["visible_to_customer"], false);

    let list = app
        .get_json(&format!(
            "/queues/{queue}/tickets?sort=created_at&order=asc&page_size=10"
        ))
        .await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["id"] == id.as_str())
    );

    let history = app.get_json(&format!("/tickets/{id}/history")).await;
    let kinds: Vec<_> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "created",
            "article_added",
            "article_added",
            "article_added",
            "updated",
            "updated",
            "updated"
        ]
    );
    assert_eq!(
        history["items"][5]["details"]["state"]["new"],
        "pending_reminder"
    );
    let last = &history["items"][4];
    assert_eq!(last["actor"], "admin");
    assert_eq!(last["details"]["state"]["old"], "new");
    assert_eq!(last["details"]["state"]["new"], "open");
    assert!(last["occurred_at"].as_str().unwrap().starts_with("20"));
    (id, number)
}

#[tokio::test]
async fn ticket_scenario_on_postgres_and_rabbitmq() {
    let app = TestApp::spawn(Mode::Production).await;
    let seen = probe(&app.exchange, "ticket.#").await;
    let (id, number) = walk_the_scenario(&app).await;

    eventually(
        "ticket.created on RabbitMQ",
        Duration::from_secs(15),
        || {
            let seen = seen.clone();
            let id = id.clone();
            async move {
                seen.lock()
                    .unwrap()
                    .iter()
                    .any(|s| s.routing_key == "ticket.created" && s.envelope.aggregate_id == id)
            }
        },
    )
    .await;
    wait_until(Duration::from_secs(15), "all seven events", || async {
        let keys: Vec<String> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.routing_key.clone())
            .collect();
        when(keys.len() >= 7, keys)
    })
    .await;
    let seen = seen.lock().unwrap().clone();
    let created = seen
        .iter()
        .find(|s| s.routing_key == "ticket.created")
        .unwrap();
    assert_eq!(created.envelope.aggregate_type, "ticket");
    assert_eq!(created.envelope.aggregate_version, 1);
    assert!(!created.envelope.tenant_id.is_empty());
    use prost::Message as _;
    let payload =
        docket_proto::events::v1::TicketCreated::decode(created.envelope.payload.as_slice())
            .unwrap();
    assert_eq!(payload.number, number);
    // One trace from the HTTP caller through the gateway, the ticket service and the outbox.
    let traceparent = created
        .headers
        .get("traceparent")
        .expect("trace context on the message");
    assert!(traceparent.contains(TRACE_ID), "{traceparent}");
    // Versions arrive in order for the aggregate.
    let versions: Vec<u64> = seen
        .iter()
        .filter(|s| s.envelope.aggregate_id == id)
        .map(|s| s.envelope.aggregate_version)
        .collect();
    assert_eq!(versions, [1, 2, 3, 4, 5, 6, 7]);
    app.stop().await;
}

#[tokio::test]
async fn ticket_scenario_on_the_embedded_default() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let received = Arc::new(Mutex::new(Vec::new()));
    app.bus
        .subscribe(
            Subscription::new("test-recorder", &["ticket.#"]),
            Arc::new(Recorder(received.clone())),
            app.shutdown.clone(),
        )
        .await
        .unwrap();
    let (id, _) = walk_the_scenario(&app).await;
    eventually(
        "ticket.created on the in-process bus",
        Duration::from_secs(10),
        || {
            let received = received.clone();
            let id = id.clone();
            async move {
                received.lock().unwrap().iter().any(|d| {
                    d.envelope.event_type == "ticket.created" && d.envelope.aggregate_id == id
                })
            }
        },
    )
    .await;
    let traceparent = received.lock().unwrap()[0]
        .headers
        .get("traceparent")
        .cloned()
        .unwrap_or_default();
    assert!(traceparent.contains(TRACE_ID), "{traceparent}");
    app.stop().await;
}

/// The Kubernetes shape: the identity, ticket and mail services and the gateway in separate
/// processes (here: separate suites), talking gRPC, sharing PostgreSQL and RabbitMQ; the mail
/// service proves itself to the others with its service token.
#[tokio::test]
async fn services_run_apart_with_only() {
    let data = tempfile::tempdir().unwrap();
    let settings = test_settings(Mode::Production, data.path()).await;
    let free_port = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (identity_port, ticket_port, mail_port) = (free_port(), free_port(), free_port());
    let mut identity_settings = settings.clone();
    identity_settings.identity.listen = format!("127.0.0.1:{identity_port}").parse().unwrap();
    identity_settings.identity.auth.service_secret = Some(Secret::new("the split secret"));
    let identity = TestApp::spawn_with(
        identity_settings,
        tempfile::tempdir().unwrap(),
        Some([Service::Identity].into()),
    )
    .await;
    let mut ticket_settings = settings.clone();
    ticket_settings.ticket.listen = format!("127.0.0.1:{ticket_port}").parse().unwrap();
    ticket_settings.ticket.identity_endpoint = Some(format!("http://127.0.0.1:{identity_port}"));
    let ticket = TestApp::spawn_with(
        ticket_settings,
        tempfile::tempdir().unwrap(),
        Some([Service::Ticket].into()),
    )
    .await;
    assert!(ticket.api.is_empty(), "no gateway in the ticket-only suite");
    let mut mail_settings = settings.clone();
    mail_settings.mail.listen = format!("127.0.0.1:{mail_port}").parse().unwrap();
    mail_settings.mail.ticket_endpoint = Some(format!("http://127.0.0.1:{ticket_port}"));
    mail_settings.mail.identity_endpoint = Some(format!("http://127.0.0.1:{identity_port}"));
    mail_settings.mail.service_secret = Some(Secret::new("the split secret"));
    let mail = TestApp::spawn_with(
        mail_settings,
        tempfile::tempdir().unwrap(),
        Some([Service::Mail].into()),
    )
    .await;
    let mut gateway_settings = settings.clone();
    gateway_settings.gateway.ticket_endpoint = Some(format!("http://127.0.0.1:{ticket_port}"));
    gateway_settings.gateway.identity_endpoint = Some(format!("http://127.0.0.1:{identity_port}"));
    gateway_settings.gateway.mail_endpoint = Some(format!("http://127.0.0.1:{mail_port}"));
    let gateway =
        TestApp::spawn_with(gateway_settings, data, Some([Service::Gateway].into())).await;

    let seen = probe(&gateway.exchange, "ticket.created").await;
    let queue = gateway.queue_id("Misc").await;
    let r = gateway
        .post(
            "/tickets",
            json!({"queue_id": queue, "title": "Printer on floor 3"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let ticket_id = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    eventually(
        "the event of the split deployment",
        Duration::from_secs(15),
        || {
            let seen = seen.clone();
            let ticket_id = ticket_id.clone();
            async move {
                seen.lock()
                    .unwrap()
                    .iter()
                    .any(|s| s.envelope.aggregate_id == ticket_id)
            }
        },
    )
    .await;
    let ready: serde_json::Value = reqwest::get(format!("{}/readyz", gateway.ops))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["ready"], true, "{ready}");

    // Mail uploaded at the gateway becomes a ticket through the mail service's own process.
    let r = gateway
        .client
        .patch(format!("{}/queues/{queue}", gateway.api))
        .json(&json!({"addresses": ["split@uni.example"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = gateway
        .client
        .post(format!("{}/mail/messages", gateway.api))
        .body("From: jane@example.com\r\nTo: split@uni.example\r\nSubject: Split mail\r\n\r\nHello.\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    wait_until(Duration::from_secs(15), "the mailed ticket", || async {
        let list = gateway.get_json(&format!("/queues/{queue}/tickets")).await;
        let found = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["title"] == "Split mail");
        when(found, list)
    })
    .await;
    gateway.stop().await;
    mail.stop().await;
    ticket.stop().await;
    identity.stop().await;
}

#[tokio::test]
async fn bad_requests_get_problem_json_never_500() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let queue = app.queue_id("Raw").await;
    let unknown = "01a20000-0000-7000-8000-000000000000";
    let long_title = "x".repeat(300);
    let huge_body = "y".repeat(33 * 1024 * 1024); // beyond the gateway's 32 MiB
    let cases: Vec<(&str, reqwest::RequestBuilder, u16)> = vec![
        (
            "syntax error",
            app.client
                .post(format!("{}/tickets", app.api))
                .header("content-type", "application/json")
                .body("{\"title\": "),
            400,
        ),
        (
            "no content type",
            app.client.post(format!("{}/tickets", app.api)).body("{}"),
            415,
        ),
        (
            "missing title",
            app.client
                .post(format!("{}/tickets", app.api))
                .json(&json!({"queue_id": queue})),
            422,
        ),
        (
            "unknown field",
            app.client
                .post(format!("{}/tickets", app.api))
                .json(&json!({"queue_id": queue, "title": "t", "x": 1})),
            422,
        ),
        (
            "bad queue id",
            app.client
                .post(format!("{}/tickets", app.api))
                .json(&json!({"queue_id": "nope", "title": "t"})),
            422,
        ),
        (
            "unknown queue",
            app.client
                .post(format!("{}/tickets", app.api))
                .json(&json!({"queue_id": unknown, "title": "t"})),
            404,
        ),
        (
            "priority 9",
            app.client
                .post(format!("{}/tickets", app.api))
                .json(&json!({"queue_id": queue, "title": "t", "priority": 9})),
            422,
        ),
        (
            "priority 0",
            app.client
                .post(format!("{}/tickets", app.api))
                .json(&json!({"queue_id": queue, "title": "t", "priority": 0})),
            422,
        ),
        (
            "title too long",
            app.client
                .post(format!("{}/tickets", app.api))
                .json(&json!({"queue_id": queue, "title": long_title})),
            422,
        ),
        (
            "body too large",
            app.client
                .post(format!("{}/tickets", app.api))
                .header("content-type", "application/json")
                .body(huge_body),
            413,
        ),
        (
            "unknown ticket",
            app.client.get(format!("{}/tickets/{unknown}", app.api)),
            404,
        ),
        (
            "garbage ticket key",
            app.client.get(format!("{}/tickets/..%2F..%2Fetc", app.api)),
            422,
        ),
        (
            "history of unknown",
            app.client
                .get(format!("{}/tickets/{unknown}/history", app.api)),
            404,
        ),
        (
            "empty update",
            app.client
                .patch(format!("{}/tickets/{unknown}", app.api))
                .json(&json!({})),
            422,
        ),
        (
            "bad sort",
            app.client
                .get(format!("{}/queues/{queue}/tickets?sort=title", app.api)),
            400,
        ),
        (
            "bad page token",
            app.client
                .get(format!("{}/queues/{queue}/tickets?page_token=abc", app.api)),
            422,
        ),
        (
            "page too large",
            app.client.get(format!(
                "{}/queues/{queue}/tickets?page_size=100000",
                app.api
            )),
            422,
        ),
        (
            "queue in an unknown group",
            app.client.post(format!("{}/queues", app.api)).json(
                &json!({"tenant_id": app.tenant_id, "name": "Nowhere", "group_id": uuid::Uuid::now_v7()}),
            ),
            404,
        ),
        (
            "ticket for an unknown customer",
            app.client.post(format!("{}/tickets", app.api)).json(
                &json!({"queue_id": queue, "title": "x", "customer_id": uuid::Uuid::now_v7()}),
            ),
            404,
        ),
        (
            "malformed owner id",
            app.client
                .patch(format!("{}/tickets/{}", app.api, uuid::Uuid::now_v7()))
                .json(&json!({"owner_id": "agent.smith"})),
            422,
        ),
        // Dates only in the years 1970 to 9999: what RFC 3339 can give back.
        (
            "target date in the year -1000",
            app.client
                .patch(format!("{}/tickets/{}", app.api, uuid::Uuid::now_v7()))
                .json(&json!({"target_at": "-001000-01-01T00:00:00Z"})),
            422,
        ),
        (
            "pending date in the year 0",
            app.client
                .patch(format!("{}/tickets/{}", app.api, uuid::Uuid::now_v7()))
                .json(&json!({"state": "pending_reminder", "pending_until": "0000-01-01T00:00:00Z"})),
            422,
        ),
        (
            "unknown route",
            app.client.get(format!("{}/nothing-here", app.api)),
            404,
        ),
        (
            "wrong method",
            app.client.delete(format!("{}/tickets", app.api)),
            405,
        ),
    ];
    for (what, request, status) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{what}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{what}"
        );
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["status"], status, "{what}: {problem}");
        assert!(
            !problem["detail"].as_str().unwrap().is_empty(),
            "{what}: {problem}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn openapi_document_and_health_are_served() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let doc = app.get_json("/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/tickets"]["post"].is_object());
    let health = reqwest::get(format!("{}/healthz", app.ops)).await.unwrap();
    assert_eq!(health.status(), 200);
    let metrics = text_of(reqwest::Client::new().get(format!("{}/metrics", app.ops))).await;
    assert!(metrics.contains("docket_http_requests_total"), "{metrics}");
    app.stop().await;
}
