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
    InArrears = "households_in_arrears", "households", "Renting households with rent arrears at the end of the month.";
    Arrears = "rent_arrears_pence", "pence", "Rent arrears owed at the end of the month (a stock).";
    Evictions = "homelessness_applications", "households", "Households evicted for arrears this month, who apply to the council as homeless.";
    Homeless = "homeless_households", "households", "Homeless households not yet placed in temporary accommodation, at the end of the month.";
    Ta = "temporary_accommodation_households", "households", "Households in temporary accommodation at the end of the month.";
    TaCost = "temporary_accommodation_cost_pence", "pence", "Councils' net cost of temporary accommodation this month.";
    GpDemand = "gp_appointments_demand", "persons", "Requests for GP this month: new ones and those carried over on the waiting list (one per person).";
    GpNew = "gp_appointments_new", "persons", "New requests for GP this month.";
    GpServed = "gp_appointments_served", "persons", "Requests for GP served this month (longest-waiting first within the capacity).";
    GpUnmet = "gp_appointments_unmet", "persons", "Requests for GP not served this month (demand − served = waiting + left).";
    GpWaiting = "gp_appointments_waiting", "persons", "On the GP waiting list at the end of the month.";
    GpLeft = "gp_appointments_left", "persons", "Left the GP waiting list unserved this month: waited the longest allowed, or the need ended.";
    GpDiedWaiting = "gp_appointments_died_waiting", "persons", "Died this month while on the GP waiting list.";
    GpUnits = "gp_appointments_units", "appointments", "Appointments of GP delivered this month.";
    GpCost = "gp_appointments_cost_pence", "pence", "Cost of the GP delivered: units × the unit cost.";
    GpUnitsDemanded = "gp_appointments_units_demanded", "appointments", "Appointments of GP requested this month (new and carried-over requests).";
    AeDemand = "ae_attendances_demand", "persons", "Requests for A&E this month: new ones and those carried over on the waiting list (one per person).";
    AeNew = "ae_attendances_new", "persons", "New requests for A&E this month.";
    AeServed = "ae_attendances_served", "persons", "Requests for A&E served this month (longest-waiting first within the capacity).";
    AeUnmet = "ae_attendances_unmet", "persons", "Requests for A&E not served this month (demand − served = waiting + left).";
    AeWaiting = "ae_attendances_waiting", "persons", "On the A&E waiting list at the end of the month.";
    AeLeft = "ae_attendances_left", "persons", "Left the A&E waiting list unserved this month: waited the longest allowed, or the need ended.";
    AeDiedWaiting = "ae_attendances_died_waiting", "persons", "Died this month while on the A&E waiting list.";
    AeUnits = "ae_attendances_units", "attendances", "Attendances of A&E delivered this month.";
    AeCost = "ae_attendances_cost_pence", "pence", "Cost of the A&E delivered: units × the unit cost.";
    AeUnitsDemanded = "ae_attendances_units_demanded", "attendances", "Attendances of A&E requested this month (new and carried-over requests).";
    HospDemand = "hospital_admissions_demand", "persons", "Requests for hospital admission this month: new ones and those carried over on the waiting list (one per person).";
    HospNew = "hospital_admissions_new", "persons", "New requests for hospital admission this month.";
    HospServed = "hospital_admissions_served", "persons", "Requests for hospital admission served this month (longest-waiting first within the capacity).";
    HospUnmet = "hospital_admissions_unmet", "persons", "Requests for hospital admission not served this month (demand − served = waiting + left).";
    HospWaiting = "hospital_admissions_waiting", "persons", "On the hospital admission waiting list at the end of the month.";
    HospLeft = "hospital_admissions_left", "persons", "Left the hospital admission waiting list unserved this month: waited the longest allowed, or the need ended.";
    HospDiedWaiting = "hospital_admissions_died_waiting", "persons", "Died this month while on the hospital admission waiting list.";
    HospUnits = "hospital_admissions_units", "bed-days", "Bed-days of hospital admission delivered this month.";
    HospCost = "hospital_admissions_cost_pence", "pence", "Cost of the hospital admission delivered: units × the unit cost.";
    HospUnitsDemanded = "hospital_admissions_units_demanded", "bed-days", "Bed-days of hospital admission requested this month (new and carried-over requests).";
    CareDemand = "social_care_demand", "persons", "Requests for council-arranged social care this month: new ones and those carried over on the waiting list (one per person).";
    CareNew = "social_care_new", "persons", "New requests for council-arranged social care this month.";
    CareServed = "social_care_served", "persons", "Requests for council-arranged social care served this month (longest-waiting first within the capacity).";
    CareUnmet = "social_care_unmet", "persons", "Requests for council-arranged social care not served this month (demand − served = waiting + left).";
    CareWaiting = "social_care_waiting", "persons", "On the council-arranged social care waiting list at the end of the month.";
    CareLeft = "social_care_left", "persons", "Left the council-arranged social care waiting list unserved this month: waited the longest allowed, or the need ended.";
    CareDiedWaiting = "social_care_died_waiting", "persons", "Died this month while on the council-arranged social care waiting list.";
    CareUnits = "social_care_units", "care hours", "Care hours of council-arranged social care delivered this month.";
    CareCost = "social_care_cost_pence", "pence", "Cost of the council-arranged social care delivered: units × the unit cost.";
    CareUnitsDemanded = "social_care_units_demanded", "care hours", "Care hours of council-arranged social care requested this month (new and carried-over requests).";
    HomelessDemand = "homelessness_service_demand", "households", "Requests for homelessness service this month: new ones and those carried over on the waiting list (one per household).";
    HomelessNew = "homelessness_service_new", "households", "New requests for homelessness service this month.";
    HomelessServed = "homelessness_service_served", "households", "Requests for homelessness service served this month (longest-waiting first within the capacity).";
    HomelessUnmet = "homelessness_service_unmet", "households", "Requests for homelessness service not served this month (demand − served = waiting + left).";
    HomelessWaiting = "homelessness_service_waiting", "households", "On the homelessness service waiting list at the end of the month.";
    HomelessLeft = "homelessness_service_left", "households", "Left the homelessness service waiting list unserved this month: waited the longest allowed, or the need ended.";
    HomelessDiedWaiting = "homelessness_service_died_waiting", "persons", "Died this month while on the homelessness service waiting list.";
    HomelessUnits = "homelessness_service_units", "cases", "Cases of homelessness service delivered this month.";
    HomelessCost = "homelessness_service_cost_pence", "pence", "Cost of the homelessness service delivered: units × the unit cost.";
    HomelessUnitsDemanded = "homelessness_service_units_demanded", "cases", "Cases of homelessness service requested this month (new and carried-over requests).";
    EmpDemand = "employment_support_demand", "persons", "Requests for employment support this month: new ones and those carried over on the waiting list (one per person).";
    EmpNew = "employment_support_new", "persons", "New requests for employment support this month.";
    EmpServed = "employment_support_served", "persons", "Requests for employment support served this month (longest-waiting first within the capacity).";
    EmpUnmet = "employment_support_unmet", "persons", "Requests for employment support not served this month (demand − served = waiting + left).";
    EmpWaiting = "employment_support_waiting", "persons", "On the employment support waiting list at the end of the month.";
    EmpLeft = "employment_support_left", "persons", "Left the employment support waiting list unserved this month: waited the longest allowed, or the need ended.";
    EmpDiedWaiting = "employment_support_died_waiting", "persons", "Died this month while on the employment support waiting list.";
    EmpUnits = "employment_support_units", "person-months of support", "Person-months of support of employment support delivered this month.";
    EmpCost = "employment_support_cost_pence", "pence", "Cost of the employment support delivered: units × the unit cost.";
    EmpUnitsDemanded = "employment_support_units_demanded", "person-months of support", "Person-months of support of employment support requested this month (new and carried-over requests).";
    LetDemand = "social_lettings_demand", "households", "Requests for social lettings this month: new ones and those carried over on the waiting list (one per household).";
    LetNew = "social_lettings_new", "households", "New requests for social lettings this month.";
    LetServed = "social_lettings_served", "households", "Requests for social lettings served this month (longest-waiting first within the capacity).";
    LetUnmet = "social_lettings_unmet", "households", "Requests for social lettings not served this month (demand − served = waiting + left).";
    LetWaiting = "social_lettings_waiting", "households", "On the social lettings waiting list at the end of the month.";
    LetLeft = "social_lettings_left", "households", "Left the social lettings waiting list unserved this month: waited the longest allowed, or the need ended.";
    LetDiedWaiting = "social_lettings_died_waiting", "persons", "Died this month while on the social lettings waiting list.";
    LetUnits = "social_lettings_units", "lettings", "Lettings of social lettings delivered this month.";
    LetCost = "social_lettings_cost_pence", "pence", "Cost of the social lettings delivered: units × the unit cost.";
    LetUnitsDemanded = "social_lettings_units_demanded", "lettings", "Lettings of social lettings requested this month (new and carried-over requests).";
}

