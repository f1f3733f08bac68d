//! Every input rule of MODEL.md §1, broken on purpose: the loader refuses the population with a
//! message naming the file, the column, the first offending row and the rule.

use crate::util;
use arrow_array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{Field, Schema};
use policy_twin::input;
use std::path::Path;
use std::sync::Arc;

/// A valid 300-person population in a fresh directory.
fn fresh() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    util::synth_into(d.path(), 300, 3, 1);
    d
}

/// Rewrite one file of the population, changing its single batch.
fn rewrite(dir: &Path, file: &str, f: impl FnOnce(RecordBatch) -> RecordBatch) {
    rewrite_groups(dir, file, None, f)
}

/// As [`rewrite`], with row groups of at most `group_rows` rows.
fn rewrite_groups(dir: &Path, file: &str, group_rows: Option<usize>, f: impl FnOnce(RecordBatch) -> RecordBatch) {
    let path = dir.join(file);
    let batches = util::read_parquet(&path);
    let schema = batches[0].schema();
    let batch = arrow_select_concat(&batches, schema);
    let out = f(batch);
    let w = std::fs::File::create(&path).unwrap();
    let props = group_rows.map(|n| parquet::file::properties::WriterProperties::builder().set_max_row_group_row_count(Some(n)).build());
    let mut writer = parquet::arrow::ArrowWriter::try_new(w, out.schema(), props).unwrap();
    writer.write(&out).unwrap();
    writer.close().unwrap();
}

fn arrow_select_concat(batches: &[RecordBatch], schema: arrow_schema::SchemaRef) -> RecordBatch {
    assert_eq!(batches.len(), 1, "test populations are one batch");
    RecordBatch::try_new(schema, batches[0].columns().to_vec()).unwrap()
}

