"""Tiny scripts whose whole process is timed, run by path (`python bench/probes/X.py`).

Each stands alone, like a user's script: it imports nothing from the bench package (that
would add the bench's own imports to the time measured), hence the repeated constants.
Arguments: base_url key_path key_id.
"""
