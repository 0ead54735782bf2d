//! Integration tests of the ledger: the RFC algorithms against an independent implementation,
//! and tamper detection on every store (memory, SQLite, PostgreSQL).

mod fixture;
mod tamper;
mod vectors;
