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
    pub seconds: f64,
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

/// Run the baseline (`scenarios[0]`) and each reform.
pub fn run_all(pop: &Population, scenarios: &[Scenario], spec: &RunSpec, on_month: &mut OnMonth) -> Result<Vec<ScenarioRun>> {
    check_comparable(scenarios)?;
    let base = &scenarios[0];
    let months = base.months();
    let years = (months / 12) as usize;
    let want_dist = scenarios.len() > 1 && years > 0;
    let mut facts = HouseholdFacts::default();
    let n_h = pop.households.count();
    let mut base_income: Vec<Vec<u64>> = Vec::new();
    let mut out = Vec::with_capacity(scenarios.len());
    for (k, s) in scenarios.iter().enumerate() {
        let (mut sim, choice) = Simulation::open(pop.clone(), s, base.seed, months, spec.backend, spec.gpu.clone())?;
        if want_dist && k == 0 {
            // household facts from the baseline's prepared state (birth months drawn), before month 1
            let tables = sim.tables().clone();
            facts = sim.with_view(|v| Ok(HouseholdFacts::new(v.persons, v.households, &tables, base.start.0)))?;
        }
        let capacity = sim.capacities();
        let mut accs = Vec::with_capacity(months as usize);
        let mut income = vec![0u64; if want_dist { n_h } else { 0 }];
        let mut dist = Vec::new();
        let mut pm = 0u64;
        let t = std::time::Instant::now();
        while sim.done() < months {
            pm += sim.persons() as u64;
            accs.push(sim.step()?);
            let done = sim.done();
            if want_dist {
                for (acc, v) in income.iter_mut().zip(sim.net_income()?) {
                    *acc += v as u64;
                }
                if done % 12 == 0 {
                    let y = (done / 12 - 1) as usize;
                    let year = base.start.add(done - 12).0;
                    let finished = std::mem::replace(&mut income, vec![0u64; n_h]);
                    if k == 0 {
                        base_income.push(finished);
                    } else {
                        dist.extend(distribution::distribution(year, &facts, &base_income[y], &finished));
                    }
                }
            }
            on_month(k, &sim, done)?;
        }
        out.push(ScenarioRun { name: s.name.clone(), accs, choice, distribution: dist, person_months: pm, seconds: t.elapsed().as_secs_f64(), capacity });
    }
    Ok(out)
}
