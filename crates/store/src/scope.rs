//! Who is asking: a user's id, roles and region prefix, and what each role may do.

use crate::{Result, StoreError};
use std::fmt;

/// A role of a user (design decision 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Verifies warnings in the field and records findings (网格员 / 社工).
    Caseworker,
    /// Reviews cases at township level.
    Reviewer,
    /// Confirms decisions at county level.
    Approver,
    /// Reads results and statistics.
    Analyst,
    /// Reads everything, including the audit trail, changes nothing.
    Auditor,
    /// Manages users and loads data.
    Administrator,
    /// A department account that delivers data.
    Department,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 7] = [
        Role::Caseworker,
        Role::Reviewer,
        Role::Approver,
        Role::Analyst,
        Role::Auditor,
        Role::Administrator,
        Role::Department,
    ];

    /// The canonical English word.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Caseworker => "caseworker",
            Role::Reviewer => "reviewer",
            Role::Approver => "approver",
            Role::Analyst => "analyst",
            Role::Auditor => "auditor",
            Role::Administrator => "administrator",
            Role::Department => "department",
        }
    }

    /// Parses the English word (case-insensitive) or the Chinese name.
    pub fn parse(text: &str) -> Option<Role> {
        let text = text.trim();
        let chinese = match text {
            "社工" | "网格员" | "经办人" => Some(Role::Caseworker),
            "审核" | "审核人" => Some(Role::Reviewer),
            "审批" | "审批人" => Some(Role::Approver),
            "分析员" => Some(Role::Analyst),
            "审计" | "审计员" => Some(Role::Auditor),
            "管理员" => Some(Role::Administrator),
            "部门" => Some(Role::Department),
            _ => None,
        };
        chinese.or_else(|| {
            Role::ALL
                .into_iter()
                .find(|r| r.as_str().eq_ignore_ascii_case(text))
        })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The user a request acts for: id, roles and region prefix. Every store method takes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    user_id: i64,
    roles: Vec<Role>,
    region_prefix: String,
}

impl Scope {
    /// A scope for a user. The region prefix is 0 to 12 digits (empty: the whole country).
    pub fn new(user_id: i64, roles: &[Role], region_prefix: &str) -> Result<Scope> {
        if !is_region_prefix(region_prefix) {
            return Err(StoreError::Invalid("a region prefix is 0 to 12 digits"));
        }
        let mut roles = roles.to_vec();
        roles.sort();
        roles.dedup();
        Ok(Scope {
            user_id,
            roles,
            region_prefix: region_prefix.to_string(),
        })
    }

    /// The operator of the binary (loading data, managing users from the command line): every
    /// role, the whole country, user id 0.
    pub fn system() -> Scope {
        Scope {
            user_id: 0,
            roles: Role::ALL.to_vec(),
            region_prefix: String::new(),
        }
    }

    /// The user's id (0 for the operator of the binary).
    pub fn user_id(&self) -> i64 {
        self.user_id
    }

    /// The user's roles, sorted.
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// The region prefix.
    pub fn region_prefix(&self) -> &str {
        &self.region_prefix
    }

    /// Whether the scope has `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// `Ok` when the scope has at least one of `roles`, else [`StoreError::Forbidden`].
    pub(crate) fn require(&self, roles: &[Role]) -> Result<()> {
        if roles.iter().any(|r| self.has(*r)) {
            Ok(())
        } else {
            Err(StoreError::Forbidden)
        }
    }

    /// The `LIKE` pattern of the region filter: the prefix followed by `%`. The prefix holds
    /// digits only, so it carries no wildcard of its own.
    pub(crate) fn pattern(&self) -> String {
        format!("{}%", self.region_prefix)
    }

    /// Whether a region code lies within the scope.
    pub(crate) fn covers(&self, region_code: &str) -> bool {
        region_code.starts_with(&self.region_prefix)
    }

    /// Whether the scope sees every task of its region, not only those assigned to it.
    pub(crate) fn sees_all_tasks(&self) -> bool {
        [
            Role::Reviewer,
            Role::Approver,
            Role::Auditor,
            Role::Administrator,
        ]
        .iter()
        .any(|r| self.has(*r))
    }
}

/// Roles that may read personal data and case details.
pub(crate) const CASEWORK: &[Role] = &[
    Role::Caseworker,
    Role::Reviewer,
    Role::Approver,
    Role::Auditor,
    Role::Administrator,
];

/// Roles that may read results without personal data.
pub(crate) const RESULTS: &[Role] = &[
    Role::Caseworker,
    Role::Reviewer,
    Role::Approver,
    Role::Analyst,
    Role::Auditor,
    Role::Administrator,
];

/// Roles that may change tasks and record decisions.
pub(crate) const DECIDING: &[Role] = &[Role::Caseworker, Role::Reviewer, Role::Approver];

/// Whether a text is a region prefix: 0 to 12 ASCII digits.
pub(crate) fn is_region_prefix(text: &str) -> bool {
    text.len() <= 12 && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_both_languages() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("CASEWORKER"), Some(Role::Caseworker));
        assert_eq!(Role::parse("审批人"), Some(Role::Approver));
        assert_eq!(Role::parse("boss"), None);
    }

    #[test]
    fn prefixes_are_digits_only() {
        assert!(Scope::new(1, &[Role::Caseworker], "990101001").is_ok());
        assert!(Scope::new(1, &[Role::Caseworker], "").is_ok());
        assert!(Scope::new(1, &[Role::Caseworker], "99%").is_err());
        assert!(Scope::new(1, &[Role::Caseworker], "9901010010011").is_err());
        let s = Scope::new(1, &[Role::Caseworker, Role::Caseworker], "9901").expect("valid");
        assert_eq!(s.roles(), &[Role::Caseworker]);
        assert_eq!(s.pattern(), "9901%");
        assert!(s.covers("990101001001"));
        assert!(!s.covers("990201001001"));
        assert!(!s.sees_all_tasks());
        assert_eq!(
            s.require(&[Role::Administrator]).map_err(|e| e.to_string()),
            Err("the user's roles do not allow this operation".to_string())
        );
    }
}
