"""CVSS speech-to-speech translation data (CVSS-C or CVSS-T target speech, Common
Voice source speech, source transcripts from Common Voice / CoVoST 2).

    python -m espnet_csst.data.corpora.cvss --cvss_root CVSS --version c \\
        --cv_root CV --src_lang es --out_dir data [--covost_dir DIR]

Reads (formats in doc/corpora.md):
  CVSS/<src>-en/{train,dev,test}.tsv     two tab-separated columns, no header:
                                         Common Voice clip name, normalized English text
  CVSS/<src>-en/{train,dev,test}/<clip>.wav   target speech (<clip> keeps its ".mp3",
                                         so files are named common_voice_..._N.mp3.wav)
  CV/clips/<clip>, CV/validated.tsv      source speech and transcript (Common Voice 4)
  DIR/covost_v2.<cv_src>_en.tsv          optional: transcript/speaker for clips missing
                                         from validated.tsv, or --tgt_text covost

``<src>`` is the CVSS language code (zh, sv); Common Voice and CoVoST use zh-CN, sv-SE.
Also accepted for the CVSS directory: CVSS/cvss_<v>/<src>-en, CVSS/cvss-<v>/<src>-en,
or CVSS itself when it holds the TSVs.

Writes OUT/{train,dev,test}_cvss_<v>_<src>_en/ in ESPnet s2st.sh naming: wav.scp.<src>
(MP3), wav.scp.en (WAV), text.<src>, text.en, utt2spk, spk2utt, utt2lang (<src>),
utt2dur.<src>, utt2dur.en. Speakers hash the Common Voice client_id and prefix utt ids.
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

SPLITS = ("train", "dev", "test")
#: CVSS source languages (README of google-research-datasets/cvss).
CVSS_LANGS = ("ar", "ca", "cy", "de", "et", "es", "fa", "fr", "id", "it", "ja", "lv", "mn",
              "nl", "pt", "ru", "sl", "sv", "ta", "tr", "zh")
#: CVSS code -> Common Voice / CoVoST 2 code.
CV_CODE = {"zh": "zh-CN", "sv": "sv-SE"}


def find_cvss_dir(cvss_root: Path, version: str, src: str) -> Path:
    cands = [cvss_root / f"{src}-en", cvss_root / f"cvss_{version}" / f"{src}-en",
             cvss_root / f"cvss-{version}" / f"{src}-en", cvss_root]
    for cand in cands:
        if any((cand / f"{s}.tsv").is_file() for s in SPLITS):
            return cand
    raise PrepError(
        f"no CVSS-{version.upper()} {src}-en files (train.tsv, dev.tsv, test.tsv) in any of "
        f"{', '.join(str(c) for c in cands)}; extract cvss_{version}_{src}_en_v1.0.tar.gz "
        f"into {cvss_root / (src + '-en')}"
    )


def read_cvss_tsv(path: Path, drops: DropReport) -> List[tuple]:
    """``[(line number, clip name, text)]`` from a CVSS ``<split>.tsv`` (no header,
    two tab-separated columns; read without quote handling)."""
    out = []
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except UnicodeDecodeError as e:
        raise PrepError(f"{path}: not valid UTF-8 ({e.reason}); is this a CVSS TSV?") from None
    for lineno, line in enumerate(lines, 1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        parts = line.split("\t", 1)
        if lineno == 1 and parts[0] == "path":  # a header line, which the release has not
            continue
        if len(parts) != 2 or not parts[0].strip():
            drops.drop("malformed CVSS TSV line: expected '<clip>\\t<translation>'",
                       f"{path.name}:{lineno}")
            continue
        out.append((lineno, clip_name(parts[0]), one_line(parts[1])))
    return out


def split_name(split: str, version: str, src: str) -> str:
    """Data directory name, e.g. ``train_cvss_c_es_en``."""
    return f"{split}_cvss_{version}_{iso_lang(src)}_en"


def prepare(cvss_root: Path, version: str, cv_root: Path, src: str, out_dir: Path,
            covost_dir: Optional[Path] = None, tgt_text: str = "cvss",
            nj: int = 4) -> Dict[str, dict]:
    if version not in ("c", "t"):
        raise PrepError(f"--version {version!r}: CVSS comes as c (CVSS-C) or t (CVSS-T)")
    if src in CV_CODE.values():
        src = next(k for k, v in CV_CODE.items() if v == src)
    if src not in CVSS_LANGS:
        raise PrepError(f"CVSS has no {src}-en pair; sources: {', '.join(CVSS_LANGS)}")
    if tgt_text == "covost" and covost_dir is None:
        raise PrepError("--tgt_text covost needs --covost_dir (the CoVoST 2 TSV directory)")
    check_mp3_support()
    cv_code = CV_CODE.get(src, src)
    src_iso = iso_lang(src)
    cvss_dir = find_cvss_dir(cvss_root, version, src)
    cv_dir = find_cv_lang_dir(cv_root, cv_code)
    meta_drops = DropReport()

    cv: Dict[str, CvClip] = {}
    if (cv_dir / "validated.tsv").is_file():
        cv = load_cv_tsv(cv_dir / "validated.tsv", meta_drops)
    covost: Dict[str, dict] = {}
    if covost_dir is not None:
        tsv = covost_dir / f"covost_v2.{cv_code}_en.tsv"
        if not tsv.is_file():
            raise PrepError(f"{tsv} not found (--covost_dir); download "
                            f"https://dl.fbaipublicfiles.com/covost/{tsv.name}.tar.gz")
        for _, row in read_tsv(tsv, ("path", "translation"), "CoVoST 2 TSV", meta_drops):
            covost[clip_name(row["path"])] = row
    if not cv and not covost:
        raise PrepError(f"no source transcripts: {cv_dir / 'validated.tsv'} not found and no "
                        "--covost_dir given")
    src_clips = list_dir_sizes(cv_dir / "clips")

    outputs = {}
    for split in SPLITS:
        drops = DropReport()
        tsv = cvss_dir / f"{split}.tsv"
        if not tsv.is_file():
            raise PrepError(f"{tsv} not found; the CVSS release has train.tsv, dev.tsv, test.tsv")
        tgt_files = list_dir_sizes(cvss_dir / split) if (cvss_dir / split).is_dir() else {}
        cands = []
        for lineno, name, text in read_cvss_tsv(tsv, drops):
            meta = cv.get(name)
            if meta is None and name in covost and "sentence" in covost[name]:
                meta = CvClip(covost[name]["sentence"], covost[name].get("client_id", ""))
            if meta is None or not meta.client_id:
                drops.drop("source clip not in validated.tsv (or CoVoST TSV)", name)
                continue
            sentence = one_line(meta.sentence)
            if tgt_text == "covost":
                text = one_line(covost.get(name, {}).get("translation", ""))
            if not sentence:
                drops.drop("empty source transcript", name)
                continue
            if not text:
                drops.drop("empty translation", name)
                continue
            if not src_clips.get(name):
                drops.drop("source clip missing or empty in clips/", name)
                continue
            if not tgt_files.get(name + ".wav"):
                drops.drop(f"target speech missing or empty in {split}/", name)
                continue
            cands.append((name, sentence, text, meta.client_id))

        src_paths = [str(cv_dir / "clips" / c[0]) for c in cands]
        tgt_paths = [str(cvss_dir / split / (c[0] + ".wav")) for c in cands]
        durs = audio_durations(src_paths + tgt_paths, nj)
        records = []
        for (name, sentence, text, client_id), sp, tp in zip(cands, src_paths, tgt_paths):
            bad = next((p for p in (sp, tp) if isinstance(durs[p], BaseException)
                        or durs[p] <= 0), None)
            if bad is not None:
                reason = (f"unreadable audio ({short_error(durs[bad])})"
                          if isinstance(durs[bad], BaseException) else "zero-length audio")
                drops.drop(reason, Path(bad).name)
                continue
            spk = speaker_id(client_id)
            records.append(UttRecord(
                utt_id=f"{spk}-{safe_id(name[: -len('.mp3')])}", spk=spk,
                texts={src_iso: sentence, "en": text},
                wav={src_iso: sp, "en": tp}, lang=src_iso,
                durations={src_iso: durs[sp], "en": durs[tp]},
            ))
        records = unique_records(records, drops)
        outputs[split_name(split, version, src)] = (records, drops)
    written = write_dirs(out_dir, outputs)
    for line in meta_drops.lines():
        info("%s", line)
    return {name: {"kept": n, "dropped": outputs[name][1].as_dict()}
            for name, n in written.items()}


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cvss_root", required=True, help="CVSS directory (holding <src>-en/)")
    p.add_argument("--version", choices=("c", "t"), default="c", help="CVSS-C or CVSS-T")
    p.add_argument("--cv_root", required=True, help="Common Voice release (dir with clips/)")
    p.add_argument("--src_lang", required=True, help=f"one of {', '.join(CVSS_LANGS)}")
    p.add_argument("--out_dir", required=True, help="where <split>_cvss_<v>_<src>_en/ go")
    p.add_argument("--covost_dir", default=None, help="dir with covost_v2.<src>_en.tsv")
    p.add_argument("--tgt_text", choices=("cvss", "covost"), default="cvss",
                   help="text.en: CVSS normalized text (matches the target speech, default) "
                        "or the original CoVoST 2 translation")
    p.add_argument("--nj", type=int, default=4, help="threads reading audio headers")
    return p


def _main(argv=None) -> None:
    args = get_parser().parse_args(argv)
    prepare(
        existing_dir(args.cvss_root, "the CVSS release", "--cvss_root"), args.version,
        existing_dir(args.cv_root, "the Common Voice release", "--cv_root"),
        args.src_lang, Path(args.out_dir),
        existing_dir(args.covost_dir, "the CoVoST 2 TSV dir", "--covost_dir")
        if args.covost_dir else None,
        args.tgt_text, args.nj,
    )


def main(argv=None) -> int:
    return run_main("cvss", _main, argv)


if __name__ == "__main__":
    raise SystemExit(main())
