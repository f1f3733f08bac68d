//! Writing results: the aggregates table (MODEL.md §5) and optional person snapshots as
//! Parquet, and the run manifest as JSON. Every file is written under a temporary name in the
//! output directory and renamed into place only when the whole run has succeeded; an error or
//! an interrupted run leaves no partial result under a final name.

use crate::codes;
use crate::engine::StateView;
use crate::error::{Error, Result};
use crate::measures::{cell, Acc, MEASURES, N_MEASURES};
use crate::month::Month;
use crate::state::*;
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, BooleanArray, Date32Array, DictionaryArray, Int32Array, Int64Array, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const AGGREGATES_FILE: &str = "aggregates.parquet";
pub const COMPARISON_FILE: &str = "comparison.parquet";
pub const DISTRIBUTION_FILE: &str = "distribution.parquet";
pub const SNAPSHOTS_FILE: &str = "snapshots.parquet";
pub const CAPACITY_FILE: &str = "capacity.parquet";
pub const MANIFEST_FILE: &str = "manifest.json";
/// Where each snapshot month is written as its own Parquet part while a run goes on; the parts
/// are joined into [`SNAPSHOTS_FILE`] when the run ends (a resumed or restarted run writes a
/// month's part again, with the same content).
pub const SNAPSHOT_PARTS_DIR: &str = "snapshot-parts";

/// A file being written under a temporary name; removed on drop unless committed.
pub struct Staged {
    pub tmp: PathBuf,
    pub dest: PathBuf,
    done: bool,
}

/// A suffix for temporary names that no other process writing to the same directory uses:
/// host, process id, time and a counter (tasks of a batch array share an output directory, and
/// in containers every task is process 1).
pub fn unique_suffix() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let host: String = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default()
        .trim()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .take(40)
        .collect();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{host}-{}-{:x}-{n}", std::process::id(), nanos & 0xffff_ffff_ffff)
}

impl Staged {
    pub fn new(dest: &Path) -> Staged {
        let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = dest.with_file_name(format!(".{name}.partial-{}", unique_suffix()));
        Staged { tmp, dest: dest.to_path_buf(), done: false }
    }
    pub fn create(&self) -> Result<File> {
        File::create(&self.tmp).map_err(|e| Error::io(&self.tmp, e))
    }
    pub fn commit(mut self) -> Result<()> {
        std::fs::rename(&self.tmp, &self.dest).map_err(|e| Error::io(&self.dest, e))?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

pub fn writer_props() -> WriterProperties {
    writer_props_builder().build()
}

fn writer_props_builder() -> parquet::file::properties::WriterPropertiesBuilder {
    WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::try_new(3).expect("valid level"))).set_max_row_group_row_count(Some(1 << 20))
}

fn field(name: &str, t: DataType, unit: &str, about: &str) -> Field {
    Field::new(name, t, false).with_metadata(HashMap::from([("unit".to_string(), unit.to_string()), ("description".to_string(), about.to_string())]))
}

fn dict_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// A dictionary-encoded string column from codes into `names`.
pub fn dict(codes: Vec<i32>, names: &[&str]) -> ArrayRef {
    let keys = Int32Array::from(codes);
    let values = Arc::new(StringArray::from(names.to_vec()));
    Arc::new(DictionaryArray::<Int32Type>::try_new(keys, values).expect("codes within names"))
}

pub fn aggregates_schema() -> SchemaRef {
    cells_schema("")
}

/// The comparison table: the aggregates' keys, each measure as reform − baseline.
pub fn comparison_schema() -> SchemaRef {
    cells_schema("Reform minus baseline: ")
}

fn cells_schema(prefix: &str) -> SchemaRef {
    let mut fields = vec![
        field("scenario", dict_type(), "", "Scenario name."),
        field("replicate", DataType::UInt32, "", "Replicate number (0 for a single run)."),
        field("month", DataType::Date32, "date", "First day of the simulated month."),
        field("region", dict_type(), "", "UK ITL1 region or nation."),
        field("age_band", dict_type(), "years", "Age band at the end of the month (births: the baby's band)."),
        field("sex", dict_type(), "", "Sex."),
    ];
    for m in MEASURES {
        fields.push(field(m.name, DataType::Int64, m.unit, &format!("{prefix}{}", m.about)));
    }
    Arc::new(Schema::new(fields))
}

