//! Spawning tasks on the current component-model task: [`spawn`] with a real
//! [`JoinHandle`], [`AbortOnDropHandle`], the task group [`JoinSet`], and [`serve`], which
//! handles each item of a component stream on its own task.

mod abort_on_drop;
mod join_handle;
mod join_set;
mod serve;

pub use self::abort_on_drop::AbortOnDropHandle;
pub use self::join_handle::{JoinHandle, spawn};
pub use self::join_set::{JoinNext, JoinSet};
pub use self::serve::{Order, Served, serve};
pub use crate::error::JoinError;
