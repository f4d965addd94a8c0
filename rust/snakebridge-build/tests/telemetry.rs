//! Codegen phases as telemetry events. A test binary of its own: `tracing`
//! caches each callsite's interest process-wide, so a test on another
//! thread hitting the callsite with no subscriber could hide the events
//! from this test's thread-local subscriber.

use std::path::{Path, PathBuf};

use snakebridge_build::configure;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Commits the stdlib `math` IR snapshot of snakebridge-codegen as `bindings/math.ir.json`.
fn commit_math_ir(dir: &Path) {
    let ir = repo().join("rust/snakebridge-codegen/tests/stdlib/math.ir.json");
    std::fs::create_dir_all(dir.join("bindings")).unwrap();
    std::fs::copy(ir, dir.join("bindings/math.ir.json")).unwrap();
}

/// Collects the `phase` field of `codegen.phase` events.
struct Phases(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Phases {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Visit(Option<String>, bool);
        impl tracing::field::Visit for Visit {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                match field.name() {
                    "phase" => self.0 = Some(value.to_string()),
                    "event" => self.1 = value == "codegen.phase",
                    _ => {}
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        let mut v = Visit(None, false);
        event.record(&mut v);
        if let (Some(phase), true) = (v.0, v.1) {
            self.0.lock().unwrap().push(phase);
        }
    }
}

#[test]
fn codegen_phases_are_reported_as_telemetry_events() {
    use tracing_subscriber::layer::SubscriberExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("snakebridge.toml"),
        "[python]\nvenv = \"does/not/exist\"\n[packages]\nmath = { version = \"stdlib\", include = [\"sqrt\"] }\n",
    )
    .unwrap();
    commit_math_ir(dir.path());
    let phases = std::sync::Arc::default();
    let subscriber = tracing_subscriber::registry().with(Phases(std::sync::Arc::clone(&phases)));
    tracing::subscriber::with_default(subscriber, || {
        configure()
            .config(dir.path().join("snakebridge.toml"))
            .offline(true)
            .generate()
            .expect("offline");
    });
    assert_eq!(*phases.lock().unwrap(), ["ir", "parse", "select", "render"]);
}
