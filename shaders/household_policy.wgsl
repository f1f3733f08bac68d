// household_policy.wgsl: household finances and the household benefits, one invocation per
// household looping over its contiguous members. Twin of src/cpu/household_policy.rs.

struct Finances {
    adults: u32,
    children: u32,
    protected_children: u32,
    adults_below_spa: u32,
    max_adult_age: u32,
    earnings: u32,
    net_earnings: u32,
    unearned: u32,
    capital: u32,
    disability: bool,
    lcw: bool,
    max_adult_income: u32,
    person_net: u32,
}

struct Benefits { universal_credit: u32, pension_credit: u32, child_benefit: u32, hicbc: u32, cap_reduction: u32 }

fn universal_credit_amount(f: Finances, region: u32, tenure: u32, rent: u32) -> u32 {
    if (f.adults == 0u || f.adults_below_spa == 0u || f.capital > params.uc_capital_upper) {
        return 0u;
    }
    let older = f.max_adult_age >= params.uc_age_threshold;
    var standard: u32;
    if (f.adults >= 2u) {
        standard = select(params.uc_couple_u25, params.uc_couple_25, older);
    } else {
        standard = select(params.uc_single_u25, params.uc_single_25, older);
    }
    var paid_children = f.children;
    if (params.two_child_limit_on != 0u) {
        paid_children = max(f.protected_children, min(f.children, params.two_child_limit_count));
    }
    var child = paid_children * params.uc_child;
    if (f.protected_children > 0u && paid_children > 0u) {
        child += sat_sub(params.uc_child_first_higher, params.uc_child);
    }
    var housing = rent;
    if (tenure == PRIVATE_RENT) {
        housing = min(rent, params.lha[region]);
    } else if (tenure == OWNER || tenure == HOMELESS) {
        housing = 0u;
    }
    let maximum = sat_add(sat_add(standard, child), housing);
    var work_allowance = 0u;
    if (f.children > 0u || f.lcw) {
        work_allowance = select(params.uc_wa_no_housing, params.uc_wa_housing, housing > 0u);
    }
    let earnings_deduction = mul_bp(sat_sub(f.net_earnings, work_allowance), params.uc_taper_bp);
    let tariff = mul_sat(ceil_div(sat_sub(f.capital, params.uc_capital_lower), 250u), params.uc_capital_tariff);
    return sat_sub(maximum, sat_add(sat_add(earnings_deduction, f.unearned), tariff));
}

fn pension_credit_amount(f: Finances) -> u32 {
    if (f.adults == 0u || f.adults_below_spa > 0u) {
        return 0u;
    }
    let guarantee = select(params.pc_single, params.pc_couple, f.adults >= 2u);
    let deemed = mul_sat(ceil_div(sat_sub(f.capital, params.pc_capital_disregard), 500u), params.pc_capital_tariff);
    return sat_sub(guarantee, sat_add(sat_add(f.net_earnings, f.unearned), deemed));
}

// (child benefit, high income charge)
fn child_benefit_amount(f: Finances) -> vec2<u32> {
    if (f.children == 0u) {
        return vec2<u32>(0u, 0u);
    }
    let cb = params.cb_eldest + (f.children - 1u) * params.cb_additional;
    let income = f.max_adult_income * 12u;
    if (income <= params.hicbc_start) {
        return vec2<u32>(cb, 0u);
    }
    let range = params.hicbc_end - params.hicbc_start;
    let over = min(income - params.hicbc_start, range);
    let percent = mul_div(over, 100u, range);
    return vec2<u32>(cb, mul_div(cb, percent, 100u));
}

fn benefit_cap(f: Finances, region: u32, uc: u32, cb: u32) -> u32 {
    if (uc == 0u || f.net_earnings >= params.cap_earnings_exemption || f.disability || f.lcw) {
        return 0u;
    }
    let family = f.adults >= 2u || f.children > 0u;
    let london = region == LONDON;
    var cap: u32;
    if (family) {
        cap = select(params.cap_family, params.cap_family_london, london);
    } else {
        cap = select(params.cap_single, params.cap_single_london, london);
    }
    let total = sat_add(uc, cb);
    if (total > cap) {
        return min(total - cap, uc);
    }
    return 0u;
}

