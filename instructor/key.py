"""Instructor key: one reference solution per notebook exercise, with the signatures of the students' stubs.

Not part of the student's material: hand students the notebooks and the package, keep this folder. Point the
graders at it to run every notebook end to end with the solutions plugged in (nbval and CI do this):

    JEPA_LAB_KEY=instructor/key.py jupyter lab          # or: export JEPA_LAB_KEY=$PWD/instructor/key.py

With the variable set, ``check(name, fn)`` grades this file's function whenever the student's is still a stub.
The answers to each notebook's question exercises and recall questions are in ``answers/NN.md`` beside this file.
"""

import torch
import torch.nn.functional as F


def multiblock_mask(grid, target_corners, target_size, context_corner, context_size):
    """Notebook 01. grid (h, w); target_corners Long [M, 2] of (row, col); target_size (bh, bw);
    context_corner Long [2]; context_size (ch, cw) -> (context Long [Nc] sorted, targets Long [M, bh*bw])."""
    h, w = grid
    bh, bw = target_size
    targets = []
    for top, left in target_corners.tolist():
        rows = torch.arange(top, top + bh)
        cols = torch.arange(left, left + bw)
        targets.append((rows[:, None] * w + cols[None, :]).flatten())  # row-major flat indices
    targets = torch.stack(targets)  # [M, Nt]
    top, left = context_corner.tolist()
    ch, cw = context_size
    in_context = torch.zeros(h, w, dtype=torch.bool)
    in_context[top:top + ch, left:left + cw] = True
    in_context = in_context.flatten()
    in_context[targets.flatten()] = False  # the encoder must not see what it predicts
    return in_context.nonzero().flatten(), targets


@torch.no_grad()
def ema_update(target, online, momentum):
    """Notebook 02. In place, for every parameter: p_target <- m * p_target + (1 - m) * p_online."""
    for p_t, p_o in zip(target.parameters(), online.parameters()):
        p_t.mul_(momentum).add_(p_o, alpha=1.0 - momentum)


def ijepa_loss(predicted, target_outputs, targets):
    """Notebook 02. predicted [B, M, Nt, D], target_outputs [B, N, D], targets Long [B, M, Nt] -> scalar."""
    normed = F.layer_norm(target_outputs, (target_outputs.shape[-1],))  # per token, no affine
    b, m, nt = targets.shape
    picked = torch.stack([normed[i][targets[i]] for i in range(b)])  # [B, M, Nt, D]
    return F.smooth_l1_loss(predicted, picked)


def tubelets(video, tubelet_size, patch_size):
    """Notebook 03. [B, C, T, H, W] -> [B, N, C*tubelet*p*p], tokens over (t, h, w), values (c, dt, dy, dx)."""
    b, c, t_len, h_px, w_px = video.shape
    tt, p = tubelet_size, patch_size
    x = video.reshape(b, c, t_len // tt, tt, h_px // p, p, w_px // p, p)  # split each axis into (blocks, offset)
    x = x.permute(0, 2, 4, 6, 1, 3, 5, 7)  # [B, t, h, w, C, dt, dy, dx]
    return x.reshape(b, (t_len // tt) * (h_px // p) * (w_px // p), c * tt * p * p)


def block_causal_mask(steps, tokens_per_step):
    """Notebook 05. Boolean [L, L], L = steps * tokens_per_step: True where query i may attend to key j."""
    length = steps * tokens_per_step
    mask = torch.zeros(length, length, dtype=torch.bool)
    for i in range(length):
        mask[i, : (i // tokens_per_step + 1) * tokens_per_step] = True  # everything up to the end of i's step
    return mask


def cem_refit(samples, energies, k):
    """Notebook 06. samples [S, H, A], energies [S] -> (mean [H, A], std [H, A]) of the k lowest energies."""
    order = torch.argsort(energies)
    elites = samples[order[:k]]
    return elites.mean(dim=0), elites.std(dim=0, unbiased=False)


def goal_energy(imagined, goal):
    """Notebook 06. imagined [S, T, ...], goal [1, ...] -> [S]: mean |final step - goal| per sample."""
    final = imagined[:, -1]  # [S, ...]
    return (final - goal).abs().reshape(final.shape[0], -1).mean(dim=1)
