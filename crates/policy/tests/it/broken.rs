//! Broken packs are refused with file and line.
