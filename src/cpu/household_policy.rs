//! Stage `household_policy` (MODEL.md §3 steps 4–5, household rules): household finances
//! summed over members, then the means-tested benefits of the benefit unit (the household):
//! the Universal-Credit-like benefit with its taper, work allowance, child elements with the
//! two-child limit, housing element capped at the Local Housing Allowance, capital rules and
//! the benefit cap; the Pension Credit guarantee; child benefit with the high income charge;
//! and household net income. Twin of `shaders/household_policy.wgsl` (one invocation per
//! household, looping over its contiguous members).
//!
//! [`finances`] and [`benefits`] are the rules household by household, line for line with the
//! WGSL. The CPU driver runs them a second time as a block kernel (`kernel`): 16 households
//! at a time, round r adding each household's r-th member, every branch a select, so the
//! compiler vectorises it; a test compares the two household by household.
//!
//! Simplifications, documented in the README: the household is the benefit unit; the first two
//! adults form the couple and further adults only add income and capital; every adult's
//! earnings count; income tax is attributed to earnings first when netting them.

use super::{Ctx, CHUNK};
use crate::codes::*;
use crate::fixed::{ceil_div, mul_bp, mul_div, mul_div_limbs, mul_sat, BP};
use crate::tables::{layout, SPA_FROM_YEAR, SPA_LEN};
use crate::params::StepParams;
use crate::state::*;
use rayon::prelude::*;

/// What the benefit rules need to know about a household, summed over its members.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Finances {
    pub adults: u32,
    pub children: u32,
    /// Children born before the two-child-limit protection date.
    pub protected_children: u32,
    pub adults_below_spa: u32,
    /// Oldest adult's age in months.
    pub max_adult_age: u32,
    /// Gross earnings of all members.
    pub earnings: u32,
    /// Earnings net of income tax and NI (tax attributed to earnings first).
    pub net_earnings: u32,
    /// Unearned income counted by the means tests: state pension.
    pub unearned: u32,
    /// Adults' capital, whole pounds.
    pub capital: u32,
    /// Someone receives the disability benefit (exempts from the benefit cap).
    pub disability: bool,
    /// An adult in severe health (limited capability for work: gets a work allowance).
    pub lcw: bool,
    /// Highest adult gross monthly income (the high income child benefit charge falls on it).
    pub max_adult_income: u32,
    /// Sum over members of earnings + state pension + disability benefit − tax − NI.
    pub person_net: u32,
}

/// The household's benefits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Benefits {
    pub universal_credit: u32,
    pub pension_credit: u32,
    pub child_benefit: u32,
    pub hicbc: u32,
    pub cap_reduction: u32,
}

/// Universal Credit before the benefit cap.
#[inline(always)]
pub fn universal_credit(p: &StepParams, f: &Finances, region: u32, tenure: u32, rent: u32) -> u32 {
    if f.adults == 0 || f.adults_below_spa == 0 || f.capital > p.uc_capital_upper {
        return 0;
    }
    let older = f.max_adult_age >= p.uc_age_threshold;
    let standard = if f.adults >= 2 {
        if older { p.uc_couple_25 } else { p.uc_couple_u25 }
    } else if older {
        p.uc_single_25
    } else {
        p.uc_single_u25
    };
    let paid_children = if p.two_child_limit_on != 0 {
        f.protected_children.max(f.children.min(p.two_child_limit_count))
    } else {
        f.children
    };
    let mut child = paid_children * p.uc_child;
    if f.protected_children > 0 && paid_children > 0 {
        child += p.uc_child_first_higher.saturating_sub(p.uc_child);
    }
    let housing = if tenure == PRIVATE_RENT {
        rent.min(p.lha[region as usize])
    } else if tenure == OWNER || tenure == HOMELESS {
        0
    } else {
        rent
    };
    let maximum = standard.saturating_add(child).saturating_add(housing);
    let work_allowance = if f.children > 0 || f.lcw {
        if housing > 0 { p.uc_wa_housing } else { p.uc_wa_no_housing }
    } else {
        0
    };
    let earnings_deduction = mul_bp(f.net_earnings.saturating_sub(work_allowance), p.uc_taper_bp);
    let tariff = mul_sat(ceil_div(f.capital.saturating_sub(p.uc_capital_lower), 250), p.uc_capital_tariff);
    maximum.saturating_sub(earnings_deduction.saturating_add(f.unearned).saturating_add(tariff))
}

