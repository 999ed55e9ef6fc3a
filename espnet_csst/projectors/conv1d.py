import torch

from espnet_csst.projectors.abs_projector import AbsProjector, check_downsample, pad_frames


class Conv1dProjector(AbsProjector):
    """A strided 1-D convolution (kernel = stride = ``downsample``), then a pointwise layer."""

    def __init__(self, input_size: int, output_size: int, downsample: int = 4,
                 hidden_size: int = 1024, dropout: float = 0.0):
        super().__init__()
        self.downsample = check_downsample(downsample)
        self._output_size = output_size
        self.conv = torch.nn.Conv1d(input_size, hidden_size, kernel_size=downsample, stride=downsample)
        self.act = torch.nn.GELU()
        self.dropout = torch.nn.Dropout(dropout)
        self.out = torch.nn.Linear(hidden_size, output_size)

    def output_size(self) -> int:
        return self._output_size

    def forward(self, x, x_lens):
        x, lens = pad_frames(x, x_lens, self.downsample)
        h = self.act(self.conv(x.transpose(1, 2))).transpose(1, 2)
        return self.out(self.dropout(h)), lens
