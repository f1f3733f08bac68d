//! The policy parameter registry and the per-month parameter block.
//!
//! [`SPECS`] lists every parameter the engine uses: its key in a scenario file, its kind
//! (which fixes the accepted units and the conversion), its valid range and what it means.
//! [`StepParams`] holds the values in force in one month, converted once on the CPU into the
//! engine's integer units (monthly pence, basis points, months, pounds of capital). It is a
//! `#[repr(C)]` Pod struct so the GPU path can upload it as is; keep its field order in sync
//! with the WGSL struct generated from [`StepParams::FIELDS`].

use bytemuck::{Pod, Zeroable};

/// What a parameter measures; fixes the units a scenario may state and the integer conversion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A flow of money: units `GBP/week`, `GBP/month` or `GBP/year`; stored as pence per month
    /// (weekly × 52 / 12, yearly / 12, rounded to the penny).
    Money,
    /// A flow of money used against annualised income (tax and NI thresholds): units as
    /// `Money`; stored as pence per year (weekly × 52, monthly × 12).
    AnnualMoney,
    /// A stock of money (capital limits): unit `GBP`; stored in whole pounds.
    Capital,
    /// A rate: unit `fraction`; stored in basis points (must be a whole number of them).
    Rate,
    /// A growth rate: unit `fraction/year`; stored as the monthly rate in units of 2^-20.
    Growth,
    /// A monthly standard deviation: unit `fraction/month`; stored in units of 2^-20.
    MonthlySd,
    /// An age or duration: unit `years` or `months`; stored in months.
    Age,
    /// A whole number: unit `count`.
    Count,
    /// On or off: unit `bool`, values true/false.
    Flag,
    /// A date of birth: unit `date`, values "YYYY-MM"; stored as a month index.
    BirthDate,
    /// A score in 0..=100: unit `score`.
    Score,
    /// A care-need level: unit `care_need`, values "moderate" or "substantial".
    CareLevel,
    /// A schedule dated by date of birth, not by calendar month (state pension age):
    /// unit `years` or `months`; becomes a lookup table by birth month.
    AgeByBirth,
}

impl Kind {
    pub fn units(self) -> &'static [&'static str] {
        match self {
            Kind::Money | Kind::AnnualMoney => &["GBP/week", "GBP/month", "GBP/year"],
            Kind::Capital => &["GBP"],
            Kind::Rate => &["fraction"],
            Kind::Growth => &["fraction/year"],
            Kind::MonthlySd => &["fraction/month"],
            Kind::Age | Kind::AgeByBirth => &["years", "months"],
            Kind::Count => &["count"],
            Kind::Flag => &["bool"],
            Kind::BirthDate => &["date"],
            Kind::Score => &["score"],
            Kind::CareLevel => &["care_need"],
        }
    }
}

pub struct Spec {
    pub key: &'static str,
    pub kind: Kind,
    /// Valid range, in the parameter's stated unit after conversion to the canonical one
    /// (pounds per year for money, fraction for rates, years for ages).
    pub min: f64,
    pub max: f64,
    pub about: &'static str,
}

macro_rules! step_params {
    ($( $field:ident = $key:literal, $kind:ident, $min:expr, $max:expr, $about:literal; )*) => {
        /// The parameters in force in one month, in engine units. Keep in sync with the WGSL
        /// struct generated from `FIELDS` (GPU path).
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
        pub struct StepParams {
            /// Absolute month index (year * 12 + month - 1) of this step.
            pub month: u32,
            /// Step number from the start of the run (0-based): the RNG's step.
            pub step: u32,
            $( #[doc = $about] pub $field: u32, )*
            /// Local Housing Allowance by region (pence per month), from the
            /// `local_housing_allowance.<region>` parameters.
            pub lha: [u32; 12],
        }

        /// Every scalar parameter, in `StepParams` field order.
        pub const SPECS: &[Spec] = &[
            $( Spec { key: $key, kind: Kind::$kind, min: $min, max: $max, about: $about }, )*
        ];

        impl StepParams {
            pub const FIELDS: &'static [&'static str] = &["month", "step", $( stringify!($field), )*];

            /// Set the field of a scalar parameter by its key.
            pub fn set(&mut self, key: &str, value: u32) -> bool {
                match key {
                    $( $key => { self.$field = value; true } )*
                    _ => false,
                }
            }
        }
    };
}

const GBP_MAX: f64 = 10_000_000.0; // pounds per year: keeps every monthly amount in u32 pence

