//! The gRPC edge of ticket core: protobuf in, domain values out, and back. Every call is checked
//! against the caller's verified token here, with the rules of [`crate::access`].

mod checks;
mod convert;

use std::sync::Arc;

use docket_auth::Permission;
use docket_auth::remote::Authenticate;
use docket_proto::ticket::v1 as pb;
use docket_proto::ticket::v1::ticket_service_server::TicketService;
use tonic::{Request, Response, Status};

use crate::access::{Caller, Scope};
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
        let caller = self.caller(&request, Scope::Write).await?;
        let r = request.into_inner();
        let tenant_id = parse_id(&r.tenant_id)?;
        caller.require_admin_of(tenant_id)?;
        let follow_up = if r.follow_up.trim().is_empty() {
            FollowUp::Reopen
        } else {
            r.follow_up.trim().parse()?
        };
        let queue = NewQueue::parse(tenant_id, &r.name, parse_id(&r.group_id)?, r.portal)?.with(
            &r.signature,
            follow_up,
            addresses_from_pb(&r.addresses)?,
        )?;
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
            r.follow_up.as_deref().map(str::parse).transpose()?,
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
        let caller = self.caller(&request, Scope::Read).await?;
        if caller.is_customer() {
            return Err(TicketError::denied("the queue overview is for agents").into());
        }
        let tenant = optional_id(&request.into_inner().tenant_id)?;
        let queues: Vec<Queue> = self
            .store
            .list_queues(tenant)
            .await?
            .into_iter()
            .filter(|q| caller.sees_queue(q))
            .collect();
        let now = docket_platform::time::now_micros();
        let mut counts = Vec::new();
        let mut tenants: Vec<TenantId> = queues.iter().map(|q| q.tenant_id).collect();
        tenants.sort();
        tenants.dedup();
        for tenant_id in tenants {
            counts.extend(self.store.queue_counts(tenant_id, now).await?);
        }
        Ok(Response::new(pb::QueueOverviewResponse {
            queues: queues
                .into_iter()
                .map(|queue| {
                    let c = counts
                        .iter()
                        .find(|c| c.queue_id == queue.id)
                        .copied()
                        .unwrap_or_else(|| QueueCounts::new(queue.id));
                    pb::QueueCount {
                        queue: Some(queue_to_pb(queue)),
                        new: c.new,
                        open: c.open,
                        pending: c.pending,
                        escalated: c.escalated,
                    }
                })
                .collect(),
        }))
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
        let caller = self.caller(&request, Scope::Write).await?;
        let r = request.into_inner();
        let queue = self.store.get_queue(parse_id(&r.queue_id)?).await?;
        let new = if let Some((_, me, _)) = caller.customer() {
            // Customers open tickets for themselves, in portal queues, with what they wrote.
            if !caller.sees_queue(&queue) {
                return Err(TicketError::not_found("queue", queue.id).into());
            }
            if !r.parent_id.trim().is_empty() {
                return Err(TicketError::denied("customers cannot open sub-tickets").into());
            }
            let article = r.article.map(customer_article_from_pb).transpose()?;
            let service_id: Option<ServiceId> = optional_id(&r.service_id)?;
            if let Some(service) = service_id {
                // Only a service the portal offers; another is as unknown as a missing one.
                let offered = self
                    .store
                    .list_catalogue(Catalogue::Services, queue.tenant_id)
                    .await?
                    .iter()
                    .any(|e| e.portal && e.id == *service.as_uuid());
                if !offered {
                    return Err(TicketError::not_found("service", service).into());
                }
            }
            NewTicket {
                // The portal classifies what the customer chose (the store checks the tenant).
                type_id: optional_id(&r.type_id)?,
                service_id,
                desired_at: (r.desired_at_us != 0).then_some(r.desired_at_us),
                ..NewTicket::parse(queue.id, &r.title, None, "", Some(me), article)?
            }
        } else {
            caller.require_on_queue(&queue, Permission::Create)?;
            let article = r.article.map(new_article_from_pb).transpose()?;
            let parent_id = optional_id(&r.parent_id)?;
            if let Some(parent) = parent_id {
                // Splitting a case is working on it: rw on the parent.
                let (parent, parent_queue) = self.visible_ticket(&caller, parent).await?;
                caller.require_may(&parent, &parent_queue, Permission::Rw)?;
            }
            NewTicket {
                type_id: optional_id(&r.type_id)?,
                service_id: optional_id(&r.service_id)?,
                parent_id,
                desired_at: (r.desired_at_us != 0).then_some(r.desired_at_us),
                contact: r
                    .contact
                    .as_ref()
                    .map(contact_from_pb)
                    .transpose()?
                    .unwrap_or_default(),
                ..NewTicket::parse(
                    queue.id,
                    &r.title,
                    priority_from_pb(r.priority)?,
                    &r.customer,
                    optional_id(&r.customer_id)?,
                    article,
                )?
            }
        };
        let ticket = self.store.create_ticket(new, &caller.actor).await?;
        Ok(Response::new(ticket_to_pb(caller.redact(ticket))))
    }

    async fn get_ticket(
        &self,
        request: Request<pb::GetTicketRequest>,
    ) -> Result<Response<pb::Ticket>, Status> {
        let caller = self.caller(&request, Scope::Read).await?;
        let key = request.into_inner().ticket;
        let id = match key.parse::<TicketId>() {
            Ok(id) => id,
            Err(_) => match key.parse::<TicketNumber>() {
                Ok(number) => self.store.get_ticket_by_number(&number).await?.id,
                Err(_) => {
                    return Err(TicketError::invalid(format!(
                        "`{}` is neither a ticket id nor a ticket number",
                        key.chars().take(40).collect::<String>()
                    ))
                    .into());
                }
            },
        };
        let (ticket, queue) = self.visible_ticket(&caller, id).await?;
        let collaborates = self.collaborates(&caller, &ticket).await?;
        let actions = caller.actions(&ticket, &queue, collaborates);
        let mut out = ticket_to_pb(caller.redact(ticket));
        out.actions = Some(actions_to_pb(actions));
        if !caller.is_customer() {
            out.tags = self
                .store
                .tags(id)
                .await?
                .into_iter()
                .map(String::from)
                .collect();
            out.fields = self
                .store
                .field_values(id)
                .await?
                .into_iter()
                .map(field_value_to_pb)
                .collect();
        }
        Ok(Response::new(out))
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
        let caller = self.caller(&request, Scope::Read).await?;
        let r = request.into_inner();
        let mut filter = filter_from_pb(r.filter.unwrap_or_default())?;
        let mut sort = sort_from_pb(r.sort)?;
        let mut descending = r.descending;
        if caller.is_customer() {
            // Customers search their own tickets, by what they may see of them.
            let agent_only = filter.owner_id.is_some()
                || filter.responsible_id.is_some()
                || filter.watched_by.is_some()
                || filter.collaborator.is_some()
                || filter.locked.is_some()
                || !filter.tags.is_empty()
                || !filter.fields.is_empty()
                || !r.view.is_empty();
            if agent_only {
                return Err(TicketError::denied(
                    "views and the owner, responsible, watcher, lock, tag and field filters are for agents",
                )
                .into());
            }
        }
        if !r.view.trim().is_empty() {
            let view = self.view(&caller, r.view.trim()).await?;
            filter = view.filter.and(filter)?;
            if sort.is_none() {
                sort = Some(view.sort);
                descending = view.descending;
            }
        }
        let query = TicketListQuery {
            filter,
            visibility: caller.visibility(),
            sort: sort.unwrap_or_default(),
            descending,
            page_size: r.page_size,
            page_token: (!r.page_token.is_empty()).then_some(r.page_token),
        };
        self.page(&caller, &query).await
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
        let caller = self.caller(&request, Scope::Write).await?;
        let r = request.into_inner();
        let given = r
            .article
            .ok_or_else(|| TicketError::invalid("article is required"))?;
        let (ticket, queue) = self
            .visible_ticket(&caller, parse_id(&r.ticket_id)?)
            .await?;
        let article = if caller.is_customer() {
            customer_article_from_pb(given)?
        } else {
            let article = new_article_from_pb(given)?;
            // What the customer reads is an answer (rw); an internal note needs `note`, or
            // working the ticket jointly.
            if article.visible_to_customer {
                caller.require_may(&ticket, &queue, Permission::Rw)?;
            } else if !self.collaborates(&caller, &ticket).await? {
                caller.require_may(&ticket, &queue, Permission::Note)?;
            }
            article
        };
        let stored = self
            .store
            .add_article(ticket.id, article, &caller.actor)
            .await?;
        Ok(Response::new(article_to_pb(stored)))
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
        let caller = self.caller(&request, Scope::Read).await?;
        let id: AttachmentId = parse_id(&request.into_inner().attachment_id)?;
        let (ticket_id, article_id, meta, content) = self.store.attachment(id).await?;
        // Out of sight (another's ticket, an internal note's attachment for a customer) is unknown.
        let hidden = match self.visible_ticket(&caller, ticket_id).await {
            Ok(_) if caller.is_customer() => {
                !self
                    .store
                    .get_article(article_id)
                    .await?
                    .visible_to_customer
            }
            Ok(_) => false,
            Err(_) => true,
        };
        if hidden {
            return Err(TicketError::not_found("attachment", id).into());
        }
        Ok(Response::new(pb::AttachmentContent {
            attachment: Some(attachment_to_pb(meta)),
            ticket_id: ticket_id.to_string(),
            article_id: article_id.to_string(),
            content,
        }))
    }

    async fn update_ticket(
        &self,
        request: Request<pb::UpdateTicketRequest>,
    ) -> Result<Response<pb::Ticket>, Status> {
        let caller = self.caller(&request, Scope::Write).await?;
        let r = request.into_inner();
        let update = update_from_pb(&r)?;
        let ticket = self
            .update_one(&caller, parse_id(&r.ticket_id)?, update)
            .await?;
        Ok(Response::new(ticket_to_pb(ticket)))
    }

    async fn bulk_update_tickets(
        &self,
        request: Request<pb::BulkUpdateTicketsRequest>,
    ) -> Result<Response<pb::BulkUpdateTicketsResponse>, Status> {
        let caller = self.caller(&request, Scope::Write).await?;
        let r = request.into_inner();
        let fields = r
            .update
            .ok_or_else(|| TicketError::invalid("update is required"))?;
        if fields.expected_version.is_some() || !fields.ticket_id.is_empty() {
            return Err(TicketError::invalid(
                "a bulk update names its tickets in ticket_ids, without ticket_id or expected_version",
            )
            .into());
        }
        if r.ticket_ids.is_empty() || r.ticket_ids.len() > MAX_BULK {
            return Err(TicketError::invalid(format!(
                "a bulk update takes 1 to {MAX_BULK} tickets, not {}",
                r.ticket_ids.len()
            ))
            .into());
        }
        let update = update_from_pb(&fields)?;
        let ids = r
            .ticket_ids
            .iter()
            .map(|id| parse_id::<TicketId>(id))
            .collect::<Result<Vec<_>, _>>()?;
        // Each ticket on its own: checked, changed and recorded as if updated alone.
        let mut outcomes = Vec::with_capacity(ids.len());
        for id in ids {
            outcomes.push(outcome(
                id,
                self.update_one(&caller, id, update.clone()).await,
            ));
        }
        Ok(Response::new(pb::BulkUpdateTicketsResponse { outcomes }))
    }

    async fn merge_tickets(
        &self,
        request: Request<pb::MergeTicketsRequest>,
    ) -> Result<Response<pb::MergeTicketsResponse>, Status> {
        let caller = self.caller(&request, Scope::Write).await?;
        let r = request.into_inner();
        if r.source_ticket_ids.is_empty() || r.source_ticket_ids.len() > MAX_BULK {
            return Err(TicketError::invalid(format!(
                "a merge takes 1 to {MAX_BULK} tickets, not {}",
                r.source_ticket_ids.len()
            ))
            .into());
        }
        let sources = r
            .source_ticket_ids
            .iter()
            .map(|id| parse_id::<TicketId>(id))
            .collect::<Result<Vec<_>, _>>()?;
        let (target, target_queue) = self
            .visible_ticket(&caller, parse_id(&r.target_ticket_id)?)
            .await?;
        if caller.is_customer() {
            return Err(TicketError::denied("customers cannot merge tickets").into());
        }
        caller.require_may(&target, &target_queue, Permission::Rw)?;
        let mut outcomes = Vec::with_capacity(sources.len());
        for id in sources {
            let merged = async {
                let (source, queue) = self.visible_ticket(&caller, id).await?;
                caller.require_may(&source, &queue, Permission::Rw)?;
                self.store
                    .merge_tickets(source.id, target.id, &caller.actor)
                    .await?;
                self.store.get_ticket(source.id).await
            };
            outcomes.push(outcome(id, merged.await.map(|t| caller.redact(t))));
        }
        let target = self.store.get_ticket(target.id).await?;
        Ok(Response::new(pb::MergeTicketsResponse {
            target: Some(ticket_to_pb(caller.redact(target))),
            outcomes,
        }))
    }

    async fn split_article(
        &self,
        request: Request<pb::SplitArticleRequest>,
    ) -> Result<Response<pb::Ticket>, Status> {
        let caller = self.caller(&request, Scope::Write).await?;
        let r = request.into_inner();
        let article = self.store.get_article(parse_id(&r.article_id)?).await;
        // An article of a ticket out of sight is as unknown as one that does not exist.
        let article = match article {
            Ok(a) if self.visible_ticket(&caller, a.ticket_id).await.is_ok() => a,
            _ => return Err(TicketError::not_found("article", r.article_id.trim()).into()),
        };
        let (ticket, queue) = self.visible_ticket(&caller, article.ticket_id).await?;
        caller.require_may(&ticket, &queue, Permission::Rw)?;
        let target = self.store.get_queue(parse_id(&r.queue_id)?).await?;
        if target.tenant_id != ticket.tenant_id {
            return Err(TicketError::not_found("queue", target.id).into());
        }
        caller.require_on_queue(&target, Permission::Create)?;
        let new = NewTicket {
            type_id: ticket.type_id,
            service_id: ticket.service_id,
            ..NewTicket::parse(
                target.id,
                &r.title,
                priority_from_pb(r.priority)?.or(Some(ticket.priority)),
                ticket.customer.as_deref().unwrap_or_default(),
                ticket.customer_id,
                None,
            )?
        };
        let created = self
            .store
            .split_article(article.id, new, &caller.actor)
            .await?;
        Ok(Response::new(ticket_to_pb(caller.redact(created))))
    }

    async fn define_field(
        &self,
        request: Request<pb::DefineFieldRequest>,
    ) -> Result<Response<pb::CustomField>, Status> {
        let caller = self.caller(&request, Scope::Write).await?;
        let r = request.into_inner();
        let tenant_id = parse_id(&r.tenant_id)?;
        caller.require_admin_of(tenant_id)?;
        let field = NewField::parse(
            tenant_id,
            &r.key,
            &r.label,
            r.kind.trim().parse::<FieldKind>()?,
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
        let caller = self.caller(&request, Scope::Write).await?;
        let r = request.into_inner();
        let tenant_id = parse_id(&r.tenant_id)?;
        caller.require_admin_of(tenant_id)?;
        let template = NewTemplate::parse(
            tenant_id,
            &r.name,
            r.kind.trim().parse::<TemplateKind>()?,
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
            r.kind.trim().parse::<TemplateKind>()?,
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
        let caller = self.caller(&request, Scope::Write).await?;
        let r = request.into_inner();
        let tenant_id = parse_id(&r.tenant_id)?;
        caller.require_admin_of(tenant_id)?;
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
        let caller = self.caller(&request, Scope::Write).await?;
        let r = request.into_inner();
        let tenant_id = parse_id(&r.tenant_id)?;
        caller.require_admin_of(tenant_id)?;
        let state = self
            .store
            .define_state(tenant_id, &r.name, state_from_pb(r.base)?, &caller.actor)
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
                    state: state_to_pb(s).into(),
                    state_type: s.state_type().to_string(),
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
        let caller = self.caller(&request, Scope::Read).await?;
        let id = parse_id(&request.into_inner().ticket_id)?;
        let (ticket, _) = self.visible_ticket(&caller, id).await?;
        let mut links = Vec::new();
        for link in self.store.links(ticket.id).await? {
            // Only what the caller sees of the linked tickets.
            if self.visible_ticket(&caller, link.ticket_id).await.is_err() {
                continue;
            }
            links.push(pb::LinkedTicket {
                relation: link.relation.to_string(),
                ticket_id: link.ticket_id.to_string(),
                number: link.number.to_string(),
                title: link.title,
                state: state_to_pb(link.state).into(),
                state_type: link.state.state_type().to_string(),
                done: link.state.is_final(),
                queue_id: link.queue_id.to_string(),
                owner_id: if caller.is_customer() {
                    String::new()
                } else {
                    opt_text(link.owner_id)
                },
            });
        }
        Ok(Response::new(pb::ListLinksResponse { links }))
    }

    async fn set_collaborator(
        &self,
        request: Request<pb::SetCollaboratorRequest>,
    ) -> Result<Response<pb::SetCollaboratorResponse>, Status> {
        let caller = self.caller(&request, Scope::Write).await?;
        let r = request.into_inner();
        let (ticket, queue) = self
            .visible_ticket(&caller, parse_id(&r.ticket_id)?)
            .await?;
        caller.require_may(&ticket, &queue, Permission::Rw)?;
        let changed = self
            .store
            .collaborate(
                ticket.id,
                parse_id(&r.agent_id)?,
                r.collaborate,
                &caller.actor,
            )
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
