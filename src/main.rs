//! `twin`, the policy-twin command line. Parses flags (clap) into a validated run
//! configuration, calls the library, and owns all printing and progress bars. Errors are
//! printed with their full context and end the process with exit code 2 (bad input or
//! configuration) or 1 (anything else).

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use policy_twin::sim::Simulation;
use policy_twin::measures::Acc;
use policy_twin::month::Month;
use policy_twin::output;
use policy_twin::scenario::Scenario;
use policy_twin::{input, synth};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Parser)]
#[command(name = "twin", version, about = "policy-twin: a policy impacts digital twin (monthly population microsimulation)")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, global = true)]
    threads: Option<usize>,
    /// No progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
}

#[derive(Subcommand)]
enum Cmd {
    /// Simulate a population under a scenario and write the results.
    Run(RunArgs),
    /// Write a synthetic UK population (persons.parquet, households.parquet).
    Synth(SynthArgs),
    /// Check a population against every input rule, without simulating.
    Validate(ValidateArgs),
    /// List the GPU adapters wgpu finds, with the limits that matter here.
    Devices(DevicesArgs),
    /// Time the month step on each backend on the same synthetic population.
    Bench(BenchArgs),
    /// Write a self-contained HTML report (SVG charts) of a results directory.
    Report(ReportArgs),
    /// Print the headline figures of a results directory (first and last year, reform − baseline).
    Summary(SummaryArgs),
    /// Join the replicate parts that the tasks of a batch array (`twin run --task`) wrote into
    /// one results directory, the same files a single process writes.
    Merge(MergeArgs),
}

#[derive(Args)]
struct MergeArgs {
    /// The output directory the tasks shared (`--out` of every task).
    results: PathBuf,
}

#[derive(Args)]
struct ReportArgs {
    /// A directory written by `twin run`.
    results: PathBuf,
    /// Where to write the page [default: RESULTS/report.html].
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct SummaryArgs {
    /// A directory written by `twin run`.
    results: PathBuf,
    /// table (for reading), csv or json (for scripts).
    #[arg(long, default_value = "table", value_parser = ["table", "csv", "json"])]
    format: String,
}

#[derive(Args)]
struct BenchArgs {
    /// Persons in the synthetic population (ignored with --population).
    #[arg(long, default_value_t = 1_000_000)]
    persons: u64,
    /// Months to simulate on each backend.
    #[arg(long, default_value_t = 12)]
    months: u32,
    /// cpu, gpu or both.
    #[arg(long, default_value = "both")]
    backend: String,
    /// Use this population instead of a synthetic one.
    #[arg(long)]
    population: Option<PathBuf>,
    /// Scenario [default: scenarios/baseline.toml].
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Where to write the results as JSON.
    #[arg(long, default_value = "bench.json")]
    json: PathBuf,
    #[command(flatten)]
    gpu: GpuTuning,
    /// Scaling curve: time every backend on synthetic populations of each size in
    /// --sweep-sizes, and write the table (--json, and a CSV beside it) and a chart (SVG beside it).
    #[arg(long)]
    sweep: bool,
    /// Population sizes of the sweep, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000,10000000")]
    sweep_sizes: Vec<u64>,
    /// Time each compute pass on the device (timestamp queries) and print the device time by
    /// pass, the bandwidth it implies, and a month split into passes, gaps between passes and
    /// the rest of the wall. Each submission then waits for its timings, so the wall time of
    /// a profiled run is not the speed to quote.
    #[arg(long)]
    gpu_profile: bool,
    /// GPU, timing only: leave these pieces of work out of the passes (comma-separated), so
    /// that --gpu-profile's device time by pass, against a run without, says what each
    /// costs. The results are then not the model's: only with --backend gpu, and nothing is
    /// compared or written but the timings.
    #[arg(long, value_enum, value_delimiter = ',')]
    gpu_ablate: Vec<policy_twin::gpu::engine::Ablation>,
    /// GPU: workgroups the block-wise sums (accounting, services' apply) aim at; each sums
    /// a block of 256 to 16,384 persons. Results do not depend on it.
    #[arg(long, default_value_t = 2048, value_parser = clap::value_parser!(u32).range(1..))]
    gpu_sum_workgroups: u32,
    /// GPU: run even if the device memory the run needs (estimated before it allocates any)
    /// exceeds what the adapter reports (as `twin run --no-memory-check`; lavapipe reports 2
    /// GiB, whatever the host has).
    #[arg(long)]
    no_memory_check: bool,
}

#[derive(Args)]
struct DevicesArgs {
    /// Also run a CPU/GPU self-test of the integer hash and fixed-point arithmetic on each.
    #[arg(long)]
    selftest: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Also compile every entry point of the engine with the driver of the adapter the GPU
    /// path picks, and print the driver's statistics of each (Vulkan's
    /// VK_KHR_pipeline_executable_properties: on NVIDIA the registers a thread, with the
    /// workgroups an H100/H200 multiprocessor would keep resident), beside the workgroup size
    /// and workgroup memory the shader asks for. Nothing is run on the device.
    #[arg(long)]
    shader_stats: bool,
    /// The workgroup size the entry points are compiled at, for --shader-stats (as `twin run
    /// --workgroup-size`).
    #[arg(long, default_value_t = policy_twin::gpu::engine::GpuOptions::default().workgroup_size, value_parser = clap::value_parser!(u32).range(1..=256))]
    workgroup_size: u32,
    /// The runtime checks the entry points are compiled with, for --shader-stats (as `twin
    /// run --gpu-shader-checks`).
    #[arg(long, value_enum, default_value_t = policy_twin::gpu::engine::GpuOptions::default().shader_checks)]
    gpu_shader_checks: policy_twin::gpu::ShaderChecks,
}

#[derive(Args)]
struct RunArgs {
    /// Population directory with persons.parquet and households.parquet [default: data/sample].
    #[arg(long)]
    population: Option<PathBuf>,
    /// Scenario file [default: scenarios/baseline.toml]: the baseline when reforms are given.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// A reform to run against the baseline with common random numbers (repeatable); writes
    /// comparison.parquet and distribution.parquet too.
    #[arg(long)]
    reform: Vec<PathBuf>,
    /// Years to simulate (overrides the scenario).
    #[arg(long)]
    years: Option<u32>,
    /// Random seed (overrides the scenario).
    #[arg(long)]
    seed: Option<u64>,
    /// First month, YYYY-MM (overrides the scenario).
    #[arg(long)]
    start: Option<String>,
    /// Output directory.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// Write every person's state every M months to snapshots.parquet.
    #[arg(long, value_name = "M")]
    snapshot_every: Option<u32>,
    /// Write a checkpoint (OUT/checkpoint/checkpoint.bin, atomically) every M simulated months,
    /// to resume from with --resume if the run is interrupted.
    #[arg(long, value_name = "M")]
    checkpoint_every: Option<u32>,
    /// Run even if the memory the run needs (estimated before it starts) exceeds what is available.
    #[arg(long)]
    no_memory_check: bool,
    /// Continue an interrupted run from the checkpoint in DIR (the run's output directory),
    /// with the command line it was started with (--backend and --threads may differ).
    #[arg(long, value_name = "DIR")]
    resume: Option<PathBuf>,
    /// Run R replicates: replicate r uses a seed derived from (seed, r) (replicate 0 the seed
    /// itself), the baseline and reforms of a replicate with the same seed. Writes
    /// intervals.parquet (mean, sd, 90% interval across replicates) when R > 1.
    #[arg(long, value_name = "R", default_value_t = 1)]
    replicates: u32,
    /// Run only task i of N (i from 0) of the plan: the replicates r with r % N == i, written
    /// as parts to OUT/replicates/; then `twin merge OUT`. Without it, a Slurm array task
    /// (SLURM_ARRAY_TASK_ID, _MIN, _COUNT) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX,
    /// with --task-count) picks the task from the environment.
    #[arg(long, value_name = "i/N")]
    task: Option<String>,
    /// The number of tasks, for a Kubernetes Indexed Job (its completions); also read from
    /// POLICY_TWIN_TASK_COUNT.
    #[arg(long, value_name = "N")]
    task_count: Option<u32>,
    #[command(flatten)]
    gpu: GpuArgs,
}

#[derive(Args, Clone)]
struct GpuArgs {
    /// auto: a hardware GPU if there is one, else the CPU path; gpu: any adapter (software
    /// included), an error if none; cpu: the CPU path. Results are identical on every backend.
    #[arg(long, default_value = "auto")]
    backend: policy_twin::gpu::Backend,
    /// GPU: run these stages on the CPU path instead (comma-separated names from
    /// src/stages.rs), to narrow a CPU/GPU divergence to one stage.
    #[arg(long, value_delimiter = ',')]
    cpu_stages: Vec<String>,
    #[command(flatten)]
    tuning: GpuTuning,
}

/// How the GPU path runs, shared by `twin run` and `twin bench`: none of it changes results.
/// The defaults, `GpuOptions::default()`'s, are the combination the H200 timed fastest (run 7,
/// `benches/device/2026-12-01-h200-run7`): the national decade in 1.91 s against 2.36 s with
/// the earlier defaults (workgroup 64, four person passes, every person's services passes,
/// checked shaders), alternating, two runs each.
#[derive(Args, Clone)]
struct GpuTuning {
    /// GPU workgroup size (results do not depend on it).
    #[arg(long, default_value_t = policy_twin::gpu::engine::GpuOptions::default().workgroup_size, value_parser = clap::value_parser!(u32).range(1..=256))]
    workgroup_size: u32,
    /// GPU: persons per chunk (default: as many as one storage binding holds).
    #[arg(long)]
    chunk_persons: Option<u32>,
    /// GPU: labour, health, person policy and the persons' accounting as four passes (none),
    /// the three stages as one pass (stages), all four as one (all, as the CPU path), the
    /// three inside the births' scatter (scatter), or all four inside it (scatter-all).
    /// Results do not depend on it.
    #[arg(long, value_enum, default_value_t = policy_twin::gpu::engine::GpuOptions::default().fuse_persons)]
    gpu_fuse_persons: policy_twin::gpu::engine::FusePersons,
    /// GPU: the services' demand pass lists the persons with a request, and the first radix
    /// pass and the apply pass read the list instead of every person (true), or they go
    /// through every person (false). Results do not depend on it.
    #[arg(long, default_value_t = policy_twin::gpu::engine::GpuOptions::default().services_list, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    gpu_services_list: bool,
    /// GPU: compile the shaders with wgpu's guards for shaders it cannot trust (checked, as
    /// the H200 runs 1-6 did), or without its loop bound and zero-divisor guard (trusted;
    /// sound for these shaders: shaders/README.md). Results do not depend on it.
    #[arg(long, value_enum, default_value_t = policy_twin::gpu::engine::GpuOptions::default().shader_checks)]
    gpu_shader_checks: policy_twin::gpu::ShaderChecks,
    /// GPU: household policy, housing and the households' measures as one pass, the measures
    /// taken before the services and corrected where they change a household's tenure (true),
    /// or as three passes (false). Results do not depend on it.
    #[arg(long, default_value_t = policy_twin::gpu::engine::GpuOptions::default().fuse_households, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    gpu_fuse_households: bool,
}

impl GpuTuning {
    /// These settings as engine options (the rest as default).
    fn options(&self) -> policy_twin::gpu::engine::GpuOptions {
        policy_twin::gpu::engine::GpuOptions { workgroup_size: self.workgroup_size, chunk_persons: self.chunk_persons, fuse_persons: self.gpu_fuse_persons, services_list: self.gpu_services_list, shader_checks: self.gpu_shader_checks, fuse_households: self.gpu_fuse_households, ..Default::default() }
    }
}

impl GpuArgs {
    fn options(&self) -> Result<policy_twin::gpu::engine::GpuOptions> {
        let mut cpu_stages = Vec::new();
        for name in &self.cpu_stages {
            let s = policy_twin::stages::ORDER.iter().find(|i| i.name == name).ok_or_else(|| {
                let names: Vec<&str> = policy_twin::stages::ORDER.iter().map(|i| i.name).collect();
                policy_twin::Error::Config(format!("--cpu-stages: unknown stage `{name}` (stages: {})", names.join(", ")))
            })?;
            cpu_stages.push(s.stage);
        }
        Ok(policy_twin::gpu::engine::GpuOptions { cpu_stages, ..self.tuning.options() })
    }
}

#[derive(Args)]
struct SynthArgs {
    /// Number of persons.
    #[arg(long)]
    persons: u64,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Weight of every household (how many real households each record stands for).
    #[arg(long, default_value_t = 1)]
    weight: u32,
}

#[derive(Args)]
struct ValidateArgs {
    /// Population directory with persons.parquet and households.parquet [default: data/sample].
    #[arg(long)]
    population: Option<PathBuf>,
}

fn main() {
    // the parquet crate can panic on a corrupt file; the loader catches it and reports the file
    // as unreadable, so its panic message would only be noise before that error
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !info.location().is_some_and(|l| l.file().contains("/parquet-")) {
            default_hook(info);
        }
    }));
    let cli = Cli::parse();
    // Mesa's GL driver complains on stderr without it; harmless, but noise in every command
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
    }
    if let Some(t) = cli.threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new().num_threads(t.max(1)).build_global() {
            eprintln!("error: cannot set threads: {e}");
            std::process::exit(2);
        }
    }
    let result = match &cli.cmd {
        Cmd::Run(a) => run(a, cli.quiet),
        Cmd::Synth(a) => synth_cmd(a, cli.quiet),
        Cmd::Validate(a) => validate(a, cli.quiet),
        Cmd::Devices(a) => devices(a),
        Cmd::Bench(a) => bench(a, cli.quiet),
        Cmd::Report(a) => report(a),
        Cmd::Summary(a) => summary(a),
        Cmd::Merge(a) => merge_cmd(a, cli.quiet),
    };
    if let Err(e) = result {
        if matches!(e.downcast_ref::<policy_twin::Error>(), Some(policy_twin::Error::Interrupted { .. })) {
            std::process::exit(130);
        }
        eprintln!("error: {e:#}");
        let input_error = e.chain().any(|c| {
            matches!(
                c.downcast_ref::<policy_twin::Error>(),
                Some(policy_twin::Error::Input { .. } | policy_twin::Error::Scenario { .. } | policy_twin::Error::Data { .. } | policy_twin::Error::Unreadable { .. } | policy_twin::Error::Config(_))
            )
        });
        std::process::exit(if input_error { 2 } else { 1 });
    }
}

