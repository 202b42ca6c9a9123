"""Executable claims about the action-conditioned predictor, the latent and pixel world models and their data."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from jepa_lab.models.ac_predictor import ACPredictor, ACPredictorConfig, KVCache, ac_loss, block_causal_mask
from jepa_lab.models.world_model import ACTrainConfig
from jepa_lab.weights.saved import load_world_model, save_world_model
from jepa_lab.train.ac import train_ac, train_pixel
from jepa_lab.models.pixel_world_model import PixelModelConfig, PixelWorldModel
from jepa_lab.envs.trajectories import action_free_clips, collect, random_actions, read_episodes, write_episodes
from jepa_lab.models.video_vit import VideoViT, VideoViTConfig
from jepa_lab.models.world_model import LatentWorldModel

N, D = 16, 96


def small_predictor(**kw) -> ACPredictor:
    torch.manual_seed(0)
    return ACPredictor(D, N, ACPredictorConfig(embed_dim=32, depth=2, num_heads=2, **kw)).eval()


def inputs(b=3, t=4):
    g = torch.Generator().manual_seed(1)
    return torch.randn(b, t, N, D, generator=g), torch.randn(b, t, 2, generator=g), torch.randn(b, t, 2, generator=g)


def test_block_causal_mask_lets_a_step_see_itself_and_the_past_only():
    m = block_causal_mask(3, 2)
    assert m.shape == (6, 6)
    assert m[0, 1] and m[1, 0]  # tokens of one step see each other
    assert m[2, 0] and m[5, 0]  # later steps see earlier ones
    assert not m[0, 2] and not m[3, 4]  # never the future


def test_teacher_forcing_shapes_and_causality():
    model = small_predictor()
    z, a, s = inputs()
    out = model(z, a, s)
    assert out.shape == z.shape
    z2, a2 = z.clone(), a.clone()
    z2[:, 2:] += 1.0  # change the future frames and actions
    a2[:, 2:] += 1.0
    out2 = model(z2, a2, s)
    torch.testing.assert_close(out[:, :2], out2[:, :2])  # steps 0 and 1 cannot see steps 2+
    assert not torch.allclose(out[:, 2:], out2[:, 2:])


def test_actions_change_the_prediction():
    model = small_predictor()
    z, a, s = inputs()
    assert not torch.allclose(model(z, a, s), model(z, a + 1.0, s))


def test_cached_rollout_equals_teacher_forcing_on_its_own_predictions():
    model = small_predictor()
    z, a, s = inputs(t=5)
    with torch.no_grad():
        imagined = model.rollout(z[:, 0], a, s[:, 0])  # [B, 5, N, D]
        fed = torch.cat([z[:, :1], imagined[:, :-1]], dim=1)  # the inputs the rollout used
        states = s[:, :1] + torch.cat([torch.zeros_like(a[:, :1]), a[:, :-1].cumsum(1)], dim=1)
        torch.testing.assert_close(model(fed, a, states), imagined, atol=1e-5, rtol=1e-4)


def test_bad_shapes_name_what_was_expected():
    model = small_predictor()
    z, a, s = inputs()
    with pytest.raises(ValueError, match=r"\[B, T, 16, 96\]"):
        model(z[..., :10], a, s)
    with pytest.raises(ValueError, match="actions"):
        model(z, a[:, :2], s)
    with pytest.raises(ValueError, match="max_steps"):
        model.rollout(z[:, 0], torch.zeros(3, 40, 2), s[:, 0])
    with pytest.raises(ValueError, match="divisible"):
        ACPredictorConfig(embed_dim=30, num_heads=4)


def test_ac_loss_trains_the_predictor_only():
    encoder = VideoViT(VideoViTConfig())
    model = LatentWorldModel(encoder, small_predictor()).train()
    z, a, s = inputs(t=4)
    teacher, rollout = ac_loss(model.predictor, z, a[:, :3], s[:, :3], rollout_steps=2)
    (teacher + rollout).backward()
    assert all(p.grad is None for p in model.encoder.parameters())
    assert all(p.grad is not None for p in model.predictor.parameters() if p.requires_grad)
    assert not model.encoder.training  # the frozen encoder stays in eval mode


def test_encode_frames_matches_a_one_tubelet_clip():
    torch.manual_seed(0)
    full = VideoViT(VideoViTConfig(pos="sincos")).eval()
    short = VideoViT(VideoViTConfig(pos="sincos", num_frames=2)).eval()
    state = full.state_dict()
    state["pos_embed"] = state["pos_embed"][:, :16]
    short.load_state_dict(state)
    frames = torch.rand(2, 3, 32, 32)
    clip = frames[:, :, None].expand(-1, -1, 2, -1, -1)
    torch.testing.assert_close(full.encode_frames(frames), short(clip))
    with pytest.raises(ValueError, match=r"\[B, 3, 32, 32\]"):
        full.encode_frames(torch.rand(2, 3, 16, 16))


def test_goal_energy_is_batched_and_checks_the_goal():
    model = LatentWorldModel(VideoViT(VideoViTConfig()), small_predictor())
    obs = np.zeros((64, 64, 3), np.uint8)
    z0 = model.encode(obs)
    assert z0.shape == (1, N, D)
    energy = model.goal_energy(z0, np.zeros(2, np.float32), model.encode(obs + 50))
    e = energy(torch.zeros(7, 3, 2))
    assert e.shape == (7,) and torch.all(e > 0)
    with pytest.raises(ValueError, match="goal"):
        model.goal_energy(z0, np.zeros(2), torch.zeros(1, 4, D))
    with pytest.raises(ValueError, match="RGB"):
        model.encode(np.zeros((64, 64), np.uint8))


def test_kv_cache_fills_buffers_without_autograd_and_concatenates_with_it():
    model = small_predictor()
    z, a, s = inputs(b=2, t=5)
    with_grad = model.rollout(z[:, 0], a, s[:, 0])  # parameters require grad: concatenated keys
    with torch.no_grad():
        buffered = model.rollout(z[:, 0], a, s[:, 0])  # preallocated buffers, filled in place
    torch.testing.assert_close(buffered, with_grad.detach())
    cache = KVCache(4)
    k = torch.randn(1, 2, 3, 8)
    with torch.no_grad():
        keys, _ = cache.extend(k, k)
        assert keys.shape == (1, 2, 3, 8)
        with pytest.raises(ValueError, match="capacity"):
            cache.extend(k, k)


def test_chunked_rollout_restarts_from_the_last_imagined_step():
    model = LatentWorldModel(VideoViT(VideoViTConfig()), small_predictor(), context_steps=3)
    z, a, s = inputs(b=2, t=5)
    whole = model.rollout(z[:, 0], a, s[:, 0], chunk=3)  # [B, 5, N, D]: steps 1-3, then 4-5 from step 3
    first = model.predictor.rollout(z[:, 0], a[:, :3], s[:, 0])
    second = model.predictor.rollout(first[:, -1], a[:, 3:], s[:, 0] + a[:, :3].sum(dim=1))
    torch.testing.assert_close(whole, torch.cat([first, second], dim=1))
    torch.testing.assert_close(model.rollout(z[:, 0], a, s[:, 0], chunk=5), model.rollout(z[:, 0], a, s[:, 0]))
    with pytest.raises(ValueError, match="chunk"):
        model.rollout(z[:, 0], a, s[:, 0], chunk=0)
    with pytest.raises(ValueError, match="context_steps"):
        LatentWorldModel(VideoViT(VideoViTConfig()), small_predictor(), context_steps=17)


def test_goal_energy_repeat_holds_actions_and_min_takes_the_closest_step():
    model = LatentWorldModel(VideoViT(VideoViTConfig()), small_predictor(), context_steps=4)
    obs = np.zeros((64, 64, 3), np.uint8)
    z0, goal, s0 = model.encode(obs), model.encode(obs + 50), np.zeros(2, np.float32)
    a = torch.randn(5, 3, 2, generator=torch.Generator().manual_seed(0))  # [S, H, A]
    held = a.repeat_interleave(2, dim=1)  # [S, 6, A]: each action twice
    imagined = model.rollout(z0.expand(5, -1, -1), held, torch.zeros(5, 2), chunk=4)  # [S, 6, N, D]
    per_step = (imagined - goal[:, None]).abs().mean(dim=(2, 3))  # [S, 6]
    torch.testing.assert_close(model.goal_energy(z0, s0, goal, repeat=2)(a), per_step[:, -1])
    torch.testing.assert_close(model.goal_energy(z0, s0, goal, repeat=2, reduce="min")(a), per_step.min(1).values)
    with pytest.raises(ValueError, match="reduce"):
        model.goal_energy(z0, s0, goal, reduce="mean")
    with pytest.raises(ValueError, match="repeat"):
        model.goal_energy(z0, s0, goal, repeat=0)


def test_random_actions_respect_the_bound_and_the_seed():
    a = random_actions(np.random.default_rng(0), 10, 12, 6.0)
    assert a.shape == (10, 12, 2) and np.linalg.norm(a, axis=-1).max() <= 6.0 + 1e-5
    np.testing.assert_array_equal(a, random_actions(np.random.default_rng(0), 10, 12, 6.0))


@pytest.mark.parametrize("env", ["two_rooms", "push"])
def test_collect_is_deterministic_and_consistent(env):
    t1, t2 = collect(env, 3, 5, seed=2, progress=False), collect(env, 3, 5, seed=2, progress=False)
    assert t1.frames.shape == (3, 6, 64, 64, 3) and t1.frames.dtype == np.uint8
    assert t1.states.shape == (3, 6, 2) and t1.actions.shape == (3, 5, 2)
    np.testing.assert_array_equal(t1.frames, t2.frames)
    np.testing.assert_array_equal(t1.states, t1.sim_states[..., :2])


def test_action_free_clips_shape():
    clips = action_free_clips("two_rooms", 2, 8, 32, progress=False)
    assert clips.shape == (2, 3, 8, 32, 32) and clips.dtype == torch.uint8


def test_episode_folder_round_trip(tmp_path):
    traj = collect("two_rooms", 2, 4, seed=0, progress=False)
    folder = write_episodes(traj, tmp_path / "eps", progress=False)
    assert (folder / "episode_00001" / "recording.mp4").is_file()
    back = read_episodes(folder)
    np.testing.assert_array_equal(back.actions, traj.actions)
    np.testing.assert_array_equal(back.states, traj.states)
    assert back.frames.shape == traj.frames.shape
    assert np.abs(back.frames.astype(int) - traj.frames.astype(int)).mean() < 4  # lossy video, close
    with pytest.raises(FileNotFoundError, match="meta.json"):
        read_episodes(tmp_path / "missing")


def test_tiny_ac_training_reduces_the_loss_and_round_trips(tmp_path):
    traj = collect("two_rooms", 24, 8, seed=0, progress=False)
    cfg = replace(ACTrainConfig(), episodes=24, episode_steps=8, window=5, steps=40, batch_size=16, warmup_steps=5,
                  predictor=ACPredictorConfig(embed_dim=32, depth=1, num_heads=2))
    model, log = train_ac(VideoViT(VideoViTConfig()), traj, cfg, progress=False)
    assert np.mean(log["teacher"][-5:]) < 0.7 * np.mean(log["teacher"][:5])
    path = save_world_model(tmp_path / "ac.pt", model, cfg, metrics={"x": 1.0})
    back, cfg2, metrics = load_world_model(path)
    assert cfg2 == cfg and metrics == {"x": 1.0}
    z = model.encode(traj.frames[0, :1])
    a = torch.zeros(1, 3, 2)
    torch.testing.assert_close(back.rollout(z, a, torch.zeros(1, 2)), model.rollout(z, a, torch.zeros(1, 2)))


def test_pixel_model_shapes_training_and_errors():
    traj = collect("two_rooms", 16, 6, seed=0, progress=False)
    cfg = replace(ACTrainConfig(), episodes=16, episode_steps=6, window=4, steps=30, batch_size=8, warmup_steps=5,
                  pixel=PixelModelConfig(width=8))
    model, log = train_pixel(traj, cfg, progress=False)
    assert np.mean(log["teacher"][-5:]) < np.mean(log["teacher"][:5])
    frame = model.encode(traj.frames[0, 0])
    assert frame.shape == (1, 3, 32, 32)
    out = model.rollout(frame, torch.zeros(1, 4, 2), torch.zeros(1, 2))
    assert out.shape == (1, 4, 3, 32, 32) and out.min() >= 0 and out.max() <= 1
    with pytest.raises(ValueError, match=r"\[B, 3, 32, 32\]"):
        model(torch.zeros(1, 3, 16, 16), torch.zeros(1, 2), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="does not match"):
        model.goal_energy(frame, np.zeros(2), torch.zeros(1, 3, 16, 16))
    assert isinstance(model, PixelWorldModel)


def test_integrated_states_are_the_commanded_positions():
    from jepa_lab.models.ac_predictor import integrated_states

    s0 = torch.tensor([[1.0, 2.0]])
    a = torch.tensor([[[1.0, 0.0], [0.0, 3.0], [5.0, 5.0]]])
    expected = torch.tensor([[[1.0, 2.0], [2.0, 2.0], [2.0, 5.0]]])
    torch.testing.assert_close(integrated_states(s0, a), expected)


def test_without_the_state_input_the_state_has_no_effect():
    model = small_predictor(use_state=False)
    z, a, s = inputs()
    torch.testing.assert_close(model(z, a, s), model(z, a, s + 10.0))
    assert not torch.allclose(small_predictor()(z, a, s), small_predictor()(z, a, s + 10.0))