/// Measures per service, in order: demand, new, served, unmet, waiting, left, died waiting,
/// units, cost, units demanded.
pub const SERVICE_MEASURES: usize = 10;
/// First service measure (GP demand); service `s`, measure `k` is `SERVICE_BASE + s * 10 + k`.
pub const SERVICE_BASE: usize = M::GpDemand as usize;
pub const SM_DEMAND: usize = 0;
pub const SM_NEW: usize = 1;
pub const SM_SERVED: usize = 2;
pub const SM_UNMET: usize = 3;
pub const SM_WAITING: usize = 4;
pub const SM_LEFT: usize = 5;
pub const SM_DIED: usize = 6;
pub const SM_UNITS: usize = 7;
pub const SM_COST: usize = 8;
pub const SM_UNITS_DEMANDED: usize = 9;
#[inline(always)]
pub fn service_measure(service: u32, k: usize) -> usize {
    SERVICE_BASE + service as usize * SERVICE_MEASURES + k
}

/// Services whose requests are one unit each (bitmask by service id: all but the hospital's
/// bed-days and social care's hours). Their units served equal their served requests, and
/// their cost is the served requests times the unit cost, so neither is added per request
/// ([`derive_service_measures`]).
pub const DERIVED_UNITS: u32 = !(1 << crate::codes::S_HOSPITAL | 1 << crate::codes::S_CARE) & ((1 << crate::codes::N_SERVICES) - 1);
/// Services whose units demanded equal their demand (bitmask): one unit a request, and no
/// request ends in the demand pass because its need did (those add demand without units
/// demanded: social care, homelessness, employment support).
pub const DERIVED_UNITS_DEMANDED: u32 = 1 << crate::codes::S_GP | 1 << crate::codes::S_AE | 1 << crate::codes::S_LETTINGS;
const _: () = assert!(DERIVED_UNITS_DEMANDED & !DERIVED_UNITS == 0);

