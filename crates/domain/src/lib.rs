//! Typed values of the exchange contract, parsed once at the edge.
//!
//! Text from a file, a form or a request becomes one of these types exactly once; nothing
//! downstream handles raw strings for resident IDs, region codes, money or dates. The crate does
//! no IO and never reads the clock: dates are always arguments.
//!
//! Types that carry personal data (`ResidentId`) mask themselves in `Debug` and `Display`.

pub mod codes;
pub mod credit;
pub mod date;
pub mod id;
pub mod money;
pub mod progress;
pub mod region;
pub mod short;
pub mod text;

pub use codes::{
    BusinessRole, BusinessStatus, DisabilityCategory, DisabilityGrade, EducationLevel,
    EmploymentStatus, Gender, IncomeKind, MedicalKind, PersonStatus, Program, PropertyUsage,
    Relation, SelfCare, VehicleType,
};
pub use credit::{CreditCode, CreditCodeError};
pub use date::{Date, DateError, Month, age_on};
pub use id::{IdError, ResidentId};
pub use money::{Fen, MoneyError};
pub use progress::{NoProgress, Progress};
pub use region::{RegionCode, RegionError};
pub use short::ShortText;