/// A default path: relative to the working directory if it exists there, else to the project.
fn default_path(rel: &str) -> PathBuf {
    let here = PathBuf::from(rel);
    if here.exists() {
        return here;
    }
    let project = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    if project.exists() {
        project
    } else {
        here
    }
}

fn bar(quiet: bool, len: u64, template: &str) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(len);
    b.set_style(ProgressStyle::with_template(template).expect("valid template").progress_chars("=> "));
    b
}

fn load_population(dir: &Path, quiet: bool) -> Result<policy_twin::state::Population> {
    let b = bar(quiet, 1, "loading  [{bar:30}] {pos}/{len} rows {elapsed}");
    let pop = input::load_dir(dir, &|done, total| {
        b.set_length(total);
        b.set_position(done);
    })
    .with_context(|| format!("loading population {}", dir.display()))?;
    b.finish_and_clear();
    Ok(pop)
}

fn validate(a: &ValidateArgs, quiet: bool) -> Result<()> {
    let dir = a.population.clone().unwrap_or_else(|| default_path("data/sample"));
    let pop = load_population(&dir, quiet)?;
    println!(
        "{}: valid: {} persons in {} households (weighted: {} persons)",
        dir.display(),
        pop.persons.len(),
        pop.households.count(),
        pop.weighted_persons()
    );
    Ok(())
}

fn devices(a: &DevicesArgs) -> Result<()> {
    use policy_twin::gpu;
    let list = gpu::list_adapters();
    if a.json && a.shader_stats {
        // one document: the adapters, and the statistics
        let stats = shader_stats(a)?;
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "adapters": list, "shader_stats": stats }))?);
        return Ok(());
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else if list.is_empty() {
        println!("no GPU adapters found (the CPU path will be used; `--backend gpu` will fail)");
    }
    for ad in &list {
        if !a.json {
            println!(
                "{} ({}, {}{}) driver: {} {}
  max storage binding {} MiB, max buffer {} MiB, {} storage buffers per stage, {} workgroups per dimension, device memory {}",
                ad.name,
                ad.backend,
                ad.device_type,
                if ad.software { ", software: `auto` will not pick it" } else { "" },
                ad.driver,
                ad.driver_info,
                ad.max_storage_buffer_binding_size >> 20,
                ad.max_buffer_size >> 20,
                ad.max_storage_buffers_per_shader_stage,
                ad.max_compute_workgroups_per_dimension,
                ad.device_memory.map(|m| format!("{:.1} GiB", policy_twin::memory::gib(m))).unwrap_or_else(|| "not reported".into())
            );
        }
    }
    if a.selftest {
        let (g, why) = gpu::Gpu::open(gpu::Backend::Gpu)?;
        let g = g.ok_or_else(|| anyhow::anyhow!(why.unwrap_or_default()))?;
        gpu::selftest::run(&g, 1 << 20, policy_twin::gpu::engine::GpuOptions::default().workgroup_size)?;
        println!("self-test on `{}`: integer hash and fixed-point arithmetic match the CPU on 1048576 cases", g.adapter.name);
    }
    if a.shader_stats {
        print_shader_stats(a, &shader_stats(a)?);
    }
    Ok(())
}

