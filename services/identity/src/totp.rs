//! Time-based one-time passwords (RFC 6238), the optional second factor of agents.
