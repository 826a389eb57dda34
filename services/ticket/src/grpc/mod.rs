//! The gRPC edge of ticket core: protobuf in, domain values out, and back. Every call is checked
//! against the caller's verified token here, with the rules of [`crate::access`].

mod articles;
mod checks;
mod convert;
mod links;
mod tickets;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use docket_auth::Permission;
use docket_auth::remote::Authenticate;
use docket_proto::ticket::v1 as pb;
use docket_proto::ticket::v1::ticket_service_server::TicketService;
use tonic::{Request, Response, Status};

use crate::access::{Caller, Scope};
use crate::agents::AgentDirectory;
use crate::attachments::*;
use crate::domain::*;
use crate::error::TicketError;
use crate::fields::*;
use crate::retention::*;
use crate::search::*;
use crate::storage::TicketStore;
use crate::templates::*;
use checks::*;
use convert::*;

/// The ticket service's gRPC edge.
pub struct TicketGrpc {
    store: Arc<dyn TicketStore>,
    auth: Arc<dyn Authenticate>,
    agents: Arc<dyn AgentDirectory>,
}

#[tonic::async_trait]
impl TicketService for TicketGrpc {
    async fn list_tenants(
        &self,
        request: Request<pb::ListTenantsRequest>,
    ) -> Result<Response<pb::ListTenantsResponse>, Status> {
        let caller = self.caller(&request, Scope::Read).await?;
        let tenants = self.store.list_tenants().await?;
        Ok(Response::new(pb::ListTenantsResponse {
            tenants: tenants
                .into_iter()
                .filter(|t| caller.belongs_to(t.id))
                .map(tenant_to_pb)
                .collect(),
        }))
    }

    async fn create_queue(
        &self,
        request: Request<pb::CreateQueueRequest>,
    ) -> Result<Response<pb::Queue>, Status> {
        let (caller, tenant_id, r) = self.tenant_admin(request, |r| &r.tenant_id).await?;
        let follow_up = if r.follow_up == i32::from(pb::FollowUp::Unspecified) {
            FollowUp::Reopen
        } else {
            FollowUp::from_pb(r.follow_up)?
        };
        let mut queue = NewQueue::parse(tenant_id, &r.name, parse_id(&r.group_id)?, r.portal)?
            .with(&r.signature, follow_up, addresses_from_pb(&r.addresses)?)?;
        if r.automatic_mail != i32::from(pb::AutomaticMail::Unspecified) {
            queue.automatic_mail = AutomaticMail::from_pb(r.automatic_mail)?;
        }
        let queue = self.store.create_queue(queue, &caller.actor).await?;
        Ok(Response::new(queue_to_pb(queue)))
    }

    async fn update_queue(
        &self,
        request: Request<pb::UpdateQueueRequest>,
    ) -> Result<Response<pb::Queue>, Status> {
        let caller = self.caller(&request, Scope::Write).await?;
        let r = request.into_inner();
        let queue = self.store.get_queue(parse_id(&r.queue_id)?).await?;
        if caller.is_customer() || !caller.belongs_to(queue.tenant_id) {
            return Err(TicketError::not_found("queue", queue.id).into());
        }
        caller.require_admin_of(queue.tenant_id)?;
        let change = QueueChange::parse(
            r.group_id.as_deref().map(parse_id).transpose()?,
            r.portal,
            r.signature.as_deref(),
            r.follow_up.map(FollowUp::from_pb).transpose()?,
            r.automatic_mail.map(AutomaticMail::from_pb).transpose()?,
            r.set_addresses
                .then(|| addresses_from_pb(&r.addresses))
                .transpose()?,
        )?;
        let queue = self
            .store
            .update_queue(queue.id, change, &caller.actor)
            .await?;
        Ok(Response::new(queue_to_pb(queue)))
    }

