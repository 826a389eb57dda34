//! Customer companies and customer users; every new or changed customer is announced to ticket
//! core (`customer.changed`).

use async_trait::async_trait;
use docket_proto::events::v1 as ev;
use docket_store::WriteTx;
use prost::Message as _;

use super::rows::{CUSTOMER_COLUMNS, company_from_row, customer_from_row};
use super::{CustomerStore, SqlIdentityStore, exists_already, now};
use crate::domain::*;
use crate::error::IdentityError;

/// What a customer's login checks, from their row beside the [`Customer`] read from it.
#[derive(sqlx::FromRow)]
struct PasswordRow {
    password_hash: Option<String>,
}

#[async_trait]
impl CustomerStore for SqlIdentityStore {
    async fn create_company(
        &self,
        tenant_id: TenantId,
        name: &str,
        actor: &str,
    ) -> Result<Company, IdentityError> {
        let company = Company {
            id: CompanyId::new(),
            tenant_id,
            name: crate::domain::name("company name", name, 200)?,
        };
        let mut tx = self.db.begin_write().await?;
        Self::require_tenant(&mut tx, tenant_id).await?;
        sqlx::query("INSERT INTO customer_companies (id, tenant_id, name, created_at) VALUES ($1, $2, $3, $4)")
            .bind(company.id)
            .bind(tenant_id)
            .bind(&company.name)
            .bind(now())
            .execute(&mut *tx)
            .await
            .map_err(exists_already(|| format!("the tenant has a company named `{}` already", company.name)))?;
        Self::audit_change(
            &mut tx,
            Some(tenant_id),
            actor,
            "company_created",
            company.id.to_string(),
            serde_json::json!({ "name": company.name }),
        )
        .await?;
        self.commit(tx).await?;
        Ok(company)
    }

    async fn list_companies(&self, tenant_id: TenantId) -> Result<Vec<Company>, IdentityError> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, name FROM customer_companies WHERE tenant_id = $1 ORDER BY name, id",
        )
        .bind(tenant_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(company_from_row).collect()
    }

    async fn create_customer(
        &self,
        c: NewCustomer,
        source: Source,
        actor: &str,
    ) -> Result<Customer, IdentityError> {
        let password_hash = c.password.as_ref().map(crate::password::hash).transpose()?;
        let mut tx = self.db.begin_write().await?;
        Self::require_tenant(&mut tx, c.tenant_id).await?;
        Self::check_company(&mut tx, c.tenant_id, c.company_id).await?;
        let customer = Customer {
            id: CustomerId::new(),
            tenant_id: c.tenant_id,
            login: c.login,
            name: crate::domain::name("name", &c.name, 200)?,
            email: c.email,
            phone: c.phone,
            company_id: c.company_id,
            company_tickets: c.company_tickets,
            source,
            language: c.language,
            active: true,
        };
        let t = now();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO customer_users ({CUSTOMER_COLUMNS}, password_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12, $12)"
        )))
        .bind(customer.id)
        .bind(customer.tenant_id)
        .bind(customer.login.as_str())
        .bind(&customer.name)
        .bind(customer.email.as_deref())
        .bind(customer.phone.as_deref())
        .bind(customer.company_id)
        .bind(i64::from(customer.company_tickets))
        .bind(source.as_str())
        .bind(customer.language.as_deref())
        .bind(password_hash)
        .bind(t)
        .execute(&mut *tx)
        .await
        .map_err(exists_already(|| format!("the tenant has a customer with login `{}` already", customer.login.as_str())))?;
        Self::audit_change(
            &mut tx,
            Some(customer.tenant_id),
            actor,
            "customer_created",
            customer.id.to_string(),
            serde_json::json!({ "login": customer.login }),
        )
        .await?;
        Self::announce_customer(&mut tx, &customer).await?;
        self.commit(tx).await?;
        Ok(customer)
    }

    async fn update_customer(
        &self,
        id: CustomerId,
        u: CustomerUpdate,
        actor: &str,
    ) -> Result<Customer, IdentityError> {
        let password_hash = u.password.as_ref().map(crate::password::hash).transpose()?;
        let mut tx = self.db.begin_write().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customer_users WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| IdentityError::not_found("customer", id))?;
        let before = customer_from_row(&row)?;
        Self::check_company(&mut tx, before.tenant_id, u.company_id).await?;
        let customer = u.apply_to(&before)?;
        sqlx::query(
            "UPDATE customer_users SET name = $1, email = $2, phone = $3, company_id = $4, \
             company_tickets = $5, language = $6, active = $7, \
             password_hash = COALESCE($8, password_hash), updated_at = $9 WHERE id = $10",
        )
        .bind(&customer.name)
        .bind(customer.email.as_deref())
        .bind(customer.phone.as_deref())
        .bind(customer.company_id)
        .bind(i64::from(customer.company_tickets))
        .bind(customer.language.as_deref())
        .bind(i64::from(customer.active))
        .bind(password_hash)
        .bind(now())
        .bind(customer.id)
        .execute(&mut *tx)
        .await?;
        Self::audit_change(
            &mut tx,
            Some(customer.tenant_id),
            actor,
            "customer_changed",
            customer.id.to_string(),
            serde_json::json!({ "changed": before.changed_details(&customer, u.password.is_some()) }),
        )
        .await?;
        Self::announce_customer(&mut tx, &customer).await?;
        self.commit(tx).await?;
        Ok(customer)
    }

    async fn get_customer(&self, id: CustomerId) -> Result<Customer, IdentityError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customer_users WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| IdentityError::not_found("customer", id))?;
        customer_from_row(&row)
    }

    async fn list_customers(&self, tenant_id: TenantId) -> Result<Vec<Customer>, IdentityError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customer_users WHERE tenant_id = $1 ORDER BY login"
        )))
        .bind(tenant_id)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(customer_from_row).collect()
    }

    async fn customer_credentials(
        &self,
        tenant_id: TenantId,
        login: &Login,
    ) -> Result<Option<CustomerCredentials>, IdentityError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CUSTOMER_COLUMNS}, password_hash FROM customer_users WHERE tenant_id = $1 AND login = $2"
        )))
        .bind(tenant_id)
        .bind(login.as_str())
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|row| {
            let customer = customer_from_row(&row)?;
            let PasswordRow { password_hash } = docket_store::decode(&row)?;
            Ok(CustomerCredentials {
                customer,
                password_hash,
            })
        })
        .transpose()
    }
}