#[cfg(not(any(target_vendor = "apple", target_arch = "wasm32")))]
fn shader_stats(a: &DevicesArgs) -> Result<policy_twin::gpu::stats::ShaderStats> {
    Ok(policy_twin::gpu::stats::shader_stats(a.workgroup_size, a.gpu_shader_checks)?)
}

#[cfg(not(any(target_vendor = "apple", target_arch = "wasm32")))]
fn print_shader_stats(a: &DevicesArgs, s: &policy_twin::gpu::stats::ShaderStats) {
    println!("\nshader statistics from `{}` (driver {}), workgroup size {}, shader checks {:?}:", s.adapter, s.driver, a.workgroup_size, s.checks);
    for e in &s.entries {
        let resident = e.sm90_resident.as_ref().map(|(n, why)| format!(", {n} workgroups resident an SM if sm_90 (bound by {why})")).unwrap_or_default();
        println!("{:<24} {:<26} {:>4} invocations, {:>6} bytes of workgroup memory, {:>2} storage buffers{resident}", e.stage, e.entry_point, e.workgroup_size, e.workgroup_bytes, e.storage_buffers);
        for (name, value, _) in &e.statistics {
            println!("    {name}: {value}");
        }
    }
    if s.entries.iter().all(|e| e.statistics.is_empty()) {
        println!("(the driver reported no statistics)");
    }
}

#[cfg(any(target_vendor = "apple", target_arch = "wasm32"))]
fn shader_stats(_: &DevicesArgs) -> Result<serde_json::Value> {
    anyhow::bail!("--shader-stats reads Vulkan's pipeline statistics, which this platform's build does not include")
}

#[cfg(any(target_vendor = "apple", target_arch = "wasm32"))]
fn print_shader_stats(_: &DevicesArgs, _: &serde_json::Value) {}

fn bench(a: &BenchArgs, quiet: bool) -> Result<()> {
    use policy_twin::gpu::Backend;
    let backends: Vec<Backend> = match a.backend.as_str() {
        "cpu" => vec![Backend::Cpu],
        "gpu" => vec![Backend::Gpu],
        "both" => vec![Backend::Cpu, Backend::Gpu],
        other => return Err(policy_twin::Error::Config(format!("--backend `{other}`: expected cpu, gpu or both")).into()),
    };
    anyhow::ensure!(a.months >= 1, policy_twin::Error::Config("--months must be at least 1".into()));
    if !a.gpu_ablate.is_empty() {
        anyhow::ensure!(
            a.backend == "gpu" && !a.sweep,
            policy_twin::Error::Config("--gpu-ablate gives wrong results on purpose (a timing run): use it with --backend gpu only, not with --sweep".into())
        );
        println!("--gpu-ablate: a timing run with work left out of the GPU passes; its results are not the model's");
    }
    let scen_path = a.scenario.clone().unwrap_or_else(|| default_path("scenarios/baseline.toml"));
    let mut scenario = Scenario::load(&scen_path)?;
    scenario.years = a.months.div_ceil(12).max(1);
    if a.sweep {
        return sweep(a, &scenario, &backends, quiet);
    }
    let tmp;
    let dir = match &a.population {
        Some(p) => p.clone(),
        None => {
            tmp = synth_temp(a.persons, quiet)?;
            tmp.0.clone()
        }
    };
    let t_load = Instant::now();
    let pop = load_population(&dir, quiet)?;
    let load_s = t_load.elapsed().as_secs_f64();
    let (pp, hp) = input::paths(&dir);
    let load_bytes: u64 = [pp, hp].iter().map(|f| std::fs::metadata(f).map_or(0, |m| m.len())).sum();
    println!(
        "load: {:.1} MB of Parquet ({} persons) in {:.3} s: {:.1} MB/s of compressed input ({} threads)",
        load_bytes as f64 / 1e6,
        pop.persons.len(),
        load_s,
        load_bytes as f64 / 1e6 / load_s,
        rayon::current_num_threads()
    );
    let (rows, results) = bench_backends(a, &pop, &scenario, &backends, true)?;
    print_bench_rows(&rows);
    let mut summary = serde_json::json!({ "runs": rows, "load": { "bytes": load_bytes, "seconds": load_s, "mb_per_second": load_bytes as f64 / 1e6 / load_s } });
    if results.len() == 2 {
        let ratio = rows[1]["person_months_per_second"].as_f64().unwrap_or(0.0) / rows[0]["person_months_per_second"].as_f64().unwrap_or(1.0);
        let identical = results[0] == results[1];
        println!("GPU/CPU ratio: {ratio:.3}; aggregates identical on both backends: {}", if identical { "yes" } else { "NO" });
        summary["gpu_cpu_ratio"] = serde_json::json!(ratio);
        summary["aggregates_identical"] = serde_json::json!(identical);
        anyhow::ensure!(identical, "the CPU and GPU backends gave different aggregates");
    }
    std::fs::write(&a.json, serde_json::to_string_pretty(&summary)?).with_context(|| format!("writing {}", a.json.display()))?;
    Ok(())
}

fn synth_temp(persons: u64, quiet: bool) -> Result<TempDir> {
    let tmp = tempfile_dir()?;
    let b = bar(quiet, persons, "synth    [{bar:30}] {pos}/{len} persons {elapsed}");
    let opts = synth::SynthOptions { persons, seed: 1, weight: 1, data_dir: default_path("data") };
    synth::synth(&opts, &tmp.0, &|done, _| b.set_position(done))?;
    b.finish_and_clear();
    Ok(tmp)
}

/// Time each backend on one population: JSON rows and each backend's aggregates.
fn bench_backends(
    a: &BenchArgs,
    pop: &policy_twin::state::Population,
    scenario: &Scenario,
    backends: &[policy_twin::gpu::Backend],
    profile: bool,
) -> Result<(Vec<serde_json::Value>, Vec<Vec<Acc>>)> {
    use policy_twin::gpu::engine::GpuOptions;
    let mut rows = Vec::new();
    let mut results: Vec<Vec<Acc>> = Vec::new();
    for &backend in backends {
        let opts = GpuOptions { profile: a.gpu_profile, ablate: a.gpu_ablate.clone(), sum_workgroups: a.gpu_sum_workgroups, check_memory: !a.no_memory_check, ..a.gpu.options() };
        // the copy each backend takes of the population is the bench's, not a run's: outside the set-up
        let copy = pop.par_clone();
        let t_setup = Instant::now();
        let (mut sim, choice) = Simulation::open(copy, scenario, scenario.seed, a.months, backend, opts)?;
        let setup_s = t_setup.elapsed().as_secs_f64();
        let mut pm = 0u64;
        let mut accs = Vec::new();
        let t = Instant::now();
        while sim.done() < a.months {
            pm += sim.persons() as u64;
            accs.push(sim.step()?);
        }
        let secs = t.elapsed().as_secs_f64();
        let stages = sim.stage_seconds();
        if let (true, Some(st)) = (profile, &stages) {
            println!("CPU time by stage (seconds over {} months; share of the step):", a.months);
            let total: f64 = st.iter().map(|s| s.1).sum();
            for (name, s) in st {
                println!("  {name:<18} {s:>9.3}  {:>5.1}%", 100.0 * s / total.max(1e-12));
            }
        }
        let gpu_profile = sim.gpu_profile().map(|p| gpu_profile_report(&p, pm, a.months, secs));
        let gpu_host = sim.gpu_host_times().map(|h| gpu_host_report(&h, a.months, secs));
        let gpu_setup = sim.gpu_setup_times().map(|t| gpu_setup_report(&t, setup_s));
        if a.gpu_profile && choice.adapter.is_some() && gpu_profile.is_none() {
            println!("(--gpu-profile: the adapter has no timestamp queries; no device times)");
        }
        let name = choice.adapter.as_ref().map_or(format!("cpu ({} threads)", rayon::current_num_threads()), |ad| format!("{} ({})", ad.name, ad.backend));
        rows.push(serde_json::json!({
            "backend": choice.backend, "device": name, "persons": pop.persons.len(), "months": a.months,
            "setup_s": setup_s, "seconds": secs, "person_months": pm, "person_months_per_second": pm as f64 / secs,
            "workgroup_size": choice.adapter.as_ref().map(|_| a.gpu.workgroup_size),
            "gpu_fuse_persons": choice.adapter.as_ref().map(|_| a.gpu.gpu_fuse_persons),
            "gpu_services_list": choice.adapter.as_ref().map(|_| a.gpu.gpu_services_list),
            "gpu_fuse_households": choice.adapter.as_ref().map(|_| a.gpu.gpu_fuse_households),
            "gpu_shader_checks": choice.adapter.as_ref().map(|_| a.gpu.gpu_shader_checks),
            "gpu_ablate": choice.adapter.as_ref().map(|_| &a.gpu_ablate),
            "gpu_sum_workgroups": choice.adapter.as_ref().map(|_| a.gpu_sum_workgroups),
            "stage_seconds": stages.map(|st| st.into_iter().map(|(n, s)| (n.to_string(), serde_json::json!(s))).collect::<serde_json::Map<_, _>>()),
            "gpu_profile": gpu_profile,
            "gpu_host": gpu_host, "gpu_setup": gpu_setup,
        }));
        results.push(accs);
    }
    Ok((rows, results))
}

