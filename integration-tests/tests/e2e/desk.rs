//! The agent desk and the portal's forms over HTTP, as a browser without JavaScript uses them:
//! every action of the desk (phone ticket, answer, note, field changes with optimistic
//! concurrency, lock, link, split, merge, bulk, search, views), the portal's new request, reply,
//! close and reopen, the CSRF token every form needs, a customer session refused the desk. The
//! live updates (server-sent events) are in [`live`], the administration pages of a tenant
//! administrator in [`admin_pages`].

mod admin_pages;
mod live;

use docket_integration_tests::html::Page;
use docket_integration_tests::web::Web;
use docket_integration_tests::{
    ADMIN_LOGIN, ADMIN_PASSWORD, ADMIN_TENANT, Mode, TestApp, item_where, send,
};
use serde_json::{Value, json};

const PASSWORD: &str = "a password for jane, long enough";

fn site(app: &TestApp) -> String {
    app.api.trim_end_matches("/api/v1").to_owned()
}

/// The ticket number a page redirected to (`/desk/tickets/<number>`).
fn number_in(location: &str) -> String {
    location.rsplit('/').next().unwrap().to_owned()
}

async fn ticket(app: &TestApp, key: &str) -> Value {
    app.get_json(&format!("/tickets/{key}")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_works_tickets_in_the_desk() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let site = site(&app);
    let misc = app.queue_id("Misc").await;
    let (_, jane_ticket) = app
        .customer_with_ticket("jane", PASSWORD, "Beamer im Hörsaal 2")
        .await;
    let agent = Web::login(&site, "desk", None, ADMIN_LOGIN, ADMIN_PASSWORD).await;

    // The overview counts the queue's new ticket.
    let (status, html) = agent.get("/desk/?lang=en").await;
    assert_eq!(status, 200);
    let counts = Page::parse(&html).select_text(&format!(r#"tr[data-queue="{misc}"] td.num"#));
    assert!(counts.iter().any(|n| n == "1"), "{counts:?}");
    assert!(
        html.contains("/desk/views/my-locked"),
        "the default views are offered"
    );

    // A phone ticket.
    let (status, to) = agent
        .submit(
            "/desk/phone",
            &[
                ("queue", misc.as_str()),
                ("customer", "bob@uni.example"),
                ("title", "VPN bricht ab"),
                ("body", "Anruf: der VPN-Client trennt stündlich."),
                ("priority", "4"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{to}");
    let number = number_in(&to);
    let created = ticket(&app, &number).await;
    assert_eq!(created["priority"], 4);
    assert_eq!(created["contact"]["email"], "bob@uni.example");
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, html) = agent.get(&format!("/desk/tickets/{number}?lang=de")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("VPN bricht ab") && html.contains("4 hoch"),
        "{html}"
    );
    assert!(Page::parse(&html).has(&format!(r#"[data-live-ticket="{id}"]"#)));

    // An answer by email with an attachment and time, and an internal note.
    let (status, _) = agent
        .post(
            &format!("/desk/tickets/{number}/articles"),
            &[
                ("kind", "answer"),
                ("subject", "Re: VPN bricht ab"),
                ("body", "Bitte installieren Sie Version 5."),
                ("time", "5"),
            ],
            &[("anleitung.txt", b"1. Download\n2. Install\n")],
        )
        .await;
    assert_eq!(status, 303);
    let (status, _) = agent
        .submit(
            &format!("/desk/tickets/{number}/articles"),
            &[("kind", "note"), ("body", "Intern: Lizenz prüfen.")],
        )
        .await;
    assert_eq!(status, 303);
    let articles = app.get_json(&format!("/tickets/{id}/articles")).await;
    let articles = articles["items"].as_array().unwrap();
    let answer = articles.iter().find(|a| a["channel"] == "email").unwrap();
    assert_eq!(answer["visible_to_customer"], true);
    assert_eq!(answer["time_minutes"], 5);
    assert_eq!(answer["attachments"][0]["filename"], "anleitung.txt");
    let note = articles.iter().find(|a| a["channel"] == "note").unwrap();
    assert_eq!(note["visible_to_customer"], false);
    // An empty text is refused with a message, nothing added.
    let (status, html) = agent
        .submit(
            &format!("/desk/tickets/{number}/articles"),
            &[("kind", "note"), ("body", " ")],
        )
        .await;
    assert_eq!(status, 422, "{html}");
    assert_eq!(
        app.get_json(&format!("/tickets/{id}/articles")).await["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Fields: pending until a time given in the agent's zone, and a higher priority.
    let version = ticket(&app, &id).await["version"].to_string();
    let (status, page) = agent
        .submit(
            &format!("/desk/tickets/{number}/update"),
            &[
                ("version", version.as_str()),
                ("state", "pending_reminder"),
                ("pending_until", "2030-01-02T10:00"),
                ("tz_offset", "-60"),
                ("priority", "5"),
                ("queue", misc.as_str()),
                ("service", ""),
                ("type", ""),
                ("owner", ""),
                ("responsible", ""),
            ],
        )
        .await;
    assert_eq!(status, 303, "{page}");
    let changed = ticket(&app, &id).await;
    assert_eq!(changed["state"], "pending_reminder");
    assert_eq!(changed["pending_until"], "2030-01-02T09:00:00Z");
    assert_eq!(changed["priority"], 5);
    // The same form again from the old page: somebody changed the ticket meanwhile.
    let (status, page) = agent
        .submit(
            &format!("/desk/tickets/{number}/update"),
            &[
                ("version", version.as_str()),
                ("priority", "1"),
                ("state", "open"),
            ],
        )
        .await;
    assert_eq!(status, 409, "{page}");
    assert_eq!(ticket(&app, &id).await["priority"], 5);

    // Custom fields and tags from the ticket page.
    let (status, _) = send(
        app.client
            .post(format!("{}/tenants/{}/fields", app.api, app.tenant_id))
            .json(&json!({"key": "building", "label": "Gebäude", "kind": "single_select", "options": ["A", "B"]})),
    )
    .await;
    assert_eq!(status, 201);
    let (_, html) = agent.get(&format!("/desk/tickets/{number}")).await;
    assert!(
        Page::parse(&html).has(r#"[name="field.building"]"#),
        "{html}"
    );
    let (status, _) = agent
        .submit(
            &format!("/desk/tickets/{number}/fields"),
            &[("field.building", "B")],
        )
        .await;
    assert_eq!(status, 303);
    let (status, _) = agent
        .submit(
            &format!("/desk/tickets/{number}/tags"),
            &[("tags", "vpn, lizenz")],
        )
        .await;
    assert_eq!(status, 303);
    let tagged = ticket(&app, &id).await;
    assert_eq!(tagged["fields"]["building"], json!(["B"]), "{tagged}");
    let mut tags: Vec<&str> = tagged["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    tags.sort_unstable();
    assert_eq!(tags, ["lizenz", "vpn"]);
    let (status, page) = agent
        .submit(
            &format!("/desk/tickets/{number}/fields"),
            &[("field.building", "Z")],
        )
        .await;
    assert_eq!(status, 422, "a value that is not an option: {page}");

    // Lock (and so take) it.
    let (status, _) = agent
        .submit(&format!("/desk/tickets/{number}/lock"), &[("locked", "1")])
        .await;
    assert_eq!(status, 303);
    let locked = ticket(&app, &id).await;
    assert_eq!(locked["locked"], true);
    assert_eq!(locked["owner_id"], app.admin_id.as_str());
    let (_, html) = agent.get("/desk/views/my-locked").await;
    assert!(html.contains("VPN bricht ab"), "{html}");
    // Watch it: it joins the agent's watched view.
    let (status, _) = agent
        .submit(&format!("/desk/tickets/{number}/watch"), &[("watch", "1")])
        .await;
    assert_eq!(status, 303);
    let (_, html) = agent.get("/desk/views/watched").await;
    assert!(html.contains("VPN bricht ab"), "{html}");
    let (_, html) = agent.get(&format!("/desk/tickets/{number}?lang=en")).await;
    assert!(html.contains("Stop watching"), "{html}");

    // Link it with Jane's ticket; split the answer off; merge Jane's ticket into it.
    let jane_number = jane_ticket["number"].as_str().unwrap();
    let (status, _) = agent
        .submit(
            &format!("/desk/tickets/{number}/link"),
            &[("other", jane_number), ("kind", "related")],
        )
        .await;
    assert_eq!(status, 303);
    let links = app.get_json(&format!("/tickets/{id}/links")).await;
    assert_eq!(links["items"][0]["number"], jane_number, "{links}");
    let answer_id = answer["id"].as_str().unwrap();
    let (status, to) = agent
        .submit(
            &format!("/desk/tickets/{number}/articles/{answer_id}/split"),
            &[("title", "Lizenz für Version 5")],
        )
        .await;
    assert_eq!(status, 303);
    let split = ticket(&app, &number_in(&to)).await;
    assert_eq!(split["title"], "Lizenz für Version 5");
    let (status, to) = agent
        .submit(
            &format!("/desk/tickets/{jane_number}/merge"),
            &[("target", number.as_str())],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(to, format!("/desk/tickets/{number}"));
    assert_eq!(ticket(&app, jane_number).await["state"], "merged");

    // Bulk: two tickets at once, back to the list; never back to another site.
    let mut ids = Vec::new();
    for title in ["Drucker 1", "Drucker 2"] {
        let (status, t) = send(
            app.client
                .post(format!("{}/tickets", app.api))
                .json(&json!({"queue_id": misc, "title": title, "priority": 3})),
        )
        .await;
        assert_eq!(status, 201);
        ids.push(t["id"].as_str().unwrap().to_owned());
    }
    let back = format!("/desk/queues/{misc}?sort=priority&order=desc");
    let (status, to) = agent
        .submit(
            "/desk/bulk",
            &[
                ("ticket", ids[0].as_str()),
                ("ticket", ids[1].as_str()),
                ("priority", "1"),
                ("state", "open"),
                ("back", back.as_str()),
            ],
        )
        .await;
    assert_eq!(status, 303);
    assert_eq!(to, back);
    for id in &ids {
        let t = ticket(&app, id).await;
        assert_eq!(
            (t["priority"].as_u64(), t["state"].as_str()),
            (Some(1), Some("open"))
        );
    }
    let (_, to) = agent
        .submit(
            "/desk/bulk",
            &[
                ("ticket", ids[0].as_str()),
                ("priority", "2"),
                ("back", "https://evil.example/"),
            ],
        )
        .await;
    assert_eq!(to, "/desk/");

    // The queue view sorted by priority, highest first.
    let (status, html) = agent.get(&back).await;
    assert_eq!(status, 200);
    let page = Page::parse(&html);
    assert!(page.has(r#"th[aria-sort="descending"]"#));
    let rows = page.select_text("tr[data-ticket]");
    let row = |title: &str| rows.iter().position(|r| r.contains(title));
    let (first, last) = (row("Lizenz für Version 5"), row("Drucker 1"));
    assert!(
        first.is_some() && first < last,
        "priority 5 before priority 2: {rows:#?}"
    );
    // Search by text and state.
    let (_, html) = agent.get("/desk/search?text=Drucker&state=open").await;
    assert!(
        html.contains("Drucker 1") && html.contains("Drucker 2"),
        "{html}"
    );
    assert!(!html.contains("VPN bricht ab"));

    // The search saved as a view of its own, and deleted again.
    let (status, to) = agent
        .submit(
            "/desk/searches",
            &[
                ("name", "Drucker offen"),
                ("text", "Drucker"),
                ("state", "open"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{to}");
    let (_, html) = agent.get("/desk/").await;
    assert!(
        html.contains("Drucker offen"),
        "the saved search is among the views"
    );
    let (status, html) = agent.get(&to).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Drucker 1") && !html.contains("VPN bricht ab"),
        "{html}"
    );
    assert!(
        Page::parse(&html).has(&format!(r#"form[action="{to}/delete"]"#)),
        "its page offers to delete it"
    );
    let (_, builtin) = agent.get("/desk/views/watched").await;
    assert!(
        !builtin.contains("/delete\""),
        "a default view is not deleted: {builtin}"
    );
    let (status, _) = agent.post(&format!("{to}/delete"), &[], &[]).await;
    assert_eq!(status, 303);
    let (_, html) = agent.get("/desk/").await;
    assert!(!html.contains("Drucker offen"));

    // Every form needs the session's token.
    let (status, _) = agent
        .post_with_token(
            "/desk/bulk",
            "forged",
            &[("ticket", ids[0].as_str()), ("priority", "5")],
            &[],
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(ticket(&app, &ids[0]).await["priority"], 2);

    // A phone ticket for a known address belongs to that customer, who sees it in the portal.
    let (status, to) = agent
        .submit(
            "/desk/phone",
            &[
                ("queue", misc.as_str()),
                ("customer", "jane@uni.example"),
                ("title", "Rückruf wegen Beamer"),
                ("body", "Sie hat angerufen."),
            ],
        )
        .await;
    assert_eq!(status, 303, "{to}");
    let phoned = ticket(&app, &number_in(&to)).await;
    assert_eq!(
        phoned["customer_id"], jane_ticket["customer_id"],
        "{phoned}"
    );
    let jane = Web::login(&site, "portal", Some(ADMIN_TENANT), "jane", PASSWORD).await;
    let (_, html) = jane.get("/portal/").await;
    assert!(html.contains("Rückruf wegen Beamer"), "{html}");

    // A customer gets no desk page, no events, no desk action; an agent is sent to the desk.
    for path in [
        "/desk/",
        &format!("/desk/tickets/{number}"),
        "/desk/events",
        "/desk/search?text=VPN",
    ] {
        let (status, html) = jane.get(path).await;
        assert_eq!(status, 403, "{path}");
        assert!(!html.contains("VPN bricht ab"), "{path}: {html}");
    }
    let (status, _) = jane
        .submit(
            "/desk/bulk",
            &[("ticket", ids[0].as_str()), ("priority", "5")],
        )
        .await;
    assert_eq!(status, 403);
    let (status, to) = agent.get("/portal/").await;
    assert_eq!((status, to.as_str()), (303, "/desk/"));

    // Signing out ends the session.
    let (status, to) = agent.post("/desk/logout", &[], &[]).await;
    assert_eq!((status, to.as_str()), (303, "/desk/login"));
    let (status, to) = agent.get("/desk/").await;
    assert_eq!((status, to.as_str()), (303, "/desk/login"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_customer_reports_replies_closes_and_reopens_in_the_portal() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let site = site(&app);
    let misc = app.queue_id("Misc").await;
    app.customer_with_ticket("jane", PASSWORD, "Erste Anfrage")
        .await;
    let r = app
        .client
        .patch(format!("{}/queues/{misc}", app.api))
        .json(&json!({"portal": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (status, service) = send(
        app.client
            .post(format!("{}/tenants/{}/services", app.api, app.tenant_id))
            .json(&json!({"name": "Netzwerk"})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, kind) = send(
        app.client
            .post(format!(
                "{}/tenants/{}/ticket-types",
                app.api, app.tenant_id
            ))
            .json(&json!({"name": "Störung"})),
    )
    .await;
    assert_eq!(status, 201);
    let jane = Web::login(&site, "portal", Some(ADMIN_TENANT), "jane", PASSWORD).await;

    let (status, html) = jane.get("/portal/new?lang=de").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Netzwerk") && html.contains("Störung"),
        "{html}"
    );
    // A missing subject: the form again, what she wrote kept, the error at its field.
    let (status, html) = jane
        .submit(
            "/portal/new",
            &[
                ("queue", misc.as_str()),
                ("title", ""),
                ("body", "Kein Netz"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        Page::parse(&html).has(r#"[aria-describedby="title-error"]"#) && html.contains("Kein Netz")
    );
    let (status, to) = jane
        .post(
            "/portal/new",
            &[
                ("queue", misc.as_str()),
                ("service", service["id"].as_str().unwrap()),
                ("type", kind["id"].as_str().unwrap()),
                ("title", "Kein Netz im Büro 4.12"),
                ("body", "Seit heute früh."),
                ("desired", "2030-03-01"),
            ],
            &[("foto.txt", b"link light off")],
        )
        .await;
    assert_eq!(status, 303, "{to}");
    let number = number_in(&to);
    let t = ticket(&app, &number).await;
    assert_eq!(t["service_id"], service["id"]);
    assert_eq!(t["type_id"], kind["id"]);
    assert_eq!(t["desired_at"], "2030-03-01T12:00:00Z");
    let id = t["id"].as_str().unwrap().to_owned();
    let articles = app.get_json(&format!("/tickets/{id}/articles")).await;
    assert_eq!(
        articles["items"][0]["attachments"][0]["filename"],
        "foto.txt"
    );

    // Her reply with an attachment.
    let (status, _) = jane
        .post(
            &format!("/portal/tickets/{number}/reply"),
            &[("body", "Noch immer nichts.")],
            &[("log.txt", b"no carrier")],
        )
        .await;
    assert_eq!(status, 303);
    let articles = app.get_json(&format!("/tickets/{id}/articles")).await;
    let reply = &articles["items"][1];
    assert_eq!(
        (reply["sender"].as_str(), reply["channel"].as_str()),
        (Some("customer"), Some("portal"))
    );
    assert_eq!(reply["attachments"][0]["filename"], "log.txt");

    // She closes it, then reopens it (the queue reopens follow-ups).
    let (status, _) = jane
        .post(&format!("/portal/tickets/{number}/close"), &[], &[])
        .await;
    assert_eq!(status, 303);
    assert_eq!(ticket(&app, &id).await["state"], "closed_successful");
    let (_, html) = jane.get("/portal/?show=closed").await;
    assert!(html.contains("Kein Netz im Büro 4.12"));
    let (_, html) = jane.get(&format!("/portal/tickets/{number}")).await;
    assert!(html.contains("/reopen"), "{html}");
    let (status, _) = jane
        .post(&format!("/portal/tickets/{number}/reopen"), &[], &[])
        .await;
    assert_eq!(status, 303);
    assert_eq!(ticket(&app, &id).await["state"], "open");
    // Reopening a request that is open is refused.
    let (status, _) = jane
        .post(&format!("/portal/tickets/{number}/reopen"), &[], &[])
        .await;
    assert_eq!(status, 403);

    // Where the queue refuses follow-ups, a closed request stays closed.
    let r = app
        .client
        .patch(format!("{}/queues/{misc}", app.api))
        .json(&json!({"follow_up": "reject"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (status, _) = jane
        .post(&format!("/portal/tickets/{number}/close"), &[], &[])
        .await;
    assert_eq!(status, 303);
    let (_, html) = jane.get(&format!("/portal/tickets/{number}")).await;
    assert!(!html.contains("/reopen"), "{html}");
    let (status, html) = jane
        .post(&format!("/portal/tickets/{number}/reopen"), &[], &[])
        .await;
    assert_eq!(status, 403);
    assert!(html.contains("new one"), "{html}");
    assert_eq!(ticket(&app, &id).await["state"], "closed_successful");

    // No form without her token.
    let (status, _) = jane
        .post_with_token(
            &format!("/portal/tickets/{number}/reply"),
            "",
            &[("body", "x")],
            &[],
        )
        .await;
    assert_eq!(status, 403);
    let (status, to) = jane.post("/portal/logout", &[], &[]).await;
    assert_eq!((status, to.as_str()), (303, "/portal/login"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_administrator_sets_up_the_tenant_in_the_desk() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let site = site(&app);
    app.queue_id("Misc").await;
    let admin = Web::login(&site, "desk", None, ADMIN_LOGIN, ADMIN_PASSWORD).await;
    let tenant = app.tenant_id.clone();
    let (status, html) = admin.get("/desk/admin/queues?lang=en").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Misc") && html.contains("Offered in the portal"),
        "{html}"
    );

    let post = |section: &'static str, fields: Vec<(&'static str, String)>| {
        let admin = &admin;
        let tenant = tenant.clone();
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (status, to) = admin
                .submit(&format!("/desk/admin/{section}?tenant={tenant}"), &fields)
                .await;
            assert_eq!(status, 303, "{section}: {to}");
            assert_eq!(to, format!("/desk/admin/{section}?tenant={tenant}"));
        }
    };
    post("groups", vec![("name", "2nd Level".into())]).await;
    let group = app
        .id_named(&format!("/admin/tenants/{tenant}/groups"), "2nd Level")
        .await;
    post(
        "queues",
        vec![
            ("name", "2nd Level".into()),
            ("group", group.clone()),
            ("portal", "on".into()),
            ("follow_up", "new_ticket".into()),
            ("addresses", "second@uni.example".into()),
            ("signature", "Ihr 2nd Level".into()),
        ],
    )
    .await;
    let queue = app.named("/queues", "2nd Level").await;
    assert_eq!(queue["portal"], true);
    assert_eq!(queue["follow_up"], "new_ticket");
    assert_eq!(queue["addresses"][0], "second@uni.example");
    post(
        "services",
        vec![("name", "Netzwerk".into()), ("portal", "on".into())],
    )
    .await;
    post("services", vec![("name", "Firewall-Regeln".into())]).await;
    post("types", vec![("name", "Störung".into())]).await;
    post(
        "states",
        vec![
            ("name", "wartet auf Lieferant".into()),
            ("base", "pending_reminder".into()),
        ],
    )
    .await;
    post(
        "fields",
        vec![
            ("key", "building".into()),
            ("label", "Gebäude".into()),
            ("kind", "single_select".into()),
            ("options", "A, B, C".into()),
        ],
    )
    .await;
    post(
        "templates",
        vec![
            ("name", "Gruß".into()),
            ("kind", "answer".into()),
            ("language", "de".into()),
            ("subject", "Ihre Anfrage".into()),
            ("body", "Guten Tag {{customer.name}},".into()),
        ],
    )
    .await;
    for (path, name) in [
        (format!("/tenants/{tenant}/services"), "Netzwerk"),
        (format!("/tenants/{tenant}/ticket-types"), "Störung"),
        (format!("/tenants/{tenant}/states"), "wartet auf Lieferant"),
        (format!("/tenants/{tenant}/templates"), "Gruß"),
    ] {
        app.id_named(&path, name).await;
    }
    let services = app.get_json(&format!("/tenants/{tenant}/services")).await;
    let offered: Vec<(&str, bool)> = services["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["portal"].as_bool().unwrap()))
        .collect();
    assert_eq!(offered, [("Firewall-Regeln", false), ("Netzwerk", true)]);
    let fields = app.get_json(&format!("/tenants/{tenant}/fields")).await;
    assert_eq!(
        fields["items"][0]["options"],
        json!(["A", "B", "C"]),
        "{fields}"
    );
    post(
        "roles",
        vec![
            ("name", "2nd Level Agent".into()),
            ("group", group.clone()),
            ("permissions", "ro".into()),
            ("permissions", "rw".into()),
        ],
    )
    .await;
    let role = app
        .id_named(&format!("/admin/tenants/{tenant}/roles"), "2nd Level Agent")
        .await;
    post(
        "agents",
        vec![
            ("login", "max".into()),
            ("name", "Max Muster".into()),
            ("email", "max@uni.example".into()),
            ("password", "a password for max, long enough".into()),
            ("roles", role),
        ],
    )
    .await;
    post("companies", vec![("name", "Fakultät Physik".into())]).await;
    let company = app
        .id_named(
            &format!("/admin/tenants/{tenant}/companies"),
            "Fakultät Physik",
        )
        .await;
    post(
        "customers",
        vec![
            ("login", "erika".into()),
            ("name", "Erika Mustermann".into()),
            ("email", "erika@uni.example".into()),
            ("password", "a password for erika, long enough".into()),
            ("company", company),
            ("company_tickets", "on".into()),
        ],
    )
    .await;
    post(
        "tenants",
        vec![
            ("slug", "hs-musterstadt".into()),
            ("name", "HS Musterstadt".into()),
        ],
    )
    .await;
    let (_, html) = admin
        .get(&format!("/desk/admin/tenants?tenant={tenant}"))
        .await;
    assert!(html.contains("HS Musterstadt"), "{html}");

    // What was made works: the new agent works the new queue, the new customer uses the portal.
    let max = Web::login(
        &site,
        "desk",
        None,
        "max",
        "a password for max, long enough",
    )
    .await;
    let (status, html) = max.get("/desk/").await;
    assert_eq!(status, 200);
    assert!(html.contains("2nd Level"), "{html}");
    // ... but administers nothing.
    let (status, _) = max.get("/desk/admin/queues").await;
    assert_eq!(status, 403);
    let (status, _) = max
        .submit(
            &format!("/desk/admin/groups?tenant={tenant}"),
            &[("name", "mine")],
        )
        .await;
    assert_eq!(status, 403);
    // The portal offers her the services meant for customers only, and takes no other.
    let erika = Web::login(
        &site,
        "portal",
        Some(ADMIN_TENANT),
        "erika",
        "a password for erika, long enough",
    )
    .await;
    let (_, html) = erika.get("/portal/new").await;
    assert!(
        html.contains("Netzwerk") && !html.contains("Firewall-Regeln"),
        "{html}"
    );
    let hidden = app
        .id_named(&format!("/tenants/{tenant}/services"), "Firewall-Regeln")
        .await;
    let misc = app.queue_id("Misc").await;
    let (status, _) = erika
        .submit(
            "/portal/new",
            &[
                ("queue", misc.as_str()),
                ("service", hidden.as_str()),
                ("title", "Port 22"),
                ("body", "Bitte öffnen"),
            ],
        )
        .await;
    assert_eq!(
        status, 404,
        "a service the portal does not offer is unknown to her"
    );
    // Her company's requests are hers to follow too, marked with who asked.
    let company = app
        .id_named(
            &format!("/admin/tenants/{tenant}/companies"),
            "Fakultät Physik",
        )
        .await;
    let (status, colleague) = send(
        app.client
            .post(format!("{}/admin/tenants/{tenant}/customers", app.api))
            .json(
                &json!({"login": "hans", "name": "Hans Meier", "email": "hans@uni.example",
                          "company_id": company, "password": "a password for hans, long enough"}),
            ),
    )
    .await;
    assert_eq!(status, 201, "{colleague}");
    // Ticket core learns of the customer from identity's event.
    let (status, created) = app
        .create_ticket(
            &app.client,
            &json!({
            "queue_id": misc, "title": "Laborrechner startet nicht", "customer_id": colleague["id"],
            "customer": "Hans Meier"}),
        )
        .await;
    assert_eq!(status, 201, "ticket core never learned of hans: {created}");
    let (_, html) = erika.get("/portal/?lang=en").await;
    assert!(
        html.contains("Laborrechner startet nicht") && html.contains("Requester: Hans Meier"),
        "{html}"
    );

    // The queue's settings changed from its own page; an agent deactivated and back.
    let queue_id = queue["id"].as_str().unwrap().to_owned();
    let (status, html) = admin
        .get(&format!("/desk/admin/queues/{queue_id}?tenant={tenant}"))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("Ihr 2nd Level"), "{html}");
    let (status, _) = admin
        .submit(
            &format!("/desk/admin/queues/{queue_id}?tenant={tenant}"),
            &[
                ("group", group.as_str()),
                ("follow_up", "reject"),
                ("automatic_mail", "follow_up"),
                ("addresses", "second@uni.example, 2nd@uni.example"),
                ("signature", "Ihr IT-Service"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let queues = app.get_json("/queues").await;
    let changed = queues["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == queue_id.as_str())
        .unwrap()
        .clone();
    assert_eq!(changed["portal"], false, "unticked");
    assert_eq!(changed["follow_up"], "reject");
    assert_eq!(changed["automatic_mail"], "follow_up");
    assert_eq!(
        changed["addresses"],
        json!(["second@uni.example", "2nd@uni.example"])
    );
    let max_id = app
        .get_json(&format!("/admin/tenants/{tenant}/agents"))
        .await["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["login"] == "max")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Max's own page: his role unticked, his sign-in stopped, a new password set.
    let role = app
        .id_named(&format!("/admin/tenants/{tenant}/roles"), "2nd Level Agent")
        .await;
    let (status, html) = admin
        .get(&format!(
            "/desk/admin/agents/{max_id}?tenant={tenant}&lang=en"
        ))
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Max Muster")
            && Page::parse(&html).has(&format!(r#"input[name="roles"][value="{role}"][checked]"#)),
        "{html}"
    );
    let new_password = "max's new password, long enough";
    let (status, _) = admin
        .submit(
            &format!("/desk/admin/agents/{max_id}?tenant={tenant}"),
            &[("password", new_password)],
        )
        .await;
    assert_eq!(status, 303);
    let max_now = app.get_json(&format!("/admin/agents/{max_id}")).await;
    assert_eq!(max_now["active"], false, "{max_now}");
    let roles_of = |agent: &Value| -> Vec<Value> {
        agent["memberships"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["tenant_id"] == tenant.as_str())
            .flat_map(|m| m["role_ids"].as_array().unwrap().clone())
            .collect()
    };
    assert!(roles_of(&max_now).is_empty(), "{max_now}");
    // Ticked again and let back in: he signs in with the new password.
    let (status, _) = admin
        .submit(
            &format!("/desk/admin/agents/{max_id}?tenant={tenant}"),
            &[("roles", role.as_str()), ("active", "on")],
        )
        .await;
    assert_eq!(status, 303);
    let max_now = app.get_json(&format!("/admin/agents/{max_id}")).await;
    assert_eq!(max_now["active"], true, "{max_now}");
    assert_eq!(roles_of(&max_now), vec![json!(role)], "{max_now}");
    Web::login(&site, "desk", None, "max", new_password).await;

    // The role's page: a grid of groups and permissions; the role now only reads and notes.
    let (status, html) = admin
        .get(&format!("/desk/admin/roles/{role}?tenant={tenant}&lang=en"))
        .await;
    assert_eq!(status, 200);
    assert!(
        Page::parse(&html).has(&format!(
            r#"input[name="g-{group}"][value="rw"][aria-label="2nd Level: rw"][checked]"#
        )),
        "{html}"
    );
    let field = format!("g-{group}");
    let (status, _) = admin
        .submit(
            &format!("/desk/admin/roles/{role}?tenant={tenant}"),
            &[(field.as_str(), "ro"), (field.as_str(), "note")],
        )
        .await;
    assert_eq!(status, 303);
    let roles = app
        .get_json(&format!("/admin/tenants/{tenant}/roles"))
        .await;
    let granted = item_where(&roles, "id", &role)["permissions"].clone();
    let mut names: Vec<&str> = granted[0]["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(
        (
            granted.as_array().unwrap().len(),
            granted[0]["group_id"].as_str(),
            names
        ),
        (1, Some(group.as_str()), vec!["note", "ro"]),
        "{roles}"
    );

    // Erika's page: a phone number, English, no longer the company's requests.
    let erika_id = app
        .id_named(
            &format!("/admin/tenants/{tenant}/customers"),
            "Erika Mustermann",
        )
        .await;
    let (status, html) = admin
        .get(&format!(
            "/desk/admin/customers/{erika_id}?tenant={tenant}&lang=en"
        ))
        .await;
    assert_eq!(status, 200);
    let page = Page::parse(&html);
    assert_eq!(
        page.form_field("email").as_deref(),
        Some("erika@uni.example"),
        "{html}"
    );
    assert_eq!(
        page.selected_label("company").as_deref(),
        Some("Fakultät Physik"),
        "{html}"
    );
    let (status, _) = admin
        .submit(
            &format!("/desk/admin/customers/{erika_id}?tenant={tenant}"),
            &[
                ("name", "Erika Mustermann"),
                ("email", "erika@uni.example"),
                ("phone", "+49 30 555"),
                ("company", company.as_str()),
                ("language", "en"),
                ("active", "on"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let erika_now = app.get_json(&format!("/admin/customers/{erika_id}")).await;
    assert_eq!(
        (
            &erika_now["phone"],
            &erika_now["language"],
            &erika_now["company_tickets"],
            &erika_now["active"]
        ),
        (
            &json!("+49 30 555"),
            &json!("en"),
            &json!(false),
            &json!(true)
        ),
        "{erika_now}"
    );
    Web::login(
        &site,
        "portal",
        Some(ADMIN_TENANT),
        "erika",
        "a password for erika, long enough",
    )
    .await;

    // A template changed on its page: its text, its language, offered only in one queue.
    let template = app
        .id_named(&format!("/tenants/{tenant}/templates"), "Gruß")
        .await;
    let (status, html) = admin
        .get(&format!(
            "/desk/admin/templates/{template}?tenant={tenant}&lang=en"
        ))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        Page::parse(&html).form_field("name").as_deref(),
        Some("Gruß"),
        "{html}"
    );
    let (status, _) = admin
        .submit(
            &format!("/desk/admin/templates/{template}?tenant={tenant}"),
            &[
                ("name", "Gruß"),
                ("kind", "answer"),
                ("language", "de"),
                ("subject", "Ihre Anfrage {{ticket.number}}"),
                ("body", "Guten Tag {{customer.name}},\n\nwir kümmern uns."),
                ("queues", queue_id.as_str()),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let templates = app.get_json(&format!("/tenants/{tenant}/templates")).await;
    let changed = &templates["items"][0];
    assert_eq!(
        (
            &changed["body"],
            &changed["language"],
            &changed["queue_ids"],
            &changed["subject"]
        ),
        (
            &json!("Guten Tag {{customer.name}},\n\nwir kümmern uns."),
            &json!("de"),
            &json!([queue_id]),
            &json!("Ihre Anfrage {{ticket.number}}")
        ),
        "{templates}"
    );
    // An unknown variable is refused with the reason, and nothing changes.
    let (status, html) = admin
        .submit(
            &format!("/desk/admin/templates/{template}?tenant={tenant}"),
            &[
                ("name", "Gruß"),
                ("kind", "answer"),
                ("body", "{{ticket.secret}}"),
            ],
        )
        .await;
    assert_eq!(status, 422, "{html}");
    assert!(html.contains("ticket.secret"), "{html}");
    assert_eq!(
        app.get_json(&format!("/tenants/{tenant}/templates")).await["items"][0]["body"],
        changed["body"]
    );

    // A template deleted from its page.
    let (status, _) = admin
        .submit(
            &format!("/desk/admin/templates/{template}/delete?tenant={tenant}"),
            &[],
        )
        .await;
    assert_eq!(status, 303);
    let templates = app.get_json(&format!("/tenants/{tenant}/templates")).await;
    assert!(
        templates["items"].as_array().unwrap().is_empty(),
        "{templates}"
    );
    // A bad entry is refused with the reason.
    let (status, html) = admin
        .submit(
            &format!("/desk/admin/services?tenant={tenant}"),
            &[("name", "")],
        )
        .await;
    assert!((400..500).contains(&status), "{status}: {html}");
    app.stop().await;
}

/// A customer of the directory (here the test OpenLDAP of `deploy/dev/slapd.sh`) signs in to
/// the portal with her directory password at once; the first login makes her customer user.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_directory_customer_signs_in_to_the_portal() {
    let data = tempfile::tempdir().unwrap();
    let mut settings = docket_integration_tests::test_settings(Mode::Embedded, data.path()).await;
    settings.identity.auth.customer_ldap = Some(docket_identity::ldap::LdapConfig {
        url: std::env::var("DOCKET_TEST_LDAP_URL")
            .unwrap_or_else(|_| "ldap://127.0.0.1:3890".into()),
        bind_dn: "cn=docket-service,dc=docket,dc=test".into(),
        bind_password: docket_platform::config::Secret::new("service-secret"),
        user_base_dn: "ou=people,dc=docket,dc=test".into(),
        timeout_secs: 5,
        ..docket_identity::ldap::LdapConfig::default()
    });
    settings.identity.auth.customer_ldap_tenant = Some(ADMIN_TENANT.into());
    let app = TestApp::spawn_with(settings, data, None).await;
    let site = site(&app);
    let jane = Web::login(&site, "portal", Some(ADMIN_TENANT), "jdoe", "jane-secret").await;
    let (status, html) = jane.get("/portal/?lang=en").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("jdoe"),
        "signed in as her directory login: {html}"
    );
    let customers = app
        .get_json(&format!("/admin/tenants/{}/customers", app.tenant_id))
        .await;
    let made = customers["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["login"] == "jdoe")
        .unwrap_or_else(|| panic!("no customer jdoe in {customers}"))
        .clone();
    assert_eq!(made["name"], "Jane Doe");
    assert_eq!(made["email"], "jane.doe@uni.example");
    app.stop().await;
}