/// The aggregates of a run as one record batch: a row per (month, region, age band, sex).
pub fn aggregates_batch(scenario: &str, replicate: u32, start: Month, months: &[Acc]) -> Result<RecordBatch> {
    cells_batch(aggregates_schema(), scenario, replicate, start, months.len(), &|m, k| {
        i64::try_from(months[m].0[k]).map_err(|_| Error::Config(format!("measure {} overflowed int64", MEASURES[k % N_MEASURES].name)))
    })
}

/// Reform − baseline, month by month, in the aggregates' layout.
pub fn comparison_batch(reform: &str, replicate: u32, start: Month, reform_accs: &[Acc], base_accs: &[Acc]) -> Result<RecordBatch> {
    cells_batch(comparison_schema(), reform, replicate, start, reform_accs.len(), &|m, k| Ok(reform_accs[m].0[k] as i64 - base_accs[m].0[k] as i64))
}

fn cells_batch(schema: SchemaRef, scenario: &str, replicate: u32, start: Month, n_months: usize, value: &dyn Fn(usize, usize) -> Result<i64>) -> Result<RecordBatch> {
    let rows = n_months * 12 * 8 * 2;
    let (mut month, mut region, mut band, mut sex) = (Vec::with_capacity(rows), Vec::with_capacity(rows), Vec::with_capacity(rows), Vec::with_capacity(rows));
    let mut measures: Vec<Vec<i64>> = (0..N_MEASURES).map(|_| Vec::with_capacity(rows)).collect();
    for m in 0..n_months {
        let d = start.add(m as u32).date32();
        for r in 0..12u32 {
            for b in 0..8u32 {
                for s in 0..2u32 {
                    month.push(d);
                    region.push(r as i32);
                    band.push(b as i32);
                    sex.push(s as i32);
                    let c = cell(r, b, s);
                    for (k, col) in measures.iter_mut().enumerate() {
                        col.push(value(m, c * N_MEASURES + k)?);
                    }
                }
            }
        }
    }
    let mut cols: Vec<ArrayRef> = vec![
        dict(vec![0; rows], &[scenario]),
        Arc::new(UInt32Array::from(vec![replicate; rows])),
        Arc::new(Date32Array::from(month)),
        dict(region, &codes::REGIONS),
        dict(band, &codes::AGE_BANDS),
        dict(sex, &codes::SEX),
    ];
    for m in measures {
        cols.push(Arc::new(Int64Array::from(m)));
    }
    RecordBatch::try_new(schema, cols).map_err(|e| Error::Config(format!("building aggregates: {e}")))
}

pub fn distribution_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        field("scenario", dict_type(), "", "Reform compared with the baseline."),
        field("replicate", DataType::UInt32, "", "Replicate number (0 for a single run); the reform is compared with the same replicate of the baseline."),
        field("year", DataType::Date32, "date", "First month of the simulated year."),
        field("region", dict_type(), "", "Region of the household, or All."),
        field("household_type", dict_type(), "", "Household type at the start of the run, or all."),
        field("decile", DataType::UInt8, "", "Decile of the baseline's equivalised household net income over the year (1 = poorest), over persons."),
        field("persons", DataType::Int64, "persons", "Weighted persons (household weight x members at the start)."),
        field("total_change_pence", DataType::Int64, "pence per year", "Sum over persons of their household's change in net income over the year (exact)."),
        field("mean_change_pence", DataType::Int64, "pence per year", "Mean change in household net income over the year, per person (rounded towards zero)."),
        field("winners_share", DataType::Float64, "fraction", "Share of persons whose household gains at least a penny over the year."),
        field("losers_share", DataType::Float64, "fraction", "Share of persons whose household loses at least a penny over the year."),
    ]))
}

pub fn distribution_batch(reform: &str, replicate: u32, rows: &[crate::distribution::DistRow]) -> Result<RecordBatch> {
    use crate::distribution::{region_name, type_name, HOUSEHOLD_TYPES};
    let mut regions: Vec<&str> = codes::REGIONS.to_vec();
    regions.push("All");
    let mut types: Vec<&str> = HOUSEHOLD_TYPES.to_vec();
    types.push("all");
    let pos = |names: &[&str], v: &str| names.iter().position(|n| *n == v).unwrap() as i32;
    let share = |x: u64, n: u64| if n == 0 { 0.0 } else { x as f64 / n as f64 };
    let cols: Vec<ArrayRef> = vec![
        dict(vec![0; rows.len()], &[reform]),
        Arc::new(UInt32Array::from(vec![replicate; rows.len()])),
        Arc::new(Date32Array::from_iter_values(rows.iter().map(|r| Month(r.year).date32()))),
        dict(rows.iter().map(|r| pos(&regions, region_name(r.region))).collect(), &regions),
        dict(rows.iter().map(|r| pos(&types, type_name(r.htype))).collect(), &types),
        Arc::new(arrow_array::UInt8Array::from_iter_values(rows.iter().map(|r| r.decile))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.persons as i64))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.total_change))),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.mean_change()))),
        Arc::new(arrow_array::Float64Array::from_iter_values(rows.iter().map(|r| share(r.winners, r.persons)))),
        Arc::new(arrow_array::Float64Array::from_iter_values(rows.iter().map(|r| share(r.losers, r.persons)))),
    ];
    RecordBatch::try_new(distribution_schema(), cols).map_err(|e| Error::Config(format!("building the distribution table: {e}")))
}

