//! Deterministic fuzzing under plain `cargo test` (stable Rust, so no
//! libFuzzer): the driver every SnakeBridge fuzz target shares, and the
//! corpus (`fuzz/corpus/<target>/`). See `docs/fuzzing.md`.
//!
//! A target is a `fn(&[u8]) -> bool` that feeds its bytes to one parser and,
//! when parsing succeeds, checks a property (a round trip, a depth limit)
//! with `assert!`; it returns whether the input parsed. [`fuzz`] runs it on
//! a thread with a 2 MiB stack (a tokio worker's, and std's default) on:
//!
//! 1. every file of the target's corpus directory (the regression part);
//! 2. mutations of corpus entries and of inputs that parsed (bit flips,
//!    interesting bytes, insertions, deletions, truncation, duplicated and
//!    repeated chunks, splices, dictionary tokens, spans wrapped in a nesting
//!    prefix and suffix up to thousands of times);
//! 3. structured inputs from the target's generator (an
//!    [`arbitrary::Unstructured`] over random bytes), and random bytes;
//!
//! until its time budget is spent. Everything derives from one seed, so a
//! run is reproducible. A panic, a hang or a stack overflow fails the test
//! and writes the input to a file whose path is printed.
//!
//! Settings (environment variables):
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `SNAKEBRIDGE_FUZZ_SECONDS` | time budget per target (after the corpus) | 2 |
//! | `SNAKEBRIDGE_FUZZ_ITERATIONS` | stop after this many inputs, if sooner | none |
//! | `SNAKEBRIDGE_FUZZ_SEED` | the seed (decimal) | fixed |
//! | `SNAKEBRIDGE_FUZZ_INPUT` | only replay this file, or every file of this directory | none |
//! | `SNAKEBRIDGE_FUZZ_OUT` | where failing inputs go | `$TEST_UNDECLARED_OUTPUTS_DIR`, else `$TMPDIR/snakebridge-fuzz` |
//! | `SNAKEBRIDGE_FUZZ_HANG_SECONDS` | one input running longer than this is a hang | 20 |

use std::cell::Cell;
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, Once};
use std::thread;
use std::time::{Duration, Instant};

pub use arbitrary;
pub use arbitrary::Unstructured;

pub mod wire;

/// The stack every input runs on: std's default for spawned threads and
/// tokio's for its workers, where the host decodes answers.
pub const STACK_BYTES: usize = 2 << 20;

/// Builds a structured input from random bytes (for example a random but
/// well-formed message, document or IR).
pub type Generator = fn(&mut Unstructured<'_>) -> arbitrary::Result<Vec<u8>>;

/// One fuzz target.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// Its name: the corpus is `fuzz/corpus/<name>/`.
    pub name: &'static str,
    /// Parses an input and checks properties by panicking; returns whether
    /// the input parsed (inputs that parse are kept and mutated further).
    pub run: fn(&[u8]) -> bool,
    /// Structured inputs, if the target has a generator.
    pub generate: Option<Generator>,
    /// Tokens worth inserting (keywords, tags, edge-case numbers).
    pub dictionary: &'static [&'static [u8]],
    /// Nesting prefixes and suffixes (`[` and `]`): a span of an input gets
    /// wrapped in one of them, a few times or past the depth limits.
    pub wrappers: &'static [(&'static [u8], &'static [u8])],
    /// Inputs are cut to this length.
    pub max_len: usize,
}

impl Target {
    /// A target without generator, dictionary or wrappers.
    pub const fn new(name: &'static str, run: fn(&[u8]) -> bool) -> Target {
        Target {
            name,
            run,
            generate: None,
            dictionary: &[],
            wrappers: &[],
            max_len: 1 << 16,
        }
    }

    /// With a generator of structured inputs.
    pub const fn generator(mut self, generate: Generator) -> Target {
        self.generate = Some(generate);
        self
    }

    /// With dictionary tokens.
    pub const fn dictionary(mut self, dictionary: &'static [&'static [u8]]) -> Target {
        self.dictionary = dictionary;
        self
    }

    /// With nesting wrappers.
    pub const fn wrappers(mut self, wrappers: &'static [(&'static [u8], &'static [u8])]) -> Target {
        self.wrappers = wrappers;
        self
    }

    /// With another maximum input length.
    pub const fn max_len(mut self, max_len: usize) -> Target {
        self.max_len = max_len;
        self
    }

    /// The corpus directory.
    pub fn corpus_dir(&self) -> PathBuf {
        corpus_root().join(self.name)
    }
}

