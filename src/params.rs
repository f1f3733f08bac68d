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
    /// A multiplier on a hazard or amount: unit `multiplier` (1.0 = no effect); stored in basis
    /// points (must be a whole number of them).
    Multiplier,
    /// A price per unit of a service: unit `GBP`; stored in pence.
    Price,
    /// A service capacity: unit `per_1000_residents/month` (units of the service per month per
    /// 1,000 residents of the region at the start of the run); stored per million residents.
    /// The engine turns it into units per month for each region's weighted population.
    Capacity,
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
            Kind::Multiplier => &["multiplier"],
            Kind::Price => &["GBP"],
            Kind::Capacity => &["per_1000_residents/month"],
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
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
        pub struct StepParams {
            /// Absolute month index (year * 12 + month - 1) of this step.
            pub month: u32,
            /// Step number from the start of the run (0-based): the RNG's step.
            pub step: u32,
            $( #[doc = $about] pub $field: u32, )*
            /// Local Housing Allowance by region (pence per month), from the
            /// `local_housing_allowance.<region>` parameters.
            pub lha: [u32; 12],
            /// Social rent of a new letting, by region (pence per month).
            pub social_rent: [u32; 12],
            /// Rent of temporary accommodation, by region (pence per month; the housing
            /// element pays it in full).
            pub ta_rent: [u32; 12],
            /// Capacity of each queue `service * 12 + region`: resolved from the scenario per
            /// million residents, then turned by the engine into units per month for the
            /// region's weighted population at the start of the run.
            pub capacity: [u32; 84],
        }

        impl Default for StepParams {
            fn default() -> Self {
                Zeroable::zeroed()
            }
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
    // ---- housing (MODEL.md §3 step 6) ----
    afford_bp = "housing.affordable_share", Rate, 0.0, 1.0, "Share of household net income (after benefits) a renting household puts towards rent and arrears; rent above it builds arrears, income above it pays them off.";
    evict_months = "housing.eviction_arrears_months", Count, 1.0, 120.0, "Arrears, in months of rent, from which a tenancy is at risk of eviction.";
    evict_private_bp = "housing.eviction_probability.private_rent", Rate, 0.0, 1.0, "Monthly probability that a private tenancy at risk ends in eviction and a homelessness application.";
    evict_social_bp = "housing.eviction_probability.social_rent", Rate, 0.0, 1.0, "Monthly probability that a social tenancy at risk ends in eviction and a homelessness application.";
    ta_cost = "housing.temporary_accommodation_cost", Money, 0.0, GBP_MAX, "Councils' net cost of a household in temporary accommodation, beyond the rent the housing element pays.";
    // ---- services (MODEL.md §3 step 7): what a request is, waits, unit costs ----
    care_hours_moderate = "services.social_care.hours_moderate", Count, 0.0, 744.0, "Care hours a month requested by a council-supported adult with moderate eligible need.";
    care_hours_substantial = "services.social_care.hours_substantial", Count, 0.0, 744.0, "Care hours a month requested by a council-supported adult with substantial need.";
    emp_request_bp = "services.employment_support.request_probability", Rate, 0.0, 1.0, "Monthly probability that an unemployed person not already waiting asks for employment support.";
    max_wait_gp = "services.gp.max_wait", Age, 0.0, 29.0, "Months a GP request waits before it is given up (left).";
    max_wait_ae = "services.ae.max_wait", Age, 0.0, 29.0, "Months an A&E attendance waits (0: unmet attendances leave at once).";
    max_wait_hospital = "services.hospital.max_wait", Age, 0.0, 29.0, "Months a hospital admission waits before it is given up.";
    max_wait_care = "services.social_care.max_wait", Age, 0.0, 29.0, "Months a request for care waits before it is given up.";
    max_wait_homeless = "services.homelessness.max_wait", Age, 0.0, 29.0, "Months a homeless household waits for the homelessness service before it makes its own arrangements (back to private renting).";
    max_wait_employment = "services.employment_support.max_wait", Age, 0.0, 29.0, "Months a request for employment support waits before it is given up.";
    cost_gp = "services.gp.unit_cost", Price, 0.0, 1.0e6, "Cost of one GP appointment.";
    cost_ae = "services.ae.unit_cost", Price, 0.0, 1.0e6, "Cost of one A&E attendance.";
    cost_hospital = "services.hospital.unit_cost", Price, 0.0, 1.0e6, "Cost of one hospital bed-day.";
    cost_care = "services.social_care.unit_cost", Price, 0.0, 1.0e6, "Cost of one hour of council-arranged care.";
    cost_homeless = "services.homelessness.unit_cost", Price, 0.0, 1.0e6, "Cost of one homelessness case (assessment and placement).";
    cost_employment = "services.employment_support.unit_cost", Price, 0.0, 1.0e6, "Cost of one person-month of employment support.";
    cost_lettings = "services.social_lettings.unit_cost", Price, 0.0, 1.0e6, "Cost to the council of one social letting.";
    // ---- spillovers (MODEL.md §3 step 8): 1.0 switches a link off ----
    sp_care_admission_bp = "spillovers.unmet_care_admission", Multiplier, 0.0, 10.0, "Hospital admission hazard of a person on the social-care waiting list.";
    sp_care_stay_bp = "spillovers.unmet_care_length_of_stay", Multiplier, 0.0, 10.0, "Length of stay of a person on the social-care waiting list (delayed discharge).";
    sp_homeless_health_bp = "spillovers.homelessness_health", Multiplier, 0.0, 10.0, "Health deterioration hazards (onset, worsening) of members of homeless households and households in temporary accommodation.";
    sp_unemployed_health_bp = "spillovers.unemployment_health", Multiplier, 0.0, 10.0, "Health deterioration hazards of unemployed people.";
    sp_income_arrears_bp = "spillovers.income_fall_arrears", Multiplier, 0.0, 10.0, "Arrears built in a month when household net income fell below last month's.";
    growth_sd_q20 = "economy.earnings_growth_sd", MonthlySd, 0.0, 0.015, "Standard deviation of a person's monthly earnings growth around the mean (the engine draws it from a 64-point table built at the start; one `value` per run). The ranges of this and the mean keep a month's growth below 2^16 / 2^20 = 6.25%.";
}

/// Key of the schedule of state pension age by date of birth.
pub const SPA_KEY: &str = "state_pension.age";
/// Keys of the Local Housing Allowance rates, by region code.
pub fn lha_key(region: usize) -> String {
    region_key("local_housing_allowance", region)
}

/// A parameter set per region: `<prefix>.<region key>`.
pub struct RegionArray {
    pub prefix: &'static str,
    pub kind: Kind,
    pub max: f64,
    pub about: &'static str,
}

/// Every per-region parameter, in `StepParams` order: LHA, social rent, TA rent, then the
/// capacity of each service in `codes::SERVICES` order.
pub const REGION_ARRAYS: [RegionArray; 10] = [
    RegionArray { prefix: "local_housing_allowance", kind: Kind::Money, max: GBP_MAX, about: "Local Housing Allowance: the most private rent the housing element pays, for the region." },
    RegionArray { prefix: "housing.social_rent", kind: Kind::Money, max: GBP_MAX, about: "Rent of a new social letting in the region." },
    RegionArray { prefix: "housing.temporary_accommodation_rent", kind: Kind::Money, max: GBP_MAX, about: "Rent of temporary accommodation in the region (paid by the housing element)." },
    RegionArray { prefix: "services.gp.capacity", kind: Kind::Capacity, max: 1.0e5, about: "GP appointments a month per 1,000 residents." },
    RegionArray { prefix: "services.ae.capacity", kind: Kind::Capacity, max: 1.0e5, about: "A&E attendances a month per 1,000 residents." },
    RegionArray { prefix: "services.hospital.capacity", kind: Kind::Capacity, max: 1.0e5, about: "Hospital bed-days a month per 1,000 residents." },
    RegionArray { prefix: "services.social_care.capacity", kind: Kind::Capacity, max: 1.0e6, about: "Council-arranged care hours a month per 1,000 residents." },
    RegionArray { prefix: "services.homelessness.capacity", kind: Kind::Capacity, max: 1.0e5, about: "Homelessness cases (placements in temporary accommodation) a month per 1,000 residents." },
    RegionArray { prefix: "services.employment_support.capacity", kind: Kind::Capacity, max: 1.0e5, about: "Employment support places a month per 1,000 residents." },
    RegionArray { prefix: "services.social_lettings.capacity", kind: Kind::Capacity, max: 1.0e5, about: "Social lettings a month to households in temporary accommodation, per 1,000 residents." },
];

/// Key of a per-region parameter.
pub fn region_key(prefix: &str, region: usize) -> String {
    format!("{prefix}.{}", crate::codes::REGION_KEYS[region])
}

impl StepParams {
    /// The per-region value `k` of array `a` of [`REGION_ARRAYS`].
    pub fn region_slot(&mut self, a: usize, region: usize) -> &mut u32 {
        match a {
            0 => &mut self.lha[region],
            1 => &mut self.social_rent[region],
            2 => &mut self.ta_rent[region],
            s => &mut self.capacity[(s - 3) * 12 + region],
        }
    }
    /// Capacity of a queue, units per month (after the engine's conversion).
    #[inline(always)]
    pub fn queue_capacity(&self, q: usize) -> u32 {
        self.capacity[q]
    }
}

/// Kind and range of any parameter key, including the per-region and by-birth ones.
pub fn spec_for(key: &str) -> Option<(Kind, f64, f64, &'static str)> {
    if let Some(s) = SPECS.iter().find(|s| s.key == key) {
        return Some((s.kind, s.min, s.max, s.about));
    }
    if key == SPA_KEY {
        return Some((Kind::AgeByBirth, 50.0, 100.0, "State pension age by date of birth (values dated by birth month)."));
    }
    for a in &REGION_ARRAYS {
        if (0..12).any(|r| region_key(a.prefix, r) == key) {
            return Some((a.kind, 0.0, a.max, a.about));
        }
    }
    None
}

/// Every parameter key a complete scenario defines.
pub fn all_keys() -> Vec<String> {
    let mut keys: Vec<String> = SPECS.iter().map(|s| s.key.to_string()).collect();
    keys.push(SPA_KEY.to_string());
    for a in &REGION_ARRAYS {
        keys.extend((0..12).map(|r| region_key(a.prefix, r)));
    }
    keys
}