/// Set the service measures that are not added per request from the ones that are, in every
/// cell: demand = served + unmet (every request is one or the other, the
/// waiters whose need ended in the demand pass included); for one-unit services units =
/// served and cost = served × the unit cost (each served request added `w × 1` and
/// `w × cost`); units demanded = demand where no request ends with its need. The same
/// sums, in wrapping u64 arithmetic, as adding them per request; the month's passes add
/// fewer measures a request (a served GP request two instead of six). Assignments, so
/// deriving twice (a stage's accumulator, then the month's it was merged into) changes
/// nothing. `unit_cost` is this month's, by service id.
pub fn derive_service_measures(acc: &mut Acc, unit_cost: &[u32; crate::codes::N_SERVICES]) {
    for c in 0..N_CELLS {
        let row = acc.row(c).0;
        for s in 0..crate::codes::N_SERVICES as u32 {
            let m = |k: usize| service_measure(s, k);
            // a derived measure is 0 before (nothing adds it) or already derived (a stage's
            // accumulator merged into the month's): an add to it would be lost here, so the
            // test builds check (a timing run's ablation may fold into one, in release builds)
            let served = row[m(SM_SERVED)];
            let demand = served.wrapping_add(row[m(SM_UNMET)]);
            let mut set = |k: usize, v: u64| {
                debug_assert!(row[m(k)] == 0 || row[m(k)] == v, "service {s} measure {k} of cell {c} is added to, and derived: {} before, {v} derived", row[m(k)]);
                row[m(k)] = v;
            };
            set(SM_DEMAND, demand);
            if DERIVED_UNITS >> s & 1 != 0 {
                set(SM_UNITS, served);
                set(SM_COST, served.wrapping_mul(unit_cost[s as usize] as u64));
            }
            if DERIVED_UNITS_DEMANDED >> s & 1 != 0 {
                set(SM_UNITS_DEMANDED, demand);
            }
        }
    }
}

