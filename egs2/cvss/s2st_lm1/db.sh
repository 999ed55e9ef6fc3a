# Corpus locations for this recipe (read by local/data.sh). Empty by default: set them
# here (or in the environment) to where you downloaded and extracted each corpus.

# CVSS (https://github.com/google-research-datasets/cvss): the directory holding
# <src>-en/ with train.tsv, dev.tsv, test.tsv and train/ dev/ test/ *.mp3.wav, i.e.
# cvss_<c|t>_<src>_en_v1.0.tar.gz extracted into <CVSS>/<src>-en (also accepted:
# <CVSS>/cvss_c/<src>-en and <CVSS>/cvss_t/<src>-en to keep both versions side by side).
CVSS="${CVSS:-}"

# Common Voice release 4 (cv-corpus-4-2019-12-10) of the SOURCE language, which CVSS
# pairs with: the directory with clips/*.mp3 and validated.tsv, or its parent holding
# <lang>/ (zh-CN and sv-SE for CVSS zh and sv). https://commonvoice.mozilla.org/en/datasets
COMMONVOICE="${COMMONVOICE:-}"

# Optional: CoVoST 2 translations (directory with covost_v2.<src>_en.tsv, from
# https://github.com/facebookresearch/covost). Used for clips missing from validated.tsv
# and for --tgt_text covost; leave empty to use Common Voice transcripts only.
COVOST2="${COVOST2:-}"
