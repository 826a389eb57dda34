-- An agent's permissions on groups, through its roles and its own ($1: the agent).
-- A role without permissions yields a row of NULLs.
SELECT g.tenant_id, rp.group_id, rp.permissions
  FROM agent_roles ar JOIN roles r ON r.id = ar.role_id
  LEFT JOIN role_permissions rp ON rp.role_id = r.id
  LEFT JOIN groups g ON g.id = rp.group_id
 WHERE ar.agent_id = $1
UNION ALL
SELECT g.tenant_id, ap.group_id, ap.permissions
  FROM agent_permissions ap JOIN groups g ON g.id = ap.group_id
 WHERE ap.agent_id = $1
