//! Loading and validating a population: `persons.parquet` and `households.parquet` exactly as
//! MODEL.md §1 describes, read batch by batch (row group by row group) straight into the
//! engine's structure-of-arrays state; no second copy of the population is held.
//!
//! Every rule is checked before any simulation starts. An error names the file, the column,
//! the first offending row (1-based, in file order) and the rule. Accepted types: integer ids
//! of any integer type (non-negative); `age` any integer type; money `float64`, `float32` or an
//! integer type; categories as strings (plain, large, view or dictionary-encoded) or as integer
//! codes (the index in the lists of [`crate::codes`]); regions also as ITL1 codes (`TLC`..`TLN`).

use crate::codes;
use crate::error::{Error, Result};
use crate::state::*;
use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;
use rayon::prelude::*;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub const PERSONS_FILE: &str = "persons.parquet";
pub const HOUSEHOLDS_FILE: &str = "households.parquet";

/// Rows per batch read.
const BATCH: usize = 64 * 1024;
/// Largest monthly rent accepted, pounds.
pub const MAX_RENT_GBP: f64 = 1_000_000.0;
/// Person ids must be below 2^63.
pub const MAX_PERSON_ID: u64 = 1 << 63;
/// Persons and households are indexed with u32.
pub const MAX_PERSONS: usize = u32::MAX as usize - 1;
/// Largest personal capital accepted, pounds (kept in whole pounds in a u32).
pub const MAX_WEALTH_GBP: f64 = 4_000_000_000.0;

/// Load progress: (rows read so far, total rows) over both files.
pub type LoadProgress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// Load and validate a population directory holding `persons.parquet` and `households.parquet`.
pub fn load_dir(dir: &Path, progress: LoadProgress) -> Result<Population> {
    load(&dir.join(PERSONS_FILE), &dir.join(HOUSEHOLDS_FILE), progress)
}

pub fn load(persons_path: &Path, households_path: &Path, progress: LoadProgress) -> Result<Population> {
    let hh_src = Source::open(households_path)?;
    let p_src = Source::open(persons_path)?;
    // progress counts (row group, task) units: each task adds its row group's rows
    let total = hh_src.rows() * HH_TASKS as u64 + p_src.rows() * P_TASKS as u64;
    let done = AtomicU64::new(0);
    let tick = |rows: u64| progress(done.fetch_add(rows, Ordering::Relaxed) + rows, total);
    let mut households = read_households(&hh_src, &tick)?;
    let persons = read_persons(&p_src, &mut households, &tick)?;
    Ok(Population { persons, households })
}

/// Parallel tasks per row group: households (id; region, tenure and rent; weight) and persons
/// (id; household; age and the four categories; earnings; wealth).
const HH_TASKS: usize = 3;
const P_TASKS: usize = 5;

/// The message of a caught panic.
fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_else(|| "panic".into())
}

fn unreadable(file: &Path, detail: impl std::fmt::Display) -> Error {
    Error::Unreadable { file: file.into(), detail: detail.to_string() }
}

/// An opened Parquet file: its footer read once, and where each row group starts.
struct Source {
    path: PathBuf,
    meta: ArrowReaderMetadata,
    /// First file row of each row group, then the total.
    starts: Vec<u64>,
}

