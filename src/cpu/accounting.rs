//! Stage `accounting` (MODEL.md §3 step 9): weighted integer sums of the end-of-month state
//! and this month's money into cells of (region, age band, sex). Twin of
//! `shaders/accounting.wgsl`. Household amounts are counted at the household reference person
//! (the household's first member). Sums are u64 and order-independent.
//!
//! The CPU path counts persons and households in separate loops (the shader counts a
//! household at its first member), and on its fused month plan counts each person in the fused
//! pass ([`person_measures`], `src/cpu/fused.rs`) and the households after the services stage
//! ([`households`]).

use super::CHUNK;
use crate::codes::*;
use crate::rng::BLOCK;
use crate::measures::{cell, Acc, M, N_CELLS};
use crate::state::*;
use rayon::prelude::*;

/// Persons by (cell, employment, health, care need), weighted: one add per person stands for
/// four measures (population, employment, health and care-need counts), expanded by
/// [`States::add_to`] once per task.
const N_STATES: usize = 6 * 3 * 3;
/// Persons by (cell, care funding, receives state pension, receives disability benefit),
/// weighted: one add per person stands for the five caseloads of these (care funding is a
/// 2-bit field: four values).
const N_FLAGS: usize = 4 * 2 * 2;

/// A task's counts of persons by state ([`N_STATES`] per cell, then [`N_FLAGS`] per cell).
pub struct States(Vec<u64>);

impl Default for States {
    fn default() -> States {
        States::new()
    }
}

impl States {
    pub fn new() -> States {
        States(vec![0; N_CELLS * (N_STATES + N_FLAGS)])
    }
    #[inline(always)]
    fn add(&mut self, c: usize, s: u32, sp: u32, dis: u32, w: u64) {
        let k = (employment(s) as usize * 3 + health(s) as usize) * 3 + care(s) as usize;
        self.0[c * N_STATES + k] += w;
        let f = (care_funding(s) as usize * 2 + (sp > 0) as usize) * 2 + (dis > 0) as usize;
        self.0[N_CELLS * N_STATES + c * N_FLAGS + f] += w;
    }
    pub fn add_to(&self, acc: &mut Acc) {
        const EMP: [M; 6] = [M::Child, M::InEducation, M::Employed, M::Unemployed, M::Inactive, M::Retired];
        const HEALTH: [M; 3] = [M::HealthGood, M::HealthLimiting, M::HealthSevere];
        const CARE: [M; 3] = [M::CareNone, M::CareModerate, M::CareSubstantial];
        for c in 0..N_CELLS {
            for (k, &w) in self.0[c * N_STATES..(c + 1) * N_STATES].iter().enumerate() {
                if w != 0 {
                    acc.add(c, M::Population, w);
                    acc.add(c, EMP[k / 9], w);
                    acc.add(c, HEALTH[k / 3 % 3], w);
                    acc.add(c, CARE[k % 3], w);
                }
            }
            let flags = &self.0[N_CELLS * N_STATES + c * N_FLAGS..N_CELLS * N_STATES + (c + 1) * N_FLAGS];
            for (f, &w) in flags.iter().enumerate() {
                if w != 0 {
                    let (funding, sp, dis) = (f as u32 / 4, f / 2 % 2 == 1, f % 2 == 1);
                    let mut row = acc.row(c);
                    row.add(M::StatePensionCaseload, w * sp as u64);
                    row.add(M::DisabilityCaseload, w * dis as u64);
                    row.add(M::CareEligible, w * (funding != FUNDING_NONE) as u64);
                    row.add(M::CareSelfFunderCaseload, w * (funding == FUNDING_SELF) as u64);
                    row.add(M::CareCouncilCaseload, w * (funding == FUNDING_COUNCIL) as u64);
                }
            }
        }
    }
}