    async fn resolve_address(
        &self,
        request: Request<pb::ResolveAddressRequest>,
    ) -> Result<Response<pb::Queue>, Status> {
        let caller = self.caller(&request, Scope::Read).await?;
        if !caller.administers_installation() {
            return Err(
                TicketError::denied("resolving mail addresses is for the mail service").into(),
            );
        }
        let address = EmailAddress::parse(&request.into_inner().address)?;
        let queue = self
            .store
            .queue_by_address(&address)
            .await?
            .ok_or_else(|| TicketError::not_found("queue with address", address.as_str()))?;
        Ok(Response::new(queue_to_pb(queue)))
    }

    async fn record_delivery(
        &self,
        request: Request<pb::RecordDeliveryRequest>,
    ) -> Result<Response<pb::Article>, Status> {
        let caller = self.caller(&request, Scope::Write).await?;
        if !caller.is_service() {
            return Err(TicketError::denied("only the mail service reports deliveries").into());
        }
        let r = request.into_inner();
        let delivery = delivery_from_pb(
            r.delivery
                .ok_or_else(|| TicketError::invalid("delivery is required"))?,
        )?;
        let article = self
            .store
            .record_delivery(parse_id(&r.article_id)?, delivery, &caller.actor)
            .await?;
        Ok(Response::new(article_to_pb(article)))
    }

    async fn list_queues(
        &self,
        request: Request<pb::ListQueuesRequest>,
    ) -> Result<Response<pb::ListQueuesResponse>, Status> {
        let caller = self.caller(&request, Scope::Read).await?;
        let tenant = optional_id(&request.into_inner().tenant_id)?;
        let queues = self.store.list_queues(tenant).await?;
        Ok(Response::new(pb::ListQueuesResponse {
            queues: queues
                .into_iter()
                .filter(|q| caller.sees_queue(q))
                .map(queue_to_pb)
                .collect(),
        }))
    }

    async fn queue_overview(
        &self,
        request: Request<pb::QueueOverviewRequest>,
    ) -> Result<Response<pb::QueueOverviewResponse>, Status> {
        tickets::queue_overview(self, request).await
    }

    async fn create_service(
        &self,
        request: Request<pb::CreateCatalogueEntryRequest>,
    ) -> Result<Response<pb::CatalogueEntry>, Status> {
        self.create_entry(Catalogue::Services, request).await
    }

    async fn list_services(
        &self,
        request: Request<pb::ListCatalogueRequest>,
    ) -> Result<Response<pb::ListCatalogueResponse>, Status> {
        self.list_entries(Catalogue::Services, request).await
    }

    async fn create_ticket_type(
        &self,
        request: Request<pb::CreateCatalogueEntryRequest>,
    ) -> Result<Response<pb::CatalogueEntry>, Status> {
        self.create_entry(Catalogue::TicketTypes, request).await
    }

    async fn list_ticket_types(
        &self,
        request: Request<pb::ListCatalogueRequest>,
    ) -> Result<Response<pb::ListCatalogueResponse>, Status> {
        self.list_entries(Catalogue::TicketTypes, request).await
    }

    async fn create_ticket(
        &self,
        request: Request<pb::CreateTicketRequest>,
    ) -> Result<Response<pb::Ticket>, Status> {
        tickets::create_ticket(self, request).await
    }

    async fn get_ticket(
        &self,
        request: Request<pb::GetTicketRequest>,
    ) -> Result<Response<pb::Ticket>, Status> {
        tickets::get_ticket(self, request).await
    }

    async fn list_tickets(
        &self,
        request: Request<pb::ListTicketsRequest>,
    ) -> Result<Response<pb::ListTicketsResponse>, Status> {
        let caller = self.caller(&request, Scope::Read).await?;
        let r = request.into_inner();
        let sort = sort_from_pb(r.sort)?.unwrap_or_default();
        let queue_id = optional_id(&r.queue_id)?;
        if let Some(queue_id) = queue_id {
            let queue = self.store.get_queue(queue_id).await?;
            if !caller.sees_queue(&queue) {
                return Err(TicketError::not_found("queue", queue_id).into());
            }
        }
        let query = TicketListQuery {
            filter: TicketFilter {
                queue_ids: queue_id.into_iter().collect(),
                ..TicketFilter::default()
            },
            visibility: caller.visibility(),
            sort,
            descending: r.descending,
            page_size: r.page_size,
            page_token: (!r.page_token.is_empty()).then_some(r.page_token),
        };
        self.page(&caller, &query).await
    }

