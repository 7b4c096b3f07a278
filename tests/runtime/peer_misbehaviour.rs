//! A peer that misbehaves within what the runtime allows: its producer fails, it sends huge
//! or empty payloads, it hangs up at every stage. The guest's adapters never trap or panic
//! because of it; where the component model (wasmtime) itself traps, the tests pin down
//! which side and why.

use std::time::Duration;

use wit_futures_harness::peer::{
    Delivery, close_future, future_ready, read_future, sleep_ms, stream,
};
use wit_futures_harness::wasmtime::Trap;
use wit_futures_harness::{FutureReader, Guest, StreamReader};

/// A host producer that fails is the host's own error: wasmtime ends the run with it.
/// Nothing in the guest traps: the error is not a guest `Trap`. What happens to the instance
/// is wasmtime's rule: in wasmtime 50 the instance cannot be entered again, whether the
/// producer failed while the guest was inside its `future.read` call (the producer was
/// ready at once) or later, from wasmtime's event loop. (wasmtime 48 kept the instance
/// usable in the second case.)
#[tokio::test]
async fn failing_host_producer_is_reported_as_the_hosts_error() {
    for delay in [None, Some(Duration::from_millis(5))] {
        let mut g = Guest::new("guest-oneshot").await;
        let recv = g.func::<(FutureReader<u32>,), (u32,)>("recv");
        let result = g
            .try_run(async |a| {
                let f = a
                    .with(|mut s| {
                        FutureReader::new(&mut s, async move {
                            if let Some(delay) = delay {
                                tokio::time::sleep(delay).await;
                            }
                            Err::<u32, _>(std::io::Error::other("the peer failed"))
                        })
                    })
                    .unwrap();
                recv.call_concurrent(a, (f,)).await
            })
            .await;
        let error = result.expect_err("a failing producer ends the run");
        assert!(
            format!("{error:?}").contains("the peer failed"),
            "{error:?}"
        );
        assert!(
            error.downcast_ref::<Trap>().is_none(),
            "the guest trapped: {error:?}"
        );
        let again = g
            .try_run(async |a| recv.call_concurrent(a, (future_ready(a, 1),)).await)
            .await;
        let poisoned = format!("{again:?}").contains("cannot enter component instance");
        assert!(poisoned, "delay {delay:?}: {again:?}");
    }
}

#[tokio::test]
async fn huge_and_empty_payloads_arrive_whole() {
    let mut g = Guest::new("guest-oneshot").await;
    let recv_bytes = g.func::<(FutureReader<Vec<u8>>,), (Vec<u8>,)>("recv-bytes");
    let recv_string = g.func::<(FutureReader<String>,), (String,)>("recv-string");
    let huge: Vec<u8> = (0..64 << 20).map(|i: u32| (i >> 8) as u8).collect();
    for payload in [Vec::new(), huge] {
        let (got,) = g
            .run(async |a| {
                recv_bytes
                    .call_concurrent(a, (future_ready(a, payload.clone()),))
                    .await
                    .unwrap()
            })
            .await;
        assert!(got == payload, "{} bytes", payload.len());
    }
    let (got,) = g
        .run(async |a| {
            recv_string
                .call_concurrent(a, (future_ready(a, String::new()),))
                .await
                .unwrap()
        })
        .await;
    assert_eq!(got, "");
    g.assert_nothing_open().await;

    let mut g = Guest::new("guest-streams").await;
    let read_lists = g.func::<(StreamReader<Vec<u8>>,), (Vec<Vec<u8>>,)>("read-lists");
    let items = vec![
        Vec::new(),
        vec![7u8; 8 << 20],
        Vec::new(),
        vec![1],
        Vec::new(),
    ];
    let (got,) = g
        .run(async |a| {
            let (s, _) = stream(a, items.clone(), Delivery::chunks(&[1, 3]));
            read_lists.call_concurrent(a, (s,)).await.unwrap()
        })
        .await;
    assert!(got == items);
    g.assert_nothing_open().await;
}

/// The host hangs up on the guest's future right after the call returns (which of the two
/// goes first, the guest's write or the hang-up, is up to the runtime's scheduling), while
/// the write waits, and after it took the value: the guest's `Send` hands the value back, or
/// reports it delivered.
#[tokio::test]
async fn reader_hanging_up_at_every_stage_of_the_rendezvous() {
    let mut g = Guest::new("guest-oneshot").await;
    let send = g.func::<(String, String), ((FutureReader<String>, FutureReader<String>),)>("send");
    for (stage, wait_ms) in [
        ("right after the call", None),
        ("while the write waits", Some(20)),
    ] {
        let report = g
            .run(async |a| {
                let ((value, report),) = send
                    .call_concurrent(a, ("await".into(), "v".into()))
                    .await
                    .unwrap();
                if let Some(ms) = wait_ms {
                    sleep_ms(ms).await;
                }
                close_future(a, value);
                read_future(a, report).await
            })
            .await;
        assert_eq!(report, "reader dropped, value back: v", "{stage}");
        g.assert_nothing_open().await;
    }
    // After the value was taken there is nothing to hang up on: delivered.
    let (value, report) = g
        .run(async |a| {
            let ((value, report),) = send
                .call_concurrent(a, ("await".into(), "v".into()))
                .await
                .unwrap();
            (read_future(a, value).await, read_future(a, report).await)
        })
        .await;
    assert_eq!((value.as_str(), report.as_str()), ("v", "delivered"));
    g.assert_nothing_open().await;
}
