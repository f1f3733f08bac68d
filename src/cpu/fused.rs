//! The CPU path's fusion of consecutive per-person stages into one pass: `labour`, `health`
//! and `person_policy` run in that order on a block of persons at a time, with the persons'
//! random streams and every draw the three stages can make computed once per block
//! ([`crate::rng::Block`]). Each stage's per-person function reads only the person's own state
//! and its household's (which none of the three writes), so running them person by person
//! gives exactly what running them stage by stage gives. The GPU path runs the three shaders
//! one after another by default, or fused (`GpuOptions::fuse_persons`: `person_stages_pass`
//! in shaders/person_policy.wgsl, or `person_month` in shaders/accounting.wgsl, which also
//! counts the persons' measures as this pass does).
//!
//! The rules are written a second time here as a block kernel (`kernel`): a sequence of
//! loops over the block's lanes, table lookups in loops of their own and every branch of the
//! per-person functions turned into a select, which the compiler vectorises (AVX-512 or AVX2,
//! chosen at run time: [`crate::simd`]). The rate tables are rearranged once a month
//! ([`KernelTables`]) into tables of at most 128 words, looked up by in-register permutes with
//! AVX-512 ([`crate::simd::lookup`]); the two larger ones (pension age by birth month, entry
//! earnings) by gathers. Draws that a person's branch may not need (leaving education, retiring,
//! entry earnings) are computed for every lane. Divisions by 10,000 use the 32-bit limb
//! algorithm of the WGSL twin ([`crate::fixed::mul_div_limbs`], exact for rates up to 100%,
//! which the scenario checks). The per-person functions in `labour.rs`, `health.rs` and
//! `person_policy.rs` stay the reference: a test compares the kernel with them lane by lane on
//! random states, and the stage-by-stage engine with this one month by month.
//!
//! The pass also counts each person's accounting measures (the accounting stage's person
//! part), since nothing later in the month changes them.

use super::{accounting, health::MAX_HEALTH_MULT, Ctx, CHUNK};
use crate::measures::Acc;
use crate::codes::*;
use super::{sel, tab};
use crate::fixed::{mul_div_limbs, mul_mult, BP};
use crate::params::StepParams;
use crate::rng::{Block, Process, BLOCK};
use crate::state::*;
use crate::tables::{layout, AGES, BANDS, EARN_Q, NOISE_Q, SPA_FROM_YEAR, SPA_LEN};
use rayon::prelude::*;

/// The draws of the fused pass, in [`Block::fill`] order.
pub const DRAWS: [Process; 8] = [
    Process::Labour,
    Process::EarningsGrowth,
    Process::Health,
    Process::Care,
    Process::EducationLeave,
    Process::EducationDestination,
    Process::Retire,
    Process::EarningsEntry,
];

