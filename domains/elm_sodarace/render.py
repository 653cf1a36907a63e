"""Draws a simulated walk: terrain, joints, passive springs (grey) and muscles coloured by
phase, with a start line and the distance travelled. Frames go to an animated GIF or a PNG strip.

Frames are drawn straight into a palette image (no per-frame colour quantisation), so a
10 s walk at 20 frames/s renders in about a second.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from elm_sodarace.physics_params import PhysicsParams
from elm_sodarace.simulation import SimulationResult, simulate
from elm_sodarace.terrains import Terrain, TerrainShape
from elm_sodarace.walker import Walker

WHITE, BLACK, TERRAIN, SPRING, TICK, START, SKY = range(7)
HUES = 24
FIRST_HUE = 8
_BASE_COLOURS = [(255, 255, 255), (20, 20, 20), (150, 135, 120), (110, 110, 110), (190, 190, 190),
                 (220, 40, 40), (236, 243, 250), (0, 0, 0)]


def _palette() -> list[int]:
    colours = list(_BASE_COLOURS)
    for k in range(HUES):
        r, g, b = colorsys.hsv_to_rgb(k / HUES, 0.85, 0.9)
        colours.append((int(r * 255), int(g * 255), int(b * 255)))
    flat = [c for rgb in colours for c in rgb]
    return flat + [0] * (768 - len(flat))


PALETTE = _palette()


def phase_colour(phase: float) -> int:
    """Palette index of a muscle's phase (a colour wheel over one period)."""
    return FIRST_HUE + int(round((phase % (2 * math.pi)) / (2 * math.pi) * HUES)) % HUES


@dataclass
class Recording:
    """A simulated walk with the positions to draw."""

    walker: Walker
    terrain: Terrain
    physics: PhysicsParams
    result: SimulationResult
    shapes: list[TerrainShape]
    masses: np.ndarray


def record(walker: Walker, terrain: Terrain, physics: PhysicsParams, fps: float = 20.0) -> Recording:
    """Simulate and keep joint positions ``fps`` times per simulated second."""
    every = max(1, round(1.0 / (fps * physics.time_step)))
    result = simulate(walker, terrain, physics, record_every=every)
    left, right = float(result.start[:, 0].min()), float(result.start[:, 0].max())
    shapes = terrain.shapes(left - physics.joint_radius, right + physics.joint_radius)
    return Recording(walker, terrain, physics, result, shapes, walker.joint_masses(physics))


class Camera:
    """Maps program units to pixels; follows the walker's centre of mass horizontally."""

    def __init__(self, rec: Recording, size: tuple[int, int]) -> None:
        self.size = size
        w, h = size
        span = max(rec.walker.width, rec.walker.height * w / h, 1.0)
        self.units_w = max(40.0, 2.5 * span)
        self.ppu = w / self.units_w  # pixels per program unit
        units_h = h / self.ppu
        ground = float(np.min(rec.result.start[:, 1])) - rec.physics.joint_radius
        self.y_low = ground - 0.15 * units_h
        self.centre_x = 0.0

    def follow(self, x: float) -> None:
        self.centre_x = x

    def px(self, x: float, y: float) -> tuple[float, float]:
        w, h = self.size
        return (w / 2 + (x - self.centre_x) * self.ppu, h - (y - self.y_low) * self.ppu)

    @property
    def x_range(self) -> tuple[float, float]:
        half = self.units_w / 2
        return self.centre_x - half, self.centre_x + half


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # older Pillow without sized default fonts
        return ImageFont.load_default()


def _draw_terrain(draw: ImageDraw.ImageDraw, cam: Camera, shapes: list[TerrainShape]) -> None:
    lo, hi = cam.x_range
    bottom = cam.size[1] + 10
    for shape in shapes:
        points = shape.points
        if shape.solid:
            draw.polygon([cam.px(x, y) for x, y in points], fill=TERRAIN)
            continue
        visible = [(x, y) for k, (x, y) in enumerate(points)
                   if lo - 5 <= x <= hi + 5
                   or (k + 1 < len(points) and points[k + 1][0] >= lo - 5 and x <= lo - 5)
                   or (k > 0 and points[k - 1][0] <= hi + 5 and x >= hi + 5)]
        if len(visible) < 2:
            continue
        outline = [cam.px(x, y) for x, y in visible]
        draw.polygon(outline + [(outline[-1][0], bottom), (outline[0][0], bottom)], fill=TERRAIN)


