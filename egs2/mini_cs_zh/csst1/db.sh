# Where the corpora of this recipe live. The mini corpus is generated, not downloaded:
# local/data.sh (mini_cs's, shared) writes it here on first use, with the zh-en grammar.
MINI_CS="${MINI_CS:-downloads/mini_cs_zh}"
MINI_CS_PAIR=zh-en
