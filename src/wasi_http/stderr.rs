use wasip3::cli::types::ErrorCode;

/// Writes `text` to the component's stderr through `wasi:cli/stderr` (WASI 0.3), and waits
/// until the host took it.
///
/// Unlike `eprintln!`, which goes through Rust's std and WASI 0.2 and keeps a stderr handle
/// open for the life of the instance, this opens a stream for the text and closes it again,
/// so nothing stays open after the request. [`serve`](super::serve) reports through it.
///
/// # Errors
///
/// The host's `error-code` if it could not write.
///
/// # Panics
///
/// Panics outside a component-model task, like every wit-bindgen write.
///
/// # Examples
///
/// ```no_run
/// # async fn example() {
/// let _ = wit_futures::wasi_http::write_stderr("request handled\n").await;
/// # }
/// ```
pub async fn write_stderr(text: &str) -> Result<(), ErrorCode> {
    let (mut writer, reader) = wasip3::wit_stream::new::<u8>();
    let done = wasip3::cli::stderr::write_via_stream(reader);
    // Anything left unwritten means the host dropped the stream: `done` says why.
    let _ = writer.write_all(text.as_bytes().to_vec()).await;
    drop(writer);
    done.await
}
