//! `twin report`: one self-contained HTML page (inline CSS and SVG; nothing fetched when it
//! opens) showing a run: the headline table; population and caseloads; benefit spend; each
//! service's demand, capacity, delivery, waiting list and unmet need; for each reform its
//! lines against the baseline with the difference, the cost by department and the
//! distribution by income decile; and a regional table. Every chart has a title, axis labels
//! with units and a source line naming the run and its scenarios.

use crate::chart::{esc, BarChart, LineChart, Series, XAxis};
use crate::codes;
use crate::results::Results;
use crate::summary::{self, Agg, Period};
use crate::Result;
use std::fmt::Write;

/// x of month `m` of the run, in fractional years.
fn x_of(r: &Results, m: usize) -> f64 {
    r.start.year() as f64 + (r.start.month() as f64 - 1.0 + m as f64) / 12.0
}

/// A measure (sum of signed columns) per month for scenario `s`, divided by `scale`.
fn monthly(r: &Results, s: usize, terms: &[(&str, i64)], scale: f64) -> Result<Vec<(f64, f64)>> {
    (0..r.months).map(|m| Ok((x_of(r, m), summary::total(r, &r.national[s], Agg::Sum, terms, Period::span(m, 1))? as f64 / scale))).collect()
}

fn line(title: String, y_label: &str, source: &str, series: Vec<Series>) -> String {
    LineChart { title, x_label: "month".into(), y_label: y_label.into(), source: source.into(), x_axis: XAxis::Time, series }.svg()
}

/// Departments for the cost chart: (name, measure columns with their sign as a cost to the
/// exchequer: spending counts +, receipts −).
pub const DEPARTMENTS: &[(&str, &[(&str, i64)])] = &[
    ("DWP benefits", &[("universal_credit_pence", 1), ("pension_credit_pence", 1), ("state_pension_pence", 1), ("disability_benefit_pence", 1), ("employment_support_cost_pence", 1)]),
    ("HMRC", &[("child_benefit_pence", 1), ("child_benefit_charge_pence", -1), ("income_tax_pence", -1), ("national_insurance_pence", -1)]),
    ("NHS", &[("gp_appointments_cost_pence", 1), ("ae_attendances_cost_pence", 1), ("hospital_admissions_cost_pence", 1)]),
    (
        "Local authorities",
        &[("social_care_cost_pence", 1), ("homelessness_service_cost_pence", 1), ("temporary_accommodation_cost_pence", 1), ("social_lettings_cost_pence", 1)],
    ),
];

/// A line of the report: its label, its unit, the measures it sums (each with a sign), and the
/// divisor into its unit.
type Line = (&'static str, &'static str, &'static [(&'static str, i64)], f64);

/// Measures compared line by line for a reform (shown when the reform changes them).
const COMPARED: &[Line] = &[
    ("Universal Credit paid", "£ million a month", &[("universal_credit_pence", 1)], 1e8),
    ("Pension Credit paid", "£ million a month", &[("pension_credit_pence", 1)], 1e8),
    ("State pension paid", "£ million a month", &[("state_pension_pence", 1)], 1e8),
    ("Disability benefit paid", "£ million a month", &[("disability_benefit_pence", 1)], 1e8),
    ("Income tax and NI", "£ million a month", &[("income_tax_pence", 1), ("national_insurance_pence", 1)], 1e8),
    ("Household net income", "£ million a month", &[("household_net_income_pence", 1)], 1e8),
    ("Social care waiting list", "persons at month end", &[("social_care_waiting", 1)], 1.0),
    ("Social care delivered", "care hours a month", &[("social_care_units", 1)], 1.0),
    ("Hospital waiting list", "persons at month end", &[("hospital_admissions_waiting", 1)], 1.0),
    ("GP waiting list", "persons at month end", &[("gp_appointments_waiting", 1)], 1.0),
    ("Homeless or in temporary accommodation", "households at month end", &[("homeless_households", 1), ("temporary_accommodation_households", 1)], 1.0),
    ("Service costs", "£ million a month", summary::SERVICE_COSTS, 1e8),
];

const STYLE: &str = "body{font-family:sans-serif;margin:24px;color:#222;max-width:1520px}h1{font-size:22px}h2{font-size:19px;margin-top:36px;border-bottom:1px solid #ccc}h3{font-size:16px}\
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}\
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:12px}.grid svg{border:1px solid #e3e3e3;width:100%;height:auto}table.run td{text-align:left}.note{color:#555;font-size:13px;max-width:1100px}";

