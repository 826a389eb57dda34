//! Issue 14, finding 5: a tenant administrator uses the desk's administration pages for their
//! tenant and sees no other; the installation administrator keeps every tenant.

use docket_integration_tests::web::Web;
use docket_integration_tests::{ADMIN_LOGIN, ADMIN_PASSWORD, Mode, TestApp, send};
use serde_json::{Value, json};

use super::{PASSWORD, site};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tenant_administrator_administers_their_tenant_in_the_desk_and_no_other() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let site = site(&app);
    let mine = app.tenant_id.clone();
    app.queue_id("Misc").await;
    let post = |path: String, body: Value| {
        let request = app.client.post(format!("{}{path}", app.api)).json(&body);
        async move {
            let (status, value) = send(request).await;
            assert_eq!(status, 201, "{path}: {value}");
            value["id"].as_str().unwrap().to_owned()
        }
    };
    let other = post(
        "/admin/tenants".into(),
        json!({"slug": "law", "name": "Faculty of Law"}),
    )
    .await;
    let customer = |login: &str| json!({"login": login, "name": login, "password": PASSWORD});
    post(
        format!("/admin/tenants/{mine}/customers"),
        customer("known-customer"),
    )
    .await;
    let stranger = post(
        format!("/admin/tenants/{other}/customers"),
        customer("stranger-customer"),
    )
    .await;
    let administrator = app
        .id_named(&format!("/admin/tenants/{mine}/roles"), "Administrator")
        .await;
    post(
        format!("/admin/tenants/{mine}/agents"),
        json!({"login": "tina", "name": "Tina", "password": PASSWORD, "role_ids": [administrator]}),
    )
    .await;
    let tina = Web::login(&site, "desk", None, "tina", PASSWORD).await;

    // Every section of her tenant, with its data; nothing of the other tenant, no tenants section.
    for (section, shown) in [
        ("queues", "Misc"),
        ("services", ""),
        ("types", "Incident"),
        ("states", ""),
        ("fields", ""),
        ("templates", ""),
        ("agents", "tina"),
        ("customers", "known-customer"),
        ("companies", ""),
        ("groups", "users"),
        ("roles", "Team member"),
    ] {
        for query in [String::new(), format!("&tenant={mine}")] {
            let (status, html) = tina
                .get(&format!("/desk/admin/{section}?lang=en{query}"))
                .await;
            assert_eq!(status, 200, "{section}{query}: {html}");
            assert!(html.contains(shown), "{section}: {html}");
            assert!(
                !html.contains(&other)
                    && !html.contains("Faculty of Law")
                    && !html.contains("stranger-customer")
                    && !html.contains("/desk/admin/tenants"),
                "{section} shows another tenant: {html}"
            );
        }
    }

    // The other tenant's pages are not found, its customer neither; the tenants are not hers.
    for path in [
        format!("/desk/admin/queues?tenant={other}"),
        format!("/desk/admin/customers?tenant={other}"),
        format!("/desk/admin/agents?tenant={other}"),
        format!("/desk/admin/customers/{stranger}?tenant={mine}"),
        format!("/desk/admin/customers/{stranger}?tenant={other}"),
    ] {
        let (status, html) = tina.get(&path).await;
        assert_eq!(status, 404, "{path}: {html}");
        assert!(!html.contains("stranger-customer"), "{path}: {html}");
    }
    let (status, _) = tina.get("/desk/admin/tenants").await;
    assert_eq!(status, 403);
    let (status, _) = tina
        .submit(
            &format!("/desk/admin/groups?tenant={other}"),
            &[("name", "Intruders")],
        )
        .await;
    assert_eq!(status, 404);
    let groups = app
        .get_json(&format!("/admin/tenants/{other}/groups"))
        .await;
    assert!(!groups.to_string().contains("Intruders"), "{groups}");
    // What she adds lands in her tenant.
    let (status, to) = tina
        .submit(
            &format!("/desk/admin/groups?tenant={mine}"),
            &[("name", "2nd Level")],
        )
        .await;
    assert_eq!(
        (status, to),
        (303, format!("/desk/admin/groups?tenant={mine}"))
    );
    app.id_named(&format!("/admin/tenants/{mine}/groups"), "2nd Level")
        .await;

    // The installation administrator keeps every tenant.
    let admin = Web::login(&site, "desk", None, ADMIN_LOGIN, ADMIN_PASSWORD).await;
    let (status, html) = admin.get("/desk/admin/tenants?lang=en").await;
    assert_eq!(status, 200);
    assert!(html.contains("Faculty of Law"), "{html}");
    let (status, html) = admin
        .get(&format!("/desk/admin/customers?tenant={other}"))
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("stranger-customer"), "{html}");
    app.stop().await;
}
