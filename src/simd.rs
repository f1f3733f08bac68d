//! Which vector instructions the CPU path's block kernels are compiled for, chosen at run
//! time: each kernel is one generic function, compiled again inside a `#[target_feature]`
//! wrapper per level and called through the widest the CPU has. The kernels are integer code,
//! so every level gives the same values (the kernel tests and the fresh-clone runs compare
//! them with the per-person rules and the WGSL shaders).
//!
//! `TWIN_SIMD=avx2` or `TWIN_SIMD=generic` caps the level (for comparisons and tests; read once).
//!
//! [`lookup`] looks up a block's lanes in a table of up to 128 words: with AVX-512 by
//! in-register permutes, the one place explicit intrinsics are used (a kernel that calls it is
//! defined with `= @level kernel`, so it knows the level it runs at).

/// A level of vector instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Generic,
    Avx2,
    /// AVX-512 F, BW, VL and DQ (16 lanes of u32).
    Avx512,
}

/// The widest level this CPU has, capped by `TWIN_SIMD`.
pub fn level() -> Level {
    static LEVEL: std::sync::OnceLock<Level> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| {
        let cap = match std::env::var("TWIN_SIMD").as_deref() {
            Ok("generic") => Level::Generic,
            Ok("avx2") => Level::Avx2,
            _ => Level::Avx512,
        };
        detected().min(cap)
    })
}

/// Every level this CPU has, narrowest first (the kernel tests run each).
pub fn levels() -> Vec<Level> {
    [Level::Generic, Level::Avx2, Level::Avx512].into_iter().filter(|&l| l <= detected()).collect()
}

/// The widest level this CPU has.
#[cfg(target_arch = "x86_64")]
pub fn detected() -> Level {
    use std::arch::is_x86_feature_detected as has;
    if has!("avx512f") && has!("avx512bw") && has!("avx512vl") && has!("avx512dq") && has!("avx2") {
        Level::Avx512
    } else if has!("avx2") {
        Level::Avx2
    } else {
        Level::Generic
    }
}

/// The widest level this CPU has.
#[cfg(not(target_arch = "x86_64"))]
pub fn detected() -> Level {
    Level::Generic
}

