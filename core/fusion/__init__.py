"""core.fusion"""
