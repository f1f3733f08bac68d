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
/// [`States::add_to`] once per thread of the pass.
const N_STATES: usize = 6 * 3 * 3;
/// Persons by (cell, care funding, receives state pension, receives disability benefit),
/// weighted: one add per person stands for the five caseloads of these (care funding is a
/// 2-bit field: four values).
const N_FLAGS: usize = 4 * 2 * 2;

/// Copies of a thread's tables that [`person_block`] adds into, person k into copy k % COPIES: a
/// person's adds then do not wait for the previous person's to the same cell, which is common
/// (members of a household are neighbours and often share a cell). Two, not four: the fused
/// pass's per-thread tables and scratch already fill more than L1, and two copies measured
/// about 6% faster for the pass than four (benches/README.md, tenth session).
const COPIES: usize = 2;
/// Words of one copy of the state and caseload counts.
const STRIDE: usize = N_CELLS * (N_STATES + N_FLAGS);
/// The persons' money measures, in [`States::money`] order.
const MONEY: [M; 6] = [M::Earnings, M::IncomeTax, M::Ni, M::StatePension, M::Disability, M::CareTariff];

/// A thread's counts of persons by state (`N_STATES` per cell, then `N_FLAGS` per cell), in
/// `COPIES` copies, and the persons' money measures by cell (`MONEY`, in as many copies).
pub struct States(Vec<u64>, Vec<[u64; 8]>);

impl Default for States {
    fn default() -> States {
        States::new()
    }
}

