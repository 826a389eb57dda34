//! The authorization table of ticket core: every principal (each built-in role, an agent without
//! a role, another tenant's administrator, customers with and without their company's tickets, a
//! read-only API token, a service) × every ticket operation × every kind of target (a ticket in
//! one of the role's queues, in a queue of a group no role holds, in another tenant, the
//! customer's own, a colleague's, a guessed id, a number of another tenant's ticket), through the
//! real gRPC edge with signed tokens, on PostgreSQL and SQLite.
//!
//! The expected outcome of each cell comes from the rules written out in [`expected`], with the
//! roles' permissions taken from the identity service's own role templates. Who the agents of each
//! tenant are (what ticket core asks the identity service when a change names an agent on a
//! ticket) comes from a [`Directory`] holding every agent of the table with the grants of its
//! token. On top, every cell
//! checks that nothing leaks: a customer never receives an internal note or the owner, a listing
//! holds exactly the tickets the principal may read, and "not visible" is indistinguishable from
//! "does not exist".
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use docket_auth::{
    AgentGrants, Claims, CustomerGrant, KeyPair, Kind, PermSet, Permission, TenantGrants, Verifier,
};
use docket_bus::outbox::OutboxSignal;
use docket_identity::domain::ROLE_TEMPLATES;
use docket_proto::ticket::v1 as pb;
use docket_proto::ticket::v1::ticket_service_server::TicketService;
use docket_store::{Backend, Db};
use docket_ticket::SqlTicketStore;
use docket_ticket::TicketError;
use docket_ticket::agents::AgentDirectory;
use docket_ticket::domain::*;
use docket_ticket::grpc::TicketGrpc;
use docket_ticket::storage::prelude::*;
use tonic::{Code, Request};

// ---------------------------------------------------------------------------------------------
// The world: two tenants, their queues, customers and tickets
// ---------------------------------------------------------------------------------------------

struct Tenancy {
    tenant: TenantId,
    users: GroupId,
    admin: GroupId,
    misc: Queue,
    raw: Queue,
}

/// The identity service as ticket core asks it: the agents of each tenant, and who of them may
/// read each group's queues (`ro`).
#[derive(Default)]
struct Directory {
    members: Mutex<BTreeMap<TenantId, BTreeSet<AgentId>>>,
    readers: Mutex<BTreeMap<(TenantId, GroupId), BTreeSet<AgentId>>>,
}

impl Directory {
    /// Makes `agent` an agent of `tenant` with `grants`, exactly as their token has them.
    fn enter(&self, agent: AgentId, tenant: TenantId, grants: &TenantGrants) {
        self.members
            .lock()
            .unwrap()
            .entry(tenant)
            .or_default()
            .insert(agent);
        for (group, set) in &grants.groups {
            if set.allows(Permission::Ro) {
                self.readers
                    .lock()
                    .unwrap()
                    .entry((tenant, group.parse().unwrap()))
                    .or_default()
                    .insert(agent);
            }
        }
    }
}

#[async_trait::async_trait]
impl AgentDirectory for Directory {
    async fn readers(
        &self,
        _token: &str,
        tenant: TenantId,
        group: GroupId,
    ) -> Result<BTreeSet<AgentId>, TicketError> {
        let readers = self.readers.lock().unwrap();
        Ok(readers.get(&(tenant, group)).cloned().unwrap_or_default())
    }

    async fn members(
        &self,
        _token: &str,
        tenant: TenantId,
        agents: &[AgentId],
    ) -> Result<BTreeSet<AgentId>, TicketError> {
        let members = self.members.lock().unwrap();
        let of = members.get(&tenant).cloned().unwrap_or_default();
        Ok(agents.iter().filter(|a| of.contains(a)).copied().collect())
    }
}

struct World {
    grpc: TicketGrpc,
    agents: Arc<Directory>,
    /// An agent of the own tenant reading the queues of `users` and of Secret's group.
    colleague: AgentId,
    /// An agent of the other tenant reading its `users` queues.
    foreign_colleague: AgentId,
    store: Arc<SqlTicketStore>,
    db: Db,
    keys: KeyPair,
    own: Tenancy,
    foreign: Tenancy,
    /// A queue of the own tenant in a group no role holds.
    secret: Queue,
    /// Company X: customers C1 (not allowed to see the company's tickets) and C2 (allowed).
    company: CompanyId,
    c1: CustomerId,
    c2: CustomerId,
    /// A customer of the other tenant.
    cf: CustomerId,
    /// The own tenant's ticket type `Incident`.
    incident: String,
}

fn event_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

async fn tenancy(store: &SqlTicketStore, slug: &str) -> Tenancy {
    let tenant = TenantId::new();
    let groups: Vec<Group> = ["users", "admin"]
        .into_iter()
        .map(|name| Group {
            id: GroupId::new(),
            tenant_id: tenant,
            name: name.into(),
        })
        .collect();
    let t = Tenant {
        id: tenant,
        slug: slug.into(),
        name: slug.into(),
        created_at: 1,
    };
    store
        .project_tenant(&event_id(), t, groups.clone())
        .await
        .unwrap();
    let queues = store.list_queues(Some(tenant)).await.unwrap();
    let named = |n: &str| queues.iter().find(|q| q.name == n).unwrap().clone();
    Tenancy {
        tenant,
        users: groups[0].id,
        admin: groups[1].id,
        misc: named("Misc"),
        raw: named("Raw"),
    }
}

async fn customer(
    store: &SqlTicketStore,
    tenant: TenantId,
    company: Option<CompanyId>,
) -> CustomerId {
    let id = CustomerId::new();
    let record = CustomerRecord {
        id,
        tenant_id: tenant,
        company_id: company,
        contact: Contact::default(),
    };
    store.project_customer(&event_id(), record).await.unwrap();
    id
}

