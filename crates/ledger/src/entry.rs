//! Audit entries and their canonical byte encoding.
//!
//! An entry records who did what, where, when and why — and the *hash* of the data touched, never
//! the data. Nothing in an [`Entry`] can hold personal data: the actor is a numeric user id, the
//! subject is a household's surrogate number or a 32-byte keyed hash (a blind index), the data is
//! a [`DataHash`], and the purpose is a code from a closed list plus an optional case number.
//! There is no free-text field. A resident ID cannot be put in: [`SubjectRef`] only takes a
//! digest, so the caller must hash (with the privacy crate's keyed blind index) first.
//!
//! # Canonical encoding (version 1)
//!
//! The leaf of the Merkle tree is the canonical encoding of a [`Record`] (an entry at its index).
//! All integers are big-endian; the layout is fixed-order, with no optional padding:
//!
//! | bytes | field |
//! |---|---|
//! | 1 | format version, `0x01` |
//! | 8 | index in the log (u64) |
//! | 8 | `at`: milliseconds since 1970-01-01T00:00:00Z (i64) |
//! | 8 | actor user id (u64) |
//! | 1 | role code ([`Role::code`]) |
//! | 12 | region code, 12 ASCII digits |
//! | 1 | action code ([`Action::code`]) |
//! | 1 | purpose code ([`Purpose::code`]) |
//! | 1 + 8 | case reference: `0x00`, or `0x01` then u64 |
//! | 1 + 8 or 1 + 32 | subject: `0x01` household number u64, `0x02` 32-byte hash |
//! | 32 | hash of the data touched |
//!
//! Decoding is strict: unknown codes, a wrong length or trailing bytes are errors, so one
//! encoding maps to exactly one entry and back. Codes are append-only: a code once used is
//! never reassigned.

use std::fmt;

use domain::RegionCode;
use serde::{Deserialize, Serialize};

use crate::hash::{Digest, HashAlgorithm};

/// The version byte that starts every encoded record.
pub const FORMAT_VERSION: u8 = 1;

/// An instant: milliseconds since 1970-01-01T00:00:00Z. Given by the caller; the library never
/// reads the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

/// The numeric id of a platform user (never a login name or a person's name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub u64);

macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal, $text:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The byte in the canonical encoding (stable; never reassigned).
            pub fn code(self) -> u8 {
                match self {
                    $($name::$variant => $code,)+
                }
            }

            /// The value of a canonical byte.
            pub fn from_code(code: u8) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The canonical English name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// Parses the canonical English name (case-insensitive).
            pub fn parse(text: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|value| value.as_str().eq_ignore_ascii_case(text))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

code_enum! {
    /// The role under which the actor acted (design decision 7).
    Role {
        /// 经办人: verifies households and records findings.
        Caseworker = 1, "caseworker";
        /// 审核人: township review.
        Reviewer = 2, "reviewer";
        /// 审批人: county confirmation.
        Approver = 3, "approver";
        /// 分析员: statistics without personal data.
        Analyst = 4, "analyst";
        /// 审计员: reads the ledger.
        Auditor = 5, "auditor";
        /// 管理员: users, roles, keys and policy.
        Administrator = 6, "administrator";
        /// A department's machine account for data exchange.
        DepartmentAccount = 7, "department_account";
        /// The platform itself (scheduled monitoring runs).
        System = 8, "system";
    }
}

code_enum! {
    /// What was done.
    Action {
        /// A decision on a case (grant, refuse, change, stop), recorded by a person.
        Decision = 1, "decision";
        /// A read of personal data without the mask.
        UnmaskedRead = 2, "unmasked_read";
        /// An export of data out of the platform.
        Export = 3, "export";
        /// An import batch of department extracts.
        ImportBatch = 4, "import_batch";
        /// A monitoring (screening) run.
        MonitoringRun = 5, "monitoring_run";
        /// A user was created, changed or disabled.
        UserChange = 6, "user_change";
        /// A user's roles or region changed.
        RoleChange = 7, "role_change";
        /// A policy pack was loaded or changed.
        PolicyChange = 8, "policy_change";
        /// An encryption or signing key was rotated.
        KeyRotation = 9, "key_rotation";
        /// A warning became a task, or a task was assigned or closed.
        TaskChange = 10, "task_change";
        /// A payment list was produced or changed.
        Payment = 11, "payment";
    }
}

code_enum! {
    /// Why it was done: a closed list, so that no free text (and no personal data) enters the log.
    Purpose {
        /// Verifying a household's circumstances (核查).
        Verification = 1, "verification";
        /// Reviewing or approving an application or change (审核审批).
        Approval = 2, "approval";
        /// Following up a monitoring warning (预警处置).
        WarningFollowUp = 3, "warning_follow_up";
        /// Handling an appeal or complaint (申诉).
        Appeal = 4, "appeal";
        /// Paying or correcting benefits (发放).
        Payment = 5, "payment";
        /// Routine dynamic monitoring (动态监测).
        Monitoring = 6, "monitoring";
        /// Exchange with another department (数据共享).
        DataExchange = 7, "data_exchange";
        /// Statistics and reporting (统计).
        Statistics = 8, "statistics";
        /// Internal or external audit (审计).
        Audit = 9, "audit";
        /// Administration of the platform (系统管理).
        Administration = 10, "administration";
    }
}

