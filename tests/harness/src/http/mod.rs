//! wasi:http on loopback: a [`Server`] that runs a wasi:http component for every request,
//! and a hyper [`Client`] with bodies of chosen shape to drive it.

mod client;
mod server;

pub use client::{
    Client, ClientBody, PatternBody, PatternCheck, Received, pattern_byte, read_body, scripted_body,
};
pub use server::{RequestLog, Server, ServerBody};
