"""core.sequence"""