/// What an entry is about: a household's surrogate number, or a keyed hash of another reference
/// (a resident's blind index, a file, a batch). Never a raw identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectRef {
    /// The platform's internal household number (not an ID number).
    Household(u64),
    /// A 32-byte keyed hash, e.g. the HMAC-SM3 blind index of a resident ID.
    Hashed(Digest),
}

impl SubjectRef {
    /// A subject given by a blind index computed elsewhere (the privacy crate's keyed HMAC-SM3).
    pub fn blind_index(index: [u8; 32]) -> SubjectRef {
        SubjectRef::Hashed(Digest(index))
    }
}

/// The hash of the data an action touched (a record, a file, a query result). Lets an auditor
/// check later that the data was what the log says, without the log holding it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DataHash(Digest);

impl DataHash {
    /// Hashes `data` with `algorithm`. The data itself is not kept.
    pub fn of(algorithm: HashAlgorithm, data: &[u8]) -> DataHash {
        DataHash(algorithm.hash(data))
    }

    /// A hash computed elsewhere (e.g. of a file while it was streamed).
    pub fn from_digest(digest: Digest) -> DataHash {
        DataHash(digest)
    }

    /// The digest.
    pub fn digest(&self) -> Digest {
        self.0
    }
}

/// One audited action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// When it happened.
    pub at: Timestamp,
    /// Who did it.
    pub actor: UserId,
    /// In which role.
    pub role: Role,
    /// In which region (the actor's scope, or the subject's region).
    #[serde(with = "region_text")]
    pub region: RegionCode,
    /// What was done.
    pub action: Action,
    /// Why.
    pub purpose: Purpose,
    /// The task or case number the action belongs to, if any.
    pub case: Option<u64>,
    /// What it was about.
    pub subject: SubjectRef,
    /// The hash of the data touched.
    pub data: DataHash,
}

/// Serialises a region code as its 12 digits.
mod region_text {
    use domain::RegionCode;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(region: &RegionCode, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(region.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<RegionCode, D::Error> {
        let text = String::deserialize(deserializer)?;
        RegionCode::parse(&text).map_err(|_| serde::de::Error::custom("expected a region code"))
    }
}

/// An entry at its position in the log: what a leaf of the tree encodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The 0-based position in the log.
    pub index: u64,
    /// The entry.
    pub entry: Entry,
}

/// Why bytes are not a canonical record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer or more bytes than the layout needs.
    #[error("a record is {expected} bytes, found {found}")]
    Length {
        /// What the layout needs.
        expected: usize,
        /// What was given.
        found: usize,
    },
    /// The first byte is not a known format version.
    #[error("unknown record format version {0}")]
    Version(u8),
    /// A field holds a value outside its code list.
    #[error("invalid {0} field")]
    Field(&'static str),
}

const HOUSEHOLD_TAG: u8 = 1;
const HASHED_TAG: u8 = 2;

impl Record {
    /// The canonical encoding (see the module documentation).
    pub fn encode(&self) -> Vec<u8> {
        let entry = &self.entry;
        let mut bytes = Vec::with_capacity(116);
        bytes.push(FORMAT_VERSION);
        bytes.extend_from_slice(&self.index.to_be_bytes());
        bytes.extend_from_slice(&entry.at.0.to_be_bytes());
        bytes.extend_from_slice(&entry.actor.0.to_be_bytes());
        bytes.push(entry.role.code());
        bytes.extend_from_slice(entry.region.as_str().as_bytes());
        bytes.push(entry.action.code());
        bytes.push(entry.purpose.code());
        match entry.case {
            None => bytes.extend_from_slice(&[0; 9]),
            Some(case) => {
                bytes.push(1);
                bytes.extend_from_slice(&case.to_be_bytes());
            }
        }
        match entry.subject {
            SubjectRef::Household(number) => {
                bytes.push(HOUSEHOLD_TAG);
                bytes.extend_from_slice(&number.to_be_bytes());
            }
            SubjectRef::Hashed(digest) => {
                bytes.push(HASHED_TAG);
                bytes.extend_from_slice(digest.as_bytes());
            }
        }
        bytes.extend_from_slice(entry.data.digest().as_bytes());
        bytes
    }

