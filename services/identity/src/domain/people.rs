//! Agents, customers and their companies, what a customer update changes, and agents' absences.

use super::*;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agent {
    pub id: AgentId,
    pub login: Login,
    pub name: String,
    pub email: Option<String>,
    pub source: Source,
    pub active: bool,
    pub totp_enabled: bool,
    /// Administers the installation: creates tenants, administers every tenant.
    pub installation_admin: bool,
    pub created_at: Micros,
}

/// An agent's place in one tenant: its roles there and its own permissions on the tenant's groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Membership {
    pub tenant_id: TenantId,
    pub role_ids: Vec<RoleId>,
    pub permissions: BTreeMap<GroupId, PermSet>,
}

#[derive(Debug, Clone)]
pub struct NewAgent {
    pub login: Login,
    pub name: String,
    pub email: Option<String>,
    /// Local accounts have a password; LDAP accounts none.
    pub password: Option<NewPassword>,
}

impl NewAgent {
    /// A local agent logs in with a password we keep; a directory's agent needs none of ours.
    pub fn check_source(&self, source: Source) -> Result<(), IdentityError> {
        if source == Source::Local && self.password.is_none() {
            return Err(IdentityError::invalid("a local agent needs a password"));
        }
        Ok(())
    }
}

/// What login needs of an agent: the account and how to check it.
#[derive(Debug, Clone)]
pub struct AgentCredentials {
    pub agent: Agent,
    pub password_hash: Option<String>,
    pub totp_secret: Option<String>,
    pub totp_last_step: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Company {
    pub id: CompanyId,
    pub tenant_id: TenantId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Customer {
    pub id: CustomerId,
    pub tenant_id: TenantId,
    pub login: Login,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company_id: Option<CompanyId>,
    /// Sees the whole company's tickets.
    pub company_tickets: bool,
    pub source: Source,
    pub language: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone)]
pub struct NewCustomer {
    pub tenant_id: TenantId,
    pub login: Login,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company_id: Option<CompanyId>,
    pub company_tickets: bool,
    pub password: Option<NewPassword>,
    pub language: Option<String>,
}

/// A customer's details as they are to be: everything but the login, the tenant and the
/// source; a password only when it changes.
#[derive(Debug, Clone)]
pub struct CustomerUpdate {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company_id: Option<CompanyId>,
    pub company_tickets: bool,
    pub language: Option<String>,
    pub active: bool,
    pub password: Option<NewPassword>,
}

impl CustomerUpdate {
    /// The customer as it is to be: the login, the tenant and the source stay as they were.
    pub fn apply_to(&self, before: &Customer) -> Result<Customer, IdentityError> {
        Ok(Customer {
            name: name("name", &self.name, 200)?,
            email: self.email.clone(),
            phone: self.phone.clone(),
            company_id: self.company_id,
            company_tickets: self.company_tickets,
            language: self.language.clone(),
            active: self.active,
            ..before.clone()
        })
    }
}

impl Customer {
    /// Seeing the whole company's tickets needs a company.
    pub fn check_company_tickets(
        company_id: Option<CompanyId>,
        company_tickets: bool,
    ) -> Result<(), IdentityError> {
        if company_tickets && company_id.is_none() {
            return Err(IdentityError::invalid(
                "company_tickets needs a company: set company_id as well",
            ));
        }
        Ok(())
    }

    /// Whether the customer sees the company's tickets once in `company_id`: as `requested`, or
    /// as before; leaving the company ends it, unless asked for (and then refused).
    pub fn company_tickets_with(
        &self,
        company_id: Option<CompanyId>,
        requested: Option<bool>,
    ) -> Result<bool, IdentityError> {
        let company_tickets = requested.unwrap_or(self.company_tickets && company_id.is_some());
        Self::check_company_tickets(company_id, company_tickets)?;
        Ok(company_tickets)
    }

    /// A password is ours to change only for a local customer; the directory keeps the others'.
    pub fn check_password_change(&self) -> Result<(), IdentityError> {
        if self.source != Source::Local {
            return Err(IdentityError::invalid(
                "the customer signs in through the directory: change the password there",
            ));
        }
        Ok(())
    }

    /// The names of the details that differ in `after` (and `password` when it changed): what
    /// the audit log records of a change, never the values, as it outlives personal data.
    pub fn changed_details(&self, after: &Customer, password: bool) -> Vec<&'static str> {
        [
            ("name", self.name != after.name),
            ("email", self.email != after.email),
            ("phone", self.phone != after.phone),
            ("company_id", self.company_id != after.company_id),
            (
                "company_tickets",
                self.company_tickets != after.company_tickets,
            ),
            ("language", self.language != after.language),
            ("active", self.active != after.active),
            ("password", password),
        ]
        .into_iter()
        .filter_map(|(name, changed)| changed.then_some(name))
        .collect()
    }
}

#[derive(Debug, Clone)]
pub struct CustomerCredentials {
    pub customer: Customer,
    pub password_hash: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Absence {
    pub id: AbsenceId,
    pub agent_id: AgentId,
    pub substitute_id: AgentId,
    pub starts_at: Micros,
    pub ends_at: Micros,
}

impl Absence {
    /// A new absence: it ends after it starts, and nobody stands in for themselves.
    pub fn new(
        agent_id: AgentId,
        substitute_id: AgentId,
        starts_at: Micros,
        ends_at: Micros,
    ) -> Result<Self, IdentityError> {
        if ends_at <= starts_at {
            return Err(IdentityError::invalid(
                "an absence must end after it starts",
            ));
        }
        if agent_id == substitute_id {
            return Err(IdentityError::invalid(
                "an agent cannot substitute themselves",
            ));
        }
        Ok(Self {
            id: AbsenceId::new(),
            agent_id,
            substitute_id,
            starts_at,
            ends_at,
        })
    }
}
