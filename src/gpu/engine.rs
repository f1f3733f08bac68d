//! The GPU engine: the month step of [`crate::stages::ORDER`] as WGSL compute passes, with
//! the per-person state resident on the device for the whole run. Each month reads back only
//! the chunk totals of the births prefix sum (two words a chunk) and the month's aggregates,
//! each copied at the end of the submission it follows (three submissions in a month with a
//! death or a birth, when no stage runs on the CPU and the buffers do not grow);
//! snapshots read the state back only when asked.
//!
//! Buffers: one per column (the same columns as `src/state.rs`), persons double-buffered for
//! the births stage. A population larger than one storage binding is processed in chunks:
//! ranges of whole households, bound as windows of every column (offsets aligned down to the
//! adapter's alignment, the shader skipping the difference). A chunk's households never change,
//! so after births its persons are exactly the output range of its own scatter, until a chunk
//! holds more than half a binding; then the chunks are planned again from the member counts. Buffers are
//! bound by the WGSL variable name: naga reports which globals each entry point uses.

use super::wgsl;
use super::Gpu;
use crate::engine::{run_cpu_stage, Engine, StateView};
use crate::cpu::Ctx;
use crate::error::{Error, Result};
use crate::codes::N_QUEUES;
use crate::cpu::services::{BINS, SEL_WORDS};
use crate::measures::{Acc, N_CELLS, N_MEASURES};
use crate::month::Month;
use crate::params::StepParams;
use crate::rng::StepKeys;
use crate::stages::{Stage, ORDER};
use crate::state::*;
use crate::tables::Tables;
use bytemuck::{Pod, Zeroable};
use std::collections::HashMap;
use std::num::NonZeroU64;
use std::time::Instant;

/// Keep in sync with `struct Dispatch` in shaders/common.wgsl (size checked in tests).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub struct Dispatch {
    pub n: u32,
    pub p_skip: u32,
    pub h_skip: u32,
    pub h_base: u32,
    pub p_base: u32,
    pub out_skip: u32,
    pub blk_skip: u32,
    pub chunk: u32,
    pub hpass: u32,
    /// Persons (households) one workgroup sums in the block-wise passes ([`sum_block`]).
    pub block: u32,
    /// Most workgroups in x of a dispatch (the adapter's limit, or `GpuOptions::max_groups_x`):
    /// dispatch arguments written on the device use it.
    pub groups_x: u32,
    /// Chunks of the population: the services' request lists count at `chunks + chunk`.
    pub chunks: u32,
    pub keys: [u32; 4],
    pub persistent: [u32; 4],
    /// Keys of this month's baby-id permutation (`rng::baby_keys`).
    pub baby_keys: [u32; 4],
    /// Births: global index of the bound output window's first person.
    pub out_base: u32,
    /// Services' apply: 1 when the households' measures were added before the services
    /// ([`GpuOptions::households_fused`]), so that a change of tenure corrects them.
    pub hh_delta: u32,
    pub _pad: [u32; 2],
}

const SLOT: u64 = 256;
/// Persons per block of the births prefix sum, one workgroup a block (`BLOCK` in the
/// shaders' generated prelude).
pub const BLOCK: u32 = 4096;
/// Persons (households) one workgroup sums in the passes that sum in workgroup memory first
/// (accounting, accounting_households, services_apply; 256 invocations a workgroup): about
/// `workgroups` of them (`GpuOptions::sum_workgroups`, by default 2,048: two waves of an H200's 132 multiprocessors at 8 workgroups each), each
/// a multiple of 256 persons, between 256 and 16,384. Larger blocks add each workgroup's table
/// to the replicas fewer times; smaller ones keep a small population's passes spread over
/// the device.
pub fn sum_block(n: u32, workgroups: u32) -> u32 {
    n.div_ceil(workgroups.max(1)).next_multiple_of(256).clamp(256, 16384)
}

/// The least bytes a month moves, as [`GpuEngine::min_bytes_per_person_step`] counts them: per
/// person (its state read and written, its outputs written: 84) and per household (its
/// columns read and written: 112).
pub fn min_bytes() -> (f64, f64) {
    ((PERSON_STATE.len() * 8 + PERSON_OUT.len() * 4) as f64, (HH_COLS.len() * 8) as f64)
}

/// The output column a shader global `out_<column>` names: the same buffer, bound at the
/// births' output window instead of the chunk's persons (`births_scatter_stages`).
fn out_alias(name: &str) -> Option<&'static str> {
    let col = name.strip_prefix("out_")?;
    PERSON_OUT.iter().find(|c| **c == col).copied()
}

/// Whether a shader global is a per-person column (the state, the births' copies of it, the
/// outputs, the scratch list, and the lists kept in spare copies) or a per-household one:
/// what a pass binding it would move if it streamed it (`examples/pass_columns.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnKind {
    Person,
    Household,
}

/// The kind of column the shader global `name` is, if it is one.
pub fn column_kind(name: &str) -> Option<ColumnKind> {
    let state = |n: &str| PERSON_STATE.contains(&n);
    if state(name) || name.strip_prefix("new_").is_some_and(state) || PERSON_OUT.contains(&name) || out_alias(name).is_some() || PERSON_SCRATCH.contains(&name) || SPARE_LISTS.iter().any(|l| l.0 == name) {
        Some(ColumnKind::Person)
    } else if HH_COLS.contains(&name) || INCOME.contains(&name) {
        Some(ColumnKind::Household)
    } else {
        None
    }
}

const PERSON_STATE: [&str; 8] = ["id_lo", "id_hi", "household", "age_months", "status", "earnings", "wealth", "svc_wait"];
const PERSON_OUT: [&str; 5] = ["income_tax", "ni", "state_pension", "disability", "care_tariff"];
/// Each household's net income summed on the device over the months between two reads
/// (low and high words; [`GpuEngine::accumulate_income`]): household columns, but only when
/// the run has distributional outputs.
const INCOME: [&str; 2] = ["income_lo", "income_hi"];
/// Per-person scratch on the device: the services' list of persons in the radix passes.
const PERSON_SCRATCH: [&str; 1] = ["svc_list"];
/// Lists that take no memory of their own, as (list, the column it is kept in): each is kept
/// in one of the births' spare copies of a person column, which hold nothing between one
/// month's births scatter and the next. The services' request list
/// (`GpuOptions::services_list`), and the radix pass 2's list of who took part, for pass 3
/// (services.wgsl `services_hist_list`).
const SPARE_LISTS: [(&str, &str); 2] = [("req_list", "new_svc_wait"), ("svc_list2", "new_wealth")];
const HH_COLS: [&str; 14] = [
    "hh_info",
    "hh_rent",
    "hh_weight",
    "hh_start",
    "hh_len",
    "universal_credit",
    "pension_credit",
    "child_benefit",
    "hicbc",
    "cap_reduction",
    "net_income",
    "hh_arrears",
    "hh_wait",
    "hh_prev_net",
];

/// Options of the GPU engine.
#[derive(Clone, Debug)]
pub struct GpuOptions {
    /// Invocations a workgroup (1-256; 256 by default since run 7: on the H200 the decade
    /// took 2.240 s against 2.304 s at 64, run 6).
    pub workgroup_size: u32,
    /// Target persons per chunk; by default as many as one storage binding holds.
    pub chunk_persons: Option<u32>,
    /// Stages to run on the CPU path instead (to narrow a divergence to one stage).
    pub cpu_stages: Vec<Stage>,
    /// Spare person capacity allocated up front, as a fraction.
    pub headroom: f64,
    /// Refuse a run whose device memory estimate ([`device_bytes`]) exceeds the adapter's
    /// memory (`twin run --no-memory-check` turns it off).
    pub check_memory: bool,
    /// Sum each household's net income on the device month by month (the distributional
    /// outputs of a run with reforms; [`GpuEngine::add_income_sums`]): two household
    /// columns more, in the memory estimate too.
    pub income: bool,
    /// Time every compute pass on the device with timestamp queries (`twin bench
    /// --gpu-profile`). Each submission then waits for its timings, so wall time grows; the
    /// outputs do not change. Ignored where the adapter has no timestamp queries.
    pub profile: bool,
    /// Workgroups the block-wise sums aim at ([`sum_block`]; tests set few, so that each
    /// workgroup goes round its block many times).
    pub sum_workgroups: u32,
    /// At most this many workgroups in x per dispatch, below the adapter's limit (tests set
    /// a small one, so that every pass runs on a 2D grid).
    pub max_groups_x: Option<u32>,
    /// How the person stages' passes are fused ([`FusePersons`]).
    pub fuse_persons: FusePersons,
    /// The services' demand pass lists the persons with a request this month, and the first
    /// radix pass and the apply pass read that list instead of every person (`twin bench
    /// --gpu-services-list`). The results are the same (tested). The default since run 7: on
    /// the H200 the decade took 2.153 s against 2.304 s over every person (run 6).
    pub services_list: bool,
    /// How wgpu compiles the shaders ([`super::ShaderChecks`]; `twin bench --gpu-shader-checks`).
    pub shader_checks: super::ShaderChecks,
    /// Plan the chunks again after a month's births when one holds more persons than this
    /// (at most, and by default, half of what one storage binding holds: a person leaves at
    /// most two in the births' output, so a chunk of half a binding still fits one after its
    /// births). Tests set a small one, so that the chunks are planned again.
    pub replan_above: Option<u32>,
    /// Work left out of the passes, to time what it costs on a device (`twin bench
    /// --gpu-ablate`). Not the model: a run with any of these gives wrong results, so only
    /// `twin bench --backend gpu` sets them. Empty by default.
    pub ablate: Vec<Ablation>,
    /// Household policy, housing and the households' measures as one pass (`household_month`,
    /// `twin bench --gpu-fuse-households`), the measures taken before the services and
    /// corrected where the services change a household's tenure. The results are the same
    /// (tested). Off by default until a GPU times it (not timed yet).
    pub fuse_households: bool,
}

