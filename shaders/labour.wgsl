// labour.wgsl: education, employment moves, retirement, earnings. Twin of src/cpu/labour.rs.

fn grow(e: u32, g_q20: i32) -> u32 {
    let q = min(u32(abs(g_q20)), 0xffffu);
    let hi = (e >> 16u) * q;
    let lo = (e & 0xffffu) * q;
    let inc = (hi >> 4u) + ((((hi & 15u) << 12u) + (lo >> 4u)) >> 16u);
    if (g_q20 >= 0) {
        return min(sat_add(e, inc), EARNINGS_CAP);
    }
    return sat_sub(e, inc);
}

fn entry_earnings(st: Stream, band: u32, sx: u32) -> u32 {
    return t_earnings(band, sx, draw(st, SALT_EARNINGS_ENTRY) >> 24u);
}

struct Labour { status: u32, earnings: u32 }

fn labour_person(id_lo_: u32, id_hi_: u32, age_m: u32, status_: u32, earnings_: u32) -> Labour {
    let s = status_;
    let e = st_employment(s);
    let age = age_m / 12u;
    let band = age_band(age);
    let h = st_health(s);
    let sx = st_sex(s);
    let st = stream(d.keys, id_lo_, id_hi_);
    var next = e;
    if (e == CHILD) {
        if (age >= 16u) {
            next = IN_EDUCATION;
        }
    } else if (e == IN_EDUCATION) {
        if (draw(st, SALT_EDUCATION_LEAVE) < t_edu_leave(age)) {
            let dd = draw(st, SALT_EDUCATION_DESTINATION);
            let p_emp = t_labour(band, h, 6u);
            let p_unemp = t_labour(band, h, 7u);
            if (dd < p_emp) {
                next = EMPLOYED;
            } else if (dd - p_emp < p_unemp) {
                next = UNEMPLOYED;
            } else {
                next = INACTIVE;
            }
        }
    } else if (e != RETIRED) {
        let birth_month = params.month - age_m;
        if (age_m >= t_spa(birth_month)) {
            if (e != EMPLOYED || draw(st, SALT_RETIRE) < t_retire(age)) {
                next = RETIRED;
            }
        } else {
            let dd = draw(st, SALT_LABOUR);
            var i = 4u;
            var to_a = EMPLOYED;
            var to_b = UNEMPLOYED;
            if (e == EMPLOYED) {
                i = 0u; to_a = UNEMPLOYED; to_b = INACTIVE;
            } else if (e == UNEMPLOYED) {
                i = 2u; to_a = EMPLOYED; to_b = INACTIVE;
            }
            let pa = t_labour(band, h, i);
            let pb = t_labour(band, h, i + 1u);
            if (dd < pa) {
                next = to_a;
            } else if (dd - pa < pb) {
                next = to_b;
            }
        }
    }
    var earn = earnings_;
    if (next == EMPLOYED) {
        if (e != EMPLOYED) {
            earn = entry_earnings(st, band, sx);
        } else {
            let g = bitcast<i32>(params.growth_q20) + t_growth_noise(draw(st, SALT_EARNINGS_GROWTH) >> 26u);
            earn = grow(earn, g);
        }
    } else {
        earn = 0u;
    }
    return Labour(set_field(s, EMPLOYMENT_SHIFT, 7u, next), earn);
}

@compute @workgroup_size(WG)
fn labour(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = linear(gid, nwg);
    if (j >= d.n) { return; }
    let i = d.p_skip + j;
    let o = labour_person(id_lo[i], id_hi[i], age_months[i], status[i], earnings[i]);
    status[i] = o.status;
    earnings[i] = o.earnings;
}
