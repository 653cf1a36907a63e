"""Every physical constant of the Sodarace simulation, with the reason for its value.

Programs describe walkers in *program units* (the Square seed is 10 x 10). The simulation
runs in Box2D metres, ``scale`` metres per program unit; everything reported back
(fitness, descriptors, trajectories) is in program units again.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class PhysicsParams(BaseModel):
    """The physics of one evaluation. Defaults are the project's Sodarace; a run may
    override any of them through the domain config (``domain.physics.KEY``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # -- world ------------------------------------------------------------------------
    scale: float = Field(0.1, gt=0, description=(
        "metres per program unit: a 10-unit seed becomes a 1 m robot, the size Box2D handles best "
        "(0.1-10 m) and small enough that a 1 s muscle cycle under gravity gives a walking, not "
        "a leaping, gait"))
    gravity: float = Field(9.81, ge=0, description="downward acceleration in m/s^2 (Earth)")

    # -- time -------------------------------------------------------------------------
    time_step: float = Field(1.0 / 60.0, gt=0, le=0.05, description=(
        "fixed step in seconds: Box2D's recommended 60 Hz; the springs (below 10 Hz) stay well "
        "under the 30 Hz Nyquist limit of the step"))
    duration_s: float = Field(10.0, gt=0, le=120, description=(
        "simulated seconds per evaluation: 10 muscle cycles, long enough for a gait to show and "
        "for the start-up transient (under 1 s) to be a small part of the distance"))
    velocity_iterations: int = Field(6, ge=1, le=50, description=(
        "Box2D velocity solver passes per step. Box2D suggests 8 (with 3 position passes); with "
        "8/3 the seeds move within 3 % of their 6/2 distances while a step costs about 40 % more"))
    position_iterations: int = Field(2, ge=1, le=50, description=(
        "Box2D position solver passes per step: only contacts need them (distance joints are soft)"))

    # -- muscles ----------------------------------------------------------------------
    muscle_period_s: float = Field(0.5, gt=0, description=(
        "the one period every muscle shares (the paper's convention): two strides a second. Of "
        "the periods tried (0.5, 0.7, 1 s) this is where the seeds walk: at 1 s the CPPN-Fixed "
        "seed moves 5.5 units in 10 s and the Square 7.4; at 0.5 s 43 and 62"))
    muscle_ramp_s: float = Field(0.5, ge=0, description=(
        "amplitudes grow linearly from 0 over this time, so the first step is not a jolt that "
        "throws the walker; one muscle cycle"))
    spring_frequency_hz: float = Field(8.0, gt=0, le=20, description=(
        "natural frequency of every spring (a Box2D soft distance joint): 4x the muscle frequency, "
        "so muscles follow their target length within a cycle; soft constraints stay stable at "
        "60 Hz even where 16 springs meet (5, 6, 8, 10 and 15 Hz were tried: 8-10 make the seeds walk)"))
    spring_damping_ratio: float = Field(0.5, ge=0, le=2, description=(
        "damping of every spring: 0.5 stops ringing within about one spring period without "
        "making the walker sluggish"))

    # -- bodies -----------------------------------------------------------------------
    joint_radius: float = Field(0.2, gt=0, description=(
        "radius of the circle that stands for a joint, in program units: below half the minimum "
        "joint distance, so joints never overlap at rest"))
    joint_mass: float = Field(1.0, gt=0, description="mass of each joint (mass units)")
    muscle_mass_per_length: float = Field(0.1, ge=0, description=(
        "mass per program unit of spring, split between its two joints: a 10-unit spring weighs "
        "as much as a joint, so long spindly walkers are heavier than compact ones"))
    friction: float = Field(1.0, ge=0, description=(
        "Coulomb friction of joints and terrain: grippy ground, so pushing backwards moves the "
        "walker forwards; joints do not rotate, so they slide rather than roll"))
    restitution: float = Field(0.0, ge=0, le=1, description="bounciness of contacts: none, walkers do not bounce")

    # -- numerical explosion ----------------------------------------------------------
    check_every_steps: int = Field(30, ge=1, description=(
        "how often (in steps) the walker is checked for a numerical explosion: twice per "
        "simulated second, about 3 us per step for a 24-joint walker"))
    max_joint_speed: float = Field(800.0, gt=0, description=(
        "fastest a joint may move, in program units/s (80 m/s). Random walkers flailing at full "
        "muscle strength peak at 150-300; Box2D caps any body at 2 m per step (1,200 units/s at "
        "60 Hz), so a blown-up integration shows up as speeds near that cap"))
    max_stretch: float = Field(4.0, gt=1, description=(
        "a spring longer than this multiple of its rest length, or of half the walker's start "
        "size if that is larger, means the walker was torn apart (short springs in a big walker "
        "legitimately stretch a lot when long muscles pull on them)"))
    max_rise: float = Field(200.0, gt=0, description=(
        "a joint more than this many program units above its highest start position has been "
        "flung into the air"))
    max_sink: float = Field(50.0, gt=0, description=(
        "a joint more than this many program units below the lowest terrain point fell out of the world"))

    @model_validator(mode="after")
    def _joint_fits(self) -> "PhysicsParams":
        if self.duration_s < self.time_step:
            raise ValueError(f"duration_s ({self.duration_s}) is shorter than one time_step ({self.time_step})")
        return self

    @property
    def steps(self) -> int:
        """Physics steps in one evaluation."""
        return max(1, round(self.duration_s / self.time_step))


DEFAULT_PHYSICS = PhysicsParams()
