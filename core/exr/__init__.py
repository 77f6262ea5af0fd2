"""core.exr"""
