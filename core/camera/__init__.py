"""core.camera"""