pub fn capacity_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        field("scenario", dict_type(), "", "Scenario name."),
        field("replicate", DataType::UInt32, "", "Replicate number (0 for a single run)."),
        field("month", DataType::Date32, "date", "First day of the simulated month."),
        field("region", dict_type(), "", "UK ITL1 region or nation."),
        field("service", dict_type(), "", "Service, as in the scenario's `services.<name>` keys."),
        field("unit", dict_type(), "", "What one unit of the service is."),
        field("capacity_units", DataType::Int64, "units of the service per month", "Capacity in the month: the scenario's rate per 1,000 residents times the region's weighted residents at the start, fractions carried to the next month."),
    ]))
}

/// Every queue's capacity, month by month: a row per (month, region, service).
pub fn capacity_batch(scenario: &str, replicate: u32, start: Month, caps: &[[u32; codes::N_QUEUES]]) -> Result<RecordBatch> {
    let rows = caps.len() * codes::N_QUEUES;
    let (mut month, mut region, mut service, mut units) = (Vec::with_capacity(rows), Vec::with_capacity(rows), Vec::with_capacity(rows), Vec::with_capacity(rows));
    for (m, c) in caps.iter().enumerate() {
        let d = start.add(m as u32).date32();
        for r in 0..12 {
            for s in 0..codes::N_SERVICES {
                month.push(d);
                region.push(r as i32);
                service.push(s as i32);
                units.push(c[s * 12 + r] as i64);
            }
        }
    }
    let cols: Vec<ArrayRef> = vec![
        dict(vec![0; rows], &[scenario]),
        Arc::new(UInt32Array::from(vec![replicate; rows])),
        Arc::new(Date32Array::from(month)),
        dict(region, &codes::REGIONS),
        dict(service.clone(), &codes::SERVICES),
        dict(service, &codes::SERVICE_UNITS),
        Arc::new(Int64Array::from(units)),
    ];
    RecordBatch::try_new(capacity_schema(), cols).map_err(|e| Error::Config(format!("building the capacity table: {e}")))
}

/// Write record batches to a staged Parquet file (not yet renamed into place).
pub fn write_parquet(dest: &Path, schema: SchemaRef, batches: &[RecordBatch]) -> Result<Staged> {
    let staged = Staged::new(dest);
    let mut w = ArrowWriter::try_new(staged.create()?, schema, Some(writer_props())).map_err(|e| Error::write(&staged.tmp, e))?;
    for b in batches {
        w.write(b).map_err(|e| Error::write(&staged.tmp, e))?;
    }
    w.close().map_err(|e| Error::write(&staged.tmp, e))?;
    Ok(staged)
}

/// Person snapshots: each person's full state at the end of chosen months, one row per
/// person per snapshot month, household values repeated on each member's row.
/// A Parquet file written a row group at a time, where each row group's column chunks are
/// encoded apart from the file, on any thread, and appended in order. The file is the one an
/// `ArrowWriter` writes given the same row groups (a flush after each), whatever the number
/// of threads, where the columns are not nullable and a row group's batches are multiples
/// of 1,024 rows but its last (the writer's mini-batch; a nullable column's pages would fall
/// by its 20,000-row limit instead): tested, and seen on snapshots and the synthetic
/// population. It does not split a row group larger than the properties' largest: the
/// callers give row groups of at most 2^20 rows.
pub struct RowGroupWriter {
    file: Option<parquet::file::writer::SerializedFileWriter<File>>,
    factory: parquet::arrow::arrow_writer::ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    groups: usize,
    tmp: PathBuf,
}

