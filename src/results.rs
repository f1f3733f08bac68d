//! Reading a results directory back (what `twin run` wrote), for `twin report` and
//! `twin summary`: the manifest, the aggregates summed to national and regional totals per
//! scenario and month, the distribution table and the service capacities.
//!
//! The charts and tables show replicate 0; with several replicates the national totals of
//! every replicate are read too, for the intervals of the summary. A file that is not the
//! table it should be is refused with the file, the column and the rule.

use crate::codes;
use crate::error::{Error, Result};
use crate::month::Month;
use crate::output;
use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int32Type, Int64Type, UInt32Type, UInt8Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A measure column of the aggregates: name, unit and description (from the field metadata).
#[derive(Clone, Debug)]
pub struct Column {
    pub name: String,
    pub unit: String,
    pub about: String,
}

/// One row of the distribution table.
#[derive(Clone, Debug)]
pub struct DistRecord {
    pub scenario: String,
    /// Index of the simulated year (0 = the first).
    pub year: usize,
    pub region: String,
    pub household_type: String,
    pub decile: u8,
    pub persons: i64,
    pub total_change_pence: i64,
    pub mean_change_pence: i64,
    pub winners_share: f64,
    pub losers_share: f64,
}

pub struct Results {
    pub dir: PathBuf,
    pub manifest: serde_json::Value,
    /// Scenario names, the baseline first, in the manifest's order.
    pub scenarios: Vec<String>,
    pub start: Month,
    pub months: usize,
    /// The measure columns of the aggregates, in file order.
    pub columns: Vec<Column>,
    /// `national[scenario][month][column]`: the sum over regions, age bands and sexes.
    pub national: Vec<Vec<Vec<i64>>>,
    /// `by_replicate[replicate][scenario][month][column]`: national totals of every replicate
    /// (`by_replicate[0]` is `national`).
    pub by_replicate: Vec<Vec<Vec<Vec<i64>>>>,
    /// `regional[scenario][region][month][column]`.
    pub regional: Vec<Vec<Vec<Vec<i64>>>>,
    pub distribution: Vec<DistRecord>,
    /// `capacity[scenario][month][service]`: units a month, summed over regions (absent for
    /// runs written before capacity.parquet existed).
    pub capacity: Option<Vec<Vec<[i64; codes::N_SERVICES]>>>,
}

fn bad(file: &Path, column: &str, rule: impl Into<String>) -> Error {
    Error::Input { file: file.to_path_buf(), column: column.to_string(), row: None, rule: rule.into() }
}

pub(crate) fn read_batches(path: &Path) -> Result<Vec<RecordBatch>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let unreadable = |e: &dyn std::fmt::Display| Error::Unreadable { file: path.to_path_buf(), detail: e.to_string() };
    let reader = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| unreadable(&e))?.with_batch_size(1 << 16).build().map_err(|e| unreadable(&e))?;
    reader.collect::<std::result::Result<Vec<_>, _>>().map_err(|e| unreadable(&e))
}

fn column<'a>(path: &Path, b: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    b.column_by_name(name).ok_or_else(|| bad(path, name, "missing: this is not the table policy-twin writes"))
}

/// A string column (dictionary-encoded or plain) as one string per row.
pub(crate) fn strings(path: &Path, b: &RecordBatch, name: &str) -> Result<Vec<String>> {
    let a = column(path, b, name)?;
    let out = match a.data_type() {
        DataType::Dictionary(k, v) if **k == DataType::Int32 && **v == DataType::Utf8 => {
            let d = a.as_dictionary::<Int32Type>();
            let values = d.values().as_string::<i32>();
            d.keys().iter().map(|k| k.map(|k| values.value(k as usize).to_string()).unwrap_or_default()).collect()
        }
        DataType::Utf8 => a.as_string::<i32>().iter().map(|s| s.unwrap_or_default().to_string()).collect(),
        DataType::LargeUtf8 => a.as_string::<i64>().iter().map(|s| s.unwrap_or_default().to_string()).collect(),
        t => return Err(bad(path, name, format!("type {t}, expected strings"))),
    };
    Ok(out)
}

pub(crate) fn typed<'a, T: arrow_array::ArrowPrimitiveType>(path: &Path, b: &'a RecordBatch, name: &str) -> Result<&'a arrow_array::PrimitiveArray<T>> {
    let a = column(path, b, name)?;
    if a.null_count() > 0 {
        return Err(bad(path, name, "has nulls"));
    }
    a.as_primitive_opt::<T>().ok_or_else(|| bad(path, name, format!("type {}, expected {}", a.data_type(), T::DATA_TYPE)))
}

/// What [`fold_cells`] calls for each row: (replicate, scenario, month, region, values).
pub(crate) type CellVisitor<'a> = &'a mut dyn FnMut(usize, usize, usize, usize, &[i64]);

