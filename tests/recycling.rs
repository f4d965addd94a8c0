//! Worker recycling (issue 13): `max_calls` and `max_rss_mib` replace a
//! worker without failing calls; its refs report `RefWorkerGone`.

mod common;

use std::time::{Duration, Instant};

use snakebridge::{Bridge, BridgeConfig, Error, args};

async fn pid(py: &Bridge) -> i64 {
    py.call("os", "getpid", args![])
        .await
        .unwrap()
        .extract()
        .unwrap()
}

/// Waits until the pool's only worker is of generation `n` or later.
async fn wait_generation(py: &Bridge, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !py.workers().iter().any(|w| w.generation >= n) {
        assert!(
            Instant::now() < deadline,
            "the worker never reached generation {n}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn max_calls_replaces_the_worker_between_calls() {
    if common::in_process() {
        // An in-process pool has no worker to recycle: it refuses the setting.
        let _guard = common::enter();
        let err = Bridge::new(BridgeConfig::default().max_calls(3)).unwrap_err();
        assert!(
            matches!(&err, Error::Config { message: m, .. } if m.contains("max_calls")),
            "{err:?}"
        );
        return;
    }
    common::run(async {
        let py = common::own_bridge(BridgeConfig::default().workers(1).max_calls(3));
        let session = py.session();
        let held = session
            .construct("collections", "deque", args![vec![1, 2]])
            .await
            .unwrap()
            .into_ref()
            .unwrap();
        let first = pid(&py).await;
        assert_eq!(pid(&py).await, first);
        // The third call was the last of this worker: the next call goes to
        // its successor, and nothing failed.
        wait_generation(&py, 2).await;
        let second = pid(&py).await;
        assert_ne!(second, first);
        let err = held.method("append", args![3]).await.unwrap_err();
        assert!(matches!(err, Error::RefWorkerGone { .. }), "{err:?}");
        // Many concurrent calls across several recyclings all answer.
        let calls = (0..40).map(|i| {
            let py = py.clone();
            async move { py.call("operator", "add", args![i, 1]).await }
        });
        let results = futures::future::join_all(calls).await;
        for (i, r) in results.into_iter().enumerate() {
            assert_eq!(r.unwrap().extract::<i64>().unwrap(), i as i64 + 1);
        }
        // Calls that arrive while a worker drains may still run on it; the
        // recycling follows as soon as they finish.
        wait_generation(&py, 3).await;
        assert!(pid(&py).await > 0);
        py.shutdown().await;
    });
}

#[test]
fn max_rss_replaces_a_worker_that_grew() {
    if common::in_process() {
        let _guard = common::enter();
        let err = Bridge::new(BridgeConfig::default().max_rss_mib(100)).unwrap_err();
        assert!(
            matches!(&err, Error::Config { message: m, .. } if m.contains("max_rss_mib")),
            "{err:?}"
        );
        return;
    }
    common::run(async {
        let py = common::own_bridge(BridgeConfig::default().workers(1).max_rss_mib(200));
        let session = py.session();
        let first = pid(&py).await;
        // 300 MiB of touched memory, held by a ref.
        let big = session
            .call("builtins", "bytearray", args![300i64 << 20])
            .await
            .unwrap()
            .into_ref()
            .unwrap();
        wait_generation(&py, 2).await;
        assert_ne!(pid(&py).await, first);
        let err = big.method("__len__", args![]).await.unwrap_err();
        assert!(matches!(err, Error::RefWorkerGone { .. }), "{err:?}");
        py.shutdown().await;
    });
}