/// A piece of work a timing run leaves out of the GPU passes ([`GpuOptions::ablate`]), so
/// that the profile's device time by pass, against the default's, says what the piece costs
/// (a device's profiler cannot read a Vulkan pass's counters). Each is compiled in as a
/// constant (`ABLATE` in the generated prelude): with none, the shaders are the model's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ablation {
    /// The services' apply pass adds none of its measures (its atomics).
    ApplyAdds,
    /// The services' apply pass takes the queue keys and lengths of stay without hashing
    /// (the key one multiply of the person's id words, the stay its band's mean).
    ApplyHash,
    /// The services' apply pass stops after finding whether a person has a request: the
    /// scan over every person alone.
    ApplyScan,
    /// The persons' accounting adds none of its measures (it still reads every column it
    /// reads, and folds them into one word, so the reads stay).
    AccountingAdds,
    /// The services' demand pass adds nothing to the first histogram (every queue is then
    /// within capacity, so the radix passes after it list no one).
    DemandHist,
    /// Every hash is one multiply and one xor-shift instead of `mix32`'s two multiplies and
    /// three xor-shifts: what hashing costs in each pass (the draws change, so the population
    /// drifts from the model's a little over a year).
    CheapHash,
    /// The household policy pass computes no benefit rules: each household's members are
    /// still read and summed, and a word folded from them written as its universal credit.
    HouseholdRules,
}

impl Ablation {
    /// The bit of the `ABLATE` constant (shaders/common.wgsl's `ABL_` constants).
    pub fn bit(self) -> u32 {
        1 << self as u32
    }
    /// Every ablation (clap's list of the values).
    pub fn all() -> &'static [Ablation] {
        <Ablation as clap::ValueEnum>::value_variants()
    }
}

/// The `ABLATE` constant for a set of ablations.
pub fn ablate_bits(a: &[Ablation]) -> u32 {
    a.iter().fold(0, |m, x| m | x.bit())
}

/// How the GPU runs labour, health, person policy and the persons' accounting. The results
/// do not depend on it (tested); the speed may. Ignored, for a step, when any of the four
/// stages runs on the CPU (`GpuOptions::cpu_stages`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FusePersons {
    /// Four passes, one per stage (the default in H200 runs 1-6).
    None,
    /// The three stages as one pass of an invocation a person (`person_stages_pass`), the
    /// accounting apart (the default since run 7: on the H200 the decade took 2.220 s
    /// against 2.304 s with four passes, run 6).
    #[default]
    Stages,
    /// All four as one pass in the accounting's blocks (`person_month`), as the CPU path's
    /// fused pass.
    All,
    /// The three stages in the births' scatter (`births_scatter_stages`), the accounting
    /// apart: one pass less over the persons, which reads and writes their state anyway (a
    /// month nobody died or was born in has no scatter, and runs `person_stages_pass`). Its
    /// entry point binds 27 storage buffers, so it needs an adapter with that many.
    Scatter,
    /// All four in the births' scatter (`births_scatter_month`): the scatter with the
    /// stages, adding each person's measures as it writes them (a month nobody died or was
    /// born in runs `person_month`). The fewest sweeps over the persons a month can make
    /// (benches/README.md, the month's dependencies). Binds 29 storage buffers.
    ScatterAll,
}

impl GpuOptions {
    /// The fusion of the person stages the engine runs: as asked, unless one of the four
    /// stages runs on the CPU (then none), or the births do where the scatter would run the
    /// stages (then the stages' own pass, or with the accounting `person_month`). What a
    /// run's manifest records.
    pub fn fusion(&self) -> FusePersons {
        let on_cpu = [Stage::Labour, Stage::Health, Stage::PersonPolicy, Stage::Accounting].iter().any(|s| self.cpu_stages.contains(s));
        if on_cpu {
            FusePersons::None
        } else if self.cpu_stages.contains(&Stage::Births) && self.fuse_persons == FusePersons::Scatter {
            FusePersons::Stages
        } else if self.cpu_stages.contains(&Stage::Births) && self.fuse_persons == FusePersons::ScatterAll {
            FusePersons::All
        } else {
            self.fuse_persons
        }
    }

    /// Whether the households' passes run fused ([`GpuOptions::fuse_households`]): as asked,
    /// unless one of the stages from household policy to the accounting runs on the CPU.
    /// What a run's manifest records.
    pub fn households_fused(&self) -> bool {
        self.fuse_households && ![Stage::HouseholdPolicy, Stage::Housing, Stage::Services, Stage::Accounting].iter().any(|s| self.cpu_stages.contains(s))
    }
}

impl Default for GpuOptions {
    fn default() -> Self {
        GpuOptions { workgroup_size: 256, chunk_persons: None, cpu_stages: Vec::new(), headroom: 0.05, check_memory: true, income: false, profile: false, sum_workgroups: 2048, max_groups_x: None, fuse_persons: FusePersons::Stages, services_list: true, shader_checks: super::ShaderChecks::Trusted, replan_above: None, ablate: Vec::new(), fuse_households: false }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Chunk {
    h0: u32,
    h1: u32,
    p0: u32,
    p1: u32,
}

struct Entry {
    pipeline: wgpu::ComputePipeline,
    /// (binding, variable name) of every global the entry point uses.
    bindings: Bindings,
}

/// How a dispatch's workgroups are counted.
#[derive(Clone, Copy)]
enum Launch {
    /// Enough workgroups for this many invocations.
    Invocations(u32),
    /// The (x, y, z) counts at this byte offset of `svc_args`, written on the device.
    Indirect(u64),
}

/// What a per-chunk dispatch runs over.
#[derive(Clone, Copy)]
enum Over {
    /// An invocation per person.
    Persons,
    /// An invocation per household.
    Households,
    /// A workgroup per block of [`sum_block`] persons.
    PersonBlocks,
    /// A workgroup per block of [`sum_block`] households.
    HouseholdBlocks,
    /// The services' list, its workgroup counts written on the device (`svc_args`).
    List,
    /// The services' request list (`GpuOptions::services_list`), the same way.
    RequestList,
}

/// Word ranges bound for one dispatch.
#[derive(Clone, Copy, Default)]
struct Windows {
    p: (u32, u32),
    h: (u32, u32),
    out: (u32, u32),
    blk: (u32, u32),
}

/// What a bind group binds: its entry point, and each binding's buffer (by identity), byte
/// offset and byte size.
#[derive(PartialEq, Eq, Hash)]
struct BindKey {
    ep: String,
    entries: Vec<(u32, wgpu::Buffer, u64, u64)>,
}

pub struct GpuEngine {
    pub gpu: Gpu,
    opts: GpuOptions,
    entries: HashMap<String, Entry>,
    bufs: HashMap<String, wgpu::Buffer>,
    cap_p: u32,
    n_p: u32,
    n_h: u32,
    chunks: Vec<Chunk>,
    uniform: wgpu::Buffer,
    uniform_slots: u32,
    slots: Vec<Dispatch>,
    /// Where the month's two read-backs (the births' chunk totals, the aggregates) are copied
    /// at the end of the work they follow, in the same submission.
    readback: wgpu::Buffer,
    pub tables: Tables,
    params: Vec<StepParams>,
    pub seed: u64,
    pub start: Month,
    pub step: u32,
    /// Babies born so far in the run.
    pub born: u64,
    persistent: StepKeys,
    align: u32,
    max_window: u32,
    /// Household ids stay on the host (only snapshots need them).
    hh_ids: Vec<u64>,
    prof: Option<Profiler>,
    /// Times the chunks were planned again after births.
    replans: u32,
    /// Where the host's time in [`GpuEngine::step`] went.
    host: HostTimes,
    /// The bind groups recorded in the last steps, by what they bind, with the step that last
    /// used each. A bind group is the same from month to month where its buffers and ranges
    /// are: the persons' columns are bound from their window's start to the end of the buffer
    /// (`GpuEngine::bound`), so a run of one chunk binds the same ranges every month, and the
    /// births' swap of the state columns alternates between two sets of bind groups. Kept for
    /// two steps after their last use, and dropped whenever a buffer is allocated again, so
    /// that no bind group keeps a replaced buffer's memory.
    bind_cache: HashMap<BindKey, (wgpu::BindGroup, u32)>,
    /// What the pipelines were built for, and the entry points left unbuilt (kept for
    /// [`GpuEngine::into_programs`]).
    built_for: (u32, u32, crate::gpu::ShaderChecks),
    wide: Vec<(String, String)>,
    /// Whether each month adds every household's net income to its running sum on the device
    /// (the `INCOME` columns; [`GpuEngine::accumulate_income`]).
    income: bool,
    /// Where the set-up's time went (compiling and uploading here; the rest set by
    /// [`crate::sim::Simulation::open`]).
    pub setup: SetupTimes,
}

/// The GPU path's set-up, in seconds (`twin bench` prints it; the national run's set-up on the
/// H200 took 5.4 s against 1.9 s for the decade's month loop, run 8).
#[derive(Clone, Copy, Debug, Default)]
pub struct SetupTimes {
    /// Building the CPU engine the GPU's takes over: tables, parameters, state packed.
    pub preparing: f64,
    /// Finding the adapter and opening the device.
    pub opening: f64,
    /// Compiling the shaders and building their pipelines.
    pub compiling: f64,
    /// Allocating the device buffers and copying the population to them.
    pub uploading: f64,
    /// Whether the pipelines were an earlier run's ([`GpuEngine::from_programs`]), so that
    /// `compiling` is only the check that they fit.
    pub pipelines_reused: bool,
}

/// The host's time in [`GpuEngine::step`], summed over the steps: always measured (a few
/// clock reads a month), in three parts.
/// - `waiting`: blocked until the device finished the work a read-back follows (the births'
///   chunk totals and the month's aggregates, and under `--gpu-profile` the timestamps). The
///   device works through it.
/// - `submitting`: inside `queue.submit` (wgpu's checks, then the driver's). A driver may
///   block there too: lavapipe's submit returned only once the submission before it had run
///   (measured here, 2026-11-30: the month's last submit took 28 ms at 200,000 persons,
///   about the births' scatter submitted just before it, and 0.08 ms when the host had waited
///   for the device first).
/// - the rest, [`HostTimes::recording`]: recording passes (bind groups included) and writing
///   the dispatch uniforms, and stages run on the CPU (`GpuOptions::cpu_stages`). The device
///   is idle through it whenever nothing submitted is left to run, as after each read-back,
///   so with the submit calls it bounds the device's idle time that the host causes within
///   a step.
#[derive(Clone, Copy, Debug, Default)]
pub struct HostTimes {
    /// Seconds inside `step`.
    pub in_step: f64,
    /// Seconds of them blocked on a read-back.
    pub waiting: f64,
    /// Seconds of them inside `queue.submit`.
    pub submitting: f64,
    /// Read-backs waited on.
    pub waits: u64,
    /// Submissions.
    pub submits: u64,
    /// Steps timed.
    pub steps: u64,
    /// Bind groups created while recording, and dispatches that reused one recorded before
    /// ([`GpuEngine`]'s cache of them).
    pub bind_groups_created: u64,
    pub bind_groups_reused: u64,
}

impl HostTimes {
    /// Seconds inside `step` neither blocked on a read-back nor submitting.
    pub fn recording(&self) -> f64 {
        (self.in_step - self.waiting - self.submitting).max(0.0)
    }
}

/// What `--gpu-profile` measured on the device (timestamp queries around every compute pass).
#[derive(Clone, Debug)]
pub struct GpuProfile {
    /// Device seconds and passes by entry point, in the order first run.
    pub passes: Vec<(String, f64, u64)>,
    /// Passes that found the query set full (not timed).
    pub untimed: u64,
    /// Seconds from each submission's first timed pass to its last, summed: the passes and
    /// the gaps between them on the device.
    pub span_seconds: f64,
    /// Submissions with a timed pass.
    pub submissions: u64,
    /// Device seconds in passes, month by month from the first month profiled: the months are
    /// not alike (waiting lists grow, so the services' passes have more requests to go
    /// through in later years), so a year's profile does not give a decade's device time.
    pub month_seconds: Vec<f64>,
    /// The least bytes a person-step must move ([`GpuEngine::min_bytes_per_person_step`]).
    pub min_bytes_per_person_step: f64,
}

/// Device time of each compute pass, from timestamps written at its start and end, summed by
/// entry point; and each submission's span, from its first timed pass's start to its last
/// one's end. The month's passes nearly all depend on the one before, so the passes' sum is
/// close to the device's busy time, and the span less the sum is the time between passes
/// (barriers, the buffer clears between passes, each pass's start); a device may overlap
/// passes that share no written buffer, which would make that difference smaller. The clears
/// before a submission's first pass, and the copies and query resolves after its last, fall
/// outside the span.
struct Profiler {
    qs: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    /// Nanoseconds per timestamp tick.
    period: f64,
    /// Entry points of the passes recorded since the last submission, in query order.
    pending: Vec<String>,
    /// (entry point, seconds, passes), in the order first seen.
    totals: Vec<(String, f64, u64)>,
    /// Passes that found the query set full (not timed).
    untimed: u64,
    /// Seconds from the first timed pass's start to the last one's end, summed over the
    /// submissions: the passes and the gaps between them, not the host's time between
    /// submissions.
    span: f64,
    /// Submissions with a timed pass.
    submissions: u64,
    /// Device seconds in passes by step, from the first step profiled.
    month_seconds: Vec<f64>,
    /// The first step profiled (an engine resumed from a checkpoint starts past 0).
    first_step: Option<u32>,
}

/// Passes timed per submission (two queries each).
const PROFILE_PASSES: u32 = wgpu::QUERY_SET_MAX_QUERIES / 2;

impl Profiler {
    fn new(gpu: &Gpu) -> Option<Profiler> {
        if !gpu.device.features().contains(wgpu::Features::TIMESTAMP_QUERY) {
            return None;
        }
        let qs = gpu.device.create_query_set(&wgpu::QuerySetDescriptor { label: Some("pass timestamps"), ty: wgpu::QueryType::Timestamp, count: 2 * PROFILE_PASSES });
        let resolve = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamps"),
            size: 2 * PROFILE_PASSES as u64 * 8,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        Some(Profiler { qs, resolve, period: gpu.queue.get_timestamp_period() as f64, pending: Vec::new(), totals: Vec::new(), untimed: 0, span: 0.0, submissions: 0, month_seconds: Vec::new(), first_step: None })
    }

    /// The query pair for the next pass, if the set has room.
    fn next(&mut self, ep: &str) -> Option<u32> {
        if self.pending.len() as u32 >= PROFILE_PASSES {
            self.untimed += 1;
            return None;
        }
        self.pending.push(ep.to_string());
        Some(self.pending.len() as u32 - 1)
    }

    /// Add the timestamps of the passes recorded since the last submission, in step `step`.
    fn add(&mut self, ticks: &[u32], step: u32) {
        let t = |i: usize| ticks[i * 2] as u64 | (ticks[i * 2 + 1] as u64) << 32;
        let n = self.pending.len();
        if n > 0 {
            let first = (0..n).map(|k| t(2 * k)).min().unwrap_or(0);
            let last = (0..n).map(|k| t(2 * k + 1)).max().unwrap_or(0);
            self.span += last.saturating_sub(first) as f64 * self.period * 1e-9;
            self.submissions += 1;
        }
        let m = (step - *self.first_step.get_or_insert(step)) as usize;
        if self.month_seconds.len() <= m {
            self.month_seconds.resize(m + 1, 0.0);
        }
        for (k, ep) in self.pending.drain(..).enumerate() {
            let secs = t(2 * k + 1).saturating_sub(t(2 * k)) as f64 * self.period * 1e-9;
            self.month_seconds[m] += secs;
            match self.totals.iter_mut().find(|e| e.0 == ep) {
                Some(e) => {
                    e.1 += secs;
                    e.2 += 1;
                }
                None => self.totals.push((ep, secs, 1)),
            }
        }
    }
}

/// The state downloaded from the device.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Host {
    pub persons: Persons,
    pub households: Households,
    pub pout: PersonOut,
    pub hout: HouseholdOut,
}

impl Host {
    pub fn view(&self, month: Month) -> StateView<'_> {
        StateView { persons: &self.persons, households: &self.households, pout: &self.pout, hout: &self.hout, month }
    }
}

