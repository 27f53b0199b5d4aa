"""Checker plugins shipped with the registry, installed as ``registry_plugins``.

Each is registered through the ``registry.plugins`` entry-point group, exactly as a
third-party plugin would be.
"""