/// A row group's column chunks, encoded ([`RowGroupWriter::encode`]), not yet in the file.
pub struct EncodedGroup {
    chunks: Vec<parquet::arrow::arrow_writer::ArrowColumnChunk>,
    rows: usize,
}

impl RowGroupWriter {
    /// A writer of `schema` with `props`, into the staged file's temporary name.
    pub fn new(staged: &Staged, schema: SchemaRef, props: WriterProperties) -> Result<RowGroupWriter> {
        let tmp = staged.tmp.clone();
        // the ArrowWriter puts the Arrow schema (with each column's unit and description)
        // in the file's metadata; its lower half writes the row groups
        let w = ArrowWriter::try_new(staged.create()?, schema.clone(), Some(props)).map_err(|e| Error::write(&tmp, e))?;
        let (file, factory) = w.into_serialized_writer().map_err(|e| Error::write(&tmp, e))?;
        Ok(RowGroupWriter { file: Some(file), factory, schema, groups: 0, tmp })
    }

    /// The index the next row group appended will have.
    pub fn next_index(&self) -> usize {
        self.groups
    }

    /// Encode the `index`-th row group of the file from `batches`, its rows in order. Any
    /// number of row groups may be encoded at once, on several threads.
    pub fn encode(&self, index: usize, batches: impl IntoIterator<Item = Result<RecordBatch>>) -> Result<EncodedGroup> {
        use parquet::arrow::arrow_writer::compute_leaves;
        let werr = |e: parquet::errors::ParquetError| Error::write(&self.tmp, e);
        let mut columns = self.factory.create_column_writers(index).map_err(werr)?;
        let mut rows = 0;
        for batch in batches {
            let batch = batch?;
            rows += batch.num_rows();
            let mut writers = columns.iter_mut();
            for (array, field) in batch.columns().iter().zip(self.schema.fields()) {
                for leaf in compute_leaves(field, array).map_err(werr)? {
                    writers.next().expect("a writer for each leaf column").write(&leaf).map_err(werr)?;
                }
            }
        }
        let chunks = columns.into_iter().map(|c| c.close().map_err(werr)).collect::<Result<_>>()?;
        Ok(EncodedGroup { chunks, rows })
    }

    /// Append the next row group (encoded with the index [`RowGroupWriter::next_index`] gives).
    pub fn append(&mut self, group: EncodedGroup) -> Result<usize> {
        let werr = |e: parquet::errors::ParquetError| Error::write(&self.tmp, e);
        let mut g = self.file.as_mut().expect("open").next_row_group().map_err(werr)?;
        for chunk in group.chunks {
            chunk.append_to_row_group(&mut g).map_err(werr)?;
        }
        g.close().map_err(werr)?;
        self.groups += 1;
        Ok(group.rows)
    }

    /// Write the footer (the file stays under its temporary name).
    pub fn close(mut self) -> Result<()> {
        self.file.take().expect("open").close().map_err(|e| Error::write(&self.tmp, e))?;
        Ok(())
    }
}

/// Writes snapshots: row groups of 2^20 persons, as many encoded at once as there are
/// threads ([`RowGroupWriter`]), each built in slices of 2^16 persons.
pub struct SnapshotWriter {
    writer: RowGroupWriter,
    pub staged: Staged,
    pub rows: u64,
}

