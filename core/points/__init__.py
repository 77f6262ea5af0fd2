"""core.points"""
