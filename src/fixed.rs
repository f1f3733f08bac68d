//! Integer money and probability arithmetic shared by the CPU and GPU paths.
//!
//! Money is in pence (u32 per person per month), rates are basis points (1/10,000),
//! probabilities are u32 thresholds (`p * 2^32`). Every product that could overflow 32 bits
//! goes through [`mul_div`]; its WGSL twin (`shaders/fixed.wgsl`) computes the same floor with
//! 16-bit limbs, and [`mul_div_limbs`] is that algorithm in Rust, tested against the 64-bit one.
//! All conversions from scenario units (f64) happen once per run on the CPU, never per person.

pub const BP: u32 = 10_000;

/// floor(a * b / c), for results that fit in u32. `c > 0`.
#[inline(always)]
pub fn mul_div(a: u32, b: u32, c: u32) -> u32 {
    ((a as u64 * b as u64) / c as u64) as u32
}

/// floor(a * bp / 10_000): a money amount times a rate in basis points (bp ≤ 10_000).
#[inline(always)]
pub fn mul_bp(a: u32, bp: u32) -> u32 {
    mul_div(a, bp, BP)
}

/// a * b, or u32::MAX if the product does not fit (tariff steps × tariff amounts).
#[inline(always)]
pub fn mul_sat(a: u32, b: u32) -> u32 {
    a.saturating_mul(b)
}

/// floor(a * m / 10_000), saturating: an amount or threshold times a multiplier in basis
/// points (m ≤ 100_000, a multiplier up to 10). Exact with 32-bit operations:
/// a = q·10⁴ + r, so a·m/10⁴ = q·m + r·m/10⁴ with r·m < 10⁹.
#[inline(always)]
pub fn mul_mult(a: u32, m: u32) -> u32 {
    if m == BP {
        return a; // q·10⁴ + r: the common case of a multiplier of exactly 1
    }
    let q = a / BP;
    let r = a % BP;
    mul_sat(q, m).saturating_add(r * m / BP)
}

/// ceil(a / b), b > 0.
#[inline(always)]
pub fn ceil_div(a: u32, b: u32) -> u32 {
    a / b + !a.is_multiple_of(b) as u32
}

/// The same floor(a * b / c) as [`mul_div`] using only 32-bit operations, for
/// `b <= c <= 32768` (rates in basis points): the algorithm the WGSL twin uses (WGSL has no
/// 64-bit integers). a = ah·2^16 + al;
/// a·b/c = (ah·b div c)·2^16 + ((ah·b mod c)·2^16 + al·b) / c, and with c ≤ 2^15 the inner
/// sum stays below (c-1)·2^16 + (2^16-1)·c < 2^32.
#[inline(always)]
pub fn mul_div_limbs(a: u32, b: u32, c: u32) -> u32 {
    debug_assert!(b <= c && c <= 32768 && c > 0);
    let ah = a >> 16;
    let al = a & 0xffff;
    let hb = ah * b; // < 2^32
    let q1 = hb / c;
    let r1 = hb % c; // < c < 2^16
    let lo = (r1 << 16) + al * b;
    q1.wrapping_shl(16).wrapping_add(lo / c)
}

/// Annual probability to monthly: 1 - (1 - p)^(1/12). CPU only, once per run.
pub fn annual_to_monthly(p_year: f64) -> f64 {
    if p_year >= 1.0 {
        return 1.0;
    }
    1.0 - (1.0 - p_year.max(0.0)).powf(1.0 / 12.0)
}

/// A probability as a 32-bit threshold: an event happens when a uniform u32 draw is below it.
/// p = 1 maps to u32::MAX (a 2^-32 chance of not happening, documented).
pub fn threshold(p: f64) -> u32 {
    let t = (p.clamp(0.0, 1.0) * 4_294_967_296.0).round();
    if t >= 4_294_967_295.0 {
        u32::MAX
    } else {
        t as u32
    }
}

/// The probability a threshold stands for.
pub fn threshold_probability(t: u32) -> f64 {
    t as f64 / 4_294_967_296.0
}

/// Pounds (f64, from a scenario or a Parquet file) to pence, rounded half away from zero.
pub fn pounds_to_pence(gbp: f64) -> f64 {
    (gbp * 100.0).round()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mul_bp_hand_cases() {
        assert_eq!(mul_bp(100_000, 2_000), 20_000); // £1,000 at 20% = £200
        assert_eq!(mul_bp(333, 5_500), 183); // floor(183.15)
        assert_eq!(mul_bp(u32::MAX, BP), u32::MAX);
        assert_eq!(ceil_div(251, 250), 2);
        assert_eq!(ceil_div(250, 250), 1);
        assert_eq!(ceil_div(0, 250), 0);
    }

    #[test]
    fn limb_algorithm_matches_64_bit() {
        let mut s = crate::rng::SplitMix64::new(5, 0);
        for _ in 0..2_000_000 {
            let a = s.next_u64() as u32;
            let c = 1 + (s.next_u64() % 32768) as u32;
            let b = (s.next_u64() % (c as u64 + 1)) as u32; // b <= c keeps the result in u32
            assert_eq!(mul_div_limbs(a, b, c), mul_div(a, b, c), "a={a} b={b} c={c}");
        }
        for (a, b, c) in [(u32::MAX, 10_000, 10_000), (u32::MAX, 9_999, 10_000), (0, 5, 7), (u32::MAX, 32_768, 32_768), (u32::MAX, 32_767, 32_768)] {
            assert_eq!(mul_div_limbs(a, b, c), mul_div(a, b, c));
        }
    }

    #[test]
    fn thresholds() {
        assert_eq!(threshold(0.0), 0);
        assert_eq!(threshold(1.0), u32::MAX);
        assert_eq!(threshold(0.5), 1 << 31);
        let m = annual_to_monthly(0.12);
        assert!(((1.0 - m).powi(12) - 0.88).abs() < 1e-12);
    }
}
