"""core.output"""
