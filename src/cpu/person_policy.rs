//! Stage `person_policy` (MODEL.md §3 step 5, person rules): state pension (new or basic by
//! date of birth), income tax,
//! employee National Insurance, the disability benefit and the social-care means test.
//! Twin of `shaders/person_policy.wgsl`.
//!
//! Income tax and NI are computed, as MODEL.md says, from the monthly figures annualised:
//! the month's income × 12 against annual thresholds (pence per year), and the annual
//! liability divided by 12 (rounded down). With earnings capped at £1,000,000 a month the
//! annual amounts stay in u32 pence. Each multiplication by a rate rounds down.

use super::{Ctx, CHUNK};
use crate::codes::*;
use crate::fixed::{ceil_div, mul_bp, mul_sat};
use crate::params::StepParams;
use crate::rng::{draw, stream, Process};
use crate::state::*;
use rayon::prelude::*;

/// Annual income tax on an annual gross income (earnings + state pension), rest-of-UK rates:
/// the personal allowance, withdrawn at the taper rate above the taper threshold, then the
/// basic, higher and additional rates on taxable income. All in pence per year.
#[inline(always)]
pub fn income_tax_annual(p: &StepParams, gross: u32) -> u32 {
    let mut pa = p.pa;
    if gross > p.pa_taper_threshold {
        pa = pa.saturating_sub(mul_bp(gross - p.pa_taper_threshold, p.pa_taper_bp));
    }
    let taxable = gross.saturating_sub(pa);
    let basic = taxable.min(p.higher_threshold);
    let higher = taxable.min(p.additional_threshold).saturating_sub(p.higher_threshold);
    let additional = taxable.saturating_sub(p.additional_threshold);
    mul_bp(basic, p.basic_bp) + mul_bp(higher, p.higher_bp) + mul_bp(additional, p.additional_bp)
}

/// Income tax for the month on a month's gross income.
#[inline(always)]
pub fn income_tax(p: &StepParams, gross_month: u32) -> u32 {
    income_tax_annual(p, gross_month * 12) / 12
}

/// Employee class 1 National Insurance for the month on a month's earnings (annualised);
/// none at or over state pension age.
#[inline(always)]
pub fn national_insurance(p: &StepParams, earnings_month: u32, at_spa: bool) -> u32 {
    let e = earnings_month * 12;
    if at_spa || e <= p.ni_pt {
        return 0;
    }
    (mul_bp(e.min(p.ni_uel) - p.ni_pt, p.ni_main_bp) + mul_bp(e.saturating_sub(p.ni_uel), p.ni_upper_bp)) / 12
}

/// The disability-assessment score of a person: 0..=99, a persistent draw.
#[inline(always)]
pub fn disability_score(ctx: &Ctx, id_lo: u32, id_hi: u32) -> u32 {
    score_of(draw(stream(&ctx.persistent, id_lo, id_hi), Process::DisabilityScore))
}

/// The disability-assessment score (0..=99) given by a `DisabilityScore` draw.
#[inline(always)]
pub fn score_of(d: u32) -> u32 {
    ((d >> 16) * 100) >> 16
}

/// Disability benefit: the severe rate in severe health and the limiting rate in limiting
/// health, each when the assessment score reaches its threshold; from the minimum age.
#[inline(always)]
pub fn disability_benefit(p: &StepParams, age_months: u32, health: u32, score: u32) -> u32 {
    if age_months < p.dis_min_age {
        0
    } else if health == SEVERE && score >= p.dis_severe_threshold {
        p.dis_severe
    } else if health == LIMITING && score >= p.dis_threshold {
        p.dis_limiting
    } else {
        0
    }
}

/// Social-care means test on personal capital (whole pounds): returns (funding, tariff
/// income in pence per month). Funding is `FUNDING_NONE` below the eligible need or age,
/// `FUNDING_SELF` above the upper capital limit, else `FUNDING_COUNCIL` with tariff income
/// for each step of capital (or part) above the lower limit.
#[inline(always)]
pub fn care_means_test(p: &StepParams, age_months: u32, care_need: u32, capital: u32) -> (u32, u32) {
    if age_months < p.care_min_age || care_need < p.care_eligible {
        return (FUNDING_NONE, 0);
    }
    if capital > p.care_upper {
        return (FUNDING_SELF, 0);
    }
    let steps = ceil_div(capital.saturating_sub(p.care_lower), p.care_tariff_step);
    (FUNDING_COUNCIL, mul_sat(steps, p.care_tariff))
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn person_policy_person(
    ctx: &Ctx,
    score: impl FnOnce() -> u32,
    age_months: u32,
    status: &mut u32,
    earnings: u32,
    wealth: u32,
    out_tax: &mut u32,
    out_ni: &mut u32,
    out_sp: &mut u32,
    out_dis: &mut u32,
    out_care: &mut u32,
) {
    let p = ctx.p;
    let s = *status;
    let birth_month = p.month.wrapping_sub(age_months);
    let at_spa = age_months >= ctx.t.spa(birth_month);
    let sp = if !at_spa {
        0
    } else if birth_month >= p.sp_new_from {
        p.sp_full
    } else {
        p.sp_basic
    };
    let gross = earnings + sp; // both capped far below u32::MAX / 12
    *out_sp = sp;
    *out_tax = income_tax(p, gross);
    *out_ni = national_insurance(p, earnings, at_spa);
    let h = health(s);
    *out_dis = if h != GOOD { disability_benefit(p, age_months, h, score()) } else { 0 };
    let (funding, tariff) = care_means_test(p, age_months, care(s), wealth);
    *out_care = tariff;
    *status = set_field(s, CARE_FUNDING_SHIFT, 3, funding);
}

pub fn person_policy(ctx: &Ctx, persons: &mut Persons, out: &mut PersonOut) {
    let n = persons.len();
    out.resize(n);
    let Persons { id_lo, id_hi, age_months, status, earnings, wealth, .. } = persons;
    let PersonOut { income_tax, ni, state_pension, disability, care_tariff } = out;
    (
        status.par_chunks_mut(CHUNK),
        income_tax.par_chunks_mut(CHUNK),
        ni.par_chunks_mut(CHUNK),
        state_pension.par_chunks_mut(CHUNK),
        disability.par_chunks_mut(CHUNK),
        care_tariff.par_chunks_mut(CHUNK),
    )
        .into_par_iter()
        .enumerate()
        .for_each(|(c, (st, tax, ni, sp, dis, care))| {
            for j in 0..st.len() {
                let i = c * CHUNK + j;
                person_policy_person(
                    ctx, || disability_score(ctx, id_lo[i], id_hi[i]), age_months[i], &mut st[j], earnings[i], wealth[i], &mut tax[j], &mut ni[j], &mut sp[j], &mut dis[j], &mut care[j],
                );
            }
        });
}