/// The fused pass over every person; returns the persons' accounting measures
/// ([`accounting::person_measures`]: the month's end state of a person is known once this
/// pass has run, as nothing after it changes the person's status, earnings or policy results).
pub fn labour_health_policy(ctx: &Ctx, persons: &mut Persons, hh: &Households, out: &mut PersonOut) -> Acc {
    let n = persons.len();
    out.resize(n);
    let Persons { id_lo, id_hi, household, age_months, status, earnings, wealth, .. } = persons;
    let PersonOut { income_tax, ni, state_pension, disability, care_tariff } = out;
    let kt = &*KernelTables::new(ctx.p, &ctx.t.words);
    let pt = super::PerThread::new(|| (Block::new(), Block::new(), Box::new([0u32; BLOCK]), accounting::States::new(), Box::new(accounting::Lanes::default()), KernelScratch::new()));
    (
        status.par_chunks_mut(CHUNK),
        earnings.par_chunks_mut(CHUNK),
        income_tax.par_chunks_mut(CHUNK),
        ni.par_chunks_mut(CHUNK),
        state_pension.par_chunks_mut(CHUNK),
        disability.par_chunks_mut(CHUNK),
        care_tariff.par_chunks_mut(CHUNK),
    )
        .into_par_iter()
        .enumerate()
        .for_each(|(c, (st, earn, tax, ni, sp, dis, care))| {
            pt.with(|(blk, pers, info, states, ml, sc)| {
                for b in (0..st.len()).step_by(BLOCK) {
                    let i0 = c * CHUNK + b;
                    let n = BLOCK.min(st.len() - b);
                    let r = i0..i0 + n;
                    let l = b..b + n;
                    blk.fill(&ctx.keys, &id_lo[r.clone()], &id_hi[r.clone()], &DRAWS);
                    pers.fill(&ctx.persistent, &id_lo[r.clone()], &id_hi[r.clone()], &[Process::DisabilityScore]);
                    for (k, &h) in household[r.clone()].iter().enumerate() {
                        info[k] = hh.info[h as usize];
                        ml.w[k] = hh.weight[h as usize];
                    }
                    let lanes = Lanes {
                        kt,
                        d: &blk.d,
                        d_score: &pers.d[0][..n],
                        age: &age_months[r.clone()],
                        info: &info[..n],
                        wealth: &wealth[r.clone()],
                        st: &mut st[l.clone()],
                        earn: &mut earn[l.clone()],
                        tax: &mut tax[l.clone()],
                        ni: &mut ni[l.clone()],
                        sp: &mut sp[l.clone()],
                        dis: &mut dis[l.clone()],
                        care: &mut care[l.clone()],
                        sc,
                    };
                    run_kernel(ctx, lanes);
                    accounting::person_block(&info[..n], &age_months[r.clone()], &st[l.clone()], [&earn[l.clone()], &tax[l.clone()], &ni[l.clone()], &sp[l.clone()], &dis[l.clone()], &care[l.clone()]], ml, states);
                }
            })
        });
    let mut acc = Acc::default();
    for (_, _, _, states, _, _) in pt.into_values() {
        states.add_to(&mut acc);
    }
    acc
}

/// The fused kernel's rate tables for one month, arranged so that each is at most 128 words
/// indexed by one lane value, for lookups by in-register permutes ([`crate::simd::lookup`]).
pub struct KernelTables {
    /// Labour thresholds out of the current state, to a and to b (labour.rs), by
    /// `case × 24 + band × 3 + health` (case 0 employed, 1 unemployed, 2 inactive).
    pub lab_a: [u32; 72],
    pub lab_b: [u32; 72],
    /// Education leavers' destinations, employed and unemployed, by `band × 3 + health`.
    pub dest_emp: [u32; 24],
    pub dest_unemp: [u32; 24],
    /// Leaving education and retiring at state pension age, by age in years.
    pub edu_leave: [u32; AGES],
    pub retire: [u32; AGES],
    /// Earnings growth noise by quantile.
    pub noise: [u32; NOISE_Q],
    /// Onset of a limiting condition and limiting to severe, by `band × 4 + spillover case`
    /// (1: homeless or in temporary accommodation, 2: unemployed, 3: both), the spillover
    /// multipliers applied ([`crate::fixed::mul_mult`]).
    pub onset: [u32; BANDS * 4],
    pub severe: [u32; BANDS * 4],
    /// Limiting to good, severe to limiting, and the four care-need thresholds, by band.
    pub recover: [u32; BANDS],
    pub to_limiting: [u32; BANDS],
    pub care: [[u32; BANDS]; 4],
}

impl KernelTables {
    pub fn new(p: &StepParams, w: &[u32]) -> Box<KernelTables> {
        let labour: &[u32; BANDS * 3 * 8] = tab(w, layout::LABOUR);
        let health_t: &[u32; BANDS * 4] = tab(w, layout::HEALTH);
        let care_t: &[u32; BANDS * 4] = tab(w, layout::CARE);
        let mults = [BP, p.sp_homeless_health_bp, p.sp_unemployed_health_bp, mul_mult(p.sp_homeless_health_bp, p.sp_unemployed_health_bp)].map(|m| m.min(MAX_HEALTH_MULT));
        Box::new(KernelTables {
            lab_a: std::array::from_fn(|j| labour[(j % 24) * 8 + 2 * (j / 24)]),
            lab_b: std::array::from_fn(|j| labour[(j % 24) * 8 + 2 * (j / 24) + 1]),
            dest_emp: std::array::from_fn(|r| labour[r * 8 + 6]),
            dest_unemp: std::array::from_fn(|r| labour[r * 8 + 7]),
            edu_leave: *tab(w, layout::EDU_LEAVE),
            retire: *tab(w, layout::RETIRE),
            noise: *tab(w, layout::GROWTH_NOISE),
            onset: std::array::from_fn(|j| mul_mult(health_t[(j / 4) * 4], mults[j % 4])),
            severe: std::array::from_fn(|j| mul_mult(health_t[(j / 4) * 4 + 1], mults[j % 4])),
            recover: std::array::from_fn(|b| health_t[b * 4 + 2]),
            to_limiting: std::array::from_fn(|b| health_t[b * 4 + 3]),
            care: std::array::from_fn(|c| std::array::from_fn(|b| care_t[b * 4 + c])),
        })
    }
}

