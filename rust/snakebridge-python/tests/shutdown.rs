//! Dropping the last executor handle stops its threads (own binary: it counts
//! the process's threads).

mod common;

use common::*;
use snakebridge_python::ExecutorConfig;

fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, Iterator::count)
}

#[test]
fn dropping_the_executor_stops_its_threads() {
    init();
    // The helper imports numpy, whose BLAS starts threads of its own when
    // it is loaded: import it before counting.
    pyo3::Python::attach(|py| py.import("numpy").map(drop)).expect("numpy");
    let before = thread_count();
    let ex = executor_with(ExecutorConfig::default());
    let clone = ex.clone();
    assert!(same_wire(&make(&clone, "1"), &int(1)));
    let h = as_ref(&make(&ex, "Obj()")).clone();
    assert_ne!(h.id, 0);
    assert!(thread_count() >= before + 2);
    drop(ex);
    // A clone keeps the pool alive.
    assert!(same_wire(&make(&clone, "2"), &int(2)));
    drop(clone);
    let mut now = thread_count();
    for _ in 0..200 {
        if now <= before {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        now = thread_count();
    }
    let names: Vec<String> = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("comm")).ok())
        .collect();
    assert!(
        now <= before,
        "threads before {before}, after drop {now}: {names:?}"
    );
}
