//! Which vector instructions the CPU path's block kernels are compiled for, chosen at run
//! time: each kernel is one generic function, compiled again inside a `#[target_feature]`
//! wrapper per level and called through the widest the CPU has. The kernels are integer code,
//! so every level gives the same values (the kernel tests and the fresh-clone runs compare
//! them with the per-person rules and the WGSL shaders).
//!
//! `TWIN_SIMD=avx2` or `TWIN_SIMD=generic` caps the level (for comparisons and tests; read once).

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
macro_rules! at_level {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? = $generic:path) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name(level: $crate::simd::Level, $($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,avx512f,avx512bw,avx512vl,avx512dq")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx512($($arg: $ty),*) $(-> $ret)? {
                    $generic($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $generic($($arg),*)
                }
                match level.min($crate::simd::detected()) {
                    // SAFETY: the CPU has the level's instructions (`detected` checked them).
                    $crate::simd::Level::Avx512 => return unsafe { avx512($($arg),*) },
                    $crate::simd::Level::Avx2 => return unsafe { avx2($($arg),*) },
                    $crate::simd::Level::Generic => {}
                }
            }
            let _ = level;
            $generic($($arg),*)
        }
    };
}
pub(crate) use at_level;
