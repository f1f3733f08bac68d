//! Replicate parts and their merge (`twin merge`; see [`crate::plan`]).
//!
//! Every replicate a process runs is written as a part directory, `OUT/replicates/rNNNN/`,
//! holding that replicate's aggregates, capacity, comparison and distribution tables and a
//! `part.json` (the plan it belongs to, and how it ran). The directory is written under a
//! temporary name and renamed when complete, so a part is either whole or absent, and a run
//! or task started again skips the replicates it already wrote. Person snapshots are written
//! month by month to `OUT/snapshot-parts/` (one file per replicate, scenario and month, so a
//! resumed run keeps those up to its checkpoint) and moved into the replicate's part
//! (`snapshots/`) when it is complete.
//!
//! [`merge`] checks that every replicate of the plan is there, once, from the same plan, and
//! joins the parts in replicate order by copying their column chunks, so the result does not
//! depend on how the replicates were split into tasks. With more than one replicate it also
//! writes `intervals.parquet`: for every scenario, month, region (and All) and measure, the
//! mean, standard deviation and 90% interval across replicates, and for each reform the same
//! for reform − baseline paired by replicate, beside the spread the difference would have
//! without common random numbers.

use crate::codes;
use crate::error::{Error, Result};
use crate::month::Month;
use crate::output::{self, Staged};
use crate::plan::{spread, unpaired_spread, Spread};
use crate::results::read_batches;
use crate::run::ScenarioRun;
use arrow_array::{ArrayRef, Date32Array, Float64Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const REPLICATES_DIR: &str = "replicates";
pub const PART_FILE: &str = "part.json";
pub const INTERVALS_FILE: &str = "intervals.parquet";

/// The tables each replicate part holds (those of a run with reforms; the baseline alone has
/// the first two).
pub const PART_TABLES: [&str; 4] = [output::AGGREGATES_FILE, output::CAPACITY_FILE, output::COMPARISON_FILE, output::DISTRIBUTION_FILE];

pub fn replicate_dir(out: &Path, r: u32) -> PathBuf {
    out.join(REPLICATES_DIR).join(format!("r{r:04}"))
}

/// The part of replicate `r` if it is complete and belongs to `plan`.
pub fn finished_part(out: &Path, r: u32, plan: &serde_json::Value) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(replicate_dir(out, r).join(PART_FILE)).ok()?;
    let part: serde_json::Value = serde_json::from_str(&text).ok()?;
    (comparable(&part["plan"]) == comparable(plan) && part["replicate"] == r).then_some(part)
}

/// A plan without its file paths: tasks started from other directories (or machines) that
/// read the same files (same SHA-256) belong to the same plan.
fn comparable(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => serde_json::Value::Object(m.iter().filter(|(k, _)| k.as_str() != "path").map(|(k, v)| (k.clone(), comparable(v))).collect()),
        serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(comparable).collect()),
        v => v.clone(),
    }
}

