//! A caller component drops its call into a callee whose `Receiver` is waiting: the callee's
//! export task is cancelled mid-flight (composed components; wasmtime 48 cannot cancel a call
//! the host started).

use wit_futures_harness::Guest;

async fn cancel_during(scenario: &str, deliver: &str) -> Vec<String> {
    let mut g = Guest::new("composed_cancel").await;
    let (log,) = g
        .call::<(String, String), (Vec<String>,)>(
            "cancel-during",
            (scenario.into(), deliver.into()),
        )
        .await;
    g.assert_nothing_open().await;
    log
}

#[tokio::test]
async fn cancelled_callee_drops_its_receiver_and_the_caller_gets_its_value_back() {
    assert_eq!(
        cancel_during("recv", "none").await,
        [
            "first poll: None",
            "cancelled",
            "send after cancel: Err(7)",
            "recv: cleanup ran",
        ]
    );
}

#[tokio::test]
async fn cancel_right_after_the_value_reached_the_callee_does_not_trap() {
    assert_eq!(
        cancel_during("recv", "before-cancel").await,
        [
            "first poll: None",
            "send: Some(Ok(()))",
            "cancelled",
            "recv: cleanup ran",
        ]
    );
}
