//! `future<T>` on the host: a producer from any Rust future, and the guest's future as a
//! Rust [`Future`].

mod from_future;
mod guest_future;

pub use self::from_future::{FromFuture, from_future};
pub use self::guest_future::{GuestFuture, GuestGone};
