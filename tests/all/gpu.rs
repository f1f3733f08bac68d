//! The GPU path's checks. Shader validation and struct layouts run everywhere (naga, no
//! device). Tests that need an adapter run on whatever wgpu finds (lavapipe in CI); with
//! `POLICY_TWIN_REQUIRE_GPU=1` (set by .ci/run) a missing adapter is a failure, not a skip.

use policy_twin::gpu::{self, Backend, Gpu};
use policy_twin::params::StepParams;

fn parse(stage: &str, wg: u32) -> naga::Module {
    parse_with(stage, wg, 0)
}

fn parse_with(stage: &str, wg: u32, ablate: u32) -> naga::Module {
    let src = gpu::wgsl::source_with(stage, wg, ablate).unwrap();
    match naga::front::wgsl::parse_str(&src) {
        Ok(m) => m,
        Err(e) => panic!("shaders/{stage}.wgsl does not parse:\n{}", e.emit_to_string(&src)),
    }
}

#[test]
fn every_shader_parses_and_validates() {
    // the model's shaders, and a timing run's with every piece of work left out
    let all = policy_twin::gpu::engine::ablate_bits(policy_twin::gpu::engine::Ablation::all());
    for (stage, _) in gpu::wgsl::STAGES {
        for (wg, ablate) in [(64, 0), (256, 0), (64, all)] {
            let m = parse_with(stage, wg, ablate);
            let mut v = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all());
            if let Err(e) = v.validate(&m) {
                panic!("shaders/{stage}.wgsl (workgroup {wg}, ablate {ablate}) does not validate: {e:?}");
            }
        }
    }
}

/// No two of a shader's resources share a binding (naga checks only what one entry point
/// uses, so a clash would surface only when an entry point first uses both).
#[test]
fn every_binding_is_declared_once() {
    for (stage, _) in gpu::wgsl::STAGES {
        let m = parse(stage, 64);
        let mut seen = std::collections::HashMap::new();
        for (_, var) in m.global_variables.iter() {
            if let Some(b) = &var.binding {
                let name = var.name.clone().unwrap_or_default();
                if let Some(other) = seen.insert((b.group, b.binding), name.clone()) {
                    panic!("shaders/{stage}.wgsl: `{name}` and `{other}` both at group {} binding {}", b.group, b.binding);
                }
            }
        }
    }
}

/// Structs shared with WGSL have the same size on both sides (naga's layout).
#[test]
fn shared_struct_sizes_match_naga() {
    let m = parse("selftest", 64);
    let mut layouter = naga::proc::Layouter::default();
    layouter.update(m.to_ctx()).unwrap();
    let size = |name: &str| {
        let (h, _) = m.types.iter().find(|(_, t)| t.name.as_deref() == Some(name)).unwrap_or_else(|| panic!("{name} in the WGSL"));
        layouter[h].size as usize
    };
    assert_eq!(size("StepParams"), std::mem::size_of::<StepParams>(), "StepParams: WGSL vs Rust");
    assert_eq!(size("Dispatch"), std::mem::size_of::<policy_twin::gpu::engine::Dispatch>(), "Dispatch: WGSL vs Rust");
}

/// The adapter to test on, or None (a skip) when there is none and none is required.
pub fn test_gpu() -> Option<Gpu> {
    match Gpu::open(Backend::Gpu) {
        Ok((Some(g), _)) => {
            eprintln!("GPU tests on `{}` ({}, {})", g.adapter.name, g.adapter.backend, g.adapter.device_type);
            Some(g)
        }
        other => {
            let why = match other {
                Err(e) => e.to_string(),
                _ => "no adapter".into(),
            };
            if std::env::var("POLICY_TWIN_REQUIRE_GPU").as_deref() == Ok("1") {
                panic!("POLICY_TWIN_REQUIRE_GPU=1 but no GPU adapter: {why}");
            }
            eprintln!("skipping GPU test: {why}");
            None
        }
    }
}

#[test]
fn integer_hash_and_fixed_point_match_the_cpu_on_the_adapter() {
    let Some(g) = test_gpu() else { return };
    gpu::selftest::run(&g, 200_000, 64).unwrap();
    gpu::selftest::run(&g, 70_000, 256).unwrap();
}

use policy_twin::engine::{Engine, StateView};
use policy_twin::gpu::engine::{GpuEngine, GpuOptions, Host};
use policy_twin::measures::{Acc, MEASURES, N_MEASURES};
use policy_twin::stages::{Stage, ORDER};

/// A small population (built once): 12,000 persons, weight 2.
fn small_pop() -> &'static policy_twin::state::Population {
    static P: std::sync::OnceLock<(tempfile::TempDir, policy_twin::state::Population)> = std::sync::OnceLock::new();
    &P.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        crate::util::synth_into(dir.path(), 12_000, 21, 2);
        let pop = policy_twin::input::load_dir(dir.path(), &|_, _| {}).unwrap();
        (dir, pop)
    })
    .1
}

/// First difference between the CPU state and the GPU's, as "field, index (person id): cpu vs gpu".
fn first_difference(cpu: &StateView, gpu: &Host) -> Option<String> {
    let p = cpu.persons;
    let cols: [(&str, &Vec<u32>, &Vec<u32>); 13] = [
        ("id_lo", &p.id_lo, &gpu.persons.id_lo),
        ("id_hi", &p.id_hi, &gpu.persons.id_hi),
        ("household", &p.household, &gpu.persons.household),
        ("age_months", &p.age_months, &gpu.persons.age_months),
        ("status", &p.status, &gpu.persons.status),
        ("earnings", &p.earnings, &gpu.persons.earnings),
        ("wealth", &p.wealth, &gpu.persons.wealth),
        ("svc_wait", &p.svc_wait, &gpu.persons.svc_wait),
        ("income_tax", &cpu.pout.income_tax, &gpu.pout.income_tax),
        ("ni", &cpu.pout.ni, &gpu.pout.ni),
        ("state_pension", &cpu.pout.state_pension, &gpu.pout.state_pension),
        ("disability", &cpu.pout.disability, &gpu.pout.disability),
        ("care_tariff", &cpu.pout.care_tariff, &gpu.pout.care_tariff),
    ];
    for (name, a, b) in cols {
        if a.len() != b.len() {
            return Some(format!("{name}: {} persons on the CPU, {} on the GPU", a.len(), b.len()));
        }
        if let Some(i) = (0..a.len()).find(|&i| a[i] != b[i]) {
            return Some(format!("person field `{name}` at index {i} (person id {}): CPU {} vs GPU {}", p.id(i), a[i], b[i]));
        }
    }
    let h = cpu.households;
    let hcols: [(&str, &Vec<u32>, &Vec<u32>); 13] = [
        ("info", &h.info, &gpu.households.info),
        ("rent", &h.rent, &gpu.households.rent),
        ("arrears", &h.arrears, &gpu.households.arrears),
        ("wait", &h.wait, &gpu.households.wait),
        ("prev_net", &h.prev_net, &gpu.households.prev_net),
        ("start", &h.start, &gpu.households.start),
        ("len", &h.len, &gpu.households.len),
        ("universal_credit", &cpu.hout.universal_credit, &gpu.hout.universal_credit),
        ("pension_credit", &cpu.hout.pension_credit, &gpu.hout.pension_credit),
        ("child_benefit", &cpu.hout.child_benefit, &gpu.hout.child_benefit),
        ("hicbc", &cpu.hout.hicbc, &gpu.hout.hicbc),
        ("cap_reduction", &cpu.hout.cap_reduction, &gpu.hout.cap_reduction),
        ("net_income", &cpu.hout.net_income, &gpu.hout.net_income),
    ];
    for (name, a, b) in hcols {
        if let Some(i) = (0..a.len()).find(|&i| a[i] != b[i]) {
            return Some(format!("household field `{name}` at index {i} (household id {}): CPU {} vs GPU {}", h.id[i], a[i], b[i]));
        }
    }
    None
}

fn acc_difference(cpu: &Acc, gpu: &Acc) -> Option<String> {
    (0..cpu.0.len()).find(|&k| cpu.0[k] != gpu.0[k]).map(|k| {
        format!("aggregate `{}` in cell {}: CPU {} vs GPU {}", MEASURES[k % N_MEASURES].name, k / N_MEASURES, cpu.0[k], gpu.0[k])
    })
}

/// Run `months` on the CPU and on the GPU side by side and compare every month's aggregates and
/// the final state; on a mismatch, report what differs first.
/// The GPU options that were the default until H200 run 7 (workgroup 64, four person passes,
/// every person's services passes, shaders with wgpu's guards): still options, so still
/// checked against the CPU path.
fn runs_1_to_6() -> GpuOptions {
    use policy_twin::gpu::{engine::FusePersons, ShaderChecks};
    GpuOptions { workgroup_size: 64, fuse_persons: FusePersons::None, services_list: false, shader_checks: ShaderChecks::Checked, ..Default::default() }
}

/// Whether the adapter binds the 27 storage buffers of the scatter with the person stages
/// (`--gpu-fuse-persons scatter`): where it does not, that option is refused (tested through
/// the test hook) and its parity cases are skipped, saying so.
fn scatter_fits() -> bool {
    fuse_fits(policy_twin::gpu::engine::FusePersons::Scatter)
}

/// Whether the adapter binds the storage buffers a fusion's scatter binds (27 with the
/// stages, 29 with their measures too; 24 or fewer for the others), saying so where not.
fn fuse_fits(fuse: policy_twin::gpu::engine::FusePersons) -> bool {
    use policy_twin::gpu::engine::FusePersons;
    let need = match fuse {
        FusePersons::Scatter => 27,
        FusePersons::ScatterAll => 29,
        _ => 24,
    };
    let fits = test_gpu().is_some_and(|g| g.device.limits().max_storage_buffers_per_shader_stage >= need);
    if !fits {
        eprintln!("skipping --gpu-fuse-persons {fuse:?}: the adapter binds fewer than {need} storage buffers");
    }
    fits
}

