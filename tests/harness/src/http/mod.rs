//! wasi:http on loopback: a [`Server`] that runs a wasi:http component for every request,
//! a hyper [`Client`] with bodies of chosen shape to drive it, and a plain hyper
//! [`Upstream`] for a proxy component to forward to.

mod client;
mod server;
mod upstream;

pub use client::{
    Client, ClientBody, PatternBody, PatternCheck, Received, pattern_byte, read_body, scripted_body,
};
pub use server::{RequestLog, Server, ServerBody};
pub use upstream::{Upstream, generated};