impl Source {
    fn open(path: &Path) -> Result<Source> {
        let file = File::open(path).map_err(|e| if e.kind() == std::io::ErrorKind::NotFound { unreadable(path, "no such file") } else { Error::io(path, e) })?;
        let meta = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())))
            .map_err(|p| unreadable(path, format!("the Parquet footer is corrupt ({})", panic_text(&p))))?
            .map_err(|e| unreadable(path, e))?;
        let mut starts = vec![0u64];
        for rg in meta.metadata().row_groups() {
            starts.push(starts.last().unwrap() + rg.num_rows().max(0) as u64);
        }
        Ok(Source { path: path.into(), meta, starts })
    }
    fn rows(&self) -> u64 {
        *self.starts.last().unwrap()
    }
    fn groups(&self) -> usize {
        self.starts.len() - 1
    }
    /// Rows of row group `g` as a range of file rows.
    fn range(&self, g: usize) -> std::ops::Range<usize> {
        self.starts[g] as usize..self.starts[g + 1] as usize
    }
    /// Read columns `names` of row group `g` batch by batch, through a file handle of its own
    /// (handles cloned from one file share a seek position); `f` gets each batch and the
    /// offset of its first row within the row group.
    fn read(&self, g: usize, names: &[&str], mut f: impl FnMut(&RecordBatch, usize) -> std::result::Result<(), Fail>) -> std::result::Result<(), Fail> {
        let at = self.starts[g];
        let fail = |detail: String| Fail { row: at, rank: 0, err: unreadable(&self.path, detail) };
        let file = File::open(&self.path).map_err(|e| Fail { row: at, rank: 0, err: Error::io(&self.path, e) })?;
        let fields = self.meta.parquet_schema().root_schema().get_fields();
        let idx: Vec<usize> = names.iter().filter_map(|n| fields.iter().position(|f| f.name() == *n)).collect();
        let mask = ProjectionMask::roots(self.meta.parquet_schema(), idx);
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.meta.clone())
            .with_row_groups(vec![g])
            .with_projection(mask)
            .with_batch_size(BATCH)
            .build()
            .map_err(|e| fail(e.to_string()))?;
        let mut off = 0usize;
        let expected = self.range(g).len();
        let mut reader = reader;
        loop {
            // the parquet crate can panic on corrupt pages (found by tests/all/robust.rs):
            // a panic while decoding is reported as an unreadable file like any decode error
            let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reader.next()))
                .map_err(|p| fail(format!("row group {g}, after row {}: the Parquet decoder failed on corrupt data ({})", at + off as u64, panic_text(&p))))?;
            let Some(batch) = next else { break };
            let batch = batch.map_err(|e| fail(format!("row group {g}, after row {}: {e}", at + off as u64)))?;
            // the tasks write into slices sized by the footer's row counts
            if off + batch.num_rows() > expected {
                return Err(fail(format!("row group {g} holds more rows than its footer says ({expected})")));
            }
            f(&batch, off)?;
            off += batch.num_rows();
        }
        if off != expected {
            return Err(fail(format!("row group {g} holds {off} rows, its footer says {expected}")));
        }
        Ok(())
    }
}

/// The first broken rule a task found: file row (0-based), the rule's rank in the order rules
/// are checked within a row, and the error. The load reports the least (row, rank) over all
/// tasks: the first offending row in file order, and its first rule, as a row-by-row check
/// would.
struct Fail {
    row: u64,
    rank: u32,
    err: Error,
}

/// The first failure of a set of task results.
fn first_fail(results: Vec<std::result::Result<(), Fail>>) -> Result<()> {
    match results.into_iter().filter_map(|r| r.err()).min_by_key(|f| (f.row, f.rank)) {
        Some(f) => Err(f.err),
        None => Ok(()),
    }
}

/// Tracks the first failure of one rule (column) within a task, across batches.
struct Rule<'a> {
    file: &'a Path,
    column: &'a str,
    rank: u32,
    /// File row of the row group's first row.
    base: u64,
    fail: Option<Fail>,
}

impl<'a> Rule<'a> {
    fn new(file: &'a Path, column: &'a str, rank: u32, base: u64) -> Self {
        Rule { file, column, rank, base, fail: None }
    }
    fn failed(&self) -> bool {
        self.fail.is_some()
    }
    /// Record a failure at row `off` of the row group (the first one only).
    fn set(&mut self, off: usize, rule: String) {
        if self.fail.is_none() {
            let row = self.base + off as u64;
            self.fail = Some(Fail { row, rank: self.rank, err: Error::input(self.file, self.column, Some(row + 1), rule) });
        }
    }
    /// Record the result of visiting a batch whose first row is at `off`.
    fn check(&mut self, off: usize, r: std::result::Result<(), (usize, String)>) {
        if let Err((i, rule)) = r {
            self.set(off + i, rule);
        }
    }
    /// Rows of the row group before the first failure (all rows if none).
    fn valid_rows(&self, len: usize) -> usize {
        self.fail.as_ref().map_or(len, |f| (f.row - self.base) as usize)
    }
}