    async fn search_tickets(
        &self,
        request: Request<pb::SearchTicketsRequest>,
    ) -> Result<Response<pb::ListTicketsResponse>, Status> {
        tickets::search_tickets(self, request).await
    }

    async fn list_views(
        &self,
        request: Request<pb::ListViewsRequest>,
    ) -> Result<Response<pb::ListViewsResponse>, Status> {
        let caller = self.caller(&request, Scope::Read).await?;
        let agent = caller
            .agent_id()
            .ok_or_else(|| TicketError::denied("views are for agents"))?;
        let mut views = Vec::new();
        for view in View::ALL {
            views.push(self.view(&caller, view.key()).await?);
        }
        views.extend(
            self.store
                .saved_searches(agent)
                .await?
                .into_iter()
                .map(ResolvedView::saved),
        );
        Ok(Response::new(pb::ListViewsResponse {
            views: views.into_iter().map(ResolvedView::into_pb).collect(),
        }))
    }

    async fn save_search(
        &self,
        request: Request<pb::SaveSearchRequest>,
    ) -> Result<Response<pb::View>, Status> {
        let caller = self.caller(&request, Scope::Write).await?;
        let agent = caller
            .agent_id()
            .ok_or_else(|| TicketError::denied("saved searches are for agents"))?;
        let r = request.into_inner();
        let search = NewSavedSearch::parse(
            agent,
            &r.name,
            filter_from_pb(r.filter.unwrap_or_default())?,
            sort_from_pb(r.sort)?.unwrap_or_default(),
            r.descending,
        )?;
        let saved = self.store.save_search(search).await?;
        Ok(Response::new(ResolvedView::saved(saved).into_pb()))
    }

    async fn delete_saved_search(
        &self,
        request: Request<pb::DeleteSavedSearchRequest>,
    ) -> Result<Response<pb::DeleteSavedSearchResponse>, Status> {
        let caller = self.caller(&request, Scope::Write).await?;
        let agent = caller
            .agent_id()
            .ok_or_else(|| TicketError::denied("saved searches are for agents"))?;
        let id = parse_id(&request.into_inner().id)?;
        self.store.delete_saved_search(id, agent).await?;
        Ok(Response::new(pb::DeleteSavedSearchResponse {}))
    }

    async fn add_article(
        &self,
        request: Request<pb::AddArticleRequest>,
    ) -> Result<Response<pb::Article>, Status> {
        articles::add_article(self, request).await
    }

    async fn list_articles(
        &self,
        request: Request<pb::ListArticlesRequest>,
    ) -> Result<Response<pb::ListArticlesResponse>, Status> {
        let caller = self.caller(&request, Scope::Read).await?;
        let id = parse_id(&request.into_inner().ticket_id)?;
        let (ticket, _) = self.visible_ticket(&caller, id).await?;
        let articles = self
            .store
            .list_articles(ticket.id, caller.is_customer())
            .await?;
        Ok(Response::new(pb::ListArticlesResponse {
            articles: articles.into_iter().map(article_to_pb).collect(),
        }))
    }

    async fn get_attachment(
        &self,
        request: Request<pb::GetAttachmentRequest>,
    ) -> Result<Response<pb::AttachmentContent>, Status> {
        articles::get_attachment(self, request).await
    }

    async fn update_ticket(
        &self,
        request: Request<pb::UpdateTicketRequest>,
    ) -> Result<Response<pb::Ticket>, Status> {
        let caller = self.caller(&request, Scope::Write).await?;
        let mut readers = Readers::of(&request);
        let r = request.into_inner();
        let update = update_from_pb(&r)?;
        let ticket = self
            .update_one(&caller, &mut readers, parse_id(&r.ticket_id)?, update)
            .await?;
        Ok(Response::new(ticket_to_pb(ticket)))
    }

