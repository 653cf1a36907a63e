"""Terrain embedding networks (TEN): a condition -> one vector the width of the language
model's embeddings, added to the input embedding of every position.

``discrete``: one learned vector per condition. ``vision``: a small CNN over the picture of
the condition the domain draws (``Domain.draw_condition``), or a frozen image model loaded
from a TorchScript file (``ten_backbone``) with a learned linear map on top; no pretrained
image model can be downloaded here, so one is used only where a user has it on disk.

Every TEN ends in a layer initialised to zero: before any learning it adds nothing, so the
conditional policy starts as exactly the Stage-2 model it is made from.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn


class DiscreteTEN(nn.Module):
    def __init__(self, conditions: int, width: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(conditions, width)
        nn.init.zeros_(self.embedding.weight)

    def forward(self, condition: torch.Tensor) -> torch.Tensor:
        """(B,) condition indices -> (B, width)."""
        return self.embedding(condition)


class VisionTEN(nn.Module):
    """A CNN over (size x size) pictures of the conditions, held as a buffer."""

    def __init__(self, images: np.ndarray, width: int, backbone: str | None = None) -> None:
        super().__init__()
        self.register_buffer("images", torch.as_tensor(images, dtype=torch.float32)[:, None])  # (C, 1, S, S)
        if backbone is not None:
            self.backbone = torch.jit.load(backbone, map_location="cpu").eval()
            for p in self.backbone.parameters():
                p.requires_grad_(False)
            with torch.no_grad():
                features = self._backbone_features(self.images[:1]).shape[-1]
        else:
            self.backbone = nn.Sequential(
                nn.Conv2d(1, 16, 5, stride=2, padding=2), nn.ReLU(),
                nn.Conv2d(16, 32, 5, stride=2, padding=2), nn.ReLU(),
                nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.ReLU(),
                nn.AdaptiveAvgPool2d(4), nn.Flatten())
            features = 32 * 4 * 4
        self.uses_backbone = backbone is not None
        self.project = nn.Linear(features, width)
        nn.init.zeros_(self.project.weight)
        nn.init.zeros_(self.project.bias)

    def _backbone_features(self, images: torch.Tensor) -> torch.Tensor:
        return self.backbone(images.expand(-1, 3, -1, -1)).flatten(1)  # image models take RGB

    def forward(self, condition: torch.Tensor) -> torch.Tensor:
        """(B,) condition indices -> (B, width), from the pictures of those conditions."""
        images = self.images[condition]
        features = self._backbone_features(images) if self.uses_backbone else self.backbone(images)
        return self.project(features)


def make_ten(kind: str, conditions: Sequence[str], width: int, draw=None, size: int = 64,
             backbone: str | None = None) -> nn.Module:
    """The TEN of ``kind`` for ``conditions``; ``draw(condition, size)`` gives the pictures."""
    if kind == "discrete":
        return DiscreteTEN(len(conditions), width)
    if kind == "vision":
        if draw is None:
            raise ValueError("a vision TEN needs pictures of the conditions")
        return VisionTEN(np.stack([draw(c, size) for c in conditions]), width, backbone)
    raise ValueError(f"unknown TEN {kind!r}; use discrete or vision")
