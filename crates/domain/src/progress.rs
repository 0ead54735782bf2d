//! Progress reporting for long operations, so that libraries can report without knowing the
//! terminal. The binary draws bars; tests pass [`NoProgress`].

/// Receives progress of a long operation. All methods default to doing nothing.
pub trait Progress: Sync {
    /// A new stage begins; `total` units are expected (0 when unknown).
    fn stage(&self, _name: &str, _total: u64) {}
    /// `n` more units of the current stage are done.
    fn inc(&self, _n: u64) {}
    /// The operation is over.
    fn finish(&self) {}
}

/// A [`Progress`] that reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}
