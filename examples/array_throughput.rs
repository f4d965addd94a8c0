//! Array throughput: float64 round trips through a worker (`numpy.asarray`
//! returns its argument, so the array crosses both ways) against a plain
//! memcpy of the same size in this process (docs/performance.md, ADR 0010).
//!
//! ```text
//! cargo run --release -p snakebridge-examples --example array_throughput
//! cargo run --release -p snakebridge-examples --example array_throughput -- --sizes 1,8
//! cargo run --release -p snakebridge-examples --example array_throughput -- --sizes 8 --no-shared-memory
//! ```
//!
//! Ends with one JSON line per size:
//! `{"mib": 256, "bridge_gbps": ..., "memcpy_gbps": ...}` (GB/s: 10^9 bytes
//! per second; a round trip counts the array's size once).

use std::time::{Duration, Instant};

use bytes::Bytes;
use snakebridge::{Bridge, BridgeConfig, NdArray, args};

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn gbps(bytes: usize, t: Duration) -> f64 {
    bytes as f64 / t.as_secs_f64() / 1e9
}

/// Iterations per size: enough for a stable median, few for big sizes.
fn iterations(mib: usize) -> usize {
    (512 / mib.max(1)).clamp(5, 40)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut sizes = vec![8usize, 256];
    let mut shared_memory = true;
    let mut argv = std::env::args().skip(1);
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            "--sizes" => {
                let list = argv.next().ok_or("--sizes needs a list of MiB, e.g. 1,8")?;
                sizes = list
                    .split(',')
                    .map(|s| s.trim().parse())
                    .collect::<Result<_, _>>()?;
            }
            // The socket path, for comparison (payloads over
            // max_message_bytes then travel beside messages, in chunks:
            // ADR 0012).
            "--no-shared-memory" => shared_memory = false,
            other => return Err(format!("unknown argument {other:?} (try --sizes 8,256)").into()),
        }
    }
    let rt = tokio::runtime::Runtime::new()?;
    let _guard = rt.enter();
    let py = Bridge::new(
        BridgeConfig::default()
            .workers(1)
            .shared_memory(shared_memory),
    )?;
    let mut lines = Vec::new();
    for &mib in &sizes {
        let bytes = mib << 20;
        let n = bytes / 8;
        // float64 values 0.0, 1.0, ...: built as bytes (fast in debug builds).
        let mut data = Vec::with_capacity(bytes);
        for i in 0..n {
            data.extend_from_slice(&(i as f64).to_le_bytes());
        }
        let array = NdArray::new("<f8", vec![n], Bytes::from(data))?;
        let runs = iterations(mib);

        let bridge = rt.block_on(async {
            let round_trip = || async {
                let back: NdArray = py
                    .call("numpy", "asarray", args![array.clone()])
                    .await?
                    .extract()?;
                Ok::<_, snakebridge::Error>(back)
            };
            // Warm-up: worker start, arena regions created and pre-faulted.
            let back = round_trip().await?;
            assert!(back.data == array.data, "the array came back intact");
            drop(back);
            round_trip().await?;
            let mut times = Vec::with_capacity(runs);
            for _ in 0..runs {
                let start = Instant::now();
                let back = round_trip().await?;
                times.push(start.elapsed());
                drop(back);
            }
            Ok::<_, snakebridge::Error>(median(times))
        })?;

        let src = array.data.clone();
        let mut dst = vec![1u8; bytes]; // pre-faulted
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs + 2 {
            let start = Instant::now();
            dst.copy_from_slice(&src);
            std::hint::black_box(&mut dst);
            times.push(start.elapsed());
        }
        let memcpy = median(times);

        let (b, m) = (gbps(bytes, bridge), gbps(bytes, memcpy));
        println!(
            "{mib:>4} MiB float64: bridge round trip {:>8.2} ms ({b:.2} GB/s), memcpy {:>7.2} ms \
             ({m:.2} GB/s): {:.0} % of memcpy",
            bridge.as_secs_f64() * 1e3,
            memcpy.as_secs_f64() * 1e3,
            100.0 * b / m
        );
        lines.push(format!(
            "{{\"mib\": {mib}, \"bridge_gbps\": {b:.3}, \"memcpy_gbps\": {m:.3}}}"
        ));
    }
    if shared_memory {
        // Small values: the arena must cost them nothing. math.sqrt(16) on
        // this bridge vs one with shared memory off, rounds interleaved.
        let off = Bridge::new(BridgeConfig::default().workers(1).shared_memory(false))?;
        let (on_us, off_us) = rt.block_on(async {
            let per_call = |bridge: &Bridge| {
                let bridge = bridge.clone();
                async move {
                    const CALLS: u32 = 500;
                    let start = Instant::now();
                    for _ in 0..CALLS {
                        bridge.call("math", "sqrt", args![16]).await?;
                    }
                    Ok::<_, snakebridge::Error>(start.elapsed() / CALLS)
                }
            };
            per_call(&py).await?;
            per_call(&off).await?;
            let (mut on, mut off_times) = (Vec::new(), Vec::new());
            for _ in 0..9 {
                on.push(per_call(&py).await?);
                off_times.push(per_call(&off).await?);
            }
            Ok::<_, snakebridge::Error>((median(on), median(off_times)))
        })?;
        println!(
            "math.sqrt(16): {:.1} us per call with shared memory on, {:.1} us off",
            on_us.as_secs_f64() * 1e6,
            off_us.as_secs_f64() * 1e6
        );
    }
    for line in lines {
        println!("{line}");
    }
    Ok(())
}