/// (binding, variable name) of each global an entry point uses.
type Bindings = Vec<(u32, String)>;

fn reflect(src: &str) -> Result<Vec<(String, Bindings)>> {
    use wgpu::naga;
    let module = naga::front::wgsl::parse_str(src).map_err(|e| Error::Gpu(format!("shader does not parse: {}", e.emit_to_string(src))))?;
    let info = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all())
        .validate(&module)
        .map_err(|e| Error::Gpu(format!("shader does not validate: {e:?}")))?;
    let mut out = Vec::new();
    for (k, ep) in module.entry_points.iter().enumerate() {
        let fi = info.get_entry_point(k);
        let mut b = Vec::new();
        for (h, var) in module.global_variables.iter() {
            if let (Some(rb), Some(name)) = (&var.binding, &var.name) {
                if !fi[h].is_empty() {
                    b.push((rb.binding, name.clone()));
                }
            }
        }
        out.push((ep.name.clone(), b));
    }
    Ok(out)
}

/// Every entry point's pipeline (the files in parallel: [`build_stage`]), and those left
/// unbuilt for binding more buffers than the adapter allows.
fn build_pipelines(gpu: &Gpu, key: (u32, u32, crate::gpu::ShaderChecks)) -> Result<Built> {
    let (workgroup_size, ablate, checks) = key;
    // each shader file's module and pipelines on a thread of its own: the driver's
    // compilation of one pipeline does not wait for another's (the set-up's largest part
    // at small populations); merged in the files' order
    let stages: Vec<&(&str, &str)> = wgsl::STAGES.iter().filter(|(s, _)| *s != "selftest").collect();
    let built: Vec<Result<StageBuilt>> = std::thread::scope(|sc| {
        let handles: Vec<_> = stages.iter().map(|&&(stage, body)| sc.spawn(move || build_stage(gpu, stage, body, workgroup_size, ablate, checks))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(Error::Gpu("a thread building the shaders' pipelines panicked".into())))).collect()
    });
    let mut entries = HashMap::new();
    let mut wide = Vec::new();
    for b in built {
        let b = b?;
        for (ep, entry) in b.entries {
            entries.entry(ep).or_insert(entry);
        }
        wide.extend(b.wide);
    }
    gpu.check("building the pipelines")?;
    Ok(Built { key, entries, wide })
}

/// An open device, with the engine's pipelines once an engine has built them: what one run
/// leaves for the next ([`GpuEngine::into_programs`], [`GpuEngine::from_programs`]).
pub struct Programs {
    pub gpu: Gpu,
    built: Option<Built>,
}

/// Pipelines, with the workgroup size, ablation bits and shader checks they were built for.
struct Built {
    key: (u32, u32, crate::gpu::ShaderChecks),
    entries: HashMap<String, Entry>,
    wide: Vec<(String, String)>,
}

impl Programs {
    /// A device with nothing built yet.
    pub fn new(gpu: Gpu) -> Programs {
        Programs { gpu, built: None }
    }
}

/// One shader file's pipelines (an entry point it includes from another file is built by
/// that file), and the entry points left unbuilt for binding more buffers than the adapter
/// allows, with why.
struct StageBuilt {
    entries: Vec<(String, Entry)>,
    wide: Vec<(String, String)>,
}