    /// Decodes a canonical encoding, strictly.
    pub fn decode(bytes: &[u8]) -> Result<Record, DecodeError> {
        let mut reader = Reader { bytes, at: 0 };
        let version = reader.byte("version")?;
        if version != FORMAT_VERSION {
            return Err(DecodeError::Version(version));
        }
        let index = reader.u64("index")?;
        let at = Timestamp(reader.u64("at")? as i64);
        let actor = UserId(reader.u64("actor")?);
        let role = Role::from_code(reader.byte("role")?).ok_or(DecodeError::Field("role"))?;
        let region_bytes = reader.take(12, "region")?;
        let region = std::str::from_utf8(region_bytes)
            .ok()
            .filter(|text| text.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|text| RegionCode::parse(text).ok())
            .ok_or(DecodeError::Field("region"))?;
        let action =
            Action::from_code(reader.byte("action")?).ok_or(DecodeError::Field("action"))?;
        let purpose =
            Purpose::from_code(reader.byte("purpose")?).ok_or(DecodeError::Field("purpose"))?;
        let case = match reader.byte("case")? {
            0 => {
                if reader.u64("case")? != 0 {
                    return Err(DecodeError::Field("case"));
                }
                None
            }
            1 => Some(reader.u64("case")?),
            _ => return Err(DecodeError::Field("case")),
        };
        let subject = match reader.byte("subject")? {
            HOUSEHOLD_TAG => SubjectRef::Household(reader.u64("subject")?),
            HASHED_TAG => SubjectRef::Hashed(reader.digest("subject")?),
            _ => return Err(DecodeError::Field("subject")),
        };
        let data = DataHash(reader.digest("data")?);
        if reader.at != bytes.len() {
            return Err(DecodeError::Length {
                expected: reader.at,
                found: bytes.len(),
            });
        }
        Ok(Record {
            index,
            entry: Entry {
                at,
                actor,
                role,
                region,
                action,
                purpose,
                case,
                subject,
                data,
            },
        })
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, _field: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self.at + n;
        let slice = self.bytes.get(self.at..end).ok_or(DecodeError::Length {
            expected: end,
            found: self.bytes.len(),
        })?;
        self.at = end;
        Ok(slice)
    }

    fn byte(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, field)?[0])
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        let mut buffer = [0u8; 8];
        buffer.copy_from_slice(self.take(8, field)?);
        Ok(u64::from_be_bytes(buffer))
    }

    fn digest(&mut self, field: &'static str) -> Result<Digest, DecodeError> {
        let mut buffer = [0u8; 32];
        buffer.copy_from_slice(self.take(32, field)?);
        Ok(Digest(buffer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(case: Option<u64>, subject: SubjectRef) -> Record {
        Record {
            index: 7,
            entry: Entry {
                at: Timestamp(1_764_300_000_000),
                actor: UserId(42),
                role: Role::Caseworker,
                region: RegionCode::parse("990101001201").expect("synthetic region"),
                action: Action::UnmaskedRead,
                purpose: Purpose::Verification,
                case,
                subject,
                data: DataHash::of(HashAlgorithm::Sm3, b"synthetic household row"),
            },
        }
    }

    #[test]
    fn encoding_round_trips() {
        for record in [
            sample(None, SubjectRef::Household(12)),
            sample(Some(9), SubjectRef::blind_index([7; 32])),
        ] {
            assert_eq!(Record::decode(&record.encode()), Ok(record));
        }
    }

    #[test]
    fn encoding_is_stable() {
        // Golden bytes: changing the layout breaks every existing log, so it must be deliberate.
        let bytes = sample(Some(3), SubjectRef::Household(12)).encode();
        assert_eq!(bytes.len(), 90);
        assert_eq!(
            crate::hash::hex_encode(&bytes[..58]),
            "0100000000000000070000019ac8798b00000000000000002a01393930313031303031323031020101000000000000000301000000000000000c"
        );
        assert_eq!(
            HashAlgorithm::Sm3.leaf(&bytes).to_hex(),
            HashAlgorithm::Sm3.hash_parts(&[&[0], &bytes]).to_hex()
        );
    }

    #[test]
    fn decoding_rejects_damage() {
        let bytes = sample(None, SubjectRef::Household(12)).encode();
        assert!(matches!(
            Record::decode(&bytes[..bytes.len() - 1]),
            Err(DecodeError::Length { .. })
        ));
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            Record::decode(&longer),
            Err(DecodeError::Length { .. })
        ));
        let mut version = bytes.clone();
        version[0] = 9;
        assert_eq!(Record::decode(&version), Err(DecodeError::Version(9)));
        let mut role = bytes.clone();
        role[25] = 200;
        assert_eq!(Record::decode(&role), Err(DecodeError::Field("role")));
        let mut region = bytes;
        region[26] = b'x';
        assert_eq!(Record::decode(&region), Err(DecodeError::Field("region")));
    }

    #[test]
    fn codes_are_unique_and_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::from_code(role.code()), Some(*role));
            assert_eq!(Role::parse(role.as_str()), Some(*role));
        }
        for action in Action::ALL {
            assert_eq!(Action::from_code(action.code()), Some(*action));
            assert_eq!(Action::parse(action.as_str()), Some(*action));
        }
        for purpose in Purpose::ALL {
            assert_eq!(Purpose::from_code(purpose.code()), Some(*purpose));
        }
        assert_eq!(Role::from_code(0), None);
    }
}
