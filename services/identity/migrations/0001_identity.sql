CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL CONSTRAINT tenants_slug_key UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Groups carry queue permissions; every queue belongs to one group.
CREATE TABLE groups (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT groups_tenant_name_key UNIQUE (tenant_id, name)
);

CREATE TABLE roles (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    -- Members administer the tenant (queues, agents, customers, groups, roles).
    tenant_admin INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT roles_tenant_name_key UNIQUE (tenant_id, name)
);

-- Permissions as a comma-separated list: ro,move_into,create,note,owner,priority,rw
CREATE TABLE role_permissions (
    role_id TEXT NOT NULL REFERENCES roles (id),
    group_id TEXT NOT NULL REFERENCES groups (id),
    permissions TEXT NOT NULL,
    PRIMARY KEY (role_id, group_id)
);

CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    login TEXT NOT NULL CONSTRAINT agents_login_key UNIQUE,
    name TEXT NOT NULL,
    email TEXT,
    -- 'local' (password_hash set) or 'ldap'.
    source TEXT NOT NULL,
    password_hash TEXT,
    totp_secret TEXT,
    totp_last_step BIGINT,
    active INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE agent_tenants (
    agent_id TEXT NOT NULL REFERENCES agents (id),
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    PRIMARY KEY (agent_id, tenant_id)
);

CREATE TABLE agent_roles (
    agent_id TEXT NOT NULL REFERENCES agents (id),
    role_id TEXT NOT NULL REFERENCES roles (id),
    PRIMARY KEY (agent_id, role_id)
);

CREATE TABLE agent_permissions (
    agent_id TEXT NOT NULL REFERENCES agents (id),
    group_id TEXT NOT NULL REFERENCES groups (id),
    permissions TEXT NOT NULL,
    PRIMARY KEY (agent_id, group_id)
);

-- Out of office: while absent, the substitute sees the agent's tickets and gets their notifications.
CREATE TABLE agent_absences (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents (id),
    substitute_id TEXT NOT NULL REFERENCES agents (id),
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL
);
CREATE INDEX agent_absences_substitute ON agent_absences (substitute_id, ends_at);

CREATE TABLE customer_companies (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT customer_companies_tenant_name_key UNIQUE (tenant_id, name)
);

CREATE TABLE customer_users (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    login TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    company_id TEXT REFERENCES customer_companies (id),
    -- Whether the customer sees the tickets of the whole company.
    company_tickets INTEGER NOT NULL,
    source TEXT NOT NULL,
    password_hash TEXT,
    language TEXT,
    active INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT customer_users_tenant_login_key UNIQUE (tenant_id, login)
);

-- Failed logins per login name, for throttling and temporary lockout.
CREATE TABLE login_throttle (
    login_key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    window_started_at BIGINT NOT NULL,
    locked_until BIGINT
);

-- Revocable sessions; the client holds the secret, we keep its hash.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    principal_id TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_principal ON sessions (principal_id);

-- Personal API tokens of agents: scoped, expiring, revocable, stored hashed.
CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents (id),
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_agent ON api_tokens (agent_id);

-- Keys signing access tokens; the newest signs, all unretired ones verify.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    private_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retire_at BIGINT NOT NULL
);

-- Every login, failed login, permission change and token issue. Append-only.
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    occurred_at BIGINT NOT NULL,
    tenant_id TEXT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    outcome TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX audit_log_time ON audit_log (occurred_at, id);
