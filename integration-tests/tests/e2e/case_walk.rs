//! A realistic case, end to end through the gateway with people who really log in: the help desk
//! takes a phone call and classifies the ticket; a 2nd-level coordinator splits the case into two
//! sub-tickets for two 2nd-level agents; both answer and close theirs; the coordinator answers
//! the customer and closes the case; the customer replies in the portal and the ticket opens
//! again, as its queue's follow-up policy says. The history shows every step, with who and when.
//! Runs on the embedded default and on PostgreSQL + RabbitMQ.

use docket_integration_tests::{
    Mode, TestApp, expect, item_strs, item_where, login_with_claims, send,
};
use reqwest::Client;
use serde_json::{Value, json};

const PASSWORD: &str = "a password for the walk, long enough";

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

async fn walk(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let api = app.api.clone();
    // The request that closes a ticket, as `client`.
    let close = |client: &Client, ticket: &str| {
        client
            .patch(format!("{api}/tickets/{ticket}"))
            .json(&json!({"state": "closed_successful"}))
    };
    let admin = app.client.clone();
    let tenant = app.tenant_id.clone();
    let raw = app.queue_id("Raw").await;

    // Setting up: the queue's signature and follow-up policy, the catalogue, the people.
    let queue = expect(
        200,
        admin.patch(format!("{api}/queues/{raw}")).json(&json!({
            "follow_up": "reopen", "signature": "-- \nIT Service Desk", "addresses": ["servicedesk@uni.example"]
        })),
        "queue settings",
    )
    .await;
    assert_eq!(queue["follow_up"], "reopen");
    for path in ["Network", "Network::VPN"] {
        expect(
            201,
            admin
                .post(format!("{api}/tenants/{tenant}/services"))
                .json(&json!({"name": path})),
            "service",
        )
        .await;
    }
    let vpn = app
        .id_named(&format!("/tenants/{tenant}/services"), "Network::VPN")
        .await;
    let incident = app
        .id_named(&format!("/tenants/{tenant}/ticket-types"), "Incident")
        .await;
    let roles = app
        .get_json(&format!("/admin/tenants/{tenant}/roles"))
        .await;
    let role = |name: &str| id(item_where(&roles, "name", name));
    let mut agents = std::collections::BTreeMap::new();
    for (login, role_name) in [
        ("hilde", "1st level (help desk)"),
        ("sam", "2nd level"),
        ("sara", "2nd level"),
    ] {
        let agent = expect(
            201,
            admin
                .post(format!("{api}/admin/tenants/{tenant}/agents"))
                .json(&json!({"login": login, "name": login, "password": PASSWORD, "role_ids": [role(role_name)]})),
            "agent",
        )
        .await;
        let (client, _) = login_with_claims(&api, login, PASSWORD).await.unwrap();
        agents.insert(login, (id(&agent), client));
    }
    let (hilde, sam, sara): (&Client, &Client, &Client) =
        (&agents["hilde"].1, &agents["sam"].1, &agents["sara"].1);
    let (sam_id, sara_id) = (agents["sam"].0.clone(), agents["sara"].0.clone());
    let jane = expect(
        201,
        admin
            .post(format!("{api}/admin/tenants/{tenant}/customers"))
            .json(&json!({"login": "jane", "name": "Jane Doe", "email": "jane.doe@chem.uni.example", "password": PASSWORD})),
        "customer",
    )
    .await;
    let jane_id = id(&jane);

    // 1. The help desk takes Jane's call: a phone ticket for her (once ticket core knows her).
    let phone_ticket = json!({
        "queue_id": raw, "title": "VPN down for the chemistry institute", "customer_id": jane_id,
        "customer": "jane.doe@chem.uni.example",
        "article": {"sender": "customer", "channel": "phone", "visible_to_customer": true,
                    "body": "Since 8:00 nobody in building C can connect to the VPN."}
    });
    // Ticket core learns of the new customer from identity's event.
    let created = app.create_ticket(hilde, &phone_ticket).await;
    assert_eq!(created.0, 201, "phone ticket: {}", created.1);
    let case = id(&created.1);
    let number = created.1["number"].as_str().unwrap().to_owned();

    // 2. She classifies it: incident, Network::VPN, high priority. Closing is not hers to do.
    let classified = expect(
        200,
        hilde
            .patch(format!("{api}/tickets/{case}"))
            .json(&json!({"type_id": incident, "service_id": vpn, "priority": 4})),
        "classify",
    )
    .await;
    assert_eq!(
        (
            classified["priority"].as_u64(),
            classified["service_id"].as_str()
        ),
        (Some(4), Some(vpn.as_str()))
    );
    expect(403, close(hilde, &case), "1st level closes").await;

    // 3. Sam coordinates: he takes the case, splits it into two sub-tickets, one for himself and
    //    one for Sara.
    expect(
        200,
        sam.patch(format!("{api}/tickets/{case}"))
            .json(&json!({"state": "open", "owner_id": sam_id, "responsible_id": sam_id})),
        "coordinator takes the case",
    )
    .await;
    let mut children = Vec::new();
    for (title, owner) in [
        ("VPN gateway: check the concentrator", &sam_id),
        ("Client profiles for building C", &sara_id),
    ] {
        let child = expect(
            201,
            sam.post(format!("{api}/tickets")).json(&json!({
                "queue_id": raw, "title": title, "parent_id": case, "customer_id": jane_id,
                "type_id": incident, "service_id": vpn, "priority": 4,
                "article": {"sender": "agent", "channel": "note", "visible_to_customer": false,
                            "body": format!("Part of {number}: {title}")}
            })),
            "sub-ticket",
        )
        .await;
        let child_id = id(&child);
        expect(
            200,
            sam.patch(format!("{api}/tickets/{child_id}"))
                .json(&json!({"owner_id": owner, "state": "open"})),
            "assign the sub-ticket",
        )
        .await;
        children.push(child_id);
    }

    // 4. Both answer on their sub-tickets and close them.
    for (agent, child, finding) in [
        (
            sam,
            &children[0],
            "The concentrator's certificate had expired; renewed.",
        ),
        (
            sara,
            &children[1],
            "Profiles in building C pointed at the old gateway; redeployed.",
        ),
    ] {
        expect(
            201,
            agent.post(format!("{api}/tickets/{child}/articles")).json(&json!({
                "sender": "agent", "channel": "note", "visible_to_customer": false, "body": finding,
                "time_minutes": 45
            })),
            "sub-ticket answer",
        )
        .await;
        expect(200, close(agent, child), "sub-ticket closed").await;
    }
    assert_eq!(
        app.get_json(&format!("/tickets/{}", children[0])).await["time_minutes"],
        45
    );
    // The parent shows its children's progress.
    let links = app.get_json(&format!("/tickets/{case}/links")).await;
    let mut progress: Vec<(String, String)> = links["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["relation"].as_str().unwrap().to_owned(),
                l["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    progress.sort();
    assert_eq!(
        progress,
        [
            ("child".to_owned(), "closed_successful".to_owned()),
            ("child".to_owned(), "closed_successful".to_owned())
        ]
    );

    // 5. Sam sends the summarised answer, started from the queue's template, and closes the case.
    let template = expect(
        201,
        admin.post(format!("{api}/tenants/{tenant}/templates")).json(&json!({
            "name": "Solved", "kind": "answer", "subject": "Re: {{ticket.title}}",
            "body": "Dear {{customer.name}},\n\nyour request {{ticket.number}} is solved.", "queue_ids": [raw]
        })),
        "template",
    )
    .await;
    let offered = app.get_json(&format!("/tickets/{case}/templates")).await;
    assert_eq!(offered["items"][0]["name"], "Solved");
    let rendered = expect(
        200,
        sam.post(format!(
            "{api}/tickets/{case}/templates/{}/render",
            id(&template)
        )),
        "render",
    )
    .await;
    assert_eq!(
        rendered["body"],
        format!("Dear Jane Doe,\n\nyour request {number} is solved.\n\n-- \nIT Service Desk")
    );
    expect(
        201,
        sam.post(format!("{api}/tickets/{case}/articles")).json(&json!({
            "sender": "agent", "channel": "email", "visible_to_customer": true, "subject": "VPN restored",
            "body": "The gateway's certificate was renewed and the client profiles were redeployed. Please try again."
        })),
        "summarised answer",
    )
    .await;
    let closed = expect(200, close(sam, &case), "case closed").await;
    assert!(closed["closed_at"].is_string(), "{closed}");

    // 6. Jane reads the answer in the portal (not the internal notes) and replies: the queue's
    //    policy reopens the case.
    let jane = docket_integration_tests::customer_client(&api, "jane", PASSWORD).await;
    let seen = expect(
        200,
        jane.get(format!("{api}/tickets/{case}/articles")),
        "Jane reads",
    )
    .await;
    let bodies: Vec<&str> = item_strs(&seen, "body");
    assert_eq!(bodies.len(), 2, "her call and the answer: {bodies:?}");
    assert!(bodies[1].starts_with("The gateway's certificate"));
    expect(
        201,
        jane.post(format!("{api}/tickets/{case}/articles")).json(&json!({
            "sender": "customer", "channel": "portal", "body": "Works in room C1, but not in C2.",
            "attachments": [{"filename": "c2-error.txt", "content_type": "text/plain",
                             "content_base64": "dHVubmVsIHRpbWVkIG91dCBpbiBDMg=="}]
        })),
        "Jane replies",
    )
    .await;
    // Her file is there for Sam, served as what it is and never sniffed by the browser.
    let articles = app.get_json(&format!("/tickets/{case}/articles")).await;
    let attached = &articles["items"].as_array().unwrap().last().unwrap()["attachments"][0];
    assert_eq!(attached["filename"], "c2-error.txt");
    let file = sam
        .get(format!(
            "{api}/attachments/{}",
            attached["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(file.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        file.headers()["content-disposition"],
        "attachment; filename*=UTF-8''c2-error.txt"
    );
    assert_eq!(
        file.bytes().await.unwrap().as_ref(),
        b"tunnel timed out in C2"
    );
    // Her file's words are found by search.
    let (_, found) = send(
        sam.post(format!("{api}/tickets/search"))
            .json(&json!({"filter": {"text": "tunnel timed"}})),
    )
    .await;
    assert_eq!(found["items"][0]["id"], case.as_str());
    let reopened = app.get_json(&format!("/tickets/{case}")).await;
    assert_eq!(reopened["state"], "open");
    assert!(reopened["closed_at"].is_null());

    // 7. The history shows every step, in order, with who did it and when.
    let history = app.get_json(&format!("/tickets/{case}/history")).await;
    let entries = history["items"].as_array().unwrap();
    let steps: Vec<(String, String)> = entries
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(&str, &str)> = vec![
        ("created", "hilde"),
        ("article_added", "hilde"),
        ("updated", "hilde"),
        ("updated", "sam"),
        ("linked", "sam"),
        ("linked", "sam"),
        ("article_added", "sam"),
        ("updated", "sam"),
        ("updated", "jane"),
        ("article_added", "jane"),
    ];
    let got: Vec<(&str, &str)> = steps
        .iter()
        .map(|(k, a)| (k.as_str(), a.as_str()))
        .collect();
    assert_eq!(got, expected, "{history}");
    let times: Vec<&str> = entries
        .iter()
        .map(|e| e["occurred_at"].as_str().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "in time order: {times:?}"
    );
    assert_eq!(entries[2]["details"]["priority"]["new"], "4");
    assert_eq!(entries[7]["details"]["state"]["new"], "closed_successful");
    assert_eq!(entries[8]["details"]["state"]["new"], "open");
    app.stop().await;
}

in_both_modes!(walk: a_realistic_case_on_the_embedded_default, a_realistic_case_on_postgres_and_rabbitmq);
