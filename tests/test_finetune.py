"""Fine-tuning a V-JEPA on longer clips: ``VJEPA.resized`` carries every weight over to a model configured for
another clip size (a sin-cos table is extended, not interpolated), and a config's ``init`` starts a fresh
training run from a shipped model or a saved file instead of a random draw - how the ``permanence`` preset turns
the 8-frame physics model into a 16-frame one."""

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from jepa_lab.eval.surprise import context_surprise
from jepa_lab.models.pos_embed import sincos_3d
from jepa_lab.models.video_vit import VideoViTConfig
from jepa_lab.models.vjepa import VJEPA, VJEPAConfig
from jepa_lab.models.vjepa_predictor import VideoPredictorConfig
from jepa_lab.train.jepa import _State, train
from jepa_lab.train.parallel import ParallelConfig, init_world
from jepa_lab.weights.pretrained import load_pretrained
from jepa_lab.weights.saved import export_weights, load_model

SINCOS = VJEPAConfig(video=VideoViTConfig(img_size=16, patch_size=4, num_frames=4, embed_dim=24, depth=1,
                                          num_heads=2, pos="sincos"),
                     predictor=VideoPredictorConfig(embed_dim=16, depth=1, num_heads=2, num_mask_tokens=3,
                                                    pos="sincos"),
                     future_context=1, optim=replace(VJEPAConfig().optim, steps=2, batch_size=2))


def started(cfg: VJEPAConfig) -> VJEPA:
    """The model a fresh training run of ``cfg`` starts from (before its first step)."""
    state = _State(cfg, init_world("cpu"), ParallelConfig())
    state.start(cfg)
    return state.model


def test_resized_sincos_model_keeps_every_weight_and_extends_its_tables():
    torch.manual_seed(0)
    model = VJEPA(SINCOS)
    longer = model.resized(num_frames=8)
    assert longer.cfg.video.num_frames == 8 and longer.encoder.grid_of((1, 3, 8, 16, 16))[0] == 4
    old, new = model.state_dict(), longer.state_dict()
    assert old.keys() == new.keys()
    for k in old:
        if k.endswith("pos_embed"):  # the first frames' rows are the old table's, the new rows the same formula's
            n = old[k].shape[1]
            torch.testing.assert_close(new[k][:, :n], old[k])
            assert new[k].shape[1] == 2 * n
        else:
            assert torch.equal(old[k], new[k]), k
    torch.testing.assert_close(longer.encoder.pos_embed[0], sincos_3d(24, (4, 4, 4)))


def test_resized_rope_model_computes_what_the_original_does_at_that_size():
    torch.manual_seed(0)
    cfg = replace(SINCOS, video=replace(SINCOS.video, pos="rope"), predictor=replace(SINCOS.predictor, pos="rope"))
    model = VJEPA(cfg).eval()
    clips = torch.rand(2, 3, 8, 16, 16)
    torch.testing.assert_close(model.resized(num_frames=8).target_tokens(clips), model.target_tokens(clips))


def test_a_run_with_init_starts_from_those_weights(tmp_path):
    torch.manual_seed(1)
    src = train(SINCOS, tmp_path / "src", progress=False, data=torch.rand(4, 3, 4, 16, 16)).checkpoint
    source = export_weights(src, tmp_path / "src.pt")
    cfg = replace(SINCOS, video=replace(SINCOS.video, num_frames=8), init=str(source))
    start, fresh = started(cfg), started(replace(cfg, init=""))
    want = VJEPA(SINCOS)
    want.load_state_dict(torch.load(source, weights_only=True)["model"])
    for k, v in want.resized(num_frames=8).state_dict().items():
        assert torch.equal(start.state_dict()[k], v), k
    assert not torch.equal(start.encoder.patch_embed.proj.weight, fresh.encoder.patch_embed.proj.weight)
    result = train(cfg, tmp_path / "ft", progress=False, data=torch.rand(4, 3, 8, 16, 16))  # and trains on
    assert result.steps_run == 2 and all(torch.isfinite(torch.tensor(result.losses)))


