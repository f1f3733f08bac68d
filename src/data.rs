//! Reading the rate tables in `data/`: CSV files whose first lines are `# source: ...`
//! comments (kept with the numbers, as the project requires) followed by a header row.
//! Errors name the file, the data row (1-based, not counting comments and the header) and
//! the problem.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

pub struct CsvTable {
    pub path: PathBuf,
    /// The `# source:` lines, without the leading `#`.
    pub sources: Vec<String>,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl CsvTable {
    pub fn read(path: &Path) -> Result<CsvTable> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut sources = Vec::new();
        let mut body = String::new();
        for line in text.lines() {
            if let Some(c) = line.strip_prefix('#') {
                sources.push(c.trim().to_string());
            } else {
                body.push_str(line);
                body.push('\n');
            }
        }
        if sources.is_empty() {
            return Err(Error::data(path, None, "no `# source:` line: every data table states where its numbers come from"));
        }
        let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(body.as_bytes());
        let headers = rdr
            .headers()
            .map_err(|e| Error::data(path, None, format!("bad header: {e}")))?
            .iter()
            .map(|s| s.trim().to_string())
            .collect();
        let mut rows = Vec::new();
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| Error::data(path, Some(i as u64 + 1), format!("bad CSV: {e}")))?;
            rows.push(rec.iter().map(|s| s.trim().to_string()).collect());
        }
        Ok(CsvTable { path: path.to_path_buf(), sources, headers, rows })
    }

    pub fn col(&self, name: &str) -> Result<usize> {
        self.headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::data(&self.path, None, format!("missing column `{name}`")))
    }

    pub fn str_at(&self, row: usize, col: usize) -> &str {
        self.rows[row].get(col).map(|s| s.as_str()).unwrap_or("")
    }

    pub fn f64_at(&self, row: usize, col: usize) -> Result<f64> {
        let s = self.str_at(row, col);
        s.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(|| {
            Error::data(&self.path, Some(row as u64 + 1), format!("column `{}`: `{s}` is not a finite number", self.headers[col]))
        })
    }

    /// A probability in [0, 1].
    pub fn prob_at(&self, row: usize, col: usize) -> Result<f64> {
        let v = self.f64_at(row, col)?;
        if !(0.0..=1.0).contains(&v) {
            return Err(Error::data(&self.path, Some(row as u64 + 1), format!("column `{}`: {v} is not a probability in [0, 1]", self.headers[col])));
        }
        Ok(v)
    }

    pub fn u32_at(&self, row: usize, col: usize) -> Result<u32> {
        let s = self.str_at(row, col);
        s.parse::<u32>().map_err(|_| {
            Error::data(&self.path, Some(row as u64 + 1), format!("column `{}`: `{s}` is not a whole number", self.headers[col]))
        })
    }

    /// Index of the row whose `key` column equals `value`.
    pub fn find(&self, key: usize, value: &str) -> Result<usize> {
        self.rows
            .iter()
            .position(|r| r.get(key).map(|s| s.as_str()) == Some(value))
            .ok_or_else(|| Error::data(&self.path, None, format!("no row with `{}` = `{value}`", self.headers[key])))
    }

    /// A row per output age band, in band order, keyed by the `age_band` column.
    pub fn band_rows(&self) -> Result<[usize; 8]> {
        let c = self.col("age_band")?;
        let mut out = [0usize; 8];
        for (b, name) in crate::codes::AGE_BANDS.iter().enumerate() {
            out[b] = self.find(c, name)?;
        }
        Ok(out)
    }

    /// Rows with `age_from`/`age_to` columns, expanded to a value per single year of age
    /// 0..=110 (`None` where no row covers the age). Overlaps are an error.
    pub fn by_age<T: Copy>(&self, mut value: impl FnMut(usize) -> Result<T>) -> Result<Vec<Option<T>>> {
        let from = self.col("age_from")?;
        let to = self.col("age_to")?;
        let mut out = vec![None; crate::codes::MAX_AGE as usize + 1];
        for r in 0..self.rows.len() {
            let a = self.u32_at(r, from)? as usize;
            let b = self.u32_at(r, to)? as usize;
            if a > b || b > crate::codes::MAX_AGE as usize {
                return Err(Error::data(&self.path, Some(r as u64 + 1), format!("age range {a}-{b} is not within 0-110")));
            }
            let v = value(r)?;
            for slot in &mut out[a..=b] {
                if slot.is_some() {
                    return Err(Error::data(&self.path, Some(r as u64 + 1), "age ranges overlap"));
                }
                *slot = Some(v);
            }
        }
        Ok(out)
    }
}
