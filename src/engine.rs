//! The simulation engine: owns the state, runs the stages of [`crate::stages::ORDER`] once a
//! month, and hands back the month's aggregates. Progress and snapshots go to callbacks; the
//! engine prints nothing.

use crate::cpu::{self, Ctx};
use crate::error::Result;
use crate::measures::Acc;
use crate::month::Month;
use crate::params::StepParams;
use crate::rng::{self, StepKeys, PERSISTENT_STEP};
use crate::scenario::Scenario;
use crate::stages::{Stage, ORDER};
use crate::state::*;
use crate::tables::Tables;

/// A running simulation of one scenario.
#[derive(Clone)]
pub struct Engine {
    pub persons: Persons,
    pub households: Households,
    pub pout: PersonOut,
    pub hout: HouseholdOut,
    pub tables: Tables,
    /// Parameters for every month of the run, resolved up front (bad values fail before the run).
    params: Vec<StepParams>,
    pub seed: u64,
    pub start: Month,
    /// Months completed.
    pub step: u32,
    /// Babies born so far in the run.
    pub born: u64,
    persistent: StepKeys,
    /// Wall seconds spent in each stage of [`ORDER`] so far (for `twin bench`'s profile); the
    /// fused labour + health + person policy pass is counted under `labour`.
    pub stage_seconds: Vec<f64>,
}

/// Borrowed state at the end of a month: what snapshots write and parity tests compare.
pub struct StateView<'a> {
    pub persons: &'a Persons,
    pub households: &'a Households,
    pub pout: &'a PersonOut,
    pub hout: &'a HouseholdOut,
    pub month: Month,
}

/// One stage on the CPU path (shared by [`Engine`] and the GPU engine's CPU-stage switch).
#[allow(clippy::too_many_arguments)]
pub fn run_cpu_stage(
    ctx: &Ctx,
    stage: Stage,
    persons: &mut Persons,
    households: &mut Households,
    pout: &mut PersonOut,
    hout: &mut HouseholdOut,
    born: &mut u64,
    acc: &mut Acc,
) {
    match stage {
        Stage::Demography => *acc = std::mem::take(acc).merge(&cpu::demography::demography(ctx, persons, households)),
        Stage::Births => {
            let n = cpu::births::births(ctx, persons, households);
            *born += n;
        }
        Stage::Labour => cpu::labour::labour(ctx, persons),
        Stage::Health => cpu::health::health(ctx, persons, households),
        Stage::PersonPolicy => cpu::person_policy::person_policy(ctx, persons, pout),
        Stage::HouseholdPolicy => cpu::household_policy::household_policy(ctx, persons, pout, households, hout),
        Stage::Housing => *acc = std::mem::take(acc).merge(&cpu::housing::housing(ctx, persons, households, hout)),
        Stage::Services => *acc = std::mem::take(acc).merge(&cpu::services::services(ctx, persons, households)),
        Stage::Accounting => *acc = std::mem::take(acc).merge(&cpu::accounting::accounting(persons, pout, households, hout, ctx.p.ta_cost)),
    }
}

/// Progress of a run, reported after each month.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    pub months_done: u32,
    pub months: u32,
    pub persons: usize,
    /// Person-months simulated so far.
    pub person_months: u64,
}

impl Engine {
    /// Prepare a run: build tables, resolve every month's parameters, give each person (read in
    /// completed years, `age_months = 12 * age`) a month of birth within the year: a persistent
    /// draw keyed by seed and person id.
    pub fn new(pop: Population, scenario: &Scenario, seed: u64, months: u32) -> Result<Engine> {
        let tables = Tables::build(scenario)?;
        let mut params = (0..months).map(|s| scenario.resolve(scenario.start.add(s), s)).collect::<Result<Vec<_>>>()?;
        let Population { mut persons, mut households } = pop;
        // capacities: per million residents -> units a month for each region's weighted
        // population at the start. The fraction of a unit carries into the next month
        // (month m gets floor(cumulative to m) - floor(cumulative to m-1)), so a small
        // sample's regions are not rounded down to no capacity at all.
        let mut residents = [0u64; 12];
        for &h in &persons.household {
            residents[region(households.info[h as usize]) as usize] += households.weight[h as usize] as u64;
        }
        let mut cum = [0u128; crate::codes::N_QUEUES];
        for p in params.iter_mut() {
            for q in 0..crate::codes::N_QUEUES {
                let before = cum[q] / 1_000_000;
                cum[q] += p.capacity[q] as u128 * residents[q % 12] as u128;
                p.capacity[q] = (cum[q] / 1_000_000 - before).min(u32::MAX as u128) as u32;
            }
        }
        households.init_housing();
        persons.svc_wait.resize(persons.len(), 0);
        let persistent = StepKeys::new(seed, PERSISTENT_STEP);
        for i in 0..persons.len() {
            let st = rng::stream(&persistent, persons.id_lo[i], persons.id_hi[i]);
            let offset = rng::draw(st, rng::Process::BirthMonth) % 12;
            persons.age_months[i] = (persons.age_months[i] + offset).min(MAX_AGE_MONTHS);
        }
        households.index_members(&persons.household);
        let n = persons.len();
        let mut pout = PersonOut::default();
        pout.resize(n);
        let mut hout = HouseholdOut::default();
        hout.resize(households.count());
        Ok(Engine {
            persons,
            households,
            pout,
            hout,
            tables,
            params,
            seed,
            start: scenario.start,
            step: 0,
            born: 0,
            stage_seconds: vec![0.0; ORDER.len()],
            persistent,
        })
    }