    async fn bulk_update_tickets(
        &self,
        request: Request<pb::BulkUpdateTicketsRequest>,
    ) -> Result<Response<pb::BulkUpdateTicketsResponse>, Status> {
        tickets::bulk_update_tickets(self, request).await
    }

    async fn merge_tickets(
        &self,
        request: Request<pb::MergeTicketsRequest>,
    ) -> Result<Response<pb::MergeTicketsResponse>, Status> {
        links::merge_tickets(self, request).await
    }

    async fn split_article(
        &self,
        request: Request<pb::SplitArticleRequest>,
    ) -> Result<Response<pb::Ticket>, Status> {
        links::split_article(self, request).await
    }

    async fn define_field(
        &self,
        request: Request<pb::DefineFieldRequest>,
    ) -> Result<Response<pb::CustomField>, Status> {
        let (caller, tenant_id, r) = self.tenant_admin(request, |r| &r.tenant_id).await?;
        let field = NewField::parse(
            tenant_id,
            &r.key,
            &r.label,
            FieldKind::from_pb(r.kind)?,
            r.options,
            ids_from_pb(&r.queue_ids)?,
        )?;
        let field = self.store.define_field(field, &caller.actor).await?;
        Ok(Response::new(field_to_pb(field)))
    }

    async fn list_fields(
        &self,
        request: Request<pb::ListFieldsRequest>,
    ) -> Result<Response<pb::ListFieldsResponse>, Status> {
        let caller = self.caller(&request, Scope::Read).await?;
        let tenant_id = parse_id(&request.into_inner().tenant_id)?;
        caller.require_agent_of(tenant_id)?;
        let fields = self.store.list_fields(tenant_id).await?;
        Ok(Response::new(pb::ListFieldsResponse {
            fields: fields.into_iter().map(field_to_pb).collect(),
        }))
    }

    async fn set_ticket_fields(
        &self,
        request: Request<pb::SetTicketFieldsRequest>,
    ) -> Result<Response<pb::TicketFieldsResponse>, Status> {
        let caller = self.caller(&request, Scope::Write).await?;
        let r = request.into_inner();
        let (ticket, queue) = self
            .visible_ticket(&caller, parse_id(&r.ticket_id)?)
            .await?;
        caller.require_may(&ticket, &queue, Permission::Rw)?;
        let values = r.values.into_iter().map(|v| (v.key, v.values)).collect();
        let values = self
            .store
            .set_fields(ticket.id, values, &caller.actor)
            .await?;
        Ok(Response::new(pb::TicketFieldsResponse {
            values: values.into_iter().map(field_value_to_pb).collect(),
        }))
    }

    async fn tag_ticket(
        &self,
        request: Request<pb::TagTicketRequest>,
    ) -> Result<Response<pb::TagTicketResponse>, Status> {
        let caller = self.caller(&request, Scope::Write).await?;
        let r = request.into_inner();
        let (ticket, queue) = self
            .visible_ticket(&caller, parse_id(&r.ticket_id)?)
            .await?;
        caller.require_may(&ticket, &queue, Permission::Rw)?;
        let parse = |list: &[String]| -> Result<Vec<Tag>, TicketError> {
            list.iter().map(|t| Tag::parse(t)).collect()
        };
        let tags = self
            .store
            .tag(ticket.id, parse(&r.add)?, parse(&r.remove)?, &caller.actor)
            .await?;
        Ok(Response::new(pb::TagTicketResponse {
            tags: tags.into_iter().map(String::from).collect(),
        }))
    }

    async fn create_template(
        &self,
        request: Request<pb::CreateTemplateRequest>,
    ) -> Result<Response<pb::Template>, Status> {
        let (caller, tenant_id, r) = self.tenant_admin(request, |r| &r.tenant_id).await?;
        let template = NewTemplate::parse(
            tenant_id,
            &r.name,
            TemplateKind::from_pb(r.kind)?,
            &r.subject,
            &r.body,
            ids_from_pb(&r.queue_ids)?,
        )?
        .in_language(&r.language)?;
        let template = self.store.create_template(template, &caller.actor).await?;
        Ok(Response::new(template_to_pb(template)))
    }

