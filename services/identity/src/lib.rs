//! Identity and access: who may log in, how, and what each agent and customer may see and do.

pub mod ldap;
pub mod totp;