/// Set the persons' counts that the GPU's accounting does not add from the ones it does, in
/// every cell: the population is the sum of the six employment states (each person is in
/// exactly one), good health the population less limiting and severe, no care need the
/// population less moderate and substantial (`shaders/accounting.wgsl` `local_measure`: three
/// workgroup atomics a person fewer). Assignments in wrapping u64 arithmetic, so exact, and
/// where the three were added (the CPU's accounting) they already hold these values: deriving
/// again changes nothing.
pub fn derive_person_counts(acc: &mut Acc) {
    const EMP: [M; 6] = [M::Child, M::InEducation, M::Employed, M::Unemployed, M::Inactive, M::Retired];
    for c in 0..N_CELLS {
        let row = acc.row(c);
        let r = row.0;
        let population = EMP.iter().fold(0u64, |a, &m| a.wrapping_add(r[m as usize]));
        let good = population.wrapping_sub(r[M::HealthLimiting as usize]).wrapping_sub(r[M::HealthSevere as usize]);
        let none = population.wrapping_sub(r[M::CareModerate as usize]).wrapping_sub(r[M::CareSubstantial as usize]);
        for (m, v) in [(M::Population, population), (M::HealthGood, good), (M::CareNone, none)] {
            // 0 before (the GPU adds none of them) or already these values (added per person):
            // anything else is a pass adding to a derived measure, which would be lost here
            debug_assert!(r[m as usize] == 0 || r[m as usize] == v, "measure {m:?} of cell {c} is added to, and derived: {} before, {v} derived", r[m as usize]);
            r[m as usize] = v;
        }
    }
}

pub const N_MEASURES: usize = MEASURES.len();
/// Cells: region × age band × sex.
pub const N_CELLS: usize = 12 * 8 * 2;

/// Cell index of (region, age band, sex).
#[inline(always)]
pub fn cell(region: u32, band: u32, sex: u32) -> usize {
    ((region as usize * 8) + band as usize) * 2 + sex as usize
}

/// One cell's measures in an [`Acc`].
pub struct Row<'a>(pub &'a mut [u64; N_MEASURES]);

impl Row<'_> {
    #[inline(always)]
    pub fn add(&mut self, m: M, v: u64) {
        self.add_at(m as usize, v);
    }
    #[inline(always)]
    pub fn add_at(&mut self, m: usize, v: u64) {
        let x = &mut self.0[m];
        *x = x.wrapping_add(v);
    }
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
        self.add_at(cell, m as usize, v);
    }
    #[inline(always)]
    pub fn add_at(&mut self, cell: usize, m: usize, v: u64) {
        self.0[cell * N_MEASURES + m] = self.0[cell * N_MEASURES + m].wrapping_add(v);
    }
    /// A cell's row of measures (one bounds check for all the adds to a cell).
    #[inline(always)]
    pub fn row(&mut self, cell: usize) -> Row<'_> {
        Row((&mut self.0[cell * N_MEASURES..(cell + 1) * N_MEASURES]).try_into().expect("a cell's row"))
    }
    pub fn get_at(&self, cell: usize, m: usize) -> u64 {
        self.0[cell * N_MEASURES + m]
    }
    /// Sum of a measure (by index) over all cells.
    pub fn total_at(&self, m: usize) -> u64 {
        (0..N_CELLS).map(|c| self.get_at(c, m)).sum()
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
        self.total_at(m as usize)
    }
}
