"""core.checks"""
