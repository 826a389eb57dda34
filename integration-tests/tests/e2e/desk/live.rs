//! The desk's live updates (server-sent events) on the embedded default and on PostgreSQL +
//! RabbitMQ: a change reaches the agents who may read the ticket, and nobody else.

use std::time::Duration;

use docket_integration_tests::wait::wait_until;
use docket_integration_tests::web::Web;
use docket_integration_tests::{
    ADMIN_LOGIN, ADMIN_PASSWORD, Mode, TestApp, content_type, find_item, login_client, send,
};
use futures::StreamExt as _;
use futures::stream::BoxStream;
use serde_json::json;

use super::{PASSWORD, site};

/// An agent's open event stream and everything it has received so far.
struct Events {
    chunks: BoxStream<'static, String>,
    seen: String,
}

impl Events {
    async fn open(web: &Web) -> Self {
        let response = web.events().await;
        assert_eq!(response.status(), 200);
        assert!(content_type(&response).starts_with("text/event-stream"));
        Self {
            chunks: response
                .bytes_stream()
                .map(|chunk| String::from_utf8_lossy(&chunk.unwrap()).into_owned())
                .boxed(),
            seen: String::new(),
        }
    }

    /// The complete events received so far.
    fn events(&self) -> impl Iterator<Item = &str> {
        let complete = self.seen.rfind("\n\n").map_or("", |end| &self.seen[..end]);
        complete.split("\n\n").filter(|e| !e.trim().is_empty())
    }

    /// Reads on until an event mentions every one of `needles`; that event.
    async fn until(&mut self, needles: &[&str]) -> String {
        let matching = |events: &Self| {
            events
                .events()
                .find(|e| needles.iter().all(|n| e.contains(n)))
                .map(str::to_owned)
        };
        let found = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                if let Some(event) = matching(self) {
                    return Some(event);
                }
                let chunk = self.chunks.next().await?;
                self.seen.push_str(&chunk);
            }
        })
        .await;
        match found {
            Ok(Some(event)) => event,
            _ => panic!("no event about {needles:?}; saw: {}", self.seen),
        }
    }
}

async fn the_desk_hears_changes_live(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let site = site(&app);
    let misc = app.queue_id("Misc").await;
    let agent = Web::login(&site, "desk", None, ADMIN_LOGIN, ADMIN_PASSWORD).await;
    let mut events = Events::open(&agent).await;
    // The gateway's subscription was bound when it started and the stream listens once its
    // headers are here: the change can happen at once.
    let (status, created) = send(
        app.client
            .post(format!("{}/tickets", app.api))
            .json(&json!({"queue_id": misc, "title": "Live"})),
    )
    .await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap();
    let event = events.until(&[id]).await;
    assert!(event.starts_with("event: change"), "{event}");
    assert!(
        event.contains("ticket.created") && event.contains(&misc),
        "{event}"
    );
    // The stream still open ends with the server, which stops in time.
    app.stop().await;
    drop(events);
}

in_both_modes!(the_desk_hears_changes_live: the_desk_hears_changes_live_embedded, the_desk_hears_changes_live_on_postgres_and_rabbitmq);