/// `fuzz/corpus` (under Bazel, relative to the runfiles root, where tests run).
pub fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// What a finished run did.
#[derive(Clone, Debug)]
pub struct Report {
    /// The target.
    pub target: &'static str,
    /// Inputs run, corpus included.
    pub inputs: u64,
    /// Corpus entries among them.
    pub corpus: usize,
    /// Inputs that parsed.
    pub accepted: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// The seed.
    pub seed: u64,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "fuzz {}: {} inputs ({} from the corpus, {} parsed) in {:.1} s without a failure, seed {}",
            self.target,
            self.inputs,
            self.corpus,
            self.accepted,
            self.elapsed.as_secs_f64(),
            self.seed
        )
    }
}

/// Runs `target` as the module documentation says; panics (failing the
/// test) on the first input that panics or hangs, after writing it to a
/// file. A stack overflow aborts the process, after writing the input too.
pub fn fuzz(target: Target) -> Report {
    let settings = Settings::from_env();
    install_hooks();
    let out = settings.out.join(target.name);
    if let Err(e) = std::fs::create_dir_all(&out) {
        panic!("fuzz {}: cannot create {}: {e}", target.name, out.display());
    }
    let shared = Arc::new(Shared {
        inputs: AtomicU64::new(0),
        current: Mutex::new(Vec::new()),
    });
    let (tx, rx) = mpsc::channel();
    let worker = {
        let (shared, settings, out) = (shared.clone(), settings.clone(), out.clone());
        thread::Builder::new()
            .name(format!("fuzz-{}", target.name))
            .stack_size(STACK_BYTES)
            .spawn(move || {
                let result = if let Some(input) = &settings.replay {
                    replay(target, input)
                } else {
                    drive(target, &settings, &shared, &out)
                };
                let _ = tx.send(result);
            })
            .expect("spawning the fuzz thread")
    };
    // Watchdog: the worker counts inputs; one that runs too long is a hang.
    let (mut seen, mut since) = (u64::MAX, Instant::now());
    let result = loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(result) => break result,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                break Err("the fuzz thread died without a result".to_owned());
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        let now = shared.inputs.load(Ordering::Relaxed);
        if now != seen {
            (seen, since) = (now, Instant::now());
        } else if since.elapsed() > settings.hang {
            let input = shared.current.lock().map(|c| c.clone()).unwrap_or_default();
            let path = save(&out, "hang", &input);
            // The worker thread is left running; the test fails now.
            panic!(
                "fuzz {}: an input ran for more than {} s (a hang); it is saved in {} ({} bytes)",
                target.name,
                settings.hang.as_secs(),
                path.display(),
                input.len()
            );
        }
    };
    let _ = worker.join();
    match result {
        Ok(report) => {
            // Nothing failed: leave no empty directory behind (under Bazel it
            // would make the test runner archive the test's outputs, with a
            // `zip` the sandbox may not have).
            let _ = std::fs::remove_dir(&out);
            eprintln!("{report}");
            report
        }
        Err(failure) => panic!("{failure}"),
    }
}

#[derive(Clone, Debug)]
struct Settings {
    seconds: f64,
    iterations: Option<u64>,
    seed: u64,
    replay: Option<PathBuf>,
    out: PathBuf,
    hang: Duration,
}

impl Settings {
    fn from_env() -> Settings {
        fn var<T: std::str::FromStr>(name: &str) -> Option<T> {
            let text = std::env::var(name).ok()?;
            match text.trim().parse() {
                Ok(v) => Some(v),
                Err(_) => panic!("{name}={text:?} is not a valid value"),
            }
        }
        let out = std::env::var_os("SNAKEBRIDGE_FUZZ_OUT")
            .or_else(|| std::env::var_os("TEST_UNDECLARED_OUTPUTS_DIR"))
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("snakebridge-fuzz"));
        Settings {
            seconds: var("SNAKEBRIDGE_FUZZ_SECONDS").unwrap_or(2.0),
            iterations: var("SNAKEBRIDGE_FUZZ_ITERATIONS"),
            seed: var("SNAKEBRIDGE_FUZZ_SEED").unwrap_or(0x5eed_f022),
            replay: std::env::var_os("SNAKEBRIDGE_FUZZ_INPUT").map(PathBuf::from),
            out,
            hang: Duration::from_secs_f64(var("SNAKEBRIDGE_FUZZ_HANG_SECONDS").unwrap_or(20.0)),
        }
    }
}

