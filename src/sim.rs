//! One simulation, on either path: the CPU engine or the GPU engine behind one interface, so
//! the command line, benches and tests drive both the same way.

use crate::engine::{Engine, StateView};
use crate::error::Result;
pub use crate::gpu::engine::{GpuProfile, HostTimes, Programs, SetupTimes};
use crate::gpu::engine::{GpuEngine, GpuOptions, Host};
use crate::gpu::{AdapterSummary, Backend, Gpu};
use crate::measures::Acc;
use crate::month::Month;
use crate::scenario::Scenario;
use crate::state::Population;

#[allow(clippy::large_enum_variant)] // one a run, held for the run: its size does not matter
pub enum Simulation {
    Cpu(Engine),
    Gpu(Box<GpuEngine>),
}

/// What `open` chose, for printing and the manifest.
#[derive(Clone)]
pub struct Choice {
    pub backend: &'static str,
    pub adapter: Option<AdapterSummary>,
    /// Why `auto` fell back to the CPU path, if it did.
    pub fallback: Option<String>,
}

impl Simulation {
    /// Prepare a run on the backend asked for.
    pub fn open(pop: Population, scenario: &Scenario, seed: u64, months: u32, backend: Backend, opts: GpuOptions) -> Result<(Simulation, Choice)> {
        Simulation::open_from(pop, scenario, seed, months, backend, opts, None)
    }

    /// [`Simulation::open`], continuing from a checkpoint's engine state when one is given.
    pub fn open_from(pop: Population, scenario: &Scenario, seed: u64, months: u32, backend: Backend, opts: GpuOptions, from: Option<&crate::checkpoint::Checkpoint>) -> Result<(Simulation, Choice)> {
        Simulation::open_on(pop, scenario, seed, months, backend, opts, from, None)
    }

    /// [`Simulation::open_from`] on the device and pipelines an earlier run left
    /// ([`Simulation::into_programs`]), where there are any and the backend is not the CPU:
    /// no device is opened, and no pipeline built again unless the options it was built for
    /// changed. `twin run` passes them from one scenario to the next.
    #[allow(clippy::too_many_arguments)]
    pub fn open_on(pop: Population, scenario: &Scenario, seed: u64, months: u32, backend: Backend, opts: GpuOptions, from: Option<&crate::checkpoint::Checkpoint>, programs: Option<Programs>) -> Result<(Simulation, Choice)> {
        let t = std::time::Instant::now();
        let mut engine = Engine::new(pop, scenario, seed, months)?;
        if let Some(ck) = from {
            engine.restore(|| ck.read_state())?;
        }
        let preparing = t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        let programs = match programs.filter(|_| backend != Backend::Cpu) {
            Some(p) => p,
            None => {
                let (gpu, why) = Gpu::open(backend)?;
                let Some(gpu) = gpu else {
                    return Ok((Simulation::Cpu(engine), Choice { backend: "cpu", adapter: None, fallback: why }));
                };
                Programs::new(gpu)
            }
        };
        let opening = t.elapsed().as_secs_f64();
        let adapter = programs.gpu.adapter.clone();
        // `auto` keeps a copy to fall back to if the device cannot take the run
        let keep = (backend == Backend::Auto).then(|| engine.clone());
        match GpuEngine::from_programs(engine, programs, opts) {
            Ok(mut g) => {
                (g.setup.preparing, g.setup.opening) = (preparing, opening);
                Ok((Simulation::Gpu(Box::new(g)), Choice { backend: "gpu", adapter: Some(adapter), fallback: None }))
            }
            Err(e) => match keep {
                Some(cpu) => Ok((Simulation::Cpu(cpu), Choice { backend: "cpu", adapter: None, fallback: Some(format!("{e}; using the CPU path")) })),
                None => Err(e),
            },
        }
    }

    pub fn step(&mut self) -> Result<Acc> {
        match self {
            Simulation::Cpu(e) => Ok(e.step()),
            Simulation::Gpu(g) => g.step(),
        }
    }

    /// Babies born so far (the next new person id depends on it).
    pub fn born(&self) -> u64 {
        match self {
            Simulation::Cpu(e) => e.born,
            Simulation::Gpu(g) => g.born,
        }
    }

    /// Months completed.
    pub fn done(&self) -> u32 {
        match self {
            Simulation::Cpu(e) => e.step,
            Simulation::Gpu(g) => g.step,
        }
    }