impl SqlIdentityStore {
    /// Refuses a company that is not the tenant's (NOT_FOUND, as for a company of nobody's).
    pub(super) async fn check_company(
        tx: &mut WriteTx,
        tenant_id: TenantId,
        company_id: Option<CompanyId>,
    ) -> Result<(), IdentityError> {
        let Some(company) = company_id else {
            return Ok(());
        };
        let same_tenant: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM customer_companies WHERE id = $1 AND tenant_id = $2")
                .bind(company)
                .bind(tenant_id)
                .fetch_optional(&mut **tx)
                .await?;
        match same_tenant {
            Some(_) => Ok(()),
            None => Err(IdentityError::not_found("company", company)),
        }
    }

    /// Tells ticket core who the customer is: it files their tickets under their company and
    /// shows how to reach them.
    pub(super) async fn announce_customer(
        tx: &mut WriteTx,
        customer: &Customer,
    ) -> Result<(), IdentityError> {
        let company_name: Option<String> = match customer.company_id {
            Some(company) => {
                sqlx::query_scalar("SELECT name FROM customer_companies WHERE id = $1")
                    .bind(company)
                    .fetch_optional(&mut **tx)
                    .await?
            }
            None => None,
        };
        Self::event(
            tx,
            "customer.changed",
            customer.tenant_id,
            ("customer", customer.id.to_string()),
            ev::CustomerChanged {
                customer_id: customer.id.to_string(),
                tenant_id: customer.tenant_id.to_string(),
                company_id: customer
                    .company_id
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
                name: customer.name.clone(),
                email: customer.email.clone().unwrap_or_default(),
                phone: customer.phone.clone().unwrap_or_default(),
                company_name: company_name.unwrap_or_default(),
            }
            .encode_to_vec(),
        )
        .await
    }
}
