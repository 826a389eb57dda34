//! LDAP / Active Directory authentication.