fn benefits(f: Finances, region: u32, tenure: u32, rent: u32) -> Benefits {
    let uc = universal_credit_amount(f, region, tenure, rent);
    let pc = pension_credit_amount(f);
    let c = child_benefit_amount(f);
    let cap = benefit_cap(f, region, uc, c.x);
    return Benefits(uc - cap, pc, c.x, c.y, cap);
}

// members are persons [first, first + len) of the bound person window
fn finances(first: u32, len: u32) -> Finances {
    var f = Finances(0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, false, false, 0u, 0u);
    for (var i = first; i < first + len; i++) {
        let age_m = age_months[i];
        let s = status[i];
        let e = earnings[i];
        let deductions = income_tax[i] + ni[i];
        f.earnings = sat_add(f.earnings, e);
        f.unearned = sat_add(f.unearned, state_pension[i]);
        f.disability = f.disability || disability[i] > 0u;
        f.person_net = sat_add(f.person_net, sat_sub(sat_add(sat_add(e, state_pension[i]), disability[i]), deductions));
        let birth_month = params.month - age_m;
        if (is_dependent_child(age_m / 12u, st_employment(s))) {
            f.children += 1u;
            f.protected_children += select(0u, 1u, birth_month < params.two_child_protected_before);
        } else {
            f.adults += 1u;
            f.adults_below_spa += select(0u, 1u, age_m < t_spa(birth_month));
            f.max_adult_age = max(f.max_adult_age, age_m);
            f.net_earnings = sat_add(f.net_earnings, sat_sub(e, deductions));
            f.capital = sat_add(f.capital, wealth[i]);
            f.lcw = f.lcw || st_health(s) == SEVERE;
            f.max_adult_income = max(f.max_adult_income, sat_add(e, state_pension[i]));
        }
    }
    return f;
}

// The benefit rules of household h (window-relative), whose members are `len` persons from
// `first`, written; the benefits and the net income.
struct HouseholdRules { b: Benefits, net: u32 }
fn household_rules(h: u32, first: u32, len: u32, info: u32) -> HouseholdRules {
    let f = finances(first, len);
    var b: Benefits;
    if ((ABLATE & ABL_HOUSEHOLD_RULES) != 0u) {
        // a timing run without the benefit rules: the household's finances and columns
        // folded into one amount, so the members' reads stay
        let fold = f.adults ^ f.children ^ f.protected_children ^ f.adults_below_spa ^ f.max_adult_age ^ f.earnings ^ f.net_earnings ^ f.unearned ^ f.capital ^ select(0u, 1u, f.disability) ^ select(0u, 2u, f.lcw) ^ f.max_adult_income ^ info ^ hh_rent[h];
        b = Benefits(fold & 0xffffu, 0u, 0u, 0u, 0u);
    } else {
        b = benefits(f, hh_region(info), hh_tenure(info), hh_rent[h]);
    }
    universal_credit[h] = b.universal_credit;
    pension_credit[h] = b.pension_credit;
    child_benefit[h] = b.child_benefit;
    hicbc[h] = b.hicbc;
    cap_reduction[h] = b.cap_reduction;
    let net = sat_sub(sat_add(sat_add(sat_add(f.person_net, b.universal_credit), b.pension_credit), b.child_benefit), b.hicbc);
    net_income[h] = net;
    return HouseholdRules(b, net);
}

@compute @workgroup_size(WG)
fn household_policy(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let j = linear(gid, nwg);
    if (j >= d.n) { return; }
    let h = d.h_skip + j;
    _ = household_rules(h, hh_start[h] - d.p_base, hh_len[h], hh_info[h]);
}
