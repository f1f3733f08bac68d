//! Scenario files (MODEL.md §4): TOML with run settings, data-table paths and dated policy
//! parameters.
//!
//! ```toml
//! [scenario]
//! name = "baseline"
//! description = "..."
//! start = "2025-04"      # first simulated month
//! years = 10
//! seed = 20250401
//!
//! [data]                 # rate tables, paths relative to this file
//! life_table = "../data/reference/uk_life_table_qx.csv"
//!
//! [income_tax.personal_allowance]
//! unit = "GBP/year"
//! reference = "HMRC ..."
//! values = { 2024-04 = 12570, 2025-04 = 12570 }   # a value applies from its month on
//! ```
//!
//! A reform names its baseline (`baseline = "baseline.toml"` under `[scenario]`) and lists
//! only the parameters it changes; a reform's dated values replace the baseline's from the
//! reform's first date on. Unknown keys, missing parameters, wrong units, out-of-range values
//! two values for one month and dates written out of order are errors that name the key.

use crate::error::{Error, Result};
use crate::month::Month;
use crate::params::{self, Kind, StepParams};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Num(f64),
    Bool(bool),
    Text(String),
}

#[derive(Clone, Debug)]
pub struct Param {
    /// (month from which the value applies, value, its unit), sorted by month, no duplicates.
    /// The unit travels with each value: a reform may state a parameter in another unit than
    /// its baseline.
    pub points: Vec<(Month, Value, String)>,
    /// The file that last set this parameter.
    pub file: PathBuf,
}

#[derive(Clone, Debug)]
pub struct DataPaths {
    pub life_table: PathBuf,
    pub life_table_period: String,
    pub fertility: PathBuf,
    pub health: PathBuf,
    pub care: PathBuf,
    pub labour: PathBuf,
    pub education: PathBuf,
    pub retirement: PathBuf,
    pub earnings: PathBuf,
    pub services: PathBuf,
}

#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub path: PathBuf,
    /// The chain of files read (baseline first), for the manifest.
    pub files: Vec<PathBuf>,
    pub start: Month,
    pub years: u32,
    pub seed: u64,
    pub data: DataPaths,
    pub params: BTreeMap<String, Param>,
}

const DATA_KEYS: [&str; 10] = ["life_table", "life_table_period", "fertility", "health", "care", "labour", "education", "retirement", "earnings", "services"];
const SCENARIO_KEYS: [&str; 7] = ["name", "description", "question", "start", "years", "seed", "baseline"];
const LEAF_KEYS: [&str; 7] = ["unit", "values", "value", "description", "reference", "assumption", "note"];

impl Scenario {
    /// Read a scenario (and its baseline chain) and check it is complete and valid.
    pub fn load(path: &Path) -> Result<Scenario> {
        let s = Self::load_partial(path, 0)?;
        s.check_complete()?;
        Ok(s)
    }