/// Replace (or add, or with `None` remove) a column.
fn set_col(b: RecordBatch, name: &str, col: Option<ArrayRef>) -> RecordBatch {
    let mut fields: Vec<Field> = Vec::new();
    let mut cols: Vec<ArrayRef> = Vec::new();
    let mut found = false;
    for (f, c) in b.schema().fields().iter().zip(b.columns()) {
        if f.name() == name {
            found = true;
            if let Some(new) = &col {
                fields.push(Field::new(name, new.data_type().clone(), true));
                cols.push(new.clone());
            }
        } else {
            fields.push(f.as_ref().clone());
            cols.push(c.clone());
        }
    }
    if !found {
        let new = col.unwrap();
        fields.push(Field::new(name, new.data_type().clone(), true));
        cols.push(new);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap()
}

fn f64_col(b: &RecordBatch, name: &str) -> Vec<Option<f64>> {
    b.column_by_name(name).unwrap().as_any().downcast_ref::<Float64Array>().unwrap().iter().collect()
}
fn u64_col(b: &RecordBatch, name: &str) -> Vec<u64> {
    b.column_by_name(name).unwrap().as_any().downcast_ref::<UInt64Array>().unwrap().values().to_vec()
}

/// Load and expect an error containing every fragment.
fn expect_error(dir: &Path, fragments: &[&str]) {
    let err = input::load_dir(dir, &|_, _| {}).expect_err("must be refused").to_string();
    for f in fragments {
        assert!(err.contains(f), "error `{err}` lacks `{f}`");
    }
}

const P: &str = "persons.parquet";
const H: &str = "households.parquet";

#[test]
fn valid_population_loads() {
    let d = fresh();
    let pop = input::load_dir(d.path(), &|_, _| {}).unwrap();
    assert_eq!(pop.persons.len(), 300);
}

#[test]
fn missing_column() {
    let d = fresh();
    rewrite(d.path(), P, |b| set_col(b, "age", None));
    expect_error(d.path(), &[P, "column `age`", "missing column"]);
}

#[test]
fn wrong_type() {
    let d = fresh();
    rewrite(d.path(), P, |b| {
        let n = b.num_rows();
        set_col(b, "age", Some(Arc::new(StringArray::from(vec!["40"; n]))))
    });
    expect_error(d.path(), &[P, "column `age`", "wrong type Utf8"]);
}

#[test]
fn null_value() {
    let d = fresh();
    rewrite(d.path(), P, |b| {
        let mut v = f64_col(&b, "earnings");
        v[4] = None;
        set_col(b, "earnings", Some(Arc::new(Float64Array::from(v))))
    });
    expect_error(d.path(), &[P, "column `earnings`", "row 5", "null value"]);
}

#[test]
fn age_out_of_range() {
    let d = fresh();
    rewrite(d.path(), P, |b| {
        let n = b.num_rows();
        let mut v: Vec<i64> = vec![40; n];
        v[9] = 111;
        let b = set_col(b, "age", Some(Arc::new(Int64Array::from(v))));
        // make employment consistent with age 40 for every row
        set_col(b, "employment", Some(Arc::new(StringArray::from(vec!["employed"; n]))))
    });
    expect_error(d.path(), &[P, "column `age`", "row 10", "age 111 outside 0..=110"]);
}

#[test]
fn unknown_category() {
    let d = fresh();
    rewrite(d.path(), P, |b| {
        let n = b.num_rows();
        let mut v = vec!["female"; n];
        v[2] = "woman";
        set_col(b, "sex", Some(Arc::new(StringArray::from(v))))
    });
    expect_error(d.path(), &[P, "column `sex`", "row 3", "unknown category `woman`", "female, male"]);
}

#[test]
fn negative_money() {
    let d = fresh();
    rewrite(d.path(), P, |b| {
        let mut v = f64_col(&b, "wealth");
        v[7] = Some(-5.0);
        set_col(b, "wealth", Some(Arc::new(Float64Array::from(v))))
    });
    expect_error(d.path(), &[P, "column `wealth`", "row 8", "negative money -5"]);
}

#[test]
fn nan_and_infinity() {
    let d = fresh();
    rewrite(d.path(), P, |b| {
        let mut v = f64_col(&b, "wealth");
        v[0] = Some(f64::NAN);
        set_col(b, "wealth", Some(Arc::new(Float64Array::from(v))))
    });
    expect_error(d.path(), &[P, "column `wealth`", "row 1", "NaN"]);
    let d = fresh();
    rewrite(d.path(), H, |b| {
        let mut v = f64_col(&b, "rent");
        let i = v.iter().position(|x| x.unwrap() > 0.0).unwrap();
        v[i] = Some(f64::INFINITY);
        set_col(b, "rent", Some(Arc::new(Float64Array::from(v))))
    });
    expect_error(d.path(), &[H, "column `rent`", "infinite value"]);
}

#[test]
fn huge_earnings() {
    let d = fresh();
    rewrite(d.path(), P, |b| {
        let mut v = f64_col(&b, "earnings");
        v[1] = Some(5.0e6);
        set_col(b, "earnings", Some(Arc::new(Float64Array::from(v))))
    });
    expect_error(d.path(), &[P, "column `earnings`", "row 2", "above the largest accepted"]);
}

#[test]
fn duplicate_person_id() {
    let d = fresh();
    rewrite(d.path(), P, |b| {
        let mut v = u64_col(&b, "person_id");
        v[20] = v[3];
        set_col(b, "person_id", Some(Arc::new(UInt64Array::from(v))))
    });
    expect_error(d.path(), &[P, "column `person_id`", "row 21", "duplicate id 4"]);
}

#[test]
fn duplicate_household_id() {
    let d = fresh();
    rewrite(d.path(), H, |b| {
        let mut v = u64_col(&b, "household_id");
        v[10] = v[2];
        set_col(b, "household_id", Some(Arc::new(UInt64Array::from(v))))
    });
    expect_error(d.path(), &[H, "column `household_id`", "row 11", "duplicate id 3"]);
}

#[test]
fn person_in_unknown_household() {
    let d = fresh();
    rewrite(d.path(), P, |b| {
        let mut v = u64_col(&b, "household_id");
        v[30] = 999_999;
        set_col(b, "household_id", Some(Arc::new(UInt64Array::from(v))))
    });
    expect_error(d.path(), &[P, "column `household_id`", "row 31", "household 999999 is not in households.parquet"]);
}

#[test]
fn empty_household() {
    let d = fresh();
    rewrite(d.path(), P, |b| {
        // move the members of household 2 into household 1
        let v: Vec<u64> = u64_col(&b, "household_id").into_iter().map(|h| if h == 2 { 1 } else { h }).collect();
        set_col(b, "household_id", Some(Arc::new(UInt64Array::from(v))))
    });
    expect_error(d.path(), &[H, "column `household_id`", "row 2", "household 2 has no persons (empty household)"]);
}

#[test]
fn child_employment_must_match_age() {
    let d = fresh();
    rewrite(d.path(), P, |b| {
        let n = b.num_rows();
        let v = vec!["child"; n];
        set_col(b, "employment", Some(Arc::new(StringArray::from(v))))
    });
    expect_error(d.path(), &[P, "column `employment`", "`child` is for ages under 16"]);
}

#[test]
fn owner_with_rent_and_zero_weight() {
    let d = fresh();
    rewrite(d.path(), H, |b| {
        let n = b.num_rows();
        let b = set_col(b, "tenure", Some(Arc::new(StringArray::from(vec!["owner"; n]))));
        set_col(b, "rent", Some(Arc::new(Float64Array::from(vec![500.0; n]))))
    });
    expect_error(d.path(), &[H, "column `rent`", "row 1", "owner-occupier with rent 500"]);
    let d = fresh();
    rewrite(d.path(), H, |b| {
        let n = b.num_rows();
        let mut w = vec![1i64; n];
        w[5] = 0;
        set_col(b, "weight", Some(Arc::new(Int64Array::from(w))))
    });
    expect_error(d.path(), &[H, "column `weight`", "row 6", "weight 0 outside"]);
}

#[test]
fn weight_column_is_optional_and_integer_codes_are_accepted() {
    let d = fresh();
    rewrite(d.path(), H, |b| {
        let n = b.num_rows();
        let b = set_col(b, "weight", None);
        set_col(b, "region", Some(Arc::new(Int64Array::from(vec![6i64; n]))))
    });
    let pop = input::load_dir(d.path(), &|_, _| {}).unwrap();
    assert!(pop.households.weight.iter().all(|&w| w == 1));
    assert!(pop.households.info.iter().all(|&i| policy_twin::state::region(i) == policy_twin::codes::LONDON));
    let d = fresh();
    rewrite(d.path(), H, |b| {
        let n = b.num_rows();
        set_col(b, "region", Some(Arc::new(Int64Array::from(vec![12i64; n]))))
    });
    expect_error(d.path(), &[H, "column `region`", "row 1", "unknown category `code 12`"]);
}

#[test]
fn not_parquet_and_missing_file() {
    let d = fresh();
    std::fs::write(d.path().join(P), b"person_id,age\n1,30\n").unwrap();
    expect_error(d.path(), &[P, "not a readable Parquet file"]);
    let d = fresh();
    std::fs::remove_file(d.path().join(H)).unwrap();
    expect_error(d.path(), &[H]);
}

#[test]
fn persons_out_of_household_order_are_grouped() {
    let d = fresh();
    let before = input::load_dir(d.path(), &|_, _| {}).unwrap();
    rewrite(d.path(), P, |b| {
        let idx = arrow_array::UInt32Array::from_iter_values((0..b.num_rows() as u32).rev());
        let cols: Vec<(String, ArrayRef)> = b.schema().fields().iter().zip(b.columns()).map(|(f, c)| (f.name().clone(), take(c, &idx))).collect();
        RecordBatch::try_from_iter(cols).unwrap()
    });
    let after = input::load_dir(d.path(), &|_, _| {}).unwrap();
    assert_eq!(before.households, after.households);
    let mut a: Vec<u64> = (0..after.persons.len()).map(|i| after.persons.id(i)).collect();
    // members contiguous and in household order
    assert!(after.persons.household.windows(2).all(|w| w[0] <= w[1]));
    a.sort();
    let b: Vec<u64> = (0..before.persons.len()).map(|i| before.persons.id(i)).collect();
    assert_eq!(a, b);
}

fn take(c: &ArrayRef, idx: &arrow_array::UInt32Array) -> ArrayRef {
    // reverse a column without arrow-select: rebuild from its data by type
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;
    let ix: Vec<usize> = idx.values().iter().map(|&i| i as usize).collect();
    match c.data_type() {
        arrow_schema::DataType::UInt64 => Arc::new(UInt64Array::from_iter_values(ix.iter().map(|&i| c.as_primitive::<UInt64Type>().value(i)))),
        arrow_schema::DataType::UInt8 => Arc::new(arrow_array::UInt8Array::from_iter_values(ix.iter().map(|&i| c.as_primitive::<UInt8Type>().value(i)))),
        arrow_schema::DataType::Float64 => Arc::new(Float64Array::from_iter_values(ix.iter().map(|&i| c.as_primitive::<Float64Type>().value(i)))),
        arrow_schema::DataType::Dictionary(..) => {
            let d = c.as_dictionary::<Int32Type>();
            let vals = d.values().as_string::<i32>();
            Arc::new(StringArray::from_iter_values(ix.iter().map(|&i| vals.value(d.keys().value(i) as usize))))
        }
        t => panic!("{t}"),
    }
}

#[test]
fn many_row_groups_load_as_one() {
    // the loader reads row groups (and columns) in parallel: the same population in row
    // groups of 64 and 7 rows loads exactly as in one row group
    let d = fresh();
    let one = input::load_dir(d.path(), &|_, _| {}).unwrap();
    for rows in [64, 7] {
        rewrite_groups(d.path(), P, Some(rows), |b| b);
        rewrite_groups(d.path(), H, Some(rows), |b| b);
        let groups = parquet::file::reader::FileReader::metadata(&parquet::file::reader::SerializedFileReader::new(std::fs::File::open(d.path().join(P)).unwrap()).unwrap()).num_row_groups();
        assert_eq!(groups, 300usize.div_ceil(rows), "row groups written");
        let many = input::load_dir(d.path(), &|_, _| {}).unwrap();
        assert_eq!(one.persons, many.persons);
        assert_eq!(one.households, many.households);
    }
}

/// Break values of the persons file at (row, column), written in row groups of 64 rows.
fn break_rows(dir: &Path, rows: &[(usize, &str)]) {
    rewrite_groups(dir, P, Some(64), |mut b| {
        for &(row, col) in rows {
            b = match col {
                "wealth" | "earnings" => {
                    let mut v = f64_col(&b, col);
                    v[row] = Some(-1.0);
                    set_col(b, col, Some(Arc::new(Float64Array::from(v))))
                }
                "sex" => {
                    let sexes: Vec<String> = (0..b.num_rows()).map(|i| if i == row { "other".into() } else { sex_of(&b, i) }).collect();
                    set_col(b, "sex", Some(Arc::new(StringArray::from(sexes))))
                }
                "person_id" => {
                    let mut v = u64_col(&b, "person_id");
                    v[row] = 1 << 63;
                    set_col(b, "person_id", Some(Arc::new(UInt64Array::from(v))))
                }
                c => panic!("{c}"),
            };
        }
        b
    });
}

#[test]
fn first_offending_row_in_file_order_across_row_groups_and_columns() {
    // errors in several columns and row groups, found by separate parallel tasks: the one
    // reported is the first row in file order, and within that row the first rule checked
    let d = fresh();
    break_rows(d.path(), &[(250, "wealth"), (130, "earnings"), (200, "sex")]);
    expect_error(d.path(), &[P, "column `earnings`", "row 131", "negative money"]);
    let d = fresh();
    break_rows(d.path(), &[(100, "wealth"), (100, "sex"), (150, "earnings")]);
    expect_error(d.path(), &[P, "column `sex`", "row 101", "unknown category `other`"]);
    let d = fresh();
    break_rows(d.path(), &[(261, "earnings"), (260, "person_id"), (299, "sex")]);
    expect_error(d.path(), &[P, "column `person_id`", "row 261", "2^63 or more"]);
}

fn sex_of(b: &RecordBatch, i: usize) -> String {
    use arrow_array::cast::AsArray;
    let c = b.column_by_name("sex").unwrap();
    match c.data_type() {
        arrow_schema::DataType::Dictionary(..) => {
            let d = c.as_dictionary::<arrow_array::types::Int32Type>();
            d.values().as_string::<i32>().value(d.keys().value(i) as usize).to_string()
        }
        _ => c.as_string::<i32>().value(i).to_string(),
    }
}