/// Write replicate `r`'s tables as its part, under a temporary name renamed when complete.
/// `part` is what goes in `part.json` besides the tables (the plan, backend, timings).
///
/// `snapshot_months`: the months (1-based) of each scenario's snapshots, whose parts are moved
/// from `OUT/snapshot-parts/` into the part's `snapshots/`.
pub fn write_replicate(out: &Path, r: u32, start: Month, runs: &[ScenarioRun], part: &serde_json::Value, snapshot_months: &[u32]) -> Result<PathBuf> {
    let parent = out.join(REPLICATES_DIR);
    std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
    let dest = replicate_dir(out, r);
    let unique = output::unique_suffix();
    let tmp = parent.join(format!(".r{r:04}.partial-{unique}"));
    std::fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let result = (|| -> Result<()> {
        let base = &runs[0];
        let batches = runs.iter().map(|s| output::aggregates_batch(&s.name, r, start, &s.accs)).collect::<Result<Vec<_>>>()?;
        output::write_parquet(&tmp.join(output::AGGREGATES_FILE), output::aggregates_schema(), &batches)?.commit()?;
        let caps = runs.iter().map(|s| output::capacity_batch(&s.name, r, start, &s.capacity)).collect::<Result<Vec<_>>>()?;
        output::write_parquet(&tmp.join(output::CAPACITY_FILE), output::capacity_schema(), &caps)?.commit()?;
        if runs.len() > 1 {
            let cmp = runs[1..].iter().map(|s| output::comparison_batch(&s.name, r, start, &s.accs, &base.accs)).collect::<Result<Vec<_>>>()?;
            output::write_parquet(&tmp.join(output::COMPARISON_FILE), output::comparison_schema(), &cmp)?.commit()?;
            let dist = runs[1..].iter().map(|s| output::distribution_batch(&s.name, r, &s.distribution)).collect::<Result<Vec<_>>>()?;
            output::write_parquet(&tmp.join(output::DISTRIBUTION_FILE), output::distribution_schema(), &dist)?.commit()?;
        }
        if !snapshot_months.is_empty() {
            let sd = tmp.join(SNAPSHOTS_DIR);
            std::fs::create_dir(&sd).map_err(|e| Error::io(&sd, e))?;
            for k in 0..runs.len() {
                for &d in snapshot_months {
                    let from = output::snapshot_part(out, r, k, d);
                    std::fs::rename(&from, snapshot_in_part(&tmp, k, d)).map_err(|e| Error::io(&from, e))?;
                }
            }
        }
        output::write_staged_bytes(&tmp.join(PART_FILE), serde_json::to_string_pretty(part).expect("JSON").as_bytes())?.commit()?;
        // replace a part left by another run (of another plan) with this one
        if dest.exists() {
            let old = parent.join(format!(".r{r:04}.old-{unique}"));
            match std::fs::rename(&dest, &old) {
                Ok(()) => std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&dest, e)),
            }
        }
        std::fs::rename(&tmp, &dest).map_err(|e| Error::io(&dest, e))
    })();
    match result {
        Ok(()) => Ok(dest),
        // another process (a task run twice) put the same replicate in place first: its part
        // is the same, value for value
        Err(_) if finished_part(out, r, &part["plan"]).is_some() => {
            let _ = std::fs::remove_dir_all(&tmp);
            Ok(dest)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Err(e)
        }
    }
}

/// Where a replicate part keeps its snapshots.
pub const SNAPSHOTS_DIR: &str = "snapshots";

fn snapshot_in_part(part_dir: &Path, k: usize, done: u32) -> PathBuf {
    part_dir.join(SNAPSHOTS_DIR).join(format!("scenario{k:03}-month{done:04}.parquet"))
}

/// Remove replicate parts that do not belong to `plan` (or lie beyond its replicates), and
/// unfinished part directories, before a single process runs the plan. Returns the
/// replicates kept.
pub fn keep_parts_of(out: &Path, plan: &serde_json::Value) -> Result<Vec<u32>> {
    let parent = out.join(REPLICATES_DIR);
    let mut kept = Vec::new();
    let Ok(entries) = std::fs::read_dir(&parent) else { return Ok(kept) };
    let replicates = plan["replicates"].as_u64().unwrap_or(0);
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let r = name.strip_prefix('r').and_then(|n| n.parse::<u32>().ok());
        match r {
            Some(r) if (r as u64) < replicates && finished_part(out, r, plan).is_some() => kept.push(r),
            _ => std::fs::remove_dir_all(e.path()).map_err(|er| Error::io(e.path(), er))?,
        }
    }
    kept.sort();
    Ok(kept)
}

/// What [`merge`] wrote.
pub struct Merged {
    pub replicates: u32,
    pub files: Vec<PathBuf>,
}

