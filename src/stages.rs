//! The month step as a declarative list: which stages run, in which order, and which step of
//! MODEL.md §3 each implements. The engine runs [`ORDER`]; the GPU path will run the same list
//! (with a switch to run chosen stages on the CPU when narrowing a divergence).

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    Demography,
    Births,
    Labour,
    Health,
    PersonPolicy,
    HouseholdPolicy,
    Housing,
    Services,
    Accounting,
}

pub struct StageInfo {
    pub stage: Stage,
    /// Name of the stage: `src/cpu/<name>.rs` (and `shaders/<name>.wgsl` on the GPU path).
    pub name: &'static str,
    /// MODEL.md §3 step(s).
    pub model_step: &'static str,
    pub about: &'static str,
}

pub const ORDER: [StageInfo; 9] = [
    StageInfo { stage: Stage::Demography, name: "demography", model_step: "1", about: "ageing, deaths by age/sex/health, births to women 15-49" },
    StageInfo { stage: Stage::Births, name: "births", model_step: "1", about: "remove the dead, insert babies with new ids (prefix sum)" },
    StageInfo { stage: Stage::Labour, name: "labour", model_step: "2", about: "education, employment moves, retirement, earnings" },
    StageInfo { stage: Stage::Health, name: "health", model_step: "3", about: "health and care-need transitions" },
    StageInfo { stage: Stage::PersonPolicy, name: "person_policy", model_step: "5", about: "state pension, income tax, NI, disability benefit, social-care means test" },
    StageInfo { stage: Stage::HouseholdPolicy, name: "household_policy", model_step: "4-5", about: "household finances, UC, Pension Credit, child benefit, benefit cap, net income" },
    StageInfo { stage: Stage::Housing, name: "housing", model_step: "6, 8", about: "rent arrears (income-fall spillover), evictions and homelessness applications" },
    StageInfo { stage: Stage::Services, name: "services", model_step: "7-8", about: "service demand (admission spillover), capacity, waiting lists served longest-waiting first, placements and lettings" },
    StageInfo { stage: Stage::Accounting, name: "accounting", model_step: "9", about: "weighted sums by region, age band and sex" },
];
