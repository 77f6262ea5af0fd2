"""Glue between Blender and the pure core: the only package that converts types both ways."""
