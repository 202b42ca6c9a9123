"""Loading released checkpoints: synthetic files written here with the official key names, prefixes, entries
and shapes (full widths, depth 1 to stay fast) for every released file name, loaded strictly."""

import pytest
import torch

from safetensors.torch import save_file

from jepa_lab.fullscale.released import (RELEASED, choose_entry, from_hf, is_safetensors, load_released,
                                         read_checkpoint, spec_for, strip_prefixes)

BLOCK = ["norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight", "attn.proj.bias",
         "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias"]

# file -> (family, width, MLP hidden, patch conv kernel, tokens of the sin-cos table or 0)
FILES = {
    "vitl.pt": ("vjepa2", 1024, 4096, (2, 16, 16), 0),
    "vith.pt": ("vjepa2", 1280, 5120, (2, 16, 16), 0),
    "vitg.pt": ("vjepa2", 1408, 6144, (2, 16, 16), 0),
    "vitg-384.pt": ("vjepa2", 1408, 6144, (2, 16, 16), 0),
    "vjepa2-ac-vitg.pt": ("ac", 1408, 6144, (2, 16, 16), 0),
    "IN1K-vit.h.14-300e.pth.tar": ("ijepa", 1280, 5120, (14, 14), 256),
    "IN22K-vit.h.14-900e.pth.tar": ("ijepa", 1280, 5120, (14, 14), 256),
    "IN1K-vit.h.16-448px-300e.pth.tar": ("ijepa", 1280, 5120, (16, 16), 784),
    "IN22K-vit.g.16-600e.pth.tar": ("ijepa", 1408, 6144, (16, 16), 196),
}


class NeedsPickle:
    """Loading an instance would run arbitrary unpickling code: weights_only=True refuses it."""


def _block(prefix, d, hidden):
    shapes = [(d,), (d,), (3 * d, d), (3 * d,), (d, d), (d,), (d,), (d,), (hidden, d), (hidden,), (d, hidden), (d,)]
    return {f"{prefix}.{k}": s for k, s in zip(BLOCK, shapes)}


def official_shapes(family, d, hidden, kernel, table):
    """Key -> shape of the encoder and predictor entries at depth 1, written out from the official layout."""
    enc = {"patch_embed.proj.weight": (d, 3, *kernel), "patch_embed.proj.bias": (d,),
           "norm.weight": (d,), "norm.bias": (d,), **_block("blocks.0", d, hidden)}
    if table:
        enc["pos_embed"] = (1, table, d)
    if family == "ac":
        dp = 1024
        pred = {"predictor_embed.weight": (dp, d), "predictor_embed.bias": (dp,),
                "action_encoder.weight": (dp, 7), "action_encoder.bias": (dp,),
                "state_encoder.weight": (dp, 7), "state_encoder.bias": (dp,),
                "extrinsics_encoder.weight": (dp, 6), "extrinsics_encoder.bias": (dp,),
                **_block("predictor_blocks.0", dp, 4 * dp)}
    else:
        dp = 384
        pred = {"predictor_embed.weight": (dp, d), "predictor_embed.bias": (dp,),
                **_block("predictor_blocks.0", dp, 4 * dp)}
        if family == "ijepa":
            pred |= {"mask_token": (1, 1, dp), "predictor_pos_embed": (1, table, dp)}
        else:
            pred |= {f"mask_tokens.{k}": (1, 1, dp) for k in range(10)}
    pred |= {"predictor_norm.weight": (dp,), "predictor_norm.bias": (dp,),
             "predictor_proj.weight": (d, dp), "predictor_proj.bias": (d,)}
    return enc, pred


def write_official(path, name, seed=0, target=True):
    family, d, hidden, kernel, table = FILES[name]
    enc, pred = official_shapes(family, d, hidden, kernel, table)
    prefix = {"vjepa2": "module.backbone.", "ac": "module.", "ijepa": "module."}[family]
    g = torch.Generator().manual_seed(seed)
    entry = lambda shapes: {prefix + k: 0.02 * torch.randn(s, generator=g) for k, s in shapes.items()}
    ckpt = {"encoder": entry(enc), "predictor": entry(pred), "epoch": 7, "opt": {"state": {}}, "scaler": None}
    if target:
        ckpt["target_encoder"] = entry(enc)
    torch.save(ckpt, path / name)
    return ckpt, prefix


@pytest.mark.parametrize("name", sorted(FILES))
def test_every_released_file_name_loads_strictly(tmp_path, name, capsys):
    assert set(FILES) == set(RELEASED)
    ckpt, prefix = write_official(tmp_path, name)
    model = load_released(tmp_path / name, spec=spec_for(name).with_depth(1, 1))
    report = capsys.readouterr().out
    assert "from entry 'target_encoder'" in report
    assert all(f"{p}." in report for p in prefix.split(".")[:-1])  # module. (and backbone.) named
    assert all(r.ok and not r.missing for r in model.reports)
    torch.testing.assert_close(model.encoder.blocks[0].attn.qkv.weight,
                               ckpt["target_encoder"][prefix + "blocks.0.attn.qkv.weight"])
    torch.testing.assert_close(model.predictor.predictor_proj.bias, ckpt["predictor"][prefix + "predictor_proj.bias"])
    assert model.reports[0].loaded == len(ckpt["target_encoder"])
    assert not any(p.is_meta for p in model.encoder.parameters())