/// Visit every row of a table in the aggregates' layout (`path`, read as `batches`): with its
/// replicate, the index of its scenario in `scenarios`, its month (0-based from `start`), its
/// region's index in [`codes::REGIONS`], and the values of the measure `columns`. A scenario,
/// month or region outside the run, or more than 10,000 replicates, is an error naming the file.
pub(crate) fn fold_cells(
    path: &Path,
    batches: &[RecordBatch],
    scenarios: &[String],
    start: Month,
    months: usize,
    columns: &[&str],
    f: CellVisitor<'_>,
) -> Result<()> {
    let month_of: HashMap<i32, usize> = (0..months).map(|m| (start.add(m as u32).date32(), m)).collect();
    let mut vals = vec![0i64; columns.len()];
    for b in batches {
        let scen = strings(path, b, "scenario")?;
        let rep = typed::<UInt32Type>(path, b, "replicate")?;
        let month = typed::<Date32Type>(path, b, "month")?;
        let region = strings(path, b, "region")?;
        let cols: Vec<&arrow_array::PrimitiveArray<Int64Type>> = columns.iter().map(|c| typed::<Int64Type>(path, b, c)).collect::<Result<_>>()?;
        let mut last_scen: Option<(&str, usize)> = None;
        for row in 0..b.num_rows() {
            let rp = rep.value(row) as usize;
            if rp >= 10_000 {
                return Err(bad(path, "replicate", format!("replicate {rp}: more than 10,000")));
            }
            let s = match last_scen {
                Some((name, k)) if name == scen[row] => k,
                _ => {
                    let k = scenarios.iter().position(|n| *n == scen[row]).ok_or_else(|| bad(path, "scenario", format!("`{}` is not a scenario of the run", scen[row])))?;
                    last_scen = Some((&scen[row], k));
                    k
                }
            };
            let m = *month_of.get(&month.value(row)).ok_or_else(|| bad(path, "month", format!("a month outside the run ({months} months from {start})")))?;
            let r = codes::REGIONS.iter().position(|n| *n == region[row]).ok_or_else(|| bad(path, "region", format!("unknown region `{}`", region[row])))?;
            for (v, c) in vals.iter_mut().zip(&cols) {
                *v = c.value(row);
            }
            f(rp, s, m, r, &vals);
        }
    }
    Ok(())
}

impl Results {
    pub fn load(dir: &Path) -> Result<Results> {
        let mpath = dir.join(output::MANIFEST_FILE);
        if !mpath.exists() {
            return Err(Error::Config(format!("{}: no {}: not a directory written by `twin run`", dir.display(), output::MANIFEST_FILE)));
        }
        let text = std::fs::read_to_string(&mpath).map_err(|e| Error::io(&mpath, e))?;
        let manifest: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Config(format!("{}: not a policy-twin manifest: {e}", mpath.display())))?;
        let field = |k: &str| manifest.get(k).ok_or_else(|| Error::Config(format!("{}: no `{k}`: not a policy-twin manifest", mpath.display())));
        let scenarios: Vec<String> = field("scenarios")?.as_array().map(|a| a.iter().filter_map(|s| s["name"].as_str().map(str::to_string)).collect()).unwrap_or_default();
        let start = field("start")?.as_str().and_then(Month::parse).ok_or_else(|| Error::Config(format!("{}: `start` is not a month", mpath.display())))?;
        let months = field("months")?.as_u64().unwrap_or(0) as usize;
        if scenarios.is_empty() || months == 0 {
            return Err(Error::Config(format!("{}: no scenarios or no months", mpath.display())));
        }
        let month_of: HashMap<i32, usize> = (0..months).map(|m| (start.add(m as u32).date32(), m)).collect();
        let scen_of = |path: &Path, s: &str| scenarios.iter().position(|n| n == s).ok_or_else(|| bad(path, "scenario", format!("`{s}` is not a scenario of the manifest")));

        // aggregates
        let apath = dir.join(output::AGGREGATES_FILE);
        let batches = read_batches(&apath)?;
        let schema = match batches.first() {
            Some(b) => b.schema(),
            None => return Err(bad(&apath, "scenario", "no rows")),
        };
        let keys = ["scenario", "replicate", "month", "region", "age_band", "sex"];
        let columns: Vec<Column> = schema
            .fields()
            .iter()
            .filter(|f| !keys.contains(&f.name().as_str()))
            .map(|f| Column {
                name: f.name().clone(),
                unit: f.metadata().get("unit").cloned().unwrap_or_default(),
                about: f.metadata().get("description").cloned().unwrap_or_default(),
            })
            .collect();
        for want in ["population", "households"] {
            if !columns.iter().any(|c| c.name == want) {
                return Err(bad(&apath, want, "missing: not an aggregates table written by policy-twin"));
            }
        }
        let nc = columns.len();
        let ns = scenarios.len();
        let mut by_replicate = vec![vec![vec![vec![0i64; nc]; months]; ns]];
        let mut regional = vec![vec![vec![vec![0i64; nc]; months]; 12]; ns];
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        fold_cells(&apath, &batches, &scenarios, start, months, &names, &mut |rp, s, m, r, vals| {
            if rp >= by_replicate.len() {
                by_replicate.resize(rp + 1, vec![vec![vec![0i64; nc]; months]; ns]);
            }
            for (k, v) in vals.iter().enumerate() {
                by_replicate[rp][s][m][k] += v;
                if rp == 0 {
                    regional[s][r][m][k] += v;
                }
            }
        })?;