/// Keep the persons whose entry in `keep` is true (their households stay, some now empty).
fn keep_persons(pop: &mut policy_twin::state::Population, keep: &[bool]) {
    for col in pop.persons.columns_mut() {
        let mut k = keep.iter();
        col.retain(|_| *k.next().unwrap());
    }
}

fn parity(label: &str, months: u32, warmup: u32, opts: GpuOptions) -> usize {
    parity_on(small_pop(), label, months, warmup, opts, &mut |_| {})
}

pub fn parity_on(pop: &policy_twin::state::Population, label: &str, months: u32, warmup: u32, opts: GpuOptions, on_cpu_month: &mut dyn FnMut(&Acc)) -> usize {
    parity_engine(pop, label, months, warmup, opts, on_cpu_month).map_or(0, |g| g.chunk_count())
}

/// [`parity_on`], returning the GPU engine after the months (`None` without an adapter).
fn parity_engine(pop: &policy_twin::state::Population, label: &str, months: u32, warmup: u32, opts: GpuOptions, on_cpu_month: &mut dyn FnMut(&Acc)) -> Option<GpuEngine> {
    let gpu = test_gpu()?;
    let s = crate::util::baseline();
    let mut cpu = Engine::new(pop.clone(), &s, s.seed, warmup + months).unwrap();
    for _ in 0..warmup {
        cpu.step();
    }
    let mut g = GpuEngine::from_engine(cpu.clone(), gpu, opts).unwrap();
    for m in 0..months {
        let a = cpu.step();
        on_cpu_month(&a);
        let b = g.step().unwrap_or_else(|e| panic!("{label}: month {m}: {e}"));
        if let Some(d) = acc_difference(&a, &b) {
            let state = first_difference(&cpu.view(), &g.download().unwrap()).unwrap_or_else(|| "state identical".into());
            panic!("{label}: month {m}: {d}; {state}");
        }
    }
    if let Some(d) = first_difference(&cpu.view(), &g.download().unwrap()) {
        panic!("{label}: after {months} months: {d}");
    }
    Some(g)
}

/// A chunk that outgrows its bound (half a binding by default; 1,000 persons here) after
/// births: the chunks are planned again from the member counts, and the months after give
/// what the CPU path gives.
#[test]
fn chunks_planned_again_after_births_match_the_cpu() {
    let opts = GpuOptions { chunk_persons: Some(1000), replan_above: Some(1000), ..Default::default() };
    let Some(g) = parity_engine(small_pop(), "chunks planned again", 12, 0, opts, &mut |_| {}) else { return };
    assert!(g.replans() > 0, "no chunk outgrew 1,000 persons in 12 months");
    assert!(g.chunk_count() >= 5, "{} chunks", g.chunk_count());
}

/// The bind groups a month records are reused in the months after, where their buffers and
/// ranges are the same: in a run of one chunk, after the first two months (the births' swap
/// alternates two sets of state columns) no month creates one, whatever its births and
/// deaths; and each month's results stay the CPU's. (Taking the person ranges back to the
/// month's count, or dropping the cache, fails this.)
#[test]
fn bind_groups_are_reused_from_month_to_month() {
    let Some(gpu) = test_gpu() else { return };
    let s = crate::util::baseline();
    let mut cpu = Engine::new(small_pop().clone(), &s, s.seed, 8).unwrap();
    let mut g = GpuEngine::from_engine(cpu.clone(), gpu, GpuOptions::default()).unwrap();
    assert_eq!(g.chunk_count(), 1);
    let mut after_two = 0;
    let mut persons = Vec::new();
    for m in 0..8 {
        let a = cpu.step();
        let b = g.step().unwrap();
        assert!(acc_difference(&a, &b).is_none(), "month {m}: {:?}", acc_difference(&a, &b));
        persons.push(g.persons());
        if m == 1 {
            after_two = g.host_times().bind_groups_created;
        }
    }
    let h = g.host_times();
    assert!(after_two > 0 && h.bind_groups_created == after_two, "{} bind groups after two months, {} after eight", after_two, h.bind_groups_created);
    assert!(h.bind_groups_reused >= 6 * after_two / 2, "{h:?}");
    // the months' person counts moved (a range that followed them would have missed)
    persons.dedup();
    assert!(persons.len() >= 6, "person counts {persons:?}");
}

/// A run's device and pipelines serve the next run (`twin run`'s scenarios): the second
/// opens no device and builds no pipeline, with a reform's parameters its results are the
/// CPU path's, and pipelines built for other options (another workgroup size) are built
/// again, with results the CPU's too.
#[test]
fn a_runs_pipelines_serve_the_next_run() {
    use policy_twin::sim::Simulation;
    if test_gpu().is_none() {
        return;
    }
    let pop = small_pop();
    // both from April 2026, when the reform starts
    let mut base = crate::util::baseline();
    base.start = policy_twin::month::Month::new(2026, 4);
    let mut reform = policy_twin::scenario::Scenario::load(&crate::util::root().join("scenarios/two_child_limit_abolished.toml")).unwrap();
    (reform.seed, reform.start) = (base.seed, base.start);
    let cpu_accs = |s: &policy_twin::scenario::Scenario| {
        let mut e = Engine::new(pop.clone(), s, base.seed, 6).unwrap();
        (0..6).map(|_| e.step()).collect::<Vec<_>>()
    };
    let (mut first, _) = Simulation::open_on(pop.clone(), &base, base.seed, 6, Backend::Gpu, GpuOptions::default(), None, None).unwrap();
    assert!(!first.gpu_setup_times().unwrap().pipelines_reused);
    for a in cpu_accs(&base) {
        assert!(acc_difference(&a, &first.step().unwrap()).is_none());
    }
    let programs = first.into_programs().expect("a GPU run");
    let (mut second, choice) = Simulation::open_on(pop.clone(), &reform, base.seed, 6, Backend::Gpu, GpuOptions::default(), None, Some(programs)).unwrap();
    assert_eq!(choice.backend, "gpu");
    let t = second.gpu_setup_times().unwrap();
    assert!(t.pipelines_reused, "{t:?}");
    let want = cpu_accs(&reform);
    assert!(want != cpu_accs(&base), "the reform changes nothing in 6 months");
    for (m, a) in want.iter().enumerate() {
        let b = second.step().unwrap();
        assert!(acc_difference(a, &b).is_none(), "reform, month {m}: {:?}", acc_difference(a, &b));
    }
    // other options: built again
    let programs = second.into_programs().unwrap();
    let opts = GpuOptions { workgroup_size: 64, ..Default::default() };
    let (mut third, _) = Simulation::open_on(pop.clone(), &reform, base.seed, 6, Backend::Gpu, opts, None, Some(programs)).unwrap();
    assert!(!third.gpu_setup_times().unwrap().pipelines_reused);
    for (m, a) in want.iter().enumerate() {
        assert!(acc_difference(a, &third.step().unwrap()).is_none(), "workgroup 64, month {m}");
    }
}

/// A run with a reform on the GPU, whose distributional outputs sum each household's net
/// income over each year on the device (read once a year, and at each checkpoint), writes
/// the files the CPU path writes: over two years, with checkpoints every 5 months (so the
/// sums are also taken mid-year), in chunks, and with two replicates (whose four runs share
/// one device and its pipelines).
#[test]
fn a_reform_run_on_the_gpu_writes_the_cpus_files() {
    if test_gpu().is_none() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let pop = d.path().join("pop");
    crate::util::synth_into(&pop, 6_000, 9, 3);
    let s = crate::util::root().join("scenarios");
    let reform = s.join("two_child_limit_abolished.toml");
    let reps: &[&str] = &["--replicates", "2"];
    let variants: [(&str, &str, &[&str]); 5] = [("cpu", "c", &[]), ("gpu", "g", &["--checkpoint-every", "5"]), ("gpu", "k", &["--chunk-persons", "2000"]), ("cpu", "cr", reps), ("gpu", "r", reps)];
    for (backend, out, extra) in variants {
        let mut args = vec!["run", "-q", "--backend", backend, "--years", "2", "--population", pop.to_str().unwrap(), "--out", out, "--reform", reform.to_str().unwrap()];
        args.extend_from_slice(extra);
        let (code, _, stderr) = crate::util::run_twin(&args, d.path());
        assert_eq!(code, 0, "{stderr}");
    }
    for f in ["aggregates.parquet", "comparison.parquet", "distribution.parquet"] {
        let c = std::fs::read(d.path().join("c").join(f)).unwrap();
        for out in ["g", "k"] {
            assert!(std::fs::read(d.path().join(out).join(f)).unwrap() == c, "{f} differs between the GPU run `{out}` and --backend cpu");
        }
    }
    // replicates: every replicate's scenarios on one device and one set of pipelines
    for f in ["aggregates.parquet", "comparison.parquet", "distribution.parquet", "intervals.parquet"] {
        let c = std::fs::read(d.path().join("cr").join(f)).unwrap();
        assert!(std::fs::read(d.path().join("r").join(f)).unwrap() == c, "{f} differs between the GPU's replicates and the CPU's");
    }
}

