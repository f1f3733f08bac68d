//! `twin synth`: a synthetic UK population whose structure follows the official tables in
//! `data/` (ONS mid-2022 age × sex and regions, household size 2.36 and 30% one-person
//! households, English Housing Survey tenure, FRS disability prevalence, LFS employment), with
//! the documented assumptions of `data/*.csv` where no official table was available.
//!
//! It streams: the population is built in chunks of 2^20 persons, each chunk written as one
//! row group of each file, so `--persons 67600000` runs in a few hundred MB of memory. Chunks
//! are built in parallel from their own generator (seeded by (seed, chunk)), so the output
//! depends only on (persons, seed, weight), not on the thread count.
//!
//! Within a chunk: persons are first drawn so the (age, sex) counts match the ONS shares
//! exactly (largest remainder), then grouped: children with a mother of a plausible age (and a
//! partner unless lone parent), then one-person households, couples and larger adult
//! households sized so the mean household size is 2.36. Then each household gets a region,
//! tenure and rent, and each person health, care need, employment, earnings and capital.

use crate::codes::{self, *};
use crate::data::CsvTable;
use crate::error::{Error, Result};
use crate::output::{dict, writer_props, EncodedGroup, RowGroupWriter, Staged};
use crate::rng::SplitMix64;
use arrow_array::{ArrayRef, Float64Array, RecordBatch, UInt32Array, UInt64Array, UInt8Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const CHUNK_PERSONS: u64 = 1 << 20;
/// State pension age of everyone in the synthetic population (it stands for April 2025).
pub const SYNTH_SPA_YEARS: u32 = 66;
const AGES: usize = 111;

pub struct SynthOptions {
    pub persons: u64,
    pub seed: u64,
    /// Weight of every household.
    pub weight: u32,
    /// The project's `data/` directory.
    pub data_dir: PathBuf,
}

#[derive(Clone, Debug, Default)]
pub struct SynthSummary {
    pub persons: u64,
    pub households: u64,
    pub one_person_households: u64,
    pub tenure: [u64; 4],
}

/// Every table the synthesiser reads, as plain numbers.
pub struct SynthTables {
    /// Share of the population at (sex, age).
    pub age_sex: [[f64; AGES]; 2],
    pub region: [f64; 12],
    pub household_size: f64,
    pub one_person: f64,
    pub lone_parent: f64,
    pub children_dist: [f64; 4],
    pub child_max_age: u32,
    pub mother_min: f64,
    pub mother_mean: f64,
    pub mother_sd: f64,
    pub gap_mean: f64,
    pub gap_sd: f64,
    /// Per band: (prevalence of limiting or severe, severe share).
    pub health: [(f64, f64); 8],
    /// Per band: (moderate, substantial) prevalence.
    pub care: [(f64, f64); 8],
    /// Per band and health: (employed, unemployed) shares of those not in education.
    pub labour: [[(f64, f64); 3]; 8],
    pub education: [f64; AGES],
    /// Per band and sex: (median £/month, log sd).
    pub earnings: [[(f64, f64); 2]; 8],
    /// Tenure shares by household-reference-person age (by single year).
    pub tenure: Vec<[f64; 4]>,
    /// Per region: private, social rent (£/month).
    pub rents: [(f64, f64); 12],
    /// Per band: (share with zero capital, median if positive, log sd).
    pub wealth: [(f64, f64, f64); 8],
}

impl SynthTables {
    pub fn load(data: &Path) -> Result<SynthTables> {
        let r = |f: &str| CsvTable::read(&data.join(f));
        // ONS mid-2022 by single year to 89 and 90+; split 90+ over 90..=110 by the life table
        let pop = r("reference/uk_population_by_age_sex.csv")?;
        let (ca, cm, cf) = (pop.col("age")?, pop.col("male")?, pop.col("female")?);
        let mut counts = [[0f64; AGES]; 2];
        let mut over90 = [0f64; 2];
        for row in 0..pop.rows.len() {
            let age = pop.str_at(row, ca);
            let (m, f) = (pop.f64_at(row, cm)?, pop.f64_at(row, cf)?);
            if age == "90+" {
                over90 = [f, m];
            } else {
                let a: usize = age.parse().map_err(|_| Error::data(&pop.path, Some(row as u64 + 1), format!("age `{age}`")))?;
                counts[FEMALE as usize][a] = f;
                counts[MALE as usize][a] = m;
            }
        }
        let lt = r("reference/uk_life_table_qx.csv")?;
        let (cp, cs, cage, clx) = (lt.col("period")?, lt.col("sex")?, lt.col("age")?, lt.col("lx")?);
        for sex in 0..2 {
            let mut lx = [0f64; AGES];
            for row in 0..lt.rows.len() {
                if lt.str_at(row, cp) == "2022-2024" && lt.str_at(row, cs) == SEX[sex] {
                    let a = lt.u32_at(row, cage)? as usize;
                    if a < AGES {
                        lx[a] = lt.f64_at(row, clx)?;
                    }
                }
            }
            // ASSUMPTION: survivorship beyond 100 falls 40% a year
            for a in 101..AGES {
                lx[a] = lx[a - 1] * 0.6;
            }
            let total: f64 = lx[90..].iter().sum();
            for a in 90..AGES {
                counts[sex][a] = over90[sex] * lx[a] / total;
            }
        }
        let grand: f64 = counts.iter().flatten().sum();
        let mut age_sex = [[0f64; AGES]; 2];
        for s in 0..2 {
            for a in 0..AGES {
                age_sex[s][a] = counts[s][a] / grand;
            }
        }

        let reg = r("reference/uk_regions_population.csv")?;
        let (cr, cpers) = (reg.col("region_or_nation")?, reg.col("persons")?);
        let mut region = [0f64; 12];
        for (i, name) in REGIONS.iter().enumerate() {
            region[i] = reg.f64_at(reg.find(cr, name)?, cpers)?;
        }

        let hh = r("households.csv")?;
        let (cpar, cval) = (hh.col("parameter")?, hh.col("value")?);
        let hv = |k: &str| -> Result<f64> { hh.f64_at(hh.find(cpar, k)?, cval) };

        let health = r("health.csv")?;
        let hb = health.band_rows()?;
        let (c_prev, c_sev) = (health.col("prevalence_limiting_or_severe")?, health.col("severe_share")?);
        let care = r("care.csv")?;
        let cb = care.band_rows()?;
        let (c_mod, c_sub) = (care.col("prevalence_moderate")?, care.col("prevalence_substantial")?);
        let wealth = r("wealth.csv")?;
        let wb = wealth.band_rows()?;
        let (c_z, c_wm, c_ws) = (wealth.col("share_zero")?, wealth.col("median_if_positive_gbp")?, wealth.col("log_sd")?);
        let mut t_health = [(0.0, 0.0); 8];
        let mut t_care = [(0.0, 0.0); 8];
        let mut t_wealth = [(0.0, 0.0, 0.0); 8];
        for b in 0..8 {
            t_health[b] = (health.prob_at(hb[b], c_prev)?, health.prob_at(hb[b], c_sev)?);
            t_care[b] = (care.prob_at(cb[b], c_mod)?, care.prob_at(cb[b], c_sub)?);
            t_wealth[b] = (wealth.prob_at(wb[b], c_z)?, wealth.f64_at(wb[b], c_wm)?, wealth.f64_at(wb[b], c_ws)?);
        }

        let lab = r("labour_transitions.csv")?;
        let (c_lb, c_lh, c_pe, c_pu) = (lab.col("age_band")?, lab.col("health")?, lab.col("p_employed")?, lab.col("p_unemployed")?);
        let mut labour = [[(0.0, 0.0); 3]; 8];
        for row in 0..lab.rows.len() {
            let b = codes::lookup(&AGE_BANDS, lab.str_at(row, c_lb)).ok_or_else(|| Error::data(&lab.path, Some(row as u64 + 1), "unknown age band"))?;
            let h = codes::lookup(&HEALTH, lab.str_at(row, c_lh)).ok_or_else(|| Error::data(&lab.path, Some(row as u64 + 1), "unknown health"))?;
            labour[b as usize][h as usize] = (lab.prob_at(row, c_pe)?, lab.prob_at(row, c_pu)?);
        }

        let edu = r("education.csv")?;
        let c_share = edu.col("share_in_education")?;
        let mut education = [0f64; AGES];
        for (a, v) in edu.by_age(|row| edu.prob_at(row, c_share))?.iter().enumerate() {
            education[a] = v.unwrap_or(0.0);
        }

        let earn = r("earnings.csv")?;
        let (c_eb, c_es, c_em, c_sd) = (earn.col("age_band")?, earn.col("sex")?, earn.col("median_gbp_per_month")?, earn.col("log_sd")?);
        let mut earnings = [[(1000.0, 0.5); 2]; 8];
        for row in 0..earn.rows.len() {
            let b = codes::lookup(&AGE_BANDS, earn.str_at(row, c_eb)).ok_or_else(|| Error::data(&earn.path, Some(row as u64 + 1), "unknown age band"))?;
            let s = codes::lookup(&SEX, earn.str_at(row, c_es)).ok_or_else(|| Error::data(&earn.path, Some(row as u64 + 1), "unknown sex"))?;
            earnings[b as usize][s as usize] = (earn.f64_at(row, c_em)?, earn.f64_at(row, c_sd)?);
        }

        let ten = r("tenure.csv")?;
        let cols = [ten.col("owner")?, ten.col("private_rent")?, ten.col("social_rent")?, ten.col("temporary_accommodation")?];
        let (cfrom, cto) = (ten.col("hrp_age_from")?, ten.col("hrp_age_to")?);
        let mut tenure = vec![[0.65, 0.19, 0.16, 0.0]; AGES];
        for row in 0..ten.rows.len() {
            let (a, b) = (ten.u32_at(row, cfrom)? as usize, ten.u32_at(row, cto)? as usize);
            let mut v = [0f64; 4];
            for (k, c) in cols.iter().enumerate() {
                v[k] = ten.prob_at(row, *c)?;
            }
            for slot in tenure.iter_mut().take(b.min(AGES - 1) + 1).skip(a) {
                *slot = v;
            }
        }
        let hs = r("housing.csv")?;
        let (c_reg, c_pr, c_sr) = (hs.col("region")?, hs.col("private_rent_gbp_month")?, hs.col("social_rent_gbp_month")?);
        let mut rents = [(0.0, 0.0); 12];
        for (i, name) in REGIONS.iter().enumerate() {
            let row = hs.find(c_reg, name)?;
            rents[i] = (hs.f64_at(row, c_pr)?, hs.f64_at(row, c_sr)?);
        }

        Ok(SynthTables {
            age_sex,
            region,
            household_size: hv("average_household_size")?,
            one_person: hv("one_person_share")?,
            lone_parent: hv("lone_parent_share_of_families_with_children")?,
            children_dist: [hv("children_1")?, hv("children_2")?, hv("children_3")?, hv("children_4")?],
            child_max_age: hv("dependent_child_max_age")? as u32,
            mother_min: hv("mother_age_at_eldest_min")?,
            mother_mean: hv("mother_age_at_eldest_mean")?,
            mother_sd: hv("mother_age_at_eldest_sd")?,
            gap_mean: hv("partner_age_gap_mean")?,
            gap_sd: hv("partner_age_gap_sd")?,
            health: t_health,
            care: t_care,
            labour,
            education,
            earnings,
            tenure,
            rents,
            wealth: t_wealth,
        })
    }
}

/// A synthetic person before ids are assigned.
#[derive(Clone, Copy, Debug)]
pub struct SynPerson {
    pub age: u32,
    pub sex: u32,
    pub employment: u32,
    pub health: u32,
    pub care: u32,
    pub earnings: f64,
    pub wealth: f64,
}

#[derive(Clone, Debug)]
pub struct SynHousehold {
    pub region: u32,
    pub tenure: u32,
    pub rent: f64,
    pub members: Vec<SynPerson>,
}

/// The pool of (sex, age) counts a chunk's persons are drawn from.
struct Pool {
    n: [[u32; AGES]; 2],
}

impl Pool {
    fn total(&self, lo: u32, hi: u32) -> u64 {
        (0..2).map(|s| self.n[s][lo as usize..=hi as usize].iter().map(|&c| c as u64).sum::<u64>()).sum()
    }
    /// A random person in the age range (any sex), weighted by count and by `w(age)`.
    fn take_random(&mut self, rng: &mut SplitMix64, lo: u32, hi: u32, w: &dyn Fn(u32) -> f64) -> Option<(u32, u32)> {
        let mut weights = Vec::with_capacity(2 * AGES);
        for s in 0..2 {
            for a in lo..=hi {
                weights.push(self.n[s][a as usize] as f64 * w(a));
            }
        }
        if weights.iter().sum::<f64>() <= 0.0 {
            return None;
        }
        let k = rng.pick(&weights);
        let span = (hi - lo + 1) as usize;
        let (s, a) = ((k / span) as u32, lo + (k % span) as u32);
        self.n[s as usize][a as usize] -= 1;
        Some((s, a))
    }
    /// The person of this sex whose age is nearest the target within [lo, hi].
    fn take_nearest(&mut self, sex: u32, target: i64, lo: u32, hi: u32) -> Option<u32> {
        if lo > hi {
            return None;
        }
        let t = target.clamp(lo as i64, hi as i64) as u32;
        for d in 0..=(hi - lo) {
            for a in [t.wrapping_sub(d), t + d] {
                if a >= lo && a <= hi && self.n[sex as usize][a as usize] > 0 {
                    self.n[sex as usize][a as usize] -= 1;
                    return Some(a);
                }
            }
        }
        None
    }
    fn take_nearest_any(&mut self, rng: &mut SplitMix64, target: i64, lo: u32, hi: u32) -> Option<(u32, u32)> {
        let first = rng.below(2) as u32;
        for s in [first, 1 - first] {
            // nearest of either sex: try the first sex within the same distance as the second
            if let Some(a) = self.take_nearest(s, target, lo, hi) {
                return Some((s, a));
            }
        }
        None
    }
}

/// Counts per (sex, age) for `n` persons: largest-remainder rounding of the ONS shares.
fn stratified_counts(t: &SynthTables, n: u64) -> [[u32; AGES]; 2] {
    let mut out = [[0u32; AGES]; 2];
    let mut rem: Vec<(f64, usize, usize)> = Vec::with_capacity(2 * AGES);
    let mut assigned = 0u64;
    for (s, (row, shares)) in out.iter_mut().zip(&t.age_sex).enumerate() {
        for (a, (o, &share)) in row.iter_mut().zip(shares).enumerate() {
            let x = share * n as f64;
            *o = x.floor() as u32;
            assigned += *o as u64;
            rem.push((x - x.floor(), s, a));
        }
    }
    rem.sort_by(|x, y| y.0.partial_cmp(&x.0).unwrap().then((x.1, x.2).cmp(&(y.1, y.2))));
    for &(_, s, a) in rem.iter().take((n - assigned) as usize) {
        out[s][a] += 1;
    }
    out
}

fn lognormal(rng: &mut SplitMix64, median: f64, sd: f64) -> f64 {
    median * (sd * rng.normal()).exp()
}

fn round_pence(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Build one chunk of `n` persons.
pub fn build_chunk(t: &SynthTables, n: u64, seed: u64, chunk: u64) -> Vec<SynHousehold> {
    let mut rng = SplitMix64::new(seed, chunk + 1);
    let mut pool = Pool { n: stratified_counts(t, n) };
    let cmax = t.child_max_age;
    let mut groups: Vec<Vec<(u32, u32)>> = Vec::new(); // (sex, age), adults first

    // 1. families with children
    while pool.total(0, cmax) > 0 {
        let k = 1 + rng.pick(&t.children_dist);
        let Some((s0, a0)) = pool.take_random(&mut rng, 0, cmax, &|_| 1.0) else { break };
        let mut kids = vec![(s0, a0)];
        let mut last = a0;
        for _ in 1..k {
            let gap = 1 + rng.below(4) as i64;
            match pool.take_nearest_any(&mut rng, last as i64 - gap, 0, last) {
                Some((s, a)) => {
                    kids.push((s, a));
                    last = a;
                }
                None => break,
            }
        }
        let youngest = kids.iter().map(|k| k.1).min().unwrap();
        let lo = (a0 as f64 + t.mother_min) as u32;
        let hi = (youngest + 49).min(MAX_AGE);
        let target = a0 as i64 + (t.mother_mean + t.mother_sd * rng.normal()).round().max(t.mother_min) as i64;
        let mut adults = Vec::new();
        let parent = match pool.take_nearest(FEMALE, target, lo, hi) {
            Some(a) => Some((FEMALE, a)),
            None => pool.take_nearest(MALE, target + 2, lo, (youngest + 60).min(MAX_AGE)).map(|a| (MALE, a)),
        }
        .or_else(|| pool.take_nearest_any(&mut rng, target, 18, MAX_AGE));
        if let Some((ps, pa)) = parent {
            adults.push((ps, pa));
            if !rng.chance(t.lone_parent) {
                let gap = (t.gap_mean + t.gap_sd * rng.normal()).round() as i64;
                let (other, tgt) = if ps == FEMALE { (MALE, pa as i64 + gap) } else { (FEMALE, pa as i64 - gap) };
                if let Some(a) = pool.take_nearest(other, tgt, 18, MAX_AGE) {
                    adults.push((other, a));
                }
            }
            adults.extend(kids);
            groups.push(adults);
        } else if let Some(g) = groups.last_mut() {
            g.extend(kids); // no adult left anywhere: join the last family
        } else {
            groups.push(kids);
        }
    }

    // 2. adults not in families: singles, couples, larger households
    let adults_left = pool.total(cmax + 1, MAX_AGE);
    let target_households = ((n as f64 / t.household_size).round() as u64).max(1);
    let families = groups.len() as u64;
    let rest = target_households.saturating_sub(families).max((adults_left > 0) as u64);
    let mut singles = ((t.one_person * target_households as f64).round() as u64).min(adults_left).min(rest);
    let mut multi = rest - singles;
    let in_multi = adults_left - singles;
    if multi == 0 {
        singles += in_multi;
    } else if in_multi < 2 * multi {
        multi = in_multi / 2;
        singles += in_multi % 2;
    }
    // ASSUMPTION: people living alone are older on average (weight 2.5 from 65, 0.5 under 25)
    let single_w = |a: u32| if a >= 65 { 2.5 } else if a < 25 { 0.5 } else { 1.0 };
    for _ in 0..singles {
        if let Some(p) = pool.take_random(&mut rng, cmax + 1, MAX_AGE, &single_w) {
            groups.push(vec![p]);
        }
    }
    let first_multi = groups.len();
    for _ in 0..multi {
        let Some((s, a)) = pool.take_random(&mut rng, cmax + 1, MAX_AGE, &|_| 1.0) else { break };
        let gap = (t.gap_mean + t.gap_sd * rng.normal()).round() as i64;
        let (other, tgt) = if s == FEMALE { (MALE, a as i64 + gap) } else { (FEMALE, a as i64 - gap) };
        let partner = pool.take_nearest(other, tgt, cmax + 1, MAX_AGE).map(|x| (other, x)).or_else(|| pool.take_random(&mut rng, cmax + 1, MAX_AGE, &|_| 1.0));
        let mut g = vec![(s, a)];
        g.extend(partner);
        groups.push(g);
    }
    // ASSUMPTION: extra adults in larger households are mostly young adults living with parents
    let extra_w = |a: u32| if a < 30 { 4.0 } else { 1.0 };
    let n_multi = groups.len() - first_multi;
    let mut k = 0;
    while let Some(p) = pool.take_random(&mut rng, cmax + 1, MAX_AGE, &extra_w) {
        if n_multi == 0 {
            groups.push(vec![p]);
        } else {
            groups[first_multi + k % n_multi].push(p);
            k += 1;
        }
    }
    debug_assert_eq!(pool.total(0, MAX_AGE), 0);

    // 3. attributes
    groups.into_iter().map(|g| household_attributes(t, &mut rng, g)).collect()
}

fn household_attributes(t: &SynthTables, rng: &mut SplitMix64, g: Vec<(u32, u32)>) -> SynHousehold {
    let region = rng.pick(&t.region) as u32;
    let hrp_age = g.iter().map(|p| p.1).max().unwrap_or(0);
    let tenure = rng.pick(&t.tenure[hrp_age as usize]) as u32;
    let (private, social) = t.rents[region as usize];
    // ASSUMPTION: rents vary around the regional average with log sd 0.25 (private) / 0.15 (social)
    let rent = match tenure {
        OWNER => 0.0,
        SOCIAL_RENT => round_pence(lognormal(rng, social, 0.15)),
        _ => round_pence(lognormal(rng, private, 0.25)),
    };
    let members = g.into_iter().map(|(sex, age)| person_attributes(t, rng, sex, age)).collect();
    SynHousehold { region, tenure, rent, members }
}

fn person_attributes(t: &SynthTables, rng: &mut SplitMix64, sex: u32, age: u32) -> SynPerson {
    let band = age_band(age) as usize;
    let (prev, sev) = t.health[band];
    let health = if rng.chance(prev) {
        if rng.chance(sev) { SEVERE } else { LIMITING }
    } else {
        GOOD
    };
    let care = if health == GOOD {
        CARE_NONE
    } else {
        let (m, s) = t.care[band];
        let u = rng.f64() * prev;
        if u < s { CARE_SUBSTANTIAL } else if u < s + m { CARE_MODERATE } else { CARE_NONE }
    };
    let employment = if age < 16 {
        CHILD
    } else if rng.chance(t.education[age as usize]) {
        IN_EDUCATION
    } else {
        let (e, u) = t.labour[band][health as usize];
        let x = rng.f64();
        if x < e {
            EMPLOYED
        } else if age >= SYNTH_SPA_YEARS {
            RETIRED
        } else if x < e + u {
            UNEMPLOYED
        } else {
            INACTIVE
        }
    };
    let earnings = if employment == EMPLOYED {
        let (med, sd) = t.earnings[band][sex as usize];
        round_pence(lognormal(rng, med, sd).min(crate::state::EARNINGS_CAP as f64 / 100.0))
    } else {
        0.0
    };
    let (zero, med, sd) = t.wealth[band];
    let wealth = if rng.chance(zero) { 0.0 } else { lognormal(rng, med, sd).round().min(1.0e9) };
    SynPerson { age, sex, employment, health, care, earnings, wealth }
}

pub fn persons_schema() -> SchemaRef {
    let d = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    Arc::new(Schema::new(vec![
        Field::new("person_id", DataType::UInt64, false),
        Field::new("household_id", DataType::UInt64, false),
        Field::new("age", DataType::UInt8, false),
        Field::new("sex", d.clone(), false),
        Field::new("employment", d.clone(), false),
        Field::new("earnings", DataType::Float64, false),
        Field::new("health", d.clone(), false),
        Field::new("care_need", d, false),
        Field::new("wealth", DataType::Float64, false),
    ]))
}

pub fn households_schema() -> SchemaRef {
    let d = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    Arc::new(Schema::new(vec![
        Field::new("household_id", DataType::UInt64, false),
        Field::new("region", d.clone(), false),
        Field::new("tenure", d, false),
        Field::new("rent", DataType::Float64, false),
        Field::new("weight", DataType::UInt32, false),
    ]))
}

/// Record batches for a chunk whose first household and person ids are given.
pub fn chunk_batches(hhs: &[SynHousehold], first_hh: u64, first_person: u64, weight: u32) -> (RecordBatch, RecordBatch) {
    let n: usize = hhs.iter().map(|h| h.members.len()).sum();
    let (mut pid, mut phid, mut age, mut sex, mut emp, mut earn, mut hl, mut care, mut wealth) =
        (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let mut next = first_person;
    for (k, h) in hhs.iter().enumerate() {
        for p in &h.members {
            pid.push(next);
            next += 1;
            phid.push(first_hh + k as u64);
            age.push(p.age as u8);
            sex.push(p.sex as i32);
            emp.push(p.employment as i32);
            earn.push(p.earnings);
            hl.push(p.health as i32);
            care.push(p.care as i32);
            wealth.push(p.wealth);
        }
    }
    let pcols: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from(pid)),
        Arc::new(UInt64Array::from(phid)),
        Arc::new(UInt8Array::from(age)),
        dict(sex, &SEX),
        dict(emp, &EMPLOYMENT),
        Arc::new(Float64Array::from(earn)),
        dict(hl, &HEALTH),
        dict(care, &CARE_NEED),
        Arc::new(Float64Array::from(wealth)),
    ];
    let m = hhs.len();
    let hcols: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from_iter_values((0..m as u64).map(|k| first_hh + k))),
        dict(hhs.iter().map(|h| h.region as i32).collect(), &REGIONS),
        dict(hhs.iter().map(|h| h.tenure as i32).collect(), &TENURE),
        Arc::new(Float64Array::from_iter_values(hhs.iter().map(|h| h.rent))),
        Arc::new(UInt32Array::from(vec![weight; m])),
    ];
    (
        RecordBatch::try_new(persons_schema(), pcols).expect("schema matches"),
        RecordBatch::try_new(households_schema(), hcols).expect("schema matches"),
    )
}

