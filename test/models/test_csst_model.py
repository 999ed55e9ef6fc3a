"""ESPnetCSSTModel: sequence layout, loss masking, gradients and over-long utterances."""

import logging
import math

import pytest
import torch

from espnet_csst.models.csst_model import IGNORE
from test.csst_utils import make_batch, random_speech, tiny_model

TEXTS = ["the cat eats a good book", "el perro come agua hoy"]
TASKS = ["asr en en", "st es en"]


@pytest.fixture
def model(tiny_codec):
    return tiny_model(tiny_codec)


@pytest.fixture
def batch(tiny_preprocessor):
    return make_batch(tiny_preprocessor, random_speech([0.5, 0.8]), TASKS, TEXTS)


def sequences(model, batch, left_pad=False, with_text=True):
    sp, sp_lens = model.speech_embeddings(batch["speech"], batch["speech_lengths"])
    extra = (batch["text"], batch["text_lengths"]) if with_text else ()
    seq = model.build_sequences(sp, sp_lens, batch["prefix"], batch["prefix_lengths"], batch["instruction"],
                                batch["instruction_lengths"], *extra, left_pad=left_pad)
    return seq, sp, sp_lens


@pytest.mark.parametrize("left_pad", [False, True])
def test_labels_cover_only_target_and_eos(model, batch, tiny_codec, left_pad):
    seq, sp, sp_lens = sequences(model, batch, left_pad=left_pad)
    big = seq["inputs_embeds"].size(1)
    for i in range(2):
        p, s = int(batch["prefix_lengths"][i]), int(sp_lens[i])
        n, t = int(batch["instruction_lengths"][i]), int(batch["text_lengths"][i])
        length = p + s + n + t + 1
        assert int(seq["lengths"][i]) == length
        off = big - length if left_pad else 0
        expected = torch.full((big,), IGNORE)
        expected[off + p + s + n: off + length] = torch.cat([batch["text"][i, :t], torch.tensor([tiny_codec.eos_id])])
        assert torch.equal(seq["labels"][i], expected)
        assert seq["attention_mask"][i].tolist() == [int(off <= j < off + length) for j in range(big)]
        assert seq["speech_mask"][i].tolist() == [off + p <= j < off + p + s for j in range(big)]
        # the embeddings are the prompt, speech and target pieces in order
        emb = seq["inputs_embeds"][i]
        torch.testing.assert_close(emb[off: off + p], model.llm.embed(batch["prefix"][i, :p]))
        torch.testing.assert_close(emb[off + p: off + p + s], sp[i, :s])
        torch.testing.assert_close(emb[off + length - t - 1: off + length - 1], model.llm.embed(batch["text"][i, :t]))
        assert not emb[:off].any() and not emb[off + length:].any()


def test_sequences_without_text_have_no_labels(model, batch):
    seq, _, sp_lens = sequences(model, batch, left_pad=True, with_text=False)
    assert (seq["labels"] == IGNORE).all()
    assert seq["lengths"].tolist() == (batch["prefix_lengths"] + sp_lens + batch["instruction_lengths"]).tolist()
    assert seq["attention_mask"][:, -1].tolist() == [1, 1]  # left padded: every prompt ends at the last column