/// Issue 14, finding 2: an agent without rights on a queue hears nothing of its tickets, while
/// the changes of the queues they read still arrive, and a ticket moved to them from a queue they
/// may not read does not name that queue; nobody hears of another tenant's tickets.
async fn the_desk_tells_agents_only_of_tickets_they_may_read(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let site = site(&app);
    let tenant = app.tenant_id.clone();
    let misc = app.queue_id("Misc").await;
    let post = |path: &str, body: serde_json::Value| {
        let request = app.client.post(format!("{}{path}", app.api)).json(&body);
        async move {
            let (status, value) = send(request).await;
            assert!(status < 300, "{status}: {value}");
            value
        }
    };
    let id_of = |value: &serde_json::Value| value["id"].as_str().unwrap().to_owned();

    // A queue of the `admin` group, on which the Team member role holds nothing; Tom is one.
    let admin_group = app
        .id_named(&format!("/admin/tenants/{tenant}/groups"), "admin")
        .await;
    let secret = id_of(
        &post(
            "/queues",
            json!({"tenant_id": tenant, "name": "Secret", "group_id": admin_group}),
        )
        .await,
    );
    let member = app
        .id_named(&format!("/admin/tenants/{tenant}/roles"), "Team member")
        .await;
    post(
        &format!("/admin/tenants/{tenant}/agents"),
        json!({"login": "tom", "name": "Tom", "password": PASSWORD, "role_ids": [member]}),
    )
    .await;
    let ticket = |queue: &str, title: &str| json!({"queue_id": queue, "title": title});
    let hidden = id_of(&post("/tickets", ticket(&secret, "Hidden")).await);
    let open = id_of(&post("/tickets", ticket(&misc, "Open")).await);
    let note = json!({"sender": "agent", "channel": "note", "visible_to_customer": false,
                      "body": "internal"});

    let tom = Web::login(&site, "desk", None, "tom", PASSWORD).await;
    let admin = Web::login(&site, "desk", None, ADMIN_LOGIN, ADMIN_PASSWORD).await;
    let mut toms = Events::open(&tom).await;
    let mut admins = Events::open(&admin).await;

    // In the secret queue: a note, a change and a new ticket. The administrator, who reads the
    // queue, hears each: they were told to the streams.
    post(&format!("/tickets/{hidden}/articles"), note.clone()).await;
    admins.until(&[&hidden, "ticket.article.added"]).await;
    let (status, _) = send(
        app.client
            .patch(format!("{}/tickets/{hidden}", app.api))
            .json(&json!({"priority": 5})),
    )
    .await;
    assert_eq!(status, 200);
    admins.until(&[&hidden, "ticket.updated"]).await;
    let newer = id_of(&post("/tickets", ticket(&secret, "Hidden too")).await);
    admins.until(&[&newer, "ticket.created"]).await;

    // In Misc, which Tom reads: a note and a new ticket reach him, after what came before.
    post(&format!("/tickets/{open}/articles"), note.clone()).await;
    let event = toms.until(&[&open]).await;
    assert!(event.contains("ticket.article.added"), "{event}");
    let fresh = id_of(&post("/tickets", ticket(&misc, "Fresh")).await);
    let event = toms.until(&[&fresh]).await;
    assert!(
        event.contains("ticket.created") && event.contains(&misc),
        "{event}"
    );
    for never in [&hidden, &newer, &secret] {
        assert!(
            !toms.seen.contains(never.as_str()),
            "{never} was told to Tom: {}",
            toms.seen
        );
    }

    // Moved into Misc, the ticket is Tom's: he hears of it, without the queue it came from.
    let (status, _) = send(
        app.client
            .patch(format!("{}/tickets/{newer}", app.api))
            .json(&json!({"queue_id": misc})),
    )
    .await;
    assert_eq!(status, 200);
    let event = toms.until(&[&newer]).await;
    assert!(
        event.contains("ticket.updated") && event.contains(&misc) && !event.contains(&secret),
        "{event}"
    );
    admins.until(&[&newer, "ticket.updated", &misc]).await;

    // Another tenant's ticket: not even the installation administrator hears of it, who reads
    // tickets only with group permissions in their own tenants.
    let law = id_of(
        &post(
            "/admin/tenants",
            json!({"slug": "law", "name": "Faculty of Law"}),
        )
        .await,
    );
    let law_admin = app
        .id_named(&format!("/admin/tenants/{law}/roles"), "Administrator")
        .await;
    post(
        &format!("/admin/tenants/{law}/agents"),
        json!({"login": "lara", "name": "Lara", "password": PASSWORD, "role_ids": [law_admin]}),
    )
    .await;
    let lara = login_client(&app.api, "lara", PASSWORD).await.unwrap();
    let law_misc = wait_until(
        Duration::from_secs(20),
        "the new tenant's queues",
        || async {
            let (_, queues) = send(lara.get(format!("{}/queues", app.api))).await;
            find_item(&queues, "name", "Misc").map(id_of).ok_or(queues)
        },
    )
    .await;
    let mut laras = Events::open(&Web::login(&site, "desk", None, "lara", PASSWORD).await).await;
    let (status, foreign) = send(
        lara.post(format!("{}/tickets", app.api))
            .json(&ticket(&law_misc, "Foreign")),
    )
    .await;
    assert_eq!(status, 201, "{foreign}");
    let foreign = id_of(&foreign);
    laras.until(&[&foreign, "ticket.created"]).await;
    // A new ticket in Misc, after it: both streams have seen whatever came before.
    let last = id_of(&post("/tickets", ticket(&misc, "Last")).await);
    admins.until(&[&last]).await;
    toms.until(&[&last]).await;
    for (who, events) in [("the administrator", &admins), ("Tom", &toms)] {
        assert!(
            !events.seen.contains(&foreign) && !events.seen.contains(&law_misc),
            "another tenant's ticket was told to {who}: {}",
            events.seen
        );
    }
    drop((toms, admins, laras));
    app.stop().await;
}

in_both_modes!(the_desk_tells_agents_only_of_tickets_they_may_read: the_desk_tells_only_readers_embedded, the_desk_tells_only_readers_on_postgres_and_rabbitmq);
