//! Runtime tests: guest components (tests/guests) run in embedded wasmtime, the host playing
//! the peer of every future and stream. One test binary, so components compile once.

mod cancel_export;
mod coverage;
mod duplex;
mod examples;
mod future_receiver;
mod future_sender;
mod gated;
mod http;
mod http_body;
mod http_proxy;
mod mini_redis;
mod park;
mod peer_misbehaviour;
mod stream_reader;
mod stream_writer;
mod task;
mod tcp;
mod time;
mod tokio_io;
mod torture;
