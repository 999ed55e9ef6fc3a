import torch

from espnet_csst.projectors.abs_projector import AbsProjector, check_downsample, stack_frames


class LinearProjector(AbsProjector):
    """Frame stacking by ``downsample`` followed by a two-layer MLP."""

    def __init__(self, input_size: int, output_size: int, downsample: int = 4,
                 hidden_size: int = 1024, dropout: float = 0.0):
        super().__init__()
        self.downsample = check_downsample(downsample)
        self._output_size = output_size
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(input_size * downsample, hidden_size),
            torch.nn.GELU(),
            torch.nn.Dropout(dropout),
            torch.nn.Linear(hidden_size, output_size),
        )

    def output_size(self) -> int:
        return self._output_size

    def forward(self, x, x_lens):
        stacked, lens = stack_frames(x, x_lens, self.downsample)
        return self.mlp(stacked), lens