/// Join the replicate parts in `out` into its result files, write the manifest (the plan,
/// each part's record, and `extra`'s fields), and remove the parts. Fails, writing nothing,
/// if a replicate of the plan is missing or a part is from another plan.
pub fn merge(out: &Path, extra: serde_json::Map<String, serde_json::Value>) -> Result<Merged> {
    let t0 = std::time::Instant::now();
    let parent = out.join(REPLICATES_DIR);
    let mut found: Vec<(u32, serde_json::Value)> = Vec::new();
    let entries = std::fs::read_dir(&parent).map_err(|e| Error::Config(format!("{}: no replicate parts to merge ({e}): run the tasks first", parent.display())))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(r) = name.strip_prefix('r').and_then(|n| n.parse::<u32>().ok()) else { continue };
        let pf = e.path().join(PART_FILE);
        let text = std::fs::read_to_string(&pf).map_err(|er| Error::io(&pf, er))?;
        let part: serde_json::Value = serde_json::from_str(&text).map_err(|er| Error::Config(format!("{}: not a replicate part: {er}", pf.display())))?;
        if part["replicate"] != r {
            return Err(Error::Config(format!("{}: says replicate {}, in the directory of replicate {r}", pf.display(), part["replicate"])));
        }
        found.push((r, part));
    }
    found.sort_by_key(|(r, _)| *r);
    let Some((_, first)) = found.first() else {
        return Err(Error::Config(format!("{}: no replicate parts to merge: run the tasks first", parent.display())));
    };
    let plan = first["plan"].clone();
    let replicates = plan["replicates"].as_u64().ok_or_else(|| Error::Config(format!("{}: a part without its plan's replicates", parent.display())))? as u32;
    for (r, p) in &found {
        if comparable(&p["plan"]) != comparable(&plan) {
            return Err(Error::Config(format!(
                "{}: replicate {r} belongs to another run (other inputs, scenarios, seed, horizon or replicates) than replicate {}: merge parts of one plan only",
                parent.display(),
                found[0].0
            )));
        }
        if *r >= replicates {
            return Err(Error::Config(format!("{}: replicate {r} is outside the plan's {replicates} replicates", parent.display())));
        }
    }
    let have: Vec<u32> = found.iter().map(|(r, _)| *r).collect();
    let missing: Vec<u32> = (0..replicates).filter(|r| !have.contains(r)).collect();
    if !missing.is_empty() {
        let tasks = first["task"]["count"].as_u64().unwrap_or(1);
        let which: Vec<String> = missing.iter().map(|r| format!("{r} (task {}/{tasks})", *r as u64 % tasks)).collect();
        return Err(Error::Config(format!("{}: replicates {} of {replicates} are missing: wait for their tasks to finish, or run them again", parent.display(), which.join(", "))));
    }

    let mut staged: Vec<Staged> = Vec::new();
    for table in PART_TABLES {
        let parts: Vec<PathBuf> = (0..replicates).map(|r| replicate_dir(out, r).join(table)).collect();
        let present = parts.iter().filter(|p| p.exists()).count();
        if present == 0 {
            continue;
        }
        if present != parts.len() {
            return Err(Error::Config(format!("{table}: in {present} of {replicates} replicate parts: parts of different runs")));
        }
        staged.push(output::concat_parquet(&parts, &out.join(table))?);
    }
    let start = plan["start"].as_str().and_then(Month::parse).ok_or_else(|| Error::Config("the plan has no start month".into()))?;
    let months = plan["months"].as_u64().unwrap_or(0) as u32;
    let n_scen = plan["scenarios"].as_array().map(|a| a.len()).unwrap_or(0);
    let snap_months = output::snapshot_months(plan["snapshot_every_months"].as_u64().map(|e| e as u32), months);
    if !snap_months.is_empty() {
        let mut parts = Vec::new();
        for r in 0..replicates {
            for k in 0..n_scen {
                for &d in &snap_months {
                    parts.push(snapshot_in_part(&replicate_dir(out, r), k, d));
                }
            }
        }
        if let Some(missing) = parts.iter().find(|p| !p.exists()) {
            return Err(Error::Config(format!("snapshot part {} is missing: the part was changed after it was written", missing.display())));
        }
        staged.push(output::concat_parquet(&parts, &out.join(output::SNAPSHOTS_FILE))?);
    }
    if replicates > 1 {
        let names: Vec<String> = plan["scenarios"].as_array().into_iter().flatten().filter_map(|s| s["name"].as_str().map(str::to_string)).collect();
        staged.push(write_intervals(out, replicates, &names, start, months as usize)?);
    }

    // the manifest: the plan, then what every part records, then the caller's fields
    let mut m = plan.as_object().cloned().unwrap_or_default();
    let parts: Vec<serde_json::Value> = found.iter().map(|(_, p)| p["run"].clone()).collect();
    let backends: Vec<&str> = parts.iter().filter_map(|p| p["backend"].as_str()).collect();
    let backend = if backends.windows(2).all(|w| w[0] == w[1]) { backends.first().copied().unwrap_or("cpu") } else { "mixed" };
    m.insert("replicate_seeds".into(), found.iter().map(|(_, p)| p["seed"].clone()).collect());
    m.insert("backend".into(), backend.into());
    m.insert("tasks".into(), first["task"]["count"].clone());
    let person_months: u64 = parts.iter().filter_map(|p| p["person_months"].as_u64()).sum();
    m.insert("person_months".into(), person_months.into());
    let sim_s: f64 = parts.iter().filter_map(|p| p["simulate_s"].as_f64()).sum();
    m.insert("person_months_per_second".into(), (person_months as f64 / sim_s.max(1e-9)).into());
    m.insert("parts".into(), parts.into());
    let files: Vec<PathBuf> = staged.iter().map(|s| s.dest.clone()).collect();
    let name = |f: &'static str| files.iter().any(|p| p.file_name().is_some_and(|n| n == f)).then_some(f);
    m.insert(
        "outputs".into(),
        serde_json::json!({
            "aggregates": name(output::AGGREGATES_FILE),
            "capacity": name(output::CAPACITY_FILE),
            "comparison": name(output::COMPARISON_FILE),
            "distribution": name(output::DISTRIBUTION_FILE),
            "snapshots": name(output::SNAPSHOTS_FILE),
            "snapshot_every_months": plan["snapshot_every_months"],
            "intervals": name(INTERVALS_FILE),
        }),
    );
    for (k, v) in extra {
        m.insert(k, v);
    }
    // the merge's own time: `timings_s.write` of a single process, `timings_s.merge` of `twin merge`
    let took = serde_json::json!(t0.elapsed().as_secs_f64());
    match m.get_mut("timings_s").and_then(|t| t.as_object_mut()) {
        Some(t) => {
            t.insert("write".into(), took);
        }
        None => {
            m.insert("timings_s".into(), serde_json::json!({ "merge": took }));
        }
    }
    staged.push(output::write_staged_bytes(&out.join(output::MANIFEST_FILE), serde_json::to_string_pretty(&serde_json::Value::Object(m)).expect("JSON").as_bytes())?);
    let written: Vec<PathBuf> = staged.iter().map(|s| s.dest.clone()).collect();
    for s in staged {
        s.commit()?;
    }
    output::remove_stale(out, &written)?;
    for dir in [REPLICATES_DIR, output::SNAPSHOT_PARTS_DIR, crate::checkpoint::CHECKPOINT_DIR] {
        let d = out.join(dir);
        if d.exists() {
            std::fs::remove_dir_all(&d).map_err(|e| Error::io(&d, e))?;
        }
    }
    Ok(Merged { replicates, files: written })
}

