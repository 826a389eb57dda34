//! Queue permissions, granted to groups; a queue belongs to one group.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One permission on the queues of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// Read the group's tickets.
    Ro,
    /// Move tickets into the group's queues.
    MoveInto,
    /// Create tickets in the group's queues.
    Create,
    /// Add internal notes.
    Note,
    /// Become owner of a ticket.
    Owner,
    /// Change the priority.
    Priority,
    /// Everything above, and answering and changing tickets.
    Rw,
}

impl Permission {
    pub const ALL: [Permission; 7] = [
        Self::Ro,
        Self::MoveInto,
        Self::Create,
        Self::Note,
        Self::Owner,
        Self::Priority,
        Self::Rw,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ro => "ro",
            Self::MoveInto => "move_into",
            Self::Create => "create",
            Self::Note => "note",
            Self::Owner => "owner",
            Self::Priority => "priority",
            Self::Rw => "rw",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Permission {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                format!("`{s}` is not a permission (one of: ro, move_into, create, note, owner, priority, rw)")
            })
    }
}

/// A set of permissions on one group. `rw` implies every other permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct PermSet(u8);

impl PermSet {
    pub const NONE: PermSet = PermSet(0);

    pub fn of(perms: &[Permission]) -> Self {
        Self(perms.iter().fold(0, |acc, p| acc | p.bit()))
    }

    pub fn insert(&mut self, p: Permission) {
        self.0 |= p.bit();
    }

    pub fn union(self, other: PermSet) -> PermSet {
        PermSet(self.0 | other.0)
    }

    /// Whether the set grants `p`, directly or through `rw`.
    pub fn allows(self, p: Permission) -> bool {
        self.0 & (p.bit() | Permission::Rw.bit()) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The permissions named in the set (not expanded through `rw`).
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .into_iter()
            .filter(move |p| self.0 & p.bit() != 0)
    }
}

impl Serialize for PermSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(Permission::as_str))
    }
}

impl<'de> Deserialize<'de> for PermSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(d)?;
        let mut set = PermSet::NONE;
        for name in names {
            set.insert(name.parse().map_err(serde::de::Error::custom)?);
        }
        Ok(set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rw_implies_everything_and_nothing_else_does() {
        let rw = PermSet::of(&[Permission::Rw]);
        for p in Permission::ALL {
            assert!(rw.allows(p), "{p}");
        }
        let ro = PermSet::of(&[Permission::Ro]);
        for p in Permission::ALL {
            assert_eq!(ro.allows(p), p == Permission::Ro, "{p}");
        }
        assert!(!PermSet::NONE.allows(Permission::Ro));
    }

    #[test]
    fn serialises_as_names() {
        let set = PermSet::of(&[Permission::Note, Permission::Ro]);
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"["ro","note"]"#);
        assert_eq!(serde_json::from_str::<PermSet>(&json).unwrap(), set);
        assert!(serde_json::from_str::<PermSet>(r#"["root"]"#).is_err());
    }
}