/// Write a synthetic population to `out/persons.parquet` and `out/households.parquet`.
/// `progress(persons_written, total)` is called after each chunk.
pub fn synth(opts: &SynthOptions, out: &Path, progress: &(dyn Fn(u64, u64) + Sync)) -> Result<SynthSummary> {
    if opts.persons == 0 {
        return Err(Error::Config("--persons must be at least 1".into()));
    }
    if opts.weight == 0 {
        return Err(Error::Config("--weight must be at least 1".into()));
    }
    let t = SynthTables::load(&opts.data_dir)?;
    crate::output::prepare_dir(out)?;
    let (pp, hp) = crate::input::paths(out);
    let (ps, hs) = (Staged::new(&pp), Staged::new(&hp));
    let props = writer_props();
    let mut pw = RowGroupWriter::new(&ps, persons_schema(), props.clone())?;
    let mut hw = RowGroupWriter::new(&hs, households_schema(), props)?;
    let chunks = opts.persons.div_ceil(CHUNK_PERSONS);
    let size = |c: u64| CHUNK_PERSONS.min(opts.persons - c * CHUNK_PERSONS);
    let mut summary = SynthSummary::default();
    let (mut next_hh, mut next_p) = (1u64, 1u64);
    let group = rayon::current_num_threads().max(1) as u64;
    let mut c = 0;
    while c < chunks {
        let built: Vec<Vec<SynHousehold>> = (c..(c + group).min(chunks)).into_par_iter().map(|k| build_chunk(&t, size(k), opts.seed, k)).collect();
        // each chunk's first ids, then its two row groups (persons, households) built and
        // encoded on every thread, and appended in order: a chunk, a row group in each file
        let mut firsts = Vec::with_capacity(built.len());
        for hhs in &built {
            firsts.push((next_hh, next_p));
            next_hh += hhs.len() as u64;
            next_p += hhs.iter().map(|h| h.members.len() as u64).sum::<u64>();
            for h in hhs {
                summary.one_person_households += (h.members.len() == 1) as u64;
                summary.tenure[h.tenure as usize] += 1;
            }
            summary.households += hhs.len() as u64;
        }
        let (p0, h0) = (pw.next_index(), hw.next_index());
        let encoded: Vec<Result<(EncodedGroup, EncodedGroup)>> = built
            .par_iter()
            .zip(firsts)
            .enumerate()
            .map(|(i, (hhs, (first_hh, first_p)))| {
                let (pb, hb) = chunk_batches(hhs, first_hh, first_p, opts.weight);
                Ok((pw.encode(p0 + i, [Ok(pb)])?, hw.encode(h0 + i, [Ok(hb)])?))
            })
            .collect();
        for e in encoded {
            let (pg, hg) = e?;
            summary.persons += pw.append(pg)? as u64;
            hw.append(hg)?;
            progress(summary.persons, opts.persons);
        }
        c += group;
    }
    pw.close()?;
    hw.close()?;
    hs.commit()?;
    ps.commit()?;
    Ok(summary)
}
