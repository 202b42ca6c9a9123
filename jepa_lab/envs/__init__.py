"""Planning environments (gymnasium): Two Rooms and Push on a 64x64 arena, and the trajectories collected in them.
"""
