"""What each check measures, how to read it, and the paper it follows — shown in the report and the card."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    title: str
    measures: str
    reading: str
    reference: str


GLOSSARY: dict[str, Entry] = {
    "quasi_identifiers": Entry(
        "Quasi-identifiers (k-anonymity and its refinements)",
        "Groups released records by their quasi-identifying columns. k is the smallest group; unique_share the "
        "share of records alone in their group; prosecutor_risk_max / _avg the largest and mean 1/|group|; "
        "l_distinct, l_entropy and t_closeness how varied the sensitive value is inside a group.",
        "Higher k and l, lower risks and t are safer. A prosecutor risk of 0.09 corresponds to groups of 11.",
        "Sweeney, IJUFKS 2002 (k-anonymity); Machanavajjhala et al., ACM TKDD 2007 (l-diversity); Li et al., "
        "ICDE 2007 (t-closeness); definitions as in ARX and pycanon."),
    "unicity": Entry(
        "Unicity of traces",
        "Draws p events of a person's trace (their time bucket and, by default, the action) and counts how often "
        "they match that person only (unique_share) and how often the attack picks the right person "
        "(reidentified_share).",
        "The share of people singled out by p known points; it grows with p. Near 0 is safe.",
        "de Montjoye, Hidalgo, Verleysen & Blondel, Unique in the Crowd, Sci. Rep. 2013."),
    "profile_linkage": Entry(
        "Profile linkage across periods",
        "Builds a behavioural profile of each person in one period and links it to the profiles of a later, "
        "non-overlapping period; top1/top10 accuracy are the shares linked at rank 1 / within the first 10.",
        "Compare with the baseline (random guessing). Time-persistent behaviour makes this high.",
        "Tournier & de Montjoye, Expanding the attack surface, Sci. Adv. 2022."),
    "singling_out": Entry(
        "Singling out (anonymeter)",
        "Predicates learnt from the release that match exactly one original record, scored on the targets and "
        "on a held-out control set of the same population.",
        "risk = (attack rate − control rate) / (1 − control rate), with a 95% interval; 0 means no better "
        "than what the population itself reveals.",
        "Giomi et al., A Unified Framework for Quantifying Privacy Risk in Synthetic Data, PoPETs 2023; "
        "Article 29 WP Opinion 05/2014."),
    "linkability": Entry(
        "Linkability (anonymeter)",
        "Links two partial views of a target (disjoint column sets) through their nearest neighbours in the "
        "release.",
        "As for singling out: risk over the control, with its interval and the random baseline.",
        "Giomi et al., PoPETs 2023; Article 29 WP Opinion 05/2014."),
    "inference": Entry(
        "Inference (anonymeter)",
        "Guesses a secret column of a target from its other columns through the release.",
        "As for singling out: risk over the control, with its interval and the baseline.",
        "Giomi et al., PoPETs 2023; Article 29 WP Opinion 05/2014."),
    "dictionary": Entry(
        "Dictionary attack on pseudonyms",
        "Hashes candidate values an attacker can list (e-mail patterns, id ranges) and counts pseudonyms so "
        "reversed, per identifier column.",
        "Any reversal means the pseudonym is as good as the identifier: salted/keyed hashing (HMAC) prevents it.",
        "ENISA, Pseudonymisation techniques and best practices, 2019; Article 29 WP Opinion 05/2014."),
    "leak_scan": Entry(
        "Leak scan",
        "Looks for every direct identifier of the raw data (e-mails, account ids, IPs, names) anywhere in the "
        "released tables. Only the count is kept, never the values.",
        "Must be 0: a single leaked identifier re-identifies its person.",
        "GDPR Recital 26; DESIGN.md ('never raw data in anon/')."),
    "membership": Entry(
        "Membership inference",
        "For raw accounts (members) and control accounts never released, the distance to the closest released "
        "record: by trace (hour of week, actions, products, activity), by attribute row, and both (joint). The "
        "attacker flags the closer half as members; risk = (attack − control)/(1 − control), advantage = "
        "TPR − FPR. Where the chain declares ε, params.cap is the most any attacker can reach.",
        "Near 0 is safe; an advantage above the ε cap contradicts the chain's DP claim. The controls are "
        "held-out accounts of the same orgs, so every mode asks whether an account was in the data and every "
        "mode is gated.",
        "Chen et al., GAN-Leaks, CCS 2020 (distance to the closest record); Hayes et al., LOGAN, PoPETs 2019; "
        "Yeom et al., CSF 2018 (advantage); Kairouz, Oh & Viswanath, ICML 2015 (the cap)."),
    "cross_tenant": Entry(
        "Cross-tenant linkage",
        "Persons who hold accounts in several organisations: the share whose accounts the release lets an "
        "attacker link.",
        "Near 0 is safe; shared e-mails or stable behaviour make it high.",
        "Narayanan & Shmatikov, Robust De-anonymization of Large Sparse Datasets, IEEE S&P 2008."),
    "passthrough": Entry(
        "Raw precision passed through",
        "For each quasi-identifying column the chain may coarsen or shift (org sizes, creation dates, settings "
        "values), compares the released value of each org or account with its raw one: exact_share is the "
        "share released unchanged; for times, shared_offset the share whose released-minus-raw offset equals "
        "another random unit's (an insider who knows their own offset undoes a shared one).",
        "No absolute bound: compare with a baseline. A coarsened column is near 0, a column with rare values "
        "suppressed a little below 1, a raw one 1; per-person date shifts give a shared_offset near 1/61, a "
        "constant shift 1.",
        "Hundepool et al., Statistical Disclosure Control, Wiley 2012 (quasi-identifiers and their precision); "
        "El Emam & Arbuckle, Anonymizing Health Data, O'Reilly 2013 (date shifting per person)."),
    "utility": Entry(
        "Utility",
        "The same queries asked of every release: the 1-, 2- and 3-way marginals over product, action, hour of "
        "week, weekday, country, plan, role and account type (workload_*way_error, mean over n marginals); "
        "weekly event counts per product, from events or from an aggregate table alike; the hour-of-week "
        "correlation; distances between the action, events-per-account and session-length distributions.",
        "Each figure declares its direction once (reid.utility.DIRECTION, also in summary.json): errors and "
        "distances are better lower (0 = as raw), correlations and retained shares higher (1 = as raw). A "
        "query the release cannot answer carries its worst value. The utility score is the mean of the "
        "headline figures scored on [0, 1] in their direction: 1 for the raw data, 0 for a release of nothing.",
        "Marginal workload error as in AIM (McKenna et al., VLDB 2022; ½·L1 of the normalized marginals); "
        "Kolmogorov–Smirnov and total variation distances; cf. Snoke et al., General and specific utility "
        "measures for synthetic data, JRSS A 2018."),
    "validation": Entry(
        "Validation (Great Expectations)",
        "Expectation suites on the raw tables (schema, keys, ranges, referential integrity) and, per chain, a "
        "privacy contract derived from its steps (no e-mail-shaped strings, IP prefixes, time buckets, ...).",
        "failed_expectations must be 0. Results carry counts only, never the unexpected values.",
        "Great Expectations 1.x; the contract follows the chain's declared steps."),
    "dp_audit": Entry(
        "Differential privacy audit",
        "Holds every step that declares differential privacy to its own claim, on small neighbouring datasets "
        "from the run (D, and D plus one heavy account): sensitivity_ok — with the noise switched off, the "
        "output moves by no more than the declared L1/L0 bounds and no partition only the heavy account holds "
        "is released; epsilon_lower_bound — an empirical lower bound on epsilon from repeated noisy releases "
        "(black_box) or from the noise itself (noise_calibration); passed — all three held.",
        "passed must be 1. A lower bound above the claimed epsilon refutes the claim (confidence 0.999); one "
        "below it does not prove the claim. It catches dropped contribution bounding, partitions selected from "
        "raw counts, noise scaled down, a fixed noise seed and numpy's textbook Laplace sampler.",
        "Dwork & Roth, The Algorithmic Foundations of Differential Privacy, 2014; Jagielski et al., NeurIPS "
        "2020; Bichsel et al., DP-Sniper, IEEE S&P 2021; Mironov, CCS 2012."),
}


def entry(check: str) -> Entry:
    return GLOSSARY.get(check, Entry(check, "A check contributed by a plugin.", "See its documentation.", "—"))