pub fn snapshot_schema() -> SchemaRef {
    let u32f = DataType::UInt32;
    let p = "pence per month";
    Arc::new(Schema::new(vec![
        field("scenario", dict_type(), "", "Scenario name."),
        field("replicate", DataType::UInt32, "", "Replicate number (0 for a single run)."),
        field("month", DataType::Date32, "date", "First day of the month the snapshot ends."),
        field("person_id", DataType::UInt64, "", "Person id (babies get new ids above the input's largest)."),
        field("household_id", DataType::UInt64, "", "Household id."),
        field("age", u32f.clone(), "years", "Completed years."),
        field("age_months", u32f.clone(), "months", "Age in months."),
        field("sex", dict_type(), "", "Sex."),
        field("employment", dict_type(), "", "Employment state."),
        field("health", dict_type(), "", "Health."),
        field("care_need", dict_type(), "", "Care need."),
        field("social_care_funding", dict_type(), "", "Social-care means-test result: not_eligible, council_funded, self_funder."),
        field("earnings_pence", u32f.clone(), p, "Gross earnings."),
        field("wealth_gbp", u32f.clone(), "GBP", "Personal capital."),
        field("income_tax_pence", u32f.clone(), p, "Income tax."),
        field("national_insurance_pence", u32f.clone(), p, "Employee NI."),
        field("state_pension_pence", u32f.clone(), p, "State pension."),
        field("disability_benefit_pence", u32f.clone(), p, "Disability benefit."),
        field("social_care_tariff_income_pence", u32f.clone(), p, "Tariff income from the care means test."),
        field("region", dict_type(), "", "Household region."),
        field("tenure", dict_type(), "", "Household tenure: owner, private_rent, social_rent, temporary_accommodation, homeless."),
        field("household_weight", u32f.clone(), "households", "Household weight."),
        field("household_reference", DataType::Boolean, "", "True on the household's first member (count household values once)."),
        field("universal_credit_pence", u32f.clone(), p, "Household Universal Credit."),
        field("pension_credit_pence", u32f.clone(), p, "Household Pension Credit."),
        field("child_benefit_pence", u32f.clone(), p, "Household child benefit."),
        field("child_benefit_charge_pence", u32f.clone(), p, "High income child benefit charge."),
        field("benefit_cap_reduction_pence", u32f.clone(), p, "Benefit cap reduction."),
        field("household_net_income_pence", u32f.clone(), p, "Household net income."),
        field("rent_pence", u32f.clone(), p, "Household rent (kept, unpaid, while homeless)."),
        field("rent_arrears_pence", u32f.clone(), "pence", "Household rent arrears."),
        field("months_waiting_social_letting", u32f.clone(), "months", "Months the household has waited in temporary accommodation for a social letting."),
        field("gp_wait_months", u32f.clone(), "months", "Months on the GP waiting list (0: not waiting)."),
        field("ae_wait_months", u32f.clone(), "months", "Months on the A&E waiting list."),
        field("hospital_wait_months", u32f.clone(), "months", "Months on the hospital admission waiting list."),
        field("social_care_wait_months", u32f.clone(), "months", "Months on the social-care waiting list (0 also for people receiving a care package: see social_care_package)."),
        field("homelessness_wait_months", u32f.clone(), "months", "Months the household (at its first member) has waited for the homelessness service."),
        field("employment_support_wait_months", u32f.clone(), "months", "Months on the employment support waiting list."),
        field("social_care_package", DataType::Boolean, "", "Receiving a council-arranged care package."),
    ]))
}

const FUNDING: [&str; 3] = ["not_eligible", "council_funded", "self_funder"];

impl SnapshotWriter {
    pub fn new(dest: &Path) -> Result<SnapshotWriter> {
        let staged = Staged::new(dest);
        let writer = RowGroupWriter::new(&staged, snapshot_schema(), writer_props())?;
        Ok(SnapshotWriter { writer, staged, rows: 0 })
    }

    /// Append the state at the end of the month just simulated (once a file: a second call
    /// would begin a new row group where an `ArrowWriter` would fill the last).
    pub fn write(&mut self, scenario: &str, replicate: u32, e: &StateView) -> Result<()> {
        use rayon::prelude::*;
        let month = e.month.date32();
        let n = e.persons.len();
        // a row group (the writer properties' largest), built in slices of this many persons
        const ROWS: usize = 1 << 20;
        const SLICE: usize = 1 << 16;
        let groups: Vec<(usize, usize)> = (0..n).step_by(ROWS).map(|lo| (lo, (lo + ROWS).min(n))).collect();
        // as many row groups at once as there are threads: each holds its encoded pages
        // (about 20 MB for 2^20 persons) until it is appended
        for wave in groups.chunks(rayon::current_num_threads().max(1)) {
            let first = self.writer.next_index();
            let w = &self.writer;
            let tmp = &self.staged.tmp;
            let encoded: Vec<Result<EncodedGroup>> = wave
                .par_iter()
                .enumerate()
                .map(|(g, &(lo, hi))| {
                    let slices = (lo..hi).step_by(SLICE).map(|at| snapshot_batch(scenario, replicate, e, month, at, (at + SLICE).min(hi)).map_err(|er| Error::write(tmp, er)));
                    w.encode(first + g, slices)
                })
                .collect();
            for group in encoded {
                self.rows += self.writer.append(group?)? as u64;
            }
        }
        Ok(())
    }

    /// Close the file (still under its temporary name).
    pub fn finish(self) -> Result<Staged> {
        self.writer.close()?;
        Ok(self.staged)
    }
}