/// Compile shader file `stage` and build the pipelines of the entry points it defines, a
/// thread each ([`build_pipelines`] builds the files in parallel). A pipeline's errors are
/// caught in its thread's error scopes, so that each names its own file and entry point.
fn build_stage(gpu: &Gpu, stage: &str, body: &str, workgroup_size: u32, ablate: u32, checks: crate::gpu::ShaderChecks) -> Result<StageBuilt> {
    let (max_storage, max_buffers) = (gpu.device.limits().max_storage_buffers_per_shader_stage, gpu.device.limits().max_buffers_and_acceleration_structures_per_shader_stage);
    let src = wgsl::source_with(stage, workgroup_size, ablate).expect("listed");
    let module = gpu.compile(&format!("shaders/{stage}.wgsl"), &src, checks)?;
    let mut out = StageBuilt { entries: Vec::new(), wide: Vec::new() };
    let mut build = Vec::new();
    for (ep, bindings) in reflect(&src).map_err(|e| Error::Gpu(format!("shaders/{stage}.wgsl: {e}")))? {
        if !wgsl::defines(body, &ep) {
            continue; // an entry point of a stage this one includes (wgsl::includes)
        }
        let storage = bindings.iter().filter(|(_, name)| name != "d").count() as u32;
        let all = bindings.len() as u32;
        if storage > max_storage || all > max_buffers {
            // left unbuilt: only an option that runs it needs it (checked by the caller)
            let why = if storage > max_storage { format!("binds {storage} storage buffers and adapter `{}` allows {max_storage}", gpu.adapter.name) } else { format!("binds {all} buffers and adapter `{}` allows {max_buffers}", gpu.adapter.name) };
            out.wide.push((ep, why));
            continue;
        }
        build.push((ep, bindings));
    }
    // each entry point's pipeline on a thread of its own too (a file has up to 9)
    let module = &module;
    let pipelines: Vec<Result<(String, Entry)>> = std::thread::scope(|sc| {
        let handles: Vec<_> = build
            .into_iter()
            .map(|(ep, bindings)| {
                sc.spawn(move || {
                    // (a driver's failure to compile is an internal error)
                    let internal = gpu.device.push_error_scope(wgpu::ErrorFilter::Internal);
                    let oom = gpu.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
                    let invalid = gpu.device.push_error_scope(wgpu::ErrorFilter::Validation);
                    let pipeline = gpu.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                        label: Some(&ep),
                        layout: None,
                        module,
                        entry_point: Some(&ep),
                        // (the defaults zero workgroup memory at each workgroup's start, which
                        // the shaders' workgroup sums and list counters rely on: keep it)
                        compilation_options: Default::default(),
                        cache: None,
                    });
                    let errors = [pollster::block_on(invalid.pop()), pollster::block_on(oom.pop()), pollster::block_on(internal.pop())];
                    match errors.into_iter().flatten().next() {
                        Some(e) => Err(Error::Gpu(format!("while building the pipeline of shaders/{stage}.wgsl `{ep}`: {e}"))),
                        None => Ok((ep, Entry { pipeline, bindings })),
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(Error::Gpu(format!("a thread building a pipeline of shaders/{stage}.wgsl panicked"))))).collect()
    });
    for p in pipelines {
        out.entries.push(p?);
    }
    Ok(out)
}

/// Device memory a run needs, in bytes: what [`GpuEngine`] allocates for `persons` and
/// `households` with `headroom` (room for births) — per person 8 state columns, their copies
/// the births stage writes, 5 outputs and the services' list (88 bytes); per household 14 columns (56 bytes); the
/// accumulators and histograms (32 copies each), the births blocks, a read-back buffer of
/// one person column, and 1 MiB for the rate tables, parameters, dispatch slots and the aggregates' read-back;
/// with `income` ([`GpuOptions::income`]) two household columns more (8 bytes).
pub fn device_bytes(persons: u64, households: u64, headroom: f64, income: bool) -> u64 {
    let cap = ((persons as f64 * (1.0 + headroom)).ceil() as u64).max(persons + 64);
    let person_words = (PERSON_STATE.len() * 2 + PERSON_OUT.len() + PERSON_SCRATCH.len()) as u64;
    let fixed_words = wgsl::ACC_COPIES as u64 * (N_CELLS * N_MEASURES * 2) as u64 + wgsl::ACC_COPIES as u64 * (N_QUEUES * BINS * 2) as u64;
    let blocks = cap.div_ceil(BLOCK as u64) * 2 * 2;
    let hh_cols = (HH_COLS.len() + if income { INCOME.len() } else { 0 }) as u64;
    4 * (cap * person_words + (households + 64) * hh_cols + fixed_words + blocks + cap) + (1 << 20)
}

impl GpuEngine {
    /// Take over a prepared CPU engine (tables, parameters, birth months already set) and put
    /// its state on the device.
    pub fn from_engine(engine: Engine, gpu: Gpu, opts: GpuOptions) -> Result<GpuEngine> {
        Self::from_programs(engine, Programs::new(gpu), opts)
    }

    /// [`GpuEngine::from_engine`] on a device whose pipelines an earlier engine may have built
    /// ([`GpuEngine::into_programs`]): they are used again where they were built with the
    /// same workgroup size, ablations and shader checks, and built otherwise. `twin run`
    /// passes them from one scenario to the next, so that a reform's run opens no device and
    /// compiles no shader.
    pub fn from_programs(engine: Engine, programs: Programs, opts: GpuOptions) -> Result<GpuEngine> {
        let Programs { gpu, built } = programs;
        let (persons, households, pout, hout, tables, params, seed, start, step, born, persistent) = engine.into_parts();
        let align = (gpu.limits.min_storage_buffer_offset_alignment / 4).max(1);
        let binding_words = gpu.limits.max_storage_buffer_binding_size / 4;
        let max_window = (binding_words.min(u32::MAX as u64) as u32).saturating_sub(align);
        let n_p = persons.len() as u32;
        let n_h = households.count() as u32;
        if n_h > max_window {
            return Err(Error::Gpu(format!("{n_h} households do not fit one storage binding of {} words on `{}`", max_window, gpu.adapter.name)));
        }
        let cap_p = ((n_p as f64 * (1.0 + opts.headroom)).ceil() as u32).max(n_p + 64);
        // refuse a population the device cannot hold, before allocating any of it
        if let Some(mem) = gpu.adapter.device_memory.filter(|_| opts.check_memory) {
            let need = device_bytes(n_p as u64, n_h as u64, opts.headroom, opts.income);
            if need > mem {
                return Err(Error::Gpu(format!(
                    "out of device memory: this run needs about {} on the device ({n_p} persons x {} bytes, {n_h} households x {} bytes, and buffers) and `{}` has {}: use --backend cpu, or a smaller population (--no-memory-check tries anyway)",
                    crate::memory::human(need),
                    4 * (PERSON_STATE.len() * 2 + PERSON_OUT.len() + PERSON_SCRATCH.len()),
                    4 * (HH_COLS.len() + if opts.income { INCOME.len() } else { 0 }),
                    gpu.adapter.name,
                    crate::memory::human(mem)
                )));
            }
        }
        let t_compile = Instant::now();
        let ablate = ablate_bits(&opts.ablate);
        let key = (opts.workgroup_size, ablate, opts.shader_checks);
        let (reused, Built { entries, wide, .. }) = match built.filter(|b| b.key == key) {
            Some(b) => (true, b),
            None => (false, build_pipelines(&gpu, key)?),
        };
        // an entry point left unbuilt is an error when this run can use it: an option's own
        // entry point where the option is on, any other always
        for (ep, why) in &wide {
            let (on, option, instead) = match ep.as_str() {
                "births_scatter_stages" => (opts.fusion() == FusePersons::Scatter, "--gpu-fuse-persons scatter", "use --gpu-fuse-persons stages"),
                "births_scatter_month" => (opts.fusion() == FusePersons::ScatterAll, "--gpu-fuse-persons scatter-all", "use --gpu-fuse-persons all"),
                "household_month" => (opts.households_fused(), "--gpu-fuse-households", "leave it off"),
                _ => return Err(Error::Gpu(format!("`{ep}` {why} a shader stage: this adapter cannot run the GPU path"))),
            };
            if on {
                return Err(Error::Gpu(format!("{option}: `{ep}` {why} a shader stage: {instead}")));
            }
        }
        let mut e = GpuEngine {
            uniform: gpu.device.create_buffer(&wgpu::BufferDescriptor { label: Some("dispatch"), size: SLOT, usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST, mapped_at_creation: false }),
            readback: gpu.staging(4),
            gpu,
            opts,
            entries,
            bufs: HashMap::new(),
            cap_p,
            n_p,
            n_h,
            chunks: Vec::new(),
            uniform_slots: 1,
            slots: Vec::new(),
            tables,
            params,
            seed,
            start,
            step,
            born,
            persistent,
            align,
            max_window,
            hh_ids: Vec::new(),
            prof: None,
            replans: 0,
            host: HostTimes::default(),
            bind_cache: HashMap::new(),
            setup: SetupTimes::default(),
            built_for: key,
            wide,
            income: false,
        };
        if e.opts.profile {
            e.prof = Profiler::new(&e.gpu);
        }
        e.setup.compiling = t_compile.elapsed().as_secs_f64();
        e.setup.pipelines_reused = reused;
        let t_upload = Instant::now();
        e.upload(&Host { persons, households, pout, hout })?;
        if e.opts.income {
            e.accumulate_income()?;
        }
        e.setup.uploading = t_upload.elapsed().as_secs_f64();
        Ok(e)
    }

    /// The device and the pipelines, for the next run on it ([`GpuEngine::from_programs`]);
    /// this run's buffers are freed (waited for, so that the next run's allocations find the
    /// memory free).
    /// `None` if the device reported an error not yet seen (the next run then opens a device
    /// of its own, rather than failing on this run's error).
    pub fn into_programs(self) -> Option<Programs> {
        let GpuEngine { gpu, entries, built_for, wide, .. } = self;
        let _ = gpu.device.poll(wgpu::PollType::Wait { submission_index: None, timeout: None });
        gpu.check("finishing a run").ok()?;
        Some(Programs { gpu, built: Some(Built { key: built_for, entries, wide }) })
    }

    /// Bytes of every buffer the engine holds on the device now (checked against
    /// [`device_bytes`] in the tests).
    pub fn allocated_bytes(&self) -> u64 {
        self.bufs.values().map(|b| b.size()).sum::<u64>() + self.uniform.size() + self.readback.size()
    }

    /// Persons a chunk is planned to hold: at most two fifths of one binding, so that by
    /// default a chunk can grow by a quarter before it is planned again
    /// ([`GpuEngine::replan_above`]).
    fn target_chunk(&self) -> u32 {
        // (at least 1: `clamp` panics on an upper bound below its lower one)
        let hard = (self.max_window / 5 * 2).max(1);
        self.opts.chunk_persons.map_or(hard, |c| c.clamp(1, hard))
    }

    /// Chunks are planned again after births when one holds more persons than this.
    fn replan_above(&self) -> u32 {
        let half = (self.max_window / 2).max(1);
        self.opts.replan_above.map_or(half, |r| r.clamp(1, half))
    }

    /// Times the chunks were planned again after births.
    pub fn replans(&self) -> u32 {
        self.replans
    }

    /// Household-aligned chunks of about `target` persons.
    fn plan(lens: &[u32], target: u32) -> Vec<Chunk> {
        let mut out = Vec::new();
        let (mut h0, mut p0, mut p) = (0u32, 0u32, 0u32);
        for (h, &l) in lens.iter().enumerate() {
            if p > p0 && p - p0 + l > target {
                out.push(Chunk { h0, h1: h as u32, p0, p1: p });
                h0 = h as u32;
                p0 = p;
            }
            p += l;
        }
        out.push(Chunk { h0, h1: lens.len() as u32, p0, p1: p });
        out
    }

    fn storage(&self, label: &str, words: u64) -> Result<wgpu::Buffer> {
        let bytes = words.max(1) * 4;
        if bytes > self.gpu.limits.max_buffer_size {
            return Err(Error::Gpu(format!("buffer `{label}` of {bytes} bytes exceeds the adapter's max_buffer_size {}", self.gpu.limits.max_buffer_size)));
        }
        let b = self.gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.gpu.check(&format!("allocating `{label}` ({bytes} bytes; out of device memory?)"))?;
        Ok(b)
    }

    /// Let the queue's staging copy of what was just written go before the next column is
    /// written, so that an upload holds one column's staging at a time. (Writing every column
    /// before one submission held the whole population twice: on an H200, 13,136 MiB during
    /// the national upload against 8,051 MiB while running.)
    fn settle(&self, doing: &str) -> Result<()> {
        self.gpu.queue.submit([]);
        self.gpu.wait(doing)
    }

    /// Write a column to a new buffer, unless every value is zero: a new buffer is zero
    /// already (wgpu clears a buffer on the device before its first use), so the staging copy
    /// and the transfer are skipped for the columns a run starts with at zero: at the start of
    /// a run on a synthetic population, 16 of the 27 (the outputs, the waits, the arrears and
    /// the previous month's incomes, and the ids' high words).
    fn write_column(&self, b: &wgpu::Buffer, col: &[u32], doing: &str) -> Result<()> {
        use rayon::prelude::*;
        if col.par_chunks(1 << 16).all(|c| c.iter().all(|&x| x == 0)) {
            return Ok(());
        }
        self.gpu.queue.write_buffer(b, 0, bytemuck::cast_slice(col));
        self.settle(doing)
    }

    /// Put a whole host state on the device (replacing what is there) and plan the chunks.
    fn upload(&mut self, h: &Host) -> Result<()> {
        self.bind_cache.clear();
        self.n_p = h.persons.len() as u32;
        self.n_h = h.households.count() as u32;
        self.cap_p = self.cap_p.max(self.n_p + 64);
        let cap = self.cap_p as u64;
        let mut bufs = HashMap::new();
        let pcols: [&Vec<u32>; 8] = [&h.persons.id_lo, &h.persons.id_hi, &h.persons.household, &h.persons.age_months, &h.persons.status, &h.persons.earnings, &h.persons.wealth, &h.persons.svc_wait];
        for (name, col) in PERSON_STATE.iter().zip(pcols) {
            let b = self.storage(name, cap)?;
            self.write_column(&b, col, "uploading the persons")?;
            bufs.insert(name.to_string(), b);
            bufs.insert(format!("new_{name}"), self.storage(&format!("new_{name}"), cap)?);
        }
        let ocols: [&Vec<u32>; 5] = [&h.pout.income_tax, &h.pout.ni, &h.pout.state_pension, &h.pout.disability, &h.pout.care_tariff];
        for (name, col) in PERSON_OUT.iter().zip(ocols) {
            let b = self.storage(name, cap)?;
            if col.len() == h.persons.len() {
                self.write_column(&b, col, "uploading the persons' outputs")?;
            }
            bufs.insert(name.to_string(), b);
        }
        for name in PERSON_SCRATCH {
            bufs.insert(name.to_string(), self.storage(name, cap)?);
        }
        let hh = &h.households;
        let hcols: [&Vec<u32>; 14] = [
            &hh.info,
            &hh.rent,
            &hh.weight,
            &hh.start,
            &hh.len,
            &h.hout.universal_credit,
            &h.hout.pension_credit,
            &h.hout.child_benefit,
            &h.hout.hicbc,
            &h.hout.cap_reduction,
            &h.hout.net_income,
            &hh.arrears,
            &hh.wait,
            &hh.prev_net,
        ];
        for (name, col) in HH_COLS.iter().zip(hcols) {
            let b = self.storage(name, self.n_h as u64 + self.align as u64)?;
            if col.len() == hh.count() {
                self.write_column(&b, col, "uploading the households")?;
            }
            bufs.insert(name.to_string(), b);
        }
        // buffers that outlive an upload (the CPU-stage switch uploads mid-month): the
        // accumulator keeps the month's GPU sums, the parameters stay written
        for name in ["tables", "params", "acc", "totals", "blocks", "qhist", "qsel", "svc_count", "svc_len", "svc_args", INCOME[0], INCOME[1]] {
            if let Some(b) = self.bufs.remove(name) {
                bufs.insert(name.to_string(), b);
            }
        }
        if !bufs.contains_key("tables") {
            bufs.insert("tables".into(), self.gpu.buffer_from("tables", &self.tables.words, wgpu::BufferUsages::empty()));
            bufs.insert("params".into(), self.storage("params", (std::mem::size_of::<StepParams>() / 4) as u64)?);
            bufs.insert("acc".into(), self.storage("acc", wgsl::ACC_COPIES as u64 * (N_CELLS * N_MEASURES * 2) as u64)?);
            bufs.insert("totals".into(), self.storage("totals", 2)?);
            bufs.insert("blocks".into(), self.storage("blocks", 2)?);
            bufs.insert("qhist".into(), self.storage("qhist", wgsl::ACC_COPIES as u64 * (N_QUEUES * BINS * 2) as u64)?);
            bufs.insert("qsel".into(), self.storage("qsel", (N_QUEUES * SEL_WORDS) as u64)?);
            bufs.insert("svc_count".into(), self.storage("svc_count", 1)?);
            bufs.insert("svc_len".into(), self.storage("svc_len", 1)?);
        }
        self.bufs = bufs;
        self.hh_ids = hh.id.clone();
        self.chunks = Self::plan(&hh.len, self.target_chunk());
        self.ensure_chunk_buffers()?;
        self.gpu.wait("uploading the population")
    }

    /// Size the per-chunk buffers (births blocks and totals; the services' list lengths and
    /// indirect dispatch arguments) and the dispatch slots.
    fn ensure_chunk_buffers(&mut self) -> Result<()> {
        let blocks: u64 = self.chunks.iter().map(|c| ((c.p1 - c.p0).div_ceil(BLOCK) as u64 * 2).next_multiple_of(self.align as u64)).sum::<u64>() + self.align as u64;
        if self.bufs["blocks"].size() < blocks * 4 {
            let b = self.storage("blocks", blocks * 2)?;
            self.bufs.insert("blocks".into(), b);
            self.bind_cache.clear();
        }
        let totals = 2 * self.chunks.len() as u64;
        if self.bufs["totals"].size() < totals * 4 {
            let b = self.storage("totals", totals * 2)?;
            self.bufs.insert("totals".into(), b);
            self.bind_cache.clear();
        }
        // two lists a chunk: the cut list (at the chunk's index), the request list (after them)
        let counts = 2 * self.chunks.len() as u64;
        for name in ["svc_count", "svc_len"] {
            if self.bufs[name].size() < counts * 4 {
                let b = self.storage(name, counts * 2)?;
                self.bufs.insert(name.into(), b);
                self.bind_cache.clear();
            }
        }
        if self.bufs.get("svc_args").is_none_or(|b| b.size() < counts * 12) {
            let b = self.gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("svc_args"),
                size: counts * 2 * 12,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::INDIRECT,
                mapped_at_creation: false,
            });
            self.gpu.check("allocating `svc_args`")?;
            self.bufs.insert("svc_args".into(), b);
            self.bind_cache.clear();
        }
        let readback = (2 * self.chunks.len()).max(N_CELLS * N_MEASURES * 2) as u64 * 4;
        if self.readback.size() < readback {
            self.readback = self.gpu.staging(readback);
        }
        let slots = 24 * self.chunks.len() as u32 + 32;
        if slots > self.uniform_slots {
            self.uniform = self.gpu.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("dispatch"),
                size: slots as u64 * SLOT,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            self.uniform_slots = slots;
            self.bind_cache.clear();
        }
        Ok(())
    }

    /// (aligned start, length, skip) of a word range.
    fn window(&self, lo: u32, hi: u32) -> (u32, u32, u32) {
        let a = lo - lo % self.align;
        (a, (hi - a).max(1), lo - a)
    }

    /// The buffer a shader global is bound to, with the byte offset and size of its range.
    /// A person column's range (and an output window's, a spare list's and the births'
    /// blocks') runs from the window's start to the end of the buffer, or as far as one
    /// binding may reach: the passes index only what their dispatch's counts (`d.n`, the
    /// skips) say is theirs, so the range need only hold it, and a range that does not follow
    /// the month's count is the same from month to month (the bind-group cache).
    fn bound<'a>(&'a self, name: &str, slot: u32, w: &Windows) -> (&'a wgpu::Buffer, u64, u64) {
        if name == "d" {
            return (&self.uniform, slot as u64 * SLOT, std::mem::size_of::<Dispatch>() as u64);
        }
        let to_end = |buf: &'a wgpu::Buffer, (lo, len): (u32, u32)| {
            let words = (buf.size() / 4).saturating_sub(lo as u64).min(self.max_window as u64).max(len as u64);
            (buf, lo as u64 * 4, words * 4)
        };
        if let Some((_, spare)) = SPARE_LISTS.iter().find(|(list, _)| *list == name) {
            // the births' spare copy of a person column: free from the births scatter to the
            // next month's, and bound as the chunk's persons here
            return to_end(&self.bufs[*spare], w.p);
        }
        if let Some(col) = out_alias(name) {
            // births_scatter_stages writes the outputs at its output slots
            return to_end(&self.bufs[col], w.out);
        }
        // the demography pass's atomic view of the births' block counts
        let buf = &self.bufs[if name == "block_events" { "blocks" } else { name }];
        if name.starts_with("new_") {
            to_end(buf, w.out)
        } else if PERSON_STATE.contains(&name) || PERSON_OUT.contains(&name) || PERSON_SCRATCH.contains(&name) {
            to_end(buf, w.p)
        } else if name == "blocks" || name == "block_events" {
            to_end(buf, w.blk)
        } else if HH_COLS.contains(&name) || INCOME.contains(&name) {
            (buf, w.h.0 as u64 * 4, w.h.1 as u64 * 4)
        } else {
            (buf, 0, buf.size())
        }
    }

    /// The bind group of a dispatch: the one recorded before with the same buffers and
    /// ranges, or a new one (`bind_cache`).
    fn bind_group(&mut self, ep: &str, slot: u32, w: &Windows) -> wgpu::BindGroup {
        let entry = &self.entries[ep];
        let entries: Vec<(u32, wgpu::Buffer, u64, u64)> = entry
            .bindings
            .iter()
            .map(|(b, name)| {
                let (buf, offset, size) = self.bound(name, slot, w);
                (*b, buf.clone(), offset, size)
            })
            .collect();
        let key = BindKey { ep: ep.to_string(), entries };
        if let Some((bg, used)) = self.bind_cache.get_mut(&key) {
            *used = self.step;
            self.host.bind_groups_reused += 1;
            return bg.clone();
        }
        let resources: Vec<wgpu::BindGroupEntry> = key
            .entries
            .iter()
            .map(|(b, buf, offset, size)| wgpu::BindGroupEntry {
                binding: *b,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding { buffer: buf, offset: *offset, size: NonZeroU64::new(*size) }),
            })
            .collect();
        let bg = self.gpu.device.create_bind_group(&wgpu::BindGroupDescriptor { label: Some(ep), layout: &entry.pipeline.get_bind_group_layout(0), entries: &resources });
        self.host.bind_groups_created += 1;
        self.bind_cache.insert(key, (bg.clone(), self.step));
        bg
    }

    /// Record one dispatch of an entry point over `n` invocations.
    fn dispatch(&mut self, enc: &mut wgpu::CommandEncoder, ep: &str, d: Dispatch, w: Windows, n_invocations: u32) {
        self.launch(enc, ep, d, w, Launch::Invocations(n_invocations));
    }

    /// Record one dispatch, its workgroup counts given directly or read on the device.
    fn launch(&mut self, enc: &mut wgpu::CommandEncoder, ep: &str, d: Dispatch, w: Windows, how: Launch) {
        let slot = self.slots.len() as u32;
        self.slots.push(d);
        let timed = self.prof.as_mut().and_then(|p| p.next(ep));
        let bg = self.bind_group(ep, slot, &w);
        let entry = &self.entries[ep];
        let timestamp_writes = match (&self.prof, timed) {
            (Some(p), Some(k)) => Some(wgpu::ComputePassTimestampWrites { query_set: &p.qs, beginning_of_pass_write_index: Some(2 * k), end_of_pass_write_index: Some(2 * k + 1) }),
            _ => None,
        };
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some(ep), timestamp_writes });
        pass.set_pipeline(&entry.pipeline);
        pass.set_bind_group(0, &bg, &[]);
        match how {
            Launch::Invocations(n) => {
                let (x, y) = self.gpu.groups_within(n, self.opts.workgroup_size, self.groups_x());
                pass.dispatch_workgroups(x, y, 1);
            }
            Launch::Indirect(offset) => pass.dispatch_workgroups_indirect(&self.bufs["svc_args"], offset),
        }
    }

    fn submit(&mut self, mut enc: wgpu::CommandEncoder, doing: &str) -> Result<()> {
        let timed = self.prof.as_ref().map_or(0, |p| p.pending.len() as u32);
        if let (Some(p), true) = (&self.prof, timed > 0) {
            enc.resolve_query_set(&p.qs, 0..2 * timed, &p.resolve, 0);
        }
        assert!(self.slots.len() as u32 <= self.uniform_slots, "dispatch slots");
        let mut bytes = vec![0u8; self.slots.len() * SLOT as usize];
        for (k, s) in self.slots.iter().enumerate() {
            bytes[k * SLOT as usize..k * SLOT as usize + std::mem::size_of::<Dispatch>()].copy_from_slice(bytemuck::bytes_of(s));
        }
        if !bytes.is_empty() {
            self.gpu.queue.write_buffer(&self.uniform, 0, &bytes);
        }
        self.slots.clear();
        let cmd = enc.finish();
        let t = Instant::now();
        self.gpu.queue.submit([cmd]);
        self.host.submitting += t.elapsed().as_secs_f64();
        self.host.submits += 1;
        self.gpu.check(doing)?;
        if timed > 0 {
            let p = self.prof.as_ref().expect("profiling");
            let t = Instant::now();
            let ticks = self.gpu.read(&p.resolve, 0, 4 * timed as usize);
            self.waited(t);
            let step = self.step;
            self.prof.as_mut().expect("profiling").add(&ticks?, step);
        }
        Ok(())
    }

    /// Submit `enc` with a copy of `name`'s first `words` at its end, and read them back.
    fn submit_read(&mut self, mut enc: wgpu::CommandEncoder, doing: &str, name: &str, words: usize) -> Result<Vec<u32>> {
        enc.copy_buffer_to_buffer(&self.bufs[name], 0, &self.readback, 0, words as u64 * 4);
        self.submit(enc, doing)?;
        let t = Instant::now();
        let out = self.gpu.map_read(&self.readback, words);
        self.waited(t);
        out
    }

    /// A read-back's wait, begun at `t`, in the host's times.
    fn waited(&mut self, t: Instant) {
        self.host.waiting += t.elapsed().as_secs_f64();
        self.host.waits += 1;
    }

    /// Where the host's time in [`GpuEngine::step`] went, so far.
    pub fn host_times(&self) -> HostTimes {
        self.host
    }

    /// What the device profile measured so far: device seconds and passes by entry point,
    /// the passes left untimed, and each submission's span (`None` unless profiling was asked
    /// for and the adapter has timestamp queries).
    pub fn profile(&self) -> Option<GpuProfile> {
        self.prof.as_ref().map(|p| GpuProfile {
            passes: p.totals.clone(),
            untimed: p.untimed,
            span_seconds: p.span,
            submissions: p.submissions,
            month_seconds: p.month_seconds.clone(),
            min_bytes_per_person_step: self.min_bytes_per_person_step(),
        })
    }

    /// Bytes per person-step the month step must move at the least, by this count: each
    /// person's 8 state words read and written (64 bytes) and 5 outputs written (20), each
    /// household's 14 words read and written (112 bytes), spread over its members.
    pub fn min_bytes_per_person_step(&self) -> f64 {
        let (p, h) = min_bytes();
        p + h * self.n_h as f64 / (self.n_p.max(1) as f64)
    }

    fn base_dispatch(&self, keys: StepKeys) -> Dispatch {
        let hh_delta = self.opts.households_fused() as u32;
        Dispatch { keys: keys.0, persistent: self.persistent.0, groups_x: self.groups_x(), chunks: self.chunks.len() as u32, hh_delta, ..Default::default() }
    }

    /// Most workgroups in x of one dispatch.
    fn groups_x(&self) -> u32 {
        let limit = self.gpu.limits.max_compute_workgroups_per_dimension.max(1);
        self.opts.max_groups_x.map_or(limit, |m| m.clamp(1, limit))
    }

    /// Windows and dispatch fields for a chunk's persons and households.
    fn chunk_windows(&self, c: &Chunk, d: &mut Dispatch) -> Windows {
        let (pa, plen, pskip) = self.window(c.p0, c.p1);
        let (ha, hlen, hskip) = self.window(c.h0, c.h1);
        d.p_skip = pskip;
        d.p_base = pa;
        d.h_skip = hskip;
        d.h_base = ha;
        Windows { p: (pa, plen), h: (ha, hlen), ..Default::default() }
    }

    fn per_person(&mut self, enc: &mut wgpu::CommandEncoder, ep: &str, keys: StepKeys) {
        self.per_person_pass(enc, ep, keys, 0);
    }

    fn per_person_pass(&mut self, enc: &mut wgpu::CommandEncoder, ep: &str, keys: StepKeys, pass: u32) {
        self.per_chunk(enc, ep, keys, pass, Over::Persons);
    }

    /// One dispatch of an entry point per chunk, over the chunk's persons or households.
    /// (Each chunk's births blocks are bound too, for a pass that binds them: demography.)
    fn per_chunk(&mut self, enc: &mut wgpu::CommandEncoder, ep: &str, keys: StepKeys, pass: u32, over: Over) {
        let blk = self.block_windows();
        for (k, c) in self.chunks.clone().into_iter().enumerate() {
            let mut d = self.base_dispatch(keys);
            d.hpass = pass;
            d.chunk = k as u32;
            let mut w = self.chunk_windows(&c, &mut d);
            w.blk = blk[k];
            d.n = match over {
                Over::Households | Over::HouseholdBlocks => c.h1 - c.h0,
                Over::Persons | Over::PersonBlocks | Over::List | Over::RequestList => c.p1 - c.p0,
            };
            let how = match over {
                Over::Persons | Over::Households => Launch::Invocations(d.n),
                Over::PersonBlocks | Over::HouseholdBlocks => {
                    // workgroups of 256 whatever the option: count workgroups, not invocations
                    d.block = sum_block(d.n, self.opts.sum_workgroups);
                    Launch::Invocations(d.n.div_ceil(d.block) * self.opts.workgroup_size)
                }
                Over::List => Launch::Indirect(12 * k as u64),
                Over::RequestList => Launch::Indirect(12 * (self.chunks.len() + k) as u64),
            };
            self.launch(enc, ep, d, w, how);
        }
    }

    fn encoder(&self) -> wgpu::CommandEncoder {
        self.gpu.device.create_command_encoder(&Default::default())
    }

    /// Simulate one month; returns its aggregates.
    pub fn step(&mut self) -> Result<Acc> {
        let t = Instant::now();
        let out = self.step_month();
        self.host.in_step += t.elapsed().as_secs_f64();
        self.host.steps += 1;
        out
    }

    fn step_month(&mut self) -> Result<Acc> {
        if self.step as usize >= self.params.len() {
            return Err(Error::Config("no months left to simulate".into()));
        }
        if let Some(fault) = injected_fault(self.step) {
            return Err(Error::Gpu(fault));
        }
        let p = self.params[self.step as usize];
        if let Some(prof) = &mut self.prof {
            prof.pending.clear(); // passes of an encoder an error dropped never ran
        }
        // bind groups unused for two steps (the births' swap alternates two sets) go
        let step = self.step;
        self.bind_cache.retain(|_, (_, used)| *used + 2 >= step);
        self.ensure_chunk_buffers()?;
        self.gpu.queue.write_buffer(&self.bufs["params"], 0, bytemuck::bytes_of(&p));
        let keys = StepKeys::new(self.seed, self.step);
        let mut acc = Acc::default();
        let mut gpu_acc = false;
        let fusion = self.fusion();
        // whether the births' scatter ran the person stages (FusePersons::Scatter, ScatterAll)
        let mut staged = false;
        let mut enc = self.encoder();
        enc.clear_buffer(&self.bufs["acc"], 0, None);
        for info in ORDER.iter() {
            let stage = info.stage;
            if self.opts.cpu_stages.contains(&stage) {
                self.submit(enc, &format!("month {} before the CPU stage {}", self.month(), info.name))?;
                self.cpu_stage(stage, &p, keys, &mut acc)?;
                enc = self.encoder();
                continue;
            }
            match stage {
                Stage::Demography => {
                    gpu_acc = true;
                    self.demography(&mut enc, keys);
                }
                Stage::Births => {
                    let scatter = match fusion {
                        FusePersons::Scatter => "births_scatter_stages",
                        FusePersons::ScatterAll => "births_scatter_month",
                        _ => "births_scatter",
                    };
                    // (the scatter with the accounting adds to the month's sums)
                    gpu_acc |= fusion == FusePersons::ScatterAll;
                    // the demography pass counted the blocks' slots, unless it ran on the CPU
                    let counted = !self.opts.cpu_stages.contains(&Stage::Demography);
                    staged = self.births(keys, enc, scatter, counted)? && scatter != "births_scatter";
                    enc = self.encoder();
                }
                Stage::Labour if fusion == FusePersons::Scatter => {
                    if !staged {
                        // no scatter this month (nobody died or was born): the stages' own pass
                        self.per_person(&mut enc, "person_stages_pass", keys);
                    }
                }
                Stage::Labour if fusion == FusePersons::ScatterAll => {
                    if !staged {
                        // no scatter this month: the stages and the accounting in their blocks
                        self.per_chunk(&mut enc, "person_month", keys, 0, Over::PersonBlocks);
                    }
                }
                Stage::Labour if fusion == FusePersons::All => {
                    gpu_acc = true;
                    self.per_chunk(&mut enc, "person_month", keys, 0, Over::PersonBlocks);
                }
                Stage::Labour if fusion == FusePersons::Stages => self.per_person(&mut enc, "person_stages_pass", keys),
                Stage::Health | Stage::PersonPolicy if fusion != FusePersons::None => {}
                Stage::Labour => self.per_person(&mut enc, "labour", keys),
                Stage::Health => self.per_person(&mut enc, "health", keys),
                Stage::PersonPolicy => self.per_person(&mut enc, "person_policy", keys),
                Stage::HouseholdPolicy if self.opts.households_fused() => {
                    gpu_acc = true;
                    self.per_chunk(&mut enc, "household_month", keys, 0, Over::HouseholdBlocks);
                }
                Stage::Housing if self.opts.households_fused() => {}
                Stage::HouseholdPolicy | Stage::Housing => {
                    gpu_acc |= stage == Stage::Housing;
                    self.per_chunk(&mut enc, info.name, keys, 0, Over::Households);
                }
                Stage::Services => {
                    // demand + priority histograms, then the radix select: 4 key-byte passes,
                    // each followed by the per-queue select, then apply (src/cpu/services.rs)
                    gpu_acc = true;
                    enc.clear_buffer(&self.bufs["qhist"], 0, None);
                    enc.clear_buffer(&self.bufs["qsel"], 0, None);
                    let listing = self.opts.services_list;
                    let nc = self.chunks.len() as u32;
                    if listing {
                        // demand lists the persons with a request (counts after the chunks')
                        enc.clear_buffer(&self.bufs["svc_count"], 0, None);
                        self.per_person_pass(&mut enc, "services_demand_listing", keys, 0);
                        for k in 0..nc {
                            let d = Dispatch { n: 1, chunk: nc + k, ..self.base_dispatch(keys) };
                            self.dispatch(&mut enc, "services_list_args", d, Windows::default(), 1);
                        }
                    } else {
                        self.per_person_pass(&mut enc, "services_demand", keys, 0);
                    }
                    for pass in 0..=4u32 {
                        if pass == 1 {
                            // the first radix pass also lists who takes part; 2-4 read lists
                            enc.clear_buffer(&self.bufs["qhist"], 0, None);
                            enc.clear_buffer(&self.bufs["svc_count"], 0, Some(4 * nc as u64));
                            if listing {
                                self.per_chunk(&mut enc, "services_hist_requests", keys, pass, Over::RequestList);
                            } else {
                                self.per_person_pass(&mut enc, "services_hist", keys, pass);
                            }
                        } else if pass > 1 {
                            // each chunk's list length (what the pass before listed) as a plain
                            // word, and the workgroup counts of the list pass (launching a
                            // workgroup for every person of the chunk: passes 2-4 took 2.9 ms a
                            // month on the H200 at national scale, 1.65 ms dispatched from the
                            // length, all three over the first pass's list); passes 2 and 3
                            // list who took part again, counted from zero
                            for k in 0..nc {
                                let d = Dispatch { n: 1, chunk: k, ..self.base_dispatch(keys) };
                                self.dispatch(&mut enc, "services_list_args", d, Windows::default(), 1);
                            }
                            if pass < 4 {
                                enc.clear_buffer(&self.bufs["svc_count"], 0, Some(4 * nc as u64));
                            }
                            enc.clear_buffer(&self.bufs["qhist"], 0, None);
                            self.per_chunk(&mut enc, "services_hist_list", keys, pass, Over::List);
                        }
                        // a workgroup of BINS invocations per queue, whatever the option (its
                        // bins summed in 16 segments of 16)
                        const _: () = assert!(BINS == 16 * 16, "services_cut: BINS = SEG * SEG");
                        let d = Dispatch { n: N_QUEUES as u32, hpass: pass, ..self.base_dispatch(keys) };
                        self.dispatch(&mut enc, "services_cut", d, Windows::default(), N_QUEUES as u32 * self.opts.workgroup_size);
                    }
                    let apply = if listing { "services_apply_requests" } else { "services_apply" };
                    self.per_chunk(&mut enc, apply, keys, 0, Over::PersonBlocks);
                }
                Stage::Accounting => {
                    gpu_acc = true;
                    if !matches!(fusion, FusePersons::All | FusePersons::ScatterAll) {
                        self.per_chunk(&mut enc, "accounting", keys, 0, Over::PersonBlocks);
                    }
                    if !self.opts.households_fused() {
                        self.per_chunk(&mut enc, "accounting_households", keys, 0, Over::HouseholdBlocks);
                    }
                }
            }
        }
        if self.income {
            // the month's net incomes into the running sums (the last stage that sets them
            // has run: household policy, on the device or the host)
            self.per_chunk(&mut enc, "income_add", keys, 0, Over::Households);
        }
        if gpu_acc {
            let d = Dispatch { n: (N_CELLS * N_MEASURES) as u32, ..self.base_dispatch(keys) };
            self.dispatch(&mut enc, "acc_reduce", d, Windows::default(), d.n);
        }
        if gpu_acc {
            let words = self.submit_read(enc, &format!("month {}", self.month()), "acc", N_CELLS * N_MEASURES * 2)?;
            let gpu = Acc(words.chunks(2).map(|w| w[0] as u64 | (w[1] as u64) << 32).collect());
            acc = acc.merge(&gpu);
            // the service measures the passes do not add per request (as the CPU's services),
            // and the persons' counts the accounting does not add
            crate::measures::derive_service_measures(&mut acc, &crate::cpu::services::unit_costs(&p));
            crate::measures::derive_person_counts(&mut acc);
        } else {
            self.submit(enc, &format!("month {}", self.month()))?;
        }
        self.step += 1;
        Ok(acc)
    }

    /// Each chunk's window of the births' block counts (two words a block of [`BLOCK`]
    /// persons), each starting on an aligned word.
    fn block_windows(&self) -> Vec<(u32, u32)> {
        let mut blk = Vec::with_capacity(self.chunks.len());
        let mut at = 0u32;
        for c in &self.chunks {
            let words = (c.p1 - c.p0).div_ceil(BLOCK) * 2;
            blk.push((at, words.max(1)));
            at += words.next_multiple_of(self.align);
        }
        blk
    }

    /// The demography pass, an invocation a person, which also counts each births block's
    /// deaths and births (`block_events`, the `blocks` buffer cleared first), so that the
    /// births stage needs no count pass of its own.
    fn demography(&mut self, enc: &mut wgpu::CommandEncoder, keys: StepKeys) {
        enc.clear_buffer(&self.bufs["blocks"], 0, None);
        self.per_person(enc, "demography", keys);
    }

    /// The fusion of the person stages this step runs ([`GpuOptions::fusion`]).
    fn fusion(&self) -> FusePersons {
        self.opts.fusion()
    }

    /// The births stage: count (only where demography ran on the CPU, `counted` false: the
    /// GPU's demography pass counts the blocks itself), scan (one read-back of chunk totals),
    /// scatter (the entry point `scatter`: `births_scatter`, which also writes the household
    /// index; `births_scatter_stages`, which also runs the three person stages on each person
    /// it writes; `births_scatter_month`, their measures too); the chunks planned again if one
    /// outgrew its bound (a read-back of the member counts). `enc` holds the month's work so
    /// far (demography), submitted with the scan. Whether the scatter ran: not if nobody died
    /// or was born.
    fn births(&mut self, keys: StepKeys, mut enc: wgpu::CommandEncoder, scatter: &str, counted: bool) -> Result<bool> {
        let blk = self.block_windows();
        for (k, c) in self.chunks.clone().into_iter().enumerate() {
            let mut d = self.base_dispatch(keys);
            let mut w = self.chunk_windows(&c, &mut d);
            d.n = c.p1 - c.p0;
            d.chunk = k as u32;
            w.blk = blk[k];
            if !counted {
                self.dispatch(&mut enc, "births_count", d, w, d.n.div_ceil(BLOCK) * self.opts.workgroup_size);
            }
            self.dispatch(&mut enc, "births_scan", d, w, 1);
        }
        let totals = self.submit_read(enc, &format!("month {}: births count", self.month()), "totals", 2 * self.chunks.len())?;
        let out_total: u64 = totals.chunks(2).map(|t| t[0] as u64).sum();
        let born: u64 = totals.chunks(2).map(|t| t[1] as u64).sum();
        if out_total == self.n_p as u64 && born == 0 {
            return Ok(false); // nobody died or was born: order and ids unchanged (as the CPU path)
        }
        if out_total > self.max_capacity() {
            return Err(Error::Gpu(format!("{out_total} persons exceed what the device buffers can hold")));
        }
        if out_total > self.cap_p as u64 {
            self.grow((out_total as f64 * 1.25) as u32)?;
        }
        // output ranges, in chunk order
        let mut enc = self.encoder();
        let mut q = 0u32;
        let mut next_chunks = Vec::with_capacity(self.chunks.len());
        for (k, c) in self.chunks.clone().into_iter().enumerate() {
            let (n_out, n_babies) = (totals[2 * k], totals[2 * k + 1]);
            let mut d = self.base_dispatch(keys);
            let mut w = self.chunk_windows(&c, &mut d);
            d.n = c.p1 - c.p0;
            d.chunk = k as u32;
            w.blk = blk[k];
            let (oa, olen, oskip) = self.window(q, q + n_out);
            w.out = (oa, olen);
            d.out_skip = oskip;
            d.out_base = oa;
            d.baby_keys = crate::rng::baby_keys(self.params[self.step as usize].month).0;
            self.dispatch(&mut enc, scatter, d, w, d.n.div_ceil(BLOCK) * self.opts.workgroup_size);
            next_chunks.push(Chunk { h0: c.h0, h1: c.h1, p0: q, p1: q + n_out });
            q += n_out;
            self.born += n_babies as u64;
        }
        self.n_p = q;
        for name in PERSON_STATE {
            let a = self.bufs.remove(name).expect("column");
            let b = self.bufs.remove(&format!("new_{name}")).expect("column");
            self.bufs.insert(name.to_string(), b);
            self.bufs.insert(format!("new_{name}"), a);
        }
        self.chunks = next_chunks;
        // the scatter also wrote the household index (each household's first member)
        self.submit(enc, &format!("month {}: births scatter", self.month()))?;
        if self.chunks.iter().any(|c| c.p1 - c.p0 > self.replan_above()) {
            // a chunk outgrew half a binding (its next births could take it past one):
            // re-plan from the member counts
            self.replans += 1;
            let t = Instant::now();
            let lens = self.gpu.read(&self.bufs["hh_len"], 0, self.n_h as usize);
            self.waited(t);
            let lens = lens?;
            self.chunks = Self::plan(&lens, self.target_chunk());
            self.ensure_chunk_buffers()?;
        }
        Ok(true)
    }

    fn max_capacity(&self) -> u64 {
        (self.gpu.limits.max_buffer_size / 4).min(u32::MAX as u64 - 1)
    }

    /// Grow every person buffer to `cap` persons, keeping the current state.
    fn grow(&mut self, cap: u32) -> Result<()> {
        let cap = (cap as u64).min(self.max_capacity()) as u32;
        // (the cached bind groups hold the old buffers)
        self.bind_cache.clear();
        let mut enc = self.encoder();
        for name in PERSON_STATE.iter().map(|s| s.to_string()).chain(PERSON_STATE.iter().map(|s| format!("new_{s}"))).chain(PERSON_OUT.iter().map(|s| s.to_string())) {
            let nb = self.storage(&name, cap as u64)?;
            if !name.starts_with("new_") {
                enc.copy_buffer_to_buffer(&self.bufs[&name], 0, &nb, 0, self.n_p as u64 * 4);
            }
            self.bufs.insert(name, nb);
        }
        for name in PERSON_SCRATCH {
            let nb = self.storage(name, cap as u64)?;
            self.bufs.insert(name.to_string(), nb);
        }
        self.cap_p = cap;
        self.submit(enc, "growing the person buffers")
    }

    /// The month the next step simulates.
    pub fn month(&self) -> Month {
        self.start.add(self.step)
    }

    /// Every month's parameters.
    pub fn params(&self) -> &[StepParams] {
        &self.params
    }

    pub fn months(&self) -> u32 {
        self.params.len() as u32
    }

    pub fn persons(&self) -> usize {
        self.n_p as usize
    }

    /// Read the whole state back from the device.
    pub fn download(&self) -> Result<Host> {
        if let Some(fault) = injected_read_fault("download", self.step) {
            return Err(Error::Gpu(fault));
        }
        let n = self.n_p as usize;
        let r = |name: &str, len: usize| self.gpu.read(&self.bufs[name], 0, len);
        let persons = Persons {
            id_lo: r("id_lo", n)?,
            id_hi: r("id_hi", n)?,
            household: r("household", n)?,
            age_months: r("age_months", n)?,
            status: r("status", n)?,
            earnings: r("earnings", n)?,
            wealth: r("wealth", n)?,
            svc_wait: r("svc_wait", n)?,
        };
        let m = self.n_h as usize;
        let households = Households {
            id: self.hh_ids.clone(),
            info: r("hh_info", m)?,
            rent: r("hh_rent", m)?,
            weight: r("hh_weight", m)?,
            start: r("hh_start", m)?,
            len: r("hh_len", m)?,
            arrears: r("hh_arrears", m)?,
            wait: r("hh_wait", m)?,
            prev_net: r("hh_prev_net", m)?,
        };
        let pout = PersonOut { income_tax: r("income_tax", n)?, ni: r("ni", n)?, state_pension: r("state_pension", n)?, disability: r("disability", n)?, care_tariff: r("care_tariff", n)? };
        let hout = HouseholdOut {
            universal_credit: r("universal_credit", m)?,
            pension_credit: r("pension_credit", m)?,
            child_benefit: r("child_benefit", m)?,
            hicbc: r("hicbc", m)?,
            cap_reduction: r("cap_reduction", m)?,
            net_income: r("net_income", m)?,
        };
        Ok(Host { persons, households, pout, hout })
    }

    /// Run one stage on the CPU path: download, run, upload.
    fn cpu_stage(&mut self, stage: Stage, p: &StepParams, keys: StepKeys, acc: &mut Acc) -> Result<()> {
        let mut h = self.download()?;
        let ctx = Ctx { p, t: &self.tables, keys, persistent: self.persistent };
        run_cpu_stage(&ctx, stage, &mut h.persons, &mut h.households, &mut h.pout, &mut h.hout, &mut self.born, acc);
        self.upload(&h)
    }

    /// From the next step on, add each household's net income to a running sum on the device
    /// every month ([`GpuEngine::add_income_sums`]), instead of the host reading every
    /// household's net income every month: what [`GpuOptions::income`] asks for, set up with
    /// the other buffers.
    fn accumulate_income(&mut self) -> Result<()> {
        for name in INCOME {
            if !self.bufs.contains_key(name) {
                let b = self.storage(name, self.n_h as u64 + self.align as u64)?;
                self.bufs.insert(name.into(), b);
            }
        }
        self.income = true;
        Ok(())
    }

    /// Add to `income` each household's net income summed over the months since the sums were
    /// last taken (or accumulating began), and set the sums to zero: both halves copied in one
    /// submission, and added from the mapped read-back on every thread, with no copy of them
    /// on the host.
    pub fn add_income_sums(&mut self, income: &mut [u64]) -> Result<()> {
        use rayon::prelude::*;
        if let Some(fault) = injected_read_fault("sums", self.step) {
            return Err(Error::Gpu(fault));
        }
        let n = self.n_h as usize;
        if n == 0 {
            return Ok(());
        }
        let staging = self.gpu.staging(2 * n as u64 * 4);
        let mut enc = self.encoder();
        for (k, name) in INCOME.iter().enumerate() {
            enc.copy_buffer_to_buffer(&self.bufs[*name], 0, &staging, (k * n * 4) as u64, n as u64 * 4);
        }
        for name in INCOME {
            enc.clear_buffer(&self.bufs[name], 0, None);
        }
        self.gpu.queue.submit([enc.finish()]);
        self.gpu.map_with(&staging, 2 * n, |words| {
            let (lo, hi) = words.split_at(n);
            income.par_iter_mut().zip(lo.par_iter().zip(hi)).with_min_len(1 << 14).for_each(|(acc, (&l, &h))| *acc += l as u64 | (h as u64) << 32);
        })?;
        self.gpu.check("reading and clearing the income sums")
    }

    /// After a step, each chunk's list for the radix select's last pass: the persons that took
    /// part in pass 3 (for tests: the lists narrow pass by pass).
    pub fn last_cut_list_lengths(&self) -> Result<Vec<u32>> {
        self.gpu.read(&self.bufs["svc_len"], 0, self.chunks.len())
    }

    /// Chunks in use (for tests and the manifest).
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Persons in each chunk now (a test hook: a chunk whose households all died keeps its
    /// place, empty, until the chunks are planned again).
    pub fn chunk_persons(&self) -> Vec<u32> {
        self.chunks.iter().map(|c| c.p1 - c.p0).collect()
    }
}