/// The whole page.
pub fn html(r: &Results) -> Result<String> {
    let src = r.source();
    let base = 0usize;
    let mut o = String::new();
    let title = format!("policy-twin report: {}", r.dir.file_name().map(|d| d.to_string_lossy().into_owned()).unwrap_or_default());
    let _ = write!(o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n", esc(&title), esc(&title));
    // the run
    let m = &r.manifest;
    let _ = write!(o, "<table class=\"run\"><tr><th>scenarios</th><td>{}</td></tr>", esc(&r.scenarios.join(", ")));
    for (k, v) in [
        ("baseline", r.baseline().to_string()),
        ("months", format!("{} from {}", r.months, r.start)),
        ("seed", m["seed"].to_string()),
        ("persons (records)", m["population"]["persons"]["rows"].to_string()),
        ("population", m["population"]["persons"]["path"].as_str().unwrap_or("").to_string()),
        ("backend", m["backend"].as_str().unwrap_or("").to_string()),
        ("policy-twin version", m["version"].as_str().unwrap_or("").to_string()),
    ] {
        let _ = write!(o, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
    }
    o.push_str("</table>\n<p class=\"note\">Figures are weighted: persons and households as the population's weights count them. Money in pounds (the outputs hold exact pence). Stocks are at the end of a month or year, flows are summed over it.</p>\n");

    // headline table
    let (p0, p1) = summary::periods(r);
    o.push_str("<h2>Headline figures</h2>\n<table class=\"headline\"><tr><th>measure</th><th>unit</th>");
    // one column per scenario and period (one period when the run is a year or less)
    let periods = if r.years() <= 1 { vec![p0] } else { vec![p0, p1] };
    for s in &r.scenarios {
        for p in &periods {
            let _ = write!(o, "<th>{} {}</th>", esc(s), p.label_year);
        }
    }
    o.push_str("</tr>\n");
    for h in summary::HEADLINES {
        let _ = write!(o, "<tr><td>{}</td><td>{}</td>", esc(h.label), esc(h.unit));
        for s in 0..r.scenarios.len() {
            let step = if h.scale > 1.0 { 0.1 } else { 1.0 };
            for p in &periods {
                let _ = write!(o, "<td>{}</td>", crate::chart::fmt_num(summary::value(r, s, h, *p)?, step));
            }
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</table>\n");

    // population and caseloads
    o.push_str("<h2>Population and caseloads</h2>\n<div class=\"grid\">\n");
    let pop: Vec<Series> = (0..r.scenarios.len())
        .map(|s| Ok(Series { name: r.scenarios[s].clone(), points: monthly(r, s, &[("population", 1)], 1.0)?, colour: s, dashed: s > 0 }))
        .collect::<Result<_>>()?;
    o += &line("Population".into(), "persons at month end", &src, pop);
    let caseloads = [
        ("state pension", "state_pension_caseload"),
        ("Universal Credit (benefit units)", "universal_credit_caseload"),
        ("Pension Credit (benefit units)", "pension_credit_caseload"),
        ("disability benefit", "disability_benefit_caseload"),
        ("child benefit (benefit units)", "child_benefit_caseload"),
        ("social care, council-funded", "social_care_council_funded_caseload"),
    ];
    let series = caseloads.iter().enumerate().map(|(k, (name, col))| Ok(Series { name: name.to_string(), points: monthly(r, base, &[(col, 1)], 1.0)?, colour: k, dashed: false })).collect::<Result<_>>()?;
    o += &line(format!("Caseloads ({})", r.baseline()), "persons or benefit units at month end", &src, series);
    o.push_str("</div>\n<h2>Benefit spend</h2>\n<div class=\"grid\">\n");
    let spend = [
        ("state pension", &[("state_pension_pence", 1)][..]),
        ("Universal Credit", &[("universal_credit_pence", 1)][..]),
        ("Pension Credit", &[("pension_credit_pence", 1)][..]),
        ("child benefit net of the charge", &[("child_benefit_pence", 1), ("child_benefit_charge_pence", -1)][..]),
        ("disability benefit", &[("disability_benefit_pence", 1)][..]),
    ];
    let series = spend.iter().enumerate().map(|(k, (name, terms))| Ok(Series { name: name.to_string(), points: monthly(r, base, terms, 1e8)?, colour: k, dashed: false })).collect::<Result<_>>()?;
    o += &line(format!("Benefit spend ({})", r.baseline()), "£ million a month", &src, series);
    let all_spend: Vec<(&str, i64)> = spend.iter().flat_map(|(_, t)| t.iter().copied()).collect();
    let series = (0..r.scenarios.len()).map(|s| Ok(Series { name: r.scenarios[s].clone(), points: monthly(r, s, &all_spend, 1e8)?, colour: s, dashed: s > 0 })).collect::<Result<_>>()?;
    o += &line("Benefit spend, all benefits above".into(), "£ million a month", &src, series);
    o.push_str("</div>\n");

    // services
    o.push_str("<h2>Public services</h2>\n<p class=\"note\">Each service has a monthly capacity per region (the scenario's rate per 1,000 residents). Requests are served longest-waiting first within it; the rest wait (or leave after the longest wait allowed). Units: what one unit of the service is (appointments, bed-days, care hours...). Unmet: requests not served in the month.</p>\n<div class=\"grid\">\n");
    for (k, svc) in codes::SERVICE_COLUMNS.iter().enumerate() {
        let name = codes::SERVICE_TITLES[k];
        let unit = codes::SERVICE_UNITS[k];
        let mut series = vec![
            Series { name: format!("{unit} demanded"), points: monthly(r, base, &[(&format!("{svc}_units_demanded"), 1)], 1.0)?, colour: 0, dashed: false },
            Series { name: format!("{unit} delivered"), points: monthly(r, base, &[(&format!("{svc}_units"), 1)], 1.0)?, colour: 2, dashed: false },
        ];
        if let Some(cap) = &r.capacity {
            series.push(Series { name: "capacity".into(), points: (0..r.months).map(|m| (x_of(r, m), cap[base][m][k] as f64)).collect(), colour: 1, dashed: true });
        }
        o += &line(format!("{}: demand and capacity ({})", name, r.baseline()), &format!("{unit} a month"), &src, series);
        let who = if *svc == "homelessness_service" || *svc == "social_lettings" { "households" } else { "persons" };
        let series = vec![
            Series { name: "waiting at month end".into(), points: monthly(r, base, &[(&format!("{svc}_waiting"), 1)], 1.0)?, colour: 3, dashed: false },
            Series { name: "unmet this month".into(), points: monthly(r, base, &[(&format!("{svc}_unmet"), 1)], 1.0)?, colour: 4, dashed: true },
        ];
        o += &line(format!("{}: waiting list and unmet need ({})", name, r.baseline()), who, &src, series);
    }
    o.push_str("</div>\n");

    // reforms
    for s in 1..r.scenarios.len() {
        let name = &r.scenarios[s];
        let _ = writeln!(o, "<h2>Reform `{}` against `{}`</h2>", esc(name), esc(r.baseline()));
        let mut shown = 0;
        o.push_str("<div class=\"grid\">\n");
        for (label, unit, terms, scale) in COMPARED {
            let b = monthly(r, base, terms, *scale)?;
            let f = monthly(r, s, terms, *scale)?;
            if b == f {
                continue;
            }
            shown += 1;
            o += &line(
                format!("{label}: baseline and reform"),
                unit,
                &src,
                vec![Series { name: r.baseline().to_string(), points: b.clone(), colour: 0, dashed: false }, Series { name: name.clone(), points: f.clone(), colour: 1, dashed: true }],
            );
            let d = b.iter().zip(&f).map(|(x, y)| (x.0, y.1 - x.1)).collect();
            o += &line(format!("{label}: reform minus baseline"), unit, &src, vec![Series { name: format!("{name} − {}", r.baseline()), points: d, colour: 2, dashed: false }]);
        }
        o.push_str("</div>\n");
        if shown == 0 {
            o.push_str("<p class=\"note\">The reform changes none of the measures charted here (exactly zero difference).</p>\n");
        }
        // cost by department
        let years = r.years().max(1);
        let period = |y: usize| if r.years() == 0 { Period::span(0, r.months) } else { Period::span(y * 12, 12) };
        let dept_cost = |y: usize, terms: &[(&str, i64)]| -> Result<f64> {
            let total = |sc: usize| summary::total(r, &r.national[sc], Agg::Sum, terms, period(y));
            Ok((total(s)? - total(base)?) as f64 / 1e8)
        };
        let mut groups = Vec::new();
        for y in [0, years - 1].into_iter().collect::<std::collections::BTreeSet<_>>() {
            groups.push((format!("year {} ({})", y + 1, r.start.add(y as u32 * 12).year()), DEPARTMENTS.iter().map(|(_, t)| dept_cost(y, t)).collect::<Result<Vec<_>>>()?));
        }
        o.push_str("<div class=\"grid\">\n");
        o += &BarChart {
            title: format!("Cost to the exchequer by department: {name} − {}", r.baseline()),
            x_label: "department (spending up or receipts down count as a cost)".into(),
            y_label: "£ million a year".into(),
            source: src.clone(),
            categories: DEPARTMENTS.iter().map(|d| d.0.to_string()).collect(),
            groups,
        }
        .svg();
        // distribution
        let last = years - 1;
        let d: Vec<_> = r.distribution.iter().filter(|d| &d.scenario == name && d.year == last && d.region == "All" && d.household_type == "all").collect();
        if !d.is_empty() {
            let cats: Vec<String> = d.iter().map(|x| x.decile.to_string()).collect();
            o += &BarChart {
                title: format!("Mean change in household net income by decile, year {}: {name}", last + 1),
                x_label: "decile of baseline equivalised household net income (1 = poorest)".into(),
                y_label: "£ a year per person".into(),
                source: src.clone(),
                categories: cats.clone(),
                groups: vec![("mean change".into(), d.iter().map(|x| x.mean_change_pence as f64 / 100.0).collect())],
            }
            .svg();
            o += &BarChart {
                title: format!("Winners and losers by decile, year {}: {name}", last + 1),
                x_label: "decile of baseline equivalised household net income (1 = poorest)".into(),
                y_label: "% of persons".into(),
                source: src.clone(),
                categories: cats,
                groups: vec![
                    ("gain at least 1p a year".into(), d.iter().map(|x| 100.0 * x.winners_share).collect()),
                    ("lose at least 1p a year".into(), d.iter().map(|x| 100.0 * x.losers_share).collect()),
                ],
            }
            .svg();
        }
        o.push_str("</div>\n");
    }

    // regional table
    let last = summary::periods(r).1;
    let _ = write!(o, "<h2>By region, {} </h2>\n<table class=\"regions\"><tr><th>region</th>", if r.years() == 0 { format!("{} months", r.months) } else { format!("year {} ({})", r.years(), last.label_year) });
    // (label, how months add up, the measures summed with their signs, the divisor)
    type Column<'a> = (&'a str, Agg, Vec<(&'a str, i64)>, f64);
    let cols: Vec<Column> = vec![
        ("population", Agg::End, vec![("population", 1)], 1.0),
        ("employed", Agg::End, vec![("employed", 1)], 1.0),
        ("UC caseload", Agg::End, vec![("universal_credit_caseload", 1)], 1.0),
        ("UC £m", Agg::Sum, vec![("universal_credit_pence", 1)], 1e8),
        ("state pension £m", Agg::Sum, vec![("state_pension_pence", 1)], 1e8),
        ("homeless or TA", Agg::End, vec![("homeless_households", 1), ("temporary_accommodation_households", 1)], 1.0),
        ("hospital waiting", Agg::End, vec![("hospital_admissions_waiting", 1)], 1.0),
        ("social care waiting", Agg::End, vec![("social_care_waiting", 1)], 1.0),
        ("service costs £m", Agg::Sum, summary::SERVICE_COSTS.to_vec(), 1e8),
    ];
    let reg = |s: usize, reg: usize, agg: Agg, terms: &[(&str, i64)], scale: f64| -> Result<f64> { Ok(summary::total(r, &r.regional[s][reg], agg, terms, last)? as f64 / scale) };
    for c in &cols {
        let _ = write!(o, "<th>{}</th>", esc(c.0));
    }
    let all_depts: Vec<(&str, i64)> = DEPARTMENTS.iter().flat_map(|d| d.1.iter().copied()).collect();
    for s in 1..r.scenarios.len() {
        let _ = write!(o, "<th>{}: net income change £m</th><th>{}: exchequer cost change £m</th>", esc(&r.scenarios[s]), esc(&r.scenarios[s]));
    }
    o.push_str("</tr>\n");
    for (k, region) in codes::REGIONS.iter().enumerate() {
        let _ = write!(o, "<tr><td>{}</td>", esc(region));
        for (_, agg, terms, scale) in &cols {
            let _ = write!(o, "<td>{}</td>", crate::chart::fmt_num(reg(base, k, *agg, terms, *scale)?, if *scale > 1.0 { 0.1 } else { 1.0 }));
        }
        for s in 1..r.scenarios.len() {
            let d = |t: &[(&str, i64)]| -> Result<f64> { Ok(reg(s, k, Agg::Sum, t, 1e8)? - reg(base, k, Agg::Sum, t, 1e8)?) };
            let _ = write!(o, "<td>{}</td><td>{}</td>", crate::chart::fmt_num(d(&[("household_net_income_pence", 1)])?, 0.1), crate::chart::fmt_num(d(&all_depts)?, 0.1));
        }
        o.push_str("</tr>\n");
    }
    let _ = write!(o, "</table>\n<p class=\"note\">{} Baseline figures are `{}`'s. Department costs: DWP benefits = Universal Credit + Pension Credit + state pension + disability benefit + employment support; HMRC = child benefit − the high income charge − income tax − NI; NHS = GP, A&amp;E and hospital care delivered; local authorities = social care delivered (gross of tariff income) + homelessness service + temporary accommodation + social lettings.</p>\n", esc(&src), esc(r.baseline()));
    o.push_str("</body></html>\n");
    Ok(o)
}
