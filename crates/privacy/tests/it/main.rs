//! Integration tests of the privacy crate's public API: a database's key life cycle as the
//! store and the binary use it.

mod lifecycle;
