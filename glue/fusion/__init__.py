"""glue.fusion"""
