//! Integration tests of the exchange crate: whole batches through `import_batch` into a lake.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

mod fixture;
mod formats;
mod lake;
mod rejects;
