"""The kit's implement-it exercises: for each, the cases a student's function is graded on and the kit's answer.

| exercise            | notebook | the student writes                                                |
|---------------------|----------|-------------------------------------------------------------------|
| multiblock_mask     | 01       | context and target token indices from given block positions       |
| ema_update          | 02       | the target encoder's EMA step, in place                           |
| ijepa_loss          | 02       | smooth-L1 on layer-normed target embeddings at the target blocks  |
| tubelets            | 03       | a clip cut into flattened tubelets, in Conv3d's order              |
| block_causal_mask   | 05       | the AC predictor's block-causal attention mask                    |
| cem_refit           | 06       | one CEM refit: the elites' mean and std                           |
| goal_energy         | 06       | the L1 goal energy of imagined rollouts                           |

Case names say what each case tests, so a failure points at the idea that is missing.
Shapes: S samples, H horizon, A action dim, B batch, M blocks, Nt tokens per block, N tokens, D width.
"""

from __future__ import annotations

import torch
from torch import nn

from ..masking.multiblock import MultiBlockConfig, masks_from_blocks, sample_multiblock
from ..models.ac_predictor import block_causal_mask
from ..models.ema import ema_update_
from ..models.ijepa import embedding_loss
from ..models.video_vit import tubelets
from ..planning.cem import elite_moments
from ..planning.energy import l1_to_goal, reduce_steps
from .grader import Case, Exercise, compare_tensors, random_tensor


def _pair(expected, got, names: tuple[str, str]) -> str | None:
    """Compare a two-tensor answer (a tuple) part by part."""
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return f"expected a tuple ({names[0]}, {names[1]}), received {type(got).__name__}"
    for e, g, name in zip(expected, got, names):
        problem = compare_tensors(e, g, name)
        if problem:
            return problem
    return None


# ---- 01: multi-block masks -------------------------------------------------------------------------------------

def _mask_case(name, grid, corners, size, ctx_corner, ctx_size) -> Case:
    return Case(name, (grid, torch.tensor(corners).reshape(-1, 2), size, torch.tensor(ctx_corner), ctx_size))


def _mask_cases() -> list[Case]:
    gen = torch.Generator().manual_seed(1)
    rand = [_mask_case(f"random blocks on a 8x8 grid (#{i})", (8, 8),
                       torch.randint(0, 6, (4, 2), generator=gen).tolist(), (3, 3),
                       torch.randint(0, 2, (2,), generator=gen).tolist(), (7, 7)) for i in range(3)]
    return rand + [
        _mask_case("a non-square 5x7 grid (rows and columns must not be swapped)", (5, 7),
                   [[0, 4], [3, 1]], (2, 3), [1, 0], (4, 6)),
        _mask_case("a target in the bottom-right corner", (6, 6), [[4, 4]], (2, 2), [0, 0], (6, 6)),
        _mask_case("overlapping targets (each block keeps all its own tokens)", (6, 6),
                   [[1, 1], [2, 2]], (3, 3), [0, 0], (6, 6)),
        _mask_case("a target outside the context block", (6, 6), [[0, 0]], (2, 2), [3, 3], (3, 3)),
        _mask_case("1x1 targets", (4, 4), [[0, 0], [3, 3], [1, 2]], (1, 1), [0, 0], (4, 4)),
    ]


def _mask_reference(grid, corners, size, ctx_corner, ctx_size):
    return masks_from_blocks(grid, corners, size, ctx_corner, ctx_size)


def _mask_compare(expected, got) -> str | None:
    if isinstance(got, (tuple, list)) and len(got) == 2 and isinstance(got[0], torch.Tensor) \
            and isinstance(got[1], torch.Tensor) and not got[0].is_floating_point() and got[1].dim() == 2:
        if bool(torch.isin(got[0], got[1].flatten()).any()):
            return "the context still contains target tokens: the encoder would see what it must predict"
    return _pair(expected, got, ("context indices", "target indices"))


# ---- 02: EMA and the I-JEPA loss -------------------------------------------------------------------------------

def _modules(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.GELU(), nn.Linear(8, 3))


def _ema_cases() -> list[Case]:
    names = {0.996: "I-JEPA's starting momentum 0.996", 0.9: "momentum 0.9", 0.5: "momentum 0.5 (halfway)",
             0.0: "momentum 0 (the target becomes a copy of the online encoder)",
             1.0: "momentum 1 (the target does not move)"}
    state = torch.random.get_rng_state()
    try:
        return [Case(name, (_modules(10 + i), _modules(20 + i), m)) for i, (m, name) in enumerate(names.items())]
    finally:
        torch.random.set_rng_state(state)  # building the cases must not change the notebook's random stream


