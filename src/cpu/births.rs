//! Stage `births`: removes this month's dead and inserts this month's babies, by a
//! deterministic prefix sum (MODEL.md §6). Twin of `shaders/births.wgsl`.
//!
//! Person i moves to `sum over j < i of (alive_j + baby_j)`; a mother's baby is placed right
//! after her, so households stay contiguous. A baby's id is a function of its mother's id and
//! the month ([`crate::rng::baby_id`]). Nothing depends on thread count or on racing counters.
//!
//! **In place.** The CPU moves the persons within their own columns, not into a second buffer
//! (the GPU scatters into one). Deaths and births are rare (about one person in 600 a month),
//! so the persons fall into runs between them, each moved by one offset: the offset after a
//! run is one lower after a death and one higher after a mother. The destination is strictly
//! increasing in the source, so a person moving left never lands on a person not yet moved
//! when the left-moving runs are moved first, in order, and the right-moving runs after, in
//! reverse order; runs with offset 0 are not touched. The eight columns are moved in
//! parallel, each by the same list of runs, and the babies are written last.
//!
//! **The household index follows.** A household's first member moves to the number of persons
//! and babies before it, its start plus the offset there (whether that member survived or
//! not), and its size changes by its babies less its dead; so the index is updated from the
//! same events (`update_index`), household by household, instead of rebuilt from every
//! person. A household whose members have all died gets start 0 and size 0, as
//! [`Households::index_members`] gives it; debug builds check the update against a rebuild.

use super::{Ctx, CHUNK};
use crate::codes::{CARE_NONE, CHILD, GOOD};
use crate::rng::{baby_id, baby_keys, stream};
use crate::state::*;
use rayon::prelude::*;

use super::demography::baby_sex;

/// A run of persons moved by one offset: source start, destination start, length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Run {
    src: usize,
    dst: usize,
    len: usize,
}

/// Remove the dead, insert babies, in place, and update the households' index of their
/// members. Returns the number of babies born.
pub fn births(ctx: &Ctx, persons: &mut Persons, households: &mut Households) -> u64 {
    // 1. per chunk in parallel: where the dead and the mothers are
    let events: Vec<Vec<u32>> = persons
        .status
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(c, st)| {
            // about one person in 600: 64 at a time, an OR the compiler vectorises, then the
            // few groups with an event visited person by person
            let mut ev = Vec::new();
            for (g, grp) in st.chunks(64).enumerate() {
                if grp.iter().fold(0, |a, &s| a | s) & (DEAD | GIVES_BIRTH) == 0 {
                    continue;
                }
                for (k, &s) in grp.iter().enumerate() {
                    if s & (DEAD | GIVES_BIRTH) != 0 {
                        ev.push((c * CHUNK + g * 64 + k) as u32);
                    }
                }
            }
            ev
        })
        .collect();
    if events.iter().all(Vec::is_empty) {
        return 0; // nobody died or was born: order and ids unchanged
    }

    // 2. the runs between events, and each baby's row at its place after its mother
    let n = persons.len();
    let bkeys = baby_keys(ctx.p.month);
    let mut runs = Vec::new();
    let mut babies: Vec<(usize, [u32; 8])> = Vec::new();
    // each event's household and its change in size (-1 a death, +1 a birth)
    let mut sizes: Vec<(u32, i32)> = Vec::new();
    let (mut start, mut off) = (0usize, 0isize);
    let run = |start: usize, end: usize, off: isize, runs: &mut Vec<Run>| {
        if end > start && off != 0 {
            runs.push(Run { src: start, dst: start.wrapping_add_signed(off), len: end - start });
        }
    };
    for &e in events.iter().flatten() {
        let e = e as usize;
        if persons.status[e] & DEAD != 0 {
            run(start, e, off, &mut runs);
            sizes.push((persons.household[e], -1));
            off -= 1;
        } else {
            // a mother who survives has her baby placed right after her
            run(start, e + 1, off, &mut runs);
            let (lo, hi) = (persons.id_lo[e], persons.id_hi[e]);
            let st = stream(&ctx.keys, lo, hi);
            let baby = baby_id(&bkeys, lo, hi);
            let status = pack_status(baby_sex(st), CHILD, GOOD, CARE_NONE) | BORN;
            babies.push((e.wrapping_add_signed(off) + 1, [baby as u32, (baby >> 32) as u32, persons.household[e], 0, status, 0, 0, 0]));
            sizes.push((persons.household[e], 1));
            off += 1;
        }
        start = e + 1;
    }
    run(start, n, off, &mut runs);
    let total = n.wrapping_add_signed(off);

    // 3. per column in parallel: left-moving runs in order, right-moving runs in reverse,
    // then the babies
    let runs = &runs;
    let babies = &babies;
    persons.columns_mut().into_par_iter().enumerate().for_each(|(c, col)| {
        if total > col.len() {
            // room for some months of growth at once, not a doubling
            col.reserve_exact(total - col.len() + total / 256);
            col.resize(total, 0);
        }
        for r in runs.iter().filter(|r| r.dst < r.src) {
            col.copy_within(r.src..r.src + r.len, r.dst);
        }
        for r in runs.iter().rev().filter(|r| r.dst > r.src) {
            col.copy_within(r.src..r.src + r.len, r.dst);
        }
        for &(at, row) in babies {
            col[at] = row[c];
        }
        col.truncate(total);
    });
    // each mother, right before her baby, has given birth
    for &(at, _) in babies {
        persons.status[at - 1] &= !GIVES_BIRTH;
    }
    update_index(households, &events, &sizes);
    #[cfg(debug_assertions)]
    {
        let mut rebuilt = households.clone();
        rebuilt.index_members(&persons.household);
        debug_assert!(rebuilt.start == households.start && rebuilt.len == households.len, "the household index after births differs from a rebuild");
    }
    babies.len() as u64
}

