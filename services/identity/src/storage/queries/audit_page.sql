-- One page of a tenant's audit log, newest first ($1: the tenant; $2, $3: the cursor's time
-- and id, older entries only; $4: how many). The tenant's own entries, and those without a
-- tenant (logins, tokens, passwords) by or about its members.
SELECT id, occurred_at, tenant_id, actor, action, target, outcome, details FROM audit_log
 WHERE (tenant_id = $1 OR (tenant_id IS NULL AND (
        target IN (SELECT agent_id FROM agent_tenants WHERE tenant_id = $1)
        OR actor IN (SELECT a.login FROM agents a
                     JOIN agent_tenants at ON at.agent_id = a.id WHERE at.tenant_id = $1))))
   AND (occurred_at < $2 OR (occurred_at = $2 AND id < $3))
 ORDER BY occurred_at DESC, id DESC LIMIT $4
