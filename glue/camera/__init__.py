"""glue.camera"""