/// Print the device time by pass (`--gpu-profile`) and return it as JSON: per entry point its
/// seconds and passes, the total, the submissions' spans on the device (passes and the gaps
/// between them), and the bandwidth implied by the least bytes a person-step must move (a
/// floor on the traffic: the passes read and write more than that).
fn gpu_profile_report(p: &policy_twin::sim::GpuProfile, pm: u64, months: u32, wall: f64) -> serde_json::Value {
    let total: f64 = p.passes.iter().map(|p| p.1).sum();
    println!("GPU device time by pass (timestamp queries; seconds over the run; share of device time):");
    let mut sorted: Vec<&(String, f64, u64)> = p.passes.iter().collect();
    sorted.sort_by(|x, y| y.1.total_cmp(&x.1));
    for (ep, s, n) in sorted {
        println!("  {ep:<18} {s:>9.4}  {:>5.1}%  {n:>7} passes", 100.0 * s / total.max(1e-12));
    }
    let moved = p.min_bytes_per_person_step * pm as f64;
    println!(
        "  device time {total:.4} s of {wall:.3} s wall (profiled; {} passes untimed); at least {:.1} bytes a person-step: {:.1} GB/s over the device time",
        p.untimed,
        p.min_bytes_per_person_step,
        moved / total.max(1e-12) / 1e9
    );
    let gaps = (p.span_seconds - total).max(0.0);
    let ms = |s: f64| 1000.0 * s / months.max(1) as f64;
    println!(
        "  a month: {:.3} ms in passes, {:.3} ms between passes within a submission, {:.3} ms of wall outside the submissions' spans ({:.1} submissions a month timed; the timestamps' reads add to the wall)",
        ms(total),
        ms(gaps),
        ms((wall - p.span_seconds).max(0.0)),
        p.submissions as f64 / months.max(1) as f64
    );
    let ys = &p.month_seconds;
    if ys.len() >= 24 {
        let mean = |m: &[f64]| 1000.0 * m.iter().sum::<f64>() / m.len() as f64;
        println!(
            "  device time a month in passes: {:.3} ms in the first 12 months, {:.3} ms in the last 12, {:.3} ms over all {}",
            mean(&ys[..12]),
            mean(&ys[ys.len() - 12..]),
            mean(ys),
            ys.len()
        );
    }
    serde_json::json!({
        "month_device_seconds": ys,
        "device_seconds": total,
        "span_seconds": p.span_seconds,
        "gap_seconds": gaps,
        "submissions": p.submissions,
        "wall_seconds_profiled": wall,
        "untimed_passes": p.untimed,
        "min_bytes_per_person_step": p.min_bytes_per_person_step,
        "min_bytes_gb_per_device_second": moved / total.max(1e-12) / 1e9,
        "passes": p.passes.iter().map(|(ep, s, n)| (ep.clone(), serde_json::json!({ "seconds": s, "passes": n }))).collect::<serde_json::Map<_, _>>(),
    })
}

/// Print where the GPU path's set-up went and return it as JSON (`SetupTimes`; the rest of
/// `setup` is what `Simulation::open` does besides, such as choosing the backend).
fn gpu_setup_report(t: &policy_twin::sim::SetupTimes, setup: f64) -> serde_json::Value {
    let rest = (setup - t.preparing - t.opening - t.compiling - t.uploading).max(0.0);
    println!(
        "GPU path, the set-up: {:.3} s preparing on the host, {:.3} s opening the device, {:.3} s compiling the shaders, {:.3} s uploading, {:.3} s else",
        t.preparing, t.opening, t.compiling, t.uploading, rest
    );
    serde_json::json!({
        "preparing_seconds": t.preparing,
        "opening_seconds": t.opening,
        "compiling_seconds": t.compiling,
        "uploading_seconds": t.uploading,
        "other_seconds": rest,
    })
}

/// Print where the host's time went in the GPU path's month loop and return it as JSON: in
/// the steps recording passes, inside the submit calls, or blocked on the read-backs (the
/// device working); and outside the steps (the bench loop's own time). See `HostTimes`.
fn gpu_host_report(h: &policy_twin::sim::HostTimes, months: u32, wall: f64) -> serde_json::Value {
    let m = months.max(1) as f64;
    let ms = |s: f64| 1000.0 * s / m;
    let outside = (wall - h.in_step).max(0.0);
    println!(
        "GPU path, the host's time a month: {:.3} ms recording ({:.1} bind groups created, {:.1} reused), {:.3} ms in {:.1} submits, {:.3} ms waiting on {:.1} read-backs, {:.3} ms outside the steps",
        ms(h.recording()),
        h.bind_groups_created as f64 / m,
        h.bind_groups_reused as f64 / m,
        ms(h.submitting),
        h.submits as f64 / m,
        ms(h.waiting),
        h.waits as f64 / m,
        ms(outside)
    );
    serde_json::json!({
        "in_step_seconds": h.in_step,
        "recording_seconds": h.recording(),
        "submitting_seconds": h.submitting,
        "waiting_seconds": h.waiting,
        "outside_seconds": outside,
        "submits": h.submits,
        "read_backs": h.waits,
        "steps": h.steps,
        "bind_groups_created": h.bind_groups_created,
        "bind_groups_reused": h.bind_groups_reused,
    })
}

fn print_bench_rows(rows: &[serde_json::Value]) {
    println!("{:<44} {:>10} {:>7} {:>10} {:>26}", "backend", "persons", "months", "seconds", "person-months per second");
    for r in rows {
        println!(
            "{:<44} {:>10} {:>7} {:>10.3} {:>26.0}",
            r["device"].as_str().unwrap_or(""),
            r["persons"].as_u64().unwrap_or(0),
            r["months"].as_u64().unwrap_or(0),
            r["seconds"].as_f64().unwrap_or(0.0),
            r["person_months_per_second"].as_f64().unwrap_or(0.0)
        );
    }
}

