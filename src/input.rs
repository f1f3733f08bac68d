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
use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchReader};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::{Path, PathBuf};

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
    let (hh_reader, hh_rows) = open(households_path)?;
    let (p_reader, p_rows) = open(persons_path)?;
    let total = hh_rows + p_rows;
    let mut households = read_households(households_path, hh_reader, &|r| progress(r, total))?;
    let persons = read_persons(persons_path, p_reader, &mut households, &|r| progress(hh_rows + r, total))?;
    households.index_members(&persons.household);
    Ok(Population { persons, households })
}

type Reader = parquet::arrow::arrow_reader::ParquetRecordBatchReader;

fn open(path: &Path) -> Result<(Reader, u64)> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let b = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| Error::Unreadable { file: path.into(), detail: e.to_string() })?;
    let rows = b.metadata().file_metadata().num_rows().max(0) as u64;
    let r = b.with_batch_size(BATCH).build().map_err(|e| Error::Unreadable { file: path.into(), detail: e.to_string() })?;
    Ok((r, rows))
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

/// Integer values of a column, any integer type, as i128 (None = null).
fn ints(col: &ArrayRef) -> Vec<Option<i128>> {
    macro_rules! conv {
        ($t:ty) => {
            col.as_primitive::<$t>().iter().map(|v| v.map(|x| x as i128)).collect()
        };
    }
    match col.data_type() {
        DataType::Int8 => conv!(Int8Type),
        DataType::Int16 => conv!(Int16Type),
        DataType::Int32 => conv!(Int32Type),
        DataType::Int64 => conv!(Int64Type),
        DataType::UInt8 => conv!(UInt8Type),
        DataType::UInt16 => conv!(UInt16Type),
        DataType::UInt32 => conv!(UInt32Type),
        DataType::UInt64 => conv!(UInt64Type),
        _ => unreachable!("type checked"),
    }
}

/// Money values (pounds) of a column, as f64 (None = null).
fn money(col: &ArrayRef) -> Vec<Option<f64>> {
    match col.data_type() {
        DataType::Float64 => col.as_primitive::<Float64Type>().iter().collect(),
        DataType::Float32 => col.as_primitive::<Float32Type>().iter().map(|v| v.map(|x| x as f64)).collect(),
        _ => ints(col).into_iter().map(|v| v.map(|x| x as f64)).collect(),
    }
}