def _draw_ruler(draw: ImageDraw.ImageDraw, cam: Camera, font: ImageFont.ImageFont, start_x: float) -> None:
    lo, hi = cam.x_range
    step = 5.0 if cam.units_w <= 80 else 10.0
    h = cam.size[1]
    for k in range(int(math.floor(lo / step)), int(math.ceil(hi / step)) + 1):
        x, _ = cam.px(k * step, 0.0)
        major = k % 2 == 0
        draw.line([(x, h - 1), (x, h - (9 if major else 5))], fill=BLACK if major else TICK)
        if major:
            draw.text((x + 2, h - 20), f"{k * step:g}", fill=BLACK, font=font)
    sx, _ = cam.px(start_x, 0.0)
    draw.line([(sx, 0), (sx, h)], fill=START, width=1)


def draw_frame(rec: Recording, points: np.ndarray, t: float, cam: Camera, font: ImageFont.ImageFont) -> Image.Image:
    """One frame of the walk at time ``t`` with joint positions ``points``."""
    image = Image.new("P", cam.size, SKY)
    image.putpalette(PALETTE)
    draw = ImageDraw.Draw(image)
    com_start = float(np.dot(rec.masses, rec.result.start[:, 0]) / rec.masses.sum())
    com = float(np.dot(rec.masses, points[:, 0]) / rec.masses.sum())
    cam.follow(com)
    _draw_terrain(draw, cam, rec.shapes)
    _draw_ruler(draw, cam, font, com_start)
    walker = rec.walker
    width = max(1, int(round(cam.ppu * 0.25)))
    for (i, j), active, phase in zip(walker.pairs.tolist(), walker.active.tolist(), walker.phase.tolist()):
        colour = phase_colour(phase) if active else SPRING
        draw.line([cam.px(*points[i]), cam.px(*points[j])], fill=colour, width=width + (1 if active else 0))
    r = max(2.0, rec.physics.joint_radius * cam.ppu)
    for x, y in points.tolist():
        px, py = cam.px(x, y)
        draw.ellipse([px - r, py - r, px + r, py + r], fill=BLACK)
    text = f"{rec.terrain.name}  t={t:4.1f} s  distance {com - com_start:+.1f}"
    draw.text((8, 6), text, fill=BLACK, font=font)
    return image


def frames(rec: Recording, size: tuple[int, int], indices: list[int] | None = None) -> list[Image.Image]:
    """Frames of the recorded walk (all of them, or those at ``indices``)."""
    cam = Camera(rec, size)
    font = _font(max(10, size[1] // 24))
    picks = range(len(rec.result.frames)) if indices is None else indices
    return [draw_frame(rec, rec.result.frames[k], rec.result.frame_times[k], cam, font) for k in picks]


def write_gif(rec: Recording, path: Path | BinaryIO, size: tuple[int, int], fps: float) -> int:
    """Animated GIF of the whole walk (to a file or a binary stream); returns the number of frames."""
    images = frames(rec, size)
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], duration=int(round(1000 / fps)),
                   loop=0, optimize=False)
    return len(images)


def strip_picks(frames: int, frame_s: float, period_s: float, count: int) -> list[int]:
    """Indices of ``count`` frames (of ``frames``, ``frame_s`` apart) spread over the walk, each
    moved (by at most half a muscle period) to the k-th of ``count`` phases of the period:
    frames a whole number of periods apart would all show the gait at the same phase."""
    count = max(1, count)
    last = frames - 1
    picks = []
    for k, t in enumerate(np.linspace(0.0, last * frame_s, count)):
        if period_s > 0 and count > 1:
            offset = (t - k * period_s / count) % period_s  # how far past the wanted phase t is
            t -= offset if offset <= period_s / 2 else offset - period_s
        picks.append(int(np.clip(round(t / frame_s), 0, last)) if frame_s > 0 else 0)
    return picks


def write_strip(rec: Recording, path: Path, size: tuple[int, int], count: int) -> int:
    """A PNG of ``count`` frames side by side, spread over the walk at distinct gait phases."""
    frames_n = len(rec.result.frames)
    frame_s = rec.result.simulated_s / (frames_n - 1) if frames_n > 1 else 0.0
    picks = strip_picks(frames_n, frame_s, rec.physics.muscle_period_s, count)
    strip = Image.new("RGB", (size[0] * len(picks), size[1]), (255, 255, 255))
    for k, image in enumerate(frames(rec, size, picks)):
        strip.paste(image.convert("RGB"), (k * size[0], 0))
    strip.save(path)
    return len(picks)