    async fn list_templates(
        &self,
        request: Request<pb::ListTemplatesRequest>,
    ) -> Result<Response<pb::ListTemplatesResponse>, Status> {
        let caller = self.caller(&request, Scope::Read).await?;
        let r = request.into_inner();
        if caller.is_customer() {
            return Err(TicketError::denied("templates are for agents").into());
        }
        let (tenant_id, queue) = match optional_id::<TicketId>(&r.ticket_id)? {
            Some(id) => {
                let (ticket, queue) = self.visible_ticket(&caller, id).await?;
                (ticket.tenant_id, Some(queue.id))
            }
            None => (parse_id(&r.tenant_id)?, None),
        };
        caller.require_agent_of(tenant_id)?;
        let templates = self.store.list_templates(tenant_id, queue).await?;
        Ok(Response::new(pb::ListTemplatesResponse {
            templates: templates.into_iter().map(template_to_pb).collect(),
        }))
    }

    async fn update_template(
        &self,
        request: Request<pb::UpdateTemplateRequest>,
    ) -> Result<Response<pb::Template>, Status> {
        let caller = self.caller(&request, Scope::Write).await?;
        let r = request.into_inner();
        let id: TemplateId = parse_id(&r.id)?;
        let before = self.store.get_template(id).await?;
        if caller.is_customer() || !caller.belongs_to(before.tenant_id) {
            return Err(TicketError::not_found("template", id).into());
        }
        caller.require_admin_of(before.tenant_id)?;
        let template = NewTemplate::parse(
            before.tenant_id,
            &r.name,
            TemplateKind::from_pb(r.kind)?,
            &r.subject,
            &r.body,
            ids_from_pb(&r.queue_ids)?,
        )?
        .in_language(&r.language)?;
        let template = self
            .store
            .update_template(id, template, &caller.actor)
            .await?;
        Ok(Response::new(template_to_pb(template)))
    }

    async fn delete_template(
        &self,
        request: Request<pb::DeleteTemplateRequest>,
    ) -> Result<Response<pb::DeleteTemplateResponse>, Status> {
        let caller = self.caller(&request, Scope::Write).await?;
        let id: TemplateId = parse_id(&request.into_inner().id)?;
        let template = self.store.get_template(id).await?;
        if caller.is_customer() || !caller.belongs_to(template.tenant_id) {
            return Err(TicketError::not_found("template", id).into());
        }
        caller.require_admin_of(template.tenant_id)?;
        self.store.delete_template(id, &caller.actor).await?;
        Ok(Response::new(pb::DeleteTemplateResponse {}))
    }

    async fn render_template(
        &self,
        request: Request<pb::RenderTemplateRequest>,
    ) -> Result<Response<pb::RenderedTemplate>, Status> {
        let caller = self.caller(&request, Scope::Read).await?;
        let r = request.into_inner();
        if caller.is_customer() {
            return Err(TicketError::denied("templates are for agents").into());
        }
        let (ticket, queue) = self
            .visible_ticket(&caller, parse_id(&r.ticket_id)?)
            .await?;
        let id: TemplateId = parse_id(&r.template_id)?;
        let template = self.store.get_template(id).await?;
        if template.tenant_id != ticket.tenant_id || !template.offered_in(queue.id) {
            return Err(TicketError::not_found("template", id).into());
        }
        let (subject, body) = template.render(&ticket, &queue, &caller.actor);
        Ok(Response::new(pb::RenderedTemplate { subject, body }))
    }

    async fn get_retention_policy(
        &self,
        request: Request<pb::RetentionPolicyRequest>,
    ) -> Result<Response<pb::RetentionPolicy>, Status> {
        let caller = self.caller(&request, Scope::Read).await?;
        let tenant_id = parse_id(&request.into_inner().tenant_id)?;
        caller.require_admin_of(tenant_id)?;
        let policy = self.store.retention_policy(tenant_id).await?;
        Ok(Response::new(policy_to_pb(tenant_id, policy)))
    }

