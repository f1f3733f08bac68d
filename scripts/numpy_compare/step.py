"""A numpy re-implementation of twin's month step, written for a speed comparison.

It follows src/engine.rs, src/cpu/*.rs, src/rng.rs, src/fixed.rs, src/tables.rs and
src/scenario.rs: the same counter-based RNG (mix32, the 4-round Feistel stream, one hash per
process), the same rate tables and parameter conversions, the same integer arithmetic, the
stages in src/stages.rs ORDER, and the same weighted aggregates by cell
(region * 16 + age band * 2 + sex). Vectorised over persons (or households) with numpy;
waiting-list queues are resolved with one sort per month instead of the radix select (the
served set is defined the same way).

    from step import Engine
    e = Engine("/tmp/pop", "scenarios/baseline.toml", months=12)
    acc = e.step()          # uint64 [192 cells, N_MEASURES]
"""

from __future__ import annotations

import csv
import math
import os
import tomllib

import numpy as np
import pyarrow.parquet as pq

U32 = np.uint32
M32 = 0xFFFFFFFF

# ----------------------------------------------------------------------------- codes
SEX = ["female", "male"]
FEMALE, MALE = 0, 1
EMPLOYMENT = ["child", "in_education", "employed", "unemployed", "inactive", "retired"]
CHILD, IN_EDUCATION, EMPLOYED, UNEMPLOYED, INACTIVE, RETIRED = range(6)
HEALTH = ["good", "limiting", "severe"]
GOOD, LIMITING, SEVERE = range(3)
CARE_NEED = ["none", "moderate", "substantial"]
CARE_NONE, CARE_MODERATE, CARE_SUBSTANTIAL = range(3)
TENURE = ["owner", "private_rent", "social_rent", "temporary_accommodation"]
OWNER, PRIVATE_RENT, SOCIAL_RENT, TEMPORARY, HOMELESS = range(5)
REGIONS = ["North East", "North West", "Yorkshire and The Humber", "East Midlands", "West Midlands",
           "East of England", "London", "South East", "South West", "Wales", "Scotland", "Northern Ireland"]
REGION_ITL1 = ["TLC", "TLD", "TLE", "TLF", "TLG", "TLH", "TLI", "TLJ", "TLK", "TLL", "TLM", "TLN"]
REGION_KEYS = ["north_east", "north_west", "yorkshire_and_the_humber", "east_midlands", "west_midlands",
               "east_of_england", "london", "south_east", "south_west", "wales", "scotland", "northern_ireland"]
LONDON = 6
AGE_BANDS = ["0-15", "16-24", "25-34", "35-49", "50-64", "65-74", "75-84", "85+"]
AGE_BAND_FROM = [0, 16, 25, 35, 50, 65, 75, 85]
MAX_AGE = 110
AGES = MAX_AGE + 1
MAX_AGE_MONTHS = MAX_AGE * 12 + 11
EARNINGS_CAP = 100_000_000
BAND_OF_AGE = np.array([sum(a >= f for f in AGE_BAND_FROM[1:]) for a in range(AGES)], dtype=np.int64)

S_GP, S_AE, S_HOSPITAL, S_CARE, S_HOMELESS, S_EMPLOYMENT, S_LETTINGS = range(7)
N_SERVICES, N_PERSON_SERVICES = 7, 6
N_QUEUES = N_SERVICES * 12
SERVICE_KEYS = ["gp", "ae", "hospital", "social_care", "homelessness", "employment_support", "social_lettings"]
SERVICE_COLUMNS = ["gp_appointments", "ae_attendances", "hospital_admissions", "social_care",
                   "homelessness_service", "employment_support", "social_lettings"]
IN_PACKAGE = 31
MAX_LETTING_PRIORITY = 255

# status word
SEX_SHIFT, EMPLOYMENT_SHIFT, HEALTH_SHIFT, CARE_SHIFT = 0, 1, 4, 6
DEAD, GIVES_BIRTH, BORN = 1 << 8, 1 << 9, 1 << 10
CARE_FUNDING_SHIFT = 11
EVENT_FLAGS = DEAD | GIVES_BIRTH | BORN
FUNDING_NONE, FUNDING_COUNCIL, FUNDING_SELF = 0, 1, 2

# ----------------------------------------------------------------------------- measures
BASE_MEASURES = [
    "population", "births", "deaths", "child", "in_education", "employed", "unemployed", "inactive", "retired",
    "health_good", "health_limiting", "health_severe", "care_none", "care_moderate", "care_substantial",
    "earnings_pence", "income_tax_pence", "national_insurance_pence", "state_pension_caseload", "state_pension_pence",
    "disability_benefit_caseload", "disability_benefit_pence", "social_care_eligible",
    "social_care_council_funded_caseload", "social_care_self_funder_caseload", "social_care_tariff_income_pence",
    "households", "household_net_income_pence", "universal_credit_caseload", "universal_credit_pence",
    "pension_credit_caseload", "pension_credit_pence", "child_benefit_caseload", "child_benefit_pence",
    "child_benefit_charge_pence", "benefit_cap_caseload", "benefit_cap_reduction_pence", "households_in_arrears",
    "rent_arrears_pence", "homelessness_applications", "homeless_households", "temporary_accommodation_households",
    "temporary_accommodation_cost_pence",
]
SM = ["demand", "new", "served", "unmet", "waiting", "left", "died_waiting", "units", "cost_pence", "units_demanded"]
SM_DEMAND, SM_NEW, SM_SERVED, SM_UNMET, SM_WAITING, SM_LEFT, SM_DIED, SM_UNITS, SM_COST, SM_UNITS_DEMANDED = range(10)
MEASURES = BASE_MEASURES + [f"{s}_{k}" for s in SERVICE_COLUMNS for k in SM]
MI = {n: i for i, n in enumerate(MEASURES)}
NM = len(MEASURES)
N_CELLS = 192
SERVICE_BASE = MI["gp_appointments_demand"]


def smeasure(svc, k):
    return SERVICE_BASE + svc * 10 + k


# ----------------------------------------------------------------------------- rng (src/rng.rs)
GOLDEN = 0x9E3779B9
PERSISTENT_STEP = M32


def mix32_int(x: int) -> int:
    x &= M32
    x ^= x >> 16
    x = (x * 0x7FEB352D) & M32
    x ^= x >> 15
    x = (x * 0x846CA68B) & M32
    x ^= x >> 16
    return x


def mix32(x):
    """lowbias32 on a uint32 array (wrapping multiplies)."""
    x = x ^ (x >> U32(16))
    x *= U32(0x7FEB352D)
    x ^= x >> U32(15)
    x *= U32(0x846CA68B)
    x ^= x >> U32(16)
    return x


def step_keys(seed: int, step: int):
    s_lo, s_hi = seed & M32, (seed >> 32) & M32
    base = mix32_int(s_lo ^ mix32_int(s_hi ^ 0x5EED0001))
    return [mix32_int(base ^ mix32_int((step & M32) ^ mix32_int(((r * GOLDEN) + 0x0BAD5EED) & M32))) for r in range(4)]


def baby_keys(month: int):
    return step_keys(0xBA5EBA110B1D, month)


def stream(keys, lo, hi):
    l, r = lo, hi
    for k in keys:
        t = l ^ mix32(r ^ U32(k))
        l, r = r, t
    return l, r


PROC = dict(Death=1, Birth=2, BirthSex=3, EducationLeave=4, EducationDestination=5, Labour=6, Retire=7,
            EarningsEntry=8, EarningsGrowth=9, Health=10, Care=11, DisabilityScore=12, BirthMonth=13,
            Eviction=14, GpDemand=15, AeDemand=16, HospitalDemand=17, EmploymentDemand=18, LengthOfStay=19, Queue=20)
SALT = {k: U32(mix32_int(((v * GOLDEN) & M32) ^ 0x7A110C8D)) for k, v in PROC.items()}


def draw(l, r, proc):
    return mix32(mix32(l ^ SALT[proc]) ^ r)


MALE_BIRTH_THRESHOLD = 2_199_861_298

# ----------------------------------------------------------------------------- fixed point (src/fixed.rs)
BP = 10_000


def round_half_away(x: float) -> float:
    """Rust f64::round for finite x."""
    a = abs(x)
    f = math.floor(a)
    r = f + 1.0 if a - f >= 0.5 else f
    return math.copysign(r, x)


def annual_to_monthly(p: float) -> float:
    if p >= 1.0:
        return 1.0
    return 1.0 - (1.0 - max(p, 0.0)) ** (1.0 / 12.0)