    fn load_partial(path: &Path, depth: usize) -> Result<Scenario> {
        if depth > 8 {
            return Err(Error::scenario(path, "scenario.baseline", "baseline chain deeper than 8 files (a cycle?)"));
        }
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let doc: toml::Table = toml::from_str(&text).map_err(|e| Error::scenario(path, "(syntax)", format!("not valid TOML: {}", e.to_string().trim())))?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();

        let meta = match doc.get("scenario") {
            Some(toml::Value::Table(t)) => t.clone(),
            Some(_) => return Err(Error::scenario(path, "scenario", "must be a table")),
            None => return Err(Error::scenario(path, "scenario", "missing [scenario] table (name, start, years, seed)")),
        };
        for k in meta.keys() {
            if !SCENARIO_KEYS.contains(&k.as_str()) {
                return Err(Error::scenario(path, format!("scenario.{k}"), format!("unknown key (allowed: {})", SCENARIO_KEYS.join(", "))));
            }
        }
        let get_str = |k: &str| -> Result<Option<String>> {
            match meta.get(k) {
                None => Ok(None),
                Some(toml::Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(Error::scenario(path, format!("scenario.{k}"), "must be a string")),
            }
        };

        let mut base = match get_str("baseline")? {
            Some(b) => {
                let bpath = dir.join(&b);
                if !bpath.exists() {
                    return Err(Error::scenario(path, "scenario.baseline", format!("baseline file {} does not exist", bpath.display())));
                }
                Some(Self::load_partial(&bpath, depth + 1)?)
            }
            None => None,
        };

        let name = get_str("name")?.ok_or_else(|| Error::scenario(path, "scenario.name", "missing"))?;
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(Error::scenario(path, "scenario.name", "must be non-empty letters, digits, `_` or `-` (it names output rows and files)"));
        }
        let description = get_str("description")?.unwrap_or_default();
        let start = match get_str("start")? {
            Some(s) => Some(Month::parse(&s).ok_or_else(|| Error::scenario(path, "scenario.start", format!("`{s}` is not a month YYYY-MM")))?),
            None => None,
        };
        let years = match meta.get("years") {
            None => None,
            Some(toml::Value::Integer(y)) if (1..=100).contains(y) => Some(*y as u32),
            Some(v) => return Err(Error::scenario(path, "scenario.years", format!("{v:?} is not a whole number of years in 1..=100"))),
        };
        let seed = match meta.get("seed") {
            None => None,
            Some(toml::Value::Integer(s)) if *s >= 0 => Some(*s as u64),
            Some(v) => return Err(Error::scenario(path, "scenario.seed", format!("{v:?} is not a non-negative integer"))),
        };

        // [data]
        let mut data_over: BTreeMap<String, String> = BTreeMap::new();
        if let Some(d) = doc.get("data") {
            let t = d.as_table().ok_or_else(|| Error::scenario(path, "data", "must be a table"))?;
            for (k, v) in t {
                if !DATA_KEYS.contains(&k.as_str()) {
                    return Err(Error::scenario(path, format!("data.{k}"), format!("unknown data table (allowed: {})", DATA_KEYS.join(", "))));
                }
                let s = v.as_str().ok_or_else(|| Error::scenario(path, format!("data.{k}"), "must be a string"))?;
                let val = if k == "life_table_period" { s.to_string() } else { dir.join(s).to_string_lossy().into_owned() };
                if k != "life_table_period" && !Path::new(&val).exists() {
                    return Err(Error::scenario(path, format!("data.{k}"), format!("file {val} does not exist")));
                }
                data_over.insert(k.clone(), val);
            }
        }

        // parameters: every other top-level table
        let mut found: Vec<(String, Param)> = Vec::new();
        for (k, v) in &doc {
            if k == "scenario" || k == "data" {
                continue;
            }
            collect_params(path, k, v, &mut found)?;
        }

        let mut s = match base.take() {
            Some(mut b) => {
                b.files.push(path.to_path_buf());
                b
            }
            None => {
                let missing = |k: &str| Error::scenario(path, format!("scenario.{k}"), "missing (a scenario without a baseline must set it)");
                let dp = |k: &str| -> Result<PathBuf> {
                    data_over.get(k).map(PathBuf::from).ok_or_else(|| Error::scenario(path, format!("data.{k}"), "missing data table path"))
                };
                Scenario {
                    name: String::new(),
                    description: String::new(),
                    path: path.to_path_buf(),
                    files: vec![path.to_path_buf()],
                    start: start.ok_or_else(|| missing("start"))?,
                    years: years.ok_or_else(|| missing("years"))?,
                    seed: seed.ok_or_else(|| missing("seed"))?,
                    data: DataPaths {
                        life_table: dp("life_table")?,
                        life_table_period: data_over.get("life_table_period").cloned().unwrap_or_else(|| "2022-2024".into()),
                        fertility: dp("fertility")?,
                        health: dp("health")?,
                        care: dp("care")?,
                        labour: dp("labour")?,
                        education: dp("education")?,
                        retirement: dp("retirement")?,
                        earnings: dp("earnings")?,
                        services: dp("services")?,
                    },
                    params: BTreeMap::new(),
                }
            }
        };
        s.name = name;
        s.description = description;
        s.path = path.to_path_buf();
        if let Some(v) = start {
            s.start = v;
        }
        if let Some(v) = years {
            s.years = v;
        }
        if let Some(v) = seed {
            s.seed = v;
        }
        for (k, v) in data_over {
            let p = PathBuf::from(&v);
            match k.as_str() {
                "life_table" => s.data.life_table = p,
                "life_table_period" => s.data.life_table_period = v,
                "fertility" => s.data.fertility = p,
                "health" => s.data.health = p,
                "care" => s.data.care = p,
                "labour" => s.data.labour = p,
                "education" => s.data.education = p,
                "retirement" => s.data.retirement = p,
                "earnings" => s.data.earnings = p,
                "services" => s.data.services = p,
                _ => unreachable!(),
            }
        }
        for (key, p) in found {
            match s.params.get_mut(&key) {
                // a reform's schedule replaces the baseline's from the reform's first date on
                Some(existing) => {
                    let from = p.points[0].0;
                    existing.points.retain(|(m, ..)| *m < from);
                    existing.points.extend(p.points);
                    existing.file = p.file;
                }
                None => {
                    s.params.insert(key, p);
                }
            }
        }
        Ok(s)
    }

