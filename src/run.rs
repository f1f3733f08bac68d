//! Running a baseline and its reforms with common random numbers (MODEL.md §4): the same
//! population, seed, start and horizon, one after another, so every random draw of a person is
//! the same in every scenario and the runs differ only where the policy makes them differ.
//! Collects each scenario's monthly aggregates and, for reforms, the distribution of gains and
//! losses against the baseline. Printing and files are the caller's.

use crate::distribution::{self, DistRow, HouseholdFacts};
use crate::error::{Error, Result};
use crate::gpu::engine::GpuOptions;
use crate::gpu::Backend;
use crate::measures::Acc;
use crate::scenario::Scenario;
use crate::sim::{Choice, Simulation};
use crate::state::Population;

pub struct RunSpec {
    pub backend: Backend,
    pub gpu: GpuOptions,
}

pub struct ScenarioRun {
    pub name: String,
    pub accs: Vec<Acc>,
    pub choice: Choice,
    /// Distribution rows against the baseline (empty for the baseline itself).
    pub distribution: Vec<DistRow>,
    /// Records simulated (unweighted person-months).
    pub person_months: u64,
    /// Seconds simulating: the run's wall time less `writing_seconds` (carried across a
    /// resume).
    pub seconds: f64,
    /// Seconds this process spent in the per-month callback (snapshots) and writing
    /// checkpoints while the scenario ran.
    pub writing_seconds: f64,
    /// Capacity of every queue (`service * 12 + region`), units per month, month by month.
    pub capacity: Vec<[u32; crate::codes::N_QUEUES]>,
}

/// After each month: (scenario index, the simulation, months done).
pub type OnMonth<'a> = dyn FnMut(usize, &Simulation, u32) -> Result<()> + 'a;

/// Check that reforms can be compared with the baseline: same start, horizon and seed.
pub fn check_comparable(scenarios: &[Scenario]) -> Result<()> {
    let base = &scenarios[0];
    for r in &scenarios[1..] {
        for (what, same) in [("start", r.start == base.start), ("years", r.years == base.years), ("seed", r.seed == base.seed)] {
            if !same {
                return Err(Error::scenario(&r.path, format!("scenario.{what}"), format!("differs from the baseline `{}`: a reform runs with the baseline's {what} (common random numbers)", base.name)));
            }
        }
        if r.name == base.name || scenarios.iter().filter(|s| s.name == r.name).count() > 1 {
            return Err(Error::scenario(&r.path, "scenario.name", format!("`{}` is used by another scenario of this run", r.name)));
        }
    }
    Ok(())
}

/// Checkpoints and interruption for [`run_all_with`].
#[derive(Default)]
pub struct Control<'a> {
    /// Write a checkpoint every this many months of each scenario.
    pub every: Option<u32>,
    /// The run's output directory (checkpoints go in its `checkpoint/`); needed for `every`
    /// and `stop`.
    pub out_dir: Option<std::path::PathBuf>,
    /// Set (by a signal handler) to stop at the end of the current month with a checkpoint.
    pub stop: Option<&'a std::sync::atomic::AtomicBool>,
    /// Continue from this checkpoint.
    pub resume: Option<crate::checkpoint::Checkpoint>,
    /// Kept in every checkpoint and given back on resume (the command line, input hashes).
    pub config: serde_json::Value,
    /// Called with the path of each checkpoint written.
    pub on_checkpoint: Option<OnCheckpoint<'a>>,
    /// A GPU device and its pipelines to run on, and where the run leaves them for the next
    /// (`twin run --replicates`: every replicate's scenarios on one device, its pipelines
    /// built once). Without it, the run's scenarios still share them among themselves.
    pub programs: Option<&'a mut Option<crate::sim::Programs>>,
    /// Called when a GPU failure under `auto` sends the scenario on on the CPU path, with the
    /// message also kept in its [`Choice::fallback`] (so that a long run says so when it
    /// happens, not only at its end).
    pub on_fallback: Option<OnFallback<'a>>,
}