    pub fn months(&self) -> u32 {
        self.params.len() as u32
    }

    /// The month the next step simulates.
    pub fn month(&self) -> Month {
        self.start.add(self.step)
    }

    /// Simulate one month; returns its aggregates. The CPU path's month plan: labour, health
    /// and person policy run as one fused pass that also counts the persons' accounting
    /// measures (src/cpu/fused.rs), and the accounting stage then counts the households only.
    /// [`Engine::step_by_stage`] runs the stages one by one, as the GPU path does; the two give
    /// the same state and aggregates (tested).
    pub fn step(&mut self) -> Acc {
        // the plan below relies on this order
        const _: () = assert!(
            matches!(ORDER[2].stage, Stage::Labour) && matches!(ORDER[3].stage, Stage::Health) && matches!(ORDER[4].stage, Stage::PersonPolicy) && matches!(ORDER[8].stage, Stage::Accounting)
        );
        let mut acc = Acc::default();
        let p = self.params[self.step as usize];
        let ctx = Ctx { p: &p, t: &self.tables, keys: StepKeys::new(self.seed, self.step), persistent: self.persistent };
        for (k, info) in ORDER.iter().enumerate() {
            let t = std::time::Instant::now();
            match info.stage {
                Stage::Labour => acc = acc.merge(&cpu::fused::labour_health_policy(&ctx, &mut self.persons, &self.households, &mut self.pout)),
                Stage::Health | Stage::PersonPolicy => continue,
                Stage::Accounting => acc = acc.merge(&cpu::accounting::households(&self.persons, &self.households, &self.hout, ctx.p.ta_cost)),
                stage => run_cpu_stage(&ctx, stage, &mut self.persons, &mut self.households, &mut self.pout, &mut self.hout, &mut self.born, &mut acc),
            }
            self.stage_seconds[k] += t.elapsed().as_secs_f64();
        }
        self.step += 1;
        acc
    }

    /// Simulate one month running the stages of [`ORDER`] one by one (each stage's own CPU
    /// driver), the reference [`Engine::step`]'s fused plan is tested against.
    pub fn step_by_stage(&mut self) -> Acc {
        let mut acc = Acc::default();
        for info in ORDER.iter() {
            self.run_stage(info.stage, &mut acc);
        }
        self.step += 1;
        acc
    }

    /// Continue from a checkpoint's state (the tables and parameters are this engine's, built
    /// from the same scenario and population), read by `read` once this engine's own state is
    /// freed, so the two are never held together (a national checkpoint's state is 5.3 GB).
    pub fn restore(&mut self, read: impl FnOnce() -> Result<crate::checkpoint::EngineState>) -> Result<()> {
        let ids = std::mem::take(&mut self.households.id);
        (self.persons, self.households, self.pout, self.hout) = Default::default();
        let st = read()?;
        if st.households.id != ids {
            return Err(crate::Error::Config("the checkpoint's households are not this population's".into()));
        }
        if st.step > self.months() {
            return Err(crate::Error::Config(format!("the checkpoint is at month {}, beyond this run's {} months", st.step, self.months())));
        }
        self.persons = st.persons;
        self.households = st.households;
        self.pout = st.pout;
        self.hout = st.hout;
        self.step = st.step;
        self.born = st.born;
        Ok(())
    }

    /// Every month's parameters (capacities already in units per month).
    pub fn params(&self) -> &[StepParams] {
        &self.params
    }

    /// The parameters of the month being simulated.
    pub fn step_params(&self) -> &StepParams {
        &self.params[self.step as usize]
    }

    /// Keys for persistent per-person draws.
    pub fn persistent_keys(&self) -> StepKeys {
        self.persistent
    }

    /// Run one stage of the current month (the month advances in [`Engine::step`]); event
    /// and stock sums are added into `acc`.
    pub fn run_stage(&mut self, stage: Stage, acc: &mut Acc) {
        let p = self.params[self.step as usize];
        let ctx = Ctx { p: &p, t: &self.tables, keys: StepKeys::new(self.seed, self.step), persistent: self.persistent };
        run_cpu_stage(&ctx, stage, &mut self.persons, &mut self.households, &mut self.pout, &mut self.hout, &mut self.born, acc);
    }

    /// The state at the end of the last simulated month, for snapshots.
    pub fn view(&self) -> StateView<'_> {
        StateView { persons: &self.persons, households: &self.households, pout: &self.pout, hout: &self.hout, month: self.start.add(self.step.saturating_sub(1)) }
    }

    /// Split into its parts (the GPU engine takes them over).
    #[allow(clippy::type_complexity)]
    pub fn into_parts(self) -> (Persons, Households, PersonOut, HouseholdOut, Tables, Vec<StepParams>, u64, Month, u32, u64, StepKeys) {
        (self.persons, self.households, self.pout, self.hout, self.tables, self.params, self.seed, self.start, self.step, self.born, self.persistent)
    }

    /// Run every remaining month. `on_month` gets the engine after each month (for snapshots
    /// and progress) and may stop the run by returning an error.
    pub fn run(&mut self, mut on_month: impl FnMut(&Engine, &Acc, Progress) -> Result<()>) -> Result<Vec<Acc>> {
        let months = self.months();
        let mut out = Vec::with_capacity(months as usize);
        let mut person_months = 0u64;
        while self.step < months {
            person_months += self.persons.len() as u64;
            let acc = self.step();
            on_month(self, &acc, Progress { months_done: self.step, months, persons: self.persons.len(), person_months })?;
            out.push(acc);
        }
        Ok(out)
    }
}