step_params! {
    // ---- income tax (rest of UK rates) ----
    pa = "income_tax.personal_allowance", AnnualMoney, 0.0, GBP_MAX, "Personal allowance.";
    pa_taper_threshold = "income_tax.personal_allowance_taper_threshold", AnnualMoney, 0.0, GBP_MAX, "Adjusted net income above which the personal allowance is withdrawn.";
    pa_taper_bp = "income_tax.personal_allowance_taper_rate", Rate, 0.0, 1.0, "Allowance withdrawn per pound of income above the taper threshold.";
    basic_bp = "income_tax.basic_rate", Rate, 0.0, 1.0, "Basic rate.";
    higher_bp = "income_tax.higher_rate", Rate, 0.0, 1.0, "Higher rate.";
    additional_bp = "income_tax.additional_rate", Rate, 0.0, 1.0, "Additional rate.";
    higher_threshold = "income_tax.higher_rate_threshold", AnnualMoney, 0.0, GBP_MAX, "Taxable income (after allowances) above which the higher rate applies (the basic rate limit).";
    additional_threshold = "income_tax.additional_rate_threshold", AnnualMoney, 0.0, GBP_MAX, "Taxable income above which the additional rate applies.";
    // ---- employee National Insurance (class 1) ----
    ni_pt = "national_insurance.primary_threshold", AnnualMoney, 0.0, GBP_MAX, "Primary threshold.";
    ni_uel = "national_insurance.upper_earnings_limit", AnnualMoney, 0.0, GBP_MAX, "Upper earnings limit.";
    ni_main_bp = "national_insurance.main_rate", Rate, 0.0, 1.0, "Main rate, between the primary threshold and the upper earnings limit.";
    ni_upper_bp = "national_insurance.upper_rate", Rate, 0.0, 1.0, "Rate above the upper earnings limit.";
    // ---- state pension ----
    sp_full = "state_pension.full_rate", Money, 0.0, GBP_MAX, "Full new state pension, paid at or over state pension age to people born on or after `new_scheme_born_from` (assumption: full entitlement).";
    sp_basic = "state_pension.basic_rate", Money, 0.0, GBP_MAX, "Full basic state pension, paid instead to people born before `new_scheme_born_from` (assumption: full basic entitlement, no additional pension).";
    sp_new_from = "state_pension.new_scheme_born_from", BirthDate, 0.0, 0.0, "People born from this month reached state pension age after April 2016 and get the new state pension.";
    // ---- Universal-Credit-like benefit ----
    uc_single_u25 = "universal_credit.standard_allowance.single_under_25", Money, 0.0, GBP_MAX, "Standard allowance, single claimant under the age threshold.";
    uc_single_25 = "universal_credit.standard_allowance.single_25_plus", Money, 0.0, GBP_MAX, "Standard allowance, single claimant at or over the age threshold.";
    uc_couple_u25 = "universal_credit.standard_allowance.couple_under_25", Money, 0.0, GBP_MAX, "Standard allowance, couple both under the age threshold.";
    uc_couple_25 = "universal_credit.standard_allowance.couple_25_plus", Money, 0.0, GBP_MAX, "Standard allowance, couple with at least one at or over the age threshold.";
    uc_age_threshold = "universal_credit.standard_allowance.age_threshold", Age, 0.0, 110.0, "Age from which the higher standard allowance applies.";
    uc_child_first_higher = "universal_credit.child_element.first_child_higher", Money, 0.0, GBP_MAX, "Child element for a first child born before the protection date.";
    uc_child = "universal_credit.child_element.per_child", Money, 0.0, GBP_MAX, "Child element for each other eligible child.";
    two_child_limit_on = "universal_credit.two_child_limit.enabled", Flag, 0.0, 1.0, "Whether the two-child limit applies.";
    two_child_limit_count = "universal_credit.two_child_limit.child_count", Count, 0.0, 100.0, "Child elements paid for at most this many children not protected by date of birth.";
    two_child_protected_before = "universal_credit.two_child_limit.protected_born_before", BirthDate, 0.0, 0.0, "Children born before this month are always eligible (the engine resolves dates to months).";
    uc_wa_housing = "universal_credit.work_allowance.with_housing", Money, 0.0, GBP_MAX, "Work allowance when the award includes a housing element (households with children or limited capability for work only).";
    uc_wa_no_housing = "universal_credit.work_allowance.without_housing", Money, 0.0, GBP_MAX, "Work allowance when the award has no housing element.";
    uc_taper_bp = "universal_credit.taper_rate", Rate, 0.0, 1.0, "Withdrawal per pound of net earnings above the work allowance.";
    uc_capital_lower = "universal_credit.capital.lower_limit", Capital, 0.0, 1.0e9, "Capital below which nothing is deducted.";
    uc_capital_upper = "universal_credit.capital.upper_limit", Capital, 0.0, 1.0e9, "Capital above which there is no entitlement.";
    uc_capital_tariff = "universal_credit.capital.tariff_per_250", Money, 0.0, 1000.0, "Assumed income per £250 (or part) of capital between the limits.";
    // ---- benefit cap (applies to UC + child benefit) ----
    cap_single = "benefit_cap.single_outside_london", Money, 0.0, GBP_MAX, "Cap for single claimants without children, outside London.";
    cap_single_london = "benefit_cap.single_in_london", Money, 0.0, GBP_MAX, "Cap for single claimants without children, in London.";
    cap_family = "benefit_cap.family_outside_london", Money, 0.0, GBP_MAX, "Cap for couples or anyone with children, outside London.";
    cap_family_london = "benefit_cap.family_in_london", Money, 0.0, GBP_MAX, "Cap for couples or anyone with children, in London.";
    cap_earnings_exemption = "benefit_cap.earnings_exemption", Money, 0.0, GBP_MAX, "Household gross earnings at or above which the cap does not apply.";
    // ---- Pension Credit guarantee ----
    pc_single = "pension_credit.guarantee.single", Money, 0.0, GBP_MAX, "Standard minimum guarantee, single.";
    pc_couple = "pension_credit.guarantee.couple", Money, 0.0, GBP_MAX, "Standard minimum guarantee, couple.";
    pc_capital_disregard = "pension_credit.capital.disregard", Capital, 0.0, 1.0e9, "Capital ignored.";
    pc_capital_tariff = "pension_credit.capital.tariff_per_500", Money, 0.0, 1000.0, "Deemed income per £500 (or part) of capital above the disregard.";
    // ---- child benefit ----
    cb_eldest = "child_benefit.eldest", Money, 0.0, GBP_MAX, "Eldest or only child.";
    cb_additional = "child_benefit.additional", Money, 0.0, GBP_MAX, "Each additional child.";
    hicbc_start = "child_benefit.high_income_charge.start", AnnualMoney, 0.0, GBP_MAX, "Adjusted net income of the higher earner where the charge starts.";
    hicbc_end = "child_benefit.high_income_charge.end", AnnualMoney, 0.0, GBP_MAX, "Income at which the charge equals the whole child benefit.";
    // ---- disability benefit (PIP-like) ----
    dis_severe = "disability_benefit.severe_rate", Money, 0.0, GBP_MAX, "Award for people in severe health.";
    dis_limiting = "disability_benefit.limiting_rate", Money, 0.0, GBP_MAX, "Award for people in limiting health whose assessment score reaches the threshold.";
    dis_severe_threshold = "disability_benefit.severe_score_threshold", Score, 0.0, 101.0, "Assessment score (0-99, a persistent per-person draw) needed by people in severe health; 101 closes the route.";
    dis_threshold = "disability_benefit.limiting_score_threshold", Score, 0.0, 101.0, "Assessment score needed by people in limiting health; 101 closes the route.";
    dis_min_age = "disability_benefit.min_age", Age, 0.0, 110.0, "Youngest age of award.";
    // ---- social care means test ----
    care_upper = "social_care.upper_capital_limit", Capital, 0.0, 1.0e9, "Capital above which a person pays for their own care.";
    care_lower = "social_care.lower_capital_limit", Capital, 0.0, 1.0e9, "Capital below which nothing is counted.";
    care_tariff = "social_care.tariff_income", Money, 0.0, 1000.0, "Tariff income per step of capital between the limits.";
    care_tariff_step = "social_care.tariff_step", Capital, 1.0, 1.0e6, "Capital (or part of it) that counts as one tariff step.";
    care_eligible = "social_care.eligible_need", CareLevel, 1.0, 2.0, "Lowest care need eligible for council-funded care.";
    care_min_age = "social_care.min_age", Age, 0.0, 110.0, "Youngest age of adult social care.";
    // ---- economy ----
    growth_q20 = "economy.earnings_growth", Growth, -0.2, 0.3, "Mean nominal growth of earnings in work (stored as a monthly rate, 2^-20 units, two's complement).";
    growth_sd_q20 = "economy.earnings_growth_sd", MonthlySd, 0.0, 0.015, "Standard deviation of a person's monthly earnings growth around the mean (the engine draws it from a 64-point table built at the start; one `value` per run). The ranges of this and the mean keep a month's growth below 2^16 / 2^20 = 6.25%.";
}

