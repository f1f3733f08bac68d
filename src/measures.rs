//! The measures of the aggregates table (MODEL.md §5): one int64 column each, weighted.
//! Stocks are at the end of the month, events during it, money in pence (`_pence`),
//! caseloads (`_caseload`) count benefit units or persons receiving a non-zero amount.
//! The order here is the column order and the accumulator layout.

pub struct Measure {
    pub name: &'static str,
    pub unit: &'static str,
    pub about: &'static str,
}

macro_rules! measures {
    ($( $id:ident = $name:literal, $unit:literal, $about:literal; )*) => {
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(usize)]
        pub enum M { $( $id, )* }
        pub const MEASURES: &[Measure] = &[ $( Measure { name: $name, unit: $unit, about: $about }, )* ];
    };
}

measures! {
    Population = "population", "persons", "Persons alive at the end of the month.";
    Births = "births", "persons", "Live births during the month (counted in the baby's cell: age band 0-15, the baby's sex).";
    Deaths = "deaths", "persons", "Deaths during the month (counted in the cell the person was in).";
    Child = "child", "persons", "Employment state `child` at the end of the month.";
    InEducation = "in_education", "persons", "Employment state `in_education`.";
    Employed = "employed", "persons", "Employment state `employed`.";
    Unemployed = "unemployed", "persons", "Employment state `unemployed`.";
    Inactive = "inactive", "persons", "Employment state `inactive`.";
    Retired = "retired", "persons", "Employment state `retired`.";
    HealthGood = "health_good", "persons", "Health `good`.";
    HealthLimiting = "health_limiting", "persons", "Health `limiting` (long-term condition).";
    HealthSevere = "health_severe", "persons", "Health `severe` (disabling).";
    CareNone = "care_none", "persons", "Care need `none`.";
    CareModerate = "care_moderate", "persons", "Care need `moderate`.";
    CareSubstantial = "care_substantial", "persons", "Care need `substantial`.";
    Earnings = "earnings_pence", "pence", "Gross earnings in the month.";
    IncomeTax = "income_tax_pence", "pence", "Income tax on earnings and state pension (monthly share of the annual liability).";
    Ni = "national_insurance_pence", "pence", "Employee class 1 National Insurance.";
    StatePensionCaseload = "state_pension_caseload", "persons", "Persons paid state pension.";
    StatePension = "state_pension_pence", "pence", "State pension paid.";
    DisabilityCaseload = "disability_benefit_caseload", "persons", "Persons paid the disability benefit (PIP-like).";
    Disability = "disability_benefit_pence", "pence", "Disability benefit paid.";
    CareEligible = "social_care_eligible", "persons", "Adults whose care need reaches the eligible level.";
    CareCouncilCaseload = "social_care_council_funded_caseload", "persons", "Eligible adults with capital at or below the upper limit (council-supported).";
    CareSelfFunderCaseload = "social_care_self_funder_caseload", "persons", "Eligible adults with capital above the upper limit (self-funders).";
    CareTariff = "social_care_tariff_income_pence", "pence", "Tariff income assessed on capital between the limits, for council-supported adults.";
    Households = "households", "households", "Households with at least one member (counted at the household reference person: its first member).";
    NetIncome = "household_net_income_pence", "pence", "Household net income: earnings + benefits + pensions − income tax − NI − child benefit charge.";
    UcCaseload = "universal_credit_caseload", "households", "Benefit units paid Universal Credit.";
    Uc = "universal_credit_pence", "pence", "Universal Credit paid (after the benefit cap).";
    PcCaseload = "pension_credit_caseload", "households", "Benefit units paid Pension Credit.";
    Pc = "pension_credit_pence", "pence", "Pension Credit paid.";
    CbCaseload = "child_benefit_caseload", "households", "Benefit units paid child benefit.";
    Cb = "child_benefit_pence", "pence", "Child benefit paid (before the high income charge).";
    Hicbc = "child_benefit_charge_pence", "pence", "High income child benefit charge.";
    CapCaseload = "benefit_cap_caseload", "households", "Benefit units whose Universal Credit the benefit cap reduced.";
    CapReduction = "benefit_cap_reduction_pence", "pence", "Amount taken off by the benefit cap.";
}

pub const N_MEASURES: usize = MEASURES.len();
/// Cells: region × age band × sex.
pub const N_CELLS: usize = 12 * 8 * 2;

/// Cell index of (region, age band, sex).
#[inline(always)]
pub fn cell(region: u32, band: u32, sex: u32) -> usize {
    ((region as usize * 8) + band as usize) * 2 + sex as usize
}

/// One month's accumulators: `[cell][measure]`, exact u64 sums (order-independent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acc(pub Vec<u64>);

impl Default for Acc {
    fn default() -> Self {
        Acc(vec![0; N_CELLS * N_MEASURES])
    }
}

impl Acc {
    #[inline(always)]
    pub fn add(&mut self, cell: usize, m: M, v: u64) {
        self.0[cell * N_MEASURES + m as usize] = self.0[cell * N_MEASURES + m as usize].wrapping_add(v);
    }
    pub fn get(&self, cell: usize, m: M) -> u64 {
        self.0[cell * N_MEASURES + m as usize]
    }
    pub fn merge(mut self, other: &Acc) -> Acc {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a = a.wrapping_add(*b);
        }
        self
    }
    /// Sum of a measure over all cells.
    pub fn total(&self, m: M) -> u64 {
        (0..N_CELLS).map(|c| self.get(c, m)).sum()
    }
}
