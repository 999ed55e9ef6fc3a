# Where the corpora of this recipe live. The mini corpus is generated, not downloaded:
# local/data.sh writes it here (relative to this recipe directory) on first use.
MINI_CS_S2ST="${MINI_CS_S2ST:-downloads/mini_cs_s2st}"
