-- The services' verifiers poll the recently revoked sessions every few seconds.
CREATE INDEX sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
