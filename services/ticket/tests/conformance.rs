//! The storage conformance suite of [`TicketStore`]: every case runs unchanged against PostgreSQL
//! and SQLite, each on a fresh database.
//!
//! The servers are required: a test fails (it is never skipped) when PostgreSQL is not reachable at
//! `DOCKET_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};

use docket_bus::outbox::OutboxSignal;
use docket_proto::events::v1 as ev;
use docket_store::{Backend, Db};
use docket_ticket::attachments::*;
use docket_ticket::domain::*;
use docket_ticket::fields::*;
use docket_ticket::retention::*;
use docket_ticket::search::*;
use docket_ticket::storage::prelude::*;
use docket_ticket::templates::*;
use docket_ticket::{SqlTicketStore, TicketError};
use prost::Message as _;

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

/// A migrated, empty store on a fresh database of `backend`.
async fn setup(backend: Backend) -> (SqlTicketStore, Db) {
    let db = docket_store::testing::fresh_db(backend)
        .await
        .unwrap_or_else(|e| {
            panic!("cannot open a fresh {backend:?} database (is it running?): {e}")
        });
    SqlTicketStore::migrate(&db)
        .await
        .unwrap_or_else(|e| panic!("migrating the {backend:?} database failed: {e}"));
    let store = SqlTicketStore::new(db.clone(), OutboxSignal::new(), SystemId::new(10).unwrap());
    (store, db)
}

docket_store::conformance!(
    case_every_statement_prepares,
    case_tenants,
    case_queues,
    case_tenant_gets_default_queues,
    case_customers_and_their_companies,
    case_list_tickets_by_visibility,
    case_create_ticket,
    case_create_ticket_with_article,
    case_get_ticket,
    case_ticket_numbers_unique_under_concurrency,
    case_ticket_numbers_per_tenant,
    case_list_tickets_pages_every_sort,
    case_list_tickets_rejects_bad_requests,
    case_articles,
    case_update_ticket,
    case_update_ticket_rejections,
    case_states_pending_dates_and_locks,
    case_classification,
    case_links_and_sub_tickets,
    case_people_dates_and_watchers,
    case_search_full_text,
    case_search_filters,
    case_search_closing_dates,
    case_saved_searches,
    case_queue_hierarchy_and_settings,
    case_follow_up_policies,
    case_merge,
    case_split_article,
    case_tags,
    case_custom_fields,
    case_customer_contact,
    case_collaborators,
    case_attachments_and_time,
    case_templates,
    case_mail_channel,
    case_retention,
    case_tenant_states,
    case_history,
    case_history_is_append_only,
    case_history_chain_shows_tampering,
    case_outbox_one_row_per_event,
    case_queue_counts,
    case_due_reminders_and_escalations,
);

/// Every static statement of ticket core prepares on this engine: a misspelt column fails here,
/// in a second, not in the scenario that happens to run it.
async fn case_every_statement_prepares(_store: &SqlTicketStore, db: &Db) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let bus = dir.join("../../crates/docket-bus/src");
    docket_store::statements::assert_every_statement_prepares(db, &[dir.join("src"), bus]).await;
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn agent() -> Actor {
    Actor::new("agent-smith").unwrap()
}

fn event_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A tenant as the identity service announces it, with one group that is not `users` (so no
/// default queues).
async fn tenant(store: &SqlTicketStore, slug: &str) -> Tenant {
    let t = Tenant {
        id: TenantId::new(),
        slug: slug.to_owned(),
        name: format!("Tenant {slug}"),
        created_at: docket_platform::time::now_micros(),
    };
    let staff = Group {
        id: GroupId::new(),
        tenant_id: t.id,
        name: "staff".into(),
    };
    assert!(
        store
            .project_tenant(&event_id(), t.clone(), vec![staff])
            .await
            .unwrap()
    );
    t
}

/// A group of `tenant`, as announced by the identity service.
async fn group(store: &SqlTicketStore, tenant: &Tenant, name: &str) -> Group {
    let g = Group {
        id: GroupId::new(),
        tenant_id: tenant.id,
        name: name.to_owned(),
    };
    assert!(store.project_group(&event_id(), g.clone()).await.unwrap());
    g
}

/// A queue in a group of its own.
async fn queue(store: &SqlTicketStore, tenant: &Tenant, name: &str) -> Queue {
    let g = group(store, tenant, &format!("{name} agents")).await;
    queue_in(store, tenant, &g, name).await
}

async fn queue_in(store: &SqlTicketStore, tenant: &Tenant, g: &Group, name: &str) -> Queue {
    store
        .create_queue(
            NewQueue::parse(tenant.id, name, g.id, false).unwrap(),
            &agent(),
        )
        .await
        .unwrap()
}

/// A tenant with one queue.
async fn tenant_and_queue(store: &SqlTicketStore) -> (Tenant, Queue) {
    let t = tenant(store, "acme").await;
    let q = queue(store, &t, "Support").await;
    (t, q)
}

fn new_ticket(queue: &Queue, title: &str, priority: Option<u8>) -> NewTicket {
    NewTicket::parse(
        queue.id,
        title,
        priority.map(|p| Priority::new(i64::from(p)).unwrap()),
        "customer@example.com",
        None,
        None,
    )
    .unwrap()
}

fn article(sender: SenderType, channel: Channel, visible: bool, body: &str) -> NewArticle {
    NewArticle::parse(sender, channel, visible, &format!("re: {body}"), body).unwrap()
}

async fn ticket(store: &SqlTicketStore, queue: &Queue, title: &str) -> Ticket {
    store
        .create_ticket(new_ticket(queue, title, None), &agent())
        .await
        .unwrap()
}

async fn outbox_counts(db: &Db) -> BTreeMap<String, i64> {
    let rows = sqlx::query("SELECT event_type, COUNT(*) AS n FROM bus_outbox GROUP BY event_type")
        .fetch_all(db.pool())
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            (
                docket_store::Row::get::<String, _>(r, "event_type"),
                docket_store::Row::get::<i64, _>(r, "n"),
            )
        })
        .collect()
}

fn counts(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| ((*k).to_owned(), *n))
        .collect()
}

#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(result: Result<T, TicketError>, kind: &str) {
    match result {
        Err(TicketError::NotFound { kind: k, .. }) => assert_eq!(k, kind, "not-found kind"),
        other => panic!("expected NotFound {kind}, got {other:?}"),
    }
}

#[track_caller]
fn assert_invalid<T: std::fmt::Debug>(result: Result<T, TicketError>) {
    assert!(
        matches!(result, Err(TicketError::InvalidArgument(_))),
        "expected InvalidArgument, got {result:?}"
    );
}

/// The parts of a ticket number: (UTC date `YYYYMMDD`, system id, tenant code's infix, the
/// tenant's daily counter).
fn number_parts(number: &TicketNumber) -> (String, String, String, u64) {
    let s = number.as_str();
    assert!(
        s.len() >= 18 && s.bytes().all(|b| b.is_ascii_digit()),
        "ticket number `{s}` is not 8 date digits + 2 system digits + a tenant code + 5 or more counter digits"
    );
    let infix = if s[10..].starts_with('9') { 5 } else { 3 };
    (
        s[..8].to_owned(),
        s[8..10].to_owned(),
        s[10..10 + infix].to_owned(),
        s[10 + infix..].parse().unwrap(),
    )
}

fn utc_day(micros: Micros) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .unwrap()
        .format("%Y%m%d")
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Tenants and queues
// ---------------------------------------------------------------------------------------------

async fn case_tenants(store: &SqlTicketStore, db: &Db) {
    assert!(store.list_tenants().await.unwrap().is_empty());

    let beta = tenant(store, "beta").await;
    let alpha = tenant(store, "alpha").await;
    // Listed by slug, with every field as announced.
    assert_eq!(
        store.list_tenants().await.unwrap(),
        vec![alpha.clone(), beta.clone()]
    );

    // The same event again (a redelivery) changes nothing.
    let again = Tenant {
        id: TenantId::new(),
        slug: "gamma".into(),
        name: "Gamma".into(),
        created_at: 1,
    };
    let id = event_id();
    assert!(
        store
            .project_tenant(&id, again.clone(), vec![])
            .await
            .unwrap()
    );
    assert!(
        !store
            .project_tenant(&id, again.clone(), vec![])
            .await
            .unwrap()
    );
    assert_eq!(store.list_tenants().await.unwrap().len(), 3);
    // Recording what another service announced publishes nothing.
    assert!(outbox_counts(db).await.is_empty());
}

async fn case_queues(store: &SqlTicketStore, db: &Db) {
    let a = tenant(store, "a").await;
    let b = tenant(store, "b").await;
    assert!(store.list_queues(Some(a.id)).await.unwrap().is_empty());

    let a_zulu = queue(store, &a, "Zulu").await;
    let a_alpha = queue(store, &a, "Alpha").await;
    assert_eq!(a_alpha.tenant_id, a.id);
    assert_eq!(a_alpha.name, "Alpha");
    assert!(a_alpha.created_at > 0);

    assert!(a_alpha.group_id.is_some());
    assert!(!a_alpha.portal);
    assert_eq!(store.get_queue(a_alpha.id).await.unwrap(), a_alpha);
    assert_not_found(store.get_queue(QueueId::new()).await, "queue");

    let a_group = group(store, &a, "a-group").await;
    let b_group = group(store, &b, "b-group").await;
    assert_not_found(
        store
            .create_queue(
                NewQueue::parse(TenantId::new(), "Orphan", a_group.id, false).unwrap(),
                &agent(),
            )
            .await,
        "tenant",
    );
    // Another tenant's group is unknown here, like one that does not exist.
    for foreign in [b_group.id, GroupId::new()] {
        assert_not_found(
            store
                .create_queue(
                    NewQueue::parse(a.id, "Elsewhere", foreign, false).unwrap(),
                    &agent(),
                )
                .await,
            "group",
        );
    }
    let portal = store
        .create_queue(
            NewQueue::parse(a.id, "Portal", a_group.id, true).unwrap(),
            &agent(),
        )
        .await
        .unwrap();
    assert!(portal.portal);
    assert_eq!(portal.group_id, Some(a_group.id));
    let dup = store
        .create_queue(
            NewQueue::parse(a.id, "Zulu", a_group.id, false).unwrap(),
            &agent(),
        )
        .await;
    assert!(
        matches!(dup, Err(TicketError::AlreadyExists(_))),
        "duplicate queue name: {dup:?}"
    );
    // The same name in another tenant is fine.
    let b_zulu = queue(store, &b, "Zulu").await;
    assert_eq!(b_zulu.tenant_id, b.id);

    // Filtered by tenant, ordered by name.
    assert_eq!(
        store.list_queues(Some(a.id)).await.unwrap(),
        vec![a_alpha.clone(), portal.clone(), a_zulu.clone()]
    );
    assert_eq!(
        store.list_queues(Some(b.id)).await.unwrap(),
        vec![b_zulu.clone()]
    );
    assert!(
        store
            .list_queues(Some(TenantId::new()))
            .await
            .unwrap()
            .is_empty()
    );
    let all: HashSet<_> = store
        .list_queues(None)
        .await
        .unwrap()
        .into_iter()
        .map(|q| q.id)
        .collect();
    assert_eq!(
        all,
        HashSet::from([a_alpha.id, a_zulu.id, b_zulu.id, portal.id])
    );

    assert_eq!(outbox_counts(db).await, counts(&[("queue.created", 4)]));
    let created = envelopes(db).await;
    let portal_event = created
        .iter()
        .find(|e| e.aggregate_id == portal.id.to_string())
        .unwrap();
    let payload = ev::QueueCreated::decode(portal_event.payload.as_slice()).unwrap();
    assert_eq!(payload.group_id, a_group.id.to_string());
    assert!(payload.portal);
}

async fn case_tenant_gets_default_queues(store: &SqlTicketStore, db: &Db) {
    let t = Tenant {
        id: TenantId::new(),
        slug: "uni".into(),
        name: "University".into(),
        created_at: 1,
    };
    let groups: Vec<Group> = ["users", "admin"]
        .into_iter()
        .map(|name| Group {
            id: GroupId::new(),
            tenant_id: t.id,
            name: name.into(),
        })
        .collect();
    let id = event_id();
    assert!(
        store
            .project_tenant(&id, t.clone(), groups.clone())
            .await
            .unwrap()
    );
    let check = || async {
        let queues = store.list_queues(Some(t.id)).await.unwrap();
        let names: Vec<(&str, bool)> = queues.iter().map(|q| (q.name.as_str(), q.portal)).collect();
        assert_eq!(
            names,
            [
                ("Junk", false),
                ("Misc", true),
                ("Postmaster", false),
                ("Raw", false)
            ]
        );
        assert!(
            queues.iter().all(|q| q.group_id == Some(groups[0].id)),
            "in `users`"
        );
        queues
    };
    let first = check().await;
    // Redelivered: nothing new.
    assert!(
        !store
            .project_tenant(&id, t.clone(), groups.clone())
            .await
            .unwrap()
    );
    assert_eq!(check().await, first);
    assert_eq!(outbox_counts(db).await, counts(&[("queue.created", 4)]));
    // The tenant's groups are known: a queue can join `admin`.
    queue_in(store, &t, &groups[1], "Admin").await;
}

async fn case_customers_and_their_companies(store: &SqlTicketStore, _db: &Db) {
    let (t, q) = tenant_and_queue(store).await;
    let other = tenant(store, "other").await;
    let company = CompanyId::new();
    let customer = CustomerRecord {
        id: CustomerId::new(),
        tenant_id: t.id,
        company_id: Some(company),
        contact: Contact::default(),
    };
    assert!(
        store
            .project_customer(&event_id(), customer.clone())
            .await
            .unwrap()
    );
    let for_customer =
        |customer_id| NewTicket::parse(q.id, "Mine", None, "", Some(customer_id), None).unwrap();
    let created = store
        .create_ticket(for_customer(customer.id), &agent())
        .await
        .unwrap();
    assert_eq!(created.customer_id, Some(customer.id));
    assert_eq!(created.company_id, Some(company), "the company of the time");
    assert_eq!(store.get_ticket(created.id).await.unwrap(), created);

    // A customer of another tenant, or one never announced, is unknown here.
    let stranger = CustomerRecord {
        id: CustomerId::new(),
        tenant_id: other.id,
        company_id: None,
        contact: Contact::default(),
    };
    store
        .project_customer(&event_id(), stranger.clone())
        .await
        .unwrap();
    for unknown in [stranger.id, CustomerId::new()] {
        assert_not_found(
            store.create_ticket(for_customer(unknown), &agent()).await,
            "customer",
        );
    }

    // A change of company applies to tickets opened from then on.
    let moved = CustomerRecord {
        company_id: None,
        ..customer.clone()
    };
    let id = event_id();
    assert!(store.project_customer(&id, moved.clone()).await.unwrap());
    assert!(
        !store.project_customer(&id, customer.clone()).await.unwrap(),
        "redelivery"
    );
    let later = store
        .create_ticket(for_customer(customer.id), &agent())
        .await
        .unwrap();
    assert_eq!(later.company_id, None);
    assert_eq!(
        store.get_ticket(created.id).await.unwrap().company_id,
        Some(company)
    );
}

/// Listing applies the caller's visibility in the query itself, pages included.
async fn case_list_tickets_by_visibility(store: &SqlTicketStore, _db: &Db) {
    let t = tenant(store, "one").await;
    let u = tenant(store, "two").await;
    let (qa, qb, qu) = (
        queue(store, &t, "A").await,
        queue(store, &t, "B").await,
        queue(store, &u, "U").await,
    );
    let (alice, bob) = (AgentId::new(), AgentId::new());
    let company = CompanyId::new();
    let (me, colleague, stranger) = (CustomerId::new(), CustomerId::new(), CustomerId::new());
    for (id, tenant_id, company_id) in [
        (me, t.id, Some(company)),
        (colleague, t.id, Some(company)),
        (stranger, u.id, Some(company)),
    ] {
        let c = CustomerRecord {
            id,
            tenant_id,
            company_id,
            contact: Contact::default(),
        };
        store.project_customer(&event_id(), c).await.unwrap();
    }
    let make = |queue: QueueId, customer: Option<CustomerId>, owner: Option<AgentId>| async move {
        let t = store
            .create_ticket(
                NewTicket::parse(queue, "t", None, "", customer, None).unwrap(),
                &agent(),
            )
            .await
            .unwrap();
        match owner {
            Some(o) => store
                .update_ticket(
                    t.id,
                    TicketUpdate {
                        owner: Some(Some(o)),
                        ..update()
                    },
                    &agent(),
                )
                .await
                .unwrap(),
            None => t,
        }
    };
    let in_a = make(qa.id, Some(me), None).await;
    let in_b_alice = make(qb.id, Some(colleague), Some(alice)).await;
    let in_b_bob = make(qb.id, None, Some(bob)).await;
    let in_u = make(qu.id, Some(stranger), Some(alice)).await;

    // One ticket per page: visibility holds across pages.
    let list = |queue_id: Option<QueueId>, visibility: Visibility| {
        search_paged(store, in_queue(queue_id), visibility, 1)
    };
    let agent_sees = |groups: Vec<GroupId>, owners: Vec<(TenantId, AgentId)>| Visibility::Agent {
        groups,
        owners,
        collaborator: None,
    };
    assert_eq!(
        list(None, Visibility::All).await,
        [in_a.id, in_b_alice.id, in_b_bob.id, in_u.id]
    );
    // Queue A's group: its tickets only.
    assert_eq!(
        list(None, agent_sees(vec![qa.group_id.unwrap()], vec![])).await,
        [in_a.id]
    );
    // Alice in tenant one: queue A, plus what she owns there (not her ticket in tenant two).
    assert_eq!(
        list(
            None,
            agent_sees(vec![qa.group_id.unwrap()], vec![(t.id, alice)])
        )
        .await,
        [in_a.id, in_b_alice.id]
    );
    // Standing in for Bob as well.
    assert_eq!(
        list(None, agent_sees(vec![], vec![(t.id, alice), (t.id, bob)])).await,
        [in_b_alice.id, in_b_bob.id]
    );
    // Nothing granted: nothing.
    assert!(list(None, agent_sees(vec![], vec![])).await.is_empty());
    // A queue filter narrows what is visible, never widens it.
    assert!(
        list(Some(qb.id), agent_sees(vec![qa.group_id.unwrap()], vec![]))
            .await
            .is_empty()
    );
    // Customers: their own, or their company's in their tenant (never another tenant's).
    let customer = |company_id| Visibility::Customer {
        tenant_id: t.id,
        customer_id: me,
        company_id,
    };
    assert_eq!(list(None, customer(None)).await, [in_a.id]);
    assert_eq!(
        list(None, customer(Some(company))).await,
        [in_a.id, in_b_alice.id]
    );
    assert_eq!(list(Some(qa.id), customer(Some(company))).await, [in_a.id]);
}

// ---------------------------------------------------------------------------------------------
// Tickets
// ---------------------------------------------------------------------------------------------