    pub fn months(&self) -> u32 {
        match self {
            Simulation::Cpu(e) => e.months(),
            Simulation::Gpu(g) => g.months(),
        }
    }

    /// Seconds spent in each stage so far, by stage name (CPU path only).
    pub fn stage_seconds(&self) -> Option<Vec<(&'static str, f64)>> {
        match self {
            Simulation::Cpu(e) => Some(
                crate::stages::ORDER
                    .iter()
                    .map(|i| match i.name {
                        "labour" => "labour+health+person_policy+person accounting (fused)",
                        "accounting" => "accounting (households)",
                        n => n,
                    })
                    .zip(e.stage_seconds.iter().copied())
                    .filter(|(n, _)| *n != "health" && *n != "person_policy")
                    .collect(),
            ),
            Simulation::Gpu(_) => None,
        }
    }

    /// The GPU path's device profile; `None` on the CPU path or without `GpuOptions::profile`
    /// (or an adapter without timestamp queries).
    pub fn gpu_profile(&self) -> Option<GpuProfile> {
        match self {
            Simulation::Cpu(_) => None,
            Simulation::Gpu(g) => g.profile(),
        }
    }

    /// The device and pipelines of a GPU run, for the next run ([`Simulation::open_on`]);
    /// `None` on the CPU path.
    pub fn into_programs(self) -> Option<Programs> {
        match self {
            Simulation::Cpu(_) => None,
            Simulation::Gpu(g) => g.into_programs(),
        }
    }

    /// Where the GPU path's set-up went; `None` on the CPU path.
    pub fn gpu_setup_times(&self) -> Option<SetupTimes> {
        match self {
            Simulation::Cpu(_) => None,
            Simulation::Gpu(g) => Some(g.setup),
        }
    }

    /// Where the host's time in the GPU path's steps went; `None` on the CPU path.
    pub fn gpu_host_times(&self) -> Option<HostTimes> {
        match self {
            Simulation::Cpu(_) => None,
            Simulation::Gpu(g) => Some(g.host_times()),
        }
    }

    pub fn persons(&self) -> usize {
        match self {
            Simulation::Cpu(e) => e.persons.len(),
            Simulation::Gpu(g) => g.persons(),
        }
    }

    /// Every month's queue capacities, units per month (`service * 12 + region`).
    pub fn capacities(&self) -> Vec<[u32; crate::codes::N_QUEUES]> {
        match self {
            Simulation::Cpu(e) => e.params().iter().map(|p| p.capacity).collect(),
            Simulation::Gpu(g) => g.params().iter().map(|p| p.capacity).collect(),
        }
    }

    /// The run's rate tables.
    pub fn tables(&self) -> &crate::tables::Tables {
        match self {
            Simulation::Cpu(e) => &e.tables,
            Simulation::Gpu(g) => &g.tables,
        }
    }

    /// The distributional outputs sum each household's net income over each year: after a
    /// month, the CPU path adds each household's net income to `income` here, and the GPU path
    /// has added it on the device if the run was opened with [`GpuOptions::income`] (it reads
    /// the sums only at [`Simulation::sync_income`], where it read every household's net
    /// income every month: at national scale 115 MB a month, and the host's adds).
    pub fn add_income(&self, income: &mut [u64]) -> Result<()> {
        if let Simulation::Cpu(e) = self {
            use rayon::prelude::*;
            income.par_iter_mut().zip(&e.hout.net_income).with_min_len(1 << 14).for_each(|(acc, &v)| *acc += v as u64);
        }
        Ok(())
    }

    /// Bring the sums the device holds into `income` (and start the device's from zero): on
    /// the CPU path, nothing to do.
    pub fn sync_income(&mut self, income: &mut [u64]) -> Result<()> {
        if let Simulation::Gpu(g) = self {
            g.add_income_sums(income)?;
        }
        Ok(())
    }

    /// Run `f` on the state at the end of the last month (the GPU path reads it back).
    pub fn with_view<T>(&self, f: impl FnOnce(&StateView) -> Result<T>) -> Result<T> {
        match self {
            Simulation::Cpu(e) => f(&e.view()),
            Simulation::Gpu(g) => {
                let h: Host = g.download()?;
                let month: Month = g.start.add(g.step.saturating_sub(1));
                f(&h.view(month))
            }
        }
    }
}