def threshold(p: float) -> int:
    t = round_half_away(min(max(p, 0.0), 1.0) * 4294967296.0)
    return M32 if t >= 4294967295.0 else int(t)


# vectorised u32 helpers on int64 arrays (values in 0..2^32)
def sat_add(a, b):
    return np.minimum(a + b, M32)


def sat_sub(a, b):
    return np.maximum(a - b, 0)


def mul_bp(a, bp):
    return (a * bp) // BP


def mul_sat(a, b):
    return np.minimum(a * b, M32)


def mul_mult(a, m):
    q, r = a // BP, a % BP
    return np.minimum(np.minimum(q * m, M32) + (r * m) // BP, M32)


def ceil_div(a, b):
    return -((-a) // b)


# ----------------------------------------------------------------------------- scenario (src/scenario.rs)
def parse_month(s: str) -> int:
    parts = str(s).strip().split("-")
    y, m = int(parts[0]), int(parts[1])
    return y * 12 + m - 1


def month_str(m: int) -> str:
    return f"{m // 12:04d}-{m % 12 + 1:02d}"


SPECS = [
    ('pa', 'income_tax.personal_allowance', 'AnnualMoney'),
    ('pa_taper_threshold', 'income_tax.personal_allowance_taper_threshold', 'AnnualMoney'),
    ('pa_taper_bp', 'income_tax.personal_allowance_taper_rate', 'Rate'),
    ('basic_bp', 'income_tax.basic_rate', 'Rate'),
    ('higher_bp', 'income_tax.higher_rate', 'Rate'),
    ('additional_bp', 'income_tax.additional_rate', 'Rate'),
    ('higher_threshold', 'income_tax.higher_rate_threshold', 'AnnualMoney'),
    ('additional_threshold', 'income_tax.additional_rate_threshold', 'AnnualMoney'),
    ('ni_pt', 'national_insurance.primary_threshold', 'AnnualMoney'),
    ('ni_uel', 'national_insurance.upper_earnings_limit', 'AnnualMoney'),
    ('ni_main_bp', 'national_insurance.main_rate', 'Rate'),
    ('ni_upper_bp', 'national_insurance.upper_rate', 'Rate'),
    ('sp_full', 'state_pension.full_rate', 'Money'),
    ('sp_basic', 'state_pension.basic_rate', 'Money'),
    ('sp_new_from', 'state_pension.new_scheme_born_from', 'BirthDate'),
    ('uc_single_u25', 'universal_credit.standard_allowance.single_under_25', 'Money'),
    ('uc_single_25', 'universal_credit.standard_allowance.single_25_plus', 'Money'),
    ('uc_couple_u25', 'universal_credit.standard_allowance.couple_under_25', 'Money'),
    ('uc_couple_25', 'universal_credit.standard_allowance.couple_25_plus', 'Money'),
    ('uc_age_threshold', 'universal_credit.standard_allowance.age_threshold', 'Age'),
    ('uc_child_first_higher', 'universal_credit.child_element.first_child_higher', 'Money'),
    ('uc_child', 'universal_credit.child_element.per_child', 'Money'),
    ('two_child_limit_on', 'universal_credit.two_child_limit.enabled', 'Flag'),
    ('two_child_limit_count', 'universal_credit.two_child_limit.child_count', 'Count'),
    ('two_child_protected_before', 'universal_credit.two_child_limit.protected_born_before', 'BirthDate'),
    ('uc_wa_housing', 'universal_credit.work_allowance.with_housing', 'Money'),
    ('uc_wa_no_housing', 'universal_credit.work_allowance.without_housing', 'Money'),
    ('uc_taper_bp', 'universal_credit.taper_rate', 'Rate'),
    ('uc_capital_lower', 'universal_credit.capital.lower_limit', 'Capital'),
    ('uc_capital_upper', 'universal_credit.capital.upper_limit', 'Capital'),
    ('uc_capital_tariff', 'universal_credit.capital.tariff_per_250', 'Money'),
    ('cap_single', 'benefit_cap.single_outside_london', 'Money'),
    ('cap_single_london', 'benefit_cap.single_in_london', 'Money'),
    ('cap_family', 'benefit_cap.family_outside_london', 'Money'),
    ('cap_family_london', 'benefit_cap.family_in_london', 'Money'),
    ('cap_earnings_exemption', 'benefit_cap.earnings_exemption', 'Money'),
    ('pc_single', 'pension_credit.guarantee.single', 'Money'),
    ('pc_couple', 'pension_credit.guarantee.couple', 'Money'),
    ('pc_capital_disregard', 'pension_credit.capital.disregard', 'Capital'),
    ('pc_capital_tariff', 'pension_credit.capital.tariff_per_500', 'Money'),
    ('cb_eldest', 'child_benefit.eldest', 'Money'),
    ('cb_additional', 'child_benefit.additional', 'Money'),
    ('hicbc_start', 'child_benefit.high_income_charge.start', 'AnnualMoney'),
    ('hicbc_end', 'child_benefit.high_income_charge.end', 'AnnualMoney'),
    ('dis_severe', 'disability_benefit.severe_rate', 'Money'),
    ('dis_limiting', 'disability_benefit.limiting_rate', 'Money'),
    ('dis_severe_threshold', 'disability_benefit.severe_score_threshold', 'Score'),
    ('dis_threshold', 'disability_benefit.limiting_score_threshold', 'Score'),
    ('dis_min_age', 'disability_benefit.min_age', 'Age'),
    ('care_upper', 'social_care.upper_capital_limit', 'Capital'),
    ('care_lower', 'social_care.lower_capital_limit', 'Capital'),
    ('care_tariff', 'social_care.tariff_income', 'Money'),
    ('care_tariff_step', 'social_care.tariff_step', 'Capital'),
    ('care_eligible', 'social_care.eligible_need', 'CareLevel'),
    ('care_min_age', 'social_care.min_age', 'Age'),
    ('growth_q20', 'economy.earnings_growth', 'Growth'),
    ('afford_bp', 'housing.affordable_share', 'Rate'),
    ('evict_months', 'housing.eviction_arrears_months', 'Count'),
    ('evict_private_bp', 'housing.eviction_probability.private_rent', 'Rate'),
    ('evict_social_bp', 'housing.eviction_probability.social_rent', 'Rate'),
    ('ta_cost', 'housing.temporary_accommodation_cost', 'Money'),
    ('care_hours_moderate', 'services.social_care.hours_moderate', 'Count'),
    ('care_hours_substantial', 'services.social_care.hours_substantial', 'Count'),
    ('emp_request_bp', 'services.employment_support.request_probability', 'Rate'),
    ('max_wait_gp', 'services.gp.max_wait', 'Age'),
    ('max_wait_ae', 'services.ae.max_wait', 'Age'),
    ('max_wait_hospital', 'services.hospital.max_wait', 'Age'),
    ('max_wait_care', 'services.social_care.max_wait', 'Age'),
    ('max_wait_homeless', 'services.homelessness.max_wait', 'Age'),
    ('max_wait_employment', 'services.employment_support.max_wait', 'Age'),
    ('cost_gp', 'services.gp.unit_cost', 'Price'),
    ('cost_ae', 'services.ae.unit_cost', 'Price'),
    ('cost_hospital', 'services.hospital.unit_cost', 'Price'),
    ('cost_care', 'services.social_care.unit_cost', 'Price'),
    ('cost_homeless', 'services.homelessness.unit_cost', 'Price'),
    ('cost_employment', 'services.employment_support.unit_cost', 'Price'),
    ('cost_lettings', 'services.social_lettings.unit_cost', 'Price'),
    ('sp_care_admission_bp', 'spillovers.unmet_care_admission', 'Multiplier'),
    ('sp_care_stay_bp', 'spillovers.unmet_care_length_of_stay', 'Multiplier'),
    ('sp_homeless_health_bp', 'spillovers.homelessness_health', 'Multiplier'),
    ('sp_unemployed_health_bp', 'spillovers.unemployment_health', 'Multiplier'),
    ('sp_income_arrears_bp', 'spillovers.income_fall_arrears', 'Multiplier'),
    ('growth_sd_q20', 'economy.earnings_growth_sd', 'MonthlySd'),
]
SPA_KEY = "state_pension.age"
# per-region arrays in StepParams order: lha, social_rent, ta_rent, capacity of the 7 services
REGION_ARRAYS = [("local_housing_allowance", "Money"), ("housing.social_rent", "Money"),
                 ("housing.temporary_accommodation_rent", "Money")] + \
                [(f"services.{s}.capacity", "Capacity") for s in SERVICE_KEYS]
LEAF_KEYS = {"unit", "values", "value", "description", "reference", "assumption", "note"}


def convert(kind: str, unit: str, v) -> int:
    """scenario.rs `convert`: one scenario value in engine units (u32; Growth as i32 bits)."""
    def to_u32(x):
        if not (0.0 <= x <= float(M32)):
            raise ValueError(f"{x} is out of range")
        return int(x)  # `x as u32` truncates
    if kind == "Money":
        x = float(v)
        monthly = {"GBP/week": x * 52.0 / 12.0, "GBP/month": x, "GBP/year": x / 12.0}[unit]
        return to_u32(round_half_away(monthly * 100.0))
    if kind == "AnnualMoney":
        x = float(v)
        yearly = {"GBP/week": x * 52.0, "GBP/month": x * 12.0, "GBP/year": x}[unit]
        return to_u32(round_half_away(yearly * 100.0))
    if kind in ("Capital", "Count", "Score"):
        return to_u32(round_half_away(float(v)))
    if kind == "Price":
        return to_u32(round_half_away(float(v) * 100.0))
    if kind == "Capacity":
        return to_u32(round_half_away(float(v) * 1000.0))
    if kind in ("Multiplier", "Rate"):
        bp = float(v) * 10_000.0
        if abs(bp - round_half_away(bp)) > 1e-6:
            raise ValueError(f"{v} is not a whole number of basis points")
        return to_u32(round_half_away(bp))
    if kind == "Growth":
        monthly = (1.0 + float(v)) ** (1.0 / 12.0) - 1.0
        return int(round_half_away(monthly * float(1 << 20))) & M32
    if kind == "MonthlySd":
        return to_u32(round_half_away(float(v) * float(1 << 20)))
    if kind in ("Age", "AgeByBirth"):
        x = float(v)
        return to_u32(round_half_away(x * 12.0) if unit == "years" else round_half_away(x))
    if kind == "Flag":
        return int(bool(v))
    if kind == "BirthDate":
        return parse_month(v)
    if kind == "CareLevel":
        return {"moderate": CARE_MODERATE, "substantial": CARE_SUBSTANTIAL}[v]
    raise ValueError(kind)


class Scenario:
    """A scenario file (no reform chains: a `baseline` key is followed, values replaced from the
    reform's first date on, as scenario.rs does)."""

    def __init__(self, path: str):
        self.path = path
        self.params: dict[str, list] = {}
        self._load(path, 0)

    def _load(self, path, depth):
        with open(path, "rb") as f:
            doc = tomllib.load(f)
        d = os.path.dirname(os.path.abspath(path))
        meta = doc["scenario"]
        if "baseline" in meta:
            self._load(os.path.join(d, meta["baseline"]), depth + 1)
        if "start" in meta:
            self.start = parse_month(meta["start"])
        if "years" in meta:
            self.years = int(meta["years"])
        if "seed" in meta:
            self.seed = int(meta["seed"])
        self.name = meta["name"]
        if not hasattr(self, "data"):
            self.data = {"life_table_period": "2022-2024"}
        for k, v in doc.get("data", {}).items():
            self.data[k] = v if k == "life_table_period" else os.path.join(d, v)
        found = []
        for k, v in doc.items():
            if k not in ("scenario", "data"):
                self._collect(k, v, found)
        for key, points in found:
            if key in self.params:
                first = points[0][0]
                self.params[key] = [p for p in self.params[key] if p[0] < first] + points
            else:
                self.params[key] = points

    def _collect(self, prefix, v, out):
        if not ("unit" in v or "values" in v or "value" in v):
            for k, sub in v.items():
                self._collect(f"{prefix}.{k}", sub, out)
            return
        unit = v["unit"]
        if "value" in v:
            points = [(0, v["value"], unit)]
        else:
            points = [(parse_month(m), x, unit) for m, x in v["values"].items()]
        points.sort(key=lambda p: p[0])
        out.append((prefix, points))

    def value_at(self, key, month):
        pts = [p for p in self.params[key] if p[0] <= month]
        return pts[-1][1], pts[-1][2]

    def resolve(self, month: int, step: int) -> dict:
        out = {"month": month, "step": step}
        for field, key, kind in SPECS:
            v, unit = self.value_at(key, month)
            out[field] = convert(kind, unit, v)
        arrays = []
        for prefix, kind in REGION_ARRAYS:
            arr = []
            for r in range(12):
                v, unit = self.value_at(f"{prefix}.{REGION_KEYS[r]}", month)
                arr.append(convert(kind, unit, v))
            arrays.append(arr)
        out["lha"], out["social_rent"], out["ta_rent"] = arrays[0], arrays[1], arrays[2]
        out["capacity"] = [c for a in arrays[3:] for c in a]  # service * 12 + region
        return out

    def spa_table(self, frm: int, n: int):
        pts = self.params[SPA_KEY]
        out = []
        for i in range(n):
            born = frm + i
            cand = [p for p in pts if p[0] <= born]
            _, v, unit = cand[-1] if cand else pts[0]
            out.append(convert("Age", unit, v))
        return out


# ----------------------------------------------------------------------------- tables (src/tables.rs)
def read_csv(path):
    with open(path) as f:
        lines = [ln for ln in f.read().splitlines() if not ln.startswith("#")]
    rows = list(csv.reader(lines))
    header = [h.strip() for h in rows[0]]
    return [dict(zip(header, [c.strip() for c in r])) for r in rows[1:] if r]


def band_rows(rows):
    return [next(r for r in rows if r["age_band"] == b) for b in AGE_BANDS]


def by_age(rows, fn):
    out = [None] * AGES
    for r in rows:
        for a in range(int(r["age_from"]), int(r["age_to"]) + 1):
            out[a] = fn(r)
    return out


def inverse_normal(p):
    A = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
    B = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
    C = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
    D = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
    pl = 0.02425
    if p < pl:
        q = math.sqrt(-2.0 * math.log(p))
        return (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    if p <= 1.0 - pl:
        q = p - 0.5
        r = q * q
        return (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    return -inverse_normal(1.0 - p)


EARN_Q, NOISE_Q = 256, 64
SPA_FROM = 1880 * 12
SPA_LEN = 300 * 12


class Tables:
    def __init__(self, s: Scenario):
        d = s.data
        health = read_csv(d["health"])
        rr = []
        self.health = np.zeros((8, 4), np.uint32)
        hcols = ["onset_good_to_limiting", "limiting_to_severe", "recovery_limiting_to_good", "severe_to_limiting"]
        for b, r in enumerate(band_rows(health)):
            p = float(r["prevalence_limiting_or_severe"])
            ps = p * float(r["severe_share"])
            pl = p - ps
            rl, rs = float(r["mortality_rr_limiting"]), float(r["mortality_rr_severe"])
            mean = (1.0 - p) + pl * rl + ps * rs
            rr.append([1.0 / mean, rl / mean, rs / mean])
            for i, c in enumerate(hcols):
                self.health[b, i] = threshold(annual_to_monthly(float(r[c])))
        lt = read_csv(d["life_table"])
        self.death = np.zeros((2, AGES, 3), np.uint32)
        for sx in range(2):
            qx = [math.nan] * AGES
            for r in lt:
                if r["period"] != d["life_table_period"] or r["sex"] != SEX[sx]:
                    continue
                a = int(r["age"])
                if a < AGES:
                    qx[a] = float(r["qx"])
            last = max(a for a in range(AGES) if not math.isnan(qx[a]))
            for a in range(last + 1, AGES):
                qx[a] = min(qx[a - 1] * 1.1, 1.0)
            qx[AGES - 1] = 1.0
            for a in range(AGES):
                band = BAND_OF_AGE[a]
                for h in range(3):
                    q = 1.0 if a == AGES - 1 else min(qx[a] * rr[band][h], 1.0)
                    self.death[sx, a, h] = threshold(annual_to_monthly(q))
        fert = read_csv(d["fertility"])
        self.birth = np.zeros(AGES, np.uint32)
        for a, v in enumerate(by_age(fert, lambda r: float(r["births_per_1000_women_per_year"]))):
            if v is not None:
                self.birth[a] = threshold(v / 1000.0 / 12.0)
        care = read_csv(d["care"])
        ccols = ["onset_none_to_moderate_limiting", "onset_none_to_moderate_severe", "moderate_to_substantial", "recovery_moderate_to_none"]
        self.care = np.zeros((8, 4), np.uint32)
        for b, r in enumerate(band_rows(care)):
            for i, c in enumerate(ccols):
                self.care[b, i] = threshold(annual_to_monthly(float(r[c])))
        lab = read_csv(d["labour"])
        lcols = ["rate_eu", "rate_ei", "rate_ue", "rate_ui", "rate_ie", "rate_iu", "p_employed", "p_unemployed"]
        self.labour = np.zeros((8, 3, 8), np.uint32)
        for r in lab:
            b, h = AGE_BANDS.index(r["age_band"]), HEALTH.index(r["health"])
            for i, c in enumerate(lcols):
                self.labour[b, h, i] = threshold(float(r[c]))
        edu = read_csv(d["education"])
        self.edu_leave = np.zeros(AGES, np.uint32)
        for a, v in enumerate(by_age(edu, lambda r: float(r["leave_hazard_per_year"]))):
            self.edu_leave[a] = M32 if a >= 25 else threshold(annual_to_monthly(v if v is not None else 0.0))
        ret = read_csv(d["retirement"])
        self.retire = np.array([threshold(annual_to_monthly(v)) for v in by_age(ret, lambda r: float(r["retire_hazard_employed_per_year"]))], np.uint32)
        earn = read_csv(d["earnings"])
        self.earnings = np.zeros((8, 2, EARN_Q), np.uint32)
        zq = [inverse_normal((q + 0.5) / EARN_Q) for q in range(EARN_Q)]
        for r in earn:
            b, sx = AGE_BANDS.index(r["age_band"]), SEX.index(r["sex"])
            med, sd = float(r["median_gbp_per_month"]), float(r["log_sd"])
            for q in range(EARN_Q):
                self.earnings[b, sx, q] = int(min(round_half_away(med * math.exp(sd * zq[q]) * 100.0), float(EARNINGS_CAP)))
        p0 = s.resolve(s.start, 0)
        self.growth_noise = np.array([int(round_half_away(inverse_normal((q + 0.5) / NOISE_Q) * float(p0["growth_sd_q20"]))) for q in range(NOISE_Q)], np.int64)
        self.spa = np.array(s.spa_table(SPA_FROM, SPA_LEN), np.int64)
        sv = read_csv(d["services"])
        self.service = np.zeros((8, 3, 3), np.uint32)
        self.stay = np.zeros(8, np.int64)
        for b, r in enumerate(band_rows(sv)):
            rrs = [1.0, float(r["rr_limiting"]), float(r["rr_severe"])]
            for k, c in enumerate(["gp_appointments_per_year", "ae_attendances_per_year", "admissions_per_year"]):
                rate = float(r[c])
                for h in range(3):
                    self.service[b, h, k] = threshold(1.0 - math.exp(-(rate * rrs[h]) / 12.0))
            self.stay[b] = int(round_half_away(float(r["mean_length_of_stay_days"])))

    def spa_of(self, birth_month):
        """State pension age (months) by absolute birth month (int64 array)."""
        return self.spa[np.clip(birth_month - SPA_FROM, 0, SPA_LEN - 1)]


# ----------------------------------------------------------------------------- aggregation helper
def cell_add(acc_flat, idx, vals=None):
    """acc_flat[idx] += vals (exact u64 sums; idx = cell * NM + measure)."""
    if idx.size == 0:
        return
    n = N_CELLS * NM
    if vals is None:
        acc_flat += np.bincount(idx, minlength=n).astype(np.uint64)
        return
    vals = np.asarray(vals)
    if vals.ndim == 0:
        vals = np.full(idx.shape, int(vals), np.int64)
    vmax = int(vals.max()) if vals.size else 0
    if vmax * idx.size < (1 << 53):
        acc_flat += np.rint(np.bincount(idx, weights=vals.astype(np.float64), minlength=n)).astype(np.uint64)
        return
    v = vals.astype(np.uint64)
    for shift in (0, 24, 48):
        part = ((v >> np.uint64(shift)) & np.uint64(0xFFFFFF)).astype(np.float64)
        s = np.rint(np.bincount(idx, weights=part, minlength=n)).astype(np.uint64)
        acc_flat += s << np.uint64(shift)


# ----------------------------------------------------------------------------- population
def _codes(col, names, alt=None):
    import pyarrow as pa
    if pa.types.is_integer(col.type):
        return col.to_numpy().astype(np.int64)
    lut = {n: i for i, n in enumerate(names)}
    if alt:
        lut.update({n: i for i, n in enumerate(alt)})
    if pa.types.is_dictionary(col.type):
        codes = np.array([lut[v] for v in col.dictionary.to_pylist()], np.int64)
        return codes[col.indices.to_numpy(zero_copy_only=False).astype(np.int64)]
    uniq, inv = np.unique(np.asarray(col.to_pylist(), dtype=object), return_inverse=True)
    return np.array([lut[u] for u in uniq], np.int64)[inv]


def _round_half_away(x):
    f = np.floor(x)
    return np.where(x - f >= 0.5, f + 1.0, f)


def load_population(dirname):
    """persons and households as src/input.rs loads them (no validation)."""
    ht = pq.read_table(os.path.join(dirname, "households.parquet"))
    pt = pq.read_table(os.path.join(dirname, "persons.parquet"))
    hid = ht.column("household_id").to_numpy().astype(np.uint64)
    region = _codes(ht.column("region").combine_chunks(), REGIONS, REGION_ITL1)
    tenure = _codes(ht.column("tenure").combine_chunks(), TENURE)
    rent = _round_half_away(ht.column("rent").to_numpy().astype(np.float64) * 100.0).astype(np.int64)
    weight = ht.column("weight").to_numpy().astype(np.int64) if "weight" in ht.column_names else np.ones(len(hid), np.int64)
    # household index of each person (households in file order)
    order = np.argsort(hid, kind="stable")
    phid = pt.column("household_id").to_numpy().astype(np.uint64)
    pos = np.searchsorted(hid[order], phid)
    hidx = order[pos]
    pid = pt.column("person_id").to_numpy().astype(np.uint64)
    age = pt.column("age").to_numpy().astype(np.int64)
    sex = _codes(pt.column("sex").combine_chunks(), SEX)
    emp = _codes(pt.column("employment").combine_chunks(), EMPLOYMENT)
    hl = _codes(pt.column("health").combine_chunks(), HEALTH)
    care = _codes(pt.column("care_need").combine_chunks(), CARE_NEED)
    earn = _round_half_away(pt.column("earnings").to_numpy().astype(np.float64) * 100.0).astype(np.int64)
    wealth = _round_half_away(pt.column("wealth").to_numpy().astype(np.float64)).astype(np.int64)
    g = np.argsort(hidx, kind="stable")  # group by household, file order within (a stable counting sort)
    P = {
        "id_lo": (pid[g] & np.uint64(M32)).astype(np.uint32),
        "id_hi": (pid[g] >> np.uint64(32)).astype(np.uint32),
        "household": hidx[g].astype(np.int64),
        "age_months": (age[g] * 12).astype(np.int64),
        "status": (sex[g] << SEX_SHIFT | emp[g] << EMPLOYMENT_SHIFT | hl[g] << HEALTH_SHIFT | care[g] << CARE_SHIFT).astype(np.int64),
        "earnings": earn[g],
        "wealth": wealth[g],
        "svc_wait": np.zeros(len(pid), np.int64),
    }
    H = {"info": (region | (tenure << 4)).astype(np.int64), "rent": rent, "weight": weight}
    return P, H


def index_members(household, n_households):
    """start/len of each household's contiguous members (0/0 once all have died)."""
    n = household.size
    start = np.zeros(n_households, np.int64)
    ln = np.bincount(household, minlength=n_households).astype(np.int64)
    if n:
        first = np.ones(n, bool)
        first[1:] = household[1:] != household[:-1]
        idx = np.nonzero(first)[0]
        start[household[idx]] = idx
    return start, ln


# ----------------------------------------------------------------------------- engine
class Engine:
    def __init__(self, pop_dir, scenario_path, months, seed=None, compat_head=False):
        # compat_head: reproduce the committed HEAD (bab696a) instead of the working tree where
        # they differ: a waiter whose need ended is not counted as unmet, a homeless household
        # leaving the list keeps its old rent, and the health multiplier is not capped at 10
        self.compat_head = compat_head
        self.s = Scenario(scenario_path)
        self.t = Tables(self.s)
        self.seed = self.s.seed if seed is None else seed
        self.params = [self.s.resolve(self.s.start + m, m) for m in range(months)]
        P, H = load_population(pop_dir)
        nh = H["info"].size
        # capacities: per million residents -> units a month, the fraction carried (engine.rs)
        w_person = H["weight"][P["household"]]
        residents = np.bincount(H["info"][P["household"]] & 0xF, weights=w_person.astype(np.float64), minlength=12)
        residents = [int(round(x)) for x in residents]
        cum = [0] * N_QUEUES
        for p in self.params:
            caps = []
            for q in range(N_QUEUES):
                before = cum[q] // 1_000_000
                cum[q] += p["capacity"][q] * residents[q % 12]
                caps.append(min(cum[q] // 1_000_000 - before, M32))
            p["capacity"] = caps
        H["arrears"] = np.zeros(nh, np.int64)
        H["wait"] = np.zeros(nh, np.int64)
        H["prev_net"] = np.zeros(nh, np.int64)
        self.persistent = step_keys(self.seed, PERSISTENT_STEP)
        pl, pr = stream(self.persistent, P["id_lo"], P["id_hi"])
        off = (draw(pl, pr, "BirthMonth") % U32(12)).astype(np.int64)
        P["age_months"] = np.minimum(P["age_months"] + off, MAX_AGE_MONTHS)
        # the persistent stream is a pure function of the id: kept as a column (Rust recomputes it)
        P["pl"], P["pr"] = pl, pr
        self.P, self.H = P, H
        self.H["start"], self.H["len"] = index_members(P["household"], nh)
        self.step_no = 0

    # ------------------------------------------------------------------ one month
    def step(self):
        p = self.params[self.step_no]
        keys = step_keys(self.seed, self.step_no)
        acc = np.zeros(N_CELLS * NM, np.uint64)
        self._demography(p, keys, acc)
        self._births(p, keys)
        self._labour_health_policy(p)
        self._household_policy(p)
        self._housing(p, acc)
        self._services(p, keys, acc)
        self._accounting(p, acc)
        self.step_no += 1
        return acc.reshape(N_CELLS, NM)

    def persons(self):
        return self.P["id_lo"].size

    # ------------------------------------------------------------------ demography
    def _demography(self, p, keys, acc):
        P, H, t = self.P, self.H, self.t
        s = P["status"] & ~EVENT_FLAGS
        age_m = np.minimum(P["age_months"] + 1, MAX_AGE_MONTHS)
        P["age_months"] = age_m
        age = age_m // 12
        sx = s & 1
        hl = (s >> HEALTH_SHIFT) & 3
        l, r = stream(keys, P["id_lo"], P["id_hi"])
        self.sl, self.sr = l, r
        h = P["household"]
        region = H["info"][h] & 0xF
        w = H["weight"][h]
        dead = draw(l, r, "Death") < t.death[sx, age, hl]
        fert = (~dead) & (sx == FEMALE) & (age >= 15) & (age <= 49)
        birth = np.zeros_like(dead)
        fi = np.nonzero(fert)[0]
        birth[fi] = draw(l[fi], r[fi], "Birth") < t.birth[age[fi]]
        s = s | np.where(dead, DEAD, 0) | np.where(birth, GIVES_BIRTH, 0)
        P["status"] = s
        # deaths, counted in the person's cell; deaths while waiting
        di = np.nonzero(dead)[0]
        cd = (region[di] * 8 + BAND_OF_AGE[age[di]]) * 2 + sx[di]
        cell_add(acc, cd * NM + MI["deaths"], w[di])
        sw = P["svc_wait"][di]
        for svc in range(N_PERSON_SERVICES):
            k = (sw >> (5 * svc)) & 31
            m = (k != 0) & (k != IN_PACKAGE)
            cell_add(acc, cd[m] * NM + smeasure(svc, SM_DIED), w[di][m])
        bi = np.nonzero(birth)[0]
        bsex = np.where(draw(l[bi], r[bi], "BirthSex") < U32(MALE_BIRTH_THRESHOLD), MALE, FEMALE)
        cb = (region[bi] * 8 + 0) * 2 + bsex
        cell_add(acc, cb * NM + MI["births"], w[bi])
        self._dead, self._birth, self._bsex = dead, birth, bsex

    # ------------------------------------------------------------------ births
    def _births(self, p, keys):
        P, H = self.P, self.H
        dead, birth = self._dead, self._birth
        n = dead.size
        alive = ~dead
        if alive.all() and not birth.any():
            return
        cnt = alive.astype(np.int64) + birth.astype(np.int64)
        pos = np.cumsum(cnt) - cnt  # exclusive prefix sum: each survivor's slot
        total = int(cnt.sum())
        ai = np.nonzero(alive)[0]
        bi = np.nonzero(birth)[0]  # mothers (always alive)
        bpos = pos[bi] + 1
        bk = baby_keys(p["month"])
        ml, mr = stream(bk, P["id_lo"][bi], P["id_hi"][bi])
        baby_lo = ml
        baby_hi = (mr & U32(0x7FFFFFFF)) | U32(0x80000000)
        bsex = self._bsex
        bstatus = (bsex << SEX_SHIFT) | (CHILD << EMPLOYMENT_SHIFT) | BORN
        newP = {}
        for k, v in P.items():
            out = np.zeros(total, v.dtype)
            src = v[ai]
            if k == "status":
                src = src & ~GIVES_BIRTH
            out[pos[ai]] = src
            newP[k] = out
        newP["id_lo"][bpos] = baby_lo
        newP["id_hi"][bpos] = baby_hi
        newP["household"][bpos] = P["household"][bi]
        newP["status"][bpos] = bstatus
        bpl, bpr = stream(self.persistent, baby_lo, baby_hi)
        newP["pl"][bpos] = bpl
        newP["pr"][bpos] = bpr
        # this month's stream moves with the person; babies get theirs
        sl = np.zeros(total, np.uint32)
        sr = np.zeros(total, np.uint32)
        sl[pos[ai]] = self.sl[ai]
        sr[pos[ai]] = self.sr[ai]
        kk = step_keys(self.seed, self.step_no)
        bl, br = stream(kk, baby_lo, baby_hi)
        sl[bpos] = bl
        sr[bpos] = br
        self.sl, self.sr = sl, sr
        self.P = newP
        H["start"], H["len"] = index_members(newP["household"], H["info"].size)

    # ------------------------------------------------------------------ labour + health + person policy
    def _labour_health_policy(self, p):
        P, H, t = self.P, self.H, self.t
        l, r = self.sl, self.sr
        s = P["status"]
        e = (s >> EMPLOYMENT_SHIFT) & 7
        age_m = P["age_months"]
        age = age_m // 12
        band = BAND_OF_AGE[age]
        hl = (s >> HEALTH_SHIFT) & 3
        sx = s & 1
        nxt = e.copy()
        # children enter education at 16
        nxt[(e == CHILD) & (age >= 16)] = IN_EDUCATION
        # leaving education
        ie = np.nonzero(e == IN_EDUCATION)[0]
        if ie.size:
            leave = draw(l[ie], r[ie], "EducationLeave") < t.edu_leave[age[ie]]
            li = ie[leave]
            d = draw(l[li], r[li], "EducationDestination").astype(np.int64)
            p_emp = t.labour[band[li], hl[li], 6].astype(np.int64)
            p_un = t.labour[band[li], hl[li], 7].astype(np.int64)
            nxt[li] = np.where(d < p_emp, EMPLOYED, np.where(d - p_emp < p_un, UNEMPLOYED, INACTIVE))
        birth_month = p["month"] - age_m
        spa = t.spa_of(birth_month)
        at_spa = age_m >= spa
        act = (e >= EMPLOYED) & (e <= INACTIVE)
        # at or over state pension age: retire
        ri = np.nonzero(act & at_spa)[0]
        if ri.size:
            emp_r = e[ri] == EMPLOYED
            ret = ~emp_r
            ei = np.nonzero(emp_r)[0]
            ret[ei] = draw(l[ri[ei]], r[ri[ei]], "Retire") < t.retire[age[ri[ei]]]
            nxt[ri[ret]] = RETIRED
        # below: monthly moves
        mi = np.nonzero(act & ~at_spa)[0]
        if mi.size:
            d = draw(l[mi], r[mi], "Labour").astype(np.int64)
            em = e[mi]
            i0 = np.where(em == EMPLOYED, 0, np.where(em == UNEMPLOYED, 2, 4))
            to_a = np.where(em == EMPLOYED, UNEMPLOYED, EMPLOYED)
            to_b = np.where(em == INACTIVE, UNEMPLOYED, INACTIVE)
            pa = t.labour[band[mi], hl[mi], i0].astype(np.int64)
            pb = t.labour[band[mi], hl[mi], i0 + 1].astype(np.int64)
            nxt[mi] = np.where(d < pa, to_a, np.where(d - pa < pb, to_b, em))
        # earnings
        earn = P["earnings"]
        newe = np.zeros_like(earn)
        en = np.nonzero((nxt == EMPLOYED) & (e != EMPLOYED))[0]
        if en.size:
            q = (draw(l[en], r[en], "EarningsEntry") >> U32(24)).astype(np.int64)
            newe[en] = t.earnings[band[en], sx[en], q]
        gi = np.nonzero((nxt == EMPLOYED) & (e == EMPLOYED))[0]
        if gi.size:
            q = (draw(l[gi], r[gi], "EarningsGrowth") >> U32(26)).astype(np.int64)
            g_raw = p["growth_q20"]
            g_raw = g_raw - (1 << 32) if g_raw >= 1 << 31 else g_raw
            g = g_raw + t.growth_noise[q]
            ga = np.minimum(np.abs(g), 0xFFFF)
            ee = earn[gi]
            inc = (ee * ga) >> 20
            newe[gi] = np.where(g >= 0, np.minimum(np.minimum(ee + inc, M32), EARNINGS_CAP), np.maximum(ee - inc, 0))
        P["earnings"] = newe
        s = (s & ~(7 << EMPLOYMENT_SHIFT)) | (nxt << EMPLOYMENT_SHIFT)
        e = nxt

        # ---- health
        ten = (H["info"][P["household"]] >> 4) & 7
        mult = np.full(s.size, BP, np.int64)
        hm = (ten == HOMELESS) | (ten == TEMPORARY)
        mult[hm] = mul_mult(mult[hm], p["sp_homeless_health_bp"])
        um = e == UNEMPLOYED
        mult[um] = mul_mult(mult[um], p["sp_unemployed_health_bp"])
        if not self.compat_head:
            mult = np.minimum(mult, 100_000)
        d = draw(l, r, "Health").astype(np.int64)
        th = t.health.astype(np.int64)
        h_new = hl.copy()
        g_ = hl == GOOD
        h_new[g_ & (d < mul_mult(th[band, 0], mult))] = LIMITING
        lm = hl == LIMITING
        to_sev = mul_mult(th[band, 1], mult)
        h_new[lm & (d < to_sev)] = SEVERE
        h_new[lm & (d >= to_sev) & (d - to_sev < th[band, 2])] = GOOD
        h_new[(hl == SEVERE) & (d < th[band, 3])] = LIMITING
        c = (s >> CARE_SHIFT) & 3
        dc = draw(l, r, "Care").astype(np.int64)
        tc = t.care.astype(np.int64)
        c_new = c.copy()
        cn = c == CARE_NONE
        c_new[cn & (((h_new == LIMITING) & (dc < tc[band, 0])) | ((h_new == SEVERE) & (dc < tc[band, 1])))] = CARE_MODERATE
        cm = c == CARE_MODERATE
        to_sub = tc[band, 2]
        c_new[cm & (dc < to_sub)] = CARE_SUBSTANTIAL
        c_new[cm & (dc >= to_sub) & (dc - to_sub < tc[band, 3])] = CARE_NONE
        s = (s & ~(3 << HEALTH_SHIFT) & ~(3 << CARE_SHIFT)) | (h_new << HEALTH_SHIFT) | (c_new << CARE_SHIFT)

        # ---- person policy
        sp = np.where(~at_spa, 0, np.where(birth_month >= p["sp_new_from"], p["sp_full"], p["sp_basic"]))
        gross = newe + sp
        self.tax = income_tax(p, gross * 12) // 12
        ey = newe * 12
        ni = (mul_bp(np.minimum(ey, p["ni_uel"]) - p["ni_pt"], p["ni_main_bp"]) + mul_bp(sat_sub(ey, p["ni_uel"]), p["ni_upper_bp"])) // 12
        self.ni = np.where(at_spa | (ey <= p["ni_pt"]), 0, ni)
        self.sp = sp
        dis = np.zeros(s.size, np.int64)
        ng = np.nonzero(h_new != GOOD)[0]
        if ng.size:
            score = (((draw(P["pl"][ng], P["pr"][ng], "DisabilityScore") >> U32(16)).astype(np.int64) * 100) >> 16)
            hh_ = h_new[ng]
            am = age_m[ng]
            v = np.where(am < p["dis_min_age"], 0,
                         np.where((hh_ == SEVERE) & (score >= p["dis_severe_threshold"]), p["dis_severe"],
                                  np.where((hh_ == LIMITING) & (score >= p["dis_threshold"]), p["dis_limiting"], 0)))
            dis[ng] = v
        self.dis = dis
        cap = P["wealth"]
        elig = ~((age_m < p["care_min_age"]) | (c_new < p["care_eligible"]))
        selff = elig & (cap > p["care_upper"])
        council = elig & ~selff
        steps = ceil_div(sat_sub(cap, p["care_lower"]), p["care_tariff_step"])
        self.care_tariff = np.where(council, mul_sat(steps, p["care_tariff"]), 0)
        funding = np.where(selff, FUNDING_SELF, np.where(council, FUNDING_COUNCIL, FUNDING_NONE))
        s = (s & ~(3 << CARE_FUNDING_SHIFT)) | (funding << CARE_FUNDING_SHIFT)
        P["status"] = s
        self._spa = spa
        self._birth_month = birth_month

    # ------------------------------------------------------------------ household policy
    def _household_policy(self, p):
        P, H, t = self.P, self.H, self.t
        nh = H["info"].size
        hidx = P["household"]
        s = P["status"]
        age_m = P["age_months"]
        e = P["earnings"]
        emp = (s >> EMPLOYMENT_SHIFT) & 7
        child = (age_m // 12 < 16) | ((age_m // 12 < 20) & (emp == IN_EDUCATION))
        adult = ~child
        ded = self.tax + self.ni
        bc = lambda v: np.bincount(hidx, weights=v, minlength=nh)

        def isum(v):  # sum per household, saturated at u32::MAX; exact in float64 (values
            # below 2^32, households far below 2^21 members)
            return np.minimum(np.rint(bc(v.astype(np.float64))).astype(np.int64), M32)

        # persons are grouped by household in household order: a segmented max
        ne = np.nonzero(H["len"] > 0)[0]
        seg = H["start"][ne]

        def imax(v):
            out = np.zeros(nh, np.int64)
            out[ne] = np.maximum.reduceat(v, seg)
            return out

        earnings = isum(e)
        unearned = isum(self.sp)
        disability = isum(self.dis > 0) > 0
        person_net = isum(sat_sub(sat_add(sat_add(e, self.sp), self.dis), ded))
        children = isum(child)
        protected = isum(child & (self._birth_month < p["two_child_protected_before"]))
        adults = isum(adult)
        below = isum(adult & (age_m < self._spa))
        max_age = imax(np.where(adult, age_m, 0))
        net_earn = isum(np.where(adult, sat_sub(e, ded), 0))
        capital = isum(np.where(adult, P["wealth"], 0))
        lcw = isum(adult & (((s >> HEALTH_SHIFT) & 3) == SEVERE)) > 0
        max_inc = imax(np.where(adult, sat_add(e, self.sp), 0))
        info = H["info"]
        region = info & 0xF
        ten = (info >> 4) & 7
        rent = H["rent"]
        # universal credit
        older = max_age >= p["uc_age_threshold"]
        standard = np.where(adults >= 2, np.where(older, p["uc_couple_25"], p["uc_couple_u25"]),
                            np.where(older, p["uc_single_25"], p["uc_single_u25"]))
        paid = np.maximum(protected, np.minimum(children, p["two_child_limit_count"])) if p["two_child_limit_on"] else children
        child_el = paid * p["uc_child"] + np.where((protected > 0) & (paid > 0), max(p["uc_child_first_higher"] - p["uc_child"], 0), 0)
        lha = np.array(p["lha"], np.int64)[region]
        housing = np.where(ten == PRIVATE_RENT, np.minimum(rent, lha), np.where((ten == OWNER) | (ten == HOMELESS), 0, rent))
        maximum = sat_add(sat_add(standard, child_el), housing)
        wa = np.where((children > 0) | lcw, np.where(housing > 0, p["uc_wa_housing"], p["uc_wa_no_housing"]), 0)
        ed = mul_bp(sat_sub(net_earn, wa), p["uc_taper_bp"])
        tariff = mul_sat(ceil_div(sat_sub(capital, p["uc_capital_lower"]), 250), p["uc_capital_tariff"])
        uc = sat_sub(maximum, sat_add(sat_add(ed, unearned), tariff))
        uc = np.where((adults == 0) | (below == 0) | (capital > p["uc_capital_upper"]), 0, uc)
        # pension credit
        guarantee = np.where(adults >= 2, p["pc_couple"], p["pc_single"])
        deemed = mul_sat(ceil_div(sat_sub(capital, p["pc_capital_disregard"]), 500), p["pc_capital_tariff"])
        pc = sat_sub(guarantee, sat_add(sat_add(net_earn, unearned), deemed))
        pc = np.where((adults == 0) | (below > 0), 0, pc)
        # child benefit and the charge
        cb = np.where(children > 0, p["cb_eldest"] + np.maximum(children - 1, 0) * p["cb_additional"], 0)
        income = max_inc * 12
        rng_ = p["hicbc_end"] - p["hicbc_start"]
        over = np.minimum(np.maximum(income - p["hicbc_start"], 0), rng_)
        percent = (over * 100) // rng_
        hicbc = np.where((children > 0) & (income > p["hicbc_start"]), (cb * percent) // 100, 0)
        # benefit cap
        family = (adults >= 2) | (children > 0)
        london = region == LONDON
        capv = np.where(family, np.where(london, p["cap_family_london"], p["cap_family"]),
                        np.where(london, p["cap_single_london"], p["cap_single"]))
        total = sat_add(uc, cb)
        capred = np.where(total > capv, np.minimum(total - capv, uc), 0)
        capred = np.where((uc == 0) | (net_earn >= p["cap_earnings_exemption"]) | disability | lcw, 0, capred)
        uc = uc - capred
        net = sat_sub(sat_add(sat_add(sat_add(person_net, uc), pc), cb), hicbc)
        self.hout = dict(uc=uc, pc=pc, cb=cb, hicbc=hicbc, cap=capred, net=net)

    # ------------------------------------------------------------------ housing
    def _housing(self, p, acc):
        P, H = self.P, self.H
        hi = np.nonzero(H["len"] > 0)[0]
        net = self.hout["net"][hi]
        first = H["start"][hi]
        info = H["info"][hi]
        ten = (info >> 4) & 7
        rent = H["rent"][hi]
        arr = H["arrears"][hi]
        prev = H["prev_net"][hi]
        ev_draw = draw(self.sl[first], self.sr[first], "Eviction").astype(np.int64)
        renting = (ten == PRIVATE_RENT) | (ten == SOCIAL_RENT)
        affordable = mul_bp(net, p["afford_bp"])
        due = sat_add(rent, arr)
        nxt = due - np.minimum(due, affordable)
        fell = (nxt > arr) & (net < prev)
        nxt = np.where(fell, sat_add(arr, mul_mult(np.maximum(nxt - arr, 0), p["sp_income_arrears_bp"])), nxt)
        at_risk = (rent > 0) & (nxt >= mul_sat(rent, p["evict_months"]))
        prob = np.where(ten == PRIVATE_RENT, p["evict_private_bp"], p["evict_social_bp"])
        evicted = renting & at_risk & (ev_draw % 10_000 < prob)
        nxt = np.where(evicted, 0, nxt)
        H["arrears"][hi] = np.where(renting, nxt, arr)
        H["prev_net"][hi] = net
        ei = hi[evicted]
        r = H["info"][ei] & 0xF
        H["info"][ei] = r | (HOMELESS << 4)
        f = H["start"][ei]
        s = P["status"][f]
        c = (r * 8 + BAND_OF_AGE[P["age_months"][f] // 12]) * 2 + (s & 1)
        cell_add(acc, c * NM + MI["homelessness_applications"], H["weight"][ei])

    # ------------------------------------------------------------------ services
    def _services(self, p, keys, acc):
        P, H, t = self.P, self.H, self.t
        n = P["id_lo"].size
        l, r = self.sl, self.sr
        s = P["status"]
        hidx = P["household"]
        age_m = P["age_months"]
        band = BAND_OF_AGE[age_m // 12]
        hl = (s >> HEALTH_SHIFT) & 3
        info = H["info"][hidx]
        region = info & 0xF
        ten = (info >> 4) & 7
        is_ref = H["start"][hidx] == np.arange(n)
        w = H["weight"][hidx]
        cells = (region * 8 + band) * 2 + (s & 1)
        old = P["svc_wait"]
        new = np.zeros(n, np.int64)

        def prio_of(svc, need, new_draw):
            k = (old >> (5 * svc)) & 31
            left = (k != 0) & (k != IN_PACKAGE) & ~need
            li = np.nonzero(left)[0]
            for m in ((SM_DEMAND, SM_LEFT) if self.compat_head else (SM_DEMAND, SM_UNMET, SM_LEFT)):
                cell_add(acc, cells[li] * NM + smeasure(svc, m), w[li])
            return np.where(k == IN_PACKAGE, np.where(need, IN_PACKAGE, 0),
                            np.where(k != 0, np.where(need, np.minimum(k + 1, 30), 0), np.where(new_draw, 1, 0)))

        ones = np.ones(n, bool)
        # care first: its waiting state drives the admission spillover
        need = ((s >> CARE_FUNDING_SHIFT) & 3) == FUNDING_COUNCIL
        pc_ = prio_of(S_CARE, need, need)
        new |= pc_ << (5 * S_CARE)
        care_wait = (pc_ >= 2) & (pc_ <= 30)
        tsv = t.service.astype(np.int64)
        new |= prio_of(S_GP, ones, draw(l, r, "GpDemand").astype(np.int64) < tsv[band, hl, 0]) << (5 * S_GP)
        new |= prio_of(S_AE, ones, draw(l, r, "AeDemand").astype(np.int64) < tsv[band, hl, 1]) << (5 * S_AE)
        thr = tsv[band, hl, 2]
        thr = np.where(care_wait, mul_mult(thr, p["sp_care_admission_bp"]), thr)
        new |= prio_of(S_HOSPITAL, ones, draw(l, r, "HospitalDemand").astype(np.int64) < thr) << (5 * S_HOSPITAL)
        need = is_ref & (ten == HOMELESS)
        new |= prio_of(S_HOMELESS, need, need) << (5 * S_HOMELESS)
        need = ((s >> EMPLOYMENT_SHIFT) & 7) == UNEMPLOYED
        ed = np.zeros(n, bool)
        ui = np.nonzero(need)[0]
        ed[ui] = (draw(l[ui], r[ui], "EmploymentDemand") % U32(10_000)).astype(np.int64) < p["emp_request_bp"]
        new |= prio_of(S_EMPLOYMENT, need, ed) << (5 * S_EMPLOYMENT)

        # ---- requests: (person, service, priority, units)
        lett = is_ref & (ten == TEMPORARY)
        has = (new != 0) | lett
        ri = np.nonzero(has)[0]
        kbase = draw(l[ri], r[ri], "Queue")
        req_p, req_s, req_prio, req_u, req_key = [], [], [], [], []
        nw = new[ri]
        cw = care_wait[ri]
        for svc in range(N_SERVICES):
            if svc == S_LETTINGS:
                m = np.nonzero(lett[ri])[0]
                pr = np.minimum(H["wait"][hidx[ri[m]]] + 1, MAX_LETTING_PRIORITY)
                u = np.ones(m.size, np.int64)
            else:
                pr_all = (nw >> (5 * svc)) & 31
                m = np.nonzero(pr_all != 0)[0]
                pr = pr_all[m]
                pi = ri[m]
                if svc == S_HOSPITAL:
                    req_step = (p["step"] - (pr - 1)) & M32
                    mean = t.stay[band[pi]]
                    dd = mix32(mix32(P["pl"][pi] ^ (SALT["LengthOfStay"] ^ mix32(req_step.astype(np.uint32)))) ^ P["pr"][pi]).astype(np.int64)
                    los = 1 + dd % (2 * mean - 1)
                    u = np.where(cw[m], np.maximum(mul_mult(los, p["sp_care_stay_bp"]), 1), los)
                elif svc == S_CARE:
                    u = np.where(((s[pi] >> CARE_SHIFT) & 3) == CARE_SUBSTANTIAL, p["care_hours_substantial"], p["care_hours_moderate"]).astype(np.int64)
                else:
                    u = np.ones(m.size, np.int64)
            key = mix32(kbase[m] ^ U32(((svc + 1) * GOLDEN) & M32))
            req_p.append(ri[m]); req_s.append(np.full(m.size, svc, np.int64)); req_prio.append(pr)
            req_u.append(u); req_key.append(key)
        rp = np.concatenate(req_p)
        rs = np.concatenate(req_s)
        rpr = np.concatenate(req_prio).astype(np.int64)
        ru = np.concatenate(req_u).astype(np.int64)
        rk = np.concatenate(req_key)
        rw = w[rp]
        q = rs * 12 + region[rp]
        if rp.size == 0:
            P["svc_wait"] = new
            return
        wu = rw * ru
        # ---- the served set: per queue, the longest prefix by (priority desc, key desc) whose
        # weighted units fit the capacity, whole (priority, key) groups at a time
        order = np.lexsort((~rk, 255 - rpr, q))
        qs, ps, ks, ws = q[order], rpr[order], rk[order], wu[order]
        cs = np.cumsum(ws)
        m_ = qs.size
        qstart = np.ones(m_, bool)
        qstart[1:] = qs[1:] != qs[:-1]
        base = np.maximum.accumulate(np.where(qstart, cs - ws, 0))
        gend = np.ones(m_, bool)
        gend[:-1] = (qs[1:] != qs[:-1]) | (ps[1:] != ps[:-1]) | (ks[1:] != ks[:-1])
        gid = np.cumsum(np.r_[True, gend[:-1]]) - 1
        gcum = cs[gend][gid]
        caps = np.array(p["capacity"], np.int64)
        served_sorted = (gcum - base) <= caps[qs]
        served = np.empty(m_, bool)
        served[order] = served_sorted
        # ---- apply
        c = cells[rp]
        cell_add(acc, c * NM + SERVICE_BASE + rs * 10 + SM_DEMAND, rw)
        cell_add(acc, c * NM + SERVICE_BASE + rs * 10 + SM_UNITS_DEMANDED, wu)
        is_new = np.where(rs == S_LETTINGS, H["wait"][hidx[rp]] == 0, rpr == 1)
        cell_add(acc, (c * NM + SERVICE_BASE + rs * 10 + SM_NEW)[is_new], rw[is_new])
        costs = np.array([p["cost_gp"], p["cost_ae"], p["cost_hospital"], p["cost_care"], p["cost_homeless"], p["cost_employment"], p["cost_lettings"]], np.int64)
        sv = served
        cell_add(acc, (c * NM + SERVICE_BASE + rs * 10 + SM_SERVED)[sv], rw[sv])
        cell_add(acc, (c * NM + SERVICE_BASE + rs * 10 + SM_UNITS)[sv], wu[sv])
        cell_add(acc, (c * NM + SERVICE_BASE + rs * 10 + SM_COST)[sv], (rw * mul_sat(ru, costs[rs]))[sv])
        un = ~sv
        cell_add(acc, (c * NM + SERVICE_BASE + rs * 10 + SM_UNMET)[un], rw[un])
        maxw = np.array([p["max_wait_gp"], p["max_wait_ae"], p["max_wait_hospital"], p["max_wait_care"], p["max_wait_homeless"], p["max_wait_employment"], 1 << 40], np.int64)
        waited = np.where(rpr == IN_PACKAGE, 1, rpr)
        let_ = rs == S_LETTINGS
        left = un & ~let_ & (waited > maxw[rs])
        wait_ = un & (let_ | ~(waited > maxw[rs]))
        cell_add(acc, (c * NM + SERVICE_BASE + rs * 10 + SM_LEFT)[left], rw[left])
        cell_add(acc, (c * NM + SERVICE_BASE + rs * 10 + SM_WAITING)[wait_], rw[wait_])
        # new waiting states of person services
        pers = ~let_
        newval = np.where(sv, np.where(rs == S_CARE, IN_PACKAGE, 0), np.where(left, 0, waited))
        for svc in range(N_PERSON_SERVICES):
            m = pers & (rs == svc)  # each (person, service) appears once
            pi_ = rp[m]
            new[pi_] = (new[pi_] & ~(31 << (5 * svc))) | (newval[m] << (5 * svc))
        P["svc_wait"] = new
        # household moves, decided by first members
        hh = hidx[rp]
        rr = region[rp]
        ta_rent = np.array(p["ta_rent"], np.int64)
        social_rent = np.array(p["social_rent"], np.int64)
        hsv = (rs == S_HOMELESS) & sv
        hl_ = (rs == S_HOMELESS) & left
        lsv = let_ & sv
        lun = let_ & un
        for mask, ten_new, rent_new in ((hsv, TEMPORARY, ta_rent), (hl_, PRIVATE_RENT, ta_rent), (lsv, SOCIAL_RENT, social_rent)):
            hx = hh[mask]
            H["info"][hx] = rr[mask] | (ten_new << 4)
            if not (self.compat_head and ten_new == PRIVATE_RENT):
                H["rent"][hx] = rent_new[rr[mask]]
            H["wait"][hx] = 0
        hx = hh[lun]
        H["wait"][hx] = np.minimum(H["wait"][hx] + 1, M32)

    # ------------------------------------------------------------------ accounting
    def _accounting(self, p, acc):
        P, H = self.P, self.H
        n = P["id_lo"].size
        hidx = P["household"]
        s = P["status"]
        info = H["info"][hidx]
        w = H["weight"][hidx]
        c = ((info & 0xF) * 8 + BAND_OF_AGE[P["age_months"] // 12]) * 2 + (s & 1)
        base = c * NM
        cell_add(acc, base + MI["population"], w)
        cell_add(acc, base + MI["child"] + ((s >> EMPLOYMENT_SHIFT) & 7), w)
        cell_add(acc, base + MI["health_good"] + ((s >> HEALTH_SHIFT) & 3), w)
        cell_add(acc, base + MI["care_none"] + ((s >> CARE_SHIFT) & 3), w)
        cell_add(acc, base + MI["earnings_pence"], w * P["earnings"])
        cell_add(acc, base + MI["income_tax_pence"], w * self.tax)
        cell_add(acc, base + MI["national_insurance_pence"], w * self.ni)
        for amount, cl, money in ((self.sp, "state_pension_caseload", "state_pension_pence"),
                                  (self.dis, "disability_benefit_caseload", "disability_benefit_pence")):
            m = amount > 0
            cell_add(acc, base[m] + MI[cl], w[m])
            cell_add(acc, base[m] + MI[money], (w * amount)[m])
        f = (s >> CARE_FUNDING_SHIFT) & 3
        m = f != FUNDING_NONE
        cell_add(acc, base[m] + MI["social_care_eligible"], w[m])
        m = f == FUNDING_SELF
        cell_add(acc, base[m] + MI["social_care_self_funder_caseload"], w[m])
        m = f == FUNDING_COUNCIL
        cell_add(acc, base[m] + MI["social_care_council_funded_caseload"], w[m])
        cell_add(acc, base[m] + MI["social_care_tariff_income_pence"], (w * self.care_tariff)[m])
        # households, at their first member
        ref = np.nonzero(H["start"][hidx] == np.arange(n))[0]
        hh = hidx[ref]
        b = base[ref]
        wh = w[ref]
        ho = self.hout
        cell_add(acc, b + MI["households"], wh)
        cell_add(acc, b + MI["household_net_income_pence"], wh * ho["net"][hh])
        for key, cl, money in (("uc", "universal_credit_caseload", "universal_credit_pence"),
                               ("pc", "pension_credit_caseload", "pension_credit_pence"),
                               ("cb", "child_benefit_caseload", "child_benefit_pence"),
                               ("cap", "benefit_cap_caseload", "benefit_cap_reduction_pence")):
            a = ho[key][hh]
            m = a > 0
            cell_add(acc, b[m] + MI[cl], wh[m])
            cell_add(acc, b[m] + MI[money], (wh * a)[m])
        cell_add(acc, b + MI["child_benefit_charge_pence"], wh * ho["hicbc"][hh])
        ten = (H["info"][hh] >> 4) & 7
        arr = H["arrears"][hh]
        m = ((ten == PRIVATE_RENT) | (ten == SOCIAL_RENT)) & (arr > 0)
        cell_add(acc, b[m] + MI["households_in_arrears"], wh[m])
        cell_add(acc, b[m] + MI["rent_arrears_pence"], (wh * arr)[m])
        m = ten == HOMELESS
        cell_add(acc, b[m] + MI["homeless_households"], wh[m])
        m = ten == TEMPORARY
        cell_add(acc, b[m] + MI["temporary_accommodation_households"], wh[m])
        cell_add(acc, b[m] + MI["temporary_accommodation_cost_pence"], wh[m] * p["ta_cost"])


def income_tax(p, gross):
    """income_tax_annual on annual gross income (int64 array, pence a year)."""
    pa = np.where(gross > p["pa_taper_threshold"], sat_sub(p["pa"], mul_bp(np.maximum(gross - p["pa_taper_threshold"], 0), p["pa_taper_bp"])), p["pa"])
    taxable = sat_sub(gross, pa)
    basic = np.minimum(taxable, p["higher_threshold"])
    higher = sat_sub(np.minimum(taxable, p["additional_threshold"]), p["higher_threshold"])
    additional = sat_sub(taxable, p["additional_threshold"])
    return mul_bp(basic, p["basic_bp"]) + mul_bp(higher, p["higher_bp"]) + mul_bp(additional, p["additional_bp"])