/// One block's inputs and outputs (every slice the block's length).
pub struct Lanes<'a> {
    /// The month's tables, arranged for lookups ([`KernelTables::new`]).
    pub kt: &'a KernelTables,
    /// The block's draws for [`DRAWS`].
    pub d: &'a [[u32; BLOCK]; 8],
    /// `DisabilityScore` draws (persistent stream).
    pub d_score: &'a [u32],
    /// Age in months after this month's ageing.
    pub age: &'a [u32],
    /// The household's info word.
    pub info: &'a [u32],
    pub wealth: &'a [u32],
    pub st: &'a mut [u32],
    pub earn: &'a mut [u32],
    pub tax: &'a mut [u32],
    pub ni: &'a mut [u32],
    pub sp: &'a mut [u32],
    pub dis: &'a mut [u32],
    pub care: &'a mut [u32],
    /// The kernel's working lanes (kept by the caller, so they are not zeroed every block).
    pub sc: &'a mut KernelScratch,
}

/// The fused kernel's intermediate lanes: indices, looked-up thresholds and draws' values.
pub struct KernelScratch {
    band: [u32; BLOCK],
    year: [u32; BLOCK],
    row: [u32; BLOCK],
    lab_i: [u32; BLOCK],
    noise_i: [u32; BLOCK],
    spa: [u32; BLOCK],
    t_edu: [u32; BLOCK],
    t_ret: [u32; BLOCK],
    t_a: [u32; BLOCK],
    t_b: [u32; BLOCK],
    t_emp: [u32; BLOCK],
    t_unemp: [u32; BLOCK],
    entry: [u32; BLOCK],
    growth: [u32; BLOCK],
    case: [u32; BLOCK],
    th: [[u32; BLOCK]; 8],
}

impl KernelScratch {
    pub fn new() -> Box<KernelScratch> {
        let z = [0u32; BLOCK];
        Box::new(KernelScratch { band: z, year: z, row: z, lab_i: z, noise_i: z, spa: z, t_edu: z, t_ret: z, t_a: z, t_b: z, t_emp: z, t_unemp: z, entry: z, growth: z, case: z, th: [z; 8] })
    }
}

/// `kernel`, compiled for AVX-512 or AVX2 when the CPU has it ([`crate::simd`]: the same code;
/// the values do not depend on the instructions chosen).
pub fn run_kernel(ctx: &Ctx, lanes: Lanes) {
    run_kernel_at(crate::simd::level(), ctx, lanes)
}

/// [`run_kernel`] at a chosen level of vector instructions (at most the CPU's).
pub fn run_kernel_at(level: crate::simd::Level, ctx: &Ctx, lanes: Lanes) {
    // the parameters copied, so the compiler knows the block's stores cannot change them
    let p = *ctx.p;
    let Lanes { kt, d, d_score, age, info, wealth, st, earn, tax, ni, sp, dis, care, sc } = lanes;
    kernel_at(level, &p, &ctx.t.words, kt, d, d_score, age, info, wealth, st, earn, tax, ni, sp, dis, care, sc);
}

crate::simd::at_level!(fn kernel_at(
    p: &StepParams,
    w: &[u32],
    kt: &KernelTables,
    d: &[[u32; BLOCK]; 8],
    d_score: &[u32],
    age: &[u32],
    info: &[u32],
    wealth: &[u32],
    st: &mut [u32],
    earn: &mut [u32],
    tax: &mut [u32],
    ni: &mut [u32],
    sp: &mut [u32],
    dis: &mut [u32],
    care: &mut [u32],
    sc: &mut KernelScratch,
) = @level kernel);

