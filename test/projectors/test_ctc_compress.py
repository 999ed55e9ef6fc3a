"""CTC-compressed speech tokens: segments of the greedy path, pooled frames, soft text embeddings."""

import pytest
import torch

from espnet_csst.losses.moe_losses import token_labels
from espnet_csst.projectors.ctc_compress import ctc_segments, soft_token_embeddings


def one_hot_path(path, classes=5):
    """Posteriors whose argmax follows ``path`` (class 0 blank) with some mass elsewhere."""
    probs = torch.full((len(path), classes), 0.1 / (classes - 1))
    probs[torch.arange(len(path)), torch.tensor(path)] = 0.9
    return probs


def test_segments_are_runs_of_one_label_with_blanks_dropped():
    path = [0, 2, 2, 0, 3, 3, 3, 2, 0, 0]
    enc = torch.arange(10, dtype=torch.float32)[None, :, None]
    seg = ctc_segments(enc, torch.tensor([10]), one_hot_path(path)[None])
    assert seg.lengths.tolist() == [3]
    assert seg.spans[0].tolist() == [[1, 3], [4, 7], [7, 8]]
    # each segment's frame is the mean of its frames; its posterior the mean of theirs
    torch.testing.assert_close(seg.frames[0, :, 0], torch.tensor([1.5, 5.0, 7.0]))
    assert seg.posteriors[0].argmax(-1).tolist() == [2, 3, 2]
    torch.testing.assert_close(seg.posteriors[0].sum(-1), torch.ones(3))


def test_a_repeated_label_after_a_blank_is_a_new_segment():
    seg = ctc_segments(torch.zeros(1, 5, 2), torch.tensor([5]), one_hot_path([4, 4, 0, 4, 0])[None])
    assert seg.spans[0].tolist() == [[0, 2], [3, 4]]


def test_an_all_blank_utterance_is_one_segment_over_its_frames():
    enc = torch.arange(6, dtype=torch.float32).view(1, 6, 1).repeat(2, 1, 1)
    probs = torch.stack([one_hot_path([0] * 6), one_hot_path([0, 1, 0, 0, 0, 0])])
    seg = ctc_segments(enc, torch.tensor([4, 6]), probs)
    assert seg.lengths.tolist() == [1, 1]
    assert seg.spans[0, 0].tolist() == [0, 4]  # the valid frames only
    assert seg.spans[1, 0].tolist() == [1, 2]
    torch.testing.assert_close(seg.frames[:, 0, 0], torch.tensor([1.5, 1.0]))


def test_an_utterance_segments_the_same_alone_and_in_a_padded_batch():
    torch.manual_seed(0)
    lens = torch.tensor([7, 12])
    enc = torch.randn(2, 12, 3)
    probs = torch.randn(2, 12, 6).softmax(-1)
    # padding beyond the length holds labels that would make segments if they were read
    probs[0, 7:] = one_hot_path([1, 2, 3, 4, 5], classes=6)
    batch = ctc_segments(enc, lens, probs)
    for i in range(2):
        alone = ctc_segments(enc[i : i + 1, : lens[i]], lens[i : i + 1], probs[i : i + 1, : lens[i]])
        n = int(alone.lengths[0])
        assert int(batch.lengths[i]) == n
        torch.testing.assert_close(batch.frames[i, :n], alone.frames[0, :n])
        torch.testing.assert_close(batch.posteriors[i, :n], alone.posteriors[0, :n])
        assert batch.spans[i, :n].tolist() == alone.spans[0, :n].tolist()
        assert batch.spans[i, n:].abs().sum() == 0


def test_soft_embeddings_of_a_certain_label_are_its_text_embedding():
    table = torch.randn(4, 8)
    post = torch.zeros(1, 2, 5)
    post[0, 0, 3] = 1.0            # class 3 = token id 2
    post[0, 1, [0, 1, 2]] = torch.tensor([0.5, 0.25, 0.25])  # blank mass is renormalised away
    soft = soft_token_embeddings(post, table)
    torch.testing.assert_close(soft[0, 0], table[2])
    torch.testing.assert_close(soft[0, 1], 0.5 * (table[0] + table[1]))


def test_segment_spans_take_the_language_of_their_own_frames():
    # 20 label frames (10 ms) over 10 encoder frames: es for the first 11 label frames, then en
    frame_labels = torch.tensor([[0] * 11 + [1] * 9])
    spans = torch.tensor([[[0, 2], [5, 6], [6, 10]]])
    labels = token_labels(frame_labels, torch.tensor([20]), torch.tensor([3]), 3, 2,
                          spans=spans, span_frames=torch.tensor([10]))
    assert labels.tolist() == [[0, -1, 1]]  # the middle segment straddles the switch


@pytest.mark.parametrize("bad, match", [
    (dict(ctc_weight=0.0), "ctc_weight > 0"),
    (dict(ctc_weight=0.3, src_vocab_size=40), "--src_vocab_size 0"),
    (dict(ctc_weight=0.3, downsample=2), "downsample to 1"),
    (dict(ctc_weight=0.3, speech_tokens="soft"), "projector or ctc_soft"),
])
def test_bad_ctc_soft_options(tiny_codec, bad, match):
    from test.csst_utils import tiny_model

    conf = dict(dict(downsample=1, speech_tokens="ctc_soft"), **bad)
    with pytest.raises(ValueError, match=match):
        tiny_model(tiny_codec, **conf)
