//! A tenant's customers and their companies (`/admin/tenants/{id}/companies`,
//! `/admin/tenants/{id}/customers`, `/admin/customers/{id}`).

use axum::Json;
use axum::http::StatusCode;
use docket_proto::identity::v1 as pb;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::caller::Api;
use crate::error::answers::{Forbidden, Invalid, NotFound, Unauthenticated};
use crate::error::{ApiError, ApiJson, ApiPath, Problem};
use crate::rest::Reply;
use crate::rest::{Items, non_empty};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_company, list_companies))
        .routes(routes!(create_customer, list_customers))
        .routes(routes!(get_customer, update_customer))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Company {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
}

impl From<pb::Company> for Company {
    fn from(c: pb::Company) -> Self {
        Self {
            id: c.id,
            tenant_id: c.tenant_id,
            name: c.name,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCompany {
    #[schema(example = "Widgets Ltd")]
    pub name: String,
}

/// A customer user of a tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct Customer {
    pub id: String,
    pub tenant_id: String,
    pub login: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company_id: Option<String>,
    /// Sees the tickets of the whole company.
    pub company_tickets: bool,
    pub language: Option<String>,
    pub active: bool,
    pub source: String,
}

impl From<pb::Customer> for Customer {
    fn from(c: pb::Customer) -> Self {
        Self {
            id: c.id,
            tenant_id: c.tenant_id,
            login: c.login,
            name: c.name,
            email: non_empty(c.email),
            phone: non_empty(c.phone),
            company_id: non_empty(c.company_id),
            company_tickets: c.company_tickets,
            language: non_empty(c.language),
            active: c.active,
            source: c.source,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCustomer {
    #[schema(example = "max.muster")]
    pub login: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// A company of the same tenant.
    pub company_id: Option<String>,
    /// Sees the tickets of the whole company (needs `company_id`).
    #[serde(default)]
    pub company_tickets: bool,
    /// At least 10 characters; without one the customer cannot log in.
    pub password: Option<String>,
    #[schema(example = "de")]
    pub language: Option<String>,
}

/// A customer's details to change; what is left out stays. An empty text clears an email, a
/// phone, a company or a language.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCustomer {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// A company of the same tenant; leaving it ends seeing its tickets.
    pub company_id: Option<String>,
    /// Sees the tickets of the whole company (needs a company).
    pub company_tickets: Option<bool>,
    #[schema(example = "en")]
    pub language: Option<String>,
    /// An inactive customer cannot sign in.
    pub active: Option<bool>,
    /// A new password, at least 10 characters; local customers only.
    pub password: Option<String>,
}

/// Creates a customer company.
#[utoipa::path(post, path = "/admin/tenants/{tenant_id}/companies", tag = "admin", request_body = CreateCompany,
    params(("tenant_id" = String, Path)),
    responses((status = 201, body = Company), Unauthenticated, Forbidden,
              NotFound, (status = 409, description = "name taken", body = Problem),
              Invalid))]
async fn create_company(
    api: Api,
    ApiPath(tenant_id): ApiPath<String>,
    ApiJson(body): ApiJson<CreateCompany>,
) -> Result<(StatusCode, Json<Company>), ApiError> {
    let req = pb::CreateCompanyRequest {
        tenant_id,
        name: body.name,
    };
    let c = api.identity_admin().create_company(req).await?.into_inner();
    Ok((StatusCode::CREATED, Json(Company::from(c))))
}

/// Lists a tenant's customer companies.
#[utoipa::path(get, path = "/admin/tenants/{tenant_id}/companies", tag = "admin",
    params(("tenant_id" = String, Path)),
    responses((status = 200, body = Items<Company>), Unauthenticated, Forbidden,
              NotFound, Invalid))]
async fn list_companies(api: Api, ApiPath(tenant_id): ApiPath<String>) -> Reply<Items<Company>> {
    Items::of(api.identity_admin().companies(&tenant_id).await?)
}

/// Creates a customer user, optionally of a company and with a password.
#[utoipa::path(post, path = "/admin/tenants/{tenant_id}/customers", tag = "admin", request_body = CreateCustomer,
    params(("tenant_id" = String, Path)),
    responses((status = 201, body = Customer), Unauthenticated, Forbidden,
              (status = 404, description = "unknown tenant or company", body = Problem),
              (status = 409, description = "login taken", body = Problem), Invalid))]
async fn create_customer(
    api: Api,
    ApiPath(tenant_id): ApiPath<String>,
    ApiJson(body): ApiJson<CreateCustomer>,
) -> Result<(StatusCode, Json<Customer>), ApiError> {
    let req = pb::CreateCustomerRequest {
        tenant_id,
        login: body.login,
        name: body.name,
        email: body.email.unwrap_or_default(),
        phone: body.phone.unwrap_or_default(),
        company_id: body.company_id.unwrap_or_default(),
        company_tickets: body.company_tickets,
        password: body.password.unwrap_or_default(),
        language: body.language.unwrap_or_default(),
    };
    let c = api
        .identity_admin()
        .create_customer(req)
        .await?
        .into_inner();
    Ok((StatusCode::CREATED, Json(Customer::from(c))))
}

/// Lists a tenant's customer users.
#[utoipa::path(get, path = "/admin/tenants/{tenant_id}/customers", tag = "admin",
    params(("tenant_id" = String, Path)),
    responses((status = 200, body = Items<Customer>), Unauthenticated, Forbidden,
              NotFound, Invalid))]
async fn list_customers(api: Api, ApiPath(tenant_id): ApiPath<String>) -> Reply<Items<Customer>> {
    let r = api
        .identity_admin()
        .list_customers(pb::ListCustomersRequest { tenant_id })
        .await?
        .into_inner();
    Items::of(r.customers)
}

/// Reads a customer user of a tenant the caller administers.
#[utoipa::path(get, path = "/admin/customers/{customer_id}", tag = "admin",
    params(("customer_id" = String, Path)),
    responses((status = 200, body = Customer), Unauthenticated, Forbidden,
              NotFound, Invalid))]
async fn get_customer(api: Api, ApiPath(customer_id): ApiPath<String>) -> Reply<Customer> {
    let c = api
        .identity_admin()
        .get_customer(pb::GetCustomerRequest { customer_id })
        .await?
        .into_inner();
    Ok(Json(Customer::from(c)))
}

/// Changes a customer user's details (ticket core hears of them).
#[utoipa::path(patch, path = "/admin/customers/{customer_id}", tag = "admin", request_body = UpdateCustomer,
    params(("customer_id" = String, Path)),
    responses((status = 200, body = Customer), Unauthenticated, Forbidden,
              (status = 404, description = "unknown customer or company", body = Problem),
              Invalid))]
async fn update_customer(
    api: Api,
    ApiPath(customer_id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateCustomer>,
) -> Reply<Customer> {
    let req = pb::UpdateCustomerRequest {
        customer_id,
        name: body.name,
        email: body.email,
        phone: body.phone,
        company_id: body.company_id,
        company_tickets: body.company_tickets,
        language: body.language,
        active: body.active,
        password: body.password,
    };
    let c = api
        .identity_admin()
        .update_customer(req)
        .await?
        .into_inner();
    Ok(Json(Customer::from(c)))
}