/// `twin bench --sweep`: every backend at every size; a table (JSON and CSV) and an SVG chart.
fn sweep(a: &BenchArgs, scenario: &Scenario, backends: &[policy_twin::gpu::Backend], quiet: bool) -> Result<()> {
    anyhow::ensure!(!a.sweep_sizes.is_empty() && a.sweep_sizes.iter().all(|&n| n >= 100), policy_twin::Error::Config("--sweep-sizes: sizes of at least 100 persons".into()));
    let mut rows = Vec::new();
    for &n in &a.sweep_sizes {
        let tmp = synth_temp(n, quiet)?;
        let pop = policy_twin::input::load_dir(&tmp.0, &|_, _| {})?;
        let (r, results) = bench_backends(a, &pop, scenario, backends, false)?;
        if results.len() == 2 {
            anyhow::ensure!(results[0] == results[1], "the CPU and GPU backends gave different aggregates at {n} persons");
        }
        print_bench_rows(&r);
        rows.extend(r);
    }
    if let Some(dir) = a.json.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let csv_path = a.json.with_extension("csv");
    let svg_path = a.json.with_extension("svg");
    let mut csv = String::from("backend,device,persons,months,seconds,person_months_per_second\n");
    for r in &rows {
        csv.push_str(&format!(
            "{},\"{}\",{},{},{:.6},{:.0}\n",
            r["backend"].as_str().unwrap_or(""),
            r["device"].as_str().unwrap_or("").replace('"', "'"),
            r["persons"],
            r["months"],
            r["seconds"].as_f64().unwrap_or(0.0),
            r["person_months_per_second"].as_f64().unwrap_or(0.0)
        ));
    }
    std::fs::write(&csv_path, csv).with_context(|| format!("writing {}", csv_path.display()))?;
    let series: Vec<(String, Vec<(f64, f64)>)> = {
        let mut names: Vec<String> = Vec::new();
        for r in &rows {
            let d = r["device"].as_str().unwrap_or("").to_string();
            if !names.contains(&d) {
                names.push(d);
            }
        }
        names
            .into_iter()
            .map(|d| {
                let pts = rows.iter().filter(|r| r["device"].as_str() == Some(&d)).map(|r| (r["persons"].as_f64().unwrap_or(1.0), r["person_months_per_second"].as_f64().unwrap_or(0.0) / 1e6)).collect();
                (d, pts)
            })
            .collect()
    };
    let title = format!("policy-twin month step: throughput by population size ({} months, scenario {})", a.months, scenario.name);
    std::fs::write(&svg_path, sweep_svg(&title, &series)).with_context(|| format!("writing {}", svg_path.display()))?;
    std::fs::write(&a.json, serde_json::to_string_pretty(&serde_json::json!({ "sweep": rows }))?).with_context(|| format!("writing {}", a.json.display()))?;
    println!("wrote {}, {} and {}", a.json.display(), csv_path.display(), svg_path.display());
    Ok(())
}

/// The sweep's chart: x = persons (log scale), y = million person-months per second, one line
/// per backend.
fn sweep_svg(title: &str, series: &[(String, Vec<(f64, f64)>)]) -> String {
    use policy_twin::chart::{LineChart, Series, XAxis};
    LineChart {
        title: title.to_string(),
        x_label: "persons in the population (log scale)".into(),
        y_label: "million person-months per second".into(),
        source: format!("Source: twin bench --sweep, policy-twin {}", env!("CARGO_PKG_VERSION")),
        x_axis: XAxis::Log10,
        series: series.iter().enumerate().map(|(k, (name, pts))| Series { name: name.clone(), points: pts.clone(), colour: k, dashed: false }).collect(),
    }
    .svg()
}

/// A temporary directory removed on drop (for `twin bench`'s synthetic population).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempfile_dir() -> Result<TempDir> {
    let p = std::env::temp_dir().join(format!("policy-twin-bench-{}", std::process::id()));
    std::fs::create_dir_all(&p)?;
    Ok(TempDir(p))
}

fn synth_cmd(a: &SynthArgs, quiet: bool) -> Result<()> {
    let t0 = Instant::now();
    let b = bar(quiet, a.persons, "synth    [{bar:30}] {pos}/{len} persons {elapsed} eta {eta}");
    let opts = synth::SynthOptions { persons: a.persons, seed: a.seed, weight: a.weight, data_dir: default_path("data") };
    let s = synth::synth(&opts, &a.out, &|done, _| b.set_position(done)).context("writing synthetic population")?;
    b.finish_and_clear();
    let t = s.tenure;
    let hh = s.households as f64;
    println!(
        "wrote {} persons in {} households to {} in {:.1}s\n  mean household size {:.3}, one-person {:.1}%, tenure owner {:.1}% / private rent {:.1}% / social rent {:.1}% / temporary {:.2}%",
        s.persons,
        s.households,
        a.out.display(),
        t0.elapsed().as_secs_f64(),
        s.persons as f64 / hh,
        100.0 * s.one_person_households as f64 / hh,
        100.0 * t[0] as f64 / hh,
        100.0 * t[1] as f64 / hh,
        100.0 * t[2] as f64 / hh,
        100.0 * t[3] as f64 / hh
    );
    Ok(())
}

fn run(a: &RunArgs, quiet: bool) -> Result<()> {
    match &a.resume {
        Some(dir) => resume(dir, a, quiet),
        None => run_from(a, quiet, None),
    }
}

/// `twin run --resume DIR`: the command line and working directory stored in the checkpoint,
/// with this invocation's --backend when one is given.
fn resume(dir: &Path, now: &RunArgs, quiet: bool) -> Result<()> {
    let dir = std::fs::canonicalize(dir).map_err(|e| policy_twin::Error::Config(format!("--resume {}: {e}", dir.display())))?;
    let file = policy_twin::checkpoint::path(&dir);
    if !file.exists() {
        return Err(policy_twin::Error::Config(format!("--resume {}: no {} to resume from", dir.display(), Path::new(policy_twin::checkpoint::CHECKPOINT_DIR).join(policy_twin::checkpoint::CHECKPOINT_FILE).display())).into());
    }
    let header = policy_twin::checkpoint::header(&file)?;
    let argv: Vec<String> = header["config"]["argv"].as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect()).unwrap_or_default();
    let cwd = header["config"]["cwd"].as_str().unwrap_or(".").to_string();
    std::env::set_current_dir(&cwd).map_err(|e| policy_twin::Error::Config(format!("the checkpoint's run started in {cwd}, which cannot be entered: {e}")))?;
    let Ok(Cli { cmd: Cmd::Run(mut a), .. }) = Cli::try_parse_from(&argv) else {
        return Err(policy_twin::Error::Config(format!("{}: its command line is not a `twin run`", file.display())).into());
    };
    a.out = dir.clone();
    a.resume = None;
    if std::env::args().any(|x| x == "--backend" || x.starts_with("--backend=")) {
        a.gpu.backend = now.gpu.backend;
    }
    if !quiet {
        eprintln!("resuming `{}` from month {} of scenario {} (checkpoint {})", argv.join(" "), header["month"], header["scenario"], file.display());
    }
    let ck = policy_twin::checkpoint::load(&file)?;
    run_from(&a, quiet, Some(ck))
}