    fn check_complete(&self) -> Result<()> {
        for key in params::all_keys() {
            if !self.params.contains_key(&key) {
                return Err(Error::scenario(&self.path, key, "missing: every scenario (through its baseline) defines every parameter the engine uses"));
            }
        }
        // every dated parameter must have a value at the start month
        for (key, p) in &self.params {
            let (kind, ..) = params::spec_for(key).expect("checked when read");
            if kind != Kind::AgeByBirth && p.points[0].0 > self.start {
                return Err(Error::scenario(&p.file, key, format!("first value is dated {}, after the run starts ({})", p.points[0].0, self.start)));
            }
        }
        // a resolvable first and last month catches lower > upper and similar
        self.resolve(self.start, 0)?;
        self.resolve(self.end_month(), self.months() - 1)?;
        Ok(())
    }

    pub fn months(&self) -> u32 {
        self.years * 12
    }
    pub fn end_month(&self) -> Month {
        self.start.add(self.months() - 1)
    }

    /// The value of a parameter in force in a month (the last dated value at or before it),
    /// with its unit.
    pub fn value_at(&self, key: &str, month: Month) -> Option<(&Value, &str)> {
        let p = self.params.get(key)?;
        p.points.iter().rev().find(|(m, ..)| *m <= month).map(|(_, v, u)| (v, u.as_str()))
    }

    /// The parameters in force in one month, converted to engine units.
    pub fn resolve(&self, month: Month, step: u32) -> Result<StepParams> {
        let mut out = StepParams { month: month.0, step, ..Default::default() };
        for spec in params::SPECS {
            let v = self.engine_value(spec.key, month)?;
            out.set(spec.key, v);
        }
        for (a, arr) in params::REGION_ARRAYS.iter().enumerate() {
            for r in 0..12 {
                *out.region_slot(a, r) = self.engine_value(&params::region_key(arr.prefix, r), month)?;
            }
        }
        // cross-parameter rules
        let rule = |key: &str, msg: &str| Err(Error::scenario(&self.params[key].file, key, format!("{msg} (in {month})")));
        if out.care_lower > out.care_upper {
            return rule("social_care.lower_capital_limit", "lower capital limit above the upper limit");
        }
        if out.uc_capital_lower > out.uc_capital_upper {
            return rule("universal_credit.capital.lower_limit", "lower capital limit above the upper limit");
        }
        if out.hicbc_end <= out.hicbc_start {
            return rule("child_benefit.high_income_charge.end", "must be above the start of the charge");
        }
        if out.ni_uel < out.ni_pt {
            return rule("national_insurance.upper_earnings_limit", "below the primary threshold");
        }
        if out.additional_threshold < out.higher_threshold {
            return rule("income_tax.additional_rate_threshold", "below the higher rate threshold");
        }
        Ok(out)
    }

    fn engine_value(&self, key: &str, month: Month) -> Result<u32> {
        let p = &self.params[key];
        let (v, unit) = self
            .value_at(key, month)
            .ok_or_else(|| Error::scenario(&p.file, key, format!("no value in force in {month}")))?;
        let (kind, ..) = params::spec_for(key).expect("registered");
        convert(kind, unit, v).map_err(|rule| Error::scenario(&p.file, key, rule))
    }

    /// State pension age (months) by birth month, for birth months `from..from+len`.
    pub fn spa_table(&self, from: Month, len: usize) -> Result<Vec<u32>> {
        let p = &self.params[params::SPA_KEY];
        let mut out = Vec::with_capacity(len);
        for i in 0..len {
            let born = from.add(i as u32);
            let (_, v, unit) = p.points.iter().rev().find(|(m, ..)| *m <= born).unwrap_or(&p.points[0]);
            out.push(convert(Kind::Age, unit, v).map_err(|rule| Error::scenario(&p.file, params::SPA_KEY, rule))?);
        }
        Ok(out)
    }

