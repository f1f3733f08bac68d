//! The engine's rate tables, built once per run on the CPU from `data/` and the scenario, and
//! laid out as one flat array of u32 words so the GPU path can bind them as one buffer.
//!
//! Everything transcendental happens here (monthly probabilities from annual ones, log-normal
//! quantiles, normal quantiles): the per-person loop only compares u32 draws with u32
//! thresholds and looks values up. Offsets are the constants in [`layout`]; keep in sync with
//! the WGSL constants generated from them.

use crate::codes::{self, MAX_AGE};
use crate::data::CsvTable;
use crate::error::{Error, Result};
use crate::fixed::{annual_to_monthly, threshold};
use crate::month::Month;
use crate::scenario::Scenario;

pub const AGES: usize = MAX_AGE as usize + 1;
pub const BANDS: usize = 8;
/// Quantiles per earnings distribution (drawn with the top 8 bits of a draw).
pub const EARN_Q: usize = 256;
/// Points in the earnings-growth noise table (drawn with the top 6 bits).
pub const NOISE_Q: usize = 64;
/// State pension age table: birth months from 1880-01, 300 years.
pub const SPA_FROM_YEAR: u32 = 1880;
pub const SPA_LEN: usize = 300 * 12;

/// Word offsets into [`Tables::words`].
pub mod layout {
    use super::*;
    /// Monthly death thresholds `[sex][age][health]`.
    pub const DEATH: usize = 0;
    /// Monthly birth thresholds for women by age.
    pub const BIRTH: usize = DEATH + 2 * AGES * 3;
    /// Monthly health thresholds `[band][4]`: onset good→limiting, limiting→severe,
    /// recovery limiting→good, severe→limiting.
    pub const HEALTH: usize = BIRTH + AGES;
    /// Monthly care thresholds `[band][4]`: onset none→moderate if limiting, if severe,
    /// moderate→substantial, recovery moderate→none.
    pub const CARE: usize = HEALTH + BANDS * 4;
    /// Labour thresholds `[band][health][8]`: monthly E→U, E→I, U→E, U→I, I→E, I→U, then
    /// the shares employed and unemployed (destinations on leaving education).
    pub const LABOUR: usize = CARE + BANDS * 4;
    /// Monthly hazard of leaving education, by age.
    pub const EDU_LEAVE: usize = LABOUR + BANDS * 3 * 8;
    /// Monthly hazard of retiring for employed people at or over state pension age, by age.
    pub const RETIRE: usize = EDU_LEAVE + AGES;
    /// Earnings quantiles in pence per month `[band][sex][EARN_Q]`.
    pub const EARNINGS: usize = RETIRE + AGES;
    /// Monthly earnings-growth noise, 2^-20 units, two's complement `[NOISE_Q]`.
    pub const GROWTH_NOISE: usize = EARNINGS + BANDS * 2 * EARN_Q;
    /// State pension age in months by birth month from `SPA_FROM_YEAR`-01.
    pub const SPA: usize = GROWTH_NOISE + NOISE_Q;
    /// Monthly thresholds of a new request `[band][health][3]`: GP appointment, A&E
    /// attendance, hospital admission.
    pub const SERVICE: usize = SPA + SPA_LEN;
    /// Mean hospital length of stay in days, by band.
    pub const STAY: usize = SERVICE + BANDS * 3 * 3;
    pub const LEN: usize = STAY + BANDS;
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tables {
    pub words: Vec<u32>,
}

impl Tables {
    #[inline(always)]
    pub fn death(&self, sex: u32, age: u32, health: u32) -> u32 {
        self.words[layout::DEATH + ((sex as usize * AGES) + age as usize) * 3 + health as usize]
    }
    #[inline(always)]
    pub fn birth(&self, age: u32) -> u32 {
        self.words[layout::BIRTH + age as usize]
    }
    #[inline(always)]
    pub fn health(&self, band: u32, i: usize) -> u32 {
        self.words[layout::HEALTH + band as usize * 4 + i]
    }
    #[inline(always)]
    pub fn care(&self, band: u32, i: usize) -> u32 {
        self.words[layout::CARE + band as usize * 4 + i]
    }
    #[inline(always)]
    pub fn labour(&self, band: u32, health: u32, i: usize) -> u32 {
        self.words[layout::LABOUR + (band as usize * 3 + health as usize) * 8 + i]
    }
    #[inline(always)]
    pub fn edu_leave(&self, age: u32) -> u32 {
        self.words[layout::EDU_LEAVE + age as usize]
    }
    #[inline(always)]
    pub fn retire(&self, age: u32) -> u32 {
        self.words[layout::RETIRE + age as usize]
    }
    #[inline(always)]
    pub fn earnings(&self, band: u32, sex: u32, q: u32) -> u32 {
        self.words[layout::EARNINGS + (band as usize * 2 + sex as usize) * EARN_Q + q as usize]
    }
    #[inline(always)]
    pub fn growth_noise(&self, q: u32) -> i32 {
        self.words[layout::GROWTH_NOISE + q as usize] as i32
    }
    /// State pension age in months for a person born in absolute month `birth_month`.
    #[inline(always)]
    pub fn spa(&self, birth_month: u32) -> u32 {
        let from = SPA_FROM_YEAR * 12;
        let i = birth_month.saturating_sub(from).min(SPA_LEN as u32 - 1);
        self.words[layout::SPA + i as usize]
    }

