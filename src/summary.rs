//! The headline figures of a run (`twin summary`, and the top of `twin report`): for each
//! scenario the first and the last simulated year, and for each reform its difference from the
//! baseline, as a terminal table, CSV or JSON.
//!
//! Stocks are read at the end of the year (the twelfth month), flows are summed over the
//! year's months. Money is shown in £ million a year; counts are weighted persons or
//! households. With fewer than twelve months the run is one (partial) period.

use crate::results::Results;
use crate::Result;
use std::fmt::Write;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Agg {
    /// The value at the end of the period (a stock: population, caseloads, waiting lists).
    End,
    /// The sum over the period's months (a flow: births, spend).
    Sum,
}

pub struct Headline {
    pub label: &'static str,
    pub unit: &'static str,
    pub agg: Agg,
    /// Measure columns added (sign +1) or subtracted (-1).
    pub terms: &'static [(&'static str, i64)],
    /// The measures are divided by this (1e8: pence to £ million).
    pub scale: f64,
}

const M: f64 = 1e8;
/// Every service's cost and the councils' temporary accommodation cost.
pub const SERVICE_COSTS: &[(&str, i64)] = &[
    ("gp_appointments_cost_pence", 1),
    ("ae_attendances_cost_pence", 1),
    ("hospital_admissions_cost_pence", 1),
    ("social_care_cost_pence", 1),
    ("homelessness_service_cost_pence", 1),
    ("employment_support_cost_pence", 1),
    ("social_lettings_cost_pence", 1),
    ("temporary_accommodation_cost_pence", 1),
];

/// The headline figures, in the order they are shown.
pub const HEADLINES: &[Headline] = &[
    Headline { label: "population", unit: "persons", agg: Agg::End, terms: &[("population", 1)], scale: 1.0 },
    Headline { label: "births", unit: "persons a year", agg: Agg::Sum, terms: &[("births", 1)], scale: 1.0 },
    Headline { label: "deaths", unit: "persons a year", agg: Agg::Sum, terms: &[("deaths", 1)], scale: 1.0 },
    Headline { label: "employed", unit: "persons", agg: Agg::End, terms: &[("employed", 1)], scale: 1.0 },
    Headline { label: "health limiting or severe", unit: "persons", agg: Agg::End, terms: &[("health_limiting", 1), ("health_severe", 1)], scale: 1.0 },
    Headline { label: "state pension caseload", unit: "persons", agg: Agg::End, terms: &[("state_pension_caseload", 1)], scale: 1.0 },
    Headline { label: "universal credit caseload", unit: "benefit units", agg: Agg::End, terms: &[("universal_credit_caseload", 1)], scale: 1.0 },
    Headline { label: "pension credit caseload", unit: "benefit units", agg: Agg::End, terms: &[("pension_credit_caseload", 1)], scale: 1.0 },
    Headline { label: "disability benefit caseload", unit: "persons", agg: Agg::End, terms: &[("disability_benefit_caseload", 1)], scale: 1.0 },
    Headline { label: "social care council-funded", unit: "persons", agg: Agg::End, terms: &[("social_care_council_funded_caseload", 1)], scale: 1.0 },
    Headline { label: "earnings", unit: "£m a year", agg: Agg::Sum, terms: &[("earnings_pence", 1)], scale: M },
    Headline { label: "income tax + NI", unit: "£m a year", agg: Agg::Sum, terms: &[("income_tax_pence", 1), ("national_insurance_pence", 1)], scale: M },
    Headline { label: "state pension", unit: "£m a year", agg: Agg::Sum, terms: &[("state_pension_pence", 1)], scale: M },
    Headline { label: "universal credit", unit: "£m a year", agg: Agg::Sum, terms: &[("universal_credit_pence", 1)], scale: M },
    Headline { label: "pension credit", unit: "£m a year", agg: Agg::Sum, terms: &[("pension_credit_pence", 1)], scale: M },
    Headline { label: "child benefit (net of charge)", unit: "£m a year", agg: Agg::Sum, terms: &[("child_benefit_pence", 1), ("child_benefit_charge_pence", -1)], scale: M },
    Headline { label: "disability benefit", unit: "£m a year", agg: Agg::Sum, terms: &[("disability_benefit_pence", 1)], scale: M },
    Headline { label: "household net income", unit: "£m a year", agg: Agg::Sum, terms: &[("household_net_income_pence", 1)], scale: M },
    Headline { label: "homeless or in temporary accommodation", unit: "households", agg: Agg::End, terms: &[("homeless_households", 1), ("temporary_accommodation_households", 1)], scale: 1.0 },
    Headline { label: "GP waiting list", unit: "persons", agg: Agg::End, terms: &[("gp_appointments_waiting", 1)], scale: 1.0 },
    Headline { label: "hospital waiting list", unit: "persons", agg: Agg::End, terms: &[("hospital_admissions_waiting", 1)], scale: 1.0 },
    Headline { label: "social care waiting list", unit: "persons", agg: Agg::End, terms: &[("social_care_waiting", 1)], scale: 1.0 },
    Headline { label: "service costs incl. temporary accommodation", unit: "£m a year", agg: Agg::Sum, terms: SERVICE_COSTS, scale: M },
];