/// What the watchdog sees of the fuzz thread.
struct Shared {
    inputs: AtomicU64,
    current: Mutex<Vec<u8>>,
}

/// Runs saved inputs once each, without catching anything: the panic (or
/// overflow) shows as it would anywhere.
fn replay(target: Target, path: &Path) -> Result<Report, String> {
    let start = Instant::now();
    let mut files = if path.is_dir() {
        read_dir_files(path)
    } else {
        vec![path.to_path_buf()]
    };
    files.sort();
    let mut accepted = 0;
    for file in &files {
        let input =
            std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        eprintln!("fuzz {}: replaying {}", target.name, file.display());
        accepted += u64::from((target.run)(&input));
    }
    Ok(Report {
        target: target.name,
        inputs: files.len() as u64,
        corpus: files.len(),
        accepted,
        elapsed: start.elapsed(),
        seed: 0,
    })
}

fn read_dir_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect()
}

/// Loads the corpus: every file of the target's directory, by name.
pub fn load_corpus(target: &Target) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = target.corpus_dir();
    assert!(
        dir.is_dir(),
        "fuzz {}: no corpus directory {} (run from the repository, or give the test the corpus)",
        target.name,
        dir.display()
    );
    let mut files = read_dir_files(&dir);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            (path, bytes)
        })
        .collect()
}

/// Inputs that parsed, kept for mutation (a crude feedback without coverage).
const POOL: usize = 256;

fn drive(
    target: Target,
    settings: &Settings,
    shared: &Shared,
    out: &Path,
) -> Result<Report, String> {
    let start = Instant::now();
    let seed = settings.seed;
    let mut rng = Rng::new(seed ^ fnv(target.name.as_bytes()));
    let corpus = load_corpus(&target);
    let overflow_path = out.join(format!("in-flight-{}", std::process::id()));
    let guard = InFlight::arm(target.name, &overflow_path);
    let mut inputs = 0u64;
    let mut accepted = 0u64;
    let mut pool: Vec<Vec<u8>> = Vec::new();
    let run_one = |input: &[u8], inputs: &mut u64| -> Result<bool, String> {
        if let Ok(mut current) = shared.current.lock() {
            current.clear();
            current.extend_from_slice(input);
        }
        guard.set(input);
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
        guard.clear();
        *inputs += 1;
        shared.inputs.store(*inputs, Ordering::Relaxed);
        match outcome {
            Ok(parsed) => Ok(parsed),
            Err(payload) => Err(failure(target, seed, *inputs, input, &payload, out)),
        }
    };
    for (_, bytes) in &corpus {
        if run_one(bytes, &mut inputs)? {
            accepted += 1;
        }
    }
    let deadline = start + Duration::from_secs_f64(settings.seconds.max(0.0));
    let limit = settings.iterations.unwrap_or(u64::MAX);
    let seeds: Vec<&[u8]> = corpus.iter().map(|(_, b)| b.as_slice()).collect();
    while inputs < limit && Instant::now() < deadline {
        let input = next_input(&mut rng, &target, &seeds, &pool);
        if run_one(&input, &mut inputs)? {
            accepted += 1;
            if pool.len() < POOL {
                pool.push(input);
            } else if rng.below(4) == 0 {
                let slot = rng.below(POOL);
                pool[slot] = input;
            }
        }
    }
    drop(guard);
    Ok(Report {
        target: target.name,
        inputs,
        corpus: corpus.len(),
        accepted,
        elapsed: start.elapsed(),
        seed,
    })
}

