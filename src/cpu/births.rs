//! Stage `births`: removes this month's dead and inserts this month's babies, by a
//! deterministic prefix sum (MODEL.md §6). Twin of `shaders/births.wgsl`.
//!
//! Person i moves to `sum over j < i of (alive_j + baby_j)`; a mother's baby is placed right
//! after her, so households stay contiguous. A baby's id is a function of its mother's id and
//! the month ([`crate::rng::baby_id`]). Nothing depends on thread count or on racing counters.

use super::{Ctx, CHUNK};
use crate::codes::{CARE_NONE, CHILD, GOOD};
use crate::rng::{baby_id, baby_keys, stream};
use crate::state::*;
use rayon::prelude::*;

use super::demography::baby_sex;

/// Remove the dead, insert babies. `scratch` is the second buffer (swapped with `persons`).
/// Returns the number of babies born.
pub fn births(ctx: &Ctx, persons: &mut Persons, scratch: &mut Persons) -> u64 {
    // 1. per chunk: survivors + babies, and babies alone
    let counts: Vec<(usize, u64)> = persons
        .status
        .par_chunks(CHUNK)
        .map(|st| {
            let mut out = 0usize;
            let mut babies = 0u64;
            for &s in st {
                out += (s & DEAD == 0) as usize + (s & GIVES_BIRTH != 0) as usize;
                babies += (s & GIVES_BIRTH != 0) as u64;
            }
            (out, babies)
        })
        .collect();
    let total: usize = counts.iter().map(|c| c.0).sum();
    let born: u64 = counts.iter().map(|c| c.1).sum();
    if total == persons.len() && born == 0 {
        return 0; // nobody died or was born: order and ids unchanged
    }

    // 2. each chunk's output range follows from the sizes
    let sizes: Vec<usize> = counts.iter().map(|c| c.0).collect();
    let bkeys = baby_keys(ctx.p.month);

    // 3. scatter: each chunk writes its own contiguous output range
    scratch.resize(total);
    let dst = split_columns(scratch, &sizes);
    let src = &*persons;
    dst.into_par_iter().enumerate().for_each(|(c, mut d)| {
        let base = c * CHUNK;
        let end = (base + CHUNK).min(src.len());
        let cols = [&src.id_lo, &src.id_hi, &src.household, &src.age_months, &src.status, &src.earnings, &src.wealth, &src.svc_wait];
        let mut o = 0usize;
        let mut i = base;
        while i < end {
            // a run of survivors without a birth is copied column by column
            let run = src.status[i..end].iter().position(|&s| s & (DEAD | GIVES_BIRTH) != 0).unwrap_or(end - i);
            for (dc, sc) in d.iter_mut().zip(cols) {
                dc[o..o + run].copy_from_slice(&sc[i..i + run]);
            }
            o += run;
            i += run;
            if i == end {
                break;
            }
            let s = src.status[i];
            if s & DEAD == 0 {
                for (dc, sc) in d.iter_mut().zip(cols) {
                    dc[o] = sc[i];
                }
                d[4][o] = s & !GIVES_BIRTH;
                o += 1;
                // a mother who survives has her baby placed right after her
                let st = stream(&ctx.keys, src.id_lo[i], src.id_hi[i]);
                let baby = baby_id(&bkeys, src.id_lo[i], src.id_hi[i]);
                d[0][o] = baby as u32;
                d[1][o] = (baby >> 32) as u32;
                d[2][o] = src.household[i];
                d[3][o] = 0;
                d[4][o] = pack_status(baby_sex(st), CHILD, GOOD, CARE_NONE) | BORN;
                d[5][o] = 0;
                d[6][o] = 0;
                d[7][o] = 0;
                o += 1;
            }
            i += 1;
        }
        debug_assert_eq!(o, d[0].len());
        let _ = &mut d;
    });
    std::mem::swap(persons, scratch);
    born
}

/// Split the eight columns of `p` into consecutive pieces of the given sizes, one set of
/// eight slices per piece.
fn split_columns<'a>(p: &'a mut Persons, sizes: &[usize]) -> Vec<[&'a mut [u32]; 8]> {
    let mut rests: Vec<&'a mut [u32]> = p.columns_mut().into_iter().map(|v| v.as_mut_slice()).collect();
    let mut out = Vec::with_capacity(sizes.len());
    for &n in sizes {
        let mut piece: Vec<&'a mut [u32]> = Vec::with_capacity(8);
        for r in rests.iter_mut() {
            let (a, b) = std::mem::take(r).split_at_mut(n);
            piece.push(a);
            *r = b;
        }
        out.push(piece.try_into().unwrap_or_else(|_| unreachable!()));
    }
    out
}