impl States {
    pub fn new() -> States {
        States(vec![0; COPIES * STRIDE], vec![[0; 8]; COPIES * N_CELLS])
    }
    #[inline(always)]
    fn add(&mut self, c: usize, s: u32, sp: u32, dis: u32, w: u64) {
        let k = (employment(s) as usize * 3 + health(s) as usize) * 3 + care(s) as usize;
        self.0[c * N_STATES + k] += w;
        let f = (care_funding(s) as usize * 2 + (sp > 0) as usize) * 2 + (dis > 0) as usize;
        self.0[N_CELLS * N_STATES + c * N_FLAGS + f] += w;
    }
    pub fn add_to(&self, acc: &mut Acc) {
        let mut sum = self.0[..STRIDE].to_vec();
        for copy in self.0.chunks(STRIDE).skip(1) {
            sum.iter_mut().zip(copy).for_each(|(a, b)| *a += b);
        }
        for (k, m) in self.1.iter().enumerate() {
            let mut row = acc.row(k % N_CELLS);
            for (&measure, &v) in MONEY.iter().zip(m) {
                row.add(measure, v);
            }
        }
        const EMP: [M; 6] = [M::Child, M::InEducation, M::Employed, M::Unemployed, M::Inactive, M::Retired];
        const HEALTH: [M; 3] = [M::HealthGood, M::HealthLimiting, M::HealthSevere];
        const CARE: [M; 3] = [M::CareNone, M::CareModerate, M::CareSubstantial];
        for c in 0..N_CELLS {
            for (k, &w) in sum[c * N_STATES..(c + 1) * N_STATES].iter().enumerate() {
                if w != 0 {
                    acc.add(c, M::Population, w);
                    acc.add(c, EMP[k / 9], w);
                    acc.add(c, HEALTH[k / 3 % 3], w);
                    acc.add(c, CARE[k % 3], w);
                }
            }
            let flags = &sum[N_CELLS * N_STATES + c * N_FLAGS..N_CELLS * N_STATES + (c + 1) * N_FLAGS];
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
/// caseloads go to `states` (two adds, expanded once per thread), the money is added as it is
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
/// each person's row in the accumulator, state-count and caseload-count indices.
pub struct Lanes {
    pub w: [u32; BLOCK],
    row: [u32; BLOCK],
    state: [u32; BLOCK],
    flags: [u32; BLOCK],
}

impl Default for Lanes {
    fn default() -> Lanes {
        Lanes { w: [0; BLOCK], row: [0; BLOCK], state: [0; BLOCK], flags: [0; BLOCK] }
    }
}

/// The measures of [`person_measures`] for a block of persons: the indices computed lane by
/// lane (`person_lanes`, vectorised), then each person's counts and weighted amounts added one
/// person at a time into the thread's `states` (counts and money by cell, in `COPIES` copies;
/// [`States::add_to`] expands them into measures).
/// `money` holds earnings, income tax, NI, state pension, disability benefit and care tariff.
#[allow(clippy::too_many_arguments)]
pub fn person_block(info: &[u32], age: &[u32], st: &[u32], money: [&[u32]; 6], ml: &mut Lanes, states: &mut States) {
    let n = st.len();
    person_lanes_at(crate::simd::level(), info, age, st, [money[3], money[4]], ml);
    let cols: [&[u32]; 6] = money.map(|c| &c[..n]);
    let (counts, money) = (&mut states.0, &mut states.1);
    for k in 0..n {
        let w = ml.w[k] as u64;
        let copy = k % COPIES;
        counts[copy * STRIDE + ml.state[k] as usize] += w;
        counts[copy * STRIDE + ml.flags[k] as usize] += w;
        // the weighted amounts multiplied here rather than kept in lanes of their own (12 KB
        // less for the pass to hold in L1; measured faster, benches/README.md)
        let m = &mut money[copy * N_CELLS + ml.row[k] as usize];
        for (v, col) in m.iter_mut().zip(cols) {
            *v += w * col[k] as u64;
        }
    }
}

crate::simd::at_level!(fn person_lanes_at(info: &[u32], age: &[u32], st: &[u32], sp_dis: [&[u32]; 2], ml: &mut Lanes) = person_lanes);

/// A block's accumulator rows, state-count and caseload-count indices (`sp_dis`: the state
/// pension and disability benefit amounts, which the caseload flags need).
#[inline(always)]
fn person_lanes(info: &[u32], age: &[u32], st: &[u32], sp_dis: [&[u32]; 2], ml: &mut Lanes) {
    let n = st.len();
    let (info, age) = (&info[..n], &age[..n]);
    let (row, state, flags) = (&mut ml.row[..n], &mut ml.state[..n], &mut ml.flags[..n]);
    for k in 0..n {
        let s = st[k];
        let c = cell(region(info[k]), age_band_by_bounds(age[k] / 12), sex(s)) as u32;
        row[k] = c;
        state[k] = c * N_STATES as u32 + (employment(s) * 3 + health(s)) * 3 + care(s);
    }
    let (sp, dis) = (&sp_dis[0][..n], &sp_dis[1][..n]);
    for k in 0..n {
        let f = (care_funding(st[k]) * 2 + (sp[k] > 0) as u32) * 2 + (dis[k] > 0) as u32;
        flags[k] = (N_CELLS * N_STATES) as u32 + row[k] * N_FLAGS as u32 + f;
    }
}

/// A household's measures, counted at its first member's cell (the reference
/// [`households`] is tested against; the shader's rules).
#[cfg(test)]
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
    let pt = super::PerThread::new(|| (Acc::default(), States::new()));
    (0..n.div_ceil(CHUNK)).into_par_iter().for_each(|c| {
        pt.with(|(acc, states)| {
            for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
                let h = persons.household[i] as usize;
                let s = persons.status[i];
                let cl = cell(region(hh.info[h]), age_band(persons.age_months[i] / 12), sex(s));
                let (earn, tax, ni, sp, dis, care) = (persons.earnings[i], pout.income_tax[i], pout.ni[i], pout.state_pension[i], pout.disability[i], pout.care_tariff[i]);
                person_measures(cl, hh.weight[h] as u64, s, earn, tax, ni, sp, dis, care, acc, states);
            }
        })
    });
    let acc = pt.sum(|(mut acc, states)| {
        states.add_to(&mut acc);
        acc
    });
    acc.merge(&households(persons, hh, hout, ta_cost))
}

/// Households by (cell, which of UC, Pension Credit, child benefit and the cap reduction are
/// paid, in arrears, tenure class: other, temporary accommodation, homeless): one add per
/// household stands for its eight counts and caseloads.
const N_HH_FLAGS: usize = 32 * 3;

/// Every household's measures (those with members), at its first member's cell. By block of
/// households: each household's cell, flag index and weighted amounts computed lane by lane
/// (`household_lanes`, vectorised), then added one household at a time; the counts by flag
/// expanded once per thread.
pub fn households(persons: &Persons, hh: &Households, hout: &HouseholdOut, ta_cost: u32) -> Acc {
    let n = hh.count();
    let pt = super::PerThread::new(|| (Acc::default(), vec![0u64; N_CELLS * N_HH_FLAGS], Box::new(HouseholdLanes::default())));
    (0..n.div_ceil(CHUNK)).into_par_iter().for_each(|c| {
        pt.with(|(acc, flags, hl)| {
            for h0 in (c * CHUNK..((c + 1) * CHUNK).min(n)).step_by(BLOCK) {
                let m = BLOCK.min(n - h0);
                let hs = h0..h0 + m;
                let amounts = [&hout.net_income[hs.clone()], &hout.universal_credit[hs.clone()], &hout.pension_credit[hs.clone()], &hout.child_benefit[hs.clone()], &hout.cap_reduction[hs.clone()], &hout.hicbc[hs.clone()]];
                let house = HouseholdCols {
                    info: &hh.info[hs.clone()],
                    weight: &hh.weight[hs.clone()],
                    start: &hh.start[hs.clone()],
                    len: &hh.len[hs.clone()],
                    arrears: &hh.arrears[hs.clone()],
                    age: &persons.age_months,
                    status: &persons.status,
                };
                household_lanes_at(crate::simd::level(), &house, [amounts[1], amounts[2], amounts[3], amounts[4]], ta_cost, hl);
                // the benefit amounts weighted here rather than kept in lanes of their own (as
                // the persons' accounting)
                const MONEY: [M; 6] = [M::NetIncome, M::Uc, M::Pc, M::Cb, M::CapReduction, M::Hicbc];
                let amounts = amounts.map(|a| &a[..m]);
                for k in 0..m {
                    let w = hl.w[k];
                    flags[hl.flag[k] as usize] += w;
                    let mut row = acc.row(hl.row[k] as usize);
                    for (&mm, a) in MONEY.iter().zip(amounts) {
                        row.add(mm, w * a[k] as u64);
                    }
                    row.add(M::Arrears, hl.arrears[k]);
                    row.add(M::TaCost, hl.ta_cost[k]);
                }
            }
        })
    });
    pt.sum(|(mut acc, flags, _)| {
        for c in 0..N_CELLS {
            for (f, &w) in flags[c * N_HH_FLAGS..(c + 1) * N_HH_FLAGS].iter().enumerate() {
                if w == 0 {
                    continue;
                }
                let (bits, class) = (f % 32, f / 32);
                let mut row = acc.row(c);
                row.add(M::Households, w);
                row.add(M::UcCaseload, w * (bits & 1) as u64);
                row.add(M::PcCaseload, w * (bits >> 1 & 1) as u64);
                row.add(M::CbCaseload, w * (bits >> 2 & 1) as u64);
                row.add(M::CapCaseload, w * (bits >> 3 & 1) as u64);
                row.add(M::InArrears, w * (bits >> 4 & 1) as u64);
                row.add(M::Ta, w * (class == 1) as u64);
                row.add(M::Homeless, w * (class == 2) as u64);
            }
        }
        acc
    })
}

/// A block of households' columns for [`household_lanes`], and every person's age and status
/// (the households' first members are looked up in them).
struct HouseholdCols<'a> {
    info: &'a [u32],
    weight: &'a [u32],
    start: &'a [u32],
    len: &'a [u32],
    arrears: &'a [u32],
    age: &'a [u32],
    status: &'a [u32],
}

