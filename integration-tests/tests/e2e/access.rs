//! Access end to end, through the gateway, with people who really log in: an administrator sets
//! up customers and a team member; customers open tickets in the portal and see only theirs (or
//! their company's); the team member sees the queue's tickets but may only add internal notes,
//! which customers never see. Agents named on a ticket (owner, responsible agent, collaborators)
//! are agents of its tenant who may see it. Runs on the embedded default and on PostgreSQL +
//! RabbitMQ.

use std::time::Duration;

use docket_integration_tests::{
    Mode, TestApp, expect, find_item, item_strs, login_with_claims, send, wait_until,
};
use reqwest::Client;
use serde_json::{Value, json};

const PASSWORD: &str = "another password, long enough";

async fn created(app: &TestApp, path: &str, body: Value) -> Value {
    let (status, value) = send(app.client.post(format!("{}{path}", app.api)).json(&body)).await;
    assert_eq!(status, 201, "POST {path}: {value}");
    value
}

async fn customer_login(app: &TestApp, login: &str) -> Client {
    docket_integration_tests::customer_client(&app.api, login, PASSWORD).await
}

fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn people_see_what_they_may(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let tenant = app.tenant_id.clone();
    let misc = app.queue_id("Misc").await;
    let raw = app.queue_id("Raw").await;

    // The administrator sets up a company with two customers, a lone customer and a team member.
    let company = created(
        &app,
        &format!("/admin/tenants/{tenant}/companies"),
        json!({"name": "Widgets"}),
    )
    .await;
    let customer = |login: &str, company_tickets: bool, with_company: bool| {
        json!({"login": login, "name": login, "password": PASSWORD, "company_tickets": company_tickets,
               "company_id": if with_company { company["id"].clone() } else { Value::Null }})
    };
    let customers = format!("/admin/tenants/{tenant}/customers");
    created(&app, &customers, customer("carla", false, true)).await;
    created(&app, &customers, customer("chris", true, true)).await;
    created(&app, &customers, customer("lone", false, false)).await;
    let member_role = app
        .named(&format!("/admin/tenants/{tenant}/roles"), "Team member")
        .await["id"]
        .clone();
    created(
        &app,
        &format!("/admin/tenants/{tenant}/agents"),
        json!({"login": "tom", "name": "Tom", "password": PASSWORD, "role_ids": [member_role]}),
    )
    .await;
    let (tom, _) = login_with_claims(&app.api, "tom", PASSWORD).await.unwrap();

    let carla = customer_login(&app, "carla").await;
    let chris = customer_login(&app, "chris").await;
    let lone = customer_login(&app, "lone").await;

    // Customers open tickets in the portal queue; what they send is theirs and visible to them.
    let ticket = |title: &str, queue: &str| {
        json!({
            "queue_id": queue, "title": title, "priority": 5,
            "article": {"sender": "agent", "channel": "note", "visible_to_customer": false,
                        "subject": "Help", "body": "It broke."}
        })
    };
    let open = |client: Client, title: &'static str, queue: String| {
        let api = app.api.clone();
        let ticket = ticket(title, &queue);
        async move { send(client.post(format!("{api}/tickets")).json(&ticket)).await }
    };
    // The new customer is known to ticket core once identity's event has arrived.
    let (status, carlas) = app
        .create_ticket(&carla, &ticket("Carla's printer", &misc))
        .await;
    assert_eq!(status, 201, "{carlas}");
    assert_eq!(carlas["priority"], 3, "customers do not pick the priority");
    assert_eq!(carlas["company_id"], company["id"]);
    let carlas_id = carlas["id"].as_str().unwrap().to_owned();
    let (status, chriss) = open(chris.clone(), "Chris's laptop", misc.clone()).await;
    assert_eq!(status, 201, "{chriss}");
    let chriss_id = chriss["id"].as_str().unwrap().to_owned();
    let (status, lones) = open(lone.clone(), "Lone's VPN", misc.clone()).await;
    assert_eq!(status, 201, "{lones}");
    let lones_id = lones["id"].as_str().unwrap().to_owned();
    // Raw is no portal queue: invisible to customers.
    assert_eq!(open(carla.clone(), "Elsewhere", raw.clone()).await.0, 404);

    // The team member notes something internal; an answer to the customer needs rw.
    let note = |client: &Client, id: &str, visible: bool| {
        client
            .post(format!("{}/tickets/{id}/articles", app.api))
            .json(
                &json!({"sender": "agent", "channel": if visible { "email" } else { "note" },
                          "visible_to_customer": visible, "body": "internal: printer driver"}),
            )
    };
    assert_eq!(send(note(&tom, &carlas_id, false)).await.0, 201);
    assert_eq!(send(note(&tom, &carlas_id, true)).await.0, 403);
    let (status, _) = send(
        tom.patch(format!("{}/tickets/{carlas_id}", app.api))
            .json(&json!({"state": "closed_successful"})),
    )
    .await;
    assert_eq!(status, 403, "a team member cannot close");
    // The administrator (rw) answers.
    let (status, _) = send(note(&app.client, &carlas_id, true)).await;
    assert_eq!(status, 201);

    // Classification: the administrator builds the catalogue; classifying needs `priority`,
    // which a team member lacks.
    let services = format!("/tenants/{tenant}/services");
    created(&app, &services, json!({"name": "E-Mail"})).await;
    let exchange = created(&app, &services, json!({"name": "E-Mail::Exchange"})).await;
    let (status, _) = send(
        tom.post(format!("{}{services}", app.api))
            .json(&json!({"name": "VPN"})),
    )
    .await;
    assert_eq!(status, 403, "only administrators extend the catalogue");
    let incident = app
        .named(&format!("/tenants/{tenant}/ticket-types"), "Incident")
        .await["id"]
        .clone();
    let classify = json!({"type_id": incident, "service_id": exchange["id"]});
    let patch = |client: &Client| {
        client
            .patch(format!("{}/tickets/{carlas_id}", app.api))
            .json(&classify)
    };
    assert_eq!(send(patch(&tom)).await.0, 403);
    let (status, classified) = send(patch(&app.client)).await;
    assert_eq!(status, 200, "{classified}");
    assert_eq!(
        (&classified["type_id"], &classified["service_id"]),
        (&incident, &exchange["id"])
    );
    // Customers see their tenant's catalogue (to pick from in the portal), nothing else's.
    assert_eq!(
        send(carla.get(format!("{}{services}", app.api))).await.0,
        200
    );

    // The administrator splits Carla's case off to the 2nd level: a sub-ticket linked to it.
    let sub = created(
        &app,
        "/tickets",
        json!({"queue_id": raw, "title": "Replace the fuser", "parent_id": carlas_id}),
    )
    .await;
    let links = app.get_json(&format!("/tickets/{carlas_id}/links")).await;
    assert_eq!(links["items"][0]["relation"], "child");
    assert_eq!(links["items"][0]["ticket_id"], sub["id"]);
    assert_eq!(links["items"][0]["state_type"], "new");
    // Carla sees her ticket, but not the internal sub-ticket, nor that it exists.
    let (status, hers) = send(carla.get(format!("{}/tickets/{carlas_id}/links", app.api))).await;
    assert_eq!((status, hers["items"].as_array().unwrap().len()), (200, 0));
    let sub_id = sub["id"].as_str().unwrap().to_owned();

    // A bulk change: each ticket answered on its own; a guessed id is simply not found.
    let guessed = uuid::Uuid::now_v7().to_string();
    let (status, bulk) = send(
        app.client
            .post(format!("{}/tickets/bulk", app.api))
            .json(&json!({
                "ticket_ids": [carlas_id, lones_id, guessed], "update": {"priority": 4}
            })),
    )
    .await;
    assert_eq!(status, 200, "{bulk}");
    let items = bulk["items"].as_array().unwrap();
    assert_eq!(
        (
            &items[0]["ticket"]["priority"],
            &items[1]["ticket"]["priority"]
        ),
        (&json!(4), &json!(4))
    );
    assert_eq!(
        (&items[2]["ticket"], &items[2]["problem"]["status"]),
        (&Value::Null, &json!(404))
    );
    // The team member may not change priorities: refused ticket by ticket, nothing changed.
    let (_, refused) = send(tom.post(format!("{}/tickets/bulk", app.api)).json(&json!({
        "ticket_ids": [carlas_id], "update": {"priority": 1}
    })))
    .await;
    assert_eq!(refused["items"][0]["problem"]["status"], 403);

    // Tom watches Carla's ticket; customers may not, nor see who does.
    let watching = format!("{}/tickets/{carlas_id}/watchers", app.api);
    let (status, _) = send(tom.put(format!("{watching}/me"))).await;
    assert_eq!(status, 204);
    let (_, watchers) = send(app.client.get(&watching)).await;
    assert_eq!(watchers["agent_ids"].as_array().unwrap().len(), 1);
    assert_eq!(send(carla.put(format!("{watching}/me"))).await.0, 403);
    assert_eq!(send(carla.get(&watching)).await.0, 403);

    // What each one sees.
    let listed = |client: &Client| client.get(format!("{}/tickets", app.api));
    let mut all = vec![
        carlas_id.clone(),
        chriss_id.clone(),
        lones_id.clone(),
        sub_id.clone(),
    ];
    all.sort();
    let mut company_tickets = vec![carlas_id.clone(), chriss_id.clone()];
    company_tickets.sort();
    for (client, expected, what) in [
        (&tom, all, "the team member sees the queue"),
        (&carla, vec![carlas_id.clone()], "carla sees hers"),
        (&chris, company_tickets, "chris sees the company's"),
        (&lone, vec![lones_id.clone()], "lone sees hers"),
    ] {
        assert_eq!(ids(&send(listed(client)).await.1), expected, "{what}");
    }

    // Carla's articles, as Carla: hers and the answer, never the internal note.
    let (status, articles) =
        send(carla.get(format!("{}/tickets/{carlas_id}/articles", app.api))).await;
    assert_eq!(status, 200);
    let articles = articles["items"].as_array().unwrap();
    assert_eq!(articles.len(), 2, "{articles:?}");
    assert!(articles.iter().all(|a| a["visible_to_customer"] == true));
    assert_eq!(articles[0]["sender"], "customer");
    let (_, as_agent) = send(tom.get(format!("{}/tickets/{carlas_id}/articles", app.api))).await;
    assert_eq!(as_agent["items"].as_array().unwrap().len(), 3);

    // Another customer's ticket, by id or number, and agent-only parts answer 404 or 403.
    let (status, problem) = send(lone.get(format!("{}/tickets/{carlas_id}", app.api))).await;
    assert_eq!(status, 404);
    assert_eq!(problem["status"], 404);
    let number = carlas["number"].as_str().unwrap();
    let tickets = format!("{}/tickets", app.api);
    expect(
        404,
        lone.get(format!("{tickets}/{number}")),
        "another's ticket by number",
    )
    .await;
    expect(
        403,
        carla.get(format!("{tickets}/{carlas_id}/history")),
        "a customer reads the history",
    )
    .await;
    let (_, mine) = send(carla.get(format!("{}/tickets/{carlas_id}", app.api))).await;
    assert!(mine["owner_id"].is_null());
    // Customers administer nothing (refused as customers, whatever the tenant), and see no
    // queue but the portal's.
    expect(
        403,
        carla.get(format!("{}/admin/tenants/{tenant}/customers", app.api)),
        "a customer administers",
    )
    .await;
    let (_, queues) = send(carla.get(format!("{}/queues", app.api))).await;
    let names: Vec<&str> = item_strs(&queues, "name");
    assert_eq!(names, ["Misc"]);
    app.stop().await;
}

