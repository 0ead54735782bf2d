//! Case assessment of an application on the fuller national rules (reference §11): household
//! composition, counted and exempt income with local deductions, assets, supporters outside
//! the household, 特困, 单人保 routes, 渐退, job refusals, and payments with local top-ups and
//! reductions, for the profiles under `policy/assess/profiles/` (GEN-2025, BJ-2024, CD-2023).
//!
//! Parameters are data ([`profile`]); the procedure is code that cites the article it
//! implements ([`procedure`]). The result is a value with reasons — "not eligible" is an `Ok` —
//! and an [`Explanation`](crate::Explanation) with every step. No clock is read: the as-of date
//! is part of the application. Test cases are data too ([`cases`]).

pub mod application;
pub mod cases;
pub mod decision;
pub mod load;
pub mod money;
pub mod procedure;
pub mod profile;

pub use application::{Application, ApplicationError};
pub use decision::{Assessment, Classification, Program};
pub use procedure::{assess, assess_with};
pub use profile::{Profile, ProfileError, Profiles};
