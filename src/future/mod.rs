//! `future<T>`: the reader as a oneshot [`Receiver`], the writer as a [`Sender`].
//!
//! Start from the extension traits, [`FutureReaderExt::into_oneshot`] and
//! [`FutureWriterExt::into_sender`], also in the [`prelude`](crate::prelude).

mod receiver;
mod sender;

pub use self::receiver::{Receiver, Recovered};
pub use self::sender::{Send, SendCancel, Sender};
pub use crate::error::{Canceled, SendError};

use wit_bindgen::{FutureReader, FutureWriter};

/// Adapters for the reading end of a component-model `future<T>`.
pub trait FutureReaderExt<T: 'static>: Sized {
    /// Wraps the reader in a oneshot [`Receiver`]: `Unpin`, fused, cancel-safe in
    /// `select!`, with `try_recv`, `close` and `into_inner`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use wit_futures::prelude::*;
    /// # async fn example(reader: wit_bindgen::FutureReader<u32>) {
    /// let value: u32 = reader.into_oneshot().await.unwrap();
    /// # }
    /// ```
    fn into_oneshot(self) -> Receiver<T>;
}

impl<T: 'static> FutureReaderExt<T> for FutureReader<T> {
    fn into_oneshot(self) -> Receiver<T> {
        Receiver::new(self)
    }
}

/// Adapters for the writing end of a component-model `future<T>`.
pub trait FutureWriterExt<T: 'static>: Sized {
    /// Wraps the writer in a [`Sender`], whose sent value is never replaced by the default.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use wit_futures::prelude::*;
    /// # async fn example(writer: wit_bindgen::FutureWriter<u32>) {
    /// let _ = writer.into_sender().send(1).await;
    /// # }
    /// ```
    fn into_sender(self) -> Sender<T>;
}

impl<T: 'static> FutureWriterExt<T> for FutureWriter<T> {
    fn into_sender(self) -> Sender<T> {
        Sender::new(self)
    }
}