/// Pension Credit guarantee credit: for households whose adults are all over state pension age.
#[inline(always)]
pub fn pension_credit(p: &StepParams, f: &Finances) -> u32 {
    if f.adults == 0 || f.adults_below_spa > 0 {
        return 0;
    }
    let guarantee = if f.adults >= 2 { p.pc_couple } else { p.pc_single };
    let deemed = mul_sat(ceil_div(f.capital.saturating_sub(p.pc_capital_disregard), 500), p.pc_capital_tariff);
    guarantee.saturating_sub(f.net_earnings.saturating_add(f.unearned).saturating_add(deemed))
}

/// Child benefit (eldest + each additional child) and the high income charge: 1% of the child
/// benefit for each hundredth of the taper range by which the higher earner's annualised
/// income exceeds its start (1% per £200 between £60,000 and £80,000 in 2024-25).
#[inline(always)]
pub fn child_benefit(p: &StepParams, f: &Finances) -> (u32, u32) {
    if f.children == 0 {
        return (0, 0);
    }
    let cb = p.cb_eldest + (f.children - 1) * p.cb_additional;
    let income = f.max_adult_income * 12;
    if income <= p.hicbc_start {
        return (cb, 0);
    }
    let range = p.hicbc_end - p.hicbc_start;
    let over = (income - p.hicbc_start).min(range);
    let percent = mul_div(over, 100, range);
    (cb, mul_div(cb, percent, 100))
}

/// The benefit cap on Universal Credit + child benefit. Exempt: net earnings (after tax and
/// NI) at or above the earnings exemption, anyone receiving the disability benefit, an adult in
/// severe health (standing for limited capability for work and work-related activity). A
/// couple with one partner over state pension age on Universal Credit can be capped, as in
/// the real rules. Returns the reduction of Universal Credit.
#[inline(always)]
pub fn benefit_cap(p: &StepParams, f: &Finances, region: u32, uc: u32, cb: u32) -> u32 {
    if uc == 0 || f.net_earnings >= p.cap_earnings_exemption || f.disability || f.lcw {
        return 0;
    }
    let family = f.adults >= 2 || f.children > 0;
    let london = region == LONDON;
    let cap = match (family, london) {
        (false, false) => p.cap_single,
        (false, true) => p.cap_single_london,
        (true, false) => p.cap_family,
        (true, true) => p.cap_family_london,
    };
    let total = uc.saturating_add(cb);
    if total > cap { (total - cap).min(uc) } else { 0 }
}

/// All of a household's benefits from its finances.
#[inline(always)]
pub fn benefits(p: &StepParams, f: &Finances, region: u32, tenure: u32, rent: u32) -> Benefits {
    let uc = universal_credit(p, f, region, tenure, rent);
    let pc = pension_credit(p, f);
    let (cb, hicbc) = child_benefit(p, f);
    let cap = benefit_cap(p, f, region, uc, cb);
    Benefits { universal_credit: uc - cap, pension_credit: pc, child_benefit: cb, hicbc, cap_reduction: cap }
}

/// Sum a household's members (indices `start..start+len`) into its finances.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn finances(
    ctx: &Ctx,
    start: usize,
    len: usize,
    age_months: &[u32],
    status: &[u32],
    earnings: &[u32],
    wealth: &[u32],
    tax: &[u32],
    ni: &[u32],
    sp: &[u32],
    dis: &[u32],
) -> Finances {
    let p = ctx.p;
    let mut f = Finances::default();
    for i in start..start + len {
        let age_m = age_months[i];
        let s = status[i];
        let e = earnings[i];
        let deductions = tax[i] + ni[i];
        f.earnings = f.earnings.saturating_add(e);
        f.unearned = f.unearned.saturating_add(sp[i]);
        f.disability |= dis[i] > 0;
        f.person_net = f.person_net.saturating_add(e.saturating_add(sp[i]).saturating_add(dis[i]).saturating_sub(deductions));
        let birth_month = p.month.wrapping_sub(age_m);
        if is_dependent_child(age_m / 12, employment(s)) {
            f.children += 1;
            f.protected_children += (birth_month < p.two_child_protected_before) as u32;
        } else {
            f.adults += 1;
            f.adults_below_spa += (age_m < ctx.t.spa(birth_month)) as u32;
            f.max_adult_age = f.max_adult_age.max(age_m);
            f.net_earnings = f.net_earnings.saturating_add(e.saturating_sub(deductions));
            f.capital = f.capital.saturating_add(wealth[i]);
            f.lcw |= health(s) == SEVERE;
            f.max_adult_income = f.max_adult_income.max(e.saturating_add(sp[i]));
        }
    }
    f
}

