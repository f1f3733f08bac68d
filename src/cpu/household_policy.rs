//! Stage `household_policy` (MODEL.md §3 steps 4–5, household rules): household finances
//! summed over members, then the means-tested benefits of the benefit unit (the household):
//! the Universal-Credit-like benefit with its taper, work allowance, child elements with the
//! two-child limit, housing element capped at the Local Housing Allowance, capital rules and
//! the benefit cap; the Pension Credit guarantee; child benefit with the high income charge;
//! and household net income. Twin of `shaders/household_policy.wgsl` (one invocation per
//! household, looping over its contiguous members).
//!
//! Simplifications, documented in the README: the household is the benefit unit; the first two
//! adults form the couple and further adults only add income and capital; every adult's
//! earnings count; income tax is attributed to earnings first when netting them.

use super::{Ctx, CHUNK};
use crate::codes::*;
use crate::fixed::{ceil_div, mul_bp, mul_div, mul_sat};
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

pub fn household_policy(ctx: &Ctx, persons: &Persons, pout: &PersonOut, hh: &Households, out: &mut HouseholdOut) {
    out.resize(hh.count());
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
            for j in 0..uc.len() {
                let h = c * CHUNK + j;
                let f = finances(
                    ctx,
                    hh.start[h] as usize,
                    hh.len[h] as usize,
                    &persons.age_months,
                    &persons.status,
                    &persons.earnings,
                    &persons.wealth,
                    &pout.income_tax,
                    &pout.ni,
                    &pout.state_pension,
                    &pout.disability,
                );
                let info = hh.info[h];
                let b = benefits(ctx.p, &f, region(info), tenure(info), hh.rent[h]);
                uc[j] = b.universal_credit;
                pc[j] = b.pension_credit;
                cb[j] = b.child_benefit;
                charge[j] = b.hicbc;
                cap[j] = b.cap_reduction;
                net[j] = f
                    .person_net
                    .saturating_add(b.universal_credit)
                    .saturating_add(b.pension_credit)
                    .saturating_add(b.child_benefit)
                    .saturating_sub(b.hicbc);
            }
        });
}