/// A period of the run: its months and the calendar year it starts in.
#[derive(Clone, Copy, Debug)]
pub struct Period {
    pub first_month: usize,
    pub months: usize,
    pub label_year: u32,
}

/// The first and last periods shown: the first and last whole years, or the whole run if it is
/// shorter than a year.
pub fn periods(r: &Results) -> (Period, Period) {
    if r.years() == 0 {
        let p = Period { first_month: 0, months: r.months, label_year: r.start.year() };
        return (p, p);
    }
    let last = r.years() - 1;
    (Period { first_month: 0, months: 12, label_year: r.start.year() }, Period { first_month: last * 12, months: 12, label_year: r.start.add(last as u32 * 12).year() })
}

impl Period {
    /// Months `first_month..first_month + months` (a chart's point, a report's year).
    pub fn span(first_month: usize, months: usize) -> Period {
        Period { first_month, months, label_year: 0 }
    }
}

/// Signed measure columns of a month series (`r.national[s]` or `r.regional[s][region]`) over
/// period `p`: at its last month for a stock, summed over its months for a flow. Every figure
/// of the summary and the report is one of these.
pub fn total(r: &Results, series: &[Vec<i64>], agg: Agg, terms: &[(&str, i64)], p: Period) -> Result<i64> {
    let end = p.first_month + p.months;
    let months = match agg {
        Agg::End => end - 1..end,
        Agg::Sum => p.first_month..end,
    };
    let mut v = 0i64;
    for &(name, sign) in terms {
        let k = r.col(name)?;
        v += sign * months.clone().map(|m| series[m][k]).sum::<i64>();
    }
    Ok(v)
}

/// A headline's value for scenario `s` over a period, in its unit.
pub fn value(r: &Results, s: usize, h: &Headline, p: Period) -> Result<f64> {
    Ok(total(r, &r.national[s], h.agg, h.terms, p)? as f64 / h.scale)
}

/// One row of the summary.
pub struct Row {
    pub scenario: String,
    /// The baseline's name on a difference row (reform − baseline), empty on a level row.
    pub versus: String,
    pub measure: &'static str,
    pub unit: &'static str,
    pub first: f64,
    pub last: f64,
}

pub fn rows(r: &Results) -> Result<Vec<Row>> {
    let (p0, p1) = periods(r);
    let mut out = Vec::new();
    for (s, name) in r.scenarios.iter().enumerate() {
        for h in HEADLINES {
            out.push(Row { scenario: name.clone(), versus: String::new(), measure: h.label, unit: h.unit, first: value(r, s, h, p0)?, last: value(r, s, h, p1)? });
        }
    }
    for (s, name) in r.scenarios.iter().enumerate().skip(1) {
        for h in HEADLINES {
            out.push(Row {
                scenario: name.clone(),
                versus: r.baseline().to_string(),
                measure: h.label,
                unit: h.unit,
                first: value(r, s, h, p0)? - value(r, 0, h, p0)?,
                last: value(r, s, h, p1)? - value(r, 0, h, p1)?,
            });
        }
    }
    Ok(out)
}

/// A headline's spread across replicates over a period: a scenario's level, or a reform minus
/// the baseline paired by replicate, with the unpaired spread beside it.
pub struct SpreadRow {
    pub scenario: String,
    pub versus: String,
    pub measure: &'static str,
    pub unit: &'static str,
    pub spread: crate::plan::Spread,
    pub unpaired: Option<crate::plan::Spread>,
}