def _ema_run(fn, target: nn.Module, online: nn.Module, momentum: float):
    before = [p.detach().clone() for p in target.parameters()]
    fn(target, online, momentum)
    return (before, [p.detach().clone() for p in target.parameters()], [p.detach().clone() for p in online.parameters()])


def _ema_compare(expected, got) -> str | None:
    before, want, online_want = expected
    _, have, online_have = got
    if any(not torch.equal(a, b) for a, b in zip(online_want, online_have)):
        return "your function changed the online (context) encoder: only the target encoder may move"
    if all(torch.equal(a, b) for a, b in zip(before, have)) and any(not torch.equal(a, b) for a, b in zip(before, want)):
        return "the target encoder's parameters did not change: update them in place (e.g. with p.copy_ or p.mul_)"
    for i, (w, h) in enumerate(zip(want, have)):
        problem = compare_tensors(w, h, f"target parameter #{i}", atol=1e-6)
        if problem:
            return problem
    return None


def _loss_cases() -> list[Case]:
    def case(name, seed, b, grid, m, d, scale=1.0, offset=0.0):
        idx = sample_multiblock(grid, b, MultiBlockConfig(num_targets=m, min_keep=1),
                                torch.Generator().manual_seed(seed)).targets  # [B, M, Nt]
        n = grid[0] * grid[1]
        outputs = random_tensor(seed, b, n, d) * scale + offset
        return Case(name, (random_tensor(seed + 1, *idx.shape, d), outputs, idx))

    exact = case("a prediction that is exactly right (loss 0)", 3, 1, (4, 4), 1, 8)
    pred, outputs, idx = exact.args
    normed = torch.nn.functional.layer_norm(outputs, outputs.shape[-1:])
    exact = Case(exact.name, (normed[0][idx[0]].unsqueeze(0).clone(), outputs, idx))
    return [case("a batch of 2 images, 4 target blocks", 1, 2, (6, 6), 4, 16),
            case("one image, one block", 2, 1, (5, 5), 1, 8),
            case("target outputs with a large offset and scale (each target token is normalised first)",
                 4, 2, (6, 6), 3, 16, scale=50.0, offset=7.0),
            exact]


def _loss_run(fn, predicted, outputs, idx):
    predicted = predicted.clone().requires_grad_(True)
    loss = fn(predicted, outputs, idx)
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0 or not loss.requires_grad:
        return loss, None
    (grad,) = torch.autograd.grad(loss, predicted)
    return loss.detach(), grad


def _loss_compare(expected, got) -> str | None:
    loss, grad = got
    if isinstance(loss, torch.Tensor) and loss.dim() == 0 and grad is None:
        return "the loss carries no gradient to the prediction (was something detached or wrapped in no_grad?)"
    return compare_tensors(expected[0], loss, "loss") or compare_tensors(expected[1], grad, "loss's gradient")


# ---- 03: tubelets ------------------------------------------------------------------------------------------------

def _tubelet_cases() -> list[Case]:
    return [Case("RGB clip, 2-frame tubelets, 4-px patches", (random_tensor(1, 2, 3, 4, 8, 8), 2, 4)),
            Case("a non-square frame (8 x 12 px)", (random_tensor(2, 1, 3, 4, 8, 12), 2, 4)),
            Case("one channel", (random_tensor(3, 2, 1, 6, 6, 6), 3, 2)),
            Case("tubelet size 1 (plain image patches per frame)", (random_tensor(4, 1, 3, 3, 4, 4), 1, 2)),
            Case("the clip is a single tubelet long", (random_tensor(5, 1, 2, 2, 6, 4), 2, 2))]


def _tubelet_compare(expected, got) -> str | None:
    problem = compare_tensors(expected, got, "tokens", atol=0.0)
    if problem and isinstance(got, torch.Tensor) and got.shape == expected.shape:
        same_values = torch.equal(got.sort(dim=-1).values, expected.sort(dim=-1).values)
        if same_values:
            return ("every token holds the right numbers in the wrong order: flatten each tubelet as "
                    "(channel, frame, row, column), the order of a Conv3d weight")
        if torch.equal(got.flatten(1).sort(dim=-1).values, expected.flatten(1).sort(dim=-1).values):
            return "the tokens mix values of different tubelets, or come in the wrong order (row-major over t, h, w)"
    return problem


# ---- 05: block-causal attention ----------------------------------------------------------------------------------

def _causal_cases() -> list[Case]:
    return [Case("4 steps of 3 tokens", (4, 3)), Case("1 token per step (plain causal attention)", (5, 1)),
            Case("a single step (everyone sees everyone)", (1, 6)), Case("one token in all", (1, 1)),
            Case("6 steps of 17 tokens (16 patches + an action token, say)", (6, 17))]


