//! What ticket core keeps of the identity service's data, from its events: tenants (with their
//! default queues), groups and customer users. Applied once per event through the inbox, so a
//! redelivered event changes nothing.

use std::sync::Arc;

use async_trait::async_trait;
use docket_bus::{Delivery, Handler, HandlerError, Subscription};
use docket_proto::events::v1 as ev;
use prost::Message as _;

use crate::domain::*;
use crate::error::TicketError;
use crate::storage::{CONSUMER, TicketStore};

/// The events ticket core consumes.
pub fn subscription() -> Subscription {
    Subscription::new(
        CONSUMER,
        &["tenant.created", "group.created", "customer.changed"],
    )
}

/// Applies identity events to the store.
pub struct IdentityEvents {
    store: Arc<dyn TicketStore>,
}

impl IdentityEvents {
    pub fn new(store: Arc<dyn TicketStore>) -> Self {
        Self { store }
    }
}

fn reject(what: &str, e: impl std::fmt::Display) -> HandlerError {
    HandlerError::Reject(format!("{what}: {e}"))
}

fn group(g: ev::GroupCreated) -> Result<Group, HandlerError> {
    Ok(Group {
        id: g.group_id.parse().map_err(|e| reject("group id", e))?,
        tenant_id: g.tenant_id.parse().map_err(|e| reject("tenant id", e))?,
        name: g.name,
    })
}

fn outcome(result: Result<bool, TicketError>) -> Result<(), HandlerError> {
    match result {
        Ok(_) => Ok(()),
        // Bad data never becomes good: dead-letter it. Everything else may pass: retry.
        Err(e @ (TicketError::InvalidArgument(_) | TicketError::AlreadyExists(_))) => {
            Err(HandlerError::Reject(e.to_string()))
        }
        Err(e) => Err(HandlerError::Retry(e.to_string())),
    }
}

#[async_trait]
impl Handler for IdentityEvents {
    async fn handle(&self, delivery: &Delivery) -> Result<(), HandlerError> {
        let envelope = &delivery.envelope;
        let payload = envelope.payload.as_slice();
        let event_id = envelope.event_id.as_str();
        match envelope.event_type.as_str() {
            "tenant.created" => {
                let t = ev::TenantCreated::decode(payload).map_err(|e| reject("payload", e))?;
                let tenant = Tenant {
                    id: t.tenant_id.parse().map_err(|e| reject("tenant id", e))?,
                    slug: t.slug,
                    name: t.name,
                    created_at: envelope.occurred_at_us,
                };
                let groups = t.groups.into_iter().map(group).collect::<Result<_, _>>()?;
                outcome(self.store.project_tenant(event_id, tenant, groups).await)
            }
            "group.created" => {
                let g = ev::GroupCreated::decode(payload).map_err(|e| reject("payload", e))?;
                outcome(self.store.project_group(event_id, group(g)?).await)
            }
            "customer.changed" => {
                let c = ev::CustomerChanged::decode(payload).map_err(|e| reject("payload", e))?;
                let customer = CustomerRecord {
                    id: c
                        .customer_id
                        .parse()
                        .map_err(|e| reject("customer id", e))?,
                    tenant_id: c.tenant_id.parse().map_err(|e| reject("tenant id", e))?,
                    company_id: if c.company_id.is_empty() {
                        None
                    } else {
                        Some(c.company_id.parse().map_err(|e| reject("company id", e))?)
                    },
                    contact: Contact {
                        name: c.name,
                        email: c.email,
                        phone: c.phone,
                        organisation: c.company_name,
                    },
                };
                outcome(self.store.project_customer(event_id, customer).await)
            }
            // Not ours (a pattern broader than needed, or a newer event type): nothing to do.
            _ => Ok(()),
        }
    }
}