    /// A fingerprint of the chain of files, for the manifest.
    pub fn file_hashes(&self) -> Result<Vec<(String, String)>> {
        self.files.iter().map(|f| Ok((f.display().to_string(), crate::output::sha256_file(f)?))).collect()
    }

    /// The rate tables the scenario reads (`[data]`), with their SHA-256, and the life table's
    /// period: a changed table changes the run as much as a changed scenario file.
    pub fn data_hashes(&self) -> Result<serde_json::Value> {
        let d = &self.data;
        let files: Vec<serde_json::Value> = [&d.life_table, &d.fertility, &d.health, &d.care, &d.labour, &d.education, &d.retirement, &d.earnings, &d.services]
            .iter()
            .map(|f| Ok(serde_json::json!({"path": f.display().to_string(), "sha256": crate::output::sha256_file(f)?})))
            .collect::<Result<_>>()?;
        Ok(serde_json::json!({"life_table_period": d.life_table_period, "tables": files}))
    }
}

/// Convert one scenario value into engine units; `Err` holds the rule broken.
fn convert(kind: Kind, unit: &str, v: &Value) -> std::result::Result<u32, String> {
    let num = || match v {
        Value::Num(x) => Ok(*x),
        other => Err(format!("expected a number, found {other:?}")),
    };
    let to_u32 = |x: f64| -> std::result::Result<u32, String> {
        if !(0.0..=u32::MAX as f64).contains(&x) {
            return Err(format!("{x} is out of range"));
        }
        Ok(x as u32)
    };
    match kind {
        Kind::Money => {
            let x = num()?;
            let monthly = match unit {
                "GBP/week" => x * 52.0 / 12.0,
                "GBP/month" => x,
                "GBP/year" => x / 12.0,
                _ => unreachable!("unit checked when read"),
            };
            to_u32((monthly * 100.0).round())
        }
        Kind::AnnualMoney => {
            let x = num()?;
            let yearly = match unit {
                "GBP/week" => x * 52.0,
                "GBP/month" => x * 12.0,
                "GBP/year" => x,
                _ => unreachable!("unit checked when read"),
            };
            to_u32((yearly * 100.0).round())
        }
        Kind::Capital | Kind::Count | Kind::Score => to_u32(num()?.round()),
        Kind::Price => to_u32((num()? * 100.0).round()),
        Kind::Capacity => to_u32((num()? * 1000.0).round()),
        Kind::Multiplier => {
            let x = num()?;
            let bp = x * 10_000.0;
            if (bp - bp.round()).abs() > 1e-6 {
                return Err(format!("multiplier {x} is not a whole number of basis points (0.0001)"));
            }
            to_u32(bp.round())
        }
        Kind::Rate => {
            let x = num()?;
            let bp = x * 10_000.0;
            if (bp - bp.round()).abs() > 1e-6 {
                return Err(format!("rate {x} is not a whole number of basis points (0.0001)"));
            }
            to_u32(bp.round())
        }
        Kind::Growth => {
            let monthly = (1.0 + num()?).powf(1.0 / 12.0) - 1.0;
            Ok(((monthly * (1u32 << 20) as f64).round() as i32) as u32)
        }
        Kind::MonthlySd => to_u32((num()? * (1u32 << 20) as f64).round()),
        Kind::Age | Kind::AgeByBirth => {
            let x = num()?;
            to_u32(if unit == "years" { (x * 12.0).round() } else { x.round() })
        }
        Kind::Flag => match v {
            Value::Bool(b) => Ok(*b as u32),
            other => Err(format!("expected true or false, found {other:?}")),
        },
        Kind::BirthDate => match v {
            Value::Text(s) => Month::parse(s).map(|m| m.0).ok_or_else(|| format!("`{s}` is not a date YYYY-MM")),
            other => Err(format!("expected a date string, found {other:?}")),
        },
        Kind::CareLevel => match v {
            Value::Text(s) if s == "moderate" => Ok(crate::codes::CARE_MODERATE),
            Value::Text(s) if s == "substantial" => Ok(crate::codes::CARE_SUBSTANTIAL),
            other => Err(format!("expected \"moderate\" or \"substantial\", found {other:?}")),
        },
    }
}

/// Value in the canonical unit used for range checks.
fn canonical(kind: Kind, unit: &str, x: f64) -> f64 {
    match (kind, unit) {
        (Kind::Money | Kind::AnnualMoney, "GBP/week") => x * 52.0,
        (Kind::Money | Kind::AnnualMoney, "GBP/month") => x * 12.0,
        (Kind::Age | Kind::AgeByBirth, "months") => x / 12.0,
        _ => x,
    }
}

