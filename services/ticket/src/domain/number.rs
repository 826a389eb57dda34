//! Ticket numbers: date-based as in Znuny/OTRS, unique across the installation, and telling a
//! tenant nothing about how many tickets other tenants open.
//!
//! A number is the UTC date (`YYYYMMDD`), the installation's two-digit [`SystemId`], the tenant's
//! [`TenantCode`] and the tenant's counter for that day (at least [`TicketNumber::COUNTER_DIGITS`]
//! digits, zero-padded, more on a busy day): `20261202` `10` `001` `00017`. Each tenant counts on
//! its own, so its consecutive numbers go up by one whatever the others do.
//!
//! Why numbers stay unique: the date and system id have a fixed width; the tenant code's infix is
//! prefix-free (three digits below `900`, or `9` and four more), so it ends where it must; and the
//! counter is the rest, written without any leading zero beyond its padding. So one number is one
//! (day, system, tenant, counter). Numbers made before tenant codes (date, system id and a
//! six- or seven-digit counter shared by all tenants: 16 or 17 digits) are shorter than any new
//! one (at least 18), and still parse.
//!
//! The mail service recognises 8 to 20 digits in a subject: a tenant with a three-digit code stays
//! within that up to 9,999,999 tickets a day, one with a five-digit code up to 99,999.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::truncate;
use crate::error::TicketError;

/// The human-readable ticket number, e.g. `202612021000100017` (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TicketNumber(String);

impl TicketNumber {
    /// Minimum digits of a tenant's daily counter; more when a day has more tickets.
    pub const COUNTER_DIGITS: usize = 5;
    /// The fewest digits a number has ever had (the numbers before tenant codes: date, system id,
    /// six counter digits).
    pub const MIN_DIGITS: usize = 16;

    pub fn compose(
        day: chrono::NaiveDate,
        system_id: SystemId,
        tenant: TenantCode,
        counter: u64,
    ) -> Self {
        Self(format!(
            "{}{:02}{}{:0width$}",
            day.format("%Y%m%d"),
            system_id.0,
            tenant.infix(),
            counter,
            width = Self::COUNTER_DIGITS
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for TicketNumber {
    type Err = TicketError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let digits = s.len() >= Self::MIN_DIGITS && s.len() <= 32;
        if digits && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(TicketError::invalid(format!(
                "`{}` is not a ticket number",
                truncate(s, 40)
            )))
        }
    }
}

impl fmt::Display for TicketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The installation's two-digit system id inside ticket numbers (OTRS's `SystemID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemId(u8);

impl SystemId {
    pub fn new(id: u8) -> Result<Self, TicketError> {
        if id <= 99 {
            Ok(Self(id))
        } else {
            Err(TicketError::invalid(format!(
                "system id {id} is not between 0 and 99"
            )))
        }
    }
}

/// A tenant's short code inside its ticket numbers, given once (in the order tenants number
/// their first ticket) and kept: `0` to `899` are written as three digits, `900` to `10899` as
/// `9` and four digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TenantCode(u32);

impl TenantCode {
    /// Codes written as three digits: `000` to `899`.
    const SHORT: u32 = 900;
    /// Codes written as `9` and four digits.
    const LONG: u32 = 10_000;
    /// The highest code there is.
    pub const MAX: u32 = Self::SHORT + Self::LONG - 1;

    pub fn new(code: i64) -> Result<Self, TicketError> {
        match u32::try_from(code) {
            Ok(code) if code <= Self::MAX => Ok(Self(code)),
            _ => Err(TicketError::invalid(format!(
                "tenant code {code} is not between 0 and {}: the installation has used every \
                 code ticket numbers have room for",
                Self::MAX
            ))),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// The digits inside a number: prefix-free, so the counter after them is never ambiguous.
    pub fn infix(self) -> String {
        if self.0 < Self::SHORT {
            format!("{:03}", self.0)
        } else {
            format!("9{:04}", self.0 - Self::SHORT)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    fn code(n: i64) -> TenantCode {
        TenantCode::new(n).unwrap()
    }

    /// The (system, tenant code, counter) a number was made of, read back by the rules of the
    /// module doc.
    fn parts(n: &TicketNumber) -> (String, u32, u64) {
        let s = n.as_str();
        let rest = &s[10..];
        let (infix, counter) = if rest.starts_with('9') {
            rest.split_at(5)
        } else {
            rest.split_at(3)
        };
        let code = if infix.len() == 5 {
            900 + infix[1..].parse::<u32>().unwrap()
        } else {
            infix.parse().unwrap()
        };
        (s[8..10].to_owned(), code, counter.parse().unwrap())
    }

    #[test]
    fn ticket_numbers_are_date_system_tenant_and_counter() {
        let sys = SystemId::new(10).unwrap();
        let n = TicketNumber::compose(day(), sys, code(1), 17);
        assert_eq!(n.as_str(), "202611221000100017");
        assert_eq!(n.as_str().parse::<TicketNumber>().unwrap(), n);
        let busy = TicketNumber::compose(day(), sys, code(42), 1_234_567);
        assert_eq!(busy.as_str(), "20261122100421234567");
        let late = TicketNumber::compose(day(), sys, code(903), 5);
        assert_eq!(late.as_str(), "20261122109000300005");
        // The mail service recognises up to 20 digits.
        let largest = TicketNumber::compose(day(), sys, code(i64::from(TenantCode::MAX)), 99_999);
        assert_eq!(largest.as_str().len(), 20);
        assert_eq!(
            TicketNumber::compose(day(), sys, code(899), 9_999_999)
                .as_str()
                .len(),
            20
        );
    }

    #[test]
    fn numbers_made_before_tenant_codes_still_parse() {
        let old: TicketNumber = "2026112210000017".parse().unwrap();
        assert_eq!(old.as_str(), "2026112210000017");
    }

    #[test]
    fn rejects_what_is_not_a_ticket_number() {
        for bad in [
            "",
            "2026",
            "20261122100000a7",
            "../../etc/passwd",
            "202611221000001",
        ] {
            assert!(bad.parse::<TicketNumber>().is_err(), "{bad}");
        }
    }

    #[test]
    fn tenant_codes_have_a_range() {
        assert_eq!(code(0).infix(), "000");
        assert_eq!(code(899).infix(), "899");
        assert_eq!(code(900).infix(), "90000");
        assert_eq!(code(10_899).infix(), "99999");
        assert!(TenantCode::new(10_900).is_err());
        assert!(TenantCode::new(-1).is_err());
    }

    proptest! {
        /// One number is one (tenant, counter) on a day: no two tenants' numbers ever meet, and
        /// each number reads back as what it was made of.
        #[test]
        fn numbers_are_unique_per_tenant_and_counter(
            a in 0..=i64::from(TenantCode::MAX),
            b in 0..=i64::from(TenantCode::MAX),
            x in 1u64..20_000_000,
            y in 1u64..20_000_000,
        ) {
            let sys = SystemId::new(10).unwrap();
            let (na, nb) = (
                TicketNumber::compose(day(), sys, code(a), x),
                TicketNumber::compose(day(), sys, code(b), y),
            );
            prop_assert_eq!(na == nb, a == b && x == y);
            prop_assert!(na.as_str().parse::<TicketNumber>().is_ok());
            prop_assert_eq!(parts(&na), ("10".to_owned(), code(a).get(), x));
            // Longer than any number made before tenant codes.
            prop_assert!(na.as_str().len() >= 18);
        }
    }
}
