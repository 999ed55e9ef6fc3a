"""Systems compared over several seeds: mean and spread, and a paired significance test.

A recipe trains a system once per seed and scores each run as its own row of
RESULTS.json (``score_results --seed N``). Two questions then matter: how far
the seeds spread (mean and sample standard deviation of each metric), and
whether a system differs from its named baseline by more than chance.

The test is sacrebleu's paired bootstrap resampling (``sacrebleu --paired-bs``,
the Moses script's test) on BLEU, over the seeds' **pooled** hypotheses: the
test set is stacked once per seed that both systems have, seed k of the system
paired with seed k of the baseline, sentence by sentence, and the resampling
draws from all those (seed, utterance) pairs. Pooling makes one test that sees
the variation between utterances and between seeds; per-seed tests would give
one p-value per seed and no rule to combine them. sacrebleu's p-value is
two-sided (the absolute difference), so a mark says "differs", and the sign of
the mean difference says in which direction.
"""

from __future__ import annotations

import logging
import os
import statistics
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from sacrebleu.metrics import BLEU
from sacrebleu.significance import PairedTest

from espnet_csst.scoring.metrics import MAIN_TABLE, ResultsError, match_hyp_to_ref, read_text_file

#: p-values below this mark a difference as significant in RESULTS.md.
ALPHA = 0.05
#: Bootstrap resamples (sacrebleu's default for --paired-bs).
N_SAMPLES = 1000
#: The metric the test runs on (the main table's cased, detokenised BLEU).
TESTED_METRIC = "BLEU"


def mean_and_std(values: Sequence[float]) -> Tuple[float, Optional[float]]:
    """Mean and sample standard deviation (None for one value: no spread is known)."""
    if not values:
        raise ValueError("mean_and_std of no values")
    mean = statistics.fmean(values)
    return mean, (statistics.stdev(values) if len(values) > 1 else None)


def read_pair(hyp: Path, ref: Path) -> Tuple[List[str], List[str]]:
    """Hypotheses and references in reference order (a missing hypothesis is empty, as in scoring)."""
    for path in (hyp, ref):
        if not path.is_file():
            raise ResultsError(f"{path}: not found; the significance test rereads each seed's "
                               "hypotheses, so rescore the seed (or restore its decode dir)")
    hyps, refs, _ = match_hyp_to_ref(read_text_file(hyp), read_text_file(ref), hyp, ref)
    return hyps, refs


def pooled_paired_bootstrap(baseline: Dict[int, Tuple[Path, Path]], system: Dict[int, Tuple[Path, Path]],
                            n_samples: int = N_SAMPLES) -> dict:
    """Paired bootstrap on BLEU over the seeds both have; ``{seed: (hyp, ref)}`` per system.

    Returns the pooled BLEU of each side, their difference, the p-value and the seeds used.
    """
    seeds = sorted(set(baseline) & set(system))
    if not seeds:
        raise ResultsError(f"no seed in common between the system (seeds {sorted(system)}) and its "
                           f"baseline (seeds {sorted(baseline)})")
    bl_hyps, sys_hyps, refs = [], [], []
    for seed in seeds:
        b_hyps, b_refs = read_pair(*baseline[seed])
        s_hyps, s_refs = read_pair(*system[seed])
        if b_refs != s_refs:
            raise ResultsError(f"seed {seed}: {system[seed][1]} and {baseline[seed][1]} are different "
                               "references; a paired test needs the same test set on both sides")
        bl_hyps += b_hyps
        sys_hyps += s_hyps
        refs += s_refs
    if sys_hyps == bl_hyps:
        # sacrebleu's p is (#resamples whose centred |difference| exceeds the observed one + 1) /
        # (resamples + 1): for identical outputs every difference is 0 and p would be 1/1001.
        score = round(BLEU().corpus_score(sys_hyps, [refs]).score, 2)
        return _outcome(seeds, score, score, 1.0, n_samples, len(refs))
    # PairedTest reads its RNG seed from SACREBLEU_SEED (default 12345): fixed, so a rerun
    # gives the same p-value. It logs every step at INFO; keep the recipe log readable.
    previous = logging.getLogger("sacrebleu").level
    logging.getLogger("sacrebleu").setLevel(logging.WARNING)
    try:
        test = PairedTest([("baseline", bl_hyps), ("system", sys_hyps)], {TESTED_METRIC: BLEU()}, [refs],
                          test_type="bs", n_samples=n_samples)
        _, scores = test()
    finally:
        logging.getLogger("sacrebleu").setLevel(previous)
    bl_result, sys_result = scores[TESTED_METRIC]
    return _outcome(seeds, bl_result.score, sys_result.score, float(sys_result.p_value), n_samples, len(refs))


def _outcome(seeds: List[int], baseline: float, system: float, p_value: float, n_samples: int, n_pairs: int) -> dict:
    return {"seeds": seeds, "baseline_pooled": round(baseline, 2), "system_pooled": round(system, 2),
            "delta_pooled": round(system - baseline, 2), "p_value": round(p_value, 4),
            "n_samples": n_samples, "n_pairs": n_pairs,
            "signature": f"paired-bs|BLEU|pooled over seeds|n:{n_samples}|"
                         f"seed:{os.environ.get('SACREBLEU_SEED', '12345')}"}


def seed_runs(rows: List[dict], table: str, system: str, test_set: str,
              results_dir: Path) -> Dict[int, Tuple[Path, Path]]:
    """``{seed: (hyp, ref)}`` of one system's tested-metric rows (paths relative to results_dir)."""
    runs = {}
    for r in rows:
        if (r.get("table", MAIN_TABLE) == table and r.get("system") == system and r.get("test_set") == test_set
                and r.get("metric") == TESTED_METRIC and r.get("seed") is not None and r.get("hyp")):
            runs[int(r["seed"])] = (results_dir / r["hyp"], results_dir / r["ref"])
    return runs


def update_significance(results: dict, results_dir: Path, table: str, test_set: str, system: str) -> List[dict]:
    """Re-test every pair of this table and test set that involves ``system`` (as the system or as
    the baseline) and store the outcomes in ``results["significance"]``; returns them."""
    baselines = (results.get("baselines") or {}).get(table, {})
    pairs = [(s, b) for s, b in baselines.items() if system in (s, b)]
    stored = results.setdefault("significance", [])
    done = []
    for sys_name, base_name in pairs:
        sys_runs = seed_runs(results["rows"], table, sys_name, test_set, results_dir)
        base_runs = seed_runs(results["rows"], table, base_name, test_set, results_dir)
        if not sys_runs or not base_runs or not set(sys_runs) & set(base_runs):
            continue  # the other side has no scored seed on this test set yet
        outcome = pooled_paired_bootstrap(base_runs, sys_runs)
        outcome.update(table=table, system=sys_name, baseline=base_name, test_set=test_set, metric=TESTED_METRIC)
        stored[:] = [e for e in stored if (e["table"], e["system"], e["test_set"], e["metric"])
                     != (table, sys_name, test_set, TESTED_METRIC)]
        stored.append(outcome)
        done.append(outcome)
    return done


def significance_of(results: dict, table: str, system: str, test_set: str) -> Optional[dict]:
    for e in results.get("significance") or []:
        if (e["table"], e["system"], e["test_set"], e["metric"]) == (table, system, test_set, TESTED_METRIC):
            return e
    return None