/// Saves a failing input (and a smaller one that fails too) and describes it.
fn failure(
    target: Target,
    seed: u64,
    inputs: u64,
    input: &[u8],
    payload: &Box<dyn std::any::Any + Send>,
    out: &Path,
) -> String {
    let message = panic_message(payload);
    let path = save(out, "crash", input);
    let small = minimize(target, input);
    let mut text = format!(
        "fuzz {}: input #{inputs} (seed {seed}) panicked: {message}\n  input ({} bytes): {}\n",
        target.name,
        input.len(),
        path.display()
    );
    if small.len() < input.len() {
        let small_path = save(out, "crash-min", &small);
        let _ = writeln!(
            text,
            "  minimized ({} bytes): {}",
            small.len(),
            small_path.display()
        );
    }
    let _ = write!(
        text,
        "  replay: SNAKEBRIDGE_FUZZ_INPUT={} cargo test <package> fuzz_{} -- --nocapture\n  \
         once fixed, add it to the corpus: fuzz/corpus/{}/",
        path.display(),
        target.name,
        target.name
    );
    text
}

fn panic_message(payload: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic without a message)".to_owned()
    }
}

/// Removes chunks while the input still panics (bounded: a second at most).
fn minimize(target: Target, input: &[u8]) -> Vec<u8> {
    let start = Instant::now();
    let fails = |candidate: &[u8]| {
        QUIET.with(|q| q.set(true));
        let failed = panic::catch_unwind(AssertUnwindSafe(|| (target.run)(candidate))).is_err();
        QUIET.with(|q| q.set(false));
        failed
    };
    let mut best = input.to_vec();
    let mut chunk = best.len() / 2;
    while chunk > 0 && start.elapsed() < Duration::from_secs(1) {
        let mut at = 0;
        let mut removed = false;
        while at + chunk <= best.len() && start.elapsed() < Duration::from_secs(1) {
            let candidate: Vec<u8> = [&best[..at], &best[at + chunk..]].concat();
            if fails(&candidate) {
                best = candidate;
                removed = true;
            } else {
                at += chunk;
            }
        }
        if !removed {
            chunk /= 2;
        }
    }
    best
}

/// Writes `input` to `<out>/<kind>-<hash>` and returns the path.
fn save(out: &Path, kind: &str, input: &[u8]) -> PathBuf {
    let path = out.join(format!("{kind}-{:016x}", fnv(input)));
    if let Err(e) = std::fs::write(&path, input) {
        eprintln!("fuzz: could not write {}: {e}", path.display());
    }
    path
}

/// FNV-1a, 64 bits: names saved inputs and derives per-target seeds.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

// --- panics and aborts ------------------------------------------------------

thread_local! {
    /// Set while minimizing: the panic hook stays silent on this thread.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    /// The input in flight on this thread and where to save it on abort:
    /// (input, its length, NUL-terminated path, the message to print).
    static ABORT_SAVE: Cell<(*const u8, usize, *const u8, *const u8, usize)> =
        const { Cell::new((std::ptr::null(), 0, std::ptr::null(), std::ptr::null(), 0)) };
}

/// Installs (once) the panic hook that minimizing silences, and a SIGABRT
/// handler that saves the input in flight: a stack overflow prints
/// "has overflowed its stack" and aborts, which nothing else can catch.
fn install_hooks() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
        #[cfg(unix)]
        // SAFETY: installs a handler that only calls async-signal-safe
        // functions (open, write, close) on data its thread owns.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_abort as extern "C" fn(libc::c_int) as usize;
            // On the thread's alternate stack: after an overflow the
            // thread's own stack is spent. Reset, so that abort goes on.
            action.sa_flags = libc::SA_ONSTACK | libc::SA_RESETHAND;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGABRT, &action, std::ptr::null_mut());
        }
    });
}

