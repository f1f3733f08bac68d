// person_policy.wgsl: state pension, income tax, NI, disability benefit, social-care means
// test. Twin of src/cpu/person_policy.rs.

fn income_tax_annual(gross: u32) -> u32 {
    var pa = params.pa;
    if (gross > params.pa_taper_threshold) {
        pa = sat_sub(pa, mul_bp(gross - params.pa_taper_threshold, params.pa_taper_bp));
    }
    let taxable = sat_sub(gross, pa);
    let basic = min(taxable, params.higher_threshold);
    let higher = sat_sub(min(taxable, params.additional_threshold), params.higher_threshold);
    let additional = sat_sub(taxable, params.additional_threshold);
    return mul_bp(basic, params.basic_bp) + mul_bp(higher, params.higher_bp) + mul_bp(additional, params.additional_bp);
}

fn income_tax_month(gross_month: u32) -> u32 {
    return income_tax_annual(gross_month * 12u) / 12u;
}

fn national_insurance(earnings_month: u32, at_spa: bool) -> u32 {
    let e = earnings_month * 12u;
    if (at_spa || e <= params.ni_pt) {
        return 0u;
    }
    return (mul_bp(min(e, params.ni_uel) - params.ni_pt, params.ni_main_bp) + mul_bp(sat_sub(e, params.ni_uel), params.ni_upper_bp)) / 12u;
}

fn disability_score(id_lo_: u32, id_hi_: u32) -> u32 {
    return ((draw(stream(d.persistent, id_lo_, id_hi_), SALT_DISABILITY_SCORE) >> 16u) * 100u) >> 16u;
}

fn disability_benefit(age_m: u32, h: u32, score: u32) -> u32 {
    if (age_m < params.dis_min_age) {
        return 0u;
    } else if (h == SEVERE && score >= params.dis_severe_threshold) {
        return params.dis_severe;
    } else if (h == LIMITING && score >= params.dis_threshold) {
        return params.dis_limiting;
    }
    return 0u;
}

// (funding, tariff income)
fn care_means_test(age_m: u32, need: u32, capital: u32) -> vec2<u32> {
    if (!care_eligible(age_m, need)) {
        return vec2<u32>(FUNDING_NONE, 0u);
    }
    if (capital > params.care_upper) {
        return vec2<u32>(FUNDING_SELF, 0u);
    }
    let steps = ceil_div(sat_sub(capital, params.care_lower), params.care_tariff_step);
    return vec2<u32>(FUNDING_COUNCIL, mul_sat(steps, params.care_tariff));
}

// Whether a person of this age and care need takes the care means test (which alone reads
// their capital).
fn care_eligible(age_m: u32, need: u32) -> bool {
    return age_m >= params.care_min_age && need >= params.care_eligible;
}

// Person i's capital where the means test reads it, read from memory only then (0 where it
// does not, which the test never looks at): in the passes that have the person's index, the
// wealth of 1,575 of the shipped sample's 99,971 persons is read in its first month (those
// eligible for care), 4 bytes a person fewer (the scatters have it in hand: they copy it).
fn capital_for(i: u32, age_m: u32, s: u32) -> u32 {
    if (care_eligible(age_m, st_care(s))) { return wealth[i]; }
    return 0u;
}

struct PersonPolicy { status: u32, tax: u32, ni: u32, sp: u32, dis: u32, care: u32 }

fn person_policy_person(id_lo_: u32, id_hi_: u32, age_m: u32, status_: u32, earnings_: u32, wealth_: u32) -> PersonPolicy {
    let s = status_;
    let birth_month = params.month - age_m;
    let at_spa = age_m >= t_spa(birth_month);
    var sp = 0u;
    if (at_spa) {
        sp = select(params.sp_basic, params.sp_full, birth_month >= params.sp_new_from);
    }
    let gross = earnings_ + sp;
    let h = st_health(s);
    var dis = 0u;
    if (h != GOOD) {
        dis = disability_benefit(age_m, h, disability_score(id_lo_, id_hi_));
    }
    let c = care_means_test(age_m, st_care(s), wealth_);
    return PersonPolicy(set_field(s, CARE_FUNDING_SHIFT, 3u, c.x), income_tax_month(gross), national_insurance(earnings_, at_spa), sp, dis, c.y);
}

@compute @workgroup_size(WG)
fn person_policy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = linear(gid, nwg);
    if (j >= d.n) { return; }
    let i = d.p_skip + j;
    let age = age_months[i];
    let s = status[i];
    store_person_policy(i, person_policy_person(id_lo[i], id_hi[i], age, s, earnings[i], capital_for(i, age, s)));
}

// What the stage writes for person i: the status (care funding) and the five results.
fn store_person_policy(i: u32, o: PersonPolicy) {
    status[i] = o.status;
    income_tax[i] = o.tax;
    ni[i] = o.ni;
    state_pension[i] = o.sp;
    disability[i] = o.dis;
    care_tariff[i] = o.care;
}

// Labour, health and person policy of person i in one go, writing what each stage writes, for
// the fused passes (GpuOptions::fuse_persons): each of the three reads only the person's own
// state and its household's info, which none of them writes, so person by person gives what
// stage by stage gives (src/cpu/fused.rs). Needs labour.wgsl and health.wgsl assembled before
// this file (src/gpu/wgsl.rs includes).
struct PersonMonth { age: u32, earnings: u32, info: u32, h: u32, o: PersonPolicy }

fn person_stages(i: u32) -> PersonMonth {
    let h = household[i] - d.h_base;
    let info = hh_info[h];
    let lo = id_lo[i];
    let hi = id_hi[i];
    let age = age_months[i];
    let lab = labour_person(lo, hi, age, status[i], earnings[i]);
    let s = health_person(lo, hi, age, lab.status, info);
    let o = person_policy_person(lo, hi, age, s, lab.earnings, capital_for(i, age, s));
    earnings[i] = lab.earnings;
    store_person_policy(i, o);
    return PersonMonth(age, lab.earnings, info, h, o);
}

@compute @workgroup_size(WG)
fn person_stages_pass(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = linear(gid, nwg);
    if (j >= d.n) { return; }
    _ = person_stages(d.p_skip + j);
}