/// Tests: `POLICY_TWIN_TEST_GPU_FAULT=lost@N` (or `oom@N`) makes month N+1 (0-based step N)
/// fail as a lost device (or an out-of-memory error) would, to test the fallback and resume.
fn injected_fault(step: u32) -> Option<String> {
    let (kind, at) = test_fault()?;
    (at == step).then_some(())?;
    match kind.as_str() {
        "oom" => Some(format!("out of memory at step {step} (injected by POLICY_TWIN_TEST_GPU_FAULT)")),
        "lost" => Some(format!("device lost at step {step} (injected by POLICY_TWIN_TEST_GPU_FAULT)")),
        _ => None,
    }
}

/// Tests: `POLICY_TWIN_TEST_GPU_FAULT=sums@S` (or `download@S`) fails the read of the income
/// sums (or of the state, for a checkpoint or a snapshot) after S steps, as a device lost then
/// would.
fn injected_read_fault(what: &str, steps: u32) -> Option<String> {
    let (kind, at) = test_fault()?;
    (kind == what && at == steps).then(|| format!("device lost reading the {} after {steps} steps (injected by POLICY_TWIN_TEST_GPU_FAULT)", if what == "sums" { "income sums" } else { "state" }))
}

/// `POLICY_TWIN_TEST_GPU_FAULT=KIND@S`, as (kind, step).
fn test_fault() -> Option<(String, u32)> {
    let v = std::env::var("POLICY_TWIN_TEST_GPU_FAULT").ok()?;
    let (kind, at) = v.split_once('@')?;
    Some((kind.to_string(), at.parse().ok()?))
}