    async fn set_retention_policy(
        &self,
        request: Request<pb::RetentionPolicy>,
    ) -> Result<Response<pb::RetentionPolicy>, Status> {
        let (caller, tenant_id, r) = self.tenant_admin(request, |r| &r.tenant_id).await?;
        let policy = RetentionPolicy::parse(r.days, r.action.trim().parse::<RetentionAction>()?)?;
        self.store
            .set_retention_policy(tenant_id, policy, &caller.actor)
            .await?;
        Ok(Response::new(policy_to_pb(tenant_id, policy)))
    }

    async fn set_retention_hold(
        &self,
        request: Request<pb::SetRetentionHoldRequest>,
    ) -> Result<Response<pb::Ticket>, Status> {
        let caller = self.caller(&request, Scope::Write).await?;
        let r = request.into_inner();
        let (ticket, _) = self
            .visible_ticket(&caller, parse_id(&r.ticket_id)?)
            .await?;
        if caller.is_customer() {
            return Err(TicketError::denied("holds are set by the tenant's administrators").into());
        }
        caller.require_admin_of(ticket.tenant_id)?;
        let ticket = self
            .store
            .set_retention_hold(
                ticket.id,
                r.legal_hold,
                r.retention_objection,
                &caller.actor,
            )
            .await?;
        Ok(Response::new(ticket_to_pb(ticket)))
    }

    async fn run_retention(
        &self,
        request: Request<pb::RunRetentionRequest>,
    ) -> Result<Response<pb::RetentionRun>, Status> {
        let caller = self.caller(&request, Scope::Admin).await?;
        if !caller.administers_installation() {
            return Err(
                TicketError::denied("retention runs are for installation administrators").into(),
            );
        }
        let run = self
            .store
            .run_retention(
                docket_platform::time::now_micros(),
                request.into_inner().dry_run,
                &caller.actor,
            )
            .await?;
        Ok(Response::new(run_to_pb(run)))
    }

    async fn list_retention_runs(
        &self,
        request: Request<pb::ListRetentionRunsRequest>,
    ) -> Result<Response<pb::ListRetentionRunsResponse>, Status> {
        let caller = self.caller(&request, Scope::Admin).await?;
        if !caller.administers_installation() {
            return Err(TicketError::denied(
                "the retention log is for installation administrators",
            )
            .into());
        }
        let limit = match request.into_inner().limit {
            0 => 50,
            n => n.min(500),
        };
        let runs = self.store.retention_runs(limit).await?;
        Ok(Response::new(pb::ListRetentionRunsResponse {
            runs: runs.into_iter().map(run_to_pb).collect(),
        }))
    }

    async fn define_state(
        &self,
        request: Request<pb::DefineStateRequest>,
    ) -> Result<Response<pb::CustomState>, Status> {
        let (caller, tenant_id, r) = self.tenant_admin(request, |r| &r.tenant_id).await?;
        let state = self
            .store
            .define_state(
                tenant_id,
                &r.name,
                TicketState::from_pb(r.base)?,
                &caller.actor,
            )
            .await?;
        Ok(Response::new(custom_state_to_pb(state)))
    }

    async fn list_states(
        &self,
        request: Request<pb::ListStatesRequest>,
    ) -> Result<Response<pb::ListStatesResponse>, Status> {
        let caller = self.caller(&request, Scope::Read).await?;
        let tenant = request.into_inner().tenant_id;
        let states = if tenant.is_empty() {
            if caller.is_customer() {
                return Err(TicketError::denied("the states are for agents").into());
            }
            Vec::new()
        } else {
            let tenant_id = parse_id(&tenant)?;
            caller.require_agent_of(tenant_id)?;
            self.store.custom_states(tenant_id).await?
        };
        Ok(Response::new(pb::ListStatesResponse {
            states: states.into_iter().map(custom_state_to_pb).collect(),
            built_in: TicketState::SETTABLE
                .into_iter()
                .map(|s| pb::BuiltInState {
                    state: i32::from(s.to_pb()),
                    state_type: i32::from(s.state_type().to_pb()),
                    needs_pending_until: s.is_pending(),
                })
                .collect(),
        }))
    }