/// The inputs that differ between two [`input_hashes`]: file names, or what changed.
fn changed_inputs(was: &serde_json::Value, now: &serde_json::Value) -> Vec<String> {
    // every (path, sha256) pair anywhere in the value: [path, sha] arrays and {path, sha256} objects
    fn pairs(v: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Array(a) if a.len() == 2 && a.iter().all(|x| x.is_string()) => out.push((a[0].as_str().unwrap_or("").into(), a[1].as_str().unwrap_or("").into())),
            serde_json::Value::Object(o) if o.contains_key("path") && o.contains_key("sha256") => out.push((o["path"].as_str().unwrap_or("").into(), o["sha256"].as_str().unwrap_or("").into())),
            serde_json::Value::Array(a) => a.iter().for_each(|x| pairs(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| pairs(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for f in ["persons", "households"] {
        if was[f] != now[f] {
            out.push(format!("{f}.parquet"));
        }
    }
    let (mut a, mut b) = (Vec::new(), Vec::new());
    pairs(&was["scenarios"], &mut a);
    pairs(&was["data"], &mut a);
    pairs(&now["scenarios"], &mut b);
    pairs(&now["data"], &mut b);
    for (path, sha) in &b {
        if !a.iter().any(|(p, s)| p == path && s == sha) {
            out.push(path.clone());
        }
    }
    if out.is_empty() {
        out.push("the list of scenario or data files".into());
    }
    out
}

/// The inputs' SHA-256 (population files and scenario files), kept in checkpoints and the manifest.
fn input_hashes(pop_dir: &Path, scenarios: &[Scenario]) -> Result<serde_json::Value> {
    let (pp, hp) = input::paths(pop_dir);
    Ok(serde_json::json!({
        "persons": output::sha256_file(&pp)?,
        "households": output::sha256_file(&hp)?,
        "scenarios": scenarios.iter().map(|s| s.file_hashes().map(|h| h.into_iter().map(|(f, h)| serde_json::json!([f, h])).collect::<Vec<_>>())).collect::<policy_twin::Result<Vec<_>>>()?,
        "data": scenarios.iter().map(|s| s.data_hashes()).collect::<policy_twin::Result<Vec<_>>>()?,
    }))
}

/// Removes the snapshot parts of a run that fails (out of space, a bad scenario found late)
/// unless a checkpoint can resume it; a run that succeeds has removed them already. Finished
/// replicates' parts are kept: the same command run again skips them. Only for a single
/// process: the tasks of a batch array share the directory.
struct PartsCleanup {
    out: PathBuf,
}

impl Drop for PartsCleanup {
    fn drop(&mut self) {
        if !policy_twin::checkpoint::path(&self.out).exists() {
            let _ = std::fs::remove_dir_all(self.out.join(output::SNAPSHOT_PARTS_DIR));
            // (only if empty)
            let _ = std::fs::remove_dir(self.out.join(policy_twin::merge::REPLICATES_DIR));
            // a checkpoint directory left empty by a checkpoint that could not be written
            let _ = std::fs::remove_dir(self.out.join(policy_twin::checkpoint::CHECKPOINT_DIR));
        }
    }
}

fn run_from(a: &RunArgs, quiet: bool, resumed: Option<policy_twin::checkpoint::Checkpoint>) -> Result<()> {
    let pop_dir = a.population.clone().unwrap_or_else(|| default_path("data/sample"));
    let scen_path = a.scenario.clone().unwrap_or_else(|| default_path("scenarios/baseline.toml"));
    let mut scenarios = vec![Scenario::load(&scen_path).context("reading scenario")?];
    for r in &a.reform {
        let reform = Scenario::load(r).with_context(|| format!("reading reform {}", r.display()))?;
        let base = std::fs::canonicalize(&scen_path).ok();
        if reform.files.len() < 2 || std::fs::canonicalize(&reform.files[0]).ok() != base {
            return Err(policy_twin::Error::scenario(r, "scenario.baseline", format!("a reform compared with {} must name it as its baseline", scen_path.display())).into());
        }
        scenarios.push(reform);
    }
    for s in scenarios.iter_mut() {
        if let Some(y) = a.years {
            anyhow::ensure!((1..=100).contains(&y), policy_twin::Error::Config(format!("--years {y}: must be 1..=100")));
            s.years = y;
        }
        if let Some(seed) = a.seed {
            s.seed = seed;
        }
        if let Some(st) = &a.start {
            s.start = Month::parse(st).ok_or_else(|| policy_twin::Error::Config(format!("--start `{st}` is not a month YYYY-MM")))?;
        }
    }
    policy_twin::run::check_comparable(&scenarios)?;
    if a.snapshot_every == Some(0) || a.checkpoint_every == Some(0) {
        return Err(policy_twin::Error::Config("--snapshot-every and --checkpoint-every must be at least 1".into()).into());
    }
    let replicates = a.replicates;
    if !(1..=10_000).contains(&replicates) {
        return Err(policy_twin::Error::Config(format!("--replicates {replicates}: must be 1..=10000")).into());
    }
    let task = if a.task.is_none() && replicates == 1 {
        // a scheduler's array of independent one-replicate runs (`--seed $SLURM_ARRAY_TASK_ID`,
        // say) stays that: its environment splits a plan only with --replicates 2 or more
        if ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"].iter().any(|v| std::env::var_os(v).is_some()) && !quiet {
            eprintln!("note: running as one process (--replicates 1): the batch array's task index splits a plan only with --replicates 2 or more, or --task i/N");
        }
        policy_twin::plan::Task::SINGLE
    } else {
        policy_twin::plan::Task::resolve(a.task.as_deref(), a.task_count, &|k| std::env::var(k).ok())?
    };
    if task.count > replicates {
        return Err(policy_twin::Error::Config(format!(
            "{} tasks for {replicates} replicates: a task runs whole replicates, so use at most {replicates} tasks (or more replicates)",
            task.count
        ))
        .into());
    }
    if !task.is_single() && (a.checkpoint_every.is_some() || resumed.is_some()) {
        return Err(policy_twin::Error::Config(format!(
            "checkpoints are not supported in a batch task ({} {}/{}): a task run again skips the replicates it already wrote",
            task.source, task.index, task.count
        ))
        .into());
    }
    // refuse a run that cannot fit before loading anything (row counts from the footers)
    let (n_p, n_h) = input::row_counts(&pop_dir)?;
    let mut need = policy_twin::memory::estimate(n_p, n_h, (scenarios[0].months() / 12) as u64, policy_twin::run::wants_distribution(&scenarios));
    if a.snapshot_every.is_some() {
        need = need.with_snapshots(rayon::current_num_threads());
    }
    let avail = policy_twin::memory::available();
    if let Some(avail) = avail {
        if need.bytes > avail && !a.no_memory_check {
            return Err(policy_twin::Error::Config(format!(
                "this run needs {need} of memory, and {:.1} GiB is available: use a smaller population, fewer reforms or a larger machine (--no-memory-check runs it anyway)",
                policy_twin::memory::gib(avail)
            ))
            .into());
        }
    }
    if !quiet {
        eprintln!("memory: the run needs {need}; {}", avail.map(|v| format!("{:.1} GiB available", policy_twin::memory::gib(v))).unwrap_or_else(|| "available memory unknown".into()));
    }
    output::prepare_results_dir(&a.out).context("output directory")?;
    let hashes = input_hashes(&pop_dir, &scenarios)?;
    if let Some(ck) = &resumed {
        if ck.progress.config["inputs"] != hashes {
            return Err(policy_twin::Error::Config(format!(
                "inputs changed since the checkpoint was written (SHA-256 differ): {}; resume needs the same inputs",
                changed_inputs(&ck.progress.config["inputs"], &hashes).join(", ")
            ))
            .into());
        }
    }
    let resumed_replicate = resumed.as_ref().map(|ck| ck.progress.config["replicate"].as_u64().unwrap_or(0) as u32);
    let resumed_at = resumed.as_ref().map(|ck| (ck.progress.scenario, ck.step));
    // Ctrl-C / SIGTERM: stop at the end of the month with a checkpoint (a second one exits at
    // once). A batch task has no checkpoints: a signal ends it, and the replicates it wrote stay.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    if task.is_single() {
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register_conditional_shutdown(sig, 130, stop.clone())?;
            signal_hook::flag::register(sig, stop.clone())?;
        }
    } else {
        // a task stops at once (as PID 1 in a container, the kernel would ignore the signal
        // without a handler); the replicates it finished stay
        let now = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register_conditional_shutdown(sig, 143, now.clone())?;
        }
    }
    // snapshot parts a previous run left (a resumed run keeps its own, up to the checkpoint; it
    // writes the later ones again); replicate parts are kept if they are of this plan (below).
    // Tasks share the directory, so a task removes nothing.
    if task.is_single() && resumed.is_none() {
        for d in [output::SNAPSHOT_PARTS_DIR, output::TASKS_DIR] {
            let d = a.out.join(d);
            if d.exists() {
                std::fs::remove_dir_all(&d).with_context(|| format!("removing {}", d.display()))?;
            }
        }
    }
    let _parts = task.is_single().then(|| PartsCleanup { out: a.out.clone() });
    let mine = task.replicates(replicates);

    let t_load = Instant::now();
    let pop = load_population(&pop_dir, quiet)?;
    let load_s = t_load.elapsed().as_secs_f64();
    let base = scenarios[0].clone();
    let months = base.months();
    if !quiet {
        let names: Vec<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
        eprintln!(
            "policy-twin {}: scenarios {}, {} persons, {} households, {} months from {}, seed {}{}",
            env!("CARGO_PKG_VERSION"),
            names.join(", "),
            pop.persons.len(),
            pop.households.count(),
            months,
            base.start,
            base.seed,
            if replicates > 1 { format!(", {replicates} replicates") } else { String::new() }
        );
        if !task.is_single() {
            eprintln!("task {}/{} ({}): replicates {:?}", task.index, task.count, task.source, mine);
        }
    }
    let (pp, hp) = input::paths(&pop_dir);
    // the scenario files' SHA-256, computed once at the start (`input_hashes`)
    let scen_json: Vec<serde_json::Value> = scenarios
        .iter()
        .zip(hashes["scenarios"].as_array().into_iter().flatten())
        .zip(hashes["data"].as_array().into_iter().flatten())
        .map(|((s, files), data)| {
            let files: Vec<serde_json::Value> = files.as_array().into_iter().flatten().map(|fh| serde_json::json!({"path": fh[0], "sha256": fh[1]})).collect();
            serde_json::json!({ "name": s.name, "description": s.description, "files": files, "data": data })
        })
        .collect();
    // what every task of this run shares (the merge checks that all parts have the same)
    let plan = serde_json::json!({
        "tool": "policy-twin",
        "version": env!("CARGO_PKG_VERSION"),
        "scenarios": scen_json,
        "baseline": base.name,
        "common_random_numbers": true,
        "population": {
            "persons": { "path": pp.display().to_string(), "sha256": hashes["persons"], "rows": pop.persons.len() },
            "households": { "path": hp.display().to_string(), "sha256": hashes["households"], "rows": pop.households.count() },
        },
        "seed": base.seed,
        "start": base.start.to_string(),
        "months": months,
        "replicates": replicates,
        "snapshot_every_months": a.snapshot_every,
    });
    let snapshot_months = output::snapshot_months(a.snapshot_every, months);
    if task.is_single() {
        // finished replicates of this plan (from a run that failed later on) are not run again
        let kept = policy_twin::merge::keep_parts_of(&a.out, &plan)?;
        if !kept.is_empty() && resumed.is_none() && !quiet {
            eprintln!("replicates {kept:?}: written by an earlier run of this plan, kept");
        }
    }
    // without a terminal (batch jobs, logs) a bar is invisible: print a line a simulated year
    let log_lines = !quiet && !std::io::stderr().is_terminal();
    let mut gpu_opts = a.gpu.options()?;
    gpu_opts.check_memory = !a.no_memory_check;
    let spec = policy_twin::run::RunSpec { backend: a.gpu.backend, gpu: gpu_opts };
    let t_sim = Instant::now();
    let delay = std::env::var("POLICY_TWIN_TEST_MONTH_DELAY_MS").ok().and_then(|v| v.parse::<u64>().ok());
    let hang_after = std::env::var("POLICY_TWIN_TEST_HANG_AFTER_CHECKPOINT").ok().and_then(|v| v.parse::<u32>().ok());
    let mut written_checkpoints = 0u32;
    let mut resumed = resumed;
    let mut first_choice: Option<policy_twin::sim::Choice> = None;
    let mut notes: Vec<String> = Vec::new();
    let base_config = serde_json::json!({ "argv": std::env::args().collect::<Vec<_>>(), "cwd": std::env::current_dir()?.display().to_string(), "inputs": hashes });
    // one device and its pipelines for every replicate's scenarios (GPU runs)
    let mut programs: Option<policy_twin::sim::Programs> = None;
    for &r in &mine {
        if policy_twin::merge::finished_part(&a.out, r, &plan).is_some() {
            // said even with -q: a batch log should show that the task did not run it again
            eprintln!("replicate {r}: already written ({}), skipped", policy_twin::merge::replicate_dir(&a.out, r).display());
            continue;
        }
        let seed_r = policy_twin::plan::replicate_seed(base.seed, r);
        let scen_r: Vec<Scenario> = scenarios.iter().cloned().map(|mut s| {
            s.seed = seed_r;
            s
        }).collect();
        let mut current: Option<(usize, ProgressBar, Instant, u64)> = None;
        let mut last_call = Instant::now();
        let rep_label = if replicates > 1 { format!("r{r} ") } else { String::new() };
        // a GPU failure under `auto`, said when it happens (at once without a bar, above the
        // bar at the next month with one); the month callback then times the rate afresh
        let fell_back: std::cell::RefCell<Option<String>> = Default::default();
        let mut on_fallback = |why: &str| {
            if quiet || log_lines {
                eprintln!("{rep_label}warning: {why}");
            }
            *fell_back.borrow_mut() = Some(why.to_string());
        };
        let mut on_checkpoint = |path: &Path, _n: u32| -> policy_twin::Result<()> {
            written_checkpoints += 1;
            let n = written_checkpoints;
            if log_lines {
                eprintln!("checkpoint {n} written: {}", path.display());
            }
            if hang_after == Some(n) {
                // tests: wait here to be killed, as a crash between checkpoints would leave things
                eprintln!("test hook: checkpoint {n} written, waiting to be killed");
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
            }
            Ok(())
        };
        let mut config = match &resumed {
            Some(ck) => ck.progress.config.clone(),
            None => base_config.clone(),
        };
        config["replicate"] = r.into();
        let resume = if resumed_replicate == Some(r) { resumed.take() } else { None };
        let ctl = policy_twin::run::Control {
            every: a.checkpoint_every,
            out_dir: Some(a.out.clone()),
            stop: task.is_single().then_some(&*stop),
            resume,
            config,
            on_checkpoint: Some(&mut on_checkpoint),
            programs: Some(&mut programs),
            on_fallback: Some(&mut on_fallback),
        };
        let runs = policy_twin::run::run_all_with(&pop, &scen_r, &spec, &mut |k, sim, done| {
            if let Some(ms) = delay {
                std::thread::sleep(std::time::Duration::from_millis(ms));
            }
            if current.as_ref().map(|c| c.0) != Some(k) {
                let label: String = format!("{rep_label}{}", scen_r[k].name).chars().take(12).collect();
                let b = bar(quiet, months as u64, &format!("{label:<13}[{{bar:30}}] {{pos}}/{{len}} months {{elapsed}} eta {{eta}}  {{msg}}"));
                // (timed from the end of the last call: the scenario's set-up and first month)
                current = Some((k, b, last_call, 0));
            }
            let (_, b, t, pm) = current.as_mut().expect("set above");
            *pm += sim.persons() as u64;
            if let Some(why) = fell_back.borrow_mut().take() {
                if !(quiet || log_lines) {
                    b.println(format!("{rep_label}warning: {why}"));
                }
                // (the bar went back to the checkpoint's month: its rate and eta start again)
                (*t, *pm) = (Instant::now(), 0);
                b.reset_eta();
                b.set_message("on the CPU path");
            }
            if snapshot_months.contains(&done) {
                sim.with_view(|v| output::write_snapshot_part(&a.out, r, k, done, &scen_r[k].name, v))?;
            }
            let rate = *pm as f64 / t.elapsed().as_secs_f64().max(1e-9);
            if *pm > 0 {
                b.set_message(format!("{:.2}M person-months/s", rate / 1e6));
            }
            b.set_position(done as u64);
            if done == months {
                b.finish_and_clear();
            }
            if log_lines && (done % 12 == 0 || done == months) {
                // (no rate in the month a fallback started the timing again)
                let rate = if *pm > 0 { format!(", {:.2}M person-months/s", rate / 1e6) } else { String::new() };
                eprintln!("{rep_label}{}: simulated {done}/{months} months, {} persons, {:.1}s{rate}", scen_r[k].name, sim.persons(), t.elapsed().as_secs_f64());
            }
            last_call = Instant::now();
            Ok(())
        }, ctl);
        if let Err(policy_twin::Error::Interrupted { month, checkpoint }) = &runs {
            if let Some((_, b, _, _)) = current.as_ref() {
                b.abandon();
            }
            eprintln!("stopped at the end of month {month}{}; checkpoint written to {}", if replicates > 1 { format!(" of replicate {r}") } else { String::new() }, checkpoint.display());
            eprintln!("resume with: twin run --resume {}", a.out.display());
        }
        if let Err(policy_twin::Error::Gpu(why)) = &runs {
            if let Some((_, b, _, _)) = current.as_ref() {
                b.abandon();
            }
            let ck = policy_twin::checkpoint::path(&a.out);
            if ck.exists() {
                eprintln!("error: GPU: {why}");
                eprintln!("the last checkpoint is in {}; resume on the CPU path with: twin run --resume {} --backend cpu", ck.display(), a.out.display());
                std::process::exit(1);
            }
        }
        let runs = runs?;
        for s in &runs {
            if let Some(why) = &s.choice.fallback {
                notes.push(format!("{rep_label}{}: {why}", s.name));
            }
        }
        let choice = runs[0].choice.clone();
        let person_months: u64 = runs.iter().map(|s| s.person_months).sum();
        let sim_s: f64 = runs.iter().map(|s| s.seconds).sum();
        let part = serde_json::json!({
            "replicate": r,
            "seed": seed_r,
            "plan": plan,
            "task": { "index": task.index, "count": task.count, "source": task.source },
            "run": {
                "replicate": r,
                "task": task.index,
                "command": std::env::args().collect::<Vec<_>>(),
                "backend": choice.backend,
                "backend_fallback": choice.fallback,
                "adapter": choice.adapter,
                "threads": rayon::current_num_threads(),
                "person_months": person_months,
                "simulate_s": sim_s,
                "writing_during_run_s": runs.iter().map(|s| s.writing_seconds).sum::<f64>(),
                "per_scenario": runs.iter().map(|s| serde_json::json!({"scenario": s.name, "backend": s.choice.backend, "simulate": s.seconds, "writing": s.writing_seconds})).collect::<Vec<_>>(),
            },
        });
        policy_twin::merge::write_replicate(&a.out, r, base.start, &runs, &part, &snapshot_months)?;
        first_choice.get_or_insert(choice);
    }
    let sim_s = t_sim.elapsed().as_secs_f64();
    // one line for each reason (with replicates the same one comes from every replicate)
    notes.dedup_by(|x, y| x.split_once(": ").map(|p| p.1) == y.split_once(": ").map(|p| p.1));
    for n in &notes {
        eprintln!("note: {n}");
    }
    if !quiet {
        match first_choice.as_ref().and_then(|c| c.adapter.as_ref()) {
            Some(ad) => eprintln!("backend gpu: {} ({}, {}, driver {} {})", ad.name, ad.backend, ad.device_type, ad.driver, ad.driver_info),
            None => eprintln!("backend cpu ({} threads)", rayon::current_num_threads()),
        }
    }

    if !task.is_single() {
        // a task's record that it finished (the parts are the results)
        let dir = a.out.join(output::TASKS_DIR);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let rec = serde_json::json!({ "task": task.index, "tasks": task.count, "source": task.source, "replicates": mine, "load_s": load_s, "simulate_s": sim_s, "peak_rss_bytes": policy_twin::memory::peak_rss() });
        output::write_staged_bytes(&dir.join(format!("task-{:04}-of-{:04}.json", task.index, task.count)), serde_json::to_string_pretty(&rec)?.as_bytes())?.commit()?;
        println!(
            "task {}/{}: wrote replicates {:?} to {} in {:.1}s; when every task has finished: twin merge {}",
            task.index,
            task.count,
            mine,
            policy_twin::merge::replicate_dir(&a.out, 0).parent().map(|p| p.display().to_string()).unwrap_or_default(),
            sim_s,
            a.out.display()
        );
        return Ok(());
    }

    // one process: join its parts into the results, as `twin merge` does
    let choice = first_choice.unwrap_or(policy_twin::sim::Choice { backend: "cpu", adapter: None, fallback: None });
    let mut extra = serde_json::Map::new();
    extra.insert("command".into(), serde_json::json!(std::env::args().collect::<Vec<_>>()));
    extra.insert("checkpoint_every_months".into(), serde_json::json!(a.checkpoint_every));
    extra.insert("resumed_from".into(), serde_json::json!(resumed_at.map(|(k, m)| serde_json::json!({"scenario": scenarios[k].name, "month": m, "replicate": resumed_replicate}))));
    extra.insert("backend".into(), serde_json::json!(choice.backend));
    extra.insert("backend_requested".into(), serde_json::json!(format!("{:?}", a.gpu.backend).to_lowercase()));
    extra.insert("backend_fallback".into(), serde_json::json!(choice.fallback));
    extra.insert("adapter".into(), serde_json::json!(choice.adapter));
    extra.insert("gpu_workgroup_size".into(), serde_json::json!(choice.adapter.as_ref().map(|_| a.gpu.tuning.workgroup_size)));
    // the fusion that ran: the one asked for, unless --cpu-stages turned it off (GpuOptions::fusion)
    let fusion = a.gpu.options().map_or(a.gpu.tuning.gpu_fuse_persons, |o| o.fusion());
    extra.insert("gpu_fuse_persons".into(), serde_json::json!(choice.adapter.as_ref().map(|_| fusion)));
    extra.insert("gpu_services_list".into(), serde_json::json!(choice.adapter.as_ref().map(|_| a.gpu.tuning.gpu_services_list)));
    // (likewise: as asked, unless --cpu-stages turned it off, GpuOptions::households_fused)
    let households = a.gpu.options().map_or(a.gpu.tuning.gpu_fuse_households, |o| o.households_fused());
    extra.insert("gpu_fuse_households".into(), serde_json::json!(choice.adapter.as_ref().map(|_| households)));
    extra.insert("gpu_shader_checks".into(), serde_json::json!(choice.adapter.as_ref().map(|_| a.gpu.tuning.gpu_shader_checks)));
    extra.insert("threads".into(), serde_json::json!(rayon::current_num_threads()));
    extra.insert("memory_estimate_bytes".into(), serde_json::json!(need.bytes));
    let with_income = policy_twin::run::wants_distribution(&scenarios);
    extra.insert(
        "device_memory_estimate_bytes".into(),
        serde_json::json!(choice.adapter.as_ref().map(|_| policy_twin::gpu::engine::device_bytes(pop.persons.len() as u64, pop.households.count() as u64, spec.gpu.headroom, with_income))),
    );
    extra.insert("device_memory_bytes".into(), serde_json::json!(choice.adapter.as_ref().and_then(|ad| ad.device_memory)));
    extra.insert("peak_rss_bytes".into(), serde_json::json!(policy_twin::memory::peak_rss()));
    // ("write" is filled in by the merge: joining the parts and writing the tables)
    extra.insert("timings_s".into(), serde_json::json!({ "load": load_s, "simulate": sim_s }));
    policy_twin::merge::merge(&a.out, extra)?;
    let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(a.out.join(output::MANIFEST_FILE))?)?;

    // the headline table, read back from the files just written (what `twin summary` prints)
    println!("{}", policy_twin::summary::table(&policy_twin::results::Results::load(&a.out)?)?);
    println!(
        "\nwrote {} in {:.1}s ({:.2}M person-months/s); load {:.1}s",
        a.out.display(),
        sim_s,
        m["person_months_per_second"].as_f64().unwrap_or(0.0) / 1e6,
        load_s
    );
    Ok(())
}

