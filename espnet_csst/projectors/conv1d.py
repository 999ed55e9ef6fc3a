import torch

from espnet_csst.projectors.abs_projector import AbsProjector, zero_padding


class Conv1dProjector(AbsProjector):
    """A strided 1-D convolution (kernel = stride = ``downsample``), then a pointwise layer."""

    def __init__(self, input_size: int, output_size: int, downsample: int = 4,
                 hidden_size: int = 1024, dropout: float = 0.0):
        super().__init__()
        if downsample < 1:
            raise ValueError(f"projector_conf.downsample must be >= 1, got {downsample}")
        self.downsample = downsample
        self._output_size = output_size
        self.conv = torch.nn.Conv1d(input_size, hidden_size, kernel_size=downsample, stride=downsample)
        self.act = torch.nn.GELU()
        self.dropout = torch.nn.Dropout(dropout)
        self.out = torch.nn.Linear(hidden_size, output_size)

    def output_size(self) -> int:
        return self._output_size

    def forward(self, x, x_lens):
        k = self.downsample
        x = zero_padding(x, x_lens)
        pad = (-x.size(1)) % k
        if pad:
            x = torch.nn.functional.pad(x, (0, 0, 0, pad))
        h = self.act(self.conv(x.transpose(1, 2))).transpose(1, 2)
        return self.out(self.dropout(h)), torch.div(x_lens + k - 1, k, rounding_mode="floor")