/// A person's own measures (counted at the person's cell): states, earnings, tax, NI, state
/// pension, disability benefit and social-care funding. Without branches: the counts and
/// caseloads go to `states` (two adds, expanded once per task), the money is added as it is
/// (zero adds nothing), which leaves the sums as the conditional adds of the shader leave them.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn person_measures(c: usize, w: u64, s: u32, earnings: u32, tax: u32, ni: u32, sp: u32, dis: u32, care_tariff: u32, acc: &mut Acc, states: &mut States) {
    states.add(c, s, sp, dis, w);
    let mut acc = acc.row(c);
    acc.add(M::Earnings, w * earnings as u64);
    acc.add(M::IncomeTax, w * tax as u64);
    acc.add(M::Ni, w * ni as u64);
    acc.add(M::StatePension, w * sp as u64);
    acc.add(M::Disability, w * dis as u64);
    // the tariff is zero unless council-supported (person_policy::care_means_test)
    acc.add(M::CareTariff, w * care_tariff as u64);
}

/// A block's lanes for [`person_block`]: the household weights (filled by the caller), then
/// each person's row in the accumulator, state-count and caseload-count indices, and weighted
/// amounts.
pub struct Lanes {
    pub w: [u32; BLOCK],
    row: [u32; BLOCK],
    state: [u32; BLOCK],
    flags: [u32; BLOCK],
    money: [[u64; BLOCK]; 6],
}

impl Default for Lanes {
    fn default() -> Lanes {
        Lanes { w: [0; BLOCK], row: [0; BLOCK], state: [0; BLOCK], flags: [0; BLOCK], money: [[0; BLOCK]; 6] }
    }
}

