"""The 7-D robot convention of V-JEPA 2-AC: end-effector poses, action deltas and pose integration.

A *state* (pose) is ``[x, y, z, roll, pitch, yaw, gripper]``: the end-effector position in metres, its
orientation as extrinsic "xyz" Euler angles in radians (rotate about the fixed x axis by roll, then y by
pitch, then z by yaw: R = Rz(yaw) Ry(pitch) Rx(roll)), and how closed the gripper is, in [0, 1].
An *action* is the change from one pose to the next, ``[dx, dy, dz, droll, dpitch, dyaw, dgripper]``:
positions and gripper add, rotations compose (R_next = R_delta @ R). Planning cannot observe the future
poses it imagines, so it integrates them from the actions (``integrate_pose``), as the official planner does.

Everything is batched torch: poses and actions [..., 7]; rotation matrices [..., 3, 3]. The tests check the
Euler conversions against SciPy's ``Rotation.from_euler("xyz", ...)``.
"""

from __future__ import annotations

import contextlib

import torch

POSE_DIM = 7
GRIPPER_RANGE = (0.0, 1.0)


def _check_last(x: torch.Tensor, size: int, name: str) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim < 1 or x.shape[-1] != size or not x.is_floating_point():
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name}: expected a float tensor [..., {size}], got {got}")


def euler_to_matrix(angles: torch.Tensor) -> torch.Tensor:
    """Extrinsic xyz Euler angles [..., 3] (roll, pitch, yaw) -> rotation matrices [..., 3, 3]."""
    _check_last(angles, 3, "angles")
    (cr, cp, cy), (sr, sp, sy) = angles.cos().unbind(-1), angles.sin().unbind(-1)
    rows = [
        [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
        [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
        [-sp, cp * sr, cp * cr],
    ]
    return torch.stack([torch.stack(r, dim=-1) for r in rows], dim=-2)  # [..., 3, 3]


def matrix_to_euler(matrix: torch.Tensor) -> torch.Tensor:
    """Rotation matrices [..., 3, 3] -> extrinsic xyz Euler angles [..., 3], pitch in [-pi/2, pi/2].
    At gimbal lock (pitch = +-pi/2) roll is set to 0 and the whole turn goes to yaw."""
    if not isinstance(matrix, torch.Tensor) or matrix.shape[-2:] != (3, 3):
        got = tuple(matrix.shape) if isinstance(matrix, torch.Tensor) else type(matrix).__name__
        raise ValueError(f"matrix: expected rotation matrices [..., 3, 3], got {got}")
    pitch = torch.asin((-matrix[..., 2, 0]).clamp(-1.0, 1.0))
    locked = matrix[..., 2, 0].abs() > 1 - 1e-7
    roll = torch.where(locked, torch.zeros_like(pitch), torch.atan2(matrix[..., 2, 1], matrix[..., 2, 2]))
    yaw_free = torch.atan2(matrix[..., 1, 0], matrix[..., 0, 0])
    # at the lock only yaw - roll (pitch = +pi/2) or yaw + roll (-pi/2) is defined; put it all in yaw
    yaw_locked = torch.atan2(-matrix[..., 0, 1], matrix[..., 1, 1])
    return torch.stack([roll, pitch, torch.where(locked, yaw_locked, yaw_free)], dim=-1)


def integrate_pose(pose: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
    """The pose after an action: pose [..., 7], action [..., 7] -> [..., 7]. Position and gripper add
    (gripper clipped to [0, 1]); the rotation delta is applied in the fixed frame: R' = R_delta @ R."""
    _check_last(pose, POSE_DIM, "pose")
    _check_last(action, POSE_DIM, "action")
    xyz = pose[..., :3] + action[..., :3]
    no_autocast = torch.autocast("cuda", enabled=False) if pose.is_cuda else contextlib.nullcontext()
    with no_autocast:  # keep angles in full precision under bf16 autocast
        wide = torch.promote_types(pose.dtype, torch.float32)
        rot = euler_to_matrix(action[..., 3:6].to(wide)) @ euler_to_matrix(pose[..., 3:6].to(wide))  # [..., 3, 3]
    rot = rot.to(pose.dtype)
    grip = (pose[..., 6:] + action[..., 6:]).clamp(*GRIPPER_RANGE)
    return torch.cat([xyz, matrix_to_euler(rot), grip], dim=-1)


def pose_difference(start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
    """The action that takes ``start`` to ``end`` (inverse of ``integrate_pose`` for an unclipped gripper):
    [..., 7] pairs -> actions [..., 7]; rotation delta R_end @ R_start^T."""
    _check_last(start, POSE_DIM, "start")
    _check_last(end, POSE_DIM, "end")
    rot = euler_to_matrix(end[..., 3:6]) @ euler_to_matrix(start[..., 3:6]).transpose(-1, -2)
    return torch.cat([end[..., :3] - start[..., :3], matrix_to_euler(rot), end[..., 6:] - start[..., 6:]], dim=-1)


def rollout_poses(pose0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Poses visited by a sequence of actions: pose0 [B, 7], actions [B, H, 7] -> poses [B, H + 1, 7]
    (index 0 is pose0; index t is the pose before action t)."""
    _check_last(pose0, POSE_DIM, "pose0")
    _check_last(actions, POSE_DIM, "actions")
    if actions.ndim != 3 or pose0.ndim != 2 or actions.shape[0] != pose0.shape[0]:
        raise ValueError(f"expected pose0 [B, 7] and actions [B, H, 7] with the same B, got "
                         f"{tuple(pose0.shape)} and {tuple(actions.shape)}")
    poses = [pose0]
    for t in range(actions.shape[1]):
        poses.append(integrate_pose(poses[-1], actions[:, t]))
    return torch.stack(poses, dim=1)


def planar_action(delta: torch.Tensor) -> torch.Tensor:
    """The official planner's search space -> full actions: [..., 4] (dx, dy, dz, dgripper) -> [..., 7]
    with the rotation delta fixed at 0 (V-JEPA 2-AC's CEM does not search rotations)."""
    _check_last(delta, 4, "delta")
    zeros = delta.new_zeros(*delta.shape[:-1], 3)
    return torch.cat([delta[..., :3], zeros, delta[..., 3:]], dim=-1)