fn merge_cmd(a: &MergeArgs, quiet: bool) -> Result<()> {
    let t = Instant::now();
    let mut extra = serde_json::Map::new();
    extra.insert("merge_command".into(), serde_json::json!(std::env::args().collect::<Vec<_>>()));
    let merged = policy_twin::merge::merge(&a.results, extra)?;
    if !quiet {
        eprintln!("merged {} replicates in {:.1}s", merged.replicates, t.elapsed().as_secs_f64());
    }
    println!("{}", policy_twin::summary::table(&policy_twin::results::Results::load(&a.results)?)?);
    println!("\nwrote {}: {}", a.results.display(), merged.files.iter().filter_map(|f| f.file_name()).map(|n| n.to_string_lossy().into_owned()).collect::<Vec<_>>().join(", "));
    Ok(())
}

fn report(a: &ReportArgs) -> Result<()> {
    let r = policy_twin::results::Results::load(&a.results)?;
    let dest = a.out.clone().unwrap_or_else(|| a.results.join("report.html"));
    let staged = output::write_staged_bytes(&dest, policy_twin::report::html(&r)?.as_bytes())?;
    staged.commit()?;
    println!("wrote {}", dest.display());
    Ok(())
}

fn summary(a: &SummaryArgs) -> Result<()> {
    let r = policy_twin::results::Results::load(&a.results)?;
    let text = match a.format.as_str() {
        "csv" => policy_twin::summary::csv(&r)?,
        "json" => policy_twin::summary::json(&r)?,
        _ => policy_twin::summary::table(&r)?,
    };
    print!("{text}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::GpuTuning;
    use clap::Parser;

    #[derive(Parser)]
    struct Tuning {
        #[command(flatten)]
        t: GpuTuning,
    }

    fn parse(args: &[&str]) -> policy_twin::gpu::engine::GpuOptions {
        Tuning::parse_from(std::iter::once("twin").chain(args.iter().copied())).t.options()
    }

    /// `twin run` and `twin bench` default to the engine's own defaults, and the request
    /// list, on by default, can be turned off.
    #[test]
    fn the_clis_gpu_defaults_are_the_engines() {
        let (cli, engine) = (parse(&[]), policy_twin::gpu::engine::GpuOptions::default());
        assert_eq!(
            (cli.workgroup_size, cli.fuse_persons, cli.services_list, cli.shader_checks, cli.chunk_persons, cli.fuse_households),
            (engine.workgroup_size, engine.fuse_persons, engine.services_list, engine.shader_checks, engine.chunk_persons, engine.fuse_households)
        );
        assert!(parse(&["--gpu-fuse-households"]).fuse_households);
        assert!(!parse(&["--gpu-fuse-households", "false"]).fuse_households);
        assert!(!parse(&["--gpu-services-list", "false"]).services_list);
        assert!(parse(&["--gpu-services-list"]).services_list);
        assert!(parse(&["--gpu-services-list=true"]).services_list);
        assert_eq!(parse(&["--workgroup-size", "64"]).workgroup_size, 64);
    }
}
