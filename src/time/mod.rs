//! Timers on the component's monotonic clock (WASI 0.3 `wasi:clocks/monotonic-clock`, on
//! the [`wasip3`] bindings), in the shape of `tokio::time` (feature `wasi-clocks`, also
//! turned on by `wasi-http` and `wasi-sockets`).
//!
//! - [`sleep`] / [`sleep_until`] → [`Sleep`]: a future that completes at a deadline.
//! - [`timeout`] → [`Timeout`]: a future's output, or [`Elapsed`] if the deadline came
//!   first.
//! - [`interval`] → [`Interval`]: ticks at a fixed period, as a [`Stream`](futures_core::Stream)
//!   or with [`tick`](Interval::tick).
//! - [`Instant`]: a point on the monotonic clock.
//!
//! Each is `Unpin` and fused, so `futures::select!` takes `&mut` to it directly, with no
//! `Box::pin(..)`, `.fuse()` or `pin_mut!` (the raw `wait_for` future needs all three), and
//! `Send`. Waiting is the host's: a sleeping component costs nothing until its deadline.
//!
//! ```no_run
//! use std::time::Duration;
//! use wit_futures::time::{sleep, timeout};
//! # async fn example(mut answer: wit_futures::future::Receiver<String>) {
//! let mut deadline = sleep(Duration::from_millis(100));
//! futures::select! {
//!     line = answer => println!("answered: {line:?}"),
//!     () = deadline => println!("no answer within 100 ms"),
//! }
//! // The same with `timeout`:
//! # let mut answer = answer;
//! match timeout(Duration::from_millis(100), &mut answer).await {
//!     Ok(line) => println!("answered: {line:?}"),
//!     Err(elapsed) => println!("{elapsed}"),
//! }
//! # }
//! ```

mod instant;
mod interval;
mod sleep;
mod timeout;

pub use self::instant::Instant;
pub use self::interval::{Interval, MissedTickBehavior, interval, interval_at};
pub use self::sleep::{Sleep, sleep, sleep_until};
pub use self::timeout::{Elapsed, Timeout, timeout, timeout_at};
