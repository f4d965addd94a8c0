//! placeholder while helpers write the value layer (lead restores the full lib.rs)
#![allow(dead_code)]
mod error;
mod reference;
pub use error::{Error, PythonException, Result};
pub use reference::Ref;