pub fn intervals_schema() -> SchemaRef {
    let f = |name: &str, t: DataType, nullable: bool, unit: &str, about: &str| {
        Field::new(name, t, nullable).with_metadata(HashMap::from([("unit".to_string(), unit.to_string()), ("description".to_string(), about.to_string())]))
    };
    let dict = || DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let num = |name: &str, about: &str| f(name, DataType::Float64, false, "the measure's unit", about);
    let unp = |name: &str, about: &str| f(name, DataType::Float64, true, "the measure's unit", about);
    Arc::new(Schema::new(vec![
        f("scenario", dict(), false, "", "Scenario name."),
        f("statistic", dict(), false, "", "`level`: the scenario's value; `reform_minus_baseline`: a reform minus the baseline, paired by replicate."),
        f("month", DataType::Date32, false, "date", "First day of the simulated month."),
        f("region", dict(), false, "", "UK ITL1 region or nation, or All (the sum over regions)."),
        f("measure", dict(), false, "", "A measure of aggregates.parquet (summed over age bands and sexes)."),
        f("unit", dict(), false, "", "The measure's unit."),
        f("replicates", DataType::UInt32, false, "", "Replicates the statistics are over."),
        num("mean", "Mean across replicates."),
        num("sd", "Standard deviation across replicates (n - 1 in the denominator)."),
        num("p05", "5th percentile across replicates (linear interpolation, as numpy's default): the lower end of the 90% interval."),
        num("p95", "95th percentile across replicates: the upper end of the 90% interval."),
        unp("sd_unpaired", "reform_minus_baseline only: the standard deviation of the difference over pairs of different replicates (as if reform and baseline were run with independent random numbers)."),
        unp("p05_unpaired", "reform_minus_baseline only: 5th percentile of the differences over pairs of different replicates."),
        unp("p95_unpaired", "reform_minus_baseline only: 95th percentile of the differences over pairs of different replicates."),
    ]))
}

