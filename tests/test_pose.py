"""The 7-D pose convention against SciPy's rotations, and pose integration inverted by pose_difference."""

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from jepa_lab.fullscale.pose import (euler_to_matrix, integrate_pose, matrix_to_euler, planar_action,
                                     pose_difference, rollout_poses)


def _angles(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = (torch.rand(n, 3, generator=g, dtype=torch.float64) * 2 - 1) * torch.pi
    a[:, 1] /= 2  # pitch in [-pi/2, pi/2], the range matrix_to_euler returns
    return a


def test_euler_to_matrix_matches_scipy_extrinsic_xyz():
    a = _angles()
    ref = Rotation.from_euler("xyz", a.numpy()).as_matrix()
    np.testing.assert_allclose(euler_to_matrix(a).numpy(), ref, atol=1e-12)


def test_matrix_to_euler_matches_scipy_and_round_trips():
    a = _angles(seed=1)
    mats = euler_to_matrix(a)
    ref = Rotation.from_matrix(mats.numpy()).as_euler("xyz")
    np.testing.assert_allclose(matrix_to_euler(mats).numpy(), ref, atol=1e-9)
    np.testing.assert_allclose(matrix_to_euler(mats).numpy(), a.numpy(), atol=1e-9)


def test_gimbal_lock_still_gives_the_same_rotation():
    a = torch.tensor([[0.3, torch.pi / 2, -0.4], [0.2, -torch.pi / 2, 0.9]], dtype=torch.float64)
    back = matrix_to_euler(euler_to_matrix(a))
    torch.testing.assert_close(euler_to_matrix(back), euler_to_matrix(a), atol=1e-7, rtol=0)


def test_integrate_pose_composes_rotations_like_the_official_planner():
    g = torch.Generator().manual_seed(2)
    pose = torch.cat([torch.randn(16, 3, generator=g, dtype=torch.float64), _angles(16, 3),
                      torch.rand(16, 1, generator=g, dtype=torch.float64)], dim=-1)
    action = torch.cat([0.05 * torch.randn(16, 3, generator=g, dtype=torch.float64), 0.2 * _angles(16, 4),
                        torch.randn(16, 1, generator=g, dtype=torch.float64)], dim=-1)
    new = integrate_pose(pose, action)
    torch.testing.assert_close(new[:, :3], pose[:, :3] + action[:, :3])
    expected = (Rotation.from_euler("xyz", action[:, 3:6].numpy()) * Rotation.from_euler("xyz", pose[:, 3:6].numpy()))
    np.testing.assert_allclose(euler_to_matrix(new[:, 3:6]).numpy(), expected.as_matrix(), atol=1e-12)
    assert new[:, 6].min() >= 0 and new[:, 6].max() <= 1  # gripper closedness clipped to [0, 1]


def test_pose_difference_inverts_integration():
    g = torch.Generator().manual_seed(5)
    start = torch.cat([torch.randn(8, 3, generator=g, dtype=torch.float64), _angles(8, 6),
                       torch.full((8, 1), 0.5, dtype=torch.float64)], dim=-1)
    action = torch.cat([0.05 * torch.randn(8, 3, generator=g, dtype=torch.float64), 0.3 * _angles(8, 7),
                        torch.full((8, 1), 0.25, dtype=torch.float64)], dim=-1)
    torch.testing.assert_close(pose_difference(start, integrate_pose(start, action)), action)


def test_rollout_poses_and_planar_actions():
    pose0 = torch.zeros(3, 7)
    acts = planar_action(torch.tensor([0.01, 0.0, -0.02, 0.5]).expand(3, 4, 4))  # [3, 4, 7]
    assert acts.shape == (3, 4, 7) and (acts[..., 3:6] == 0).all()
    poses = rollout_poses(pose0, acts)
    assert poses.shape == (3, 5, 7)
    torch.testing.assert_close(poses[:, -1, :3], torch.tensor([0.04, 0.0, -0.08]).expand(3, 3))
    assert (poses[:, -1, 6] == 1.0).all()  # gripper: 4 x 0.5 clipped at fully closed


@pytest.mark.parametrize("call, match", [
    (lambda: integrate_pose(torch.zeros(2, 6), torch.zeros(2, 7)), r"pose: expected a float tensor \[\.\.\., 7\]"),
    (lambda: matrix_to_euler(torch.zeros(2, 3)), r"rotation matrices \[\.\.\., 3, 3\]"),
    (lambda: rollout_poses(torch.zeros(2, 7), torch.zeros(3, 4, 7)), "same B"),
    (lambda: planar_action(torch.zeros(2, 7)), r"delta: expected a float tensor \[\.\.\., 4\]"),
])
def test_bad_shapes(call, match):
    with pytest.raises(ValueError, match=match):
        call()