async fn case_create_ticket(store: &SqlTicketStore, _db: &Db) {
    let (t, q) = tenant_and_queue(store).await;
    let before = docket_platform::time::now_micros();
    let first = store
        .create_ticket(new_ticket(&q, "  Printer on fire  ", None), &agent())
        .await
        .unwrap();
    assert_eq!(first.tenant_id, t.id);
    assert_eq!(first.queue_id, q.id);
    assert_eq!(first.title, "Printer on fire");
    assert_eq!(first.state, TicketState::New);
    assert_eq!(first.priority, Priority::DEFAULT);
    assert_eq!(first.priority.get(), 3);
    assert_eq!(first.owner_id, None);
    assert_eq!((first.customer_id, first.company_id), (None, None));
    assert_eq!(first.customer.as_deref(), Some("customer@example.com"));
    assert_eq!(first.version, 1);
    assert!(first.created_at >= before);
    assert_eq!(first.created_at, first.updated_at);
    // No article given: none stored.
    assert!(
        store
            .list_articles(first.id, false)
            .await
            .unwrap()
            .is_empty()
    );

    let (day, system, _, counter) = number_parts(&first.number);
    assert_eq!(
        day,
        utc_day(first.created_at),
        "the number starts with the UTC date"
    );
    assert_eq!(system, "10", "the system id follows the date");
    assert_eq!(
        first.number.as_str().len(),
        18,
        "a three-digit tenant code and five counter digits"
    );
    assert!(counter >= 1);

    let mut previous = first.number.as_str().parse::<u64>().unwrap();
    for i in 0..4 {
        let next = store
            .create_ticket(new_ticket(&q, &format!("t{i}"), Some(5)), &agent())
            .await
            .unwrap();
        assert_eq!(next.priority.get(), 5);
        let (_, system, _, _) = number_parts(&next.number);
        assert_eq!(system, "10");
        let n = next.number.as_str().parse::<u64>().unwrap();
        assert!(
            n > previous,
            "numbers strictly increase: {n} after {previous}"
        );
        previous = n;
    }

    // A ticket without customer stores none.
    let anonymous = store
        .create_ticket(
            NewTicket::parse(q.id, "No customer", None, "  ", None, None).unwrap(),
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(anonymous.customer, None);
    assert_eq!(store.get_ticket(anonymous.id).await.unwrap(), anonymous);

    assert_not_found(
        store
            .create_ticket(
                NewTicket::parse(QueueId::new(), "Lost", None, "", None, None).unwrap(),
                &agent(),
            )
            .await,
        "queue",
    );
}

async fn case_create_ticket_with_article(store: &SqlTicketStore, db: &Db) {
    let (_, q) = tenant_and_queue(store).await;
    let first_article = article(SenderType::Customer, Channel::Email, true, "It broke.");
    let created = store
        .create_ticket(
            NewTicket::parse(
                q.id,
                "Broken",
                Some(Priority::new(4).unwrap()),
                "c@example.com",
                None,
                Some(first_article.clone()),
            )
            .unwrap(),
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(
        created.version, 2,
        "creation and first article are two changes"
    );
    assert_eq!(created.priority.get(), 4);
    assert_eq!(store.get_ticket(created.id).await.unwrap(), created);

    let articles = store.list_articles(created.id, false).await.unwrap();
    assert_eq!(articles.len(), 1);
    let a = &articles[0];
    assert_eq!(a.ticket_id, created.id);
    assert_eq!(a.sender, SenderType::Customer);
    assert_eq!(a.channel, Channel::Email);
    assert!(a.visible_to_customer);
    assert_eq!(a.subject, first_article.subject);
    assert_eq!(a.body, "It broke.");
    assert_eq!(a.author, "agent-smith");

    assert_eq!(
        outbox_counts(db).await,
        counts(&[
            ("queue.created", 1),
            ("ticket.created", 1),
            ("ticket.article.added", 1),
        ])
    );
}

async fn case_get_ticket(store: &SqlTicketStore, _db: &Db) {
    let (_, q) = tenant_and_queue(store).await;
    let one = ticket(store, &q, "one").await;
    let two = ticket(store, &q, "two").await;

    assert_eq!(store.get_ticket(one.id).await.unwrap(), one);
    assert_eq!(store.get_ticket(two.id).await.unwrap(), two);
    assert_eq!(store.get_ticket_by_number(&one.number).await.unwrap(), one);
    assert_eq!(store.get_ticket_by_number(&two.number).await.unwrap(), two);

    assert_not_found(store.get_ticket(TicketId::new()).await, "ticket");
    let unknown: TicketNumber = "2000010110999999".parse().unwrap();
    assert_not_found(store.get_ticket_by_number(&unknown).await, "ticket");
}

async fn case_ticket_numbers_unique_under_concurrency(store: &SqlTicketStore, db: &Db) {
    const N: usize = 20;
    let (_, q) = tenant_and_queue(store).await;
    let tasks: Vec<_> = (0..N)
        .map(|i| {
            let store = store.clone();
            let new = new_ticket(&q, &format!("concurrent {i}"), None);
            tokio::spawn(async move { store.create_ticket(new, &agent()).await })
        })
        .collect();
    let mut tickets = Vec::with_capacity(N);
    for task in futures::future::join_all(tasks).await {
        tickets.push(task.unwrap().expect("a concurrent create_ticket failed"));
    }
    let numbers: HashSet<_> = tickets.iter().map(|t| t.number.clone()).collect();
    assert_eq!(numbers.len(), N, "duplicate ticket numbers: {tickets:#?}");
    let ids: HashSet<_> = tickets.iter().map(|t| t.id).collect();
    assert_eq!(ids.len(), N);

    // Each one is stored under its number.
    for t in &tickets {
        assert_eq!(
            store.get_ticket_by_number(&t.number).await.unwrap().id,
            t.id
        );
    }
    // On a fresh database and a single day, the counters are exactly 1..=N.
    let days: HashSet<_> = tickets.iter().map(|t| number_parts(&t.number).0).collect();
    if days.len() == 1 {
        let mut counters: Vec<u64> = tickets.iter().map(|t| number_parts(&t.number).3).collect();
        counters.sort_unstable();
        assert_eq!(counters, (1..=N as u64).collect::<Vec<_>>());
    }
    assert_eq!(
        outbox_counts(db).await.get("ticket.created").copied(),
        Some(N as i64)
    );
}

/// Two tenants opening tickets in turn (and, first, at once): each counts on its own, so its
/// numbers on a day are 1, 2, 3… whatever the other does, behind a code of its own; no number is
/// given twice, and each finds its ticket.
async fn case_ticket_numbers_per_tenant(store: &SqlTicketStore, _db: &Db) {
    let a = tenant(store, "alpha").await;
    let b = tenant(store, "beta").await;
    let qa = queue(store, &a, "Alpha desk").await;
    let qb = queue(store, &b, "Beta desk").await;
    // The first tickets of both at once: the codes are given without a clash.
    let first: Vec<_> = [&qa, &qb, &qa, &qb]
        .into_iter()
        .enumerate()
        .map(|(i, q)| {
            let store = store.clone();
            let new = new_ticket(q, &format!("first {i}"), None);
            tokio::spawn(async move { store.create_ticket(new, &agent()).await })
        })
        .collect();
    let mut tickets = Vec::new();
    for task in futures::future::join_all(first).await {
        tickets.push(task.unwrap().expect("a first ticket of a tenant failed"));
    }
    // Then in turn, a's tickets outnumbering b's.
    for i in 0..9 {
        let q = if i % 3 == 2 { &qb } else { &qa };
        tickets.push(ticket(store, q, &format!("in turn {i}")).await);
    }
    let numbers: HashSet<_> = tickets.iter().map(|t| t.number.clone()).collect();
    assert_eq!(
        numbers.len(),
        tickets.len(),
        "a number given twice: {numbers:?}"
    );
    for t in &tickets {
        assert_eq!(
            store.get_ticket_by_number(&t.number).await.unwrap().id,
            t.id
        );
    }
    let of = |tenant: TenantId| {
        let mut parts: Vec<_> = tickets
            .iter()
            .filter(|t| t.tenant_id == tenant)
            .map(|t| number_parts(&t.number))
            .collect();
        parts.sort_by_key(|p| p.3);
        parts
    };
    let (pa, pb) = (of(a.id), of(b.id));
    assert_eq!((pa.len(), pb.len()), (8, 5));
    let codes = |parts: &[(String, String, String, u64)]| {
        parts.iter().map(|p| p.2.clone()).collect::<HashSet<_>>()
    };
    assert_eq!(codes(&pa).len(), 1, "one code per tenant: {pa:?}");
    assert_eq!(codes(&pb).len(), 1, "one code per tenant: {pb:?}");
    assert_ne!(codes(&pa), codes(&pb), "each tenant has its own code");
    // On one day each tenant's counters are exactly 1..=n: nothing of the other's volume shows.
    let days: HashSet<_> = tickets.iter().map(|t| number_parts(&t.number).0).collect();
    if days.len() == 1 {
        let counters =
            |parts: &[(String, String, String, u64)]| parts.iter().map(|p| p.3).collect::<Vec<_>>();
        assert_eq!(counters(&pa), (1..=8).collect::<Vec<_>>());
        assert_eq!(counters(&pb), (1..=5).collect::<Vec<_>>());
        // In creation order, too: each tenant's next number is its previous one plus one.
        let in_turn: Vec<_> = tickets[4..]
            .iter()
            .filter(|t| t.tenant_id == b.id)
            .map(|t| number_parts(&t.number).3)
            .collect();
        assert_eq!(in_turn, [3, 4, 5]);
    }
}

// ---------------------------------------------------------------------------------------------
// Listing
// ---------------------------------------------------------------------------------------------

fn query(queue: &Queue, sort: SortField, descending: bool, page_size: u32) -> TicketListQuery {
    TicketListQuery {
        filter: in_queue(Some(queue.id)),
        visibility: Visibility::All,
        sort,
        descending,
        page_size,
        page_token: None,
    }
}

/// A customer user of `tenant`, as the identity service announces them.
async fn customer_in(
    store: &SqlTicketStore,
    tenant: &Tenant,
    company_id: Option<CompanyId>,
) -> CustomerRecord {
    let customer = CustomerRecord {
        id: CustomerId::new(),
        tenant_id: tenant.id,
        company_id,
        contact: Contact::default(),
    };
    assert!(
        store
            .project_customer(&event_id(), customer.clone())
            .await
            .unwrap()
    );
    customer
}

/// Closes a ticket (successfully) and returns it.
async fn close(store: &SqlTicketStore, id: TicketId) -> Ticket {
    let closing = TicketUpdate {
        state: Some(TicketState::ClosedSuccessful),
        ..update()
    };
    store.update_ticket(id, closing, &agent()).await.unwrap()
}

fn in_queue(queue: Option<QueueId>) -> TicketFilter {
    TicketFilter {
        queue_ids: queue.into_iter().collect(),
        ..TicketFilter::default()
    }
}

fn key_of(t: &Ticket, sort: SortField) -> i64 {
    match sort {
        SortField::CreatedAt => t.created_at,
        SortField::UpdatedAt => t.updated_at,
        SortField::Priority => i64::from(t.priority.get()),
    }
}

async fn case_list_tickets_pages_every_sort(store: &SqlTicketStore, _db: &Db) {
    let (t, q) = tenant_and_queue(store).await;
    let other = queue(store, &t, "Other").await;
    // Priorities with ties, so the id breaks them.
    let priorities = [3, 1, 5, 3, 2, 5, 3];
    let mut ids = Vec::new();
    for (i, p) in priorities.iter().enumerate() {
        let created = store
            .create_ticket(new_ticket(&q, &format!("ticket {i}"), Some(*p)), &agent())
            .await
            .unwrap();
        ids.push(created.id);
    }
    // A ticket in another queue never shows up.
    let elsewhere = ticket(store, &other, "elsewhere").await;
    // Touch some tickets so the update order differs from the creation order.
    for i in [4, 0, 2] {
        store
            .update_ticket(
                ids[i],
                TicketUpdate {
                    state: Some(TicketState::Open),
                    ..TicketUpdate::default()
                },
                &agent(),
            )
            .await
            .unwrap();
    }
    let mut all = Vec::new();
    for id in &ids {
        all.push(store.get_ticket(*id).await.unwrap());
    }

    for sort in [
        SortField::CreatedAt,
        SortField::UpdatedAt,
        SortField::Priority,
    ] {
        for descending in [false, true] {
            let mut expected = all.clone();
            expected.sort_by_key(|t| (key_of(t, sort), t.id));
            if descending {
                expected.reverse();
            }

            let mut q3 = query(&q, sort, descending, 3);
            let mut seen = Vec::new();
            let mut sizes = Vec::new();
            loop {
                let page = store.list_tickets(&q3).await.unwrap();
                sizes.push(page.items.len());
                seen.extend(page.items);
                match page.next_page_token {
                    Some(token) => {
                        assert!(sizes.len() < 10, "paging does not end");
                        q3.page_token = Some(token);
                    }
                    None => break,
                }
            }
            assert_eq!(sizes, [3, 3, 1], "{sort:?} desc={descending}");
            let seen_ids: Vec<_> = seen.iter().map(|t| t.id).collect();
            let expected_ids: Vec<_> = expected.iter().map(|t| t.id).collect();
            assert_eq!(
                seen_ids, expected_ids,
                "{sort:?} desc={descending}: complete, no duplicates, in order"
            );
            assert!(!seen_ids.contains(&elsewhere.id));
            // The listed tickets are the stored ones.
            assert_eq!(seen, expected);

            // One page of the default size holds them all, without a token.
            let whole = store
                .list_tickets(&query(&q, sort, descending, 0))
                .await
                .unwrap();
            assert_eq!(whole.items, expected);
            assert_eq!(whole.next_page_token, None);
        }
    }

    // An exact multiple of the page size ends without a dangling token.
    let page = store
        .list_tickets(&query(&q, SortField::CreatedAt, false, 7))
        .await
        .unwrap();
    assert_eq!(page.items.len(), 7);
    assert_eq!(page.next_page_token, None);

    // An existing, empty queue lists nothing.
    let empty = queue(store, &t, "Empty").await;
    let page = store
        .list_tickets(&query(&empty, SortField::CreatedAt, false, 3))
        .await
        .unwrap();
    assert!(page.items.is_empty());
    assert_eq!(page.next_page_token, None);
}

async fn case_list_tickets_rejects_bad_requests(store: &SqlTicketStore, _db: &Db) {
    let (_, q) = tenant_and_queue(store).await;
    for i in 0..4 {
        ticket(store, &q, &format!("t{i}")).await;
    }
    let first = store
        .list_tickets(&query(&q, SortField::CreatedAt, false, 2))
        .await
        .unwrap();
    let token = first.next_page_token.expect("a second page");

    // A token is bound to its sort field and direction.
    for (sort, descending) in [
        (SortField::UpdatedAt, false),
        (SortField::Priority, false),
        (SortField::CreatedAt, true),
    ] {
        let mut other = query(&q, sort, descending, 2);
        other.page_token = Some(token.clone());
        assert_invalid(store.list_tickets(&other).await);
    }
    // Garbage is no token.
    let mut garbage = query(&q, SortField::CreatedAt, false, 2);
    garbage.page_token = Some("not-a-token!".to_owned());
    assert_invalid(store.list_tickets(&garbage).await);
    // The right sort accepts it.
    let mut right = query(&q, SortField::CreatedAt, false, 2);
    right.page_token = Some(token);
    assert_eq!(store.list_tickets(&right).await.unwrap().items.len(), 2);

    assert_invalid(
        store
            .list_tickets(&query(&q, SortField::CreatedAt, false, 501))
            .await,
    );
    assert_eq!(
        store
            .list_tickets(&query(&q, SortField::CreatedAt, false, 500))
            .await
            .unwrap()
            .items
            .len(),
        4
    );

    // An unknown queue has no tickets (the gRPC edge answers 404 for a queue out of sight).
    let mut unknown = query(&q, SortField::CreatedAt, false, 3);
    unknown.filter = in_queue(Some(QueueId::new()));
    assert!(store.list_tickets(&unknown).await.unwrap().items.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Articles
// ---------------------------------------------------------------------------------------------

async fn case_articles(store: &SqlTicketStore, db: &Db) {
    let (_, q) = tenant_and_queue(store).await;
    let created = ticket(store, &q, "Questions").await;
    assert!(
        store
            .list_articles(created.id, false)
            .await
            .unwrap()
            .is_empty()
    );

    let customer = store
        .add_article(
            created.id,
            article(SenderType::Customer, Channel::Portal, true, "How do I?"),
            &Actor::new("carla").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(customer.ticket_id, created.id);
    assert_eq!(customer.sender, SenderType::Customer);
    assert_eq!(customer.channel, Channel::Portal);
    assert!(customer.visible_to_customer);
    assert_eq!(customer.subject, "re: How do I?");
    assert_eq!(customer.body, "How do I?");
    assert_eq!(customer.author, "carla");
    let after_one = store.get_ticket(created.id).await.unwrap();
    assert_eq!(after_one.version, 2);
    assert!(after_one.updated_at >= created.updated_at);

    let note = store
        .add_article(
            created.id,
            NewArticle::parse(
                SenderType::Agent,
                Channel::Note,
                false,
                "",
                "internal: customer is on the old plan\nline two",
            )
            .unwrap(),
            &agent(),
        )
        .await
        .unwrap();
    assert!(!note.visible_to_customer);
    assert_eq!(note.subject, "");
    let after_two = store.get_ticket(created.id).await.unwrap();
    assert_eq!(after_two.version, 3);
    assert!(after_two.updated_at >= after_one.updated_at);
    // Other fields are untouched by an article.
    assert_eq!(after_two.state, created.state);
    assert_eq!(after_two.number, created.number);

    // Every field round-trips, in the order written.
    assert_eq!(
        store.list_articles(created.id, false).await.unwrap(),
        vec![customer, note]
    );

    // Every sender and channel round-trips.
    let mut written = Vec::new();
    for sender in SenderType::ALL {
        for channel in Channel::ALL {
            let a = store
                .add_article(
                    created.id,
                    article(*sender, *channel, *sender == SenderType::Customer, "x"),
                    &agent(),
                )
                .await
                .unwrap();
            written.push((a.id, *sender, *channel, *sender == SenderType::Customer));
        }
    }
    let listed = store.list_articles(created.id, false).await.unwrap();
    assert_eq!(listed.len(), 2 + written.len());
    for (id, sender, channel, visible) in written {
        let a = listed.iter().find(|a| a.id == id).expect("listed");
        assert_eq!(
            (a.sender, a.channel, a.visible_to_customer),
            (sender, channel, visible)
        );
    }
    let expected_version = 3 + (SenderType::ALL.len() * Channel::ALL.len()) as u64;
    assert_eq!(
        store.get_ticket(created.id).await.unwrap().version,
        expected_version
    );

    assert_not_found(
        store
            .add_article(
                TicketId::new(),
                article(SenderType::Agent, Channel::Note, false, "nobody"),
                &agent(),
            )
            .await,
        "ticket",
    );
    assert_not_found(store.list_articles(TicketId::new(), false).await, "ticket");

    assert_eq!(
        outbox_counts(db).await.get("ticket.article.added").copied(),
        Some(2 + (SenderType::ALL.len() * Channel::ALL.len()) as i64)
    );
}

// ---------------------------------------------------------------------------------------------
// Updates
// ---------------------------------------------------------------------------------------------

fn update() -> TicketUpdate {
    TicketUpdate::default()
}

async fn case_update_ticket(store: &SqlTicketStore, _db: &Db) {
    let alice = AgentId::new();
    let (t, q) = tenant_and_queue(store).await;
    let second_queue = queue(store, &t, "Second").await;
    let created = ticket(store, &q, "Update me").await;

    let opened = store
        .update_ticket(
            created.id,
            TicketUpdate {
                state: Some(TicketState::Open),
                ..update()
            },
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(opened.state, TicketState::Open);
    assert_eq!(opened.version, 2);
    assert!(opened.updated_at >= created.updated_at);
    assert_eq!(opened.created_at, created.created_at);
    assert_eq!(store.get_ticket(created.id).await.unwrap(), opened);

    let several = store
        .update_ticket(
            created.id,
            TicketUpdate {
                expected_version: Some(2),
                priority: Some(Priority::new(5).unwrap()),
                owner: Some(Some(alice)),
                queue_id: Some(second_queue.id),
                ..update()
            },
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(several.version, 3, "one update, one version");
    assert_eq!(several.priority.get(), 5);
    assert_eq!(several.owner_id, Some(alice));
    assert_eq!(several.queue_id, second_queue.id);
    assert_eq!(several.state, TicketState::Open);
    assert_eq!(store.get_ticket(created.id).await.unwrap(), several);
    // It moved: listed in its new queue, no longer in the old one.
    let listed = |queue: QueueId| async move {
        store
            .list_tickets(&TicketListQuery {
                filter: in_queue(Some(queue)),
                visibility: Visibility::All,
                sort: SortField::CreatedAt,
                descending: false,
                page_size: 10,
                page_token: None,
            })
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|t| t.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(listed(second_queue.id).await, vec![created.id]);
    assert!(listed(q.id).await.is_empty());

    let cleared = store
        .update_ticket(
            created.id,
            TicketUpdate {
                owner: Some(None),
                ..update()
            },
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(cleared.owner_id, None);
    assert_eq!(cleared.version, 4);
    assert_eq!(store.get_ticket(created.id).await.unwrap().owner_id, None);

    // A no-op update (the values it already has) returns the ticket unchanged.
    let same = store
        .update_ticket(
            created.id,
            TicketUpdate {
                state: Some(TicketState::Open),
                priority: Some(Priority::new(5).unwrap()),
                owner: Some(None),
                queue_id: Some(second_queue.id),
                ..update()
            },
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(same, cleared);
    assert_eq!(store.get_ticket(created.id).await.unwrap().version, 4);

    let closed = store
        .update_ticket(
            created.id,
            TicketUpdate {
                expected_version: Some(4),
                state: Some(TicketState::ClosedSuccessful),
                ..update()
            },
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(closed.state, TicketState::ClosedSuccessful);
    assert_eq!(closed.version, 5);
}

async fn case_update_ticket_rejections(store: &SqlTicketStore, db: &Db) {
    let (_, q) = tenant_and_queue(store).await;
    let other_tenant = tenant(store, "other").await;
    let foreign_queue = queue(store, &other_tenant, "Foreign").await;
    let created = ticket(store, &q, "Stable").await;
    let events_before = outbox_counts(db).await;

    let stale = store
        .update_ticket(
            created.id,
            TicketUpdate {
                expected_version: Some(7),
                state: Some(TicketState::Open),
                ..update()
            },
            &agent(),
        )
        .await;
    assert!(
        matches!(stale, Err(TicketError::Conflict(_))),
        "stale version: {stale:?}"
    );

    assert_invalid(store.update_ticket(created.id, update(), &agent()).await);
    assert_invalid(
        store
            .update_ticket(
                created.id,
                TicketUpdate {
                    expected_version: Some(1),
                    ..update()
                },
                &agent(),
            )
            .await,
    );

    assert_not_found(
        store
            .update_ticket(
                created.id,
                TicketUpdate {
                    queue_id: Some(foreign_queue.id),
                    ..update()
                },
                &agent(),
            )
            .await,
        "queue",
    );
    assert_not_found(
        store
            .update_ticket(
                created.id,
                TicketUpdate {
                    queue_id: Some(QueueId::new()),
                    ..update()
                },
                &agent(),
            )
            .await,
        "queue",
    );
    assert_not_found(
        store
            .update_ticket(
                TicketId::new(),
                TicketUpdate {
                    state: Some(TicketState::Open),
                    ..update()
                },
                &agent(),
            )
            .await,
        "ticket",
    );

    // Nothing of it changed the ticket, its history or the outbox.
    assert_eq!(store.get_ticket(created.id).await.unwrap(), created);
    assert_eq!(store.history(created.id).await.unwrap().len(), 1);
    assert_eq!(outbox_counts(db).await, events_before);

    // With the right version it goes through.
    let ok = store
        .update_ticket(
            created.id,
            TicketUpdate {
                expected_version: Some(1),
                state: Some(TicketState::Open),
                ..update()
            },
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(ok.version, 2);
    // And now the old version is stale.
    let stale = store
        .update_ticket(
            created.id,
            TicketUpdate {
                expected_version: Some(1),
                state: Some(TicketState::ClosedSuccessful),
                ..update()
            },
            &agent(),
        )
        .await;
    assert!(matches!(stale, Err(TicketError::Conflict(_))), "{stale:?}");
    assert_eq!(
        store.get_ticket(created.id).await.unwrap().state,
        TicketState::Open
    );
}

// ---------------------------------------------------------------------------------------------
// History
// ---------------------------------------------------------------------------------------------

async fn case_history(store: &SqlTicketStore, _db: &Db) {
    let bob = AgentId::new();
    let (_, q) = tenant_and_queue(store).await;
    let creator = Actor::new("creator").unwrap();
    let writer = Actor::new("writer").unwrap();
    let editor = Actor::new("editor").unwrap();

    let created = store
        .create_ticket(
            NewTicket::parse(
                q.id,
                "Has a past",
                None,
                "c@example.com",
                None,
                Some(article(SenderType::Customer, Channel::Email, true, "first")),
            )
            .unwrap(),
            &creator,
        )
        .await
        .unwrap();
    let second = store
        .add_article(
            created.id,
            article(SenderType::Agent, Channel::Phone, false, "second"),
            &writer,
        )
        .await
        .unwrap();
    store
        .update_ticket(
            created.id,
            TicketUpdate {
                state: Some(TicketState::Open),
                priority: Some(Priority::new(4).unwrap()),
                ..update()
            },
            &editor,
        )
        .await
        .unwrap();
    store
        .update_ticket(
            created.id,
            TicketUpdate {
                owner: Some(Some(bob)),
                ..update()
            },
            &editor,
        )
        .await
        .unwrap();
    store
        .update_ticket(
            created.id,
            TicketUpdate {
                owner: Some(None),
                ..update()
            },
            &writer,
        )
        .await
        .unwrap();
    // A no-op update writes no history.
    store
        .update_ticket(
            created.id,
            TicketUpdate {
                state: Some(TicketState::Open),
                ..update()
            },
            &editor,
        )
        .await
        .unwrap();

    let history = store.history(created.id).await.unwrap();
    let summary: Vec<(u64, &str, &str)> = history
        .iter()
        .map(|h| (h.seq, h.kind.as_str(), h.actor.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (1, "created", "creator"),
            (2, "article_added", "creator"),
            (3, "article_added", "writer"),
            (4, "updated", "editor"),
            (5, "updated", "editor"),
            (6, "updated", "writer"),
        ]
    );
    let current = store.get_ticket(created.id).await.unwrap();
    assert_eq!(current.version, 6, "seq is the version after the change");
    assert!(
        history
            .windows(2)
            .all(|w| w[0].occurred_at <= w[1].occurred_at),
        "in time order"
    );
    assert!(history[0].occurred_at >= created.created_at);

    let created_details = &history[0].details;
    assert_eq!(created_details["number"], created.number.as_str());
    assert_eq!(created_details["title"], "Has a past");
    assert_eq!(created_details["state"], "new");
    assert_eq!(created_details["queue_id"], q.id.to_string());
    assert_eq!(
        history[2].details["article_id"],
        second.id.to_string(),
        "the article entry names its article"
    );
    assert_eq!(history[2].details["channel"], "phone");
    assert_eq!(history[2].details["visible_to_customer"], false);
    assert_eq!(
        history[3].details,
        serde_json::json!({
            "state": { "old": "new", "new": "open" },
            "priority": { "old": "3", "new": "4" },
        })
    );
    assert_eq!(
        history[4].details,
        serde_json::json!({ "owner_id": { "old": "", "new": bob.to_string() } })
    );
    assert_eq!(
        history[5].details,
        serde_json::json!({ "owner_id": { "old": bob.to_string(), "new": "" } })
    );

    // Histories are per ticket.
    let other = ticket(store, &q, "Other").await;
    let other_history = store.history(other.id).await.unwrap();
    assert_eq!(other_history.len(), 1);
    assert_eq!(other_history[0].seq, 1);
    assert_eq!(other_history[0].kind, "created");

    assert_not_found(store.history(TicketId::new()).await, "ticket");
}

async fn case_history_is_append_only(store: &SqlTicketStore, db: &Db) {
    let (_, q) = tenant_and_queue(store).await;
    let created = ticket(store, &q, "Immutable past").await;
    let before = store.history(created.id).await.unwrap();
    assert_eq!(before.len(), 1);

    let update = sqlx::query("UPDATE ticket_history SET actor = 'x'")
        .execute(db.pool())
        .await;
    assert!(update.is_err(), "UPDATE on ticket_history must fail");
    let update_one = sqlx::query("UPDATE ticket_history SET kind = 'forged' WHERE ticket_id = $1")
        .bind(created.id.to_string())
        .execute(db.pool())
        .await;
    assert!(update_one.is_err(), "UPDATE of one entry must fail");
    let delete = sqlx::query("DELETE FROM ticket_history")
        .execute(db.pool())
        .await;
    assert!(delete.is_err(), "DELETE on ticket_history must fail");

    assert_eq!(store.history(created.id).await.unwrap(), before);
    // Appending still works.
    store
        .update_ticket(
            created.id,
            TicketUpdate {
                state: Some(TicketState::ClosedSuccessful),
                ..TicketUpdate::default()
            },
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(store.history(created.id).await.unwrap().len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Outbox
// ---------------------------------------------------------------------------------------------

/// The decoded envelopes in the outbox, in append order.
async fn envelopes(db: &Db) -> Vec<ev::Envelope> {
    let rows = sqlx::query("SELECT envelope FROM bus_outbox ORDER BY seq")
        .fetch_all(db.pool())
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            let bytes: Vec<u8> = docket_store::Row::get(r, "envelope");
            ev::Envelope::decode(bytes.as_slice()).unwrap()
        })
        .collect()
}

async fn case_outbox_one_row_per_event(store: &SqlTicketStore, db: &Db) {
    assert!(outbox_counts(db).await.is_empty());

    let t = tenant(store, "acme").await;
    assert!(outbox_counts(db).await.is_empty());

    let q = queue(store, &t, "One").await;
    queue(store, &t, "Two").await;
    let mut expected = vec![("queue.created", 2)];
    assert_eq!(outbox_counts(db).await, counts(&expected));

    let plain = ticket(store, &q, "plain").await;
    expected.push(("ticket.created", 1));
    assert_eq!(outbox_counts(db).await, counts(&expected));

    let with_article = store
        .create_ticket(
            NewTicket::parse(
                q.id,
                "with article",
                None,
                "",
                None,
                Some(article(SenderType::Customer, Channel::Email, true, "hi")),
            )
            .unwrap(),
            &agent(),
        )
        .await
        .unwrap();
    expected = vec![
        ("queue.created", 2),
        ("ticket.created", 2),
        ("ticket.article.added", 1),
    ];
    assert_eq!(outbox_counts(db).await, counts(&expected));

    store
        .add_article(
            plain.id,
            article(SenderType::Agent, Channel::Note, false, "note"),
            &agent(),
        )
        .await
        .unwrap();
    expected[2].1 = 2;
    assert_eq!(outbox_counts(db).await, counts(&expected));

    store
        .update_ticket(
            plain.id,
            TicketUpdate {
                state: Some(TicketState::Open),
                priority: Some(Priority::new(1).unwrap()),
                ..update()
            },
            &agent(),
        )
        .await
        .unwrap();
    expected.push(("ticket.updated", 1));
    assert_eq!(outbox_counts(db).await, counts(&expected));

    // Failed and no-op writes append nothing.
    let one = store.get_queue(q.id).await.unwrap();
    let _ = store
        .create_queue(
            NewQueue::parse(t.id, "One", one.group_id.unwrap(), false).unwrap(),
            &agent(),
        )
        .await
        .unwrap_err();
    let _ = store
        .update_ticket(
            plain.id,
            TicketUpdate {
                expected_version: Some(1),
                state: Some(TicketState::ClosedSuccessful),
                ..update()
            },
            &agent(),
        )
        .await
        .unwrap_err();
    store
        .update_ticket(
            plain.id,
            TicketUpdate {
                state: Some(TicketState::Open),
                ..update()
            },
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(outbox_counts(db).await, counts(&expected));

    // The envelopes name their aggregate and its version after the change, in order.
    let envs = envelopes(db).await;
    let ids: HashSet<_> = envs.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(ids.len(), envs.len(), "event ids are unique");
    let of_ticket = |id: TicketId| {
        envs.iter()
            .filter(|e| e.aggregate_type == "ticket" && e.aggregate_id == id.to_string())
            .map(|e| (e.event_type.as_str(), e.aggregate_version))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        of_ticket(plain.id),
        [
            ("ticket.created", 1),
            ("ticket.article.added", 2),
            ("ticket.updated", 3),
        ]
    );
    assert_eq!(
        of_ticket(with_article.id),
        [("ticket.created", 1), ("ticket.article.added", 2)]
    );
    assert!(
        envs.iter().all(|e| e.tenant_id == t.id.to_string()),
        "every event carries its tenant"
    );
    let updated = envs
        .iter()
        .find(|e| e.event_type == "ticket.updated")
        .unwrap();
    let payload = ev::TicketUpdated::decode(updated.payload.as_slice()).unwrap();
    assert_eq!(payload.ticket_id, plain.id.to_string());
    let mut changes: Vec<_> = payload
        .changes
        .iter()
        .map(|c| (c.field.as_str(), c.old_value.as_str(), c.new_value.as_str()))
        .collect();
    changes.sort_unstable();
    assert_eq!(changes, [("priority", "3", "1"), ("state", "new", "open")]);
}

/// Somebody with database access gets past the append-only triggers (as an attacker or a careless
/// administrator would): what they change is named by the verification.
async fn lift_history_guard(db: &Db) {
    let statements: &[&str] = match db.backend() {
        Backend::Postgres => {
            &["ALTER TABLE ticket_history DISABLE TRIGGER ticket_history_no_update"]
        }
        Backend::Sqlite => &[
            "DROP TRIGGER ticket_history_no_update",
            "DROP TRIGGER ticket_history_no_delete",
        ],
    };
    for statement in statements {
        sqlx::query(sqlx::AssertSqlSafe(*statement))
            .execute(db.pool())
            .await
            .unwrap();
    }
}

async fn case_history_chain_shows_tampering(store: &SqlTicketStore, db: &Db) {
    use docket_ticket::chain::Verdict;
    let (_, q) = tenant_and_queue(store).await;
    let first = article(SenderType::Customer, Channel::Email, true, "It broke.");
    let t = store
        .create_ticket(
            NewTicket::parse(q.id, "Chained", None, "", None, Some(first)).unwrap(),
            &agent(),
        )
        .await
        .unwrap();
    store
        .update_ticket(
            t.id,
            TicketUpdate {
                state: Some(TicketState::Open),
                ..update()
            },
            &agent(),
        )
        .await
        .unwrap();
    let note = article(SenderType::Agent, Channel::Note, false, "checked the cable");
    store.add_article(t.id, note, &agent()).await.unwrap();
    let other = ticket(store, &q, "Untouched").await;
    assert_eq!(
        store.verify_history(t.id).await.unwrap(),
        Verdict::Intact { entries: 4 }
    );
    assert_not_found(store.verify_history(TicketId::new()).await, "ticket");
    let mut ids = store.ticket_ids(None, 1).await.unwrap();
    ids.extend(store.ticket_ids(ids.last().copied(), 10).await.unwrap());
    let mut both = vec![t.id, other.id];
    both.sort();
    assert_eq!(ids, both, "every ticket, a page at a time, in id order");

    lift_history_guard(db).await;
    let broken =
        |seq: u64| move |v: Verdict| matches!(v, Verdict::Broken { seq: s, .. } if s == seq);
    // A changed actor in the third entry.
    sqlx::query(
        "UPDATE ticket_history SET actor = 'somebody else' WHERE ticket_id = $1 AND seq = 3",
    )
    .bind(t.id)
    .execute(db.pool())
    .await
    .unwrap();
    let verdict = store.verify_history(t.id).await.unwrap();
    assert!(broken(3)(verdict.clone()), "{verdict:?}");
    assert_eq!(
        store.verify_history(other.id).await.unwrap(),
        Verdict::Intact { entries: 1 },
        "other tickets' chains are their own"
    );
    // An article body rewritten in place: named at the entry that recorded it.
    let q2 = queue(store, &tenant(store, "second").await, "Q").await;
    let t2 = store
        .create_ticket(
            NewTicket::parse(
                q2.id,
                "Body",
                None,
                "",
                None,
                Some(article(
                    SenderType::Customer,
                    Channel::Email,
                    true,
                    "original",
                )),
            )
            .unwrap(),
            &agent(),
        )
        .await
        .unwrap();
    sqlx::query("UPDATE articles SET body = 'rewritten' WHERE ticket_id = $1")
        .bind(t2.id)
        .execute(db.pool())
        .await
        .unwrap();
    let verdict = store.verify_history(t2.id).await.unwrap();
    assert!(broken(2)(verdict.clone()), "{verdict:?}");
    // A deleted entry.
    sqlx::query("DELETE FROM ticket_history WHERE ticket_id = $1 AND seq = 1")
        .bind(other.id)
        .execute(db.pool())
        .await
        .unwrap();
    let verdict = store.verify_history(other.id).await.unwrap();
    assert!(broken(1)(verdict.clone()), "{verdict:?}");
}

async fn case_states_pending_dates_and_locks(store: &SqlTicketStore, _db: &Db) {
    let (_, q) = tenant_and_queue(store).await;
    let t = ticket(store, &q, "Waiting for the customer").await;
    assert_eq!(
        (t.state.state_type(), t.pending_until, t.locked),
        (StateType::New, None, false)
    );
    let set = |u: TicketUpdate| async move { store.update_ticket(t.id, u, &agent()).await };
    let tomorrow = docket_platform::time::now_micros() + 86_400_000_000;

    // A pending state needs its date; no other state takes one.
    let pend = |state: TicketState, at: Option<Micros>| TicketUpdate {
        state: Some(state),
        pending_until: at,
        ..update()
    };
    assert_invalid(set(pend(TicketState::PendingReminder, None)).await);
    assert_invalid(set(pend(TicketState::Open, Some(tomorrow))).await);
    let pending = set(pend(TicketState::PendingReminder, Some(tomorrow)))
        .await
        .unwrap();
    assert_eq!(pending.state.state_type(), StateType::PendingReminder);
    assert_eq!(pending.pending_until, Some(tomorrow));
    assert_eq!(store.get_ticket(t.id).await.unwrap(), pending);
    // Staying pending keeps the date; a new date alone moves it.
    let auto = set(pend(TicketState::PendingAutoCloseSuccessful, None))
        .await
        .unwrap();
    assert_eq!(
        (auto.state.state_type(), auto.pending_until),
        (StateType::PendingAuto, Some(tomorrow))
    );
    let later = set(TicketUpdate {
        pending_until: Some(tomorrow + 1),
        ..update()
    })
    .await
    .unwrap();
    assert_eq!(later.pending_until, Some(tomorrow + 1));
    // Leaving the pending states drops the date.
    let open = set(pend(TicketState::Open, None)).await.unwrap();
    assert_eq!(open.pending_until, None);
    // Merged comes only from merging.
    assert_invalid(set(pend(TicketState::Merged, None)).await);

    // Locking needs an owner; releasing or closing unlocks.
    let lock = |on: bool| TicketUpdate {
        locked: Some(on),
        ..update()
    };
    assert_invalid(set(lock(true)).await);
    let smith = AgentId::new();
    let locked = set(TicketUpdate {
        owner: Some(Some(smith)),
        locked: Some(true),
        ..update()
    })
    .await
    .unwrap();
    assert!(locked.locked);
    let released = set(TicketUpdate {
        owner: Some(None),
        ..update()
    })
    .await
    .unwrap();
    assert!(!released.locked, "no owner, no lock");
    set(TicketUpdate {
        owner: Some(Some(smith)),
        locked: Some(true),
        ..update()
    })
    .await
    .unwrap();
    let closed = set(pend(TicketState::ClosedUnsuccessful, None))
        .await
        .unwrap();
    assert_eq!(
        (closed.state.state_type(), closed.locked),
        (StateType::Closed, false)
    );
    assert_eq!(closed.owner_id, Some(smith), "closing keeps the owner");

    // Every step is in the history, with the fields it changed.
    let history = store.history(t.id).await.unwrap();
    let fields: Vec<Vec<String>> = history
        .iter()
        .filter(|h| h.kind == "updated")
        .map(|h| h.details.as_object().unwrap().keys().cloned().collect())
        .collect();
    assert_eq!(
        fields,
        [
            vec!["pending_until", "state"],
            vec!["state"],
            vec!["pending_until"],
            vec!["pending_until", "state"],
            vec!["locked", "owner_id"],
            vec!["locked", "owner_id"],
            vec!["locked", "owner_id"],
            vec!["locked", "state"],
        ]
    );
    assert_eq!(
        store.verify_history(t.id).await.unwrap(),
        docket_ticket::chain::Verdict::Intact { entries: 9 }
    );
}

async fn case_classification(store: &SqlTicketStore, _db: &Db) {
    let (t, q) = tenant_and_queue(store).await;
    let other = tenant(store, "other").await;
    let create = |c: Catalogue, tenant: TenantId, name: &'static str| async move {
        store
            .create_catalogue_entry(c, tenant, name, true, &agent())
            .await
    };
    // A service's parent path must exist first; names are trimmed paths, unique per tenant.
    assert_invalid(create(Catalogue::Services, t.id, "E-Mail::Exchange").await);
    let mail = create(Catalogue::Services, t.id, "E-Mail").await.unwrap();
    let exchange = create(Catalogue::Services, t.id, " E-Mail :: Exchange ")
        .await
        .unwrap();
    assert_eq!(
        (exchange.name.as_str(), exchange.parent_id),
        ("E-Mail::Exchange", Some(mail.id))
    );
    assert!(matches!(
        create(Catalogue::Services, t.id, "E-Mail").await,
        Err(TicketError::AlreadyExists(_))
    ));
    assert_invalid(create(Catalogue::Services, t.id, "E-Mail::").await);
    assert_not_found(
        create(Catalogue::Services, TenantId::new(), "Nowhere").await,
        "tenant",
    );
    let elsewhere = create(Catalogue::Services, other.id, "E-Mail")
        .await
        .unwrap();
    let services = store
        .list_catalogue(Catalogue::Services, t.id)
        .await
        .unwrap();
    assert_eq!(services, vec![mail.clone(), exchange.clone()]);
    assert!(services.iter().all(|s| s.portal));
    // A service for agents only: kept as such.
    let internal = store
        .create_catalogue_entry(Catalogue::Services, t.id, "Firewall", false, &agent())
        .await
        .unwrap();
    assert!(!internal.portal);
    let services = store
        .list_catalogue(Catalogue::Services, t.id)
        .await
        .unwrap();
    assert_eq!(services, vec![mail.clone(), exchange.clone(), internal]);
    // Ticket types: a flat list of its own per tenant, starting with the defaults.
    assert!(matches!(
        create(Catalogue::TicketTypes, t.id, "Incident").await,
        Err(TicketError::AlreadyExists(_))
    ));
    assert_invalid(create(Catalogue::TicketTypes, t.id, "A::B").await);
    let change = create(Catalogue::TicketTypes, t.id, "Change")
        .await
        .unwrap();
    let types = store
        .list_catalogue(Catalogue::TicketTypes, t.id)
        .await
        .unwrap();
    assert_eq!(types.len(), 6);
    assert!(types.contains(&change));
    let incident = types.into_iter().find(|e| e.name == "Incident").unwrap();

    // Tickets are classified with the tenant's own entries only.
    let classified = |type_id: Option<uuid::Uuid>, service_id: Option<uuid::Uuid>| NewTicket {
        type_id: type_id.map(|u| u.to_string().parse().unwrap()),
        service_id: service_id.map(|u| u.to_string().parse().unwrap()),
        ..new_ticket(&q, "Mailbox full", None)
    };
    let ticket = store
        .create_ticket(classified(Some(incident.id), Some(exchange.id)), &agent())
        .await
        .unwrap();
    assert_eq!(ticket.type_id.map(|t| *t.as_uuid()), Some(incident.id));
    assert_eq!(ticket.service_id.map(|s| *s.as_uuid()), Some(exchange.id));
    assert_eq!(store.get_ticket(ticket.id).await.unwrap(), ticket);
    assert_not_found(
        store
            .create_ticket(classified(None, Some(elsewhere.id)), &agent())
            .await,
        "service",
    );
    assert_not_found(
        store
            .create_ticket(classified(Some(uuid::Uuid::now_v7()), None), &agent())
            .await,
        "ticket type",
    );
    // Reclassified, then the service cleared; the history keeps both steps.
    let mail_id: ServiceId = mail.id.to_string().parse().unwrap();
    let moved = store
        .update_ticket(
            ticket.id,
            TicketUpdate {
                service_id: Some(Some(mail_id)),
                ..update()
            },
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(moved.service_id, Some(mail_id));
    let foreign: ServiceId = elsewhere.id.to_string().parse().unwrap();
    assert_not_found(
        store
            .update_ticket(
                ticket.id,
                TicketUpdate {
                    service_id: Some(Some(foreign)),
                    ..update()
                },
                &agent(),
            )
            .await,
        "service",
    );
    let cleared = store
        .update_ticket(
            ticket.id,
            TicketUpdate {
                service_id: Some(None),
                ..update()
            },
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(cleared.service_id, None);
    let history = store.history(ticket.id).await.unwrap();
    assert_eq!(
        history[1].details,
        serde_json::json!({ "service_id": { "old": exchange.id.to_string(), "new": mail.id.to_string() } })
    );

    // A tenant announced by identity starts with the default ticket types.
    let fresh = Tenant {
        id: TenantId::new(),
        slug: "fresh".into(),
        name: "Fresh".into(),
        created_at: 1,
    };
    store
        .project_tenant(&event_id(), fresh.clone(), vec![])
        .await
        .unwrap();
    let names: Vec<String> = store
        .list_catalogue(Catalogue::TicketTypes, fresh.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(
        names,
        [
            "Incident",
            "Problem",
            "Security Incident",
            "Service Request",
            "Unclassified"
        ]
    );
}

async fn case_links_and_sub_tickets(store: &SqlTicketStore, db: &Db) {
    let (_, q) = tenant_and_queue(store).await;
    let parent = ticket(store, &q, "Mail outage in building B").await;
    // Split: two sub-tickets, each linked to the parent as it is created.
    let child = |title: &'static str| NewTicket {
        parent_id: Some(parent.id),
        ..new_ticket(&q, title, None)
    };
    let a = store
        .create_ticket(child("Check the relay"), &agent())
        .await
        .unwrap();
    let b = store
        .create_ticket(child("Inform the users"), &agent())
        .await
        .unwrap();
    assert_eq!(a.version, 2, "created and linked: two changes");
    close(store, a.id).await;
    // The parent shows its children's progress.
    let links = store.links(parent.id).await.unwrap();
    let progress: Vec<(Relation, TicketId, StateType)> = links
        .iter()
        .map(|l| (l.relation, l.ticket_id, l.state.state_type()))
        .collect();
    assert_eq!(
        progress,
        [
            (Relation::Child, a.id, StateType::Closed),
            (Relation::Child, b.id, StateType::New)
        ]
    );
    let up = store.links(a.id).await.unwrap();
    assert_eq!(
        (up.len(), up[0].relation, up[0].ticket_id),
        (1, Relation::Parent, parent.id)
    );

    // One parent each; no cycles; no self-links; related once either way.
    let other = ticket(store, &q, "Another case").await;
    let link = |s: TicketId, t: TicketId, k: LinkKind| async move {
        store.link_tickets(s, t, k, &agent()).await
    };
    assert!(matches!(
        link(other.id, a.id, LinkKind::ParentChild).await,
        Err(TicketError::AlreadyExists(_))
    ));
    assert!(matches!(
        link(a.id, parent.id, LinkKind::ParentChild).await,
        Err(TicketError::Conflict(_))
    ));
    assert_invalid(link(a.id, a.id, LinkKind::Related).await);
    link(other.id, parent.id, LinkKind::Related).await.unwrap();
    assert!(matches!(
        link(parent.id, other.id, LinkKind::Related).await,
        Err(TicketError::AlreadyExists(_))
    ));
    let related = store.links(other.id).await.unwrap();
    assert_eq!(
        (related[0].relation, related[0].ticket_id),
        (Relation::Related, parent.id)
    );
    // Another tenant's ticket cannot be linked, like one that does not exist.
    let foreign_q = queue(store, &tenant(store, "foreign").await, "F").await;
    let foreign = ticket(store, &foreign_q, "Elsewhere").await;
    assert_not_found(
        link(parent.id, foreign.id, LinkKind::Related).await,
        "ticket",
    );
    assert_not_found(
        link(parent.id, TicketId::new(), LinkKind::Related).await,
        "ticket",
    );

    // Unlinking works in either direction for related tickets; both histories record it.
    store
        .unlink_tickets(parent.id, other.id, LinkKind::Related, &agent())
        .await
        .unwrap();
    assert!(store.links(other.id).await.unwrap().is_empty());
    assert_not_found(
        store
            .unlink_tickets(parent.id, other.id, LinkKind::Related, &agent())
            .await,
        "link",
    );
    let kinds: Vec<String> = store
        .history(parent.id)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.kind)
        .collect();
    assert_eq!(kinds, ["created", "linked", "linked", "linked", "unlinked"]);
    assert_eq!(
        store.verify_history(parent.id).await.unwrap(),
        docket_ticket::chain::Verdict::Intact { entries: 5 }
    );
    let events = envelopes(db).await;
    let linked = events
        .iter()
        .filter(|e| e.event_type == "ticket.linked")
        .count();
    assert_eq!(linked, 6, "one event per ticket per link");
}

async fn case_people_dates_and_watchers(store: &SqlTicketStore, _db: &Db) {
    let (_, q) = tenant_and_queue(store).await;
    let wanted = docket_platform::time::now_micros() + 3 * 86_400_000_000;
    let t = store
        .create_ticket(
            NewTicket {
                desired_at: Some(wanted),
                ..new_ticket(&q, "New laptop", None)
            },
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(
        (t.desired_at, t.target_at, t.responsible_id),
        (Some(wanted), None, None)
    );
    // The coordinator names who is responsible and plans a target date beside the desired one.
    let (lead, planned) = (AgentId::new(), wanted + 86_400_000_000);
    let coordinated = store
        .update_ticket(
            t.id,
            TicketUpdate {
                responsible: Some(Some(lead)),
                target_at: Some(Some(planned)),
                ..update()
            },
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            coordinated.responsible_id,
            coordinated.desired_at,
            coordinated.target_at
        ),
        (Some(lead), Some(wanted), Some(planned))
    );
    assert_eq!(store.get_ticket(t.id).await.unwrap(), coordinated);
    let cleared = store
        .update_ticket(
            t.id,
            TicketUpdate {
                responsible: Some(None),
                desired_at: Some(None),
                ..update()
            },
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!((cleared.responsible_id, cleared.desired_at), (None, None));
    let history = store.history(t.id).await.unwrap();
    assert_eq!(history[0].details["desired_at"], wanted);
    let changed: Vec<Vec<String>> = history[1..]
        .iter()
        .map(|h| h.details.as_object().unwrap().keys().cloned().collect())
        .collect();
    assert_eq!(
        changed,
        [
            vec!["responsible_id", "target_at"],
            vec!["desired_at", "responsible_id"]
        ]
    );

    // Watchers: each agent once, in the order they started; stopping twice changes nothing.
    let (ann, bob) = (AgentId::new(), AgentId::new());
    assert!(store.watch(t.id, ann, true).await.unwrap());
    assert!(!store.watch(t.id, ann, true).await.unwrap());
    assert!(store.watch(t.id, bob, true).await.unwrap());
    assert_eq!(store.watchers(t.id).await.unwrap(), [ann, bob]);
    assert!(store.watch(t.id, ann, false).await.unwrap());
    assert!(!store.watch(t.id, ann, false).await.unwrap());
    assert_eq!(store.watchers(t.id).await.unwrap(), [bob]);
    assert_not_found(store.watch(TicketId::new(), ann, true).await, "ticket");
    assert_not_found(store.watchers(TicketId::new()).await, "ticket");
    // Watching is no change of the ticket: no new version.
    assert_eq!(
        store.get_ticket(t.id).await.unwrap().version,
        cleared.version
    );
}

// ---------------------------------------------------------------------------------------------
// Search
// ---------------------------------------------------------------------------------------------

/// Every ticket matching `filter` for `visibility`, walked two per page (oldest first).
async fn search(
    store: &SqlTicketStore,
    filter: TicketFilter,
    visibility: Visibility,
) -> Vec<TicketId> {
    search_paged(store, filter, visibility, 2).await
}

/// Every ticket matching `filter` for `visibility`, walked `page_size` per page (oldest first).
async fn search_paged(
    store: &SqlTicketStore,
    filter: TicketFilter,
    visibility: Visibility,
    page_size: u32,
) -> Vec<TicketId> {
    let mut ids = Vec::new();
    let mut token = None;
    loop {
        let page = store
            .list_tickets(&TicketListQuery {
                filter: filter.clone(),
                visibility: visibility.clone(),
                sort: SortField::CreatedAt,
                descending: false,
                page_size,
                page_token: token,
            })
            .await
            .unwrap();
        ids.extend(page.items.iter().map(|t| t.id));
        match page.next_page_token {
            Some(next) => token = Some(next),
            None => return ids,
        }
    }
}

fn text(q: &str) -> TicketFilter {
    TicketFilter {
        text: Some(FullText::parse(q).unwrap()),
        ..TicketFilter::default()
    }
}

async fn with_article(
    store: &SqlTicketStore,
    queue: &Queue,
    title: &str,
    body: &str,
    visible: bool,
) -> Ticket {
    let t = ticket(store, queue, title).await;
    store
        .add_article(
            t.id,
            article(SenderType::Agent, Channel::Note, visible, body),
            &agent(),
        )
        .await
        .unwrap();
    store.get_ticket(t.id).await.unwrap()
}

async fn case_search_full_text(store: &SqlTicketStore, _db: &Db) {
    let (t, q) = tenant_and_queue(store).await;
    let vpn = with_article(
        store,
        &q,
        "VPN client fails",
        "Since the update the tunnel drops.",
        true,
    )
    .await;
    let printer = with_article(
        store,
        &q,
        "Drucker im Raum 1.23",
        "Papierstau, Größe A4.",
        true,
    )
    .await;
    let secret = with_article(
        store,
        &q,
        "Password reset",
        "internal: rotated the kerberos keytab",
        false,
    )
    .await;
    let both = with_article(store, &q, "Tunnel and printer", "nothing else", true).await;
    // A customer's ticket with an internal note.
    let customer = customer_in(store, &t, None).await;
    let theirs = store
        .create_ticket(
            NewTicket::parse(
                q.id,
                "My kerberos ticket",
                None,
                "",
                Some(customer.id),
                None,
            )
            .unwrap(),
            &agent(),
        )
        .await
        .unwrap();
    store
        .add_article(
            theirs.id,
            article(SenderType::Agent, Channel::Note, false, "keytab rotated"),
            &agent(),
        )
        .await
        .unwrap();
    // A ticket in a queue of another group.
    let other_group_queue = queue(store, &t, "Elsewhere").await;
    let hidden = with_article(store, &other_group_queue, "VPN elsewhere", "tunnel", true).await;
    let all = Visibility::All;
    let as_customer = Visibility::Customer {
        tenant_id: t.id,
        customer_id: customer.id,
        company_id: None,
    };
    let agent_vis = Visibility::Agent {
        groups: vec![q.group_id.unwrap()],
        owners: vec![],
        collaborator: None,
    };
    let none = Vec::<TicketId>::new();

    // Both ways of matching give the same answers: collecting the matches first, and walking
    // the tickets in order (what PostgreSQL does for words in very many articles).
    for s in [store.clone(), store.clone().with_dense_text_rows(0)] {
        let s = &s;
        // Titles and article bodies, any case; every word must match in one of them.
        assert_eq!(search(s, text("vpn"), agent_vis.clone()).await, [vpn.id]);
        assert_eq!(
            search(s, text("TUNNEL"), agent_vis.clone()).await,
            [vpn.id, both.id]
        );
        assert_eq!(search(s, text("tunnel drops"), all.clone()).await, [vpn.id]);
        assert_eq!(
            search(s, text("vpn tunnel"), all.clone()).await,
            none,
            "title and article are separate documents"
        );
        assert_eq!(
            search(s, text("größe"), all.clone()).await,
            [printer.id],
            "umlauts"
        );
        assert_eq!(
            search(s, text("papier*"), all.clone()).await,
            [printer.id],
            "prefix"
        );
        assert_eq!(
            search(s, text("papier"), all.clone()).await,
            none,
            "whole words"
        );
        assert_eq!(
            search(s, text("kerberos"), agent_vis.clone()).await,
            [secret.id, theirs.id]
        );
        // Words that look like the engines' operators are only words.
        assert_eq!(search(s, text("vpn OR drucker"), all.clone()).await, none);
        assert_eq!(
            search(s, text("\"tunnel\" NEAR(x"), all.clone()).await,
            none
        );
        // A customer finds nothing by the words of an internal note.
        assert_eq!(
            search(s, text("kerberos"), as_customer.clone()).await,
            [theirs.id],
            "its title"
        );
        assert_eq!(search(s, text("keytab"), as_customer.clone()).await, none);
        assert_eq!(
            search(s, text("keytab"), all.clone()).await,
            [secret.id, theirs.id]
        );
        // Visibility applies to full text as to everything: agents see their groups' queues.
        assert_eq!(
            search(s, text("vpn"), all.clone()).await,
            [vpn.id, hidden.id]
        );
    }
}

async fn case_search_filters(store: &SqlTicketStore, _db: &Db) {
    let (t, q1) = tenant_and_queue(store).await;
    let q2 = queue(store, &t, "Network").await;
    let service = store
        .create_catalogue_entry(Catalogue::Services, t.id, "E-Mail", true, &agent())
        .await
        .unwrap();
    let incident = store
        .list_catalogue(Catalogue::TicketTypes, t.id)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.name == "Incident")
        .unwrap();
    let company = CompanyId::new();
    let customer = customer_in(store, &t, Some(company)).await;
    let (alice, bob) = (AgentId::new(), AgentId::new());

    let plain = ticket(store, &q1, "Plain").await;
    let urgent = store
        .create_ticket(
            NewTicket {
                customer: Some("Jane.Doe@Uni.example".into()),
                customer_id: Some(customer.id),
                type_id: Some(incident.id.to_string().parse().unwrap()),
                service_id: Some(service.id.to_string().parse().unwrap()),
                ..new_ticket(&q2, "Mail down", Some(5))
            },
            &agent(),
        )
        .await
        .unwrap();
    let owned = ticket(store, &q2, "Owned 100% by alice").await;
    let owned = store
        .update_ticket(
            owned.id,
            TicketUpdate {
                owner: Some(Some(alice)),
                locked: Some(true),
                responsible: Some(Some(bob)),
                ..update()
            },
            &agent(),
        )
        .await
        .unwrap();
    let closed = ticket(store, &q1, "Done").await;
    close(store, closed.id).await;
    store.watch(plain.id, bob, true).await.unwrap();

    let all = Visibility::All;
    let f = TicketFilter::default;
    let find = |filter: TicketFilter| search(store, filter, all.clone());
    assert_eq!(find(f()).await, [plain.id, urgent.id, owned.id, closed.id]);
    assert_eq!(
        find(TicketFilter {
            queue_ids: vec![q2.id],
            ..f()
        })
        .await,
        [urgent.id, owned.id]
    );
    assert_eq!(
        find(TicketFilter {
            queue_ids: vec![q1.id, q2.id],
            ..f()
        })
        .await
        .len(),
        4
    );
    assert_eq!(
        find(TicketFilter {
            states: vec![TicketState::ClosedSuccessful],
            ..f()
        })
        .await,
        [closed.id]
    );
    assert_eq!(
        find(TicketFilter {
            state_types: vec![StateType::Closed],
            ..f()
        })
        .await,
        [closed.id]
    );
    assert_eq!(
        find(TicketFilter {
            state_types: vec![StateType::New, StateType::Open],
            ..f()
        })
        .await,
        [plain.id, urgent.id, owned.id]
    );
    assert_eq!(
        find(TicketFilter {
            state_types: vec![StateType::Closed],
            states: vec![TicketState::New],
            ..f()
        })
        .await,
        Vec::<TicketId>::new(),
        "a state outside the types matches nothing"
    );
    assert_eq!(
        find(TicketFilter {
            priorities: vec![Priority::new(5).unwrap()],
            ..f()
        })
        .await,
        [urgent.id]
    );
    assert_eq!(
        find(TicketFilter {
            owner_id: Some(alice),
            ..f()
        })
        .await,
        [owned.id]
    );
    assert_eq!(
        find(TicketFilter {
            responsible_id: Some(bob),
            ..f()
        })
        .await,
        [owned.id]
    );
    assert_eq!(
        find(TicketFilter {
            locked: Some(true),
            ..f()
        })
        .await,
        [owned.id]
    );
    assert_eq!(
        find(TicketFilter {
            locked: Some(false),
            ..f()
        })
        .await,
        [plain.id, urgent.id, closed.id]
    );
    assert_eq!(
        find(TicketFilter {
            service_ids: vec![service.id.to_string().parse().unwrap()],
            ..f()
        })
        .await,
        [urgent.id]
    );
    assert_eq!(
        find(TicketFilter {
            type_ids: vec![incident.id.to_string().parse().unwrap()],
            ..f()
        })
        .await,
        [urgent.id]
    );
    assert_eq!(
        find(TicketFilter {
            customer_id: Some(customer.id),
            ..f()
        })
        .await,
        [urgent.id]
    );
    assert_eq!(
        find(TicketFilter {
            company_id: Some(company),
            ..f()
        })
        .await,
        [urgent.id]
    );
    assert_eq!(
        find(TicketFilter {
            customer: Some("jane.doe@UNI".into()),
            ..f()
        })
        .await,
        [urgent.id]
    );
    assert_eq!(
        find(TicketFilter {
            customer: Some("customer@".into()),
            ..f()
        })
        .await
        .len(),
        3
    );
    // LIKE's wildcards are literal characters.
    assert_eq!(
        find(TicketFilter {
            customer: Some("%".into()),
            ..f()
        })
        .await,
        Vec::<TicketId>::new()
    );
    assert_eq!(
        find(TicketFilter {
            customer: Some("_".into()),
            ..f()
        })
        .await,
        Vec::<TicketId>::new()
    );
    assert_eq!(
        find(TicketFilter {
            watched_by: Some(bob),
            ..f()
        })
        .await,
        [plain.id]
    );
    assert_eq!(
        find(TicketFilter {
            watched_by: Some(alice),
            ..f()
        })
        .await,
        Vec::<TicketId>::new()
    );

    // Time ranges are half-open: [from, until).
    let range = |from: Option<Micros>, until: Option<Micros>| TimeRange { from, until };
    assert_eq!(
        find(TicketFilter {
            created: range(Some(urgent.created_at), Some(owned.created_at)),
            ..f()
        })
        .await,
        [urgent.id]
    );
    assert_eq!(
        find(TicketFilter {
            created: range(Some(closed.created_at), None),
            ..f()
        })
        .await,
        [closed.id]
    );
    assert_eq!(
        find(TicketFilter {
            changed: range(None, Some(urgent.updated_at + 1)),
            ..f()
        })
        .await,
        [plain.id, urgent.id]
    );

    // Full text with two filters, paged: the bench's search.
    let again = store
        .create_ticket(
            NewTicket {
                customer_id: Some(customer.id),
                ..new_ticket(&q2, "Mail down again", Some(5))
            },
            &agent(),
        )
        .await
        .unwrap();
    let combined = TicketFilter {
        queue_ids: vec![q2.id],
        priorities: vec![Priority::new(5).unwrap()],
        ..text("mail")
    };
    assert_eq!(find(combined).await, [urgent.id, again.id]);
    // Sorted by priority, newest first within equal keys? No: by id, as the cursor walks.
    let by_priority = store
        .list_tickets(&TicketListQuery {
            filter: TicketFilter {
                queue_ids: vec![q2.id],
                ..f()
            },
            visibility: all.clone(),
            sort: SortField::Priority,
            descending: true,
            page_size: 10,
            page_token: None,
        })
        .await
        .unwrap();
    assert_eq!(by_priority.items.first().map(|t| t.priority.get()), Some(5));
    assert_eq!(by_priority.items.last().map(|t| t.id), Some(owned.id));

    // Malformed filters are the caller's mistake.
    let reversed = TicketFilter {
        created: range(Some(10), Some(5)),
        ..f()
    };
    assert_invalid(
        store
            .list_tickets(&TicketListQuery {
                filter: reversed,
                ..query(&q1, SortField::CreatedAt, false, 10)
            })
            .await,
    );
    let too_many = TicketFilter {
        queue_ids: (0..101).map(|_| QueueId::new()).collect(),
        ..f()
    };
    assert_invalid(
        store
            .list_tickets(&TicketListQuery {
                filter: too_many,
                ..query(&q1, SortField::CreatedAt, false, 10)
            })
            .await,
    );
}

async fn case_search_closing_dates(store: &SqlTicketStore, _db: &Db) {
    let (_, q) = tenant_and_queue(store).await;
    let t = ticket(store, &q, "Close me").await;
    assert_eq!(t.closed_at, None);
    let closed = close(store, t.id).await;
    assert_eq!(closed.closed_at, Some(closed.updated_at));
    // From one closed state to the other keeps the first closing date.
    let still = store
        .update_ticket(
            t.id,
            TicketUpdate {
                state: Some(TicketState::ClosedUnsuccessful),
                ..update()
            },
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(still.closed_at, closed.closed_at);
    let window = TicketFilter {
        closed: TimeRange {
            from: closed.closed_at,
            until: closed.closed_at.map(|c| c + 1),
        },
        ..TicketFilter::default()
    };
    assert_eq!(search(store, window.clone(), Visibility::All).await, [t.id]);
    // Reopening clears it: the ticket is no longer among the closed.
    let reopened = store
        .update_ticket(
            t.id,
            TicketUpdate {
                state: Some(TicketState::Open),
                ..update()
            },
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(reopened.closed_at, None);
    assert_eq!(store.get_ticket(t.id).await.unwrap().closed_at, None);
    assert_eq!(
        search(store, window, Visibility::All).await,
        Vec::<TicketId>::new()
    );
}

async fn case_saved_searches(store: &SqlTicketStore, _db: &Db) {
    let (alice, bob) = (AgentId::new(), AgentId::new());
    let filter = TicketFilter {
        priorities: vec![Priority::new(4).unwrap(), Priority::new(5).unwrap()],
        state_types: vec![StateType::Open],
        ..text("vpn*")
    };
    let saved = store
        .save_search(
            NewSavedSearch::parse(
                alice,
                " Urgent VPN ",
                filter.clone(),
                SortField::Priority,
                true,
            )
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        (saved.name.as_str(), saved.sort, saved.descending),
        ("Urgent VPN", SortField::Priority, true)
    );
    assert_eq!(store.saved_search(saved.id, alice).await.unwrap(), saved);
    assert_eq!(
        store.saved_search(saved.id, alice).await.unwrap().filter,
        filter
    );
    // Names are unique per agent; another agent may use the same name.
    assert!(matches!(
        store
            .save_search(
                NewSavedSearch::parse(
                    alice,
                    "Urgent VPN",
                    TicketFilter::default(),
                    SortField::CreatedAt,
                    false
                )
                .unwrap()
            )
            .await,
        Err(TicketError::AlreadyExists(_))
    ));
    let bobs = store
        .save_search(
            NewSavedSearch::parse(
                bob,
                "Urgent VPN",
                TicketFilter::default(),
                SortField::CreatedAt,
                false,
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let early = store
        .save_search(
            NewSavedSearch::parse(
                alice,
                "A first",
                TicketFilter::default(),
                SortField::UpdatedAt,
                false,
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let names: Vec<String> = store
        .saved_searches(alice)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, ["A first", "Urgent VPN"]);
    // Nobody reads or deletes another agent's searches: they do not exist for them.
    assert_not_found(store.saved_search(bobs.id, alice).await, "saved search");
    assert_not_found(
        store.delete_saved_search(bobs.id, alice).await,
        "saved search",
    );
    store.delete_saved_search(early.id, alice).await.unwrap();
    assert_not_found(
        store.delete_saved_search(early.id, alice).await,
        "saved search",
    );
    assert_eq!(store.saved_searches(alice).await.unwrap(), [saved]);
    assert_eq!(store.saved_searches(bob).await.unwrap(), [bobs]);
}

// ---------------------------------------------------------------------------------------------
// Queue settings and follow-ups
// ---------------------------------------------------------------------------------------------

fn address(a: &str) -> EmailAddress {
    EmailAddress::parse(a).unwrap()
}

async fn case_queue_hierarchy_and_settings(store: &SqlTicketStore, db: &Db) {
    let t = tenant(store, "acme").await;
    let other = tenant(store, "other").await;
    let g = group(store, &t, "second level").await;
    // Names are paths; the parent must exist first.
    let orphan = NewQueue::parse(t.id, "2nd Level::Mail", g.id, false).unwrap();
    assert_invalid(store.create_queue(orphan.clone(), &agent()).await);
    let top = queue_in(store, &t, &g, "2nd Level").await;
    assert_eq!(
        (top.parent_id, top.follow_up, top.version),
        (None, FollowUp::Reopen, 1)
    );
    let mail = store
        .create_queue(
            orphan
                .with(
                    "--\nIT Service Desk\n",
                    FollowUp::NewTicket,
                    vec![address("Mail@Uni.example"), address("exchange@uni.example")],
                )
                .unwrap(),
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(mail.parent_id, Some(top.id));
    assert_eq!(mail.signature, "--\nIT Service Desk");
    assert_eq!(
        mail.addresses,
        [address("mail@uni.example"), address("exchange@uni.example")]
    );
    assert_eq!(store.get_queue(mail.id).await.unwrap(), mail);
    // An address belongs to one queue of the installation, whichever tenant.
    let og = group(store, &other, "staff").await;
    let thief = NewQueue::parse(other.id, "Thief", og.id, false)
        .unwrap()
        .with("", FollowUp::Reopen, vec![address("MAIL@uni.example")])
        .unwrap();
    assert!(matches!(
        store.create_queue(thief, &agent()).await,
        Err(TicketError::AlreadyExists(_))
    ));
    assert_eq!(
        store
            .queue_by_address(&address("mail@uni.example"))
            .await
            .unwrap()
            .map(|q| q.id),
        Some(mail.id)
    );
    assert_eq!(
        store
            .queue_by_address(&address("nobody@uni.example"))
            .await
            .unwrap(),
        None
    );

    // Changing the settings: addresses replaced (the old ones freed), policy, signature, group.
    let g2 = group(store, &t, "first level").await;
    let changed = store
        .update_queue(
            mail.id,
            QueueChange::parse(
                Some(g2.id),
                Some(true),
                Some("Regards"),
                Some(FollowUp::Reject),
                Some(AutomaticMail::FollowUp),
                Some(vec![address("exchange@uni.example")]),
            )
            .unwrap(),
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            changed.group_id,
            changed.portal,
            changed.signature.as_str(),
            changed.follow_up,
            changed.automatic_mail,
            changed.version
        ),
        (
            Some(g2.id),
            true,
            "Regards",
            FollowUp::Reject,
            AutomaticMail::FollowUp,
            2
        )
    );
    assert_eq!(changed.addresses, [address("exchange@uni.example")]);
    assert_eq!(store.get_queue(mail.id).await.unwrap(), changed);
    assert_eq!(
        store
            .queue_by_address(&address("mail@uni.example"))
            .await
            .unwrap(),
        None
    );
    // Another tenant's group is unknown here; nothing changes.
    let foreign = QueueChange::parse(Some(og.id), None, None, None, None, None).unwrap();
    assert_not_found(
        store.update_queue(mail.id, foreign, &agent()).await,
        "group",
    );
    assert_not_found(
        store
            .update_queue(
                QueueId::new(),
                QueueChange::parse(None, Some(true), None, None, None, None).unwrap(),
                &agent(),
            )
            .await,
        "queue",
    );
    assert_eq!(store.get_queue(mail.id).await.unwrap(), changed);
    // The same change twice is no new version.
    let same = QueueChange::parse(None, Some(true), None, None, None, None).unwrap();
    assert_eq!(
        store
            .update_queue(mail.id, same, &agent())
            .await
            .unwrap()
            .version,
        2
    );
    let events = outbox_counts(db).await;
    assert_eq!(events.get("queue.updated"), Some(&1));
}

async fn case_follow_up_policies(store: &SqlTicketStore, db: &Db) {
    let (t, q) = tenant_and_queue(store).await;
    let customer = customer_in(store, &t, None).await;
    let reply = || {
        article(
            SenderType::Customer,
            Channel::Email,
            true,
            "Thanks, but it is broken again.",
        )
    };
    let closed_ticket = |queue: Queue| async move {
        let t = store
            .create_ticket(
                NewTicket::parse(
                    queue.id,
                    "VPN",
                    None,
                    "jane@uni.example",
                    Some(customer.id),
                    None,
                )
                .unwrap(),
                &agent(),
            )
            .await
            .unwrap();
        close(store, t.id).await
    };
    let set_policy = |queue: QueueId, policy: FollowUp| async move {
        store
            .update_queue(
                queue,
                QueueChange::parse(None, None, None, Some(policy), None, None).unwrap(),
                &agent(),
            )
            .await
            .unwrap()
    };
    let customer_actor = Actor::new("customer:jane").unwrap();

    // Reopen (the default): the reply lands on the ticket, which is open again; both recorded.
    let closed = closed_ticket(q.clone()).await;
    let a = store
        .add_article(closed.id, reply(), &customer_actor)
        .await
        .unwrap();
    assert_eq!(a.ticket_id, closed.id);
    let reopened = store.get_ticket(closed.id).await.unwrap();
    assert_eq!(
        (reopened.state, reopened.closed_at, reopened.version),
        (TicketState::Open, None, closed.version + 2)
    );
    let kinds: Vec<String> = store
        .history(closed.id)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.kind)
        .collect();
    assert_eq!(&kinds[kinds.len() - 2..], ["updated", "article_added"]);
    let last_change = &store.history(closed.id).await.unwrap()[kinds.len() - 2];
    assert_eq!(last_change.actor, "customer:jane");
    assert_eq!(last_change.details["state"]["new"], "open");
    assert!(matches!(
        store.verify_history(closed.id).await.unwrap(),
        docket_ticket::chain::Verdict::Intact { .. }
    ));

    // An agent's note on a closed ticket does not reopen it.
    let quiet = closed_ticket(q.clone()).await;
    store
        .add_article(
            quiet.id,
            article(SenderType::Agent, Channel::Note, false, "fyi"),
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(
        store.get_ticket(quiet.id).await.unwrap().state,
        TicketState::ClosedSuccessful
    );

    // A pending ticket opens again on any customer reply.
    let pending = ticket(store, &q, "Waiting").await;
    let later = docket_platform::time::now_micros() + 86_400_000_000;
    store
        .update_ticket(
            pending.id,
            TicketUpdate {
                state: Some(TicketState::PendingReminder),
                pending_until: Some(later),
                ..update()
            },
            &agent(),
        )
        .await
        .unwrap();
    store
        .add_article(pending.id, reply(), &customer_actor)
        .await
        .unwrap();
    let woke = store.get_ticket(pending.id).await.unwrap();
    assert_eq!((woke.state, woke.pending_until), (TicketState::Open, None));

    // Automatic mail (an out-of-office reply) changes no state: a closed ticket keeps it as an
    // internal note (the queue's default), a pending one stays pending.
    let automatic = || NewArticle {
        automatic: true,
        ..reply()
    };
    let closed = closed_ticket(q.clone()).await;
    let a = store
        .add_article(closed.id, automatic(), &customer_actor)
        .await
        .unwrap();
    assert_eq!((a.ticket_id, a.visible_to_customer), (closed.id, false));
    assert_eq!(
        store.get_ticket(closed.id).await.unwrap().state,
        TicketState::ClosedSuccessful
    );
    store
        .update_ticket(
            woke.id,
            TicketUpdate {
                state: Some(TicketState::PendingReminder),
                pending_until: Some(later),
                ..update()
            },
            &agent(),
        )
        .await
        .unwrap();
    let a = store
        .add_article(woke.id, automatic(), &customer_actor)
        .await
        .unwrap();
    assert!(a.visible_to_customer);
    assert_eq!(
        store.get_ticket(woke.id).await.unwrap().state,
        TicketState::PendingReminder
    );
    // A queue that handles automatic mail as replies reopens the closed ticket.
    store
        .update_queue(
            q.id,
            QueueChange::parse(None, None, None, None, Some(AutomaticMail::FollowUp), None)
                .unwrap(),
            &agent(),
        )
        .await
        .unwrap();
    let closed = closed_ticket(q.clone()).await;
    store
        .add_article(closed.id, automatic(), &customer_actor)
        .await
        .unwrap();
    assert_eq!(
        store.get_ticket(closed.id).await.unwrap().state,
        TicketState::Open
    );

    // New ticket: the closed one stays closed; the reply opens a new ticket linked to it.
    set_policy(q.id, FollowUp::NewTicket).await;
    let closed = closed_ticket(q.clone()).await;
    let a = store
        .add_article(closed.id, reply(), &customer_actor)
        .await
        .unwrap();
    assert_ne!(a.ticket_id, closed.id);
    assert_eq!(
        store.get_ticket(closed.id).await.unwrap().state,
        TicketState::ClosedSuccessful
    );
    let fresh = store.get_ticket(a.ticket_id).await.unwrap();
    assert_eq!(
        (
            fresh.state,
            fresh.queue_id,
            fresh.customer_id,
            fresh.title.as_str()
        ),
        (TicketState::New, q.id, Some(customer.id), "VPN")
    );
    assert_eq!(
        store.list_articles(fresh.id, false).await.unwrap(),
        std::slice::from_ref(&a)
    );
    let links = store.links(closed.id).await.unwrap();
    assert_eq!(
        (links.len(), links[0].ticket_id, links[0].relation),
        (1, fresh.id, Relation::Related)
    );

    // Reject: refused, with a reason; nothing is stored.
    set_policy(q.id, FollowUp::Reject).await;
    let closed = closed_ticket(q.clone()).await;
    let before = outbox_counts(db).await;
    match store.add_article(closed.id, reply(), &customer_actor).await {
        Err(TicketError::Conflict(m)) => assert!(m.contains("open a new ticket"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(outbox_counts(db).await, before);
    assert!(
        store
            .list_articles(closed.id, false)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.get_ticket(closed.id).await.unwrap(), closed);

    // Removed tickets take no replies, whatever the policy.
    set_policy(q.id, FollowUp::Reopen).await;
    let gone = ticket(store, &q, "Spam").await;
    store
        .update_ticket(
            gone.id,
            TicketUpdate {
                state: Some(TicketState::Removed),
                ..update()
            },
            &agent(),
        )
        .await
        .unwrap();
    assert!(matches!(
        store.add_article(gone.id, reply(), &customer_actor).await,
        Err(TicketError::Conflict(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// Merge and split
// ---------------------------------------------------------------------------------------------

async fn case_merge(store: &SqlTicketStore, db: &Db) {
    let (t, q) = tenant_and_queue(store).await;
    let customer = customer_in(store, &t, None).await;
    let first = |title: &str, body: &str| {
        let body = body.to_owned();
        let title = title.to_owned();
        let q = q.clone();
        async move {
            store
                .create_ticket(
                    NewTicket::parse(
                        q.id,
                        &title,
                        None,
                        "",
                        Some(customer.id),
                        Some(article(SenderType::Customer, Channel::Email, true, &body)),
                    )
                    .unwrap(),
                    &agent(),
                )
                .await
                .unwrap()
        }
    };
    let target = first("Printer jam", "Tray 2 is stuck.").await;
    let duplicate = first("Printer jam again", "Still stuck, same printer.").await;
    store
        .add_article(
            duplicate.id,
            article(
                SenderType::Agent,
                Channel::Note,
                false,
                "internal: same as the other",
            ),
            &agent(),
        )
        .await
        .unwrap();
    let duplicate = store.get_ticket(duplicate.id).await.unwrap();
    let merged_into = store
        .merge_tickets(duplicate.id, target.id, &agent())
        .await
        .unwrap();

    // The target has every article, in their order, with their authors and visibility.
    let bodies: Vec<(String, bool)> = store
        .list_articles(target.id, false)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.body, a.visible_to_customer))
        .collect();
    assert_eq!(
        bodies,
        [
            ("Tray 2 is stuck.".to_owned(), true),
            ("Still stuck, same printer.".to_owned(), true),
            ("internal: same as the other".to_owned(), false),
        ]
    );
    assert_eq!(
        merged_into.version,
        target.version + 3,
        "two articles and the merge"
    );
    assert_eq!(store.get_ticket(target.id).await.unwrap(), merged_into);
    // The merged ticket keeps its articles and history and points at the target.
    let gone = store.get_ticket(duplicate.id).await.unwrap();
    assert_eq!(
        (gone.state, gone.merged_into, gone.locked),
        (TicketState::Merged, Some(target.id), false)
    );
    assert_eq!(
        store
            .list_articles(duplicate.id, false)
            .await
            .unwrap()
            .len(),
        2
    );
    let kinds: Vec<String> = store
        .history(duplicate.id)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.kind)
        .collect();
    assert_eq!(
        kinds,
        ["created", "article_added", "article_added", "merged"]
    );
    let target_history = store.history(target.id).await.unwrap();
    assert_eq!(target_history.last().unwrap().kind, "merged_in");
    assert_eq!(
        target_history.last().unwrap().details["number"],
        duplicate.number.as_str()
    );
    assert_eq!(
        target_history[2].details["merged_from"],
        duplicate.number.as_str()
    );
    for id in [target.id, duplicate.id] {
        assert!(
            matches!(
                store.verify_history(id).await.unwrap(),
                docket_ticket::chain::Verdict::Intact { .. }
            ),
            "{id}"
        );
    }
    assert_eq!(outbox_counts(db).await.get("ticket.merged"), Some(&2));

    // A customer's reply to the merged ticket lands on the target.
    let reply = store
        .add_article(
            duplicate.id,
            article(SenderType::Customer, Channel::Email, true, "Any news?"),
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(reply.ticket_id, target.id);
    // A merged ticket is not merged again, nor worked on, nor merged into.
    let other = first("Third", "x").await;
    assert!(matches!(
        store.merge_tickets(duplicate.id, other.id, &agent()).await,
        Err(TicketError::Conflict(_))
    ));
    assert!(matches!(
        store.merge_tickets(other.id, duplicate.id, &agent()).await,
        Err(TicketError::Conflict(_))
    ));
    assert!(matches!(
        store
            .update_ticket(
                duplicate.id,
                TicketUpdate {
                    state: Some(TicketState::Open),
                    ..update()
                },
                &agent()
            )
            .await,
        Err(TicketError::Conflict(_))
    ));
    assert_invalid(store.merge_tickets(other.id, other.id, &agent()).await);
    // Another tenant's ticket is unknown here.
    let (_, elsewhere) = {
        let t2 = tenant(store, "elsewhere").await;
        let q2 = queue(store, &t2, "Support").await;
        (t2, ticket(store, &q2, "Foreign").await)
    };
    assert_not_found(
        store.merge_tickets(other.id, elsewhere.id, &agent()).await,
        "ticket",
    );
    assert_not_found(
        store
            .merge_tickets(TicketId::new(), other.id, &agent())
            .await,
        "ticket",
    );
}

async fn case_split_article(store: &SqlTicketStore, _db: &Db) {
    let (t, q) = tenant_and_queue(store).await;
    let network = queue(store, &t, "Network").await;
    let original = ticket(store, &q, "Two problems").await;
    let a = store
        .add_article(
            original.id,
            article(
                SenderType::Customer,
                Channel::Email,
                true,
                "Also: the VPN is down.",
            ),
            &agent(),
        )
        .await
        .unwrap();
    let new = NewTicket::parse(
        network.id,
        "VPN down",
        Some(Priority::new(4).unwrap()),
        "customer@example.com",
        None,
        None,
    )
    .unwrap();
    let split = store
        .split_article(a.id, new.clone(), &agent())
        .await
        .unwrap();
    assert_eq!(
        (split.queue_id, split.title.as_str(), split.priority.get()),
        (network.id, "VPN down", 4)
    );
    let copied = store.list_articles(split.id, false).await.unwrap();
    assert_eq!(copied.len(), 1);
    assert_eq!(
        (copied[0].body.as_str(), copied[0].sender),
        ("Also: the VPN is down.", SenderType::Customer)
    );
    assert_ne!(copied[0].id, a.id);
    // The original keeps its article and shows the new ticket as its child.
    assert_eq!(
        store.list_articles(original.id, false).await.unwrap(),
        std::slice::from_ref(&a)
    );
    let links = store.links(original.id).await.unwrap();
    assert_eq!(
        (links.len(), links[0].ticket_id, links[0].relation),
        (1, split.id, Relation::Child)
    );
    assert_not_found(
        store
            .split_article(ArticleId::new(), new.clone(), &agent())
            .await,
        "article",
    );
    // Into another tenant's queue: unknown.
    let t2 = tenant(store, "other").await;
    let q2 = queue(store, &t2, "Support").await;
    let foreign = NewTicket {
        queue_id: q2.id,
        ..new
    };
    assert_not_found(store.split_article(a.id, foreign, &agent()).await, "queue");
}

// ---------------------------------------------------------------------------------------------
// Tags and custom fields
// ---------------------------------------------------------------------------------------------

fn tags(list: &[&str]) -> Vec<Tag> {
    list.iter().map(|t| Tag::parse(t).unwrap()).collect()
}

async fn case_tags(store: &SqlTicketStore, db: &Db) {
    let (_, q) = tenant_and_queue(store).await;
    let t = ticket(store, &q, "Outage").await;
    let other = ticket(store, &q, "Other").await;
    let after = store
        .tag(t.id, tags(&["VPN", "outage", "vpn"]), vec![], &agent())
        .await
        .unwrap();
    assert_eq!(after, tags(&["outage", "vpn"]));
    assert_eq!(store.tags(t.id).await.unwrap(), after);
    store
        .tag(other.id, tags(&["vpn"]), vec![], &agent())
        .await
        .unwrap();
    let after = store
        .tag(
            t.id,
            tags(&["major"]),
            tags(&["outage", "never-there"]),
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(after, tags(&["major", "vpn"]));
    // Nothing to change: no new version.
    let version = store.get_ticket(t.id).await.unwrap().version;
    store
        .tag(t.id, tags(&["vpn"]), vec![], &agent())
        .await
        .unwrap();
    assert_eq!(store.get_ticket(t.id).await.unwrap().version, version);
    let last = store.history(t.id).await.unwrap().pop().unwrap();
    assert_eq!(last.kind, "tags_changed");
    assert_eq!(last.details["added"], serde_json::json!(["major"]));
    assert_eq!(last.details["removed"], serde_json::json!(["outage"]));
    assert!(matches!(
        store.verify_history(t.id).await.unwrap(),
        docket_ticket::chain::Verdict::Intact { .. }
    ));
    // Searching by tags: tickets carrying all of them.
    let by = |list: &[&str]| TicketFilter {
        tags: tags(list),
        ..TicketFilter::default()
    };
    assert_eq!(
        search(store, by(&["vpn"]), Visibility::All).await,
        [t.id, other.id]
    );
    assert_eq!(
        search(store, by(&["vpn", "major"]), Visibility::All).await,
        [t.id]
    );
    assert_eq!(
        search(store, by(&["outage"]), Visibility::All).await,
        Vec::<TicketId>::new()
    );
    // At most MAX_TAGS.
    let many: Vec<Tag> = (0..MAX_TAGS)
        .map(|i| Tag::parse(&format!("t{i}")).unwrap())
        .collect();
    assert_invalid(store.tag(t.id, many, vec![], &agent()).await);
    assert_not_found(
        store
            .tag(TicketId::new(), tags(&["x"]), vec![], &agent())
            .await,
        "ticket",
    );
    assert_eq!(outbox_counts(db).await.get("ticket.updated"), Some(&3));
}

async fn case_custom_fields(store: &SqlTicketStore, _db: &Db) {
    let (t, q) = tenant_and_queue(store).await;
    let other_queue = queue(store, &t, "Elsewhere").await;
    let define = |key: &str, kind: FieldKind, options: &[&str], queues: Vec<QueueId>| {
        NewField::parse(
            t.id,
            key,
            key,
            kind,
            options.iter().map(|o| o.to_string()).collect(),
            queues,
        )
        .unwrap()
    };
    let room = store
        .define_field(
            define("room", FieldKind::MultiSelect, &["C1", "C2", "C3"], vec![]),
            &agent(),
        )
        .await
        .unwrap();
    let users = store
        .define_field(
            define("affected_users", FieldKind::Number, &[], vec![q.id]),
            &agent(),
        )
        .await
        .unwrap();
    store
        .define_field(define("since", FieldKind::Date, &[], vec![]), &agent())
        .await
        .unwrap();
    assert!(matches!(
        store
            .define_field(define("room", FieldKind::Text, &[], vec![]), &agent())
            .await,
        Err(TicketError::AlreadyExists(_))
    ));
    let t2 = tenant(store, "other").await;
    let foreign_queue = queue(store, &t2, "Theirs").await;
    assert_not_found(
        store
            .define_field(
                define("x", FieldKind::Text, &[], vec![foreign_queue.id]),
                &agent(),
            )
            .await,
        "queue",
    );
    let keys: Vec<String> = store
        .list_fields(t.id)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.key)
        .collect();
    assert_eq!(keys, ["affected_users", "room", "since"]);
    assert_eq!(store.list_fields(t.id).await.unwrap()[1], room);
    assert_eq!(users.queue_ids, [q.id]);

    let ticket_a = ticket(store, &q, "A").await;
    let ticket_b = ticket(store, &q, "B").await;
    let actor = agent();
    let set = |id: TicketId, values: &[(&str, &[&str])]| {
        let values: Vec<(String, Vec<String>)> = values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.iter().map(|x| x.to_string()).collect()))
            .collect();
        store.set_fields(id, values, &actor)
    };
    let after = set(
        ticket_a.id,
        &[
            ("room", &["C2", "C1"]),
            ("affected_users", &["40.0"]),
            ("since", &["2026-11-30"]),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        after,
        [
            FieldValue {
                key: "affected_users".into(),
                values: vec!["40".into()]
            },
            FieldValue {
                key: "room".into(),
                values: vec!["C1".into(), "C2".into()]
            },
            FieldValue {
                key: "since".into(),
                values: vec!["2026-11-30".into()]
            },
        ]
    );
    assert_eq!(store.field_values(ticket_a.id).await.unwrap(), after);
    set(ticket_b.id, &[("room", &["C2"])]).await.unwrap();
    let last = store.history(ticket_a.id).await.unwrap().pop().unwrap();
    assert_eq!(last.kind, "fields_changed");
    assert_eq!(last.details["room"]["new"], serde_json::json!(["C1", "C2"]));
    // Wrong values, unknown fields and fields not shown in the ticket's queue are refused whole.
    let version = store.get_ticket(ticket_a.id).await.unwrap().version;
    assert_invalid(set(ticket_a.id, &[("room", &["C9"])]).await);
    assert_invalid(set(ticket_a.id, &[("since", &["yesterday"])]).await);
    assert_invalid(
        set(
            ticket_a.id,
            &[("room", &["C3"]), ("affected_users", &["many"])],
        )
        .await,
    );
    assert_not_found(
        set(ticket_a.id, &[("colour", &["red"])]).await,
        "custom field",
    );
    let elsewhere = ticket(store, &other_queue, "Elsewhere").await;
    assert_invalid(set(elsewhere.id, &[("affected_users", &["3"])]).await);
    assert_eq!(
        store.get_ticket(ticket_a.id).await.unwrap().version,
        version
    );
    assert_eq!(store.field_values(ticket_a.id).await.unwrap(), after);

    // Searching by field values (a multi select matches any of its options).
    let by = |key: &str, value: &str| TicketFilter {
        fields: vec![FieldMatch {
            key: key.into(),
            value: value.into(),
        }],
        ..TicketFilter::default()
    };
    assert_eq!(
        search(store, by("room", "C2"), Visibility::All).await,
        [ticket_a.id, ticket_b.id]
    );
    assert_eq!(
        search(store, by("room", "C1"), Visibility::All).await,
        [ticket_a.id]
    );
    assert_eq!(
        search(store, by("affected_users", "40"), Visibility::All).await,
        [ticket_a.id]
    );
    // Clearing a field.
    let cleared = set(ticket_a.id, &[("room", &[])]).await.unwrap();
    assert!(cleared.iter().all(|v| v.key != "room"));
    assert_eq!(
        search(store, by("room", "C1"), Visibility::All).await,
        Vec::<TicketId>::new()
    );
}

// ---------------------------------------------------------------------------------------------
// People: the customer's contact, collaborators
// ---------------------------------------------------------------------------------------------

async fn case_customer_contact(store: &SqlTicketStore, _db: &Db) {
    let (t, q) = tenant_and_queue(store).await;
    let jane = CustomerRecord {
        id: CustomerId::new(),
        tenant_id: t.id,
        company_id: Some(CompanyId::new()),
        contact: Contact::parse(
            "Jane Doe",
            "Jane@Chem.Uni.example",
            "+49 30 1234",
            "Chemistry, Building C",
        )
        .unwrap(),
    };
    assert_eq!(jane.contact.email, "jane@chem.uni.example");
    store
        .project_customer(&event_id(), jane.clone())
        .await
        .unwrap();
    // From the customer's record when the ticket opens.
    let theirs = store
        .create_ticket(
            NewTicket::parse(q.id, "VPN", None, "", Some(jane.id), None).unwrap(),
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(theirs.contact, jane.contact);
    assert_eq!(
        store.get_ticket(theirs.id).await.unwrap().contact,
        jane.contact
    );
    // A phone caller without an account: what the agent took down.
    let caller = Contact::parse("Max Mustermann", "", "+49 30 9876", "Library").unwrap();
    let phoned = store
        .create_ticket(
            NewTicket {
                contact: caller.clone(),
                ..new_ticket(&q, "Printer", None)
            },
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(store.get_ticket(phoned.id).await.unwrap().contact, caller);
    // Corrected later, recorded like any change.
    let corrected = Contact {
        phone: "+49 30 9877".into(),
        ..caller.clone()
    };
    let updated = store
        .update_ticket(
            phoned.id,
            TicketUpdate {
                contact: Some(corrected.clone()),
                ..update()
            },
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(updated.contact, corrected);
    let last = store.history(phoned.id).await.unwrap().pop().unwrap();
    assert_eq!(last.details["contact_phone"]["old"], "+49 30 9876");
    assert_eq!(
        last.details.as_object().unwrap().len(),
        1,
        "only what changed"
    );
    // The record changes later: tickets keep what they were opened with.
    let moved = CustomerRecord {
        contact: Contact {
            phone: "+49 30 0000".into(),
            ..jane.contact.clone()
        },
        ..jane.clone()
    };
    store.project_customer(&event_id(), moved).await.unwrap();
    assert_eq!(
        store.get_ticket(theirs.id).await.unwrap().contact,
        jane.contact
    );
    assert!(Contact::parse("x", "not an address", "", "").is_err());
}

async fn case_collaborators(store: &SqlTicketStore, db: &Db) {
    let (t, q) = tenant_and_queue(store).await;
    let ticket_a = ticket(store, &q, "Joint work").await;
    let other = ticket(store, &q, "Alone").await;
    let (sam, sara) = (AgentId::new(), AgentId::new());
    assert!(
        store
            .collaborate(ticket_a.id, sam, true, &agent())
            .await
            .unwrap()
    );
    assert!(
        store
            .collaborate(ticket_a.id, sara, true, &agent())
            .await
            .unwrap()
    );
    assert!(
        !store
            .collaborate(ticket_a.id, sam, true, &agent())
            .await
            .unwrap(),
        "already"
    );
    assert_eq!(store.collaborators(ticket_a.id).await.unwrap(), [sam, sara]);
    let version = store.get_ticket(ticket_a.id).await.unwrap().version;
    assert_eq!(version, ticket_a.version + 2, "each one a change");
    let kinds: Vec<String> = store
        .history(ticket_a.id)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.kind)
        .collect();
    assert_eq!(&kinds[1..], ["collaborator_added", "collaborator_added"]);
    // Their tickets: by filter, by view, and visible to them without a queue permission.
    let by = TicketFilter {
        collaborator: Some(sam),
        ..TicketFilter::default()
    };
    assert_eq!(search(store, by, Visibility::All).await, [ticket_a.id]);
    let view = View::Collaborating.filter(sara, vec![]);
    assert_eq!(search(store, view, Visibility::All).await, [ticket_a.id]);
    let sams_view = Visibility::Agent {
        groups: vec![],
        owners: vec![],
        collaborator: Some((vec![t.id], sam)),
    };
    assert_eq!(
        search(store, TicketFilter::default(), sams_view).await,
        [ticket_a.id]
    );
    let other_tenant = Visibility::Agent {
        groups: vec![],
        owners: vec![],
        collaborator: Some((vec![TenantId::new()], sam)),
    };
    assert_eq!(
        search(store, TicketFilter::default(), other_tenant).await,
        Vec::<TicketId>::new()
    );
    assert!(
        store
            .collaborate(ticket_a.id, sam, false, &agent())
            .await
            .unwrap()
    );
    assert!(
        !store
            .collaborate(other.id, sam, false, &agent())
            .await
            .unwrap()
    );
    assert_eq!(store.collaborators(ticket_a.id).await.unwrap(), [sara]);
    assert_not_found(
        store
            .collaborate(TicketId::new(), sam, true, &agent())
            .await,
        "ticket",
    );
    assert!(matches!(
        store.verify_history(ticket_a.id).await.unwrap(),
        docket_ticket::chain::Verdict::Intact { .. }
    ));
    let events = envelopes(db).await;
    assert_eq!(
        events
            .iter()
            .filter(|e| e.event_type == "ticket.updated")
            .count(),
        3
    );
}

// ---------------------------------------------------------------------------------------------
// Attachments and time accounting
// ---------------------------------------------------------------------------------------------

const PNG: [u8; 16] = [
    0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R',
];

async fn case_attachments_and_time(store: &SqlTicketStore, db: &Db) {
    let (t, q) = tenant_and_queue(store).await;
    let customer = customer_in(store, &t, None).await;
    let log = NewAttachment::parse(
        "vpn.log",
        "text/plain",
        b"tunnel handshake failed: cipher mismatch".to_vec(),
    )
    .unwrap();
    let shot = NewAttachment::parse("screen.png", "application/pdf", PNG.to_vec()).unwrap();
    let first = article(SenderType::Customer, Channel::Email, true, "See the log.")
        .with_attachments(vec![log.clone(), shot.clone()])
        .unwrap();
    let created = store
        .create_ticket(
            NewTicket {
                customer_id: Some(customer.id),
                article: Some(first),
                ..new_ticket(&q, "VPN", None)
            },
            &agent(),
        )
        .await
        .unwrap();
    let articles = store.list_articles(created.id, false).await.unwrap();
    let files: Vec<(&str, &str, u64)> = articles[0]
        .attachments
        .iter()
        .map(|a| (a.filename.as_str(), a.content_type.as_str(), a.size))
        .collect();
    assert_eq!(
        files,
        [
            ("vpn.log", "text/plain; charset=utf-8", 40),
            ("screen.png", "image/png", 16)
        ]
    );
    assert_eq!(articles[0].attachments[1].declared_type, "application/pdf");
    let (ticket_id, article_id, meta, bytes) = store
        .attachment(articles[0].attachments[1].id)
        .await
        .unwrap();
    assert_eq!(
        (
            ticket_id,
            article_id,
            meta.sha256.as_str(),
            bytes.as_slice()
        ),
        (created.id, articles[0].id, shot.sha256().as_str(), &PNG[..])
    );
    assert_eq!(
        store.get_article(articles[0].id).await.unwrap().attachments,
        articles[0].attachments
    );
    // The history records each attachment's hash.
    let entry = &store.history(created.id).await.unwrap()[1];
    assert_eq!(entry.details["attachments"][0]["sha256"], log.sha256());

    // An agent's internal note with the same log and time accounted: the bytes are stored once.
    let note = article(
        SenderType::Agent,
        Channel::Note,
        false,
        "Looked into it; see the keytab dump.",
    )
    .with_attachments(vec![
        log.clone(),
        NewAttachment::parse("keytab.txt", "", b"kerberos principal dump".to_vec()).unwrap(),
    ])
    .unwrap()
    .with_time(25)
    .unwrap();
    let stored = store.add_article(created.id, note, &agent()).await.unwrap();
    assert_eq!(stored.time_minutes, 25);
    store
        .add_article(
            created.id,
            article(SenderType::Agent, Channel::Note, false, "more")
                .with_time(5)
                .unwrap(),
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(store.get_ticket(created.id).await.unwrap().time_minutes, 30);
    let blobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM attachment_blobs")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(blobs, 3, "the log once");

    // Full text sees text attachments; customers only those of articles they may read.
    let all = Visibility::All;
    assert_eq!(
        search(store, text("cipher mismatch"), all.clone()).await,
        [created.id]
    );
    assert_eq!(
        search(store, text("principal"), all.clone()).await,
        [created.id]
    );
    let theirs = Visibility::Customer {
        tenant_id: t.id,
        customer_id: customer.id,
        company_id: None,
    };
    assert_eq!(
        search(store, text("cipher"), theirs.clone()).await,
        [created.id]
    );
    assert_eq!(
        search(store, text("principal"), theirs).await,
        Vec::<TicketId>::new()
    );

    // Merging and splitting carry attachments along (their bytes are not copied).
    let other = store
        .create_ticket(
            NewTicket {
                article: Some(article(SenderType::Customer, Channel::Email, true, "same")),
                ..new_ticket(&q, "Dup", None)
            },
            &agent(),
        )
        .await
        .unwrap();
    store
        .merge_tickets(created.id, other.id, &agent())
        .await
        .unwrap();
    let merged: Vec<usize> = store
        .list_articles(other.id, false)
        .await
        .unwrap()
        .iter()
        .map(|a| a.attachments.len())
        .collect();
    assert_eq!(
        merged,
        [2, 2, 0, 0],
        "the copies in their order, then the target's own"
    );
    assert_eq!(
        store.get_ticket(other.id).await.unwrap().time_minutes,
        0,
        "time stays with the original"
    );
    let split = store
        .split_article(articles[0].id, new_ticket(&q, "Split", None), &agent())
        .await
        .unwrap();
    assert_eq!(
        store.list_articles(split.id, false).await.unwrap()[0]
            .attachments
            .len(),
        2
    );
    let blobs_after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM attachment_blobs")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(blobs_after, 3);
    for id in [created.id, other.id, split.id] {
        assert!(matches!(
            store.verify_history(id).await.unwrap(),
            docket_ticket::chain::Verdict::Intact { .. }
        ));
    }

    // Bytes changed behind the service's back are refused, not served.
    sqlx::query("UPDATE attachment_blobs SET content = $1 WHERE sha256 = $2")
        .bind(b"tampered".as_slice())
        .bind(shot.sha256())
        .execute(db.pool())
        .await
        .unwrap();
    assert!(matches!(
        store.attachment(articles[0].attachments[1].id).await,
        Err(TicketError::Corrupt(_))
    ));
    assert_not_found(store.attachment(AttachmentId::new()).await, "attachment");
}

// ---------------------------------------------------------------------------------------------
// Templates
// ---------------------------------------------------------------------------------------------

async fn case_templates(store: &SqlTicketStore, _db: &Db) {
    let (t, q) = tenant_and_queue(store).await;
    let other = queue(store, &t, "Network").await;
    let new = |name: &str, kind, queues: Vec<QueueId>| {
        NewTemplate::parse(
            t.id,
            name,
            kind,
            "Re: {{ticket.title}}",
            "Dear {{customer.name}},\n\nyour request {{ticket.number}} is in {{queue.name}}.",
            queues,
        )
        .unwrap()
    };
    let everywhere = store
        .create_template(new("Received", TemplateKind::Acceptance, vec![]), &agent())
        .await
        .unwrap();
    let network_only = store
        .create_template(
            new("Network answer", TemplateKind::Answer, vec![other.id]),
            &agent(),
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_template(new("Received", TemplateKind::Note, vec![]), &agent())
            .await,
        Err(TicketError::AlreadyExists(_))
    ));
    let t2 = tenant(store, "other").await;
    let theirs = queue(store, &t2, "Theirs").await;
    assert_not_found(
        store
            .create_template(new("x", TemplateKind::Note, vec![theirs.id]), &agent())
            .await,
        "queue",
    );
    let names = |list: Vec<Template>| list.into_iter().map(|t| t.name).collect::<Vec<_>>();
    assert_eq!(
        names(store.list_templates(t.id, None).await.unwrap()),
        ["Network answer", "Received"]
    );
    assert_eq!(
        names(store.list_templates(t.id, Some(q.id)).await.unwrap()),
        ["Received"]
    );
    assert_eq!(
        names(store.list_templates(t.id, Some(other.id)).await.unwrap()),
        ["Network answer", "Received"]
    );
    assert_eq!(
        store.get_template(network_only.id).await.unwrap(),
        network_only
    );

    // Filled in for a ticket; answers end with the queue's signature.
    store
        .update_queue(
            other.id,
            QueueChange::parse(None, None, Some("-- \nNetwork team"), None, None, None).unwrap(),
            &agent(),
        )
        .await
        .unwrap();
    let queue_now = store.get_queue(other.id).await.unwrap();
    let ticket = store
        .create_ticket(
            NewTicket {
                contact: Contact::parse("Jane Doe", "", "", "").unwrap(),
                ..new_ticket(&other, "VPN down", None)
            },
            &agent(),
        )
        .await
        .unwrap();
    let (subject, body) = network_only.render(&ticket, &queue_now, &agent());
    assert_eq!(subject, "Re: VPN down");
    assert_eq!(
        body,
        format!(
            "Dear Jane Doe,\n\nyour request {} is in Network.\n\n-- \nNetwork team",
            ticket.number
        )
    );
    let (_, ack) = everywhere.render(&ticket, &queue_now, &agent());
    assert!(!ack.contains("Network team"), "only answers are signed");
    store
        .delete_template(everywhere.id, &agent())
        .await
        .unwrap();
    assert_not_found(
        store.delete_template(everywhere.id, &agent()).await,
        "template",
    );
    assert_eq!(
        names(store.list_templates(t.id, None).await.unwrap()),
        ["Network answer"]
    );

    // Changed: a new name, text, language and queues; the id, tenant and creation stay.
    let changed = NewTemplate::parse(
        t2.id,
        "Network answer (VPN)",
        TemplateKind::Answer,
        "VPN: {{ticket.title}}",
        "Hello {{customer.name}}, the VPN works again.",
        vec![q.id, other.id],
    )
    .unwrap()
    .in_language("en")
    .unwrap();
    let updated = store
        .update_template(network_only.id, changed.clone(), &agent())
        .await
        .unwrap();
    assert_eq!(
        updated,
        Template {
            name: "Network answer (VPN)".to_owned(),
            subject: "VPN: {{ticket.title}}".to_owned(),
            body: "Hello {{customer.name}}, the VPN works again.".to_owned(),
            queue_ids: vec![q.id, other.id],
            language: "en".to_owned(),
            ..network_only.clone()
        },
        "the tenant is the template's, whatever the change says"
    );
    assert_eq!(store.get_template(network_only.id).await.unwrap(), updated);
    assert_eq!(
        names(store.list_templates(t.id, Some(q.id)).await.unwrap()),
        ["Network answer (VPN)"]
    );
    // Another tenant's queue, a name taken, an unknown template: refused, nothing changed.
    let taken = store
        .create_template(new("Taken", TemplateKind::Note, vec![]), &agent())
        .await
        .unwrap();
    assert_not_found(
        store
            .update_template(
                network_only.id,
                NewTemplate {
                    queue_ids: vec![theirs.id],
                    ..changed.clone()
                },
                &agent(),
            )
            .await,
        "queue",
    );
    assert!(matches!(
        store
            .update_template(
                network_only.id,
                NewTemplate {
                    name: taken.name.clone(),
                    ..changed.clone()
                },
                &agent(),
            )
            .await,
        Err(TicketError::AlreadyExists(_))
    ));
    assert_not_found(
        store
            .update_template(TemplateId::new(), changed, &agent())
            .await,
        "template",
    );
    assert_eq!(store.get_template(network_only.id).await.unwrap(), updated);
}

// ---------------------------------------------------------------------------------------------
// Retention
// ---------------------------------------------------------------------------------------------

const DAY: i64 = 86_400_000_000;

async fn case_retention(store: &SqlTicketStore, db: &Db) {
    let (t, q) = tenant_and_queue(store).await;
    let other = tenant(store, "keeper").await;
    let other_queue = queue(store, &other, "Support").await;
    assert_eq!(
        store.retention_policy(t.id).await.unwrap(),
        RetentionPolicy::DEFAULT
    );
    store
        .set_retention_policy(
            other.id,
            RetentionPolicy::parse(365 * 5, RetentionAction::Anonymise).unwrap(),
            &agent(),
        )
        .await
        .unwrap();
    let closed = |queue: Queue, title: &'static str| async move {
        let with_file = article(
            SenderType::Customer,
            Channel::Email,
            true,
            "my phone is +49 30 1234",
        )
        .with_attachments(vec![
            NewAttachment::parse(
                "id.txt",
                "text/plain",
                format!("passport of {title}").into_bytes(),
            )
            .unwrap(),
        ])
        .unwrap();
        let t = store
            .create_ticket(
                NewTicket {
                    article: Some(with_file),
                    contact: Contact::parse("Jane Doe", "jane@uni.example", "", "").unwrap(),
                    ..new_ticket(&queue, title, None)
                },
                &agent(),
            )
            .await
            .unwrap();
        store
            .tag(t.id, tags(&["vpn"]), vec![], &agent())
            .await
            .unwrap();
        close(store, t.id).await
    };
    let old = closed(q.clone(), "Old").await;
    let held = closed(q.clone(), "Held").await;
    let objected = closed(q.clone(), "Objected").await;
    let foreign = closed(other_queue.clone(), "Foreign").await;
    let open = ticket(store, &q, "Still open").await;
    store
        .set_retention_hold(held.id, Some(true), None, &agent())
        .await
        .unwrap();
    let objected = store
        .set_retention_hold(objected.id, None, Some(true), &agent())
        .await
        .unwrap();
    assert!(objected.retention_objection && !objected.legal_hold);
    assert_eq!(
        store
            .history(objected.id)
            .await
            .unwrap()
            .last()
            .unwrap()
            .kind,
        "retention_hold"
    );

    // Within two years nothing is due; three years on, the default tenant's closed tickets are.
    let now = old.closed_at.unwrap();
    let early = store
        .run_retention(now + 700 * DAY, false, &Actor::system())
        .await
        .unwrap();
    assert_eq!(
        (early.deleted.len(), early.anonymised.len(), early.kept),
        (0, 0, 0)
    );
    let dry = store
        .run_retention(now + 3 * 365 * DAY, true, &Actor::system())
        .await
        .unwrap();
    assert_eq!(
        (dry.deleted.clone(), dry.kept, dry.dry_run),
        (vec![old.number.to_string()], 2, true)
    );
    assert!(
        store.get_ticket(old.id).await.is_ok(),
        "a dry run changes nothing"
    );
    let run = store
        .run_retention(now + 3 * 365 * DAY, false, &Actor::system())
        .await
        .unwrap();
    assert_eq!(run.deleted, [old.number.to_string()]);
    assert_eq!(run.kept, 2, "the legal hold and the objection");
    assert_not_found(store.get_ticket(old.id).await, "ticket");
    for table in ["articles", "attachments", "ticket_history", "ticket_tags"] {
        let left: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {table} WHERE ticket_id = $1"
        )))
        .bind(old.id)
        .fetch_one(db.pool())
        .await
        .unwrap();
        assert_eq!(left, 0, "{table}");
    }
    for kept in [held.id, objected.id, open.id, foreign.id] {
        assert!(store.get_ticket(kept).await.is_ok());
    }
    // The blobs nobody refers to any more are gone; the others stay.
    let blobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM attachment_blobs")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(blobs, 3);
    // Full text no longer finds it.
    assert_eq!(
        search(store, text("old"), Visibility::All).await,
        Vec::<TicketId>::new()
    );

    // Six years on the other tenant's ticket is anonymised: the statistics stay, nobody's data.
    let later = store
        .run_retention(now + 6 * 365 * DAY, false, &Actor::system())
        .await
        .unwrap();
    assert_eq!(later.anonymised, [foreign.number.to_string()]);
    let anonymised = store.get_ticket(foreign.id).await.unwrap();
    assert_eq!(
        (
            anonymised.title.as_str(),
            anonymised.contact.clone(),
            anonymised.state,
            anonymised.number.clone()
        ),
        (
            "Anonymised",
            Contact::default(),
            TicketState::ClosedSuccessful,
            foreign.number.clone()
        )
    );
    assert!(
        store
            .list_articles(foreign.id, false)
            .await
            .unwrap()
            .is_empty()
    );
    let history = store.history(foreign.id).await.unwrap();
    assert_eq!(
        history.iter().map(|h| h.kind.as_str()).collect::<Vec<_>>(),
        ["anonymised"]
    );
    assert!(matches!(
        store.verify_history(foreign.id).await.unwrap(),
        docket_ticket::chain::Verdict::Intact { .. }
    ));
    // Not again: anonymised tickets are done.
    let again = store
        .run_retention(now + 7 * 365 * DAY, false, &Actor::system())
        .await
        .unwrap();
    assert!(again.anonymised.is_empty());
    // Every run that did something is logged with what it removed, newest first.
    let runs = store.retention_runs(10).await.unwrap();
    assert_eq!(runs.len(), 4, "not the dry run");
    assert_eq!(runs[1].anonymised, [foreign.number.to_string()]);
    assert_eq!(runs[2].deleted, [old.number.to_string()]);
    // History of other tickets stays append-only: the gate opens for a run only.
    assert!(
        sqlx::query("DELETE FROM ticket_history WHERE ticket_id = $1")
            .bind(held.id)
            .execute(db.pool())
            .await
            .is_err()
    );
    let events = outbox_counts(db).await;
    assert_eq!(
        (
            events.get("ticket.deleted"),
            events.get("ticket.anonymised")
        ),
        (Some(&1), Some(&1))
    );
    assert_not_found(
        store
            .set_retention_policy(TenantId::new(), RetentionPolicy::DEFAULT, &agent())
            .await,
        "tenant",
    );
}

async fn case_tenant_states(store: &SqlTicketStore, _db: &Db) {
    let (t, q) = tenant_and_queue(store).await;
    let waiting = store
        .define_state(
            t.id,
            "waiting for the customer",
            TicketState::PendingReminder,
            &agent(),
        )
        .await
        .unwrap();
    store
        .define_state(
            t.id,
            "closed with workaround",
            TicketState::ClosedSuccessful,
            &agent(),
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .define_state(
                t.id,
                "waiting for the customer",
                TicketState::Open,
                &agent()
            )
            .await,
        Err(TicketError::AlreadyExists(_))
    ));
    assert_invalid(
        store
            .define_state(t.id, "open", TicketState::Open, &agent())
            .await,
    );
    assert_invalid(
        store
            .define_state(t.id, "joined", TicketState::Merged, &agent())
            .await,
    );
    let names: Vec<String> = store
        .custom_states(t.id)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(
        names,
        ["closed with workaround", "waiting for the customer"]
    );
    assert_eq!(waiting.base.state_type(), StateType::PendingReminder);

    // A ticket in a tenant's state behaves as its base: a pending date is needed, closing dates it.
    let ticket = ticket(store, &q, "VPN").await;
    let set = |name: &str| TicketUpdate {
        custom_state: Some(name.into()),
        ..update()
    };
    assert_invalid(
        store
            .update_ticket(ticket.id, set("waiting for the customer"), &agent())
            .await,
    );
    let due = docket_platform::time::now_micros() + DAY;
    let waiting_now = store
        .update_ticket(
            ticket.id,
            TicketUpdate {
                pending_until: Some(due),
                ..set("waiting for the customer")
            },
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(
        (
            waiting_now.state,
            waiting_now.custom_state.as_deref(),
            waiting_now.pending_until
        ),
        (
            TicketState::PendingReminder,
            Some("waiting for the customer"),
            Some(due)
        )
    );
    let closed = store
        .update_ticket(ticket.id, set("closed with workaround"), &agent())
        .await
        .unwrap();
    assert_eq!(
        (
            closed.state,
            closed.closed_at.is_some(),
            closed.pending_until
        ),
        (TicketState::ClosedSuccessful, true, None)
    );
    let last = store.history(ticket.id).await.unwrap().pop().unwrap();
    assert_eq!(
        last.details["custom_state"]["new"],
        "closed with workaround"
    );
    let by = TicketFilter {
        custom_states: vec!["closed with workaround".into()],
        ..TicketFilter::default()
    };
    assert_eq!(search(store, by, Visibility::All).await, [ticket.id]);
    // A built-in state leaves the tenant's.
    let reopened = store
        .update_ticket(
            ticket.id,
            TicketUpdate {
                state: Some(TicketState::Open),
                ..update()
            },
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(reopened.custom_state, None);
    // Another tenant's states are unknown here; both at once is a mistake.
    let t2 = tenant(store, "other").await;
    store
        .define_state(t2.id, "theirs", TicketState::Open, &agent())
        .await
        .unwrap();
    assert_not_found(
        store
            .update_ticket(ticket.id, set("theirs"), &agent())
            .await,
        "state",
    );
    assert_invalid(
        store
            .update_ticket(
                ticket.id,
                TicketUpdate {
                    state: Some(TicketState::New),
                    ..set("closed with workaround")
                },
                &agent(),
            )
            .await,
    );
}

/// What the mail channel relies on: idempotency keys make a retried create or append return what
/// the first made; an article's delivery state is recorded without changing the ticket; a ticket
/// for a known customer's address is theirs; templates carry a language.
async fn case_mail_channel(store: &SqlTicketStore, db: &Db) {
    let (t, q) = tenant_and_queue(store).await;
    let keyed = |key: &str, body: &str| {
        article(SenderType::Customer, Channel::Email, true, body)
            .with_idempotency_key(key)
            .unwrap()
    };
    let first = store
        .create_ticket(
            NewTicket {
                article: Some(keyed("mail:m1", "Printer on fire")),
                ..new_ticket(&q, "Printer", None)
            },
            &agent(),
        )
        .await
        .unwrap();
    let again = store
        .create_ticket(
            NewTicket {
                article: Some(keyed("mail:m1", "Printer on fire")),
                ..new_ticket(&q, "Printer", None)
            },
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(again.id, first.id, "the same key: the same ticket");
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tickets")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(n, 1);
    let reply = store
        .add_article(first.id, keyed("mail:m2", "It is out."), &agent())
        .await
        .unwrap();
    let replayed = store
        .add_article(first.id, keyed("mail:m2", "It is out."), &agent())
        .await
        .unwrap();
    assert_eq!(replayed.id, reply.id);
    assert_eq!(store.list_articles(first.id, false).await.unwrap().len(), 2);
    let events = outbox_counts(db).await;
    assert_eq!(events.get("ticket.article.added"), Some(&2), "{events:?}");
    // Too long a key is refused; a blank one is no key.
    assert!(
        article(SenderType::Customer, Channel::Email, true, "x")
            .with_idempotency_key(&"k".repeat(201))
            .is_err()
    );
    assert_eq!(
        article(SenderType::Customer, Channel::Email, true, "x")
            .with_idempotency_key("  ")
            .unwrap()
            .idempotency_key,
        None
    );

    // The delivery state of an answer sent by mail, on the article only.
    let answer = store
        .add_article(
            first.id,
            article(SenderType::Agent, Channel::Email, true, "A new one comes."),
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(answer.delivery, None);
    let version = store.get_ticket(first.id).await.unwrap().version;
    for (state, detail) in [
        (DeliveryState::Queued, ""),
        (DeliveryState::Retrying, "421 try later"),
        (DeliveryState::Sent, "250 ok"),
    ] {
        let recorded = store
            .record_delivery(
                answer.id,
                Delivery {
                    state,
                    attempts: 1,
                    detail: detail.into(),
                    message_id: "a@desk".into(),
                    to: vec!["jane@example.com".into()],
                    updated_at: 1,
                },
                &agent(),
            )
            .await
            .unwrap();
        assert_eq!(recorded.delivery.as_ref().map(|d| d.state), Some(state));
    }
    let listed = store.list_articles(first.id, false).await.unwrap();
    let sent = listed.iter().find(|a| a.id == answer.id).unwrap();
    assert_eq!(sent.delivery.as_ref().unwrap().detail, "250 ok");
    assert_eq!(
        store.get_ticket(first.id).await.unwrap().version,
        version,
        "no change of the ticket"
    );
    assert_not_found(
        store
            .record_delivery(ArticleId::new(), sent.delivery.clone().unwrap(), &agent())
            .await,
        "article",
    );

    // Mail from a known customer's address is theirs.
    let jane = CustomerRecord {
        id: CustomerId::new(),
        tenant_id: t.id,
        company_id: None,
        contact: Contact::parse("Jane Doe", "jane@example.com", "", "").unwrap(),
    };
    store
        .project_customer(&event_id(), jane.clone())
        .await
        .unwrap();
    let mailed = store
        .create_ticket(
            NewTicket {
                contact: Contact::parse("", "Jane@Example.com", "", "").unwrap(),
                ..new_ticket(&q, "VPN", None)
            },
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(mailed.customer_id, Some(jane.id));
    let stranger = store
        .create_ticket(
            NewTicket {
                contact: Contact::parse("", "max@example.com", "", "").unwrap(),
                ..new_ticket(&q, "Wifi", None)
            },
            &agent(),
        )
        .await
        .unwrap();
    assert_eq!(stranger.customer_id, None);

    // Templates in a language.
    let german = NewTemplate::parse(
        t.id,
        "Eingang",
        TemplateKind::Acceptance,
        "",
        "Danke.",
        vec![],
    )
    .unwrap()
    .in_language("DE")
    .unwrap();
    assert_eq!(german.language, "de");
    let stored = store.create_template(german, &agent()).await.unwrap();
    assert_eq!(store.get_template(stored.id).await.unwrap().language, "de");
    assert!(
        NewTemplate::parse(t.id, "x", TemplateKind::Acceptance, "", "y", vec![])
            .unwrap()
            .in_language("deutsch")
            .is_err()
    );
    // The queue an address belongs to.
    let addressed = store
        .queue_by_address(&EmailAddress::parse("nobody@example.com").unwrap())
        .await
        .unwrap();
    assert!(addressed.is_none());
}

/// The desk's queue overview: per queue, new / open / pending and those past their target date;
/// closed tickets and other tenants do not count.
/// The due events in the outbox: (type, ticket id, due at).
async fn due_events(db: &Db) -> Vec<(String, String, i64)> {
    envelopes(db)
        .await
        .into_iter()
        .filter(|e| e.event_type == "ticket.reminder_reached" || e.event_type == "ticket.escalated")
        .map(|e| {
            let due = ev::TicketDue::decode(e.payload.as_slice()).unwrap();
            assert_eq!(due.ticket_id, e.aggregate_id);
            (e.event_type, due.ticket_id, due.due_at_us)
        })
        .collect()
}

async fn case_due_reminders_and_escalations(store: &SqlTicketStore, db: &Db) {
    let (_, support) = tenant_and_queue(store).await;
    let now = docket_platform::time::now_micros();
    let hour = 3_600_000_000;
    let pend = |until: i64| TicketUpdate {
        state: Some(TicketState::PendingReminder),
        pending_until: Some(until),
        ..update()
    };

    // A reminder an hour from now, a ticket an hour late, a late one that is closed, and one
    // with its target date tomorrow.
    let waiting = ticket(store, &support, "waiting").await;
    store
        .update_ticket(waiting.id, pend(now + hour), &agent())
        .await
        .unwrap();
    let late = ticket(store, &support, "late").await;
    let target = |at: i64| TicketUpdate {
        target_at: Some(Some(at)),
        ..update()
    };
    store
        .update_ticket(late.id, target(now - hour), &agent())
        .await
        .unwrap();
    let closed = ticket(store, &support, "late but closed").await;
    store
        .update_ticket(closed.id, target(now - hour), &agent())
        .await
        .unwrap();
    close(store, closed.id).await;
    let planned = ticket(store, &support, "planned").await;
    store
        .update_ticket(planned.id, target(now + 24 * hour), &agent())
        .await
        .unwrap();

    // Now: only the late one is told, once.
    let due = store.announce_due(now, 100).await.unwrap();
    assert_eq!(
        due,
        Due {
            reminders: 0,
            escalations: 1
        }
    );
    assert_eq!(
        due_events(db).await,
        vec![(
            "ticket.escalated".to_owned(),
            late.id.to_string(),
            now - hour
        )]
    );
    assert_eq!(store.announce_due(now, 100).await.unwrap(), Due::default());

    // Two hours on: the reminder's time has come (it is not escalated: it has no target date).
    let due = store.announce_due(now + 2 * hour, 100).await.unwrap();
    assert_eq!(
        due,
        Due {
            reminders: 1,
            escalations: 0
        }
    );
    assert_eq!(
        due_events(db).await.last().unwrap(),
        &(
            "ticket.reminder_reached".to_owned(),
            waiting.id.to_string(),
            now + hour
        )
    );
    assert_eq!(
        store.announce_due(now + 2 * hour, 100).await.unwrap(),
        Due::default()
    );

    // A new pending time and a new target date are told again when they come; a ticket taken
    // off pending is not reminded.
    store
        .update_ticket(waiting.id, pend(now + 3 * hour), &agent())
        .await
        .unwrap();
    store
        .update_ticket(late.id, target(now + 3 * hour), &agent())
        .await
        .unwrap();
    let reopened = ticket(store, &support, "reopened").await;
    store
        .update_ticket(reopened.id, pend(now + hour), &agent())
        .await
        .unwrap();
    store
        .update_ticket(
            reopened.id,
            TicketUpdate {
                state: Some(TicketState::Open),
                ..update()
            },
            &agent(),
        )
        .await
        .unwrap();
    let due = store.announce_due(now + 4 * hour, 100).await.unwrap();
    assert_eq!(
        due,
        Due {
            reminders: 1,
            escalations: 1
        }
    );
    // A batch limit: the planned ticket and another one, one at a time.
    let another = ticket(store, &support, "another").await;
    store
        .update_ticket(another.id, target(now + 25 * hour), &agent())
        .await
        .unwrap();
    let due = store.announce_due(now + 48 * hour, 1).await.unwrap();
    assert_eq!(due.escalations, 1);
    let due = store.announce_due(now + 48 * hour, 1).await.unwrap();
    assert_eq!(due.escalations, 1);
    assert_eq!(
        store.announce_due(now + 48 * hour, 1).await.unwrap(),
        Due::default()
    );
    let told: Vec<String> = due_events(db)
        .await
        .into_iter()
        .map(|(_, t, _)| t)
        .collect();
    assert!(!told.contains(&reopened.id.to_string()), "{told:?}");
    assert!(!told.contains(&closed.id.to_string()), "{told:?}");
    assert_eq!(told.len(), 6, "{told:?}");
}

async fn case_queue_counts(store: &SqlTicketStore, _db: &Db) {
    let (t, support) = tenant_and_queue(store).await;
    let raw = queue(store, &t, "Raw").await;
    let other = tenant(store, "other").await;
    let elsewhere = queue(store, &other, "Support").await;
    let now = docket_platform::time::now_micros();
    let hour = 3_600_000_000;

    let fresh = ticket(store, &support, "new one").await;
    let second = ticket(store, &support, "new two").await;
    let opened = ticket(store, &support, "opened").await;
    let open = TicketUpdate {
        state: Some(TicketState::Open),
        target_at: Some(Some(now - hour)),
        ..update()
    };
    store
        .update_ticket(opened.id, open, &agent())
        .await
        .unwrap();
    let waiting = ticket(store, &raw, "waiting").await;
    let pending = TicketUpdate {
        state: Some(TicketState::PendingReminder),
        pending_until: Some(now + hour),
        target_at: Some(Some(now + hour)),
        ..update()
    };
    store
        .update_ticket(waiting.id, pending, &agent())
        .await
        .unwrap();
    let done = ticket(store, &raw, "done").await;
    close(store, done.id).await;
    let late_but_closed = ticket(store, &raw, "late but closed").await;
    let late = TicketUpdate {
        target_at: Some(Some(now - hour)),
        ..update()
    };
    store
        .update_ticket(late_but_closed.id, late, &agent())
        .await
        .unwrap();
    close(store, late_but_closed.id).await;
    ticket(store, &elsewhere, "another tenant's").await;

    let mut counts = store.queue_counts(t.id, now).await.unwrap();
    counts.sort_by_key(|c| c.queue_id != support.id);
    assert_eq!(
        counts,
        vec![
            QueueCounts {
                queue_id: support.id,
                new: 2,
                open: 1,
                pending: 0,
                escalated: 1,
            },
            QueueCounts {
                queue_id: raw.id,
                new: 0,
                open: 0,
                pending: 1,
                escalated: 0,
            },
        ]
    );
    // Closing the new one takes it out of the count; moving the open one moves its count and
    // its escalation.
    close(store, fresh.id).await;
    let moving = TicketUpdate {
        queue_id: Some(raw.id),
        ..update()
    };
    store
        .update_ticket(opened.id, moving, &agent())
        .await
        .unwrap();
    let counts = store.queue_counts(t.id, now).await.unwrap();
    let of = |q: QueueId| {
        counts
            .iter()
            .find(|c| c.queue_id == q)
            .copied()
            .unwrap_or_else(|| QueueCounts::new(q))
    };
    assert_eq!(
        (
            of(support.id).new,
            of(support.id).open,
            of(support.id).escalated
        ),
        (1, 0, 0)
    );
    assert_eq!(
        (of(raw.id).open, of(raw.id).pending, of(raw.id).escalated),
        (1, 1, 1)
    );
    // Merging the last new one away: merged tickets are not being worked on.
    store
        .merge_tickets(second.id, opened.id, &agent())
        .await
        .unwrap();
    let counts = store.queue_counts(t.id, now).await.unwrap();
    assert!(
        counts
            .iter()
            .all(|c| c.queue_id != support.id || c.new == 0),
        "{counts:?}"
    );
    assert!(
        store
            .queue_counts(TenantId::new(), now)
            .await
            .unwrap()
            .is_empty()
    );
}