async fn world(backend: Backend) -> World {
    let db = docket_store::testing::fresh_db(backend).await.unwrap();
    SqlTicketStore::migrate(&db).await.unwrap();
    let store = Arc::new(SqlTicketStore::new(
        db.clone(),
        OutboxSignal::new(),
        SystemId::new(10).unwrap(),
    ));
    let own = tenancy(&store, "own").await;
    let foreign = tenancy(&store, "foreign").await;
    let restricted = Group {
        id: GroupId::new(),
        tenant_id: own.tenant,
        name: "restricted".into(),
    };
    store
        .project_group(&event_id(), restricted.clone())
        .await
        .unwrap();
    let secret = store
        .create_queue(
            NewQueue::parse(own.tenant, "Secret", restricted.id, true).unwrap(),
            &Actor::system(),
        )
        .await
        .unwrap();
    let company = CompanyId::new();
    let c1 = customer(&store, own.tenant, Some(company)).await;
    let c2 = customer(&store, own.tenant, Some(company)).await;
    let cf = customer(&store, foreign.tenant, Some(company)).await;
    let keys = KeyPair::generate();
    let verifier = Verifier::from_jwks(&docket_auth::token::JwkSet {
        keys: vec![keys.jwk()],
    });
    let agents = Arc::new(Directory::default());
    let grpc = TicketGrpc::new(store.clone(), Arc::new(verifier), agents.clone());
    let reading = |groups: &[GroupId]| TenantGrants {
        groups: groups
            .iter()
            .map(|g| (g.to_string(), PermSet::of(&[Permission::Ro])))
            .collect(),
        ..TenantGrants::default()
    };
    let colleague = AgentId::new();
    agents.enter(colleague, own.tenant, &reading(&[own.users, restricted.id]));
    let foreign_colleague = AgentId::new();
    agents.enter(
        foreign_colleague,
        foreign.tenant,
        &reading(&[foreign.users]),
    );
    let incident = store
        .list_catalogue(Catalogue::TicketTypes, own.tenant)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name == "Incident")
        .unwrap()
        .id
        .to_string();
    World {
        incident,
        grpc,
        agents,
        colleague,
        foreign_colleague,
        store,
        db,
        keys,
        own,
        foreign,
        secret,
        company,
        c1,
        c2,
        cf,
    }
}

/// The tickets one principal's row works on, created fresh for it (writes change them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Target {
    /// Own tenant, queue Misc (group `users`), customer C1.
    Own,
    /// Own tenant, queue Secret (a group no role holds), customer C1.
    Secret,
    /// The other tenant, its queue Misc, its customer.
    Foreign,
    /// Own tenant, Misc, customer C2 (C1's colleague).
    Colleague,
    /// An id nobody created.
    Guessed,
}

const TARGETS: [Target; 5] = [
    Target::Own,
    Target::Secret,
    Target::Foreign,
    Target::Colleague,
    Target::Guessed,
];

struct Fixture {
    ticket: TicketId,
    number: Option<TicketNumber>,
    /// An agent of the ticket's tenant who reads its queue (its owner to begin with).
    colleague: AgentId,
    /// An agent of the other tenant.
    stranger: AgentId,
}

