"""Data preparation for real corpora: parse the upstream release files and write
Kaldi-style data directories with :func:`espnet_csst.data.datadir.write_data_dir`.

Each module has a ``main()`` command line (``python -m espnet_csst.data.corpora.<name>``)
called by the recipe's ``local/data.sh``:

    covost2     Common Voice clips + CoVoST 2 translations  -> egs2/covost2/csst1
    cvss        CVSS-C / CVSS-T target speech + Common Voice -> egs2/cvss/s2st_lm1
    fisher_cs   Fisher Spanish (LDC2010S01/T04) + Fisher-CALLHOME translations
                + the code-switched / monolingual split of Weller et al. (2022)
                                                             -> egs2/fisher_cs/csst1

The formats each module reads, and where they were checked, are in doc/corpora.md.
"""