/// Called with the fallback's message (`Control::on_fallback`).
pub type OnFallback<'a> = &'a mut dyn FnMut(&str);

/// Called with the path of each checkpoint written, and the month.
pub type OnCheckpoint<'a> = &'a mut dyn FnMut(&std::path::Path, u32) -> Result<()>;

/// Whether a run of these scenarios has distributional outputs (reforms against the
/// baseline over at least a whole year), for which each household's net income is summed
/// over each year (on the GPU path, on the device: `GpuOptions::income`).
pub fn wants_distribution(scenarios: &[Scenario]) -> bool {
    scenarios.len() > 1 && scenarios[0].months() >= 12
}

/// Run the baseline (`scenarios[0]`) and each reform.
pub fn run_all(pop: &Population, scenarios: &[Scenario], spec: &RunSpec, on_month: &mut OnMonth) -> Result<Vec<ScenarioRun>> {
    run_all_with(pop, scenarios, spec, on_month, Control::default())
}

/// [`run_all`] with checkpoints every `ctl.every` months, a clean stop when `ctl.stop` is set
/// (a checkpoint, then [`Error::Interrupted`]), and resumption from `ctl.resume`. A resumed run
/// gives outputs identical to an uninterrupted one, on either backend.
pub fn run_all_with(pop: &Population, scenarios: &[Scenario], spec: &RunSpec, on_month: &mut OnMonth, mut ctl: Control) -> Result<Vec<ScenarioRun>> {
    use crate::checkpoint::{Finished, Progress};
    check_comparable(scenarios)?;
    let base = &scenarios[0];
    let months = base.months();
    let want_dist = wants_distribution(scenarios);
    let n_h = pop.households.count();
    let mut out: Vec<ScenarioRun> = Vec::with_capacity(scenarios.len());
    let mut facts = HouseholdFacts::default();
    let mut base_income: Vec<Vec<u64>> = Vec::new();
    // each year's deciles of the baseline's income (`distribution::deciles`), from the first
    // reform that needs them (not in checkpoints: computed again after a resume)
    let mut ranked: Vec<Option<Vec<u8>>> = Vec::new();
    let mut first = 0;
    let mut resume = ctl.resume.take();
    let resumed_run = resume.is_some();
    if let Some(ck) = resume.as_mut() {
        let p = &mut ck.progress;
        if p.scenario >= scenarios.len() || p.finished.len() != p.scenario || p.finished.iter().zip(scenarios).any(|(f, s)| f.name != s.name) || (want_dist && p.facts.scale10.len() != n_h) {
            return Err(Error::Config("the checkpoint is not of this run (other scenarios or population)".into()));
        }
        for f in std::mem::take(&mut p.finished) {
            let backend = if f.backend == "gpu" { "gpu" } else { "cpu" };
            out.push(ScenarioRun {
                name: f.name,
                accs: f.accs,
                choice: Choice { backend, adapter: None, fallback: None },
                distribution: f.distribution,
                person_months: f.person_months,
                seconds: f.seconds,
                writing_seconds: 0.0,
                capacity: f.capacity,
            });
        }
        facts = std::mem::take(&mut p.facts);
        base_income = std::mem::take(&mut p.base_income);
        first = p.scenario;
    }
    let mut written = 0u32;
    let mut backend = spec.backend;
    let mut fallback: Option<String> = None;
    // the device and its pipelines, from one scenario's GPU run to the next: a reform's run
    // opens no device and builds no pipeline again (and from one run to the next, where the
    // caller keeps them)
    let mut own = None;
    let programs: &mut Option<crate::sim::Programs> = ctl.programs.take().unwrap_or(&mut own);
    for (k, s) in scenarios.iter().enumerate().skip(first) {
        let base_years = base_income.len();
        // a second attempt when the GPU fails under `auto`: on the CPU, from this scenario's
        // last checkpoint or from its start
        'attempt: loop {
            let from = resume.as_ref().filter(|ck| k == ck.progress.scenario);
            let resuming = from.is_some();
            // (with reforms, each household's net income summed on the device)
            let opts = GpuOptions { income: want_dist, ..spec.gpu.clone() };
            let (mut sim, mut choice) = Simulation::open_on(pop.par_clone(), s, base.seed, months, backend, opts, from, programs.take())?;
            if choice.fallback.is_none() {
                choice.fallback = fallback.clone();
            }
            // Under `auto`, a GPU failure (a lost device, out of memory) in the month or in what
            // reads the device around it (the household facts before month 1, the year's income
            // sums, a snapshot, a checkpoint's state and sums) goes on on the CPU path, from this
            // scenario's last checkpoint if there is one (results are identical); any other
            // error ends the run. (Only a checkpoint of
            // this run: one it wrote or resumed from, not one left in the directory by an
            // earlier run.)
            macro_rules! or_fall_back {
                ($result:expr, $month:expr) => {
                    match $result {
                        Ok(v) => v,
                        Err(Error::Gpu(why)) if spec.backend == Backend::Auto && matches!(sim, Simulation::Gpu(_)) => {
                            let ours = written > 0 || resumed_run;
                            let ck = ctl.out_dir.as_deref().filter(|_| ours).map(crate::checkpoint::path).map(|p| crate::checkpoint::load(&p)).transpose()?.filter(|ck| ck.progress.scenario == k && ck.progress.config.get("replicate") == ctl.config.get("replicate"));
                            let from = ck.as_ref().map(|c| c.step).unwrap_or(0);
                            let why = format!("the GPU failed in month {} ({why}); continued on the CPU path from month {from}", $month);
                            if let Some(f) = ctl.on_fallback.as_mut() {
                                f(&why);
                            }
                            fallback = Some(why);
                            backend = Backend::Cpu;
                            resume = ck;
                            match resume.as_mut() {
                                Some(ck) => base_income = std::mem::take(&mut ck.progress.base_income),
                                None => base_income.truncate(base_years),
                            }
                            // (the same incomes again: the deciles of the years kept stand)
                            ranked.truncate(base_income.len());
                            continue 'attempt;
                        }
                        Err(e) => return Err(e),
                    }
                };
            }
            if want_dist && k == 0 && !resuming {
                // household facts from the baseline's prepared state (birth months drawn), before month 1
                let tables = sim.tables().clone();
                facts = or_fall_back!(sim.with_view(|v| Ok(HouseholdFacts::new(v.persons, v.households, &tables, base.start.0))), sim.done() + 1);
            }
            let capacity = sim.capacities();
            let (mut accs, mut dist, mut pm, mut income, before) = match resume.as_mut().filter(|_| resuming) {
                Some(ck) => {
                    let p = &mut ck.progress;
                    (std::mem::take(&mut p.accs), std::mem::take(&mut p.distribution), p.person_months, std::mem::take(&mut p.income), p.seconds)
                }
                None => (Vec::with_capacity(months as usize), Vec::new(), 0u64, vec![0u64; if want_dist { n_h } else { 0 }], 0.0),
            };
            if accs.len() != sim.done() as usize || (want_dist && income.len() != n_h) {
                return Err(Error::Config("the checkpoint's aggregates do not match its month".into()));
            }
            let t = std::time::Instant::now();
            // time spent writing (snapshots, checkpoints), kept out of the simulating seconds
            let mut writing = 0.0f64;
            while sim.done() < months {
                pm += sim.persons() as u64;
                let month = sim.done() + 1;
                // the month, and at a year's end the device's income sums read: a GPU failure
                // in either goes on on the CPU path under `auto`
                let stepped = sim.step().and_then(|acc| {
                    if want_dist && sim.done() % 12 == 0 {
                        sim.sync_income(&mut income)?;
                    }
                    Ok(acc)
                });
                let acc = or_fall_back!(stepped, month);
                accs.push(acc);
                let done = sim.done();
                if want_dist {
                    sim.add_income(&mut income)?;
                    if done % 12 == 0 {
                        // (the GPU's sums were read with the step, above)
                        let y = (done / 12 - 1) as usize;
                        let year = base.start.add(done - 12).0;
                        if k == 0 {
                            base_income.push(std::mem::replace(&mut income, vec![0u64; n_h]));
                        } else {
                            // the baseline's deciles of the year, ranked once for all the reforms
                            ranked.resize(ranked.len().max(y + 1), None);
                            let deciles = ranked[y].get_or_insert_with(|| distribution::deciles(&facts, &base_income[y]));
                            dist.extend(distribution::distribution(year, &facts, deciles, &base_income[y], &income));
                            // (the year's sums set to zero in place: new memory would be
                            // faulted in page by page, 229 MB at national scale)
                            use rayon::prelude::*;
                            income.par_iter_mut().with_min_len(1 << 16).for_each(|x| *x = 0);
                        }
                    }
                }
                let t_write = std::time::Instant::now();
                or_fall_back!(on_month(k, &sim, done), done);
                writing += t_write.elapsed().as_secs_f64();
                let stop = ctl.stop.is_some_and(|f| f.load(std::sync::atomic::Ordering::SeqCst));
                let due = ctl.every.is_some_and(|e| done % e == 0);
                if stop || due {
                    if want_dist {
                        // the device's sums since the year began, into the checkpoint
                        or_fall_back!(sim.sync_income(&mut income), done);
                    }
                    let dir = ctl.out_dir.as_deref().ok_or_else(|| Error::Config("checkpoints need an output directory".into()))?;
                    let progress = Progress {
                        config: ctl.config.clone(),
                        finished: out
                            .iter()
                            .map(|r| Finished {
                                name: r.name.clone(),
                                backend: r.choice.backend.to_string(),
                                accs: r.accs.clone(),
                                distribution: r.distribution.clone(),
                                person_months: r.person_months,
                                seconds: r.seconds,
                                capacity: r.capacity.clone(),
                            })
                            .collect(),
                        scenario: k,
                        accs: std::mem::take(&mut accs),
                        distribution: std::mem::take(&mut dist),
                        person_months: pm,
                        seconds: before + t.elapsed().as_secs_f64() - writing,
                        income: std::mem::take(&mut income),
                        base_income: std::mem::take(&mut base_income),
                        facts: std::mem::take(&mut facts),
                    };
                    let t_write = std::time::Instant::now();
                    let saved = sim.with_view(|v| crate::checkpoint::save(dir, &progress, v, done, sim.born()));
                    writing += t_write.elapsed().as_secs_f64();
                    // take the vectors back whether or not the write succeeded
                    (accs, dist, income, base_income, facts) = (progress.accs, progress.distribution, progress.income, progress.base_income, progress.facts);
                    let path = or_fall_back!(saved, done);
                    written += 1;
                    if let Some(f) = ctl.on_checkpoint.as_mut() {
                        f(&path, written)?;
                    }
                    if stop {
                        return Err(Error::Interrupted { month: done, checkpoint: path });
                    }
                }
            }
            let seconds = before + t.elapsed().as_secs_f64() - writing;
            *programs = sim.into_programs();
            out.push(ScenarioRun { name: s.name.clone(), accs, choice, distribution: dist, person_months: pm, seconds, writing_seconds: writing, capacity });
            if fallback.as_deref().is_some_and(|f| f.starts_with("the GPU failed in month")) {
                fallback = Some(format!("the GPU failed during `{}`; this scenario ran on the CPU path", s.name));
            }
            break 'attempt;
        }
    }
    Ok(out)
}
