//! Calendar months as integers: `Month(y * 12 + m - 1)`. The engine steps in months; dated
//! parameters, birth cohorts and output dates are all months. A date with a day resolves to
//! its month (a value dated 2024-04-06 applies from April 2024).

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(pub u32);

impl Month {
    pub fn new(year: u32, month: u32) -> Month {
        debug_assert!((1..=12).contains(&month));
        Month(year * 12 + month - 1)
    }
    pub fn year(self) -> u32 {
        self.0 / 12
    }
    /// 1..=12
    pub fn month(self) -> u32 {
        self.0 % 12 + 1
    }
    #[allow(clippy::should_implement_trait)] // a month plus a count of months, not Month + Month
    pub fn add(self, months: u32) -> Month {
        Month(self.0 + months)
    }
    /// Parse `YYYY-MM` or `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Month> {
        let s = s.trim();
        let mut parts = s.split('-');
        let y: u32 = parts.next()?.parse().ok()?;
        let m: u32 = parts.next()?.parse().ok()?;
        if let Some(d) = parts.next() {
            let d: u32 = d.parse().ok()?;
            if !(1..=31).contains(&d) {
                return None;
            }
        }
        if parts.next().is_some() || !(1000..=9999).contains(&y) || !(1..=12).contains(&m) {
            return None;
        }
        Some(Month::new(y, m))
    }
    /// Days since 1970-01-01 of the first day of the month (Arrow `date32`).
    pub fn date32(self) -> i32 {
        days_from_civil(self.year() as i64, self.month() as i64, 1) as i32
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month())
    }
}

/// Howard Hinnant's days_from_civil.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parse_and_print() {
        let m = Month::parse("2025-04").unwrap();
        assert_eq!(m.to_string(), "2025-04");
        assert_eq!(Month::parse("2024-04-06").unwrap(), Month::new(2024, 4));
        assert!(Month::parse("2025-13").is_none());
        assert!(Month::parse("2025").is_none());
        assert!(Month::parse("x-01").is_none());
        assert_eq!(m.add(9).to_string(), "2026-01");
    }
    #[test]
    fn date32_matches_known_days() {
        assert_eq!(Month::new(1970, 1).date32(), 0);
        assert_eq!(Month::new(2000, 3).date32(), 11017);
        assert_eq!(Month::new(2025, 4).date32(), 20179);
    }
}
