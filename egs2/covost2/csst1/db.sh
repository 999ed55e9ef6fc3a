# Corpus locations for this recipe (read by local/data.sh). Empty by default: set them
# here (or in the environment) to where you downloaded and extracted each corpus.

# Common Voice release of the SOURCE language, version 4 (cv-corpus-4-2019-12-10), which
# CoVoST 2 is built on: the directory with clips/*.mp3 and validated.tsv, or its parent
# holding <lang>/ (e.g. .../cv-corpus-4-2019-12-10, with es/ inside).
# Get it from https://commonvoice.mozilla.org/en/datasets (choose version 4 / 2019-12-10).
COMMONVOICE="${COMMONVOICE:-}"

# CoVoST 2 translations: the directory with covost_v2.<src>_<tgt>.tsv (extracted from
# https://dl.fbaipublicfiles.com/covost/covost_v2.<src>_<tgt>.tsv.tar.gz, see
# https://github.com/facebookresearch/covost).
COVOST2="${COVOST2:-}"