/// A block's lanes for [`households`]: each household's weight (0 if it has no members),
/// accumulator row, flag index, and weighted arrears and TA cost.
struct HouseholdLanes {
    w: [u64; BLOCK],
    row: [u32; BLOCK],
    flag: [u32; BLOCK],
    arrears: [u64; BLOCK],
    ta_cost: [u64; BLOCK],
}

impl Default for HouseholdLanes {
    fn default() -> HouseholdLanes {
        HouseholdLanes { w: [0; BLOCK], row: [0; BLOCK], flag: [0; BLOCK], arrears: [0; BLOCK], ta_cost: [0; BLOCK] }
    }
}

crate::simd::at_level!(fn household_lanes_at(house: &HouseholdCols, benefits: [&[u32]; 4], ta_cost: u32, hl: &mut HouseholdLanes) = household_lanes);

/// The lane values of [`household_measures`] for a block of households: the same sums, a
/// caseload as the weight times 0 or 1, counted through the flag index (`benefits`: UC,
/// Pension Credit, child benefit and the cap reduction, whose caseloads the flags count).
#[inline(always)]
fn household_lanes(house: &HouseholdCols, benefits: [&[u32]; 4], ta_cost: u32, hl: &mut HouseholdLanes) {
    let m = house.info.len();
    let (info, weight, start, len, arrears) = (&house.info[..m], &house.weight[..m], &house.start[..m], &house.len[..m], &house.arrears[..m]);
    let [uc, pc, cb, cap] = benefits.map(|a| &a[..m]);
    // the first member's age and status, gathered without a branch: an empty household (its
    // weight is 0, so its cell adds nothing) reads whichever person its start names, clamped
    // to the last; with no persons left at all, nothing is read
    let last = house.age.len().min(house.status.len());
    if last == 0 {
        hl.w[..m].fill(0);
        hl.row[..m].fill(0);
    } else {
        let (age, status) = (&house.age[..last], &house.status[..last]);
        for k in 0..m {
            let i = (start[k] as usize).min(last - 1);
            hl.w[k] = if len[k] > 0 { weight[k] as u64 } else { 0 };
            hl.row[k] = cell(region(info[k]), age_band_by_bounds(age[i] / 12), sex(status[i])) as u32;
        }
    }
    for k in 0..m {
        let t = tenure(info[k]);
        let in_arrears = (t == PRIVATE_RENT || t == SOCIAL_RENT) && arrears[k] > 0;
        let bits = (uc[k] > 0) as u32 | ((pc[k] > 0) as u32) << 1 | ((cb[k] > 0) as u32) << 2 | ((cap[k] > 0) as u32) << 3 | (in_arrears as u32) << 4;
        let class = (t == TEMPORARY) as u32 + 2 * (t == HOMELESS) as u32;
        hl.flag[k] = hl.row[k] * N_HH_FLAGS as u32 + class * 32 + bits;
        let w = hl.w[k];
        hl.arrears[k] = w * in_arrears as u64 * arrears[k] as u64;
        hl.ta_cost[k] = w * (t == TEMPORARY) as u64 * ta_cost as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// [`households`] (by lanes, at the CPU's level) against [`household_measures`] household by
    /// household, on random households: empty ones, every tenure, amounts zero or not.
    #[test]
    fn households_by_lanes_match_the_household_rule() {
        let mut r = SplitMix64::new(12, 5);
        for trial in 0..10 {
            let n_h = 1 + r.below(3 * BLOCK as u64) as usize;
            let mut hh = Households::default();
            let mut persons = Persons::default();
            let mut hout = HouseholdOut::default();
            hout.resize(n_h);
            let maybe = |r: &mut SplitMix64| if r.below(2) == 0 { 0 } else { r.below(1_000_000) as u32 };
            for h in 0..n_h {
                let len = r.below(4) as u32;
                hh.id.push(h as u64);
                hh.info.push(pack_info(r.below(12) as u32, r.below(5) as u32));
                hh.weight.push(1 + r.below(1000) as u32);
                hh.rent.push(0);
                hh.start.push(if len > 0 { persons.len() as u32 } else { u32::MAX });
                hh.len.push(len);
                for _ in 0..len {
                    let st = pack_status(r.below(2) as u32, r.below(6) as u32, r.below(3) as u32, r.below(3) as u32);
                    persons.push(r.next_u64() >> 1, h as u32, r.below(MAX_AGE_MONTHS as u64 + 1) as u32, st, 0, 0);
                }
                for v in [&mut hout.net_income, &mut hout.universal_credit, &mut hout.pension_credit, &mut hout.child_benefit, &mut hout.cap_reduction, &mut hout.hicbc] {
                    v[h] = maybe(&mut r);
                }
            }
            hh.init_housing();
            for h in 0..n_h {
                hh.arrears[h] = maybe(&mut r);
            }
            let ta_cost = r.below(100_000) as u32;
            let mut want = Acc::default();
            for h in 0..n_h {
                if hh.len[h] > 0 {
                    let i = hh.start[h] as usize;
                    let cl = cell(region(hh.info[h]), age_band(persons.age_months[i] / 12), sex(persons.status[i]));
                    household_measures(h, cl, &hh, &hout, ta_cost, &mut want);
                }
            }
            assert_eq!(households(&persons, &hh, &hout, ta_cost), want, "trial {trial}");
        }
    }
}