/// The part holding replicate `r`'s snapshot of scenario `k` at the end of month `done`
/// (1-based).
pub fn snapshot_part(out: &Path, r: u32, k: usize, done: u32) -> PathBuf {
    out.join(SNAPSHOT_PARTS_DIR).join(format!("replicate{r:04}-scenario{k:03}-month{done:04}.parquet"))
}

/// The months (1-based) at whose end a run writes snapshots: every `every`-th, and the last.
pub fn snapshot_months(every: Option<u32>, months: u32) -> Vec<u32> {
    every.map(|e| (1..=months).filter(|d| d % e == 0 || *d == months).collect()).unwrap_or_default()
}

/// Write one snapshot month as its own part, atomically (temporary name, then rename).
pub fn write_snapshot_part(out: &Path, r: u32, k: usize, done: u32, scenario: &str, e: &StateView) -> Result<()> {
    let dest = snapshot_part(out, r, k, done);
    let dir = dest.parent().expect("a parts directory");
    std::fs::create_dir_all(dir).map_err(|er| Error::io(dir, er))?;
    let mut w = SnapshotWriter::new(&dest)?;
    w.write(scenario, r, e)?;
    w.finish()?.commit()
}

/// Join Parquet files of one schema into one staged file, in the order given, by copying
/// their column chunks as they are (no decoding or re-compression: what `parquet-concat`
/// does). The first part's key-value metadata, which holds the Arrow schema with each column's
/// unit and description, is kept.
pub fn concat_parquet(parts: &[PathBuf], dest: &Path) -> Result<Staged> {
    use parquet::column::writer::ColumnCloseResult;
    use parquet::file::metadata::{PageIndexPolicy, ParquetMetaDataReader};
    use parquet::file::writer::SerializedFileWriter;
    let open = |p: &PathBuf| -> Result<(File, parquet::file::metadata::ParquetMetaData)> {
        let f = File::open(p).map_err(|e| Error::io(p, e))?;
        let md = ParquetMetaDataReader::new().with_page_index_policy(PageIndexPolicy::Optional).parse_and_finish(&f).map_err(|e| Error::write(p, e))?;
        Ok((f, md))
    };
    let first = parts.first().ok_or_else(|| Error::Config(format!("no parts to join into {}", dest.display())))?;
    let (_, md0) = open(first)?;
    let fm0 = md0.file_metadata();
    let props = writer_props_builder().set_key_value_metadata(fm0.key_value_metadata().cloned()).build();
    let staged = Staged::new(dest);
    let mut w = SerializedFileWriter::new(staged.create()?, fm0.schema_descr().root_schema_ptr(), Arc::new(props)).map_err(|e| Error::write(&staged.tmp, e))?;
    for p in parts {
        let (f, md) = open(p)?;
        if md.file_metadata().schema() != fm0.schema() {
            return Err(Error::Config(format!("{}: a different schema from {}'s: cannot join them", p.display(), first.display())));
        }
        let page_index = md.page_index();
        for (ri, rg) in md.row_groups().iter().enumerate() {
            let mut out = w.next_row_group().map_err(|e| Error::write(&staged.tmp, e))?;
            for (ci, col) in rg.columns().iter().enumerate() {
                let result = ColumnCloseResult {
                    bytes_written: col.compressed_size() as _,
                    rows_written: rg.num_rows() as _,
                    metadata: col.clone(),
                    bloom_filter: None,
                    column_index: page_index.and_then(|pi| pi.column_index(ri, ci)).cloned(),
                    offset_index: page_index.and_then(|pi| pi.offset_index(ri, ci)).cloned(),
                };
                out.append_column(&f, result).map_err(|e| Error::write(&staged.tmp, e))?;
            }
            out.close().map_err(|e| Error::write(&staged.tmp, e))?;
        }
    }
    w.close().map_err(|e| Error::write(&staged.tmp, e))?;
    Ok(staged)
}