def _causal_compare(expected, got) -> str | None:
    problem = compare_tensors(expected, got, "mask")
    if problem and isinstance(got, torch.Tensor) and got.shape == expected.shape and got.dtype == torch.bool:
        if torch.equal(got, expected.T):
            return "the mask looks transposed: row i is the query token, column j the token it may attend to"
        if torch.equal(got, torch.ones_like(expected).tril()):
            return "tokens of the same time step must see each other (block-causal, not token-by-token causal)"
        if torch.equal(got, ~expected):
            return "True and False are swapped: True should mean 'may attend'"
    return problem


# ---- 06: CEM refit and the goal energy ---------------------------------------------------------------------------

def _cem_cases() -> list[Case]:
    def case(name, seed, s, h, a, k, shift=0.0):
        return Case(name, (random_tensor(seed, s, h, a), random_tensor(seed + 1, s) + shift, k))

    return [case("64 samples, horizon 5, 2-D actions, 8 elites", 1, 64, 5, 2, 8),
            case("one elite (its std is 0)", 2, 32, 4, 3, 1),
            case("every sample is an elite", 3, 10, 3, 2, 10),
            case("negative energies (lower is still better)", 4, 40, 2, 2, 5, shift=-100.0),
            case("horizon 1, 1-D actions", 5, 20, 1, 1, 4)]


def _cem_reference(samples, energies, k):
    mean, std, _ = elite_moments(samples, energies, k)
    return mean, std


def _cem_compare(expected, got) -> str | None:
    problem = _pair(expected, got, ("mean", "std"))
    if problem and "std" in problem and isinstance(got, (tuple, list)) and isinstance(got[1], torch.Tensor) \
            and got[1].shape == expected[1].shape and bool((expected[1] > 0).all()):
        ratio = got[1].double() / expected[1].double()
        if float(ratio.min()) > 1.0 + 1e-6 and float(ratio.max() - ratio.min()) < 1e-5:  # one factor > 1 throughout
            return problem + " - it matches the sample std with Bessel's correction; CEM refits the population std"
    return problem


def _energy_cases() -> list[Case]:
    def case(name, seed, shape):
        return Case(name, (random_tensor(seed, *shape), random_tensor(seed + 1, 1, *shape[2:])))

    exact = case("the goal equals sample 0's final step (its energy is 0)", 5, (4, 3, 2, 6))
    imagined, goal = exact.args
    exact = Case(exact.name, (imagined, imagined[:1, -1].clone()))
    return [case("latents: 16 samples, 5 steps, 4 tokens x 8 dims", 1, (16, 5, 4, 8)),
            case("pixels: 8 samples, 3 steps, 3 x 8 x 8 frames", 2, (8, 3, 3, 8, 8)),
            case("one imagined step", 3, (6, 1, 5)),
            case("one sample", 4, (1, 4, 2, 3)),
            exact]


def _energy_reference(imagined, goal):
    return reduce_steps(l1_to_goal(imagined, goal), "final")


def _energy_compare(expected, got) -> str | None:
    problem = compare_tensors(expected, got, "energies")
    if problem and isinstance(got, torch.Tensor) and got.shape == expected.shape:
        return problem + " (is it the mean absolute difference at the final imagined step, per sample?)"
    return problem


EXERCISES: dict[str, Exercise] = {e.name: e for e in [
    Exercise("multiblock_mask", "01_masking", "context and target indices from block positions",
             _mask_cases, _mask_reference, _mask_compare),
    Exercise("ema_update", "02_ijepa", "the EMA update of the target encoder, in place",
             _ema_cases, ema_update_, _ema_compare, run=_ema_run),
    Exercise("ijepa_loss", "02_ijepa", "smooth-L1 on layer-normed target embeddings",
             _loss_cases, embedding_loss, _loss_compare, run=_loss_run),
    Exercise("tubelets", "03_video_masking", "a clip cut into flattened tubelets", _tubelet_cases, tubelets,
             _tubelet_compare),
    Exercise("block_causal_mask", "05_action_conditioned_world_model", "the block-causal attention mask",
             _causal_cases, block_causal_mask, _causal_compare),
    Exercise("cem_refit", "06_cem_planning", "one CEM refit: elites -> mean and std", _cem_cases, _cem_reference,
             _cem_compare),
    Exercise("goal_energy", "06_cem_planning", "the L1 goal energy at the final imagined step", _energy_cases,
             _energy_reference, _energy_compare),
]}