async fn fixtures(w: &World) -> BTreeMap<Target, Fixture> {
    let mut out = BTreeMap::new();
    for target in TARGETS {
        let (queue, customer) = match target {
            Target::Own => (&w.own.misc, w.c1),
            Target::Secret => (&w.secret, w.c1),
            Target::Foreign => (&w.foreign.misc, w.cf),
            Target::Colleague => (&w.own.misc, w.c2),
            Target::Guessed => {
                out.insert(
                    target,
                    Fixture {
                        ticket: TicketId::new(),
                        number: None,
                        colleague: w.colleague,
                        stranger: w.foreign_colleague,
                    },
                );
                continue;
            }
        };
        let first = NewArticle::parse(
            SenderType::Customer,
            Channel::Email,
            true,
            "Help",
            "It broke.",
        )
        .unwrap();
        let t = w
            .store
            .create_ticket(
                NewTicket::parse(queue.id, "t", None, "", Some(customer), Some(first)).unwrap(),
                &Actor::system(),
            )
            .await
            .unwrap();
        let (colleague, stranger) = if target == Target::Foreign {
            (w.foreign_colleague, w.colleague)
        } else {
            (w.colleague, w.foreign_colleague)
        };
        // An internal note, and an owner: both must stay hidden from customers.
        w.store
            .add_article(
                t.id,
                NewArticle::parse(SenderType::Agent, Channel::Note, false, "", "internal only")
                    .unwrap(),
                &Actor::system(),
            )
            .await
            .unwrap();
        let owner = TicketUpdate {
            owner: Some(Some(colleague)),
            ..TicketUpdate::default()
        };
        w.store
            .update_ticket(t.id, owner, &Actor::system())
            .await
            .unwrap();
        out.insert(
            target,
            Fixture {
                ticket: t.id,
                number: Some(t.number),
                colleague,
                stranger,
            },
        );
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Principals
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Principal {
    /// A built-in role template, in the own tenant.
    Role(usize),
    /// An agent of the own tenant without any group.
    NoRole,
    /// The other tenant's administrator.
    Outsider,
    /// Customer C1: own tickets only.
    Customer,
    /// Customer C2: own and company tickets.
    CompanyCustomer,
    /// A 2nd-level agent's API token limited to `tickets:read`.
    ReadOnlyToken,
    /// Another service (e.g. mail ingestion).
    Service,
}

fn principals() -> Vec<Principal> {
    let mut all: Vec<Principal> = (0..ROLE_TEMPLATES.len()).map(Principal::Role).collect();
    all.extend([
        Principal::NoRole,
        Principal::Outsider,
        Principal::Customer,
        Principal::CompanyCustomer,
        Principal::ReadOnlyToken,
        Principal::Service,
    ]);
    all
}

fn role_index(name: &str) -> usize {
    ROLE_TEMPLATES.iter().position(|t| t.name == name).unwrap()
}

/// A template's grants in a tenant, exactly as the identity service would put them in a token.
fn template_grants(index: usize, t: &Tenancy) -> TenantGrants {
    let template = &ROLE_TEMPLATES[index];
    let mut grants = TenantGrants {
        admin: template.tenant_admin,
        ..TenantGrants::default()
    };
    for (group, perms) in template.grants {
        let id = match *group {
            "users" => t.users,
            "admin" => t.admin,
            other => panic!("template group {other}"),
        };
        grants.groups.insert(id.to_string(), PermSet::of(perms));
    }
    grants
}

struct Identity {
    token: String,
    kind: Kind,
    agent_id: Option<AgentId>,
}

fn identity(w: &World, p: Principal) -> Identity {
    let now = docket_platform::time::now_micros() / 1_000_000;
    let agent_id = AgentId::new();
    let mut claims = Claims {
        iss: "docket".into(),
        aud: "docket".into(),
        sub: agent_id.to_string(),
        exp: now + 300,
        iat: now,
        jti: uuid::Uuid::now_v7().to_string(),
        sid: None,
        kind: Kind::Agent,
        login: format!("{p:?}").to_lowercase(),
        agent: None,
        customer: None,
        scopes: None,
    };
    let agent = |tenant: TenantId, grants: TenantGrants| AgentGrants {
        tenants: BTreeMap::from([(tenant.to_string(), grants)]),
        ..AgentGrants::default()
    };
    let customer = |claims: &mut Claims, id: CustomerId, company_tickets: bool| {
        claims.kind = Kind::Customer;
        claims.sub = id.to_string();
        claims.customer = Some(CustomerGrant {
            tenant_id: w.own.tenant.to_string(),
            company_id: Some(w.company.to_string()),
            company_tickets,
        });
    };
    // Every agent is one of its tenant's, with the grants of its token, for the identity service.
    let agent = |tenant: TenantId, grants: TenantGrants| {
        w.agents.enter(agent_id, tenant, &grants);
        agent(tenant, grants)
    };
    match p {
        Principal::Role(i) => claims.agent = Some(agent(w.own.tenant, template_grants(i, &w.own))),
        Principal::NoRole => claims.agent = Some(agent(w.own.tenant, TenantGrants::default())),
        Principal::Outsider => {
            let admin = role_index("Administrator");
            claims.agent = Some(agent(w.foreign.tenant, template_grants(admin, &w.foreign)));
        }
        Principal::Customer => customer(&mut claims, w.c1, false),
        Principal::CompanyCustomer => customer(&mut claims, w.c2, true),
        Principal::ReadOnlyToken => {
            let second = role_index("2nd level");
            claims.agent = Some(agent(w.own.tenant, template_grants(second, &w.own)));
            claims.scopes = Some(vec!["tickets:read".into()]);
        }
        Principal::Service => {
            claims.kind = Kind::Service;
            claims.sub = "mail".into();
        }
    }
    Identity {
        token: w.keys.sign(&claims).unwrap(),
        kind: claims.kind,
        agent_id: (claims.kind == Kind::Agent).then_some(agent_id),
    }
}

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TicketOp {
    Get,
    GetByNumber,
    Articles,
    History,
    Note,
    Answer,
    State,
    Priority,
    Take,
    /// Give it to an agent of its tenant who reads its queue.
    Assign,
    /// Give it to an agent of the other tenant.
    AssignAway,
    /// Give it to an agent id nobody has.
    AssignUnknown,
    Release,
    /// Lock it (and so take it).
    Lock,
    /// Unlock somebody else's ticket.
    Unlock,
    /// Into `pending_reminder`, due tomorrow.
    Pend,
    /// As an incident (a ticket type of the own tenant).
    Classify,
    /// Open a sub-ticket of it in the own tenant's Misc queue.
    Split,
    /// Name another agent responsible, with a target date.
    Coordinate,
    /// Name an agent of the other tenant responsible.
    ResponsibleAway,
    /// Add an agent of its tenant as collaborator.
    Collaborate,
    /// Add an agent of the other tenant as collaborator.
    CollaborateAway,
    /// Watch it.
    Watch,
    /// To the own tenant's Raw queue (group `users`).
    Move,
}

/// In the order they run on each target: unlocking and locking while the ticket still has the
/// fixture's owner (another agent), then taking, giving away and releasing it.
const TICKET_OPS: [TicketOp; 24] = [
    TicketOp::Get,
    TicketOp::GetByNumber,
    TicketOp::Articles,
    TicketOp::History,
    TicketOp::Note,
    TicketOp::Answer,
    TicketOp::State,
    TicketOp::Priority,
    TicketOp::Classify,
    TicketOp::Split,
    TicketOp::Coordinate,
    TicketOp::ResponsibleAway,
    TicketOp::Watch,
    TicketOp::Collaborate,
    TicketOp::CollaborateAway,
    TicketOp::Unlock,
    TicketOp::Lock,
    TicketOp::Take,
    TicketOp::Assign,
    TicketOp::AssignAway,
    TicketOp::AssignUnknown,
    TicketOp::Release,
    TicketOp::Pend,
    TicketOp::Move,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QueueOp {
    CreateTicket,
    ListTickets,
    CreateQueue,
    UpdateQueue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QueueTarget {
    OwnMisc,
    Secret,
    ForeignMisc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    NotFound,
    Denied,
    /// Refused as invalid: an agent named who may not be.
    Invalid,
}

fn outcome<T>(result: &Result<T, tonic::Status>) -> Outcome {
    match result {
        Ok(_) => Outcome::Ok,
        Err(s) if s.code() == Code::NotFound => Outcome::NotFound,
        Err(s) if s.code() == Code::PermissionDenied => Outcome::Denied,
        Err(s) if s.code() == Code::InvalidArgument => {
            // The field that names the agent, never who the agent is elsewhere.
            assert!(
                ["`owner_id`: ", "`responsible_id`: ", "`agent_id`: "]
                    .iter()
                    .any(|f| s.message().starts_with(f)),
                "{}",
                s.message()
            );
            assert!(!s.message().contains("other tenant"), "{}", s.message());
            Outcome::Invalid
        }
        Err(s) => panic!("unexpected status {:?}: {}", s.code(), s.message()),
    }
}

fn request<T>(message: T, id: &Identity) -> Request<T> {
    let mut r = Request::new(message);
    docket_auth::with_bearer(r.metadata_mut(), &id.token);
    r
}

fn update(ticket: TicketId) -> pb::UpdateTicketRequest {
    pb::UpdateTicketRequest {
        ticket_id: ticket.to_string(),
        ..Default::default()
    }
}

/// Runs one operation; returns the outcome, and what a customer must never receive.
async fn run(w: &World, id: &Identity, op: TicketOp, f: &Fixture) -> Outcome {
    let g = &w.grpc;
    let ticket_id = f.ticket.to_string();
    let new_article = |visible: bool| pb::AddArticleRequest {
        ticket_id: ticket_id.clone(),
        article: Some(pb::NewArticle {
            sender: pb::SenderType::Agent.into(),
            channel: if visible {
                pb::Channel::Email
            } else {
                pb::Channel::Note
            }
            .into(),
            visible_to_customer: visible,
            subject: String::new(),
            body: "hello".into(),
            ..Default::default()
        }),
    };
    match op {
        TicketOp::Get | TicketOp::GetByNumber => {
            let key = match (op, &f.number) {
                (TicketOp::GetByNumber, Some(n)) => n.to_string(),
                // A guessed number: tomorrow's first.
                (TicketOp::GetByNumber, None) => "2099010110000001".into(),
                _ => ticket_id.clone(),
            };
            let r = g
                .get_ticket(request(pb::GetTicketRequest { ticket: key }, id))
                .await;
            if let Err(s) = &r
                && s.code() == Code::NotFound
            {
                // The same answer whether the ticket exists elsewhere or not at all.
                assert!(s.message().ends_with(" not found"), "{}", s.message());
                assert!(!s.message().contains("tenant") && !s.message().contains("queue"));
            }
            if let Ok(t) = &r {
                let shown = !t.get_ref().owner_id.is_empty();
                assert_eq!(
                    shown,
                    id.kind != Kind::Customer,
                    "the owner is for agents only"
                );
            }
            outcome(&r)
        }
        TicketOp::Articles => {
            let r = g
                .list_articles(request(
                    pb::ListArticlesRequest {
                        ticket_id: ticket_id.clone(),
                    },
                    id,
                ))
                .await;
            if let Ok(a) = &r {
                let internal = a.get_ref().articles.iter().any(|a| !a.visible_to_customer);
                assert_eq!(
                    internal,
                    id.kind != Kind::Customer,
                    "agents see the internal note, customers never"
                );
            }
            outcome(&r)
        }
        TicketOp::History => outcome(
            &g.get_history(request(
                pb::GetHistoryRequest {
                    ticket_id: ticket_id.clone(),
                },
                id,
            ))
            .await,
        ),
        TicketOp::Note => outcome(&g.add_article(request(new_article(false), id)).await),
        TicketOp::Answer => outcome(&g.add_article(request(new_article(true), id)).await),
        TicketOp::State => {
            let mut u = update(f.ticket);
            u.state = Some(pb::TicketState::Open.into());
            outcome(&g.update_ticket(request(u, id)).await)
        }
        TicketOp::Priority => {
            let mut u = update(f.ticket);
            u.priority = Some(5);
            outcome(&g.update_ticket(request(u, id)).await)
        }
        TicketOp::Take => {
            let mut u = update(f.ticket);
            u.owner_id = Some(id.agent_id.unwrap_or_default().to_string());
            outcome(&g.update_ticket(request(u, id)).await)
        }
        TicketOp::Assign | TicketOp::AssignAway | TicketOp::AssignUnknown => {
            let mut u = update(f.ticket);
            let owner = match op {
                TicketOp::Assign => f.colleague,
                TicketOp::AssignAway => f.stranger,
                _ => AgentId::new(),
            };
            u.owner_id = Some(owner.to_string());
            outcome(&g.update_ticket(request(u, id)).await)
        }
        TicketOp::Release => {
            let mut u = update(f.ticket);
            u.owner_id = Some(String::new());
            outcome(&g.update_ticket(request(u, id)).await)
        }
        TicketOp::Split => outcome(
            &g.create_ticket(request(
                pb::CreateTicketRequest {
                    queue_id: w.own.misc.id.to_string(),
                    title: "part of it".into(),
                    parent_id: ticket_id.clone(),
                    ..Default::default()
                },
                id,
            ))
            .await,
        ),
        TicketOp::Coordinate | TicketOp::ResponsibleAway => {
            let mut u = update(f.ticket);
            let responsible = if op == TicketOp::Coordinate {
                f.colleague
            } else {
                f.stranger
            };
            u.responsible_id = Some(responsible.to_string());
            u.target_at_us = Some(docket_platform::time::now_micros() + 7 * 86_400_000_000);
            outcome(&g.update_ticket(request(u, id)).await)
        }
        TicketOp::Collaborate | TicketOp::CollaborateAway => outcome(
            &g.set_collaborator(request(
                pb::SetCollaboratorRequest {
                    ticket_id: ticket_id.clone(),
                    agent_id: if op == TicketOp::Collaborate {
                        f.colleague
                    } else {
                        f.stranger
                    }
                    .to_string(),
                    collaborate: true,
                },
                id,
            ))
            .await,
        ),
        TicketOp::Watch => outcome(
            &g.watch_ticket(request(
                pb::WatchTicketRequest {
                    ticket_id: ticket_id.clone(),
                    watch: true,
                },
                id,
            ))
            .await,
        ),
        TicketOp::Classify => {
            let mut u = update(f.ticket);
            u.type_id = Some(w.incident.clone());
            outcome(&g.update_ticket(request(u, id)).await)
        }
        TicketOp::Lock => {
            let mut u = update(f.ticket);
            u.locked = Some(true);
            outcome(&g.update_ticket(request(u, id)).await)
        }
        TicketOp::Unlock => {
            let mut u = update(f.ticket);
            u.locked = Some(false);
            outcome(&g.update_ticket(request(u, id)).await)
        }
        TicketOp::Pend => {
            let mut u = update(f.ticket);
            u.state = Some(pb::TicketState::PendingReminder.into());
            u.pending_until_us = Some(docket_platform::time::now_micros() + 86_400_000_000);
            outcome(&g.update_ticket(request(u, id)).await)
        }
        TicketOp::Move => {
            let mut u = update(f.ticket);
            u.queue_id = Some(w.own.raw.id.to_string());
            outcome(&g.update_ticket(request(u, id)).await)
        }
    }
}

async fn run_queue_op(w: &World, id: &Identity, op: QueueOp, target: QueueTarget) -> Outcome {
    let (queue, tenancy) = match target {
        QueueTarget::OwnMisc => (&w.own.misc, &w.own),
        QueueTarget::Secret => (&w.secret, &w.own),
        QueueTarget::ForeignMisc => (&w.foreign.misc, &w.foreign),
    };
    match op {
        QueueOp::CreateTicket => outcome(
            &w.grpc
                .create_ticket(request(
                    pb::CreateTicketRequest {
                        queue_id: queue.id.to_string(),
                        title: "new".into(),
                        ..Default::default()
                    },
                    id,
                ))
                .await,
        ),
        QueueOp::ListTickets => outcome(
            &w.grpc
                .list_tickets(request(
                    pb::ListTicketsRequest {
                        queue_id: queue.id.to_string(),
                        ..Default::default()
                    },
                    id,
                ))
                .await,
        ),
        QueueOp::CreateQueue => outcome(
            &w.grpc
                .create_queue(request(
                    pb::CreateQueueRequest {
                        tenant_id: tenancy.tenant.to_string(),
                        name: format!("New {}", uuid::Uuid::now_v7()),
                        group_id: tenancy.users.to_string(),
                        portal: false,
                        ..Default::default()
                    },
                    id,
                ))
                .await,
        ),
        QueueOp::UpdateQueue => outcome(
            &w.grpc
                .update_queue(request(
                    pb::UpdateQueueRequest {
                        queue_id: queue.id.to_string(),
                        signature: Some("Your service desk".into()),
                        follow_up: Some(pb::FollowUp::NewTicket.into()),
                        ..Default::default()
                    },
                    id,
                ))
                .await,
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// The rules, written out
// ---------------------------------------------------------------------------------------------

/// What a principal holds on the group of a target's queue (agents), from the role templates.
fn perms(p: Principal, target: Target) -> PermSet {
    // Own and Colleague are in the own tenant's `users` group, Foreign in the other tenant's.
    let (template, in_users) = match p {
        Principal::Role(i) => (Some(i), matches!(target, Target::Own | Target::Colleague)),
        Principal::ReadOnlyToken => (
            Some(role_index("2nd level")),
            matches!(target, Target::Own | Target::Colleague),
        ),
        Principal::Outsider => (Some(role_index("Administrator")), target == Target::Foreign),
        _ => (None, false),
    };
    match (template, in_users) {
        (Some(i), true) => ROLE_TEMPLATES[i]
            .grants
            .iter()
            .filter(|(g, _)| *g == "users")
            .fold(PermSet::NONE, |acc, (_, p)| acc.union(PermSet::of(p))),
        _ => PermSet::NONE,
    }
}

/// Naming an agent who may not be named (another tenant's, or nobody's) is refused as invalid,
/// once the caller may make the change at all.
fn expected(p: Principal, op: TicketOp, target: Target) -> Outcome {
    let naming = |base: Outcome| {
        if base == Outcome::Ok {
            Outcome::Invalid
        } else {
            base
        }
    };
    match op {
        TicketOp::AssignAway | TicketOp::AssignUnknown => {
            naming(expected_plainly(p, TicketOp::Assign, target))
        }
        TicketOp::ResponsibleAway => naming(expected_plainly(p, TicketOp::Coordinate, target)),
        TicketOp::CollaborateAway => naming(expected_plainly(p, TicketOp::Collaborate, target)),
        // A service is no agent: taking a ticket "for itself" names an agent nobody is.
        TicketOp::Take if p == Principal::Service => naming(expected_plainly(p, op, target)),
        _ => expected_plainly(p, op, target),
    }
}

/// What the permissions alone decide (every agent named being one who may be).
fn expected_plainly(p: Principal, op: TicketOp, target: Target) -> Outcome {
    use Outcome::*;
    let writes = !matches!(
        op,
        TicketOp::Get | TicketOp::GetByNumber | TicketOp::Articles | TicketOp::History
    );
    if p == Principal::ReadOnlyToken && writes {
        return Denied;
    }
    if op == TicketOp::Split {
        return expected_split(p, target);
    }
    if target == Target::Guessed {
        return NotFound;
    }
    if p == Principal::Service && op == TicketOp::Watch {
        // Only agents watch.
        return if target == Target::Guessed {
            NotFound
        } else {
            Denied
        };
    }
    if p == Principal::Service {
        // Everything, but a ticket moves and is classified only within its tenant.
        return if matches!(op, TicketOp::Move | TicketOp::Classify) && target == Target::Foreign {
            NotFound
        } else {
            Ok
        };
    }
    if matches!(p, Principal::Customer | Principal::CompanyCustomer) {
        // C1 sees the tickets for C1 (Own, Secret); C2 its own (Colleague) and, allowed to see
        // the company's, C1's too. Never the other tenant's, though its customer shares the
        // company id.
        let sees = match p {
            Principal::Customer => matches!(target, Target::Own | Target::Secret),
            _ => matches!(target, Target::Own | Target::Secret | Target::Colleague),
        };
        return match (sees, op) {
            (false, _) => NotFound,
            (true, TicketOp::Get | TicketOp::GetByNumber | TicketOp::Articles) => Ok,
            // A customer writes (their own kind of) article, and nothing else.
            (true, TicketOp::Note | TicketOp::Answer) => Ok,
            (true, _) => Denied,
        };
    }
    let held = perms(p, target);
    if !held.allows(Permission::Ro) {
        return NotFound;
    }
    let needed = match op {
        TicketOp::Get | TicketOp::GetByNumber | TicketOp::Articles | TicketOp::History => {
            Permission::Ro
        }
        TicketOp::Note => Permission::Note,
        TicketOp::Priority => Permission::Priority,
        // Another tenant's ticket type is unknown to this one's tickets.
        TicketOp::Classify if target == Target::Foreign => {
            return if held.allows(Permission::Priority) {
                NotFound
            } else {
                Denied
            };
        }
        TicketOp::Classify => Permission::Priority,
        TicketOp::Split => return expected_split(p, target),
        // Watching needs nothing but seeing the ticket.
        TicketOp::Watch => Permission::Ro,
        TicketOp::Coordinate | TicketOp::Collaborate => Permission::Rw,
        TicketOp::AssignAway
        | TicketOp::AssignUnknown
        | TicketOp::ResponsibleAway
        | TicketOp::CollaborateAway => unreachable!("{op:?} is decided in `expected`"),
        TicketOp::Take | TicketOp::Lock => Permission::Owner,
        // The fixtures' owner is another agent.
        TicketOp::Answer
        | TicketOp::State
        | TicketOp::Pend
        | TicketOp::Assign
        | TicketOp::Release
        | TicketOp::Unlock => Permission::Rw,
        TicketOp::Move => {
            // rw where it is, move_into where it goes (Raw: group `users` too); never out of
            // its tenant, where the target queue does not exist.
            return if target == Target::Foreign {
                if held.allows(Permission::Rw) {
                    NotFound
                } else {
                    Denied
                }
            } else if held.allows(Permission::Rw) && held.allows(Permission::MoveInto) {
                Ok
            } else {
                Denied
            };
        }
    };
    if held.allows(needed) { Ok } else { Denied }
}

/// A sub-ticket in the own Misc queue: `create` there, then the parent visible with `rw`, in the
/// same tenant. Customers never split.
fn expected_split(p: Principal, target: Target) -> Outcome {
    use Outcome::*;
    match p {
        Principal::Customer | Principal::CompanyCustomer => return Denied,
        Principal::Service => {
            return if matches!(target, Target::Guessed | Target::Foreign) {
                NotFound
            } else {
                Ok
            };
        }
        _ => {}
    }
    match expected_queue(p, QueueOp::CreateTicket, QueueTarget::OwnMisc) {
        Ok => {}
        refused => return refused,
    }
    match expected(p, TicketOp::Get, target) {
        Ok if perms(p, target).allows(Permission::Rw) => {
            if target == Target::Foreign {
                NotFound
            } else {
                Ok
            }
        }
        Ok => Denied,
        refused => refused,
    }
}

fn expected_queue(p: Principal, op: QueueOp, target: QueueTarget) -> Outcome {
    use Outcome::*;
    if p == Principal::ReadOnlyToken && op != QueueOp::ListTickets {
        return Denied;
    }
    if p == Principal::Service {
        return Ok;
    }
    let admin_of = |p: Principal, t: QueueTarget| match p {
        Principal::Role(i) => ROLE_TEMPLATES[i].tenant_admin && t != QueueTarget::ForeignMisc,
        Principal::Outsider => t == QueueTarget::ForeignMisc,
        _ => false,
    };
    if matches!(p, Principal::Customer | Principal::CompanyCustomer) {
        return match (op, target) {
            // Portal queues of their tenant (Misc, and Secret is one too).
            (
                QueueOp::CreateTicket | QueueOp::ListTickets,
                QueueTarget::OwnMisc | QueueTarget::Secret,
            ) => Ok,
            _ => NotFound,
        };
    }
    let held = match (p, target) {
        (Principal::Outsider, QueueTarget::ForeignMisc) => PermSet::of(&[Permission::Rw]),
        (_, QueueTarget::OwnMisc) => perms(p, Target::Own),
        _ => PermSet::NONE,
    };
    let member = !matches!(p, Principal::Outsider) != (target == QueueTarget::ForeignMisc);
    let visible = !held.is_empty() || admin_of(p, target);
    match op {
        // Managing queues is the tenant's administrators' work.
        QueueOp::CreateQueue | QueueOp::UpdateQueue if admin_of(p, target) => Ok,
        QueueOp::CreateQueue | QueueOp::UpdateQueue if member => Denied,
        QueueOp::CreateQueue | QueueOp::UpdateQueue => NotFound,
        _ if !visible => NotFound,
        QueueOp::ListTickets => Ok,
        QueueOp::CreateTicket if held.allows(Permission::Create) => Ok,
        QueueOp::CreateTicket => Denied,
    }
}

// ---------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------

async fn table(backend: Backend) {
    let mut cells = 0;
    let mut failures = Vec::new();
    for p in principals() {
        // A fresh world per row: one row's writes (a move, a new owner) never colour another's.
        let w = world(backend).await;
        let id = identity(&w, p);
        let f = fixtures(&w).await;

        // Listing every visible ticket returns exactly the readable ones, before any write.
        let listed: BTreeSet<TicketId> = w
            .grpc
            .list_tickets(request(pb::ListTicketsRequest::default(), &id))
            .await
            .unwrap()
            .into_inner()
            .tickets
            .into_iter()
            .map(|t| {
                assert_eq!(
                    t.owner_id.is_empty(),
                    id.kind == Kind::Customer,
                    "{p:?}: owners"
                );
                t.id.parse().unwrap()
            })
            .collect();
        let readable: BTreeSet<TicketId> = TARGETS
            .iter()
            .filter(|t| expected(p, TicketOp::Get, **t) == Outcome::Ok)
            .map(|t| f[t].ticket)
            .collect();
        assert_eq!(listed, readable, "{p:?}: the listing of everything visible");
        // Full text finds exactly what the principal may read; customers never find a ticket
        // by the words of an internal note, nor use agents' views.
        assert_eq!(
            search_ids(&w, &id, "broke", "").await.unwrap(),
            readable,
            "{p:?}: full text"
        );
        let by_note = search_ids(&w, &id, "internal", "").await.unwrap();
        if id.kind == Kind::Customer {
            assert!(by_note.is_empty(), "{p:?}: found by an internal note");
            let view = search_ids(&w, &id, "broke", "my-queues").await;
            assert_eq!(view.unwrap_err(), Code::PermissionDenied, "{p:?}: views");
        } else {
            assert_eq!(by_note, readable, "{p:?}: full text in notes");
        }

        for target in TARGETS {
            for op in TICKET_OPS {
                let got = run(&w, &id, op, &f[&target]).await;
                let want = expected(p, op, target);
                cells += 1;
                if got != want {
                    failures.push(format!(
                        "{p:?} {op:?} {target:?}: got {got:?}, want {want:?}"
                    ));
                }
            }
        }
        for target in [
            QueueTarget::OwnMisc,
            QueueTarget::Secret,
            QueueTarget::ForeignMisc,
        ] {
            for op in [
                QueueOp::CreateTicket,
                QueueOp::ListTickets,
                QueueOp::CreateQueue,
                QueueOp::UpdateQueue,
            ] {
                let got = run_queue_op(&w, &id, op, target).await;
                let want = expected_queue(p, op, target);
                cells += 1;
                if got != want {
                    failures.push(format!(
                        "{p:?} {op:?} {target:?}: got {got:?}, want {want:?}"
                    ));
                }
            }
        }
        docket_store::testing::discard(w.db.clone()).await.unwrap();
    }
    assert!(
        failures.is_empty(),
        "{} of {cells} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        cells,
        10 * (5 * TICKET_OPS.len() + 3 * 4),
        "the whole table ran"
    );
}

/// The tickets a full-text search (within `view`, if not empty) returns to `id`.
async fn search_ids(
    w: &World,
    id: &Identity,
    text: &str,
    view: &str,
) -> Result<BTreeSet<TicketId>, Code> {
    let req = pb::SearchTicketsRequest {
        filter: Some(pb::TicketFilter {
            text: text.into(),
            ..Default::default()
        }),
        view: view.into(),
        page_size: 100,
        ..Default::default()
    };
    let r = w
        .grpc
        .search_tickets(request(req, id))
        .await
        .map_err(|s| s.code())?;
    Ok(r.into_inner()
        .tickets
        .iter()
        .map(|t| t.id.parse().unwrap())
        .collect())
}

/// A bulk change applies to what the caller may change and answers, per ticket, exactly what a
/// single change would have: nothing more is revealed, nothing else is touched.
async fn bulk(backend: Backend) {
    let w = world(backend).await;
    let first_level = identity(&w, Principal::Role(role_index("1st level (help desk)")));
    let f = fixtures(&w).await;
    let ids: Vec<String> = TARGETS.iter().map(|t| f[t].ticket.to_string()).collect();
    let fields = pb::UpdateTicketRequest {
        priority: Some(5),
        ..Default::default()
    };
    let r = w
        .grpc
        .bulk_update_tickets(request(
            pb::BulkUpdateTicketsRequest {
                ticket_ids: ids.clone(),
                update: Some(fields.clone()),
            },
            &first_level,
        ))
        .await
        .unwrap()
        .into_inner();
    let got: Vec<(Target, Code)> = TARGETS
        .iter()
        .zip(&r.outcomes)
        .map(|(t, o)| (*t, Code::from(o.error_code)))
        .collect();
    assert_eq!(
        got,
        [
            (Target::Own, Code::Ok),
            (Target::Secret, Code::NotFound),
            (Target::Foreign, Code::NotFound),
            (Target::Colleague, Code::Ok),
            (Target::Guessed, Code::NotFound),
        ]
    );
    for (target, o) in TARGETS.iter().zip(&r.outcomes) {
        assert_eq!(o.ticket_id, f[target].ticket.to_string());
        if o.error_code == 0 {
            assert_eq!(o.ticket.as_ref().unwrap().priority, 5);
        } else {
            assert_eq!(
                o.error_message,
                format!("ticket {} not found", f[target].ticket)
            );
            assert!(o.ticket.is_none());
        }
        let stored = w.store.get_ticket(f[target].ticket).await;
        if let Ok(t) = stored {
            assert_eq!(t.priority.get() == 5, o.error_code == 0, "{target:?}");
        }
    }
    // Bad requests are refused whole.
    for (what, ticket_ids, fields) in [
        ("no tickets", vec![], fields.clone()),
        ("too many", vec![ids[0].clone(); 501], fields.clone()),
        ("a malformed id", vec!["nope".into()], fields.clone()),
        (
            "a single ticket's id",
            ids.clone(),
            pb::UpdateTicketRequest {
                ticket_id: ids[0].clone(),
                ..fields.clone()
            },
        ),
        ("no change", ids.clone(), pb::UpdateTicketRequest::default()),
    ] {
        let r = w
            .grpc
            .bulk_update_tickets(request(
                pb::BulkUpdateTicketsRequest {
                    ticket_ids,
                    update: Some(fields),
                },
                &first_level,
            ))
            .await;
        assert_eq!(
            r.map(|_| ()).unwrap_err().code(),
            Code::InvalidArgument,
            "{what}"
        );
    }
    docket_store::testing::discard(w.db.clone()).await.unwrap();
}

/// Merging needs `rw` on the target and on each merged ticket; each source answers on its own,
/// and what the caller does not see stays unknown. Splitting an article needs `rw` on its ticket.
async fn merge_and_split(backend: Backend) {
    let w = world(backend).await;
    let f = fixtures(&w).await;
    let second = identity(&w, Principal::Role(role_index("2nd level")));
    let first_level = identity(&w, Principal::Role(role_index("1st level (help desk)")));
    let customer = identity(&w, Principal::Customer);
    // A second ticket in the own queue to merge into.
    let target = w
        .store
        .create_ticket(
            NewTicket::parse(w.own.misc.id, "target", None, "", Some(w.c1), None).unwrap(),
            &Actor::system(),
        )
        .await
        .unwrap();
    let merge = |who: &Identity, sources: Vec<String>| {
        w.grpc.merge_tickets(request(
            pb::MergeTicketsRequest {
                target_ticket_id: target.id.to_string(),
                source_ticket_ids: sources,
            },
            who,
        ))
    };
    let own = f[&Target::Own].ticket.to_string();
    assert_eq!(
        merge(&first_level, vec![own.clone()])
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    assert_eq!(
        merge(&customer, vec![own.clone()])
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let sources: Vec<String> = TARGETS.iter().map(|t| f[t].ticket.to_string()).collect();
    let r = merge(&second, sources).await.unwrap().into_inner();
    let got: Vec<(Target, Code)> = TARGETS
        .iter()
        .zip(&r.outcomes)
        .map(|(t, o)| (*t, Code::from(o.error_code)))
        .collect();
    assert_eq!(
        got,
        [
            (Target::Own, Code::Ok),
            (Target::Secret, Code::NotFound),
            (Target::Foreign, Code::NotFound),
            (Target::Colleague, Code::Ok),
            (Target::Guessed, Code::NotFound),
        ]
    );
    assert_eq!(
        r.outcomes[0].ticket.as_ref().unwrap().merged_into,
        target.id.to_string()
    );
    assert_eq!(
        w.store.list_articles(target.id, false).await.unwrap().len(),
        4,
        "two articles from each"
    );
    for bad in [vec![], vec![own.clone(); 501]] {
        assert_eq!(
            merge(&second, bad).await.unwrap_err().code(),
            Code::InvalidArgument
        );
    }

    // Splitting: rw on the article's ticket and create in the queue; others learn nothing.
    let article = w.store.list_articles(target.id, false).await.unwrap()[0].id;
    let split = |who: &Identity, article: String| {
        w.grpc.split_article(request(
            pb::SplitArticleRequest {
                article_id: article,
                queue_id: w.own.misc.id.to_string(),
                title: "split off".into(),
                priority: 0,
            },
            who,
        ))
    };
    let made = split(&second, article.to_string())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(made.title, "split off");
    assert_eq!(
        split(&first_level, article.to_string())
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    assert_eq!(
        split(&customer, article.to_string())
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let outsider = identity(&w, Principal::Outsider);
    assert_eq!(
        split(&outsider, article.to_string())
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    assert_eq!(
        split(&second, ArticleId::new().to_string())
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    docket_store::testing::discard(w.db.clone()).await.unwrap();
}

/// A collaborator without any queue permission sees the ticket and may add internal notes, not
/// answer the customer nor change it; adding one needs `rw`; another tenant's agent (or an id
/// nobody has) cannot be added.
async fn collaborators(backend: Backend) {
    let w = world(backend).await;
    let f = fixtures(&w).await;
    let second = identity(&w, Principal::Role(role_index("2nd level")));
    let member = identity(&w, Principal::Role(role_index("Team member")));
    let loner = identity(&w, Principal::NoRole);
    let outsider = identity(&w, Principal::Outsider);
    let secret = f[&Target::Secret].ticket.to_string();
    let own = f[&Target::Own].ticket.to_string();
    let add = |who: &Identity, ticket: &str, agent: AgentId| {
        w.grpc.set_collaborator(request(
            pb::SetCollaboratorRequest {
                ticket_id: ticket.to_owned(),
                agent_id: agent.to_string(),
                collaborate: true,
            },
            who,
        ))
    };
    let get = |who: &Identity, ticket: &str| {
        w.grpc.get_ticket(request(
            pb::GetTicketRequest {
                ticket: ticket.to_owned(),
            },
            who,
        ))
    };
    let note = |who: &Identity, ticket: &str, visible: bool| {
        w.grpc.add_article(request(
            pb::AddArticleRequest {
                ticket_id: ticket.to_owned(),
                article: Some(pb::NewArticle {
                    sender: pb::SenderType::Agent.into(),
                    channel: pb::Channel::Note.into(),
                    visible_to_customer: visible,
                    subject: String::new(),
                    body: "looked at it".into(),
                    ..Default::default()
                }),
            },
            who,
        ))
    };
    let loner_id = loner.agent_id.unwrap();
    // Only with rw on the ticket; a ticket out of sight stays unknown.
    assert_eq!(
        add(&member, &own, loner_id).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    assert_eq!(
        add(&second, &secret, loner_id).await.unwrap_err().code(),
        Code::NotFound
    );
    assert_eq!(get(&loner, &own).await.unwrap_err().code(), Code::NotFound);
    assert!(
        add(&second, &own, loner_id)
            .await
            .unwrap()
            .into_inner()
            .changed
    );
    // Now the loner sees it, lists it, notes on it; answering or changing it needs the queue's rights.
    assert_eq!(get(&loner, &own).await.unwrap().into_inner().id, own);
    let listed = w
        .grpc
        .list_tickets(request(pb::ListTicketsRequest::default(), &loner))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        listed
            .tickets
            .iter()
            .map(|t| t.id.as_str())
            .collect::<Vec<_>>(),
        [own.as_str()]
    );
    note(&loner, &own, false).await.unwrap();
    assert_eq!(
        note(&loner, &own, true).await.unwrap_err().code(),
        Code::PermissionDenied
    );
    let close = pb::UpdateTicketRequest {
        ticket_id: own.clone(),
        state: Some(pb::TicketState::ClosedSuccessful.into()),
        ..Default::default()
    };
    assert_eq!(
        w.grpc
            .update_ticket(request(close, &loner))
            .await
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    // An agent of another tenant, or an id nobody has, cannot be named a collaborator; the
    // refusal names the field and nothing else about them. The outsider still sees nothing.
    for stranger in [outsider.agent_id.unwrap(), AgentId::new()] {
        let refused = add(&second, &own, stranger).await.unwrap_err();
        assert_eq!(
            refused.code(),
            Code::InvalidArgument,
            "{}",
            refused.message()
        );
        assert!(
            refused.message().starts_with("`agent_id`: "),
            "{}",
            refused.message()
        );
    }
    assert_eq!(
        get(&outsider, &own).await.unwrap_err().code(),
        Code::NotFound
    );
    let listed = w
        .grpc
        .list_collaborators(request(
            pb::ListCollaboratorsRequest {
                ticket_id: own.clone(),
            },
            &second,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.agent_ids, [loner_id.to_string()]);
    docket_store::testing::discard(w.db.clone()).await.unwrap();
}

/// A ticket's owner and responsible agent read the queue it is in: moving it where its owner
/// cannot read is refused unless the same change gives it to somebody who can; nor can an agent
/// who cannot read the queue be named there.
async fn moves(backend: Backend) {
    let w = world(backend).await;
    let f = fixtures(&w).await;
    let service = identity(&w, Principal::Service);
    let own = f[&Target::Own].ticket.to_string();
    // An agent reading Misc and Raw (group `users`), not Secret.
    let misc_only = AgentId::new();
    let users = TenantGrants {
        groups: BTreeMap::from([(w.own.users.to_string(), PermSet::of(&[Permission::Ro]))]),
        ..TenantGrants::default()
    };
    w.agents.enter(misc_only, w.own.tenant, &users);
    let change = |owner: Option<AgentId>, responsible: Option<AgentId>, queue: Option<QueueId>| {
        w.grpc.update_ticket(request(
            pb::UpdateTicketRequest {
                ticket_id: own.clone(),
                owner_id: owner.map(|a| a.to_string()),
                responsible_id: responsible.map(|a| a.to_string()),
                queue_id: queue.map(|q| q.to_string()),
                ..Default::default()
            },
            &service,
        ))
    };
    let refused = |r: Result<tonic::Response<pb::Ticket>, tonic::Status>, field: &str| {
        let s = r.unwrap_err();
        assert_eq!(s.code(), Code::InvalidArgument, "{}", s.message());
        assert!(s.message().starts_with(field), "{}", s.message());
        assert!(s.message().contains("`Secret`"), "{}", s.message());
    };
    change(Some(misc_only), None, None).await.unwrap();
    refused(change(None, None, Some(w.secret.id)).await, "`owner_id`: ");
    let stored = w.store.get_ticket(f[&Target::Own].ticket).await.unwrap();
    assert_eq!(
        (stored.queue_id, stored.owner_id),
        (w.own.misc.id, Some(misc_only)),
        "a refused move changes nothing"
    );
    // Handed to an agent who reads Secret in the same change, it moves.
    let moved = change(Some(w.colleague), None, Some(w.secret.id))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.queue_id, w.secret.id.to_string());
    assert_eq!(moved.owner_id, w.colleague.to_string());
    // There, the agent who cannot read Secret is neither owner nor responsible.
    refused(
        change(None, Some(misc_only), None).await,
        "`responsible_id`: ",
    );
    refused(change(Some(misc_only), None, None).await, "`owner_id`: ");
    docket_store::testing::discard(w.db.clone()).await.unwrap();
}

/// Attachments are served to whoever sees their article: customers never get an internal note's.
async fn attachments(backend: Backend) {
    let w = world(backend).await;
    let second = identity(&w, Principal::Role(role_index("2nd level")));
    let customer = identity(&w, Principal::Customer);
    let outsider = identity(&w, Principal::Outsider);
    let file = |name: &str, body: &[u8]| pb::NewAttachment {
        filename: name.into(),
        content_type: "text/plain".into(),
        content: body.to_vec(),
    };
    // The customer opens a ticket with a file; an agent adds a note with another and accounts time.
    let created = w
        .grpc
        .create_ticket(request(
            pb::CreateTicketRequest {
                queue_id: w.own.misc.id.to_string(),
                title: "with files".into(),
                article: Some(pb::NewArticle {
                    body: "see attached".into(),
                    attachments: vec![file("mine.txt", b"customer file")],
                    time_minutes: 600,
                    ..Default::default()
                }),
                ..Default::default()
            },
            &customer,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.time_minutes, 0, "customers account no time");
    let note = w
        .grpc
        .add_article(request(
            pb::AddArticleRequest {
                ticket_id: created.id.clone(),
                article: Some(pb::NewArticle {
                    sender: pb::SenderType::Agent.into(),
                    channel: pb::Channel::Note.into(),
                    body: "internal".into(),
                    attachments: vec![file("internal.txt", b"agents only")],
                    time_minutes: 15,
                    ..Default::default()
                }),
            },
            &second,
        ))
        .await
        .unwrap()
        .into_inner();
    let listed = w
        .grpc
        .list_articles(request(
            pb::ListArticlesRequest {
                ticket_id: created.id.clone(),
            },
            &second,
        ))
        .await
        .unwrap()
        .into_inner();
    let public = listed.articles[0].attachments[0].id.clone();
    let internal = note.attachments[0].id.clone();
    let get = |who: &Identity, id: &str| {
        w.grpc.get_attachment(request(
            pb::GetAttachmentRequest {
                attachment_id: id.to_owned(),
            },
            who,
        ))
    };
    assert_eq!(
        get(&customer, &public).await.unwrap().into_inner().content,
        b"customer file"
    );
    assert_eq!(
        get(&customer, &internal).await.unwrap_err().code(),
        Code::NotFound
    );
    assert_eq!(
        get(&second, &internal).await.unwrap().into_inner().content,
        b"agents only"
    );
    assert_eq!(
        get(&outsider, &public).await.unwrap_err().code(),
        Code::NotFound
    );
    assert_eq!(
        get(&second, "nope").await.unwrap_err().code(),
        Code::InvalidArgument
    );
    let ticket = w
        .grpc
        .get_ticket(request(
            pb::GetTicketRequest {
                ticket: created.id.clone(),
            },
            &second,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ticket.time_minutes, 15);
    // Too much is refused with a reason, and nothing is stored.
    let big = pb::NewArticle {
        body: "big".into(),
        attachments: vec![file("big.txt", &vec![b'x'; 10 * 1024 * 1024 + 1])],
        ..Default::default()
    };
    let refused = w
        .grpc
        .add_article(request(
            pb::AddArticleRequest {
                ticket_id: created.id.clone(),
                article: Some(big),
            },
            &customer,
        ))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::OutOfRange, "{}", refused.message());
    docket_store::testing::discard(w.db.clone()).await.unwrap();
}

// Each case builds its own world (the table a fresh one per row) and discards it.
docket_store::conformance!(
    engine;
    table,
    bulk,
    merge_and_split,
    collaborators,
    moves,
    attachments,
);