/// Run the stage over every household. The CPU driver runs `kernel`: the rules of
/// [`finances`] and [`benefits`] for 16 households at a time, lane by lane, every branch a
/// select, which the compiler vectorises (the member loop runs as many rounds as the group's
/// largest household). A test compares it with the per-household functions.
pub fn household_policy(ctx: &Ctx, persons: &Persons, pout: &PersonOut, hh: &Households, out: &mut HouseholdOut) {
    out.resize(hh.count());
    if persons.is_empty() {
        // no members anywhere: every household's finances are empty
        let f = Finances::default();
        for h in 0..hh.count() {
            let b = benefits(ctx.p, &f, region(hh.info[h]), tenure(hh.info[h]), hh.rent[h]);
            out.universal_credit[h] = b.universal_credit;
            out.pension_credit[h] = b.pension_credit;
            out.child_benefit[h] = b.child_benefit;
            out.hicbc[h] = b.hicbc;
            out.cap_reduction[h] = b.cap_reduction;
            out.net_income[h] = net_income(&f, &b);
        }
        return;
    }
    // the parameters copied, so the compiler knows the kernel's stores cannot change them
    let p = *ctx.p;
    let spa_t: &[u32; SPA_LEN] = super::tab(&ctx.t.words, layout::SPA);
    let members = Members {
        age: &persons.age_months,
        status: &persons.status,
        earnings: &persons.earnings,
        wealth: &persons.wealth,
        tax: &pout.income_tax,
        ni: &pout.ni,
        sp: &pout.state_pension,
        dis: &pout.disability,
    };
    let HouseholdOut { universal_credit, pension_credit, child_benefit, hicbc, cap_reduction, net_income } = out;
    (
        universal_credit.par_chunks_mut(CHUNK),
        pension_credit.par_chunks_mut(CHUNK),
        child_benefit.par_chunks_mut(CHUNK),
        hicbc.par_chunks_mut(CHUNK),
        cap_reduction.par_chunks_mut(CHUNK),
        net_income.par_chunks_mut(CHUNK),
    )
        .into_par_iter()
        .enumerate()
        .for_each(|(c, (uc, pc, cb, charge, cap, net))| {
            let r = c * CHUNK..c * CHUNK + uc.len();
            let hs = HouseholdLanes { start: &hh.start[r.clone()], len: &hh.len[r.clone()], info: &hh.info[r.clone()], rent: &hh.rent[r] };
            kernel_at(crate::simd::level(), &p, spa_t, &members, &hs, [uc, pc, cb, charge, cap, net]);
        });
}

/// A household's net income: its members' net incomes and its benefits, less the charge.
#[inline(always)]
pub fn net_income(f: &Finances, b: &Benefits) -> u32 {
    f.person_net.saturating_add(b.universal_credit).saturating_add(b.pension_credit).saturating_add(b.child_benefit).saturating_sub(b.hicbc)
}

/// The persons' columns the member sums read (all the same length, at least 1).
pub struct Members<'a> {
    pub age: &'a [u32],
    pub status: &'a [u32],
    pub earnings: &'a [u32],
    pub wealth: &'a [u32],
    pub tax: &'a [u32],
    pub ni: &'a [u32],
    pub sp: &'a [u32],
    pub dis: &'a [u32],
}

/// The households' columns of a run of households (all the same length).
pub struct HouseholdLanes<'a> {
    pub start: &'a [u32],
    pub len: &'a [u32],
    pub info: &'a [u32],
    pub rent: &'a [u32],
}

/// Households per group of [`kernel`]: one vector of 16 u32 lanes with AVX-512, two with AVX2.
const LANES: usize = 16;

crate::simd::at_level!(
    /// `kernel` at a level of vector instructions (at most the CPU's). `out`: universal
    /// credit, pension credit, child benefit, the high income charge, the cap reduction and net
    /// income, each the households' length.
    pub fn kernel_at(p: &StepParams, spa_t: &[u32; SPA_LEN], m: &Members, hs: &HouseholdLanes, out: [&mut [u32]; 6]) = kernel
);

