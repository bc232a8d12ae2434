use std::fmt;

/// Everything the engine can refuse. The message is what the Python user sees.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineError {
    /// An argument had a value the engine cannot accept (names the argument).
    InvalidArgument(String),
    /// The feed's data was malformed (names column, asset and timestamp).
    InvalidData(String),
    /// An id (order, asset, bar) that does not exist.
    NotFound(String),
    /// The engine was used out of order (e.g. a bar stepped twice).
    InvalidState(String),
    /// A user callback (a Python cost model) raised; the caller holds the
    /// original exception.
    Callback(String),
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::InvalidArgument(m)
            | EngineError::InvalidData(m)
            | EngineError::NotFound(m)
            | EngineError::InvalidState(m)
            | EngineError::Callback(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for EngineError {}

pub type EngineResult<T> = Result<T, EngineError>;