/// Define `fn $name(level, args..)`: the generic kernel `$generic(args..)` compiled for
/// AVX-512, for AVX2 and for neither, and called at `level` (at most the CPU's). One
/// definition per kernel instead of a wrapper per level with the argument list repeated: the
/// arguments stay function parameters, which lets the compiler know the slices do not alias.
///
/// `= @level $generic` passes the level as the generic kernel's first argument (a
/// constant once the kernel is inlined into each wrapper), for kernels that call
/// [`lookup`].
macro_rules! at_level {
    // the call of the generic kernel at a level, with the level passed or not
    (@call level $generic:path, $lvl:expr, $($arg:ident),*) => {
        $generic($lvl, $($arg),*)
    };
    (@call plain $generic:path, $lvl:expr, $($arg:ident),*) => {
        $generic($($arg),*)
    };
    // the wrapper and its compilations, one body for both forms
    (@def $pass:ident, [$($meta:tt)*] $vis:vis fn $name:ident($($arg:ident: $ty:ty),*) [$($ret:tt)*] = $generic:path) => {
        $($meta)*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name(level: $crate::simd::Level, $($arg: $ty),*) $($ret)* {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl,avx512dq")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx512($($arg: $ty),*) $($ret)* {
                    $crate::simd::at_level!(@call $pass $generic, $crate::simd::Level::Avx512, $($arg),*)
                }
                #[target_feature(enable = "avx2")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx2($($arg: $ty),*) $($ret)* {
                    $crate::simd::at_level!(@call $pass $generic, $crate::simd::Level::Avx2, $($arg),*)
                }
                match level.min($crate::simd::detected()) {
                    // SAFETY: the CPU has the level's instructions (`detected` checked them).
                    $crate::simd::Level::Avx512 => return unsafe { avx512($($arg),*) },
                    $crate::simd::Level::Avx2 => return unsafe { avx2($($arg),*) },
                    $crate::simd::Level::Generic => {}
                }
            }
            let _ = level;
            $crate::simd::at_level!(@call $pass $generic, $crate::simd::Level::Generic, $($arg),*)
        }
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? = @level $generic:path) => {
        $crate::simd::at_level!(@def level, [$(#[$meta])*] $vis fn $name($($arg: $ty),*) [$(-> $ret)?] = $generic);
    };
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? = $generic:path) => {
        $crate::simd::at_level!(@def plain, [$(#[$meta])*] $vis fn $name($($arg: $ty),*) [$(-> $ret)?] = $generic);
    };
}
pub(crate) use at_level;

/// `out[k] = table[min(idx[k], N - 1)]` for every lane (`N <= 128`; `out` at least as long
/// as `idx`). With AVX-512 the table sits in registers and 16 lanes are looked up by in-register
/// permutes (`vpermi2d`: one for a table of up to 32 words, four and three blends for 128),
/// which measured about ten times cheaper here than the gathers the compiler writes for an
/// indexed load (benches/README.md); otherwise an indexed load per lane. `level` must be at
/// most the CPU's: kernels pass the level their `at_level!` wrapper runs at.
#[inline(always)]
pub fn lookup<const N: usize>(level: Level, table: &[u32; N], idx: &[u32], out: &mut [u32]) {
    #[cfg(target_arch = "x86_64")]
    if level == Level::Avx512 && N <= 128 {
        // SAFETY: the level is at most the CPU's (the caller's contract), so it has AVX-512 F
        unsafe { lookup_avx512(table, idx, out) };
        return;
    }
    let _ = level;
    let out = &mut out[..idx.len()];
    for (o, &i) in out.iter_mut().zip(idx) {
        *o = table[(i as usize).min(N - 1)];
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn lookup_avx512<const N: usize>(table: &[u32; N], idx: &[u32], out: &mut [u32]) {
    use std::arch::x86_64::*;
    assert!(N <= 128 && out.len() >= idx.len());
    let mut padded = [0u32; 128];
    padded[..N].copy_from_slice(table);
    // SAFETY (all the loads and stores below): 16-word loads from `padded` at offsets up to
    // 112, and masked loads and stores of the lanes below `idx.len()` only
    let reg = |j: usize| unsafe { _mm512_loadu_si512(padded.as_ptr().add(16 * j) as *const _) };
    let (t0, t1) = (reg(0), reg(1));
    let (t2, t3) = if N > 32 { (reg(2), reg(3)) } else { (t0, t1) };
    let (t4, t5, t6, t7) = if N > 64 { (reg(4), reg(5), reg(6), reg(7)) } else { (t0, t1, t0, t1) };
    let n = idx.len();
    let mut k = 0;
    while k < n {
        let m: __mmask16 = if n - k >= 16 { 0xffff } else { (1u16 << (n - k)) - 1 };
        // clamped below N, as the indexed load is
        let i = _mm512_min_epu32(unsafe { _mm512_maskz_loadu_epi32(m, idx.as_ptr().add(k) as *const i32) }, _mm512_set1_epi32(N as i32 - 1));
        let mut r = _mm512_permutex2var_epi32(t0, i, t1);
        if N > 32 {
            let b5 = _mm512_test_epi32_mask(i, _mm512_set1_epi32(32));
            let r1 = _mm512_permutex2var_epi32(t2, i, t3);
            r = _mm512_mask_blend_epi32(b5, r, r1);
            if N > 64 {
                let r2 = _mm512_permutex2var_epi32(t4, i, t5);
                let r3 = _mm512_permutex2var_epi32(t6, i, t7);
                let b6 = _mm512_test_epi32_mask(i, _mm512_set1_epi32(64));
                r = _mm512_mask_blend_epi32(b6, r, _mm512_mask_blend_epi32(b5, r2, r3));
            }
        }
        unsafe { _mm512_mask_storeu_epi32(out.as_mut_ptr().add(k) as *mut i32, m, r) };
        k += 16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`lookup`] at every level the CPU has against indexing, for each table size class and
    /// block lengths that are not multiples of 16.
    #[test]
    fn lookup_matches_indexing() {
        fn check<const N: usize>() {
            let table: [u32; N] = std::array::from_fn(|j| (j as u32).wrapping_mul(0x9e37_79b9) ^ 0x5555);
            for n in [0usize, 1, 15, 16, 17, 100, 256] {
                // indices past the end too, which read the last word
                let idx: Vec<u32> = (0..n).map(|k| ((k * 37 + 11) % (N + 3)) as u32).collect();
                let want: Vec<u32> = idx.iter().map(|&i| table[(i as usize).min(N - 1)]).collect();
                for level in levels() {
                    let mut out = vec![7u32; n + 3];
                    lookup(level, &table, &idx, &mut out);
                    assert_eq!(&out[..n], &want[..], "{level:?} N {N} n {n}");
                    assert_eq!(&out[n..], &[7, 7, 7], "{level:?} N {N} n {n}: wrote past the lanes");
                }
            }
        }
        check::<1>();
        check::<12>();
        check::<16>();
        check::<24>();
        check::<32>();
        check::<33>();
        check::<64>();
        check::<111>();
        check::<128>();
    }
}
