//! Spawning tasks on the current component-model task, with real join handles.

mod join_handle;

pub use self::join_handle::{JoinHandle, spawn};
pub use crate::error::JoinError;