#[cfg(unix)]
extern "C" fn on_abort(_signal: libc::c_int) {
    let (input, len, path, message, message_len) = ABORT_SAVE.with(Cell::get);
    if input.is_null() {
        return;
    }
    // SAFETY: the pointers are live while the fuzz thread runs an input
    // (`InFlight`), and this handler runs on that thread.
    unsafe {
        let fd = libc::open(
            path.cast(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC,
            0o644,
        );
        if fd >= 0 {
            let _ = libc::write(fd, input.cast(), len);
            libc::close(fd);
            let _ = libc::write(2, message.cast(), message_len);
        }
    }
}

/// Publishes the input in flight to the SIGABRT handler of this thread.
struct InFlight {
    path: Vec<u8>,
    message: Vec<u8>,
}

impl InFlight {
    fn arm(target: &str, path: &Path) -> InFlight {
        let mut bytes = path.as_os_str().as_encoded_bytes().to_vec();
        bytes.push(0);
        let message = format!(
            "\nfuzz {target}: the process aborted (a stack overflow?) on an input now saved in {}\n",
            path.display()
        )
        .into_bytes();
        InFlight {
            path: bytes,
            message,
        }
    }

    fn set(&self, input: &[u8]) {
        ABORT_SAVE.with(|s| {
            s.set((
                input.as_ptr(),
                input.len(),
                self.path.as_ptr(),
                self.message.as_ptr(),
                self.message.len(),
            ));
        });
    }

    fn clear(&self) {
        ABORT_SAVE.with(|s| s.set((std::ptr::null(), 0, std::ptr::null(), std::ptr::null(), 0)));
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.clear();
    }
}

// --- inputs -----------------------------------------------------------------

/// splitmix64: small, fast, good enough to pick mutations.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// A length up to `max`, small ones much more likely (log-uniform).
    pub fn len(&mut self, max: usize) -> usize {
        let bits = usize::BITS - max.leading_zeros();
        let cap = 1usize << self.below(bits as usize + 1).min(usize::BITS as usize - 1);
        self.below(cap.min(max).saturating_add(1))
    }

    /// `n` random bytes.
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(n);
        out
    }

    /// How many times to nest: a few, around the depth limits (128), or
    /// far past them.
    pub fn nesting(&mut self) -> usize {
        match self.below(10) {
            0..=5 => 1 + self.below(4),
            6..=8 => 120 + self.below(20),
            _ => 200 + self.below(3000),
        }
    }
}

/// Bytes a mutation likes to write.
const INTERESTING: &[u8] = &[
    0, 1, 2, 0x7f, 0x80, 0x81, 0xfe, 0xff, b'"', b'\\', b'[', b']', b'{', b'}', b',', b':', b'=',
    b'\n', b'.', b'-', b'0', b'9', b'e', b' ', 0x08, 0x0a, 0x12, 0x1a, 0x22, 0x42, 0x62,
];

fn next_input(rng: &mut Rng, target: &Target, corpus: &[&[u8]], pool: &[Vec<u8>]) -> Vec<u8> {
    let pick = |rng: &mut Rng| -> Vec<u8> {
        if !pool.is_empty() && (corpus.is_empty() || rng.below(2) == 0) {
            pool[rng.below(pool.len())].clone()
        } else if !corpus.is_empty() {
            corpus[rng.below(corpus.len())].to_vec()
        } else {
            Vec::new()
        }
    };
    let mut input = match rng.below(20) {
        0..=12 => {
            let base = pick(rng);
            let other = pick(rng);
            mutate(rng, target, base, &other)
        }
        13..=17 if target.generate.is_some() => {
            let generated = generate(rng, target);
            if rng.below(3) == 0 {
                let other = pick(rng);
                mutate(rng, target, generated, &other)
            } else {
                generated
            }
        }
        18 if !target.dictionary.is_empty() => {
            // Token soup: dictionary words and random bytes.
            let mut out = Vec::new();
            for _ in 0..rng.len(64) {
                if rng.below(3) == 0 {
                    out.push(INTERESTING[rng.below(INTERESTING.len())]);
                } else {
                    out.extend_from_slice(target.dictionary[rng.below(target.dictionary.len())]);
                }
            }
            out
        }
        _ => {
            let n = rng.len(1024);
            rng.bytes(n)
        }
    };
    input.truncate(target.max_len);
    input
}

fn generate(rng: &mut Rng, target: &Target) -> Vec<u8> {
    let Some(generate) = target.generate else {
        return Vec::new();
    };
    let n = rng.len(8192);
    let entropy = rng.bytes(n);
    let mut u = Unstructured::new(&entropy);
    generate(&mut u).unwrap_or_default()
}

