"""A simulated Franka Panda arm (PyBullet through panda-gym), seen by a fixed camera, for planning from goal images.

V-JEPA 2-AC's payoff is a Franka arm that reaches, pushes and picks-and-places toward a *goal image*. This
wrapper turns panda-gym's tasks into the kit's planning-env convention (as ``two_rooms`` and ``push``):

- observation: uint8 RGB [img, img, 3] from a fixed camera that sees the arm, the table, the object and the
  target area (PyBullet's CPU "Tiny" renderer: no GL, no screen). The target marker is hidden: the goal is
  given as an image (``goal_image()``: the same scene with the arm, or the object, at the target);
- action: end-effector displacement (dx, dy, dz), each in [-1, 1] = at most 5 cm per step (panda-gym's scale),
  plus the gripper's opening change for pick-and-place, like V-JEPA 2-AC's end-effector deltas;
- ``info["state"]``: proprioception, the end-effector position (and, for pick-and-place, the gripper's width)
  in action units, float32 [A] (``state()``);
  ``info["distance"]``: the task's own distance (arm or object to the target, m); ``info["success"]``: the
  simulator's criterion (distance < 5 cm). An episode ends on success or after ``max_steps``.

pybullet and panda-gym are the optional ``robot`` extra: ``pip install -e ".[robot]"``.

Shapes: A action dim (3 for reach and push, 4 for pick_and_place), P image size in pixels.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, field, replace

import gymnasium as gym
import numpy as np

from .. import optional_import
from ..config import is_int
from .arena import check_reset_args, is_numeric

TASKS = ("reach", "push", "pick_and_place")
STEP_METRES = 0.05  # panda-gym moves the end effector by at most 5 cm per unit action
GRIPPER_STEP_METRES = 0.2  # and opens or closes the gripper by at most 0.2 m per unit action
HIDDEN = np.array([0.0, 0.0, -5.0])  # where the target marker is parked (under the floor) while rendering
TINY_RENDERER, NO_SEGMENTATION_MASK = 65536, 4  # pybullet.ER_TINY_RENDERER, pybullet.ER_NO_SEGMENTATION_MASK


@dataclass(frozen=True)
class Camera:
    """A fixed camera looking at ``target`` (m) from ``distance`` (m), at ``yaw`` and ``pitch`` (degrees)."""

    target: tuple[float, float, float] = (-0.05, 0.0, 0.15)
    distance: float = 0.85
    yaw: float = 45.0
    pitch: float = -30.0


@dataclass(frozen=True)
class PandaConfig:
    """One arm task and how it is seen. ``object_rgba`` / ``table_rgba`` recolour the scene, ``camera`` moves the
    view and ``light_direction`` the light (None: PyBullet's default): the knobs of the zero-shot scenes
    (``ZERO_SHOT``)."""

    task: str = "reach"
    img_size: int = 64
    max_steps: int = 50
    camera: Camera = field(default_factory=Camera)
    object_rgba: tuple[float, float, float, float] = (0.15, 0.35, 0.9, 1.0)  # a blue cube (panda-gym's is green)
    table_rgba: tuple[float, float, float, float] | None = None  # None: panda-gym's grey
    light_direction: tuple[float, float, float] | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task: expected one of {TASKS}, received {self.task!r}")
        if not is_int(self.img_size, 16, 512):
            raise ValueError(f"img_size: expected an int in 16..512, received {self.img_size!r}")
        if not is_int(self.max_steps, 1):
            raise ValueError(f"max_steps: expected an int >= 1, received {self.max_steps!r}")


# Scenes the models never saw in training, for zero-shot evaluation: each one change, and all of them at once
ZERO_SHOT = {
    "table": dict(table_rgba=(0.62, 0.45, 0.3, 1.0)),  # a wooden table instead of the grey one
    "cube": dict(object_rgba=(0.85, 0.2, 0.15, 1.0)),  # a red cube instead of the blue one
    "light": dict(light_direction=(-1.0, 1.0, 1.5)),  # light from another side
    "camera": dict(camera=Camera(target=(-0.04, 0.015, 0.15), yaw=48.0)),  # moved by about 2 pixels at 64 px
}
ZERO_SHOT["all"] = {k: v for change in ZERO_SHOT.values() for k, v in change.items()}


def _panda_gym():
    """panda-gym's env classes, imported on first use: pybullet and panda-gym are the optional robot extra."""
    envs = optional_import("panda_gym.envs", "pybullet and panda-gym", "robot", "the Franka Panda environments")
    return {"reach": envs.PandaReachEnv, "push": envs.PandaPushEnv, "pick_and_place": envs.PandaPickAndPlaceEnv}


@contextlib.contextmanager
def _quiet_c_stdout():
    """Silence what C code writes to the process's stdout (file descriptor 1) inside the block."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


class PandaEnv(gym.Env):
    """A panda-gym task seen by the kit's fixed camera. ``PandaEnv(PandaConfig(task="push"))``."""

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(self, config: PandaConfig = PandaConfig()):
        if not isinstance(config, PandaConfig):
            raise ValueError(f"config: expected a PandaConfig, received {type(config).__name__}")
        self.config = config
        with _quiet_c_stdout():  # PyBullet's C code prints its connection options on every start
            self._env = _panda_gym()[config.task](render_mode="rgb_array", renderer="Tiny")
        self.sim, self.robot, self.task = self._env.sim, self._env.robot, self._env.task
        p = config.img_size
        self.observation_space = gym.spaces.Box(0, 255, (p, p, 3), np.uint8)
        self.action_space = self._env.action_space  # Box(-1, 1, (A,))
        self._recolour()
        self.steps = 0

    # ----------------------------------------------------------------------------------------- the scene
    def _recolour(self) -> None:
        client, bodies = self.sim.physics_client, self.sim._bodies_idx  # panda-gym's body name -> PyBullet id
        if "object" in bodies:
            client.changeVisualShape(bodies["object"], -1, rgbaColor=list(self.config.object_rgba))
        if self.config.table_rgba is not None:
            client.changeVisualShape(bodies["table"], -1, rgbaColor=list(self.config.table_rgba))

    def render(self) -> np.ndarray:
        """The camera image, uint8 [P, P, 3], with the target marker out of view. PyBullet's CPU renderer without
        shadows: about 50 ms a frame on one core (panda-gym's own render, with shadows, about 80 ms)."""
        c, p = self.config.camera, self.config.img_size
        self.sim.set_base_pose("target", HIDDEN, np.array([0.0, 0.0, 0.0, 1.0]))
        client = self.sim.physics_client
        view = client.computeViewMatrixFromYawPitchRoll(cameraTargetPosition=list(c.target), distance=c.distance,
                                                       yaw=c.yaw, pitch=c.pitch, roll=0.0, upAxisIndex=2)
        proj = client.computeProjectionMatrixFOV(fov=60.0, aspect=1.0, nearVal=0.1, farVal=100.0)
        light = {} if self.config.light_direction is None else {"lightDirection": list(self.config.light_direction)}
        rgba = client.getCameraImage(p, p, view, proj, shadow=False, renderer=TINY_RENDERER,
                                     flags=NO_SEGMENTATION_MASK, **light)[2]
        return np.asarray(rgba, dtype=np.uint8).reshape(p, p, 4)[..., :3].copy()  # RGBA -> RGB [P, P, 3]

    def state(self) -> np.ndarray:
        """Proprioception in action units, float32 [A]: the end-effector position in 5-cm steps, and for
        pick-and-place the gripper's width in its own step (0.2 m), so that a displacement action a moves the
        state to about state + a - what the AC predictor assumes while it imagines (as V-JEPA 2-AC's poses and
        pose deltas)."""
        s = self.robot.get_ee_position() / STEP_METRES
        if not self.robot.block_gripper:
            s = np.append(s, self.robot.get_fingers_width() / GRIPPER_STEP_METRES)
        return s.astype(np.float32)

    def goal(self) -> np.ndarray:
        """The target position (m) of the end effector (reach) or of the object (push, pick-and-place), [3]."""
        return np.array(self.task.goal, dtype=np.float64)

    def distance(self) -> float:
        return float(np.linalg.norm(self.task.get_achieved_goal() - self.task.goal))

    def _info(self) -> dict:
        d = self.distance()
        return {"state": self.state(), "distance": d, "success": bool(d < self.task.distance_threshold)}

    # --------------------------------------------------------------------------------------- the gym API
    def reset(self, seed: int | None = None, options: dict | None = None):
        seed = check_reset_args(seed, options)
        super().reset(seed=seed)
        self._env.reset(seed=seed)
        self.steps = 0
        return self.render(), self._info()

    def step(self, action):
        a = np.asarray(action, dtype=np.float32).reshape(-1) if is_numeric(action) else None
        if a is None or a.shape != self.action_space.shape or not np.isfinite(a).all():
            raise ValueError(f"action: expected {self.action_space.shape[0]} finite floats in [-1, 1], "
                             f"received {np.asarray(action)!r}")
        self._env.step(np.clip(a, -1.0, 1.0))
        self.steps += 1
        info = self._info()
        terminated = info["success"]
        truncated = self.steps >= self.config.max_steps and not terminated
        return self.render(), float(-info["distance"]), terminated, truncated, info

    def close(self) -> None:
        self._env.close()

    # ------------------------------------------------------------------------------------ the goal image
    def goal_image(self) -> np.ndarray:
        """The scene at the goal, uint8 [P, P, 3]: for reach the arm's end effector at the target, for push and
        pick-and-place the object at the target and the arm back at its neutral pose. The simulation is
        restored afterwards: the episode goes on from where it was."""
        saved = self.sim.save_state()
        try:
            if self.config.task == "reach":
                self._move_arm_to(self.goal())
            else:
                self.robot.set_joint_neutral()
                self.sim.set_base_pose("object", self.goal(), np.array([0.0, 0.0, 0.0, 1.0]))
            return self.render()
        finally:
            self.sim.restore_state(saved)
            self.sim.remove_state(saved)

    def subgoal_images(self) -> list[np.ndarray]:
        """The goal as a sequence of images, uint8 [P, P, 3] each, the last one the task's goal; a planner
        aims at each for ``SUBGOAL_STEPS[task]`` steps, as V-JEPA 2-AC's pick-and-place does with sub-goal
        images. Reach: the goal image alone. Push: the end effector 12 cm above the point behind the cube (on the
        line from the cube to the target), then at that point, then the cube at the target with the end
        effector behind it. Pick-and-place: the open gripper above the cube, around it, closed on it, then
        cube and gripper at the target. Rendered from the simulator's state (as ``goal_image``); restored."""
        if self.config.task == "reach":
            return [self.goal_image()]
        obj, goal = np.array(self.sim.get_base_position("object")), self.goal()
        if self.config.task == "push":
            behind, after = _behind(obj, goal), _behind(goal, goal + (goal - obj))
            scenes = [(behind + [0, 0, 0.12], obj, 0.0), (behind, obj, 0.0), (after, goal, 0.0)]
        else:
            width = self.task.object_size  # fingers closed on the cube
            scenes = [(obj + [0, 0, 0.08], obj, 0.08), (obj, obj, 0.08), (obj, obj, width), (goal, goal, width)]
        return [self._render_scene(ee, o, w) for ee, o, w in scenes]

    def _render_scene(self, ee: np.ndarray, obj: np.ndarray, width: float) -> np.ndarray:
        """The image with the end effector at ``ee``, the object at ``obj`` (m) and the fingers ``width`` apart."""
        saved = self.sim.save_state()
        try:
            self._move_arm_to(ee, width)
            self.sim.set_base_pose("object", obj, np.array([0.0, 0.0, 0.0, 1.0]))
            return self.render()
        finally:
            self.sim.restore_state(saved)
            self.sim.remove_state(saved)

    def _move_arm_to(self, position: np.ndarray, width: float = 0.0) -> None:
        """Set the joints so that the end effector sits at ``position`` (inverse kinematics, gripper down) with
        the fingers ``width`` (m) apart."""
        angles = self.sim.inverse_kinematics(self.robot.body_name, link=self.robot.ee_link, position=position,
                                             orientation=np.array([1.0, 0.0, 0.0, 0.0]))
        self.robot.set_joint_angles(np.concatenate([angles[:7], [width / 2, width / 2]]))


SUBGOAL_STEPS = {"reach": (), "push": (6, 5), "pick_and_place": (6, 4, 3)}  # steps per sub-goal; the last: the rest


def _behind(obj: np.ndarray, goal: np.ndarray, gap: float = 0.06) -> np.ndarray:
    """Where the end effector stands to push ``obj`` toward ``goal``: ``gap`` (m) behind it on their line,
    at the object's height."""
    line = (goal - obj) * [1.0, 1.0, 0.0]
    return obj - gap * line / max(np.linalg.norm(line), 1e-9)


def oracle_action(env: PandaEnv) -> np.ndarray:
    """The move a controller with the simulator's true state makes, float32 [A], as fast as allowed: straight at
    the target (reach); behind the object, then through it toward the target (push); above the object with the
    gripper open, down around it, close, then carry it to the target (pick-and-place)."""
    ee, goal = env.robot.get_ee_position(), env.goal()
    action = np.zeros(env.action_space.shape, np.float32)
    if env.config.task == "reach":
        move = goal - ee
    elif env.config.task == "push":
        move = _push_move(ee, np.array(env.sim.get_base_position("object")), goal)
    else:
        move, action[3] = _pick_move(ee, np.array(env.sim.get_base_position("object")), goal,
                                     env.robot.get_fingers_width())
    action[:3] = np.clip(move / STEP_METRES, -1.0, 1.0)
    return action


def _push_move(ee: np.ndarray, obj: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """Push: the end effector's move (m) toward the point behind the object, then along the push."""
    behind = _behind(obj, goal)  # stand 6 cm behind the object, on the line to the target
    push = (goal - obj) * [1.0, 1.0, 0.0]
    if np.linalg.norm((ee - behind)[:2]) > 0.02 and np.dot(ee - obj, push) > -0.04 * np.linalg.norm(push):
        behind = behind + [0.0, 0.0, 0.08]  # go around it from above before coming down behind it
    return behind - ee if np.linalg.norm(ee - behind) > 0.015 else push


def _pick_move(ee: np.ndarray, obj: np.ndarray, goal: np.ndarray, width: float) -> tuple[np.ndarray, float]:
    """Pick-and-place: the end effector's move (m) and the gripper command (+1 open, -1 close)."""
    held = np.linalg.norm(ee - obj) < 0.02 and width < 0.045  # closed around the cube
    if held:
        return goal - ee, -1.0
    if np.linalg.norm((ee - obj)[:2]) > 0.02 and ee[2] - obj[2] < 0.05:  # low and beside it: up, over it
        return obj + [0.0, 0.0, 0.08] - ee, 1.0
    if np.linalg.norm(ee - obj) > 0.01:  # above it: come down onto it with the gripper open
        return obj - ee, 1.0
    return np.zeros(3), -1.0  # around it: close

def make_panda(task: str = "reach", **config) -> PandaEnv:
    """``make_panda("push", img_size=64)``: a PandaEnv of ``PandaConfig(task=task, **config)``."""
    return PandaEnv(replace(PandaConfig(), task=task, **config))
