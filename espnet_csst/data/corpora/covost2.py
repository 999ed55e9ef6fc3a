"""CoVoST 2 speech translation data (Common Voice clips + CoVoST 2 translations).

    python -m espnet_csst.data.corpora.covost2 --cv_root CV --covost_dir DIR \\
        --src_lang es --tgt_lang en --out_dir data

Reads (formats in doc/corpora.md):
  CV/clips/<path>                 Common Voice clips (MP3; CoVoST 2 uses Common Voice 4)
  CV/validated.tsv                Common Voice transcripts: client_id, path, sentence, ...
  DIR/covost_v2.<src>_<tgt>.tsv   CoVoST 2 translations: path, [sentence,] translation,
                                  [client_id,] split (train, train_covost, dev, test, ...)

Like the official split script (facebookresearch/covost get_covost_splits.py), the
transcript and speaker come from Common Voice's validated.tsv joined on ``path``;
train = split ``train`` or ``train_covost``, dev = ``dev``, test = ``test``. Both TSVs
are read with quoting off and ``\\`` as escape character, as the official loader does.

Writes OUT/{train,dev,test}_<src>_<tgt>/ (ISO 639 codes, e.g. zh-CN -> zh):
wav.scp (MP3 paths), text.<src> (transcript), text.<tgt> (translation), utt2spk,
spk2utt, utt2lang (<src>), utt2dur. Speakers are a 16-hex-digit hash of client_id and
prefix the utterance ids: ``<spk>-<clip name without .mp3>``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Dict, List, Optional

from espnet_csst.data.corpora._common import (
    CvClip,
    DropReport,
    PrepError,
    audio_durations,
    check_mp3_support,
    clip_name,
    existing_dir,
    info,
    find_cv_lang_dir,
    iso_lang,
    list_dir_sizes,
    load_cv_tsv,
    one_line,
    read_tsv,
    run_main,
    safe_id,
    short_error,
    speaker_id,
    unique_records,
    write_dirs,
)
from espnet_csst.data.datadir import UttRecord

#: Translation directions released in CoVoST 2 (README and get_covost_splits.py).
XX_EN = ("fr", "de", "es", "ca", "it", "ru", "zh-CN", "pt", "fa", "et", "mn", "nl", "tr",
         "ar", "sv-SE", "lv", "sl", "ta", "ja", "id", "cy")
EN_XX = ("de", "tr", "fa", "sv-SE", "mn", "zh-CN", "cy", "ca", "sl", "et", "id", "ar", "ta",
         "lv", "ja")
#: CoVoST 2 split labels -> our split (get_v2_split: train also takes train_covost).
SPLIT_OF_LABEL = {"train": "train", "train_covost": "train", "dev": "dev", "test": "test"}
SPLITS = ("train", "dev", "test")
COVOST_TSV = "CoVoST 2 translation TSV (columns path, translation, split)"


def check_pair(src: str, tgt: str) -> None:
    if src == tgt or "en" not in (src, tgt):
        raise PrepError(f"--src_lang {src} --tgt_lang {tgt}: CoVoST 2 pairs are X->en or en->X")
    if src != "en" and src not in XX_EN:
        raise PrepError(f"CoVoST 2 has no {src}->en direction; sources: {', '.join(XX_EN)}")
    if src == "en" and tgt not in EN_XX:
        raise PrepError(f"CoVoST 2 has no en->{tgt} direction; targets: {', '.join(EN_XX)}")


def covost_tsv_path(covost_dir: Path, src: str, tgt: str) -> Path:
    name = f"covost_v2.{src}_{tgt}.tsv"
    for cand in (covost_dir / name, covost_dir / src / name):
        if cand.is_file():
            return cand
    archive = covost_dir / f"{name}.tar.gz"
    if archive.is_file():
        raise PrepError(f"{covost_dir / name} not found but {archive} is there; "
                        f"extract it first: tar -xzf {archive} -C {covost_dir}")
    raise PrepError(f"{covost_dir / name} not found; download "
                    f"https://dl.fbaipublicfiles.com/covost/{name}.tar.gz and extract it "
                    f"into {covost_dir}")


def split_name(split: str, src: str, tgt: str) -> str:
    """Data directory name, e.g. ``train_es_en``, ``dev_en_zh``."""
    return f"{split}_{iso_lang(src)}_{iso_lang(tgt)}"


def prepare(cv_root: Path, covost_dir: Path, src: str, tgt: str, out_dir: Path,
            cv_tsv: Optional[Path] = None, nj: int = 4) -> Dict[str, dict]:
    """Write the three data directories; return ``{dir name: {"kept", "dropped"}}``."""
    check_pair(src, tgt)
    check_mp3_support()
    tsv = covost_tsv_path(covost_dir, src, tgt)
    cv_dir = find_cv_lang_dir(cv_root, src)
    cv_tsv = cv_tsv or cv_dir / "validated.tsv"
    src_iso, tgt_iso = iso_lang(src), iso_lang(tgt)

    header_drops = DropReport()
    covost_rows = list(read_tsv(tsv, ("path", "translation", "split"), COVOST_TSV, header_drops))
    cv: Dict[str, CvClip] = {}
    if cv_tsv.is_file():
        cv = load_cv_tsv(cv_tsv, header_drops)
        info("read %d Common Voice clips from %s", len(cv), cv_tsv)
    elif not covost_rows or not {"sentence", "client_id"} <= set(covost_rows[0][1]):
        raise PrepError(f"{cv_tsv} not found and {tsv.name} has no sentence/client_id columns; "
                        "the transcripts come from Common Voice's validated.tsv")
    else:
        info("%s not found: taking sentence and client_id from %s", cv_tsv, tsv.name)
    clips = list_dir_sizes(cv_dir / "clips")

    drops = {s: DropReport() for s in SPLITS}
    unused_labels: Dict[str, int] = {}
    candidates: Dict[str, List[tuple]] = {s: [] for s in SPLITS}
    seen_paths = set()
    for lineno, row in covost_rows:
        split = SPLIT_OF_LABEL.get(row["split"])
        if split is None:
            unused_labels[row["split"]] = unused_labels.get(row["split"], 0) + 1
            continue
        name = clip_name(row["path"])
        d = drops[split]
        if name in seen_paths:
            d.drop("path repeated in the CoVoST TSV", f"{tsv.name}:{lineno}")
            continue
        seen_paths.add(name)
        if cv:
            meta = cv.get(name)
            if meta is None:
                d.drop("not in Common Voice validated.tsv", name)
                continue
        else:
            meta = CvClip(row["sentence"], row["client_id"])
        sentence, translation = one_line(meta.sentence), one_line(row["translation"])
        if not sentence:
            d.drop("empty sentence", name)
            continue
        if not translation:
            d.drop("empty translation", name)
            continue
        size = clips.get(name)
        if size is None:
            d.drop("clip missing from clips/", name)
            continue
        if size == 0:
            d.drop("empty clip file (0 bytes)", name)
            continue
        candidates[split].append((name, sentence, translation, meta.client_id))

    paths = [str(cv_dir / "clips" / c[0]) for s in SPLITS for c in candidates[s]]
    durations = audio_durations(paths, nj)
    outputs = {}
    for split in SPLITS:
        records = []
        for name, sentence, translation, client_id in candidates[split]:
            path = str(cv_dir / "clips" / name)
            dur = durations[path]
            if isinstance(dur, BaseException):
                drops[split].drop(f"unreadable audio ({short_error(dur)})", name)
                continue
            if dur <= 0:
                drops[split].drop("zero-length audio", name)
                continue
            spk = speaker_id(client_id)
            stem = name[: -len(".mp3")]
            records.append(UttRecord(
                utt_id=f"{spk}-{safe_id(stem)}", spk=spk,
                texts={src_iso: sentence, tgt_iso: translation},
                wav={"": path}, lang=src_iso, durations={"": dur},
            ))
        records = unique_records(records, drops[split])
        outputs[split_name(split, src, tgt)] = (records, drops[split])
    written = write_dirs(out_dir, outputs)
    for label, n in sorted(unused_labels.items()):
        info("ignored %d rows with split label %r (not a CoVoST 2 split)", n, label)
    for line in header_drops.lines():
        info("%s", line)
    return {name: {"kept": n, "dropped": outputs[name][1].as_dict()}
            for name, n in written.items()}


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cv_root", required=True,
                   help="Common Voice release of the source language (dir with clips/)")
    p.add_argument("--covost_dir", required=True, help="dir with covost_v2.<src>_<tgt>.tsv")
    p.add_argument("--src_lang", required=True, help="CoVoST code, e.g. es, zh-CN, en")
    p.add_argument("--tgt_lang", required=True, help="CoVoST code, e.g. en, de, sv-SE")
    p.add_argument("--out_dir", required=True, help="where <split>_<src>_<tgt>/ are written")
    p.add_argument("--cv_tsv", default=None, help="default: <cv_root>/validated.tsv")
    p.add_argument("--nj", type=int, default=4, help="threads reading audio headers")
    return p


def _main(argv=None) -> None:
    args = get_parser().parse_args(argv)
    prepare(
        existing_dir(args.cv_root, "the Common Voice release", "--cv_root"),
        existing_dir(args.covost_dir, "the CoVoST 2 TSV directory", "--covost_dir"),
        args.src_lang, args.tgt_lang, Path(args.out_dir),
        Path(args.cv_tsv) if args.cv_tsv else None, args.nj,
    )


def main(argv=None) -> int:
    return run_main("covost2", _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