/// Labour, health and person policy for one block (MODEL.md §3 steps 2, 3 and 5, person
/// rules), lane by lane, without branches on the data.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn kernel(
    level: crate::simd::Level,
    p: &StepParams,
    w: &[u32],
    kt: &KernelTables,
    d: &[[u32; BLOCK]; 8],
    d_score: &[u32],
    age: &[u32],
    info: &[u32],
    wealth: &[u32],
    st: &mut [u32],
    earn: &mut [u32],
    tax: &mut [u32],
    ni: &mut [u32],
    sp: &mut [u32],
    dis: &mut [u32],
    care_out: &mut [u32],
    sc: &mut KernelScratch,
) {
    let n = st.len();
    use crate::simd::lookup;
    let earnings: &[u32; BANDS * 2 * EARN_Q] = tab(w, layout::EARNINGS);
    let spa_t: &[u32; SPA_LEN] = tab(w, layout::SPA);
    let (age, info, wealth, d_score) = (&age[..n], &info[..n], &wealth[..n], &d_score[..n]);
    let (st, earn) = (&mut st[..n], &mut earn[..n]);
    let [d_lab, d_growth, d_health, d_care, d_leave, d_dest, d_retire, d_entry] = d;
    let (d_lab, d_growth, d_health, d_care) = (&d_lab[..n], &d_growth[..n], &d_health[..n], &d_care[..n]);
    let (d_leave, d_dest, d_retire, d_entry) = (&d_leave[..n], &d_dest[..n], &d_retire[..n], &d_entry[..n]);

    // lookups, each in a loop of its own: the indices first, then the tables of up to 128
    // words by permutes ([`crate::simd::lookup`]), the two larger ones by gathers
    let KernelScratch { band, year, row, lab_i, noise_i, spa, t_edu, t_ret, t_a, t_b, t_emp, t_unemp, entry, growth, case, th } = sc;
    let (band, year, row, lab_i, noise_i) = (&mut band[..n], &mut year[..n], &mut row[..n], &mut lab_i[..n], &mut noise_i[..n]);
    let (spa, t_edu, t_ret) = (&mut spa[..n], &mut t_edu[..n], &mut t_ret[..n]);
    let (t_a, t_b, t_emp, t_unemp) = (&mut t_a[..n], &mut t_b[..n], &mut t_emp[..n], &mut t_unemp[..n]);
    let (entry, growth) = (&mut entry[..n], &mut growth[..n]);
    for k in 0..n {
        let s = st[k];
        let e = employment(s);
        band[k] = age_band_by_bounds(age[k] / 12);
        year[k] = (age[k] / 12).min(AGES as u32 - 1);
        row[k] = band[k] * 3 + health(s);
        lab_i[k] = sel(e == EMPLOYED, 0, sel(e == UNEMPLOYED, 24, 48)) + row[k];
        noise_i[k] = d_growth[k] >> 26;
    }
    for k in 0..n {
        let i = p.month.wrapping_sub(age[k]).saturating_sub(SPA_FROM_YEAR * 12).min(SPA_LEN as u32 - 1);
        spa[k] = spa_t[i as usize];
    }
    lookup(level, &kt.edu_leave, year, t_edu);
    lookup(level, &kt.retire, year, t_ret);
    lookup(level, &kt.lab_a, lab_i, t_a);
    lookup(level, &kt.lab_b, lab_i, t_b);
    lookup(level, &kt.dest_emp, row, t_emp);
    lookup(level, &kt.dest_unemp, row, t_unemp);
    lookup(level, &kt.noise, noise_i, growth);
    for k in 0..n {
        let q = ((band[k] * 2 + sex(st[k])) as usize * EARN_Q + (d_entry[k] >> 24) as usize).min(BANDS * 2 * EARN_Q - 1);
        entry[k] = earnings[q];
    }

    // labour (labour.rs: labour_person_st)
    for k in 0..n {
        let s = st[k];
        let e = employment(s);
        let a = age[k];
        let at_spa = a >= spa[k];
        let to_edu = sel(a / 12 >= 16, IN_EDUCATION, CHILD);
        let dd = d_dest[k];
        let dest = sel(dd < t_emp[k], EMPLOYED, sel(dd.wrapping_sub(t_emp[k]) < t_unemp[k], UNEMPLOYED, INACTIVE));
        let from_edu = sel(d_leave[k] < t_edu[k], dest, IN_EDUCATION);
        let retires = e != EMPLOYED || d_retire[k] < t_ret[k];
        let to_a = sel(e == EMPLOYED, UNEMPLOYED, EMPLOYED);
        let to_b = sel(e == INACTIVE, UNEMPLOYED, INACTIVE);
        let dl = d_lab[k];
        let moved = sel(dl < t_a[k], to_a, sel(dl.wrapping_sub(t_a[k]) < t_b[k], to_b, e));
        let from_work = sel(at_spa, sel(retires, RETIRED, e), moved);
        let next = sel(e == CHILD, to_edu, sel(e == IN_EDUCATION, from_edu, sel(e == RETIRED, RETIRED, from_work)));
        // earnings (labour::grow, inline)
        let g = (p.growth_q20 as i32).wrapping_add(growth[k] as i32);
        let q = g.unsigned_abs().min(0xffff);
        let old = earn[k];
        let hi = (old >> 16) * q;
        let lo = (old & 0xffff) * q;
        let inc = (hi >> 4) + ((((hi & 15) << 12) + (lo >> 4)) >> 16);
        let grown = sel(g >= 0, old.saturating_add(inc).min(EARNINGS_CAP), old.saturating_sub(inc));
        earn[k] = sel(next == EMPLOYED, sel(e == EMPLOYED, grown, entry[k]), 0);
        st[k] = set_field(s, EMPLOYMENT_SHIFT, 7, next);
    }

    // health and care need (health.rs: health_person_st), after labour. The deterioration
    // thresholds depend on the band and on which of the two spillover multipliers apply (the
    // 8 × 4 cases computed once a month: [`KernelTables::new`])
    {
        let case = &mut case[..n];
        for k in 0..n {
            let ten = tenure(info[k]);
            case[k] = band[k] * 4 + (ten == HOMELESS || ten == TEMPORARY) as u32 + 2 * (employment(st[k]) == UNEMPLOYED) as u32;
        }
        let [t_on, t_sev, t_rec, t_sl, c_lim, c_sev, c_sub, c_rec] = &mut *th;
        lookup(level, &kt.onset, case, t_on);
        lookup(level, &kt.severe, case, t_sev);
        lookup(level, &kt.recover, band, t_rec);
        lookup(level, &kt.to_limiting, band, t_sl);
        lookup(level, &kt.care[0], band, c_lim);
        lookup(level, &kt.care[1], band, c_sev);
        lookup(level, &kt.care[2], band, c_sub);
        lookup(level, &kt.care[3], band, c_rec);
    }
    let [t_on, t_sev, t_rec, t_sl, c_lim, c_sev, c_sub, c_rec] = &*th;
    let (t_on, t_sev, t_rec, t_sl) = (&t_on[..n], &t_sev[..n], &t_rec[..n], &t_sl[..n]);
    let (c_lim, c_sev, c_sub, c_rec) = (&c_lim[..n], &c_sev[..n], &c_sub[..n], &c_rec[..n]);
    for k in 0..n {
        let s = st[k];
        let h = health(s);
        let d = d_health[k];
        let from_good = sel(d < t_on[k], LIMITING, GOOD);
        let from_limiting = sel(d < t_sev[k], SEVERE, sel(d.wrapping_sub(t_sev[k]) < t_rec[k], GOOD, LIMITING));
        let from_severe = sel(d < t_sl[k], LIMITING, h);
        let h = sel(h == GOOD, from_good, sel(h == LIMITING, from_limiting, from_severe));
        let c = care(s);
        let dc = d_care[k];
        let onset = (h == LIMITING && dc < c_lim[k]) || (h == SEVERE && dc < c_sev[k]);
        let from_moderate = sel(dc < c_sub[k], CARE_SUBSTANTIAL, sel(dc.wrapping_sub(c_sub[k]) < c_rec[k], CARE_NONE, CARE_MODERATE));
        let c = sel(c == CARE_NONE, sel(onset, CARE_MODERATE, CARE_NONE), sel(c == CARE_MODERATE, from_moderate, c));
        st[k] = set_field(set_field(s, HEALTH_SHIFT, 3, h), CARE_SHIFT, 3, c);
    }

    // person policy (person_policy.rs: person_policy_person), after health
    let (tax, ni, sp, dis, care_out) = (&mut tax[..n], &mut ni[..n], &mut sp[..n], &mut dis[..n], &mut care_out[..n]);
    let mut council = false;
    for k in 0..n {
        let s = st[k];
        let a = age[k];
        let e = earn[k];
        let at_spa = a >= spa[k];
        let birth_month = p.month.wrapping_sub(a);
        let pension = sel(at_spa, sel(birth_month >= p.sp_new_from, p.sp_full, p.sp_basic), 0);
        sp[k] = pension;
        // income tax on the annualised gross
        let g = e.wrapping_add(pension).wrapping_mul(12);
        let pa = p.pa.saturating_sub(mul_div_limbs(g.saturating_sub(p.pa_taper_threshold), p.pa_taper_bp, BP));
        let taxable = g.saturating_sub(pa);
        let basic = taxable.min(p.higher_threshold);
        let higher = taxable.min(p.additional_threshold).saturating_sub(p.higher_threshold);
        let additional = taxable.saturating_sub(p.additional_threshold);
        tax[k] = mul_div_limbs(basic, p.basic_bp, BP).wrapping_add(mul_div_limbs(higher, p.higher_bp, BP)).wrapping_add(mul_div_limbs(additional, p.additional_bp, BP)) / 12;
        // employee NI
        let e12 = e.wrapping_mul(12);
        let v = mul_div_limbs(e12.min(p.ni_uel).wrapping_sub(p.ni_pt), p.ni_main_bp, BP).wrapping_add(mul_div_limbs(e12.saturating_sub(p.ni_uel), p.ni_upper_bp, BP)) / 12;
        ni[k] = sel(at_spa || e12 <= p.ni_pt, 0, v);
        // disability benefit
        let h = health(s);
        let score = ((d_score[k] >> 16) * 100) >> 16;
        let rate = sel(h == SEVERE && score >= p.dis_severe_threshold, p.dis_severe, sel(h == LIMITING && score >= p.dis_threshold, p.dis_limiting, 0));
        dis[k] = sel(a < p.dis_min_age, 0, rate);
        // social-care means test: funding here, tariff income below for the council-supported
        let eligible = a >= p.care_min_age && care(s) >= p.care_eligible;
        let funding = sel(eligible, sel(wealth[k] > p.care_upper, FUNDING_SELF, FUNDING_COUNCIL), FUNDING_NONE);
        council |= funding == FUNDING_COUNCIL;
        care_out[k] = 0;
        st[k] = set_field(s, CARE_FUNDING_SHIFT, 3, funding);
    }
    if council {
        for k in 0..n {
            if care_funding(st[k]) == FUNDING_COUNCIL {
                care_out[k] = crate::cpu::person_policy::care_means_test(p, age[k], care(st[k]), wealth[k]).1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::{health, labour, person_policy};
    use crate::rng::{SplitMix64, StepKeys};

    #[test]
    fn limb_products_match_for_rates() {
        let mut r = SplitMix64::new(11, 0);
        for _ in 0..1_000_000 {
            let a = r.next_u64() as u32;
            let bp = (r.next_u64() % 10_001) as u32;
            assert_eq!(mul_div_limbs(a, bp, BP), crate::fixed::mul_bp(a, bp), "a={a} bp={bp}");
        }
    }

    /// The block kernel against the per-person functions run one after another, on random
    /// states, draws and parameters (spillover multipliers and rates away from their defaults).
    #[test]
    fn kernel_matches_the_per_person_rules() {
        let scenario = crate::scenario::Scenario::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/baseline.toml")).expect("default scenario");
        let tables = crate::tables::Tables::build(&scenario).expect("tables");
        let mut r = SplitMix64::new(3, 1);
        for trial in 0..60 {
            let mut p = scenario.resolve(scenario.start.add(trial * 7), trial).expect("params");
            if trial % 2 == 1 {
                p.sp_homeless_health_bp = (r.next_u64() % 100_001) as u32;
                p.sp_unemployed_health_bp = (r.next_u64() % 100_001) as u32;
                p.pa_taper_bp = (r.next_u64() % 10_001) as u32;
                p.ni_main_bp = (r.next_u64() % 10_001) as u32;
                p.dis_threshold = (r.next_u64() % 100) as u32;
                p.care_eligible = (r.next_u64() % 3) as u32;
            }
            let ctx = Ctx { p: &p, t: &tables, keys: StepKeys::new(trial as u64, trial), persistent: StepKeys::new(trial as u64, u32::MAX) };
            let n = 1 + (r.next_u64() % BLOCK as u64) as usize;
            let mut d = [[0u32; BLOCK]; 8];
            for row in d.iter_mut() {
                for v in row.iter_mut() {
                    // thresholds are small numbers: draws near zero exercise the events
                    *v = if r.below(3) == 0 { (r.next_u64() as u32) >> r.below(32) } else { r.next_u64() as u32 };
                }
            }
            let rnd = |r: &mut SplitMix64, n: usize, f: &dyn Fn(&mut SplitMix64) -> u32| (0..n).map(|_| f(r)).collect::<Vec<u32>>();
            let d_score = rnd(&mut r, n, &|r| r.next_u64() as u32);
            let age = rnd(&mut r, n, &|r| r.below(MAX_AGE_MONTHS as u64 + 1) as u32);
            let info = rnd(&mut r, n, &|r| pack_info(r.below(12) as u32, r.below(5) as u32));
            let wealth = rnd(&mut r, n, &|r| if r.below(2) == 0 { r.below(40_000) as u32 } else { (r.next_u64() as u32) >> r.below(32) });
            let st0 = rnd(&mut r, n, &|r| pack_status(r.below(2) as u32, r.below(6) as u32, r.below(3) as u32, r.below(3) as u32));
            let earn0 = rnd(&mut r, n, &|r| if r.below(4) == 0 { EARNINGS_CAP - r.below(1000) as u32 } else { r.below(1_000_000) as u32 });
            // every level of vector instructions the CPU has, each against the per-person rules
            for level in crate::simd::levels() {
                let (mut st, mut earn) = (st0.clone(), earn0.clone());
                let mut outs = vec![vec![0u32; n]; 5];
                let [tax, ni, sp, dis, care] = &mut outs[..] else { unreachable!() };
                run_kernel_at(level, &ctx, Lanes { kt: &KernelTables::new(&p, &tables.words), d: &d, d_score: &d_score, age: &age, info: &info, wealth: &wealth, st: &mut st, earn: &mut earn, tax, ni, sp, dis, care, sc: &mut KernelScratch::new() });
                for k in 0..n {
                    let (mut s, mut e) = (st0[k], earn0[k]);
                    // the per-person functions take the stream only for the draws below, which
                    // the block already holds: give them a stream whose draws are these
                    let draws = |pr: Process| d[DRAWS.iter().position(|&q| q == pr).expect("draw")][k];
                    labour::labour_person_draws(&ctx, &draws, age[k], &mut s, &mut e);
                    health::health_person_st(&ctx, d[2][k], d[3][k], age[k], &mut s, info[k]);
                    let mut o = [0u32; 5];
                    let [a, b, c, dd, ee] = &mut o;
                    person_policy::person_policy_person(&ctx, || person_policy::score_of(d_score[k]), age[k], &mut s, e, wealth[k], a, b, c, dd, ee);
                    let got = [st[k], earn[k], outs[0][k], outs[1][k], outs[2][k], outs[3][k], outs[4][k]];
                    assert_eq!(got, [s, e, o[0], o[1], o[2], o[3], o[4]], "{level:?} trial {trial} lane {k}: status {:#x} earnings {} age {} info {:#x}", st0[k], earn0[k], age[k], info[k]);
                }
            }
        }
    }
}
