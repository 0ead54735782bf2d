//! Deriving the base facts of persons from typed feed records at an as-of date.
