#!/usr/bin/env python3
"""Derive data/labour_transitions.csv from assumed target shares and assumed exit rates.

What it does: for each age band and health level, takes the assumed shares of the labour-market
population (not in education, not retired) that are employed (E), unemployed (U) and inactive (I),
and the assumed monthly exit rates out of E and U, then solves the two inflow-balance equations
for the rates out of I so that the shares are a stationary point of the monthly Markov chain:

    e (EU + EI) = u UE + i IE        u (UE + UI) = e EU + i IU

Every input here is an ASSUMPTION (see the comments); the output is written with that label.
Run: python3 scripts/calibrate_labour.py > data/labour_transitions.csv
"""
BANDS = ["16-24", "25-34", "35-49", "50-64", "65-74", "75-84", "85+"]
# ASSUMPTION: shares of the whole band (all health levels) that are employed / unemployed,
# chosen so that the synthetic 16-64 population reaches the ONS LFS Aug-Oct 2024 rates
# (employment 74.9%, unemployment 4.4% of the active; data/reference/uk_optional_indicators.csv).
# Those not in education/retired and not E or U are inactive.
EDU = {"16-24": 0.40, "25-34": 0.03, "35-49": 0.01, "50-64": 0.0, "65-74": 0.0, "75-84": 0.0, "85+": 0.0}
EMP = {"16-24": 0.46, "25-34": 0.85, "35-49": 0.86, "50-64": 0.74, "65-74": 0.12, "75-84": 0.02, "85+": 0.005}
UNE = {"16-24": 0.06, "25-34": 0.035, "35-49": 0.028, "50-64": 0.022, "65-74": 0.004, "75-84": 0.0, "85+": 0.0}
# ASSUMPTION: disability prevalence (limiting + severe) by band, the FRS 2022-23 shape (see data/health.csv)
PREV = {"16-24": 0.17, "25-34": 0.19, "35-49": 0.22, "50-64": 0.30, "65-74": 0.40, "75-84": 0.52, "85+": 0.67}
SEVERE_SHARE = {"16-24": 0.30, "25-34": 0.30, "35-49": 0.30, "50-64": 0.30, "65-74": 0.35, "75-84": 0.35, "85+": 0.45}
# ASSUMPTION: employment relative to good health (ONS disability employment gap, 2024: 53% vs 82%)
REL_EMP = {"good": 1.0, "limiting": 0.75, "severe": 0.40}
# ASSUMPTION: monthly exit rates from E and U by health (LFS flows order of magnitude)
EU = {"good": 0.005, "limiting": 0.007, "severe": 0.009}
EI = {"good": 0.004, "limiting": 0.008, "severe": 0.015}
UE = {"good": 0.11, "limiting": 0.08, "severe": 0.05}
UI = {"good": 0.05, "limiting": 0.07, "severe": 0.10}

print("# source: ASSUMPTION - derived by scripts/calibrate_labour.py from assumed target shares (anchored to ONS LFS Aug-Oct 2024 16-64 rates in data/reference/uk_optional_indicators.csv) and assumed monthly exit rates; not official transition data")
print("age_band,health,p_employed,p_unemployed,rate_eu,rate_ei,rate_ue,rate_ui,rate_ie,rate_iu,unit")
for b in BANDS:
    p = PREV[b]; s = p * SEVERE_SHARE[b]; l = p - s; g = 1 - p
    norm = g * REL_EMP["good"] + l * REL_EMP["limiting"] + s * REL_EMP["severe"]
    for h in ["good", "limiting", "severe"]:
        active = 1 - EDU[b]
        e = min(0.97, EMP[b] * REL_EMP[h] / norm) / active if active > 0 else 0
        u = UNE[b] * (1.0 if h == "good" else 1.3) / active
        e = min(e, 0.97); u = min(u, 0.99 - e)
        i = 1 - e - u
        ie = max(0.0, (e * (EU[h] + EI[h]) - u * UE[h]) / i)
        iu = max(0.0, (u * (UE[h] + UI[h]) - e * EU[h]) / i)
        print(f"{b},{h},{e:.4f},{u:.4f},{EU[h]:.4f},{EI[h]:.4f},{UE[h]:.4f},{UI[h]:.4f},{ie:.5f},{iu:.5f},probability per month")