fn snapshot_batch(scenario: &str, replicate: u32, e: &StateView, month: i32, lo: usize, hi: usize) -> std::result::Result<RecordBatch, arrow_schema::ArrowError> {
    let p = e.persons;
    let hh = e.households;
    let (po, ho) = (e.pout, e.hout);
    let r = lo..hi;
    let hcol = |v: &Vec<u32>| -> ArrayRef { Arc::new(UInt32Array::from_iter_values(r.clone().map(|i| v[p.household[i] as usize]))) };
    let pcol = |v: &Vec<u32>| -> ArrayRef { Arc::new(UInt32Array::from(v[r.clone()].to_vec())) };
    let code = |f: &dyn Fn(u32) -> u32, names: &[&str]| dict(r.clone().map(|i| f(p.status[i]) as i32).collect(), names);
    let cols: Vec<ArrayRef> = vec![
        dict(vec![0; hi - lo], &[scenario]),
        Arc::new(UInt32Array::from(vec![replicate; hi - lo])),
        Arc::new(Date32Array::from(vec![month; hi - lo])),
        Arc::new(UInt64Array::from_iter_values(r.clone().map(|i| p.id(i)))),
        Arc::new(UInt64Array::from_iter_values(r.clone().map(|i| hh.id[p.household[i] as usize]))),
        Arc::new(UInt32Array::from_iter_values(r.clone().map(|i| p.age_months[i] / 12))),
        pcol(&p.age_months),
        code(&sex, &codes::SEX),
        code(&employment, &codes::EMPLOYMENT),
        code(&health, &codes::HEALTH),
        code(&care, &codes::CARE_NEED),
        code(&care_funding, &FUNDING),
        pcol(&p.earnings),
        pcol(&p.wealth),
        pcol(&po.income_tax),
        pcol(&po.ni),
        pcol(&po.state_pension),
        pcol(&po.disability),
        pcol(&po.care_tariff),
        dict(r.clone().map(|i| region(hh.info[p.household[i] as usize]) as i32).collect(), &codes::REGIONS),
        dict(r.clone().map(|i| tenure(hh.info[p.household[i] as usize]) as i32).collect(), &codes::TENURE_OUT),
        hcol(&hh.weight),
        Arc::new(BooleanArray::from_iter(r.clone().map(|i| Some(hh.start[p.household[i] as usize] as usize == i)))),
        hcol(&ho.universal_credit),
        hcol(&ho.pension_credit),
        hcol(&ho.child_benefit),
        hcol(&ho.hicbc),
        hcol(&ho.cap_reduction),
        hcol(&ho.net_income),
        hcol(&hh.rent),
        hcol(&hh.arrears),
        hcol(&hh.wait),
    ];
    let mut cols = cols;
    for svc in 0..codes::N_PERSON_SERVICES as u32 {
        cols.push(Arc::new(UInt32Array::from_iter_values(r.clone().map(|i| {
            let k = wait_of(p.svc_wait[i], svc);
            if k == IN_PACKAGE { 0 } else { k }
        }))));
    }
    cols.push(Arc::new(BooleanArray::from_iter(r.clone().map(|i| Some(wait_of(p.svc_wait[i], codes::S_CARE) == IN_PACKAGE)))));
    RecordBatch::try_new(snapshot_schema(), cols)
}

/// Write a small file (the manifest) to its staged name.
pub fn write_staged_bytes(dest: &Path, bytes: &[u8]) -> Result<Staged> {
    let staged = Staged::new(dest);
    std::fs::write(&staged.tmp, bytes).map_err(|e| Error::io(&staged.tmp, e))?;
    Ok(staged)
}

pub fn sha256_file(path: &Path) -> Result<String> {
    use std::io::Read;
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// What `twin run`, `twin report` and the notebook example put in a results directory.
pub const RESULT_NAMES: [&str; 13] = [
    AGGREGATES_FILE,
    COMPARISON_FILE,
    DISTRIBUTION_FILE,
    SNAPSHOTS_FILE,
    CAPACITY_FILE,
    MANIFEST_FILE,
    crate::merge::INTERVALS_FILE,
    "report.html",
    "figures",
    crate::checkpoint::CHECKPOINT_DIR,
    SNAPSHOT_PARTS_DIR,
    crate::merge::REPLICATES_DIR,
    TASKS_DIR,
];
/// Where tasks of a batch array (`--task`) record that they finished.
pub const TASKS_DIR: &str = "tasks";

/// [`prepare_dir`] for `twin run`, which also makes sure the directory holds nothing but
/// results: a directory with other files is refused (a run replaces its results there, and
/// would mix with or overwrite files it did not write).
pub fn prepare_results_dir(dir: &Path) -> Result<()> {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let ours = RESULT_NAMES.contains(&name.as_str()) || (name.starts_with('.') && name.contains(".partial-")) || name.starts_with(".twin-write-test-");
            if !ours {
                return Err(Error::Config(format!(
                    "{} holds `{name}`, which policy-twin did not write: choose a new or empty directory, or a previous results directory",
                    dir.display()
                )));
            }
        }
    }
    prepare_dir(dir)
}