def test_loss_ignores_prompt_and_speech_logits(model, batch, tiny_codec):
    seq, _, _ = sequences(model, batch)
    labels = seq["labels"]
    torch.manual_seed(0)
    logits = torch.randn(*labels.shape, tiny_codec.vocab_size)
    loss, acc, count = model.target_loss(logits, labels)
    assert count == int(batch["text_lengths"].sum()) + 2
    assert 0.0 <= float(acc) <= 1.0

    # the reference: next-token cross-entropy on the target tokens and EOS only
    terms = [-torch.log_softmax(logits[i, j - 1], -1)[labels[i, j]]
             for i in range(2) for j in range(1, labels.size(1)) if labels[i, j] != IGNORE]
    torch.testing.assert_close(loss, torch.stack(terms).mean())

    # logits at a position whose next label is IGNORE (prompt, speech, padding, last) do not count
    used = torch.zeros_like(labels, dtype=torch.bool)
    used[:, :-1] = labels[:, 1:] != IGNORE
    changed = logits.clone()
    changed[~used] = torch.randn(int((~used).sum()), tiny_codec.vocab_size) * 10
    assert torch.equal(model.target_loss(changed, labels)[0], loss)
    changed = logits.clone()
    changed[seq["speech_mask"]] += 5 * torch.randn(int(seq["speech_mask"].sum()), tiny_codec.vocab_size)
    assert torch.equal(model.target_loss(changed, labels)[0], loss)

    # ... while those at target positions do
    for i in range(2):
        j = int(used[i].nonzero()[-1])  # predicts EOS
        changed = logits.clone()
        changed[i, j, labels[i, j + 1]] += 3.0
        assert model.target_loss(changed, labels)[0] < loss
        j = int(used[i].nonzero()[0])  # the last instruction token predicts the first target token
        changed = logits.clone()
        changed[i, j] = torch.randn(tiny_codec.vocab_size)
        assert not torch.equal(model.target_loss(changed, labels)[0], loss)


def test_forward_loss_stats_and_gradients(model, batch):
    model.train()
    loss, stats, weight = model(**batch)
    assert loss.numel() == 1 and math.isfinite(float(loss.detach()))
    assert 0.0 <= float(stats["acc"]) <= 1.0
    assert float(stats["skipped_too_long"]) == 0.0
    assert int(weight) == 2
    loss.sum().backward()
    for name in ("encoder", "projector", "llm"):
        grads = [p.grad for p in getattr(model, name).parameters() if p.grad is not None]
        assert grads and any(bool(g.abs().sum() > 0) for g in grads), f"no gradient reaches the {name}"


def test_label_smoothing_changes_the_loss(tiny_codec, batch):
    plain = tiny_model(tiny_codec)
    smooth = tiny_model(tiny_codec)
    smooth.lsm_weight = 0.1
    assert not torch.isclose(plain(**batch)[0], smooth(**batch)[0])


def test_too_long_utterances_are_skipped(tiny_codec, tiny_preprocessor, caplog):
    model = tiny_model(tiny_codec, max_positions=40)
    long_text = " ".join(["the good teacher sees a big red car today"] * 4)
    texts = ["the cat", long_text, "el gato"]
    batch = make_batch(tiny_preprocessor, random_speech([0.3, 0.3, 0.4]), ["asr en en"] * 3, texts)
    with caplog.at_level(logging.WARNING):
        loss, stats, weight = model(**batch)
    assert model.n_skipped_too_long == 1
    assert float(stats["skipped_too_long"]) == 1.0
    assert int(weight) == 2
    assert math.isfinite(float(loss.detach())) and float(loss.detach()) > 0
    assert any("longer than the LLM context" in r.getMessage() for r in caplog.records)
    # the loss is that of the two short utterances alone
    keep = torch.tensor([0, 2])
    short = {k: v[keep] for k, v in batch.items()}
    for k in ("speech", "text"):
        short[k] = short[k][:, : int(short[f"{k}_lengths"].max())]
    torch.testing.assert_close(model(**short)[0], loss)
    assert model.n_skipped_too_long == 1

    # all too long: zero loss, no crash, counted
    only_long = make_batch(tiny_preprocessor, random_speech([0.3, 0.4]), ["asr en en"] * 2, [long_text] * 2)
    loss, stats, weight = model(**only_long)
    assert float(loss.detach()) == 0.0 and int(weight) == 0
    assert model.n_skipped_too_long == 3
    model.zero_grad()
    loss.sum().backward()  # still differentiable: the trainer's backward does not crash
    # and every trainable parameter gets a zero gradient: under DDP a parameter without one
    # leaves the ranks' reduction unfinished (the data-parallel smoke test failed on that)
    missing = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f"no gradient for {missing[:5]}"
    assert all(float(p.grad.abs().sum()) == 0.0 for p in model.parameters() if p.grad is not None)


