//! Status codes, the thread-local last-error message and the panic guard.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use nl_core::EngineError;

/// Result code of every export. Non-zero means `nl_last_error()` has the text.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NlStatus {
    Ok = 0,
    InvalidArgument = 1,
    InvalidData = 2,
    NotFound = 3,
    InvalidState = 4,
    NullPointer = 5,
    /// A callback (a user's Python model) failed; the Python side re-raises
    /// the exception it stored.
    CallbackFailed = 6,
    /// The engine was busy: a callback it was running (a Python position
    /// rule, commission or slippage model) called back into it. Python raises
    /// a RuntimeError naming the call.
    Busy = 7,
    /// A Rust panic was caught: a bug in nautilus_like, never in user input.
    Panic = 99,
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

static PANIC_HOOK: Once = Once::new();

fn set_last_error(msg: &str) {
    let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

impl From<&EngineError> for NlStatus {
    fn from(e: &EngineError) -> Self {
        match e {
            EngineError::InvalidArgument(_) => NlStatus::InvalidArgument,
            EngineError::InvalidData(_) => NlStatus::InvalidData,
            EngineError::NotFound(_) => NlStatus::NotFound,
            EngineError::InvalidState(_) => NlStatus::InvalidState,
            EngineError::Callback(_) => NlStatus::CallbackFailed,
        }
    }
}

/// Why an export failed: an engine error, or a refused re-entrant call.
#[derive(Debug)]
pub(crate) enum FfiError {
    Engine(EngineError),
    Busy(String),
}

impl From<EngineError> for FfiError {
    fn from(e: EngineError) -> Self {
        FfiError::Engine(e)
    }
}

/// Runs `f`, converting errors and panics into a status plus last-error text.
pub(crate) fn guard(f: impl FnOnce() -> Result<(), FfiError>) -> NlStatus {
    // The hook records the panic message for `nl_last_error` instead of
    // printing it to stderr, where a Python user would never connect it.
    PANIC_HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let loc = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
            let msg = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(&format!("internal error (Rust panic{loc}): {msg}"));
        }));
    });
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => NlStatus::Ok,
        Ok(Err(FfiError::Engine(e))) => {
            set_last_error(&e.to_string());
            NlStatus::from(&e)
        }
        Ok(Err(FfiError::Busy(msg))) => {
            set_last_error(&msg);
            NlStatus::Busy
        }
        Err(_) => NlStatus::Panic,
    }
}

pub(crate) fn null_error(what: &str) -> EngineError {
    EngineError::InvalidArgument(format!("null pointer passed for {what}"))
}

/// The message of the last failed call on this thread. Borrowed: valid until
/// the next failing call on the same thread; never null.
#[no_mangle]
pub extern "C" fn nl_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// Frees a string returned by an `nl_*` function. Null is a no-op.
///
/// # Safety
/// `s` must come from an `nl_*` function and not have been freed before.
#[no_mangle]
pub unsafe extern "C" fn nl_string_free(s: *mut c_char) {
    if !s.is_null() {
        drop(CString::from_raw(s));
    }
}

pub(crate) fn into_c_string(s: &str) -> *mut c_char {
    CString::new(s.replace('\0', " ")).unwrap_or_default().into_raw()
}

/// Deliberately panics inside the guard; tests use it to prove a panic
/// becomes an error status rather than an abort.
#[no_mangle]
pub extern "C" fn nl_debug_panic() -> NlStatus {
    guard(|| panic!("nl_debug_panic called"))
}
