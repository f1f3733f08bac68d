//! Criterion benches: loading a 1M-person population (throughput in bytes of Parquet); one month step of the CPU path and of the GPU path (when an adapter
//! exists) at 100k and 1M persons (throughput in elements = person-months); a year's
//! baseline deciles and a reform's distribution table from them, at 1M and 4M households.
//! `cargo bench --bench main`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use policy_twin::engine::Engine;
use policy_twin::scenario::Scenario;
use policy_twin::synth::{self, SynthOptions};
use std::path::PathBuf;

fn synth_dir(n: u64) -> tempfile::TempDir {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let opts = SynthOptions { persons: n, seed: 1, weight: 1, data_dir: root.join("data") };
    synth::synth(&opts, dir.path(), &|_, _| {}).unwrap();
    dir
}

fn population(n: u64) -> policy_twin::state::Population {
    policy_twin::input::load_dir(synth_dir(n).path(), &|_, _| {}).unwrap()
}

/// Loading and validating a synthetic population written by `twin synth` (throughput in
/// bytes of compressed Parquet input).
fn load(c: &mut Criterion) {
    let mut g = c.benchmark_group("load");
    {
        let n = 1_000_000u64;
        let dir = synth_dir(n);
        let (pp, hp) = policy_twin::input::paths(dir.path());
        let bytes = std::fs::metadata(pp).unwrap().len() + std::fs::metadata(hp).unwrap().len();
        g.throughput(Throughput::Bytes(bytes));
        g.sample_size(10);
        g.bench_function(BenchmarkId::from_parameter(n), |b| b.iter(|| policy_twin::input::load_dir(dir.path(), &|_, _| {}).unwrap()));
    }
    g.finish();
}

fn month_step(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let scenario = Scenario::load(&root.join("scenarios/baseline.toml")).unwrap();
    let mut g = c.benchmark_group("month_step_cpu");
    for n in [100_000u64, 1_000_000] {
        let pop = population(n);
        // a long horizon so the engine never runs out of months while criterion iterates
        let mut engine = Engine::new(pop, &scenario, scenario.seed, 1200).unwrap();
        g.throughput(Throughput::Elements(n));
        g.sample_size(if n >= 1_000_000 { 10 } else { 30 });
        g.bench_function(BenchmarkId::from_parameter(n), |b| b.iter(|| engine.step()));
    }
    g.finish();
}

/// The same step on the GPU path, when wgpu finds an adapter (lavapipe measures correctness
/// costs, not real-GPU speed). Skipped without one.
fn month_step_gpu(c: &mut Criterion) {
    use policy_twin::gpu::{engine::{GpuEngine, GpuOptions}, Backend, Gpu};
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let scenario = Scenario::load(&root.join("scenarios/baseline.toml")).unwrap();
    let mut g = c.benchmark_group("month_step_gpu");
    for n in [100_000u64, 1_000_000] {
        let Ok((Some(gpu), _)) = Gpu::open(Backend::Gpu) else {
            eprintln!("month_step_gpu: no GPU adapter, skipped");
            return;
        };
        let engine = Engine::new(population(n), &scenario, scenario.seed, 1200).unwrap();
        let mut sim = GpuEngine::from_engine(engine, gpu, GpuOptions::default()).unwrap();
        g.throughput(Throughput::Elements(n));
        g.sample_size(10);
        g.bench_function(BenchmarkId::from_parameter(n), |b| b.iter(|| sim.step().unwrap()));
    }
    g.finish();
}

/// A year's distribution table over `n` households with incomes drawn from a hash: the
/// baseline's deciles (`distribution::deciles`, once a year for all reforms) and a reform's
/// table from them (`distribution::distribution`, once a year per reform); throughput in
/// elements = households.
fn distribution(c: &mut Criterion) {
    use policy_twin::distribution::{deciles, distribution, HouseholdFacts};
    let mut g = c.benchmark_group("distribution");
    for n in [1_000_000usize, 4_000_000] {
        let r = |h: usize, k: u32| policy_twin::rng::mix32(h as u32 ^ policy_twin::rng::mix32(k)) as u64;
        let facts = HouseholdFacts {
            scale10: (0..n).map(|h| 10 + (r(h, 1) % 30) as u32).collect(),
            htype: (0..n).map(|h| (r(h, 2) % 7) as u8).collect(),
            region: (0..n).map(|h| (r(h, 3) % 12) as u8).collect(),
            persons: (0..n).map(|h| 1 + r(h, 4) % 5).collect(),
        };
        let base: Vec<u64> = (0..n).map(|h| r(h, 5) % 10_000_000).collect();
        let reform: Vec<u64> = (0..n).map(|h| base[h] + r(h, 6) % 3 * 100).collect();
        g.throughput(Throughput::Elements(n as u64));
        g.sample_size(10);
        g.bench_function(BenchmarkId::new("deciles", n), |b| b.iter(|| deciles(&facts, &base)));
        let d = deciles(&facts, &base);
        g.bench_function(BenchmarkId::new("table", n), |b| b.iter(|| distribution(2025, &facts, &d, &base, &reform)));
    }
    g.finish();
}

criterion_group!(benches, load, month_step, month_step_gpu, distribution);
criterion_main!(benches);