/// Compute and stage `intervals.parquet` from the replicate parts' aggregates.
fn write_intervals(out: &Path, replicates: u32, scenarios: &[String], start: Month, months: usize) -> Result<Staged> {
    const ALL: usize = 12;
    let schema = crate::output::aggregates_schema();
    let keys = ["scenario", "replicate", "month", "region", "age_band", "sex"];
    let measures: Vec<(String, String)> = schema.fields().iter().filter(|f| !keys.contains(&f.name().as_str())).map(|f| (f.name().clone(), f.metadata().get("unit").cloned().unwrap_or_default())).collect();
    let nc = measures.len();
    let ns = scenarios.len();
    // values[r][((s * months + m) * 13 + region) * nc + c]
    let idx = |s: usize, m: usize, g: usize, c: usize| ((s * months + m) * 13 + g) * nc + c;
    let names: Vec<&str> = measures.iter().map(|(n, _)| n.as_str()).collect();
    let mut values: Vec<Vec<i64>> = Vec::with_capacity(replicates as usize);
    for r in 0..replicates {
        let path = replicate_dir(out, r).join(output::AGGREGATES_FILE);
        let mut v = vec![0i64; ns * months * 13 * nc];
        crate::results::fold_cells(&path, &read_batches(&path)?, scenarios, start, months, &names, &mut |_, s, m, g, vals| {
            for (c, x) in vals.iter().enumerate() {
                v[idx(s, m, g, c)] += x;
                v[idx(s, m, ALL, c)] += x;
            }
        })?;
        values.push(v);
    }

    let mut regions: Vec<&str> = codes::REGIONS.to_vec();
    regions.push("All");
    let mut units: Vec<&str> = Vec::new();
    let unit_code: Vec<i32> = measures
        .iter()
        .map(|(_, u)| {
            let p = units.iter().position(|x| x == u).unwrap_or_else(|| {
                units.push(u.as_str());
                units.len() - 1
            });
            p as i32
        })
        .collect();
    let scen_names: Vec<&str> = scenarios.iter().map(String::as_str).collect();
    let staged = Staged::new(&out.join(INTERVALS_FILE));
    let mut w = parquet::arrow::ArrowWriter::try_new(staged.create()?, intervals_schema(), Some(output::writer_props())).map_err(|e| Error::write(&staged.tmp, e))?;
    // one batch per scenario and statistic
    for s in 0..ns {
        for stat in 0..(if s == 0 { 1 } else { 2 }) {
            let rows = months * 13 * nc;
            let mut cols: (Vec<i32>, Vec<i32>, Vec<i32>, Vec<i32>) = (Vec::with_capacity(rows), Vec::with_capacity(rows), Vec::with_capacity(rows), Vec::with_capacity(rows));
            let mut stats: Vec<Spread> = Vec::with_capacity(rows);
            let mut unpaired: Vec<Option<Spread>> = Vec::with_capacity(rows);
            let mut buf = vec![0f64; replicates as usize];
            let (mut rf, mut bs) = (vec![0f64; replicates as usize], vec![0f64; replicates as usize]);
            for m in 0..months {
                for g in 0..13 {
                    for (c, &unit) in unit_code.iter().enumerate() {
                        let at = idx(s, m, g, c);
                        let b0 = idx(0, m, g, c);
                        for (r, v) in values.iter().enumerate() {
                            buf[r] = if stat == 0 { v[at] as f64 } else { (v[at] - v[b0]) as f64 };
                        }
                        stats.push(spread(&mut buf));
                        unpaired.push((stat == 1).then(|| {
                            for (r, v) in values.iter().enumerate() {
                                (rf[r], bs[r]) = (v[at] as f64, v[b0] as f64);
                            }
                            unpaired_spread(&rf, &bs)
                        }));
                        cols.0.push(start.add(m as u32).date32());
                        cols.1.push(g as i32);
                        cols.2.push(c as i32);
                        cols.3.push(unit);
                    }
                }
            }
            let f64col = |f: &dyn Fn(&Spread) -> f64| -> ArrayRef { Arc::new(Float64Array::from_iter_values(stats.iter().map(f))) };
            let ucol = |f: &dyn Fn(&Spread) -> f64| -> ArrayRef { Arc::new(Float64Array::from_iter(unpaired.iter().map(|u| u.as_ref().map(f)))) };
            let n = stats.len();
            let batch = RecordBatch::try_new(
                intervals_schema(),
                vec![
                    output::dict(vec![s as i32; n], &scen_names),
                    output::dict(vec![stat; n], &["level", "reform_minus_baseline"]),
                    Arc::new(Date32Array::from(cols.0)),
                    output::dict(cols.1, &regions),
                    output::dict(cols.2, &names),
                    output::dict(cols.3, &units),
                    Arc::new(UInt32Array::from(vec![replicates; n])),
                    f64col(&|x| x.mean),
                    f64col(&|x| x.sd),
                    f64col(&|x| x.p05),
                    f64col(&|x| x.p95),
                    ucol(&|x| x.sd),
                    ucol(&|x| x.p05),
                    ucol(&|x| x.p95),
                ],
            )
            .map_err(|e| Error::write(&staged.tmp, e))?;
            w.write(&batch).map_err(|e| Error::write(&staged.tmp, e))?;
        }
    }
    w.close().map_err(|e| Error::write(&staged.tmp, e))?;
    Ok(staged)
}