/// The measures of [`person_measures`] for a block of persons: the indices and weighted amounts
/// computed lane by lane ([`person_lanes`], vectorised), then added one person at a time.
/// `money` holds earnings, income tax, NI, state pension, disability benefit and care tariff.
#[allow(clippy::too_many_arguments)]
pub fn person_block(info: &[u32], age: &[u32], st: &[u32], money: [&[u32]; 6], ml: &mut Lanes, acc: &mut Acc, states: &mut States) {
    let n = st.len();
    match crate::simd::level() {
        // SAFETY: the CPU has the instructions of the level (`simd::level` checked them).
        #[cfg(target_arch = "x86_64")]
        crate::simd::Level::Avx512 => unsafe { person_lanes_avx512(info, age, st, money, ml) },
        #[cfg(target_arch = "x86_64")]
        crate::simd::Level::Avx2 => unsafe { person_lanes_avx2(info, age, st, money, ml) },
        _ => person_lanes(info, age, st, money, ml),
    }
    const MONEY: [M; 6] = [M::Earnings, M::IncomeTax, M::Ni, M::StatePension, M::Disability, M::CareTariff];
    for k in 0..n {
        let w = ml.w[k] as u64;
        states.0[ml.state[k] as usize] += w;
        states.0[ml.flags[k] as usize] += w;
        let mut row = acc.row(ml.row[k] as usize);
        for (j, &m) in MONEY.iter().enumerate() {
            row.add(m, ml.money[j][k]);
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl,avx512dq")]
unsafe fn person_lanes_avx512(info: &[u32], age: &[u32], st: &[u32], money: [&[u32]; 6], ml: &mut Lanes) {
    person_lanes(info, age, st, money, ml)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn person_lanes_avx2(info: &[u32], age: &[u32], st: &[u32], money: [&[u32]; 6], ml: &mut Lanes) {
    person_lanes(info, age, st, money, ml)
}

#[inline(always)]
fn person_lanes(info: &[u32], age: &[u32], st: &[u32], money: [&[u32]; 6], ml: &mut Lanes) {
    let n = st.len();
    let (info, age, w) = (&info[..n], &age[..n], &ml.w[..n]);
    let (row, state, flags) = (&mut ml.row[..n], &mut ml.state[..n], &mut ml.flags[..n]);
    for k in 0..n {
        let s = st[k];
        let c = cell(region(info[k]), age_band_by_bounds(age[k] / 12), sex(s)) as u32;
        row[k] = c;
        state[k] = c * N_STATES as u32 + (employment(s) * 3 + health(s)) * 3 + care(s);
    }
    // the caseload flags need the amounts: state pension and disability benefit
    let (sp, dis) = (&money[3][..n], &money[4][..n]);
    for k in 0..n {
        let f = (care_funding(st[k]) * 2 + (sp[k] > 0) as u32) * 2 + (dis[k] > 0) as u32;
        flags[k] = (N_CELLS * N_STATES) as u32 + row[k] * N_FLAGS as u32 + f;
    }
    for (out, src) in ml.money.iter_mut().zip(money) {
        let (out, src) = (&mut out[..n], &src[..n]);
        for k in 0..n {
            out[k] = w[k] as u64 * src[k] as u64;
        }
    }
}

/// A household's measures, counted at its first member's cell.
#[inline(always)]
fn household_measures(h: usize, c: usize, hh: &Households, hout: &HouseholdOut, ta_cost: u32, acc: &mut Acc) {
    let w = hh.weight[h] as u64;
    let mut acc = acc.row(c);
    acc.add(M::Households, w);
    acc.add(M::NetIncome, w * hout.net_income[h] as u64);
    let pairs = [
        (hout.universal_credit[h], M::UcCaseload, M::Uc),
        (hout.pension_credit[h], M::PcCaseload, M::Pc),
        (hout.child_benefit[h], M::CbCaseload, M::Cb),
        (hout.cap_reduction[h], M::CapCaseload, M::CapReduction),
    ];
    for (amount, caseload, money) in pairs {
        acc.add(caseload, w * (amount > 0) as u64);
        acc.add(money, w * amount as u64);
    }
    acc.add(M::Hicbc, w * hout.hicbc[h] as u64);
    let t = tenure(hh.info[h]);
    let arrears = (t == PRIVATE_RENT || t == SOCIAL_RENT) && hh.arrears[h] > 0;
    acc.add(M::InArrears, w * arrears as u64);
    acc.add(M::Arrears, w * arrears as u64 * hh.arrears[h] as u64);
    acc.add(M::Homeless, w * (t == HOMELESS) as u64);
    acc.add(M::Ta, w * (t == TEMPORARY) as u64);
    acc.add(M::TaCost, w * (t == TEMPORARY) as u64 * ta_cost as u64);
}

/// The stage: every person's measures, then every household's.
pub fn accounting(persons: &Persons, pout: &PersonOut, hh: &Households, hout: &HouseholdOut, ta_cost: u32) -> Acc {
    let n = persons.len();
    // fold, not map: one accumulator per rayon task rather than per chunk
    let acc = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .fold(
            || (Acc::default(), States::new()),
            |(mut acc, mut states), c| {
                for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
                    let h = persons.household[i] as usize;
                    let s = persons.status[i];
                    let cl = cell(region(hh.info[h]), age_band(persons.age_months[i] / 12), sex(s));
                    let (earn, tax, ni, sp, dis, care) = (persons.earnings[i], pout.income_tax[i], pout.ni[i], pout.state_pension[i], pout.disability[i], pout.care_tariff[i]);
                    person_measures(cl, hh.weight[h] as u64, s, earn, tax, ni, sp, dis, care, &mut acc, &mut states);
                }
                (acc, states)
            },
        )
        .map(|(mut acc, states)| {
            states.add_to(&mut acc);
            acc
        })
        .reduce(Acc::default, |a, b| a.merge(&b));
    acc.merge(&households(persons, hh, hout, ta_cost))
}

/// Every household's measures (those with members), at its first member's cell.
pub fn households(persons: &Persons, hh: &Households, hout: &HouseholdOut, ta_cost: u32) -> Acc {
    let n = hh.count();
    (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .fold(Acc::default, |mut acc, c| {
            for h in c * CHUNK..((c + 1) * CHUNK).min(n) {
                if hh.len[h] == 0 {
                    continue;
                }
                let i = hh.start[h] as usize;
                let cl = cell(region(hh.info[h]), age_band(persons.age_months[i] / 12), sex(persons.status[i]));
                household_measures(h, cl, hh, hout, ta_cost, &mut acc);
            }
            acc
        })
        .reduce(Acc::default, |a, b| a.merge(&b))
}