/// [`finances`] and [`benefits`] for a run of households, 16 at a time.
#[inline(always)]
fn kernel(p: &StepParams, spa_t: &[u32; SPA_LEN], m: &Members, hs: &HouseholdLanes, out: [&mut [u32]; 6]) {
    let n = hs.start.len();
    let [uc, pc, cb, charge, cap, net] = out;
    for g in (0..n).step_by(LANES) {
        let k_n = LANES.min(n - g);
        // the group's households, a partial group padded with empty households
        let mut start = [0u32; LANES];
        let mut len = [0u32; LANES];
        let mut info = [0u32; LANES];
        let mut rent = [0u32; LANES];
        start[..k_n].copy_from_slice(&hs.start[g..g + k_n]);
        len[..k_n].copy_from_slice(&hs.len[g..g + k_n]);
        info[..k_n].copy_from_slice(&hs.info[g..g + k_n]);
        rent[..k_n].copy_from_slice(&hs.rent[g..g + k_n]);
        let o = group(p, spa_t, m, &start, &len, &info, &rent);
        for (col, v) in [&mut *uc, &mut *pc, &mut *cb, &mut *charge, &mut *cap, &mut *net].into_iter().zip(&o) {
            col[g..g + k_n].copy_from_slice(&v[..k_n]);
        }
    }
}