/// The headlines' spreads across replicates in the last period (empty with one replicate).
pub fn spreads(r: &Results) -> Result<Vec<SpreadRow>> {
    let (_, p1) = periods(r);
    let mut out = Vec::new();
    if r.by_replicate.len() < 2 {
        return Ok(out);
    }
    let per_rep = |s: usize, h: &Headline| -> Result<Vec<f64>> { r.by_replicate.iter().map(|reps| Ok(total(r, &reps[s], h.agg, h.terms, p1)? as f64 / h.scale)).collect() };
    for (s, name) in r.scenarios.iter().enumerate() {
        for h in HEADLINES {
            out.push(SpreadRow { scenario: name.clone(), versus: String::new(), measure: h.label, unit: h.unit, spread: crate::plan::spread(&mut per_rep(s, h)?), unpaired: None });
        }
    }
    for (s, name) in r.scenarios.iter().enumerate().skip(1) {
        for h in HEADLINES {
            let (rf, bs) = (per_rep(s, h)?, per_rep(0, h)?);
            let mut d: Vec<f64> = rf.iter().zip(&bs).map(|(a, b)| a - b).collect();
            out.push(SpreadRow {
                scenario: name.clone(),
                versus: r.baseline().to_string(),
                measure: h.label,
                unit: h.unit,
                spread: crate::plan::spread(&mut d),
                unpaired: Some(crate::plan::unpaired_spread(&rf, &bs)),
            });
        }
    }
    Ok(out)
}

fn shown(v: f64, unit: &str, signed: bool) -> String {
    let step = if unit.starts_with('£') { 0.1 } else { 1.0 };
    let s = crate::chart::fmt_num(v, step).replace('−', "-");
    if signed && v > 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0' && c != '.') {
        format!("+{s}")
    } else {
        s
    }
}