/// One to a few stacked mutations of `input`; `other` is splice material.
pub fn mutate(rng: &mut Rng, target: &Target, mut v: Vec<u8>, other: &[u8]) -> Vec<u8> {
    let rounds = 1 + rng.below(4).min(rng.below(4));
    for _ in 0..rounds {
        let len = v.len();
        match rng.below(14) {
            0 if len > 0 => {
                let at = rng.below(len);
                v[at] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let at = rng.below(len);
                v[at] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 if len > 0 => {
                let at = rng.below(len);
                v[at] = rng.next_u64() as u8;
            }
            3 => {
                let at = rng.below(len + 1);
                let n = 1 + rng.len(16);
                let bytes = rng.bytes(n);
                v.splice(at..at, bytes);
            }
            4 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.len(len - at - 1);
                v.drain(at..at + n);
            }
            5 if len > 0 => v.truncate(rng.below(len)),
            6 if len > 0 => {
                // Copy a chunk elsewhere.
                let from = rng.below(len);
                let n = 1 + rng.len(len - from - 1);
                let chunk = v[from..from + n].to_vec();
                let at = rng.below(len + 1);
                v.splice(at..at, chunk);
            }
            7 if len > 0 => {
                // Repeat a short chunk many times: nesting prefixes.
                let from = rng.below(len);
                let n = 1 + rng.len((len - from - 1).min(15));
                let chunk = v[from..from + n].to_vec();
                let times = rng.nesting();
                let repeated: Vec<u8> = chunk.repeat(times);
                v.splice(from..from, repeated);
            }
            8 if !other.is_empty() => {
                let at = rng.below(len + 1);
                let from = rng.below(other.len());
                v.truncate(at);
                v.extend_from_slice(&other[from..]);
            }
            9 if !other.is_empty() => {
                // Insert a chunk of the other input.
                let from = rng.below(other.len());
                let n = 1 + rng.len(other.len() - from - 1);
                let at = rng.below(len + 1);
                v.splice(at..at, other[from..from + n].iter().copied());
            }
            10 | 11 if !target.dictionary.is_empty() => {
                let token = target.dictionary[rng.below(target.dictionary.len())];
                let at = rng.below(len + 1);
                let end = if rng.below(2) == 0 {
                    at
                } else {
                    at + rng.len(len - at)
                };
                v.splice(at..end, token.iter().copied());
            }
            12 | 13 if !target.wrappers.is_empty() => {
                // Wrap a span in a prefix and a suffix, `times` times.
                let (open, close) = target.wrappers[rng.below(target.wrappers.len())];
                let at = rng.below(len + 1);
                let end = at + rng.len(len - at);
                let times = rng.nesting();
                let mut out = Vec::with_capacity(len + times * (open.len() + close.len()));
                out.extend_from_slice(&v[..at]);
                for _ in 0..times {
                    out.extend_from_slice(open);
                }
                out.extend_from_slice(&v[at..end]);
                for _ in 0..times {
                    out.extend_from_slice(close);
                }
                out.extend_from_slice(&v[end..]);
                v = out;
            }
            _ => {
                let at = rng.below(len + 1);
                v.insert(at, INTERESTING[rng.below(INTERESTING.len())]);
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_stay_in_range() {
        let mut rng = Rng::new(1);
        for max in [0, 1, 2, 7, 100, 1 << 20] {
            for _ in 0..1000 {
                assert!(rng.len(max) <= max);
            }
        }
    }

    #[test]
    fn mutations_stay_in_bounds() {
        let target = Target::new("t", |_| true)
            .dictionary(&[b"tok"])
            .wrappers(&[(b"[", b"]")]);
        let mut rng = Rng::new(7);
        let mut v = b"[1, 2]".to_vec();
        for _ in 0..10_000 {
            v = mutate(&mut rng, &target, v, b"{\"a\": 1}");
            v.truncate(4096);
            if v.is_empty() {
                v = b"x".to_vec();
            }
        }
    }

    #[test]
    fn a_run_is_deterministic() {
        let target = Target::new("t", |_| true).dictionary(&[b"tok"]);
        let inputs = |seed| {
            let mut rng = Rng::new(seed);
            (0..100)
                .map(|_| next_input(&mut rng, &target, &[b"seed"], &[]))
                .collect::<Vec<_>>()
        };
        assert_eq!(inputs(3), inputs(3));
        assert_ne!(inputs(3), inputs(4));
    }

    #[test]
    fn the_minimizer_keeps_what_fails() {
        let target = Target::new("t", |input| {
            assert!(!input.windows(3).any(|w| w == b"bad"), "found it");
            true
        });
        let small = minimize(target, b"0123456789bad0123456789");
        assert_eq!(small, b"bad");
    }
}