    /// Threshold of a new request for service `k` (0 GP, 1 A&E, 2 hospital).
    #[inline(always)]
    pub fn service(&self, band: u32, health: u32, k: u32) -> u32 {
        self.words[layout::SERVICE + (band as usize * 3 + health as usize) * 3 + k as usize]
    }
    /// Mean length of stay, days.
    #[inline(always)]
    pub fn stay(&self, band: u32) -> u32 {
        self.words[layout::STAY + band as usize]
    }

    /// Build every table for a scenario.
    pub fn build(s: &Scenario) -> Result<Tables> {
        let mut w = vec![0u32; layout::LEN];
        let d = &s.data;

        // --- health: prevalence (for mortality normalisation) and transitions ---
        let health = CsvTable::read(&d.health)?;
        let hb = health.band_rows()?;
        let (c_prev, c_sev) = (health.col("prevalence_limiting_or_severe")?, health.col("severe_share")?);
        let (c_rr_l, c_rr_s) = (health.col("mortality_rr_limiting")?, health.col("mortality_rr_severe")?);
        let hcols = [
            health.col("onset_good_to_limiting")?,
            health.col("limiting_to_severe")?,
            health.col("recovery_limiting_to_good")?,
            health.col("severe_to_limiting")?,
        ];
        let mut rr = [[1.0f64; 3]; BANDS];
        for b in 0..BANDS {
            let r = hb[b];
            let p = health.prob_at(r, c_prev)?;
            let ps = p * health.prob_at(r, c_sev)?;
            let pl = p - ps;
            let (rl, rs) = (health.f64_at(r, c_rr_l)?, health.f64_at(r, c_rr_s)?);
            if rl <= 0.0 || rs <= 0.0 {
                return Err(Error::data(&health.path, Some(r as u64 + 1), "mortality relative risks must be positive"));
            }
            // normalise so the prevalence-weighted mean multiplier is 1: the life table is
            // the whole population's mortality
            let mean = (1.0 - p) + pl * rl + ps * rs;
            rr[b] = [1.0 / mean, rl / mean, rs / mean];
            for (i, c) in hcols.iter().enumerate() {
                w[layout::HEALTH + b * 4 + i] = threshold(annual_to_monthly(health.prob_at(r, *c)?));
            }
        }

        // --- mortality: life table qx by sex and age 0..=100, extended to 110 ---
        let lt = CsvTable::read(&d.life_table)?;
        let (c_period, c_sex, c_age, c_qx) = (lt.col("period")?, lt.col("sex")?, lt.col("age")?, lt.col("qx")?);
        for sex in 0..2u32 {
            let mut qx = [f64::NAN; AGES];
            for r in 0..lt.rows.len() {
                if lt.str_at(r, c_period) != d.life_table_period || lt.str_at(r, c_sex) != codes::SEX[sex as usize] {
                    continue;
                }
                let age = lt.u32_at(r, c_age)? as usize;
                if age < AGES {
                    qx[age] = lt.prob_at(r, c_qx)?;
                }
            }
            let last = (0..AGES).rev().find(|a| !qx[*a].is_nan()).ok_or_else(|| {
                Error::data(&lt.path, None, format!("no rows for period `{}` and sex `{}`", d.life_table_period, codes::SEX[sex as usize]))
            })?;
            if let Some(gap) = (0..=last).find(|a| qx[*a].is_nan()) {
                return Err(Error::data(&lt.path, None, format!("period `{}`, {}: no qx for age {gap}", d.life_table_period, codes::SEX[sex as usize])));
            }
            // ASSUMPTION: beyond the table's last age qx rises 10% a year of age, and the
            // oldest age (110) is certain death within the year.
            for a in last + 1..AGES {
                qx[a] = (qx[a - 1] * 1.1).min(1.0);
            }
            qx[AGES - 1] = 1.0;
            for age in 0..AGES {
                let band = codes::age_band(age as u32) as usize;
                for h in 0..3 {
                    // the last age is certain death whatever the health multiplier
                    let q = if age == AGES - 1 { 1.0 } else { (qx[age] * rr[band][h]).min(1.0) };
                    w[layout::DEATH + ((sex as usize * AGES) + age) * 3 + h] = threshold(annual_to_monthly(q));
                }
            }
        }

        // --- fertility: births per 1000 women per year -> monthly probability (rate / 12) ---
        let fert = CsvTable::read(&d.fertility)?;
        let c_rate = fert.col("births_per_1000_women_per_year")?;
        let by_age = fert.by_age(|r| fert.f64_at(r, c_rate))?;
        for (age, v) in by_age.iter().enumerate() {
            if let Some(rate) = v {
                if !(0.0..=1000.0).contains(rate) {
                    return Err(Error::data(&fert.path, None, format!("rate {rate} at age {age} outside 0..=1000")));
                }
                w[layout::BIRTH + age] = threshold(rate / 1000.0 / 12.0);
            }
        }

        // --- care need transitions ---
        let care = CsvTable::read(&d.care)?;
        let cb = care.band_rows()?;
        let ccols = [
            care.col("onset_none_to_moderate_limiting")?,
            care.col("onset_none_to_moderate_severe")?,
            care.col("moderate_to_substantial")?,
            care.col("recovery_moderate_to_none")?,
        ];
        for b in 0..BANDS {
            for (i, c) in ccols.iter().enumerate() {
                w[layout::CARE + b * 4 + i] = threshold(annual_to_monthly(care.prob_at(cb[b], *c)?));
            }
        }

        // --- labour market (monthly probabilities already) ---
        let lab = CsvTable::read(&d.labour)?;
        let (c_band, c_h) = (lab.col("age_band")?, lab.col("health")?);
        let lcols = ["rate_eu", "rate_ei", "rate_ue", "rate_ui", "rate_ie", "rate_iu", "p_employed", "p_unemployed"].map(|c| lab.col(c));
        for r in 0..lab.rows.len() {
            let band = codes::lookup(&codes::AGE_BANDS, lab.str_at(r, c_band))
                .ok_or_else(|| Error::data(&lab.path, Some(r as u64 + 1), format!("unknown age band `{}`", lab.str_at(r, c_band))))?;
            let h = codes::lookup(&codes::HEALTH, lab.str_at(r, c_h))
                .ok_or_else(|| Error::data(&lab.path, Some(r as u64 + 1), format!("unknown health `{}`", lab.str_at(r, c_h))))?;
            let mut total_from = [0.0f64; 4];
            for (i, c) in lcols.iter().enumerate() {
                let c = *c.as_ref().map_err(|e| Error::data(&lab.path, None, e.to_string()))?;
                let p = lab.prob_at(r, c)?;
                total_from[i / 2] += p;
                w[layout::LABOUR + (band as usize * 3 + h as usize) * 8 + i] = threshold(p);
            }
            if total_from.iter().any(|t| *t > 1.0) {
                return Err(Error::data(&lab.path, Some(r as u64 + 1), "exit probabilities from one state (or the two destination shares) sum above 1"));
            }
        }

        // --- education leaving and retirement, by age ---
        let edu = CsvTable::read(&d.education)?;
        let c_leave = edu.col("leave_hazard_per_year")?;
        for (age, v) in edu.by_age(|r| edu.prob_at(r, c_leave))?.iter().enumerate() {
            // everyone still in education leaves at 25 (engine rule)
            w[layout::EDU_LEAVE + age] = if age >= 25 { u32::MAX } else { threshold(annual_to_monthly(v.unwrap_or(0.0))) };
        }
        let ret = CsvTable::read(&d.retirement)?;
        let c_ret = ret.col("retire_hazard_employed_per_year")?;
        for (age, v) in ret.by_age(|r| ret.prob_at(r, c_ret))?.iter().enumerate() {
            let p = v.ok_or_else(|| Error::data(&ret.path, None, format!("no retirement hazard for age {age} (rows must cover 0-110)")))?;
            w[layout::RETIRE + age] = threshold(annual_to_monthly(p));
        }

        // --- earnings on entry to work: log-normal quantiles ---
        let earn = CsvTable::read(&d.earnings)?;
        let (c_b, c_s, c_med, c_sd) = (earn.col("age_band")?, earn.col("sex")?, earn.col("median_gbp_per_month")?, earn.col("log_sd")?);
        let mut seen = [[false; 2]; BANDS];
        for r in 0..earn.rows.len() {
            let band = codes::lookup(&codes::AGE_BANDS, earn.str_at(r, c_b));
            let sex = codes::lookup(&codes::SEX, earn.str_at(r, c_s));
            let (Some(band), Some(sex)) = (band, sex) else {
                return Err(Error::data(&earn.path, Some(r as u64 + 1), "unknown age band or sex"));
            };
            let (med, sd) = (earn.f64_at(r, c_med)?, earn.f64_at(r, c_sd)?);
            if med <= 0.0 || sd < 0.0 {
                return Err(Error::data(&earn.path, Some(r as u64 + 1), "median must be positive and log_sd non-negative"));
            }
            seen[band as usize][sex as usize] = true;
            for q in 0..EARN_Q {
                let z = inverse_normal((q as f64 + 0.5) / EARN_Q as f64);
                let pence = (med * (sd * z).exp() * 100.0).round().min(crate::state::EARNINGS_CAP as f64);
                w[layout::EARNINGS + (band as usize * 2 + sex as usize) * EARN_Q + q] = pence as u32;
            }
        }
        for (b, row) in seen.iter().enumerate().skip(1) {
            if row.iter().any(|s| !s) {
                return Err(Error::data(&earn.path, None, format!("missing a row for age band {} (both sexes needed from 16-24 up)", codes::AGE_BANDS[b])));
            }
        }

        // --- earnings growth noise (scenario parameter at the start month) ---
        let p0 = s.resolve(s.start, 0)?;
        for q in 0..NOISE_Q {
            let z = inverse_normal((q as f64 + 0.5) / NOISE_Q as f64);
            w[layout::GROWTH_NOISE + q] = ((z * p0.growth_sd_q20 as f64).round() as i32) as u32;
        }

        // --- state pension age by birth month ---
        let spa = s.spa_table(Month::new(SPA_FROM_YEAR, 1), SPA_LEN)?;
        w[layout::SPA..layout::SPA + SPA_LEN].copy_from_slice(&spa);

        // --- service demand: yearly rates -> monthly probability of at least one request
        // (Poisson: 1 - exp(-rate / 12)), times the relative rate of each health state ---
        let sv = CsvTable::read(&d.services)?;
        let sb = sv.band_rows()?;
        let rates = [sv.col("gp_appointments_per_year")?, sv.col("ae_attendances_per_year")?, sv.col("admissions_per_year")?];
        let (c_rl, c_rs, c_stay) = (sv.col("rr_limiting")?, sv.col("rr_severe")?, sv.col("mean_length_of_stay_days")?);
        for b in 0..BANDS {
            let r = sb[b];
            let rr = [1.0, sv.f64_at(r, c_rl)?, sv.f64_at(r, c_rs)?];
            for (k, c) in rates.iter().enumerate() {
                let rate = sv.f64_at(r, *c)?;
                if !(0.0..=1000.0).contains(&rate) || rr[1] < 0.0 || rr[2] < 0.0 {
                    return Err(Error::data(&sv.path, Some(r as u64 + 1), "rates must be in 0..=1000 a year and relative rates not negative"));
                }
                for h in 0..3 {
                    w[layout::SERVICE + (b * 3 + h) * 3 + k] = threshold(1.0 - (-(rate * rr[h]) / 12.0).exp());
                }
            }
            let stay = sv.f64_at(r, c_stay)?;
            if !(1.0..=365.0).contains(&stay) {
                return Err(Error::data(&sv.path, Some(r as u64 + 1), "mean_length_of_stay_days must be in 1..=365"));
            }
            w[layout::STAY + b] = stay.round() as u32;
        }

        Ok(Tables { words: w })
    }
}

/// Inverse of the standard normal CDF (Acklam's algorithm, relative error < 1.2e-9).
/// CPU only: used to build tables, never per person.
#[allow(clippy::excessive_precision)] // the published coefficients, as printed
pub fn inverse_normal(p: f64) -> f64 {
    const A: [f64; 6] = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
    const B: [f64; 5] = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
    const C: [f64; 6] = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
    const D: [f64; 4] = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
    let pl = 0.02425;
    if p < pl {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - pl {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -inverse_normal(1.0 - p)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn inverse_normal_known_points() {
        assert!(super::inverse_normal(0.5).abs() < 1e-9);
        assert!((super::inverse_normal(0.975) - 1.959964).abs() < 1e-5);
        assert!((super::inverse_normal(0.01) + 2.326348).abs() < 1e-5);
    }
}
