//! Integration tests of the monitor: small lakes written as Parquet, screened end to end.

mod agreement;
mod examples;
mod facts;
mod fixture;
mod linking;
mod robustness;
