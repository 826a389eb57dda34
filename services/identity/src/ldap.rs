//! LDAP / Active Directory authentication: bind as the service account, find the user by login
//! or mail, bind as the user with the password, read name, mail and groups.

use std::collections::BTreeMap;
use std::time::Duration;

use docket_platform::config::Secret;
use ldap3::{LdapConnAsync, LdapConnSettings, Scope, SearchEntry, ldap_escape};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LdapConfig {
    /// `ldap://…` or `ldaps://…`.
    pub url: String,
    /// Upgrade a plain `ldap://` connection with STARTTLS.
    pub start_tls: bool,
    /// The service account that searches for users.
    pub bind_dn: String,
    pub bind_password: Secret,
    pub user_base_dn: String,
    /// `{login}` is replaced by the escaped login.
    pub user_filter: String,
    pub login_attribute: String,
    pub name_attribute: String,
    pub email_attribute: String,
    /// Where groups are searched; unset: only `memberOf` of the user (Active Directory).
    pub group_base_dn: Option<String>,
    /// `{dn}` is replaced by the escaped DN of the user.
    pub group_filter: String,
    pub group_name_attribute: String,
    pub timeout_secs: u64,
}

impl Default for LdapConfig {
    fn default() -> Self {
        Self {
            url: "ldap://127.0.0.1:389".into(),
            start_tls: false,
            bind_dn: String::new(),
            bind_password: Secret::default(),
            user_base_dn: String::new(),
            user_filter: "(&(objectClass=inetOrgPerson)(|(uid={login})(mail={login})))".into(),
            login_attribute: "uid".into(),
            name_attribute: "cn".into(),
            email_attribute: "mail".into(),
            group_base_dn: None,
            group_filter: "(&(objectClass=groupOfNames)(member={dn}))".into(),
            group_name_attribute: "cn".into(),
            timeout_secs: 5,
        }
    }
}

/// A user the directory vouched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapUser {
    pub dn: String,
    pub login: String,
    pub name: String,
    pub email: Option<String>,
    /// Group names (their `cn`).
    pub groups: Vec<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LdapError {
    /// Wrong password or unknown user: one answer for both.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The login matched more than one entry.
    #[error("invalid credentials")]
    Ambiguous,
    /// The directory is unreachable, too slow, or refused the service account.
    #[error("directory unavailable: {0}")]
    Unavailable(String),
}

pub struct LdapAuthenticator {
    config: LdapConfig,
}

const INVALID_CREDENTIALS: u32 = 49;