/// Make sure an output directory exists and is writable before any work starts.
pub fn prepare_dir(dir: &Path) -> Result<()> {
    if dir.exists() && !dir.is_dir() {
        return Err(Error::Config(format!("output {} exists and is not a directory", dir.display())));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let probe = dir.join(format!(".twin-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| Error::io(dir, e))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// Remove results a previous run left in `dir` that this run did not write (a reform's tables
/// after a run without reforms, an old report), so the directory describes one run.
pub fn remove_stale(dir: &Path, written: &[PathBuf]) -> Result<()> {
    for name in [COMPARISON_FILE, DISTRIBUTION_FILE, SNAPSHOTS_FILE, CAPACITY_FILE, crate::merge::INTERVALS_FILE, "report.html"] {
        let p = dir.join(name);
        if p.exists() && !written.iter().any(|w| w == &p) {
            std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
        }
    }
    // parts, joined into the results (or left by a run that was not resumed), and the tasks'
    // records
    for name in [SNAPSHOT_PARTS_DIR, crate::merge::REPLICATES_DIR, TASKS_DIR] {
        let parts = dir.join(name);
        if parts.exists() {
            std::fs::remove_dir_all(&parts).map_err(|e| Error::io(&parts, e))?;
        }
    }
    // leftovers of killed runs
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') && name.contains(".partial-") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows `lo..hi` of a batch with the column types the outputs use.
    fn batch(schema: &SchemaRef, lo: usize, hi: usize) -> RecordBatch {
        let h = |i: usize, k: u32| crate::rng::mix32(i as u32 ^ crate::rng::mix32(k));
        let r = lo..hi;
        let cols: Vec<ArrayRef> = vec![
            dict(r.clone().map(|i| (h(i, 1) % 3) as i32).collect(), &["owner", "private_rent", "social_rent"]),
            Arc::new(UInt32Array::from_iter_values(r.clone().map(|i| h(i, 2) % 1000))),
            Arc::new(UInt64Array::from_iter_values(r.clone().map(|i| i as u64 * 7))),
            Arc::new(Date32Array::from_iter_values(r.clone().map(|i| 20_000 + (i / 50_000) as i32))),
            Arc::new(BooleanArray::from_iter(r.clone().map(|i| Some(h(i, 3) % 4 == 0)))),
            Arc::new(arrow_array::Float64Array::from_iter_values(r.clone().map(|i| h(i, 4) as f64 / 7.0))),
        ];
        RecordBatch::try_new(schema.clone(), cols).unwrap()
    }

    #[test]
    fn row_groups_encoded_apart_give_the_arrow_writers_file() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            field("tenure", dict_type(), "", "A category."),
            field("count", DataType::UInt32, "", "A small integer."),
            field("id", DataType::UInt64, "", "An id."),
            field("month", DataType::Date32, "date", "A date."),
            field("flag", DataType::Boolean, "", "A flag."),
            field("amount", DataType::Float64, "GBP", "An amount."),
        ]));
        // row groups of unequal sizes, the last short
        let groups = [(0, 150_000), (150_000, 300_000), (300_000, 331_072), (331_072, 400_001)];
        let d = tempfile::tempdir().unwrap();
        // one ArrowWriter, a row group a flush
        let one = Staged::new(&d.path().join("one.parquet"));
        let mut w = ArrowWriter::try_new(one.create().unwrap(), schema.clone(), Some(writer_props())).unwrap();
        for &(lo, hi) in &groups {
            w.write(&batch(&schema, lo, hi)).unwrap();
            w.flush().unwrap();
        }
        w.close().unwrap();
        // the row groups encoded at once on several threads, each in slices, appended in order
        let apart = Staged::new(&d.path().join("apart.parquet"));
        let mut w = RowGroupWriter::new(&apart, schema.clone(), writer_props()).unwrap();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
        let encoded: Vec<EncodedGroup> = pool.install(|| {
            use rayon::prelude::*;
            groups.par_iter().enumerate().map(|(g, &(lo, hi))| w.encode(g, (lo..hi).step_by(1 << 16).map(|at| Ok(batch(&schema, at, (at + (1 << 16)).min(hi))))).unwrap()).collect()
        });
        for g in encoded {
            w.append(g).unwrap();
        }
        w.close().unwrap();
        let (a, b) = (std::fs::read(&one.tmp).unwrap(), std::fs::read(&apart.tmp).unwrap());
        assert!(a.len() > 100_000 && a == b, "{} and {} bytes", a.len(), b.len());
    }
}
