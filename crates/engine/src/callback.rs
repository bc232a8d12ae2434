//! `Callback`: user code (a Python model or rule) the engine calls back,
//! shared and compared by identity. Cost models (venue) and position rules
//! (rules) both hold one, so it belongs to neither.

use std::fmt;
use std::sync::Arc;

/// A shared callback, compared by identity.
pub struct Callback<T: ?Sized>(pub Arc<T>);

impl<T: ?Sized> Clone for Callback<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T: ?Sized> PartialEq for Callback<T> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<T: ?Sized> fmt::Debug for Callback<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Callback(..)")
    }
}
