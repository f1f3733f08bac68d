//! Categorical values: their names as they appear in the Parquet files, and their integer
//! codes in the engine's per-person state. The code of a value is its index in the list.
//! Keep in sync with the constants generated for WGSL (the GPU path reads the same codes).

pub const SEX: [&str; 2] = ["female", "male"];
pub const FEMALE: u32 = 0;
pub const MALE: u32 = 1;

pub const EMPLOYMENT: [&str; 6] = ["child", "in_education", "employed", "unemployed", "inactive", "retired"];
pub const CHILD: u32 = 0;
pub const IN_EDUCATION: u32 = 1;
pub const EMPLOYED: u32 = 2;
pub const UNEMPLOYED: u32 = 3;
pub const INACTIVE: u32 = 4;
pub const RETIRED: u32 = 5;

pub const HEALTH: [&str; 3] = ["good", "limiting", "severe"];
pub const GOOD: u32 = 0;
pub const LIMITING: u32 = 1;
pub const SEVERE: u32 = 2;

pub const CARE_NEED: [&str; 3] = ["none", "moderate", "substantial"];
pub const CARE_NONE: u32 = 0;
pub const CARE_MODERATE: u32 = 1;
pub const CARE_SUBSTANTIAL: u32 = 2;

pub const TENURE: [&str; 4] = ["owner", "private_rent", "social_rent", "temporary_accommodation"];
pub const OWNER: u32 = 0;
pub const PRIVATE_RENT: u32 = 1;
pub const SOCIAL_RENT: u32 = 2;
pub const TEMPORARY: u32 = 3;
/// Not an input value: a household evicted for arrears that the homelessness service has not
/// yet placed in temporary accommodation (no housing costs). Written to snapshots as
/// `homeless`.
pub const HOMELESS: u32 = 4;
/// Tenure names as outputs write them (inputs accept only [`TENURE`]).
pub const TENURE_OUT: [&str; 5] = ["owner", "private_rent", "social_rent", "temporary_accommodation", "homeless"];

/// Public services with a monthly capacity and a waiting list per region (MODEL.md §3 step 7).
/// The first six are requested by persons; social lettings by households in temporary
/// accommodation (through their reference person). Keep the order: it fixes the queue
/// index (`service * 12 + region`), the measure columns and the keys of the scenario.
pub const SERVICES: [&str; 7] = ["gp", "ae", "hospital", "social_care", "homelessness", "employment_support", "social_lettings"];
/// Output column prefixes of the services.
pub const SERVICE_COLUMNS: [&str; 7] = [
    "gp_appointments",
    "ae_attendances",
    "hospital_admissions",
    "social_care",
    "homelessness_service",
    "employment_support",
    "social_lettings",
];
/// Display names of the services (reports).
pub const SERVICE_TITLES: [&str; 7] = ["GP appointments", "A&E attendances", "Hospital admissions", "Social care", "Homelessness service", "Employment support", "Social lettings"];
/// What one unit of each service is (capacity, `_units` and unit costs are in these).
pub const SERVICE_UNITS: [&str; 7] = ["appointments", "attendances", "bed-days", "care hours", "cases", "support places (person-months)", "lettings"];
pub const S_GP: u32 = 0;
pub const S_AE: u32 = 1;
pub const S_HOSPITAL: u32 = 2;
pub const S_CARE: u32 = 3;
pub const S_HOMELESS: u32 = 4;
pub const S_EMPLOYMENT: u32 = 5;
pub const S_LETTINGS: u32 = 6;
pub const N_SERVICES: usize = 7;
/// Services whose waits are kept per person (5 bits each in `Persons::svc_wait`).
pub const N_PERSON_SERVICES: usize = 6;
pub const N_QUEUES: usize = N_SERVICES * 12;

/// The 12 UK ITL1 regions and nations, in ONS order.
pub const REGIONS: [&str; 12] = [
    "North East",
    "North West",
    "Yorkshire and The Humber",
    "East Midlands",
    "West Midlands",
    "East of England",
    "London",
    "South East",
    "South West",
    "Wales",
    "Scotland",
    "Northern Ireland",
];
/// ITL1 codes, accepted in input files as an alternative to the names.
pub const REGION_ITL1: [&str; 12] = ["TLC", "TLD", "TLE", "TLF", "TLG", "TLH", "TLI", "TLJ", "TLK", "TLL", "TLM", "TLN"];
/// Snake-case keys used in scenario files (e.g. `local_housing_allowance.north_east`).
pub const REGION_KEYS: [&str; 12] = [
    "north_east",
    "north_west",
    "yorkshire_and_the_humber",
    "east_midlands",
    "west_midlands",
    "east_of_england",
    "london",
    "south_east",
    "south_west",
    "wales",
    "scotland",
    "northern_ireland",
];
pub const LONDON: u32 = 6;

/// Output age bands (MODEL.md §5), lower bounds in completed years.
pub const AGE_BANDS: [&str; 8] = ["0-15", "16-24", "25-34", "35-49", "50-64", "65-74", "75-84", "85+"];
pub const AGE_BAND_FROM: [u32; 8] = [0, 16, 25, 35, 50, 65, 75, 85];

pub const MAX_AGE: u32 = 110;

/// Age band index of an age in completed years (by table up to [`MAX_AGE`]; the WGSL twin
/// counts the band lower bounds, as [`age_band_by_bounds`] does).
#[inline(always)]
pub fn age_band(age_years: u32) -> u32 {
    AGE_BAND_OF[age_years.min(MAX_AGE) as usize] as u32
}

/// Age band by counting the band lower bounds at or below the age (the table's definition).
pub const fn age_band_by_bounds(age_years: u32) -> u32 {
    let mut b = 0;
    let mut i = 1;
    while i < 8 {
        b += (age_years >= AGE_BAND_FROM[i]) as u32;
        i += 1;
    }
    b
}

const AGE_BAND_OF: [u8; MAX_AGE as usize + 1] = {
    let mut t = [0u8; MAX_AGE as usize + 1];
    let mut a = 0;
    while a <= MAX_AGE {
        t[a as usize] = age_band_by_bounds(a) as u8;
        a += 1;
    }
    t
};

/// Look up a categorical value by name (exact match), or by integer code given as text.
pub fn lookup(names: &[&str], value: &str) -> Option<u32> {
    names.iter().position(|n| *n == value).map(|i| i as u32)
}

/// Region by name or ITL1 code.
pub fn region_code(value: &str) -> Option<u32> {
    lookup(&REGIONS, value).or_else(|| lookup(&REGION_ITL1, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn age_bands_cover_every_age() {
        assert_eq!(age_band(0), 0);
        assert_eq!(age_band(15), 0);
        assert_eq!(age_band(16), 1);
        assert_eq!(age_band(24), 1);
        assert_eq!(age_band(25), 2);
        assert_eq!(age_band(64), 4);
        assert_eq!(age_band(65), 5);
        assert_eq!(age_band(84), 6);
        assert_eq!(age_band(85), 7);
        assert_eq!(age_band(110), 7);
        for a in 0..300 {
            assert_eq!(age_band(a), age_band_by_bounds(a), "age {a}: table and bounds agree");
        }
    }
    #[test]
    fn regions_by_name_and_code() {
        assert_eq!(region_code("London"), Some(LONDON));
        assert_eq!(region_code("TLI"), Some(LONDON));
        assert_eq!(region_code("london"), None);
    }
}
