//! Checkpoints: the whole state of a run of a baseline and its reforms at the end of a month,
//! written atomically (a temporary name, then a rename), so a run killed at any moment can be
//! resumed from its last checkpoint and give outputs identical to an uninterrupted run.
//!
//! What is saved: the run's configuration (the command line, its working directory and the
//! SHA-256 of every input, checked on resume); every finished scenario's monthly aggregates,
//! distribution rows and capacities; for the scenario under way its aggregates so far, the
//! households' income over the current year, the baseline's yearly incomes and household
//! facts (for the distribution table); and the engine's state: persons, households, this
//! month's outputs, the step counter (which fixes every later random draw) and the number of
//! babies born (which fixes the next new id). Rate tables and monthly parameters are rebuilt
//! from the scenario and population, whose hashes must match.
//!
//! The format is this crate's own: a magic line, a JSON header, then length-prefixed
//! little-endian arrays, and an end marker (a truncated file is refused). It is not meant to
//! be read by other tools or kept across versions of policy-twin (the version is checked).

use crate::distribution::{DistRow, HouseholdFacts};
use crate::engine::StateView;
use crate::error::{Error, Result};
use crate::measures::{Acc, N_CELLS, N_MEASURES};
use crate::state::*;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

pub const CHECKPOINT_DIR: &str = "checkpoint";
pub const CHECKPOINT_FILE: &str = "checkpoint.bin";
const MAGIC: &[u8; 16] = b"policy-twin-ck1\n";
const END: &[u8; 8] = b"ck-end!\n";

/// A finished scenario, as `run_all` keeps it.
pub struct Finished {
    pub name: String,
    pub backend: String,
    pub accs: Vec<Acc>,
    pub distribution: Vec<DistRow>,
    pub person_months: u64,
    pub seconds: f64,
    pub capacity: Vec<[u32; crate::codes::N_QUEUES]>,
}

/// The engine's state at the end of a month.
pub struct EngineState {
    pub persons: Persons,
    pub households: Households,
    pub pout: PersonOut,
    pub hout: HouseholdOut,
    pub step: u32,
    pub born: u64,
}

/// Everything but the engine state (which is written from a borrowed view).
pub struct Progress {
    /// The run's configuration: `argv`, `cwd`, `inputs` (path → SHA-256), and anything else
    /// the caller wants back on resume.
    pub config: serde_json::Value,
    pub finished: Vec<Finished>,
    /// Index of the scenario under way.
    pub scenario: usize,
    pub accs: Vec<Acc>,
    pub distribution: Vec<DistRow>,
    pub person_months: u64,
    pub seconds: f64,
    pub income: Vec<u64>,
    pub base_income: Vec<Vec<u64>>,
    pub facts: HouseholdFacts,
}

pub struct Checkpoint {
    pub progress: Progress,
    /// The file, and where the engine state starts in it ([`Checkpoint::read_state`]).
    pub file: PathBuf,
    /// Months of the current scenario done when it was written.
    pub step: u32,
    state_offset: u64,
}

pub fn path(out_dir: &Path) -> PathBuf {
    out_dir.join(CHECKPOINT_DIR).join(CHECKPOINT_FILE)
}

struct W<T: Write>(T);

impl<T: Write> W<T> {
    fn raw(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.0.write_all(b)
    }
    fn u64(&mut self, v: u64) -> std::io::Result<()> {
        self.raw(&v.to_le_bytes())
    }
    fn bytes(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.u64(b.len() as u64)?;
        self.raw(b)
    }
    fn u32s(&mut self, v: &[u32]) -> std::io::Result<()> {
        self.bytes(bytemuck::cast_slice(v))
    }
    fn u64s(&mut self, v: &[u64]) -> std::io::Result<()> {
        self.bytes(bytemuck::cast_slice(v))
    }
    fn accs(&mut self, accs: &[Acc]) -> std::io::Result<()> {
        self.u64(accs.len() as u64)?;
        for a in accs {
            self.u64s(&a.0)?;
        }
        Ok(())
    }
    fn dist(&mut self, rows: &[DistRow]) -> std::io::Result<()> {
        self.u64(rows.len() as u64)?;
        for r in rows {
            self.u64(r.year as u64)?;
            self.raw(&[r.region.unwrap_or(255), r.htype.unwrap_or(255), r.decile])?;
            for v in [r.persons, r.total_change as u64, r.winners, r.losers] {
                self.u64(v)?;
            }
        }
        Ok(())
    }
}