def _with_src_text(batch, tiny_preprocessor, texts):
    from test.csst_utils import make_batch

    src = make_batch(tiny_preprocessor, random_speech([0.5, 0.8]), TASKS, texts)
    return dict(batch, src_text=src["text"], src_text_lengths=src["text_lengths"])


def test_ctc_on_the_source_transcript(tiny_codec, batch, tiny_preprocessor):
    plain = tiny_model(tiny_codec)
    model = tiny_model(tiny_codec, ctc_weight=0.4)
    model.train()
    full = _with_src_text(batch, tiny_preprocessor, ["the cat eats a good book", "el perro come agua hoy"])
    loss, stats, _ = model(**full)
    # the CE part does not depend on the CTC head (same seed, same weights elsewhere)
    torch.testing.assert_close(stats["loss_ce"], plain(**batch)[1]["loss"])
    expected = 0.6 * stats["loss_ce"] + 0.4 * stats["loss_ctc"]
    torch.testing.assert_close(loss.detach(), expected)
    assert float(stats["loss_ctc"]) > 0
    # the CTC loss depends on the source transcript
    other = _with_src_text(batch, tiny_preprocessor, ["el gato", "the dog runs today quickly"])
    assert not torch.isclose(model(**other)[1]["loss_ctc"], stats["loss_ctc"])
    loss.backward()
    assert model.ctc.ctc_lo.weight.grad.abs().sum() > 0


def test_ctc_without_source_transcript_is_a_clear_error(tiny_codec, batch):
    model = tiny_model(tiny_codec, ctc_weight=0.3)
    with pytest.raises(ValueError, match="src_text"):
        model(**batch)


def test_ctc_with_its_own_vocabulary(tiny_codec):
    model = tiny_model(tiny_codec, ctc_weight=0.3, src_vocab_size=40)
    assert model.ctc.ctc_lo.out_features == 41  # blank + 40 source tokens


def test_ctc_greedy_merges_repeats_and_drops_blanks(tiny_codec, batch, monkeypatch):
    model = tiny_model(tiny_codec, ctc_weight=0.3, src_vocab_size=40)
    # best classes per frame (0 = blank, class k + 1 = token k); the second utterance has 4 frames
    paths = torch.tensor([[0, 3, 3, 0, 3, 5, 5, 0], [1, 1, 0, 2, 9, 9, 9, 9]])
    enc_lens = torch.tensor([8, 4])

    class FixedLogits(torch.nn.Module):
        def forward(self, enc):
            return torch.nn.functional.one_hot(paths, 41).float()

    monkeypatch.setattr(model, "encode", lambda speech, lengths: (torch.zeros(2, 8, 4), enc_lens))
    model.ctc.ctc_lo = FixedLogits()
    assert model.ctc_greedy(batch["speech"], batch["speech_lengths"]) == [[2, 2, 4], [0, 1]]
    # the real head gives ids of the source vocabulary
    real = tiny_model(tiny_codec, ctc_weight=0.3, src_vocab_size=40)
    hyps = real.ctc_greedy(batch["speech"], batch["speech_lengths"])
    assert len(hyps) == 2 and all(0 <= t < 40 for h in hyps for t in h)
    with pytest.raises(ValueError, match="no CTC head"):
        tiny_model(tiny_codec).ctc_greedy(batch["speech"], batch["speech_lengths"])


@pytest.mark.parametrize("bad", [dict(ctc_weight=1.0), dict(ctc_weight=-0.1), dict(cpu_bf16="yes")])
def test_bad_model_options(tiny_codec, bad):
    with pytest.raises(ValueError, match="model_conf"):
        tiny_model(tiny_codec, **bad)