/// One group of [`LANES`] households: the member sums (round r visits each household's r-th
/// member; a household with fewer visits its last again, not counted), then the benefit rules
/// as selects. The high income charge (a division by the taper range) is computed after, for
/// the few households it applies to.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn group(p: &StepParams, spa_t: &[u32; SPA_LEN], m: &Members, start: &[u32; LANES], len: &[u32; LANES], info: &[u32; LANES], rent: &[u32; LANES]) -> [[u32; LANES]; 6] {
    use super::sel;
    let np = m.age.len();
    assert!(np > 0);
    let (age, status, earnings, wealth) = (&m.age[..np], &m.status[..np], &m.earnings[..np], &m.wealth[..np]);
    let (tax, ni, sp, dis) = (&m.tax[..np], &m.ni[..np], &m.sp[..np], &m.dis[..np]);
    let mut adults = [0u32; LANES];
    let mut children = [0u32; LANES];
    let mut protected = [0u32; LANES];
    let mut below_spa = [0u32; LANES];
    let mut max_age = [0u32; LANES];
    let mut earn = [0u32; LANES];
    let mut net_earn = [0u32; LANES];
    let mut unearned = [0u32; LANES];
    let mut capital = [0u32; LANES];
    let mut disab = [false; LANES];
    let mut lcw = [false; LANES];
    let mut max_inc = [0u32; LANES];
    let mut person_net = [0u32; LANES];
    let rounds = len.iter().copied().max().unwrap_or(0);
    for r in 0..rounds {
        for k in 0..LANES {
            let i = (start[k].wrapping_add(r.min(len[k].saturating_sub(1))) as usize).min(np - 1);
            let on = r < len[k];
            let (a, s, e, sp) = (age[i], status[i], earnings[i], sp[i]);
            let d = dis[i];
            let deductions = tax[i].wrapping_add(ni[i]);
            let birth_month = p.month.wrapping_sub(a);
            // is_dependent_child: under 16, or under 20 in education
            let child = a < 16 * 12 || (a < 20 * 12 && employment(s) == IN_EDUCATION);
            let (kid, adult) = (on & child, on & !child);
            earn[k] = sel(on, earn[k].saturating_add(e), earn[k]);
            unearned[k] = sel(on, unearned[k].saturating_add(sp), unearned[k]);
            disab[k] |= on & (d > 0);
            person_net[k] = sel(on, person_net[k].saturating_add(e.saturating_add(sp).saturating_add(d).saturating_sub(deductions)), person_net[k]);
            children[k] += kid as u32;
            protected[k] += (kid & (birth_month < p.two_child_protected_before)) as u32;
            adults[k] += adult as u32;
            let spa = spa_t[(birth_month.saturating_sub(SPA_FROM_YEAR * 12).min(SPA_LEN as u32 - 1)) as usize];
            below_spa[k] += (adult & (a < spa)) as u32;
            max_age[k] = sel(adult, max_age[k].max(a), max_age[k]);
            net_earn[k] = sel(adult, net_earn[k].saturating_add(e.saturating_sub(deductions)), net_earn[k]);
            capital[k] = sel(adult, capital[k].saturating_add(wealth[i]), capital[k]);
            lcw[k] |= adult & (health(s) == SEVERE);
            max_inc[k] = sel(adult, max_inc[k].max(e.saturating_add(sp)), max_inc[k]);
        }
    }
    // tariff steps × tariff amounts, saturating (fixed::mul_sat)
    #[inline(always)]
    fn mul_sat64(a: u32, b: u32) -> u32 {
        (a as u64 * b as u64).min(u32::MAX as u64) as u32
    }
    let mut o = [[0u32; LANES]; 6];
    let mut charged = 0u32;
    for k in 0..LANES {
        let (r, t) = (region(info[k]), tenure(info[k]));
        // universal_credit
        let older = max_age[k] >= p.uc_age_threshold;
        let standard = sel(adults[k] >= 2, sel(older, p.uc_couple_25, p.uc_couple_u25), sel(older, p.uc_single_25, p.uc_single_u25));
        let paid = sel(p.two_child_limit_on != 0, protected[k].max(children[k].min(p.two_child_limit_count)), children[k]);
        let child = paid.wrapping_mul(p.uc_child).wrapping_add(sel(protected[k] > 0 && paid > 0, p.uc_child_first_higher.saturating_sub(p.uc_child), 0));
        let housing = sel(t == PRIVATE_RENT, rent[k].min(p.lha[(r as usize).min(11)]), sel(t == OWNER || t == HOMELESS, 0, rent[k]));
        let maximum = standard.saturating_add(child).saturating_add(housing);
        let wa = sel(children[k] > 0 || lcw[k], sel(housing > 0, p.uc_wa_housing, p.uc_wa_no_housing), 0);
        let deduction = mul_div_limbs(net_earn[k].saturating_sub(wa), p.uc_taper_bp, BP);
        let tariff = mul_sat64(ceil_div(capital[k].saturating_sub(p.uc_capital_lower), 250), p.uc_capital_tariff);
        let uc_full = maximum.saturating_sub(deduction.saturating_add(unearned[k]).saturating_add(tariff));
        let uc = sel(adults[k] == 0 || below_spa[k] == 0 || capital[k] > p.uc_capital_upper, 0, uc_full);
        // pension_credit
        let guarantee = sel(adults[k] >= 2, p.pc_couple, p.pc_single);
        let deemed = mul_sat64(ceil_div(capital[k].saturating_sub(p.pc_capital_disregard), 500), p.pc_capital_tariff);
        let pc = sel(adults[k] == 0 || below_spa[k] > 0, 0, guarantee.saturating_sub(net_earn[k].saturating_add(unearned[k]).saturating_add(deemed)));
        // child_benefit, its charge below
        let cb = sel(children[k] == 0, 0, p.cb_eldest.wrapping_add(children[k].wrapping_sub(1).wrapping_mul(p.cb_additional)));
        charged |= ((children[k] > 0) & (max_inc[k].wrapping_mul(12) > p.hicbc_start)) as u32;
        // benefit_cap
        let family = adults[k] >= 2 || children[k] > 0;
        let london = r == LONDON;
        let cap = sel(family, sel(london, p.cap_family_london, p.cap_family), sel(london, p.cap_single_london, p.cap_single));
        let total = uc.saturating_add(cb);
        let exempt = uc == 0 || net_earn[k] >= p.cap_earnings_exemption || disab[k] || lcw[k];
        let reduction = sel(exempt | (total <= cap), 0, total.wrapping_sub(cap).min(uc));
        let uc = uc - reduction;
        o[0][k] = uc;
        o[1][k] = pc;
        o[2][k] = cb;
        o[4][k] = reduction;
        o[5][k] = person_net[k].saturating_add(uc).saturating_add(pc).saturating_add(cb);
    }
    if charged != 0 {
        for k in 0..LANES {
            let income = max_inc[k].wrapping_mul(12);
            if children[k] > 0 && income > p.hicbc_start {
                let cb = o[2][k];
                let range = p.hicbc_end - p.hicbc_start;
                let over = (income - p.hicbc_start).min(range);
                let charge = mul_div(cb, mul_div(over, 100, range), 100);
                o[3][k] = charge;
                o[5][k] = o[5][k].saturating_sub(charge);
            }
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{SplitMix64, StepKeys};

    /// The household kernel against [`finances`] and [`benefits`] household by household, at
    /// every level of vector instructions the CPU has: random households of 0 to 9 members
    /// (and one of 40), random incomes, capital, ages and tenures, and parameters away from
    /// their defaults in half the trials.
    #[test]
    fn kernel_matches_the_per_household_rules() {
        let (scenario, tables) = crate::cpu::baseline_for_tests();
        let mut r = SplitMix64::new(12, 5);
        // how many households each rule applied to, so the test is known to reach them
        let mut seen = [0u32; 6];
        for trial in 0..24u32 {
            let mut p = scenario.resolve(scenario.start.add(trial * 5), trial).expect("params");
            if trial % 2 == 1 {
                p.two_child_limit_on = (r.below(2)) as u32;
                p.uc_taper_bp = r.below(10_001) as u32;
                p.hicbc_start = r.below(8_000_000) as u32;
                p.hicbc_end = p.hicbc_start + 1 + r.below(4_000_000) as u32;
                // caps below child benefit alone exercise the reduction's limit at UC
                p.cap_single = r.below(200_000) as u32;
                p.cap_family = r.below(60_000) as u32;
                p.cap_family_london = r.below(60_000) as u32;
            }
            let ctx = Ctx { p: &p, t: &tables, keys: StepKeys::new(1, trial), persistent: StepKeys::new(1, u32::MAX) };
            let n_h = 1 + r.below(300) as usize;
            let mut pp = Persons::default();
            let mut pout = PersonOut::default();
            let mut hh = Households::default();
            for h in 0..n_h {
                hh.id.push(h as u64);
                hh.info.push(pack_info(r.below(12) as u32, r.below(5) as u32));
                hh.rent.push(r.below(200_000) as u32);
                hh.weight.push(1);
                let size = if h == 7 { 40 } else { r.below(10) as usize };
                for _ in 0..size {
                    let age = if r.below(3) == 0 { r.below(22 * 12) } else { r.below(MAX_AGE_MONTHS as u64 + 1) } as u32;
                    let st = pack_status(r.below(2) as u32, r.below(6) as u32, r.below(3) as u32, r.below(3) as u32);
                    // earnings up to the model's cap (the rules' `× 12` stays within u32)
                    let earn = match r.below(4) {
                        0 => 0,
                        1 => r.below(1_000_000) as u32,
                        2 => r.below(10_000_000) as u32,
                        _ => ((r.next_u64() as u32) >> r.below(32)).min(EARNINGS_CAP),
                    };
                    let wealth = if r.below(2) == 0 { r.below(30_000) as u32 } else { (r.next_u64() as u32) >> r.below(32) };
                    pp.push(r.next_u64() >> 1, h as u32, age, st, earn, wealth);
                    pout.income_tax.push(earn / (2 + r.below(8) as u32));
                    pout.ni.push(earn / (5 + r.below(20) as u32));
                    pout.state_pension.push(if r.below(3) == 0 { r.below(150_000) as u32 } else { 0 });
                    pout.disability.push(if r.below(6) == 0 { r.below(80_000) as u32 } else { 0 });
                    pout.care_tariff.push(0);
                }
            }
            hh.index_members(&pp.household);
            if pp.is_empty() {
                continue;
            }
            let want: Vec<[u32; 6]> = (0..n_h)
                .map(|h| {
                    let f = finances(&ctx, hh.start[h] as usize, hh.len[h] as usize, &pp.age_months, &pp.status, &pp.earnings, &pp.wealth, &pout.income_tax, &pout.ni, &pout.state_pension, &pout.disability);
                    let b = benefits(&p, &f, region(hh.info[h]), tenure(hh.info[h]), hh.rent[h]);
                    [b.universal_credit, b.pension_credit, b.child_benefit, b.hicbc, b.cap_reduction, net_income(&f, &b)]
                })
                .collect();
            for w in &want {
                for (s, &v) in seen.iter_mut().zip(w) {
                    *s += (v > 0) as u32;
                }
            }
            let spa_t: &[u32; SPA_LEN] = crate::cpu::tab(&tables.words, layout::SPA);
            let m = Members { age: &pp.age_months, status: &pp.status, earnings: &pp.earnings, wealth: &pp.wealth, tax: &pout.income_tax, ni: &pout.ni, sp: &pout.state_pension, dis: &pout.disability };
            let hs = HouseholdLanes { start: &hh.start, len: &hh.len, info: &hh.info, rent: &hh.rent };
            for level in crate::simd::levels() {
                let mut out = vec![vec![0u32; n_h]; 6];
                let [a, b, c, d, e, f] = &mut out[..] else { unreachable!() };
                kernel_at(level, &p, spa_t, &m, &hs, [a, b, c, d, e, f]);
                for (h, w) in want.iter().enumerate() {
                    let got: Vec<u32> = out.iter().map(|col| col[h]).collect();
                    assert_eq!(got, w.to_vec(), "{level:?} trial {trial} household {h} of {n_h} (size {})", hh.len[h]);
                }
            }
        }
        assert!(seen.iter().all(|&s| s > 0), "households with each benefit, charge, cap and income: {seen:?}");
    }
}