/// Key of the schedule of state pension age by date of birth.
pub const SPA_KEY: &str = "state_pension.age";
/// Keys of the Local Housing Allowance rates, by region code.
pub fn lha_key(region: usize) -> String {
    format!("local_housing_allowance.{}", crate::codes::REGION_KEYS[region])
}

/// Kind and range of any parameter key, including the per-region and by-birth ones.
pub fn spec_for(key: &str) -> Option<(Kind, f64, f64, &'static str)> {
    if let Some(s) = SPECS.iter().find(|s| s.key == key) {
        return Some((s.kind, s.min, s.max, s.about));
    }
    if key == SPA_KEY {
        return Some((Kind::AgeByBirth, 50.0, 100.0, "State pension age by date of birth (values dated by birth month)."));
    }
    if (0..12).any(|r| lha_key(r) == key) {
        return Some((Kind::Money, 0.0, GBP_MAX, "Local Housing Allowance: the most private rent the housing element pays, for the region."));
    }
    None
}

/// Every parameter key a complete scenario defines.
pub fn all_keys() -> Vec<String> {
    let mut keys: Vec<String> = SPECS.iter().map(|s| s.key.to_string()).collect();
    keys.push(SPA_KEY.to_string());
    keys.extend((0..12).map(lha_key));
    keys
}
