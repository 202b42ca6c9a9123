"""The published architectures at full size: Meta's released checkpoints loaded exactly, the V-JEPA 2-AC
predictor, planning a robot arm's move, and sizing (parameters, memory, FLOPs) without allocating.
"""
