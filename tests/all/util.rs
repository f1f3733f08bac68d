//! Helpers shared by the integration tests.
#![allow(dead_code)]

use policy_twin::engine::Engine;
use policy_twin::scenario::Scenario;
use policy_twin::state::Population;
use policy_twin::synth::{self, SynthOptions};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn baseline() -> Scenario {
    Scenario::load(&root().join("scenarios/baseline.toml")).expect("baseline loads")
}

/// Write a synthetic population of `n` persons into `dir`.
pub fn synth_into(dir: &Path, n: u64, seed: u64, weight: u32) {
    let opts = SynthOptions { persons: n, seed, weight, data_dir: root().join("data") };
    synth::synth(&opts, dir, &|_, _| {}).expect("synth");
}

/// A shared synthetic population of 60,000 persons (built once per test binary).
pub fn pop60k() -> &'static (tempfile::TempDir, Population) {
    static P: OnceLock<(tempfile::TempDir, Population)> = OnceLock::new();
    P.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        synth_into(dir.path(), 60_000, 7, 3);
        let pop = policy_twin::input::load_dir(dir.path(), &|_, _| {}).unwrap();
        (dir, pop)
    })
}

pub fn engine(pop: &Population, s: &Scenario, months: u32) -> Engine {
    Engine::new(pop.clone(), s, s.seed, months).unwrap()
}

/// Path of the built `twin` binary.
pub fn twin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_twin"))
}

/// Whether python3 can import `modules` (comma-separated, as in an `import` line). Where it
/// cannot, a test skips with a message, unless POLICY_TWIN_REQUIRE_PYTHON=1 (set by .ci/run),
/// where this fails it.
pub fn python_with(modules: &str) -> bool {
    let ok = std::process::Command::new("python3").args(["-c", &format!("import {modules}")]).output().map(|o| o.status.success()).unwrap_or(false);
    if !ok {
        assert!(std::env::var("POLICY_TWIN_REQUIRE_PYTHON").as_deref() != Ok("1"), "POLICY_TWIN_REQUIRE_PYTHON=1 but python3 lacks {modules}");
        eprintln!("skipped: python3 with {modules} not found");
    }
    ok
}

/// Run `twin` with arguments; returns (exit code, stdout, stderr).
pub fn run_twin(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = std::process::Command::new(twin()).args(args).current_dir(cwd).output().expect("twin runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Read a whole Parquet file into record batches.
pub fn read_parquet(path: &Path) -> Vec<arrow_array::RecordBatch> {
    let f = std::fs::File::open(path).unwrap();
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f).unwrap().build().unwrap().map(|b| b.unwrap()).collect()
}

/// Compare two slices; on mismatch, report the first differing index and both values.
pub fn assert_same<T: PartialEq + std::fmt::Debug>(what: &str, a: &[T], b: &[T]) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    if let Some(i) = (0..a.len()).find(|&i| a[i] != b[i]) {
        panic!("{what}: first difference at index {i}: {:?} vs {:?}", a[i], b[i]);
    }
}