fn collect_params(file: &Path, prefix: &str, v: &toml::Value, out: &mut Vec<(String, Param)>) -> Result<()> {
    let t = match v {
        toml::Value::Table(t) => t,
        _ => return Err(Error::scenario(file, prefix, "unknown key (parameters are tables with `unit` and `values`)")),
    };
    if !t.contains_key("unit") && !t.contains_key("values") && !t.contains_key("value") {
        for (k, v) in t {
            collect_params(file, &format!("{prefix}.{k}"), v, out)?;
        }
        return Ok(());
    }
    let key = prefix;
    let Some((kind, min, max, _)) = params::spec_for(key) else {
        let near: Vec<String> = params::all_keys().into_iter().filter(|k| k.split('.').next() == key.split('.').next()).take(6).collect();
        let hint = if near.is_empty() { String::new() } else { format!(" (known in this group: {})", near.join(", ")) };
        return Err(Error::scenario(file, key, format!("unknown parameter{hint}")));
    };
    for k in t.keys() {
        if !LEAF_KEYS.contains(&k.as_str()) {
            return Err(Error::scenario(file, format!("{key}.{k}"), format!("unknown key (allowed: {})", LEAF_KEYS.join(", "))));
        }
    }
    let unit = t
        .get("unit")
        .and_then(|u| u.as_str())
        .ok_or_else(|| Error::scenario(file, format!("{key}.unit"), format!("missing unit (one of: {})", kind.units().join(", "))))?;
    if !kind.units().contains(&unit) {
        return Err(Error::scenario(file, format!("{key}.unit"), format!("wrong unit `{unit}` (expected one of: {})", kind.units().join(", "))));
    }
    let mut points: Vec<(Month, Value, String)> = Vec::new();
    match (t.get("values"), t.get("value")) {
        (Some(_), Some(_)) => return Err(Error::scenario(file, key, "give either `value` or `values`, not both")),
        (None, None) => return Err(Error::scenario(file, key, "no `values` (dated) or `value` (from any date)")),
        (None, Some(v)) => points.push((Month(0), to_value(file, &format!("{key}.value"), v)?, unit.to_string())),
        (Some(_), None) if kind == Kind::MonthlySd => {
            return Err(Error::scenario(file, key, "takes one `value` for the whole run (it shapes a table built before the run), not dated `values`"));
        }
        (Some(toml::Value::Table(vals)), None) => {
            for (date, v) in vals {
                let m = Month::parse(date).ok_or_else(|| Error::scenario(file, format!("{key}.values.{date}"), "not a date YYYY-MM or YYYY-MM-DD"))?;
                if points.iter().any(|(p, ..)| *p == m) {
                    return Err(Error::scenario(file, format!("{key}.values.{date}"), format!("a second value for {m}")));
                }
                // written order must be date order: a date out of order is most likely a typo
                if let Some((prev, ..)) = points.last().filter(|(p, ..)| *p > m) {
                    return Err(Error::scenario(file, format!("{key}.values.{date}"), format!("dates out of order: {m} is written after {prev}")));
                }
                points.push((m, to_value(file, &format!("{key}.values.{date}"), v)?, unit.to_string()));
            }
            if points.is_empty() {
                return Err(Error::scenario(file, format!("{key}.values"), "empty"));
            }
        }
        (Some(_), None) => return Err(Error::scenario(file, format!("{key}.values"), "must be a table of date = value")),
    }
    points.sort_by_key(|(m, ..)| *m);
    for (m, v, _) in &points {
        let at = format!("{key} ({m})");
        if let Value::Num(x) = v {
            let c = canonical(kind, unit, *x);
            if !x.is_finite() || c < min || c > max {
                return Err(Error::scenario(file, at, format!("value {x} {unit} is outside the valid range")));
            }
        }
        convert(kind, unit, v).map_err(|rule| Error::scenario(file, &at, rule))?;
    }
    out.push((key.to_string(), Param { points, file: file.to_path_buf() }));
    Ok(())
}

fn to_value(file: &Path, key: &str, v: &toml::Value) -> Result<Value> {
    Ok(match v {
        toml::Value::Integer(i) => Value::Num(*i as f64),
        toml::Value::Float(f) => Value::Num(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::String(s) => Value::Text(s.clone()),
        _ => return Err(Error::scenario(file, key, "must be a number, boolean or string")),
    })
}
