//! The services' clients bound to their caller: every call carries the caller's token and
//! trace context ([`crate::AsCaller`]). The ticket service and the identity administration have
//! a typed facade each, with a short method for the calls the gateway makes from several
//! places; every other call is the generated client's own, reached through `Deref`.

mod identity_admin;
mod tickets;

pub use identity_admin::IdentityAdminApi;
pub use tickets::TicketApi;