/// The device memory estimate that `twin run` checks against the adapter's memory covers what
/// the engine allocates, and not by much more; an adapter with too little memory is refused
/// before the run (through the binary, with the adapter's memory replaced by the test hook).
#[test]
fn device_memory_estimate_covers_the_buffers_and_too_little_is_refused() {
    let Some(gpu) = test_gpu() else { return };
    let pop = small_pop();
    let s = crate::util::baseline();
    let cpu = Engine::new(pop.clone(), &s, s.seed, 2).unwrap();
    let opts = GpuOptions::default();
    let (n_p, n_h) = (pop.persons.len() as u64, pop.households.count() as u64);
    let g = GpuEngine::from_engine(cpu.clone(), gpu, opts.clone()).unwrap();
    let (est, got) = (policy_twin::gpu::engine::device_bytes(n_p, n_h, opts.headroom, false), g.allocated_bytes());
    assert!(est >= got && (est as f64) < got as f64 * 1.15, "estimate {est} bytes, allocated {got}");
    // with the income sums (a run with reforms): two household columns more, in both
    let g = GpuEngine::from_engine(cpu, test_gpu().unwrap(), GpuOptions { income: true, ..opts.clone() }).unwrap();
    let (est_i, got_i) = (policy_twin::gpu::engine::device_bytes(n_p, n_h, opts.headroom, true), g.allocated_bytes());
    assert!(got_i >= got + 8 * n_h && est_i >= got_i && (est_i as f64) < got_i as f64 * 1.15, "estimate {est_i} bytes, allocated {got_i}");

    let d = tempfile::tempdir().unwrap();
    crate::util::synth_into(&d.path().join("pop"), 3000, 2, 1);
    let run = |backend: &str, extra: &[&str]| {
        let mut c = std::process::Command::new(crate::util::twin());
        c.args(["run", "-q", "--population", "pop", "--years", "1", "--backend", backend, "--out", &format!("out-{backend}-{}", extra.len())]).args(extra);
        c.current_dir(d.path()).env("POLICY_TWIN_TEST_DEVICE_MEMORY", "100000").env("POLICY_TWIN_TEST_AUTO_SOFTWARE", "1");
        let o = c.output().unwrap();
        (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let (code, err) = run("gpu", &[]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("out of device memory: this run needs about") && err.contains("has 0.1 MiB") && err.contains("--backend cpu"), "{err}");
    // auto goes on on the CPU path and says why; --no-memory-check tries the device anyway
    let (code, err) = run("auto", &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("out of device memory") && err.contains("using the CPU path"), "{err}");
    let (code, err) = run("gpu", &["--no-memory-check"]);
    assert_eq!(code, Some(0), "{err}");
}

/// Each stage alone on the GPU (the others on the CPU), from a state with a year of history.
#[test]
fn every_stage_matches_its_cpu_twin() {
    for info in ORDER.iter() {
        let others: Vec<Stage> = ORDER.iter().map(|i| i.stage).filter(|s| *s != info.stage).collect();
        parity(&format!("stage {}", info.name), 2, 12, GpuOptions { cpu_stages: others, ..Default::default() });
    }
}

/// Whole months on the GPU: births, deaths and every policy, two years, with the default
/// options and with those of H200 runs 1-6.
#[test]
fn two_years_on_the_gpu_match_the_cpu() {
    parity("whole run, the default options", 24, 0, GpuOptions::default());
    parity("whole run, the options of runs 1-6", 24, 0, runs_1_to_6());
}

/// Two years on a population of unweighted households, where the housing queues' small
/// capacities still admit a household: GPU and CPU agree, and the run exercises what the
/// parity claims to cover: capacity binds (the radix select's cut passes run), people wait,
/// leave and die waiting, households are evicted, placed in temporary accommodation and
/// rehoused.
#[test]
fn queues_and_housing_match_and_are_exercised() {
    use policy_twin::codes::*;
    use policy_twin::measures::{service_measure, M, SM_DIED, SM_LEFT, SM_SERVED, SM_UNMET, SM_WAITING};
    let dir = tempfile::tempdir().unwrap();
    crate::util::synth_into(dir.path(), 12_000, 22, 1);
    let pop = policy_twin::input::load_dir(dir.path(), &|_, _| {}).unwrap();
    let mut accs: Vec<Acc> = Vec::new();
    // the households' passes fused too: their measures taken before the services, and
    // corrected for every eviction's household placed, rehoused or gone (the same months)
    parity_on(&pop, "households fused, 24 months", 24, 0, GpuOptions { fuse_households: true, ..Default::default() }, &mut |_| {});
    // and the apply pass over every person (services_apply, not the request list's)
    parity_on(&pop, "households fused, no request list, 24 months", 24, 0, GpuOptions { fuse_households: true, services_list: false, ..Default::default() }, &mut |_| {});
    if parity_on(&pop, "unweighted, 24 months", 24, 0, GpuOptions::default(), &mut |a| accs.push(a.clone())) == 0 {
        // no adapter here: check the CPU run alone
        let s = crate::util::baseline();
        let mut cpu = Engine::new(pop, &s, s.seed, 24).unwrap();
        accs = (0..24).map(|_| cpu.step()).collect();
    }
    let total = |m: usize| accs.iter().map(|a| a.total_at(m)).sum::<u64>();
    for svc in [S_GP, S_HOSPITAL, S_CARE, S_EMPLOYMENT] {
        assert!(total(service_measure(svc, SM_UNMET)) > 0 && total(service_measure(svc, SM_WAITING)) > 0, "service {svc} never binds");
    }
    assert!(total(service_measure(S_GP, SM_DIED)) > 0, "nobody died waiting");
    assert!(total(service_measure(S_AE, SM_LEFT)) > 0, "no A&E attendance left unmet");
    assert!(total(M::Evictions as usize) > 0, "no eviction");
    assert!(total(service_measure(S_HOMELESS, SM_SERVED)) > 0, "no placement in temporary accommodation");
    assert!(total(service_measure(S_LETTINGS, SM_SERVED)) > 0, "no social letting");
}

#[test]
fn workgroup_size_and_small_chunks_do_not_change_results() {
    parity("workgroup 64", 6, 3, GpuOptions { workgroup_size: 64, ..Default::default() });
    parity("workgroup 96", 3, 0, GpuOptions { workgroup_size: 96, ..Default::default() });
    let chunks = parity("chunks of 1,000 persons", 6, 3, GpuOptions { chunk_persons: Some(1000), ..Default::default() });
    assert!(chunks >= 10 || test_gpu().is_none(), "the chunked path must really be chunked: {chunks} chunks");
    parity("no spare capacity (buffers grow)", 3, 0, GpuOptions { headroom: 0.0, ..Default::default() });
}

/// The fused person passes (`--gpu-fuse-persons stages|all|scatter|scatter-all`) and the four passes give what
/// the CPU path gives:
/// whole months from a year of history, in small chunks, at workgroup 64, with blocks of many
/// rounds, on 2D grids, with demography on the CPU (the births' count pass); the fused entry points really run (their passes are timed, the ones they replace
/// are not); and a person stage on the CPU turns the fusion off rather than running it twice.
#[test]
fn fused_person_passes_match_the_cpu() {
    use policy_twin::gpu::engine::FusePersons;
    for fuse in [FusePersons::None, FusePersons::Stages, FusePersons::All, FusePersons::Scatter, FusePersons::ScatterAll] {
        if !fuse_fits(fuse) {
            continue;
        }
        parity(&format!("{fuse:?}"), 4, 12, GpuOptions { fuse_persons: fuse, ..Default::default() });
        parity(&format!("{fuse:?}, chunks of 1,000 persons"), 3, 2, GpuOptions { fuse_persons: fuse, chunk_persons: Some(1000), ..Default::default() });
        parity(&format!("{fuse:?}, workgroup 64, blocks of many rounds"), 3, 0, GpuOptions { fuse_persons: fuse, workgroup_size: 64, sum_workgroups: 3, ..Default::default() });
        parity(&format!("{fuse:?}, health on the CPU"), 2, 1, GpuOptions { fuse_persons: fuse, cpu_stages: vec![Stage::Health], ..Default::default() });
        // the births' own count pass feeding the scatter (demography on the CPU), and 2D grids
        parity(&format!("{fuse:?}, demography on the CPU"), 2, 1, GpuOptions { fuse_persons: fuse, cpu_stages: vec![Stage::Demography], ..Default::default() });
        parity(&format!("{fuse:?}, 2D grids"), 2, 0, GpuOptions { fuse_persons: fuse, sum_workgroups: 7, max_groups_x: Some(3), ..Default::default() });
    }
    let Some(gpu) = test_gpu() else { return };
    if !gpu.device.features().contains(wgpu::Features::TIMESTAMP_QUERY) {
        return;
    }
    let s = crate::util::baseline();
    let passes = |opts: GpuOptions| {
        let gpu = test_gpu().unwrap();
        let mut g = GpuEngine::from_engine(Engine::new(small_pop().clone(), &s, s.seed, 1).unwrap(), gpu, GpuOptions { profile: true, ..opts }).unwrap();
        g.step().unwrap();
        let p = g.profile().unwrap().passes;
        p.into_iter().map(|p| p.0).collect::<Vec<String>>()
    };
    let has = |p: &[String], ep: &str| p.iter().any(|e| e == ep);
    drop(gpu);
    let p = passes(GpuOptions { fuse_persons: FusePersons::Stages, ..Default::default() });
    assert!(has(&p, "person_stages_pass") && has(&p, "accounting") && !has(&p, "labour") && !has(&p, "health") && !has(&p, "person_policy"), "{p:?}");
    let p = passes(GpuOptions { fuse_persons: FusePersons::All, ..Default::default() });
    assert!(has(&p, "person_month") && has(&p, "accounting_households") && !has(&p, "accounting") && !has(&p, "labour"), "{p:?}");
    let p = passes(GpuOptions { fuse_persons: FusePersons::All, cpu_stages: vec![Stage::Health], ..Default::default() });
    assert!(!has(&p, "person_month") && has(&p, "labour") && has(&p, "person_policy") && has(&p, "accounting"), "{p:?}");
    if !scatter_fits() {
        return;
    }
    let p = passes(GpuOptions { fuse_persons: FusePersons::Scatter, ..Default::default() });
    assert!(has(&p, "births_scatter_stages") && has(&p, "accounting") && !has(&p, "births_scatter") && !has(&p, "person_stages_pass") && !has(&p, "labour"), "{p:?}");
    // the births on the CPU: the stages' own pass
    let p = passes(GpuOptions { fuse_persons: FusePersons::Scatter, cpu_stages: vec![Stage::Births], ..Default::default() });
    assert!(has(&p, "person_stages_pass") && !has(&p, "births_scatter_stages"), "{p:?}");
    if !fuse_fits(FusePersons::ScatterAll) {
        return;
    }
    // the measures in the scatter too: no pass of the persons' own but demography's and the
    // births' count before it, and the services'
    let p = passes(GpuOptions { fuse_persons: FusePersons::ScatterAll, ..Default::default() });
    assert!(has(&p, "births_scatter_month") && has(&p, "accounting_households"), "{p:?}");
    for other in ["births_scatter", "births_scatter_stages", "person_stages_pass", "person_month", "accounting", "labour"] {
        assert!(!has(&p, other), "{other} ran: {p:?}");
    }
    // the births on the CPU: the stages and the measures in the accounting's blocks
    let p = passes(GpuOptions { fuse_persons: FusePersons::ScatterAll, cpu_stages: vec![Stage::Births], ..Default::default() });
    assert!(has(&p, "person_month") && !has(&p, "births_scatter_month") && !has(&p, "accounting"), "{p:?}");
    assert_eq!(GpuOptions { fuse_persons: FusePersons::ScatterAll, cpu_stages: vec![Stage::Births], ..Default::default() }.fusion(), FusePersons::All);
}

/// The households' passes as one (`--gpu-fuse-households`: household policy, housing and
/// the households' measures, corrected after the services' changes of tenure) give what the
/// CPU path gives: whole months from a year of history, in small chunks, at workgroup 64
/// with blocks of many rounds; the fused pass really runs in place of the three; and a stage
/// from household policy to the accounting on the CPU turns it off. (The months with
/// evictions, placements and lettings: `queues_and_housing_match_and_are_exercised`.)
#[test]
fn fused_household_passes_match_the_cpu() {
    let fused = GpuOptions { fuse_households: true, ..Default::default() };
    parity("households fused", 4, 12, fused.clone());
    parity("households fused, chunks of 1,000 persons", 3, 2, GpuOptions { chunk_persons: Some(1000), ..fused.clone() });
    parity("households fused, workgroup 64, blocks of many rounds", 3, 0, GpuOptions { workgroup_size: 64, sum_workgroups: 3, ..fused.clone() });
    parity("households fused, 2D grids", 2, 0, GpuOptions { sum_workgroups: 7, max_groups_x: Some(3), ..fused.clone() });
    parity("households fused, with every person fused", 3, 0, GpuOptions { fuse_persons: policy_twin::gpu::engine::FusePersons::All, ..fused.clone() });
    if scatter_fits() {
        parity("households fused, the person stages in the scatter", 3, 0, GpuOptions { fuse_persons: policy_twin::gpu::engine::FusePersons::Scatter, ..fused.clone() });
    }
    if fuse_fits(policy_twin::gpu::engine::FusePersons::ScatterAll) {
        // the fewest sweeps a month: every fusion the month's dependencies allow
        parity("households fused, the persons' month in the scatter", 3, 0, GpuOptions { fuse_persons: policy_twin::gpu::engine::FusePersons::ScatterAll, ..fused.clone() });
    }
    for stage in [Stage::Housing, Stage::Services] {
        parity(&format!("households fused, {stage:?} on the CPU"), 2, 1, GpuOptions { cpu_stages: vec![stage], ..fused.clone() });
        assert!(!GpuOptions { cpu_stages: vec![stage], ..fused.clone() }.households_fused());
    }
    let Some(gpu) = test_gpu() else { return };
    if !gpu.device.features().contains(wgpu::Features::TIMESTAMP_QUERY) {
        return;
    }
    drop(gpu);
    let s = crate::util::baseline();
    let passes = |opts: GpuOptions| {
        let mut g = GpuEngine::from_engine(Engine::new(small_pop().clone(), &s, s.seed, 1).unwrap(), test_gpu().unwrap(), GpuOptions { profile: true, ..opts }).unwrap();
        g.step().unwrap();
        g.profile().unwrap().passes.into_iter().map(|p| p.0).collect::<Vec<String>>()
    };
    let has = |p: &[String], ep: &str| p.iter().any(|e| e == ep);
    let p = passes(fused.clone());
    assert!(has(&p, "household_month") && !has(&p, "household_policy") && !has(&p, "housing") && !has(&p, "accounting_households") && has(&p, "accounting"), "{p:?}");
    let p = passes(GpuOptions { cpu_stages: vec![Stage::Services], ..fused.clone() });
    assert!(!has(&p, "household_month") && has(&p, "household_policy") && has(&p, "housing") && has(&p, "accounting_households"), "{p:?}");
}

/// An adapter whose shader stages bind fewer storage buffers than the scatter with the person
/// stages does (27; the engine needs 24): the default options run, `--gpu-fuse-persons
/// scatter` is refused, naming the entry point, the limit and the way out, and runs with the
/// births on the CPU, which leave the scatter to the CPU (through the binary, the device asked
/// for 24 by the test hook); `--gpu-fuse-households` the same.
#[test]
fn too_few_storage_buffers_refuse_only_the_fusions_that_need_them() {
    if test_gpu().is_none() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    crate::util::synth_into(&d.path().join("pop"), 500, 3, 1);
    let run = |extra: &[&str]| {
        let mut c = std::process::Command::new(crate::util::twin());
        c.args(["run", "-q", "--population", "pop", "--years", "1", "--backend", "gpu", "--out", &format!("out-{}", extra.len())]).args(extra);
        c.current_dir(d.path()).env("POLICY_TWIN_TEST_MAX_STORAGE_BUFFERS", "24");
        let o = c.output().unwrap();
        (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let (code, err) = run(&[]);
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = run(&["--gpu-fuse-persons", "scatter"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("`births_scatter_stages` binds 27 storage buffers") && err.contains("allows 24 a shader stage") && err.contains("use --gpu-fuse-persons stages"), "{err}");
    // with the births on the CPU the scatter with the stages would not run: not refused
    let (code, err) = run(&["--gpu-fuse-persons", "scatter", "--cpu-stages", "births"]);
    assert_eq!(code, Some(0), "{err}");
    // the scatter with the persons' measures too (29)
    let (code, err) = run(&["--gpu-fuse-persons", "scatter-all"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("--gpu-fuse-persons scatter-all: `births_scatter_month` binds 29 storage buffers") && err.contains("use --gpu-fuse-persons all"), "{err}");
    let (code, err) = run(&["--gpu-fuse-persons", "scatter-all", "--cpu-stages", "births"]);
    assert_eq!(code, Some(0), "{err}");
    // the households' fused pass (26) likewise, unless a stage of it runs on the CPU
    let (code, err) = run(&["--gpu-fuse-households"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("--gpu-fuse-households: `household_month` binds 26 storage buffers") && err.contains("leave it off"), "{err}");
    let (code, err) = run(&["--gpu-fuse-households", "--cpu-stages", "housing"]);
    assert_eq!(code, Some(0), "{err}");
}

/// The person stages in the births' scatter (`--gpu-fuse-persons scatter`), and with their
/// measures (`scatter-all`): a month nobody dies or is born in has no scatter, and runs the
/// stages' own pass (or `person_month`) instead (young men only); months with births whose
/// chunks are planned again after them; workgroups of 96 and 1 (the block's slot words and
/// the measures' table shared unevenly, and one invocation for all); all give what the CPU
/// path gives.
#[test]
fn person_stages_in_the_scatter_match_the_cpu() {
    use policy_twin::gpu::engine::FusePersons;
    for (fuse, instead, scatter) in [(FusePersons::Scatter, "person_stages_pass", "births_scatter_stages"), (FusePersons::ScatterAll, "person_month", "births_scatter_month")] {
        if fuse_fits(fuse) {
            stages_in_the_scatter(fuse, instead, scatter);
        }
    }
}

fn stages_in_the_scatter(fuse: policy_twin::gpu::engine::FusePersons, instead: &str, scatter: &str) {
    let opts = GpuOptions { fuse_persons: fuse, ..Default::default() };
    let mut pop = small_pop().clone();
    let keep: Vec<bool> = pop.persons.status.iter().zip(&pop.persons.age_months).map(|(&s, &a)| policy_twin::state::sex(s) == policy_twin::codes::MALE && (240..360).contains(&a)).collect();
    let kept = keep.iter().filter(|&&k| k).count();
    assert!(kept >= 50, "{kept} young men");
    let few: Vec<bool> = keep.iter().scan(0, |n, &k| {
        *n += k as u32;
        Some(k && *n <= 50)
    }).collect();
    keep_persons(&mut pop, &few);
    let Some(g) = parity_engine(&pop, &format!("{fuse:?}, young men"), 3, 0, GpuOptions { profile: true, ..opts.clone() }, &mut |_| {}) else { return };
    assert_eq!(g.persons(), 50, "somebody died in three months: the test needs a month without");
    if let Some(p) = g.profile() {
        let ran: Vec<&str> = p.passes.iter().map(|p| p.0.as_str()).collect();
        assert!(ran.contains(&instead) && !ran.contains(&scatter), "{ran:?}");
    }
    let replan = GpuOptions { chunk_persons: Some(1000), replan_above: Some(1000), ..opts.clone() };
    let Some(g) = parity_engine(small_pop(), &format!("{fuse:?}, chunks planned again"), 12, 0, replan, &mut |_| {}) else { return };
    assert!(g.replans() > 0, "no chunk outgrew 1,000 persons in 12 months");
    parity(&format!("{fuse:?}, workgroup 96"), 2, 0, GpuOptions { workgroup_size: 96, ..opts.clone() });
    parity(&format!("{fuse:?}, workgroup 1"), 1, 0, GpuOptions { workgroup_size: 1, ..opts });
}

/// The shaders compiled with wgpu's loop bound and zero-divisor guard (`--gpu-shader-checks
/// checked`) and without them (trusted, the default) give what the CPU path gives: whole
/// months from a year of history, over every person and with the request list, four person
/// passes and one, and the self-test's arithmetic both ways.
#[test]
fn shader_checks_do_not_change_results() {
    use policy_twin::gpu::{engine::FusePersons, ShaderChecks};
    assert_eq!(GpuOptions::default().shader_checks, ShaderChecks::Trusted);
    let checked = GpuOptions { shader_checks: ShaderChecks::Checked, ..Default::default() };
    parity("checked shaders", 4, 12, checked.clone());
    parity("checked shaders, every person, fused persons", 3, 0, GpuOptions { services_list: false, fuse_persons: FusePersons::All, ..checked });
    parity("trusted shaders, every person, four person passes", 3, 0, GpuOptions { services_list: false, fuse_persons: FusePersons::None, ..Default::default() });
    let Some(g) = test_gpu() else { return };
    gpu::selftest::run_with(&g, 100_000, 64, ShaderChecks::Trusted).unwrap();
    gpu::selftest::run_with(&g, 100_000, 64, ShaderChecks::Checked).unwrap();
}

/// A chunk whose households have all died still runs a workgroup in every pass (every
/// dispatch launches at least one), so no pass may divide by its count of persons' blocks
/// (under `trusted` there is no guard). This test cannot see such a division on lavapipe:
/// with `services_apply_requests`' `max(1u, ...)` taken out it still passed (the quotient
/// is not used when the chunk is empty, and llvmpipe did not trap). What it checks is that
/// empty chunks run right in the passes that see them. Chunks of one person's worth (a household each, mostly), on a population whose last
/// households have no members left (as deaths leave them): the chunk after the last but one
/// household of two or more persons is empty, and three months with the request list and trusted
/// shaders give what the CPU path gives.
#[test]
fn empty_chunks_run_with_trusted_shaders() {
    use policy_twin::gpu::ShaderChecks;
    let dir = tempfile::tempdir().unwrap();
    crate::util::synth_into(dir.path(), 2_000, 5, 1);
    let mut pop = policy_twin::input::load_dir(dir.path(), &|_, _| {}).unwrap();
    // the households after the last but one of two or more persons lose their members
    let n_h = pop.households.count();
    let mut len = vec![0u32; n_h];
    for &h in &pop.persons.household {
        len[h as usize] += 1;
    }
    let last_big = (0..n_h - 1).rev().find(|&h| len[h] >= 2).unwrap();
    let keep: Vec<bool> = pop.persons.household.iter().map(|&h| h as usize <= last_big).collect();
    keep_persons(&mut pop, &keep);
    let opts = GpuOptions { chunk_persons: Some(1), services_list: true, shader_checks: ShaderChecks::Trusted, ..Default::default() };
    let Some(g) = parity_engine(&pop, "empty chunks", 3, 0, opts, &mut |_| {}) else { return };
    let sizes = g.chunk_persons();
    assert!(sizes.last() == Some(&0), "the last chunk is not empty: {} chunks, the last {:?}", sizes.len(), sizes.last());
    // and with the passes over every person, four person passes and the guards
    parity_engine(&pop, "empty chunks, the options of runs 1-6", 2, 0, GpuOptions { chunk_persons: Some(1), ..runs_1_to_6() }, &mut |_| {});
}

/// The services' request list (`--gpu-services-list`, the default) and the passes over every
/// person give what the CPU path gives: whole months from a year of history, in small chunks, on a population whose queues
/// bind (the radix passes' cut lists are long), with workgroups sharing the list in blocks of
/// many rounds and on 2D grids (device-written dispatch arguments), with the fused person
/// pass; and the listing passes are the ones that run.
#[test]
fn services_request_list_matches_the_cpu() {
    use policy_twin::gpu::engine::FusePersons;
    let on = GpuOptions { services_list: true, ..Default::default() };
    assert!(GpuOptions::default().services_list);
    parity("request list", 4, 12, on.clone());
    let off = GpuOptions { services_list: false, ..Default::default() };
    parity("every person", 4, 12, off.clone());
    parity("every person, chunks of 1,000 persons", 3, 2, GpuOptions { chunk_persons: Some(1000), ..off.clone() });
    let chunks = parity("request list, chunks of 1,000 persons", 3, 2, GpuOptions { chunk_persons: Some(1000), ..on.clone() });
    assert!(chunks >= 10 || test_gpu().is_none(), "{chunks} chunks");
    parity("request list, fused persons, workgroup 64", 3, 0, GpuOptions { fuse_persons: FusePersons::All, workgroup_size: 64, ..on.clone() });
    let dir = tempfile::tempdir().unwrap();
    crate::util::synth_into(dir.path(), 40_000, 22, 1);
    let pop = policy_twin::input::load_dir(dir.path(), &|_, _| {}).unwrap();
    let mut accs: Vec<Acc> = Vec::new();
    if parity_on(&pop, "request list, unweighted 40,000 persons", 6, 0, on.clone(), &mut |a| accs.push(a.clone())) > 0 {
        use policy_twin::codes::{S_CARE, S_GP};
        use policy_twin::measures::{service_measure, SM_UNMET, SM_WAITING};
        let total = |m: usize| accs.iter().map(|a| a.total_at(m)).sum::<u64>();
        assert!(total(service_measure(S_GP, SM_UNMET)) > 0 && total(service_measure(S_CARE, SM_WAITING)) > 0, "the queues never bind");
    }
    parity_on(&pop, "request list, blocks of many rounds, 2D grids", 2, 0, GpuOptions { sum_workgroups: 5, max_groups_x: Some(3), ..on.clone() }, &mut |_| {});
    parity_on(&pop, "request list, two chunks", 2, 0, GpuOptions { chunk_persons: Some(20_000), ..on.clone() }, &mut |_| {});
    let Some(gpu) = test_gpu() else { return };
    if !gpu.device.features().contains(wgpu::Features::TIMESTAMP_QUERY) {
        return;
    }
    let s = crate::util::baseline();
    let mut g = GpuEngine::from_engine(Engine::new(small_pop().clone(), &s, s.seed, 1).unwrap(), gpu, GpuOptions { profile: true, ..on }).unwrap();
    g.step().unwrap();
    let p: Vec<String> = g.profile().unwrap().passes.into_iter().map(|p| p.0).collect();
    let has = |ep: &str| p.iter().any(|e| e == ep);
    assert!(has("services_demand_listing") && has("services_hist_requests") && has("services_apply_requests") && has("services_hist_list"), "{p:?}");
    assert!(!has("services_demand") && !has("services_hist") && !has("services_apply"), "{p:?}");
    let s = crate::util::baseline();
    let mut g = GpuEngine::from_engine(Engine::new(small_pop().clone(), &s, s.seed, 1).unwrap(), test_gpu().unwrap(), GpuOptions { profile: true, ..off }).unwrap();
    g.step().unwrap();
    let p: Vec<String> = g.profile().unwrap().passes.into_iter().map(|p| p.0).collect();
    let has = |ep: &str| p.iter().any(|e| e == ep);
    assert!(has("services_demand") && has("services_hist") && has("services_apply") && has("services_hist_list"), "{p:?}");
    assert!(!has("services_demand_listing") && !has("services_hist_requests") && !has("services_apply_requests"), "{p:?}");
}

/// The radix select's list passes read shorter lists pass by pass: the last pass reads only
/// who matched the first two key bytes (a few persons a searching queue), not everyone the
/// first pass listed (about a third of the persons), whole, in chunks and with the request
/// list; the results are the CPU's (every parity test checks them).
#[test]
fn radix_lists_narrow_pass_by_pass() {
    if test_gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    crate::util::synth_into(dir.path(), 40_000, 22, 1);
    let pop = policy_twin::input::load_dir(dir.path(), &|_, _| {}).unwrap();
    let n = pop.persons.len() as u32;
    let s = crate::util::baseline();
    for (chunk_persons, services_list) in [(None, false), (Some(10_000), false), (None, true)] {
        let cpu = Engine::new(pop.clone(), &s, s.seed, 6).unwrap();
        let mut g = GpuEngine::from_engine(cpu, test_gpu().unwrap(), GpuOptions { chunk_persons, services_list, ..Default::default() }).unwrap();
        let mut most = 0;
        for _ in 0..6 {
            g.step().unwrap();
            let lens = g.last_cut_list_lengths().unwrap();
            assert_eq!(lens.len(), g.chunk_count());
            let listed: u32 = lens.iter().sum();
            assert!(listed * 100 < n, "{listed} of {n} persons listed for the last pass ({chunk_persons:?}, request list {services_list})");
            most = most.max(listed);
        }
        assert!(most > 0, "no queue searched to its last pass ({chunk_persons:?}, request list {services_list})");
    }
}

/// A population of several blocks for every block-wise pass (births 4,096 persons a
/// workgroup; accounting and the services' apply `sum_block`: 256 here, one round of 256
/// invocations): 40,000 persons, whole and in two chunks; then with 8 workgroups aimed at
/// (blocks of 5,120, twenty rounds each), and with at most 3 workgroups in x per dispatch
/// (every pass on a 2D grid, the list passes' device-written arguments too).
#[test]
fn several_blocks_a_chunk_match_the_cpu() {
    let dir = tempfile::tempdir().unwrap();
    crate::util::synth_into(dir.path(), 40_000, 23, 1);
    let pop = policy_twin::input::load_dir(dir.path(), &|_, _| {}).unwrap();
    assert!(pop.persons.len() > 2 * 16_384 && pop.households.count() > 16_384, "{} persons, {} households", pop.persons.len(), pop.households.count());
    use policy_twin::gpu::engine::sum_block;
    assert_eq!(sum_block(pop.persons.len() as u32, 2048), 256);
    assert_eq!(sum_block(67_600_000, 2048), 16_384);
    assert_eq!(sum_block(1_000_000, 2048), 512);
    assert_eq!(sum_block(pop.persons.len() as u32, 8), 5_120);
    parity_on(&pop, "40,000 persons", 2, 1, GpuOptions::default(), &mut |_| {});
    parity_on(&pop, "40,000 persons in two chunks", 2, 0, GpuOptions { chunk_persons: Some(20_000), ..Default::default() }, &mut |_| {});
    parity_on(&pop, "40,000 persons, blocks of many rounds", 2, 0, GpuOptions { sum_workgroups: 8, ..Default::default() }, &mut |_| {});
    parity_on(&pop, "40,000 persons, 2D grids", 2, 0, GpuOptions { max_groups_x: Some(3), ..Default::default() }, &mut |_| {});
}

/// Weights near u32::MAX: every weighted sum's high word and carries (the accounting pass's
/// workgroup sums carry out of their low words within a block) match the CPU's u64 sums.
/// And weights of 2^31 + 1, where a region's capacity (at most u32::MAX units) takes one
/// request of a weighted record and not two (the histograms' replicas carry).
#[test]
fn weights_near_the_u32_limit_sum_exactly_on_the_gpu() {
    let mut pop = small_pop().clone();
    for (k, w) in pop.households.weight.iter_mut().enumerate() {
        *w = u32::MAX - (k as u32 % 1000);
    }
    parity_on(&pop, "weights near u32::MAX", 2, 1, GpuOptions::default(), &mut |_| {});
    parity_on(&pop, "weights near u32::MAX, the options of runs 1-6", 2, 0, runs_1_to_6(), &mut |_| {});
    for w in pop.households.weight.iter_mut() {
        *w = 0x8000_0001;
    }
    let mut accs: Vec<Acc> = Vec::new();
    if parity_on(&pop, "weights of 2^31 + 1", 2, 0, GpuOptions::default(), &mut |a| accs.push(a.clone())) > 0 {
        use policy_twin::codes::S_GP;
        use policy_twin::measures::{service_measure, SM_SERVED, SM_UNMET};
        let total = |m: usize| accs.iter().map(|a| a.total_at(m)).sum::<u64>();
        assert!(total(service_measure(S_GP, SM_SERVED)) > 0 && total(service_measure(S_GP, SM_UNMET)) > 0, "the GP serves some and not all");
    }
    parity_on(&pop, "weights of 2^31 + 1, the options of runs 1-6", 2, 0, runs_1_to_6(), &mut |_| {});
}

/// The demand pass's workgroup sums of the GP's histogram carry out of their low words: 200
/// persons, all in one region and so in one workgroup's histogram, each weighing 2^31 + 1,
/// where the region's capacity (u32::MAX units) takes one request and not two. Their sum
/// of about 70 requests carries about 35 times; a lost carry leaves a total under the
/// capacity, and every request would be served.
#[test]
fn histogram_sums_carry_within_a_workgroup() {
    let mut pop = small_pop().clone();
    let keep: Vec<bool> = (0..pop.persons.len()).map(|k| k < 200).collect();
    keep_persons(&mut pop, &keep);
    for info in pop.households.info.iter_mut() {
        *info &= !policy_twin::state::REGION_MASK; // region 0
    }
    for w in pop.households.weight.iter_mut() {
        *w = 0x8000_0001;
    }
    let mut accs: Vec<Acc> = Vec::new();
    if parity_on(&pop, "200 persons of weight 2^31 + 1 in one region", 2, 0, GpuOptions::default(), &mut |a| accs.push(a.clone())) > 0 {
        use policy_twin::codes::S_GP;
        use policy_twin::measures::{service_measure, SM_SERVED, SM_UNMET};
        let total = |m: usize| accs[0].total_at(m);
        let (served, unmet) = (total(service_measure(S_GP, SM_SERVED)), total(service_measure(S_GP, SM_UNMET)));
        // weighted: one request served, the rest not (in weighted units of 2^31 + 1)
        assert!(served == 0x8000_0001 && unmet >= 2 * 0x8000_0001, "GP served {served}, unmet {unmet}");
    }
}

/// `--gpu-profile`'s timestamps change nothing in the results, and time every pass of the step
/// (where the adapter has timestamp queries; lavapipe has them): those of the options of H200
/// runs 1-6, and those of the defaults (the request list's and the fused stages' passes, 25
/// a month at one chunk).
#[test]
fn profiling_the_device_changes_nothing_and_times_every_pass() {
    parity("profiled", 3, 1, GpuOptions { profile: true, ..Default::default() });
    let Some(gpu) = test_gpu() else { return };
    let has_timestamps = gpu.device.features().contains(wgpu::Features::TIMESTAMP_QUERY);
    let s = crate::util::baseline();
    let cpu = Engine::new(small_pop().clone(), &s, s.seed, 2).unwrap();
    let mut g = GpuEngine::from_engine(cpu, gpu, GpuOptions { profile: true, ..runs_1_to_6() }).unwrap();
    for _ in 0..2 {
        g.step().unwrap();
    }
    let Some(policy_twin::sim::GpuProfile { passes, untimed, span_seconds: span, submissions, month_seconds, .. }) = g.profile() else {
        assert!(!has_timestamps, "the adapter has timestamp queries but nothing was timed");
        return;
    };
    assert_eq!(untimed, 0);
    // (no births_count: the demography pass counts the blocks' deaths and births)
    let every = [
        "demography",
        "births_scan",
        "births_scatter",
        "labour",
        "health",
        "person_policy",
        "household_policy",
        "housing",
        "services_demand",
        "services_cut",
        "services_hist",
        "services_list_args",
        "services_hist_list",
        "services_apply",
        "accounting",
        "accounting_households",
        "acc_reduce",
    ];
    assert_eq!(passes.len(), every.len(), "{passes:?}");
    for ep in every {
        let (_, secs, n) = passes.iter().find(|p| p.0 == ep).unwrap_or_else(|| panic!("no timing for `{ep}`: {passes:?}"));
        assert!(*n >= 2 && *secs >= 0.0, "`{ep}`: {n} passes, {secs} s");
    }
    assert!(passes.iter().map(|p| p.1).sum::<f64>() > 0.0, "{passes:?}");
    // the same device time month by month: each month's passes, in it
    let total: f64 = passes.iter().map(|p| p.1).sum();
    assert_eq!(month_seconds.len(), 2, "{month_seconds:?}");
    assert!(month_seconds.iter().all(|&m| m > 0.0), "{month_seconds:?}");
    assert!((month_seconds.iter().sum::<f64>() - total).abs() <= 1e-9 * total.max(1.0), "{month_seconds:?} against {total}");
    // four radix passes a month: the first over every person, three over its list
    assert_eq!(passes.iter().find(|p| p.0 == "services_hist").unwrap().2, 2);
    assert_eq!(passes.iter().find(|p| p.0 == "services_hist_list").unwrap().2, 6);
    // each list pass dispatched from the length of the list the pass before it wrote
    assert_eq!(passes.iter().find(|p| p.0 == "services_list_args").unwrap().2, 6);
    let b = g.min_bytes_per_person_step();
    assert!(b > 84.0 && b < 84.0 + 112.0, "{b}");
    // the select narrowed in one pass a histogram: five a month
    assert_eq!(passes.iter().find(|p| p.0 == "services_cut").unwrap().2, 10);
    // three submissions a month with deaths or births (demography with the births' count,
    // whose totals are read back; the scatter, which writes the household index; the rest with the
    // aggregates' read-back),
    // each spanning its passes and the gaps between them (at least its longest pass; a
    // device may overlap passes that share no written buffer, so not always their sum)
    assert_eq!(submissions, 6);
    let longest = passes.iter().map(|p| p.1 / p.2 as f64).fold(0.0, f64::max);
    assert!(span > 0.0 && span >= longest, "span {span} s, longest pass {longest} s");
    // the defaults' passes: 15 kinds, 24 passes in a month with births and deaths at one chunk
    let mut g = GpuEngine::from_engine(Engine::new(small_pop().clone(), &s, s.seed, 1).unwrap(), test_gpu().unwrap(), GpuOptions { profile: true, ..Default::default() }).unwrap();
    assert_eq!(g.chunk_count(), 1);
    g.step().unwrap();
    let passes = g.profile().unwrap().passes;
    let mut names: Vec<&str> = passes.iter().map(|p| p.0.as_str()).collect();
    names.sort_unstable();
    let mut want = vec![
        "demography",
        "births_scan",
        "births_scatter",
        "person_stages_pass",
        "household_policy",
        "housing",
        "services_demand_listing",
        "services_list_args",
        "services_hist_requests",
        "services_hist_list",
        "services_cut",
        "services_apply_requests",
        "accounting",
        "accounting_households",
        "acc_reduce",
    ];
    want.sort_unstable();
    assert_eq!(names, want);
    assert_eq!(passes.iter().map(|p| p.2).sum::<u64>(), 24, "{passes:?}");
    // with demography on the CPU, the births count their blocks in a pass of their own
    // (its parity: every_stage_matches_its_cpu_twin, the births alone on the GPU)
    let mut g = GpuEngine::from_engine(Engine::new(small_pop().clone(), &s, s.seed, 1).unwrap(), test_gpu().unwrap(), GpuOptions { profile: true, cpu_stages: vec![Stage::Demography], ..Default::default() }).unwrap();
    g.step().unwrap();
    let passes = g.profile().unwrap().passes;
    assert!(passes.iter().any(|p| p.0 == "births_count") && !passes.iter().any(|p| p.0 == "demography"), "{passes:?}");
}

/// Each of `twin bench --gpu-ablate`'s pieces of work left out changes the results the way
/// leaving it out must (so a timing run times what it names), and the ablations meant to keep
/// the month's work comparable keep it near the model's.
#[test]
fn ablations_leave_out_what_they_name() {
    use policy_twin::gpu::engine::{Ablation, FusePersons};
    use policy_twin::measures::{M, SERVICE_BASE, SERVICE_MEASURES, SM_DEMAND, SM_SERVED, SM_UNITS_DEMANDED, SM_UNMET};
    if test_gpu().is_none() {
        return;
    }
    let s = crate::util::baseline();
    let months = 3;
    let run = |ablate: Vec<Ablation>, fuse_persons: FusePersons| -> (Vec<Acc>, Host) {
        let cpu = Engine::new(small_pop().clone(), &s, s.seed, months).unwrap();
        let mut g = GpuEngine::from_engine(cpu, test_gpu().unwrap(), GpuOptions { ablate, fuse_persons, profile: true, ..Default::default() }).unwrap();
        let accs = (0..months).map(|_| g.step().unwrap()).collect();
        (accs, g.download().unwrap())
    };
    let total = |accs: &[Acc], m: usize| -> u64 { accs.iter().map(|a| a.total_at(m)).sum() };
    let svc = |service: u32, k: usize| SERVICE_BASE + service as usize * SERVICE_MEASURES + k;
    let all_services = |accs: &[Acc], k: usize| -> u64 { (0..policy_twin::codes::N_SERVICES as u32).map(|v| total(accs, svc(v, k))).sum() };
    let (model, model_state) = run(Vec::new(), FusePersons::None);
    let pop = total(&model, M::Population as usize);
    assert!(pop > 0 && all_services(&model, SM_SERVED) > 0 && all_services(&model, SM_UNMET) > 0, "the model's run serves some requests and leaves some unmet");
    let outside_services = |accs: &[Acc]| -> Vec<u64> { (0..N_MEASURES).filter(|&m| !(SERVICE_BASE..SERVICE_BASE + policy_twin::codes::N_SERVICES * SERVICE_MEASURES).contains(&m)).map(|m| total(accs, m)).collect() };
    // the apply pass's adds left out: nothing it counts is counted, and every person's and
    // household's state, and every measure outside the services, is the model's
    let (r, state) = run(vec![Ablation::ApplyAdds], FusePersons::None);
    assert_eq!(all_services(&r, SM_SERVED), 0, "ApplyAdds: served");
    assert!(state == model_state, "ApplyAdds changes no state");
    assert_eq!(outside_services(&r), outside_services(&model), "ApplyAdds: measures outside the services");
    // everything after the scan left out: nothing counted, and no wait is updated
    let (r, state) = run(vec![Ablation::ApplyScan], FusePersons::None);
    assert_eq!(all_services(&r, SM_SERVED), 0, "ApplyScan: served");
    assert!(state.persons.svc_wait != model_state.persons.svc_wait, "ApplyScan: the waits are not the model's");
    // the apply pass's hashing left out: hospital stays are the band's mean, not drawn, and
    // the keys (one multiply) still spread like the cut's, so about as many are served
    let hospital_units = svc(policy_twin::codes::S_HOSPITAL, SM_UNITS_DEMANDED);
    let (r, _) = run(vec![Ablation::ApplyHash], FusePersons::None);
    assert_ne!(total(&r, hospital_units), total(&model, hospital_units), "ApplyHash: hospital units");
    let gp_served = svc(policy_twin::codes::S_GP, SM_SERVED);
    let near = |x: u64, y: u64, tol: f64| (x as f64 - y as f64).abs() <= tol * y as f64;
    assert!(near(total(&r, gp_served), total(&model, gp_served), 0.1), "ApplyHash: GP served {} against {}", total(&r, gp_served), total(&model, gp_served));
    // the persons' accounting adds left out (in its own pass, and in the fused one): no
    // population counted, the households still are
    for fuse in [FusePersons::None, FusePersons::All] {
        let (r, _) = run(vec![Ablation::AccountingAdds], fuse);
        assert_eq!(total(&r, M::Population as usize), 0, "AccountingAdds ({fuse:?})");
        assert_eq!(total(&r, M::Households as usize), total(&model, M::Households as usize), "AccountingAdds ({fuse:?}): households");
    }
    // the first histogram left out: every queue within capacity, no request unmet (the
    // population's waits start at 0, so none leaves at the demand pass)
    let (r, _) = run(vec![Ablation::DemandHist], FusePersons::None);
    assert_eq!(all_services(&r, SM_UNMET), 0, "DemandHist");
    assert!(all_services(&r, SM_SERVED) > all_services(&model, SM_SERVED), "DemandHist serves everyone");
    // the household rules left out: other universal credit, the same population (in three
    // months nothing that follows from a household's benefits moves anyone)
    let (r, _) = run(vec![Ablation::HouseholdRules], FusePersons::None);
    let uc = M::Uc as usize;
    assert_ne!(total(&r, uc), total(&model, uc), "HouseholdRules: universal credit");
    assert_eq!(total(&r, M::Pc as usize), 0, "HouseholdRules: no pension credit");
    assert_eq!(total(&r, M::Population as usize), pop, "HouseholdRules: population");
    // the cheap hash: other draws, a population and demand near the model's
    let (r, _) = run(vec![Ablation::CheapHash], FusePersons::None);
    assert_ne!(r, model, "CheapHash changes the draws");
    assert!(near(total(&r, M::Population as usize), pop, 0.02), "CheapHash population {} against {pop}", total(&r, M::Population as usize));
    let gp = svc(policy_twin::codes::S_GP, SM_DEMAND);
    assert!(near(total(&r, gp), total(&model, gp), 0.25), "CheapHash GP demand {} against {}", total(&r, gp), total(&model, gp));
}

#[test]
fn faults_end_with_clear_errors() {
    // an adapter without a needed limit (the GL backend of llvmpipe has 16 storage buffers)
    let weak = gpu::AdapterSummary {
        name: "weak".into(),
        backend: "Gl".into(),
        device_type: "Cpu".into(),
        driver: String::new(),
        driver_info: String::new(),
        software: true,
        max_storage_buffer_binding_size: 1 << 27,
        max_buffer_size: 1 << 31,
        max_storage_buffers_per_shader_stage: 16,
        max_compute_workgroups_per_dimension: 65535,
        device_memory: None,
    };
    let e = gpu::check_limits(&weak).unwrap_err().to_string();
    assert!(e.contains("lacks a needed limit") && e.contains("max_storage_buffers_per_shader_stage is 16"), "{e}");
    // a shader that fails to compile is an error naming it, not a panic
    let Some(g) = test_gpu() else { return };
    let e = g.module_from_source("shaders/broken.wgsl", "fn main( {").unwrap_err().to_string();
    assert!(e.contains("shaders/broken.wgsl does not compile"), "{e}");
    // and the device still works afterwards
    gpu::selftest::run(&g, 1000, 64).unwrap();
}

#[test]
fn no_adapter_fails_for_gpu_and_falls_back_for_auto() {
    let d = tempfile::tempdir().unwrap();
    let pop = d.path().join("pop");
    crate::util::synth_into(&pop, 500, 2, 1);
    let run = |backend: &str, out: &str| {
        std::process::Command::new(crate::util::twin())
            .args(["run", "-q", "--years", "1", "--backend", backend, "--population", pop.to_str().unwrap(), "--out", out])
            .current_dir(d.path())
            .env("WGPU_BACKEND", "vulkan")
            .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
            .env("VK_DRIVER_FILES", "/nonexistent/icd.json")
            .output()
            .unwrap()
    };
    let o = run("gpu", "g");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "--backend gpu without an adapter must fail");
    assert!(err.contains("no GPU adapter found"), "{err}");
    assert!(!d.path().join("g/aggregates.parquet").exists());
    let o = run("auto", "a");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(d.path().join("a/aggregates.parquet").exists());
    let manifest = std::fs::read_to_string(d.path().join("a/manifest.json")).unwrap();
    assert!(manifest.contains("\"backend\": \"cpu\"") && manifest.contains("no hardware GPU adapter"), "{manifest}");
}

/// The binary on the GPU writes the same files, byte for byte, as on the CPU, with the
/// defaults and other options; its manifest records the GPU options that ran.
#[test]
fn gpu_and_cpu_runs_write_identical_files() {
    if test_gpu().is_none() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let pop = d.path().join("pop");
    crate::util::synth_into(&pop, 6_000, 5, 3);
    // the GPU's variants too, through the command line: the options of H200 runs 1-6
    let runs_1_to_6 = ["--workgroup-size", "64", "--gpu-fuse-persons", "none", "--gpu-services-list", "false", "--gpu-shader-checks", "checked"];
    // and the stages asked into the births' scatter with the births on the CPU: the manifest
    // records the fusion that ran (the stages' own pass)
    let births_on_cpu = ["--gpu-fuse-persons", "scatter", "--cpu-stages", "births"];
    // the households' passes fused and the persons' month in the births' scatter (the
    // fewest sweeps a month; the manifest says so), and asked with housing on the CPU (it
    // says they were not)
    let households = ["--gpu-fuse-households", "--gpu-fuse-persons", "scatter-all"];
    let households_off = ["--gpu-fuse-households", "--cpu-stages", "housing"];
    let variants: [(&str, &str, &[&str]); 6] =
        [("gpu", "g", &[]), ("cpu", "c", &[]), ("gpu", "v", &runs_1_to_6), ("gpu", "b", &births_on_cpu), ("gpu", "h", &households), ("gpu", "o", &households_off)];
    for (backend, out, extra) in variants {
        let mut args = vec!["run", "-q", "--backend", backend, "--years", "2", "--snapshot-every", "12", "--population", pop.to_str().unwrap(), "--out", out];
        args.extend_from_slice(extra);
        let (code, _, stderr) = crate::util::run_twin(&args, d.path());
        assert_eq!(code, 0, "{stderr}");
    }
    for f in ["aggregates.parquet", "snapshots.parquet"] {
        let c = std::fs::read(d.path().join("c").join(f)).unwrap();
        for out in ["g", "v", "b", "h", "o"] {
            assert!(std::fs::read(d.path().join(out).join(f)).unwrap() == c, "{f} differs between the GPU run `{out}` and --backend cpu");
        }
    }
    let manifest = std::fs::read_to_string(d.path().join("g/manifest.json")).unwrap();
    assert!(manifest.contains("\"backend\": \"gpu\"") && manifest.contains("\"gpu_shader_checks\": \"trusted\""), "{manifest}");
    assert!(manifest.contains("\"gpu_fuse_persons\": \"stages\"") && manifest.contains("\"gpu_services_list\": true") && manifest.contains("\"gpu_workgroup_size\": 256"), "{manifest}");
    let manifest = std::fs::read_to_string(d.path().join("v/manifest.json")).unwrap();
    assert!(manifest.contains("\"gpu_fuse_persons\": \"none\"") && manifest.contains("\"gpu_services_list\": false") && manifest.contains("\"gpu_shader_checks\": \"checked\""), "{manifest}");
    assert!(manifest.contains("\"gpu_workgroup_size\": 64"), "{manifest}");
    let manifest = std::fs::read_to_string(d.path().join("b/manifest.json")).unwrap();
    assert!(manifest.contains("\"gpu_fuse_persons\": \"stages\""), "{manifest}");
    let manifest = |out: &str| std::fs::read_to_string(d.path().join(out).join("manifest.json")).unwrap();
    assert!(manifest("g").contains("\"gpu_fuse_households\": false"), "{}", manifest("g"));
    assert!(manifest("h").contains("\"gpu_fuse_households\": true") && manifest("h").contains("\"gpu_fuse_persons\": \"scatter-all\""), "{}", manifest("h"));
    assert!(manifest("o").contains("\"gpu_fuse_households\": false"), "{}", manifest("o"));
}

/// `twin bench` on the GPU says where the host's time in the month loop went (recording,
/// submitting, waiting on the read-backs, outside the steps): the waits and submits counted
/// are the month's, inside the steps, and the steps inside the loop; and where the set-up went
/// (preparing, opening the device, compiling, uploading), within the set-up; the CPU row has
/// neither.
#[test]
fn bench_reports_where_the_hosts_time_went() {
    if test_gpu().is_none() {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let json = d.path().join("b.json");
    let args = ["bench", "-q", "--persons", "3000", "--months", "3", "--backend", "both", "--json", json.to_str().unwrap()];
    let (code, stdout, stderr) = crate::util::run_twin(&args, d.path());
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("the host's time a month"), "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let runs = v["runs"].as_array().unwrap();
    let cpu = runs.iter().find(|r| r["backend"] == "cpu").unwrap();
    assert!(cpu["gpu_host"].is_null(), "{cpu}");
    let gpu = runs.iter().find(|r| r["backend"] == "gpu").unwrap();
    let h = &gpu["gpu_host"];
    assert_eq!(h["steps"], 3, "{h}");
    // a month: three submissions and two read-backs (the births' chunk totals, the aggregates)
    assert_eq!(h["submits"], 9, "{h}");
    assert_eq!(h["read_backs"], 6, "{h}");
    let part = |k: &str| h[k].as_f64().unwrap_or_else(|| panic!("{k}: {h}"));
    let parts = ["recording_seconds", "submitting_seconds", "waiting_seconds", "outside_seconds"];
    assert!(parts.iter().all(|k| part(k) >= 0.0), "{h}");
    assert!(part("waiting_seconds") > 0.0 && part("recording_seconds") > 0.0 && part("submitting_seconds") > 0.0, "{h}");
    // measured, not derived: the waits and the submits within the steps, the steps within
    // the loop (a wait counted twice, or one outside a step, such as the upload's, fails here)
    let secs = gpu["seconds"].as_f64().unwrap();
    let in_step = part("in_step_seconds");
    assert!(part("waiting_seconds") + part("submitting_seconds") <= in_step, "{h}");
    assert!(in_step <= secs, "the steps {in_step} s against the loop's {secs} s: {h}");
    // and where the set-up went: each part measured, together within the set-up, the
    // shaders' compilation and the upload not nothing
    assert!(cpu["gpu_setup"].is_null(), "{cpu}");
    let t = &gpu["gpu_setup"];
    let part = |k: &str| t[k].as_f64().unwrap_or_else(|| panic!("{k}: {t}"));
    let parts = ["preparing_seconds", "opening_seconds", "compiling_seconds", "uploading_seconds", "other_seconds"];
    assert!(parts.iter().all(|k| part(k) >= 0.0), "{t}");
    assert!(part("compiling_seconds") > 0.0 && part("uploading_seconds") > 0.0 && part("opening_seconds") > 0.0, "{t}");
    let setup = gpu["setup_s"].as_f64().unwrap();
    let measured: f64 = parts[..4].iter().map(|k| part(k)).sum();
    assert!(measured <= setup, "the parts {measured} s against the set-up's {setup} s: {t}");
    assert!(stdout.contains("the set-up:"), "{stdout}");
}

/// `twin devices --shader-stats` builds every entry point the engine builds, from the SPIR-V
/// and pipeline layouts it makes itself, with the driver of the adapter the runs use, and
/// reports what each shader asks for. lavapipe does not offer
/// VK_KHR_pipeline_executable_properties, so here the pipelines are built without statistics
/// (a test hook); a driver that offers it must report some for every entry point.
#[test]
fn shader_statistics_build_every_entry_point() {
    let Some(g) = test_gpu() else { return };
    if g.adapter.backend != "Vulkan" {
        eprintln!("skipped: --shader-stats needs a Vulkan adapter, not {}", g.adapter.backend);
        return;
    }
    let run = |hook: bool| {
        let mut c = std::process::Command::new(crate::util::twin());
        c.args(["devices", "--shader-stats", "--json"]);
        if hook {
            c.env("POLICY_TWIN_TEST_SHADER_STATS_WITHOUT_EXTENSION", "1");
        }
        let out = c.output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (ok, stdout, stderr) = run(false);
    if ok {
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        for e in v["shader_stats"]["entries"].as_array().unwrap() {
            assert!(!e["statistics"].as_array().unwrap().is_empty(), "the driver offers the extension and reports nothing for {e}");
        }
    } else {
        assert!(stderr.contains("does not offer VK_KHR_pipeline_executable_properties"), "{stderr}");
    }
    let (ok, stdout, stderr) = run(true);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let entries = v["shader_stats"]["entries"].as_array().unwrap();
    // every entry point of a stage's own body, once (the engine's rule), and no other
    let mut want = Vec::new();
    for (stage, body) in gpu::wgsl::STAGES.iter().filter(|(s, _)| *s != "selftest") {
        for ep in &parse(stage, 256).entry_points {
            if gpu::wgsl::defines(body, &ep.name) && !want.contains(&ep.name) {
                want.push(ep.name.clone());
            }
        }
    }
    let got: Vec<String> = entries.iter().map(|e| e["entry_point"].as_str().unwrap().to_string()).collect();
    assert_eq!(got, want);
    let entry = |name: &str| entries.iter().find(|e| e["entry_point"] == name).unwrap();
    // what the shaders ask for: the persons' accounting's table (17 measures by cell, u32),
    // the households' (16), the scatter with the stages' 27 storage buffers
    let cells = policy_twin::measures::N_CELLS as u64;
    assert_eq!(entry("accounting")["workgroup_bytes"], 17 * cells * 4);
    assert_eq!(entry("person_month")["workgroup_bytes"], 17 * cells * 4);
    assert_eq!(entry("accounting_households")["workgroup_bytes"], 16 * cells * 4);
    assert_eq!(entry("births_scatter_stages")["storage_buffers"], 27);
    // and with the measures too, their table beside the scatter's slot words and scan
    assert_eq!(entry("births_scatter_month")["storage_buffers"], 29);
    assert_eq!(entry("births_scatter_month")["workgroup_bytes"], 17 * cells * 4 + 2 * 256 * 4 + 256 * 4);
    assert_eq!(entry("accounting")["workgroup_size"], 256);
    assert!(entry("demography")["sm90_resident"].is_null(), "an occupancy for sm_90 only on NVIDIA");
}
