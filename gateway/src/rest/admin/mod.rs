//! The administration API (`/admin/…`: tenants, groups, roles, agents, absences, customers, the
//! audit log), a module per section, calling the identity service's `IdentityAdminService`;
//! here the permission vocabulary they share.
//!
//! The gateway decides nothing here: it forwards the caller's access token and the identity
//! service authorises every call from it. A tenant (or anything of a tenant) the caller does not
//! administer answers 404, like one that does not exist; installation-level calls and callers that
//! may not administer at all (customers, API tokens without the `admin` scope) answer 403.

mod agents;
mod audit;
mod customers;
mod groups;
mod tenants;

use std::sync::LazyLock;

use docket_proto::identity::v1 as pb;
use serde::de::Error as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::vocabulary::{deserialize_name, names_schema};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(tenants::router())
        .merge(groups::router())
        .merge(agents::router())
        .merge(customers::router())
        .merge(audit::router())
}

/// A permission on the queues of a group, named as in `docket_auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission(docket_auth::Permission);

const PERMISSION_DOC: &str = "A permission on the queues of a group; `rw` implies all others.";

static PERMISSION_NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    docket_auth::Permission::ALL
        .iter()
        .map(|p| p.as_str())
        .collect()
});

impl Permission {
    fn as_str(self) -> &'static str {
        self.0.as_str()
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        s.parse().ok().map(Self)
    }
}

impl Serialize for Permission {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Permission {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = deserialize_name(deserializer, PERMISSION_NAMES.as_slice())?;
        name.parse()
            .map(Self)
            .map_err(|_| D::Error::unknown_variant(name, PERMISSION_NAMES.as_slice()))
    }
}

impl utoipa::PartialSchema for Permission {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        names_schema(PERMISSION_DOC, &PERMISSION_NAMES)
    }
}

impl ToSchema for Permission {}

pub(crate) fn permissions(names: Vec<String>) -> Vec<Permission> {
    names.iter().filter_map(|n| Permission::parse(n)).collect()
}

/// Permissions on one group; an empty list removes them.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupPermissions {
    pub group_id: String,
    #[schema(example = json!(["ro", "note"]))]
    pub permissions: Vec<Permission>,
}

impl GroupPermissions {
    fn into_pb(self) -> pb::GroupPermissions {
        pb::GroupPermissions {
            group_id: self.group_id,
            permissions: self
                .permissions
                .into_iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
        }
    }

    fn from_pb(p: pb::GroupPermissions) -> Self {
        Self {
            group_id: p.group_id,
            permissions: permissions(p.permissions),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permission_names_match_the_vocabulary() {
        for p in docket_auth::Permission::ALL {
            let ours = Permission::parse(p.as_str()).unwrap();
            assert_eq!(ours.as_str(), p.as_str());
            let json = serde_json::to_value(ours).unwrap();
            assert_eq!(json, p.as_str());
            assert_eq!(serde_json::from_value::<Permission>(json).unwrap(), ours);
        }
        assert_eq!(Permission::parse("sudo"), None);
        assert!(serde_json::from_value::<Permission>(serde_json::json!("sudo")).is_err());
    }

    #[test]
    fn every_admin_operation_is_documented_with_its_problems() {
        let doc = serde_json::to_value(crate::openapi()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        let mut operations = 0;
        for (path, item) in paths {
            let tag = if path.starts_with("/admin/") {
                "admin"
            } else if path == "/me" || path.starts_with("/me/") {
                "me"
            } else {
                continue;
            };
            for (method, op) in item.as_object().unwrap() {
                operations += 1;
                assert_eq!(op["tags"], serde_json::json!([tag]), "{method} {path}");
                let responses = op["responses"].as_object().unwrap();
                assert!(responses.contains_key("401"), "{method} {path}: no 401");
                let ok = responses.keys().any(|code| code.starts_with('2'));
                assert!(ok, "{method} {path}: no success response");
                for (code, response) in responses {
                    if !code.starts_with('2') {
                        let schema = &response["content"]["application/json"]["schema"]["$ref"];
                        assert_eq!(
                            schema, "#/components/schemas/Problem",
                            "{method} {path} {code}"
                        );
                    }
                }
                if method != "get"
                    && !path.contains("/me/totp")
                    && path != "/me/api-tokens/{token_id}"
                {
                    let has_body = op.get("requestBody").is_some();
                    let needs_body = !(path.ends_with("/roles/{role_id}")
                        || path.ends_with("/agents/{agent_id}")
                        || path.ends_with("/reprocess"));
                    assert_eq!(has_body, needs_body, "{method} {path}: request body");
                }
            }
        }
        assert_eq!(operations, 39, "the admin and me operations");
        for name in [
            "Agent",
            "Role",
            "GroupPermissions",
            "AuditPage",
            "IssuedApiToken",
            "Me",
        ] {
            assert!(doc["components"]["schemas"][name].is_object(), "{name}");
        }
    }
}