impl LdapAuthenticator {
    pub fn new(config: LdapConfig) -> Self {
        Self { config }
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.config.timeout_secs.max(1))
    }

    async fn connect(&self) -> Result<ldap3::Ldap, LdapError> {
        let settings = LdapConnSettings::new()
            .set_conn_timeout(self.timeout())
            .set_starttls(self.config.start_tls);
        let (conn, ldap) = LdapConnAsync::with_settings(settings, &self.config.url)
            .await
            .map_err(|e| LdapError::Unavailable(e.to_string()))?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "ldap connection ended");
            }
        });
        Ok(ldap)
    }

    /// Checks `password` for `login` (a uid or mail). Never succeeds on an empty password: that
    /// would be an anonymous bind.
    pub async fn authenticate(&self, login: &str, password: &str) -> Result<LdapUser, LdapError> {
        if password.is_empty() || login.trim().is_empty() {
            return Err(LdapError::InvalidCredentials);
        }
        let result = self.authenticate_inner(login.trim(), password).await;
        match &result {
            Ok(user) => tracing::info!(login, dn = %user.dn, "ldap login"),
            Err(e) => tracing::info!(login, error = %e, "ldap login refused"),
        }
        result
    }

    async fn authenticate_inner(&self, login: &str, password: &str) -> Result<LdapUser, LdapError> {
        let unavailable = |e: ldap3::LdapError| LdapError::Unavailable(e.to_string());
        let mut service = self.connect().await?;
        service.with_timeout(self.timeout());
        service
            .simple_bind(&self.config.bind_dn, self.config.bind_password.expose())
            .await
            .and_then(|r| r.success())
            .map_err(|e| LdapError::Unavailable(format!("service account bind failed: {e}")))?;
        let filter = self
            .config
            .user_filter
            .replace("{login}", &ldap_escape(login));
        let attrs = vec![
            self.config.login_attribute.as_str(),
            self.config.name_attribute.as_str(),
            self.config.email_attribute.as_str(),
            "memberOf",
        ];
        service.with_timeout(self.timeout());
        let (entries, _) = service
            .search(&self.config.user_base_dn, Scope::Subtree, &filter, attrs)
            .await
            .and_then(|r| r.success())
            .map_err(unavailable)?;
        let entry = match entries.len() {
            0 => {
                let _ = service.unbind().await;
                return Err(LdapError::InvalidCredentials);
            }
            1 => entries.into_iter().next().map(SearchEntry::construct),
            n => {
                tracing::warn!(login, matches = n, "ldap login matches several entries");
                let _ = service.unbind().await;
                return Err(LdapError::Ambiguous);
            }
        };
        let Some(entry) = entry else {
            return Err(LdapError::InvalidCredentials);
        };

        // The user's own bind proves the password.
        let mut user_conn = self.connect().await?;
        user_conn.with_timeout(self.timeout());
        let bound = user_conn
            .simple_bind(&entry.dn, password)
            .await
            .map_err(unavailable)?;
        let _ = user_conn.unbind().await;
        if bound.rc == INVALID_CREDENTIALS {
            let _ = service.unbind().await;
            return Err(LdapError::InvalidCredentials);
        }
        bound
            .success()
            .map_err(|e| LdapError::Unavailable(e.to_string()))?;

        let first = |attr: &str| entry.attrs.get(attr).and_then(|v| v.first()).cloned();
        let mut groups: Vec<String> = entry
            .attrs
            .get("memberOf")
            .into_iter()
            .flatten()
            .filter_map(|dn| cn_of(dn))
            .collect();
        if let Some(base) = &self.config.group_base_dn {
            let filter = self
                .config
                .group_filter
                .replace("{dn}", &ldap_escape(entry.dn.as_str()));
            service.with_timeout(self.timeout());
            let (found, _) = service
                .search(
                    base,
                    Scope::Subtree,
                    &filter,
                    vec![self.config.group_name_attribute.as_str()],
                )
                .await
                .and_then(|r| r.success())
                .map_err(unavailable)?;
            for g in found.into_iter().map(SearchEntry::construct) {
                if let Some(name) = g
                    .attrs
                    .get(&self.config.group_name_attribute)
                    .and_then(|v| v.first())
                {
                    groups.push(name.clone());
                }
            }
        }
        let _ = service.unbind().await;
        groups.sort();
        groups.dedup();
        Ok(LdapUser {
            login: first(&self.config.login_attribute).unwrap_or_else(|| login.to_owned()),
            name: first(&self.config.name_attribute).unwrap_or_default(),
            email: first(&self.config.email_attribute),
            dn: entry.dn,
            groups,
        })
    }
}

/// The CN of a DN such as `cn=it-helpdesk,ou=groups,dc=uni,dc=example`.
fn cn_of(dn: &str) -> Option<String> {
    let first = dn.split(',').next()?;
    let (attr, value) = first.split_once('=')?;
    attr.trim()
        .eq_ignore_ascii_case("cn")
        .then(|| value.trim().to_owned())
}

/// Maps directory group names to Docket names (case-insensitive on the directory side);
/// unmapped groups are dropped.
pub fn map_groups(ldap_groups: &[String], mapping: &BTreeMap<String, String>) -> Vec<String> {
    let mut mapped: Vec<String> = ldap_groups
        .iter()
        .filter_map(|g| {
            mapping
                .iter()
                .find(|(from, _)| from.eq_ignore_ascii_case(g))
                .map(|(_, to)| to.clone())
        })
        .collect();
    mapped.sort();
    mapped.dedup();
    mapped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_groups_case_insensitively_and_drops_the_rest() {
        let mapping: BTreeMap<String, String> = [
            ("IT-Helpdesk".to_owned(), "1st level (help desk)".to_owned()),
            ("it-2nd-level".to_owned(), "2nd level".to_owned()),
        ]
        .into();
        let got = map_groups(
            &[
                "it-helpdesk".into(),
                "students".into(),
                "IT-2ND-LEVEL".into(),
            ],
            &mapping,
        );
        assert_eq!(got, ["1st level (help desk)", "2nd level"]);
        assert!(map_groups(&[], &mapping).is_empty());
    }

    #[test]
    fn cn_of_group_dns() {
        assert_eq!(
            cn_of("CN=IT Staff,OU=Groups,DC=uni,DC=example").as_deref(),
            Some("IT Staff")
        );
        assert_eq!(cn_of("ou=x,dc=y"), None);
    }

    #[tokio::test]
    async fn empty_passwords_never_reach_the_directory() {
        let ldap = LdapAuthenticator::new(LdapConfig {
            url: "ldap://127.0.0.1:1".into(),
            ..LdapConfig::default()
        });
        assert_eq!(
            ldap.authenticate("jdoe", "").await,
            Err(LdapError::InvalidCredentials)
        );
        // A closed port is unavailable, not a wrong password.
        assert!(matches!(
            ldap.authenticate("jdoe", "x").await,
            Err(LdapError::Unavailable(_))
        ));
    }
}