/// The least failure of a task's rules.
fn task_result<'a>(rules: impl IntoIterator<Item = Rule<'a>>) -> std::result::Result<(), Fail> {
    match rules.into_iter().filter_map(|r| r.fail).min_by_key(|f| (f.row, f.rank)) {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

/// Check the schema up front: every required column present with an accepted type.
fn check_schema(file: &Path, schema: &arrow_schema::Schema, cols: &[(&str, ColKind, bool)]) -> Result<()> {
    for (name, kind, required) in cols {
        match schema.field_with_name(name) {
            Err(_) if *required => return Err(Error::input(file, name, None, "missing column")),
            Err(_) => {}
            Ok(f) => {
                if !kind.accepts(f.data_type()) {
                    return Err(Error::input(file, name, None, format!("wrong type {} (expected {})", f.data_type(), kind.expected())));
                }
            }
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum ColKind {
    Int,
    Money,
    Category,
}

impl ColKind {
    fn accepts(self, t: &DataType) -> bool {
        let int = t.is_integer();
        match self {
            ColKind::Int => int,
            ColKind::Money => int || matches!(t, DataType::Float64 | DataType::Float32),
            ColKind::Category => {
                int || matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
                    || matches!(t, DataType::Dictionary(k, v) if k.is_integer() && matches!(**v, DataType::Utf8 | DataType::LargeUtf8))
            }
        }
    }
    fn expected(self) -> &'static str {
        match self {
            ColKind::Int => "an integer type",
            ColKind::Money => "float64 (or float32 or an integer type)",
            ColKind::Category => "a string (plain or dictionary-encoded) or integer codes",
        }
    }
}

type Visit = std::result::Result<(), (usize, String)>;

/// Visit the values of a primitive column of type `T`, converted by `conv`, None for null,
/// until `f` refuses one.
fn each_prim<T: ArrowPrimitiveType, V>(col: &ArrayRef, conv: impl Fn(T::Native) -> V, mut f: impl FnMut(usize, Option<V>) -> std::result::Result<(), String>) -> Visit {
    let a = col.as_primitive::<T>();
    if a.null_count() == 0 {
        for (i, &v) in a.values().iter().enumerate() {
            f(i, Some(conv(v))).map_err(|e| (i, e))?;
        }
    } else {
        for (i, v) in a.iter().enumerate() {
            f(i, v.map(&conv)).map_err(|e| (i, e))?;
        }
    }
    Ok(())
}

/// Visit the values of an integer column (any integer type) as i128, None for null, until
/// `f` refuses one.
fn each_int(col: &ArrayRef, f: impl FnMut(usize, Option<i128>) -> std::result::Result<(), String>) -> Visit {
    match col.data_type() {
        DataType::Int8 => each_prim::<Int8Type, _>(col, |x| x as i128, f),
        DataType::Int16 => each_prim::<Int16Type, _>(col, |x| x as i128, f),
        DataType::Int32 => each_prim::<Int32Type, _>(col, |x| x as i128, f),
        DataType::Int64 => each_prim::<Int64Type, _>(col, |x| x as i128, f),
        DataType::UInt8 => each_prim::<UInt8Type, _>(col, |x| x as i128, f),
        DataType::UInt16 => each_prim::<UInt16Type, _>(col, |x| x as i128, f),
        DataType::UInt32 => each_prim::<UInt32Type, _>(col, |x| x as i128, f),
        DataType::UInt64 => each_prim::<UInt64Type, _>(col, |x| x as i128, f),
        _ => unreachable!("type checked"),
    }
}

/// Visit the values of a money column (pounds) as f64, None for null.
fn each_money(col: &ArrayRef, mut f: impl FnMut(usize, Option<f64>) -> std::result::Result<(), String>) -> Visit {
    match col.data_type() {
        DataType::Float64 => each_prim::<Float64Type, _>(col, |x| x, f),
        DataType::Float32 => each_prim::<Float32Type, _>(col, |x| x as f64, f),
        _ => each_int(col, |i, v| f(i, v.map(|x| x as f64))),
    }
}

/// A category value: its code, or the unknown value as text.
type Cat = std::result::Result<u32, String>;

/// Visit the codes of a category column: strings (plain, large, view or dictionary-encoded,
/// each dictionary value looked up once) or integer codes below `n_codes`.
fn each_category(col: &ArrayRef, lookup: &dyn Fn(&str) -> Option<u32>, n_codes: u32, mut f: impl FnMut(usize, Option<&Cat>) -> std::result::Result<(), String>) -> Visit {
    let by_text = |s: &str| lookup(s).ok_or_else(|| s.to_string());
    macro_rules! strings {
        ($it:expr) => {{
            for (i, v) in $it.enumerate() {
                f(i, v.map(by_text).as_ref()).map_err(|e| (i, e))?;
            }
            Ok(())
        }};
    }
    match col.data_type() {
        DataType::Utf8 => strings!(col.as_string::<i32>().iter()),
        DataType::LargeUtf8 => strings!(col.as_string::<i64>().iter()),
        DataType::Utf8View => strings!(col.as_string_view().iter()),
        DataType::Dictionary(k, _) => {
            macro_rules! dict {
                ($kt:ty) => {{
                    let d = col.as_dictionary::<$kt>();
                    let values = d.values();
                    let mapped: Vec<Option<Cat>> = match values.data_type() {
                        DataType::Utf8 => values.as_string::<i32>().iter().map(|v| v.map(by_text)).collect(),
                        DataType::LargeUtf8 => values.as_string::<i64>().iter().map(|v| v.map(by_text)).collect(),
                        // the schema check allows only these; a corrupt file can still decode to others
                        t => return Err((0, format!("dictionary values of type {t}, expected strings"))),
                    };
                    // a null key, or a key whose dictionary value is null, is a null
                    let at = |k: usize| mapped.get(k).and_then(|m| m.as_ref());
                    let keys = d.keys();
                    if keys.null_count() == 0 {
                        for (i, &k) in keys.values().iter().enumerate() {
                            f(i, at(k as usize)).map_err(|e| (i, e))?;
                        }
                    } else {
                        for (i, k) in keys.iter().enumerate() {
                            f(i, k.and_then(|k| at(k as usize))).map_err(|e| (i, e))?;
                        }
                    }
                    Ok(())
                }};
            }
            match **k {
                DataType::Int8 => dict!(Int8Type),
                DataType::Int16 => dict!(Int16Type),
                DataType::Int32 => dict!(Int32Type),
                DataType::Int64 => dict!(Int64Type),
                DataType::UInt8 => dict!(UInt8Type),
                DataType::UInt16 => dict!(UInt16Type),
                DataType::UInt32 => dict!(UInt32Type),
                _ => dict!(UInt64Type),
            }
        }
        _ => each_int(col, |i, v| {
            let c = v.map(|x| if x >= 0 && x < n_codes as i128 { Ok(x as u32) } else { Err(format!("code {x}")) });
            f(i, c.as_ref())
        }),
    }
}

/// OR the codes of a category column, shifted by `shift`, into `out`. Dictionary-encoded
/// columns without nulls whose every dictionary value is known take a fast path (one table
/// lookup per row); anything else goes value by value through [`each_category`].
fn put_categories(col: &ArrayRef, lookup: &dyn Fn(&str) -> Option<u32>, names: &[&str], n_codes: u32, shift: u32, out: &mut [u32]) -> Visit {
    if let DataType::Dictionary(k, _) = col.data_type() {
        macro_rules! fast {
            ($kt:ty) => {{
                let d = col.as_dictionary::<$kt>();
                let values = d.values();
                let known: Option<Vec<u32>> = match values.data_type() {
                    DataType::Utf8 => values.as_string::<i32>().iter().map(|v| v.and_then(lookup)).collect(),
                    DataType::LargeUtf8 => values.as_string::<i64>().iter().map(|v| v.and_then(lookup)).collect(),
                    _ => None,
                };
                if let (Some(codes), 0) = (known, d.keys().null_count()) {
                    let keys = d.keys().values();
                    if keys.iter().all(|&k| (k as usize) < codes.len()) {
                        for (o, &k) in out.iter_mut().zip(keys.iter()) {
                            *o |= codes[k as usize] << shift;
                        }
                        return Ok(());
                    }
                }
            }};
        }
        match **k {
            DataType::Int8 => fast!(Int8Type),
            DataType::Int16 => fast!(Int16Type),
            DataType::Int32 => fast!(Int32Type),
            DataType::Int64 => fast!(Int64Type),
            DataType::UInt8 => fast!(UInt8Type),
            DataType::UInt16 => fast!(UInt16Type),
            DataType::UInt32 => fast!(UInt32Type),
            _ => fast!(UInt64Type),
        }
    }
    each_category(col, lookup, n_codes, |i, v| {
        out[i] |= category_rule(v, names)? << shift;
        Ok(())
    })
}

/// `x` rounded to the nearest integer, halves away from zero (as `f64::round`), for
/// 0 <= x < 2^32; exact, without a call to libm's `round`.
#[inline(always)]
fn round_u32(x: f64) -> u32 {
    let t = x as u32;
    if x - t as f64 >= 0.5 {
        t + 1
    } else {
        t
    }
}

/// A money value checked against [`money_rule`], as pounds.
#[inline(always)]
fn money_ok(v: Option<f64>, max_gbp: f64) -> std::result::Result<f64, String> {
    match v {
        Some(x) if (0.0..=max_gbp).contains(&x) => Ok(x),
        _ => money_rule(v, max_gbp),
    }
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> &'a ArrayRef {
    batch.column_by_name(name).expect("projected column")
}

/// Rules on single values; each returns the rule broken as text.
fn id_rule(v: Option<i128>) -> std::result::Result<u64, String> {
    match v {
        None => Err("null value".into()),
        Some(x) if x < 0 => Err(format!("negative id {x}")),
        Some(x) => Ok(x as u64),
    }
}

fn category_rule(v: Option<&Cat>, names: &[&str]) -> std::result::Result<u32, String> {
    match v {
        None => Err("null value".into()),
        Some(Ok(c)) => Ok(*c),
        Some(Err(bad)) => Err(format!("unknown category `{bad}` (expected one of: {})", names.join(", "))),
    }
}

/// Money in pounds: not null, finite, not negative, at most `max`.
fn money_rule(v: Option<f64>, max_gbp: f64) -> std::result::Result<f64, String> {
    match v {
        None => Err("null value".into()),
        Some(x) if x.is_nan() => Err("NaN".into()),
        Some(x) if x.is_infinite() => Err("infinite value".into()),
        Some(x) if x < 0.0 => Err(format!("negative money {x}")),
        Some(x) if x > max_gbp => Err(format!("value {x} above the largest accepted ({max_gbp})")),
        Some(x) => Ok(x),
    }
}

/// Split each column into the row groups' slices.
fn split_groups<'a>(col: &'a mut [u32], src: &Source) -> Vec<&'a mut [u32]> {
    let mut out = Vec::with_capacity(src.groups());
    let mut rest = col;
    for g in 0..src.groups() {
        let (a, b) = rest.split_at_mut(src.range(g).len());
        out.push(a);
        rest = b;
    }
    out
}

fn read_households(src: &Source, tick: &(dyn Fn(u64) + Sync)) -> Result<Households> {
    let file = src.path.as_path();
    check_schema(
        file,
        src.meta.schema(),
        &[("household_id", ColKind::Int, true), ("region", ColKind::Category, true), ("tenure", ColKind::Category, true), ("rent", ColKind::Money, true), ("weight", ColKind::Int, false)],
    )?;
    let n = src.rows() as usize;
    if n > MAX_PERSONS {
        return Err(Error::input(file, "household_id", Some(MAX_PERSONS as u64 + 1), format!("more than {MAX_PERSONS} households")));
    }
    let has_weight = src.meta.schema().field_with_name("weight").is_ok();
    let mut hh = Households { id: vec![0; n], info: vec![0; n], rent: vec![0; n], weight: vec![0; n], ..Default::default() };
    // ranks: household_id 0, region 1, tenure 2, rent 3, owner rule 4, weight 5
    {
        let mut ids: Vec<&mut [u64]> = Vec::new();
        let mut rest = hh.id.as_mut_slice();
        for g in 0..src.groups() {
            let (a, b) = rest.split_at_mut(src.range(g).len());
            ids.push(a);
            rest = b;
        }
        let infos = split_groups(&mut hh.info, src);
        let rents = split_groups(&mut hh.rent, src);
        let weights = split_groups(&mut hh.weight, src);
        let mut tasks: Vec<Box<dyn FnOnce() -> std::result::Result<(), Fail> + Send + '_>> = Vec::new();
        for (g, (((id, info), rent), weight)) in ids.into_iter().zip(infos).zip(rents).zip(weights).enumerate() {
            let base = src.starts[g];
            let len = id.len() as u64;
            tasks.push(Box::new(move || {
                let mut r = Rule::new(file, "household_id", 0, base);
                src.read(g, &["household_id"], |b, off| {
                    let out = &mut id[off..off + b.num_rows()];
                    r.check(off, each_int(column(b, "household_id"), |i, v| { out[i] = id_rule(v)?; Ok(()) }));
                    Ok(())
                })?;
                tick(len);
                task_result([r])
            }));
            tasks.push(Box::new(move || {
                let mut rr = Rule::new(file, "region", 1, base);
                let mut rt = Rule::new(file, "tenure", 2, base);
                let mut rp = Rule::new(file, "rent", 3, base);
                let mut owner = Rule::new(file, "rent", 4, base);
                src.read(g, &["region", "tenure", "rent"], |b, off| {
                    let nb = b.num_rows();
                    let (info, rent) = (&mut info[off..off + nb], &mut rent[off..off + nb]);
                    if !rr.failed() {
                        rr.check(off, put_categories(column(b, "region"), &codes::region_code, &codes::REGIONS, 12, 0, info));
                    }
                    if !rt.failed() {
                        rt.check(off, put_categories(column(b, "tenure"), &|s| codes::lookup(&codes::TENURE, s), &codes::TENURE, 4, TENURE_SHIFT, info));
                    }
                    if !rp.failed() {
                        rp.check(off, each_money(column(b, "rent"), |i, v| { rent[i] = round_u32(money_ok(v, MAX_RENT_GBP)? * 100.0); Ok(()) }));
                    }
                    // owner-occupiers pay no rent, checked where both values are valid
                    let upto = (rt.valid_rows(usize::MAX).saturating_sub(off)).min(rp.valid_rows(usize::MAX).saturating_sub(off)).min(nb);
                    if !owner.failed() {
                        if let Some(i) = (0..upto).find(|&i| tenure(info[i]) == codes::OWNER && rent[i] != 0) {
                            owner.set(off + i, format!("owner-occupier with rent {} (rent is 0 for owners)", rent[i] as f64 / 100.0));
                        }
                    }
                    Ok(())
                })?;
                tick(len);
                task_result([rr, rt, rp, owner])
            }));
            tasks.push(Box::new(move || {
                let mut r = Rule::new(file, "weight", 5, base);
                if !has_weight {
                    weight.fill(1);
                } else {
                    src.read(g, &["weight"], |b, off| {
                        let out = &mut weight[off..off + b.num_rows()];
                        r.check(
                            off,
                            each_int(column(b, "weight"), |i, v| {
                                out[i] = match v {
                                    None => return Err("null value".into()),
                                    Some(w) if !(1..=u32::MAX as i128).contains(&w) => return Err(format!("weight {w} outside 1..=4294967295")),
                                    Some(w) => w as u32,
                                };
                                Ok(())
                            }),
                        );
                        Ok(())
                    })?;
                }
                tick(len);
                task_result([r])
            }));
        }
        first_fail(tasks.into_par_iter().map(|t| t()).collect())?;
    }
    if let Some(row) = first_duplicate(&hh.id) {
        return Err(Error::input(file, "household_id", Some(row as u64 + 1), format!("duplicate id {}", hh.id[row])));
    }
    Ok(hh)
}

/// Row of the first value that repeats an earlier one (in file order), if any.
fn first_duplicate(ids: &[u64]) -> Option<usize> {
    if ids.windows(2).all(|w| w[0] < w[1]) {
        return None;
    }
    let mut order: Vec<u32> = (0..ids.len() as u32).collect();
    order.sort_unstable_by_key(|&i| (ids[i as usize], i));
    order.windows(2).filter(|w| ids[w[0] as usize] == ids[w[1] as usize]).map(|w| w[1] as usize).min()
}

/// Household id → index.
struct Lookup<'a> {
    /// The ids in increasing order: borrowed when the file has them in order already.
    sorted: std::borrow::Cow<'a, [u64]>,
    index: Option<Vec<u32>>,
}

impl<'a> Lookup<'a> {
    fn new(ids: &'a [u64]) -> Lookup<'a> {
        if ids.par_windows(2).all(|w| w[0] < w[1]) {
            return Lookup { sorted: ids.into(), index: None };
        }
        let mut order: Vec<u32> = (0..ids.len() as u32).collect();
        order.sort_unstable_by_key(|&i| ids[i as usize]);
        Lookup { sorted: order.iter().map(|&i| ids[i as usize]).collect::<Vec<u64>>().into(), index: Some(order) }
    }
    /// Index of household `id`; `hint` is the index found for the row before (persons come
    /// grouped by household, so the next household is usually the next one in the file).
    fn get(&self, id: u64, hint: Option<u32>) -> Option<u32> {
        if self.index.is_none() {
            if let Some(h) = hint {
                let next = h as usize + 1;
                if self.sorted.get(next) == Some(&id) {
                    return Some(next as u32);
                }
            }
        }
        let pos = self.sorted.binary_search(&id).ok()?;
        Some(match &self.index {
            None => pos as u32,
            Some(ix) => ix[pos],
        })
    }
}

fn read_persons(src: &Source, hh: &mut Households, tick: &(dyn Fn(u64) + Sync)) -> Result<Persons> {
    let file = src.path.as_path();
    check_schema(
        file,
        src.meta.schema(),
        &[
            ("person_id", ColKind::Int, true),
            ("household_id", ColKind::Int, true),
            ("age", ColKind::Int, true),
            ("sex", ColKind::Category, true),
            ("employment", ColKind::Category, true),
            ("earnings", ColKind::Money, true),
            ("health", ColKind::Category, true),
            ("care_need", ColKind::Category, true),
            ("wealth", ColKind::Money, true),
        ],
    )?;
    let n = src.rows() as usize;
    if n > MAX_PERSONS {
        return Err(Error::input(file, "person_id", Some(MAX_PERSONS as u64 + 1), format!("more than {MAX_PERSONS} persons")));
    }
    let lookup = Lookup::new(&hh.id);
    let lookup = &lookup;
    let mut p = Persons::zeroed(n);
    // ranks, in the order a row's rules are checked: person_id 0, household_id 1, person id
    // range 2, household exists 3, age 4, sex 5, employment 6, child rule 7, health 8,
    // care_need 9, earnings 10, wealth 11
    {
        let Persons { id_lo, id_hi, household, age_months, status, earnings, wealth, .. } = &mut p;
        let groups = split_groups(id_lo, src)
            .into_iter()
            .zip(split_groups(id_hi, src))
            .zip(split_groups(household, src))
            .zip(split_groups(age_months, src))
            .zip(split_groups(status, src))
            .zip(split_groups(earnings, src))
            .zip(split_groups(wealth, src));
        let mut tasks: Vec<Box<dyn FnOnce() -> std::result::Result<(), Fail> + Send + '_>> = Vec::new();
        for (g, ((((((lo, hi), hidx), age_m), status), earn), wealth)) in groups.enumerate() {
            let base = src.starts[g];
            let len = lo.len() as u64;
            tasks.push(Box::new(move || {
                let mut r = Rule::new(file, "person_id", 0, base);
                let mut range = Rule::new(file, "person_id", 2, base);
                src.read(g, &["person_id"], |b, off| {
                    let nb = b.num_rows();
                    let (lo, hi) = (&mut lo[off..off + nb], &mut hi[off..off + nb]);
                    r.check(
                        off,
                        each_int(column(b, "person_id"), |i, v| {
                            let id = id_rule(v)?;
                            if id >= MAX_PERSON_ID {
                                range.set(off + i, format!("id {id} is 2^63 or more (ids above are kept for babies born in the run)"));
                            }
                            lo[i] = id as u32;
                            hi[i] = (id >> 32) as u32;
                            Ok(())
                        }),
                    );
                    Ok(())
                })?;
                tick(len);
                task_result([r, range])
            }));
            tasks.push(Box::new(move || {
                let mut r = Rule::new(file, "household_id", 1, base);
                let mut known = Rule::new(file, "household_id", 3, base);
                let mut last: Option<(u64, u32)> = None;
                src.read(g, &["household_id"], |b, off| {
                    let out = &mut hidx[off..off + b.num_rows()];
                    r.check(
                        off,
                        each_int(column(b, "household_id"), |i, v| {
                            let h = id_rule(v)?;
                            out[i] = match last {
                                Some((lh, lx)) if lh == h => lx,
                                _ => match lookup.get(h, last.map(|l| l.1)) {
                                    Some(ix) => {
                                        last = Some((h, ix));
                                        ix
                                    }
                                    None => {
                                        known.set(off + i, format!("household {h} is not in {HOUSEHOLDS_FILE}"));
                                        0
                                    }
                                },
                            };
                            Ok(())
                        }),
                    );
                    Ok(())
                })?;
                tick(len);
                task_result([r, known])
            }));
            tasks.push(Box::new(move || {
                let mut ra = Rule::new(file, "age", 4, base);
                let mut rs = Rule::new(file, "sex", 5, base);
                let mut re = Rule::new(file, "employment", 6, base);
                let mut child = Rule::new(file, "employment", 7, base);
                let mut rh = Rule::new(file, "health", 8, base);
                let mut rc = Rule::new(file, "care_need", 9, base);
                src.read(g, &["age", "sex", "employment", "health", "care_need"], |b, off| {
                    let nb = b.num_rows();
                    let (age_m, st) = (&mut age_m[off..off + nb], &mut status[off..off + nb]);
                    if !ra.failed() {
                        ra.check(
                            off,
                            each_int(column(b, "age"), |i, v| {
                                age_m[i] = match v {
                                    None => return Err("null value".into()),
                                    Some(a) if !(0..=codes::MAX_AGE as i128).contains(&a) => return Err(format!("age {a} outside 0..=110")),
                                    Some(a) => a as u32 * 12,
                                };
                                Ok(())
                            }),
                        );
                    }
                    for (rule, name, names, n_codes, shift) in [
                        (&mut rs, "sex", &codes::SEX[..], 2, SEX_SHIFT),
                        (&mut re, "employment", &codes::EMPLOYMENT[..], 6, EMPLOYMENT_SHIFT),
                        (&mut rh, "health", &codes::HEALTH[..], 3, HEALTH_SHIFT),
                        (&mut rc, "care_need", &codes::CARE_NEED[..], 3, CARE_SHIFT),
                    ] {
                        if !rule.failed() {
                            let r = put_categories(column(b, name), &|s| codes::lookup(names, s), names, n_codes, shift, st);
                            rule.check(off, r);
                        }
                    }
                    // `child` is for ages under 16, and only for them: checked where both are valid
                    let upto = ra.valid_rows(usize::MAX).saturating_sub(off).min(re.valid_rows(usize::MAX).saturating_sub(off)).min(nb);
                    if !child.failed() {
                        if let Some(i) = (0..upto).find(|&i| (age_m[i] < 16 * 12) != (employment(st[i]) == codes::CHILD)) {
                            let e = employment(st[i]) as usize;
                            child.set(off + i, format!("age {} with employment `{}` (`child` is for ages under 16, and only for them)", age_m[i] / 12, codes::EMPLOYMENT[e]));
                        }
                    }
                    Ok(())
                })?;
                tick(len);
                task_result([ra, rs, re, child, rh, rc])
            }));
            for (col, rank, max, out, whole_pounds) in [("earnings", 10, EARNINGS_CAP as f64 / 100.0, earn, false), ("wealth", 11, MAX_WEALTH_GBP, wealth, true)] {
                tasks.push(Box::new(move || {
                    let mut r = Rule::new(file, col, rank, base);
                    src.read(g, &[col], |b, off| {
                        let out = &mut out[off..off + b.num_rows()];
                        r.check(
                            off,
                            each_money(column(b, col), |i, v| {
                                let x = money_ok(v, max)?;
                                out[i] = if whole_pounds { round_u32(x) } else { round_u32(x * 100.0) };
                                Ok(())
                            }),
                        );
                        Ok(())
                    })?;
                    tick(len);
                    task_result([r])
                }));
            }
        }
        first_fail(tasks.into_par_iter().map(|t| t()).collect())?;
    }
    if let Some(row) = first_duplicate_person(&p) {
        return Err(Error::input(file, "person_id", Some(row as u64 + 1), format!("duplicate id {}", p.id(row))));
    }
    // group the members of each household (files usually have them grouped already), then
    // every household needs a member
    if !p.household.par_windows(2).all(|w| w[0] <= w[1]) {
        let mut members = vec![0u32; hh.count()];
        for &h in &p.household {
            members[h as usize] = members[h as usize].saturating_add(1);
        }
        group_by_household(&mut p, &members);
    }
    hh.index_members(&p.household);
    if let Some(h) = hh.len.par_iter().position_first(|&m| m == 0) {
        let hh_file = file.with_file_name(HOUSEHOLDS_FILE);
        return Err(Error::input(hh_file, "household_id", Some(h as u64 + 1), format!("household {} has no persons (empty household)", hh.id[h])));
    }
    Ok(p)
}

/// Row of the first person id that repeats an earlier one; ids in increasing order (as
/// `twin synth` writes them) are checked without a copy.
fn first_duplicate_person(p: &Persons) -> Option<usize> {
    if (1..p.len()).into_par_iter().all(|i| p.id(i - 1) < p.id(i)) {
        return None;
    }
    let ids: Vec<u64> = (0..p.len()).map(|i| p.id(i)).collect();
    first_duplicate(&ids)
}

/// Reorder persons so each household's members are contiguous and households appear in file
/// order, keeping file order within a household (a stable counting sort). One column is
/// permuted at a time through one scratch column.
fn group_by_household(p: &mut Persons, members: &[u32]) {
    let mut next = Vec::with_capacity(members.len());
    let mut acc = 0u32;
    for &m in members {
        next.push(acc);
        acc += m;
    }
    // destination of each person
    let dest: Vec<u32> = p
        .household
        .iter()
        .map(|&h| {
            let d = next[h as usize];
            next[h as usize] += 1;
            d
        })
        .collect();
    let mut scratch = vec![0u32; p.len()];
    for col in p.columns_mut() {
        for (i, &d) in dest.iter().enumerate() {
            scratch[d as usize] = col[i];
        }
        std::mem::swap(col, &mut scratch);
    }
}

/// The two files of a population directory.
/// Rows of a population's persons and households files, from their footers (no data read).
pub fn row_counts(dir: &Path) -> Result<(u64, u64)> {
    let (pp, hp) = paths(dir);
    Ok((Source::open(&pp)?.rows(), Source::open(&hp)?.rows()))
}

pub fn paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join(PERSONS_FILE), dir.join(HOUSEHOLDS_FILE))
}