def test_a_bad_init_says_what_it_expected(tmp_path):
    with pytest.raises(ValueError, match="unknown pretrained checkpoint 'no_such_model'"):
        started(replace(SINCOS, init="no_such_model"))
    with pytest.raises(ValueError, match="do not fit this config's architecture"):
        started(replace(SINCOS, video=replace(SINCOS.video, num_frames=8, embed_dim=32), init="vjepa_physics"))
    with pytest.raises(ValueError, match="expected a VJEPA to fine-tune"):
        started(replace(SINCOS, init="pixel_physics"))
    with pytest.raises(ValueError, match="init: expected"):
        replace(SINCOS, init=3)


def test_the_permanence_preset_fine_tunes_the_physics_model_on_whole_events():
    cfg = VJEPAConfig.preset("permanence")
    assert cfg.init == "vjepa_physics" and cfg.video.num_frames == 16 and cfg.video.grid[0] == 8
    assert cfg.future_context == 1 and cfg.future_context_max == 6
    physics, start = load_pretrained("vjepa_physics"), started(cfg)
    assert torch.equal(start.predictor.predictor_embed.weight, physics.predictor.predictor_embed.weight)
    n = physics.encoder.pos_embed.shape[1]  # the 8-frame table is the 16-frame table's first half
    torch.testing.assert_close(start.target_encoder.pos_embed[:, :n], physics.target_encoder.pos_embed)


def test_the_physics_benchmark_reads_a_fine_tuned_model_beside_its_start(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import physics

    video = VideoViTConfig(img_size=32, patch_size=8, num_frames=8, embed_dim=24, depth=1, num_heads=2, pos="sincos")
    base = replace(SINCOS, video=video, predictor=replace(SINCOS.predictor, pos="rope"), future_context=2)
    torch.manual_seed(2)
    src = export_weights(train(base, tmp_path / "a", progress=False, data=torch.rand(4, 3, 8, 32, 32)).checkpoint,
                         tmp_path / "a.pt")
    ft = replace(base, video=replace(video, num_frames=16), future_context=1, future_context_max=6, init=str(src))
    tuned = export_weights(train(ft, tmp_path / "b", progress=False, data=torch.rand(4, 3, 16, 32, 32)).checkpoint,
                           tmp_path / "b.pt")
    clips, _ = physics.held_out_sets(1, str(tmp_path / "clips"))  # one minimal set: 4 clips of 16 frames
    curves = physics.score_models(clips, str(tuned), read="context")
    assert set(curves) == {"trained", "before_finetune", "random_init", "pixel", "no_physics"}
    assert all(c.shape[0] == 4 and torch.isfinite(c).all() for c in curves.values())
    start = load_model(src).resized(num_frames=16)  # what the fine-tuning started from, read the same way
    torch.testing.assert_close(curves["before_finetune"], context_surprise(start, clips, physics.CONTEXTS)[0])
    assert not torch.allclose(curves["before_finetune"], curves["trained"])


def test_a_config_may_train_the_future_family_alone():
    cfg = replace(SINCOS, video=replace(SINCOS.video, num_frames=8), families=("future",))
    gen = torch.Generator().manual_seed(0)
    short, long, future = cfg.sample_masks(2, gen)
    assert short is None and long is None and future.targets.shape[1] > 0
    torch.manual_seed(0)
    model, clips = VJEPA(cfg), torch.rand(2, 3, 8, 16, 16)
    want = torch.nn.functional.l1_loss(model.predict(clips, future, 2), model.targets(clips, future))  # mask token 2
    torch.testing.assert_close(model.loss(clips, [short, long, future]), want)
    all_three = replace(cfg, families=("short_range", "long_range", "future")).sample_masks(2, gen)
    assert all(m is not None for m in all_three)


@pytest.mark.parametrize("families", [(), ("future", "future"), ("middle",), ["future"]])
def test_bad_families_are_refused(families):
    with pytest.raises(ValueError, match="families: expected"):
        replace(SINCOS, families=families)
    with pytest.raises(ValueError, match="families: expected"):
        replace(SINCOS, future_context=0, families=("future",))  # nothing left to train