/// The terminal table.
pub fn table(r: &Results) -> Result<String> {
    let (p0, p1) = periods(r);
    let rows = rows(r)?;
    let mut o = String::new();
    let _ = writeln!(o, "{}", r.source().trim_start_matches("Source: "));
    let head = |o: &mut String, title: &str| {
        let y0 = if r.years() == 0 { format!("{} ({} months)", p0.label_year, p0.months) } else { format!("year 1 ({})", p0.label_year) };
        let y1 = if r.years() <= 1 { String::new() } else { format!("year {} ({})", r.years(), p1.label_year) };
        let _ = writeln!(o, "\n{:<58} {:>16} {:>16}", title, y0, y1);
    };
    let mut current = (String::new(), String::new());
    // the baseline's levels, then each reform's difference (every level is in the CSV and JSON)
    for row in rows.iter().filter(|row| row.scenario == r.baseline() || !row.versus.is_empty()) {
        if (row.scenario.clone(), row.versus.clone()) != current {
            current = (row.scenario.clone(), row.versus.clone());
            let title = if row.versus.is_empty() { format!("scenario `{}`", row.scenario) } else { format!("`{}` minus `{}`", row.scenario, row.versus) };
            head(&mut o, &title);
        }
        let signed = !row.versus.is_empty();
        let _ = writeln!(o, "{:<58} {:>16} {:>16}", format!("{} ({})", row.measure, row.unit), shown(row.first, row.unit, signed), if r.years() <= 1 { String::new() } else { shown(row.last, row.unit, signed) });
    }
    // the spread across replicates
    let spreads = spreads(r)?;
    if let Some(first) = spreads.first() {
        let n = first.spread.n;
        let when = if r.years() == 0 { format!("{} months", p1.months) } else { format!("year {} ({})", r.years(), p1.label_year) };
        let _ = writeln!(o, "
across {n} replicates, {when}: mean [90% interval: 5th to 95th percentile of the replicates]");
        let mut current = (String::new(), String::new());
        for row in spreads.iter().filter(|row| row.scenario == r.baseline() || !row.versus.is_empty()) {
            if (row.scenario.clone(), row.versus.clone()) != current {
                current = (row.scenario.clone(), row.versus.clone());
                if row.versus.is_empty() {
                    let _ = writeln!(o, "
{:<58} {:>34}", format!("scenario `{}`", row.scenario), "mean [90% interval]");
                } else {
                    let _ = writeln!(o, "
{:<58} {:>34} {:>34}", format!("`{}` minus `{}`", row.scenario, row.versus), "paired by replicate", "unpaired (independent runs)");
                }
            }
            let signed = !row.versus.is_empty();
            let iv = |x: &crate::plan::Spread| format!("{} [{}, {}]", shown(x.mean, row.unit, signed), shown(x.p05, row.unit, signed), shown(x.p95, row.unit, signed));
            let _ = writeln!(o, "{:<58} {:>34} {:>34}", format!("{} ({})", row.measure, row.unit), iv(&row.spread), row.unpaired.as_ref().map(iv).unwrap_or_default());
        }
    }
    // who gains: the last year's distribution, all regions and household types
    let last_year = r.years().saturating_sub(1);
    for name in r.scenarios.iter().skip(1) {
        let d: Vec<_> = r.distribution.iter().filter(|d| &d.scenario == name && d.year == last_year && d.region == "All" && d.household_type == "all").collect();
        if d.is_empty() {
            continue;
        }
        let _ = write!(o, "\n`{name}`, year {}: mean change in household net income by baseline income decile (£ a year per person):\n ", last_year + 1);
        for x in &d {
            let _ = write!(o, " {}:{}", x.decile, shown(x.mean_change_pence as f64 / 100.0, "", true));
        }
        let persons: i64 = d.iter().map(|x| x.persons).sum::<i64>().max(1);
        let w: f64 = d.iter().map(|x| x.winners_share * x.persons as f64).sum::<f64>() / persons as f64;
        let l: f64 = d.iter().map(|x| x.losers_share * x.persons as f64).sum::<f64>() / persons as f64;
        let _ = writeln!(o, "\n  winners {:.1}% of persons, losers {:.1}%", 100.0 * w, 100.0 * l);
    }
    Ok(o)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// CSV: one row per (scenario, versus, measure), the first and last period's values.
pub fn csv(r: &Results) -> Result<String> {
    let (p0, p1) = periods(r);
    let mut o = String::from("scenario,versus,measure,unit,first_year,first_value,last_year,last_value\n");
    for row in rows(r)? {
        let _ = writeln!(o, "{},{},{},{},{},{},{},{}", csv_field(&row.scenario), csv_field(&row.versus), csv_field(row.measure), csv_field(row.unit), p0.label_year, row.first, p1.label_year, row.last);
    }
    Ok(o)
}

/// JSON: the run, the periods and the rows.
pub fn json(r: &Results) -> Result<String> {
    let (p0, p1) = periods(r);
    let rows: Vec<serde_json::Value> = rows(r)?
        .into_iter()
        .map(|row| serde_json::json!({"scenario": row.scenario, "versus": (!row.versus.is_empty()).then_some(row.versus), "measure": row.measure, "unit": row.unit, "first": row.first, "last": row.last}))
        .collect();
    let v = serde_json::json!({
        "run": r.dir.display().to_string(),
        "baseline": r.baseline(),
        "scenarios": r.scenarios,
        "start": r.start.to_string(),
        "months": r.months,
        "first_period": {"year": p0.label_year, "first_month": r.start.add(p0.first_month as u32).to_string(), "months": p0.months},
        "last_period": {"year": p1.label_year, "first_month": r.start.add(p1.first_month as u32).to_string(), "months": p1.months},
        "rows": rows,
        "replicates": r.by_replicate.len(),
        "spread_last_period": spreads(r)?.into_iter().map(|x| {
            let sp = |s: &crate::plan::Spread| serde_json::json!({"mean": s.mean, "sd": s.sd, "p05": s.p05, "p95": s.p95});
            serde_json::json!({"scenario": x.scenario, "versus": (!x.versus.is_empty()).then_some(x.versus), "measure": x.measure, "unit": x.unit, "paired": sp(&x.spread), "unpaired": x.unpaired.as_ref().map(sp)})
        }).collect::<Vec<_>>(),
    });
    Ok(serde_json::to_string_pretty(&v).map_err(|e| crate::Error::Config(format!("summary as JSON: {e}")))? + "\n")
}