struct R<T: Read> {
    r: T,
    path: PathBuf,
}

impl<T: Read> R<T> {
    fn bad(&self, what: &str) -> Error {
        Error::Config(format!("{}: not a complete policy-twin checkpoint ({what})", self.path.display()))
    }
    fn raw(&mut self, b: &mut [u8]) -> Result<()> {
        self.r.read_exact(b).map_err(|_| self.bad("truncated"))
    }
    fn u64(&mut self) -> Result<u64> {
        let mut b = [0u8; 8];
        self.raw(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn len(&mut self, unit: usize) -> Result<usize> {
        let n = self.u64()?;
        if n % unit as u64 != 0 || n > (1u64 << 40) {
            return Err(self.bad("a length out of range"));
        }
        Ok((n / unit as u64) as usize)
    }
    fn bytes(&mut self) -> Result<Vec<u8>> {
        let n = self.len(1)?;
        let mut v = vec![0u8; n];
        self.raw(&mut v)?;
        Ok(v)
    }
    fn u32s(&mut self) -> Result<Vec<u32>> {
        let n = self.len(4)?;
        let mut v = vec![0u32; n];
        self.raw(bytemuck::cast_slice_mut(&mut v))?;
        Ok(v)
    }
    fn u64s(&mut self) -> Result<Vec<u64>> {
        let n = self.len(8)?;
        let mut v = vec![0u64; n];
        self.raw(bytemuck::cast_slice_mut(&mut v))?;
        Ok(v)
    }
    fn accs(&mut self) -> Result<Vec<Acc>> {
        let n = self.u64()? as usize;
        (0..n)
            .map(|_| {
                let v = self.u64s()?;
                if v.len() != N_CELLS * N_MEASURES {
                    return Err(self.bad("aggregates of another version"));
                }
                Ok(Acc(v))
            })
            .collect()
    }
    fn dist(&mut self) -> Result<Vec<DistRow>> {
        let n = self.u64()? as usize;
        let mut out = Vec::with_capacity(n.min(1 << 20));
        for _ in 0..n {
            let year = self.u64()? as u32;
            let mut b = [0u8; 3];
            self.raw(&mut b)?;
            let opt = |x: u8| (x != 255).then_some(x);
            let (persons, total, winners, losers) = (self.u64()?, self.u64()? as i64, self.u64()?, self.u64()?);
            out.push(DistRow { year, region: opt(b[0]), htype: opt(b[1]), decile: b[2], persons, total_change: total, winners, losers });
        }
        Ok(out)
    }
}

/// Write a checkpoint into `dir/checkpoint/` (a temporary file renamed over the last one).
pub fn save(out_dir: &Path, p: &Progress, v: &StateView, step: u32, born: u64) -> Result<PathBuf> {
    let dir = out_dir.join(CHECKPOINT_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let dest = dir.join(CHECKPOINT_FILE);
    let staged = crate::output::Staged::new(&dest);
    let file = staged.create()?;
    let io = |e: std::io::Error| Error::io(&staged.tmp, e);
    let mut w = W(BufWriter::with_capacity(1 << 22, file));
    let header = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "config": p.config,
        "scenario": p.scenario,
        "month": step,
        "finished": p.finished.iter().map(|f| serde_json::json!({"name": f.name, "backend": f.backend, "person_months": f.person_months, "seconds": f.seconds})).collect::<Vec<_>>(),
        "person_months": p.person_months,
        "seconds": p.seconds,
    });
    w.raw(MAGIC).map_err(io)?;
    w.bytes(serde_json::to_string(&header).expect("json").as_bytes()).map_err(io)?;
    for f in &p.finished {
        w.accs(&f.accs).map_err(io)?;
        w.dist(&f.distribution).map_err(io)?;
        w.u32s(bytemuck::cast_slice(&f.capacity)).map_err(io)?;
    }
    w.accs(&p.accs).map_err(io)?;
    w.dist(&p.distribution).map_err(io)?;
    w.u64s(&p.income).map_err(io)?;
    w.u64(p.base_income.len() as u64).map_err(io)?;
    for y in &p.base_income {
        w.u64s(y).map_err(io)?;
    }
    w.u32s(&p.facts.scale10).map_err(io)?;
    w.bytes(&p.facts.htype).map_err(io)?;
    w.bytes(&p.facts.region).map_err(io)?;
    w.u64s(&p.facts.persons).map_err(io)?;
    let ps = v.persons;
    for c in [&ps.id_lo, &ps.id_hi, &ps.household, &ps.age_months, &ps.status, &ps.earnings, &ps.wealth, &ps.svc_wait] {
        w.u32s(c).map_err(io)?;
    }
    let h = v.households;
    w.u64s(&h.id).map_err(io)?;
    for c in [&h.info, &h.rent, &h.weight, &h.start, &h.len, &h.arrears, &h.wait, &h.prev_net] {
        w.u32s(c).map_err(io)?;
    }
    let po = v.pout;
    for c in [&po.income_tax, &po.ni, &po.state_pension, &po.disability, &po.care_tariff] {
        w.u32s(c).map_err(io)?;
    }
    let ho = v.hout;
    for c in [&ho.universal_credit, &ho.pension_credit, &ho.child_benefit, &ho.hicbc, &ho.cap_reduction, &ho.net_income] {
        w.u32s(c).map_err(io)?;
    }
    w.u64(step as u64).map_err(io)?;
    w.u64(born).map_err(io)?;
    w.raw(END).map_err(io)?;
    let file = w.0.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    drop(file);
    staged.commit()?;
    Ok(dest)
}

/// The JSON header of a checkpoint (the run's configuration and where it stopped).
pub fn header(file: &Path) -> Result<serde_json::Value> {
    let f = std::fs::File::open(file).map_err(|e| Error::io(file, e))?;
    let mut r = R { r: BufReader::new(f), path: file.to_path_buf() };
    read_header(&mut r)
}

fn read_header<T: Read>(r: &mut R<T>) -> Result<serde_json::Value> {
    let mut m = [0u8; 16];
    r.raw(&mut m)?;
    if &m != MAGIC {
        return Err(r.bad("no checkpoint header"));
    }
    let h: serde_json::Value = serde_json::from_slice(&r.bytes()?).map_err(|_| r.bad("a broken header"))?;
    if h["version"].as_str() != Some(env!("CARGO_PKG_VERSION")) {
        return Err(Error::Config(format!("{}: written by policy-twin {}, this is {}: resume with the version that wrote it", r.path.display(), h["version"], env!("CARGO_PKG_VERSION"))));
    }
    Ok(h)
}

/// Read a whole checkpoint.
pub fn load(file: &Path) -> Result<Checkpoint> {
    let f = std::fs::File::open(file).map_err(|e| Error::io(file, e))?;
    let mut r = R { r: BufReader::with_capacity(1 << 22, f), path: file.to_path_buf() };
    let h = read_header(&mut r)?;
    let mut finished = Vec::new();
    for f in h["finished"].as_array().cloned().unwrap_or_default() {
        let accs = r.accs()?;
        let distribution = r.dist()?;
        let cap = r.u32s()?;
        if cap.len() % crate::codes::N_QUEUES != 0 {
            return Err(r.bad("capacities of another version"));
        }
        let capacity = cap.chunks(crate::codes::N_QUEUES).map(|c| c.try_into().expect("chunk")).collect();
        finished.push(Finished {
            name: f["name"].as_str().unwrap_or_default().to_string(),
            backend: f["backend"].as_str().unwrap_or("cpu").to_string(),
            accs,
            distribution,
            person_months: f["person_months"].as_u64().unwrap_or(0),
            seconds: f["seconds"].as_f64().unwrap_or(0.0),
            capacity,
        });
    }
    let accs = r.accs()?;
    let distribution = r.dist()?;
    let income = r.u64s()?;
    let years = r.u64()? as usize;
    let base_income = (0..years.min(1000)).map(|_| r.u64s()).collect::<Result<Vec<_>>>()?;
    let facts = HouseholdFacts { scale10: r.u32s()?, htype: r.bytes()?, region: r.bytes()?, persons: r.u64s()? };
    let state_offset = std::io::Seek::stream_position(&mut r.r).map_err(|e| Error::io(file, e))?;
    let progress = Progress {
        config: h["config"].clone(),
        finished,
        scenario: h["scenario"].as_u64().unwrap_or(0) as usize,
        accs,
        distribution,
        person_months: h["person_months"].as_u64().unwrap_or(0),
        seconds: h["seconds"].as_f64().unwrap_or(0.0),
        income,
        base_income,
        facts,
    };
    // a file cut short is refused now, not after the population has been loaded
    let mut tail = [0u8; 8];
    let len = std::fs::metadata(file).map_err(|e| Error::io(file, e))?.len();
    if len < state_offset + 8 {
        return Err(r.bad("truncated"));
    }
    std::io::Seek::seek(&mut r.r, std::io::SeekFrom::Start(len - 8)).map_err(|e| Error::io(file, e))?;
    r.raw(&mut tail)?;
    if &tail != END {
        return Err(r.bad("truncated: no end marker"));
    }
    let step = h["month"].as_u64().unwrap_or(0) as u32;
    Ok(Checkpoint { progress, file: file.to_path_buf(), step, state_offset })
}

impl Checkpoint {
    /// Read the engine state (the bulk of the file), when the engine is ready to take it:
    /// reading it only then keeps a resumed run's peak memory at an uninterrupted run's.
    pub fn read_state(&self) -> Result<EngineState> {
        let file = &self.file;
        let f = std::fs::File::open(file).map_err(|e| Error::io(file, e))?;
        let mut r = R { r: BufReader::with_capacity(1 << 22, f), path: file.to_path_buf() };
        std::io::Seek::seek(&mut r.r, std::io::SeekFrom::Start(self.state_offset)).map_err(|e| Error::io(file, e))?;
        let persons = Persons {
            id_lo: r.u32s()?,
            id_hi: r.u32s()?,
            household: r.u32s()?,
            age_months: r.u32s()?,
            status: r.u32s()?,
            earnings: r.u32s()?,
            wealth: r.u32s()?,
            svc_wait: r.u32s()?,
        };
        let households = Households {
            id: r.u64s()?,
            info: r.u32s()?,
            rent: r.u32s()?,
            weight: r.u32s()?,
            start: r.u32s()?,
            len: r.u32s()?,
            arrears: r.u32s()?,
            wait: r.u32s()?,
            prev_net: r.u32s()?,
        };
        let pout = PersonOut { income_tax: r.u32s()?, ni: r.u32s()?, state_pension: r.u32s()?, disability: r.u32s()?, care_tariff: r.u32s()? };
        let hout = HouseholdOut { universal_credit: r.u32s()?, pension_credit: r.u32s()?, child_benefit: r.u32s()?, hicbc: r.u32s()?, cap_reduction: r.u32s()?, net_income: r.u32s()? };
        let step = r.u64()? as u32;
        let born = r.u64()?;
        let mut end = [0u8; 8];
        r.raw(&mut end)?;
        if &end != END {
            return Err(r.bad("no end marker"));
        }
        let n = persons.len();
        let nh = households.count();
        let same = [persons.id_hi.len(), persons.household.len(), persons.age_months.len(), persons.status.len(), persons.earnings.len(), persons.wealth.len(), persons.svc_wait.len()].iter().all(|&l| l == n)
            && [households.info.len(), households.rent.len(), households.weight.len(), households.start.len(), households.len.len(), households.arrears.len(), households.wait.len(), households.prev_net.len()].iter().all(|&l| l == nh)
            && [pout.income_tax.len(), pout.ni.len(), pout.state_pension.len(), pout.disability.len(), pout.care_tariff.len()].iter().all(|&l| l == n)
            && [hout.universal_credit.len(), hout.pension_credit.len(), hout.child_benefit.len(), hout.hicbc.len(), hout.cap_reduction.len(), hout.net_income.len()].iter().all(|&l| l == nh)
            && persons.household.iter().all(|&h| (h as usize) < nh);
        if !same {
            return Err(r.bad("arrays of different lengths"));
        }
        Ok(EngineState { persons, households, pout, hout, step, born })
    }
}