def test_loaded_models_run(tmp_path):
    write_official(tmp_path, "vjepa2-ac-vitg.pt")
    model = load_released(tmp_path / "vjepa2-ac-vitg.pt", spec=spec_for("vjepa2-ac-vitg.pt").with_depth(1, 1),
                          verbose=False)
    with torch.no_grad():
        z = model.encoder.encode_frames(torch.randn(1, 3, 256, 256))  # [1, 256, 1408]
        out = model.predictor.rollout(torch.nn.functional.layer_norm(z, (1408,)), torch.zeros(1, 2, 7),
                                      torch.zeros(1, 7))
    assert z.shape == (1, 256, 1408) and out.shape == (1, 2, 256, 1408) and torch.isfinite(out).all()


def test_entry_choice(tmp_path):
    ckpt, prefix = write_official(tmp_path, "vitl.pt", target=True)
    spec = spec_for("vitl.pt").with_depth(1, 1)
    m = load_released(tmp_path / "vitl.pt", entry="encoder", spec=spec, predictor=False, verbose=False)
    torch.testing.assert_close(m.encoder.norm.weight, ckpt["encoder"][prefix + "norm.weight"])
    assert m.predictor is None and m.reports[0].entry == "encoder"
    assert choose_entry({"encoder": {}}) == "encoder"
    with pytest.raises(ValueError, match="no 'target_encoder' entry"):
        choose_entry({"encoder": {}}, "target_encoder")
    with pytest.raises(ValueError, match="entry must be one of"):
        choose_entry(ckpt, "ema")


def test_mismatches_are_reported_readably(tmp_path):
    ckpt, prefix = write_official(tmp_path, "vitl.pt")
    enc = ckpt["target_encoder"]
    enc[prefix + "norm.weight"] = torch.zeros(1000)
    del enc[prefix + "blocks.0.mlp.fc2.bias"]
    enc[prefix + "blocks.0.attn.q_norm.weight"] = torch.zeros(64)
    torch.save(ckpt, tmp_path / "vitl.pt")
    with pytest.raises(ValueError) as err:
        load_released(tmp_path / "vitl.pt", spec=spec_for("vitl.pt").with_depth(1, 1), verbose=False)
    msg = str(err.value)
    assert "missing (1): blocks.0.mlp.fc2.bias" in msg
    assert "unexpected (1): blocks.0.attn.q_norm.weight" in msg
    assert "norm.weight: checkpoint (1000,) vs model (1024,)" in msg


def test_wrong_depth_names_the_missing_blocks(tmp_path):
    write_official(tmp_path, "vith.pt")
    with pytest.raises(ValueError, match=r"missing \(12\): blocks\.1\."):
        load_released(tmp_path / "vith.pt", spec=spec_for("vith.pt").with_depth(2, 1), verbose=False)


def test_unused_sincos_table_of_a_rope_model_is_ignored_and_said(tmp_path):
    ckpt, prefix = write_official(tmp_path, "vitl.pt")
    ckpt["target_encoder"][prefix + "pos_embed"] = torch.zeros(1, 2048, 1024)
    torch.save(ckpt, tmp_path / "vitl.pt")
    m = load_released(tmp_path / "vitl.pt", spec=spec_for("vitl.pt").with_depth(1, 1), verbose=False)
    assert m.reports[0].ignored == ["pos_embed (sin-cos table; this model uses RoPE)"]
    assert "ignored (1)" in m.report


def _to_hf(official: dict, part: str, blocks: str) -> dict:
    """The Hugging Face layout, written independently of the loader: layer.{i}, split q/k/v, renamed norms."""
    out, tokens = {}, []
    for key, v in official.items():
        if key.startswith("mask_tokens."):
            tokens.append(v)
            continue
        key = key.replace(f"{blocks}.", "layer.").replace("attn.proj", "attention.proj")
        key = key.replace("patch_embed.", "embeddings.patch_embeddings.").replace(
            "predictor_embed.", "embeddings.predictor_embeddings.")
        key = {"norm.weight": "layernorm.weight", "norm.bias": "layernorm.bias",
               "predictor_norm.weight": "layernorm.weight", "predictor_norm.bias": "layernorm.bias",
               "predictor_proj.weight": "proj.weight", "predictor_proj.bias": "proj.bias"}.get(key, key)
        if "attn.qkv" in key:
            for n, chunk in zip(("query", "key", "value"), v.chunk(3)):
                out[f"{part}.{key.replace('attn.qkv', f'attention.{n}')}"] = chunk
        else:
            out[f"{part}.{key}"] = v
    if tokens:
        out[f"{part}.embeddings.mask_tokens"] = torch.stack(tokens)
    return out


