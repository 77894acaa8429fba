"""Stand-ins for what exists only on a Greengrass core or a board.

``fakes.shadow`` is the local Device Shadow service.
"""
