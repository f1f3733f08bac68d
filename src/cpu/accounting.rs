//! Stage `accounting` (MODEL.md §3 step 9): weighted integer sums of the end-of-month state
//! and this month's money into cells of (region, age band, sex). Twin of
//! `shaders/accounting.wgsl`. Household amounts are counted at the household reference person
//! (the household's first member). Sums are u64 and order-independent.

use super::CHUNK;
use crate::codes::*;
use crate::measures::{cell, Acc, M, N_CELLS};
use crate::state::*;
use rayon::prelude::*;

/// Persons by (cell, employment, health, care need), weighted: one add per person stands for
/// four measures (population, employment, health and care-need counts), expanded by
/// [`States::add_to`] once per task.
const N_STATES: usize = 6 * 3 * 3;

struct States(Vec<u64>);

impl States {
    fn new() -> States {
        States(vec![0; N_CELLS * N_STATES])
    }
    #[inline(always)]
    fn add(&mut self, c: usize, s: u32, w: u64) {
        let k = (employment(s) as usize * 3 + health(s) as usize) * 3 + care(s) as usize;
        self.0[c * N_STATES + k] += w;
    }
    fn add_to(&self, acc: &mut Acc) {
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
        }
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn accounting_person(i: usize, persons: &Persons, pout: &PersonOut, hh: &Households, hout: &HouseholdOut, ta_cost: u32, acc: &mut Acc, states: &mut States) {
    let h = persons.household[i] as usize;
    let w = hh.weight[h] as u64;
    let s = persons.status[i];
    let c = cell(region(hh.info[h]), age_band(persons.age_months[i] / 12), sex(s));
    states.add(c, s, w);
    acc.add(c, M::Earnings, w * persons.earnings[i] as u64);
    acc.add(c, M::IncomeTax, w * pout.income_tax[i] as u64);
    acc.add(c, M::Ni, w * pout.ni[i] as u64);
    if pout.state_pension[i] > 0 {
        acc.add(c, M::StatePensionCaseload, w);
        acc.add(c, M::StatePension, w * pout.state_pension[i] as u64);
    }
    if pout.disability[i] > 0 {
        acc.add(c, M::DisabilityCaseload, w);
        acc.add(c, M::Disability, w * pout.disability[i] as u64);
    }
    let funding = care_funding(s);
    if funding != FUNDING_NONE {
        acc.add(c, M::CareEligible, w);
        if funding == FUNDING_SELF {
            acc.add(c, M::CareSelfFunderCaseload, w);
        } else {
            acc.add(c, M::CareCouncilCaseload, w);
            acc.add(c, M::CareTariff, w * pout.care_tariff[i] as u64);
        }
    }
    if hh.start[h] as usize == i {
        acc.add(c, M::Households, w);
        acc.add(c, M::NetIncome, w * hout.net_income[h] as u64);
        let pairs = [
            (hout.universal_credit[h], M::UcCaseload, M::Uc),
            (hout.pension_credit[h], M::PcCaseload, M::Pc),
            (hout.child_benefit[h], M::CbCaseload, M::Cb),
            (hout.cap_reduction[h], M::CapCaseload, M::CapReduction),
        ];
        for (amount, caseload, money) in pairs {
            if amount > 0 {
                acc.add(c, caseload, w);
                acc.add(c, money, w * amount as u64);
            }
        }
        acc.add(c, M::Hicbc, w * hout.hicbc[h] as u64);
        match tenure(hh.info[h]) {
            PRIVATE_RENT | SOCIAL_RENT if hh.arrears[h] > 0 => {
                acc.add(c, M::InArrears, w);
                acc.add(c, M::Arrears, w * hh.arrears[h] as u64);
            }
            HOMELESS => acc.add(c, M::Homeless, w),
            TEMPORARY => {
                acc.add(c, M::Ta, w);
                acc.add(c, M::TaCost, w * ta_cost as u64);
            }
            _ => {}
        }
    }
}

pub fn accounting(persons: &Persons, pout: &PersonOut, hh: &Households, hout: &HouseholdOut, ta_cost: u32) -> Acc {
    let n = persons.len();
    // fold, not map: one accumulator per rayon task rather than per chunk
    (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .fold(
            || (Acc::default(), States::new()),
            |(mut acc, mut states), c| {
                for i in c * CHUNK..((c + 1) * CHUNK).min(n) {
                    accounting_person(i, persons, pout, hh, hout, ta_cost, &mut acc, &mut states);
                }
                (acc, states)
            },
        )
        .map(|(mut acc, states)| {
            states.add_to(&mut acc);
            acc
        })
        .reduce(Acc::default, |a, b| a.merge(&b))
}