def test_hugging_face_layout(tmp_path):
    ckpt, prefix = write_official(tmp_path, "vitl.pt")
    enc, _ = strip_prefixes(ckpt["encoder"])
    pred, _ = strip_prefixes(ckpt["predictor"])
    hf = _to_hf(enc, "encoder", "blocks") | _to_hf(pred, "predictor", "predictor_blocks")
    assert from_hf(hf)["encoder"].keys() == enc.keys() and from_hf(hf)["predictor"].keys() == pred.keys()
    torch.save(hf, tmp_path / "pytorch_model.bin")
    m = load_released(tmp_path / "pytorch_model.bin", spec=spec_for("vitl.pt").with_depth(1, 1), verbose=False)
    assert "Hugging Face" in m.reports[0].entry
    torch.testing.assert_close(m.encoder.blocks[0].attn.qkv.bias, enc["blocks.0.attn.qkv.bias"])
    torch.testing.assert_close(m.predictor.mask_tokens[3], pred["mask_tokens.3"])



def test_a_hugging_face_safetensors_download_loads_by_its_content(tmp_path):
    """model.safetensors, as the Hugging Face hub names every V-JEPA 2 file: recognised as safetensors by its bytes,
    its architecture read from its tensors (width -> ViT-L, depth 1) and config.json (crop size), loaded exactly."""
    ckpt, _ = write_official(tmp_path, "vitl.pt")
    enc, _ = strip_prefixes(ckpt["encoder"])
    pred, _ = strip_prefixes(ckpt["predictor"])
    hf = _to_hf(enc, "encoder", "blocks") | _to_hf(pred, "predictor", "predictor_blocks")
    folder = tmp_path / "hf"
    folder.mkdir()
    save_file({k: v.contiguous() for k, v in hf.items()}, folder / "model.safetensors")
    (folder / "config.json").write_text('{"crop_size": 384}')
    assert is_safetensors(folder / "model.safetensors") and not is_safetensors(tmp_path / "vitl.pt")
    m = load_released(folder / "model.safetensors", verbose=False)
    assert m.spec.encoder.embed_dim == 1024 and m.spec.encoder.depth == 1 and m.spec.encoder.img_size == 384
    assert all(r.ok and not r.missing for r in m.reports)
    torch.testing.assert_close(m.encoder.blocks[0].attn.qkv.weight, enc["blocks.0.attn.qkv.weight"])
    torch.testing.assert_close(m.predictor.mask_tokens[3], pred["mask_tokens.3"])
    (folder / "renamed.bin").write_bytes((folder / "model.safetensors").read_bytes())  # any name: same content
    assert read_checkpoint(folder / "renamed.bin").keys() == hf.keys()

def test_bad_files_fail_clearly(tmp_path):
    with pytest.raises(ValueError, match="unknown released checkpoint 'vitx.pt'; expected one of"):
        spec_for(tmp_path / "vitx.pt")
    with pytest.raises(FileNotFoundError, match="never downloads"):
        read_checkpoint(tmp_path / "vitl.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(ValueError, match="expected a dict"):
        read_checkpoint(tmp_path / "list.pt")
    torch.save({"encoder": NeedsPickle()}, tmp_path / "pickled.pt")  # arbitrary objects are refused
    with pytest.raises(ValueError, match="weights-only torch file"):
        read_checkpoint(tmp_path / "pickled.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="weights-only torch file"):
        read_checkpoint(tmp_path / "junk.pt")
    torch.save({"opt": {}}, tmp_path / "vitl.pt")
    with pytest.raises(ValueError, match="no encoder in this checkpoint"):
        load_released(tmp_path / "vitl.pt", verbose=False)


def test_a_bad_predictor_fails_before_the_encoder_is_loaded(tmp_path, monkeypatch):
    ckpt, prefix = write_official(tmp_path, "vjepa2-ac-vitg.pt")
    ckpt["predictor"][prefix + "predictor_proj.weight"] = torch.zeros(1280, 1024)
    torch.save(ckpt, tmp_path / "vjepa2-ac-vitg.pt")
    from jepa_lab.fullscale import released

    loaded = []
    monkeypatch.setattr(released, "load_strict", lambda m, *a, **k: loaded.append(m))
    with pytest.raises(ValueError) as err:
        load_released(tmp_path / "vjepa2-ac-vitg.pt", spec=spec_for("vjepa2-ac-vitg.pt").with_depth(1, 1),
                      verbose=False)
    assert loaded == []  # nothing was loaded: the predictor was checked first
    assert "entry 'predictor' (24 tensors) does not match" in str(err.value)
    assert "predictor_proj.weight: checkpoint (1280, 1024) vs model (1408, 1024)" in str(err.value)


def test_released_model_moves_as_one(tmp_path):
    write_official(tmp_path, "vitl.pt")
    m = load_released(tmp_path / "vitl.pt", spec=spec_for("vitl.pt").with_depth(1, 1), verbose=False)
    assert m.to(torch.float64) is m
    assert m.encoder.norm.weight.dtype == torch.float64 and m.predictor.predictor_proj.weight.dtype == torch.float64