    async fn link_tickets(
        &self,
        request: Request<pb::LinkTicketsRequest>,
    ) -> Result<Response<pb::LinkTicketsResponse>, Status> {
        self.change_link(request, true).await
    }

    async fn unlink_tickets(
        &self,
        request: Request<pb::LinkTicketsRequest>,
    ) -> Result<Response<pb::LinkTicketsResponse>, Status> {
        self.change_link(request, false).await
    }

    async fn list_links(
        &self,
        request: Request<pb::ListLinksRequest>,
    ) -> Result<Response<pb::ListLinksResponse>, Status> {
        links::list_links(self, request).await
    }

    async fn set_collaborator(
        &self,
        request: Request<pb::SetCollaboratorRequest>,
    ) -> Result<Response<pb::SetCollaboratorResponse>, Status> {
        let caller = self.caller(&request, Scope::Write).await?;
        let mut readers = Readers::of(&request);
        let r = request.into_inner();
        let (ticket, queue) = self
            .visible_ticket(&caller, parse_id(&r.ticket_id)?)
            .await?;
        caller.require_may(&ticket, &queue, Permission::Rw)?;
        let agent = parse_id(&r.agent_id)?;
        if r.collaborate {
            // Removing anybody is fine; adding, only an agent who may read the ticket's queue.
            let named = [(NamedAs::Collaborator, agent)];
            self.check_named(&caller, &mut readers, &queue, &named)
                .await?;
        }
        let changed = self
            .store
            .collaborate(ticket.id, agent, r.collaborate, &caller.actor)
            .await?;
        Ok(Response::new(pb::SetCollaboratorResponse { changed }))
    }

    async fn list_collaborators(
        &self,
        request: Request<pb::ListCollaboratorsRequest>,
    ) -> Result<Response<pb::ListCollaboratorsResponse>, Status> {
        let ticket_id = request.get_ref().ticket_id.clone();
        let agent_ids = self
            .agents(&request, &ticket_id, Agents::Collaborators)
            .await?;
        Ok(Response::new(pb::ListCollaboratorsResponse { agent_ids }))
    }

    async fn watch_ticket(
        &self,
        request: Request<pb::WatchTicketRequest>,
    ) -> Result<Response<pb::WatchTicketResponse>, Status> {
        let caller = self.caller(&request, Scope::Write).await?;
        let r = request.into_inner();
        let (ticket, _) = self
            .visible_ticket(&caller, parse_id(&r.ticket_id)?)
            .await?;
        let agent = caller
            .agent_id()
            .ok_or_else(|| TicketError::denied("only agents watch tickets"))?;
        let changed = self.store.watch(ticket.id, agent, r.watch).await?;
        Ok(Response::new(pb::WatchTicketResponse { changed }))
    }

    async fn list_watchers(
        &self,
        request: Request<pb::ListWatchersRequest>,
    ) -> Result<Response<pb::ListWatchersResponse>, Status> {
        let ticket_id = request.get_ref().ticket_id.clone();
        let agent_ids = self.agents(&request, &ticket_id, Agents::Watchers).await?;
        Ok(Response::new(pb::ListWatchersResponse { agent_ids }))
    }

    async fn get_history(
        &self,
        request: Request<pb::GetHistoryRequest>,
    ) -> Result<Response<pb::GetHistoryResponse>, Status> {
        let caller = self.caller(&request, Scope::Read).await?;
        let id = parse_id(&request.into_inner().ticket_id)?;
        let (ticket, _) = self.visible_ticket(&caller, id).await?;
        if caller.is_customer() {
            return Err(TicketError::denied("a ticket's history is for agents").into());
        }
        let entries = self.store.history(ticket.id).await?;
        Ok(Response::new(pb::GetHistoryResponse {
            entries: entries
                .into_iter()
                .map(|e| pb::HistoryEntry {
                    seq: e.seq,
                    kind: e.kind,
                    actor: e.actor,
                    occurred_at_us: e.occurred_at,
                    details_json: e.details.to_string(),
                })
                .collect(),
        }))
    }
}