def test_cpu_bf16_autocast(tiny_codec, batch):
    from espnet_csst.models.csst_model import cpu_has_bf16

    fp32 = tiny_model(tiny_codec)
    bf16 = tiny_model(tiny_codec, cpu_bf16=True)
    assert tiny_model(tiny_codec, cpu_bf16="auto").cpu_bf16 == cpu_has_bf16()
    seen = []
    hook = bf16.llm.model.lm_head.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    loss16 = bf16(**batch)[0]
    hook.remove()
    assert seen == [torch.bfloat16]  # the LLM ran in bf16 ...
    loss32 = fp32(**batch)[0]
    assert loss16.dtype == torch.float32  # ... the loss is fp32 and close to the fp32 model's
    assert abs(float(loss16.detach()) - float(loss32.detach())) < 0.05 * float(loss32.detach())
    loss16.backward()
    assert all(p.grad is None or p.grad.dtype == torch.float32 for p in bf16.parameters())


def test_decoding_autocasts_to_bf16_only_for_enough_hypotheses(tiny_codec, batch):
    """bf16 autocast helps decoding on CPU only with many hypotheses per step (bench_decode.py)."""
    from espnet_csst.models.csst_model import BF16_MIN_DECODE_ROWS

    model = tiny_model(tiny_codec, cpu_bf16=True).eval()
    seen = []
    hook = model.llm.model.lm_head.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    args = [batch[k] for k in ("speech", "speech_lengths", "prefix", "prefix_lengths", "instruction",
                               "instruction_lengths")]
    model.generate(*args, max_new_tokens=2)  # 2 utterances x 1 beam: fp32
    assert seen and set(seen) == {torch.float32}
    seen.clear()
    beams = -(-BF16_MIN_DECODE_ROWS // 2)  # 2 utterances x this many beams reach the threshold
    model.generate(*args, max_new_tokens=2, beam_size=beams)
    assert seen and set(seen) == {torch.bfloat16}
    hook.remove()


def test_speech_tokens_are_scaled_to_the_text_embeddings(tiny_codec, batch):
    model = tiny_model(tiny_codec)
    sp, sp_lens = model.speech_embeddings(batch["speech"], batch["speech_lengths"])
    table = model.llm.embed_table()
    target = table.pow(2).mean().sqrt()
    for i in range(2):
        rms = sp[i, : sp_lens[i]].pow(2).mean(-1).sqrt()
        torch.testing.assert_close(rms, target.expand_as(rms), rtol=1e-4, atol=1e-6)
    # off: the projector's own scale, which is far from the embeddings'
    raw = tiny_model(tiny_codec, scale_speech_to_text=False)
    sp_raw, _ = raw.speech_embeddings(batch["speech"], batch["speech_lengths"])
    assert not torch.allclose(sp_raw[0, : sp_lens[0]].pow(2).mean(-1).sqrt(), target.expand(int(sp_lens[0])), rtol=0.1)
    # the scale follows the (trained) embedding table
    with torch.no_grad():
        table.mul_(3.0)
    sp3, _ = model.speech_embeddings(batch["speech"], batch["speech_lengths"])
    torch.testing.assert_close(sp3[0, : sp_lens[0]], 3.0 * sp[0, : sp_lens[0]], rtol=1e-4, atol=1e-5)


def _with_lang_labels(batch, tiny_bpe, alis):
    from espnet_csst.train.preprocessor import CSSTPreprocessor

    pre = CSSTPreprocessor(train=True, token_type="bpe", token_list=str(tiny_bpe["token_list"]),
                           bpemodel=str(tiny_bpe["bpemodel"]), languages=["es", "en"])
    labels = [torch.from_numpy(pre.lang_labels(f"utt{k}", a)) for k, a in enumerate(alis)]
    lengths = torch.tensor([x.numel() for x in labels])
    padded = torch.nn.utils.rnn.pad_sequence(labels, batch_first=True, padding_value=-1)
    return dict(batch, lang_labels=padded, lang_labels_lengths=lengths)


def test_moe_language_and_balance_losses(tiny_codec, tiny_bpe, batch):
    # utterance 0 English throughout, utterance 1 switches from Spanish to English at 0.4 s
    full = _with_lang_labels(batch, tiny_bpe, ["0.5 en 0 0.5", "0.8 es 0.0 0.4 en 0.45 0.8"])
    plain = tiny_model(tiny_codec, projector="moe")
    model = tiny_model(tiny_codec, projector="moe", lang_loss_weight=0.5, balance_loss_weight=0.1)
    model.train()
    loss, stats, _ = model(**full)
    for key in ("loss_lang", "loss_balance", "route_acc", "route_acc_es", "route_acc_en", "load_en_e0"):
        assert key in stats, key
    assert 0.0 <= float(stats["route_acc"]) <= 1.0 and float(stats["loss_balance"]) >= 1.0 - 1e-5
    torch.testing.assert_close(loss.detach(), plain(**full)[0].detach() + 0.5 * stats["loss_lang"]
                               + 0.1 * stats["loss_balance"])
    loss.backward()
    assert model.projector.group_router.weight.grad.abs().sum() > 0
    # the language loss follows the labels: all-Spanish labels give another loss
    other = _with_lang_labels(batch, tiny_bpe, ["0.5 es 0 0.5", "0.8 es 0 0.8"])
    assert not torch.isclose(model(**other)[1]["loss_lang"], stats["loss_lang"])


def test_moe_language_loss_needs_labels_and_a_routed_projector(tiny_codec, batch):
    with pytest.raises(ValueError, match="lang_ali"):
        tiny_model(tiny_codec, projector="moe", lang_loss_weight=0.5)(**batch)
    # without labels the balance loss still works (groups from the router's choice)
    stats = tiny_model(tiny_codec, projector="moe", balance_loss_weight=0.1)(**batch)[1]
    assert "loss_balance" in stats and "route_acc" not in stats
    with pytest.raises(ValueError, match="projector: moe"):
        tiny_model(tiny_codec, lang_loss_weight=0.5)


def test_replayed_utterances_weigh_the_transition_schedule(tiny_codec, batch):
    model = tiny_model(tiny_codec, transition_lambda0=0.8, transition_lambda_min=0.2, transition_steps=4)
    model.train()
    replay = dict(batch, replay=torch.tensor([[0], [1]]))
    lam = [model.transition.weight(t) for t in range(6)]
    seen = []
    for _ in range(6):
        loss, stats, _ = model(**replay)
        seen.append(float(stats["transition_weight"]))
        torch.testing.assert_close(loss.detach(), stats["loss_ce_current"] + seen[-1] * stats["loss_ce_replay"])
    assert seen == pytest.approx(lam) and int(model.transition_step) == 6
    # the per-utterance losses are those of each utterance alone
    alone = tiny_model(tiny_codec)
    alone.load_state_dict(model.state_dict())
    alone.eval()
    model.eval()
    first = {k: v[:1] for k, v in batch.items()}
    torch.testing.assert_close(model(**replay)[1]["loss_ce_current"], alone(**first)[1]["loss_ce"],
                               atol=1e-3, rtol=1e-4)  # padding in the batch: float noise only
    # evaluation does not advance the schedule
    assert int(model.transition_step) == 6


def test_kl_to_the_previous_stage_model(tiny_codec, batch, tmp_path):
    teacher_file = tmp_path / "prev.pth"
    torch.save(tiny_model(tiny_codec).state_dict(), teacher_file)
    # same seed: the model starts as the teacher, so the KL starts at 0 and grows with training
    model = tiny_model(tiny_codec, transition_kl_weight=0.5, transition_teacher=str(teacher_file))
    model.train()
    loss, stats, _ = model(**batch)
    assert float(stats["loss_kl"]) == pytest.approx(0.0, abs=1e-5)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(3):
        opt.zero_grad()
        model(**batch)[0].backward()
        opt.step()
    assert float(model(**batch)[1]["loss_kl"]) > 1e-4
    assert all("_teacher" not in k for k in model.state_dict())
    with pytest.raises(ValueError, match="transition_teacher"):
        tiny_model(tiny_codec, transition_kl_weight=0.5)
    # the teacher is read at the first training step only: decoding needs no teacher file
    missing = tiny_model(tiny_codec, transition_kl_weight=0.5, transition_teacher=str(tmp_path / "nope.pth"))
    missing.eval()
    missing(**batch)
    missing.train()
    with pytest.raises(FileNotFoundError, match="previous stage"):
        missing(**batch)


@pytest.mark.parametrize("cpu_bf16", [False, True])
def test_the_two_suspected_nan_sources_stay_finite(tiny_codec, tiny_bpe, tiny_preprocessor, batch, cpu_bf16):
    """Issue 19's candidates for the micro models' NaN losses: CTC on encodings shorter than their
    targets, and the language loss on a batch without a labelled token. Both give finite losses
    and gradients, in fp32 and under bf16 autocast (ESPnet's CTC zeroes an impossible path:
    zero_infinity; the language loss is left out when nothing is labelled)."""
    model = tiny_model(tiny_codec, projector="moe", ctc_weight=0.3, lang_loss_weight=0.5, balance_loss_weight=0.1,
                       cpu_bf16=cpu_bf16)
    model.train()
    long_src = " ".join(["el gato come un buen libro hoy"] * 12)  # far more CTC targets than 0.5 s of frames
    full = _with_src_text(batch, tiny_preprocessor, [long_src, "el perro"])
    enc_lens = model.encode(full["speech"], full["speech_lengths"])[1]
    assert int(full["src_text_lengths"][0]) > int(enc_lens[0])
    unlabelled = _with_lang_labels(full, tiny_bpe, ["0.5", "0.8"])  # durations, no word with a language
    assert bool((unlabelled["lang_labels"] < 0).all())
    loss, stats, _ = model(**unlabelled)
    assert "loss_lang" not in stats and math.isfinite(float(stats["loss_ctc"])) and math.isfinite(float(loss))
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_ctc_soft_speech_tokens_are_segments_the_llm_reads_as_text(tiny_codec, tiny_bpe, tiny_preprocessor, batch):
    from espnet_csst.projectors.ctc_compress import ctc_segments

    model = tiny_model(tiny_codec, projector="moe", downsample=1, speech_tokens="ctc_soft", ctc_weight=0.3,
                       lang_loss_weight=0.2)
    model.train()
    full = _with_src_text(batch, tiny_preprocessor, TEXTS)
    full = _with_lang_labels(full, tiny_bpe, ["0.5 en 0 0.5", "0.8 es 0.0 0.4 en 0.45 0.8"])
    enc, enc_lens = model.encode(full["speech"], full["speech_lengths"])
    seg = ctc_segments(enc, enc_lens, model.ctc.ctc_lo(enc).softmax(-1))
    sp, sp_lens = model.project(enc, enc_lens)
    assert sp_lens.tolist() == seg.lengths.tolist()  # one speech token per CTC segment
    # the gate starts closed: the tokens are the expected text embeddings of the segments' labels
    post = seg.posteriors[..., 1:] / seg.posteriors[..., 1:].sum(-1, keepdim=True)
    for i, n in enumerate(sp_lens.tolist()):
        torch.testing.assert_close(sp[i, :n], post[i, :n] @ model.llm.embed_table())
    loss, stats, _ = model(**full)
    assert torch.isfinite(loss) and "loss_lang" in stats and "loss_ctc" in stats
    torch.testing.assert_close(float(stats["speech_per_src_token"]),
                               sp_lens.sum().item() / full["src_text_lengths"].sum().item())
    # the translation loss alone trains the CTC head (through the soft embeddings) and the gate
    model.zero_grad()
    ce = model.target_loss(*_logits_and_labels(model, full))[0]
    ce.backward()
    assert model.ctc.ctc_lo.weight.grad.abs().sum() > 0
    assert model.ctc_soft_gate.grad is not None and model.ctc_soft_gate.grad != 0
    # decoding takes the same path
    model.eval()
    hyps = model.generate(full["speech"], full["speech_lengths"], full["prefix"], full["prefix_lengths"],
                          full["instruction"], full["instruction_lengths"], max_new_tokens=3)
    assert len(hyps) == 2


def _logits_and_labels(model, full):
    sp, sp_lens = model.speech_embeddings(full["speech"], full["speech_lengths"])
    seq = model.build_sequences(sp, sp_lens, full["prefix"], full["prefix_lengths"], full["instruction"],
                                full["instruction_lengths"], full["text"], full["text_lengths"])
    return model.llm(seq["inputs_embeds"], seq["attention_mask"])["logits"], seq["labels"]


def test_conv2d8_on_20_mels_gives_the_fp32_encoding_under_cpu_bf16(tiny_codec, batch):
    """Issue 19 item 4, first cause: ESPnet's conv2d8 subsampling on 20 mel bins ends in a conv2d one
    bin wide (20 -> 9 -> 4 -> 1) with stride 2, which oneDNN computes wrongly in bf16 on AMX CPUs
    (NaN or 1e37 in most outputs: the micro models' NaN loss_ctc/loss_lang). The model runs that
    convolution in fp32. (On CPUs without AMX the old code passed too.)"""
    model = tiny_model(tiny_codec, input_layer="conv2d8", cpu_bf16=True).eval()
    with torch.no_grad():
        ref, ref_lens = model.encode(batch["speech"], batch["speech_lengths"])
        for _ in range(3):
            torch.full((2, 32, 64, 1), float("nan"), dtype=torch.bfloat16)  # leaves NaN in the allocator
            with torch.autocast("cpu", dtype=torch.bfloat16):
                enc, enc_lens = model.encode(batch["speech"], batch["speech_lengths"])
            assert torch.isfinite(enc).all() and enc_lens.tolist() == ref_lens.tolist()
            torch.testing.assert_close(enc.float(), ref, atol=0.1, rtol=0.05)
        loss, stats, _ = model.train()(**batch)
    assert float(stats["nonfinite_loss"]) == 0 and torch.isfinite(loss)


def test_a_skipped_nonfinite_batch_leaves_batchnorm_statistics_as_they_were(tiny_codec, tiny_preprocessor):
    """Issue 19 item 4, second cause: a batch with a non-finite loss is skipped by ESPnet's trainer,
    but its forward pass had already put NaN into the conformer's BatchNorm running statistics, and
    every later evaluation was NaN (the validation NaN in fp32). The model now undoes them."""
    from espnet2.asr.encoder.conformer_encoder import ConformerEncoder

    model = tiny_model(tiny_codec)
    model.encoder = ConformerEncoder(input_size=20, output_size=32, attention_heads=2, linear_units=64, num_blocks=1,
                                     input_layer="conv2d", use_cnn_module=True, cnn_module_kernel=3,
                                     dropout_rate=0.0, positional_dropout_rate=0.0, attention_dropout_rate=0.0)
    good = make_batch(tiny_preprocessor, random_speech([0.5, 0.8]), TASKS, TEXTS)
    model.train()
    model(**good)
    bn = {k: v.clone() for k, v in model.state_dict().items() if "running_" in k or "num_batches" in k}
    assert bn
    bad = {k: v.clone() for k, v in good.items()}
    bad["speech"][0, 100] = float("nan")
    loss, stats, _ = model(**bad)
    assert not torch.isfinite(loss) and float(stats["nonfinite_loss"]) == 1
    for k, v in bn.items():
        torch.testing.assert_close(model.state_dict()[k], v)
    with torch.no_grad():
        loss, stats, _ = model.eval()(**good)
    assert torch.isfinite(loss) and float(stats["nonfinite_loss"]) == 0