        // distribution (reforms only)
        let mut distribution = Vec::new();
        let dpath = dir.join(output::DISTRIBUTION_FILE);
        if dpath.exists() {
            for b in &read_batches(&dpath)? {
                let scen = strings(&dpath, b, "scenario")?;
                let year = typed::<Date32Type>(&dpath, b, "year")?;
                let region = strings(&dpath, b, "region")?;
                let ht = strings(&dpath, b, "household_type")?;
                let decile = typed::<UInt8Type>(&dpath, b, "decile")?;
                let persons = typed::<Int64Type>(&dpath, b, "persons")?;
                let total = typed::<Int64Type>(&dpath, b, "total_change_pence")?;
                let mean = typed::<Int64Type>(&dpath, b, "mean_change_pence")?;
                let win = typed::<Float64Type>(&dpath, b, "winners_share")?;
                let lose = typed::<Float64Type>(&dpath, b, "losers_share")?;
                let rep = b.column_by_name("replicate").map(|_| typed::<UInt32Type>(&dpath, b, "replicate")).transpose()?;
                for row in 0..b.num_rows() {
                    if rep.is_some_and(|r| r.value(row) != 0) {
                        continue;
                    }
                    scen_of(&dpath, &scen[row])?;
                    let m = *month_of.get(&year.value(row)).ok_or_else(|| bad(&dpath, "year", "a year outside the run"))?;
                    distribution.push(DistRecord {
                        scenario: scen[row].clone(),
                        year: m / 12,
                        region: region[row].clone(),
                        household_type: ht[row].clone(),
                        decile: decile.value(row),
                        persons: persons.value(row),
                        total_change_pence: total.value(row),
                        mean_change_pence: mean.value(row),
                        winners_share: win.value(row),
                        losers_share: lose.value(row),
                    });
                }
            }
        }

        // capacities
        let cpath = dir.join(output::CAPACITY_FILE);
        let capacity = if cpath.exists() {
            let mut cap = vec![vec![[0i64; codes::N_SERVICES]; months]; ns];
            for b in &read_batches(&cpath)? {
                let scen = strings(&cpath, b, "scenario")?;
                let rep = typed::<UInt32Type>(&cpath, b, "replicate")?;
                let month = typed::<Date32Type>(&cpath, b, "month")?;
                let service = strings(&cpath, b, "service")?;
                let units = typed::<Int64Type>(&cpath, b, "capacity_units")?;
                for row in 0..b.num_rows() {
                    if rep.value(row) != 0 {
                        continue;
                    }
                    let s = scen_of(&cpath, &scen[row])?;
                    let m = *month_of.get(&month.value(row)).ok_or_else(|| bad(&cpath, "month", "a month outside the run"))?;
                    let k = codes::SERVICES.iter().position(|n| *n == service[row]).ok_or_else(|| bad(&cpath, "service", format!("unknown service `{}`", service[row])))?;
                    cap[s][m][k] += units.value(row);
                }
            }
            Some(cap)
        } else {
            None
        };
        let national = by_replicate[0].clone();
        Ok(Results { dir: dir.to_path_buf(), manifest, scenarios, start, months, columns, national, by_replicate, regional, distribution, capacity })
    }

    /// Index of a measure column, or an error naming the aggregates file.
    pub fn col(&self, name: &str) -> Result<usize> {
        self.columns.iter().position(|c| c.name == name).ok_or_else(|| bad(&self.dir.join(output::AGGREGATES_FILE), name, "missing: this is not the table policy-twin writes"))
    }

    pub fn years(&self) -> usize {
        self.months / 12
    }

    pub fn baseline(&self) -> &str {
        &self.scenarios[0]
    }

    /// One line naming the run, for the source line of a chart or table.
    pub fn source(&self) -> String {
        let version = self.manifest["version"].as_str().unwrap_or("?");
        let seed = &self.manifest["seed"];
        let persons = &self.manifest["population"]["persons"];
        let pop = persons["path"].as_str().map(|p| Path::new(p).parent().and_then(|d| d.file_name()).map(|d| d.to_string_lossy().into_owned()).unwrap_or_else(|| p.to_string())).unwrap_or_default();
        let hash = persons["sha256"].as_str().map(|h| &h[..h.len().min(12)]).unwrap_or("");
        format!(
            "Source: policy-twin {version} run `{}` ({} months from {}, seed {seed}, population {pop} sha256 {hash}…, replicate 0)",
            self.dir.file_name().map(|d| d.to_string_lossy().into_owned()).unwrap_or_else(|| self.dir.display().to_string()),
            self.months,
            self.start
        )
    }
}
