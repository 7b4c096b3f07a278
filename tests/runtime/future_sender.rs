//! `FutureWriterExt::into_sender` / `Sender`, with the host as the reader; and the cases
//! translated from futures-channel's oneshot tests, both ends in the guest.

use wit_futures_harness::peer::{close_future, read_future, sleep_ms};
use wit_futures_harness::{FutureReader, Guest};

const GUEST: &str = "guest-oneshot";

/// Runs the guest's `send(how, "v")`; the host reads the value future (or, with
/// `close_reader`, closes it after a moment) and then the report future.
async fn send(g: &mut Guest, how: &str, close_reader: bool) -> (Option<String>, String) {
    let send = g.func::<(String, String), ((FutureReader<String>, FutureReader<String>),)>("send");
    let result = g
        .run(async |a| {
            let ((value, report),) = send
                .call_concurrent(a, (how.into(), "v".into()))
                .await
                .unwrap();
            let value = if close_reader {
                sleep_ms(20).await; // let the guest's write start and wait for us
                close_future(a, value);
                None
            } else {
                Some(read_future(a, value).await)
            };
            (value, read_future(a, report).await)
        })
        .await;
    g.assert_nothing_open().await;
    result
}

#[tokio::test]
async fn sent_value_is_delivered() {
    let mut g = Guest::new(GUEST).await;
    assert_eq!(
        send(&mut g, "await", false).await,
        (Some("v".into()), "delivered".into())
    );
}

#[tokio::test]
async fn dropped_send_future_still_delivers_the_value_not_the_default() {
    let mut g = Guest::new(GUEST).await;
    assert_eq!(
        send(&mut g, "drop-send", false).await,
        (Some("v".into()), "dropped the send".into())
    );
}

/// The write is in flight when the `Send` is dropped: the value still arrives, or, if the
/// reader leaves, nothing traps and nothing stays open.
#[tokio::test]
async fn send_polled_then_dropped_still_delivers() {
    let mut g = Guest::new(GUEST).await;
    assert_eq!(
        send(&mut g, "poll-drop-send", false).await,
        (Some("v".into()), "first poll: None; dropped".into())
    );
    assert_eq!(
        send(&mut g, "poll-drop-send", true).await,
        (None, "first poll: None; dropped".into())
    );
}

#[tokio::test]
async fn dropped_sender_sends_the_default() {
    let mut g = Guest::new(GUEST).await;
    assert_eq!(
        send(&mut g, "drop-sender", false).await,
        (Some("default".into()), "dropped the sender".into())
    );
}

#[tokio::test]
async fn reader_dropped_while_the_sender_waits_gives_the_value_back() {
    let mut g = Guest::new(GUEST).await;
    assert_eq!(
        send(&mut g, "await", true).await,
        (None, "reader dropped, value back: v".into())
    );
}

#[tokio::test]
async fn spawn_send_completes_the_future_from_a_rust_future() {
    let mut g = Guest::new(GUEST).await;
    assert_eq!(
        send(&mut g, "spawn-send", false).await,
        (Some("v".into()), "delivered".into())
    );
    assert_eq!(
        send(&mut g, "spawn-send", true).await,
        (None, "reader dropped, value back: v".into())
    );
}

#[tokio::test]
async fn into_channel_forwards_a_futures_channel_send() {
    let mut g = Guest::new(GUEST).await;
    assert_eq!(
        send(&mut g, "channel", false).await,
        (Some("v".into()), "channel send: Ok(())".into())
    );
    assert_eq!(
        send(&mut g, "channel-drop", false).await,
        (Some("default".into()), "dropped the channel sender".into())
    );
}

#[tokio::test]
async fn cancelled_send_gives_back_value_and_sender() {
    let mut g = Guest::new(GUEST).await;
    assert_eq!(
        send(&mut g, "cancel-resend", false).await,
        (
            Some("v!".into()),
            "first poll: None; cancelled v; resent: delivered".into()
        )
    );
}

#[tokio::test]
async fn sender_paths_leak_nothing() {
    let mut g = Guest::new(GUEST).await;
    let cases = [
        ("await", false),
        ("await", true),
        ("drop-send", false),
        ("drop-sender", false),
        ("spawn-send", false),
        ("spawn-send", true),
        ("channel", false),
        ("channel-drop", false),
        ("cancel-resend", false),
    ];
    for (how, close) in cases {
        send(&mut g, how, close).await;
    }
    let baseline = g.live_bytes().await;
    for (how, close) in cases {
        send(&mut g, how, close).await;
    }
    assert_eq!(g.live_bytes().await, baseline);
}

/// Cases run entirely inside the guest (both ends of each future there).
mod cases {
    use super::*;

    async fn run_case(name: &str) -> String {
        let mut g = Guest::new(GUEST).await;
        let (result,) = g
            .call::<(String,), (Result<String, String>,)>("run-case", (name.into(),))
            .await;
        g.assert_nothing_open().await;
        result.unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    macro_rules! cases {
        ($($name:ident),* $(,)?) => {$(
            #[tokio::test]
            async fn $name() {
                let transcript = run_case(stringify!($name)).await;
                println!("{}: {transcript}", stringify!($name));
            }
        )*};
    }

    cases!(
        send_before_recv,
        recv_before_send,
        send_and_recv_in_tasks,
        drop_sender_gives_default,
        drop_receiver_fails_send,
        close_then_send_fails,
        close_wakes_waiting_sender,
        close_races_send,
        drop_receiver_lots,
        not_terminated_before_ready,
        send_cancel_outcomes,
        channel_bridges,
    );

    #[tokio::test]
    async fn debug_shows_state_not_payload() {
        assert_eq!(
            run_case("debug").await,
            r#"Receiver { state: "idle" }; Receiver { state: "reading" }; Sender { .. }; Send { state: "idle" }; Send { state: "done" }; Receiver { state: "done" }"#
        );
    }
}
