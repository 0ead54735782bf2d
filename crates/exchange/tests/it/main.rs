//! Integration tests of the exchange crate: whole batches through `import_batch` into a lake.

mod fixture;
mod formats;
mod lake;
mod rejects;
