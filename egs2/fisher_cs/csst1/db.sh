# Corpus locations for this recipe (read by local/data.sh). Empty by default: set them
# here (or in the environment) to where you extracted each corpus.

# Fisher Spanish Speech, LDC2010S01 (https://catalog.ldc.upenn.edu/LDC2010S01):
# the release directory; its .sph files (data/speech/*.sph) are found recursively.
FISHER_SPANISH_SPEECH="${FISHER_SPANISH_SPEECH:-}"

# Fisher Spanish Transcripts, LDC2010T04 (https://catalog.ldc.upenn.edu/LDC2010T04):
# the release directory; its .tdf files (fisher_spa_tr/data/transcripts/*.tdf) are found
# recursively.
FISHER_SPANISH_TRANSCRIPTS="${FISHER_SPANISH_TRANSCRIPTS:-}"

# Fisher-CALLHOME Spanish-English translations (Post et al., 2013): a checkout of
# https://github.com/joshua-decoder/fisher-callhome-corpus (mapping/ and corpus/ldc/).
FISHER_CALLHOME_TRANSLATIONS="${FISHER_CALLHOME_TRANSLATIONS:-}"

# The code-switched / monolingual split of Weller et al. (2022), from
# https://github.com/apple/ml-code-switched-speech-translation: its fisher_mapping.csv
# (made by fisher/make_mapping_files.py; mapping_files/ of the release), or a directory
# holding it or their cs_corpus/ index lists. Set it to "derive" to label utterances from
# the <foreign> tags of the LDC transcripts instead (no dev_cs set then).
FISHER_CS_SPLITS="${FISHER_CS_SPLITS:-}"