in_both_modes!(people_see_what_they_may: people_see_what_they_may_on_the_embedded_default, people_see_what_they_may_on_postgres_and_rabbitmq);

/// An agent of `tenant` with the role named `role`; their id.
async fn agent_with_role(app: &TestApp, tenant: &str, login: &str, role: &str) -> String {
    let role = app
        .named(&format!("/admin/tenants/{tenant}/roles"), role)
        .await["id"]
        .clone();
    let agent = created(
        app,
        &format!("/admin/tenants/{tenant}/agents"),
        json!({"login": login, "name": login, "password": PASSWORD, "role_ids": [role]}),
    )
    .await;
    agent["id"].as_str().unwrap().to_owned()
}

/// Tenant B's administrator names agents on a ticket of B: another tenant's agent or an id nobody
/// has is refused with 422 naming the field, as owner, responsible agent and collaborator; B's own
/// agent who reads the queue is accepted.
async fn named_agents_belong_to_the_tickets_tenant(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    // Tenant A is the bootstrapped one; its agent Anton may read its queues.
    let anton = agent_with_role(&app, &app.tenant_id, "anton", "Team member").await;
    let b = created(
        &app,
        "/admin/tenants",
        json!({"slug": "other-centre", "name": "Other Centre"}),
    )
    .await;
    let b = b["id"].as_str().unwrap().to_owned();
    agent_with_role(&app, &b, "bella", "Administrator").await;
    let bert = agent_with_role(&app, &b, "bert", "Team member").await;
    let (bella, _) = login_with_claims(&app.api, "bella", PASSWORD)
        .await
        .unwrap();
    // B's default queues exist once ticket core has heard of the tenant.
    let misc = wait_until(Duration::from_secs(20), "tenant B's queue Misc", || async {
        let (_, queues) = send(bella.get(format!("{}/queues", app.api))).await;
        find_item(&queues, "name", "Misc")
            .map(|q| q["id"].as_str().unwrap().to_owned())
            .ok_or(queues)
    })
    .await;
    let (status, ticket) = send(bella.post(format!("{}/tickets", app.api)).json(&json!({
        "queue_id": misc, "title": "Printer on fire", "priority": 3
    })))
    .await;
    assert_eq!(status, 201, "{ticket}");
    let id = ticket["id"].as_str().unwrap();
    let patch = |body: Value| bella.patch(format!("{}/tickets/{id}", app.api)).json(&body);
    let collaborator =
        |agent: &str| bella.put(format!("{}/tickets/{id}/collaborators/{agent}", app.api));
    let made_up = uuid::Uuid::now_v7().to_string();

    for stranger in [&anton, &made_up] {
        for (request, field) in [
            (patch(json!({"owner_id": stranger})), "owner_id"),
            (patch(json!({"responsible_id": stranger})), "responsible_id"),
            (collaborator(stranger), "agent_id"),
        ] {
            let (status, problem) = send(request).await;
            assert_eq!(status, 422, "{field} = {stranger}: {problem}");
            let detail = problem["detail"].as_str().unwrap();
            assert!(detail.starts_with(&format!("`{field}`: ")), "{detail}");
            assert!(
                !detail.contains("tenant A") && !detail.contains("it-centre"),
                "{detail}"
            );
        }
    }
    let (_, unchanged) = send(bella.get(format!("{}/tickets/{id}", app.api))).await;
    assert!(unchanged["owner_id"].is_null() && unchanged["responsible_id"].is_null());
    let (_, collaborators) =
        send(bella.get(format!("{}/tickets/{id}/collaborators", app.api))).await;
    assert_eq!(collaborators["agent_ids"], json!([]), "nobody was added");

    // B's own agent, who reads the queue, is accepted in every place.
    let (status, owned) = send(patch(json!({"owner_id": bert, "responsible_id": bert}))).await;
    assert_eq!(status, 200, "{owned}");
    assert_eq!(
        (&owned["owner_id"], &owned["responsible_id"]),
        (&json!(bert), &json!(bert))
    );
    let (status, _) = send(collaborator(&bert)).await;
    assert_eq!(status, 204);
    let (_, collaborators) =
        send(bella.get(format!("{}/tickets/{id}/collaborators", app.api))).await;
    assert_eq!(collaborators["agent_ids"], json!([bert]));
    app.stop().await;
}

in_both_modes!(named_agents_belong_to_the_tickets_tenant: named_agents_belong_to_the_tickets_tenant_on_the_embedded_default, named_agents_belong_to_the_tickets_tenant_on_postgres_and_rabbitmq);
