-- Installation administrators create tenants and administer every one of them.
ALTER TABLE agents ADD COLUMN installation_admin INTEGER NOT NULL DEFAULT 0;
-- A second factor being enrolled: it takes effect (moves to totp_secret) once confirmed.
ALTER TABLE agents ADD COLUMN totp_pending_secret TEXT;

-- The administration lists a tenant's members, and its audit log a page at a time.
CREATE INDEX agent_tenants_tenant ON agent_tenants (tenant_id);
CREATE INDEX audit_log_tenant_time ON audit_log (tenant_id, occurred_at, id);
CREATE INDEX audit_log_target ON audit_log (target);
