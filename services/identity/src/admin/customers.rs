//! Customer companies and customer users.

use docket_proto::identity::v1 as pb;
use tonic::{Request, Response, Status};

use super::{AdminGrpc, parse_id};
use crate::domain::*;
use crate::error::IdentityError;

fn company_pb(c: Company) -> pb::Company {
    pb::Company {
        id: c.id.to_string(),
        tenant_id: c.tenant_id.to_string(),
        name: c.name,
    }
}

fn customer_pb(c: Customer) -> pb::Customer {
    pb::Customer {
        id: c.id.to_string(),
        tenant_id: c.tenant_id.to_string(),
        login: c.login.as_str().to_owned(),
        name: c.name,
        email: c.email.unwrap_or_default(),
        phone: c.phone.unwrap_or_default(),
        company_id: c.company_id.map(|id| id.to_string()).unwrap_or_default(),
        company_tickets: c.company_tickets,
        language: c.language.unwrap_or_default(),
        active: c.active,
        source: c.source.as_str().to_owned(),
    }
}

pub(super) async fn create_company(
    grpc: &AdminGrpc,
    request: Request<pb::CreateCompanyRequest>,
) -> Result<Response<pb::Company>, Status> {
    let caller = grpc.admin(&request).await?;
    let r = request.into_inner();
    let tenant = grpc.tenant(&caller, &r.tenant_id).await?;
    let company = grpc
        .store()
        .create_company(tenant.id, &r.name, caller.actor())
        .await?;
    Ok(Response::new(company_pb(company)))
}

pub(super) async fn list_companies(
    grpc: &AdminGrpc,
    request: Request<pb::ListCompaniesRequest>,
) -> Result<Response<pb::ListCompaniesResponse>, Status> {
    let caller = grpc.admin(&request).await?;
    let tenant = grpc.tenant(&caller, &request.get_ref().tenant_id).await?;
    let companies = grpc.store().list_companies(tenant.id).await?;
    Ok(Response::new(pb::ListCompaniesResponse {
        companies: companies.into_iter().map(company_pb).collect(),
    }))
}

pub(super) async fn create_customer(
    grpc: &AdminGrpc,
    request: Request<pb::CreateCustomerRequest>,
) -> Result<Response<pb::Customer>, Status> {
    let caller = grpc.admin(&request).await?;
    let r = request.into_inner();
    let tenant = grpc.tenant(&caller, &r.tenant_id).await?;
    let company_id = if r.company_id.trim().is_empty() {
        None
    } else {
        Some(parse_id::<CompanyId>("company_id", &r.company_id)?)
    };
    Customer::check_company_tickets(company_id, r.company_tickets)?;
    let password = if r.password.is_empty() {
        None
    } else {
        Some(NewPassword::parse(&r.password)?)
    };
    let new = NewCustomer {
        tenant_id: tenant.id,
        login: Login::parse(&r.login)?,
        name: crate::domain::name("name", &r.name, 200)?,
        email: optional_email(&r.email)?,
        phone: optional_text("phone", &r.phone, 40)?,
        company_id,
        company_tickets: r.company_tickets,
        password,
        language: optional_text("language", &r.language, 35)?,
    };
    // The store answers NOT_FOUND for a company of another tenant.
    let customer = grpc
        .store()
        .create_customer(new, Source::Local, caller.actor())
        .await?;
    Ok(Response::new(customer_pb(customer)))
}

pub(super) async fn update_customer(
    grpc: &AdminGrpc,
    request: Request<pb::UpdateCustomerRequest>,
) -> Result<Response<pb::Customer>, Status> {
    let caller = grpc.admin(&request).await?;
    let r = request.into_inner();
    let id: CustomerId = parse_id("customer_id", &r.customer_id)?;
    let c = match grpc.store().get_customer(id).await? {
        c if caller.administers(c.tenant_id) => c,
        _ => return Err(IdentityError::not_found("customer", id).into()),
    };
    let company_id = match r.company_id.as_deref().map(str::trim) {
        None => c.company_id,
        Some("") => None,
        Some(raw) => Some(parse_id::<CompanyId>("company_id", raw)?),
    };
    let company_tickets = c.company_tickets_with(company_id, r.company_tickets)?;
    let password = match r.password.as_deref() {
        None | Some("") => None,
        Some(p) => {
            c.check_password_change()?;
            Some(NewPassword::parse(p)?)
        }
    };
    let update = CustomerUpdate {
        name: r.name.unwrap_or(c.name),
        email: match r.email {
            Some(e) => optional_email(&e)?,
            None => c.email,
        },
        phone: match r.phone {
            Some(p) => optional_text("phone", &p, 40)?,
            None => c.phone,
        },
        company_id,
        company_tickets,
        language: match r.language {
            Some(l) => optional_text("language", &l, 35)?,
            None => c.language,
        },
        active: r.active.unwrap_or(c.active),
        password,
    };
    let ends_sessions = update.password.is_some() || (c.active && !update.active);
    // The store answers NOT_FOUND for a company of another tenant.
    let customer = grpc
        .store()
        .update_customer(id, update, caller.actor())
        .await?;
    if ends_sessions {
        grpc.end_sessions(PrincipalKind::Customer, &id.to_string())
            .await?;
    }
    Ok(Response::new(customer_pb(customer)))
}

pub(super) async fn get_customer(
    grpc: &AdminGrpc,
    request: Request<pb::GetCustomerRequest>,
) -> Result<Response<pb::Customer>, Status> {
    let caller = grpc.admin(&request).await?;
    let id: CustomerId = parse_id("customer_id", &request.get_ref().customer_id)?;
    match grpc.store().get_customer(id).await? {
        c if caller.administers(c.tenant_id) => Ok(Response::new(customer_pb(c))),
        _ => Err(IdentityError::not_found("customer", id).into()),
    }
}

pub(super) async fn list_customers(
    grpc: &AdminGrpc,
    request: Request<pb::ListCustomersRequest>,
) -> Result<Response<pb::ListCustomersResponse>, Status> {
    let caller = grpc.admin(&request).await?;
    let tenant = grpc.tenant(&caller, &request.get_ref().tenant_id).await?;
    let customers = grpc.store().list_customers(tenant.id).await?;
    Ok(Response::new(pb::ListCustomersResponse {
        customers: customers.into_iter().map(customer_pb).collect(),
    }))
}