/// Households per task of [`update_index`].
const H_CHUNK: usize = 1 << 14;

/// The households' index after the moves: `events` are the positions of the dead and the
/// mothers before them (in order, per chunk of persons), `sizes` each one's household and
/// change in size, in the same order.
fn update_index(hh: &mut Households, events: &[Vec<u32>], sizes: &[(u32, i32)]) {
    // the offset after each event: positions after events[k] move by offs[k + 1]
    let pos: Vec<u32> = events.iter().flatten().copied().collect();
    let mut offs = Vec::with_capacity(sizes.len() + 1);
    offs.push(0i64);
    for &(_, d) in sizes {
        offs.push(offs[offs.len() - 1] + d as i64);
    }
    let (pos, offs) = (&pos[..], &offs[..]);
    // a household's new start: its start plus the offset of the events before it (households
    // are in person order, so the events are walked forward; a binary search where not)
    hh.start.par_chunks_mut(H_CHUNK).zip(hh.len.par_chunks(H_CHUNK)).for_each(|(st, ln)| {
        let mut at: Option<(usize, u32)> = None;
        for (s, &l) in st.iter_mut().zip(ln) {
            if l == 0 {
                continue;
            }
            let mut k = match at {
                Some((k, last)) if last <= *s => k,
                _ => pos.partition_point(|&p| p < *s),
            };
            while k < pos.len() && pos[k] < *s {
                k += 1;
            }
            at = Some((k, *s));
            *s = (*s as i64 + offs[k]) as u32;
        }
    });
    for &(h, d) in sizes {
        let h = h as usize;
        hh.len[h] = hh.len[h].wrapping_add_signed(d);
        if hh.len[h] == 0 {
            hh.start[h] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The births by a second buffer, person by person: the rule the in-place moves must
    /// reproduce.
    fn by_copy(ctx: &Ctx, p: &Persons) -> Persons {
        let bkeys = baby_keys(ctx.p.month);
        let mut out = Persons::default();
        for i in 0..p.len() {
            let s = p.status[i];
            if s & DEAD != 0 {
                continue;
            }
            out.push(p.id(i), p.household[i], p.age_months[i], s & !GIVES_BIRTH, p.earnings[i], p.wealth[i]);
            *out.svc_wait.last_mut().expect("pushed") = p.svc_wait[i];
            if s & GIVES_BIRTH != 0 {
                let st = stream(&ctx.keys, p.id_lo[i], p.id_hi[i]);
                out.push(baby_id(&bkeys, p.id_lo[i], p.id_hi[i]), p.household[i], 0, pack_status(baby_sex(st), CHILD, GOOD, CARE_NONE) | BORN, 0, 0);
            }
        }
        out
    }

    #[test]
    fn in_place_moves_match_a_copy() {
        let (scenario, tables) = crate::cpu::baseline_for_tests();
        let p = scenario.resolve(scenario.start.add(3), 3).expect("params");
        let ctx = Ctx { p: &p, t: &tables, keys: crate::rng::StepKeys::new(7, 3), persistent: crate::rng::StepKeys::new(7, u32::MAX) };
        let mut x = 12345u32;
        let mut rnd = || {
            x = crate::rng::mix32(x.wrapping_add(0x9e37_79b9));
            x
        };
        // runs of deaths, of births, and mixed, at sizes around a chunk, with the offset
        // crossing zero both ways; in odd rounds the households are numbered out of person
        // order; each population goes through three months of births
        for (n, dead_in, birth_in) in [(0, 7, 7), (1, 2, 2), (50, 3, 100), (50, 100, 3), (CHUNK + 77, 40, 40), (3 * CHUNK + 5, 200, 9), (2 * CHUNK, 9, 200), (5000, 2, 2), (5000, 1_000_000, 2)] {
            for round in 0..4 {
                let n_h = n.div_ceil(3);
                // a permutation of the household numbers (7919 is prime, and no n_h here is a
                // multiple of it)
                let number = |g: usize| if round % 2 == 1 && n_h > 0 { (g * 7919) % n_h } else { g };
                let mut p = Persons::default();
                for i in 0..n {
                    p.push(((i as u64) << 20) | rnd() as u64, number(i / 3) as u32, rnd() % 1200, rnd() & !EVENT_FLAGS, rnd(), rnd());
                    *p.svc_wait.last_mut().expect("pushed") = rnd();
                }
                let mut hh = Households { id: (0..n_h as u64).collect(), ..Default::default() };
                hh.index_members(&p.household);
                for month in 0..3 {
                    for i in 0..p.len() {
                        let r = rnd();
                        let mut s = p.status[i] & !EVENT_FLAGS;
                        // in some rounds the events come in long stretches of one kind
                        let phase = if round < 2 { 0 } else { (i * 4 / p.len().max(1)) % 2 };
                        if r % dead_in.max(1) == 0 && (phase == 0 || round == 2) {
                            s |= DEAD;
                        } else if rnd() % birth_in.max(1) == 0 && (phase == 1 || round != 2) {
                            s |= GIVES_BIRTH;
                        }
                        p.status[i] = s;
                    }
                    let want = by_copy(&ctx, &p);
                    let born_want = (0..p.len()).filter(|&i| p.status[i] & (DEAD | GIVES_BIRTH) == GIVES_BIRTH).count() as u64;
                    let born = births(&ctx, &mut p, &mut hh);
                    assert_eq!(born, born_want, "n {n} round {round} month {month}");
                    assert_eq!(p, want, "n {n} round {round} month {month}");
                    let mut rebuilt = hh.clone();
                    rebuilt.index_members(&p.household);
                    assert_eq!((&hh.start, &hh.len), (&rebuilt.start, &rebuilt.len), "n {n} round {round} month {month}");
                }
            }
        }
    }
}