/// Category codes of a column: Ok(code) / Err(the unknown value as text) / None for null.
fn categories(col: &ArrayRef, lookup: &dyn Fn(&str) -> Option<u32>, n_codes: u32) -> Vec<Option<std::result::Result<u32, String>>> {
    let by_text = |s: &str| lookup(s).ok_or_else(|| s.to_string());
    match col.data_type() {
        DataType::Utf8 => col.as_string::<i32>().iter().map(|v| v.map(by_text)).collect(),
        DataType::LargeUtf8 => col.as_string::<i64>().iter().map(|v| v.map(by_text)).collect(),
        DataType::Utf8View => col.as_string_view().iter().map(|v| v.map(by_text)).collect(),
        DataType::Dictionary(k, _) => {
            macro_rules! dict {
                ($kt:ty) => {{
                    let d = col.as_dictionary::<$kt>();
                    let values = d.values();
                    let texts: Vec<Option<String>> = match values.data_type() {
                        DataType::Utf8 => values.as_string::<i32>().iter().map(|v| v.map(str::to_string)).collect(),
                        _ => values.as_string::<i64>().iter().map(|v| v.map(str::to_string)).collect(),
                    };
                    let mapped: Vec<Option<std::result::Result<u32, String>>> = texts.iter().map(|t| t.as_deref().map(by_text)).collect();
                    d.keys().iter().map(|k| k.and_then(|k| mapped[k as usize].clone())).collect()
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
        _ => ints(col)
            .into_iter()
            .map(|v| v.map(|x| if x >= 0 && x < n_codes as i128 { Ok(x as u32) } else { Err(format!("code {x}")) }))
            .collect(),
    }
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Option<&'a ArrayRef> {
    batch.column_by_name(name)
}

struct Ctx<'a> {
    file: &'a Path,
    /// Rows before this batch.
    base: u64,
}

impl Ctx<'_> {
    fn err(&self, col: &str, i: usize, rule: impl Into<String>) -> Error {
        Error::input(self.file, col, Some(self.base + i as u64 + 1), rule)
    }
    fn id(&self, col: &str, i: usize, v: Option<i128>) -> Result<u64> {
        match v {
            None => Err(self.err(col, i, "null value")),
            Some(x) if x < 0 => Err(self.err(col, i, format!("negative id {x}"))),
            Some(x) => Ok(x as u64),
        }
    }
    fn category(&self, col: &str, i: usize, v: &Option<std::result::Result<u32, String>>, names: &[&str]) -> Result<u32> {
        match v {
            None => Err(self.err(col, i, "null value")),
            Some(Ok(c)) => Ok(*c),
            Some(Err(bad)) => Err(self.err(col, i, format!("unknown category `{bad}` (expected one of: {})", names.join(", ")))),
        }
    }
    /// Money in pounds: not null, finite, not negative, at most `max`. Returns pence.
    fn pence(&self, col: &str, i: usize, v: Option<f64>, max_gbp: f64) -> Result<u32> {
        Ok((self.money(col, i, v, max_gbp)? * 100.0).round() as u32)
    }
    /// Capital in pounds, rounded to whole pounds.
    fn pounds(&self, col: &str, i: usize, v: Option<f64>, max_gbp: f64) -> Result<u32> {
        Ok(self.money(col, i, v, max_gbp)?.round() as u32)
    }
    fn money(&self, col: &str, i: usize, v: Option<f64>, max_gbp: f64) -> Result<f64> {
        match v {
            None => Err(self.err(col, i, "null value")),
            Some(x) if x.is_nan() => Err(self.err(col, i, "NaN")),
            Some(x) if x.is_infinite() => Err(self.err(col, i, "infinite value")),
            Some(x) if x < 0.0 => Err(self.err(col, i, format!("negative money {x}"))),
            Some(x) if x > max_gbp => Err(self.err(col, i, format!("value {x} above the largest accepted ({max_gbp})"))),
            Some(x) => Ok(x),
        }
    }
}

fn batches(file: &Path, reader: Reader, mut f: impl FnMut(&RecordBatch, &Ctx) -> Result<()>) -> Result<()> {
    let mut base = 0u64;
    for batch in reader {
        let batch = batch.map_err(|e| Error::Unreadable { file: file.into(), detail: format!("after row {base}: {e}") })?;
        f(&batch, &Ctx { file, base })?;
        base += batch.num_rows() as u64;
    }
    Ok(())
}

fn read_households(file: &Path, reader: Reader, progress: &dyn Fn(u64)) -> Result<Households> {
    check_schema(
        file,
        &reader.schema(),
        &[("household_id", ColKind::Int, true), ("region", ColKind::Category, true), ("tenure", ColKind::Category, true), ("rent", ColKind::Money, true), ("weight", ColKind::Int, false)],
    )?;
    let mut hh = Households::default();
    batches(file, reader, |b, cx| {
        let ids = ints(column(b, "household_id").unwrap());
        let region = categories(column(b, "region").unwrap(), &codes::region_code, 12);
        let tenure = categories(column(b, "tenure").unwrap(), &|s| codes::lookup(&codes::TENURE, s), 4);
        let rent = money(column(b, "rent").unwrap());
        let weight = column(b, "weight").map(ints);
        for i in 0..b.num_rows() {
            let id = cx.id("household_id", i, ids[i])?;
            let r = cx.category("region", i, &region[i], &codes::REGIONS)?;
            let t = cx.category("tenure", i, &tenure[i], &codes::TENURE)?;
            let rent_p = cx.pence("rent", i, rent[i], MAX_RENT_GBP)?;
            if t == codes::OWNER && rent_p != 0 {
                return Err(cx.err("rent", i, format!("owner-occupier with rent {} (rent is 0 for owners)", rent[i].unwrap())));
            }
            let w = match weight.as_ref().map(|w| w[i]) {
                None => 1,
                Some(None) => return Err(cx.err("weight", i, "null value")),
                Some(Some(w)) if !(1..=u32::MAX as i128).contains(&w) => return Err(cx.err("weight", i, format!("weight {w} outside 1..=4294967295"))),
                Some(Some(w)) => w as u32,
            };
            if hh.id.len() >= MAX_PERSONS {
                return Err(cx.err("household_id", i, format!("more than {MAX_PERSONS} households")));
            }
            hh.id.push(id);
            hh.info.push(pack_info(r, t));
            hh.rent.push(rent_p);
            hh.weight.push(w);
        }
        progress(cx.base + b.num_rows() as u64);
        Ok(())
    })?;
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
struct Lookup {
    sorted: Vec<u64>,
    index: Option<Vec<u32>>,
}

impl Lookup {
    fn new(ids: &[u64]) -> Lookup {
        if ids.windows(2).all(|w| w[0] < w[1]) {
            return Lookup { sorted: ids.to_vec(), index: None };
        }
        let mut order: Vec<u32> = (0..ids.len() as u32).collect();
        order.sort_unstable_by_key(|&i| ids[i as usize]);
        Lookup { sorted: order.iter().map(|&i| ids[i as usize]).collect(), index: Some(order) }
    }
    fn get(&self, id: u64) -> Option<u32> {
        let pos = self.sorted.binary_search(&id).ok()?;
        Some(match &self.index {
            None => pos as u32,
            Some(ix) => ix[pos],
        })
    }
}

fn read_persons(file: &Path, reader: Reader, hh: &mut Households, progress: &dyn Fn(u64)) -> Result<Persons> {
    check_schema(
        file,
        &reader.schema(),
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
    let lookup = Lookup::new(&hh.id);
    let mut p = Persons::default();
    let mut last: Option<(u64, u32)> = None;
    batches(file, reader, |b, cx| {
        let pid = ints(column(b, "person_id").unwrap());
        let hid = ints(column(b, "household_id").unwrap());
        let age = ints(column(b, "age").unwrap());
        let sex = categories(column(b, "sex").unwrap(), &|s| codes::lookup(&codes::SEX, s), 2);
        let emp = categories(column(b, "employment").unwrap(), &|s| codes::lookup(&codes::EMPLOYMENT, s), 6);
        let health = categories(column(b, "health").unwrap(), &|s| codes::lookup(&codes::HEALTH, s), 3);
        let care = categories(column(b, "care_need").unwrap(), &|s| codes::lookup(&codes::CARE_NEED, s), 3);
        let earnings = money(column(b, "earnings").unwrap());
        let wealth = money(column(b, "wealth").unwrap());
        for i in 0..b.num_rows() {
            let id = cx.id("person_id", i, pid[i])?;
            let h = cx.id("household_id", i, hid[i])?;
            if id >= MAX_PERSON_ID {
                return Err(cx.err("person_id", i, format!("id {id} is 2^63 or more (ids above are kept for babies born in the run)")));
            }
            let hidx = match last {
                Some((lh, lx)) if lh == h => lx,
                _ => {
                    let ix = lookup.get(h).ok_or_else(|| cx.err("household_id", i, format!("household {h} is not in {HOUSEHOLDS_FILE}")))?;
                    last = Some((h, ix));
                    ix
                }
            };
            let a = match age[i] {
                None => return Err(cx.err("age", i, "null value")),
                Some(a) if !(0..=codes::MAX_AGE as i128).contains(&a) => return Err(cx.err("age", i, format!("age {a} outside 0..=110"))),
                Some(a) => a as u32,
            };
            let s = cx.category("sex", i, &sex[i], &codes::SEX)?;
            let e = cx.category("employment", i, &emp[i], &codes::EMPLOYMENT)?;
            if (a < 16) != (e == codes::CHILD) {
                return Err(cx.err("employment", i, format!("age {a} with employment `{}` (`child` is for ages under 16, and only for them)", codes::EMPLOYMENT[e as usize])));
            }
            let hl = cx.category("health", i, &health[i], &codes::HEALTH)?;
            let c = cx.category("care_need", i, &care[i], &codes::CARE_NEED)?;
            let earn = cx.pence("earnings", i, earnings[i], EARNINGS_CAP as f64 / 100.0)?;
            let wealth_gbp = cx.pounds("wealth", i, wealth[i], MAX_WEALTH_GBP)?;
            if p.len() >= MAX_PERSONS {
                return Err(cx.err("person_id", i, format!("more than {MAX_PERSONS} persons")));
            }
            p.push(id, hidx, a * 12, pack_status(s, e, hl, c), earn, wealth_gbp);
        }
        progress(cx.base + b.num_rows() as u64);
        Ok(())
    })?;
    let ids: Vec<u64> = (0..p.len()).map(|i| p.id(i)).collect();
    if let Some(row) = first_duplicate(&ids) {
        return Err(Error::input(file, "person_id", Some(row as u64 + 1), format!("duplicate id {}", ids[row])));
    }
    drop(ids);
    // every household needs a member
    let mut members = vec![0u32; hh.count()];
    for &h in &p.household {
        members[h as usize] = members[h as usize].saturating_add(1);
    }
    let hh_file = file.with_file_name(HOUSEHOLDS_FILE);
    if let Some(h) = members.iter().position(|&m| m == 0) {
        return Err(Error::input(hh_file, "household_id", Some(h as u64 + 1), format!("household {} has no persons (empty household)", hh.id[h])));
    }
    group_by_household(&mut p, &members);
    Ok(p)
}

/// Reorder persons so each household's members are contiguous and households appear in file
/// order, keeping file order within a household (a stable counting sort). One column is
/// permuted at a time through one scratch column.
fn group_by_household(p: &mut Persons, members: &[u32]) {
    if p.household.windows(2).all(|w| w[0] <= w[1]) {
        return;
    }
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
pub fn paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join(PERSONS_FILE), dir.join(HOUSEHOLDS_FILE))
}
