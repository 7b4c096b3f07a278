//! Spawning tasks on the current component-model task: [`spawn`] with a real
//! [`JoinHandle`] and an [`AbortHandle`], [`AbortOnDropHandle`], and the task group
//! [`JoinSet`]. ([`stream::serve`](crate::stream::serve) handles each item of a component
//! stream on its own task.)

mod abort_on_drop;
mod join_handle;
mod join_set;

pub use self::abort_on_drop::AbortOnDropHandle;
pub use self::join_handle::{AbortHandle, JoinHandle, spawn};
pub use self::join_set::{JoinNext, JoinSet};
pub use crate::error::JoinError;
